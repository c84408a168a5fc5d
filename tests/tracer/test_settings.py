"""Battery settings block: ranges and EPEVER rules A–E (tracer.md §B5.1)."""

from __future__ import annotations

import pytest

from fieldlink.errors import UsageError
from fieldlink.tracer.errors import SettingsError
from fieldlink.tracer.modbus.settings import BatterySettings, check, parse_value

#: TD's defaults (§B5.1), with battery type 0 (user) so the rules apply.
DEFAULTS = {
    0x9000: 0, 0x9001: 100, 0x9002: 300, 0x9003: 1600, 0x9004: 1500, 0x9005: 1500,
    0x9006: 1460, 0x9007: 1440, 0x9008: 1380, 0x9009: 1320, 0x900A: 1260, 0x900B: 1220,
    0x900C: 1200, 0x900D: 1110, 0x900E: 1060, 0x906B: 120, 0x906C: 120, 0x906D: 30,
    0x906E: 100, 0x9070: 0,
}  # fmt: skip


def block() -> BatterySettings:
    return BatterySettings.from_words(DEFAULTS)


def test_defaults_satisfy_every_rule() -> None:
    assert check(DEFAULTS) is None
    assert block().validate().boost_voltage == 14.40
    assert block().to_words() == DEFAULTS


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"charging_limit_voltage": 16.0}, "A"),  # HVD > CLV
        ({"equalization_voltage": 15.1}, "A"),  # CLV >= EQV
        ({"boost_voltage": 14.7}, "A"),  # EQV >= BV
        ({"float_voltage": 14.5}, "A"),  # BV >= FV
        ({"boost_reconnect_voltage": 13.8}, "A"),  # FV > BRV
        ({"over_voltage_reconnect": 16.0}, "B"),  # HVD > OVR
        ({"low_voltage_disconnect": 12.6}, "C"),  # LVR > LVD
        ({"discharging_limit_voltage": 11.2}, "C"),  # LVD >= DLV
        ({"under_voltage_warning": 12.2}, "D"),  # UVWR > UVW
        ({"low_voltage_reconnect": 13.2}, "E"),  # BRV > LVR
    ],
)
def test_each_rule_is_named(changes: dict[str, float], rule: str) -> None:
    with pytest.raises(SettingsError) as info:
        block().replace(**changes).validate()
    assert info.value.rule == rule
    assert f"rule {rule}" in str(info.value)
    assert isinstance(info.value, UsageError)


def test_rule_d_second_link() -> None:
    words = {**DEFAULTS, 0x900C: 1050, 0x900E: 1060, 0x900D: 1060, 0x900A: 1070}
    err = check(words)
    assert err is not None and err.rule == "D"


def test_equalities_allowed_where_the_rule_says_so() -> None:
    # CLV = EQV = BV and LVD = DLV are allowed (≥).
    words = {**DEFAULTS, 0x9006: 1500, 0x9007: 1500, 0x900E: 1110, 0x900C: 1110}
    assert check(words) is None


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("temperature_compensation", 9.01, "temperature_compensation"),
        ("equalize_duration", 121, "equalize_duration"),
        ("boost_duration", 9, "boost_duration"),
        ("discharging_percentage", 81, "discharging_percentage"),
        ("discharging_percentage", 19, "discharging_percentage"),
        ("charging_percentage", 19, "charging_percentage"),
        ("battery_management_mode", 2, "battery_management_mode"),
    ],
)
def test_ranges(name: str, value: float, rule: str) -> None:
    with pytest.raises(SettingsError) as info:
        block().replace(**{name: value}).validate()
    assert info.value.rule == rule


def test_rules_apply_to_the_user_type_only_ranges_always() -> None:
    sealed = {**DEFAULTS, 0x9000: 1, 0x9008: 1500}  # FV > BV: fine for sealed (rules off)
    assert check(sealed) is None
    assert check({**sealed, 0x906C: 5}) is not None


def test_unknown_names_and_bad_values() -> None:
    with pytest.raises(SettingsError, match="unknown battery setting"):
        block().replace(nonsense=1)
    with pytest.raises(SettingsError, match="does not fit"):
        block().replace(boost_voltage=-1).to_words()
    assert parse_value("boost_voltage", "14.2") == 14.2
    assert parse_value("boost_duration", "60") == 60
    with pytest.raises(SettingsError, match="number"):
        parse_value("boost_voltage", "high")
    with pytest.raises(SettingsError, match="whole"):
        parse_value("boost_duration", "60.5")
    with pytest.raises(SettingsError, match="unknown setting"):
        parse_value("warp_drive", "1")
