"""``fieldlink tdr100 COMMAND URL ...`` and ``fieldlink emulate tdr100``.

The root CLI calls :func:`mount` to attach both.  Commands print with the kit's
:func:`~fieldlink.kit.commands.print_rows` (an aligned table on a terminal, CSV in a
pipe, ``--format`` to choose); a sweep on a terminal shows its progress on stderr.
The client (and with it the link layer and asyncio) is imported when a command runs,
so that ``fieldlink tdr100 COMMAND --help`` stays quick.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fieldlink.errors import DeviceError, UsageError
from fieldlink.kit.commands import (
    InstrumentOptions,
    choice_option,
    format_option,
    frame_log,
    instrument_options,
    mount_family,
    print_rows,
    value_option,
)
from fieldlink.kit.emulate import HostOptions, host_options, serve_until_stopped
from fieldlink.tdr100 import analysis
from fieldlink.tdr100.protocol import MuxPath, by_name
from fieldlink.tdr100.protocol.crc import CANDIDATES

if TYPE_CHECKING:
    from fieldlink.tdr100.client import TDR100
    from fieldlink.tdr100.results import Measurement

__all__ = ["mount", "tdr100_emulator", "tdr100_group"]

FRAME_LOGGER = "fieldlink.tdr100.frames"
_CRC_NAMES = [v.name.removeprefix("CRC-16/").lower() for v in CANDIDATES]
_channel_option = value_option("--channel", "PATH", "Multiplexer path, e.g. 1.3.")
_COLUMNS = ["channel", "la_l", "ka", "water_content", "ec_dS_m", "ec25_dS_m", "error"]


@contextmanager
def connect(link: InstrumentOptions) -> Iterator[TDR100]:
    """The TDR100 named by the options, closed at the end."""
    from fieldlink.tdr100.client import TDR100

    with frame_log(FRAME_LOGGER, link.debug), TDR100.from_url(link.url, timeout=link.timeout) as t:
        yield t


def _path(text: str | None) -> MuxPath | None:
    return None if text is None else MuxPath.parse(text)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None]]:
    """A rich progress bar on stderr when it is a terminal; silence in a pipe."""
    if total < 2 or not sys.stderr.isatty():
        yield lambda label: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("sweeping", total=total)

        def advance(label: str) -> None:
            bar.update(task, advance=1, description=f"channel {label}")

        yield advance


# --- the group --------------------------------------------------------------------------


@click.group(name="tdr100")
def tdr100_group() -> None:
    """Campbell Scientific TDR100 time-domain reflectometer (+ SDMX50 multiplexers).

    \b
    URL is serial:DEVICE:BAUD (57600 by default on the TDR100), tcp:HOST:PORT or a
    pyserial URL.  Multiplexer channels are level.channel (1.3), deeper paths
    joined by '/' (1.3/2.5); sweeps are ranges and lists (1.1-1.8,2.1).
    """


@tdr100_group.command()
@instrument_options()
@format_option
def settings(link: InstrumentOptions, fmt: str | None) -> None:
    """Show the nine settings (DUMP) with their units and valid ranges."""
    with connect(link) as tdr:
        current = tdr.settings()
    rows = [
        {"setting": s.name.replace("_", "-"), "value": value, "units": s.units,
         "range": s.range_text()}
        for s, value in current.items()
    ]  # fmt: skip
    print_rows(["setting", "value", "units", "range"], rows, fmt)


@tdr100_group.command(name="set")
@instrument_options()
@click.argument("name")
@click.argument("value")
def set_command(link: InstrumentOptions, name: str, value: str) -> None:
    """Set setting NAME (vp, averages, points, distance, window, probe-length,
    probe-offset, cell-constant, smooth) to VALUE; checked before sending."""
    from fieldlink.tdr100.settings import setting

    rule = setting(name)
    checked = rule.parse(value)
    with connect(link) as tdr:
        tdr.set(rule.name, checked)
    unit = f" {rule.units}" if rule.units else ""
    click.echo(f"{rule.name.replace('_', '-')} = {checked}{unit}")


def _method(method: str, calibration: str | None, variable: str) -> analysis.Method:
    if calibration is not None:
        return analysis.Calibration.parse(calibration, "la_l" if variable == "la_l" else "ka")
    return "ledieu" if method == "ledieu" else "topp"


@tdr100_group.command()
@instrument_options(default_timeout=5.0)
@value_option("--channels", "SPEC", "Multiplexer channels, e.g. 1.1-1.8 [the current selection].")
@choice_option("--method", ["topp", "ledieu"], "Water-content equation.")
@value_option("--calibration", "C0,C1,...", "Your own polynomial instead of --method.")
@choice_option("--calibration-variable", ["ka", "la_l"], "What the polynomial's variable is.")
@value_option("--temperature", "DEGC", "Soil temperature: adds EC corrected to 25 °C.", type=float)
@format_option
def measure(
    link: InstrumentOptions,
    channels: str | None,
    method: str,
    calibration: str | None,
    calibration_variable: str,
    temperature: float | None,
    fmt: str | None,
) -> None:
    """Measure La/L, permittivity, water content and bulk EC (dS/m) per channel.

    A failed channel is shown with its error and the others are kept; the exit
    status is then 1.
    """
    from fieldlink.tdr100.client import paths

    how = _method(method, calibration, calibration_variable)
    targets = paths(channels) if channels else None
    results: list[Measurement] = []
    with connect(link) as tdr:
        if targets is None:
            results.append(tdr.measure(None, method=how, temperature=temperature))
        else:
            with _progress(len(targets)) as advance:
                for m in tdr.sweep(targets, method=how, temperature=temperature):
                    results.append(m)
                    advance(str(m.path))
    print_rows(_COLUMNS, [m.row() for m in results], fmt)
    failed = [m for m in results if not m.ok]
    if failed:
        names = ", ".join(str(m.path) for m in failed)
        raise DeviceError(f"{len(failed)} of {len(results)} channel(s) failed: {names}")


@tdr100_group.command()
@instrument_options(default_timeout=5.0)
@click.option(
    "--output",
    "-o",
    "outputs",
    multiple=True,
    required=True,
    metavar="FILE",
    help="Where to write it: .csv or .png by suffix (give it twice for both).",
)
@_channel_option
@click.option("--uncalibrated", is_flag=True, help="Acquire without calibration (GNWA).")
def waveform(
    link: InstrumentOptions, outputs: tuple[str, ...], channel: str | None, uncalibrated: bool
) -> None:
    """Acquire a waveform and save it as CSV and/or a PNG plot with the probe marked."""
    targets = [Path(o) for o in outputs]
    for target in targets:
        if target.suffix.lower() not in (".csv", ".png"):
            raise UsageError(f"--output {target}: the name must end in .csv or .png")
    with connect(link) as tdr:
        wave = tdr.waveform(_path(channel), calibrated=not uncalibrated)
    for target in targets:
        if target.suffix.lower() == ".csv":
            wave.to_csv(target)
        else:
            wave.plot(target)
        click.echo(str(target))


@tdr100_group.command(name="calibrate-cell-constant")
@instrument_options(default_timeout=5.0)
@click.option(
    "--water-temp",
    type=float,
    required=True,
    metavar="DEGC",
    help="Temperature of the de-ionised water the probe stands in.",
)
@_channel_option
@click.option("--save", is_flag=True, help="Also store the result as the cell constant (SPCC).")
def calibrate_cell_constant(
    link: InstrumentOptions, water_temp: float, channel: str | None, save: bool
) -> None:
    """Compute the probe's cell constant Kp in de-ionised water (CCCC)."""
    with connect(link) as tdr:
        result = tdr.cell_constant(water_temp, _path(channel))
        if save:
            tdr.set_cell_constant(round(result.cell_constant, 6))
    click.echo(f"cell constant {result.cell_constant:.5g} 1/m (smooth factor {result.smooth:g})")
    if save:
        click.echo("saved as the cell constant")


@tdr100_group.command()
@instrument_options()
@format_option
def version(link: InstrumentOptions, fmt: str | None) -> None:
    """Show boot-code and OS versions and signatures (GVER)."""
    with connect(link) as tdr:
        v = tdr.versions()
    rows = [
        {"part": "boot", "version": v.boot_version, "signature": f"0x{v.boot_signature:04X}"},
        {"part": "os", "version": v.os_version, "signature": f"0x{v.os_signature:04X}"},
    ]
    print_rows(["part", "version", "signature"], rows, fmt)


@tdr100_group.command(name="power-off")
@instrument_options()
def power_off(link: InstrumentOptions) -> None:
    """Switch the analog section to low power (SOFF); the next measurement wakes it."""
    with connect(link) as tdr:
        tdr.power_off()
    click.echo("analog section off")


# --- the emulator -----------------------------------------------------------------------


@click.command(name="tdr100")
@host_options()
@value_option(
    "--scene",
    "FILE",
    "TOML: cable, probe and a soil per channel [8 channels, dry sand to wet clay].",
)
@click.option(
    "--crc",
    default="xmodem",
    show_default=True,
    metavar="VARIANT",
    help=f"CRC-16 of the replies: {', '.join(_CRC_NAMES)}.",
)
def tdr100_emulator(host: HostOptions, scene: str | None, crc: str) -> None:
    """Emulate a TDR100 with SDMX50 multiplexers and soil probes.

    Prints the URL to connect to as the first line, then serves until interrupted.
    """
    from fieldlink.tdr100.emulator import TDR100Emulator, load_scene

    variant = by_name(crc)
    loaded = load_scene(scene) if scene else None

    def make() -> list[TDR100Emulator]:
        return [TDR100Emulator(loaded, crc=variant, **host.host_kwargs())]

    serve_until_stopped(make, logger="fieldlink.tdr100")


def mount(root: click.Group, emulate: click.Group | None) -> None:
    """Attach ``fieldlink tdr100 ...`` and ``fieldlink emulate tdr100``."""
    mount_family(root, emulate, tdr100_group, lambda: tdr100_emulator)
