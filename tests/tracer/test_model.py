"""The controller model: a simulated day, charge stages, battery, load, statistics, clock."""

from __future__ import annotations

import datetime as dt

import pytest

from fieldlink.kit.clock import ManualClock
from fieldlink.tracer.emulator.battery import Battery
from fieldlink.tracer.emulator.clock import SimClock
from fieldlink.tracer.emulator.model import ControllerConfig, Stage, TracerModel
from fieldlink.tracer.emulator.solar import Panel, irradiance, solar_elevation
from fieldlink.tracer.modbus import values
from fieldlink.tracer.modbus.registers import Table

START = dt.datetime(2026, 6, 21)


def run(config: ControllerConfig, hours: float) -> TracerModel:
    m = TracerModel(config, monotonic=ManualClock())
    m.advance(config.start + dt.timedelta(hours=hours))
    return m


def stages(m: TracerModel, day: dt.date) -> list[Stage]:
    out = [s for t, s in m.stage_log if t.date() == day]
    return [s for i, s in enumerate(out) if i == 0 or s is not out[i - 1]]


def test_sun_by_time_of_day_and_latitude() -> None:
    noon, midnight = START.replace(hour=12), START
    assert irradiance(midnight, 45) == 0
    assert irradiance(noon, 45) > 800
    assert irradiance(noon, 45) > irradiance(noon, 70)
    assert solar_elevation(noon, 45) == pytest.approx(90 - 45 + 23.44, abs=0.5)
    assert irradiance(dt.datetime(2026, 12, 21, 12), 45) < irradiance(noon, 45)


def test_clouds_dim_deterministically() -> None:
    hours = [START.replace(hour=h) for h in range(6, 19)]
    clear = sum(irradiance(t, 45) for t in hours)
    cloudy = [irradiance(t, 45, clouds=True, seed=3) for t in hours]
    assert sum(cloudy) < clear
    assert cloudy == [irradiance(t, 45, clouds=True, seed=3) for t in hours]
    assert cloudy != [irradiance(t, 45, clouds=True, seed=4) for t in hours]


def test_panel_curve_and_maximum_power_point() -> None:
    panel = Panel()
    v, i = panel.max_power_point(1000)
    assert 0.7 * panel.voc < v < panel.voc and 0.8 * panel.isc < i < panel.isc
    assert panel.current(0, 1000) == pytest.approx(panel.isc, rel=0.01)
    assert panel.current(panel.voc, 1000) == 0
    assert panel.max_power_point(0) == (0.0, 0.0)


def test_battery_soc_integrates_current_and_voltage_follows() -> None:
    b = Battery(100, soc=0.5)
    v0 = b.ocv()
    b.step(10, 3600)
    assert b.soc == pytest.approx(0.6)
    assert b.ocv() > v0
    assert b.terminal_voltage(5) > b.ocv() > b.terminal_voltage(-5)
    assert b.terminal_voltage(b.current_for(14.4)) == pytest.approx(14.4)


def test_a_day_runs_the_charge_stages_in_order() -> None:
    m = run(ControllerConfig(soc=0.5, start=START), 48)
    day1 = stages(m, START.date())
    assert day1[:4] == [Stage.NONE, Stage.BULK, Stage.EQUALIZE, Stage.FLOAT]  # equalize due
    assert day1[-1] is Stage.NONE
    day2 = stages(m, START.date() + dt.timedelta(days=1))
    assert day2[:3] == [Stage.BULK, Stage.BOOST, Stage.FLOAT]  # NONE carried over midnight
    # boost lasts the boost duration (0x906C, 120 min)
    log = [(t, s) for t, s in m.stage_log if t.date() == START.date() + dt.timedelta(days=1)]
    boost = next(t for t, s in log if s is Stage.BOOST)
    after = next(t for t, s in log if t > boost)
    assert after - boost == dt.timedelta(minutes=120)


def test_stage_visible_in_the_status_register() -> None:
    m = run(ControllerConfig(soc=0.5, start=START), 24 + 12)
    assert m.stage is Stage.FLOAT
    status = values.Status(*m.status_words())
    assert status.stage == "float"
    assert status.charging["running"] is True


def test_soc_rises_by_day_falls_by_night() -> None:
    m = TracerModel(ControllerConfig(soc=0.5, start=START), monotonic=ManualClock())
    m.advance(START.replace(hour=4))
    night = m.battery.soc
    assert night < 0.5
    m.advance(START.replace(hour=13))
    assert m.battery.soc > night + 0.2
    assert m.read(Table.INPUT, 0x311A, 1) == [round(m.battery.soc * 100)]


def test_deterministic_for_a_seed() -> None:
    a = run(ControllerConfig(clouds=True, seed=7, start=START), 30)
    b = run(ControllerConfig(clouds=True, seed=7, start=START), 30)
    assert a.input_words() == b.input_words() and a.stage_log == b.stage_log


def test_statistics_accumulate_and_reset_at_midnight() -> None:
    m = run(ControllerConfig(start=START), 23.9)
    words = m.input_words()
    generated_today = words[0x330C] + 65536 * words[0x330D]
    assert generated_today > 50  # > 0.5 kWh in hundredths
    assert words[0x3312] >= words[0x330C]
    m.advance(START + dt.timedelta(hours=24, minutes=5))
    words = m.input_words()
    assert words[0x330C] + 65536 * words[0x330D] == 0
    assert words[0x3312] + 65536 * words[0x3313] >= generated_today


def test_load_overload_trips_until_switched() -> None:
    m = TracerModel(ControllerConfig(start=START), monotonic=ManualClock())
    m.set_load_demand(400.0)  # > 20 A at 12 V
    assert m.load_overload and m.load_current == 0
    assert values.Status(*m.status_words()).discharging["load_level"] == "overload"
    m.set_load_demand(15.0)
    assert m.load_current == 0  # still tripped
    m.switch_load(True)
    assert m.load_current > 0


def test_low_voltage_disconnect_and_reconnect() -> None:
    m = TracerModel(ControllerConfig(soc=0.05, start=START), monotonic=ManualClock())
    m.set_load_demand(100.0)
    m.advance(START + dt.timedelta(minutes=2))
    assert m.low_voltage_cut and m.load_current == 0
    assert m.mt5_realtime().over_discharge is True
    assert values.Status(*m.status_words()).battery["voltage"] == "low-voltage disconnect"
    m.advance(START.replace(hour=15))  # the sun recharges it above LVR: load back
    assert not m.low_voltage_cut and m.load_current > 0


def test_clock_runs_at_speed_and_can_be_set() -> None:
    mono = ManualClock()
    clock = SimClock(START, speed=60, monotonic=mono)
    mono.advance(60)
    assert clock.now() == START + dt.timedelta(hours=1)
    m = TracerModel(ControllerConfig(start=START, speed=60), monotonic=mono)
    mono.advance(24 * 60)  # a day in 24 real minutes
    m.sync()
    assert m.time == START + dt.timedelta(days=1)
    when = dt.datetime(2030, 1, 2, 3, 4, 5)
    assert m.write(Table.HOLDING, 0x9013, values.encode_clock(when)) is None
    assert m.time == when and m.clock.now() == when
    assert m.write(Table.HOLDING, 0x9013, [0, 0, 0x0F0D]) == 3  # month 13


def test_restore_defaults_and_clear_statistics_coils() -> None:
    m = run(ControllerConfig(start=START), 14)
    m.holding[0x9001] = 250
    m.write(Table.COIL, 0x000D, [1])
    assert m.holding[0x9001] == 100
    m.write(Table.COIL, 0x000E, [1])
    assert m.input_words()[0x3312] == 0


def test_night_discrete_and_load_mode_light() -> None:
    m = TracerModel(ControllerConfig(start=START), monotonic=ManualClock())
    m.advance(START + dt.timedelta(minutes=1))
    assert m.read(Table.DISCRETE, 0x200C, 1) == [1]
    m.holding[0x903D] = 1  # light on/off: load on at night even when the coil is off
    m.switch_load(False)
    assert m.load_current > 0
    m.advance(START.replace(hour=12))
    assert m.read(Table.DISCRETE, 0x200C, 1) == [0] and m.load_current == 0
