"""Collectors as real processes sharing one database; one is killed (SIGKILL) mid-cycle.

Each collector is ``fieldlink collect STATIONS.toml`` in its own process, all with
the same stations file, like hosts of a fleet.  Once one of them is caught in the
middle of a station's cycle — some of the station's records stored, not all — it
is killed outright.  Its lease must run out, another collector must take the
station over, and in the end every station's records must be in the database
exactly once, equal to the emulators' ground truth.

The default run has two collectors and four stations; the slow one three collectors
and the issue's 50 stations (FIELDLINK_SOAK=short, as CI runs it: 12).  Three
collectors without a kill are also in test_fleet.py, in one process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from collect_emulators import emulator, running
from fleet_helpers import (
    PASSWORD_ENV,
    assert_exactly_once,
    fresh_dsn,
    query,
    server,
    stored_rows,
    with_password,
)

import fieldlink
from fieldlink.store.postgresql import PostgresSink
from fieldlink.store.throwaway import PG_PASSWORD, PostgresServer

SHORT = os.environ.get("FIELDLINK_SOAK", "").lower() == "short"
SRC = str(Path(fieldlink.__file__).resolve().parents[1])
_RUN = (
    "import sys; from fieldlink.collect.cli import collect_command; "
    "collect_command.main(sys.argv[1:], prog_name='fieldlink collect')"
)


@pytest.fixture(scope="module")
def pg() -> PostgresServer:
    return server()


def stations_toml(path: Path, dsn: str, urls: list[str]) -> Path:
    path.write_text(
        "[defaults]\n"
        "interval = 2\n"
        'tables = ["Small"]\n'
        "clock = false\n"
        "batch_size = 10\n"
        "timeout = 5\n"
        "retry = { primary_interval = 1 }\n"
        f'sinks = [{{ kind = "postgresql", dsn = "{dsn}", password_env = "{PASSWORD_ENV}", '
        "fleet = true, lease = 2 }]\n"
        + "".join(f'\n[[station]]\nname = "st{i}"\nurl = "{u}"\n' for i, u in enumerate(urls))
    )
    return path


def start_collector(name: str, toml: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC, "FIELDLINK_COLLECTOR": name,
           PASSWORD_ENV: PG_PASSWORD}  # fmt: skip
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", _RUN, str(toml), "--plain"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def run_fleet(tmp_path: Path, dsn: str, *, stations: int, collectors: int, records: int) -> None:
    emus = [
        emulator(tmp_path, f"st{i}", records=records, seed=i, faults="delay=0.1")
        for i in range(stations)
    ]
    last = records - 1
    PostgresSink(with_password(dsn)).close()  # the schema, for the queries below
    procs: dict[str, subprocess.Popen[bytes]] = {}
    with running(emus) as urls:
        toml = stations_toml(tmp_path / "stations.toml", dsn, urls)
        try:
            for n in range(collectors):
                name = f"C{n}"
                procs[name] = start_collector(name, toml, tmp_path / f"{name}.log")
            # Catch a collector in the middle of a station: some records stored, more to come.
            victim = station = None
            deadline = time.monotonic() + 60
            while victim is None and time.monotonic() < deadline:
                found = query(
                    dsn,
                    "SELECT l.holder, l.station FROM fleet_leases l JOIN positions p "
                    "USING (station) WHERE l.in_cycle AND l.expires_utc > now() "
                    "AND p.last_record BETWEEN 0 AND %s LIMIT 1",
                    last - 40,
                )
                if found:
                    victim, station = found[0]
                else:
                    time.sleep(0.02)
            assert victim is not None, "never caught a collector mid-cycle"
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait(10)
            dead = query(dsn, "SELECT station FROM fleet_leases WHERE holder = %s AND in_cycle",
                         victim)  # fmt: skip
            assert (station,) in dead, "the victim was not killed mid-cycle"
            # Wait for the others to finish every station, the victim's included.
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                done = query(dsn, "SELECT count(*) FROM positions WHERE last_record = %s", last)
                if done[0][0] == stations:
                    break
                time.sleep(0.1)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        logs = {p.name: p.read_text(errors="replace")[-2000:] for p in tmp_path.glob("C*.log")}
        for i, emu in enumerate(emus):
            rows = stored_rows(dsn, f"st{i}")
            assert rows and rows[-1][0] == last, (f"st{i}", logs)
            assert_exactly_once(emu.station.records("Small"), rows)
    took = query(dsn, "SELECT takeovers, holder FROM fleet_leases WHERE station = %s", station)
    assert took[0][0] >= 1 and took[0][1] != victim, took
    log = query(dsn, "SELECT detail FROM collection_log WHERE event = 'takeover' AND station = %s",
                station)  # fmt: skip
    assert any(f"took over from {victim}" in d for (d,) in log), log


def test_two_collectors_one_killed_mid_cycle_every_record_once(
    tmp_path: Path, pg: PostgresServer
) -> None:
    run_fleet(tmp_path, fresh_dsn(pg), stations=4, collectors=2, records=150)


@pytest.mark.slow
def test_three_collectors_fifty_stations_one_killed(tmp_path: Path, pg: PostgresServer) -> None:
    run_fleet(tmp_path, fresh_dsn(pg), stations=12 if SHORT else 50, collectors=3, records=200)
