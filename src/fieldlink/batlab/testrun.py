"""Running test schedules against a unit: the conversation behind every workflow.

:func:`run_tests` polls each cell of a :class:`TestRun` (a LOCK snapshot per cell),
feeds the readings to the cells' :class:`~fieldlink.batlab.workflow.CellSchedule`,
carries out what they ask, kicks the watchdog on every pass and emits a
:class:`TestEvent` for each sample, phase end and finish.  The caller owns the
``TestRun``: whatever ends the test -- a fault, a watchdog trip, a unit pulled out --
every measurement taken so far is in it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

from fieldlink.batlab import convert
from fieldlink.batlab.errors import BatlabError, WatchdogTripped
from fieldlink.batlab.operations import (
    UnitInfo,
    apply_limits,
    cell_snapshot,
    impedance,
    kick_watchdog,
    set_mode,
    watchdog_state,
    write_register,
)
from fieldlink.batlab.registers import CellRegister, Mode, Namespace
from fieldlink.batlab.workflow import (
    Action,
    ApplyLimits,
    CellSchedule,
    CellSummary,
    Finished,
    LogPeriodic,
    MeasureImpedance,
    PhaseEnded,
    ResetCharge,
    SetMode,
    SetSetpoint,
)
from fieldlink.errors import LinkError
from fieldlink.kit.converse import Operation, emit, now, pause

__all__ = ["EventKind", "TestEvent", "TestRun", "run_tests"]

_C = CellRegister


class EventKind(enum.Enum):
    SAMPLE = "sample"
    PHASE = "phase"
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class TestEvent:
    """What a running test reports (for progress display and the sinks)."""

    __test__ = False

    kind: EventKind
    cell: int
    action: Action


@dataclass
class TestRun:
    """A test in progress over one unit; the caller keeps it, so nothing is lost on error."""

    __test__ = False

    info: UnitInfo
    schedules: dict[int, CellSchedule]
    events: list[TestEvent] = field(default_factory=list)
    max_events: int = 100_000
    #: Seconds in IMPEDANCE mode before the p-p values are read (the official 2 s).
    impedance_settle: float = 2.0

    def summaries(self) -> dict[int, CellSummary]:
        return {c: s.summary() for c, s in self.schedules.items()}

    @property
    def done(self) -> bool:
        return all(s.done for s in self.schedules.values())

    #: Set by :meth:`request_stop` (any thread): the runner stops every cell and returns.
    stop_reason: str | None = None

    def request_stop(self, reason: str = "stopped by request") -> None:
        """Ask the running test to stop every cell at its next pass (thread-safe)."""
        self.stop_reason = reason

    def record(self, event: TestEvent) -> None:
        if len(self.events) >= self.max_events:
            del self.events[: self.max_events // 10]
        self.events.append(event)


def _execute(cell: int, action: Action, run: TestRun) -> Generator[Any, Any, float | None]:
    """Carry out one schedule action; an impedance measurement returns its value."""
    ns = int(Namespace.cell(cell))
    info = run.info
    if isinstance(action, SetSetpoint):
        yield from write_register(ns, _C.CURRENT_SETPOINT, convert.setpoint_to_raw(action.amps))
    elif isinstance(action, SetMode):
        yield from write_register(ns, _C.MODE, int(action.mode))
    elif isinstance(action, ResetCharge):
        yield from write_register(ns, _C.CHARGEH, 0)
    elif isinstance(action, ApplyLimits):
        yield from apply_limits(cell, action.settings, info.temp_r[cell], info.temp_b[cell])
    elif isinstance(action, MeasureImpedance):
        return (yield from impedance(cell, settle=run.impedance_settle))
    return None


def _events(cell: int, actions: Iterable[Action]) -> list[TestEvent]:
    out = []
    for a in actions:
        if isinstance(a, LogPeriodic):
            out.append(TestEvent(EventKind.SAMPLE, cell, a))
        elif isinstance(a, PhaseEnded):
            out.append(TestEvent(EventKind.PHASE, cell, a))
        elif isinstance(a, Finished):
            out.append(TestEvent(EventKind.FINISHED, cell, a))
    return out


def run_tests(run: TestRun, *, poll: float | None = None) -> Operation[dict[int, CellSummary]]:
    """Run every schedule of ``run`` to its end, kicking the watchdog on every pass.

    Emits :class:`TestEvent` items (samples, phase ends, finishes).  A watchdog trip
    stops the test with WatchdogTripped, a vanished unit with the link's error; in
    both cases ``run`` keeps every measurement so far, and cells that can still be
    reached are left STOPPED.  A unit that cannot be reached any more stops its own
    cells when its watchdog runs out (≤ 25.5 s after the last kick, §5.6).
    """
    info = run.info
    interval = (
        poll
        if poll is not None
        else min(s.settings.reporting_period for s in run.schedules.values())
    )
    pending_z: dict[int, float | None] = {}
    try:
        for cell, schedule in run.schedules.items():
            # As the official start_test: IDLE clears old errors and reveals an empty slot.
            yield from set_mode(cell, Mode.IDLE)
            snap = yield from cell_snapshot(cell, info.temp_r[cell], info.temp_b[cell])
            instant = yield from now()
            actions = schedule.start(snap.reading(instant.monotonic, _wall(instant.wall)))
            yield from _carry_out(cell, actions, run, pending_z)
        while not run.done:
            if run.stop_reason is not None:
                for cell, schedule in run.schedules.items():
                    actions = schedule.abort(run.stop_reason)
                    yield from _carry_out(cell, actions, run, pending_z, best_effort=True)
                break
            # Look before kicking: a kick would clear a trip that already stopped the cells.
            if (yield from watchdog_state()):
                raise WatchdogTripped("the unit's watchdog tripped: every cell was stopped")
            yield from kick_watchdog()
            for cell, schedule in run.schedules.items():
                if schedule.done:
                    continue
                snap = yield from cell_snapshot(cell, info.temp_r[cell], info.temp_b[cell])
                instant = yield from now()
                reading = snap.reading(
                    instant.monotonic, _wall(instant.wall), pending_z.pop(cell, None)
                )
                yield from _carry_out(cell, schedule.observe(reading), run, pending_z)
            if not run.done:
                yield from pause(interval)
    except WatchdogTripped as exc:
        for cell, schedule in run.schedules.items():
            actions = schedule.abort(str(exc))
            yield from _carry_out(cell, actions, run, pending_z, best_effort=True)
        raise
    except LinkError as exc:
        for cell, schedule in run.schedules.items():
            for event in _events(cell, schedule.abort(f"unit lost: {exc}")):
                run.record(event)
        raise
    return run.summaries()


def _carry_out(
    cell: int,
    actions: list[Action],
    run: TestRun,
    pending_z: dict[int, float | None],
    *,
    best_effort: bool = False,
) -> Generator[Any, Any, None]:
    for action in actions:
        try:
            z = yield from _execute(cell, action, run)
        except BatlabError:
            if not best_effort:
                raise
            continue
        if z is not None:
            pending_z[cell] = z
    events = _events(cell, actions)
    for event in events:
        run.record(event)
    if events:
        yield from emit(events)


def _wall(unix: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(unix)
