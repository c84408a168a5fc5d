"""The logger emulator's own cost per record served, in this process, without sockets.

Run:  python benchmarks/bench_emulator.py [--records 20000] [--rounds 5] [--profile]
      python benchmarks/bench_emulator.py --spawned [--records 20000] [--rounds 5] [--py-spy F]

A collection of all of Table1 is first recorded against an emulated station (frozen
clock, fixed seed): the request frames the client sends (Collect Data, mode 4 from the
next record, as ``Datalogger.collect`` asks).  Each round then replays those frames
into a *fresh* identical station through ``DevicePort.receive`` -- framing, signature,
packet and message decoding, dispatch, values, packing, the answer's frame -- and
times the emulator's CPU per record.  No asyncio and no socket: what is left is what
the emulator itself costs per record (the spawned figure of run.py adds the event loop
and the socket).  ``--profile`` prints a cProfile of one replay instead (sorted by
internal time), which is how the emulator's hot spots were found.

The answers of every round are compared with the first round's, byte for byte, so a
faster emulator that answers differently does not go unnoticed here.

``--spawned`` measures the same collection the way run.py's ``api`` figure does: the
emulator in its own process (``fieldlink emulate logger``, TCP on loopback, its clock
running), ``Datalogger.collect`` of all of Table1 from this process, and the emulator's
CPU (user + system, from /proc) per record served -- the in-process figure plus what
the host, the event loop and the socket add.  ``--py-spy F`` records the spawned
emulator of the first round with py-spy into F (a flame graph if F ends in .svg, else
collapsed stacks, one line per stack, for grepping).

``--instructions`` counts instead of timing (valgrind's callgrind, about 50x slower):
the instructions the emulator executes per record, in process (one replay: the count
of three replays less that of one, halved) or, with ``--spawned``, in the spawned
emulator during the collection.  CPU time on a shared machine varies by half between
runs; instruction counts repeat to a few tenths of a percent, so two versions compare
with the same numbers every time -- but they do not see what cache misses cost.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src")]

from fieldlink.pakbus.emulator.device import Device, DevicePort  # noqa: E402
from fieldlink.pakbus.emulator.station import ManualClock, Station  # noqa: E402
from fieldlink.pakbus.protocol import bmp5  # noqa: E402
from fieldlink.pakbus.protocol.codes import CollectMode  # noqa: E402
from fieldlink.pakbus.protocol.framing import FrameDecoder  # noqa: E402
from fieldlink.pakbus.protocol.messages import decode_message  # noqa: E402
from fieldlink.pakbus.protocol.packet import HiProto, Packet  # noqa: E402
from fieldlink.pakbus.protocol.records import parse_collect_payload  # noqa: E402

TABLE = "Table1"
SEED = 5
CLIENT = 4000


def fresh(records: int) -> tuple[Station, DevicePort]:
    station = Station(records=records, seed=SEED, clock=ManualClock())
    return station, DevicePort(Device(station))


def record_requests(records: int) -> tuple[list[bytes], int]:
    """The request frames of a whole collection of Table1, and the records it got."""
    station, port = fresh(records)
    defs = {d.number: d for d in station.table_defs()}
    tdef = next(d for d in defs.values() if d.name == TABLE)
    decoder = FrameDecoder()
    frames: list[bytes] = []
    start, got, tran = 0, 0, 0
    while True:
        tran = tran % 255 + 1
        request = bmp5.TableRequest(tdef.number, tdef.signature, start)
        cmd = bmp5.CollectDataCommand(tran, 0, CollectMode.FROM_RECORD, (request,))
        frame = Packet.message(HiProto.BMP5, cmd.encode(), dst=1, src=CLIENT).to_wire()
        frames.append(frame)
        answers = [raw for out in port.receive(frame) for raw in decoder.feed(out.to_wire())]
        (answer,) = answers
        response = decode_message(HiProto.BMP5, Packet.decode(answer).body)
        assert isinstance(response, bmp5.CollectDataResponse)
        payload = parse_collect_payload(response.data, defs)
        numbers = [r.number for r in payload.records]
        got += len(numbers)
        if not payload.more or not numbers:
            return frames, got
        start = numbers[-1] + 1


def replay(records: int, frames: list[bytes]) -> tuple[float, str]:
    """CPU seconds of a fresh station answering ``frames``, and a digest of the answers."""
    _, port = fresh(records)
    digest = hashlib.sha256()
    t0 = time.process_time()
    for frame in frames:
        for out in port.receive(frame):
            digest.update(out.to_wire())
    return time.process_time() - t0, digest.hexdigest()


def proc_cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def spawned_round(records: int, py_spy: str | None) -> tuple[float, float, int]:
    """Emulator CPU seconds (user, system) for a whole collection of Table1 over TCP, and
    the records collected."""
    from fieldlink.pakbus.client import Datalogger
    from fieldlink.pakbus.emulator import spawn_logger_emulator

    env = dict(os.environ, PYTHONPATH=sys.path[0])
    with spawn_logger_emulator(
        "--records", str(records), "--seed", str(SEED), stderr=subprocess.DEVNULL, env=env
    ) as proc:
        pid = proc.process.pid
        spy = None
        if py_spy:
            exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            fmt = "flamegraph" if py_spy.endswith(".svg") else "raw"  # raw: collapsed stacks
            cmd = [exe, "record", "-p", str(pid), "-o", py_spy, "-r", "200", "-f", fmt]
            spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
            time.sleep(1.0)  # let it attach
        with Datalogger.from_url(proc.url, node=1) as lg:
            lg.table_defs()
            user0, sys0 = proc_cpu(pid)
            got = sum(1 for _ in lg.collect(TABLE))
            user1, sys1 = proc_cpu(pid)
        if spy is not None:
            spy.send_signal(2)  # SIGINT: py-spy writes its output and exits
            spy.wait(30)
    return user1 - user0, sys1 - sys0, got


def callgrind_total(out: str) -> int:
    """Instructions a callgrind output file counted (its summary is 0 when the counting
    was switched on and off: then its totals line has them)."""
    lines = Path(out).read_text().splitlines()
    return max(int(line.split()[1]) for line in lines if line.startswith(("summary:", "totals:")))


def instructions_in_process(records: int) -> None:
    env = dict(os.environ, PYTHONPATH=sys.path[0])
    totals = []
    for rounds in (1, 3):
        out = f"/tmp/bench_emulator.{os.getpid()}.{rounds}.callgrind"
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable]
        cmd += [__file__, "--records", str(records), "--rounds", str(rounds)]
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        totals.append(callgrind_total(out))
        os.remove(out)
    frames, got = record_requests(records)
    per = (totals[1] - totals[0]) / 2 / got
    print(f"{got:,} records of {TABLE} in {len(frames):,} answers")
    print(f"emulator instructions per record (in process, one replay): {per:,.0f}")


def instructions_spawned(records: int) -> None:
    from fieldlink.pakbus.client import Datalogger

    env = dict(os.environ, PYTHONPATH=sys.path[0])
    out = f"/tmp/bench_emulator.{os.getpid()}.callgrind"
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    cmd += [sys.executable, "-m", "fieldlink", "emulate", "logger", "--records", str(records)]
    cmd += ["--seed", str(SEED), "--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    url = proc.stdout.readline().decode().strip()
    toggle = ["callgrind_control", "-i"]
    try:
        with Datalogger.from_url(url, node=1, timeout=60) as lg:
            lg.table_defs()
            subprocess.run([*toggle, "on", str(proc.pid)], check=True, capture_output=True)
            got = sum(1 for _ in lg.collect(TABLE))
            subprocess.run([*toggle, "off", str(proc.pid)], check=True, capture_output=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    total = callgrind_total(out)
    os.remove(out)
    print(f"spawned emulator: {got:,} records, {total / got:,.0f} instructions per record")


def main_spawned(args: argparse.Namespace) -> None:
    rates = []
    for i in range(args.rounds):
        user, system, got = spawned_round(args.records, args.py_spy if i == 0 else None)
        cpu = user + system
        rates.append(got / max(cpu, 1e-9))
        print(f"round {i + 1}: {got:,} records, emulator CPU {cpu:.2f} s (user {user:.2f},"
              f" sys {system:.2f}), {cpu / got * 1e6:.2f} us/record")  # fmt: skip
    print(
        f"spawned emulator: best {max(rates):,.0f}, median {statistics.median(rates):,.0f}"
        " records per CPU second"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one replay")
    parser.add_argument("--spawned", action="store_true", help="emulator in its own process")
    parser.add_argument("--py-spy", metavar="SVG", help="with --spawned: py-spy the emulator")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (valgrind), not time"
    )
    args = parser.parse_args()
    if args.instructions:
        (instructions_spawned if args.spawned else instructions_in_process)(args.records)
        return
    if args.spawned:
        main_spawned(args)
        return
    frames, got = record_requests(args.records)
    print(f"{got:,} records of {TABLE} in {len(frames):,} answers")
    if args.profile:
        _, port = fresh(args.records)
        profiler = cProfile.Profile()
        profiler.enable()
        for frame in frames:
            for out in port.receive(frame):
                out.to_wire()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return
    times, digests = [], set()
    for _ in range(args.rounds):
        cpu, digest = replay(args.records, frames)
        times.append(cpu)
        digests.add(digest)
    per = [t / got * 1e6 for t in times]
    print(
        f"emulator CPU per record: best {min(per):.2f} us, median {statistics.median(per):.2f} us"
        f" -> {got / min(times):,.0f} records per CPU second (best)"
    )
    print(f"answers {'identical' if len(digests) == 1 else 'DIFFER'} across rounds: "
          f"sha256 {next(iter(digests))[:16]}")  # fmt: skip


if __name__ == "__main__":
    main()
