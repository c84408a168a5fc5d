"""The collector source: a Tracer station sampled into SQLite by the collection engine."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from tracer_support import frozen_model

from fieldlink.collect.config import SinkSpec, StationConfig
from fieldlink.collect.engine import run_cycle
from fieldlink.collect.sampled import open_sampled
from fieldlink.collect.sinks import SinkPool
from fieldlink.errors import ConfigError
from fieldlink.tracer.emulator.host import TracerEmulator
from fieldlink.tracer.emulator.model import TracerModel
from fieldlink.tracer.source import MT5_TABLE, STATS_TABLE, TRACER_TABLE, SourceOptions


def model() -> TracerModel:
    return frozen_model()


def collect(url: str, database: Path, options: dict[str, object], cycles: int) -> list[bool]:
    station = StationConfig(
        name="solar",
        url=url,
        kind="tracer",
        sinks=(SinkSpec("sqlite", database),),
        clock=None,
        timeout=1.0,
        options=options,
    )
    pool = SinkPool()
    try:
        results = [
            asyncio.run(run_cycle(station, open_sampled, pool.for_table)) for _ in range(cycles)
        ]
    finally:
        pool.close()
    for r in results:
        assert r.ok, r.error
    return [r.ok for r in results]


def rows(database: Path, suffix: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as db:
        names = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        table = next(n for n in names if n.endswith(suffix))
        return db.execute(f'select * from "{table}"').fetchall()


def test_modbus_station_sampled_into_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "solar.sqlite"
    m = model()
    with TracerEmulator(model=m).running() as emu:
        assert emu.url is not None
        collect(emu.url, db, {"protocol": "modbus", "unit": 1}, 2)
    data = rows(db, "_Tracer")
    assert len(data) == 2
    assert round(m.battery_voltage, 2) in data[0]
    assert "equalization" in data[0]
    assert len(rows(db, "_TracerStats")) == 2


def test_mt5_station(tmp_path: Path) -> None:
    db = tmp_path / "solar.sqlite"
    with TracerEmulator(model=model(), protocol="mt5").running() as emu:
        assert emu.url is not None
        collect(emu.url, db, {"protocol": "mt5"}, 1)
    assert len(rows(db, "_TracerMT5")) == 1


def test_options_are_checked() -> None:
    assert SourceOptions.parse({}).tables() == [TRACER_TABLE, STATS_TABLE]
    assert SourceOptions.parse({"statistics": False}).tables() == [TRACER_TABLE]
    assert SourceOptions.parse({"protocol": "mt5"}).tables() == [MT5_TABLE]
    for bad, key in (
        ({"protocol": "can"}, "options.protocol"),
        ({"unit": 0}, "options.unit"),
        ({"framing": "ascii"}, "options.framing"),
        ({"channels": [1]}, "options.channels"),
        ({"statistics": "yes"}, "options.statistics"),
    ):
        with pytest.raises(ConfigError, match=key):
            SourceOptions.parse(bad)
