"""``fieldlink demo``: a field station on this computer, collected into files and a database.

The first thing to run after installing: it starts a whole station's emulators
in-process -- the datalogger (its default program: ``Table1`` every minute, ``Fast``
at 10 Hz, ``Status`` and ``Public``), a TDR100 sweeping eight soil-water probes, and
the Tracer charge controller that keeps the station's battery charged -- and
collects them over real links on 127.0.0.1 into TOA5 files and a SQLite database
with the same engine as ``fieldlink collect``.  It lets the emulated logger run on
for five minutes of its time and collects again: the second cycle resumes from the
stored positions and fetches only the new records, while the instruments, which
keep no records, are sampled once more.  Nothing needs a network, hardware or options.

The emulator runs on a manual clock starting at the current UTC time, so
"five minutes later" takes no waiting and the time stamps look like today's.
Each run starts from an empty demo folder (a second run would otherwise meet
a freshly started logger whose record numbers begin again, and the store would
rightly open new table versions); the folder is only ever cleared if it holds
the demo's marker file.

The collector, the emulators, sqlite3 and rich are imported when the demo runs, so
that ``fieldlink demo --help`` stays quick.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fieldlink.errors import FieldlinkError, UsageError

if TYPE_CHECKING:
    import sqlite3

    from rich.console import Console

    from fieldlink.collect.results import CycleResult

#: Marks a folder as the demo's own, so that a rerun may clear it.
MARKER = ".fieldlink-demo"
STATION = "demo"
#: The station's instruments, collected beside the logger: (station name, kind).
INSTRUMENTS = (("demo-tdr100", "tdr100"), ("demo-tracer", "tracer"))
#: Emulated minutes between the two cycles.
LATER_MINUTES = 5


@dataclass(slots=True)
class TableSummary:
    name: str
    station: str = STATION
    cycle1: int = 0
    cycle2: int = 0
    stored: int = 0
    first: int | None = None
    last: int | None = None
    holes: int = 0
    toa5: Path | None = None
    sql_table: str = ""

    @property
    def complete(self) -> bool:
        """Stored records form one unbroken run, each number once."""
        if self.first is None or self.last is None:
            return self.stored == 0
        return self.stored == self.last - self.first + 1 and self.holes == 0


@dataclass(slots=True)
class DemoReport:
    directory: Path
    database: Path
    toa5_dir: Path
    url: str
    cycles: list[CycleResult] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    tables: list[TableSummary] = field(default_factory=list)
    stations_file: Path | None = None
    #: Per instrument station: its URL and its two sampling cycles.
    instruments: dict[str, tuple[str, list[CycleResult]]] = field(default_factory=dict)
    #: What a person looks at first, per instrument: (label, text) pairs.
    readings: list[tuple[str, str]] = field(default_factory=list)


def prepare(directory: Path) -> None:
    """Create the demo folder, or clear the one a previous demo left."""
    if directory.exists():
        if not directory.is_dir():
            raise UsageError(f"--dir {directory} exists and is not a folder")
        if any(directory.iterdir()) and not (directory / MARKER).exists():
            raise UsageError(
                f"--dir {directory} already holds other files; give an empty or new folder "
                "(fieldlink demo only ever clears a folder it created)"
            )
        for child in directory.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / MARKER).write_text("created by `fieldlink demo`; safe to delete\n")
    except OSError as exc:
        raise UsageError(f"cannot create {directory}: {exc.strerror or exc}") from None


_KIND_TEXT = {
    "demo-tdr100": "a TDR100 with eight soil-water probes behind SDMX50 multiplexers",
    "demo-tracer": "the Tracer charge controller (Modbus) keeping the battery charged",
}

#: The stations file the demo leaves behind: the next step, ready to run against
#: ``fieldlink emulate logger`` (whose default address it names).
STATIONS_FILE = "stations.toml"
STATIONS_TOML = """\
# Written by `fieldlink demo`: your next step, collecting a logger of your own.
#
#   fieldlink emulate logger                    # in one terminal: a logger on 127.0.0.1:6785
#   fieldlink collect {path} --once   # in another: collect it once
#
# Drop --once to collect every minute until Ctrl-C.  Point `url` at a real logger
# (tcp:HOST:6785, serial:/dev/ttyUSB0:115200 ...) and add a [[station]] per logger.
# Paths are relative to this file's folder.

[[station]]
name = "mystation"
url = "tcp:127.0.0.1:6785"
interval = "1m"
sinks = [
    {{ kind = "sqlite", path = "mystation.sqlite" }},
    {{ kind = "toa5", path = "mystation-toa5" }},
]
"""


def write_stations_file(directory: Path) -> Path:
    """Leave a stations file for the next step in the demo folder."""
    path = directory / STATIONS_FILE
    path.write_text(STATIONS_TOML.format(path=path), encoding="utf-8")
    return path


def _records(count: int) -> str:
    return f"{count:,} record" + ("" if count == 1 else "s")


def run_demo(directory: Path, console: Console | None = None) -> DemoReport:
    """Run the demo into ``directory``; the report says what was collected and where."""
    import asyncio

    from rich.console import Console

    from fieldlink.collect.config import SinkSpec, StationConfig
    from fieldlink.collect.connect import connect_client
    from fieldlink.collect.engine import run_cycle
    from fieldlink.collect.sinks import SinkPool
    from fieldlink.pakbus.emulator import LoggerEmulator
    from fieldlink.pakbus.emulator.station import ManualClock

    console = console or Console()
    prepare(directory)
    start = dt.datetime.now(dt.UTC).replace(tzinfo=None, second=30, microsecond=0)
    clock = ManualClock(start)
    emulator = LoggerEmulator(listen="127.0.0.1:0", clock=clock, seed=1)
    sinks = (
        SinkSpec("toa5", directory / "toa5"),
        SinkSpec("sqlite", directory / "fieldlink.sqlite"),
    )
    with emulator.running() as emu, _instrument_emulators() as instruments:
        assert emu.url is not None
        config = StationConfig(
            name=STATION,
            url=emu.url,
            clock=None,  # the emulated clock runs ahead on purpose; nothing to check
            sinks=sinks,
            batch_size=500,
        )
        others = [
            StationConfig(name=name, url=url, kind=kind, sinks=sinks, clock=None)
            for (name, kind), url in zip(INSTRUMENTS, instruments, strict=True)
        ]
        report = DemoReport(directory, directory / "fieldlink.sqlite", directory / "toa5",
                            emu.url)  # fmt: skip
        with SinkPool() as pool:
            for label in ("first cycle: everything the logger holds",
                          "second cycle: resuming from the stored positions"):  # fmt: skip
                with console.status(f"[cyan]{label}[/]") as status:

                    def progress(_station: str, table: str, count: int) -> None:
                        status.update(f"[cyan]{label}[/]  {table}: {_records(count)}")  # noqa: B023

                    async def logger_cycle() -> CycleResult:
                        began = time.perf_counter()
                        done = await run_cycle(config, connect_client, pool.for_table,
                                               progress=progress)  # fmt: skip
                        report.seconds.append(time.perf_counter() - began)
                        return done

                    async def cycle() -> list[CycleResult]:
                        """The logger and the instruments at once, as `collect` runs them."""
                        return list(await asyncio.gather(
                            logger_cycle(),
                            *(run_cycle(o, connect_client, pool.for_table) for o in others),
                        ))  # fmt: skip

                    result, *sampled = asyncio.run(cycle())
                report.cycles.append(result)
                for other, outcome in zip(others, sampled, strict=True):
                    report.instruments.setdefault(other.name, (other.url, []))[1].append(outcome)
                for outcome in (result, *sampled):
                    if not outcome.ok:
                        raise FieldlinkError(f"the demo's {label.split(':')[0]} failed for "
                                             f"{outcome.station}: {outcome.error}")  # fmt: skip
                clock.advance(LATER_MINUTES * 60)
    report.tables = _summarise(report)
    report.readings = _readings(report)
    report.stations_file = write_stations_file(directory)
    return report


@contextmanager
def _instrument_emulators() -> Iterator[list[str]]:
    """The TDR100 and the Tracer, served on loopback for as long as the demo runs."""
    from fieldlink.tdr100.emulator import TDR100Emulator
    from fieldlink.tracer.emulator.host import TracerEmulator

    with (
        TDR100Emulator(listen="127.0.0.1:0", seed=1).running() as tdr,
        TracerEmulator(listen="127.0.0.1:0", seed=1, speed=60).running() as tracer,
    ):
        assert tdr.url is not None and tracer.url is not None
        yield [tdr.url, tracer.url]


def _latest(db: sqlite3.Connection, station: str, table: str) -> dict[str, object]:
    """The newest stored record of ``station``'s ``table``, by column name."""
    row = db.execute(
        "SELECT sql_table FROM table_versions WHERE station = ? AND table_name = ? "
        "ORDER BY version DESC LIMIT 1",
        (station, table),
    ).fetchone()
    if row is None:
        return {}
    quoted = '"' + str(row[0]).replace('"', '""') + '"'
    cursor = db.execute(f'SELECT * FROM {quoted} ORDER BY "record" DESC LIMIT 1')
    values = cursor.fetchone()
    if values is None:
        return {}
    return {d[0]: v for d, v in zip(cursor.description, values, strict=True)}


def _readings(report: DemoReport) -> list[tuple[str, str]]:
    """The values a station keeper looks at first, from what was stored."""
    import sqlite3

    out: list[tuple[str, str]] = []
    with sqlite3.connect(report.database) as db:
        tdr = _latest(db, "demo-tdr100", "TDR100")
        water = [  # columns c<level>_<channel>_theta, one per probe
            f"{key[1:].removesuffix('_theta').replace('_', '.')}: {value:.2f}"
            for key, value in tdr.items()
            if key.endswith("_theta") and isinstance(value, float)
        ]
        if water:
            out.append(("soil water (m³/m³) by probe", ", ".join(water)))
        tracer = _latest(db, "demo-tracer", "Tracer")
        if tracer:
            out.append(
                (
                    "battery (charge controller)",
                    f"{tracer.get('battery_voltage', float('nan')):.2f} V, "
                    f"{tracer.get('battery_soc', '?')} % charged, "
                    f"stage {tracer.get('charging_stage', '?')}, "
                    f"panel {tracer.get('pv_power', float('nan')):.0f} W",
                )
            )
    return out


def _summarise(report: DemoReport) -> list[TableSummary]:
    import sqlite3

    stations = [(STATION, report.cycles)]
    stations += [(name, cycles) for name, (_url, cycles) in report.instruments.items()]
    out = []
    with sqlite3.connect(report.database) as db:
        for station, (first, second) in stations:
            out += _summarise_station(db, report, station, first, second)
    return out


def _summarise_station(
    db: sqlite3.Connection, report: DemoReport, station: str, first: CycleResult,
    second: CycleResult,
) -> list[TableSummary]:  # fmt: skip
    from fieldlink.store.files import safe_name

    out = []
    for t in first.tables:
        s = TableSummary(t.table, station, cycle1=t.records,
                         cycle2=second.table(t.table).records)  # fmt: skip
        row = db.execute(
            "SELECT sql_table FROM table_versions WHERE station = ? AND table_name = ? "
            "ORDER BY version DESC LIMIT 1", (station, t.table),
        ).fetchone()  # fmt: skip
        if row is not None:
            s.sql_table = str(row[0])
            quoted = '"' + s.sql_table.replace('"', '""') + '"'
            count, lo, hi = db.execute(
                f'SELECT count(*), min("record"), max("record") FROM {quoted}'
            ).fetchone()
            s.stored, s.first, s.last = int(count), lo, hi
            (holes,) = db.execute(
                "SELECT count(*) FROM holes WHERE station = ? AND table_name = ?",
                (station, t.table),
            ).fetchone()
            s.holes = int(holes)
        toa5 = report.toa5_dir / f"{safe_name(station)}_{safe_name(t.table)}.dat"
        s.toa5 = toa5 if toa5.exists() else None
        out.append(s)
    return out


def render(report: DemoReport, console: Console) -> None:
    from rich.table import Table

    first, second = report.cycles
    console.print(
        f"\n[bold]fieldlink demo[/]: an emulated field station on this computer\n"
        f"- a CR1000 datalogger at [cyan]{report.url}[/]\n"
        f"  cycle 1 collected [bold]{first.records:,}[/] records in {report.seconds[0]:.1f} s\n"
        f"  the logger logged on for {LATER_MINUTES} minutes (of its emulated time)\n"
        f"  cycle 2 resumed from the stored record numbers: [bold]{second.records:,}[/] "
        f"new records in {report.seconds[1]:.1f} s"
    )
    for name, (url, _cycles) in report.instruments.items():
        console.print(f"- {_KIND_TEXT.get(name, name)} at [cyan]{url}[/], sampled each cycle")
    console.print()
    table = Table(title="What was collected", title_justify="left")
    table.add_column("station")
    table.add_column("table")
    table.add_column("cycle 1", justify="right")
    table.add_column("cycle 2", justify="right")
    table.add_column("stored", justify="right")
    table.add_column("record numbers", justify="right")
    table.add_column("check")
    for s in report.tables:
        span = "" if s.first is None else f"{s.first} .. {s.last}"
        check = "[green]complete[/]" if s.complete else f"[red]{s.holes} holes[/]"
        if s.name in ("Status", "Public"):
            check = "[dim]current values[/]"  # one-record tables: each cycle takes the latest
        table.add_row(
            s.station, s.name, f"{s.cycle1:,}", f"+{s.cycle2:,}", f"{s.stored:,}", span, check
        )
    console.print(table)
    if report.readings:
        latest = Table(title="Latest readings", title_justify="left")
        latest.add_column("what")
        latest.add_column("value", overflow="fold")
        for label, text in report.readings:
            latest.add_row(label, text)
        console.print(latest)
    where = Table(title="Where", title_justify="left")
    where.add_column("station / table")
    where.add_column(f"TOA5 file in {report.toa5_dir}", overflow="fold")
    where.add_column(f"SQLite table in {report.database.name}", overflow="fold")
    for s in report.tables:
        where.add_row(f"{s.station} / {s.name}", s.toa5.name if s.toa5 else "", s.sql_table)
    console.print(where)
    console.print(
        f"SQLite database: [cyan]{report.database}[/] (also: positions, holes, collection_log)\n"
        f"TOA5 files:      [cyan]{report.toa5_dir}[/] (LoggerNet's format; any TOA5 reader)\n"
        "Next: [bold]fieldlink emulate logger[/] in one terminal, then "
        f"[bold]fieldlink collect {report.stations_file} --once[/] in another "
        "(that file is ready to edit for your own loggers)."
    )


@click.command(name="demo")
@click.option(
    "--dir",
    "directory",
    default="fieldlink-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the demo's TOA5 files and SQLite database.",
)
def demo_command(directory: Path) -> None:
    """Collect an emulated field station into TOA5 files and a SQLite database.

    Starts a virtual CR1000, a TDR100 and a Tracer charge controller on this
    computer, collects all the logger's tables and samples the instruments, lets
    the logger log for five more (emulated) minutes and collects again, showing
    that the second cycle resumes where the first stopped.  Takes a few seconds;
    needs no options.
    """
    from rich.console import Console

    console = Console()
    report = run_demo(directory, console)
    render(report, console)
