"""The three MT-5 commands and their payloads (tracer.md §A3–§A5).

Layouts are tables: each field's offset, struct format and scale, so encoding and
decoding are written once.  Physical quantities travel as unsigned 16-bit
little-endian integers of value × 100; the battery temperature is one byte of
°C + 30.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import ClassVar

from fieldlink.errors import ProtocolError, UsageError
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

_REALTIME = struct.Struct("<HHHHHHBBBBBBBBBHB")
REALTIME_LENGTH = _REALTIME.size  # 24

#: (field, scale, unit) in payload order; scale 100 = hundredths, "temp" = °C + 30, 1 = raw.
_REALTIME_LAYOUT: tuple[tuple[str, str, str], ...] = (
    ("battery_voltage", "c", "V"),
    ("pv_voltage", "c", "V"),
    ("reserved_4", "raw", ""),
    ("load_current", "c", "A"),
    ("over_discharge_voltage", "c", "V"),
    ("battery_full_voltage", "c", "V"),
    ("load_on", "flag", ""),
    ("load_overload", "flag", ""),
    ("load_short", "flag", ""),
    ("reserved_15", "raw", ""),
    ("battery_overvoltage", "flag", ""),
    ("over_discharge", "flag", ""),
    ("battery_full", "flag", ""),
    ("charging", "flag", ""),
    ("battery_temperature", "temp", "°C"),
    ("charge_current", "c", "A"),
    ("reserved_23", "raw", ""),
)


@dataclass(frozen=True, slots=True)
class RealTimeData:
    """The 0xA0 reply: what an MT-5 controller measures, with its two set points.

    The reserved bytes are kept (real units send 0x50 or 0x1F at offset 15) so a
    payload re-encodes byte for byte.
    """

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
    UNITS: ClassVar[dict[str, str]] = {name: unit for name, _, unit in _REALTIME_LAYOUT if unit}

    @property
    def flags(self) -> dict[str, bool]:
        """Every status flag by name."""
        return {
            name: bool(getattr(self, name)) for name, kind, _ in _REALTIME_LAYOUT if kind == "flag"
        }

    def measurements(self) -> dict[str, float | int | bool]:
        """Every documented field (reserved bytes left out), in payload order."""
        return {name: getattr(self, name) for name, kind, _ in _REALTIME_LAYOUT if kind != "raw"}

    @classmethod
    def decode(cls, payload: bytes) -> RealTimeData:
        if len(payload) != REALTIME_LENGTH:
            raise ProtocolError(
                f"real-time data is {REALTIME_LENGTH} bytes, not {len(payload)}",
                message_type="MT-5 0xA0 reply",
            )
        raw = _REALTIME.unpack(payload)
        values: dict[str, float | int | bool] = {}
        for (name, kind, _), value in zip(_REALTIME_LAYOUT, raw, strict=True):
            if kind == "c":
                values[name] = value / 100
            elif kind == "flag":
                values[name] = value != 0
            elif kind == "temp":
                values[name] = value - 30
            else:
                values[name] = value
        return cls(**values)  # type: ignore[arg-type]

    def encode(self) -> bytes:
        raw: list[int] = []
        for name, kind, _ in _REALTIME_LAYOUT:
            value = getattr(self, name)
            if kind == "c":
                raw.append(_clamp16(round(value * 100)))
            elif kind == "flag":
                raw.append(1 if value else 0)
            elif kind == "temp":
                raw.append(max(0, min(0xFF, int(value) + 30)))
            else:
                raw.append(int(value))
        return _REALTIME.pack(*raw)


def _clamp16(value: int) -> int:
    return max(0, min(0xFFFF, value))


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
class ControlParameters:
    """The seven 0xAD bytes, validated when built (a UsageError names the field)."""

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

    def encode(self) -> bytes:
        return bytes(
            (
                self.load_type,
                self.charging_mode,
                self.temperature_compensation,
                int(self.battery_type),
                self.capacity_ah // 10,
                self.load_mode_1,
                self.load_mode_2,
            )
        )

    @classmethod
    def decode(cls, payload: bytes) -> ControlParameters:
        if len(payload) != cls.LENGTH:
            raise ProtocolError(
                f"control parameters are 7 bytes, not {len(payload)}",
                message_type="MT-5 0xAD request",
            )
        try:
            return cls(
                load_type=payload[0],
                charging_mode=payload[1],
                temperature_compensation=payload[2],
                battery_type=BatteryType(payload[3]),
                capacity_ah=payload[4] * 10,
                load_mode_1=payload[5],
                load_mode_2=payload[6],
            )
        except ValueError:
            raise ProtocolError(
                f"battery type {payload[3]} is not 0, 1 or 2", message_type="MT-5 0xAD request"
            ) from None
        except UsageError as exc:
            raise ProtocolError(str(exc), message_type="MT-5 0xAD request") from exc


# --- requests and replies --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadState:
    """The 0xAA reply: the load's state after the switch."""

    on: bool


@dataclass(frozen=True, slots=True)
class ParametersAccepted:
    """The (empty) 0xAD reply."""


Reply = RealTimeData | LoadState | ParametersAccepted


def read_realtime(controller_id: int = DEFAULT_ID) -> Frame:
    return Frame(controller_id, READ_REALTIME)


def load_switch(on: bool, controller_id: int = DEFAULT_ID) -> Frame:
    return Frame(controller_id, LOAD_SWITCH, b"\x01" if on else b"\x00")


def set_parameters(params: ControlParameters, controller_id: int = DEFAULT_ID) -> Frame:
    return Frame(controller_id, SET_PARAMETERS, params.encode())


def decode_reply(frame: Frame) -> Reply:
    """The typed reply a controller's frame carries; ProtocolError for a malformed one."""
    what = f"MT-5 {COMMAND_NAMES.get(frame.command, hex(frame.command))} reply"
    if frame.command == READ_REALTIME:
        return RealTimeData.decode(frame.data)
    if frame.command == LOAD_SWITCH:
        if len(frame.data) != 1 or frame.data[0] > 1:
            raise ProtocolError(
                f"load state must be one byte 0 or 1, got {frame.data.hex()}", message_type=what
            )
        return LoadState(frame.data[0] == 1)
    if frame.command == SET_PARAMETERS:
        if frame.data:
            raise ProtocolError(f"expected no data, got {len(frame.data)} bytes", message_type=what)
        return ParametersAccepted()
    raise ProtocolError(f"unknown command {frame.command:#04x}", message_type="MT-5 reply")


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
