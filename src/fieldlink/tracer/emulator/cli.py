"""``fieldlink emulate tracer``: an emulated charge controller on TCP or a pty.

The emulator (pymodbus, asyncio) is imported when it starts, not for ``--help``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click

from fieldlink.errors import UsageError
from fieldlink.kit.emulate import HostOptions, host_options, serve_until_stopped
from fieldlink.tracer.options import controller_options

if TYPE_CHECKING:
    from fieldlink.tracer.emulator.host import TracerEmulator


def _start(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--start {text!r} is not an ISO date/time (2026-06-21T05:00)") from None


@click.command(name="tracer")
@host_options()
@controller_options
@click.option(
    "--speed",
    type=click.FloatRange(min=0.001),
    default=1.0,
    show_default=True,
    help="Simulated seconds per real second (60: a day in 24 minutes).",
)
@click.option("--latitude", type=click.FloatRange(-90, 90), default=45.0, show_default=True)
@click.option("--clouds", is_flag=True, help="Passing clouds (seeded by --seed).")
@click.option("--start", default=None, metavar="ISO", help="Controller clock at start [now].")
@click.option("--wake", is_flag=True, help="MT-5: send the wake-up bytes before replies.")
@click.option(
    "--no-setting-checks", is_flag=True, help="Accept settings that break the ranges or rules A–E."
)
def tracer_emulator_command(
    host: HostOptions,
    protocol: str,
    framing: str,
    unit: int,
    speed: float,
    latitude: float,
    clouds: bool,
    start: str | None,
    wake: bool,
    no_setting_checks: bool,
) -> None:
    """An emulated EPsolar/EPEVER Tracer charge controller.

    Prints the URL to connect to (first stdout line) and serves until interrupted.
    """
    from fieldlink.tracer.emulator.host import TracerEmulator

    when = _start(start)

    def make() -> list[TracerEmulator]:
        return [
            TracerEmulator(
                protocol="mt5" if protocol == "mt5" else "modbus",
                framing="socket" if framing == "tcp" else "rtu",
                unit=unit,
                speed=speed,
                latitude=latitude,
                clouds=clouds,
                start=when,
                wake=wake,
                check_settings=not no_setting_checks,
                **host.host_kwargs(),
            )
        ]

    serve_until_stopped(make, logger="fieldlink.tracer")
