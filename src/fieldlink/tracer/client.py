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
from typing import Any, Literal, TypeVar

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


class Tracer(_Calls, Client):
    """A blocking client for one charge controller over one link."""

    def __init__(
        self,
        link: Link,
        *,
        protocol: str = "modbus",
        unit: int = 1,
        framing: str = "rtu",
        timeout: float = 1.0,
        controller_id: int = mt5.DEFAULT_ID,
    ) -> None:
        self.session = make_session(protocol, unit=unit, framing=framing, timeout=timeout)
        self.controller_id = controller_id
        Client.__init__(self, link, self.session)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        protocol: str = "modbus",
        unit: int = 1,
        framing: str = "rtu",
        timeout: float = 1.0,
        controller_id: int = mt5.DEFAULT_ID,
    ) -> Tracer:
        """Open ``url`` (``serial:/dev/ttyUSB0:115200``, ``tcp:HOST:PORT`` ...)."""
        make_session(protocol, unit=unit, framing=framing, timeout=timeout)  # check first
        return cls.open(
            url,
            link_timeout=max(timeout, 1.0),
            protocol=protocol,
            unit=unit,
            framing=framing,
            timeout=timeout,
            controller_id=controller_id,
        )

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

    def __init__(
        self,
        link: AsyncLink,
        *,
        protocol: str = "modbus",
        unit: int = 1,
        framing: str = "rtu",
        timeout: float = 1.0,
        controller_id: int = mt5.DEFAULT_ID,
    ) -> None:
        self.session = make_session(protocol, unit=unit, framing=framing, timeout=timeout)
        self.controller_id = controller_id
        AsyncClient.__init__(self, link, self.session)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        protocol: str = "modbus",
        unit: int = 1,
        framing: str = "rtu",
        timeout: float = 1.0,
        controller_id: int = mt5.DEFAULT_ID,
    ) -> AsyncOpen[AsyncTracer]:
        make_session(protocol, unit=unit, framing=framing, timeout=timeout)  # check first
        return cls.open(
            url,
            link_timeout=max(timeout, 1.0),
            protocol=protocol,
            unit=unit,
            framing=framing,
            timeout=timeout,
            controller_id=controller_id,
        )

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


__all__ = ["AsyncTracer", "Tracer", "make_session"]
