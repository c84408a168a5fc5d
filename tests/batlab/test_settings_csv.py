"""Settings JSON (§7.5) and the official CSV layout (§7.8)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from fieldlink.batlab.csvlog import (
    HEADER,
    OfficialCsvLog,
    PeriodicRow,
    SummaryRow,
    format_periodic,
    format_settings_preamble,
    format_summary,
)
from fieldlink.batlab.settings import SETTING_KEYS, TestSettings, load_settings
from fieldlink.batlab.workflow import PhaseSummary, State
from fieldlink.errors import ConfigError

OFFICIAL_DEFAULTS = {
    "acceptableImpedanceThreshold": 1.0,
    "batlabCellPlaylistFileVersion": "0.0.1",
    "cellPlaylistName": "DefaultPlaylist",
    "chargeCurrentSafetyCutoff": 4.096,
    "chargeRate": 2.0,
    "prechargeRate": 2.0,
    "chargeTemperatureCutoff": 50,
    "dischargeCurrentSafetyCutoff": 4.096,
    "dischargeRate": 2.0,
    "dischargeTemperatureCutoff": 80,
    "highVoltageCutoff": 4.2,
    "impedanceReportingPeriod": 60,
    "lowVoltageCutoff": 2.5,
    "numMeasurementCycles": 1,
    "numWarmupCycles": 0,
    "reportingPeriod": 1,
    "restPeriod": 60,
    "sineWaveFrequency": 39.0625,
    "sineWaveMagnitude": 2.0,
    "storageDischarge": 0,
    "storageDischargeVoltage": 3.8,
    "trickleEnable": 0,
    "pulseEnable": 0,
    "constantVoltageEnable": False,
    "constantVoltageDischargeEnable": False,
    "trickleDischrgEngageVoltage": 4.1,
    "trickleChrgEngageVoltage": 2.8,
    "trickleChrgRate": 0.5,
    "trickleDischrgRate": 0.5,
    "pulseDischrgOffTime": 10,
    "pulseDischrgOnTime": 60,
    "pulseChrgOnTime": 60,
    "pulseChrgOffTime": 10,
    "pulseDischrgOffRate": 0,
    "individualCellLogs": 0,
    "constantVoltageStepsize": 8,
    "constantVoltageSensitivity": 1,
}


def test_defaults_are_the_official_ones() -> None:
    assert TestSettings().to_json() == OFFICIAL_DEFAULTS
    assert {k.key for k in SETTING_KEYS} == set(OFFICIAL_DEFAULTS)


def test_official_library_agrees_on_defaults() -> None:
    from batlab.settings.Settings import Settings  # the official loader (test-time only)

    official = Settings()
    ours = TestSettings()
    assert official.high_volt_cutoff == ours.high_voltage_cutoff
    assert official.low_volt_cutoff == ours.low_voltage_cutoff
    assert official.rest_time == ours.rest_period
    assert official.sinewave_freq == ours.sine_frequency
    assert official.logfile == ours.log_name


def test_load_file_keeps_unknown_keys_and_reads_values(tmp_path: Path) -> None:
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"cellPlaylistName": "Lab", "chargeRate": 1.5, "cellNames": ["a"]}))
    s = load_settings(p)
    assert s.playlist_name == "Lab" and s.charge_rate == 1.5
    assert s.log_name == "batlab-log_Lab.csv"
    assert s.source["cellNames"] == ["a"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("chargeRate", 4.5),
        ("chargeCurrentSafetyCutoff", 4.1),
        ("highVoltageCutoff", 4.4),
        ("lowVoltageCutoff", 2.0),
        ("sineWaveFrequency", 2000),
        ("chargeTemperatureCutoff", 90),
        ("storageDischargeVoltage", 2.0),
    ],
)
def test_out_of_range_refused_or_defaulted(key: str, value: float) -> None:
    with pytest.raises(ConfigError, match=key):
        TestSettings.from_mapping({key: value})
    lenient = TestSettings.from_mapping({key: value}, lenient=True)
    assert lenient.to_json()[key] == OFFICIAL_DEFAULTS[key]
    forced = TestSettings.from_mapping({key: value}, ignore_safety=True)
    assert forced.to_json()[key] == value


def test_bad_types_and_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="chargeRate"):
        TestSettings.from_mapping({"chargeRate": "fast"})
    with pytest.raises(ConfigError, match="numWarmupCycles"):
        TestSettings.from_mapping({"numWarmupCycles": 1.5})
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ConfigError, match=r"bad\.json"):
        load_settings(bad)
    with pytest.raises(ConfigError, match="cannot read settings"):
        load_settings(tmp_path / "missing.json")
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"cellName": "caf\xe9"}')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(latin)
    with pytest.raises(ConfigError):
        TestSettings().replace(charge_rate=9.0)


WHEN = dt.datetime(2026, 12, 3, 14, 5, 6, 789012)


def test_periodic_line_layout() -> None:
    row = PeriodicRow(
        "cellA",
        "262222",
        1,
        WHEN,
        3.7,
        2.0,
        25.5,
        None,
        100.0,
        27.0,
        "DISCHARGE",
        5.0,
        256,
        256,
        255,
    )
    line = format_periodic(row)
    assert line == (
        "cellA,262222,1,2026-12-03 14:05:06.789012,3.7000,2.0000,25.5000,,100.0000,27.0000,"
        "DISCHARGE,,,,,,,,,5.0000,256,256,255"
    )
    assert len(line.split(",")) == 23
    with_z = format_periodic(
        PeriodicRow("c", "1", 0, WHEN, 1, 1, 1, 0.0812, 1, 1, "CHARGE", 5, 1, 1, 1)
    )
    assert with_z.split(",")[7] == "0.0812"


def test_summary_line_layout() -> None:
    phase = PhaseSummary(
        State.DISCHARGE, 2, 100.0, 1000.5, WHEN, 1800.0, 6660.0, 0.08, 3.2, 2.0, 3.7, 24.0, 27.2
    )
    row = SummaryRow("cellA", "262222", 1, phase)
    line = format_summary(row)
    fields = line.split(",")
    assert len(fields) == 20 and fields[-1] == ""
    assert fields[:4] == ["cellA", "262222", "1", "2026-12-03 14:05:06.789012"]
    assert fields[4:11] == [""] * 7
    assert fields[11:19] == [
        "DISCHARGE",
        "1800.0000",
        "6660.0000",
        "0.0800",
        "3.2000",
        "2.0000",
        "3.7000",
        "900.5",
    ]


def test_header_has_twenty_columns_exactly() -> None:
    cols = HEADER.split(",")
    assert len(cols) == 20
    assert cols[3] == "Timestamp (s)" and cols[-1] == "VCC (V)" and cols[17] == "Avg Voltage"


def test_settings_preamble_quotes_and_keeps_newlines() -> None:
    text = '{\n  "cellPlaylistName": "x"\n}'
    assert format_settings_preamble(text) == '"{\n  ""cellPlaylistName"": ""x""\n}"' + "," * 19


def test_log_files(tmp_path: Path) -> None:
    s = TestSettings(playlist_name="P", individual_cell_logs=True)
    log = OfficialCsvLog(s, tmp_path)
    log.start_playlist("{}")
    log.start_cell("A")
    log.periodic(PeriodicRow("A", "1", 0, WHEN, 1, 1, 1, None, 1, 1, "CHARGE", 5, 1, 1, 1))
    charged = PhaseSummary(State.CHARGE, 0, 0.0, 1.0, WHEN, 1, 1, 1, 1, 1, 1, 1, 1)
    log.summary(SummaryRow("A", "1", 0, charged))
    main = (tmp_path / "batlab-log_P.csv").read_text().splitlines()
    assert main[1] == HEADER and main[2].split(",")[11] == "CHARGE"
    per_cell = (tmp_path / "batlab-log_P_A.csv").read_text().splitlines()
    assert per_cell[0] == HEADER and per_cell[1].startswith("A,1,0,")
