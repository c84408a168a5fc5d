"""``fieldlink tracer ...`` through a throwaway root group (the lead mounts the real one)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from tracer_support import frozen_model

from fieldlink.errors import UsageError
from fieldlink.kit.spawn import spawn_emulator
from fieldlink.tracer.cli import mount
from fieldlink.tracer.client import Tracer
from fieldlink.tracer.emulator.host import TracerEmulator
from fieldlink.tracer.emulator.model import TracerModel
from fieldlink.tracer.errors import SettingsError


@click.group()
def root() -> None:
    pass


@click.group()
def emulate() -> None:
    pass


mount(root, emulate)


def frozen() -> TracerModel:
    return frozen_model()


@pytest.fixture
def modbus() -> Iterator[str]:
    with TracerEmulator(model=frozen()).running() as emu:
        assert emu.url is not None
        yield emu.url


@pytest.fixture
def mt5() -> Iterator[str]:
    with TracerEmulator(model=frozen(), protocol="mt5").running() as emu:
        assert emu.url is not None
        yield emu.url


def run(*args: str) -> Result:
    return CliRunner().invoke(root, ["tracer", *args], catch_exceptions=True)


def table(result: Result) -> dict[str, str]:
    assert result.exit_code == 0, (result.output, result.exception)
    return {row["name"]: row["value"] for row in csv.DictReader(io.StringIO(result.stdout))}


def test_status(modbus: str) -> None:
    values = table(run("status", modbus, "--format", "csv"))
    assert float(values["battery_voltage"]) > 12
    assert values["charging_stage"] == "equalization"
    assert values["load_switch"] == "1"


def test_status_json(modbus: str) -> None:
    result = run("status", modbus, "--format", "json")
    rows = json.loads(result.output)
    assert {
        "name": "battery_soc",
        "value": rows[[r["name"] for r in rows].index("battery_soc")]["value"],
        "unit": "%",
    } in rows


def test_mt5_status_and_load(mt5: str) -> None:
    values = table(run("status", mt5, "--protocol", "mt5", "--format", "csv"))
    assert values["battery_full_voltage"] == "14.4" and values["charging"] == "1"
    result = run("load", mt5, "off", "--protocol", "mt5")
    assert result.exit_code == 0 and result.output.strip() == "load off"


def test_load(modbus: str) -> None:
    assert run("load", modbus, "off").output.strip() == "load off"
    assert run("load", modbus, "on").output.strip() == "load on"


def test_settings_show_and_set(modbus: str) -> None:
    values = table(run("settings", modbus, "--format", "csv"))
    assert values["boost_voltage"] == "14.4" and values["night_threshold_voltage"] == "5"
    changed = table(
        run(
            "settings",
            modbus,
            "set",
            "boost_voltage",
            "14.3",
            "boost_duration",
            "60",
            "day_detection_delay",
            "5",
            "--format",
            "csv",
        )
    )
    assert changed == {"boost_voltage": "14.3", "boost_duration": "60", "day_detection_delay": "5"}


def test_settings_rule_violation_is_a_usage_error(modbus: str) -> None:
    run("settings", modbus, "set", "battery_type", "0")
    result = run("settings", modbus, "set", "float_voltage", "14.5")
    assert isinstance(result.exception, SettingsError) and result.exception.rule == "A"
    result = run("settings", modbus, "set", "boost_voltage")
    assert isinstance(result.exception, UsageError)


def test_a_voltage_set_on_a_preset_battery_type_says_it_will_not_be_used(modbus: str) -> None:
    """Preset types (sealed, gel, flooded) charge with their own voltages: the rules A–E
    are not applied (tracer.md §B5.1), so the user is told rather than left believing."""
    preset = run("settings", modbus, "set", "boost_voltage", "14.5", "--format", "csv")
    assert preset.exit_code == 0
    assert "battery type 1 is a preset" in preset.stderr and "boost_voltage takes" in preset.stderr
    assert table(run("settings", modbus, "set", "battery_type", "0", "--format", "csv"))
    user = run("settings", modbus, "set", "boost_voltage", "14.4", "--format", "csv")
    assert user.exit_code == 0 and "preset" not in user.stderr


def test_clock(modbus: str) -> None:
    assert run("clock", modbus).output.strip() == "2026-06-21 12:00:00"
    assert run("clock", modbus, "set", "2027-01-02T03:04:05").output.strip() == (
        "2027-01-02 03:04:05"
    )
    synced = run("clock", modbus, "--sync")
    assert synced.exit_code == 0 and "was 2027-01-02 03:04:05" in synced.output
    assert isinstance(run("clock", modbus, "set", "noon").exception, UsageError)


def test_stats_rated_info(modbus: str) -> None:
    assert float(table(run("stats", modbus, "--format", "csv"))["generated_today"]) > 0
    assert table(run("rated", modbus, "--format", "csv"))["charging_mode"] == "2"
    assert table(run("info", modbus, "--format", "csv"))["product"] == "Tracer2215BN"


def test_watch(modbus: str) -> None:
    result = run("watch", modbus, "--count", "2", "--every", "10ms")
    assert result.exit_code == 0
    assert result.output.count("battery_voltage") == 2


def test_log_into_sqlite_and_csv(modbus: str, tmp_path: Path) -> None:
    db = tmp_path / "tracer.sqlite"
    result = run("log", modbus, "--every", "10ms", "--count", "3", "-o", str(db))
    assert result.exit_code == 0, (result.output, result.exception)
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        data = next(n for n in names if n.endswith("_Tracer"))
        rows = conn.execute(f'select * from "{data}"').fetchall()
    assert len(rows) == 3
    out = tmp_path / "csv"
    result = run("log", modbus, "--every", "10ms", "--count", "2", "--sink", "csv", "-o", str(out))
    assert result.exit_code == 0, (result.output, result.exception)
    files = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert any("TracerStats" in f for f in files) and any("Tracer" in f for f in files)


def test_silent_controller_is_a_clear_error() -> None:
    with TracerEmulator(model=frozen(), faults="drop=1").running() as emu:
        assert emu.url is not None
        result = run("rated", emu.url, "--timeout", "0.2")
    assert result.exit_code != 0 and "no answer" in str(result.exception).lower()


def test_spawned_emulator_command() -> None:
    """Needs ``fieldlink emulate tracer`` mounted in the root CLI (the lead's merge)."""
    with spawn_emulator("tracer", "--speed", "60", "--seed", "1") as emu:
        url = emu.urls[0] if hasattr(emu, "urls") else emu.url
        assert url.startswith("tcp:127.0.0.1:")
        with Tracer.from_url(url) as t:
            assert t.info().product == "Tracer2215BN"


def test_log_reports_a_missed_sample_and_goes_on(tmp_path: Path) -> None:
    model = frozen()

    def broken(*args: object) -> list[int]:
        raise RuntimeError("sensor bus fault")  # the emulator answers exception 04

    model.read = broken  # type: ignore[method-assign]
    with TracerEmulator(model=model).running() as emu:
        assert emu.url is not None
        result = run("log", emu.url, "--every", "10ms", "--count", "2", "-o", str(tmp_path / "x"))
    assert result.exit_code == 0, result.exception
    assert result.output.count("missed") == 2 and "slave device failure" in result.output
