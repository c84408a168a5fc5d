"""The user's API for a Tracer charge controller: :class:`Tracer` and :class:`AsyncTracer`.

Both are thin: each method builds one conversation from :mod:`.operations` and runs
it with :mod:`fieldlink.kit.drive`, blocking or under asyncio, so the two cannot
disagree about the protocol.  ``protocol`` picks the controller generation:

- ``"modbus"`` (Tracer A/B/AN/BN, default): RTU framing on a serial line or on a
  TCP serial server (``framing="rtu"``, default), or Modbus/TCP (``framing="tcp"``);
- ``"mt5"`` (first-generation units, the MT-5 meter port): real-time data, the load
  switch and the control parameters -- the rest raises :class:`Unsupported`.

Example::

    with Tracer.from_url("serial:/dev/ttyXRUSB0:115200") as tracer:
        print(tracer.status().realtime.battery_voltage)
        tracer.write_settings(boost_voltage=14.3)   # validated as a block first
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal, TypedDict, TypeVar, Unpack

from fieldlink.errors import Unsupported, UsageError
from fieldlink.kit.client import AsyncClient, AsyncOpen, Client
from fieldlink.kit.converse import Operation
from fieldlink.kit.reply import ReplySession
from fieldlink.link import AsyncLink, Link
from fieldlink.tracer import operations as ops
from fieldlink.tracer.modbus import values
from fieldlink.tracer.modbus.settings import BatterySettings
from fieldlink.tracer.mt5 import messages as mt5
from fieldlink.tracer.session import ModbusSession, Mt5Session

T = TypeVar("T")
ProtocolName = Literal["mt5", "modbus"]
PROTOCOLS: tuple[str, ...] = ("modbus", "mt5")
FRAMINGS: dict[str, Literal["rtu", "socket"]] = {"rtu": "rtu", "tcp": "socket"}


def make_session(
    protocol: str, *, unit: int = 1, framing: str = "rtu", timeout: float = 1.0
) -> ReplySession[Any, Any]:
    """The session for ``protocol``; UsageError for a bad protocol, framing or unit."""
    if protocol == "mt5":
        return Mt5Session(timeout=timeout)
    if protocol != "modbus":
        raise UsageError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    if framing not in FRAMINGS:
        raise UsageError(f"framing must be rtu or tcp, not {framing!r}")
    if not 1 <= unit <= 247:
        raise UsageError(f"Modbus unit id must be 1–247, not {unit}")
    return ModbusSession(unit=unit, framing=FRAMINGS[framing], timeout=timeout)


class Options(TypedDict, total=False):
    """How to talk to a controller; every key may be left out (its default in brackets)."""

    protocol: str  # "modbus" or "mt5" ["modbus"]
    unit: int  # Modbus unit id [1]
    framing: str  # Modbus framing on TCP: "rtu" or "tcp" ["rtu"]
    timeout: float  # seconds to wait for each answer [1.0]
    controller_id: int  # MT-5 controller id [mt5.DEFAULT_ID]


def _session(options: Options) -> ReplySession[Any, Any]:
    return make_session(
        options.get("protocol", "modbus"),
        unit=options.get("unit", 1),
        framing=options.get("framing", "rtu"),
        timeout=options.get("timeout", 1.0),
    )


def _link_timeout(options: Options) -> float:
    """The link's timeout, once the options are checked (a bad one fails before any I/O)."""
    _session(options)
    return max(options.get("timeout", 1.0), 1.0)


class _Calls:
    """Which conversation each method runs (shared by both clients)."""

    session: ReplySession[Any, Any]
    controller_id: int

    @property
    def protocol(self) -> str:
        return "mt5" if isinstance(self.session, Mt5Session) else "modbus"

    def _modbus(self, what: str) -> None:
        if self.protocol == "mt5":
            raise Unsupported(
                f"MT-5 controllers have no {what} (only real-time data, the "
                f"load switch and control parameters)"
            )

    def _status(self) -> Operation[ops.Snapshot | mt5.RealTimeData]:
        if self.protocol == "mt5":
            return ops.mt5_realtime(self.controller_id)
        return ops.snapshot()

    def _load(self, on: bool) -> Operation[bool]:
        if self.protocol == "mt5":
            return ops.mt5_switch_load(on, self.controller_id)
        return ops.switch_load(on)

    def _call(self, what: str, make: Callable[[], Operation[T]]) -> Operation[T]:
        self._modbus(what)
        return make()

    def _configure(self, options: Options) -> ReplySession[Any, Any]:
        self.controller_id = options.get("controller_id", mt5.DEFAULT_ID)
        self.session = _session(options)
        return self.session


class Tracer(_Calls, Client):
    """A blocking client for one charge controller over one link."""

    def __init__(self, link: Link, **options: Unpack[Options]) -> None:
        Client.__init__(self, link, self._configure(options))

    @classmethod
    def from_url(cls, url: str, **options: Unpack[Options]) -> Tracer:
        """Open ``url`` (``serial:/dev/ttyUSB0:115200``, ``tcp:HOST:PORT`` ...)."""
        return cls.open(url, link_timeout=_link_timeout(options), **options)

    def status(self) -> ops.Snapshot | mt5.RealTimeData:
        return self.run(self._status())

    def realtime(self) -> values.RealTime:
        return self.run(self._call("Modbus registers", ops.realtime))

    def load(self, on: bool) -> bool:
        return self.run(self._load(on))

    def battery_settings(self) -> BatterySettings:
        return self.run(self._call("settings registers", ops.battery_settings))[0]

    def settings(self) -> dict[str, float | int]:
        return self.run(self._call("settings registers", ops.all_settings))

    def write_settings(self, **changes: float) -> BatterySettings:
        return self.run(
            self._call("settings registers", lambda: ops.write_battery_settings(changes))
        )

    def set_setting(self, name: str, value: float) -> float:
        return self.run(self._call("settings registers", lambda: ops.write_setting(name, value)))

    def set_parameters(self, params: mt5.ControlParameters) -> None:
        if self.protocol != "mt5":
            raise Unsupported("control parameters (0xAD) are MT-5 only; use write_settings")
        self.run(ops.mt5_set_parameters(params, self.controller_id))

    def clock(self) -> dt.datetime:
        return self.run(self._call("clock", ops.clock))

    def set_clock(self, when: dt.datetime) -> dt.datetime:
        return self.run(self._call("clock", lambda: ops.set_clock(when)))

    def sync_clock(self) -> tuple[dt.datetime, dt.datetime]:
        return self.run(self._call("clock", ops.sync_clock))

    def stats(self) -> values.Statistics:
        return self.run(self._call("statistics", ops.statistics))

    def rated(self) -> values.Rated:
        return self.run(self._call("rated data", ops.rated))

    def info(self) -> values.DeviceInfo:
        return self.run(self._call("device identification", ops.device_info))

    def sparse_read(self, start: int, count: int) -> dict[int, int]:
        return self.run(self._call("FC 0x43 sparse read", lambda: ops.sparse_read(start, count)))


class AsyncTracer(_Calls, AsyncClient):
    """The asyncio twin of :class:`Tracer` (same methods, awaited)."""

    def __init__(self, link: AsyncLink, **options: Unpack[Options]) -> None:
        AsyncClient.__init__(self, link, self._configure(options))

    @classmethod
    def from_url(cls, url: str, **options: Unpack[Options]) -> AsyncOpen[AsyncTracer]:
        """``await AsyncTracer.from_url(url)`` or ``async with AsyncTracer.from_url(url)``."""
        return cls.open(url, link_timeout=_link_timeout(options), **options)

    async def status(self) -> ops.Snapshot | mt5.RealTimeData:
        return await self.run(self._status())

    async def realtime(self) -> values.RealTime:
        return await self.run(self._call("Modbus registers", ops.realtime))

    async def load(self, on: bool) -> bool:
        return await self.run(self._load(on))

    async def battery_settings(self) -> BatterySettings:
        return (await self.run(self._call("settings registers", ops.battery_settings)))[0]

    async def settings(self) -> dict[str, float | int]:
        return await self.run(self._call("settings registers", ops.all_settings))

    async def write_settings(self, **changes: float) -> BatterySettings:
        return await self.run(
            self._call("settings registers", lambda: ops.write_battery_settings(changes))
        )

    async def set_setting(self, name: str, value: float) -> float:
        return await self.run(
            self._call("settings registers", lambda: ops.write_setting(name, value))
        )

    async def set_parameters(self, params: mt5.ControlParameters) -> None:
        if self.protocol != "mt5":
            raise Unsupported("control parameters (0xAD) are MT-5 only; use write_settings")
        await self.run(ops.mt5_set_parameters(params, self.controller_id))

    async def clock(self) -> dt.datetime:
        return await self.run(self._call("clock", ops.clock))

    async def set_clock(self, when: dt.datetime) -> dt.datetime:
        return await self.run(self._call("clock", lambda: ops.set_clock(when)))

    async def sync_clock(self) -> tuple[dt.datetime, dt.datetime]:
        return await self.run(self._call("clock", ops.sync_clock))

    async def stats(self) -> values.Statistics:
        return await self.run(self._call("statistics", ops.statistics))

    async def rated(self) -> values.Rated:
        return await self.run(self._call("rated data", ops.rated))

    async def info(self) -> values.DeviceInfo:
        return await self.run(self._call("device identification", ops.device_info))

    async def sparse_read(self, start: int, count: int) -> dict[int, int]:
        return await self.run(
            self._call("FC 0x43 sparse read", lambda: ops.sparse_read(start, count))
        )


__all__ = ["AsyncTracer", "Options", "Tracer", "make_session"]
