"""Packing a block of records column by column gives what packing each record gives.

``RecordLayout.encode_rows`` (the emulator's block packer) takes shortcuts per column --
floats and ints as they are, FP2 words found again, Latin-1 text padded by ``struct`` --
and falls back to ``encode_row`` for anything else.  Whatever the rows hold, it must
return the per-record bytes, or raise exactly what the per-record path raises.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlink.pakbus.protocol.model import FieldDef, TableDef, Value
from fieldlink.pakbus.protocol.records import (
    RecordLayout,
    RecordRun,
    pack_collect_payload,
    pack_records,
)
from fieldlink.pakbus.protocol.tabledef import make_table
from fieldlink.pakbus.protocol.types import FP2_TABLE, DataType
from fieldlink.pakbus.protocol.wire import NSec

FIELDS = [
    FieldDef("fp2", DataType.FP2),
    FieldDef("ieee4", DataType.IEEE4),
    FieldDef("ieee8", DataType.IEEE8),
    FieldDef("arr", DataType.FP2, piece_size=3, dimensions=(3,)),
    FieldDef("text", DataType.ASCII, piece_size=6),
    FieldDef("long", DataType.INT4),
    FieldDef("u2", DataType.UINT2),
    FieldDef("flag", DataType.BOOL4),
]
TABLE = make_table("T", 100, DataType.NSEC, NSec(), NSec(60), FIELDS, number=2)
LAYOUT = RecordLayout(TABLE)

floats = st.one_of(
    st.sampled_from(FP2_TABLE[:8000] + FP2_TABLE[0x8000:0x8400]),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
)
#: What a value may be: usually the right kind, sometimes not at all.
anything = st.one_of(
    floats,
    st.integers(-(2**40), 2**40),
    st.booleans(),
    st.text(max_size=8),
    st.none(),
    st.tuples(floats, floats, floats),
    st.lists(floats, max_size=4),
)


@st.composite
def rows(draw: st.DrawFn) -> list[tuple[object, ...]]:
    count = draw(st.integers(2, 6))
    wild = draw(st.booleans())  # rows as a collection makes them, or anything at all

    def value(name: str) -> st.SearchStrategy[object]:
        if wild and draw(st.integers(0, 9)) == 0:
            return anything
        return {
            "fp2": floats,
            "ieee4": floats,
            "ieee8": floats,
            "arr": st.tuples(floats, floats, floats),
            "text": st.text(alphabet="OK LOWBATÿ\x00é", max_size=7),
            "long": st.integers(-(2**31), 2**31 - 1),
            "u2": st.integers(0, 65535),
            "flag": st.booleans(),
        }[name]

    strategies = [value(f.name) for f in FIELDS]
    return [tuple(draw(s) for s in strategies) for _ in range(count)]


def per_record(layout: RecordLayout, block: Sequence[Sequence[object]]) -> list[bytes] | str:
    try:
        return [layout.encode_row(row) for row in block]
    except (ValueError, TypeError) as exc:
        return f"{type(exc).__name__}: {exc}"


@settings(max_examples=300, deadline=None)
@given(rows())
def test_a_block_packs_as_its_records_do(block: list[tuple[object, ...]]) -> None:
    """Given as rows or as columns (the emulator's block), the records' own bytes."""
    expected = per_record(LAYOUT, block)
    for columns in (False, True):
        try:
            if columns:
                got: list[bytes] | str = LAYOUT.encode_columns(
                    list(zip(*block, strict=True)), len(block)
                )
            else:
                got = LAYOUT.encode_rows(block)
        except (ValueError, TypeError) as exc:
            got = f"{type(exc).__name__}: {exc}"
        assert got == expected


def test_a_sequence_in_a_scalar_field_is_refused_as_the_record_path_refuses_it() -> None:
    good = (1.5, 2.0, 3.0, (1.0, 2.0, 3.0), "OK", 7, 8, True)
    bad = (1.5, 2.0, 3.0, (1.0, 2.0, 3.0), "OK", 7, 8, (True, False))  # a tuple for a Bool4
    assert isinstance(per_record(LAYOUT, [good, bad]), str)
    try:
        LAYOUT.encode_rows([good, bad])
    except ValueError as exc:
        assert "scalar" in str(exc)
    else:
        raise AssertionError("a tuple in a scalar field was packed")


def test_rows_dicts_and_selections_pack_the_same_bytes() -> None:
    """pack_records takes (number, ns, row in table order) as well as dict records, with
    or without a field selection, and packs the same blocks."""
    values: list[Value] = [0.5, 1.25, -2.0, (1.0, math.nan, 3.0), "OK", 7, 8, True]
    row = tuple(values)
    names = [f.name for f in FIELDS]
    interval = 60 * 10**9
    as_rows = [(n, 1000 * interval + n * interval, row) for n in range(5, 12)]
    as_dicts = [(n, NSec.from_total_ns(t), dict(zip(names, r, strict=True))) for n, t, r in as_rows]
    for selection in (None, [5, 1, 8]):
        a = pack_records(TABLE, as_rows, 400, field_numbers=selection)
        b = pack_records(TABLE, as_dicts, 400, field_numbers=selection)
        assert a == b and a[1] > 1
    table: TableDef = TABLE
    assert pack_records(table, as_rows, 10) == (b"", 0)


def _packed(
    layout: RecordLayout, records: Sequence[tuple[int, int, Sequence[Value]]]
) -> list[tuple[int, int, bytes]]:
    return [(n, ns, layout.encode_row(layout.select(row))) for n, ns, row in records]


def test_records_given_as_their_value_bytes_pack_the_same_payloads() -> None:
    """The emulator hands a block's records already encoded (PackedRecord): every
    payload -- whole records cut by the budget, blocks split where numbers or times
    jump, fragments, field selections, event and variable-size tables -- is the same."""
    values: list[Value] = [0.5, 1.25, -2.0, (1.0, math.nan, 3.0), "OK", 7, 8, True]
    interval = 60 * 10**9
    numbers = [*range(5, 12), 14, 15]  # a jump: a second block
    rows = [(n, 1000 * interval + n * interval, tuple(values)) for n in numbers]
    event = make_table("E", 100, DataType.NSEC, NSec(), NSec(), FIELDS, number=3)
    variable = make_table(
        "V",
        100,
        DataType.NSEC,
        NSec(),
        NSec(60),
        [FieldDef("x", DataType.IEEE4), FieldDef("s", DataType.ASCIIZ, piece_size=16)],
        number=4,
    )
    variable_rows = [(n, ns, (float(n), "ab" * (n % 5))) for n, ns, _ in rows]
    cases = [(TABLE, rows), (event, rows), (variable, variable_rows)]
    for table, records in cases:
        for selection in (None, [2]) if table is variable else (None, [5, 1, 8]):
            layout = RecordLayout(table, selection)
            packed = _packed(layout, records)
            for budget in (12, 40, 100, 250, 1000):
                for offset in (None, 0, 3):
                    a = pack_collect_payload(
                        table, records, budget, field_numbers=selection, fragment_offset=offset
                    )
                    b = pack_collect_payload(
                        table, packed, budget, field_numbers=selection, fragment_offset=offset
                    )
                    assert a == b, (table.name, selection, budget, offset)


@settings(max_examples=150, deadline=None)
@given(
    first=st.integers(0, 2**32 - 40),
    count=st.integers(1, 30),
    steps=st.lists(st.sampled_from([60, 60, 60, 60, 0, 120, -60]), min_size=29, max_size=29),
    budget=st.integers(13, 1200),
    selection=st.sampled_from([None, [5, 1, 8], [2]]),
    offset=st.sampled_from([None, 0, 3]),
    event=st.booleans(),
)
def test_a_run_of_encoded_records_packs_as_its_records(
    first: int,
    count: int,
    steps: list[int],
    budget: int,
    selection: list[int] | None,
    offset: int | None,
    event: bool,
) -> None:
    """A RecordRun (consecutive records, value bytes back to back) packs the payload its
    records give one by one: one block when the stamps are regular, split where a clock
    set broke them, cut by the budget, fragments, event tables, field selections."""
    table = (
        make_table("E", 100, DataType.NSEC, NSec(), NSec(), FIELDS, number=3) if event else TABLE
    )
    layout = RecordLayout(table, selection)
    values: list[Value] = [0.5, 1.25, -2.0, (1.0, math.nan, 3.0), "OK", 7, 8, True]
    stamps = [10**12]
    for step in steps[: count - 1]:
        stamps.append(stamps[-1] + step * 10**9)
    rows = [
        (
            first + i,
            ns,
            layout.encode_row(layout.select([*values[:5], (first + i) % 2**31, i, i % 2 == 0])),
        )
        for i, ns in enumerate(stamps)
    ]
    run = RecordRun(first, stamps, memoryview(b"".join(r[2] for r in rows)), layout.size or 0)
    assert list(run) == rows and run[1:3] == rows[1:3]
    want = pack_collect_payload(
        table, rows, budget, field_numbers=selection, fragment_offset=offset
    )
    got = pack_collect_payload(table, run, budget, field_numbers=selection, fragment_offset=offset)
    assert got == want


def test_a_run_is_its_records_bytes() -> None:
    """A run whose bytes are not whole records of its size is refused."""
    with pytest.raises(ValueError):
        RecordRun(0, [1, 2], b"\x00" * 7, 4)
    with pytest.raises(ValueError):
        RecordRun(0, [], b"", 0)
