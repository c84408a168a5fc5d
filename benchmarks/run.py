"""Every performance figure of fieldlink, side by side with its peer, in one run.

Run:  python benchmarks/run.py [--quick] [--million] [--only NAME,...]

Prints two tables:

1. **figures** -- each figure of the performance goals that this run can measure: the
   value measured in this run (a ratio to PyCampbellCR1000 measured in the same run
   where there is a peer), its goal, and ``pass`` / ``falls short``;
2. **growth** -- decode and collect at 10^3 .. 10^5 records (10^6 with ``--million``):
   time per record and memory (traced peak for decoding, the client's peak RSS for collecting).

A figure whose peer (``pip install pycampbellcr1000``) or emulator cannot run says so in
its row; the others still run; the exit status is 1 when anything could not run.  A
figure that falls short of its goal does not change the exit status: this is a
measurement, never a pass/fail test.  The machine is shared and absolute times are
noisy: ratios come from contenders run back to back in this process (interleaved
rounds, median), absolute goals (start-up, emulator CPU) are medians of several tries.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src"), str(HERE)]  # this tree's fieldlink, then bench_records
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
)

import bench_records as br  # noqa: E402

from fieldlink.pakbus.protocol import bmp5  # noqa: E402
from fieldlink.pakbus.protocol.model import TableDef  # noqa: E402
from fieldlink.pakbus.protocol.packet import Packet  # noqa: E402
from fieldlink.pakbus.protocol.records import parse_collect_payload  # noqa: E402
from fieldlink.pakbus.protocol.tabledef import build_tdf, make_tables, parse_tdf  # noqa: E402
from fieldlink.pakbus.protocol.types import DataType  # noqa: E402
from fieldlink.pakbus.protocol.wire import NSec  # noqa: E402

TABLE = "Table1"
SEED = 5
PEER = "pycampbellcr1000"


class NotRun(Exception):
    """A figure could not be measured (its peer or emulator failed); the reason is the text."""


@dataclass
class Row:
    figure: str
    value: str | None  # None: not measured
    goal: str
    ok: bool | None  # None: nothing to judge
    note: str = ""

    @property
    def mark(self) -> str:
        if self.value is None:
            return "NOT RUN"
        return {True: "pass", False: "falls short", None: "-"}[self.ok]


# --- helpers ----------------------------------------------------------------------------------


def median_ratio(ours: Sequence[float], theirs: Sequence[float]) -> float:
    """Median of per-round ratios theirs/ours of times (higher: we are faster)."""
    return statistics.median(t / o for o, t in zip(ours, theirs, strict=True))


def cpu_seconds(fn: Callable[[], object]) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def best(fn: Callable[[], object], repeat: int) -> float:
    return min(cpu_seconds(fn) for _ in range(repeat))


def peer_module() -> Any:
    try:
        import pycampbellcr1000  # type: ignore[import-untyped]
    except ImportError as exc:
        raise NotRun(f"peer {PEER} not installed ({exc})") from None
    return pycampbellcr1000


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def spawned(records: int, *extra: str) -> Iterator[Any]:
    from fieldlink.pakbus.emulator import spawn_logger_emulator

    try:
        proc = spawn_logger_emulator(
            "--records", str(records), "--seed", str(SEED), *extra, stderr=subprocess.DEVNULL
        )
    except Exception as exc:
        raise NotRun(f"the emulator did not start: {exc}") from None
    with proc:
        yield proc


def event_table(table1: TableDef) -> TableDef:
    """Table1's fields as an event table (a time stamp per record)."""
    (event,) = make_tables(
        [TableDef("Events", 0, 1000, DataType.NSEC, NSec(), NSec(), table1.fields, 0)]
    )
    return event


# --- figures ----------------------------------------------------------------------------------


def fig_decode(args: argparse.Namespace) -> list[Row]:
    """Decode packet-sized bodies into Records, vs the peer's parse_collectdata."""
    from pycampbellcr1000.pakbus import PakBus  # type: ignore[import-untyped]  # noqa: F401

    n = args.records // 2
    tdf = br.load_tdf()
    cr1000 = parse_tdf(tdf)
    table1 = cr1000[1]
    (wide,) = make_tables(
        [TableDef("Wide", 0, 1000, DataType.NSEC, NSec(), NSec(60), tuple(br.wide_fields()), 0)]
    )
    event = event_table(table1)
    shapes: list[tuple[str, bytes, Sequence[TableDef], list[bytes], int]] = [
        ("V13 x n", tdf, cr1000, [br.V13] * max(1, n // 6), 6 * max(1, n // 6)),
        ("Table1", tdf, cr1000, br.packets(table1, br.synthetic_records(table1, n)), n),
        ("Wide", build_tdf([wide]), [wide], br.packets(wide, br.synthetic_records(wide, n)), n),
        (
            "Event",
            build_tdf([event]),
            [event],
            br.packets(event, br.synthetic_records(event, n)),
            n,
        ),
    ]
    rows = []
    for name, shape_tdf, tables, payloads, _count in shapes:
        br.check_agreement(shape_tdf, tables, payloads[0])
        by_number = {t.number: t for t in tables}
        bus, tabledef = br.pycr_parser(shape_tdf) or (None, None)

        def ours(
            payloads: list[bytes] = payloads, by_number: dict[int, TableDef] = by_number
        ) -> None:
            for p in payloads:
                parse_collect_payload(p, by_number).records  # noqa: B018

        def theirs(
            payloads: list[bytes] = payloads, bus: Any = bus, tabledef: Any = tabledef
        ) -> None:
            for p in payloads:
                bus.parse_collectdata(p, tabledef)

        o, t = [], []
        for _ in range(args.rounds):
            o.append(best(ours, 3))
            t.append(best(theirs, 2))
        ratio = median_ratio(o, t)
        rows.append(
            Row(f"decode to Records, {name}, vs peer", f"{ratio:.1f}x", ">= 20x", ratio >= 20)
        )
    return rows


def _wire_stream(dst_node: int, src_node: int, payloads: list[bytes]) -> bytes:
    frames = []
    for i, payload in enumerate(payloads):
        body = bmp5.CollectDataResponse(i % 255 + 1, 0, payload).encode()
        packet = Packet(
            link_state=0xA,
            dst_phy=dst_node,
            src_phy=src_node,
            exp_more=0,
            hi_proto=1,
            dst_node=dst_node,
            src_node=src_node,
            body=body,
        )
        frames.append(packet.to_wire())
    return b"".join(frames)


class _BytesLink:
    """What the peer's PakBus reads from: the received bytes, one read(1) at a time."""

    timeout = 10.0

    def __init__(self, data: bytes) -> None:
        self.buf = io.BytesIO(data)

    def read(self, size: int = 1) -> bytes:
        return self.buf.read(size)

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def fig_after_socket(args: argparse.Namespace) -> list[Row]:
    """Received bytes -> Records: framing, signature, packet and message decoding, records."""
    from pycampbellcr1000.pakbus import PakBus

    from fieldlink.pakbus.session import ClientSession

    n = args.records // 2
    tdf = br.load_tdf()
    cr1000 = parse_tdf(tdf)
    payloads = br.packets(cr1000[1], br.synthetic_records(cr1000[1], n))
    ours_stream = _wire_stream(4094, 1, payloads)
    their_stream = _wire_stream(0x802, 1, payloads)
    by_number = {t.number: t for t in cr1000}
    tabledef = PakBus(_BytesLink(b"")).parse_tabledef(tdf)

    def ours() -> None:
        session = ClientSession(node=1, src=4094)
        got = 0
        for i in range(0, len(ours_stream), 4096):
            for received in session.receive(ours_stream[i : i + 4096]):
                got += len(parse_collect_payload(received.message.data, by_number).records)
        assert got == n, got

    def theirs() -> None:
        bus = PakBus(_BytesLink(their_stream))
        got = 0
        for _ in payloads:
            _, msg = bus.decode_packet(bus.read())
            blocks, _more = bus.parse_collectdata(msg["RecData"], tabledef)
            got += sum(len(block["RecFrag"]) for block in blocks)
        assert got == n, got

    o, t = [], []
    for _ in range(args.rounds):
        o.append(best(ours, 3))
        t.append(best(theirs, 2))
    ratio = median_ratio(o, t)
    return [
        Row("full path after the socket, Table1, vs peer", f"{ratio:.1f}x", ">= 20x", ratio >= 20)
    ]


def fig_api(args: argparse.Namespace) -> list[Row]:
    """Datalogger.collect vs the peer's get_data, emulator in its own process, TCP.

    Also the emulator's CPU per record served during our collection, and its share of
    the collection's wall time (these need no peer)."""
    from fieldlink.pakbus.client import Datalogger

    n = args.api_records
    ours_t: list[float] = []
    theirs_t: list[float] = []
    emu_rates: list[float] = []
    emu_shares: list[float] = []
    try:
        cr1000_mod = peer_module()
        peer_missing = ""
    except NotRun as exc:
        cr1000_mod, peer_missing = None, str(exc)
    for _ in range(args.process_rounds):
        with spawned(n) as proc, Datalogger.from_url(proc.url, node=1) as lg:
            lg.table_defs()
            c0 = proc_cpu(proc.process.pid)
            t0 = time.perf_counter()
            got = sum(1 for _ in lg.collect(TABLE))
            wall = time.perf_counter() - t0
            cpu = proc_cpu(proc.process.pid) - c0
            if got < n:  # its clock runs: a record may be logged meanwhile
                raise NotRun(f"fieldlink collected {got} records, expected {n}")
            ours_t.append(wall)
            emu_rates.append(got / max(cpu, 1e-9))
            emu_shares.append(cpu / wall)
        if cr1000_mod is None:
            continue
        with spawned(n) as proc:
            with Datalogger.from_url(proc.url, node=1) as lg:
                stamps = [r.timestamp for r in lg.collect(TABLE, newest=1)]
                oldest = next(iter(lg.collect(TABLE, since_record=0))).timestamp
            device = cr1000_mod.CR1000.from_url(proc.url, timeout=10)
            try:
                device.list_tables()
                t0 = time.perf_counter()
                records = device.get_data(TABLE, oldest, stamps[-1] + dt.timedelta(seconds=1))
                theirs_t.append(time.perf_counter() - t0)
            finally:
                device.bye()
            if len(records) < n:
                raise NotRun(f"{PEER} collected {len(records)} records, expected {n}")
    rate = statistics.median(emu_rates)
    share = statistics.median(emu_shares)
    what = f"Python API collect, {n:,} records, TCP, vs peer"
    if peer_missing:
        first = Row(what, None, ">= 15x", None, peer_missing)
    else:
        ratio = median_ratio(ours_t, theirs_t)
        first = Row(what, f"{ratio:.1f}x", ">= 15x", ratio >= 15)
    return [
        first,
        Row(
            "emulator, records served per CPU second",
            f"{rate:,.0f}/s",
            ">= 150,000/s",
            rate >= 150_000,
        ),
        Row("emulator CPU / collection wall time", f"{share:.2f}", "<= 0.25", share <= 0.25),
    ]


def fig_cli(args: argparse.Namespace) -> list[Row]:
    """``fieldlink logger getdata`` vs ``pycr1000 getdata``: whole commands, wall time."""
    peer_module()
    pycr1000 = shutil.which("pycr1000") or str(Path(sys.executable).parent / "pycr1000")
    if not Path(pycr1000).exists():
        raise NotRun("the peer's pycr1000 command is not installed")
    n = args.cli_records
    ours_t: list[float] = []
    theirs_t: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.process_rounds):
            for who in ("ours", "theirs"):
                with spawned(n) as proc:
                    out = Path(tmp) / f"{who}.csv"
                    # The peer cannot open an output file on Python 3 (FileType('w', 0)):
                    # it writes to stdout ("-"), which goes to the file instead.
                    out.unlink(missing_ok=True)  # ours will not overwrite a file
                    if who == "ours":
                        cmd = [sys.executable, "-m", "fieldlink"]
                        cmd += ["logger", "getdata", proc.url, TABLE, str(out)]
                    else:
                        cmd = [pycr1000, "getdata", proc.url, TABLE, "-"]
                    with open(os.devnull if who == "ours" else out, "wb") as sink:
                        t0 = time.perf_counter()
                        done = subprocess.run(cmd, stdout=sink, stderr=subprocess.PIPE, timeout=600)
                        elapsed = time.perf_counter() - t0
                    if done.returncode != 0:
                        raise NotRun(
                            f"{who}: exit {done.returncode}: {done.stderr.decode()[-200:]}"
                        )
                    lines = sum(1 for _ in out.open("rb"))
                    if lines < n:
                        raise NotRun(f"{who}: {lines} lines written for {n} records")
                    (ours_t if who == "ours" else theirs_t).append(elapsed)
    ratio = median_ratio(ours_t, theirs_t)
    return [
        Row(
            f"logger getdata end to end, {n:,} records, TCP, vs pycr1000",
            f"{ratio:.1f}x",
            ">= 10x",
            ratio >= 10,
        )
    ]


def fig_serial(args: argparse.Namespace) -> list[Row]:
    """Line use over a pseudo-terminal paced to a baud rate: bytes on the line per second
    (answers and requests; a serial line is half duplex) / (baud / 10)."""
    from fieldlink.pakbus.client import Datalogger
    from fieldlink.pakbus.emulator import LoggerEmulator
    from fieldlink.pakbus.emulator.station import ManualClock

    rows = []
    for baud, records in ((9600, 144 * args.scale), (115_200, 1440 * args.scale)):
        emu = LoggerEmulator(pty=True, baud=baud, records=records, seed=SEED, clock=ManualClock())
        try:
            ctx = emu.running()
            ctx.__enter__()
        except Exception as exc:
            raise NotRun(f"no pseudo-terminal emulator: {exc}") from None
        try:
            for window in (1, args.window):
                with Datalogger.from_url(emu.url or "", node=1, timeout=10) as lg:
                    lg.table_defs()
                    counted = _count_link(lg.link)
                    t0 = time.perf_counter()
                    got = sum(1 for _ in lg.collect(TABLE, window=window))
                    elapsed = time.perf_counter() - t0
                if got != records:
                    raise NotRun(f"collected {got} of {records} records over the pty")
                efficiency = (counted[0] + counted[1]) / elapsed / (baud / 10)
                rows.append(
                    Row(
                        f"serial line use at {baud} baud ({got} records, window {window})",
                        f"{efficiency:.3f}",
                        ">= 0.95",
                        efficiency >= 0.95,
                    )
                )
        finally:
            ctx.__exit__(None, None, None)
    return rows


def _count_link(link: Any) -> list[int]:
    """Count the bytes a blocking link writes and reads, from now on: [written, read]."""
    counts = [0, 0]
    write, read = link.write, link.read

    def counted_write(data: bytes, *a: Any, **k: Any) -> Any:
        counts[0] += len(data)
        return write(data, *a, **k)

    def counted_read(*a: Any, **k: Any) -> Any:
        data = read(*a, **k)
        counts[1] += len(data or b"")
        return data

    link.write, link.read = counted_write, counted_read
    return counts


def fig_startup(args: argparse.Namespace) -> list[Row]:
    """Wall time of ``fieldlink --help`` and of a one-shot command's start-up (median).

    The tree's modules are byte-compiled first, as ``pip install`` leaves them: with
    PYTHONDONTWRITEBYTECODE set (as on some CI machines), every start would otherwise
    compile every module it imports, which no installed fieldlink does."""

    def run(cmd: list[str]) -> float:
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, timeout=60)
            times.append(time.perf_counter() - t0)
            if done.returncode != 0:
                raise NotRun(f"{' '.join(cmd[2:])}: exit {done.returncode}")
        return statistics.median(times)

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True, timeout=300
    )
    python = run([sys.executable, "-c", "pass"])
    rows = []
    for what in (["--help"], ["logger", "getdata", "--help"]):
        t = run([sys.executable, "-m", "fieldlink", *what])
        rows.append(
            Row(
                f"start-up: fieldlink {' '.join(what)}",
                f"{t:.3f} s",
                "<= 0.15 s",
                t <= 0.15,
                f"bare python {python:.3f} s",
            )
        )
    with spawned(10) as proc:
        t = run([sys.executable, "-m", "fieldlink", "logger", "gettime", proc.url])
    rows.append(
        Row(
            "one-shot command, whole run: fieldlink logger gettime",
            f"{t:.3f} s",
            "<= 0.15 s",
            t <= 0.15,
            "start-up, connect and one exchange with an emulator on loopback",
        )
    )
    return rows


def fig_window(args: argparse.Namespace) -> list[Row]:
    """Datalogger.collect with one request in flight vs ``--window`` (8), back to back
    on one spawned emulator: behind a link that holds every answer 200 ms
    (``--faults delay=0.2``), and over plain TCP.  Ratio of wall times, median of
    interleaved rounds (the order alternates)."""
    from fieldlink.pakbus.client import Datalogger

    wide = args.window
    rows = []
    for label, n, extra, goal in (
        ("200 ms answers (--faults delay=0.2)", args.window_records, ("--faults", "delay=0.2"), 4),
        ("plain TCP", args.api_records, (), 1),
    ):
        times: dict[int, list[float]] = {1: [], wide: []}
        with spawned(n, *extra) as proc:
            for round_ in range(args.process_rounds):
                order = (1, wide) if round_ % 2 == 0 else (wide, 1)
                for window in order:
                    with Datalogger.from_url(proc.url, node=1) as lg:
                        lg.table_defs()
                        t0 = time.perf_counter()
                        got = sum(1 for _ in lg.collect(TABLE, window=window))
                        times[window].append(time.perf_counter() - t0)
                    if got < n:
                        raise NotRun(f"window {window} collected {got} records, expected {n}")
        ratio = median_ratio(times[wide], times[1])
        note = f"{statistics.median(times[1]):.1f} s vs {statistics.median(times[wide]):.1f} s"
        rows.append(
            Row(
                f"collect {n:,} records, window {wide} vs 1, {label}",
                f"{ratio:.1f}x",
                f">= {goal}x" if goal > 1 else "> 1x",
                ratio >= goal if goal > 1 else ratio > 1,
                note,
            )
        )
    return rows


def fleet_sizes(args: argparse.Namespace) -> list[int]:
    """Stations in the fleet growth table; the last is the fleet figure's."""
    return [10, 50, 100] if args.quick else [50, 200, 1_000]


def fleet_run(args: argparse.Namespace, stations: int) -> Any:
    """``collect --once`` of ``stations`` x 1,440 records into SQLite (bench_fleet_sqlite),
    measured once per run and size (the figure and the growth table share it)."""
    import bench_fleet_sqlite as bf

    runs = args.__dict__.setdefault("fleet_runs", {})
    if stations not in runs:
        try:
            runs[stations] = bf.run_fleet(stations, FLEET_RECORDS)
        except RuntimeError as exc:
            raise NotRun(str(exc)) from None
    return runs[stations]


#: New records per station in the fleet figure: a day of one-minute records.
FLEET_RECORDS = 1_440


def fig_fleet(args: argparse.Namespace) -> list[Row]:
    """``fieldlink collect --once``: every station behind one router emulator, SQLite."""
    stations = fleet_sizes(args)[-1]
    run = fleet_run(args, stations)
    note = (
        f"collector CPU {run.collector_cpu:.0f} s, peak {run.peak_mb:.0f} MB; "
        f"emulator CPU {run.emulator_cpu:.0f} s on the same cores"
    )
    what = f"collect --once, {stations:,} stations x {FLEET_RECORDS:,} records, SQLite"
    if stations < 1_000:
        note = f"--quick: {stations} stations, the goal is for 1,000; " + note
        return [Row(what, f"{run.seconds:.1f} s", "<= 60 s", None, note)]
    ok = run.seconds <= 60 and run.peak_mb <= 300
    return [Row(what, f"{run.seconds:.0f} s / {run.peak_mb:.0f} MB", "<= 60 s, 300 MB", ok, note)]


def fleet_growth(args: argparse.Namespace) -> None:
    """The fleet at growing sizes: time and the collector's peak RSS per station."""
    print(f"\n{'fleet: collect --once into SQLite':<34} {'stations':>8} {'wall s':>7} "
          f"{'ms/station':>10} {'peak MB':>8} {'collector CPU s':>15} "
          f"{'emulator CPU s':>14}")  # fmt: skip
    print("-" * 102)
    for stations in fleet_sizes(args):
        run = fleet_run(args, stations)
        print(f"{'':<34} {stations:>8,} {run.seconds:>7.1f} {run.seconds / stations * 1e3:>10.1f} "
              f"{run.peak_mb:>8.1f} {run.collector_cpu:>15.1f} {run.emulator_cpu:>14.1f}",
              flush=True)  # fmt: skip


FIGURES: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
    "decode": fig_decode,
    "after-socket": fig_after_socket,
    "api": fig_api,
    "cli": fig_cli,
    "serial": fig_serial,
    "startup": fig_startup,
    "window": fig_window,
    "fleet": fig_fleet,
}

#: Figures of the goals that this run does not measure, and why (printed, never judged).
NOT_MEASURED: list[tuple[str, str]] = []


# --- growth -----------------------------------------------------------------------------------

#: A client in its own process (so that nothing else counts): collects the table, prints
#: records, seconds, and its own peak resident size (kB, VmHWM) before and after collecting.
_COLLECT_CHILD = """
import sys, time
from fieldlink.pakbus.client import Datalogger
def peak_kb():  # this process's own high-water mark (ru_maxrss would include the
    # parent's size at fork: Linux keeps it across exec)
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1])
    return 0
with Datalogger.from_url(sys.argv[1], node=1) as lg:
    lg.table_defs()
    before = peak_kb()
    t0 = time.perf_counter()
    got = sum(1 for _ in lg.collect(sys.argv[2]))
    elapsed = time.perf_counter() - t0
    after = peak_kb()
print(got, elapsed, before, after)
"""


def growth(args: argparse.Namespace) -> list[tuple[str, int, float, float]]:
    """(what, records, us per record, MB) for decode and collect: decoding in this process
    with tracemalloc's peak; collecting in a child process (untraced: tracemalloc would
    slow it tenfold) with its peak resident size, all of the client process."""

    sizes = [1_000, 10_000, 100_000] + ([1_000_000] if args.million else [])
    tdf = br.load_tdf()
    cr1000 = parse_tdf(tdf)
    table1 = cr1000[1]
    by_number = {t.number: t for t in cr1000}
    out = []
    for size in sizes:
        # decode: payloads are generated per 10,000 records so the input does not
        # dominate the traced memory; the decoded records are consumed and dropped.
        chunk = br.packets(table1, br.synthetic_records(table1, min(size, 10_000)))
        repeats = max(1, size // 10_000)
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        t0 = time.process_time()
        for _ in range(repeats):
            for p in chunk:
                for _record in parse_collect_payload(p, by_number).records:
                    pass
        elapsed = time.process_time() - t0
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        out.append(
            ("decode Table1 -> Records (traced peak)", size, elapsed / size * 1e6, peak / 1e6)
        )
    for size in sizes:
        with spawned(size) as proc:
            done = subprocess.run(
                [sys.executable, "-c", _COLLECT_CHILD, proc.url, TABLE],
                capture_output=True,
                text=True,
                timeout=3600,
            )
        if done.returncode != 0:
            raise NotRun(f"collecting {size:,} records failed: {done.stderr.strip()[-200:]}")
        got, elapsed, _, peak = done.stdout.split()
        if int(got) < size:
            raise NotRun(f"collected {got} of {size}")
        out.append(
            (
                "collect Table1 over TCP (peak RSS)",
                size,
                float(elapsed) / size * 1e6,
                float(peak) / 1e3,
            )
        )
    return out


# --- main -------------------------------------------------------------------------------------


def print_figures(rows: list[Row]) -> None:
    width = max(len(r.figure) for r in rows)
    print(f"\n{'figure':<{width}}  {'measured':>14}  {'goal':>14}  mark")
    print("-" * (width + 48))
    for r in rows:
        value = r.value if r.value is not None else "-"
        line = f"{r.figure:<{width}}  {value:>14}  {r.goal:>14}  {r.mark}"
        if r.note:
            line += f"  ({r.note})"
        print(line)
    for what, why in NOT_MEASURED:
        print(f"{what:<{width}}  {'-':>14}  {'':>14}  not in this run ({why})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, one round")
    parser.add_argument("--million", action="store_true", help="growth table up to 10^6 records")
    parser.add_argument(
        "--only", default="", help="comma-separated: " + ",".join([*FIGURES, "growth"])
    )
    parser.add_argument("--no-growth", action="store_true", help="skip the growth table")
    parser.add_argument("--cli-records", type=int, default=10_000)
    parser.add_argument("--api-records", type=int, default=10_000)
    parser.add_argument("--window-records", type=int, default=3_000)
    parser.add_argument("--window", type=int, default=8, help="the window compared with 1")
    args = parser.parse_args()
    args.rounds = 1 if args.quick else 3
    args.process_rounds = 1 if args.quick else 2  # whole collections: fewer, longer
    args.records = 4_000 if args.quick else 10_000
    args.scale = 1
    if args.quick:
        args.cli_records = min(args.cli_records, 3_000)
        args.api_records = min(args.api_records, 3_000)
        args.window_records = min(args.window_records, 1_000)
    wanted = [w for w in args.only.split(",") if w] or [*FIGURES, "growth"]
    unknown = set(wanted) - {*FIGURES, "growth"}
    if unknown:
        parser.error(f"unknown figure(s) {sorted(unknown)}; known: {', '.join(FIGURES)}, growth")
    with_growth = "growth" in wanted and not args.no_growth
    wanted = [w for w in wanted if w != "growth"]

    rows: list[Row] = []
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    for name in wanted:
        t0 = time.perf_counter()
        try:
            got = FIGURES[name](args)
        except NotRun as exc:
            got = [Row(name, None, "", None, str(exc))]
        except ImportError as exc:
            got = [Row(name, None, "", None, f"peer {PEER} not importable: {exc}")]
        except Exception as exc:  # a broken figure must not stop the others
            traceback.print_exc(file=sys.stderr)
            got = [Row(name, None, "", None, f"{type(exc).__name__}: {exc}")]
        print(f"  [{name}: {time.perf_counter() - t0:.1f} s]", file=sys.stderr, flush=True)
        rows.extend(got)
    failed = sum(1 for r in rows if r.value is None)

    if wanted:
        print_figures(rows)

    if with_growth:
        print(f"\n{'growth':<38} {'records':>10} {'us/record':>10} {'MB':>7}")
        print("-" * 67)
        try:
            for what, size, per, peak in growth(args):
                print(f"{what:<38} {size:>10,} {per:>10.2f} {peak:>7.2f}", flush=True)
        except Exception as exc:
            print(f"growth could not run: {type(exc).__name__}: {exc}")
            failed += 1
    if with_growth or "fleet" in wanted:  # the fleet figure is the last size of its table
        try:
            fleet_growth(args)
        except Exception as exc:
            print(f"fleet growth could not run: {type(exc).__name__}: {exc}")
            failed += 1
    cores = os.cpu_count() or 1
    load_after = os.getloadavg()[0]
    busy = max(load_before, load_after) > cores
    print(
        f"\n({time.perf_counter() - started:.0f} s; {failed} figure(s) could not run; "
        f"{cores} cores, load average {load_before:.1f} before and {load_after:.1f} after"
        + (
            ": the machine was busy -- ratios of back-to-back runs hold, absolute times do not)"
            if busy
            else ")"
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
