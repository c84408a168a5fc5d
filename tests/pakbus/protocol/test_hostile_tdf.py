"""Hostile table definitions (issue 13): every size a device sends is bounded before use.

A 47-byte ``.TDF`` whose field claims PieceSize and a dimension of 0xFFFFFFFF used to make
the record-layout compiler and the column-name builder allocate gigabytes.  Now both
stop at once with a ProtocolError naming the field; the property tests run every
parsed definition through the compiler and the column-name builder, end to end.
"""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.protocol.model import (
    MAX_DIMENSIONS,
    MAX_RECORD_BYTES,
    MAX_RECORD_VALUES,
    FieldDef,
)
from fieldlink.pakbus.protocol.records import RecordLayout, parse_collect_payload
from fieldlink.pakbus.protocol.tabledef import make_table, parse_tdf
from fieldlink.pakbus.protocol.wire import NSec


def _hostile_tdf(type_code: int, piece: int, dims: tuple[int, ...]) -> bytes:
    """A one-table, one-field ``.TDF``: version, table "T", one field "x"."""
    table = b"T\x00" + struct.pack(">IB", 1, 14) + b"\x00" * 16
    field = bytes([0x80 | type_code]) + b"x\x00\x00" + b"\x00\x00\x00"
    field += struct.pack(">II", 1, piece) + b"".join(struct.pack(">I", d) for d in dims)
    return b"\x01" + table + field + b"\x00\x00\x00\x00" + b"\x00"


HOSTILE = _hostile_tdf(9, 0xFFFFFFFF, (0xFFFFFFFF,))  # IEEE4, PieceSize = dim = 2**32 - 1


def test_the_hostile_file_is_tiny_and_parses() -> None:
    assert len(HOSTILE) < 50  # the file was 47 bytes
    (table,) = parse_tdf(HOSTILE)  # parsing itself allocates nothing from the sizes
    assert table.fields[0].piece_size == 0xFFFFFFFF


def test_compiling_a_hostile_layout_is_a_protocol_error() -> None:
    (table,) = parse_tdf(HOSTILE)
    with pytest.raises(ProtocolError, match=r"'x'.*4294967295"):
        RecordLayout(table)


def test_column_names_of_a_hostile_field_are_a_protocol_error() -> None:
    (table,) = parse_tdf(HOSTILE)
    with pytest.raises(ProtocolError, match="'x'"):
        table.fields[0].column_names()
    with pytest.raises(ProtocolError, match="'x'"):
        table.column_names()


@pytest.mark.parametrize(
    ("type_code", "piece", "dims"),
    [
        (9, MAX_RECORD_VALUES + 1, ()),  # too many values
        (11, MAX_RECORD_BYTES + 1, ()),  # one string longer than any record
        (11, 2**32 - 2, (2, 2**31 - 1)),  # a string array too big
        (16, 2**31, (2**31, 1)),  # ASCIIZ strings: count too big
        (9, 2, (2**32 - 1, 2**32 - 1)),  # the names' indexes are fine, piece is small
    ],
)
def test_each_size_is_bounded(type_code: int, piece: int, dims: tuple[int, ...]) -> None:
    (table,) = parse_tdf(_hostile_tdf(type_code, piece, dims))
    field = table.fields[0]
    if len(dims) == 2 and dims[0] == 2**32 - 1:  # a small piece of a huge array: allowed
        assert len(field.column_names()) == 2
        assert RecordLayout(table).size == 8
        return
    with pytest.raises(ProtocolError):
        RecordLayout(table)
    with pytest.raises(ProtocolError):
        field.column_names()


def test_more_dimensions_than_any_logger_array_is_a_corrupt_file() -> None:
    with pytest.raises(ProtocolError, match="dimensions"):
        parse_tdf(_hostile_tdf(9, 1, (1,) * (MAX_DIMENSIONS + 1)))
    (table,) = parse_tdf(_hostile_tdf(9, 1, (1,) * MAX_DIMENSIONS))
    assert RecordLayout(table).size == 4
    too_many = FieldDef("x", 9, dimensions=(1,) * (MAX_DIMENSIONS + 1))
    with pytest.raises(ProtocolError, match="dimensions"):
        too_many.column_names()  # made by hand, not parsed: still checked


def test_many_fields_together_may_not_exceed_one_record() -> None:
    half = MAX_RECORD_VALUES // 2 + 1
    fields = [FieldDef("a", 9, piece_size=half, dimensions=(half,)), FieldDef("b", 9)]
    fields.append(FieldDef("c", 9, piece_size=half, dimensions=(half,)))
    table = make_table("T", 1, 14, NSec(0, 0), NSec(0, 0), fields)
    with pytest.raises(ProtocolError, match="values"):
        RecordLayout(table)
    with pytest.raises(ProtocolError, match="values"):
        table.column_names()
    big = MAX_RECORD_BYTES // 2 + 1  # two strings of just over half the bytes each
    fields = [FieldDef(n, 11, piece_size=big) for n in "ab"]
    table = make_table("T", 1, 14, NSec(0, 0), NSec(0, 0), fields)
    with pytest.raises(ProtocolError, match="bytes"):
        RecordLayout(table)


def test_a_real_sized_table_still_compiles() -> None:
    fields = [FieldDef("v", 9, piece_size=4096, dimensions=(64, 64))]
    fields.append(FieldDef("s", 11, piece_size=64 * 16, dimensions=(64, 16)))
    table = make_table("T", 1, 14, NSec(0, 0), NSec(0, 0), fields)
    assert RecordLayout(table).size == 4096 * 4 + 1024
    assert len(table.column_names()) == 4096 + 64


# --- end to end: parse, compile, name columns, decode -------------------------------------


def _end_to_end(data: bytes) -> None:
    try:
        tables = parse_tdf(data)
    except ProtocolError:
        return
    by_number = {t.number: t for t in tables}
    for table in tables:
        try:
            names = table.column_names()
            layout = RecordLayout(table)
        except ProtocolError:
            continue
        assert len(names) <= MAX_RECORD_VALUES
        assert layout.size is None or layout.size <= MAX_RECORD_BYTES
        payload = struct.pack(">HIH", table.number, 1, 1) + bytes(64) + b"\x00"
        with contextlib.suppress(ProtocolError):
            parse_collect_payload(payload, by_number)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_tdf_bytes_end_to_end_raise_only_protocol_errors(data: bytes) -> None:
    _end_to_end(b"\x01" + data)


_U32 = st.one_of(st.integers(0, 8), st.integers(0, 2**32 - 1), st.just(2**32 - 1))


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.integers(1, 30), _U32, _U32, st.lists(_U32, max_size=MAX_DIMENSIONS + 2)),
        min_size=1,
        max_size=4,
    )
)
# An event table whose only field is a zero-length string: records of no value bytes.
@example(fields=[(11, 2**32 - 1, 0, [])])
def test_well_formed_tdfs_with_any_sizes_end_to_end(
    fields: list[tuple[int, int, int, list[int]]],
) -> None:
    """Structurally valid files with arbitrary sizes: the case random bytes rarely reach."""
    body = b"T\x00" + struct.pack(">IB", 1, 14) + b"\x00" * 16
    for code, begin, piece, dims in fields:
        body += bytes([code]) + b"f\x00\x00\x00\x00\x00" + struct.pack(">II", begin, piece)
        body += b"".join(struct.pack(">I", d) for d in dims if d) + b"\x00\x00\x00\x00"
    _end_to_end(b"\x01" + body + b"\x00")


def test_fragments_of_a_variable_size_record_cannot_grow_for_ever() -> None:
    """An ASCIIZ record that never ends (no NUL) is cut off at the record bound."""
    from fieldlink.pakbus.protocol.records import Fragment, FragmentAssembler

    table = make_table("T", 1, 14, NSec(0, 0), NSec(0, 0), [FieldDef("s", 16, piece_size=64)])
    assembler = FragmentAssembler(table, 5)
    chunk = b"x" * 990
    with pytest.raises(ProtocolError, match="bytes"):
        for _ in range(MAX_RECORD_BYTES // len(chunk) + 10):
            assembler.add(Fragment(table.number, 5, assembler.next_offset, chunk))
    assert assembler.next_offset <= MAX_RECORD_BYTES + 12
