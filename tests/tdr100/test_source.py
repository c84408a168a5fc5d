"""The collector source: one record per sweep into the same sinks, options checked."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from pathlib import Path

import pytest

from fieldlink.collect.config import SinkSpec, StationConfig
from fieldlink.collect.engine import run_cycle
from fieldlink.collect.sampled import open_sampled
from fieldlink.collect.sinks import SinkPool
from fieldlink.errors import ConfigError
from fieldlink.tdr100.emulator import DEFAULT_SOILS, Scene, TDR100Emulator, Timing
from fieldlink.tdr100.protocol import MuxPath
from fieldlink.tdr100.source import field_prefix, open_sampler

FAST = Scene(timing=Timing(overhead=0.02, per_sample=1e-7, power_up=0.01))


def _station(url: str, database: Path, **options: object) -> StationConfig:
    return StationConfig(
        name="field", url=url, kind="tdr100", timeout=2.0,
        sinks=(SinkSpec("sqlite", database),), clock=None, options=options,
    )  # fmt: skip


def test_field_prefix() -> None:
    assert field_prefix(MuxPath.parse("1.3")) == "c1_3"
    assert field_prefix(MuxPath.parse("1.2/2.5")) == "c1_2_2_5"
    assert field_prefix(MuxPath()) == "c0"


def test_each_cycle_stores_one_sweep_record(tmp_path: Path) -> None:
    database = tmp_path / "tdr.sqlite"
    waves = tmp_path / "waves"
    with TDR100Emulator(FAST, pty=True).running() as emu:
        assert emu.url is not None
        station = _station(emu.url, database, channels="1.1-1.3,1.1/2.4", waveforms=str(waves))
        pool = SinkPool()
        try:
            results = [
                asyncio.run(run_cycle(station, open_sampled, pool.for_table)) for _ in range(2)
            ]
        finally:
            pool.close()
    assert [r.ok for r in results] == [True, True], [r.error for r in results]
    with sqlite3.connect(database) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        name = next(t for t in tables if "TDR100" in t)
        cursor = db.execute(f'select * from "{name}"')
        columns = [d[0] for d in cursor.description]
        records = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    assert len(records) == 2
    for rec in records:
        for i, soil in enumerate(DEFAULT_SOILS[:3], 1):
            assert rec[f"c1_{i}_theta"] == pytest.approx(soil.water_content, abs=0.02)
            assert rec[f"c1_{i}_ec"] == pytest.approx(soil.conductivity * 10, rel=0.05, abs=2e-3)
        assert rec["failed"] == 1  # 1.1/2.4 has no probe
        failed = rec["c1_1_2_4_theta"]
        assert failed is None or math.isnan(failed)
    assert len(list(waves.glob("TDR100_c1_1_*.csv"))) == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"colour": 1}, "unknown tdr100 option"),
        ({"channels": "1.9"}, "options"),
        ({"method": "magic"}, "topp"),
        ({"calibration": "1,2"}, "list"),
        ({"calibration": [1.0], "calibration_variable": "x"}, "calibration_variable"),
        ({"table": "no spaces"}, "table"),
    ],
)
def test_bad_options_name_the_key(tmp_path: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_sampler(_station("tcp:127.0.0.1:1", tmp_path / "x.sqlite", **options))
