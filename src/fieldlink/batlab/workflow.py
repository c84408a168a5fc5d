"""Test workflows as the official library runs them, per cell, sans-I/O (batlab.md §7.4).

A :class:`CellSchedule` is the state machine of one cell's test.  It never talks to
the device: the driver (:mod:`fieldlink.batlab.operations`) polls the cell, hands
the schedule a :class:`Reading`, and carries out the :class:`Action` objects it
returns (write a setpoint or a mode, clear the charge counter, measure impedance,
log a line).  The same schedule therefore runs against a unit, an emulator or a
list of readings in a test, on any clock.

The phases follow the firmware: a charge or discharge phase ends when the
firmware stops the cell at its voltage limit (MODE becomes STOPPED).  A stop for
any other reason -- a temperature or current trip, no supply, the cell pulled or
put in backwards -- ends the test with a :attr:`CellSchedule.fault`; the cell is
left stopped and everything measured so far stays in the summary.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from fieldlink.batlab.registers import ErrorFlag, Mode
from fieldlink.batlab.settings import TestSettings

__all__ = [
    "Action",
    "ApplyLimits",
    "CellSchedule",
    "CellSummary",
    "Finished",
    "LogPeriodic",
    "MeasureImpedance",
    "PhaseEnded",
    "PhaseSummary",
    "Reading",
    "ResetCharge",
    "SetMode",
    "SetSetpoint",
    "State",
    "TestKind",
]


class TestKind(enum.Enum):
    """What a test does with its cell."""

    __test__ = False

    CYCLE = "cycle"  # precharge, rest, then discharge/charge cycles
    DISCHARGE = "discharge"  # discharge to the low limit
    CHARGE = "charge"  # charge to the high limit
    IMPEDANCE = "impedance"  # one impedance measurement


class State(enum.Enum):
    """Test states, named as in the official CSV "Test State" column."""

    IDLE = "IDLE"
    PRECHARGE = "PRECHARGE"
    CHARGE = "CHARGE"
    CHARGEREST = "CHARGEREST"
    DISCHARGE = "DISCHARGE"
    DISCHARGEREST = "DISCHARGEREST"
    POSTDISCHARGE = "POSTDISCHARGE"


_CHARGING: Final = frozenset({State.PRECHARGE, State.CHARGE})
_DISCHARGING: Final = frozenset({State.DISCHARGE, State.POSTDISCHARGE})
_RESTING: Final = frozenset({State.CHARGEREST, State.DISCHARGEREST})
#: Below this a slot holds no cell (the firmware's NO_CELL band ends at 1.8 V, §4.3).
_NO_CELL_VOLTS: Final = 1.8
#: Below this the cell is in backwards (STATUS.BACKWARDS: raw < −73, −0.01 V).
_BACKWARDS_VOLTS: Final = -0.01
#: The trip that normally ends a phase; any other latched error is a fault.
_NORMAL_END: Final = {
    State.PRECHARGE: ErrorFlag.VOLTAGE_LIMIT_CHG,
    State.CHARGE: ErrorFlag.VOLTAGE_LIMIT_CHG,
    State.DISCHARGE: ErrorFlag.VOLTAGE_LIMIT_DCHG,
    State.POSTDISCHARGE: ErrorFlag.VOLTAGE_LIMIT_DCHG,
}


@dataclass(frozen=True, slots=True)
class Reading:
    """One poll of a cell (physical units; ``t`` monotonic seconds, ``wall`` local time)."""

    t: float
    wall: dt.datetime
    mode: int
    error: int
    voltage: float
    current: float
    temperature: float
    charge: float
    duty: int = 0
    setpoint: int = 0
    vcc: float = 0.0
    impedance: float | None = None


# --- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetSetpoint:
    amps: float


@dataclass(frozen=True, slots=True)
class SetMode:
    mode: Mode


@dataclass(frozen=True, slots=True)
class ResetCharge:
    """Clear the charge counter (the official library writes CHARGEH = 0)."""


@dataclass(frozen=True, slots=True)
class ApplyLimits:
    """Write the voltage, current and temperature limits of ``settings`` to the cell."""

    settings: TestSettings


@dataclass(frozen=True, slots=True)
class MeasureImpedance:
    """Measure impedance now; pass the result in the next :class:`Reading`."""


@dataclass(frozen=True, slots=True)
class LogPeriodic:
    reading: Reading
    state: State
    energy: float
    software_setpoint: int


@dataclass(frozen=True, slots=True)
class PhaseSummary:
    """What one phase measured (a "level 2" line of the official log)."""

    phase: State
    cycle: int
    started: float
    ended: float
    wall: dt.datetime
    charge: float
    energy: float
    impedance: float
    delta_temperature: float
    current: float
    voltage: float
    temperature_min: float
    temperature_max: float

    @property
    def runtime(self) -> float:
        return self.ended - self.started

    @property
    def capacity_mah(self) -> float:
        return self.charge / 3.6


@dataclass(frozen=True, slots=True)
class PhaseEnded:
    summary: PhaseSummary


@dataclass(frozen=True, slots=True)
class Finished:
    """The test is over; ``fault`` says why if it did not end normally."""

    fault: str | None = None


#: What a schedule asks its driver to do.
Action = (
    SetSetpoint
    | SetMode
    | ResetCharge
    | ApplyLimits
    | MeasureImpedance
    | LogPeriodic
    | PhaseEnded
    | Finished
)


@dataclass(frozen=True, slots=True)
class CellSummary:
    """The per-cell result: capacity, energy, impedance, temperature range."""

    cell: int
    phases: tuple[PhaseSummary, ...]
    fault: str | None
    impedances: tuple[float, ...]
    temperature_min: float | None
    temperature_max: float | None

    def _phases(self, kinds: frozenset[State]) -> list[PhaseSummary]:
        return [p for p in self.phases if p.phase in kinds]

    @property
    def discharge_capacities(self) -> tuple[float, ...]:
        """Coulombs of each discharge phase, in cycle order."""
        return tuple(p.charge for p in self._phases(frozenset({State.DISCHARGE})))

    @property
    def capacity_coulombs(self) -> float | None:
        """The last measured discharge capacity (the official "Charge Capacity")."""
        caps = self.discharge_capacities
        return caps[-1] if caps else None

    @property
    def capacity_mah(self) -> float | None:
        c = self.capacity_coulombs
        return None if c is None else c / 3.6

    @property
    def energy(self) -> float | None:
        """Joules of the last discharge phase."""
        d = self._phases(frozenset({State.DISCHARGE}))
        return d[-1].energy if d else None

    @property
    def charge_in(self) -> float:
        """Coulombs put in over all charge phases."""
        return sum(p.charge for p in self._phases(_CHARGING))

    @property
    def average_impedance(self) -> float | None:
        return sum(self.impedances) / len(self.impedances) if self.impedances else None


@dataclass
class _PhaseStats:
    started: float
    temperature0: float
    v_sum: float = 0.0
    i_sum: float = 0.0
    n: int = 0
    z: list[float] = field(default_factory=list)
    charge: float = 0.0
    t_min: float = math.inf
    t_max: float = -math.inf
    temperature: float = 0.0

    def add(self, r: Reading) -> None:
        self.v_sum += r.voltage
        self.i_sum += r.current
        self.n += 1
        self.charge = r.charge
        self.temperature = r.temperature
        self.t_min = min(self.t_min, r.temperature)
        self.t_max = max(self.t_max, r.temperature)
        if r.impedance:
            self.z.append(r.impedance)

    @property
    def v_mean(self) -> float:
        return self.v_sum / self.n if self.n else 0.0

    @property
    def i_mean(self) -> float:
        return self.i_sum / self.n if self.n else 0.0

    @property
    def energy(self) -> float:
        """As the official library computes it: charge × mean voltage."""
        return self.charge * self.v_mean


class CellSchedule:
    """One cell's test, as a state machine fed with readings.

    Call :meth:`start` once (with the first reading), then :meth:`observe` for
    each poll until :attr:`done`.
    """

    def __init__(self, cell: int, settings: TestSettings, kind: TestKind = TestKind.CYCLE) -> None:
        self.cell = cell
        self.settings = settings
        self.kind = kind
        self.state = State.IDLE
        self.cycle = 0
        self.done = False
        self.fault: str | None = None
        self.phases: list[PhaseSummary] = []
        self.impedances: list[float] = []
        self._stats: _PhaseStats | None = None
        self._last_report = -math.inf
        self._last_impedance = -math.inf
        self._rest_started = 0.0
        self._setpoint = 0.0
        self._pulse_on = True
        self._pulse_since = 0.0
        self._trickle = False
        self._t_min = math.inf
        self._t_max = -math.inf
        self._started = False
        self._baseline = ErrorFlag(0)
        self._last_error = 0

    # --- public ---------------------------------------------------------------------------

    def start(self, reading: Reading) -> list[Action]:
        """Begin the test (after the driver checked the cell is present and IDLE)."""
        self._started = True
        fault = self._cell_fault(reading)
        if fault:
            return self._finish(fault)
        self._stats = _PhaseStats(reading.t, reading.temperature)
        self._last_report = reading.t
        self._last_impedance = reading.t
        actions: list[Action] = [ApplyLimits(self.settings), ResetCharge()]
        s = self.settings
        if self.kind is TestKind.IMPEDANCE:
            return [MeasureImpedance()]
        if self.kind in (TestKind.CYCLE, TestKind.CHARGE):
            state = State.PRECHARGE if self.kind is TestKind.CYCLE else State.CHARGE
            actions += [SetSetpoint(0.0), SetMode(Mode.CHARGE)]
            actions += self._enter(
                state, reading.t, s.precharge_rate if state is State.PRECHARGE else s.charge_rate
            )
        else:
            actions += self._enter(
                State.DISCHARGE, reading.t, s.discharge_rate, mode=Mode.DISCHARGE
            )
            self.cycle = 1
        return actions

    def observe(self, reading: Reading) -> list[Action]:
        """A new reading: the actions it calls for."""
        if self.done or not self._started:
            return []
        self._t_min = min(self._t_min, reading.temperature)
        self._t_max = max(self._t_max, reading.temperature)
        if reading.impedance:  # 0.0: no current flowed (the official library's "no result")
            self.impedances.append(reading.impedance)
        if self.kind is TestKind.IMPEDANCE:
            if reading.impedance is not None:
                return self._finish(None)
            return []
        stats = self._stats
        if stats is not None:
            stats.add(reading)
        fault = self._cell_fault(reading)
        self._last_error = reading.error
        if fault:
            return self._log(reading) + self._finish(fault)
        actions = self._log(reading)
        actions += self._transition(reading)
        if not self.done and reading.t - self._last_impedance >= self.settings.impedance_period:
            self._last_impedance = reading.t
            actions.append(MeasureImpedance())
        return actions

    def abort(self, reason: str) -> list[Action]:
        """End the test now (unit unplugged, watchdog): stop the cell, keep the data."""
        if self.done:
            return []
        return self._finish(reason)

    def summary(self) -> CellSummary:
        t_min = None if math.isinf(self._t_min) else self._t_min
        t_max = None if math.isinf(self._t_max) else self._t_max
        return CellSummary(
            self.cell, tuple(self.phases), self.fault, tuple(self.impedances), t_min, t_max
        )

    @property
    def software_setpoint(self) -> float:
        return self._setpoint

    # --- internals ------------------------------------------------------------------------

    def _cell_fault(self, r: Reading) -> str | None:
        if r.mode == Mode.NO_CELL:
            return f"cell {self.cell}: no cell in the slot"
        if r.mode == Mode.BACKWARDS:
            return f"cell {self.cell}: cell is in backwards"
        if r.mode == Mode.STOPPED and r.voltage < _BACKWARDS_VOLTS:
            return f"cell {self.cell}: cell is in backwards ({r.voltage:.2f} V)"
        if r.mode == Mode.STOPPED and r.voltage < _NO_CELL_VOLTS:
            # The firmware stops an empty slot at its discharge limit, which would
            # otherwise look like the normal end of a discharge.
            return f"cell {self.cell}: no cell in the slot (removed? {r.voltage:.2f} V)"
        if r.mode == Mode.STOPPED:
            # ERROR latches until the cell is IDLE, so bits from earlier phases remain.
            expected = _NORMAL_END.get(self.state, ErrorFlag(0)) | self._baseline
            other = ErrorFlag(r.error & 0xFFFF) & ~expected
            if other:
                names = "|".join(f.name or "?" for f in ErrorFlag if f & other)
                return f"cell {self.cell}: stopped by a safety trip ({names})"
        return None

    def _enter(
        self, state: State, now: float, rate: float, *, mode: Mode | None = None
    ) -> list[Action]:
        self.state = state
        self._baseline = ErrorFlag(self._last_error & 0xFFFF)
        self._pulse_on = True
        self._pulse_since = now
        self._trickle = False
        actions: list[Action] = []
        if state in _RESTING or state is State.IDLE:
            self._rest_started = now
            return actions
        self._setpoint = rate
        actions.append(SetSetpoint(rate))
        if mode is not None:
            actions.append(SetMode(mode))
        return actions

    def _end_phase(self, r: Reading) -> list[Action]:
        stats = self._stats
        actions: list[Action] = []
        if stats is not None:
            z = sum(stats.z) / len(stats.z) if stats.z else 0.0
            summary = PhaseSummary(
                phase=self.state,
                cycle=self.cycle,
                started=stats.started,
                ended=r.t,
                wall=r.wall,
                charge=stats.charge,
                energy=stats.energy,
                impedance=z,
                delta_temperature=stats.temperature - stats.temperature0,
                current=stats.i_mean,
                voltage=stats.v_mean,
                temperature_min=stats.t_min if stats.n else r.temperature,
                temperature_max=stats.t_max if stats.n else r.temperature,
            )
            self.phases.append(summary)
            actions.append(PhaseEnded(summary))
        self._stats = _PhaseStats(r.t, r.temperature)
        actions.append(ResetCharge())
        return actions

    def _finish(self, fault: str | None) -> list[Action]:
        self.done = True
        self.fault = fault
        self.state = State.IDLE
        mode = Mode.STOPPED if fault else Mode.IDLE
        return [SetSetpoint(0.0), SetMode(mode), Finished(fault)]

    def _log(self, r: Reading) -> list[Action]:
        if r.t - self._last_report < self.settings.reporting_period:
            return []
        self._last_report = r.t
        stats = self._stats
        energy = stats.energy if stats is not None else 0.0
        raw = int(self._setpoint * 128)
        return [LogPeriodic(r, self.state, energy, raw)]

    def _all_cycles_done(self) -> bool:
        return self.cycle >= self.settings.cycles

    def _transition(self, r: Reading) -> list[Action]:
        s = self.settings
        state = self.state
        if state in _CHARGING or state in _DISCHARGING:
            if r.mode == Mode.STOPPED or (
                state is State.POSTDISCHARGE and r.voltage < s.storage_discharge_voltage
            ):
                return self._phase_done(r)
            return self._shape_current(r)
        if state in _RESTING and r.t - self._rest_started > s.rest_period:
            actions = self._end_phase(r)
            if state is State.CHARGEREST:
                self.cycle += 1
                return actions + self._enter(
                    State.DISCHARGE, r.t, s.discharge_rate, mode=Mode.DISCHARGE
                )
            charge = self._enter(State.CHARGE, r.t, s.charge_rate)
            return [*actions, SetSetpoint(0.0), SetMode(Mode.CHARGE), *charge]
        return []

    def _phase_done(self, r: Reading) -> list[Action]:
        state = self.state
        s = self.settings
        actions = self._end_phase(r)
        if state is State.POSTDISCHARGE or self.kind in (TestKind.DISCHARGE, TestKind.CHARGE):
            return actions + self._finish(None)
        if state is State.DISCHARGE:
            return actions + self._enter(State.DISCHARGEREST, r.t, 0.0)
        # PRECHARGE or CHARGE ended
        if self._all_cycles_done():
            if s.storage_discharge:
                return actions + self._enter(
                    State.POSTDISCHARGE, r.t, s.discharge_rate, mode=Mode.DISCHARGE
                )
            return actions + self._finish(None)
        return actions + self._enter(State.CHARGEREST, r.t, 0.0)

    def _shape_current(self, r: Reading) -> list[Action]:
        """Trickle, pulse and constant-voltage taper (settings flags), as the official test."""
        s = self.settings
        charging = self.state in _CHARGING
        rate = s.charge_rate if charging else s.discharge_rate
        if self.state is State.PRECHARGE:
            rate = s.precharge_rate
        trickle_rate = s.trickle_charge_rate if charging else s.trickle_discharge_rate
        actions: list[Action] = []
        if s.pulse_enable and self.state in (State.CHARGE, State.DISCHARGE):
            on_time = s.pulse_charge_on_time if charging else s.pulse_discharge_on_time
            off_time = s.pulse_charge_off_time if charging else s.pulse_discharge_off_time
            off_rate = 0.0 if charging else s.pulse_discharge_off_rate
            elapsed = r.t - self._pulse_since
            if self._pulse_on and on_time > 0 and elapsed > on_time:
                self._pulse_on, self._pulse_since = False, r.t
                actions.append(self._set(off_rate))
            elif not self._pulse_on and off_time > 0 and elapsed > off_time:
                self._pulse_on, self._pulse_since = True, r.t
                actions.append(self._set(trickle_rate if self._trickle else rate))
        elif (s.constant_voltage_enable and charging) or (
            s.constant_voltage_discharge_enable and not charging
        ):
            actions += self._taper(r, charging)
        if s.trickle_enable and not s.constant_voltage_enable and not self._trickle:
            engage = (
                r.voltage > s.trickle_charge_engage_voltage
                if charging
                else r.voltage < s.trickle_discharge_engage_voltage
            )
            if engage:
                self._trickle = True
                actions.append(self._set(trickle_rate))
        return actions

    def _taper(self, r: Reading, charging: bool) -> list[Action]:
        s = self.settings
        z = sum(self.impedances) / len(self.impedances) if self.impedances else 0.05
        z = min(max(z, 0.01), 0.5) * s.constant_voltage_sensitivity
        raw = int(self._setpoint * 128)
        if raw <= s.constant_voltage_stepsize:
            return []
        margin = raw * z / 128
        near = (
            r.voltage > s.high_voltage_cutoff - margin
            if charging
            else r.voltage < s.low_voltage_cutoff + margin
        )
        if not near:
            return []
        return [self._set((raw - s.constant_voltage_stepsize) / 128)]

    def _set(self, amps: float) -> SetSetpoint:
        self._setpoint = amps
        return SetSetpoint(amps)


def run_offline(schedule: CellSchedule, readings: Sequence[Reading]) -> list[Action]:
    """Feed a list of readings (the first starts the test); all actions, for tests and replay."""
    if not readings:
        return []
    actions = schedule.start(readings[0])
    for r in readings[1:]:
        actions += schedule.observe(r)
    return actions
