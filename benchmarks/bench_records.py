"""Collect Data record decoding speed: fieldlink vs PyCampbellCR1000's parser, same bytes.

Run:  python benchmarks/bench_records.py [--records N] [--repeat K]

Three workloads, each a list of Collect Data response payloads (the bytes after RespCode):

- ``V13 x n``   the captured 6-record Table1 response of vectors V13, parsed over and over;
- ``Table1``    N Table1 records (10 FP2 values, V11) packed as a CR1000 would send them,
                as many whole records as fit a 998-byte packet;
- ``Wide``      N records of a wider table with arrays and a string (IEEE4, FP2[16],
                IEEE4[8], Int4[4], Bool4, ASCII 16), same packing.

fieldlink is measured three times: ``decode`` is :func:`parse_collect_payload` (every
value, record number and time stamp decoded into the blocks' rows and timestamps);
``+Records`` also builds the :class:`~fieldlink.pakbus.protocol.model.Record` objects,
which is what ``Datalogger.collect`` yields (the number to hold to 20x); ``+values``
also reads every record's ``values`` dict, which a record makes on first use -- the
cost a consumer that wants dicts pays.  PyCampbellCR1000 (``pip install
pycampbellcr1000``; optional) is timed with its ``PakBus.parse_collectdata`` on the
same payloads; its output is per-record dicts with record number and time stamp.  Its
parser decodes every element of an array but keeps only the first; the work is
comparable.  Times are CPU time, best of ``--repeat``; the contenders are interleaved
over ``--rounds`` and each ratio is the median of the rounds' ratios, so a busy machine
affects both sides alike.  Ratios are the result; absolute rates vary by machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fieldlink.pakbus.protocol.model import FieldDef, TableDef, Value
from fieldlink.pakbus.protocol.records import (
    StoredRecord,
    pack_collect_payload,
    parse_collect_payload,
)
from fieldlink.pakbus.protocol.tabledef import build_tdf, make_tables, parse_tdf
from fieldlink.pakbus.protocol.types import DataType
from fieldlink.pakbus.protocol.wire import NSec

ROOT = Path(__file__).resolve().parent.parent
TDF_HEX = ROOT / "tests" / "pakbus" / "vectors" / "cr1000_tdf.hex"
PACKET_BUDGET = 998 - 2  # §8.3: min(Max Packet Size, 998 - 2) message bytes

V13 = bytes.fromhex(
    "00 02 00 01 5B DC 00 06 2A 72 AB 30 00 00 00 00 45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 E0 "
    "BE AC 47 74 24 BD 45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 DB BE A4 47 50 24 C7 45 51 13 90 "
    "09 CA 09 B1 09 CB 09 DE A7 D5 BE B0 47 6F 24 BF 45 51 13 90 09 CB 09 B1 09 CB 09 DE A7 B0 "
    "BE B6 47 4A 24 C2 45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 D0 BE AD 47 CB 24 BD 45 51 13 90 "
    "09 CA 09 B1 09 CB 09 DE A7 C8 BE D4 47 64 24 B3 00"
)


def load_tdf() -> bytes:
    lines = TDF_HEX.read_text().splitlines()
    return bytes.fromhex("".join(line for line in lines if not line.startswith("#")))


def wide_fields() -> list[FieldDef]:
    fields = [FieldDef(f"Scalar{i}", DataType.IEEE4, processing="Avg") for i in range(4)]
    fields += [
        FieldDef("Temp", DataType.FP2, piece_size=16, dimensions=(16,)),
        FieldDef("Flux", DataType.IEEE4, piece_size=8, dimensions=(8,)),
        FieldDef("Counts", DataType.INT4, piece_size=4, dimensions=(4,)),
        FieldDef("Flag", DataType.BOOL4),
        FieldDef("Label", DataType.ASCII, piece_size=16, dimensions=(16,)),
    ]
    return fields


def synthetic_records(table: TableDef, n: int) -> list[StoredRecord]:
    start = dt.datetime(2024, 6, 1)
    step = dt.timedelta(seconds=table.interval.seconds)
    out: list[StoredRecord] = []
    for k in range(n):
        values: dict[str, Value] = {}
        for i, f in enumerate(table.fields):
            if f.type_code == DataType.ASCII:
                values[f.name] = f"rec{k % 1000}"
            elif f.type_code == DataType.BOOL4:
                values[f.name] = bool(k % 2)
            elif f.type_code == DataType.INT4:
                ints = tuple(k * 7 + j for j in range(f.piece_size))
                values[f.name] = ints if f.is_array else ints[0]
            else:
                floats = tuple(
                    round(((k + i * 13 + j) % 1600) / 2.0 - 400, 1) for j in range(f.piece_size)
                )
                values[f.name] = floats if f.is_array else floats[0]
        out.append((89052 + k, start + k * step, values))
    return out


def packets(table: TableDef, records: Sequence[StoredRecord]) -> list[bytes]:
    out = []
    rest = list(records)
    while rest:
        packed = pack_collect_payload(table, rest, PACKET_BUDGET)
        out.append(packed.data)
        rest = rest[packed.records_sent :]
    return out


def best_rate(fn: Callable[[], object], records: int, repeat: int) -> float:
    """Records per second of CPU time (process time: a busy machine's other processes do
    not count against either contender), best of ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return records / best


class _NoLink:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def pycr_parser(tdf: bytes) -> tuple[Any, Any] | None:
    try:
        from pycampbellcr1000.pakbus import PakBus  # type: ignore[import-untyped]
    except ImportError:
        return None
    bus = PakBus(_NoLink())
    return bus, bus.parse_tabledef(tdf)


def run(
    name: str,
    tdf: bytes,
    tables: Sequence[TableDef],
    payloads: list[bytes],
    n: int,
    repeat: int,
    rounds: int,
) -> None:
    by_number = {t.number: t for t in tables}

    def ours_decode() -> None:
        for p in payloads:
            parse_collect_payload(p, by_number)

    def ours_records() -> None:
        for p in payloads:
            parse_collect_payload(p, by_number).records  # noqa: B018 - materialise Records

    def ours_values() -> None:
        for p in payloads:
            for record in parse_collect_payload(p, by_number).records:
                record.values  # noqa: B018 - materialise the dict

    pycr = pycr_parser(tdf)
    decode: list[float] = []
    with_records: list[float] = []
    with_values: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):  # interleave the contenders; compare runs made back to back
        decode.append(best_rate(ours_decode, n, repeat))
        with_records.append(best_rate(ours_records, n, repeat))
        with_values.append(best_rate(ours_values, n, repeat))
        if pycr is not None:
            bus, tabledef = pycr

            def pycr_decode(bus: Any = bus, tabledef: Any = tabledef) -> None:
                for p in payloads:
                    bus.parse_collectdata(p, tabledef)

            theirs.append(best_rate(pycr_decode, n, max(1, repeat // 2)))
    rates = (decode, with_records, with_values)
    line = f"{name:<8} {n:>7}  " + "  ".join(f"{max(r):>9,.0f}" for r in rates)
    if theirs:
        line += f"  {max(theirs):>8,.0f}  "
        line += "  ".join(
            f"{statistics.median(a / c for a, c in zip(r, theirs, strict=True)):>6.1f}x"
            for r in rates
        )
    print(line, flush=True)


def check_agreement(tdf: bytes, tables: Sequence[TableDef], payload: bytes) -> None:
    """Both parsers must read the same first values, or the comparison means nothing."""
    pycr = pycr_parser(tdf)
    if pycr is None:
        return
    bus, tabledef = pycr
    theirs = bus.parse_collectdata(payload, tabledef)[0][0]["RecFrag"][0]
    ours = parse_collect_payload(payload, {t.number: t for t in tables}).records[0]
    assert theirs["RecNbr"] == ours.number and theirs["TimeOfRec"] == ours.timestamp
    for key, value in theirs["Fields"].items():
        mine = ours.values[key.decode()]
        first = mine[0] if isinstance(mine, tuple) else mine
        if isinstance(value, bytes):
            value = value.split(b"\0")[0].decode("latin-1")
        assert first == value, (key, first, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    args = parser.parse_args()
    n = args.records

    print("                  fieldlink records/s (CPU)      pycampbell   ratio to pycampbellcr1000")
    print("workload records     decode   +Records    +values  cr1000/s   decode  +Records  +values")
    tdf = load_tdf()
    cr1000 = parse_tdf(tdf)
    table1 = cr1000[1]

    v13 = [V13] * max(1, n // 6)
    check_agreement(tdf, cr1000, V13)
    run("V13 x n", tdf, cr1000, v13, 6 * len(v13), args.repeat, args.rounds)

    table1_payloads = packets(table1, synthetic_records(table1, n))
    check_agreement(tdf, cr1000, table1_payloads[0])
    run("Table1", tdf, cr1000, table1_payloads, n, args.repeat, args.rounds)

    (wide,) = make_tables(
        [TableDef("Wide", 0, 1000, DataType.NSEC, NSec(), NSec(60), tuple(wide_fields()), 0)]
    )
    wide_tdf = build_tdf([wide])
    wide_payloads = packets(wide, synthetic_records(wide, n))
    check_agreement(wide_tdf, [wide], wide_payloads[0])
    run("Wide", wide_tdf, [wide], wide_payloads, n, args.repeat, args.rounds)


if __name__ == "__main__":
    main()
