"""A cut link no longer ends the cycle (issue 13): reconnect, resume, bounded backoff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from collect_fakes import FakeLogger, FakeTable, MemorySink, make_table

from fieldlink.collect.config import DEFAULT_RECONNECTS, RetryPolicy, StationConfig, parse_stations
from fieldlink.collect.engine import reconnect_delay, run_cycle
from fieldlink.collect.results import CycleResult
from fieldlink.collect.schedule import StationSchedule
from fieldlink.errors import ConfigError, LinkClosed, LinkTimeout, PermissionDenied, StoreError
from fieldlink.pakbus.protocol.model import Record, TableDef
from fieldlink.store.base import Sink


class FlakyLogger(FakeLogger):
    """Each connection sends ``script[i]`` records (the last entry repeats), then the link
    breaks with ``error``; ``None`` in the script lets that connection finish."""

    def __init__(self, table: FakeTable, script: Sequence[int | None], error: type = LinkClosed):
        super().__init__(table)
        self.script = list(script)
        self.error = error
        self.connections = 0
        self.budget: int | None = None

    def connected(self) -> None:
        i = min(self.connections, len(self.script) - 1)
        self.budget = self.script[i]
        self.connections += 1

    async def collect(  # type: ignore[override]
        self, table: TableDef, *, since_record: int | None = None, newest: int | None = None
    ) -> AsyncIterator[Record]:
        async for record in super().collect(table, since_record=since_record, newest=newest):
            if self.budget is not None:
                if self.budget <= 0:
                    raise self.error("link cut by the test")
                self.budget -= 1
            yield record


def connector(logger: FlakyLogger, refuse_after: int | None = None):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def connect(station):  # type: ignore[no-untyped-def]
        if refuse_after is not None and logger.connections >= refuse_after:
            logger.connections += 1
            raise LinkClosed("connection refused by the test")
        logger.connected()
        yield logger

    return connect


def station(**kw: object) -> StationConfig:
    base: dict[str, object] = {"name": "ridge", "url": "tcp:h:1", "batch_size": 7, "clock": None}
    base.update(kw)
    return StationConfig(**base)  # type: ignore[arg-type]


def run(
    cfg: StationConfig, logger: FlakyLogger, sink: Sink, refuse_after: int | None = None
) -> tuple[CycleResult, list[float]]:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def sinks_for(_: StationConfig, table: str) -> Sequence[Sink]:
        return [sink]

    result = asyncio.run(run_cycle(cfg, connector(logger, refuse_after), sinks_for, sleep=sleep))
    return result, sleeps


def flaky(count: int, script: Sequence[int | None], error: type = LinkClosed) -> FlakyLogger:
    table = FakeTable(make_table(size=10_000))
    table.store(count)
    return FlakyLogger(table, script, error)


@pytest.mark.parametrize("error", [LinkClosed, LinkTimeout])
def test_a_cut_table_finishes_in_one_cycle(error: type) -> None:
    logger = flaky(100, [30], error)  # every connection is cut after 30 records
    sink = MemorySink()
    result, sleeps = run(station(reconnects=1), logger, sink)
    assert result.ok, result.error
    assert sink.numbers("ridge", "Table1") == list(range(100))
    assert result.records == 100 and result.reconnects == 3 and logger.connections == 4
    assert sleeps == [reconnect_delay(0)] * 3  # each reconnect followed progress
    assert "3 reconnects" in result.summary()


def test_reconnects_without_progress_are_bounded_with_backoff() -> None:
    logger = flaky(100, [10, 0])  # 10 records, then nothing more ever arrives
    sink = MemorySink()
    result, sleeps = run(station(reconnects=3), logger, sink)
    assert not result.ok and result.error_kind == "LinkClosed"
    assert sink.numbers("ridge", "Table1") == list(range(10))
    assert logger.connections == 5  # the first (productive), then 1 + 3 fruitless ones
    assert sleeps == [reconnect_delay(n) for n in (0, 1, 2, 3)]
    assert sleeps == sorted(sleeps) and sleeps[0] < sleeps[-1]
    assert result.progressed  # stored records: the scheduler does not count it failed


def test_a_reconnect_that_stores_records_resets_the_count() -> None:
    # two fruitless reconnects, then progress, again and again: never more than 2 in a row
    logger = flaky(60, [10, 0, 0, 10, 0, 0, 10, 0, 0, 10, 0, 0, 10, 0, 0, 10, 0, 0, None])
    sink = MemorySink()
    result, _ = run(station(reconnects=2), logger, sink)
    assert result.ok, result.error
    assert sink.numbers("ridge", "Table1") == list(range(60))


def test_reconnects_zero_ends_at_the_first_cut() -> None:
    logger = flaky(100, [30])
    result, sleeps = run(station(reconnects=0), logger, MemorySink())
    assert not result.ok and result.records == 30 and sleeps == [] and logger.connections == 1


def test_a_station_that_cannot_be_reached_at_all_is_not_retried_in_the_cycle() -> None:
    logger = flaky(100, [None])
    result, sleeps = run(station(reconnects=5), logger, MemorySink(), refuse_after=0)
    assert not result.ok and result.error_kind == "LinkClosed"
    assert logger.connections == 1 and sleeps == []


def test_a_refused_reconnect_counts_as_fruitless() -> None:
    logger = flaky(100, [30])
    result, sleeps = run(station(reconnects=2), logger, MemorySink(), refuse_after=1)
    assert not result.ok and result.records == 30
    assert logger.connections == 4 and len(sleeps) == 3  # after progress, then 2 refused


@pytest.mark.parametrize(
    "error", [StoreError("disk full"), PermissionDenied("wrong security code")]
)
def test_only_link_failures_are_reconnected(error: Exception) -> None:
    logger = flaky(100, [None])

    async def fail(*args: object, **kw: object) -> None:
        raise error

    logger.table_defs = fail  # type: ignore[assignment,method-assign]
    result, sleeps = run(station(reconnects=5), logger, MemorySink())
    assert not result.ok and result.error_kind == type(error).__name__ and sleeps == []


def test_backoff_doubles_up_to_a_cap() -> None:
    delays = [reconnect_delay(n) for n in range(12)]
    assert delays[1] == 2 * delays[0] and delays[2] == 2 * delays[1]
    assert delays == sorted(delays) and delays[-1] == delays[-2] <= 60


# --- configuration and schedule ---------------------------------------------------------------


def test_the_stations_file_key(tmp_path: Path) -> None:
    base = '[[station]]\nname = "a"\nurl = "tcp:h:1"\n'
    (a,) = parse_stations(base, base_dir=tmp_path).stations
    assert a.reconnects == DEFAULT_RECONNECTS > 0
    (a,) = parse_stations(base + "reconnects = 0\n", base_dir=tmp_path).stations
    assert a.reconnects == 0
    text = "[defaults]\nreconnects = 9\n" + base
    (a,) = parse_stations(text, base_dir=tmp_path).stations
    assert a.reconnects == 9
    with pytest.raises(ConfigError, match=r"line 4, key station\[1\]\.reconnects"):
        parse_stations(base + "reconnects = -1\n", base_dir=tmp_path)


def test_a_cycle_that_progressed_is_not_a_failure() -> None:
    schedule = StationSchedule(3600.0, RetryPolicy(primary_retries=1, primary_interval=60.0))
    schedule.failed(0.0)
    schedule.failed(100.0)
    assert schedule.level == "secondary"
    due = schedule.progressed(200.0)
    assert schedule.failures == 0 and schedule.level == "regular"
    assert due == 260.0  # the rest soon, not at the next hourly slot


def test_one_cycle_through_an_emulator_cut_every_12_kb(tmp_path: Path) -> None:
    """The e2e test's link (cut every 12 kB) now needs one cycle, not one per cut."""
    from collect_emulators import (
        assert_sqlite_matches,
        emulator,
        running,
        sqlite_records,
        station_for,
        text_numbers,
    )

    from fieldlink.collect.connect import connect_client
    from fieldlink.collect.sinks import SinkPool

    emu = emulator(tmp_path, records=1500, size=2000, faults="disconnect-after=12000")
    with running([emu]) as (url,), SinkPool() as pool:
        config = station_for(url, tmp_path, batch_size=10, reconnects=3)
        result = asyncio.run(run_cycle(config, connect_client, pool.for_table))
        truth = emu.station.records("Small")
    assert result.ok, result.error
    assert result.records == 1500 and result.reconnects >= 2
    assert_sqlite_matches(truth, sqlite_records(tmp_path / "all.sqlite", "ridge"))
    assert text_numbers(tmp_path / "toa5" / "ridge_Small.dat", 4) == list(range(1500))
    assert text_numbers(tmp_path / "csv" / "ridge_Small.csv", 1) == list(range(1500))
