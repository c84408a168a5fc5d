"""The battery settings block and the rules a write must keep (tracer.md §B5, §B5.1).

The block is 0x9000–0x900E (type, capacity, temperature compensation and the twelve
voltage set points) plus 0x906B–0x906E and 0x9070 (durations, depth of charge and
discharge, management mode).  It is read, changed and written as a whole, and
:func:`check` runs before anything is written -- on the client, and on the
emulator against the registers a write would leave behind, so both refuse the
same things.

Rules (EPEVER, user battery type 0 only; orderings on raw values, so they hold at
any system voltage), with the names the manuals use:

- A: HVD > CLV ≥ EQV ≥ BV ≥ FV > BRV
- B: HVD > OVR
- C: LVR > LVD ≥ DLV
- D: UVWR > UVW ≥ DLV
- E: BRV > LVR

Ranges (always): temperature compensation 0–9 (raw 0–900), equalize duration
0–120 min, boost duration 10–120 min, discharging percentage 20–80 %, charging
percentage 20–100 %.  Battery type codes 4–12 (lithium, from epevermodbus only,
UNCERTAIN) are accepted; the rules are then not checked, as for sealed/gel/flooded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from fieldlink.tracer.errors import SettingsError
from fieldlink.tracer.modbus import registers as regs
from fieldlink.tracer.modbus.registers import Register

_BY_NAME = regs.by_name(regs.BATTERY)
_ADDR = {r.name: r.address for r in regs.BATTERY}

#: Short names the manuals use, by register address.
ABBREVIATIONS: dict[int, str] = {
    0x9003: "HVD",
    0x9004: "CLV",
    0x9005: "OVR",
    0x9006: "EQV",
    0x9007: "BV",
    0x9008: "FV",
    0x9009: "BRV",
    0x900A: "LVR",
    0x900B: "UVWR",
    0x900C: "UVW",
    0x900D: "LVD",
    0x900E: "DLV",
}
_A = {v: k for k, v in ABBREVIATIONS.items()}

#: Each rule as a chain of (address, relation, address): ">" strict, ">=" or equal.
RULES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "A": (
        ("HVD", ">", "CLV"),
        ("CLV", ">=", "EQV"),
        ("EQV", ">=", "BV"),
        ("BV", ">=", "FV"),
        ("FV", ">", "BRV"),
    ),
    "B": (("HVD", ">", "OVR"),),
    "C": (("LVR", ">", "LVD"), ("LVD", ">=", "DLV")),
    "D": (("UVWR", ">", "UVW"), ("UVW", ">=", "DLV")),
    "E": (("BRV", ">", "LVR"),),
}

#: Raw ranges checked whatever the battery type: address -> (low, high, what).
RANGES: dict[int, tuple[int, int, str]] = {
    0x9000: (0, 12, "battery type 0–3 (4–12 lithium)"),
    0x9002: (0, 900, "temperature compensation 0–9 mV/°C/2V"),
    0x906B: (0, 120, "equalize duration 0–120 min"),
    0x906C: (10, 120, "boost duration 10–120 min"),
    0x906D: (20, 80, "discharging percentage 20–80 %"),
    0x906E: (20, 100, "charging percentage 20–100 %"),
    0x9070: (0, 1, "battery management mode 0 or 1"),
}

USER_TYPE = 0


def check(words: Mapping[int, int]) -> SettingsError | None:
    """The first range or rule the raw registers break, or None.

    ``words`` maps address to raw word; registers it lacks are not checked, so the
    emulator can pass the holding registers a write would leave.
    """
    for address, (low, high, what) in RANGES.items():
        if address in words and not low <= words[address] <= high:
            name = _name(address)
            return SettingsError(
                f"{name} = {words[address]} (raw) is out of range: {what}", rule=name
            )
    if words.get(0x9000) != USER_TYPE:
        return None
    for rule, chain in RULES.items():
        for left, op, right in chain:
            a, b = _A[left], _A[right]
            if a not in words or b not in words:
                continue
            x, y = words[a], words[b]
            if not (x > y if op == ">" else x >= y):
                return SettingsError(
                    f"rule {rule} broken: {left} {x / 100:.2f} V must be {op} {right} "
                    f"{y / 100:.2f} V ({_rule_text(rule)})",
                    rule=rule,
                )
    return None


def _rule_text(rule: str) -> str:
    chain = RULES[rule]
    text = chain[0][0]
    for _, op, right in chain:
        text += f" {op.replace('>=', '≥')} {right}"
    return text


def _name(address: int) -> str:
    return next(r.name for r in regs.BATTERY if r.address == address)


@dataclass(frozen=True, slots=True)
class BatterySettings:
    """The battery settings block in physical units (V, Ah, min, %)."""

    battery_type: int
    battery_capacity: int
    temperature_compensation: float
    high_voltage_disconnect: float
    charging_limit_voltage: float
    over_voltage_reconnect: float
    equalization_voltage: float
    boost_voltage: float
    float_voltage: float
    boost_reconnect_voltage: float
    low_voltage_reconnect: float
    under_voltage_recover: float
    under_voltage_warning: float
    low_voltage_disconnect: float
    discharging_limit_voltage: float
    equalize_duration: int
    boost_duration: int
    discharging_percentage: int
    charging_percentage: int
    battery_management_mode: int

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_words(cls, words: Mapping[int, int]) -> BatterySettings:
        values: dict[str, Any] = regs.decode_all(regs.BATTERY, words)
        return cls(**values)

    def to_words(self) -> dict[int, int]:
        """Raw words by address; SettingsError if a value does not fit its register."""
        out: dict[int, int] = {}
        for name in self.names():
            reg = _BY_NAME[name]
            try:
                out[reg.address] = reg.encode(getattr(self, name))[0]
            except ValueError as exc:
                raise SettingsError(str(exc), rule=name) from None
        return out

    def validate(self) -> BatterySettings:
        """Self, or a SettingsError naming the first broken range or rule."""
        error = check(self.to_words())
        if error is not None:
            raise error
        return self

    def replace(self, **changes: float) -> BatterySettings:
        """A copy with ``changes`` (unknown names are a UsageError); not yet validated."""
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            raise SettingsError(
                f"unknown battery setting {', '.join(unknown)}; known: {', '.join(self.names())}",
                rule=unknown[0],
            )
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def units(self) -> dict[str, str]:
        return {n: _BY_NAME[n].unit for n in self.names()}


def register_for(name: str) -> Register:
    """The battery or other setting register called ``name`` (SettingsError if none)."""
    for reg in regs.SETTINGS:
        if reg.name == name:
            return reg
    raise SettingsError(
        f"unknown setting {name!r}; known: {', '.join(r.name for r in regs.SETTINGS)}", rule=name
    )


def parse_value(name: str, text: str) -> float:
    """A setting's value typed on the command line (SettingsError if not a number)."""
    reg = register_for(name)
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name} needs a number, not {text!r}", rule=name) from None
    if reg.scale == 1 and value != int(value):
        raise SettingsError(f"{name} is a whole number ({reg.unit or 'code'})", rule=name)
    return value if reg.scale != 1 else int(value)


#: Groups of addresses a block write sends, one FC 0x10 request each.
WRITE_GROUPS: tuple[tuple[int, int], ...] = ((0x9000, 15), (0x906B, 6))

__all__ = [
    "ABBREVIATIONS",
    "RANGES",
    "RULES",
    "WRITE_GROUPS",
    "BatterySettings",
    "check",
    "parse_value",
    "register_for",
]
