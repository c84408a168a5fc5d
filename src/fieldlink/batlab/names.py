"""Registers by name, and values with units, for the command line and the shell.

``read 0 VOLTAGE``, ``read unit FIRMWARE_VER``, ``write 2 CURRENT_SETPOINT 1.5A``:
namespaces and registers are accepted by name or number, and a value may carry a
unit (V, A, C for °C, Hz) that is converted with the register's own formula.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from fieldlink.batlab import convert
from fieldlink.batlab.registers import (
    CELLS,
    ErrorFlag,
    Kind,
    Mode,
    Namespace,
    SettingsFlag,
    StatusFlag,
    register_enum,
    register_spec,
)
from fieldlink.errors import ProtocolError, UsageError

__all__ = [
    "NAMESPACE_NAMES",
    "describe_value",
    "parse_namespace",
    "parse_register",
    "parse_value",
    "register_names",
]

NAMESPACE_NAMES: Final = {
    **{f"cell{n}": n for n in range(CELLS)},
    **{str(n): n for n in range(CELLS)},
    "unit": int(Namespace.UNIT),
    "bootloader": int(Namespace.BOOTLOADER),
    "comms": int(Namespace.COMMS),
}


def parse_namespace(text: str) -> int:
    key = text.strip().lower()
    if key in NAMESPACE_NAMES:
        return NAMESPACE_NAMES[key]
    try:
        value = int(key, 0)
    except ValueError:
        value = -1
    if 0 <= value < CELLS or value in (Namespace.UNIT, Namespace.BOOTLOADER, Namespace.COMMS):
        return value
    names = "0-3 (cells), unit, bootloader, comms"
    raise UsageError(f"namespace {text!r} is not one of {names}")


def register_names(namespace: int) -> list[str]:
    return [r.name for r in register_enum(namespace)]


def parse_register(namespace: int, text: str) -> int:
    key = text.strip().upper()
    registers = register_enum(namespace)
    if key in registers.__members__:
        return int(registers.__members__[key])
    try:
        value = int(text, 0)
    except ValueError:
        raise UsageError(
            f"no register {text!r} in this namespace; known: {', '.join(register_names(namespace))}"
        ) from None
    if not 0 <= value <= 0x7F:
        raise UsageError(f"register address {value} out of range 0..127")
    return value


_UNITS: Final = {"V": (Kind.VOLTAGE, Kind.VCC), "A": (Kind.CURRENT, Kind.SETPOINT, Kind.OFFSET,
                 Kind.MAGDIV), "C": (Kind.TEMPERATURE,), "HZ": (Kind.FREQUENCY,)}  # fmt: skip


def parse_value(
    namespace: int, address: int, text: str, temp_r: int = 1500, temp_b: int = 3380
) -> int:
    """A raw word from ``text``: an integer (signed allowed), a mode name, or a number
    with a unit the register's conversion accepts (``4.2V``, ``1.5A``, ``45C``, ``78Hz``)."""
    raw = text.strip()
    spec = register_spec(namespace, address)
    kind = spec.kind if spec else Kind.RAW
    if kind is Kind.MODE and raw.upper() in Mode.__members__:
        return int(Mode[raw.upper()])
    upper = raw.upper()
    for suffix, kinds in _UNITS.items():
        if upper.endswith(suffix) and not upper.endswith("0X" + suffix):
            if kind not in kinds:
                name = spec.name if spec else f"0x{address:02X}"
                raise UsageError(f"register {name} does not take a value in {suffix}")
            try:
                number = float(raw[: -len(suffix)])
            except ValueError:
                raise UsageError(f"{text!r} is not a number followed by {suffix}") from None
            return _encode(kind, number, temp_r, temp_b)
    try:
        return convert.word(int(raw, 0))
    except ValueError:
        raise UsageError(
            f"{text!r} is not an integer (−32768…65535) or a value with a unit"
        ) from None


@dataclass(frozen=True, slots=True)
class _Physical:
    """A register kind's conversion both ways, and the unit it is shown in."""

    to_raw: Callable[[float], int]
    from_raw: Callable[[int], float]
    unit: str


#: Every kind with a physical unit but temperature (which needs the cell's calibration).
_PHYSICAL: Final[dict[Kind, _Physical]] = {
    Kind.VOLTAGE: _Physical(convert.voltage_to_raw, convert.voltage_from_raw, "V"),
    Kind.VCC: _Physical(convert.vcc_to_raw, convert.vcc_from_raw, "V"),
    Kind.CURRENT: _Physical(convert.current_to_raw, convert.current_from_raw, "A"),
    Kind.SETPOINT: _Physical(convert.setpoint_to_raw, convert.setpoint_from_raw, "A"),
    Kind.OFFSET: _Physical(convert.offset_to_raw, convert.offset_from_raw, "A"),
    Kind.MAGDIV: _Physical(convert.magnitude_to_raw, convert.magnitude_from_raw, "A p-p"),
    Kind.FREQUENCY: _Physical(convert.frequency_to_raw, convert.frequency_from_raw, "Hz"),
}


def _encode(kind: Kind, value: float, temp_r: int, temp_b: int) -> int:
    if kind in _PHYSICAL:
        return _PHYSICAL[kind].to_raw(value)
    return convert.temperature_to_raw(value, temp_r, temp_b)


def describe_value(
    namespace: int, address: int, raw: int, temp_r: int = 1500, temp_b: int = 3380
) -> str:
    """The register word in physical terms (empty when it has none)."""
    spec = register_spec(namespace, address)
    if spec is None:
        return ""
    kind = spec.kind
    try:
        return _describe(kind, raw, temp_r, temp_b)
    except ProtocolError as exc:
        return f"({exc.reason})"


def _describe(kind: Kind, raw: int, temp_r: int, temp_b: int) -> str:
    if kind is Kind.MODE:
        return Mode(raw).name if raw in Mode._value2member_map_ else f"unknown mode {raw}"
    if kind is Kind.ERROR:
        return _flags(ErrorFlag, raw)
    if kind is Kind.STATUS:
        return _flags(StatusFlag, raw)
    if kind is Kind.SETTINGS:
        return _flags(SettingsFlag, raw)
    if kind is Kind.SIGNED:
        return str(convert.int16(raw))
    if kind in _PHYSICAL:
        physical = _PHYSICAL[kind]
        return f"{physical.from_raw(raw):.4f} {physical.unit}"
    if kind is Kind.INTERVAL:
        return f"{raw / 10:g} s" if raw else "off"
    if kind is Kind.TEMPERATURE:
        return f"{convert.temperature_from_raw(raw, temp_r, temp_b):.2f} °C"
    return ""


def _flags(flags: type[enum.IntFlag], raw: int) -> str:
    names = [f.name or "?" for f in flags if f & raw]
    unknown = raw & ~sum(int(f) for f in flags)
    if unknown:
        names.append(f"0x{unknown:04X}")
    return "|".join(names) if names else "-"
