"""The fleet figure: ``fieldlink collect --once`` of N stations x 1,440 new records into SQLite.

Run:  python benchmarks/bench_fleet_sqlite.py [--stations 50,200,1000] [--records 1440]
      [--profile FILE]

One emulator process plays a router (node 1) with N loggers behind it (nodes 2..N+1,
PakBus routing), each holding ``--records`` records of Table1 -- a day of one-minute
records.  The collector is ``fieldlink collect STATIONS.toml --once --plain`` in its
own process: N stations, all at the router's TCP address (``address = 1``, ``node``
each logger's), Table1 only, no clock check, one SQLite file.  Reported per N: the
collector's wall time (Python start included, as a cron job sees it), its own peak
resident size (VmHWM, read at exit in the collector process), the CPU seconds of the
collector and of the emulator during it, and the records stored (checked against
N x records: a figure of a failed collection is never printed).

The emulator shares the machine's cores with the collector, so it is part of the
figure: a slow emulator makes a slow fleet.  ``--profile FILE`` runs the collector
under cProfile (CPU time) and writes its stats to FILE (``python -m pstats FILE``).  Never a
pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Runs the collect command; writes the process's own peak RSS (kB) to argv[1] at exit.
_COLLECTOR = """
import atexit, sys
def _peak():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            open(sys.argv[1], 'w').write(line.split()[1])
atexit.register(_peak)
profile = sys.argv[2]
args = sys.argv[3:]
from fieldlink.collect.cli import collect_command
if profile:  # CPU time: on a shared machine wall time would charge waits to whatever ran
    import cProfile, time
    profiler = cProfile.Profile(time.process_time)
    try:
        profiler.runcall(collect_command.main, args, prog_name='fieldlink collect',
                         standalone_mode=False)
    finally:
        profiler.dump_stats(profile)
else:
    collect_command.main(args, prog_name='fieldlink collect')
"""


@dataclass(frozen=True)
class FleetRun:
    stations: int
    records: int
    seconds: float
    peak_mb: float
    stored: int
    collector_cpu: float
    emulator_cpu: float


def router_toml(directory: Path, stations: int, records: int) -> Path:
    """An emulator station file: a router with ``stations`` loggers behind it."""
    path = directory / "router.toml"
    path.write_text(
        'station_name = "ROUTER"\nrecords = 10\n'
        + "".join(
            f"\n[[neighbours]]\nnode = {n}\nrecords = {records}\n" for n in range(2, stations + 2)
        )
    )
    return path


def stations_toml(directory: Path, url: str, stations: int, db: Path) -> Path:
    """The collector's stations file: every logger behind the router, one SQLite sink."""
    path = directory / "stations.toml"
    path.write_text(
        "[defaults]\n"
        'tables = ["Table1"]\n'
        "clock = false\n"
        "address = 1\n"
        "timeout = 60\n"
        f'sinks = [{{ kind = "sqlite", path = "{db}" }}]\n'
        + "".join(
            f'\n[[station]]\nname = "st{n}"\nurl = "{url}"\nnode = {n}\n'
            for n in range(2, stations + 2)
        )
    )
    return path


def stored_records(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        tables = [
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        total = 0
        for name in tables:
            columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')]
            if "RecNbr" in columns or "record" in columns:
                total += conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        return total


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_fleet(stations: int, records: int = 1440, profile: str = "") -> FleetRun:
    """Collect ``stations`` x ``records`` once; RuntimeError when the collection failed."""
    from fieldlink.pakbus.emulator import spawn_logger_emulator

    src = str(ROOT / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (src, os.environ.get("PYTHONPATH", "")) if p)}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        router = router_toml(directory, stations, records)
        db = directory / "fleet.db"
        with spawn_logger_emulator(
            "--station", str(router), "--seed", "7", stderr=subprocess.DEVNULL,
            timeout=600, env=env,
        ) as emulator:  # fmt: skip
            toml = stations_toml(directory, emulator.url, stations, db)
            peak_file = directory / "peak"
            emulator_before = proc_cpu(emulator.process.pid)
            children_before = _children_cpu()
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", _COLLECTOR, str(peak_file), profile, str(toml),
                 "--once", "--plain"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            collector_cpu = _children_cpu() - children_before
            emulator_cpu = proc_cpu(emulator.process.pid) - emulator_before
        if done.returncode != 0:
            raise RuntimeError(
                f"collect --once of {stations} stations failed (exit {done.returncode}): "
                f"{done.stderr.strip()[-300:]}"
            )
        stored = stored_records(db)
        peak = int(peak_file.read_text()) / 1024 if peak_file.exists() else float("nan")
    if stored < stations * records:
        raise RuntimeError(f"{stored:,} records stored, expected {stations * records:,}")
    return FleetRun(stations, records, seconds, peak, stored, collector_cpu, emulator_cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", default="50,200,1000")
    parser.add_argument("--records", type=int, default=1440)
    parser.add_argument("--profile", default="", help="cProfile the collector into this file")
    args = parser.parse_args()
    print(f"{'stations':>8} {'records':>10} {'wall s':>8} {'s/station':>10} {'peak MB':>8} "
          f"{'collector CPU s':>16} {'emulator CPU s':>15}")  # fmt: skip
    for n in (int(s) for s in args.stations.split(",")):
        run = run_fleet(n, args.records, args.profile)
        print(f"{run.stations:>8} {run.stored:>10,} {run.seconds:>8.1f} "
              f"{run.seconds / n:>10.3f} {run.peak_mb:>8.1f} {run.collector_cpu:>16.1f} "
              f"{run.emulator_cpu:>15.1f}", flush=True)  # fmt: skip
    print(f"(load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
