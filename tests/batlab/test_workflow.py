"""Test workflows on a fast emulated clock, through the real bytes (memdrive)."""

from __future__ import annotations

import datetime as dt

import pytest
from batlab_support import MemoryDriver

from fieldlink.batlab import operations as ops
from fieldlink.batlab import testrun as tr
from fieldlink.batlab.emulator import BatlabUnit, Battery, ManualClock
from fieldlink.batlab.errors import WatchdogTripped
from fieldlink.batlab.registers import CellRegister, ErrorFlag, Mode
from fieldlink.batlab.settings import TestSettings
from fieldlink.batlab.workflow import (
    CellSchedule,
    Finished,
    LogPeriodic,
    PhaseEnded,
    Reading,
    SetMode,
    SetSetpoint,
    State,
    TestKind,
    run_offline,
)
from fieldlink.errors import LinkError

FAST = TestSettings(rest_period=5, reporting_period=1, impedance_period=30)


def make(clock: ManualClock, cells: list[Battery | None], speed: float = 300) -> MemoryDriver:
    unit = BatlabUnit(clock=clock, cells=cells, speed=speed)
    return MemoryDriver(unit, clock)


def start_run(
    drv: MemoryDriver, kinds: dict[int, TestKind], settings: TestSettings = FAST
) -> tr.TestRun:
    info = drv.run(ops.connect())
    return tr.TestRun(info, {c: CellSchedule(c, settings, k) for c, k in kinds.items()})


def test_cycle_test_runs_every_phase_and_measures_capacity(clock: ManualClock) -> None:
    cell = Battery(capacity_ah=0.5, soc=0.4)
    drv = make(clock, [cell, None, None, None])
    settings = FAST.replace(warmup_cycles=1, measurement_cycles=1, impedance_period=2)
    run = start_run(drv, {0: TestKind.CYCLE}, settings)
    run.impedance_settle = 0.7  # one latch: at speed 300, 2 s would be 10 min of discharge
    summaries = drv.run(tr.run_tests(run))
    s = summaries[0]
    assert s.fault is None
    phases = [p.phase for p in s.phases]
    assert phases == [
        State.PRECHARGE,
        State.CHARGEREST,
        State.DISCHARGE,
        State.DISCHARGEREST,
        State.CHARGE,
        State.CHARGEREST,
        State.DISCHARGE,
        State.DISCHARGEREST,
        State.CHARGE,
    ]
    caps = s.discharge_capacities
    assert len(caps) == 2
    # A discharge from the charge limit to the discharge limit moves most of the capacity.
    for c in caps:
        assert 0.8 * 0.5 * 3600 < c < 1.0 * 0.5 * 3600
    assert s.capacity_mah == pytest.approx(caps[-1] / 3.6)
    assert s.energy is not None and s.energy > caps[-1] * 3.0
    assert s.average_impedance == pytest.approx(0.08, rel=0.05)
    assert s.temperature_min is not None and s.temperature_max is not None
    assert s.temperature_max > s.temperature_min
    # Left idle at the end, with the phases' events recorded.
    assert drv.unit.cell_register(0, CellRegister.MODE) == Mode.IDLE
    kinds = {e.kind for e in run.events}
    assert kinds == {tr.EventKind.SAMPLE, tr.EventKind.PHASE, tr.EventKind.FINISHED}


def test_each_cell_on_its_own_schedule(clock: ManualClock) -> None:
    drv = make(
        clock, [Battery(capacity_ah=0.3, soc=0.9), Battery(capacity_ah=0.3, soc=0.2), None, None]
    )
    run = start_run(drv, {0: TestKind.DISCHARGE, 1: TestKind.CHARGE})
    s = drv.run(tr.run_tests(run))
    assert [p.phase for p in s[0].phases] == [State.DISCHARGE]
    assert [p.phase for p in s[1].phases] == [State.CHARGE]
    assert s[0].fault is None and s[1].fault is None


def test_empty_and_backwards_slots_fault_without_touching_others(clock: ManualClock) -> None:
    drv = make(clock, [None, Battery(reversed=True), Battery(capacity_ah=0.2, soc=0.9), None])
    run = start_run(drv, {0: TestKind.DISCHARGE, 1: TestKind.DISCHARGE, 2: TestKind.DISCHARGE})
    s = drv.run(tr.run_tests(run))
    assert s[0].fault is not None and "no cell" in s[0].fault
    assert s[1].fault is not None and "backwards" in s[1].fault
    assert s[2].fault is None and s[2].discharge_capacities


def test_safety_trip_is_a_fault_and_cell_stays_stopped(clock: ManualClock) -> None:
    hot = Battery(capacity_ah=0.5, soc=0.8)
    drv = make(clock, [hot, None, None, None])
    run = start_run(drv, {0: TestKind.DISCHARGE})
    gen = tr.run_tests(run)
    # Run a few polls, then heat the cell past the discharge temperature limit.
    hot.ambient = hot.temperature = 95.0
    s = drv.run(gen)
    assert s[0].fault is not None and "TEMP_LIMIT_DCHG" in s[0].fault
    assert drv.unit.cell_register(0, CellRegister.MODE) == Mode.STOPPED
    assert drv.unit.cell_register(0, CellRegister.ERROR) & ErrorFlag.TEMP_LIMIT_DCHG


def test_watchdog_kept_alive_during_a_long_test(clock: ManualClock) -> None:
    """A test far longer than 25.5 s of device time never trips the watchdog."""
    drv = make(clock, [Battery(capacity_ah=2.0, soc=0.95), None, None, None], speed=20)
    run = start_run(drv, {0: TestKind.DISCHARGE})
    drv.run(tr.run_tests(run))
    assert clock() - 1000 > 60
    assert not drv.unit.watchdog_tripped
    assert run.schedules[0].fault is None


def test_watchdog_trip_mid_test_raises_and_keeps_measurements(clock: ManualClock) -> None:
    drv = make(clock, [Battery(capacity_ah=2.0, soc=0.95), None, None, None], speed=5)
    run = start_run(drv, {0: TestKind.DISCHARGE})
    real = drv.request
    calls = {"n": 0}

    def stall(command):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 300:  # the host stalls for longer than the watchdog's 25.5 s
            clock.advance(30)
        return real(command)

    drv.request = stall  # type: ignore[method-assign]
    with pytest.raises(WatchdogTripped):
        drv.run(tr.run_tests(run))
    assert run.schedules[0].done and run.schedules[0].fault
    assert any(e.kind is tr.EventKind.SAMPLE for e in run.events)
    assert drv.unit.cell_register(0, CellRegister.MODE) == Mode.STOPPED


def test_unit_lost_mid_test_keeps_data(clock: ManualClock) -> None:
    drv = make(clock, [Battery(capacity_ah=2.0, soc=0.95), None, None, None], speed=5)
    run = start_run(drv, {0: TestKind.DISCHARGE})
    real = drv.request
    calls = {"n": 0}

    def flaky(command):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 200:
            raise LinkError("unplugged")
        return real(command)

    drv.request = flaky  # type: ignore[method-assign]
    with pytest.raises(LinkError):
        drv.run(tr.run_tests(run))
    assert run.schedules[0].fault and "unit lost" in run.schedules[0].fault
    assert any(e.kind is tr.EventKind.SAMPLE for e in run.events)


def test_impedance_test_kind(clock: ManualClock) -> None:
    drv = make(clock, [Battery(resistance=0.2), None, None, None])
    run = start_run(drv, {0: TestKind.IMPEDANCE})
    s = drv.run(tr.run_tests(run))
    assert s[0].impedances == pytest.approx((0.2,), rel=0.03)


# --- the schedule alone ---------------------------------------------------------------------------

T0 = dt.datetime(2026, 1, 1, 12, 0, 0)


def rd(t: float, mode: Mode, v: float = 3.7, error: int = 0, charge: float = 0.0) -> Reading:
    return Reading(t, T0 + dt.timedelta(seconds=t), int(mode), error, v, 2.0, 25.0, charge)


def test_schedule_start_order_matches_official_cycle_start() -> None:
    s = CellSchedule(0, FAST, TestKind.CYCLE)
    actions = s.start(rd(0, Mode.IDLE))
    names = [type(a).__name__ for a in actions]
    assert names == ["ApplyLimits", "ResetCharge", "SetSetpoint", "SetMode", "SetSetpoint"]
    assert actions[2] == SetSetpoint(0.0) and actions[3] == SetMode(Mode.CHARGE)
    assert s.state is State.PRECHARGE


def test_pulse_charge_toggles_setpoint() -> None:
    settings = FAST.replace(
        pulse_enable=True, pulse_discharge_on_time=3, pulse_discharge_off_time=2
    )
    s = CellSchedule(0, settings, TestKind.DISCHARGE)
    acts = run_offline(s, [rd(t, Mode.DISCHARGE) for t in range(0, 12)])
    setpoints = [a.amps for a in acts if isinstance(a, SetSetpoint)]
    assert setpoints[:3] == [2.0, 0.0, 2.0]


def test_trickle_engages_near_the_limit() -> None:
    settings = FAST.replace(trickle_enable=True, trickle_discharge_engage_voltage=3.0)
    s = CellSchedule(0, settings, TestKind.DISCHARGE)
    acts = run_offline(
        s, [rd(0, Mode.IDLE), rd(1, Mode.DISCHARGE, 3.5), rd(2, Mode.DISCHARGE, 2.9)]
    )
    assert SetSetpoint(0.5) in acts
    assert s.software_setpoint == 0.5


def test_storage_discharge_after_last_charge() -> None:
    settings = FAST.replace(storage_discharge=True, measurement_cycles=0)
    s = CellSchedule(0, settings, TestKind.CYCLE)
    acts = run_offline(
        s,
        [
            rd(0, Mode.IDLE),
            rd(1, Mode.STOPPED, 4.2, ErrorFlag.VOLTAGE_LIMIT_CHG),
            rd(2, Mode.DISCHARGE, 3.9),
            rd(3, Mode.DISCHARGE, 3.79),
        ],
    )
    ended = [a.summary.phase for a in acts if isinstance(a, PhaseEnded)]
    assert ended == [State.PRECHARGE, State.POSTDISCHARGE]
    assert isinstance(acts[-1], Finished) and acts[-1].fault is None


def test_periodic_logs_follow_the_reporting_period() -> None:
    s = CellSchedule(0, FAST.replace(reporting_period=2), TestKind.DISCHARGE)
    acts = run_offline(s, [rd(t / 2, Mode.DISCHARGE) for t in range(0, 21)])
    logs = [a for a in acts if isinstance(a, LogPeriodic)]
    assert [a.reading.t for a in logs] == [2.0, 4.0, 6.0, 8.0, 10.0]


def test_stop_request_stops_every_cell_and_keeps_data(clock: ManualClock) -> None:
    drv = make(clock, [Battery(capacity_ah=2.0, soc=0.9), Battery(capacity_ah=2.0), None, None], 5)
    run = start_run(drv, {0: TestKind.DISCHARGE, 1: TestKind.CYCLE})
    real = drv.request
    calls = {"n": 0}

    def counting(command):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 400:
            run.request_stop("interrupted by the user")
        return real(command)

    drv.request = counting  # type: ignore[method-assign]
    summaries = drv.run(tr.run_tests(run))
    assert all(s.fault == "interrupted by the user" for s in summaries.values())
    assert drv.unit.cell_register(0, CellRegister.MODE) == Mode.STOPPED
    assert drv.unit.cell_register(1, CellRegister.MODE) == Mode.STOPPED
    assert any(e.kind is tr.EventKind.SAMPLE for e in run.events)
