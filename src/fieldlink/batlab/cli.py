"""``fieldlink batlab COMMAND`` and ``fieldlink emulate batlab``.

Every command works on the Batlabs found by USB discovery (VID 04D8, PID 000A), or
on the ports named with ``--port`` (repeatable): a device path such as /dev/ttyACM0
or a link URL such as the ``serial:/dev/pts/5:115200`` an emulator prints.
:func:`mount` attaches both groups to the root CLI.  The client, pyserial, the test
workflows and the emulator are imported when a command runs, so that
``fieldlink batlab COMMAND --help`` stays quick.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from fieldlink.batlab.registers import CELLS
from fieldlink.errors import FieldlinkError, NotFound, UsageError
from fieldlink.kit.commands import format_option, frame_log, mount_family, print_rows
from fieldlink.kit.emulate import HostOptions, host_options, serve_until_stopped, whole

if TYPE_CHECKING:
    from fieldlink.batlab.client import Batlab
    from fieldlink.batlab.emulator.host import BatlabEmulator
    from fieldlink.batlab.labrun import UnitResult
    from fieldlink.batlab.settings import TestSettings
    from fieldlink.batlab.testrun import TestEvent
    from fieldlink.batlab.workflow import TestKind

__all__ = ["batlab_emulator_command", "batlab_group", "mount"]

F = TypeVar("F", bound=Callable[..., Any])
#: A click option (or several), as a decorator.
_Option = Callable[[Any], Any]


def port_option(command: F) -> F:
    return click.option(
        "--port",
        "ports",
        multiple=True,
        metavar="DEVICE",
        help="Use this port (repeatable) instead of USB discovery: /dev/ttyACM0 or a link URL.",
    )(command)


def timeout_option(command: F) -> F:
    return click.option(
        "--timeout",
        type=float,
        default=1.0,
        show_default=True,
        help="Seconds to wait for each answer.",
    )(command)


def cell_option(command: F) -> F:
    return click.option(
        "--cell",
        "cells",
        type=click.IntRange(0, CELLS - 1),
        multiple=True,
        help="Cell 0-3 (repeatable; default all four).",
    )(command)


@contextlib.contextmanager
def open_units(ports: Sequence[str], timeout: float = 1.0) -> Iterator[list[Batlab]]:
    """Connect to the named ports, or to every Batlab USB discovery finds."""
    from fieldlink.batlab.client import Batlab
    from fieldlink.batlab.pool import close_quietly, discover_ports

    chosen = list(ports) or discover_ports()
    if not chosen:
        raise NotFound("no Batlab found (USB VID 04D8 PID 000A); name a port with --port DEVICE")
    units: list[Batlab] = []
    try:
        for port in chosen:
            units.append(Batlab(port, timeout=timeout))
        yield units
    finally:
        for unit in units:
            close_quietly(unit)


@click.group(name="batlab")
@click.option("--debug", is_flag=True, help="Log every packet in hex on stderr.")
@click.pass_context
def batlab_group(ctx: click.Context, debug: bool) -> None:
    """Lexcelon Batlab battery testers: registers, cells, test workflows, firmware.

    --debug goes before the command (fieldlink batlab --debug list): Batlab
    commands work on several units at once, so the trace is the group's.
    """
    if debug:
        from fieldlink.batlab.session import BatlabSession

        ctx.with_resource(frame_log(BatlabSession.frames.name, debug))


# --- inspection ---------------------------------------------------------------------------------


@batlab_group.command(name="list")
@port_option
@timeout_option
@format_option
def list_command(ports: tuple[str, ...], timeout: float, fmt: str | None) -> None:
    """Units and their cells."""
    rows = []
    with open_units(ports, timeout) as units:
        for unit in units:
            for snap in unit.snapshots():
                rows.append(
                    {
                        "port": unit.port,
                        "serial": unit.serial,
                        "firmware": unit.info.firmware,
                        "cell": snap.cell,
                        "mode": snap.mode_name,
                        "voltage": round(snap.voltage, 4),
                    }
                )
    print_rows(["port", "serial", "firmware", "cell", "mode", "voltage"], rows, fmt)


@batlab_group.command(name="read")
@click.argument("namespace")
@click.argument("register")
@port_option
@timeout_option
@format_option
def read_command(
    namespace: str, register: str, ports: tuple[str, ...], timeout: float, fmt: str | None
) -> None:
    """Read a register: NAMESPACE is 0-3, unit, bootloader or comms; REGISTER a name or number."""
    from fieldlink.batlab.names import describe_value, parse_namespace, parse_register

    ns = parse_namespace(namespace)
    address = parse_register(ns, register)
    rows = []
    with open_units(ports, timeout) as units:
        for unit in units:
            raw = unit.read(ns, address)
            r, b = _cal(unit, ns)
            rows.append(
                {
                    "serial": unit.serial,
                    "register": register.upper(),
                    "raw": raw,
                    "value": describe_value(ns, address, raw, r, b),
                }
            )
    print_rows(["serial", "register", "raw", "value"], rows, fmt)


@batlab_group.command(name="write")
@click.argument("namespace")
@click.argument("register")
@click.argument("value")
@port_option
@timeout_option
def write_command(
    namespace: str, register: str, value: str, ports: tuple[str, ...], timeout: float
) -> None:
    """Write a register: VALUE is an integer (negatives as two's complement), a mode name,
    or a number with its unit (4.2V, 1.5A, 45C, 78.125Hz)."""
    from fieldlink.batlab.names import parse_namespace, parse_register, parse_value

    ns = parse_namespace(namespace)
    address = parse_register(ns, register)
    with open_units(ports, timeout) as units:
        for unit in units:
            raw = parse_value(ns, address, value, *_cal(unit, ns))
            unit.write(ns, address, raw)
            click.echo(f"{unit.serial}: {register.upper()} = {raw}")


def _cal(unit: Batlab, ns: int) -> tuple[int, int]:
    if ns < CELLS and unit.info.temp_r:
        return unit.info.temp_r[ns], unit.info.temp_b[ns]
    return 1500, 3380


@batlab_group.command(name="measure")
@port_option
@cell_option
@timeout_option
@format_option
def measure_command(
    ports: tuple[str, ...], cells: tuple[int, ...], timeout: float, fmt: str | None
) -> None:
    """One snapshot of each cell: voltage, current, temperature, charge, mode, errors."""
    from fieldlink.batlab.names import describe_value

    columns = ["serial", "cell", "mode", "voltage", "current", "temperature", "charge",
               "error", "status"]  # fmt: skip
    rows = []
    with open_units(ports, timeout) as units:
        for unit in units:
            for cell in cells or range(CELLS):
                s = unit.snapshot(cell)
                rows.append(
                    {
                        "serial": unit.serial,
                        "cell": cell,
                        "mode": s.mode_name,
                        "voltage": round(s.voltage, 4),
                        "current": round(s.current, 4),
                        "temperature": None if s.temperature is None else round(s.temperature, 2),
                        "charge": round(s.charge, 3),
                        "error": describe_value(0, 1, int(s.error)),
                        "status": describe_value(0, 2, int(s.status)),
                    }
                )
    print_rows(columns, rows, fmt)


@batlab_group.command(name="impedance")
@port_option
@cell_option
@timeout_option
@click.option("--settle", type=click.FloatRange(0, 60), default=2.0, show_default=True,
              help="Seconds of sine current before the reading.")  # fmt: skip
@format_option
def impedance_command(
    ports: tuple[str, ...], cells: tuple[int, ...], timeout: float, settle: float, fmt: str | None
) -> None:
    """Measure each cell's impedance (AC, at the unit's sine settings)."""
    rows = []
    with open_units(ports, timeout) as units:
        for unit in units:
            for cell in cells or range(CELLS):
                try:
                    z: float | str = round(unit.impedance(cell, settle=settle), 5)
                except FieldlinkError as exc:
                    z = str(exc)
                rows.append({"serial": unit.serial, "cell": cell, "impedance": z})
    print_rows(["serial", "cell", "impedance"], rows, fmt)


# --- workflows ---------------------------------------------------------------------------------


def workflow_options(command: F) -> F:
    options = [
        click.option("--output", type=click.Path(file_okay=False), default=None,
                     help="Directory for the official CSV log (batlab-log_<name>.csv)."),
        click.option("--sink", "sinks", multiple=True, metavar="KIND:PATH",
                     help="Also store in a sink: sqlite:FILE, csv:DIR or toa5:DIR (repeatable)."),
        click.option("--plot", type=click.Path(file_okay=False), default=None,
                     help="Write PNG plots into this directory (needs matplotlib)."),
        click.option("--poll", type=float, default=None,
                     help="Seconds between polls [the settings' reportingPeriod]."),
        click.option("--quiet", is_flag=True, help="No live progress, only the summary."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def settings_option(command: F) -> F:
    return click.option(
        "--settings",
        "settings_file",
        type=click.Path(dir_okay=False),
        help="Settings JSON (the official cell playlist format) [the official defaults].",
    )(command)


def _sink_specs(sinks: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for spec in sinks:
        kind, sep, path = spec.partition(":")
        if not sep or not path:
            raise UsageError(f"--sink {spec!r}: expected KIND:PATH, e.g. sqlite:tests.sqlite")
        out.append((kind, path))
    return out


def _run_workflow(
    ports: Sequence[str],
    timeout: float,
    settings: TestSettings,
    kind: TestKind,
    cells: Sequence[int],
    *,
    settings_text: str | None,
    output: str | None,
    sinks: Sequence[str],
    plot: str | None,
    poll: float | None,
    quiet: bool,
) -> None:
    from fieldlink.batlab.labrun import run_on_units

    specs = _sink_specs(sinks)
    progress = _Progress(quiet)
    with open_units(ports, timeout) as units:
        results = run_on_units(
            units,
            settings,
            kind,
            cells=list(cells) or None,
            output=Path(output) if output else None,
            settings_text=settings_text,
            sinks=specs,
            on_event=progress.event,
            poll=poll,
        )
    _summary(results)
    if plot:
        from fieldlink.batlab.plots import plot_test

        for r in results:
            for path in plot_test(r.unit.serial, r.run.events, r.run.summaries(), plot):
                click.echo(f"plot: {path}", err=True)
    errors = [r.error for r in results if r.error is not None]
    faults = [s.fault for r in results for s in r.run.summaries().values() if s.fault]
    if errors:
        raise errors[0]
    if faults:
        raise FieldlinkError("; ".join(f for f in faults if f))


class _Progress:
    """Live per-cell progress on stderr: one line per sample, phase end and finish."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.lock = threading.Lock()

    def event(self, unit: Batlab, event: TestEvent) -> None:
        from fieldlink.batlab.testrun import EventKind
        from fieldlink.batlab.workflow import Finished, LogPeriodic, PhaseEnded

        a = event.action
        head = f"[{unit.serial} cell {event.cell}]"
        if event.kind is EventKind.SAMPLE and isinstance(a, LogPeriodic):
            r = a.reading
            line = (f"{head} {a.state.value:<13} {r.voltage:6.3f} V {r.current:6.3f} A "
                    f"{r.temperature:5.1f} °C {r.charge:9.2f} C")  # fmt: skip
        elif event.kind is EventKind.PHASE and isinstance(a, PhaseEnded):
            p = a.summary
            line = (f"{head} {p.phase.value} done: {p.charge:.2f} C ({p.capacity_mah:.1f} mAh), "
                    f"{p.energy:.1f} J, {p.runtime:.0f} s")  # fmt: skip
        elif isinstance(a, Finished):
            line = f"{head} finished" + (f": {a.fault}" if a.fault else "")
        else:
            return
        if self.quiet and event.kind is EventKind.SAMPLE:
            return
        with self.lock:
            click.echo(line, err=True)


def _summary(results: Sequence[UnitResult]) -> None:
    rows = []
    for r in results:
        for cell, s in sorted(r.run.summaries().items()):
            rows.append(
                {
                    "serial": r.unit.serial,
                    "cell": cell,
                    "result": s.fault or ("ok" if r.error is None else f"stopped: {r.error}"),
                    "capacity_mAh": _r(s.capacity_mah, 1),
                    "capacity_C": _r(s.capacity_coulombs, 2),
                    "charged_C": _r(s.charge_in, 2),
                    "energy_J": _r(s.energy, 1),
                    "impedance_ohm": _r(s.average_impedance, 4),
                    "temp_min": _r(s.temperature_min, 1),
                    "temp_max": _r(s.temperature_max, 1),
                }
            )
    columns = ["serial", "cell", "result", "capacity_mAh", "capacity_C", "charged_C",
               "energy_J", "impedance_ohm", "temp_min", "temp_max"]  # fmt: skip
    print_rows(columns, rows, None)


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _settings(settings_file: str | None, **changes: Any) -> tuple[TestSettings, str | None]:
    from fieldlink.batlab.settings import TestSettings, read_settings

    if settings_file:
        settings, text = read_settings(settings_file)
    else:
        settings, text = TestSettings(), None
    given = {k: v for k, v in changes.items() if v is not None}
    return (settings.replace(**given) if given else settings), text


def _setting_option(flag: str, attr: str, kind: Any, help_text: str) -> _Option:
    """``flag``, overriding the TestSettings field ``attr`` (unset: the settings' value)."""
    return click.option(flag, attr, type=kind, default=None, help=help_text)


def _workflow_command(kind: str, help_text: str, *changes: _Option) -> click.Command:
    """A workflow command: the unit options, ``changes`` (:func:`_setting_option`),
    --settings and the workflow options.  ``kind`` is the command's name, the value of
    its :class:`~fieldlink.batlab.workflow.TestKind` (imported when it runs)."""

    def command(
        ports: tuple[str, ...],
        cells: tuple[int, ...],
        timeout: float,
        settings_file: str | None,
        **opts: Any,
    ) -> None:
        from fieldlink.batlab.settings import TestSettings
        from fieldlink.batlab.workflow import TestKind

        fields = {f.name for f in dataclasses.fields(TestSettings)}
        given = {name: opts.pop(name) for name in fields & opts.keys()}
        settings, text = _settings(settings_file, **given)
        _run_workflow(ports, timeout, settings, TestKind(kind), cells, settings_text=text, **opts)

    command.__doc__ = help_text
    options: tuple[_Option, ...] = (
        port_option,
        cell_option,
        timeout_option,
        *changes,
        settings_option,
        workflow_options,
    )
    for option in reversed(options):
        command = option(command)
    made: click.Command = click.command(name=kind)(command)
    return made


def _rate_and_limit(rate: str, limit: str) -> tuple[_Option, _Option]:
    """--rate and --limit, for the settings fields a charge (or a discharge) uses."""
    return (
        _setting_option("--rate", rate, float, "Current in A [settings' rate]."),
        _setting_option("--limit", limit, float, "Voltage limit in V [settings']."),
    )


batlab_group.add_command(
    _workflow_command(
        "charge",
        "Charge cells to the high voltage limit, then stop.",
        *_rate_and_limit("charge_rate", "high_voltage_cutoff"),
    )
)
batlab_group.add_command(
    _workflow_command(
        "discharge",
        "Discharge cells to the low voltage limit (capacity).",
        *_rate_and_limit("discharge_rate", "low_voltage_cutoff"),
    )
)
batlab_group.add_command(
    _workflow_command(
        "cycle",
        "Precharge, rest, then discharge/charge cycles, measuring capacity each cycle.",
        _setting_option(
            "--cycles", "measurement_cycles", click.IntRange(0, 1000), "Measurement cycles."
        ),
        _setting_option("--warmup", "warmup_cycles", click.IntRange(0, 1000), "Warm-up cycles."),
        _setting_option("--rest", "rest_period", float, "Rest between phases, seconds."),
    )
)


@batlab_group.command(name="test")
@click.argument("playlist", metavar="SETTINGS.json", type=click.Path(dir_okay=False))
@port_option
@cell_option
@timeout_option
@click.option("--lenient", is_flag=True, help="Out-of-range settings fall back to defaults.")
@click.option("--discharge-only", is_flag=True, help="A discharge test instead of cycles.")
@workflow_options
def test_command(
    playlist: str,
    ports: tuple[str, ...],
    cells: tuple[int, ...],
    timeout: float,
    lenient: bool,
    discharge_only: bool,
    output: str | None,
    **opts: Any,
) -> None:
    """Run the official test workflow from a settings JSON, with live per-cell progress.

    The official CSV log goes to --output (default: the current directory)."""
    from fieldlink.batlab.settings import read_settings
    from fieldlink.batlab.workflow import TestKind

    settings, text = read_settings(playlist, lenient=lenient)
    kind = TestKind.DISCHARGE if discharge_only else TestKind.CYCLE
    _run_workflow(
        ports, timeout, settings, kind, cells, settings_text=text, output=output or ".", **opts
    )


# --- firmware ----------------------------------------------------------------------------------


@batlab_group.command(name="firmware")
@click.argument("image", metavar="FILE", type=click.Path(dir_okay=False))
@port_option
@timeout_option
@click.option("--reset-wait", type=float, default=2.0, show_default=True,
              help="Seconds to wait for the unit to reset.")  # fmt: skip
def firmware_command(image: str, ports: tuple[str, ...], timeout: float, reset_wait: float) -> None:
    """Flash a firmware image file (15360 bytes) into each unit.

    Checking for or downloading new firmware online is not offered: fetch the image
    yourself (Lexcelon's batlab-firmware-measure releases) and pass the file."""
    from fieldlink.batlab.firmware import load_image
    from fieldlink.batlab.operations import BootProgress

    img = load_image(image)
    with open_units(ports, timeout) as units:
        for unit in units:
            before = unit.info.firmware

            def show(p: BootProgress, serial: int = unit.serial) -> None:
                click.echo(f"\r{serial}: {p.done}/{p.total} bytes", nl=False, err=True)

            version = unit.bootload(img, progress=show, reset_wait=reset_wait)
            click.echo("", err=True)
            click.echo(f"{unit.serial}: firmware {before} -> {version}")


# --- shell -------------------------------------------------------------------------------------


@batlab_group.command(name="shell")
@port_option
@timeout_option
def shell_command(ports: tuple[str, ...], timeout: float) -> None:
    """An interactive prompt (help, tab completion) over the attached units."""
    from fieldlink.batlab.client import Batlab
    from fieldlink.batlab.pool import Pool
    from fieldlink.batlab.shell import BatlabShell

    opener = lambda p: Batlab(p, timeout=timeout)  # noqa: E731
    with Pool(list(ports) or None, opener=opener, keepalive=5.0) as pool:
        pool.refresh()
        pool.start()
        BatlabShell(pool).cmdloop()


# --- emulator ----------------------------------------------------------------------------------


@click.command(name="batlab")
@host_options(pty_default=True)
@click.option("--units", default="1", show_default=True, metavar="N", help="Units to emulate.")
@click.option("--speed", default="1", show_default=True, metavar="X",
              help="Run the cells' chemistry X times faster than real time.")  # fmt: skip
@click.option("--reset-silence", default="0.5", show_default=True, metavar="S",
              help="Seconds a unit stays silent after a reset.")  # fmt: skip
@click.option(
    "--cell",
    "cell_specs",
    multiple=True,
    metavar="[UNIT.]CELL:WHAT",
    help="Slot contents: 2:empty, 1.0:backwards, 3:capacity=3.2,soc=0.1 (repeatable).",
)
def batlab_emulator_command(
    host: HostOptions, units: str, speed: str, reset_silence: str, cell_specs: tuple[str, ...]
) -> None:
    """Emulate Batlab battery testers: one port per unit, its path/URL on its own line."""
    from fieldlink.batlab.emulator.host import BatlabEmulator, apply_cell_spec, make_units

    count = whole(units, "--units", 1, 64) or 1
    rate = _positive(speed, "--speed")
    silence = _positive(reset_silence, "--reset-silence", zero=True)
    check = make_units(count)
    for spec in cell_specs:  # bad specs fail before anything is served
        apply_cell_spec(check, spec)

    def make() -> list[BatlabEmulator]:
        models = make_units(count, speed=rate, seed=host.seed, reset_silence=silence)
        for spec in cell_specs:
            apply_cell_spec(models, spec)
        hosts = []
        for n, model in enumerate(models):
            kwargs = host.host_kwargs()
            if not host.pty and n:  # each unit its own TCP port
                address = kwargs["listen"].rsplit(":", 1)[0]
                kwargs["listen"] = f"{address}:0"
            hosts.append(BatlabEmulator(model, **kwargs))
        return hosts

    serve_until_stopped(make, logger="fieldlink.batlab")


def _positive(text: str, option: str, *, zero: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a number") from None
    if not (value >= 0 if zero else value > 0) or value != value or value == float("inf"):
        raise UsageError(f"{option} must be a positive number, not {text}")
    return value


def mount(root: click.Group, emulate: click.Group | None) -> None:
    """Attach ``fieldlink batlab`` and ``fieldlink emulate batlab``."""
    mount_family(root, emulate, batlab_group, lambda: batlab_emulator_command)
