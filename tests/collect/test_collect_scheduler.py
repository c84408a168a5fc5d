"""Schedules and the many-station loop: retry levels, isolation, --once."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import selectors
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.collect.config import RetryPolicy, StationConfig
from fieldlink.collect.results import ClockResult, CycleResult, TableResult
from fieldlink.collect.schedule import StationSchedule, next_slot
from fieldlink.collect.scheduler import collect_forever, collect_once
from fieldlink.collect.status import LogStatus, StatusBoard
from fieldlink.store.base import Hole


def station(name: str, interval: float = 3600, retry: RetryPolicy | None = None) -> StationConfig:
    return StationConfig(
        name=name, url="tcp:127.0.0.1:1", interval=interval, retry=retry or RetryPolicy()
    )


def test_regular_slots_are_multiples_of_the_interval() -> None:
    t = dt.datetime(2024, 5, 1, 10, 7, 30, tzinfo=dt.UTC).timestamp()
    nxt = dt.datetime.fromtimestamp(next_slot(t, 900), dt.UTC)
    assert nxt == dt.datetime(2024, 5, 1, 10, 15, tzinfo=dt.UTC)
    on_the_dot = dt.datetime(2024, 5, 1, 10, 15, tzinfo=dt.UTC).timestamp()
    assert next_slot(on_the_dot, 900) == on_the_dot + 900


def test_a_slot_that_floating_point_puts_a_hair_after_now_is_not_next() -> None:
    # 1000.3 / 0.1 is 10002.999...: the naive next multiple is 1000.3000000000001, i.e. now.
    assert next_slot(1000.3, 0.1) == pytest.approx(1000.4)
    assert next_slot(1000.3, 0.1) - 1000.3 > 0.05


@given(st.floats(min_value=0, max_value=4e9), st.floats(min_value=0.001, max_value=1e6))
def test_next_slot_is_after_now_and_within_one_interval(now: float, interval: float) -> None:
    slot = next_slot(now, interval)
    assert now < slot <= now + interval * 1.000001 + 1e-6


def test_primary_then_secondary_retries_then_back_to_regular() -> None:
    s = StationSchedule(
        interval=600,
        retry=RetryPolicy(primary_retries=2, primary_interval=30, secondary_interval=1800),
    )
    assert s.failed(1000) == 1030 and s.level == "primary"
    assert s.failed(1030) == 1060 and s.level == "primary"
    assert s.failed(1060) == 2860 and s.level == "secondary"
    assert s.failed(2860) == 4660 and s.level == "secondary"
    assert s.succeeded(4660) == 4800 and s.level == "regular" and s.failures == 0
    assert s.failed(4800) == 4830 and s.level == "primary"


def test_no_primary_retries_goes_straight_to_secondary() -> None:
    s = StationSchedule(interval=60, retry=RetryPolicy(0, 10, 500))
    assert s.failed(0) == 500 and s.level == "secondary"


def ok(name: str, records: int = 0) -> CycleResult:
    now = dt.datetime.now(dt.UTC)
    return CycleResult(
        name,
        started=now,
        finished=now,
        tables=[TableResult("T", records=records)] if records else [],
    )


class _JumpingSelector(selectors.DefaultSelector):
    """Instead of sleeping until the next timer is due, move the clock there."""

    def __init__(self, start: float) -> None:
        super().__init__()
        self.now = start

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:  # nothing scheduled: only I/O can wake the loop
            return super().select(None)
        events = super().select(0)
        if not events:
            self.now += timeout
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps from timer to timer: schedules run instantly and
    exactly, whatever else the machine is doing.  Give it times that are exact in binary
    (whole seconds) so that sums of them are exact too."""

    def __init__(self, start: float) -> None:
        self._jumping = _JumpingSelector(start)
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now


def test_failing_station_follows_retry_schedule_while_others_keep_interval() -> None:
    attempts: dict[str, list[float]] = {"good": [], "bad": []}
    retry = RetryPolicy(primary_retries=2, primary_interval=5, secondary_interval=40)
    stations = [station("good", interval=10, retry=retry), station("bad", 10, retry)]
    loop = VirtualTimeLoop(start=1000.0)

    async def cycle(s: StationConfig) -> CycleResult:
        attempts[s.name].append(loop.time())
        if s.name == "bad":
            r = ok(s.name)
            r.error = "no answer"
            return r
        return ok(s.name, 1)

    async def main() -> None:
        stop = asyncio.Event()
        board = StatusBoard(stations)
        task = asyncio.create_task(
            collect_forever(stations, cycle, board, stop=stop, clock=loop.time)
        )
        await asyncio.sleep(95)
        stop.set()
        await asyncio.wait_for(task, 1)
        assert board.rows["bad"].failures == len(attempts["bad"])
        assert board.rows["good"].total_records == len(attempts["good"])

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    # Every 10 s on the multiples of 10, never held up by the bad one.
    assert attempts["good"] == [1000.0 + 10 * i for i in range(10)]
    # At once, then the two primary retries 5 s apart, then secondary ones 40 s apart
    # (without the secondary level there would be 19).
    assert attempts["bad"] == [1000.0, 1005.0, 1010.0, 1050.0, 1090.0]


def test_a_hung_or_crashing_station_holds_up_nobody() -> None:
    stations = [station("hung"), station("buggy"), *(station(f"s{i}") for i in range(5))]

    async def cycle(s: StationConfig) -> CycleResult:
        if s.name == "hung":
            await asyncio.sleep(0.5)
        if s.name == "buggy":
            raise ZeroDivisionError("oops")
        return ok(s.name, 3)

    out = io.StringIO()
    finished: list[str] = []

    class Watch(LogStatus):
        def cycle_finished(self, result: CycleResult, next_due: float | None, level: str) -> None:
            finished.append(result.station)
            super().cycle_finished(result, next_due, level)

    results = asyncio.run(collect_once(stations, cycle, Watch(stations, out)))
    assert [r.station for r in results] == [s.name for s in stations]
    assert finished[-1] == "hung"
    assert not results[1].ok and "ZeroDivisionError" in (results[1].error or "")
    assert all(r.ok and r.records == 3 for r in results[2:])
    text = out.getvalue()
    assert "buggy: FAILED: internal error: ZeroDivisionError: oops" in text
    assert "s0: ok: 3 new records (T +3)" in text


def test_status_board_counts_and_renders() -> None:
    stations = [station("ridge"), station("valley")]
    board = StatusBoard(stations)
    board.cycle_started("ridge")
    board.table_progress("ridge", "Table1", 120)
    assert board.rows["ridge"].state == "collecting"
    r = ok("ridge", 200)
    r.tables[0].holes.append(Hole("T", 10, 19))
    r.clock = ClockResult(dt.datetime(2024, 1, 1), 12.5, 5.0, was_set=True)
    board.cycle_finished(r, time.time() + 900, "regular")
    bad = ok("valley")
    bad.error = "no answer from tcp:10.0.0.9:6785 within 10 s"
    board.cycle_finished(bad, time.time() + 30, "primary")
    assert board.rows["ridge"].total_records == 200 and board.rows["ridge"].total_missing == 10
    assert board.rows["valley"].failures == 1
    from rich.console import Console

    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(board.render())
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "ridge" in text and "200" in text and "+12.5s set" in text
    assert "failed" in text and "no answer from tcp:10.0.0.9:6785" in text
    assert "primary retry: no answer from tcp:10.0.0.9:6785" in text


@pytest.mark.parametrize("width", [80, 140])
def test_status_board_cuts_a_long_error_instead_of_wrapping_it(width: int) -> None:
    """A connection error is a long sentence: wrapped in the table it took a dozen lines
    per station on an 80-column terminal; it is cut with an ellipsis instead."""
    from rich.console import Console

    board = StatusBoard([station("ridge"), station("dead")])
    board.cycle_finished(ok("ridge", 12), time.time() + 60, "regular")
    bad = ok("dead")
    bad.error = (
        "connection refused by 127.0.0.1:1 (tcp:127.0.0.1:1): nothing is listening on that "
        "port, or a firewall rejects it"
    )
    board.cycle_finished(bad, time.time() + 30, "regular")
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(board.render(width=width))
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert all(len(line) <= width for line in lines)
    (dead,) = [line for line in lines if "dead" in line]
    assert "connection" in dead and "…" in dead
    assert not any("firewall" in line for line in lines)
    body = lines[lines.index(dead) - 1 : -1]
    assert len(body) == 2, "one line per station"


@pytest.mark.parametrize("level", ["primary", "secondary"])
def test_log_line_names_the_retry_level(level: str) -> None:
    out = io.StringIO()
    status = LogStatus([station("a")], out)
    bad = ok("a")
    bad.error = "link closed"
    status.cycle_finished(bad, 0.0, level)
    assert f"a: FAILED: link closed; next retry 1970-01-01T00:00:00Z ({level})" in (out.getvalue())


def test_live_status_redraws_and_routes_log_lines_above_the_table() -> None:
    import logging

    from rich.console import Console

    from fieldlink.collect.status import LiveStatus

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160, color_system=None)
    root = logging.getLogger()
    plain = logging.StreamHandler(sys.stderr)
    root.addHandler(plain)
    try:
        with LiveStatus([station("ridge")], console) as live:
            assert plain not in root.handlers, "stderr logging would tear the live table"
            live.cycle_started("ridge")
            live.table_progress("ridge", "Table1", 40)
            logging.getLogger("fieldlink.collect.engine").warning("HOLE in Table1")
            live.cycle_finished(ok("ridge", 40), time.time() + 60, "regular")
        assert plain in root.handlers
    finally:
        root.removeHandler(plain)
    text = out.getvalue()
    assert "collecting" in text and "Table1 40" in text
    assert "HOLE in Table1" in text
    assert "ok" in text and "40" in text


def test_a_cycle_that_stored_records_before_failing_is_not_a_failure() -> None:
    """Issue 13: cut after storing records -> no failure count, the rest comes soon."""
    attempts: list[float] = []
    retry = RetryPolicy(primary_retries=1, primary_interval=5, secondary_interval=40)
    stations = [station("cut", interval=3600, retry=retry)]
    loop = VirtualTimeLoop(start=1000.0)

    async def cycle(s: StationConfig) -> CycleResult:
        attempts.append(loop.time())
        r = ok(s.name, 50)  # 50 records stored, then the link was cut
        r.error = "link closed"
        return r

    async def main() -> None:
        stop = asyncio.Event()
        board = StatusBoard(stations)
        task = asyncio.create_task(
            collect_forever(stations, cycle, board, stop=stop, clock=loop.time)
        )
        await asyncio.sleep(22)
        stop.set()
        await asyncio.wait_for(task, 1)

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    # Never the secondary level (which would wait 40 s after the second try).
    assert attempts == [1000.0, 1005.0, 1010.0, 1015.0, 1020.0]
