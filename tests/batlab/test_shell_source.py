"""The interactive shell (scripted stdin, completion) and the collector source."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import sqlite3
import time
from pathlib import Path

import pytest

from fieldlink.batlab.emulator import BatlabEmulator, BatlabUnit, make_units
from fieldlink.batlab.pool import Pool
from fieldlink.batlab.registers import CellRegister, Mode, UnitRegister
from fieldlink.batlab.shell import BatlabShell
from fieldlink.batlab.source import open_sampler
from fieldlink.collect.config import SinkSpec, StationConfig
from fieldlink.errors import ConfigError


def run_shell(pool: Pool, script: str) -> str:
    out = io.StringIO()
    shell = BatlabShell(pool, stdin=io.StringIO(script), stdout=out)
    shell.cmdloop()
    return out.getvalue()


@pytest.fixture
def unit() -> BatlabUnit:
    return make_units(1)[0]


def test_shell_session(unit: BatlabUnit) -> None:
    with BatlabEmulator(unit, pty=False).running() as host:
        assert host.url
        with Pool([host.url]) as pool:
            pool.refresh()
            text = run_shell(
                pool,
                "help\nlist\nread unit FIRMWARE_VER\nread 0 VOLTAGE\n"
                "write 1 CURRENT_SETPOINT 0.5A\n"
                "discharge 1\nmeasure 1\nstop 1\nwrite unit FIRMWARE_VER 3\nread 9 MODE\nbogus\n"
                "firmware\nimpedance 2 0.7\nimpedance 2 x\nquit\n",
            )
            assert unit.cell_register(1, CellRegister.CURRENT_SETPOINT) == 64
            assert unit.cell_register(1, CellRegister.MODE) == Mode.STOPPED
    assert "Documented commands" in text and "discharge" in text
    assert "* SN 262222  firmware 7" in text
    assert "\n7\n" in text or "7  " in text
    assert " V" in text and "cell 1: DISCHARGE" in text
    assert "error: register FIRMWARE_VER is read-only" in text
    assert "error: namespace '9'" in text
    assert "unknown command 'bogus'" in text
    assert "firmware version 7" in text and " ohm" in text
    assert "error: 'x' is not a number of seconds" in text


def test_shell_completion(unit: BatlabUnit) -> None:
    shell = BatlabShell(Pool([]), stdin=io.StringIO(""), stdout=io.StringIO())
    assert "unit" in shell.complete_read("u", "read u", 5, 6)
    assert shell.complete_read("VOLT", "read 0 VOLT", 7, 11) == [
        "VOLTAGE", "VOLTAGE_LIMIT_CHG", "VOLTAGE_LIMIT_DCHG", "VOLTAGE_PP", "VOLTAGE_CALIB_PP",
        "VOLT_CALIB_PP_OFF",
    ]  # fmt: skip
    assert shell.complete_write("FIRM", "write unit FIRM", 11, 15) == ["FIRMWARE_VER"]
    assert shell.complete_write("DIS", "write 0 MODE DIS", 13, 16) == ["DISCHARGE"]
    assert "measure" in shell.completenames("mea")


def test_shell_without_units() -> None:
    text = run_shell(Pool([]), "list\nmeasure\nquit\n")
    assert "no Batlab connected" in text and "error: no Batlab connected" in text


def station(url: str, database: Path, **options: object) -> StationConfig:
    return StationConfig(
        name="lab",
        url=url,
        kind="batlab",
        timeout=1.0,
        sinks=(SinkSpec("sqlite", database),),
        clock=None,
        options=options,
    )


def test_collector_source_into_sqlite(unit: BatlabUnit, tmp_path: Path) -> None:
    from fieldlink.collect.engine import run_cycle
    from fieldlink.collect.sampled import open_sampled
    from fieldlink.collect.sinks import SinkPool

    database = tmp_path / "lab.sqlite"
    with BatlabEmulator(unit, pty=False).running() as host:
        assert host.url
        config = station(host.url, database, cells=[0, 2])
        pool = SinkPool()
        try:
            results = [
                asyncio.run(run_cycle(config, open_sampled, pool.for_table)) for _ in range(2)
            ]
        finally:
            pool.close()
        # Sampling does not disturb the unit: no handshake, no mode writes.
        assert unit.unit_register(UnitRegister.SETTINGS) == 0  # watchdog never enabled
    assert [r.ok for r in results] == [True, True], [r.error for r in results]
    with sqlite3.connect(database) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        cells = next(t for t in tables if "Cells" in t)
        columns = [r[1] for r in db.execute(f'pragma table_info("{cells}")')]
        rows = db.execute(f'select c0_voltage, c2_mode, c2_temperature from "{cells}"').fetchall()
    assert "c1_voltage" not in columns
    assert len(rows) == 2 and all(3.0 < r[0] < 4.3 and r[1] == "IDLE" for r in rows)
    assert all(20 < r[2] < 30 for r in rows)


@pytest.mark.parametrize(
    "options", [{"cells": [5]}, {"cells": "all"}, {"colour": 1}, {"handshake": "yes"}]
)
def test_source_options_checked(options: dict[str, object], tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        open_sampler(station("tcp:127.0.0.1:1", tmp_path / "x.sqlite", **options))


def test_recorder_numbers_continue_across_runs(tmp_path: Path) -> None:
    from fieldlink.batlab.recorder import TestRecorder
    from fieldlink.batlab.testrun import EventKind, TestEvent
    from fieldlink.batlab.workflow import LogPeriodic, Reading, State
    from fieldlink.store import SqliteSink

    reading = Reading(1.0, dt.datetime(2026, 1, 1), 4, 0, 3.7, 2.0, 25.0, 10.0)
    event = TestEvent(EventKind.SAMPLE, 0, LogPeriodic(reading, State.DISCHARGE, 37.0, 256))
    for _ in range(2):
        sink = SqliteSink(tmp_path / "r.sqlite")
        rec = TestRecorder(262222, sinks=[sink])
        rec.event(event)
        rec.close()
        sink.close()
    with sqlite3.connect(tmp_path / "r.sqlite") as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        samples = next(t for t in tables if "Samples" in t)
        numbers = [r[0] for r in db.execute(f'select * from "{samples}"')]
    assert len(numbers) == 2 and numbers[0] != numbers[1]


def test_shell_background_test_status_and_abort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.chdir(tmp_path)
    unit = make_units(1, speed=300, capacity_ah=0.1)[0]
    playlist = tmp_path / "p.json"
    playlist.write_text(json.dumps({"cellPlaylistName": "Sh", "reportingPeriod": 0.1,
                                    "restPeriod": 60}))  # fmt: skip
    with BatlabEmulator(unit, pty=False).running() as host:
        assert host.url
        with Pool([host.url]) as pool:
            pool.refresh()
            out = io.StringIO()
            shell = BatlabShell(pool, stdin=io.StringIO(""), stdout=out)
            shell.onecmd(f"test {playlist} discharge 0")
            assert shell._test is not None
            shell._test.join(timeout=60)
            shell.onecmd("status")
            shell.onecmd(f"test {playlist} cycle 1")  # precharge, then a 60 s rest
            end = time.monotonic() + 30
            while "CHARGEREST" not in shell._latest.get(1, "") and time.monotonic() < end:
                time.sleep(0.05)
            shell.onecmd(f"test {playlist}")
            shell.onecmd("abort")
            shell.onecmd("status")
    text = out.getvalue()
    assert "discharge test started on SN 262222" in text
    assert "cell 0: done, ok, capacity" in text
    assert "error: a test is already running" in text
    assert "test stopped" in text and "aborted from the shell" in text
    assert unit.cell_register(1, CellRegister.MODE) == Mode.STOPPED
    assert "DISCHARGE" in (tmp_path / "batlab-log_Sh.csv").read_text()
