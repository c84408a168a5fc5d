"""Batlab register words <-> physical values (batlab.md §5.1, §5.4).

Every quantity has a pair of typed functions: ``*_from_raw`` decodes a 16-bit
register word (as the device sent it, 0..65535) and ``*_to_raw`` encodes a
physical value into the word to send.  Encoders truncate toward zero exactly as
the official library does, so both produce the same bytes (instrument-vectors.md
§1.5), and they *validate first*: a value that does not fit the register raises
:class:`~fieldlink.errors.UsageError` naming the accepted range, instead of being
wrapped into a different value the way the official library corrupts negatives
(batlab.md §7.2).  Signed registers are two's complement (:func:`word`).
"""

from __future__ import annotations

import math
from typing import Final

from fieldlink.batlab.registers import ErrorFlag, Mode, SettingsFlag, StatusFlag
from fieldlink.errors import ProtocolError, UsageError

__all__ = [
    "CHARGE_HIRES",
    "CHARGE_NORMAL",
    "SETPOINT_MAX",
    "charge_from_raw",
    "charge_to_raw",
    "current_from_raw",
    "current_to_raw",
    "error_from_raw",
    "frequency_from_raw",
    "frequency_to_raw",
    "int16",
    "magnitude_from_raw",
    "magnitude_to_raw",
    "mode_from_raw",
    "mode_to_raw",
    "offset_from_raw",
    "offset_to_raw",
    "setpoint_from_raw",
    "setpoint_to_raw",
    "settings_from_raw",
    "settings_to_raw",
    "status_from_raw",
    "temperature_from_raw",
    "temperature_to_raw",
    "vcc_from_raw",
    "vcc_to_raw",
    "voltage_from_raw",
    "voltage_to_raw",
    "word",
]

_VOLT_SCALE: Final = 4.5 / 32768
_AMP_FULL: Final = 4.096
#: Firmware cap on CURRENT_SETPOINT / DUTY (640 = 5.0 A at 128 per amp).
SETPOINT_MAX: Final = 640
#: Charge multiplier m: latch period in units of 0.1024 s (normal round / hi-res).
CHARGE_NORMAL: Final = 6
CHARGE_HIRES: Final = 1
_KELVIN: Final = 273.15
_T25: Final = 298.15
_R25: Final = 10000.0
_THERM_FULL: Final = 32768


def word(value: int) -> int:
    """A register value as the 16-bit word on the wire: two's complement for negatives.

    Accepts −32768…65535 (signed or unsigned readings of the same word).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"register value must be an integer, not {value!r}")
    if not -32768 <= value <= 0xFFFF:
        raise UsageError(f"register value {value} out of range -32768..65535")
    return value & 0xFFFF


def int16(raw: int) -> int:
    """A 16-bit word read as a signed number."""
    raw &= 0xFFFF
    return raw - 0x10000 if raw & 0x8000 else raw


def _check(value: float, low: float, high: float, what: str, unit: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        raise UsageError(f"{what} must be a number, not {value!r}")
    if not low <= value <= high:
        raise UsageError(f"{what} {value:g} {unit} out of range {low:g}..{high:g} {unit}")
    return float(value)


# --- voltage ------------------------------------------------------------------------------------


def voltage_from_raw(raw: int) -> float:
    """VOLTAGE, VOLTAGE_LIMIT_*, VOLTAGE_PP: signed word × 4.5 / 32768 volts."""
    return int16(raw) * _VOLT_SCALE


def voltage_to_raw(volts: float) -> int:
    """Volts -> word (truncated); −4.5 … +4.4998 V fit a signed word."""
    v = _check(volts, -4.5, 32767 * _VOLT_SCALE, "voltage", "V")
    return word(int(v / _VOLT_SCALE))


# --- current ------------------------------------------------------------------------------------


def current_from_raw(raw: int) -> float:
    """CURRENT, CURRENT_LIMIT_*, CURRENT_PP: signed word × 4.096 / 32768 amps."""
    return int16(raw) * _AMP_FULL / 32768


def current_to_raw(amps: float) -> int:
    """Amps -> word as the official encoder does (× 32767 / 4.096, truncated).

    Limited to 0…4.096 A: the firmware compares current limits *signed*, so 4.1 A
    would wrap to a negative word and trip at once (batlab.md §5.1).
    """
    a = _check(amps, 0.0, _AMP_FULL, "current", "A")
    return word(int(a * 32767 / _AMP_FULL))


# --- supply voltage -----------------------------------------------------------------------------


def vcc_from_raw(raw: int) -> float:
    """UNIT.VCC: volts = 32768 × 4.096 / raw (an inverse scale).  0 (not yet measured) -> 0.0."""
    raw &= 0xFFFF
    return 0.0 if raw == 0 else 32768 * _AMP_FULL / raw


def vcc_to_raw(volts: float) -> int:
    """Supply volts -> word; 2.05…100 V keeps the word within 16 bits."""
    v = _check(volts, 32768 * _AMP_FULL / 0xFFFF, 100.0, "supply voltage", "V")
    return word(int(32768 * _AMP_FULL / v))


# --- setpoint, sine offset ----------------------------------------------------------------------


def setpoint_from_raw(raw: int) -> float:
    """CURRENT_SETPOINT: raw / 128 amps."""
    return (raw & 0xFFFF) / 128


def setpoint_to_raw(amps: float) -> int:
    """Amps -> CURRENT_SETPOINT; 0…5.0 A (the firmware caps duty at 640)."""
    a = _check(amps, 0.0, SETPOINT_MAX / 128, "current setpoint", "A")
    return int(a * 128)


def offset_from_raw(raw: int) -> float:
    """UNIT.SINE_OFFSET: raw / 128 amps (the sine's duty offset)."""
    return (raw & 0xFFFF) / 128


def offset_to_raw(amps: float) -> int:
    """Amps -> SINE_OFFSET; 0…5.0 A."""
    a = _check(amps, 0.0, SETPOINT_MAX / 128, "sine offset", "A")
    return int(a * 128)


# --- sine frequency and magnitude ---------------------------------------------------------------


def frequency_from_raw(raw: int) -> float:
    """UNIT.SINE_FREQ: raw × 10000 / 256 Hz (39.0625 Hz per step)."""
    return (raw & 0xFFFF) * 10000 / 256


def frequency_to_raw(hz: float) -> int:
    """Hz -> SINE_FREQ; 0…9960.9375 Hz (the phase step is 8 bits)."""
    f = _check(hz, 0.0, 255 * 10000 / 256, "sine frequency", "Hz")
    return int(f * 256 / 10000)


def magnitude_from_raw(raw: int) -> float:
    """UNIT.SINE_MAGDIV: peak-to-peak amps = 2 / 2^raw (the sine is shifted right raw bits)."""
    shift = raw & 0xFFFF
    return 0.0 if shift >= 16 else 2.0 / (1 << shift)


def magnitude_to_raw(amps_pp: float) -> int:
    """Peak-to-peak amps -> SINE_MAGDIV = int(1 − log2(App)); 0.0078125…2 A (shift 0…8)."""
    a = _check(amps_pp, 2.0 / 256, 2.0, "sine magnitude", "A p-p")
    return int(1 - math.log2(a))


# --- temperature --------------------------------------------------------------------------------


def temperature_from_raw(raw: int, r_div: int, b: int) -> float:
    """TEMPERATURE (thermistor ADC) -> °C with the cell's TEMP_CALIB_R and TEMP_CALIB_B.

    R_t = R_div / (32768/raw − 1); 1/T = 1/298.15 + ln(R_t/10000)/B.  A reading the
    thermistor cannot give (0, ≥ 32768: open or shorted) or a blank calibration
    (R or B zero) is not a temperature: ProtocolError.
    """
    raw &= 0xFFFF
    if not 0 < raw < _THERM_FULL or r_div <= 0 or b <= 0:
        raise ProtocolError(
            f"thermistor reading {raw} with R={r_div}, B={b} is not a temperature",
            message_type="Batlab TEMPERATURE",
        )
    r_t = r_div / (_THERM_FULL / raw - 1)
    inverse = 1 / _T25 + math.log(r_t / _R25) / b
    if inverse <= 0:
        raise ProtocolError(
            f"thermistor reading {raw} is out of range", message_type="Batlab TEMPERATURE"
        )
    return 1 / inverse - _KELVIN


def temperature_to_raw(celsius: float, r_div: int, b: int) -> int:
    """°C -> thermistor word (for TEMP_LIMIT_*), truncated like the official encoder.

    Accepts −60…150 °C and a positive R and B; 45 °C with R=1500, B=3380 -> 25092.
    """
    c = _check(celsius, -60.0, 150.0, "temperature", "°C")
    if r_div <= 0 or b <= 0:
        raise UsageError(f"temperature calibration R={r_div}, B={b} must be positive")
    r_t = _R25 * math.exp(b * (1 / (c + _KELVIN) - 1 / _T25))
    return int(_THERM_FULL / (r_div / r_t + 1))


# --- charge -------------------------------------------------------------------------------------


def charge_from_raw(low: int, high: int, *, hires: bool = False) -> float:
    """CHARGEH:CHARGEL -> coulombs: m × q / 32768 × 4.096 / 9.765625 (m = 6, or 1 in hi-res)."""
    q = ((high & 0xFFFF) << 16) | (low & 0xFFFF)
    m = CHARGE_HIRES if hires else CHARGE_NORMAL
    return m * q / 32768 * _AMP_FULL / 9.765625


def charge_to_raw(coulombs: float, *, hires: bool = False) -> tuple[int, int]:
    """Coulombs -> (CHARGEL, CHARGEH) words.

    The official encoder applies ``&``/``>>`` to a float and raises TypeError on
    Python 3 (batlab.md §5.1), so there are no official bytes to match; the count is
    *rounded* to an integer (truncation would turn 76.8 C into 999 999 by float error).
    """
    m = CHARGE_HIRES if hires else CHARGE_NORMAL
    top = charge_from_raw(0xFFFF, 0xFFFF, hires=hires)
    c = _check(coulombs, 0.0, top, "charge", "C")
    q = min(round(c / m * 32768 * 9.765625 / _AMP_FULL), 0xFFFFFFFF)
    return q & 0xFFFF, q >> 16


# --- codes and bit fields -----------------------------------------------------------------------


def mode_from_raw(raw: int) -> Mode:
    """MODE word -> :class:`Mode`; a value the firmware never uses is a ProtocolError."""
    try:
        return Mode(raw & 0xFFFF)
    except ValueError:
        raise ProtocolError(f"unknown cell mode {raw}", message_type="Batlab MODE") from None


def mode_to_raw(mode: Mode | str | int) -> int:
    """A mode (member, name or number) -> MODE word; UsageError for anything else."""
    if isinstance(mode, str):
        try:
            return int(Mode[mode.strip().upper()])
        except KeyError:
            names = ", ".join(m.name for m in Mode)
            raise UsageError(f"mode {mode!r} is not one of {names}") from None
    try:
        return int(Mode(mode))
    except ValueError:
        raise UsageError(f"mode {mode} out of range 0..{max(Mode)}") from None


def error_from_raw(raw: int) -> ErrorFlag:
    """ERROR word -> flags (bits the firmware does not define are kept as they are)."""
    return ErrorFlag(raw & 0xFFFF)


def status_from_raw(raw: int) -> StatusFlag:
    """STATUS word -> flags."""
    return StatusFlag(raw & 0xFFFF)


def settings_from_raw(raw: int) -> SettingsFlag:
    """UNIT.SETTINGS word -> flags."""
    return SettingsFlag(raw & 0xFFFF)


def settings_to_raw(flags: SettingsFlag | int) -> int:
    """Flags -> SETTINGS word (0…65535)."""
    value = int(flags)
    if not 0 <= value <= 0xFFFF:
        raise UsageError(f"settings value {value} out of range 0..65535")
    return value
