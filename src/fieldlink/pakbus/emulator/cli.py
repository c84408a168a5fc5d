"""``fieldlink emulate logger``: serve a virtual CR1000-family datalogger until stopped.

The first line on stdout is the URL to connect to (``tcp:127.0.0.1:40123`` or
``serial:/dev/pts/7:115200``), flushed at once so a script or test can read it and
go; everything else goes to stderr.  SIGINT or SIGTERM stops it with status 0.
Option values are checked here and a bad one is one line on stderr with status 2.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import click

from fieldlink.errors import UsageError
from fieldlink.pakbus.emulator.config import load_station
from fieldlink.pakbus.emulator.faults import Faults
from fieldlink.pakbus.emulator.models import MODELS, logger_model
from fieldlink.pakbus.emulator.server import DEFAULT_PORT, LoggerEmulator, parse_listen

__all__ = ["logger_command"]

log = logging.getLogger("fieldlink.pakbus.emulator")


def _whole(value: str | None, option: str, lo: int, hi: int | None = None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value, 0)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a whole number") from None
    if number < lo or (hi is not None and number > hi):
        span = f"{lo}..{hi}" if hi is not None else f"{lo} or more"
        raise UsageError(f"{option} must be {span}, not {number}")
    return number


@click.command(name="logger")
@click.option(
    "--listen",
    default=f"127.0.0.1:{DEFAULT_PORT}",
    show_default=True,
    metavar="HOST:PORT",
    help="TCP address to serve on; port 0 picks a free one.",
)
@click.option("--pty", is_flag=True, help="Serve on a pseudo-terminal (a serial device path).")
@click.option(
    "--model",
    default=None,
    metavar="MODEL",
    help=f"Logger model: {', '.join(MODELS)} [the station file's, else CR1000].",
)
@click.option(
    "--node",
    default="1",
    show_default=True,
    metavar="N",
    help="PakBus address of the logger (1..4094).",
)
@click.option(
    "--security-code",
    default=None,
    metavar="CODE",
    help="Level-1 security code (1..65535); without it the logger is open.",
)
@click.option(
    "--station",
    default=None,
    metavar="FILE",
    help="TOML description of tables, fields, rates and neighbours.",
)
@click.option(
    "--records",
    default=None,
    metavar="N",
    help="Records already logged in the first data table at start [10000].",
)
@click.option(
    "--baud", default=None, metavar="N", help="Pace the stream to this serial line rate (bits/s)."
)
@click.option(
    "--faults",
    default=None,
    metavar="SPEC",
    help="e.g. drop=0.05,corrupt=0.01,delay=0.2,disconnect-after=50000",
)
@click.option(
    "--seed",
    default="0",
    show_default=True,
    metavar="N",
    help="Seed for values and faults (same seed, same data).",
)
def logger_command(
    listen: str,
    pty: bool,
    model: str | None,
    node: str,
    security_code: str | None,
    station: str | None,
    records: str | None,
    baud: str | None,
    faults: str | None,
    seed: str,
) -> None:
    """Emulate a Campbell Scientific CR1000-family datalogger (PakBus).

    Prints the URL to connect to as the first line, then serves until interrupted.
    """
    for sig in (signal.SIGINT, signal.SIGTERM):  # stopped while starting: still a clean exit
        signal.signal(sig, _stop_while_starting)
    _log_level()
    if model is not None:
        logger_model(model)
    parse_listen(listen)
    emulator = LoggerEmulator(
        model=model,
        node=_whole(node, "--node", 1, 4094) or 1,
        security_code=_whole(security_code, "--security-code", 0, 65_535),
        station=load_station(station) if station else None,
        records=_whole(records, "--records", 0, 100_000_000),
        seed=_whole(seed, "--seed", -(2**63), 2**63) or 0,
        listen=listen,
        pty=pty,
        baud=_whole(baud, "--baud", 1, 10_000_000),
        faults=Faults.parse(faults) if faults else None,
    )
    asyncio.run(_serve(emulator))


def _stop_while_starting(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _log_level() -> None:
    """An emulator is a server: at the default level its log says what it serves and
    one line for each connection opened and closed; ``-v`` adds every message in and
    out (``-vv`` also every frame the decoder drops)."""
    context = click.get_current_context(silent=True)
    verbose = 0
    if context is not None:
        verbose = int(context.find_root().params.get("verbose") or 0)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


async def _serve(emulator: LoggerEmulator) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before the URL: a script may signal at once
        loop.add_signal_handler(sig, stop.set)
    url = await emulator.start()
    sys.stdout.write(url + "\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await emulator.stop()
