"""Table definitions (``.TDF``, reference §8.2) against the captured CR1000 file of V11."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vectors import CR1000_TDF

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.protocol import tabledef
from fieldlink.pakbus.protocol.model import FieldDef, TableDef
from fieldlink.pakbus.protocol.records import RecordLayout
from fieldlink.pakbus.protocol.signature import signature
from fieldlink.pakbus.protocol.tabledef import (
    TableDefSpec,
    build_tdf,
    make_table,
    make_tables,
    parse_table_definition,
    parse_tdf,
    table_bytes,
)
from fieldlink.pakbus.protocol.wire import NSec

#: V11: the complete 4809-byte .TDF of a CR1000 (captured file data).
TDF = CR1000_TDF

#: V9.1: File Receive response carrying the first 512-byte swath of that .TDF
#: (unquoted frame: 8-byte header, 0x9D, TranNbr, RespCode, FileOffset, data, nullifier).
V9_1 = bytes.fromhex(
    """
A8 02 10 01 18 02 00 01 9D 05 00 00 00 00 00 01 53 74 61 74 75 73 00 00 00 00 01 0E 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 8B 4F 53 56 65 72 73 69 6F 6E 00 00 00 00 00 00 00 00 01 00
00 00 20 00 00 00 20 00 00 00 00 8B 4F 53 44 61 74 65 00 00 00 00 00 00 00 00 01 00 00 00 08 00
00 00 08 00 00 00 00 86 4F 53 53 69 67 6E 61 74 75 72 65 00 00 00 00 00 00 00 00 01 00 00 00 01
00 00 00 00 8B 53 65 72 69 61 6C 4E 75 6D 62 65 72 00 00 00 00 00 00 00 00 01 00 00 00 08 00 00
00 08 00 00 00 00 8B 52 65 76 42 6F 61 72 64 00 00 00 00 00 00 00 00 01 00 00 00 08 00 00 00 08
00 00 00 00 0B 53 74 61 74 69 6F 6E 4E 61 6D 65 00 00 00 00 00 00 00 00 01 00 00 00 40 00 00 00
40 00 00 00 00 06 50 61 6B 42 75 73 41 64 64 72 65 73 73 00 00 00 00 00 00 00 00 01 00 00 00 01
00 00 00 00 8B 50 72 6F 67 4E 61 6D 65 00 00 00 00 00 00 00 00 01 00 00 00 40 00 00 00 40 00 00
00 00 8E 53 74 61 72 74 54 69 6D 65 00 00 00 64 61 74 65 00 00 00 00 00 01 00 00 00 01 00 00 00
00 86 52 75 6E 53 69 67 6E 61 74 75 72 65 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 86
50 72 6F 67 53 69 67 6E 61 74 75 72 65 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 89 42
61 74 74 65 72 79 00 00 00 56 6F 6C 74 73 00 00 00 00 00 01 00 00 00 01 00 00 00 00 89 50 61 6E
65 6C 54 65 6D 70 00 00 00 44 65 67 43 00 00 00 00 00 01 00 00 00 01 00 00 00 00 06 57 61 74 63
68 64 6F 67 45 72 72 6F 72 73 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 89 4C 69 74 68
69 75 6D 42 61 74 74 65 72 79 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 06 4C 6F 77 31
32 56 43 6F 75 6E 74 00 00 00 00 00 00 00 00 7E 4B
"""
)


@pytest.fixture(scope="module")
def tables() -> tuple[TableDef, ...]:
    return parse_tdf(TDF)


def test_resource_is_the_captured_file() -> None:
    assert len(TDF) == 4809
    assert signature(V9_1) == 0  # a genuine frame
    assert V9_1[15:-2] == TDF[:512]


def test_three_tables(tables: tuple[TableDef, ...]) -> None:
    summary = [
        (t.number, t.name, t.size, t.time_type, t.time_into, t.interval, len(t.fields))
        for t in tables
    ]
    assert summary == [
        (1, "Status", 1, 14, NSec(0, 0), NSec(0, 0), 122),
        (2, "Table1", 191987, 14, NSec(0, 0), NSec(60, 0), 10),
        (3, "Public", 1, 14, NSec(0, 0), NSec(0, 0), 10),
    ]
    assert [t.is_interval for t in tables] == [False, True, False]


def test_signatures(tables: tuple[TableDef, ...]) -> None:
    assert [t.signature for t in tables] == [14472, 40615, 46224]
    # signed bytes: TableName through the field-list terminator (V11 byte ranges)
    assert signature(TDF[1:3919]) == 0x3888
    assert signature(TDF[3919:4414]) == 0x9EA7
    assert signature(TDF[4414:4809]) == 0xB490


def test_table1_fields(tables: tuple[TableDef, ...]) -> None:
    units = ["Volts", "Volts"] + ["mVolts"] * 4 + ["mA"] * 4
    names = ["Batt_Volt_Avg", "Ref5V_mVolt_Avg"]
    names += [f"CurSensor{i}_mVolt_Avg" for i in range(1, 5)]
    names += [f"CurSensor{i}_mAmp_Avg" for i in range(1, 5)]
    expected = [
        FieldDef(name, 7, True, "Avg", unit, "Avg", 1, 1, ())
        for name, unit in zip(names, units, strict=True)
    ]
    assert list(tables[1].fields) == expected


def test_public_fields(tables: tuple[TableDef, ...]) -> None:
    names = ["Batt_Volt", "Ref5V_mVolt"]
    units = ["Volts", "Volts"]
    for i in range(1, 5):
        names += [f"CurSensor{i}_mVolt", f"CurSensor{i}_mAmp"]
        units += ["mVolts", "mA"]
    expected = [
        FieldDef(name, 9, False, "", unit, "", 1, 1, ())
        for name, unit in zip(names, units, strict=True)
    ]
    assert list(tables[2].fields) == expected


# Status fields that are arrays, strings or unusual types, from V11:
# (name, type, read-only, units, BegIdx, PieceSize, dims)
STATUS_SPECIAL = [
    ("OSVersion", 11, True, "", 1, 32, (32,)),
    ("OSDate", 11, True, "", 1, 8, (8,)),
    ("SerialNumber", 11, True, "", 1, 8, (8,)),
    ("RevBoard", 11, True, "", 1, 8, (8,)),
    ("StationName", 11, False, "", 1, 64, (64,)),
    ("ProgName", 11, True, "", 1, 64, (64,)),
    ("StartTime", 14, True, "date", 1, 1, ()),
    ("CompileResults", 11, True, "", 1, 256, (256,)),
    ("CommsMemFree", 6, True, "", 1, 3, (3,)),
    ("DataTableName", 11, True, "", 1, 24, (1, 24)),
    ("DataRecordSize", 6, True, "records", 1, 2, (2, 2)),
    ("DataFillDays", 9, True, "days", 1, 2, (2, 2)),
    ("CardStatus", 11, True, "", 1, 80, (80,)),
    ("LastSystemScan", 14, True, "date", 1, 1, ()),
    ("PortStatus", 28, False, "", 1, 8, (8,)),
    ("PortConfig", 11, True, "", 1, 64, (8, 8)),
    ("SW12Volts", 28, False, "", 1, 1, ()),
    ("Security", 6, False, "", 1, 3, (3,)),
    ("RS232Power", 28, False, "", 1, 1, ()),
    ("CommActiveRS232", 28, False, "", 1, 1, ()),
    ("CommActiveME", 28, False, "", 1, 1, ()),
    ("CommActiveCOM310", 28, False, "", 1, 1, ()),
    ("CommActiveSDC7", 28, False, "", 1, 1, ()),
    ("CommActiveSDC8", 28, False, "", 1, 1, ()),
    ("CommActiveCOM320", 28, False, "", 1, 1, ()),
    ("CommActiveSDC10", 28, False, "", 1, 1, ()),
    ("CommActiveSDC11", 28, False, "", 1, 1, ()),
    ("CommActiveCOM1", 28, False, "", 1, 1, ()),
    ("CommActiveCOM2", 28, False, "", 1, 1, ()),
    ("CommActiveCOM3", 28, False, "", 1, 1, ()),
    ("CommActiveCOM4", 28, False, "", 1, 1, ()),
    ("IsRouter", 28, False, "", 1, 1, ()),
    ("CentralRouters", 6, False, "", 1, 8, (8,)),
    ("IPInfo", 11, True, "", 1, 384, (384,)),
    ("pppIPAddr", 11, False, "", 1, 16, (16,)),
    ("pppUsername", 11, False, "", 1, 64, (64,)),
    ("pppPassword", 11, False, "", 1, 64, (64,)),
    ("pppDial", 11, False, "", 1, 80, (80,)),
    ("pppDialResponse", 11, False, "", 1, 16, (16,)),
    ("Messages", 11, False, "", 1, 256, (256,)),
    ("CalGain", 9, True, "", 1, 18, (18,)),
    ("CalSeOffset", 6, True, "", 1, 18, (18,)),
    ("CalDiffOffset", 6, True, "", 1, 18, (18,)),
]


def test_status_array_and_string_fields(tables: tuple[TableDef, ...]) -> None:
    status = tables[0]
    for name, code, read_only, units, begin, piece, dims in STATUS_SPECIAL:
        f = status.field(name)
        assert (f.type_code, f.read_only, f.units, f.begin_index, f.piece_size, f.dimensions) == (
            code,
            read_only,
            units,
            begin,
            piece,
            dims,
        ), name
    # Every other Status field is a scalar Int4 or IEEE4 (the V11 listing is exhaustive).
    special = {row[0] for row in STATUS_SPECIAL}
    for f in status.fields:
        if f.name not in special:
            assert f.type_code in (6, 9) and f.piece_size == 1 and not f.dimensions, f.name
    assert status.fields[0].name == "OSVersion"
    assert status.field("Battery").units == "Volts"
    assert status.field("PanelTemp").units == "DegC"


def test_piece_size_not_dimension_product(tables: tuple[TableDef, ...]) -> None:
    """§8.2: PieceSize is the piece's element count (DataRecordSize [2,2] has piece 2)."""
    status = tables[0]
    assert status.field("DataRecordSize").value_count == 2
    assert status.field("PortConfig").value_count == 8  # 8 strings of 8 characters
    assert status.field("OSVersion").value_count == 1


def test_record_value_sizes(tables: tuple[TableDef, ...]) -> None:
    assert [RecordLayout(t).size for t in tables] == [2200, 20, 40]


def test_rebuild_is_byte_exact(tables: tuple[TableDef, ...]) -> None:
    assert build_tdf(tables) == TDF
    assert b"\x01" + b"".join(table_bytes(t) for t in tables) == TDF


def test_make_table_signs_like_the_logger(tables: tuple[TableDef, ...]) -> None:
    for t in tables:
        made = make_table(
            t.name, t.size, t.time_type, t.time_into, t.interval, t.fields, number=t.number
        )
        assert made == t
    specs = [
        TableDefSpec(t.name, t.size, t.time_type, t.time_into, t.interval, t.fields) for t in tables
    ]
    assert make_tables(specs) == tables
    assert build_tdf(specs) == TDF


def test_parse_table_definition_at_offset(tables: tuple[TableDef, ...]) -> None:
    """The per-table layout of the one-way table definition message (0x20)."""
    message = b"\x00\x02" + TDF[3919:4414] + b"trailing"
    table, end = parse_table_definition(message, 2, number=2)
    assert table == tables[1]
    assert end == 2 + 495


def test_alias_list_is_read_but_never_written() -> None:
    """§8.2: parse ASCIIZ aliases until an empty one; build writes exactly one 0x00."""
    plain = make_table("T", 10, 14, NSec(0, 0), NSec(0, 0), [FieldDef("x", 9)])
    raw = table_bytes(plain)
    name_end = raw.index(b"x\x00") + 2
    with_aliases = raw[:name_end] + b"ex\x00why\x00" + raw[name_end:]
    table, end = parse_table_definition(with_aliases)
    assert end == len(with_aliases)
    assert table.fields[0].aliases == ("ex", "why")
    assert table.signature == signature(with_aliases)
    assert table_bytes(table) == raw


def test_wrong_version_is_refused() -> None:
    with pytest.raises(ProtocolError, match="version"):
        parse_tdf(b"\x02" + TDF[1:])
    with pytest.raises(ProtocolError):
        parse_tdf(b"")


def test_empty_file_has_no_tables() -> None:
    assert parse_tdf(b"\x01") == ()


def test_truncations_are_protocol_errors() -> None:
    boundaries = {1, 3919, 4414, 4809}  # a cut at a table boundary is a shorter valid file
    for cut in range(0, len(TDF), 7):
        if cut in boundaries:
            continue
        with pytest.raises(ProtocolError):
            parse_tdf(TDF[:cut])


def test_build_rejects_unencodable_definitions() -> None:
    for bad in (
        FieldDef("x", 0),
        FieldDef("x", 200),
        FieldDef("x\x00y", 9),
        FieldDef("x", 9, dimensions=(0,)),
        FieldDef("x", 9, piece_size=-1),
    ):
        with pytest.raises(ValueError):
            make_table("T", 1, 14, NSec(0, 0), NSec(0, 0), [bad])
    with pytest.raises(ValueError):
        make_table("", 1, 14, NSec(0, 0), NSec(0, 0), [])


# --- properties ---------------------------------------------------------------------------

_TEXT = st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=12)
_NAME = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)
_FIELD = st.builds(
    FieldDef,
    name=_NAME,
    type_code=st.integers(1, 28),
    read_only=st.booleans(),
    processing=_TEXT,
    units=_TEXT,
    description=_TEXT,
    begin_index=st.integers(1, 10),
    piece_size=st.integers(0, 2**32 - 1),
    dimensions=st.lists(st.integers(1, 2**32 - 1), max_size=3).map(tuple),
)
_NSEC = st.builds(NSec, st.integers(0, 2**31 - 1), st.integers(0, 999_999_999))
_SPEC = st.builds(
    TableDefSpec,
    name=_NAME,
    size=st.integers(0, 2**32 - 1),
    time_type=st.sampled_from([12, 13, 14, 23]),
    time_into=_NSEC,
    interval=_NSEC,
    fields=st.lists(_FIELD, max_size=6).map(tuple),
)


@given(st.lists(_SPEC, max_size=4))
def test_build_then_parse_round_trips(specs: list[TableDefSpec]) -> None:
    data = build_tdf(specs)
    assert parse_tdf(data) == make_tables(specs)
    assert build_tdf(parse_tdf(data)) == data


@given(st.binary(max_size=300))
def test_random_bytes_only_raise_protocol_errors(data: bytes) -> None:
    try:
        tables = parse_tdf(b"\x01" + data)
    except ProtocolError:
        return
    assert build_tdf(tables) == b"\x01" + data or any(f.aliases for t in tables for f in t.fields)
    for table in tables:  # end to end: what a client does next with a definition
        try:
            table.column_names()
            RecordLayout(table)
        except ProtocolError:
            pass


def test_identical_files_are_parsed_once_and_share_their_tables() -> None:
    # A fleet reads one program's .TDF from every logger: the second reading (another
    # bytes object with the same content, a bytearray too) is the first one's tables.
    first = parse_tdf(bytes(TDF))
    assert parse_tdf(bytes(bytearray(TDF))) is first
    assert parse_tdf(bytearray(TDF)) is first
    assert first == tabledef._parse_tdf(bytes(TDF))  # the same tables as a fresh parse


def test_a_file_beyond_the_cached_size_is_parsed_every_time() -> None:
    table = make_table("Big", 1, 0, NSec(0, 0), NSec(0, 0), [FieldDef("x", 9)])
    data = build_tdf([table] * (tabledef._CACHED_TDF_SIZE // len(table_bytes(table)) + 1))
    assert len(data) > tabledef._CACHED_TDF_SIZE
    first = parse_tdf(data)
    again = parse_tdf(data)
    assert again == first and again is not first


def test_a_file_that_does_not_parse_is_refused_every_time() -> None:
    bad = b"\x02" + TDF[1:]
    for _ in range(2):
        with pytest.raises(ProtocolError, match="version 2"):
            parse_tdf(bad)
