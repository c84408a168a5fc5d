"""Instruments collected through faulty links: every cycle stores the truth or says it failed.

The emulators drop and corrupt their replies; the collector samples the TDR100 and the
Tracer cycle after cycle into SQLite.  A corrupted reply must be asked again or the
cycle reported failed -- never a wrong value stored -- and the records that were
stored are numbered on without gaps or repeats.  A soak (``slow``): CI runs a short
version with ``FIELDLINK_SOAK=short``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from fieldlink.collect.config import SinkSpec, StationConfig
from fieldlink.collect.connect import connect_client
from fieldlink.collect.engine import run_cycle
from fieldlink.collect.sinks import SinkPool
from fieldlink.tdr100.emulator import TDR100Emulator
from fieldlink.tdr100.emulator.scene import DEFAULT_SOILS
from fieldlink.tracer.emulator.host import TracerEmulator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tracer"))
from tracer_support import NOON, frozen_model

FAULTS = "drop=0.05,corrupt=0.03"
CYCLES = 6 if os.environ.get("FIELDLINK_SOAK") == "short" else 40


def _collect(station: StationConfig, cycles: int) -> list[bool]:
    pool = SinkPool()
    try:
        return [
            asyncio.run(run_cycle(station, connect_client, pool.for_table)).ok
            for _ in range(cycles)
        ]
    finally:
        pool.close()


def _rows(database: Path, table: str) -> tuple[list[str], list[tuple[object, ...]]]:
    with sqlite3.connect(database) as db:
        cursor = db.execute(f'SELECT * FROM "{table}" ORDER BY "record"')
        return [d[0] for d in cursor.description], cursor.fetchall()


@pytest.mark.slow
def test_tracer_samples_through_a_faulty_link_are_the_truth_or_missing(tmp_path: Path) -> None:
    model = frozen_model(NOON + dt.timedelta(minutes=1))
    database = tmp_path / "tracer.sqlite"
    with TracerEmulator(model=model, faults=FAULTS, seed=11).running() as emu:
        assert emu.url is not None
        station = StationConfig(
            name="power", url=emu.url, kind="tracer", timeout=1.0, clock=None,
            sinks=(SinkSpec("sqlite", database),),
        )  # fmt: skip
        outcomes = _collect(station, CYCLES)
        truth = round(model.battery_voltage, 2)
    names, rows = _rows(database, "power_Tracer")
    assert len(rows) == outcomes.count(True) > 0
    assert [r[names.index("record")] for r in rows] == list(range(1, len(rows) + 1))
    assert {r[names.index("battery_voltage")] for r in rows} == {truth}


@pytest.mark.slow
def test_tdr100_sweeps_through_a_faulty_link_measure_the_soils_or_say_so(tmp_path: Path) -> None:
    database = tmp_path / "soil.sqlite"
    with TDR100Emulator(faults=FAULTS, seed=12).running() as emu:
        assert emu.url is not None
        station = StationConfig(
            name="soil", url=emu.url, kind="tdr100", timeout=2.0, clock=None,
            sinks=(SinkSpec("sqlite", database),), options={"channels": "1.1-1.8"},
        )  # fmt: skip
        outcomes = _collect(station, max(3, CYCLES // 4))
    names, rows = _rows(database, "soil_TDR100")
    assert len(rows) == outcomes.count(True) > 0
    assert [r[names.index("record")] for r in rows] == list(range(1, len(rows) + 1))
    for row in rows:
        failed = row[names.index("failed")]
        for channel, soil in enumerate(DEFAULT_SOILS, start=1):
            theta = row[names.index(f"c1_{channel}_theta")]
            if isinstance(theta, float) and theta == theta:  # measured (a failed one is NaN)
                assert theta == pytest.approx(soil.water_content, abs=0.03)
        assert isinstance(failed, int | float)


@pytest.mark.slow
def test_a_batlab_discharge_through_a_lossy_link_finishes_and_adds_up() -> None:
    """Replies lost on the way (the Batlab protocol has no checksum, so only drops can be
    soaked): each is asked again, the discharge finishes, and the charge it counts is the
    charge the emulated cell gave."""
    from fieldlink.batlab.client import Batlab
    from fieldlink.batlab.emulator import BatlabEmulator, make_units
    from fieldlink.batlab.settings import TestSettings
    from fieldlink.batlab.workflow import TestKind

    unit = make_units(1, speed=200, reset_silence=0.1, capacity_ah=0.3)[0]
    battery = unit.cells[1].battery
    assert battery is not None
    soc_before = battery.soc
    with BatlabEmulator(unit, pty=False, faults="drop=0.05", seed=13).running() as host:
        assert host.url is not None
        with Batlab(host.url, timeout=0.3) as b:
            run = b.start_test(
                TestSettings(reporting_period=0.1), TestKind.DISCHARGE, {1: TestKind.DISCHARGE}
            )
            summaries = b.run_test(run, poll=0.1)
            resends = b.session.stats.resends
    summary = summaries[1]
    given = (soc_before - battery.soc) * battery.capacity_ah * 3600  # coulombs the cell gave
    assert summary.fault is None
    assert resends > 0  # the faults did bite
    assert summary.capacity_coulombs == pytest.approx(given, rel=0.1)
