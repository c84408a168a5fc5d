"""``fieldlink tracer COMMAND URL``: talk to a Tracer charge controller.

Every command takes the URL, ``--protocol modbus|mt5``, ``--unit ID`` and
``--framing rtu|tcp`` (Modbus on TCP), ``--timeout`` and ``--debug``.  The lead
mounts it with :func:`mount` (``fieldlink tracer`` and ``fieldlink emulate tracer``).
The clients, codecs, pymodbus and the stores are imported when a command runs, so
that ``fieldlink tracer COMMAND --help`` stays quick.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from fieldlink.collect.durations import parse_duration
from fieldlink.errors import DeviceError, LinkTimeout, ProtocolError, UsageError
from fieldlink.kit.commands import (
    InstrumentOptions,
    format_option,
    frame_log,
    instrument_options,
    mount_family,
    print_rows,
)
from fieldlink.tracer.errors import TracerError
from fieldlink.tracer.options import controller_options

if TYPE_CHECKING:
    from fieldlink.tracer import operations as ops
    from fieldlink.tracer import source
    from fieldlink.tracer.client import Tracer
    from fieldlink.tracer.mt5 import messages as mt5

F = TypeVar("F", bound=Callable[..., Any])
ROWS = ("name", "value", "unit")


@dataclass(frozen=True, slots=True)
class TracerOptions:
    """How to reach the controller, and which one it is (as the collector's options say it)."""

    link: InstrumentOptions
    controller: source.SourceOptions


def tracer_options(command: F) -> F:
    """The URL and link options, plus --protocol, --unit and --framing, as ``tracer``."""

    @instrument_options(default_timeout=1.0)
    @controller_options
    @functools.wraps(command)
    def wrapper(
        link: InstrumentOptions, protocol: str, unit: int, framing: str, **kwargs: Any
    ) -> Any:
        from fieldlink.tracer import source

        controller = source.SourceOptions(protocol=protocol, unit=unit, framing=framing)
        return command(tracer=TracerOptions(link, controller), **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def connect(options: TracerOptions) -> Iterator[Tracer]:
    from fieldlink.tracer.client import Tracer
    from fieldlink.tracer.session import frames_log

    client_options = options.controller.client_options(options.link.timeout)
    with (
        frame_log(frames_log.name, options.link.debug),
        Tracer.from_url(options.link.url, **client_options) as tracer,
    ):
        yield tracer


def _rows(values: Mapping[str, object], units: Mapping[str, str]) -> list[dict[str, object]]:
    return [{"name": k, "value": v, "unit": units.get(k, "")} for k, v in values.items()]


def _status_rows(status: ops.Snapshot | mt5.RealTimeData) -> list[dict[str, object]]:
    from fieldlink.tracer.mt5 import messages as mt5

    if isinstance(status, mt5.RealTimeData):
        return _rows(status.measurements(), status.UNITS)
    return _rows(status.as_dict(), status.realtime.units())


@click.group(name="tracer")
def tracer_group() -> None:
    """EPsolar/EPEVER Tracer MPPT charge controllers (MT-5 and Modbus generations)."""


@tracer_group.command()
@tracer_options
@format_option
def status(tracer: TracerOptions, fmt: str | None) -> None:
    """Battery, panel and load values, charging stage and every status flag."""
    with connect(tracer) as t:
        print_rows(ROWS, _status_rows(t.status()), fmt)


@tracer_group.command()
@tracer_options
@click.argument("state", type=click.Choice(["on", "off"]))
def load(tracer: TracerOptions, state: str) -> None:
    """Switch the load output on or off (manual load control)."""
    with connect(tracer) as t:
        now_on = t.load(state == "on")
    click.echo(f"load {'on' if now_on else 'off'}")
    if now_on != (state == "on"):
        raise TracerError(
            f"the controller kept the load {'on' if now_on else 'off'} (load control mode "
            f"not manual, or a tripped output)"
        )


@tracer_group.command()
@tracer_options
@format_option
@click.argument("action", type=click.Choice(["show", "set"]), default="show")
@click.argument("pairs", nargs=-1, metavar="[NAME VALUE]...")
def settings(tracer: TracerOptions, fmt: str | None, action: str, pairs: tuple[str, ...]) -> None:
    """Show the settings, or set NAME VALUE pairs (battery settings as one validated block)."""
    from fieldlink.tracer.modbus import registers as regs
    from fieldlink.tracer.modbus.settings import USER_TYPE, BatterySettings, parse_value

    if action == "show" and pairs:
        raise UsageError("settings show takes no NAME VALUE pairs (did you mean set?)")
    if action == "set" and (not pairs or len(pairs) % 2):
        raise UsageError("settings set needs NAME VALUE pairs, e.g. boost_voltage 14.3")
    changes = {pairs[i]: parse_value(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)}
    units = {r.name: r.unit for r in regs.SETTINGS}
    with connect(tracer) as t:
        battery = {k: v for k, v in changes.items() if k in BatterySettings.names()}
        if battery:
            t.write_settings(**battery)
        for name, value in changes.items():
            if name not in battery:
                t.set_setting(name, value)
        shown = t.settings()
    preset = [n for n in changes if n in _voltage_settings()]
    if preset and shown.get("battery_type") != USER_TYPE:
        click.echo(
            f"note: battery type {shown.get('battery_type')} is a preset: the controller charges "
            f"with its own voltages, and {', '.join(preset)} "
            f"{'takes' if len(preset) == 1 else 'take'} effect (and is checked against rules "
            "A–E) only with battery_type 0 (user)",
            err=True,
        )
    if changes:
        shown = {k: shown[k] for k in changes}
    print_rows(ROWS, _rows(shown, units), fmt)


def _voltage_settings() -> frozenset[str]:
    """The twelve voltage set points (HVD ... DLV), which a preset battery type ignores."""
    from fieldlink.tracer.modbus import registers as regs
    from fieldlink.tracer.modbus.settings import ABBREVIATIONS

    return frozenset(r.name for r in regs.SETTINGS if r.address in ABBREVIATIONS)


@tracer_group.command()
@tracer_options
@click.argument("action", type=click.Choice(["show", "set"]), default="show")
@click.argument("when", required=False, metavar="[DATETIME]")
@click.option("--sync", is_flag=True, help="Set the controller's clock to this computer's.")
def clock(tracer: TracerOptions, action: str, when: str | None, sync: bool) -> None:
    """Show the controller's clock, set it (ISO DATETIME) or --sync it to the host."""
    target: dt.datetime | None = None
    if action == "set":
        if when is None:
            raise UsageError("clock set needs a DATETIME, e.g. 2026-06-21T12:00:00")
        try:
            target = dt.datetime.fromisoformat(when)
        except ValueError:
            raise UsageError(f"{when!r} is not an ISO date/time") from None
    with connect(tracer) as t:
        if sync:
            before, after = t.sync_clock()
            click.echo(
                f"{after.isoformat(sep=' ')} (was {before.isoformat(sep=' ')}, "
                f"off by {(before - after).total_seconds():+.0f} s)"
            )
        elif target is not None:
            click.echo(t.set_clock(target).isoformat(sep=" "))
        else:
            click.echo(t.clock().isoformat(sep=" "))


def _group_command(name: str, doc: str, read: Callable[[Tracer], Any]) -> None:
    @tracer_group.command(name=name, help=doc)
    @tracer_options
    @format_option
    def command(tracer: TracerOptions, fmt: str | None) -> None:
        with connect(tracer) as t:
            value = read(t)
        units = value.units() if hasattr(value, "units") else {}
        print_rows(ROWS, _rows(value.as_dict(), units), fmt)


_group_command("stats", "Energy generated and consumed, today's extremes.", lambda t: t.stats())
_group_command(
    "rated", "Rated data: panel, battery, charging and load ratings.", lambda t: t.rated()
)
_group_command("info", "Vendor, product, firmware and serial number (FC 0x2B).", lambda t: t.info())


def _repeat_options(every: str, what: str) -> Callable[[F], F]:
    """``--every INTERVAL`` and ``--count N``, for commands that read again and again."""

    def decorate(command: F) -> F:
        every_option = click.option(
            "--every", default=every, show_default=True, help=f"Time between {what}s."
        )
        count_option = click.option(
            "--count", type=click.IntRange(min=1), help=f"Stop after this many {what}s [never]."
        )
        return every_option(count_option(command))

    return decorate


@tracer_group.command()
@tracer_options
@_repeat_options("2s", "reading")
def watch(tracer: TracerOptions, every: str, count: int | None) -> None:
    """Live status, refreshed in place on a terminal (Ctrl-C to stop)."""
    interval = _seconds(every, "--every")
    terminal = sys.stdout.isatty()
    done = 0
    with connect(tracer) as t:
        try:
            while count is None or done < count:
                rows = _status_rows(t.status())
                if terminal:
                    click.clear()
                click.echo(f"{tracer.link.url}  {dt.datetime.now():%Y-%m-%d %H:%M:%S}")
                print_rows(ROWS, rows, "table")
                done += 1
                if count is None or done < count:
                    time.sleep(interval)
        except KeyboardInterrupt:
            pass


@tracer_group.command()
@tracer_options
@_repeat_options("10s", "sample")
@click.option(
    "--sink", "sink_kind", type=click.Choice(["sqlite", "csv"]), default="sqlite", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    required=True,
    help="Database file (sqlite) or directory (csv).",
)
@click.option("--station", default="tracer", show_default=True, help="Station name.")
@click.option("--no-stats", is_flag=True, help="Leave out the statistics table.")
def log(
    tracer: TracerOptions,
    every: str,
    count: int | None,
    sink_kind: str,
    output: Path,
    station: str,
    no_stats: bool,
) -> None:
    """Sample the controller --every interval into SQLite or CSV (the collector's tables).

    A sample the controller does not answer is reported on stderr and skipped.
    """
    import asyncio

    from fieldlink.tracer.session import frames_log

    interval = _seconds(every, "--every")
    opts = dataclasses.replace(tracer.controller, statistics=not no_stats)
    with frame_log(frames_log.name, tracer.link.debug), contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_log(tracer, opts, interval, count, sink_kind, output, station))


async def _log(
    tracer: TracerOptions,
    opts: source.SourceOptions,
    interval: float,
    count: int | None,
    sink_kind: str,
    output: Path,
    station: str,
) -> None:
    import asyncio

    from fieldlink.collect.sampled import append_next
    from fieldlink.store import open_sink
    from fieldlink.store.base import StationInfo
    from fieldlink.tracer import source
    from fieldlink.tracer.client import AsyncTracer

    sink = open_sink(sink_kind, output)
    writers: dict[str, Any] = {}
    try:
        client_options = opts.client_options(tracer.link.timeout)
        async with AsyncTracer.from_url(tracer.link.url, **client_options) as client:
            sampler = source.TracerSampler(client, opts)
            info = await sampler.info()
            where = StationInfo(
                station,
                model=info.model,
                serial_number=info.serial_number,
                os_version=info.os_version,
                program_name="tracer log",
            )
            writers.update((t.name, sink.open_table(where, t)) for t in sampler.tables())
            done = 0
            while count is None or done < count:
                started = time.monotonic()
                stamp = dt.datetime.now().replace(microsecond=0)
                done += 1
                try:
                    reading = await sampler.sample()
                except (LinkTimeout, ProtocolError, DeviceError) as exc:
                    # A missed sample is logged and the next one tried, as the collector does.
                    click.echo(f"{stamp:%Y-%m-%d %H:%M:%S} sample {done} missed: {exc}", err=True)
                else:
                    for name, writer in writers.items():
                        row = reading.get(name)
                        if row is not None:
                            append_next(writer, stamp, row)
                    click.echo(f"{stamp:%Y-%m-%d %H:%M:%S} sample {done} stored", err=True)
                if count is None or done < count:
                    await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
    finally:
        for writer in writers.values():
            writer.close()
        sink.close()


def _seconds(text: str, option: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    if seconds <= 0:
        raise UsageError(f"{option} must be more than 0 s")
    return seconds


def mount(root: click.Group, emulate: click.Group | None) -> None:
    """Attach ``fieldlink tracer ...`` and ``fieldlink emulate tracer``."""

    def emulator() -> click.Command:
        from fieldlink.tracer.emulator.cli import tracer_emulator_command

        return tracer_emulator_command

    mount_family(root, emulate, tracer_group, emulator)


__all__ = ["mount", "tracer_group"]
