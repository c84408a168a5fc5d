"""The three MT-5 commands and their payloads (tracer.md §A3–§A5).

Each payload's layout is declared once (``LAYOUT``, see :mod:`fieldlink.kit.fields`)
and encoding and decoding both follow from it.  Physical quantities travel as
unsigned 16-bit little-endian integers of value × 100; the battery temperature is
one byte of °C + 30.  The frame around a payload (sync, CRC, end byte) is
:mod:`fieldlink.tracer.mt5.framing`'s business.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from fieldlink.errors import ProtocolError, UsageError
from fieldlink.kit.fields import (
    Binary,
    Layout,
    Number,
    choice,
    flag,
    scaled,
    u8,
    u16le,
)
from fieldlink.tracer.mt5.framing import Frame

#: Command codes (§A3).
READ_REALTIME = 0xA0
LOAD_SWITCH = 0xAA
SET_PARAMETERS = 0xAD

COMMAND_NAMES: dict[int, str] = {
    READ_REALTIME: "read real-time data",
    LOAD_SWITCH: "manual load switch",
    SET_PARAMETERS: "set control parameters",
}

#: Controller ID the manufacturer's examples use; current controllers ignore it.
DEFAULT_ID = 0x16

# --- 0xA0 real-time data ---------------------------------------------------------------------


def _hundredths(name: str) -> Number:
    """A reading in hundredths, pinned at 0 or 655.35 when encoded (as a device would)."""
    return scaled(name, code="H", endian="<", scale=100, clamp=True)


@dataclass(frozen=True, slots=True)
class RealTimeData(Binary):
    """The 0xA0 reply: what an MT-5 controller measures, with its two set points.

    The reserved bytes are kept (real units send 0x50 or 0x1F at offset 15) so a
    payload re-encodes byte for byte.  Encoding pins a reading beyond the wire range
    at its nearest end (0–655.35, −30–225 °C) rather than refusing it: the emulator
    reports whatever its model computes.
    """

    LAYOUT: ClassVar[Layout] = (
        _hundredths("battery_voltage"),
        _hundredths("pv_voltage"),
        u16le("reserved_4"),
        _hundredths("load_current"),
        _hundredths("over_discharge_voltage"),
        _hundredths("battery_full_voltage"),
        flag("load_on"),
        flag("load_overload"),
        flag("load_short"),
        u8("reserved_15"),
        flag("battery_overvoltage"),
        flag("over_discharge"),
        flag("battery_full"),
        flag("charging"),
        scaled("battery_temperature", code="B", offset=30, clamp=True),
        _hundredths("charge_current"),
        u8("reserved_23"),
    )
    WHAT: ClassVar[str] = "MT-5 0xA0 reply"

    battery_voltage: float
    pv_voltage: float
    load_current: float
    over_discharge_voltage: float
    battery_full_voltage: float
    load_on: bool
    load_overload: bool
    load_short: bool
    battery_overvoltage: bool
    over_discharge: bool
    battery_full: bool
    charging: bool
    battery_temperature: int
    charge_current: float
    reserved_4: int = 0
    reserved_15: int = 0
    reserved_23: int = 0

    #: Units of the physical fields.
    UNITS: ClassVar[dict[str, str]] = {
        "battery_voltage": "V",
        "pv_voltage": "V",
        "load_current": "A",
        "over_discharge_voltage": "V",
        "battery_full_voltage": "V",
        "battery_temperature": "°C",
        "charge_current": "A",
    }

    @property
    def flags(self) -> dict[str, bool]:
        """Every status flag by name."""
        return {name: bool(getattr(self, name)) for name in _FLAGS}

    def measurements(self) -> dict[str, float | int | bool]:
        """Every documented field (reserved bytes left out), in payload order."""
        return {name: getattr(self, name) for name in _MEASUREMENTS}

    @classmethod
    def decode(cls, payload: bytes | bytearray | memoryview) -> RealTimeData:
        if len(payload) != REALTIME_LENGTH:
            raise ProtocolError(
                f"real-time data is {REALTIME_LENGTH} bytes, not {len(payload)}",
                message_type=cls.WHAT,
            )
        return cls.codec().decode(payload)


#: Payload order, from the layout: the status flags, and everything but reserved bytes.
_FLAGS = tuple(f.names[0] for f in RealTimeData.LAYOUT if isinstance(f, Number) and f.code == "?")
_MEASUREMENTS = tuple(
    f.names[0] for f in RealTimeData.LAYOUT if not f.names[0].startswith("reserved")
)
REALTIME_LENGTH = RealTimeData.codec().size  # 24


# --- 0xAD control parameters -----------------------------------------------------------------


class BatteryType(enum.IntEnum):
    """MT-5 battery type codes (§A5) -- not the Modbus 0x9000 codes."""

    GEL = 0
    SEALED = 1
    FLOODED = 2


#: Load control mode 1: 0 dusk-to-dawn, 1–15 hours after dusk, 16 test, 17 manual, 18 disabled.
LOAD_MODE_1 = frozenset(range(19))
#: Load control mode 2: 1–15 hours, 18 disabled.
LOAD_MODE_2 = frozenset([*range(1, 16), 18])


@dataclass(frozen=True, slots=True)
class ControlParameters(Binary):
    """The seven 0xAD bytes, validated when built (a UsageError names the field).

    The attributes are in the order people set them; the wire order is ``LAYOUT``'s.
    """

    LAYOUT: ClassVar[Layout] = (
        u8("load_type", "load type"),
        u8("charging_mode", "charging mode"),
        u8("temperature_compensation", "temperature compensation"),
        choice("battery_type", BatteryType, "battery type"),
        scaled("capacity_ah", "battery capacity", code="B", step=10),
        u8("load_mode_1", "load control mode 1"),
        u8("load_mode_2", "load control mode 2"),
    )
    WHAT: ClassVar[str] = "MT-5 0xAD request"

    temperature_compensation: int = 5
    battery_type: BatteryType = BatteryType.SEALED
    capacity_ah: int = 100
    load_mode_1: int = 0
    load_mode_2: int = 18
    load_type: int = 0
    charging_mode: int = 0

    LENGTH: ClassVar[int] = 7

    def __post_init__(self) -> None:
        if not 0 <= self.temperature_compensation <= 10:
            raise UsageError("temperature compensation coefficient must be 0–10")
        if self.battery_type not in tuple(BatteryType):
            raise UsageError("battery type must be 0 gel, 1 sealed or 2 flooded")
        if not 0 <= self.capacity_ah <= 2550 or self.capacity_ah % 10:
            raise UsageError("battery capacity is sent in tens of Ah: 0–2550, a multiple of 10")
        if self.load_mode_1 not in LOAD_MODE_1:
            raise UsageError("load control mode 1 must be 0–18")
        if self.load_mode_2 not in LOAD_MODE_2:
            raise UsageError("load control mode 2 must be 1–15 or 18")
        for name in ("load_type", "charging_mode"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise UsageError(f"{name} is one byte")

    @classmethod
    def decode(cls, payload: bytes | bytearray | memoryview) -> ControlParameters:
        """Seven bytes -> parameters; ProtocolError for any that a controller would refuse."""
        if len(payload) != cls.LENGTH:
            raise ProtocolError(
                f"control parameters are 7 bytes, not {len(payload)}", message_type=cls.WHAT
            )
        try:
            return cls.codec().decode(payload)
        except UsageError as exc:  # __post_init__ refused a value the layout allows
            raise ProtocolError(str(exc), message_type=cls.WHAT) from exc


# --- requests and replies --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadState(Binary):
    """The 0xAA payload, both ways: switch the load on or off, and its state after.

    Only 0 and 1 are valid; another byte is a ProtocolError, not "on".
    """

    LAYOUT: ClassVar[Layout] = (flag("on", "load state", strict=True),)
    WHAT: ClassVar[str] = f"MT-5 {COMMAND_NAMES[LOAD_SWITCH]} reply"

    on: bool


@dataclass(frozen=True, slots=True)
class ParametersAccepted(Binary):
    """The (empty) 0xAD reply: any data in it is a ProtocolError."""

    LAYOUT: ClassVar[Layout] = ()
    WHAT: ClassVar[str] = f"MT-5 {COMMAND_NAMES[SET_PARAMETERS]} reply"


Reply = RealTimeData | LoadState | ParametersAccepted

#: The reply each command's frame carries.
_REPLIES: dict[int, type[RealTimeData] | type[LoadState] | type[ParametersAccepted]] = {
    READ_REALTIME: RealTimeData,
    LOAD_SWITCH: LoadState,
    SET_PARAMETERS: ParametersAccepted,
}


def read_realtime(controller_id: int = DEFAULT_ID) -> Frame:
    return Frame(controller_id, READ_REALTIME)


def load_switch(on: bool, controller_id: int = DEFAULT_ID) -> Frame:
    return Frame(controller_id, LOAD_SWITCH, LoadState(on).encode())


def set_parameters(params: ControlParameters, controller_id: int = DEFAULT_ID) -> Frame:
    return Frame(controller_id, SET_PARAMETERS, params.encode())


def decode_reply(frame: Frame) -> Reply:
    """The typed reply a controller's frame carries; ProtocolError for a malformed one."""
    kind = _REPLIES.get(frame.command)
    if kind is None:
        raise ProtocolError(f"unknown command {frame.command:#04x}", message_type="MT-5 reply")
    return kind.decode(frame.data)


__all__ = [
    "COMMAND_NAMES",
    "DEFAULT_ID",
    "LOAD_SWITCH",
    "READ_REALTIME",
    "SET_PARAMETERS",
    "BatteryType",
    "ControlParameters",
    "LoadState",
    "ParametersAccepted",
    "RealTimeData",
    "Reply",
    "decode_reply",
    "load_switch",
    "read_realtime",
    "set_parameters",
]
