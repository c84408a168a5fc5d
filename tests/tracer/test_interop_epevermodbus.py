"""The published epevermodbus client (test-time dependency) against our Modbus emulator.

It opens the emulator's pseudo-terminal like a USB-RS485 cable, reads what its
command line reads, and its setters write settings the emulator validates.  The
model's clock stands still so both clients see the same values.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tracer_support import NOON, frozen_model

from fieldlink.tracer import operations as ops
from fieldlink.tracer.client import Tracer
from fieldlink.tracer.emulator.host import TracerEmulator

epever = pytest.importorskip("epevermodbus.driver")
minimalmodbus = pytest.importorskip("minimalmodbus")

pytestmark = pytest.mark.interop


@pytest.fixture
def emu() -> Iterator[TracerEmulator]:
    with TracerEmulator(model=frozen_model(), pty=True).running() as host:
        yield host


def device_path(emu: TracerEmulator) -> str:
    assert emu.url is not None
    return emu.url.removeprefix("serial:").rsplit(":", 1)[0]


def test_epevermodbus_reads_what_fieldlink_reads(emu: TracerEmulator) -> None:
    theirs = epever.EpeverChargeController(device_path(emu), 1)
    try:
        got = {
            "pv_voltage": theirs.get_solar_voltage(),
            "pv_current": theirs.get_solar_current(),
            "pv_power": theirs.get_solar_power(),
            "load_voltage": theirs.get_load_voltage(),
            "load_current": theirs.get_load_current(),
            "load_power": theirs.get_load_power(),
            "battery_soc": theirs.get_battery_state_of_charge(),
            "battery_temperature": theirs.get_battery_temperature(),
            "net_battery_current": theirs.get_battery_current(),
            "battery_voltage": theirs.get_battery_voltage(),
            "boost_voltage": theirs.get_boost_charging_voltage(),
            "voltages": theirs.get_battery_voltage_control_registers(),
            "rtc": theirs.get_rtc(),
            "night": theirs.is_night(),
            "total_generated": theirs.get_total_generated_energy(),
            "charging_status": theirs.get_charging_equipment_status(),
        }
    finally:
        theirs.serial.close()
    assert emu.url is not None
    with Tracer.from_url(emu.url) as ours:
        rt = ours.realtime()
        stats = ours.stats()
        block = ours.battery_settings()
        when = ours.clock()
        night = ours.run(ops.read_bits(ops.Table.DISCRETE, 0x200C, 1))[0]
    assert got["pv_voltage"] == rt.pv_voltage and got["pv_current"] == rt.pv_current
    assert got["pv_power"] == rt.pv_power
    assert got["load_voltage"] == rt.load_voltage and got["load_current"] == rt.load_current
    assert got["load_power"] == rt.load_power
    assert got["battery_soc"] == rt.battery_soc
    assert got["battery_temperature"] == rt.battery_temperature
    assert got["net_battery_current"] == stats.net_battery_current
    assert got["battery_voltage"] == stats.battery_voltage
    assert got["boost_voltage"] == block.boost_voltage == 14.40
    assert got["voltages"]["float_charging_voltage"] == block.float_voltage
    assert got["voltages"]["low_voltage_disconnect_voltage"] == block.low_voltage_disconnect
    assert got["rtc"] == when == NOON
    assert got["night"] is night is False
    assert got["total_generated"] == stats.generated_total
    assert got["charging_status"]["charging_status"].lower().startswith("equali")


def test_epevermodbus_setters_are_validated_by_the_emulator(emu: TracerEmulator) -> None:
    model = emu.tracer_model
    model.holding[0x9000] = 0  # user type: rules A–E apply
    theirs = epever.EpeverChargeController(device_path(emu), 1)
    try:
        theirs.set_battery_capacity(200)
        theirs.set_battery_voltage_control_registers(float_charging_voltage=13.7)
        theirs.set_rtc(dt.datetime(2027, 3, 4, 5, 6, 7))
        before = dict(model.holding)
        with pytest.raises(minimalmodbus.SlaveReportedException):
            theirs.set_battery_voltage_control_registers(float_charging_voltage=14.5)  # rule A
        with pytest.raises(minimalmodbus.SlaveReportedException):
            theirs.set_temperature_compensation_coefficient(9.5)  # range 0–9
        assert model.holding == before
    finally:
        theirs.serial.close()
    assert emu.url is not None
    with Tracer.from_url(emu.url) as ours:
        block = ours.battery_settings()
        assert block.battery_capacity == 200 and block.float_voltage == 13.7
        assert ours.clock() == dt.datetime(2027, 3, 4, 5, 6, 7)


def test_epevermodbus_command_line(emu: TracerEmulator, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "epevermodbus"
    if not script.exists():
        pytest.skip("the epevermodbus command is not installed")
    path = device_path(emu)
    done = subprocess.run(
        [str(script), "--portname", path, "--set-boost-charging-voltage", "14.3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert emu.tracer_model.holding[0x9007] == 1430
    emu.tracer_model.holding[0x9000] = 0  # user type: the emulator checks rules A–E
    refused = subprocess.run(
        [str(script), "--portname", path, "--set-float-charging-voltage", "14.5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "illegal data value" in refused.stderr
    assert emu.tracer_model.holding[0x9008] == 1380  # unchanged
    shown = subprocess.run(
        [str(script), "--portname", path, "--json"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["battery_state_of_charge"] == round(emu.tracer_model.battery.soc * 100)
