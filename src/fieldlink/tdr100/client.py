"""The user's API for a TDR100: :class:`TDR100` (blocking) and :class:`AsyncTDR100`.

Both are thin: every method is one conversation of :mod:`fieldlink.tdr100.operations`
run by :mod:`fieldlink.kit.drive`, so the two cannot disagree about the protocol,
only about how they wait.  The methods cover every TDRSDK function (tdr100.md §2.2);
measurements take an SDMX50 path (``"1.3"`` or a :class:`MuxPath`).

Example::

    with TDR100.from_url("serial:/dev/ttyUSB0:57600") as tdr:
        print(tdr.settings())
        for m in tdr.sweep("1.1-1.8"):
            print(m.path, m.water_content, m.ec)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, TypeVar

from fieldlink.kit.client import AsyncClient, AsyncOpen, Client
from fieldlink.link import AsyncLink, Link
from fieldlink.tdr100 import analysis
from fieldlink.tdr100 import operations as ops
from fieldlink.tdr100.protocol import XMODEM, CrcVariant, MuxPath, parse_channels
from fieldlink.tdr100.results import CellConstant, Measurement, Timing, Versions
from fieldlink.tdr100.session import TDR100Session
from fieldlink.tdr100.settings import Settings
from fieldlink.tdr100.waveform import ProbeEdges, Waveform

__all__ = ["TDR100", "AsyncTDR100", "Path", "paths"]

T = TypeVar("T")
#: A multiplexer path as a caller may give it.
Path = MuxPath | str | None


def _path(path: Path) -> MuxPath | None:
    return MuxPath.parse(path) if isinstance(path, str) else path


def paths(channels: str | Iterable[MuxPath | str]) -> list[MuxPath]:
    """A sweep's paths from ``"1.1-1.8"`` or a list of paths."""
    if isinstance(channels, str):
        return parse_channels(channels)
    return [MuxPath.parse(p) if isinstance(p, str) else p for p in channels]


class _Common:
    session: TDR100Session

    def _init(self, timeout: float, crc: CrcVariant, detect_crc: bool) -> None:
        self.session = TDR100Session(timeout=timeout, crc=crc, detect=detect_crc)

    @property
    def crc(self) -> CrcVariant | None:
        """The CRC-16 variant the device was found to use (None before its first reply)."""
        return self.session.crc


class TDR100(_Common, Client):
    """A blocking client for one TDR100 on one link (use :meth:`from_url`)."""

    def __init__(
        self,
        link: Link,
        *,
        timeout: float = 5.0,
        crc: CrcVariant = XMODEM,
        detect_crc: bool = True,
    ) -> None:
        self._init(timeout, crc, detect_crc)
        Client.__init__(self, link, self.session)

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 5.0, **kw: Any) -> TDR100:
        """Open ``url`` (``serial:/dev/ttyUSB0:57600``, ``tcp:HOST:PORT`` ...)."""
        return cls.open(url, link_timeout=timeout, timeout=timeout, **kw)

    # settings (ReqSettings/GetSetting, Set*, save/retrieve setup)
    def settings(self) -> Settings:
        return self.run(ops.read_settings())

    def set(self, name: str, value: float) -> float | int:
        return self.run(ops.set_setting(name, value))

    def apply(self, settings: Settings) -> Settings:
        return self.run(ops.apply_settings(settings))

    def set_vp(self, value: float) -> float | int:
        return self.set("vp", value)

    def set_averages(self, value: int) -> float | int:
        return self.set("averages", value)

    def set_points(self, value: int) -> float | int:
        return self.set("points", value)

    def set_distance(self, value: float) -> float | int:
        return self.set("distance", value)

    def set_window(self, value: float) -> float | int:
        return self.set("window", value)

    def set_probe_length(self, value: float) -> float | int:
        return self.set("probe_length", value)

    def set_probe_offset(self, value: float) -> float | int:
        return self.set("probe_offset", value)

    def set_cell_constant(self, value: float) -> float | int:
        return self.set("cell_constant", value)

    def set_smooth(self, value: float) -> float | int:
        return self.set("smooth", value)

    def set_display(self, maximum: float, minimum: float) -> None:
        self.run(ops.set_display(maximum, minimum))

    def select(self, path: Path) -> None:
        self.run(ops.select(_path(path)))

    def save_setup(self) -> None:
        self.run(ops.save_setup())

    def restore_setup(self) -> Settings:
        return self.run(ops.restore_setup())

    # waveforms (ReqWaveform, ReqWFnocal, AcqWaveform, AcqWFnocal, ReqLastWaveform, *Deri)
    def waveform(self, path: Path = None, *, calibrated: bool = True) -> Waveform:
        return self.run(ops.waveform(_path(path), calibrated=calibrated))

    def acquire(self, path: Path = None, *, calibrated: bool = True) -> None:
        self.run(ops.acquire(_path(path), calibrated=calibrated))

    def last_waveform(self) -> Waveform:
        return self.run(ops.last_waveform())

    def derivative(self, path: Path = None, *, new: bool = True) -> tuple[float, ...]:
        return self.run(ops.derivative(_path(path), new=new))

    # measurements (ReqMoisture, ReqVariables, ReqConductivity, ReqCalVoltage, ...)
    def la_l(self, path: Path = None) -> float:
        return self.run(ops.la_l(_path(path)))

    def variables(self) -> ProbeEdges:
        return self.run(ops.variables())

    def conductivity(self, path: Path = None) -> float:
        return self.run(ops.conductivity(_path(path)))

    def calibration_voltage(self) -> float:
        return self.run(ops.calibration_voltage())

    def cell_constant(self, temperature: float, path: Path = None) -> CellConstant:
        return self.run(ops.cell_constant(temperature, _path(path)))

    def distance_to_short(self, path: Path = None) -> float:
        return self.run(ops.distance_to_short(_path(path)))

    def set_reference_length(self, path: Path = None) -> None:
        self.run(ops.set_reference_length(_path(path)))

    def reference_length(self) -> float:
        return self.run(ops.reference_length())

    def measure(
        self,
        path: Path = None,
        *,
        method: analysis.Method = "topp",
        temperature: float | None = None,
    ) -> Measurement:
        return self.run(ops.measure(_path(path), method=method, temperature=temperature))

    def sweep(
        self,
        channels: str | Iterable[MuxPath | str],
        *,
        method: analysis.Method = "topp",
        temperature: float | None = None,
    ) -> Iterator[Measurement]:
        """One :class:`Measurement` per channel, as each is taken (failed ones too)."""
        op = ops.sweep(paths(channels), method=method, temperature=temperature)
        return self.stream(op)

    # the rest (timing, ReqVerSig, SetPwrOff, abort)
    def timing(self) -> Timing:
        return self.run(ops.timing())

    def versions(self) -> Versions:
        return self.run(ops.versions())

    def power_off(self) -> None:
        self.run(ops.power_off())

    def abort(self) -> None:
        self.run(ops.abort())


class AsyncTDR100(_Common, AsyncClient):
    """The asyncio twin of :class:`TDR100`: the same methods, awaited
    (:meth:`sweep` is an async iterator)."""

    def __init__(
        self,
        link: AsyncLink,
        *,
        timeout: float = 5.0,
        crc: CrcVariant = XMODEM,
        detect_crc: bool = True,
    ) -> None:
        self._init(timeout, crc, detect_crc)
        AsyncClient.__init__(self, link, self.session)

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 5.0, **kw: Any) -> AsyncOpen[AsyncTDR100]:
        """``tdr = await AsyncTDR100.from_url(url)`` or ``async with AsyncTDR100.from_url(url)``."""
        return cls.open(url, link_timeout=timeout, timeout=timeout, **kw)

    async def settings(self) -> Settings:
        return await self.run(ops.read_settings())

    async def set(self, name: str, value: float) -> float | int:
        return await self.run(ops.set_setting(name, value))

    async def apply(self, settings: Settings) -> Settings:
        return await self.run(ops.apply_settings(settings))

    async def set_vp(self, value: float) -> float | int:
        return await self.set("vp", value)

    async def set_averages(self, value: int) -> float | int:
        return await self.set("averages", value)

    async def set_points(self, value: int) -> float | int:
        return await self.set("points", value)

    async def set_distance(self, value: float) -> float | int:
        return await self.set("distance", value)

    async def set_window(self, value: float) -> float | int:
        return await self.set("window", value)

    async def set_probe_length(self, value: float) -> float | int:
        return await self.set("probe_length", value)

    async def set_probe_offset(self, value: float) -> float | int:
        return await self.set("probe_offset", value)

    async def set_cell_constant(self, value: float) -> float | int:
        return await self.set("cell_constant", value)

    async def set_smooth(self, value: float) -> float | int:
        return await self.set("smooth", value)

    async def set_display(self, maximum: float, minimum: float) -> None:
        await self.run(ops.set_display(maximum, minimum))

    async def select(self, path: Path) -> None:
        await self.run(ops.select(_path(path)))

    async def save_setup(self) -> None:
        await self.run(ops.save_setup())

    async def restore_setup(self) -> Settings:
        return await self.run(ops.restore_setup())

    async def waveform(self, path: Path = None, *, calibrated: bool = True) -> Waveform:
        return await self.run(ops.waveform(_path(path), calibrated=calibrated))

    async def acquire(self, path: Path = None, *, calibrated: bool = True) -> None:
        await self.run(ops.acquire(_path(path), calibrated=calibrated))

    async def last_waveform(self) -> Waveform:
        return await self.run(ops.last_waveform())

    async def derivative(self, path: Path = None, *, new: bool = True) -> tuple[float, ...]:
        return await self.run(ops.derivative(_path(path), new=new))

    async def la_l(self, path: Path = None) -> float:
        return await self.run(ops.la_l(_path(path)))

    async def variables(self) -> ProbeEdges:
        return await self.run(ops.variables())

    async def conductivity(self, path: Path = None) -> float:
        return await self.run(ops.conductivity(_path(path)))

    async def calibration_voltage(self) -> float:
        return await self.run(ops.calibration_voltage())

    async def cell_constant(self, temperature: float, path: Path = None) -> CellConstant:
        return await self.run(ops.cell_constant(temperature, _path(path)))

    async def distance_to_short(self, path: Path = None) -> float:
        return await self.run(ops.distance_to_short(_path(path)))

    async def set_reference_length(self, path: Path = None) -> None:
        await self.run(ops.set_reference_length(_path(path)))

    async def reference_length(self) -> float:
        return await self.run(ops.reference_length())

    async def measure(
        self,
        path: Path = None,
        *,
        method: analysis.Method = "topp",
        temperature: float | None = None,
    ) -> Measurement:
        return await self.run(ops.measure(_path(path), method=method, temperature=temperature))

    def sweep(
        self,
        channels: str | Iterable[MuxPath | str],
        *,
        method: analysis.Method = "topp",
        temperature: float | None = None,
    ) -> AsyncIterator[Measurement]:
        op = ops.sweep(paths(channels), method=method, temperature=temperature)
        return self.stream(op)

    async def timing(self) -> Timing:
        return await self.run(ops.timing())

    async def versions(self) -> Versions:
        return await self.run(ops.versions())

    async def power_off(self) -> None:
        await self.run(ops.power_off())

    async def abort(self) -> None:
        await self.run(ops.abort())
