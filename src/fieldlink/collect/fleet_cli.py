"""``fieldlink fleet status STATIONS.toml``: which collector holds which station, and how it went.

Reads the fleet database(s) named in the stations file (the PostgreSQL sinks with
``fleet = true``; failing those, every PostgreSQL sink) and shows one row per
station: the lease holder and its state, the last success and failure, failures
in a row, takeovers, each table's newest stored record, holes and records lost.
``--json`` prints the same as JSON lines for scripts and monitoring.  The stations
file reader, the database driver and rich are imported when the command runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fieldlink.errors import UsageError

if TYPE_CHECKING:
    from fieldlink.collect.config import SinkSpec


def fleet_databases(stations_file: Path) -> list[SinkSpec]:
    """The distinct fleet databases of a stations file (else its PostgreSQL sinks)."""
    from fieldlink.collect.config import load_stations

    specs = [s for st in load_stations(stations_file).stations for s in st.sinks]
    pg = [s for s in specs if s.kind == "postgresql"]
    chosen = [s for s in pg if s.options.get("fleet")] or pg
    out: list[SinkSpec] = []
    for spec in chosen:
        if all(dict(spec.options) != dict(o.options) for o in out):
            out.append(spec)
    return out


def _when(t: dt.datetime | None) -> str:
    return "-" if t is None else t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@click.group(name="fleet")
def fleet_group() -> None:
    """Collectors sharing one PostgreSQL database (stations file sinks with fleet = true)."""


@fleet_group.command(name="status")
@click.argument("stations_file", metavar="STATIONS.toml", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per station.")
def status_command(stations_file: Path, as_json: bool) -> None:
    """Show who holds which station, last success, failures and holes."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from fieldlink.collect.fleet import fleet_status, live_collectors
    from fieldlink.store.secrets import resolve_dsn

    databases = fleet_databases(stations_file)
    if not databases:
        raise UsageError(f"{stations_file} has no postgresql sink: there is no fleet to show")
    console = Console()
    for spec in databases:
        dsn, name = resolve_dsn(spec.options)
        states = fleet_status(dsn, name)
        if as_json:
            for s in states:
                click.echo(json.dumps({"database": name, **dataclasses.asdict(s)}, default=str))
            continue
        holders = Counter(s.holder for s in states if s.state in ("collecting", "expired"))
        busy = ", ".join(f"{h} ({n})" for h, n in sorted(holders.items(), key=str)) or "none"
        live = ", ".join(live_collectors(dsn, name)) or "none"
        console.print(f"{name}: {len(states)} stations; collectors running: {live}; "
                      f"collecting now: {busy}")  # fmt: skip
        table = Table(box=box.SIMPLE_HEAD)
        for column in ("station", "holder", "lease", "last success", "last failure",
                       "fails", "takeovers", "tables (newest record)", "holes (lost)"):  # fmt: skip
            table.add_column(column)
        for s in states:
            lease = s.state
            if s.state == "collecting" and s.expires_in is not None:
                lease += f" ({s.expires_in:.0f}s left)"
            failure = _when(s.last_failure)
            if s.last_error and s.failures:
                failure += f": {s.last_error}"
            tables = ", ".join(f"{t} #{'-' if n is None else n}" for t, n in s.tables) or "-"
            table.add_row(s.station, s.holder or "-", lease, _when(s.last_success), failure,
                          str(s.failures), str(s.takeovers), tables,
                          f"{s.holes} ({s.records_lost})")  # fmt: skip
        console.print(table)


__all__ = ["fleet_databases", "fleet_group", "status_command"]
