"""CSI signature speed: the plain per-byte loop vs table-driven rewrites (the module's own).

Run:  python benchmarks/bench_signature.py [--bytes N] [--rounds R]

The question was whether precomputed tables make the loop, which signs every frame at
both ends, at least 1.5x faster.  The baseline is the plain closed form,
``L' = (ROL8(L) + H + b) mod 256`` per byte (what ``protocol/signature.py`` did until
session 3).  The candidates, each checked equal to it on every frame before timing:

- ``module``       ``signature()`` as shipped: ``L' = ROWS[L][H + b]`` with the 256
  rows of 511 entries as ``bytes`` (128 KB; indexing ``bytes`` is not specialised by
  the interpreter, but the table stays in cache) -- kept because it wins on
  ``distinct`` frames (1.2-1.3x when it was adopted);
- ``state-table``  the state re-encoded as ``x = (L << 9) | ((ROL8(L) + H) mod 256)``,
  so one step is ``x = T[x + b]`` over a 2**17-entry list (one add, one index per
  byte; ~3 MB of list and int objects);
- ``row-tuples``   the module's rows as tuples of small ints (~1 MB).

Each is timed on ``same`` frames (one frame signed over and over: the table entries it
touches stay in cache -- the flattering case) and on ``distinct`` frames (fresh random
bytes each time, like real traffic: the signature state wanders over all 65 536 values,
so a large table misses the cache on nearly every byte).  Times are CPU time; the
contenders are interleaved over ``--rounds`` and each ratio (plain-loop time / candidate
time, higher is better for the candidate) is the median of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence

from fieldlink.pakbus.protocol.signature import SEED, signature

_ROL8 = tuple(((b << 1) | (b >> 7)) & 0xFF for b in range(256))


def _state_table() -> list[int]:
    table = [0] * (256 << 9)
    for lo in range(256):
        row = [(v << 9) | ((_ROL8[v] + lo) & 0xFF) for v in range(256)]
        table[lo << 9 : (lo << 9) + 511] = row + row[:255]
    return table


_STATE = _state_table()
_ROW_TUPLES = tuple(tuple((_ROL8[lo] + s) & 0xFF for s in range(511)) for lo in range(256))


def plain_loop(data: bytes, seed: int = SEED) -> int:
    hi, lo = seed >> 8, seed & 0xFF
    rol = _ROL8
    for b in data:
        hi, lo = lo, (rol[lo] + hi + b) & 0xFF
    return (hi << 8) | lo


def state_table(data: bytes, seed: int = SEED) -> int:
    if not data:
        return seed
    table, rol = _STATE, _ROL8
    lo = seed & 0xFF
    x = (lo << 9) | ((rol[lo] + (seed >> 8)) & 0xFF)
    for b in data:
        x = table[x + b]
    lo = x >> 9
    return (((x - rol[lo]) & 0xFF) << 8) | lo


def row_tuples(data: bytes, seed: int = SEED) -> int:
    hi, lo = seed >> 8, seed & 0xFF
    rows = _ROW_TUPLES
    for b in data:
        hi, lo = lo, rows[lo][hi + b]
    return (hi << 8) | lo


CANDIDATES: dict[str, Callable[[bytes, int], int]] = {
    "module": signature,
    "state-table": state_table,
    "row-tuples": row_tuples,
}


def run_time(fn: Callable[[bytes], int], frames: Sequence[bytes]) -> float:
    t0 = time.process_time()
    for frame in frames:
        fn(frame)
    return time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bytes", type=int, default=300_000, help="bytes signed per run")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (median)")
    args = parser.parse_args()
    rng = random.Random(1)
    names = list(CANDIDATES)
    print(f"{'frame':>7} {'frames':>9} {'plain MB/s':>12} " + " ".join(f"{n:>12}" for n in names))
    for size in (12, 100, 529, 998):
        count = max(1, args.bytes // size)
        for kind in ("same", "distinct"):
            if kind == "same":
                frames = [rng.randbytes(size)] * count
            else:
                frames = [rng.randbytes(size) for _ in range(count)]
            for frame in frames[:200]:
                seed = rng.randrange(0x10000)
                want = plain_loop(frame, seed)
                assert all(f(frame, seed) == want for f in CANDIDATES.values())
            ratios: dict[str, list[float]] = {n: [] for n in names}
            base_times: list[float] = []
            for _ in range(args.rounds):
                base = run_time(plain_loop, frames)
                base_times.append(base)
                for n in names:
                    ratios[n].append(base / run_time(CANDIDATES[n], frames))
            rate = size * count / 1e6 / min(base_times)
            cells = " ".join(f"{statistics.median(ratios[n]):>11.2f}x" for n in names)
            print(f"{size:>5} B {kind:>9} {rate:>12.1f} {cells}")


if __name__ == "__main__":
    main()
