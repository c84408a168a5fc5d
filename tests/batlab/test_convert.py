"""Conversions: instrument-vectors.md §1.5 exactly, round trips, ranges, signed words."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlink.batlab import convert as cv
from fieldlink.errors import FieldlinkError, ProtocolError, UsageError


@pytest.mark.parametrize(
    ("func", "value", "raw"),
    [
        (cv.voltage_to_raw, 4.2, 30583),
        (cv.voltage_to_raw, 2.5, 18204),
        (cv.voltage_to_raw, 2.8, 20388),
        (cv.current_to_raw, 4.096, 32767),
        (cv.current_to_raw, 0.05, 399),
        (cv.setpoint_to_raw, 2.0, 256),
        (cv.setpoint_to_raw, 0.5, 64),
        (cv.setpoint_to_raw, 4.49, 574),
        (cv.setpoint_to_raw, 2.5, 320),
        (cv.frequency_to_raw, 39.0625, 1),
        (cv.frequency_to_raw, 1054.6875, 27),
        (cv.magnitude_to_raw, 2.0, 0),
        (cv.magnitude_to_raw, 0.5, 2),
        (cv.offset_to_raw, 0.125, 16),
        (cv.vcc_to_raw, 5.0, 26843),
        (cv.vcc_to_raw, 4.25, 31580),
    ],
)
def test_encode_vectors(func: object, value: float, raw: int) -> None:
    assert func(value) == raw  # type: ignore[operator]


def test_decode_vectors() -> None:
    assert cv.voltage_from_raw(30584) == pytest.approx(4.20007, abs=1e-5)
    assert cv.voltage_from_raw(0xFFF0) == pytest.approx(-0.00220, abs=1e-5)
    assert cv.voltage_from_raw(26942) == pytest.approx(3.6999, abs=1e-4)
    assert cv.current_from_raw(32000) == pytest.approx(4.0)
    assert cv.vcc_from_raw(31581) == pytest.approx(4.24995, abs=1e-5)
    assert cv.vcc_from_raw(31000) == pytest.approx(4.3296, abs=1e-4)
    assert cv.vcc_from_raw(0) == 0.0
    assert cv.charge_from_raw(1_000_000 & 0xFFFF, 1_000_000 >> 16) == pytest.approx(76.8)
    assert cv.setpoint_from_raw(256) == 2.0
    assert cv.frequency_from_raw(1) == 39.0625
    assert cv.magnitude_from_raw(2) == 0.5
    assert cv.offset_from_raw(16) == 0.125


@pytest.mark.parametrize(
    ("celsius", "r", "raw"),
    [(45, 1500, 25092), (65, 1500, 20825), (25, 1500, 28493), (25, 10000, 16384)],
)
def test_temperature_vectors(celsius: float, r: int, raw: int) -> None:
    assert cv.temperature_to_raw(celsius, r, 3380) == raw
    assert cv.temperature_from_raw(raw, r, 3380) == pytest.approx(celsius, abs=0.01)


def test_current_limit_over_4096_refused_instead_of_wrapping() -> None:
    """4.1 A would be 32798 -> 0x801E, a negative limit that trips at once (§5.1)."""
    with pytest.raises(UsageError, match=r"0\.\.4\.096 A"):
        cv.current_to_raw(4.1)


@pytest.mark.parametrize(
    ("func", "value", "range_text"),
    [
        (cv.setpoint_to_raw, -0.1, "0..5 A"),
        (cv.setpoint_to_raw, 5.1, "0..5 A"),
        (cv.voltage_to_raw, 4.6, "V"),
        (cv.frequency_to_raw, 1e5, "Hz"),
        (cv.magnitude_to_raw, 3.0, "A p-p"),
        (cv.magnitude_to_raw, 0.0, "A p-p"),
        (cv.offset_to_raw, 6, "A"),
        (cv.charge_to_raw, -1.0, "C"),
        (cv.vcc_to_raw, 1.0, "V"),
        (cv.setpoint_to_raw, math.nan, "number"),
    ],
)
def test_out_of_range_names_the_range(func: object, value: float, range_text: str) -> None:
    with pytest.raises(UsageError, match=range_text):
        func(value)  # type: ignore[operator]


def test_temperature_bad_inputs() -> None:
    with pytest.raises(UsageError):
        cv.temperature_to_raw(200, 1500, 3380)
    with pytest.raises(UsageError):
        cv.temperature_to_raw(25, 0, 3380)
    for raw in (0, 32768, 0xFFFF):
        with pytest.raises(ProtocolError):
            cv.temperature_from_raw(raw, 1500, 3380)
    with pytest.raises(ProtocolError):
        cv.temperature_from_raw(16384, 1500, 0)


def test_word_and_int16() -> None:
    assert cv.word(-37) == 65499
    assert cv.word(-1) == 0xFFFF
    assert cv.int16(65499) == -37
    assert cv.int16(0x7FFF) == 32767
    with pytest.raises(UsageError):
        cv.word(True)
    with pytest.raises(UsageError):
        cv.word(1.5)  # type: ignore[arg-type]


def test_charge_encoder_works_where_the_official_one_raises() -> None:
    low, high = cv.charge_to_raw(76.8)
    assert (high << 16 | low) == 1_000_000
    lo1, hi1 = cv.charge_to_raw(1.0, hires=True)
    assert cv.charge_from_raw(lo1, hi1, hires=True) == pytest.approx(1.0, abs=1e-4)


@settings(max_examples=200, deadline=None)
@given(st.integers(-32768, 32767))
def test_voltage_round_trip(raw: int) -> None:
    assert cv.int16(cv.voltage_to_raw(cv.voltage_from_raw(raw & 0xFFFF))) in (raw, raw - 1, raw + 1)


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 4.096))
def test_current_round_trip(amps: float) -> None:
    assert cv.current_from_raw(cv.current_to_raw(amps)) == pytest.approx(
        amps, abs=2 * 4.096 / 32768
    )


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 640))
def test_setpoint_and_offset_round_trip(raw: int) -> None:
    assert cv.setpoint_to_raw(cv.setpoint_from_raw(raw)) == raw
    assert cv.offset_to_raw(cv.offset_from_raw(raw)) == raw


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 255))
def test_frequency_round_trip(raw: int) -> None:
    assert cv.frequency_to_raw(cv.frequency_from_raw(raw)) == raw


@pytest.mark.parametrize("raw", range(0, 8))
def test_magnitude_round_trip(raw: int) -> None:
    assert cv.magnitude_to_raw(cv.magnitude_from_raw(raw)) == raw


@settings(max_examples=200, deadline=None)
@given(st.integers(0x2000, 0xFFFF))
def test_vcc_round_trip(raw: int) -> None:
    assert abs(cv.vcc_to_raw(cv.vcc_from_raw(raw)) - raw) <= 1


@settings(max_examples=200, deadline=None)
@given(st.floats(-40, 120), st.integers(1000, 20000), st.integers(2000, 5000))
def test_temperature_round_trip(celsius: float, r: int, b: int) -> None:
    try:
        raw = cv.temperature_to_raw(celsius, r, b)
        back = cv.temperature_from_raw(raw, r, b)
    except FieldlinkError:
        return  # extreme combinations fall outside the 15-bit ADC
    assert back == pytest.approx(celsius, abs=1.0)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 0xFFFFFFFF))
def test_charge_round_trip(q: int) -> None:
    c = cv.charge_from_raw(q & 0xFFFF, q >> 16)
    low, high = cv.charge_to_raw(c)
    assert abs((high << 16 | low) - q) <= 1


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_decoders_of_device_words_never_raise_foreign_errors(raw: int, r: int, b: int) -> None:
    for f in (
        cv.voltage_from_raw,
        cv.current_from_raw,
        cv.vcc_from_raw,
        cv.setpoint_from_raw,
        cv.frequency_from_raw,
        cv.magnitude_from_raw,
        cv.offset_from_raw,
    ):
        assert math.isfinite(f(raw))
    with contextlib.suppress(ProtocolError):
        assert math.isfinite(cv.temperature_from_raw(raw, r, b))


def test_codes_and_bit_fields() -> None:
    from fieldlink.batlab.registers import ErrorFlag, Mode, SettingsFlag, StatusFlag

    assert cv.mode_from_raw(3) is Mode.CHARGE
    with pytest.raises(ProtocolError):
        cv.mode_from_raw(9)
    assert cv.mode_to_raw("discharge") == 4 and cv.mode_to_raw(Mode.IMPEDANCE) == 5
    with pytest.raises(UsageError, match="STOPPED"):
        cv.mode_to_raw("sleep")
    with pytest.raises(UsageError):
        cv.mode_to_raw(7)
    e = cv.error_from_raw(0x0801)
    assert ErrorFlag.LOW_VCC in e and ErrorFlag.VOLTAGE_LIMIT_CHG in e and ErrorFlag.NO_PSU not in e
    s = cv.status_from_raw(0x0480)
    assert s == StatusFlag.NO_CELL | StatusFlag.NOT_CALIBRATED
    assert cv.settings_from_raw(0x8004) == SettingsFlag.DEBUG | SettingsFlag.WATCHDOG
    assert cv.settings_to_raw(SettingsFlag.WATCHDOG | SettingsFlag.CH2_HI_RES) == 0x0044
    with pytest.raises(UsageError):
        cv.settings_to_raw(0x10000)


@pytest.mark.parametrize(
    ("namespace", "register", "text", "value", "unit"),
    [
        (0, "VOLTAGE", "4.2V", 4.2, "V"),
        (0, "CURRENT", "1.5A", 1.5, "A"),
        (0, "CURRENT_SETPOINT", "1.5A", 1.5, "A"),
        (0, "TEMPERATURE", "45C", 45.0, "°C"),
        (0, "REPORT_INTERVAL", "5", 0.5, "s"),
        (4, "VCC", "5V", 5.0, "V"),
        (4, "SINE_FREQ", "78.125Hz", 78.125, "Hz"),
        (4, "SINE_OFFSET", "0.5A", 0.5, "A"),
        (4, "SINE_MAGDIV", "1A", 1.0, "A p-p"),
    ],
)
def test_a_value_with_a_unit_is_shown_back_in_that_unit(
    namespace: int, register: str, text: str, value: float, unit: str
) -> None:
    from fieldlink.batlab.names import describe_value, parse_register, parse_value

    address = parse_register(namespace, register)
    described = describe_value(namespace, address, parse_value(namespace, address, text))
    number, _, shown_unit = described.partition(" ")
    assert float(number) == pytest.approx(value, rel=0.05) and shown_unit == unit, described


def test_each_namespace_has_its_register_names_and_specs() -> None:
    from fieldlink.batlab import registers as r
    from fieldlink.batlab.names import parse_register, register_names

    assert [r.register_enum(n) for n in (0, 3, 4, 5, 0xFF)] == [
        r.CellRegister, r.CellRegister, r.UnitRegister, r.BootRegister, r.CommsRegister,
    ]  # fmt: skip
    assert register_names(5) == [m.name for m in r.BootRegister]
    assert parse_register(0xFF, "psu") == r.CommsRegister.PSU
    assert r.register_spec(2, r.CellRegister.MODE) is r.CELL_REGISTERS[r.CellRegister.MODE]
    assert r.register_spec(0xFF, r.CommsRegister.PSU) is r.COMMS_REGISTERS[r.CommsRegister.PSU]
    # The bootloader's registers are actions (no spec); unknown namespaces and addresses have none.
    assert r.register_spec(5, r.BootRegister.BL_DATA) is None
    assert r.register_spec(7, 0) is None and r.register_spec(0, 0x7F) is None
    with pytest.raises(UsageError, match="namespace 0x07"):
        r.register_enum(7)
