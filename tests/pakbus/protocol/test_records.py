"""Collect Data record payloads (reference §8.3): decoding, fragments, emulator packing."""

from __future__ import annotations

import datetime as dt
import math
import struct
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vectors import CR1000_TDF

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.protocol.model import FieldDef, Record, Scalar, TableDef, Value
from fieldlink.pakbus.protocol.records import (
    Fragment,
    FragmentAssembler,
    RecordBlock,
    RecordLayout,
    StoredRecord,
    encode_fragment,
    encode_record_block,
    layout_for,
    pack_collect_payload,
    pack_records,
    parse_collect_payload,
)
from fieldlink.pakbus.protocol.tabledef import make_table, parse_tdf
from fieldlink.pakbus.protocol.types import FP2_TABLE, DataType, fp2_to_word
from fieldlink.pakbus.protocol.wire import NSec

#: V11: the CR1000 .TDF (Status, Table1, Public).
TABLES = parse_tdf(CR1000_TDF)
STATUS, TABLE1, PUBLIC = TABLES
BY_NUMBER = {t.number: t for t in TABLES}

#: V13: Collect Data response body after RespCode, Table1, 6 records, MoreRecsExist 0.
V13 = bytes.fromhex(
    """
00 02 00 01 5B DC 00 06 2A 72 AB 30 00 00 00 00 45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 E0 BE AC
47 74 24 BD 45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 DB BE A4 47 50 24 C7 45 51 13 90 09 CA 09 B1
09 CB 09 DE A7 D5 BE B0 47 6F 24 BF 45 51 13 90 09 CB 09 B1 09 CB 09 DE A7 B0 BE B6 47 4A 24 C2
45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 D0 BE AD 47 CB 24 BD 45 51 13 90 09 CA 09 B1 09 CB 09 DE
A7 C8 BE D4 47 64 24 B3 00
"""
)

#: V13's table of decoded records: number, minute past 13:00, the ten FP2 values.
V13_RECORDS = [
    (89052, 40, [13.61, 5008, 2506, 2481, 2507, 2526, -201.6, -785.2, 19.08, 121.3]),
    (89053, 41, [13.61, 5008, 2506, 2481, 2507, 2526, -201.1, -784.4, 18.72, 122.3]),
    (89054, 42, [13.61, 5008, 2506, 2481, 2507, 2526, -200.5, -785.6, 19.03, 121.5]),
    (89055, 43, [13.61, 5008, 2507, 2481, 2507, 2526, -196.8, -786.2, 18.66, 121.8]),
    (89056, 44, [13.61, 5008, 2506, 2481, 2507, 2526, -200.0, -785.3, 19.95, 121.3]),
    (89057, 45, [13.61, 5008, 2506, 2481, 2507, 2526, -199.2, -789.2, 18.92, 120.3]),
]


# --- V13 ----------------------------------------------------------------------------------


def test_v13_decodes_to_the_six_records() -> None:
    payload = parse_collect_payload(V13, BY_NUMBER)
    assert payload.more is False
    assert len(payload.blocks) == 1
    block = payload.blocks[0]
    assert isinstance(block, RecordBlock)
    assert (block.table_nbr, block.table, block.begin_record) == (2, "Table1", 89052)
    names = [f.name for f in TABLE1.fields]
    expected = [
        Record(
            "Table1",
            number,
            dt.datetime(2012, 7, 26, 13, minute),
            dict(zip(names, values, strict=True)),
        )
        for number, minute, values in V13_RECORDS
    ]
    assert payload.records == expected
    assert block.rows == [tuple(values) for _, _, values in V13_RECORDS]
    assert list(block.numbers) == list(range(89052, 89058))


def test_v13_rebuilt_by_the_emulator_side() -> None:
    names = [f.name for f in TABLE1.fields]
    first = dt.datetime(2012, 7, 26, 13, 40)
    values = [dict(zip(names, v, strict=True)) for _, _, v in V13_RECORDS]
    assert encode_record_block(TABLE1, 89052, values, first) + b"\x00" == V13
    stored = [
        (n, first + dt.timedelta(minutes=k), v)
        for k, (n, v) in enumerate(zip([r[0] for r in V13_RECORDS], values, strict=True))
    ]
    packed = pack_collect_payload(TABLE1, stored, 998)
    assert packed.data == V13
    assert (packed.more, packed.records_sent, packed.fragment_end) == (False, 6, None)


def test_v13_with_a_field_selection() -> None:
    """Values come in the order of the requested FieldNbr list."""
    layout = RecordLayout(TABLE1, [8, 1])
    assert layout.names == ("CurSensor2_mAmp_Avg", "Batt_Volt_Avg")
    body = b"".join(
        struct.pack(">HH", fp2_to_word(r[2][7]), fp2_to_word(r[2][0])) for r in V13_RECORDS
    )
    data = V13[:16] + body + b"\x01"
    payload = parse_collect_payload(data, BY_NUMBER, {2: [8, 1]})
    assert payload.more is True
    assert [tuple(r.values.values()) for r in payload.records] == [
        (r[2][7], r[2][0]) for r in V13_RECORDS
    ]


def test_layout_rejects_bad_selections() -> None:
    for bad in ([0], [11], [1, 1]):
        with pytest.raises(ValueError):
            RecordLayout(TABLE1, bad)


# --- layouts ------------------------------------------------------------------------------


def _status_values() -> dict[str, Value]:
    values: dict[str, Value] = {}
    for i, f in enumerate(STATUS.fields):
        n = f.value_count
        if f.type_code == DataType.ASCII:
            strings = tuple(f"{f.name[:4]}{k}" for k in range(n))
            values[f.name] = strings if f.is_array else strings[0]
        elif f.type_code == DataType.NSEC:
            values[f.name] = dt.datetime(2012, 7, 26, 13, i % 60, 1, 250_000)
        elif f.type_code == DataType.BOOL4:
            bools = tuple(bool((i + k) % 2) for k in range(n))
            values[f.name] = bools if f.is_array else bools[0]
        elif f.type_code == DataType.IEEE4:
            floats = tuple(i + k / 4 for k in range(n))
            values[f.name] = floats if f.is_array else floats[0]
        else:
            ints = tuple(i * 1000 - k for k in range(n))
            values[f.name] = ints if f.is_array else ints[0]
    values["Battery"] = math.nan
    values["PanelTemp"] = -math.inf
    return values


def _same(a: object, b: object) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b and type(a) is type(b)


def _same_values(a: Mapping[str, object], b: Mapping[str, object]) -> bool:
    return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)


def test_status_layout_round_trips_arrays_strings_times_and_bools() -> None:
    layout = RecordLayout(STATUS)
    assert layout.size == 2200
    values = _status_values()
    raw = layout.encode(values)
    assert len(raw) == 2200
    decoded = layout.decode(raw)
    assert _same_values(decoded, values)
    assert decoded["PortConfig"] == tuple(f"Port{k}" for k in range(8))
    index = [f.name for f in STATUS.fields].index("DataRecordSize")
    assert decoded["DataRecordSize"] == (index * 1000, index * 1000 - 1)  # piece 2 of [2, 2]
    assert decoded["DataTableName"] == "Data0"  # dims [1, 24]: one string
    port_status = decoded["PortStatus"]  # Bool4 x 8, alternating in _status_values
    assert isinstance(port_status, tuple) and len(port_status) == 8
    assert all(isinstance(b, bool) for b in port_status) and port_status[0] != port_status[1]
    assert isinstance(decoded["StartTime"], dt.datetime)
    # the PortConfig piece really is 8 NUL-padded strings of 8 bytes
    start = sum(
        RecordLayout(STATUS, [n]).size or 0
        for n in range(1, [f.name for f in STATUS.fields].index("PortConfig") + 1)
    )
    assert raw[start : start + 16] == b"Port0\x00\x00\x00Port1\x00\x00\x00"


def test_encode_errors_are_value_errors() -> None:
    layout = RecordLayout(TABLE1)
    good = {f.name: 1.0 for f in TABLE1.fields}
    with pytest.raises(ValueError, match="lacks"):
        layout.encode({k: v for k, v in good.items() if k != "Batt_Volt_Avg"})
    with pytest.raises(ValueError):
        layout.encode({**good, "Batt_Volt_Avg": (1.0, 2.0)})
    with pytest.raises(ValueError):
        layout.encode({**good, "Batt_Volt_Avg": "x"})
    status = RecordLayout(STATUS)
    with pytest.raises(ValueError):
        status.encode({**_status_values(), "DataRecordSize": (1, 2, 3)})
    with pytest.raises(ValueError):
        status.encode({**_status_values(), "OSVersion": "x" * 33})


def test_compiling_a_bad_definition_is_a_protocol_error() -> None:
    for fields, time_type in (
        ([FieldDef("x", 99)], 14),
        ([FieldDef("x", 9, piece_size=0)], 14),
        ([FieldDef("s", 11, piece_size=10, dimensions=(3, 4))], 14),
        ([FieldDef("x", 9)], 9),  # TimeType must be a time type
    ):
        table = make_table("T", 1, time_type, NSec(), NSec(), fields)
        with pytest.raises(ProtocolError):
            RecordLayout(table)


def test_layout_for_compiles_once_per_table_and_selection() -> None:
    assert layout_for(TABLE1) is layout_for(TABLE1)
    assert layout_for(TABLE1, [2]) is layout_for(TABLE1, [2])
    assert layout_for(TABLE1, [2]) is not layout_for(TABLE1)
    twin = make_table(
        "Table1", 5, 14, NSec(), NSec(60), TABLE1.fields, number=2
    )  # equal content, different object
    assert layout_for(twin).table is twin


# --- event tables and ASCIIZ --------------------------------------------------------------

EVENTS = make_table(
    "Events",
    1000,
    DataType.NSEC,
    NSec(),
    NSec(),
    [FieldDef("code", DataType.INT2), FieldDef("note", DataType.ASCIIZ), FieldDef("v", 9)],
    number=4,
)


def test_event_table_carries_a_stamp_per_record() -> None:
    times = [dt.datetime(2024, 5, 1, 12, 0, s) for s in (1, 7, 30)]
    values: list[Mapping[str, Value]] = [
        {"code": 1, "note": "start", "v": 0.5},
        {"code": -2, "note": "", "v": -1.25},
        {"code": 3, "note": "été", "v": 2.0},
    ]
    block = encode_record_block(EVENTS, 10, values, times[0], times=times)
    # header, then (NSec stamp, Int2, ASCIIZ, IEEE4) per record
    assert block[:8] == bytes.fromhex("0004 0000000A 0003")
    assert block[8:16] == struct.pack(">iI", 1_083_412_801, 0)
    assert block[16:18] == b"\x00\x01" and block[18:24] == b"start\x00"
    payload = parse_collect_payload(block + b"\x00", {4: EVENTS})
    assert [(r.number, r.timestamp, r.values) for r in payload.records] == [
        (10 + k, times[k], values[k]) for k in range(3)
    ]
    assert RecordLayout(EVENTS).size is None
    with pytest.raises(ValueError):
        encode_record_block(EVENTS, 10, values, times[0])


def test_truncated_variable_record_is_a_protocol_error() -> None:
    block = encode_record_block(EVENTS, 1, [{"code": 1, "note": "abc", "v": 1.0}], NSec(5))
    for cut in range(8, len(block)):
        with pytest.raises(ProtocolError):
            parse_collect_payload(block[:cut] + b"\x00", {4: EVENTS})


# --- blocks -------------------------------------------------------------------------------


def _table1_record(number: int, when: dt.datetime, seed: int = 0) -> StoredRecord:
    return (
        number,
        when,
        {f.name: float((number + seed + i) % 100) for i, f in enumerate(TABLE1.fields)},
    )


def test_discontinuities_start_new_blocks() -> None:
    t0 = dt.datetime(2024, 1, 1)
    minute = dt.timedelta(minutes=1)
    records = [
        _table1_record(1, t0),
        _table1_record(2, t0 + minute),
        _table1_record(5, t0 + 2 * minute),  # record-number gap
        _table1_record(6, t0 + 10 * minute),  # time gap
        _table1_record(7, t0 + 11 * minute),
    ]
    data, packed = pack_records(TABLE1, records, 998)
    assert packed == 5
    payload = parse_collect_payload(data + b"\x00", BY_NUMBER)
    blocks = [b for b in payload.blocks if isinstance(b, RecordBlock)]
    assert [(b.begin_record, len(b)) for b in blocks] == [(1, 2), (5, 1), (6, 2)]
    assert len(data) == 3 * (8 + 8) + 5 * 20
    assert [(r.number, r.timestamp) for r in payload.records] == [(n, w) for n, w, _ in records]


def test_budget_limits_whole_records() -> None:
    t0 = dt.datetime(2024, 1, 1)
    records = [_table1_record(n, t0 + dt.timedelta(minutes=n)) for n in range(100)]
    packed = pack_collect_payload(TABLE1, records, 200)
    # 8 header + 8 stamp + 9 x 20 = 196 bytes of blocks + MoreRecsExist
    assert (packed.records_sent, packed.more, len(packed.data)) == (9, True, 197)
    assert packed.data[-1] == 1
    assert pack_collect_payload(TABLE1, [], 200).data == b"\x00"
    with pytest.raises(ValueError):
        pack_collect_payload(TABLE1, records, 11)


# --- fragments ----------------------------------------------------------------------------

STATUS_TIME = dt.datetime(2012, 7, 26, 13, 40, 5)


def _status_record() -> StoredRecord:
    return 7, STATUS_TIME, _status_values()


def _collect_status(room_per_fragment: Sequence[int]) -> Record:
    """Assemble the Status record from fragments of the given data sizes."""
    record = _status_record()
    assembler = FragmentAssembler(STATUS, 7)
    assert assembler.total_size == 2208
    result = None
    for room in room_per_fragment:
        block, end = encode_fragment(STATUS, record, assembler.next_offset, room)
        payload = parse_collect_payload(block + b"\x01", BY_NUMBER)
        fragment = payload.fragment
        assert fragment is not None and payload.records == []
        assert (fragment.table_nbr, fragment.record_nbr) == (1, 7)
        result = assembler.add(fragment)
        assert assembler.next_offset == end
        if result is not None:
            break
    assert result is not None and assembler.complete
    return result


@pytest.mark.parametrize(
    "rooms",
    [
        [986, 986, 986],  # what a 998-byte packet carries
        [8, 2200],  # time stamp alone, then the values
        [1, 7, 1, 2198, 1],  # cuts inside the stamp and at the last byte
        [2208],
        [500] * 5,
    ],
)
def test_status_record_reassembles_from_fragments(rooms: list[int]) -> None:
    record = _collect_status(rooms)
    assert (record.table, record.number, record.timestamp) == ("Status", 7, STATUS_TIME)
    assert _same_values(record.values, _status_values())


def test_status_fragments_from_the_emulator_side() -> None:
    record = _status_record()
    first = pack_collect_payload(STATUS, [record], 998)
    assert (first.records_sent, first.more, first.fragment_end, first.record_size) == (
        0,
        True,
        998 - 1 - 10,
        2208,
    )
    # IsOffset 1, byte offset 0, and the data begins with the record's time stamp
    assert first.data[:10] == bytes.fromhex("0001 00000007 80000000")
    assert first.data[10:18] == struct.pack(">iI", 712_158_005, 0)
    assembler = FragmentAssembler(STATUS, 7)
    packed = first
    result = None
    while True:
        fragment = parse_collect_payload(packed.data, BY_NUMBER).fragment
        assert fragment is not None
        result = assembler.add(fragment)
        if result is not None:
            break
        packed = pack_collect_payload(STATUS, [record], 998, fragment_offset=assembler.next_offset)
    assert packed.more is False and packed.records_sent == 1
    assert _same_values(result.values, _status_values())


def test_assembler_rejects_gaps_strangers_and_overruns() -> None:
    record = _status_record()
    assembler = FragmentAssembler(STATUS, 7)
    block, _ = encode_fragment(STATUS, record, 100, 50)
    fragment = parse_collect_payload(block + b"\x00", BY_NUMBER).fragment
    assert fragment is not None
    with pytest.raises(ProtocolError):
        assembler.add(fragment)  # starts at 100 with nothing held
    with pytest.raises(ProtocolError):
        assembler.add(Fragment(1, 8, 0, b"x"))
    with pytest.raises(ProtocolError):
        assembler.add(Fragment(3, 7, 0, b"x"))
    with pytest.raises(ProtocolError):
        assembler.add(Fragment(1, 7, 0, bytes(2209)))
    # a retried, overlapping fragment contributes only its new bytes
    whole = encode_fragment(STATUS, record, 0, 5000)[0][10:]
    again = FragmentAssembler(STATUS, 7)
    assert again.add(Fragment(1, 7, 0, whole[:300])) is None
    assert again.add(Fragment(1, 7, 200, whole[200:1000])) is None
    assert again.next_offset == 1000
    done = again.add(Fragment(1, 7, 1000, whole[1000:]))
    assert done is not None and _same_values(done.values, _status_values())


def test_variable_size_record_completes_when_it_decodes() -> None:
    record: StoredRecord = (3, NSec(100), {"code": 5, "note": "a longer note", "v": 1.5})
    assembler = FragmentAssembler(EVENTS, 3)
    assert assembler.total_size is None
    whole = encode_fragment(EVENTS, record, 0, 1000)[0][10:]
    assert assembler.add(Fragment(4, 3, 0, whole[:15])) is None
    assert assembler.add(Fragment(4, 3, 15, whole[15:-1])) is None
    done = assembler.add(Fragment(4, 3, len(whole) - 1, whole[-1:]))
    assert done is not None and done.values == record[2]


# --- emulator -> client round trip --------------------------------------------------------

_FLOAT32 = st.floats(width=32)
_FP2 = st.integers(0, 65535).map(lambda w: FP2_TABLE[fp2_to_word(FP2_TABLE[w])])
_TEXT = st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=6)

_SCALARS: dict[int, st.SearchStrategy[Scalar]] = {
    DataType.FP2: _FP2,
    DataType.IEEE4: _FLOAT32,
    DataType.IEEE8: st.floats(),
    DataType.INT4: st.integers(-(2**31), 2**31 - 1),
    DataType.UINT2: st.integers(0, 65535),
    DataType.INT2_LSF: st.integers(-(2**15), 2**15 - 1),
    DataType.BOOL: st.booleans(),
    DataType.BOOL4: st.booleans(),
    DataType.NSEC: st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2050, 1, 1)),
}


@st.composite
def _field(draw: st.DrawFn, index: int) -> FieldDef:
    name = f"f{index}"
    if draw(st.booleans()) and draw(st.booleans()):
        length = draw(st.integers(1, 8))
        count = draw(st.sampled_from([1, 1, 3]))
        dims = (count, length) if count > 1 else (length,)
        return FieldDef(name, DataType.ASCII, piece_size=count * length, dimensions=dims)
    code = draw(st.sampled_from(sorted(_SCALARS)))
    shape = draw(st.sampled_from(["scalar", "array", "piece"]))
    if shape == "scalar":
        return FieldDef(name, code)
    n = draw(st.integers(1, 5))
    dims = (n,) if shape == "array" else (3, n)
    return FieldDef(name, code, piece_size=n, dimensions=dims)


@st.composite
def _table(draw: st.DrawFn) -> TableDef:
    count = draw(st.integers(0, 6))
    fields = [draw(_field(i)) for i in range(count)]
    interval = draw(st.sampled_from([NSec(), NSec(60), NSec(0, 500_000_000)]))
    time_type = draw(st.sampled_from([12, 13, 14, 23]))
    return make_table("T", 100, time_type, NSec(), interval, fields, number=draw(st.integers(1, 9)))


def _value(draw: st.DrawFn, f: FieldDef) -> Value:
    if f.type_code == DataType.ASCII:
        length = f.dimensions[-1]
        text = st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=length)
        strings = tuple(draw(text) for _ in range(f.value_count))
        return strings if f.is_array else strings[0]
    values = tuple(draw(_SCALARS[f.type_code]) for _ in range(f.piece_size))
    return values if f.is_array else values[0]


def _quantize(when: dt.datetime, time_type: int) -> dt.datetime:
    if time_type == 12:
        return when.replace(microsecond=0)
    if time_type == 13:
        return when.replace(microsecond=when.microsecond // 10 * 10)
    return when


@st.composite
def _records(draw: st.DrawFn, table: TableDef) -> list[StoredRecord]:
    n = draw(st.integers(0, 25))
    number = draw(st.integers(0, 2**32 - 1 - 2 * n - 2))
    when = draw(st.datetimes(dt.datetime(1995, 1, 1), dt.datetime(2030, 1, 1)))
    step = dt.timedelta(
        seconds=table.interval.seconds, microseconds=table.interval.nanoseconds // 1000
    )
    out: list[StoredRecord] = []
    for _ in range(n):
        values = {f.name: _value(draw, f) for f in table.fields}
        out.append((number, _quantize(when, table.time_type), values))
        number += 1 + (draw(st.integers(0, 9)) == 0)
        when += (step or dt.timedelta(seconds=draw(st.integers(1, 99)))) * (
            1 + (draw(st.integers(0, 9)) == 0)
        )
    return out


def _collect_all(table: TableDef, records: list[StoredRecord], budget: int) -> list[Record]:
    """Play client and emulator: whole records while they fit, fragments when not."""
    tables = {table.number: table}
    got: list[Record] = []
    remaining = list(records)
    while remaining:
        packed = pack_collect_payload(table, remaining, budget)
        assert len(packed.data) <= budget
        payload = parse_collect_payload(packed.data, tables)
        if packed.fragment_end is None:
            assert packed.records_sent >= 1
            got.extend(payload.records)
            remaining = remaining[packed.records_sent :]
            assert payload.more == bool(remaining)
            continue
        assembler = FragmentAssembler(table, remaining[0][0])
        while True:
            fragment = payload.fragment
            assert fragment is not None
            done = assembler.add(fragment)
            if done is not None:
                break
            packed = pack_collect_payload(
                table, remaining[:1], budget, fragment_offset=assembler.next_offset
            )
            assert len(packed.data) <= budget
            payload = parse_collect_payload(packed.data, tables)
        got.append(done)
        remaining = remaining[1:]
    return got


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_emulator_packing_then_client_parsing_round_trips(data: st.DataObject) -> None:
    table = data.draw(_table())
    records = data.draw(_records(table))
    budget = data.draw(st.integers(12, 1000))
    got = _collect_all(table, records, budget)
    assert [(r.table, r.number, r.timestamp) for r in got] == [("T", n, w) for n, w, _ in records]
    for record, (_, _, values) in zip(got, records, strict=True):
        assert _same_values(record.values, values)


# --- corrupt input ------------------------------------------------------------------------


def test_v13_truncations_are_protocol_errors() -> None:
    for cut in range(len(V13)):
        if cut == 1:
            continue  # a lone MoreRecsExist byte is a valid empty response
        with pytest.raises(ProtocolError):
            parse_collect_payload(V13[:cut], BY_NUMBER)


def test_protocol_errors_for_inconsistent_payloads() -> None:
    with pytest.raises(ProtocolError, match="unknown table"):
        parse_collect_payload(b"\x00\x09" + V13[2:], BY_NUMBER)
    with pytest.raises(ProtocolError):
        parse_collect_payload(V13[:6] + b"\x00\x07" + V13[8:], BY_NUMBER)  # 7 records claimed
    with pytest.raises(ProtocolError):
        parse_collect_payload(V13[:-1] + b"\x00\x00", BY_NUMBER)  # a stray trailing byte
    with pytest.raises(ProtocolError):
        parse_collect_payload(b"\x00\x01\x00\x00\x00\x01\x80\x00\x00", BY_NUMBER)


def test_an_empty_response_has_no_records() -> None:
    payload = parse_collect_payload(b"\x00", BY_NUMBER)
    assert (payload.blocks, payload.more, payload.fragment) == ([], False, None)


@given(st.binary(max_size=300))
def test_random_payloads_only_raise_protocol_errors(data: bytes) -> None:
    try:
        parse_collect_payload(data, BY_NUMBER)
        parse_collect_payload(b"\x00\x02" + data, BY_NUMBER)
        parse_collect_payload(b"\x00\x04" + data, {4: EVENTS})
    except ProtocolError:
        pass


@given(st.integers(0, len(V13) - 1), st.integers(0, 255))
def test_corrupted_v13_bytes_only_raise_protocol_errors(index: int, byte: int) -> None:
    data = bytearray(V13)
    data[index] = byte
    try:
        payload = parse_collect_payload(bytes(data), BY_NUMBER)
    except ProtocolError:
        return
    for block in payload.blocks:
        if isinstance(block, RecordBlock):
            assert len(block.records) == len(block.rows)
