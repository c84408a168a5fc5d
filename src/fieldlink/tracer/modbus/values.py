"""Typed objects decoded from the register map (tracer.md §B4, §B5, §B7).

Each group is a frozen dataclass whose field names are the register names in
:mod:`.registers`, so decoding is ``Group.from_words(words)`` written once; units
come from the map (:func:`units`).  Status words are decoded bit field by bit field
from tables (:data:`BATTERY_STATUS` ...), keeping the raw words alongside.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Self

from fieldlink.errors import ProtocolError, UsageError
from fieldlink.tracer.modbus import registers as regs
from fieldlink.tracer.modbus.registers import Register


class _Group:
    """Shared decoding for dataclasses whose fields are register names."""

    REGISTERS: ClassVar[tuple[Register, ...]] = ()

    @classmethod
    def from_words(cls, words: Mapping[int, int]) -> Self:
        values = regs.decode_all(cls.REGISTERS, words)
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in values.items() if k in names})

    @classmethod
    def units(cls) -> dict[str, str]:
        return {r.name: r.unit for r in cls.REGISTERS if r.unit}

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Rated(_Group):
    pv_rated_voltage: float
    pv_rated_current: float
    pv_rated_power: float
    battery_rated_voltage: float
    rated_charging_current: float
    rated_charging_power: float
    charging_mode: int
    rated_load_current: float

    REGISTERS: ClassVar[tuple[Register, ...]] = regs.RATED

    @property
    def charging_mode_name(self) -> str:
        return {0: "connect/disconnect", 1: "PWM", 2: "MPPT"}.get(self.charging_mode, "unknown")


@dataclass(frozen=True, slots=True)
class RealTime(_Group):
    pv_voltage: float
    pv_current: float
    pv_power: float
    battery_voltage: float
    battery_charging_current: float
    battery_charging_power: float
    load_voltage: float
    load_current: float
    load_power: float
    battery_temperature: float
    case_temperature: float
    component_temperature: float
    battery_soc: int
    remote_battery_temperature: float
    system_voltage: float

    REGISTERS: ClassVar[tuple[Register, ...]] = regs.REALTIME


@dataclass(frozen=True, slots=True)
class Statistics(_Group):
    max_pv_voltage_today: float
    min_pv_voltage_today: float
    max_battery_voltage_today: float
    min_battery_voltage_today: float
    consumed_today: float
    consumed_month: float
    consumed_year: float
    consumed_total: float
    generated_today: float
    generated_month: float
    generated_year: float
    generated_total: float
    co2_reduction: float
    battery_voltage: float
    net_battery_current: float
    battery_temperature: float
    ambient_temperature: float

    REGISTERS: ClassVar[tuple[Register, ...]] = regs.STATISTICS


# --- status bits (§B4) ------------------------------------------------------------------------

#: (field, lowest bit, width, meanings by value or None for a plain flag)
BitField = tuple[str, int, int, Mapping[int, str] | None]

BATTERY_STATUS: tuple[BitField, ...] = (
    (
        "voltage",
        0,
        4,
        {
            0: "normal",
            1: "over-voltage",
            2: "under-voltage",
            3: "low-voltage disconnect",
            4: "fault",
        },
    ),
    ("temperature", 4, 4, {0: "normal", 1: "over-temperature", 2: "low temperature"}),
    ("internal_resistance_abnormal", 8, 1, None),
    ("wrong_rated_voltage", 15, 1, None),
)
CHARGING_STATUS: tuple[BitField, ...] = (
    ("running", 0, 1, None),
    ("fault", 1, 1, None),
    ("stage", 2, 2, {0: "not charging", 1: "float", 2: "boost", 3: "equalization"}),
    ("pv_input_short", 4, 1, None),
    ("disequilibrium", 6, 1, None),
    ("load_mosfet_short", 7, 1, None),
    ("load_short", 8, 1, None),
    ("load_over_current", 9, 1, None),
    ("input_over_current", 10, 1, None),
    ("anti_reverse_mosfet_short", 11, 1, None),
    ("charging_or_anti_reverse_mosfet_short", 12, 1, None),
    ("charging_mosfet_short", 13, 1, None),
    (
        "input_voltage",
        14,
        2,
        {0: "normal", 1: "no input power", 2: "input too high", 3: "input voltage error"},
    ),
)
DISCHARGING_STATUS: tuple[BitField, ...] = (
    ("running", 0, 1, None),
    ("fault", 1, 1, None),
    ("output_over_voltage", 4, 1, None),
    ("boost_over_voltage", 5, 1, None),
    ("high_voltage_side_short", 6, 1, None),
    ("input_over_voltage", 7, 1, None),
    ("output_voltage_abnormal", 8, 1, None),
    ("unable_to_stop_discharging", 9, 1, None),
    ("unable_to_discharge", 10, 1, None),
    ("short", 11, 1, None),
    ("load_level", 12, 2, {0: "light", 1: "moderate", 2: "rated", 3: "overload"}),
    ("input_voltage", 14, 2, {0: "normal", 1: "low", 2: "high", 3: "no access"}),
)


def decode_bits(word: int, layout: tuple[BitField, ...]) -> dict[str, bool | str]:
    """Each field of a status word: a flag, or the named meaning of a multi-bit value."""
    out: dict[str, bool | str] = {}
    for name, low, width, meanings in layout:
        value = (word >> low) & ((1 << width) - 1)
        out[name] = bool(value) if meanings is None else meanings.get(value, f"code {value}")
    return out


def encode_bits(values: Mapping[str, bool | str], layout: tuple[BitField, ...]) -> int:
    """The inverse of :func:`decode_bits` (used by the emulator)."""
    word = 0
    for name, low, width, meanings in layout:
        value = values.get(name, False if meanings is None else meanings[0])
        if meanings is None:
            raw = 1 if value else 0
        else:
            raw = next(k for k, v in meanings.items() if v == value)
        word |= (raw & ((1 << width) - 1)) << low
    return word


@dataclass(frozen=True, slots=True)
class Status:
    """The three status words of 0x3200–0x3202, raw and decoded."""

    battery_word: int
    charging_word: int
    discharging_word: int

    @property
    def battery(self) -> dict[str, bool | str]:
        return decode_bits(self.battery_word, BATTERY_STATUS)

    @property
    def charging(self) -> dict[str, bool | str]:
        return decode_bits(self.charging_word, CHARGING_STATUS)

    @property
    def discharging(self) -> dict[str, bool | str]:
        return decode_bits(self.discharging_word, DISCHARGING_STATUS)

    @property
    def stage(self) -> str:
        return str(self.charging["stage"])

    @classmethod
    def from_words(cls, words: Mapping[int, int]) -> Status:
        try:
            return cls(words[0x3200], words[0x3201], words[0x3202])
        except KeyError as exc:
            raise ProtocolError(f"status register {exc.args[0]:#06x} missing") from None

    def as_dict(self) -> dict[str, Any]:
        flat: dict[str, Any] = {}
        for prefix, group in (
            ("battery_status", self.battery),
            ("charging_status", self.charging),
            ("discharging_status", self.discharging),
        ):
            flat.update({f"{prefix}_{k}": v for k, v in group.items()})
        return flat


# --- clock (§B5: 0x9013–0x9015) ---------------------------------------------------------------


def decode_clock(words: Mapping[int, int] | list[int]) -> dt.datetime:
    """The controller's clock: seconds/minutes, hour/day, month/year-2000 byte pairs."""
    if isinstance(words, list):
        w = list(words)
    else:
        w = [words.get(a, -1) for a in (0x9013, 0x9014, 0x9015)]
    if len(w) != 3 or min(w) < 0:
        raise ProtocolError("clock is three registers", message_type="Tracer RTC")
    sec, minute = w[0] & 0xFF, w[0] >> 8
    hour, day = w[1] & 0xFF, w[1] >> 8
    month, year = w[2] & 0xFF, (w[2] >> 8) + 2000
    try:
        return dt.datetime(year, month, day, hour, minute, sec)
    except ValueError as exc:
        raise ProtocolError(
            f"controller clock is not a date: {exc}", message_type="Tracer RTC"
        ) from None


def encode_clock(when: dt.datetime) -> list[int]:
    if not 2000 <= when.year <= 2255:
        raise UsageError("the controller's clock holds years 2000–2255")
    return [
        when.second | (when.minute << 8),
        when.hour | (when.day << 8),
        when.month | ((when.year - 2000) << 8),
    ]


# --- device identification (§B7) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    vendor: str
    product: str
    revision: str
    serial_number: str = ""

    #: Object ids of FC 0x2B / MEI 0x0E.
    OBJECTS: ClassVar[dict[int, str]] = {
        0: "vendor",
        1: "product",
        2: "revision",
        3: "serial_number",
    }

    @classmethod
    def from_objects(cls, objects: Mapping[int, bytes]) -> DeviceInfo:
        text = {name: objects.get(oid, b"").decode("latin-1") for oid, name in cls.OBJECTS.items()}
        return cls(**text)

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.OBJECTS.values()}

    def objects(self) -> dict[int, bytes]:
        return {oid: getattr(self, name).encode("latin-1") for oid, name in self.OBJECTS.items()}


__all__ = [
    "BATTERY_STATUS",
    "CHARGING_STATUS",
    "DISCHARGING_STATUS",
    "DeviceInfo",
    "Rated",
    "RealTime",
    "Statistics",
    "Status",
    "decode_bits",
    "decode_clock",
    "encode_bits",
    "encode_clock",
]
