"""``fieldlink collect STATIONS.toml [--once]``: keep every station's data on disk.

Without ``--once`` it runs until interrupted, each station on its schedule;
SIGINT or SIGTERM stops it cleanly (records already received are stored, the
next run resumes from there).  With ``--once`` — for cron — every station gets
one cycle, all at once, and the exit status is 1 if any of them failed.

The collector (asyncio, the clients, the stores, rich) is imported when the command
runs, so that ``fieldlink collect --help`` stays quick.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fieldlink.errors import UsageError

if TYPE_CHECKING:
    import asyncio

    from fieldlink.collect.config import StationConfig
    from fieldlink.collect.results import CycleResult
    from fieldlink.collect.status import StatusBoard


@click.command(name="collect")
@click.argument(
    "stations_file", metavar="STATIONS.toml", type=click.Path(path_type=Path), required=False
)
@click.option(
    "--once",
    is_flag=True,
    help="One cycle per station, then exit (for cron); exit status 1 if any failed.",
)
@click.option(
    "--station",
    "only",
    multiple=True,
    metavar="NAME",
    help="Collect only this station (repeat for several).",
)
@click.option(
    "--plain",
    is_flag=True,
    help="Plain log lines even on a terminal (default there: a live table).",
)
@click.option(
    "--example",
    is_flag=True,
    help="Print a commented stations file that explains every key, and exit.",
)
def collect_command(
    stations_file: Path | None, once: bool, only: tuple[str, ...], plain: bool, example: bool
) -> None:
    """Collect every station in STATIONS.toml, concurrently and resumably.

    Each table resumes from the last record stored, so a crash, a cut link or a
    rerun never loses or duplicates a record; records the logger overwrote before
    they could be collected are reported as holes.

    \b
    A minimal STATIONS.toml (`fieldlink demo` leaves one in fieldlink-demo/;
    `fieldlink collect --example > stations.toml` writes one that explains
    every key):
      [[station]]
      name = "ridge"
      url = "tcp:192.168.1.10:6785"
      sinks = [{ kind = "sqlite", path = "ridge.sqlite" }]
    """
    if example:
        if stations_file is not None or once or only:
            raise UsageError("--example prints the example stations file; give it alone")
        click.echo(example_stations(), nl=False)
        return
    if stations_file is None:
        raise click.UsageError("Missing argument 'STATIONS.toml' (or --example for one).")
    import asyncio

    from fieldlink.collect.config import load_stations

    stations = list(load_stations(stations_file).stations)
    if only:
        unknown = [n for n in only if n not in {s.name for s in stations}]
        if unknown:
            raise UsageError(
                f"no station {', '.join(map(repr, unknown))} in {stations_file} "
                f"(it has: {', '.join(s.name for s in stations)})"
            )
        stations = [s for s in stations if s.name in only]
    live = not plain and sys.stdout.isatty()
    try:
        results = asyncio.run(_run(stations, once=once, live=live))
    except asyncio.CancelledError:  # a second signal cancelled the cycles in progress
        click.echo("fieldlink: collection interrupted", err=True)
        sys.exit(130)
    if once and any(not r.ok for r in results):
        click.echo(f"fieldlink: {failure_summary(results)}", err=True)
        sys.exit(1)


def example_stations() -> str:
    """The commented example stations file shipped in the package."""
    from importlib import resources

    return (resources.files("fieldlink.collect") / "example_stations.toml").read_text("utf-8")


def failure_summary(results: list[CycleResult]) -> str:
    """One line for cron mail: which stations failed, and why (the error's own words)."""
    failed = [r for r in results if not r.ok]
    head = f"{len(failed)} of {len(results)} stations failed: "
    return head + "; ".join(
        f"{r.station} ({' '.join((r.error or r.error_kind or 'error').split())})" for r in failed
    )


async def _run(stations: list[StationConfig], *, once: bool, live: bool) -> list[CycleResult]:
    import asyncio

    from fieldlink.collect.config import describe
    from fieldlink.collect.connect import connect_client
    from fieldlink.collect.scheduler import collect_forever, collect_once, make_cycle
    from fieldlink.collect.sinks import SinkPool
    from fieldlink.collect.status import LiveStatus, LogStatus

    status: StatusBoard
    with SinkPool() as pool, contextlib.ExitStack() as stack:
        if live:
            status = stack.enter_context(LiveStatus(stations))
        else:
            status = LogStatus(stations, sys.stdout)
            for station in stations:
                status.note(describe(station))
        cycle = make_cycle(connect_client, pool, status)
        if once:
            return await collect_once(stations, cycle, status)
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await collect_forever(stations, cycle, status, stop=stop)
        return []


def _stop_on_signals(stop: asyncio.Event) -> None:
    """First SIGINT/SIGTERM: stop after the cycles in progress; second: cancel them.

    Cancelling is safe too (the engine stores what arrived before it returns), but
    letting a cycle finish avoids collecting the same tail twice.
    """
    import asyncio

    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def on_signal() -> None:
        if stop.is_set() and main is not None:
            main.cancel()
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)
