"""The collector against the logger emulator over PakBus/TCP, checked against its ground truth.

Each test makes the link or the logger misbehave the way the field does (a cut
line, a ring buffer that wrapped, a new program, a table reset, a crash of the
collector itself) and then compares, record by record, what the emulator holds
with what every sink stored: nothing lost that the logger still had, nothing twice.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import time
from pathlib import Path

from collect_emulators import (
    EXTRA_FIELD,
    START,
    assert_sqlite_matches,
    emulator,
    running,
    small_station,
    sqlite_records,
    station_for,
    text_numbers,
)

from fieldlink.collect.config import ClockPolicy, SinkSpec, StationConfig
from fieldlink.collect.connect import connect_client
from fieldlink.collect.engine import run_cycle
from fieldlink.collect.results import CycleResult
from fieldlink.collect.sinks import SinkPool
from fieldlink.pakbus.client import Datalogger
from fieldlink.pakbus.emulator.crbasic import render_program
from fieldlink.pakbus.emulator.station import ManualClock


def cycle(config: StationConfig, pool: SinkPool) -> CycleResult:
    return asyncio.run(run_cycle(config, connect_client, pool.for_table))


def test_every_sink_matches_the_ground_truth_across_cycles(tmp_path: Path) -> None:
    clock = ManualClock(START)
    emu = emulator(tmp_path, records=120, clock=clock)
    with running([emu]) as (url,), SinkPool() as pool:
        config = station_for(url, tmp_path)
        first = cycle(config, pool)
        assert first.ok, first.error
        assert first.records == 120
        clock.advance(7 * 60)
        second = cycle(config, pool)
        assert second.ok and second.records == 7
        truth = emu.station.records("Small")
    assert [r.number for r in truth] == list(range(127))
    assert_sqlite_matches(truth, sqlite_records(tmp_path / "all.sqlite", "ridge"))
    assert text_numbers(tmp_path / "toa5" / "ridge_Small.dat", 4) == list(range(127))
    assert text_numbers(tmp_path / "csv" / "ridge_Small.csv", 1) == list(range(127))


def test_cut_link_mid_table_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    emu = emulator(tmp_path, records=1500, size=2000, faults="disconnect-after=12000")
    results = []
    with running([emu]) as (url,), SinkPool() as pool:
        config = station_for(url, tmp_path, batch_size=10)
        for _ in range(20):
            result = cycle(config, pool)
            results.append(result)
            if result.ok:
                break
        truth = emu.station.records("Small")
    failures = [r for r in results if not r.ok]
    assert results[-1].ok, [r.error for r in results]
    assert len(failures) >= 2, "the link should have been cut mid-table more than once"
    assert all(r.error_kind in ("LinkClosed", "LinkTimeout") for r in failures)
    assert all(r.records > 0 for r in failures), "each cut cycle keeps what arrived"
    assert sum(r.records for r in results) == 1500
    assert_sqlite_matches(truth, sqlite_records(tmp_path / "all.sqlite", "ridge"))
    assert text_numbers(tmp_path / "toa5" / "ridge_Small.dat", 4) == list(range(1500))
    assert text_numbers(tmp_path / "csv" / "ridge_Small.csv", 1) == list(range(1500))


def test_records_overwritten_in_the_ring_are_holes_in_every_sink(tmp_path: Path) -> None:
    clock = ManualClock(START)
    emu = emulator(tmp_path, records=50, size=100, clock=clock)
    with running([emu]) as (url,), SinkPool() as pool:
        config = station_for(url, tmp_path)
        assert cycle(config, pool).records == 50
        clock.advance(200 * 60)  # records 50..249 logged; the ring keeps 150..249
        result = cycle(config, pool)
        truth = emu.station.records("Small")
    assert result.ok, result.error
    assert [r.number for r in truth] == list(range(150, 250))
    (hole,) = result.table("Small").holes
    assert (hole.first, hole.last) == (50, 149)
    assert_sqlite_matches(truth, sqlite_records(tmp_path / "all.sqlite", "ridge"))
    import sqlite3

    with sqlite3.connect(tmp_path / "all.sqlite") as db:
        holes = db.execute("SELECT first_record, last_record FROM holes").fetchall()
        lost = db.execute("SELECT records_lost FROM positions").fetchone()[0]
    assert holes == [(50, 149)] and lost == 100
    for folder in ("toa5", "csv"):
        with open(tmp_path / folder / "holes.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert [(r["table"], r["first"], r["last"]) for r in rows] == [("Small", "50", "149")]
    assert text_numbers(tmp_path / "toa5" / "ridge_Small.dat", 4) == [*range(50), *range(150, 250)]


def test_new_program_starts_a_new_version_of_the_table(tmp_path: Path) -> None:
    clock = ManualClock(START)
    emu = emulator(tmp_path, records=30, clock=clock)
    new_program = small_station(tmp_path, extra_field=True).program
    assert new_program is not None and EXTRA_FIELD
    with running([emu]) as (url,), SinkPool() as pool:
        config = station_for(url, tmp_path)
        assert cycle(config, pool).records == 30
        with Datalogger.from_url(url, timeout=3.0) as logger:
            logger.send_program("CPU:ridge2.CR1", render_program(new_program).encode())
        clock.advance(4 * 60)
        result = cycle(config, pool)
        truth = emu.station.records("Small")
    assert result.ok, result.error
    assert result.table("Small").new_version
    assert [r.number for r in truth] == [0, 1, 2, 3] and "RH" in truth[0].values
    # the old version is untouched, the new one holds the new program's records
    assert [r[0] for r in sqlite_records(tmp_path / "all.sqlite", "ridge")] == list(range(30))
    assert_sqlite_matches(truth, sqlite_records(tmp_path / "all.sqlite", "ridge", version=2))
    files = sorted(p.name for p in (tmp_path / "toa5").glob("ridge_Small*.dat"))
    assert len(files) == 2 and files[0] == "ridge_Small.dat"
    assert text_numbers(tmp_path / "toa5" / files[1], 4) == [0, 1, 2, 3]
    with open(tmp_path / "toa5" / files[1], newline="") as f:
        assert "RH" in next(iter(list(csv.reader(f))[1:2]))


def test_table_reset_starts_a_new_version_instead_of_dropping_records(tmp_path: Path) -> None:
    clock = ManualClock(START)
    emu = emulator(tmp_path, records=40, clock=clock)
    with running([emu]) as (url,), SinkPool() as pool:
        config = station_for(url, tmp_path)
        assert cycle(config, pool).records == 40
        emu.station.reset_table("Small")
        clock.advance(3 * 60)
        result = cycle(config, pool)
        truth = emu.station.records("Small")
    assert result.ok, result.error
    assert result.table("Small").reset
    assert [r.number for r in truth] == [0, 1, 2]
    assert_sqlite_matches(truth, sqlite_records(tmp_path / "all.sqlite", "ridge", version=2))
    assert len(sqlite_records(tmp_path / "all.sqlite", "ridge", version=1)) == 40


def test_table_reset_mid_collection_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """Table Control resets the table while the collector is half-way through it."""
    clock = ManualClock(START)
    emu = emulator(tmp_path, records=1500, size=2000, clock=clock)
    reset_after: list[int] = []

    def progress(station: str, table: str, stored: int) -> None:
        if not reset_after:  # once, after the first batch: more answers are to come
            reset_after.append(stored)
            assert emu.station.reset_table("Small") == 0
            clock.advance(3 * 60)

    with running([emu]) as (url,), SinkPool() as pool:
        old_run = emu.station.records("Small")
        config = station_for(url, tmp_path, batch_size=10)
        result = asyncio.run(run_cycle(config, connect_client, pool.for_table, progress=progress))
        new_run = emu.station.records("Small")
        again = cycle(config, pool)
    assert result.ok, result.error
    assert reset_after == [10]
    assert result.table("Small").reset
    assert [r.number for r in new_run] == [0, 1, 2]
    old_rows = sqlite_records(tmp_path / "all.sqlite", "ridge", version=1)
    kept = len(old_rows)
    assert 10 <= kept < 1500, "the reset came mid-table"
    assert [r[0] for r in old_rows] == list(range(kept)), "the old run, once each, no gap"
    assert_sqlite_matches(old_run[:kept], old_rows)
    assert_sqlite_matches(new_run, sqlite_records(tmp_path / "all.sqlite", "ridge", version=2))
    assert result.records == kept + 3
    files = sorted(p.name for p in (tmp_path / "toa5").glob("ridge_Small*.dat"))
    assert len(files) == 2
    assert text_numbers(tmp_path / "toa5" / files[0], 4) == list(range(kept))
    assert text_numbers(tmp_path / "toa5" / files[1], 4) == [0, 1, 2]
    csv_files = sorted(p.name for p in (tmp_path / "csv").glob("ridge_Small*.csv"))
    assert [text_numbers(tmp_path / "csv" / f, 1) for f in csv_files] == [
        list(range(kept)),
        [0, 1, 2],
    ]
    assert again.ok and again.records == 0 and not again.table("Small").reset


def test_clock_beyond_the_allowed_deviation_is_set(tmp_path: Path) -> None:
    # A logger clock two minutes behind that runs on (the station keeps UTC): one that
    # stood still would fall behind again between the cycles, by however long they took.
    # (An hour behind is now refused as a likely zone mistake: beyond [clock] max_step.)
    emu = emulator(tmp_path, records=5, clock=lambda: time.time() - 120)
    with running([emu]) as (url,), SinkPool() as pool:
        config = station_for(url, tmp_path, clock=ClockPolicy(allowed_deviation=5, set_clock=True))
        first = cycle(config, pool)
        second = cycle(config, pool)
    assert first.ok and first.clock is not None
    assert first.clock.was_set and abs(first.clock.deviation + 120) < 5
    assert second.clock is not None and second.clock.within and not second.clock.was_set


def test_sink_that_cannot_write_fails_its_station_only(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the TOA5 folder should go")
    emus = [emulator(tmp_path, "good", records=20), emulator(tmp_path, "bad", records=20)]
    with running(emus) as (good_url, bad_url), SinkPool() as pool:
        good = station_for(good_url, tmp_path, "good")
        bad = station_for(
            bad_url,
            tmp_path,
            "bad",
            sinks=(
                SinkSpec("sqlite", tmp_path / "all.sqlite"),
                SinkSpec("toa5", blocker / "toa5"),
            ),
        )

        async def both() -> list[CycleResult]:
            return list(
                await asyncio.gather(
                    run_cycle(good, connect_client, pool.for_table),
                    run_cycle(bad, connect_client, pool.for_table),
                )
            )

        good_result, bad_result = asyncio.run(both())
    assert good_result.ok and good_result.records == 20
    assert not bad_result.ok and bad_result.error_kind == "StoreError"
    assert str(blocker) in (bad_result.error or "")
    import sqlite3

    with sqlite3.connect(tmp_path / "all.sqlite") as db:
        positions = dict(db.execute("SELECT station, last_record FROM positions"))
    assert positions.get("good") == 19
    assert positions.get("bad") is None, "nothing of the failed station's table was stored"


def test_station_time_zone_gives_utc_beside_logger_time(tmp_path: Path) -> None:
    emu = emulator(tmp_path, records=3)
    with running([emu]) as (url,), SinkPool() as pool:
        zone = dt.timezone(dt.timedelta(hours=-7))
        result = cycle(station_for(url, tmp_path, timezone=zone, timezone_name="UTC-7"), pool)
    assert result.ok
    for row in sqlite_records(tmp_path / "all.sqlite", "ridge"):
        local = dt.datetime.fromisoformat(str(row[1]))
        assert dt.datetime.fromisoformat(str(row[2])) == local + dt.timedelta(hours=7)
