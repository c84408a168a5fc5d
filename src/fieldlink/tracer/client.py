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
from typing import Any, Literal, TypedDict, TypeVar, Unpack

from fieldlink.errors import Unsupported, UsageError
from fieldlink.kit.client import AsyncClient, AsyncOpen, Client, Method
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


def _first(operation: Operation[tuple[T, Any]]) -> Operation[T]:
    result = yield from operation
    return result[0]


class _Calls:
    """Every method, written once for both clients (:class:`~fieldlink.kit.client.Method`):
    which conversation it runs, for the controller's protocol."""

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

    def _configure(self, options: Options) -> ReplySession[Any, Any]:
        self.controller_id = options.get("controller_id", mt5.DEFAULT_ID)
        self.session = _session(options)
        return self.session

    @Method
    def status(self) -> Operation[ops.Snapshot | mt5.RealTimeData]:
        if self.protocol == "mt5":
            return ops.mt5_realtime(self.controller_id)
        return ops.snapshot()

    @Method
    def realtime(self) -> Operation[values.RealTime]:
        self._modbus("Modbus registers")
        return ops.realtime()

    @Method
    def load(self, on: bool) -> Operation[bool]:
        if self.protocol == "mt5":
            return ops.mt5_switch_load(on, self.controller_id)
        return ops.switch_load(on)

    @Method
    def battery_settings(self) -> Operation[BatterySettings]:
        self._modbus("settings registers")
        return _first(ops.battery_settings())

    @Method
    def settings(self) -> Operation[dict[str, float | int]]:
        self._modbus("settings registers")
        return ops.all_settings()

    @Method
    def write_settings(self, /, **changes: float) -> Operation[BatterySettings]:
        self._modbus("settings registers")
        return ops.write_battery_settings(changes)

    @Method
    def set_setting(self, name: str, value: float) -> Operation[float]:
        self._modbus("settings registers")
        return ops.write_setting(name, value)

    @Method
    def set_parameters(self, params: mt5.ControlParameters) -> Operation[None]:
        if self.protocol != "mt5":
            raise Unsupported("control parameters (0xAD) are MT-5 only; use write_settings")
        return ops.mt5_set_parameters(params, self.controller_id)

    @Method
    def clock(self) -> Operation[dt.datetime]:
        self._modbus("clock")
        return ops.clock()

    @Method
    def set_clock(self, when: dt.datetime) -> Operation[dt.datetime]:
        self._modbus("clock")
        return ops.set_clock(when)

    @Method
    def sync_clock(self) -> Operation[tuple[dt.datetime, dt.datetime]]:
        self._modbus("clock")
        return ops.sync_clock()

    @Method
    def stats(self) -> Operation[values.Statistics]:
        self._modbus("statistics")
        return ops.statistics()

    @Method
    def rated(self) -> Operation[values.Rated]:
        self._modbus("rated data")
        return ops.rated()

    @Method
    def info(self) -> Operation[values.DeviceInfo]:
        self._modbus("device identification")
        return ops.device_info()

    @Method
    def sparse_read(self, start: int, count: int) -> Operation[dict[int, int]]:
        self._modbus("FC 0x43 sparse read")
        return ops.sparse_read(start, count)


class Tracer(_Calls, Client):
    """A blocking client for one charge controller over one link."""

    def __init__(self, link: Link, **options: Unpack[Options]) -> None:
        Client.__init__(self, link, self._configure(options))

    @classmethod
    def from_url(cls, url: str, **options: Unpack[Options]) -> Tracer:
        """Open ``url`` (``serial:/dev/ttyUSB0:115200``, ``tcp:HOST:PORT`` ...)."""
        return cls.open(url, link_timeout=_link_timeout(options), **options)


class AsyncTracer(_Calls, AsyncClient):
    """The asyncio twin of :class:`Tracer` (same methods, awaited)."""

    def __init__(self, link: AsyncLink, **options: Unpack[Options]) -> None:
        AsyncClient.__init__(self, link, self._configure(options))

    @classmethod
    def from_url(cls, url: str, **options: Unpack[Options]) -> AsyncOpen[AsyncTracer]:
        """``await AsyncTracer.from_url(url)`` or ``async with AsyncTracer.from_url(url)``."""
        return cls.open(url, link_timeout=_link_timeout(options), **options)


__all__ = ["AsyncTracer", "Options", "Tracer", "make_session"]
