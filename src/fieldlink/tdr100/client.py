"""The user's API for a TDR100: :class:`TDR100` (blocking) and :class:`AsyncTDR100`.

Both are thin: every method is one conversation of :mod:`fieldlink.tdr100.operations`
run by :mod:`fieldlink.kit.drive`, so the two cannot disagree about the protocol,
only about how they wait.  The methods are written once, on a mixin both share
(:class:`~fieldlink.kit.client.Call`): the blocking client runs them, the asyncio
one awaits them.  The methods cover every TDRSDK function (tdr100.md §2.2);
measurements take an SDMX50 path (``"1.3"`` or a :class:`MuxPath`).

Example::

    with TDR100.from_url("serial:/dev/ttyUSB0:57600") as tdr:
        print(tdr.settings())
        for m in tdr.sweep("1.1-1.8"):
            print(m.path, m.water_content, m.ec)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypedDict, Unpack

from fieldlink.kit.client import AsyncClient, AsyncOpen, Call, Client, Streamed
from fieldlink.kit.converse import Operation, Stream
from fieldlink.link.sync import Link
from fieldlink.tdr100 import analysis
from fieldlink.tdr100 import operations as ops
from fieldlink.tdr100.protocol import XMODEM, CrcVariant, MuxPath, parse_channels
from fieldlink.tdr100.results import CellConstant, Measurement
from fieldlink.tdr100.session import TDR100Session
from fieldlink.tdr100.waveform import Waveform

if TYPE_CHECKING:  # not at run time: the blocking client does not load asyncio
    from fieldlink.link.aio import AsyncLink

__all__ = ["TDR100", "AsyncTDR100", "Options", "Path", "paths"]

#: A multiplexer path as a caller may give it.
Path = MuxPath | str | None


def _path(path: Path) -> MuxPath | None:
    return MuxPath.parse(path) if isinstance(path, str) else path


def paths(channels: str | Iterable[MuxPath | str]) -> list[MuxPath]:
    """A sweep's paths from ``"1.1-1.8"`` or a list of paths."""
    if isinstance(channels, str):
        return parse_channels(channels)
    return [MuxPath.parse(p) if isinstance(p, str) else p for p in channels]


# The argument handling of the methods that take a path (a string is parsed here,
# when the method is called, so a bad one fails before anything is sent).


def _setting(name: str) -> Callable[[float], Operation[float | int]]:
    def set_one(value: float) -> Operation[float | int]:
        return ops.set_setting(name, value)

    set_one.__doc__ = f"Set {name} (checked against the manual's range before it is sent)."
    return set_one


def _select(path: Path) -> Operation[None]:
    return ops.select(_path(path))


def _waveform(path: Path = None, *, calibrated: bool = True) -> Operation[Waveform]:
    return ops.waveform(_path(path), calibrated=calibrated)


def _acquire(path: Path = None, *, calibrated: bool = True) -> Operation[None]:
    return ops.acquire(_path(path), calibrated=calibrated)


def _derivative(path: Path = None, *, new: bool = True) -> Operation[tuple[float, ...]]:
    return ops.derivative(_path(path), new=new)


def _la_l(path: Path = None) -> Operation[float]:
    return ops.la_l(_path(path))


def _conductivity(path: Path = None) -> Operation[float]:
    return ops.conductivity(_path(path))


def _cell_constant(temperature: float, path: Path = None) -> Operation[CellConstant]:
    return ops.cell_constant(temperature, _path(path))


def _distance_to_short(path: Path = None) -> Operation[float]:
    return ops.distance_to_short(_path(path))


def _set_reference_length(path: Path = None) -> Operation[None]:
    return ops.set_reference_length(_path(path))


def _measure(
    path: Path = None, *, method: analysis.Method = "topp", temperature: float | None = None
) -> Operation[Measurement]:
    return ops.measure(_path(path), method=method, temperature=temperature)


def _sweep(
    channels: str | Iterable[MuxPath | str],
    *,
    method: analysis.Method = "topp",
    temperature: float | None = None,
) -> Stream:
    """One :class:`Measurement` per channel, as each is taken (failed ones too)."""
    return ops.sweep(paths(channels), method=method, temperature=temperature)


class Options(TypedDict, total=False):
    """How to talk to a TDR100; every key may be left out (its default in brackets)."""

    timeout: float  # seconds to wait for each reply; also the link's timeout [5.0]
    crc: CrcVariant  # the CRC-16 variant to send with [XMODEM]
    detect_crc: bool  # take the variant of the device's first reply [True]


def _session(options: Options) -> TDR100Session:
    return TDR100Session(
        timeout=options.get("timeout", 5.0),
        crc=options.get("crc", XMODEM),
        detect=options.get("detect_crc", True),
    )


class _Common:
    """What both clients share: the session, and every method (one conversation each)."""

    session: TDR100Session

    @property
    def crc(self) -> CrcVariant | None:
        """The CRC-16 variant the device was found to use (None before its first reply)."""
        return self.session.crc

    # settings (ReqSettings/GetSetting, Set*, save/retrieve setup)
    settings = Call(ops.read_settings)
    set = Call(ops.set_setting)
    apply = Call(ops.apply_settings)
    set_vp = Call(_setting("vp"))
    set_averages = Call(_setting("averages"))
    set_points = Call(_setting("points"))
    set_distance = Call(_setting("distance"))
    set_window = Call(_setting("window"))
    set_probe_length = Call(_setting("probe_length"))
    set_probe_offset = Call(_setting("probe_offset"))
    set_cell_constant = Call(_setting("cell_constant"))
    set_smooth = Call(_setting("smooth"))
    set_display = Call(ops.set_display)
    select = Call(_select)
    save_setup = Call(ops.save_setup)
    restore_setup = Call(ops.restore_setup)

    # waveforms (ReqWaveform, ReqWFnocal, AcqWaveform, AcqWFnocal, ReqLastWaveform, *Deri)
    waveform = Call(_waveform)
    acquire = Call(_acquire)
    last_waveform = Call(ops.last_waveform)
    derivative = Call(_derivative)

    # measurements (ReqMoisture, ReqVariables, ReqConductivity, ReqCalVoltage, ...)
    la_l = Call(_la_l)
    variables = Call(ops.variables)
    conductivity = Call(_conductivity)
    calibration_voltage = Call(ops.calibration_voltage)
    cell_constant = Call(_cell_constant)
    distance_to_short = Call(_distance_to_short)
    set_reference_length = Call(_set_reference_length)
    reference_length = Call(ops.reference_length)
    measure = Call(_measure)
    sweep = Streamed.of_arguments(_sweep, Measurement)

    # the rest (timing, ReqVerSig, SetPwrOff, abort)
    timing = Call(ops.timing)
    versions = Call(ops.versions)
    power_off = Call(ops.power_off)
    abort = Call(ops.abort)


class TDR100(_Common, Client):
    """A blocking client for one TDR100 on one link (use :meth:`from_url`)."""

    def __init__(self, link: Link, **options: Unpack[Options]) -> None:
        Client.__init__(self, link, _session(options))

    @classmethod
    def from_url(cls, url: str, **options: Unpack[Options]) -> TDR100:
        """Open ``url`` (``serial:/dev/ttyUSB0:57600``, ``tcp:HOST:PORT`` ...)."""
        return cls.open(url, link_timeout=options.get("timeout", 5.0), **options)


class AsyncTDR100(_Common, AsyncClient):
    """The asyncio twin of :class:`TDR100`: the same methods, awaited
    (:meth:`sweep` is an async iterator)."""

    def __init__(self, link: AsyncLink, **options: Unpack[Options]) -> None:
        AsyncClient.__init__(self, link, _session(options))

    @classmethod
    def from_url(cls, url: str, **options: Unpack[Options]) -> AsyncOpen[AsyncTDR100]:
        """``tdr = await AsyncTDR100.from_url(url)`` or ``async with AsyncTDR100.from_url(url)``."""
        return cls.open(url, link_timeout=options.get("timeout", 5.0), **options)
