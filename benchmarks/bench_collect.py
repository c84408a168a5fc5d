"""End-to-end collection speed: fieldlink vs PyCampbellCR1000, same emulated logger.

Run:  python benchmarks/bench_collect.py [--records N] [--rounds K] [--memory 10000,100000]

What is measured: records per second (wall clock) of collecting every record of
``Table1`` from the in-process logger emulator over loopback TCP --

- ``fieldlink``: ``Datalogger.collect("Table1")``, records consumed one by one as they
  arrive (collect answers mode 3, then mode 4 from the last record + 1);
- ``pycampbellcr1000`` (``pip install pycampbellcr1000``; optional, the peer):
  ``CR1000.get_data("Table1", first time, after last time)``, its library call for a
  time range (mode 7, asked again from the last time stamp while more records exist).

Each run gets a fresh emulator (same seed and frozen clock, so the same records), so
neither contender finds the other's records in the emulator's cache.  The table
definitions are read before the clock starts, for both.  The emulator runs in a thread
of this process, so its work (making the records, framing) counts against both sides
alike: the ratio is of whole collections, not of client code alone.  Rounds alternate
the contenders; the ratio is the median of each round's pair.

Memory: the peak ``tracemalloc`` size while ``collect`` runs, for each ``--memory`` size,
to show that it does not grow with the number of records (only one response is held).
For these runs the emulator is a child process (``fieldlink emulate logger``, real
clock), so that only fieldlink's own allocations are traced; ``tracemalloc`` slows the
client down, so these runs are separate from the timed ones.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from fieldlink.pakbus.client import Datalogger
from fieldlink.pakbus.emulator import LoggerEmulator, spawn_logger_emulator
from fieldlink.pakbus.emulator.station import ManualClock

TABLE = "Table1"
SEED = 5
START = dt.datetime(2024, 5, 1, 12, 0, 30)


def emulator(records: int) -> LoggerEmulator:
    """A logger whose Table1 holds ``records`` records and whose clock stands still."""
    return LoggerEmulator(
        listen="127.0.0.1:0", records=records, seed=SEED, clock=ManualClock(START)
    )


def ours(url: str, expected: int) -> float:
    """Seconds to collect the whole table with fieldlink."""
    with Datalogger.from_url(url, node=1, timeout=10) as logger:
        logger.table_defs()
        t0 = time.perf_counter()
        got = sum(1 for _ in logger.collect(TABLE))
        elapsed = time.perf_counter() - t0
    if got != expected:
        raise SystemExit(f"fieldlink collected {got} records, expected {expected}")
    return elapsed


def pycr_collector() -> Callable[[str, int, dt.datetime, dt.datetime], float] | None:
    try:
        from pycampbellcr1000 import CR1000  # type: ignore[import-untyped]
    except ImportError:
        return None

    def theirs(url: str, expected: int, first: dt.datetime, last: dt.datetime) -> float:
        """Seconds to collect the whole table with PyCampbellCR1000's get_data."""
        device: Any = CR1000.from_url(url, timeout=10)
        try:
            device.list_tables()  # reads .TDF, as ours does before the clock starts
            t0 = time.perf_counter()
            records = device.get_data(TABLE, first, last + dt.timedelta(seconds=1))
            elapsed = time.perf_counter() - t0
        finally:
            device.bye()
        if len(records) != expected:
            raise SystemExit(f"pycampbellcr1000 collected {len(records)}, expected {expected}")
        return elapsed

    return theirs


def timed_round(records: int, theirs: Callable[..., float] | None) -> tuple[float, float | None]:
    with emulator(records).running() as emu:
        ours_s = ours(emu.url or "", records)
    if theirs is None:
        return ours_s, None
    with emulator(records).running() as emu:
        truth = emu.station.records(TABLE)
        theirs_s = theirs(emu.url or "", records, truth[0].timestamp, truth[-1].timestamp)
    return ours_s, theirs_s


def peak_memory(records: int) -> tuple[int, float]:
    """Peak traced bytes while fieldlink collects ``records`` records, and the seconds."""
    args = ("--records", str(records), "--seed", str(SEED))
    with (
        spawn_logger_emulator(*args, stderr=subprocess.DEVNULL) as proc,
        Datalogger.from_url(proc.url, node=1) as lg,
    ):
        lg.table_defs()
        tracemalloc.start()
        try:
            t0 = time.perf_counter()
            got = sum(1 for _ in lg.collect(TABLE))
            elapsed = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    if got < records:  # its clock runs: a record may be logged while collecting
        raise SystemExit(f"collected {got} records, expected {records}")
    return peak, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="records per timed run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    parser.add_argument(
        "--memory",
        default="10000,100000",
        help="comma-separated record counts for the peak-memory runs ('' to skip)",
    )
    args = parser.parse_args()

    theirs = pycr_collector()
    ours_rates: list[float] = []
    their_rates: list[float] = []
    for _ in range(args.rounds):
        ours_s, theirs_s = timed_round(args.records, theirs)
        ours_rates.append(args.records / ours_s)
        if theirs_s is not None:
            their_rates.append(args.records / theirs_s)
    line = f"collect {TABLE} x {args.records}  fieldlink {statistics.median(ours_rates):>8,.0f}/s"
    if their_rates:
        ratio = statistics.median(a / b for a, b in zip(ours_rates, their_rates, strict=True))
        line += f"  pycampbellcr1000 {statistics.median(their_rates):>7,.0f}/s"
        line += f"  ratio {ratio:4.1f}x"
    print(line, flush=True)

    for size in (int(s) for s in args.memory.split(",") if s.strip()):
        peak, elapsed = peak_memory(size)
        print(
            f"peak memory collecting {size:>7,} records: {peak / 1e6:6.2f} MB "
            f"(tracemalloc; {size / elapsed:,.0f}/s while tracing)",
            flush=True,
        )


if __name__ == "__main__":
    main()
