"""``fieldlink emulate logger``: serve a virtual CR1000-family datalogger until stopped.

The first line on stdout is the URL to connect to (``tcp:127.0.0.1:40123`` or
``serial:/dev/pts/7:115200``); the rest of the contract is the kit's
(:mod:`fieldlink.kit.emulate`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from fieldlink.kit.emulate import HostOptions, host_options, serve_until_stopped, whole
from fieldlink.pakbus.defaults import DEFAULT_PORT
from fieldlink.pakbus.emulator.models import MODELS, logger_model

if TYPE_CHECKING:  # the server (asyncio, the codec) is imported when the emulator starts
    from fieldlink.pakbus.emulator.server import LoggerEmulator

__all__ = ["logger_command"]


@click.command(name="logger")
@host_options(f"127.0.0.1:{DEFAULT_PORT}")
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
def logger_command(
    host: HostOptions,
    model: str | None,
    node: str,
    security_code: str | None,
    station: str | None,
    records: str | None,
) -> None:
    """Emulate a Campbell Scientific CR1000-family datalogger (PakBus).

    Prints the URL to connect to as the first line, then serves until interrupted.
    """
    from fieldlink.pakbus.emulator.config import load_station
    from fieldlink.pakbus.emulator.server import LoggerEmulator

    def make() -> list[LoggerEmulator]:
        if model is not None:
            logger_model(model)
        return [
            LoggerEmulator(
                model=model,
                node=whole(node, "--node", 1, 4094) or 1,
                security_code=whole(security_code, "--security-code", 0, 65_535),
                station=load_station(station) if station else None,
                records=whole(records, "--records", 0, 100_000_000),
                **host.host_kwargs(),
            )
        ]

    serve_until_stopped(make, logger="fieldlink.pakbus.emulator")
