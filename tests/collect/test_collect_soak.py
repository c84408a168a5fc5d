"""A long soak: many cycles over a bad link, the logger logging on, then the ground truth.

Marked slow.  With FIELDLINK_SOAK=short (what CI runs) it is a few cycles; without,
it runs long enough for every kind of fault to hit every phase of a cycle.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from collect_emulators import (
    START,
    assert_sqlite_matches,
    emulator,
    running,
    sqlite_records,
    station_for,
)

from fieldlink.collect.connect import connect_client
from fieldlink.collect.engine import run_cycle
from fieldlink.collect.sinks import SinkPool
from fieldlink.kit.faults import Faults
from fieldlink.pakbus.emulator.station import ManualClock

SHORT = os.environ.get("FIELDLINK_SOAK", "").lower() == "short"


@pytest.mark.slow
def test_soak_bad_link_many_cycles_nothing_lost_nothing_twice(tmp_path: Path) -> None:
    cycles = 6 if SHORT else 50
    clock = ManualClock(START)
    emu = emulator(
        tmp_path,
        records=300,
        size=400,
        clock=clock,
        seed=7,
        faults="drop=0.03,corrupt=0.02,disconnect-after=9000",
    )
    outcomes: list[bool] = []
    with running([emu]) as (url,), SinkPool() as pool:
        config = station_for(url, tmp_path, timeout=0.4, batch_size=15)
        for i in range(cycles):
            result = asyncio.run(run_cycle(config, connect_client, pool.for_table))
            outcomes.append(result.ok)
            clock.advance((17 + 13 * (i % 5)) * 60)  # 17..69 new records between cycles
        emu.faults = Faults()
        # A good link now, and patience for a loaded machine: this cycle must succeed.
        patient = station_for(url, tmp_path, timeout=5.0, batch_size=15)
        final = asyncio.run(run_cycle(patient, connect_client, pool.for_table))
        truth = emu.station.records("Small")
    assert final.ok, final.error
    assert not all(outcomes), "the faults should have failed some cycles"
    rows = sqlite_records(tmp_path / "all.sqlite", "ridge")
    assert_sqlite_matches(truth, rows)
    numbers = [r[0] for r in rows]
    assert numbers == sorted(set(numbers))
    # Whatever the ring overwrote while cycles failed is accounted for as holes.
    import sqlite3

    with sqlite3.connect(tmp_path / "all.sqlite") as db:
        lost = db.execute("SELECT coalesce(sum(records_lost), 0) FROM positions").fetchone()[0]
    assert len(numbers) + lost == truth[-1].number + 1
