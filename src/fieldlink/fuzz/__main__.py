"""``python -m fieldlink.fuzz TARGET --seconds N``: fuzz one decoder (or ``all``) for a while.

With atheris installed (``pip install atheris``) the fuzzing is coverage-guided
(libFuzzer); each target runs in its own process with libFuzzer's limits on time
per input and memory.  Without it, a fallback loop feeds random and mutated inputs
under the same limits (an alarm per input; an address-space limit where the system
has one) and says so.  Either way an exception other than a ``FieldlinkError``, an
input slower than ``--input-timeout`` or a memory blow-up is a failure: the input is
saved as ``fuzz-crash-TARGET-HASH.bin`` and the exit status is 1.

Examples::

    python -m fieldlink.fuzz --list
    python -m fieldlink.fuzz pakbus-tdf --seconds 60
    python -m fieldlink.fuzz all --seconds 30 --engine random
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import importlib.util
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from fieldlink.errors import FieldlinkError
from fieldlink.fuzz import Target, targets


class SlowInput(Exception):
    """An input took longer than the per-input limit."""


def _have_atheris() -> bool:
    return importlib.util.find_spec("atheris") is not None


def _save(target: Target, data: bytes, exc: BaseException) -> Path:
    path = Path(f"fuzz-crash-{target.name}-{hashlib.sha1(data).hexdigest()[:12]}.bin")
    path.write_bytes(data)
    print(f"{target.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
    print(f"{target.name}: input saved to {path} ({len(data)} bytes)", file=sys.stderr)
    return path


# --- fallback: random and mutated bytes ---------------------------------------------------


def _mutate(rng: random.Random, data: bytes, pool: list[bytes], max_len: int) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(6)
        pos = rng.randrange(len(out) + 1)
        if op == 0 and out:  # flip a bit
            i = rng.randrange(len(out))
            out[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # insert bytes, often interesting ones
            choice = rng.choice([b"\x00", b"\xff", b"\xbd", b"\xbc", b"\x7f\xff\xff\xff"])
            out[pos:pos] = choice if rng.random() < 0.5 else rng.randbytes(rng.randint(1, 8))
        elif op == 2 and out:  # delete a run
            del out[pos : pos + rng.randint(1, 16)]
        elif op == 3 and out:  # overwrite a byte with an edge value
            out[rng.randrange(len(out))] = rng.choice([0, 1, 0x7F, 0x80, 0xFF])
        elif op == 4 and pool:  # splice another input in
            other = rng.choice(pool)
            a = rng.randrange(len(other) + 1)
            out[pos:pos] = other[a : a + rng.randint(1, 64)]
        elif op == 5 and len(out) >= 4:  # a big 32-bit number somewhere
            i = rng.randrange(len(out) - 3)
            out[i : i + 4] = rng.choice(
                [b"\xff\xff\xff\xff", b"\x80\x00\x00\x00", b"\x00\x01\x00\x00"]
            )
    return bytes(out[:max_len])


def _limit_memory(megabytes: int) -> bool:
    try:
        import resource
    except ImportError:
        return False
    limit = megabytes * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        return False
    return True


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise SlowInput("input took longer than the per-input limit")


def fuzz_random(
    target: Target, seconds: float, *, max_len: int, seed: int, input_timeout: int
) -> int:
    """Random and mutated inputs for ``seconds``; returns the exit status."""
    rng = random.Random(seed)
    pool = [s[:max_len] for s in target.seeds] or [b""]
    deadline = time.monotonic() + seconds
    count = 0
    slowest = 0.0
    use_alarm = hasattr(signal, "SIGALRM")
    if use_alarm:
        signal.signal(signal.SIGALRM, _on_alarm)
    while time.monotonic() < deadline:
        for _ in range(200):
            r = rng.random()
            if r < 0.3:
                data = rng.randbytes(min(max_len, int(rng.expovariate(1 / 64))))
            else:
                data = _mutate(rng, rng.choice(pool), pool, max_len)
            began = time.perf_counter()
            try:
                if use_alarm:
                    signal.alarm(input_timeout)
                target.run(data)
                if len(pool) < 256 and rng.random() < 0.01:
                    pool.append(data)  # decoded fine: a base for more mutations
            except FieldlinkError:
                pass
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                _save(target, data, exc)
                return 1
            finally:
                if use_alarm:
                    signal.alarm(0)
            slowest = max(slowest, time.perf_counter() - began)
            count += 1
    rate = count / seconds if seconds else 0.0
    print(
        f"{target.name}: {count} inputs in {seconds:.0f} s ({rate:.0f}/s), only FieldlinkError; "
        f"slowest input {slowest * 1000:.1f} ms [random/mutation fallback, not coverage-guided]"
    )
    return 0


# --- atheris ------------------------------------------------------------------------------


def fuzz_atheris(
    target: Target,
    seconds: float,
    *,
    max_len: int,
    rss_limit_mb: int,
    input_timeout: int,
    corpus: Path | None,
) -> int:
    """Coverage-guided fuzzing of ``target`` with atheris; libFuzzer exits the process."""
    atheris = importlib.import_module("atheris")  # optional: no stubs, maybe not installed

    def one_input(data: bytes) -> None:
        with contextlib.suppress(FieldlinkError):
            target.run(data)

    args = [
        sys.argv[0],
        f"-max_total_time={max(1, int(seconds))}",
        f"-max_len={max_len}",
        f"-rss_limit_mb={rss_limit_mb}",
        f"-timeout={input_timeout}",
        f"-artifact_prefix=fuzz-crash-{target.name}-",
        "-print_final_stats=1",
    ]
    if corpus is not None:
        corpus.mkdir(parents=True, exist_ok=True)
        for i, seed_input in enumerate(target.seeds):
            (corpus / f"seed-{i}").write_bytes(seed_input)
        args.append(str(corpus))
    atheris.Setup(args, one_input)
    atheris.Fuzz()
    return 0  # not reached: libFuzzer exits


def main(argv: list[str] | None = None, *, limit_memory: bool = True) -> int:
    """The command; ``limit_memory=False`` leaves this process's address space alone
    (for calling it from a test run, which the limit would outlive)."""
    parser = argparse.ArgumentParser(
        prog="python -m fieldlink.fuzz",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", nargs="?", help="a target name, or 'all'")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--seconds", type=float, default=60.0, help="time per target [60]")
    parser.add_argument("--engine", choices=["auto", "atheris", "random"], default="auto")
    parser.add_argument("--max-len", type=int, default=4096, help="longest input [4096]")
    parser.add_argument("--seed", type=int, default=0, help="random seed (fallback) [0]")
    parser.add_argument("--rss-limit-mb", type=int, default=2048, help="memory limit [2048]")
    parser.add_argument("--input-timeout", type=int, default=10, help="seconds per input [10]")
    parser.add_argument("--corpus", type=Path, default=None, help="atheris corpus folder")
    args = parser.parse_args(argv)
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)  # decoders log what they drop; millions of lines
    try:
        return _run(parser, args, limit_memory=limit_memory)
    finally:
        logging.disable(previous)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, *, limit_memory: bool) -> int:
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if _have_atheris() else "random"
        if engine == "random":
            print("atheris is not installed: using the random/mutation fallback", file=sys.stderr)
    elif engine == "atheris" and not _have_atheris():
        parser.error("atheris is not installed (pip install atheris)")
    if engine == "atheris" and args.target not in (None, "all") and not args.list:
        # Load the decoders under coverage instrumentation (only fieldlink's code).
        atheris = importlib.import_module("atheris")
        with atheris.instrument_imports(include=["fieldlink"]):
            found = targets()
    else:
        found = targets()
    if args.list or not args.target:
        for name, target in found.items():
            print(f"{name:<16} {target.doc.splitlines()[0] if target.doc else ''}")
        return 0
    names = list(found) if args.target == "all" else [args.target]
    unknown = [n for n in names if n not in found]
    if unknown:
        parser.error(f"unknown target {unknown[0]!r}; see --list")
    if len(names) > 1:  # one process per target: libFuzzer exits when done
        status = 0
        for name in names:
            cmd = [sys.executable, "-m", "fieldlink.fuzz", name, "--engine", engine,
                   "--seconds", str(args.seconds), "--max-len", str(args.max_len),
                   "--seed", str(args.seed), "--rss-limit-mb", str(args.rss_limit_mb),
                   "--input-timeout", str(args.input_timeout)]  # fmt: skip
            status = max(status, subprocess.call(cmd, env=os.environ.copy()))
        return status
    target = found[names[0]]
    if engine == "atheris":
        return fuzz_atheris(target, args.seconds, max_len=args.max_len,
                            rss_limit_mb=args.rss_limit_mb, input_timeout=args.input_timeout,
                            corpus=args.corpus)  # fmt: skip
    if limit_memory and not _limit_memory(args.rss_limit_mb):
        print("no address-space limit on this system: memory is not bounded", file=sys.stderr)
    return fuzz_random(target, args.seconds, max_len=args.max_len, seed=args.seed,
                       input_timeout=args.input_timeout)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
