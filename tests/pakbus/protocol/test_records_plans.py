"""The compiled record decoders against a value-by-value reading of the same bytes.

RecordLayout picks one of several decoding plans for a table (one numeric type read as
an array, one conversion for every item, or columns with numeric arrays read whole);
whichever it picks, each record must read exactly as decoding its fields one value at
a time with :func:`~fieldlink.pakbus.protocol.types.decode_values` does.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.protocol.model import FieldDef, TableDef, Value
from fieldlink.pakbus.protocol.records import (
    Fragment,
    RecordBlock,
    RecordLayout,
    parse_collect_payload,
)
from fieldlink.pakbus.protocol.tabledef import make_table
from fieldlink.pakbus.protocol.types import (
    FP2_TABLE,
    DataType,
    decode_values,
    encode_value,
    type_size,
)
from fieldlink.pakbus.protocol.wire import NSec

#: Every fixed-size type a field may have (ASCIIZ makes records variable in size).
FIXED = sorted(c for c in DataType if c not in (DataType.ASCII, DataType.ASCIIZ))


def same(a: object, b: object) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def reference_rows(fields: list[FieldDef], data: bytes, count: int) -> list[tuple[Value, ...]]:
    """Each record's values decoded one value at a time, field by field."""
    rows = []
    offset = 0
    for _ in range(count):
        row: list[Value] = []
        for f in fields:
            if f.type_code == DataType.ASCII:
                length = f.dimensions[-1] if f.value_count > 1 else f.piece_size
                values, offset = decode_values(
                    DataType.ASCII, data, f.value_count, offset, length=length
                )
            else:
                values, offset = decode_values(f.type_code, data, f.piece_size, offset)
            row.append(values if f.is_array else values[0])  # type: ignore[arg-type]
        rows.append(tuple(row))
    return rows


def table_of(fields: list[FieldDef]) -> TableDef:
    return make_table("T", 100, DataType.NSEC, NSec(), NSec(60), fields, number=1)


def record_size(fields: list[FieldDef]) -> int:
    return sum(
        f.piece_size * (1 if f.type_code == DataType.ASCII else (type_size(f.type_code) or 0))
        for f in fields
    )


def check(fields: list[FieldDef], data: bytes, count: int) -> None:
    layout = RecordLayout(table_of(fields))
    try:
        expected = reference_rows(fields, data, count)
    except ProtocolError:
        with pytest.raises(ProtocolError):
            layout.decode_many(data, 0, count)
        return
    got = layout.decode_many(data, 0, count)
    assert len(got) == count
    for mine, theirs in zip(got, expected, strict=True):
        assert same(mine, theirs), (mine, theirs)


@st.composite
def fields(draw: st.DrawFn, codes: list[int]) -> list[FieldDef]:
    out = []
    for i in range(draw(st.integers(1, 6))):
        if draw(st.integers(0, 5)) == 0:
            length = draw(st.integers(1, 6))
            n = draw(st.sampled_from([1, 3]))
            dims = (n, length) if n > 1 else (length,)
            out.append(FieldDef(f"s{i}", DataType.ASCII, piece_size=n * length, dimensions=dims))
            continue
        code = draw(st.sampled_from(codes))
        n = draw(st.sampled_from([1, 1, 2, 5]))
        dims = (n,) if n > 1 or draw(st.booleans()) else ()
        out.append(FieldDef(f"f{i}", code, piece_size=n, dimensions=dims))
    return out


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_fixed_layout_decodes_as_value_by_value(data: st.DataObject) -> None:
    chosen = data.draw(fields(FIXED))
    count = data.draw(st.integers(0, 12))
    size = count * record_size(chosen)
    raw = data.draw(st.binary(min_size=size, max_size=size))
    check(chosen, raw, count)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_one_type_layouts_decode_as_value_by_value(data: st.DataObject) -> None:
    """All fields of one type: the plans that read a whole block as one array or map."""
    code = data.draw(st.sampled_from(FIXED))
    chosen = data.draw(fields([code]).filter(lambda fs: all(f.type_code == code for f in fs)))
    count = data.draw(st.integers(0, 12))
    size = count * record_size(chosen)
    raw = data.draw(st.binary(min_size=size, max_size=size))
    check(chosen, raw, count)


def test_every_fp2_word_decodes_through_the_table() -> None:
    """An all-FP2 table (the array plan): every word, NaN and infinities included."""
    fields = [FieldDef(f"f{i}", DataType.FP2) for i in range(8)]
    data = bytes(range(256)) * 1024  # all 65 536 words, big-endian pairs
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    rows = RecordLayout(table_of(fields)).decode_many(data, 0, len(words) // 8)
    flat = [v for row in rows for v in row]
    assert all(same(v, FP2_TABLE[w]) for v, w in zip(flat, words, strict=True))


def test_a_single_array_field_and_a_one_record_block_keep_their_shape() -> None:
    fields = [FieldDef("A", DataType.IEEE4, piece_size=3, dimensions=(3,))]
    layout = RecordLayout(table_of(fields))
    raw = b"".join(encode_value(DataType.IEEE4, float(v)) for v in range(6))
    assert layout.decode_many(raw, 0, 2) == [((0.0, 1.0, 2.0),), ((3.0, 4.0, 5.0),)]
    assert layout.decode(raw[:12]) == {"A": (0.0, 1.0, 2.0)}


def test_an_interval_block_gets_its_stamps_and_rows_in_one_pass() -> None:
    fields = [
        FieldDef("T", DataType.FP2),
        FieldDef("W", DataType.FP2, piece_size=2, dimensions=(2,)),
        FieldDef("M", DataType.ASCII, piece_size=4, dimensions=(4,)),
    ]
    table = table_of(fields)
    first = b"\x00\x00\x00\x3c\x00\x00\x00\x00"  # 1990-01-01 00:01:00
    body = b"".join(
        encode_value(DataType.FP2, float(k))
        + encode_value(DataType.FP2, 0.5)
        + encode_value(DataType.FP2, -0.5)
        + encode_value(DataType.ASCII, f"m{k}", length=4)
        for k in range(3)
    )
    payload = b"\x00\x01" + (41).to_bytes(4, "big") + b"\x00\x03" + first + body + b"\x01"
    parsed = parse_collect_payload(payload, {1: table})
    assert parsed.more
    records = parsed.records
    assert [r.number for r in records] == [41, 42, 43]
    assert [r.timestamp.minute for r in records] == [1, 2, 3]
    assert [r.values for r in records] == [
        {"T": float(k), "W": (0.5, -0.5), "M": f"m{k}"} for k in range(3)
    ]
    with pytest.raises(ProtocolError, match="3 records of table 'T' needs 30 bytes, 26 left"):
        parse_collect_payload(payload[:-5] + b"\x01", {1: table})
    with pytest.raises(ProtocolError, match="time stamp"):
        parse_collect_payload(payload[:12] + b"\x01", {1: table})


def test_fp2_encoding_of_fp2_values_is_the_canonical_word() -> None:
    """The emulator encodes FP2 through a cache of known values: it must give the same
    word as the codec for every FP2 value, and still refuse what the codec refuses."""
    layout = RecordLayout(table_of([FieldDef("F", DataType.FP2)]))
    for word in range(0x10000):
        value = FP2_TABLE[word]
        assert layout.encode_row([value]) == encode_value(DataType.FP2, value)
        assert layout.encode_row([value]) == encode_value(DataType.FP2, value)  # cached
    assert layout.encode_row([1]) == encode_value(DataType.FP2, 1)
    assert layout.encode_row([12.625]) == encode_value(DataType.FP2, 12.625)  # rounds
    with pytest.raises(ValueError):
        layout.encode_row([True])
    with pytest.raises(ValueError):
        layout.encode_row(["12"])


def test_the_fp2_table_holds_each_words_value() -> None:
    """FP2_TABLE is built in bulk for start-up speed: every word as the rule reads it."""
    from fieldlink.pakbus.protocol.types import _fp2_value

    assert len(FP2_TABLE) == 0x10000
    assert all(same(FP2_TABLE[w], _fp2_value(w)) for w in range(0x10000))
    signs = [
        math.copysign(1.0, FP2_TABLE[w]) == math.copysign(1.0, _fp2_value(w))
        for w in range(0x10000)
    ]
    assert all(signs)  # -0.0 too


TIME_TYPES = [DataType.NSEC, DataType.SEC, DataType.USEC, DataType.NSEC_LSF]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_an_event_block_reads_as_stamp_by_stamp_and_value_by_value(data: st.DataObject) -> None:
    """Event tables (a stamp before every record): the stamps are converted as columns
    and the values as one block; each must read as decoding it alone does -- an
    impossible NSec fraction ignored, every time type."""
    time_type = data.draw(st.sampled_from(TIME_TYPES))
    chosen = data.draw(fields(FIXED))
    count = data.draw(st.integers(1, 12))
    stamp_size = type_size(time_type) or 0
    size = count * (stamp_size + record_size(chosen))
    raw = data.draw(st.binary(min_size=size, max_size=size))
    table = make_table("E", 100, time_type, NSec(), NSec(), chosen, number=1)
    payload = b"\x00\x01" + (7).to_bytes(4, "big") + count.to_bytes(2, "big") + raw + b"\x00"
    stamps, rows, offset = [], [], 0
    try:
        for _ in range(count):
            (stamp,), offset = decode_values(time_type, raw, 1, offset)
            stamps.append(stamp)
            rows += reference_rows(chosen, raw[offset:], 1)
            offset += record_size(chosen)
    except ProtocolError:
        with pytest.raises(ProtocolError):
            parse_collect_payload(payload, {1: table})
        return
    (block,) = parse_collect_payload(payload, {1: table}).blocks
    assert not isinstance(block, Fragment)
    assert block.timestamps == stamps
    assert all(same(mine, theirs) for mine, theirs in zip(block.rows, rows, strict=True))
    assert len(block.rows) == count


def test_an_event_block_ignores_an_impossible_fraction_and_refuses_a_short_block() -> None:
    table = make_table("E", 100, DataType.NSEC, NSec(), NSec(), [FieldDef("T", DataType.FP2)])
    fine = (60).to_bytes(4, "big") + (500_000_000).to_bytes(4, "big") + b"\x00\x01"
    odd = (120).to_bytes(4, "big") + (2_000_000_000).to_bytes(4, "big") + b"\x00\x02"
    header = b"\x00\x01" + (7).to_bytes(4, "big") + b"\x00\x02"
    (block,) = parse_collect_payload(header + fine + odd + b"\x00", {1: table}).blocks
    assert isinstance(block, RecordBlock)
    assert [str(s) for s in block.timestamps] == [
        "1990-01-01 00:01:00.500000",
        "1990-01-01 00:02:00",
    ]
    assert block.rows == [(1.0,), (2.0,)]
    with pytest.raises(ProtocolError, match="needs"):
        parse_collect_payload(header + fine + odd[:-1] + b"\x00", {1: table})
