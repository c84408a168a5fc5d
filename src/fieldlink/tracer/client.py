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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypedDict, TypeVar, Unpack

from fieldlink.errors import Unsupported, UsageError
from fieldlink.kit.client import AsyncClient, AsyncOpen, Client, Method
from fieldlink.kit.converse import Operation
from fieldlink.kit.reply import ReplySession
from fieldlink.link.sync import Link
from fieldlink.tracer import operations as ops
from fieldlink.tracer.modbus.settings import BatterySettings
from fieldlink.tracer.mt5 import messages as mt5
from fieldlink.tracer.session import ModbusSession, Mt5Session

if TYPE_CHECKING:  # as in the other families' clients: the asyncio link only for the twin
    from fieldlink.link.aio import AsyncLink

T = TypeVar("T")
P = ParamSpec("P")
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


def _battery_settings() -> Operation[BatterySettings]:
    settings, _ = yield from ops.battery_settings()
    return settings


def _write_battery_settings(**changes: float) -> Operation[BatterySettings]:
    return ops.write_battery_settings(changes)


def _modbus_only(what: str, build: Callable[P, Operation[T]]) -> Method[P, T]:
    """The method running ``build``'s conversation, Unsupported on an MT-5 (no ``what``)."""

    def checked(client: _Calls, /, *args: P.args, **kwargs: P.kwargs) -> Operation[T]:
        if client.protocol == "mt5":
            raise Unsupported(
                f"MT-5 controllers have no {what} (only real-time data, the "
                f"load switch and control parameters)"
            )
        return build(*args, **kwargs)

    checked.__doc__ = build.__doc__
    return Method(checked)


class _Calls:
    """Every method, written once for both clients (:class:`~fieldlink.kit.client.Method`):
    which conversation it runs, for the controller's protocol."""

    session: ReplySession[Any, Any]
    controller_id: int

    @property
    def protocol(self) -> str:
        return "mt5" if isinstance(self.session, Mt5Session) else "modbus"

    def _configure(self, options: Options) -> ReplySession[Any, Any]:
        self.controller_id = options.get("controller_id", mt5.DEFAULT_ID)
        self.session = _session(options)
        return self.session

    # both generations
    @Method
    def status(self) -> Operation[ops.Snapshot | mt5.RealTimeData]:
        if self.protocol == "mt5":
            return ops.mt5_realtime(self.controller_id)
        return ops.snapshot()

    @Method
    def load(self, on: bool) -> Operation[bool]:
        if self.protocol == "mt5":
            return ops.mt5_switch_load(on, self.controller_id)
        return ops.switch_load(on)

    # MT-5 only
    @Method
    def set_parameters(self, params: mt5.ControlParameters) -> Operation[None]:
        if self.protocol != "mt5":
            raise Unsupported("control parameters (0xAD) are MT-5 only; use write_settings")
        return ops.mt5_set_parameters(params, self.controller_id)

    # Modbus only
    realtime = _modbus_only("Modbus registers", ops.realtime)
    battery_settings = _modbus_only("settings registers", _battery_settings)
    settings = _modbus_only("settings registers", ops.all_settings)
    write_settings = _modbus_only("settings registers", _write_battery_settings)
    set_setting = _modbus_only("settings registers", ops.write_setting)
    clock = _modbus_only("clock", ops.clock)
    set_clock = _modbus_only("clock", ops.set_clock)
    sync_clock = _modbus_only("clock", ops.sync_clock)
    stats = _modbus_only("statistics", ops.statistics)
    rated = _modbus_only("rated data", ops.rated)
    info = _modbus_only("device identification", ops.device_info)
    sparse_read = _modbus_only("FC 0x43 sparse read", ops.sparse_read)


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
