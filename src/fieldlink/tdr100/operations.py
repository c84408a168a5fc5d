"""TDR100 conversations, written once for the blocking and the asyncio client.

Each function is a generator (:mod:`fieldlink.kit.converse`): it yields
:class:`~fieldlink.kit.reply.Ask` steps through ``ask`` and returns its result, so
:mod:`fieldlink.kit.drive` can run it over any link.  A measurement takes an SDMX50
``path`` (None: leave the multiplexer as it is) and selects it first, one ``SMUX``
per level (§6).  Commands that acquire a waveform wait longer the more averages ×
points they take (:func:`acquisition_timeout`): every acquiring conversation reads
the device's settings (DUMP) first, so the session knows them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from fieldlink.errors import DeviceError, LinkTimeout, ProtocolError
from fieldlink.kit.converse import Operation, Stream, emit
from fieldlink.kit.reply import ask
from fieldlink.tdr100 import analysis
from fieldlink.tdr100.protocol import Ack, Command, MuxPath, Values
from fieldlink.tdr100.results import CellConstant, Measurement, Timing, Versions
from fieldlink.tdr100.session import acquisition_allowance
from fieldlink.tdr100.settings import SETTINGS, Settings, setting
from fieldlink.tdr100.waveform import ProbeEdges, Waveform

__all__ = [
    "abort",
    "acquire",
    "acquisition_timeout",
    "apply_settings",
    "calibration_voltage",
    "cell_constant",
    "conductivity",
    "derivative",
    "distance_to_short",
    "la_l",
    "last_waveform",
    "measure",
    "power_off",
    "read_settings",
    "reference_length",
    "restore_setup",
    "save_setup",
    "select",
    "set_display",
    "set_reference_length",
    "set_setting",
    "sweep",
    "timing",
    "variables",
    "versions",
    "waveform",
]

#: Tries of an acquisition: a resend after a lost reply starts it again, no more.
ACQUISITION_RETRIES = 1


def acquisition_timeout(settings: Settings, base: float = 5.0) -> float:
    """How long a session with timeout ``base`` waits for an acquiring command with
    ``settings``: it grows with averages and points (a 128 × 2048 waveform takes seconds).
    The session applies it (:meth:`TDR100Session.timeout_for`) from the DUMP every
    acquiring conversation reads first."""
    return base + acquisition_allowance(settings.averages, settings.points)


def _values(reply: object, least: int = 0) -> tuple[float, ...]:
    if not isinstance(reply, Values):  # the session's check makes this unreachable
        raise ProtocolError("expected a value reply", message_type="TDR100 reply")
    if len(reply.values) < least:
        raise ProtocolError(
            f"{reply.command} returned {len(reply.values)} values, need {least}",
            message_type="TDR100 reply",
        )
    if any(not math.isfinite(v) for v in reply.values[:least]):
        raise ProtocolError(
            f"{reply.command} returned a value that is not finite", message_type="TDR100 reply"
        )
    return reply.values


def _do(mnemonic: str, value: float | int | None = None) -> Operation[Ack]:
    reply: Ack = yield from ask(Command(mnemonic, value))
    return reply


def _get(mnemonic: str, least: int = 1) -> Operation[tuple[float, ...]]:
    reply = yield from ask(Command(mnemonic))
    return _values(reply, least)


def _acquire_values(
    mnemonic: str, least: int = 1, value: float | None = None
) -> Operation[tuple[float, ...]]:
    """An acquiring command's values (the caller read DUMP first: see the module doc)."""
    reply = yield from ask(Command(mnemonic, value), retries=ACQUISITION_RETRIES)
    return _values(reply, least)


# --- settings ---------------------------------------------------------------------------


def read_settings() -> Operation[Settings]:
    """DUMP: the nine settings (§2.3)."""
    values = yield from _get("DUMP", len(SETTINGS))
    return Settings.from_dump(values)


def set_setting(name: str, value: float) -> Operation[float | int]:
    """Set one setting by name (``vp``, ``points``, ``probe-length`` ...), checked
    against the manual's range before anything is sent."""
    rule = setting(name)
    checked = rule.check(value)
    yield from _do(rule.command, checked)
    return checked


def apply_settings(wanted: Settings) -> Operation[Settings]:
    """Set every setting that differs from the device's; return what the device reports."""
    current = yield from read_settings()
    for rule, value in wanted.items():
        if getattr(current, rule.name) != value:
            yield from _do(rule.command, value)
    result: Settings = yield from read_settings()
    return result


def save_setup() -> Operation[None]:
    """SSET: store the current settings in non-volatile memory."""
    yield from _do("SSET")


def restore_setup() -> Operation[Settings]:
    """RSET: load the saved settings; return them."""
    yield from _do("RSET")
    result: Settings = yield from read_settings()
    return result


def set_display(maximum: float, minimum: float) -> Operation[None]:
    """SMAX/SMIN: PC-TDR's plot scaling (no effect on measurements)."""
    yield from _do("SMAX", maximum)
    yield from _do("SMIN", minimum)


def select(path: MuxPath | None) -> Operation[None]:
    """SMUX, one per level (None: leave the multiplexers as they are)."""
    if path is None:
        return
    for value in path.smux_values():
        yield from _do("SMUX", value)


# --- waveforms --------------------------------------------------------------------------


def _waveform_of(
    values: Sequence[float], settings: Settings, path: MuxPath | None, calibrated: bool
) -> Waveform:
    if len(values) != settings.points and 20 <= len(values) <= 2048:
        settings = settings.replace(points=len(values))  # §3.2: the frame's count rules
    if len(values) < 2:
        raise ProtocolError(f"waveform of {len(values)} values", message_type="TDR100 waveform")
    return Waveform(tuple(values), settings, path, calibrated)


def waveform(path: MuxPath | None = None, *, calibrated: bool = True) -> Operation[Waveform]:
    """GWAV (GNWA without calibration): acquire and return a waveform."""
    yield from select(path)
    settings = yield from read_settings()
    values = yield from _acquire_values("GWAV" if calibrated else "GNWA", 2)
    return _waveform_of(values, settings, path, calibrated)


def acquire(path: MuxPath | None = None, *, calibrated: bool = True) -> Operation[None]:
    """AWAV (ANWA without calibration): acquire a waveform and keep it in the device."""
    yield from select(path)
    yield from read_settings()  # the session learns averages x points
    yield from ask(Command("AWAV" if calibrated else "ANWA"), retries=ACQUISITION_RETRIES)


def last_waveform() -> Operation[Waveform]:
    """GLWF: the last waveform acquired (no new acquisition)."""
    settings = yield from read_settings()
    values = yield from _get("GLWF", 2)
    return _waveform_of(values, settings, None, True)


def derivative(path: MuxPath | None = None, *, new: bool = True) -> Operation[tuple[float, ...]]:
    """GNDR (a new acquisition) or GLDR (the last one): the first derivative, N - 5 values."""
    if not new:
        result: tuple[float, ...] = yield from _get("GLDR", 1)
        return result
    yield from select(path)
    yield from read_settings()  # the session learns averages x points
    values: tuple[float, ...] = yield from _acquire_values("GNDR", 1)
    return values


# --- measurements -----------------------------------------------------------------------


def _measured(command: str, path: MuxPath | None) -> Operation[float]:
    """Select ``path``, acquire with ``command`` and return its first value."""
    yield from select(path)
    yield from read_settings()  # the session learns averages x points
    (value, *_) = yield from _acquire_values(command)
    return value


def la_l(path: MuxPath | None = None) -> Operation[float]:
    """GMOS: acquire and analyse; La/L corrected for the probe offset (§7.2)."""
    return (yield from _measured("GMOS", path))


def variables() -> Operation[ProbeEdges]:
    """GVAR: the last analysis' start and end indices and RMS (§7.2)."""
    start, end, rms, *_ = yield from _get("GVAR", 3)
    return ProbeEdges(start, end, rms)


def conductivity(path: MuxPath | None = None) -> Operation[float]:
    """GCON: bulk electrical conductivity, S/m (with the stored cell constant, §7.3)."""
    return (yield from _measured("GCON", path))


def calibration_voltage() -> Operation[float]:
    """GCAL: the calibration voltage."""
    (value, *_) = yield from _get("GCAL")
    return value


def cell_constant(temperature: float, path: MuxPath | None = None) -> Operation[CellConstant]:
    """CCCC t: the cell constant of the probe standing in de-ionised water at t °C."""
    analysis.water_permittivity(temperature)  # a finite number, or UsageError
    yield from select(path)
    yield from read_settings()  # the session learns averages x points
    kp, smooth, *_ = yield from _acquire_values("CCCC", 2, temperature)
    return CellConstant(kp, smooth)


def distance_to_short(path: MuxPath | None = None) -> Operation[float]:
    """GDTS: apparent distance to a short, m (liquid-level use)."""
    yield from select(path)
    yield from read_settings()  # the session learns averages x points
    (value, *_) = yield from _acquire_values("GDTS")
    return value


def set_reference_length(path: MuxPath | None = None) -> Operation[None]:
    """SRLN: measure and store the cable reference length."""
    yield from select(path)
    yield from read_settings()  # the session learns averages x points
    yield from ask(Command("SRLN"), retries=ACQUISITION_RETRIES)


def reference_length() -> Operation[float]:
    """GRLN: the stored cable reference length, m."""
    (value, *_) = yield from _get("GRLN")
    return value


def _measurement(
    path: MuxPath | None, method: analysis.Method, temperature: float | None
) -> Operation[Measurement]:
    yield from select(path)
    (ratio, *_) = yield from _acquire_values("GMOS")
    (ec, *_) = yield from _acquire_values("GCON")
    ka = analysis.apparent_permittivity(ratio)
    theta = analysis.water_content(ratio, method)
    ec25 = None if temperature is None else analysis.ec25(ec, temperature)
    return Measurement(path or MuxPath(), ratio, ka, theta, ec, ec25)


def measure(
    path: MuxPath | None = None,
    *,
    method: analysis.Method = "topp",
    temperature: float | None = None,
) -> Operation[Measurement]:
    """La/L, Ka, water content and bulk EC of one probe (GMOS + GCON)."""
    yield from read_settings()  # the session learns averages x points
    result: Measurement = yield from _measurement(path, method, temperature)
    return result


def sweep(
    paths: Iterable[MuxPath],
    *,
    method: analysis.Method = "topp",
    temperature: float | None = None,
) -> Stream:
    """Measure each path in turn, emitting a :class:`Measurement` per channel.

    A channel that fails (a device error, a reply that stayed corrupted, no answer)
    is emitted as a failed Measurement naming the error; the others go on.  A closed
    link ends the sweep.
    """
    yield from read_settings()  # the session learns averages x points
    for path in paths:
        try:
            m = yield from _measurement(path, method, temperature)
        except (DeviceError, ProtocolError, LinkTimeout) as exc:
            m = Measurement.failed(path, exc)
        yield from emit([m])


# --- the rest ---------------------------------------------------------------------------


def timing() -> Operation[Timing]:
    """GTIM: the timing values."""
    values = yield from _get("GTIM", 3)
    return Timing(values[0], values[1], values[2], tuple(values[3:]))


def versions() -> Operation[Versions]:
    """GVER: boot and OS versions and signatures."""
    bv, bs, ov, os_, *_ = yield from _get("GVER", 4)
    return Versions(bv, round(bs), ov, round(os_))


def power_off() -> Operation[None]:
    """SOFF: switch the analog section to low power (the next acquisition wakes it)."""
    yield from _do("SOFF")


def abort() -> Operation[None]:
    """ABRT: abort whatever the device is doing."""
    yield from _do("ABRT")
