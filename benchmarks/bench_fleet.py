"""Fleet collection: stations per collector-minute with one, two and three collectors.

Run:  python benchmarks/bench_fleet.py [--stations 12] [--records 500] [--collectors 1,2,3]
      [--rounds 2]

What is measured: ``--stations`` emulated loggers (each ``fieldlink emulate logger`` in
its own process, ``--records`` records in Table1) are collected into one throwaway
PostgreSQL database (:mod:`fieldlink.store.throwaway`: a real server, fsync off) by N
collectors at once -- each ``fieldlink collect STATIONS.toml --once`` in its own
process, the same stations file, a ``fleet = true`` sink -- which divide the stations
by lease rows.  The clock runs from starting the collectors until the last one exits,
so it includes each collector's start (Python imports, joining the fleet, the settle
pause before the first claim).  Every round starts on an empty schema, so every
station is collected from its first record.

Reported per N: wall seconds (median of ``--rounds``), stations per minute for the
fleet, and stations per *collector*-minute (the first divided by N): flat if adding a
collector adds its full share, falling as they compete for the machine.  All of it --
emulators, collectors, the database -- shares this machine's cores, so the figures
are for comparing N with N, not for sizing hardware.  Never a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from fieldlink.pakbus.emulator import spawn_logger_emulator
from fieldlink.store.throwaway import PG_PASSWORD, shared_postgres

PASSWORD_ENV = "FIELDLINK_BENCH_PG_PASSWORD"
RUN = (
    "import sys; from fieldlink.collect.cli import collect_command; "
    "collect_command.main(sys.argv[1:], prog_name='fieldlink collect')"
)


def stations_file(directory: Path, dsn: str, urls: list[str]) -> Path:
    path = directory / "stations.toml"
    path.write_text(
        "[defaults]\n"
        'tables = ["Table1"]\n'
        "clock = false\n"
        "timeout = 30\n"
        f'sinks = [{{ kind = "postgresql", dsn = "{dsn}", password_env = "{PASSWORD_ENV}", '
        "fleet = true, lease = 30 }]\n"
        + "".join(f'\n[[station]]\nname = "st{i}"\nurl = "{u}"\n' for i, u in enumerate(urls))
    )
    return path


def one_round(directory: Path, urls: list[str], collectors: int) -> tuple[float, list[int]]:
    """Seconds until every collector is done, and how many stations each one took."""
    pg = shared_postgres()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    dsn = pg.create_schema(schema).replace(f":{PG_PASSWORD}@", "@")
    toml = stations_file(directory, dsn, urls)
    src = str(Path(__file__).resolve().parents[1] / "src")
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    procs = []
    started = time.perf_counter()
    for n in range(collectors):
        env = {**os.environ, "PYTHONPATH": path, "FIELDLINK_COLLECTOR": f"C{n}",
               PASSWORD_ENV: PG_PASSWORD}  # fmt: skip
        procs.append(subprocess.Popen([sys.executable, "-c", RUN, str(toml), "--once", "--plain"],
                                      env=env, stdout=subprocess.DEVNULL))  # fmt: skip
    codes = [p.wait() for p in procs]
    elapsed = time.perf_counter() - started
    if any(codes):
        raise SystemExit(f"a collector failed (exit status {codes})")
    import psycopg

    with psycopg.connect(pg.dsn() + f"?options=-csearch_path%3D{schema}") as conn:
        rows = conn.execute(
            b"SELECT holder, count(*) FROM fleet_leases WHERE cycles > 0 GROUP BY holder"
        ).fetchall()
        missing = conn.execute(
            b"SELECT count(*) FROM positions WHERE last_record IS NULL"
        ).fetchone()
    if missing and missing[0]:
        raise SystemExit(f"{missing[0]} tables were not collected")
    shares = sorted((int(n) for _, n in rows), reverse=True)
    return elapsed, shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=12)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--collectors", default="1,2,3")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    counts = [int(c) for c in args.collectors.split(",")]
    print(f"{args.stations} stations x {args.records} records of Table1, one PostgreSQL "
          f"database; {os.cpu_count()} CPUs; median of {args.rounds} rounds")  # fmt: skip
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        emulators = [
            stack.enter_context(
                spawn_logger_emulator(
                    "--records", str(args.records), "--seed", str(i), stderr=subprocess.DEVNULL
                )
            )
            for i in range(args.stations)
        ]
        urls = [e.url for e in emulators]
        print(f"{'collectors':>10} {'wall s':>8} {'stations/min':>13} "
              f"{'per collector-min':>18}  stations each")  # fmt: skip
        for c in counts:
            times = []
            shares: list[int] = []
            for _ in range(args.rounds):
                elapsed, shares = one_round(Path(tmp), urls, c)
                times.append(elapsed)
            wall = statistics.median(times)
            per_min = args.stations / wall * 60
            print(f"{c:>10} {wall:>8.2f} {per_min:>13.1f} {per_min / c:>18.1f}  "
                  f"{'/'.join(map(str, shares))}")  # fmt: skip


if __name__ == "__main__":
    main()
