"""Response, outcome and failure codes and their documented meanings (pakbus.md)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum

import pytest

from fieldlink.pakbus.protocol import codes as c


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (0x00, "complete"),
        (0x01, "permission denied"),
        (0x02, "insufficient resources"),
        (0x07, "invalid table definition"),
        (0x09, "fragment"),
        (0x0D, "invalid file name"),
        (0x0E, "not currently accessible"),
        (0x0F, "option not applicable"),
        (0x10, "invalid table or field name"),
        (0x11, "conversion not supported"),
        (0x12, "memory bounds"),
        (0x13, "unsupported file command"),
        (0x14, "root directory full"),
        (0x15, "reboot"),
        (0x16, "cannot delete"),
        (0x17, "cannot format"),
        (0x18, "incompatible format"),
    ],
)
def test_bmp5_meanings_follow_section_5(code: int, words: str) -> None:
    assert words in c.bmp5_meaning(code)


def test_unknown_codes_say_so_in_hex() -> None:
    assert c.bmp5_meaning(0x42) == "unknown code 0x42"
    assert c.delivery_failure_meaning(0x42) == "unknown code 0x42"
    assert c.bmp5_meaning(3) == "unknown code 0x03"
    assert c.device_type_name(200) == "unknown code 0xC8"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (0, "unknown reason"),
        (1, "unreachable destination"),
        (2, "higher-level protocol"),
        (3, "queue overflow"),
        (4, "unimplemented"),
        (5, "malformed"),
        (6, "link failed"),
        (7, "64 bytes"),
        (8, "90 bytes"),
        (9, "128 bytes"),
        (10, "256 bytes"),
        (11, "512 bytes"),
        (12, "encryption key"),
        (13, "encryption required"),
    ],
)
def test_delivery_failure_meanings_follow_section_4_1(code: int, words: str) -> None:
    assert words in c.delivery_failure_meaning(code)


@pytest.mark.parametrize(
    ("enum", "table"),
    [
        (c.Bmp5ResponseCode, c.BMP5_MEANINGS),
        (c.DeliveryFailureCode, c.DELIVERY_FAILURE_MEANINGS),
        (c.StringSettingsCode, c.STRING_SETTINGS_MEANINGS),
        (c.DevConfigGetOutcome, c.DEVCONFIG_GET_MEANINGS),
        (c.DevConfigSetOutcome, c.DEVCONFIG_SET_MEANINGS),
        (c.SettingOutcome, c.SETTING_OUTCOME_MEANINGS),
        (c.DevConfigGetFragmentOutcome, c.DEVCONFIG_GET_FRAGMENT_MEANINGS),
        (c.DevConfigSetFragmentOutcome, c.DEVCONFIG_SET_FRAGMENT_MEANINGS),
        (c.DevConfigAction, c.DEVCONFIG_ACTION_MEANINGS),
        (c.DevConfigControlOutcome, c.DEVCONFIG_CONTROL_MEANINGS),
        (c.DeviceType, c.DEVICE_TYPE_NAMES),
        (c.FileCommand, c.FILE_COMMAND_MEANINGS),
        (c.CollectMode, c.COLLECT_MODE_MEANINGS),
        (c.CompileState, c.COMPILE_STATE_MEANINGS),
        (c.HopMetric, c.HOP_METRIC_LIMIT_MS),
    ],
)
def test_every_named_code_has_a_meaning_and_no_more(
    enum: type[IntEnum], table: Mapping[int, object]
) -> None:
    assert {int(m) for m in enum} == set(table)


def test_documented_values() -> None:
    # Spot checks against pakbus.md, so a shifted enum cannot pass.
    assert c.DeviceType.CR1000.value == 12  # OBSERVED 0x000C (vectors V12)
    assert [c.DeviceType[n].value for n in ("CR3000", "CR800", "CR6")] == [15, 18, 55]
    assert [c.DeviceType[n].value for n in ("CR300", "CR1000X")] == [69, 78]
    assert c.device_type_name(12) == "CR1000"
    assert c.Bmp5ResponseCode.INVALID_TABLE_DEFINITION.value == 7
    assert c.Bmp5ResponseCode.REBOOT_NEEDED.value == 0x15
    assert c.DeliveryFailureCode.UNSUPPORTED_MESSAGE_TYPE.value == 4
    assert c.FileCommand.STOP_DELETE_RUN_LEAVE_POWER_UP.value == 14
    assert c.FileCommand.LOAD_OS_KEEP_SETTINGS.value == 22
    assert [int(m) for m in c.CollectMode] == [3, 4, 5, 6, 7, 8]
    assert c.CollectMode.TIME_RANGE.value == 7
    assert c.CompileState.COMPILE_ERROR.value == 2
    assert c.DevConfigControlOutcome.WIFI_SCAN_STARTED.value == 10
    assert c.SettingOutcome.READ_ONLY.value == 4
    assert c.DevConfigSetFragmentOutcome.NOT_SUPPORTED.value == 7
    assert c.AccessLevel.READ_ONLY.value == 3


@pytest.mark.parametrize(
    ("metric", "ms"),
    [(0, 200), (1, 1_000), (2, 5_000), (3, 10_000), (4, 20_000), (5, 60_000), (6, 300_000)],
)
def test_hop_metric_limits(metric: int, ms: int) -> None:
    assert c.hop_metric_ms(metric) == ms


def test_out_of_range_hop_metric_counts_as_slowest() -> None:
    assert c.hop_metric_ms(7) == 1_800_000
    assert c.hop_metric_ms(9) == 1_800_000


def test_meaning_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        c.BMP5_MEANINGS[0x42] = "x"  # type: ignore[index]


def test_describe_code_uses_any_table() -> None:
    assert c.describe_code(c.COMPILE_STATE_MEANINGS, 2) == "compile error"
    assert c.describe_code(c.SETTING_OUTCOME_MEANINGS, 9) == "unknown code 0x09"


def test_a_code_carries_its_meaning_and_stays_a_plain_number() -> None:
    code = c.Bmp5ResponseCode.REBOOT_NEEDED
    assert code.meaning == c.bmp5_meaning(0x15) == "success, but the change needs a reboot"
    assert code == 0x15 and c.Bmp5ResponseCode(0x15) is code and int(code) == 0x15
    assert c.FileCommand(14).meaning == c.FILE_COMMAND_MEANINGS[14]


def test_device_type_names_spell_campbells_hyphens() -> None:
    assert c.device_type_name(4) == "CR10X-PB"
    assert c.device_type_name(19) == "CR5000-PB"
    assert c.device_type_name(78) == "CR1000X"
