"""Issue 13's soaks for the logger: faults in one ``update`` run, SIGKILLs, 200 clients.

Each compares with the emulator's ground truth: every record exactly once, values
as the logger holds them.  Marked slow; with FIELDLINK_SOAK=short (what CI runs) each
is a small version of the same test.  The full sizes are what docs/RELIABILITY.md
reports.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from collect_emulators import (
    START,
    assert_sqlite_matches,
    emulator,
    running,
    sqlite_records,
    text_numbers,
)

from fieldlink.collect.connect import connect_client
from fieldlink.collect.update import run_update, update_station
from fieldlink.kit.faults import Faults
from fieldlink.pakbus.client import AsyncDatalogger
from fieldlink.pakbus.emulator.station import ManualClock

SHORT = os.environ.get("FIELDLINK_SOAK", "").lower() == "short"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_update_through_drops_corruption_and_cuts_in_one_run(tmp_path: Path) -> None:
    """Drop 5 %, corrupt 1 %, a cut every 50 kB: one ``update`` run, exactly once."""
    count, cut = (1_500, 10_000) if SHORT else (100_000, 50_000)
    emu = emulator(
        tmp_path,
        records=count,
        size=count + 10,
        seed=13,
        faults=f"drop=0.05,corrupt=0.01,disconnect-after={cut}",
    )
    db = tmp_path / "ridge.sqlite"
    with running([emu]) as (url,):
        config = update_station(url, "Small", db, station="ridge", timeout=1.0, reconnects=10)
        result = asyncio.run(run_update(config, connect_client))
        truth = emu.station.records("Small")
    print(f"\nupdate soak: {result.summary()}")
    assert result.ok, result.error
    assert len(truth) == count and result.records == count
    assert_sqlite_matches(truth, sqlite_records(db, "ridge"))
    assert result.reconnects >= (2 if SHORT else 20)  # the cuts happened, and were reconnected


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_collect_killed_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """SIGKILL ``fieldlink collect`` at random moments, restart, compare (SQLite, TOA5)."""
    kills = 3 if SHORT else 20
    count = 1_200 if SHORT else 20_000
    rng = random.Random(20)
    emu = emulator(tmp_path, records=count, size=count + 10, faults="delay=0.05")
    config = tmp_path / "stations.toml"
    with running([emu]) as (url,):
        config.write_text(
            "[defaults]\n"
            'tables = ["Small"]\nbatch_size = 20\ntimeout = "3s"\nclock = false\n'
            'sinks = [{kind = "sqlite", path = "data/all.sqlite"},\n'
            '         {kind = "toa5", path = "data/toa5"}]\n'
            f'[[station]]\nname = "ridge"\nurl = "{url}"\n'
        )
        dat = tmp_path / "data" / "toa5" / "ridge_Small.dat"
        killed = 0
        for _ in range(3 * kills):
            if killed == kills:
                break
            proc = subprocess.Popen(
                [sys.executable, "-m", "fieldlink", "collect", str(config), "--once", "--plain"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            # Wait until this run is storing (the file grows), then a random moment more:
            # mid-batch, between batches, inside a write.
            before = count_lines(dat)
            deadline = time.monotonic() + 60
            while count_lines(dat) <= before and proc.poll() is None:
                assert time.monotonic() < deadline, "the collector stored nothing"
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.5))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                killed += 1
            proc.wait(60)
            if dat.exists() and len(text_numbers(dat, 4)) == count:
                break
        emu.faults = Faults()
        final = subprocess.run(
            [sys.executable, "-m", "fieldlink", "collect", str(config), "--once", "--plain"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        truth = emu.station.records("Small")
    print(f"\nSIGKILL soak: {killed} kills landed, {count} records")
    assert final.returncode == 0, final.stdout + final.stderr
    assert killed == kills or (SHORT and killed >= 1), f"only {killed} kills landed"
    assert len(truth) == count
    db = tmp_path / "data" / "all.sqlite"
    assert_sqlite_matches(truth, sqlite_records(db, "ridge"))
    assert text_numbers(dat, 4) == list(range(count))
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else -1


def _rss_kb() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_many_concurrent_clients_no_error_no_leak(tmp_path: Path) -> None:
    """200 API clients against one emulator for a bounded time; fds and memory come back."""
    clients = 20 if SHORT else 200
    seconds = 3.0 if SHORT else 90.0
    emu = emulator(tmp_path, records=300, clock=ManualClock(START))

    async def client(url: str, stop: float, counts: list[int]) -> None:
        async with AsyncDatalogger.from_url(url, timeout=30.0) as lg:
            tdef = await lg.table_def("Small")
            while time.monotonic() < stop:
                got = [r async for r in lg.collect(tdef, newest=5)]
                assert [r.number for r in got] == list(range(295, 300))
                counts.append(1)

    async def load(url: str) -> int:
        counts: list[int] = []
        stop = time.monotonic() + seconds
        await asyncio.gather(*(client(url, stop, counts) for _ in range(clients)))
        return len(counts)

    with running([emu]) as (url,):
        asyncio.run(load(url))  # warm up: imports, caches, the emulator's first answers
        gc.collect()
        fds, rss = _open_fds(), _rss_kb()
        done = asyncio.run(load(url))
        gc.collect()
        time.sleep(0.5)  # the emulator closes its side of each connection
        fds_after, rss_after = _open_fds(), _rss_kb()
    print(f"\nload: {clients} clients, {seconds:.0f} s, {done} collections; fds {fds} -> "
          f"{fds_after}, RSS {rss} -> {rss_after} kB")  # fmt: skip
    assert done >= clients
    if fds >= 0:
        assert fds_after <= fds, f"{fds_after - fds} file descriptors leaked"
    if rss > 0:
        assert rss_after - rss < 64 * 1024, f"memory grew by {rss_after - rss} kB"
