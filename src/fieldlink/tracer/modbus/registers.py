"""The EPEVER Tracer register map as data (tracer.md §B4–§B7).

Every address is the 0-based PDU address sent on the wire (0x3104 goes out as
``31 04``).  A :class:`Register` says which table it lives in, how many words it
takes (32-bit values are two registers, **low word at the lower address**), its
scale (raw / scale = physical), whether it is signed and its unit.  Percentages
are plain integers although the manufacturer prints "times 100" (§B3).

:data:`BLOCKS` lists the reads a client makes: each stays inside the registers a
real Tracer2215BN has (§B2.2), because a read that touches an absent address
earns exception 02.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fieldlink.errors import ProtocolError


class Table(enum.Enum):
    """The four Modbus tables; a function code used on the wrong one gets exception 02."""

    COIL = "coil"
    DISCRETE = "discrete input"
    INPUT = "input register"
    HOLDING = "holding register"


@dataclass(frozen=True, slots=True)
class Register:
    """One value in the map."""

    name: str
    address: int
    table: Table
    scale: int = 1
    unit: str = ""
    words: int = 1
    signed: bool = False
    description: str = ""

    @property
    def addresses(self) -> range:
        return range(self.address, self.address + self.words)

    def decode(self, words: Mapping[int, int]) -> float | int:
        """Physical value from the raw words (low word first for 32-bit values)."""
        try:
            raw = sum(words[a] << (16 * i) for i, a in enumerate(self.addresses))
        except KeyError as exc:
            raise ProtocolError(
                f"register {exc.args[0]:#06x} missing for {self.name}",
                message_type="Tracer register block",
            ) from None
        bits = 16 * self.words
        if self.signed and raw >= 1 << (bits - 1):
            raw -= 1 << bits
        return raw / self.scale if self.scale != 1 else raw

    def encode(self, value: float) -> list[int]:
        """Raw words (lowest address first) for a physical value; ValueError if it cannot fit."""
        raw = round(value * self.scale)
        bits = 16 * self.words
        low, high = (
            (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.signed else (0, (1 << bits) - 1)
        )
        if not low <= raw <= high:
            raise ValueError(f"{self.name}: {value} does not fit {bits} bits")
        raw &= (1 << bits) - 1
        return [(raw >> (16 * i)) & 0xFFFF for i in range(self.words)]


I, H, C, D = Table.INPUT, Table.HOLDING, Table.COIL, Table.DISCRETE  # noqa: E741


#: The tables below are rows of Register(name, address, table, scale, unit, words, signed).
_r = Register


RATED: tuple[Register, ...] = (
    _r("pv_rated_voltage", 0x3000, I, 100, "V"),
    _r("pv_rated_current", 0x3001, I, 100, "A"),
    _r("pv_rated_power", 0x3002, I, 100, "W", 2),
    _r("battery_rated_voltage", 0x3004, I, 100, "V"),
    _r("rated_charging_current", 0x3005, I, 100, "A"),
    _r("rated_charging_power", 0x3006, I, 100, "W", 2),
    _r("charging_mode", 0x3008, I, description="0 on/off, 1 PWM, 2 MPPT"),
    _r("rated_load_current", 0x300E, I, 100, "A"),
)

REALTIME: tuple[Register, ...] = (
    _r("pv_voltage", 0x3100, I, 100, "V"),
    _r("pv_current", 0x3101, I, 100, "A"),
    _r("pv_power", 0x3102, I, 100, "W", 2),
    _r("battery_voltage", 0x3104, I, 100, "V"),
    _r("battery_charging_current", 0x3105, I, 100, "A"),
    _r("battery_charging_power", 0x3106, I, 100, "W", 2),
    _r("load_voltage", 0x310C, I, 100, "V"),
    _r("load_current", 0x310D, I, 100, "A"),
    _r("load_power", 0x310E, I, 100, "W", 2),
    _r("battery_temperature", 0x3110, I, 100, "°C", signed=True),
    _r("case_temperature", 0x3111, I, 100, "°C", signed=True),
    _r("component_temperature", 0x3112, I, 100, "°C", signed=True),
    _r("battery_soc", 0x311A, I, 1, "%"),
    _r("remote_battery_temperature", 0x311B, I, 100, "°C", signed=True),
    _r("system_voltage", 0x311D, I, 100, "V"),
)

#: Undocumented registers a real unit has (§B2.2): kept so the present set is faithful.
UNDOCUMENTED: tuple[Register, ...] = (
    *(_r(f"mirror_{a:04x}", a, I) for a in range(0x3108, 0x310C)),
    _r("undocumented_3113", 0x3113, I, 100, "°C", signed=True),
    _r("undocumented_906f", 0x906F, H),
)

STATUS: tuple[Register, ...] = (
    _r("battery_status", 0x3200, I),
    _r("charging_status", 0x3201, I),
    _r("discharging_status", 0x3202, I),
)

STATISTICS: tuple[Register, ...] = (
    _r("max_pv_voltage_today", 0x3300, I, 100, "V"),
    _r("min_pv_voltage_today", 0x3301, I, 100, "V"),
    _r("max_battery_voltage_today", 0x3302, I, 100, "V"),
    _r("min_battery_voltage_today", 0x3303, I, 100, "V"),
    _r("consumed_today", 0x3304, I, 100, "kWh", 2),
    _r("consumed_month", 0x3306, I, 100, "kWh", 2),
    _r("consumed_year", 0x3308, I, 100, "kWh", 2),
    _r("consumed_total", 0x330A, I, 100, "kWh", 2),
    _r("generated_today", 0x330C, I, 100, "kWh", 2),
    _r("generated_month", 0x330E, I, 100, "kWh", 2),
    _r("generated_year", 0x3310, I, 100, "kWh", 2),
    _r("generated_total", 0x3312, I, 100, "kWh", 2),
    _r("co2_reduction", 0x3314, I, 100, "t", 2),
    _r("battery_voltage", 0x331A, I, 100, "V"),
    _r("net_battery_current", 0x331B, I, 100, "A", 2, signed=True),
    _r("battery_temperature", 0x331D, I, 100, "°C", signed=True),
    _r("ambient_temperature", 0x331E, I, 100, "°C", signed=True),
)

#: The battery settings block (§B5): written as one validated block (settings.py).
BATTERY: tuple[Register, ...] = (
    _r("battery_type", 0x9000, H, description="0 user, 1 sealed, 2 gel, 3 flooded"),
    _r("battery_capacity", 0x9001, H, 1, "Ah"),
    _r("temperature_compensation", 0x9002, H, 100, "mV/°C/2V"),
    _r("high_voltage_disconnect", 0x9003, H, 100, "V"),
    _r("charging_limit_voltage", 0x9004, H, 100, "V"),
    _r("over_voltage_reconnect", 0x9005, H, 100, "V"),
    _r("equalization_voltage", 0x9006, H, 100, "V"),
    _r("boost_voltage", 0x9007, H, 100, "V"),
    _r("float_voltage", 0x9008, H, 100, "V"),
    _r("boost_reconnect_voltage", 0x9009, H, 100, "V"),
    _r("low_voltage_reconnect", 0x900A, H, 100, "V"),
    _r("under_voltage_recover", 0x900B, H, 100, "V"),
    _r("under_voltage_warning", 0x900C, H, 100, "V"),
    _r("low_voltage_disconnect", 0x900D, H, 100, "V"),
    _r("discharging_limit_voltage", 0x900E, H, 100, "V"),
    _r("equalize_duration", 0x906B, H, 1, "min"),
    _r("boost_duration", 0x906C, H, 1, "min"),
    _r("discharging_percentage", 0x906D, H, 1, "%"),
    _r("charging_percentage", 0x906E, H, 1, "%"),
    _r("battery_management_mode", 0x9070, H, description="0 voltage compensation, 1 SOC"),
)

CLOCK: tuple[Register, ...] = (
    _r("rtc_seconds_minutes", 0x9013, H),
    _r("rtc_hour_day", 0x9014, H),
    _r("rtc_month_year", 0x9015, H),
)

#: Other holding registers: shown by ``settings`` and settable one at a time.
OTHER_SETTINGS: tuple[Register, ...] = (
    _r("equalization_cycle", 0x9016, H, 1, "d"),
    _r("battery_temperature_upper_limit", 0x9017, H, 100, "°C", signed=True),
    _r("battery_temperature_lower_limit", 0x9018, H, 100, "°C", signed=True),
    _r("controller_temperature_limit", 0x9019, H, 100, "°C", signed=True),
    _r("controller_temperature_recover", 0x901A, H, 100, "°C", signed=True),
    _r("component_temperature_limit", 0x901B, H, 100, "°C", signed=True),
    _r("component_temperature_recover", 0x901C, H, 100, "°C", signed=True),
    _r("line_impedance", 0x901D, H, 100, "mΩ"),
    _r("night_threshold_voltage", 0x901E, H, 100, "V"),
    _r("night_detection_delay", 0x901F, H, 1, "min"),
    _r("day_threshold_voltage", 0x9020, H, 100, "V"),
    _r("day_detection_delay", 0x9021, H, 1, "min"),
    _r(
        "load_control_mode",
        0x903D,
        H,
        description="0 manual, 1 light on/off, 2 light+timer, 3 time",
    ),
    _r("working_time_1", 0x903E, H, description="high byte h, low byte min"),
    _r("working_time_2", 0x903F, H, description="high byte h, low byte min"),
    _r("turn_on_1_second", 0x9042, H),
    _r("turn_on_1_minute", 0x9043, H),
    _r("turn_on_1_hour", 0x9044, H),
    _r("turn_off_1_second", 0x9045, H),
    _r("turn_off_1_minute", 0x9046, H),
    _r("turn_off_1_hour", 0x9047, H),
    _r("turn_on_2_second", 0x9048, H),
    _r("turn_on_2_minute", 0x9049, H),
    _r("turn_on_2_hour", 0x904A, H),
    _r("turn_off_2_second", 0x904B, H),
    _r("turn_off_2_minute", 0x904C, H),
    _r("turn_off_2_hour", 0x904D, H),
    _r("backlight_time", 0x9063, H, 1, "s"),
    _r("length_of_night", 0x9065, H, description="high byte h, low byte min"),
    _r("battery_rated_voltage_code", 0x9067, H, description="0 auto, 1 12 V, 2 24 V, ..."),
    _r("load_timing_selection", 0x9069, H, description="0 one timer, 1 two timers"),
    _r("default_load_state", 0x906A, H, description="manual mode: 0 off, 1 on"),
)

COILS: tuple[Register, ...] = (
    _r("charging_device_on", 0x0000, C),
    _r("output_control_manual", 0x0001, C),
    _r("manual_load_on", 0x0002, C, description="the normal load on/off switch"),
    _r("default_load_on", 0x0003, C),
    _r("load_test_mode", 0x0005, C),
    _r("force_load_on", 0x0006, C),
    _r("restore_defaults", 0x000D, C),
    _r("clear_statistics", 0x000E, C),
)

DISCRETES: tuple[Register, ...] = (
    _r("over_temperature", 0x2000, D),
    _r("night", 0x200C, D),
)

SETTINGS: tuple[Register, ...] = BATTERY + OTHER_SETTINGS


@dataclass(frozen=True, slots=True)
class Block:
    """One read a client makes: ``count`` registers of ``table`` from ``start``."""

    table: Table
    start: int
    count: int

    @property
    def addresses(self) -> range:
        return range(self.start, self.start + self.count)


def blocks_for(registers: Iterable[Register], *, gap: int = 0) -> tuple[Block, ...]:
    """The fewest reads covering ``registers`` without crossing a hole wider than ``gap``.

    With ``gap=0`` a read never includes an address not in the map, so it cannot
    hit an absent register.  32-bit pairs always land in one read (no torn values).
    """
    addrs: dict[Table, set[int]] = {}
    for reg in registers:
        addrs.setdefault(reg.table, set()).update(reg.addresses)
    out: list[Block] = []
    for table, present in addrs.items():
        ordered = sorted(present)
        start = prev = ordered[0]
        for a in ordered[1:]:
            if a - prev > gap + 1 or a - start >= 125:
                out.append(Block(table, start, prev - start + 1))
                start = a
            prev = a
        out.append(Block(table, start, prev - start + 1))
    return tuple(out)


def by_name(registers: Iterable[Register]) -> dict[str, Register]:
    return {r.name: r for r in registers}


def decode_all(registers: Iterable[Register], words: Mapping[int, int]) -> dict[str, float | int]:
    """Physical values by name from a map of address -> raw word."""
    return {r.name: r.decode(words) for r in registers}


#: Present input/holding registers of the default profile (Tracer2215BN plus documented, §B2.2).
PRESENT_INPUT: frozenset[int] = frozenset(
    [
        *range(0x3000, 0x3009),
        0x300E,
        *range(0x3100, 0x3114),
        0x311A,
        0x311B,
        0x311D,
        *range(0x3200, 0x3203),
        *range(0x3300, 0x3316),
        *range(0x331A, 0x331F),
    ]
)
PRESENT_HOLDING: frozenset[int] = frozenset(
    [
        *range(0x9000, 0x900F),
        *range(0x9013, 0x9022),
        *range(0x903D, 0x9040),
        *range(0x9042, 0x904E),
        0x9063,
        0x9065,
        0x9067,
        *range(0x9069, 0x9071),
    ]
)
