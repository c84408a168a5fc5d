"""The shared pieces: station info, time zones, record checks, value text, crash recovery."""

from __future__ import annotations

import datetime as dt
import math
import struct
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldlink.errors import ConfigError, UsageError
from fieldlink.pakbus.protocol.model import Record, TableDef, Value, records_from_rows
from fieldlink.store import (
    Hole,
    Sink,
    SqliteSink,
    StationInfo,
    TableWriter,
    Toa5Sink,
    local_to_utc,
    open_sink,
    parse_timezone,
)
from fieldlink.store.base import record_row, record_rows
from fieldlink.store.formatting import number_text, toa5_value


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("+01:00", dt.timedelta(hours=1)),
        ("-0330", dt.timedelta(hours=-3, minutes=-30)),
        ("UTC-7", dt.timedelta(hours=-7)),
        ("utc+05:45", dt.timedelta(hours=5, minutes=45)),
        ("GMT+2", dt.timedelta(hours=2)),
        ("UTC", dt.timedelta(0)),
        ("Z", dt.timedelta(0)),
    ],
)
def test_fixed_offsets(text: str, offset: dt.timedelta) -> None:
    assert parse_timezone(text).utcoffset(dt.datetime(2024, 1, 1)) == offset


def test_iana_zone_follows_dst() -> None:
    zone = parse_timezone("America/Denver")
    assert local_to_utc(dt.datetime(2024, 1, 15, 12), zone) == dt.datetime(2024, 1, 15, 19)
    assert local_to_utc(dt.datetime(2024, 7, 15, 12), zone) == dt.datetime(2024, 7, 15, 18)


@pytest.mark.parametrize(
    "text", ["Mars/Olympus", "+25:00", "UTC+3:75", "", "../etc/passwd", "1:00"]
)
def test_bad_zone_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="zone"):
        StationInfo("S", timezone=text)


def test_station_needs_a_name() -> None:
    with pytest.raises(ConfigError):
        StationInfo(" ")


def test_hole_must_be_a_range() -> None:
    assert Hole("T", 5, 5).count == 1
    with pytest.raises(UsageError):
        Hole("T", 6, 5)
    with pytest.raises(UsageError):
        Hole("T", -1, 5)


def test_record_checks(smp: SimpleNamespace) -> None:
    table = smp.mixed_table()
    good = smp.mixed_record(2)
    assert len(record_row(table, good)) == len(table.column_names())
    reordered = Record("Mixed", 2, good.timestamp, dict(reversed(good.values.items())))
    assert record_row(table, reordered) == record_row(table, good)
    cases = [
        Record("Other", 1, good.timestamp, good.values),
        Record("Mixed", 1, good.timestamp, {k: v for k, v in good.values.items() if k != "Note"}),
        Record("Mixed", 1, good.timestamp, {**good.values, "Extra": 1}),
        Record("Mixed", 1, good.timestamp, {**good.values, "Grid": 5}),
        Record("Mixed", -1, good.timestamp, good.values),
        Record("Mixed", 1, good.timestamp.replace(tzinfo=dt.UTC), good.values),
    ]
    for bad in cases:
        with pytest.raises(UsageError):
            record_row(table, bad)


@pytest.mark.parametrize(
    ("value", "type_code", "text"),
    [
        (13.61, 7, "13.61"),
        (5008.0, 7, "5008"),
        (-201.6, 7, "-201.6"),
        (0.001, 7, "0.001"),
        (-0.0, 7, "0"),
        (100.0, 9, "100"),
        (1e-05, 9, "1E-05"),
        (2.5e10, 9, "2.5E+10"),
        (1234567.0, 9, "1234567"),
        (0.1, 18, "0.1"),
        (123456789.125, 18, "123456789.125"),
    ],
)
def test_number_text(value: float, type_code: int, text: str) -> None:
    assert number_text(value, type_code) == text


@pytest.mark.parametrize(
    ("value", "type_code", "text"),
    [
        (True, 28, "-1"),
        (False, 10, "0"),
        (1, 28, "-1"),
        (0, 27, "0"),
        (200, 17, "200"),
        (7, 6, "7"),
        ("a,b", 16, '"a,b"'),
        (float("nan"), 9, '"NAN"'),
        (float("inf"), 7, '"INF"'),
        (float("-inf"), 7, '"-INF"'),
        (dt.datetime(2024, 2, 29, 23, 59, 59), 14, '"2024-02-29 23:59:59"'),
    ],
)
def test_toa5_value(value: object, type_code: int, text: str) -> None:
    assert toa5_value(value, type_code) == text


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_four_byte_floats_keep_seven_digits(x: float) -> None:
    text = number_text(x, 9)
    assert "e" not in text and not text.endswith(".0")
    back = float(text)
    assert back == pytest.approx(x, rel=5e-7, abs=0)
    assert len(text.lstrip("-").split("E")[0].replace(".", "").lstrip("0")) <= 7


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_eight_byte_floats_read_back_exactly(x: float) -> None:
    assert float(number_text(x, 18)) == x


def test_open_sink_kinds(smp: SimpleNamespace, tmp_path: Path, station: StationInfo) -> None:
    for kind, path in [
        ("sqlite", tmp_path / "x.sqlite"),
        ("TOA5", tmp_path / "t"),
        ("csv", tmp_path / "c"),
    ]:
        sink = open_sink(kind, path)
        assert isinstance(sink, Sink)
        writer = sink.open_table(station, smp.numeric_table())
        assert isinstance(writer, TableWriter)
        writer.close()
        sink.close()
    with pytest.raises(ConfigError, match="unknown sink"):
        open_sink("postgres", tmp_path)


# --- a crash at any byte ----------------------------------------------------------------------

notes = st.text(alphabet=st.sampled_from('ab ",\r\n;'), max_size=8)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(notes=st.lists(notes, min_size=1, max_size=5), data=st.data())
def test_crash_at_any_byte_loses_and_duplicates_nothing(
    smp: SimpleNamespace,
    tmp_path_factory: pytest.TempPathFactory,
    notes: list[str],
    data: st.DataObject,
) -> None:
    """Cut the last append at a random byte: reopening resumes exactly after the last whole
    record, and a rerun of the cut batch yields the file an uninterrupted run would have."""
    table = smp.mixed_table()
    station = StationInfo("S")
    records = [smp.mixed_record(n, note=t) for n, t in enumerate(notes)]
    ref_dir = tmp_path_factory.mktemp("ref")
    with Toa5Sink(ref_dir).open_table(station, table) as w:
        w.append(records[:1])
        before = w.path.stat().st_size
        w.append(records[1:])
        full = w.path.read_bytes()
    cut = data.draw(st.integers(min_value=before, max_value=len(full)))
    crash_dir = tmp_path_factory.mktemp("crash")
    for name in ("S_Mixed.dat", "fieldlink-toa5-versions.json"):
        (crash_dir / name).write_bytes((ref_dir / name).read_bytes())
    (crash_dir / "S_Mixed.dat").write_bytes(full[:cut])
    with Toa5Sink(crash_dir).open_table(station, table) as w:
        assert w.position is not None
        stored = w.position.record
        assert full.startswith(w.path.read_bytes())
        line_ends = [
            i + 2
            for i in range(len(full))
            if full.startswith(b"\r\n", i) and full[: i + 2].count(b'"') % 2 == 0
        ]
        assert w.path.stat().st_size == max(e for e in line_ends if e <= cut)
        w.append(records[stored - 1 if stored else 0 :])
        assert w.path.read_bytes() == full


def test_sqlite_sink_satisfies_the_protocol(tmp_path: Path) -> None:
    assert isinstance(SqliteSink(tmp_path / "p.sqlite"), Sink)


def test_float32_sample_values_match_loggernet_files() -> None:
    """Values seen in published LoggerNet TOA5 files, stored as IEEE4 by the logger."""
    for text in [
        "26.58174",
        "70.32069",
        "2.445851",
        "766.2126",
        "-9.825724",
        "965.8099",
        "0.04496",
        "14.33816",
    ]:
        f32 = struct.unpack(">f", struct.pack(">f", float(text)))[0]
        assert number_text(f32, 9) == text


def test_float_in_an_integer_field_keeps_every_digit() -> None:
    assert number_text(123456789.0, 6) == "123456789"


# --- record_row: rows read as they stand equal rows read by name ------------------------------


def _by_name(table: TableDef, values: dict[str, Value]) -> list[object]:
    """The row by the definition: each field of the table, by name, arrays flattened."""
    row: list[object] = []
    for f in table.fields:
        v = values[f.name]
        row.extend(v if isinstance(v, tuple) else (v,))
    return row


def _same_row(a: list[object], b: list[object]) -> bool:
    def same(x: object, y: object) -> bool:
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x):
            return math.isnan(y)
        return type(x) is type(y) and x == y

    return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))


def _decoded(table: TableDef, values: dict[str, Value], n: int = 7) -> Record:
    """A record as a decoder makes it: a row and its names, no values dict yet."""
    names = tuple(values)
    stamp = dt.datetime(2024, 5, 1, 12, 0)
    (record,) = records_from_rows(table.name, n, (stamp,), names, (tuple(values.values()),))
    return record


def _drawing(test: Callable[[SimpleNamespace, st.DataObject], None]) -> Callable[..., None]:
    """A property test of the ``smp`` fixture and values drawn as it goes."""
    suppress = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
    return settings(suppress_health_check=suppress)(given(data=st.data())(test))


_scalar = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(-(2**31), 2**31 - 1),
    st.booleans(),
    st.text(max_size=8),
)


@_drawing
def test_rows_of_decoded_records_equal_rows_read_by_name(
    smp: SimpleNamespace, data: st.DataObject
) -> None:
    table = smp.mixed_table()
    values: dict[str, Value] = {}
    for f in table.fields:
        width = len(f.column_names())
        if width == 1:
            values[f.name] = data.draw(_scalar)
        else:
            values[f.name] = tuple(data.draw(st.lists(_scalar, min_size=width, max_size=width)))
    want = _by_name(table, values)
    decoded = _decoded(table, values)
    assert _same_row(record_row(table, decoded), want)
    assert decoded._values is None  # read from the row: no dict was made
    as_dict = Record(table.name, 7, decoded.timestamp, dict(values))
    assert _same_row(record_row(table, as_dict), want)
    shuffled = dict(data.draw(st.permutations(list(values.items()))))
    assert _same_row(record_row(table, Record(table.name, 7, decoded.timestamp, shuffled)), want)
    assert _same_row(record_row(table, _decoded(table, shuffled)), want)


class _Tuple(tuple):  # type: ignore[type-arg]
    """A tuple subclass: still an array value, expanded like any tuple."""


_flat_value = st.one_of(
    _scalar,
    st.none(),
    st.datetimes(),
    st.lists(_scalar, min_size=1, max_size=2).map(tuple),
    st.lists(_scalar, min_size=1, max_size=1).map(_Tuple),
)


def _array_value(width: int) -> st.SearchStrategy[Any]:
    right = st.lists(_scalar, min_size=width, max_size=width)
    return st.one_of(
        right.map(tuple),
        right.map(_Tuple),
        st.lists(_scalar, max_size=width + 1).map(tuple),
        _scalar,
    )


@_drawing
def test_a_batch_of_rows_is_each_record_row_or_the_first_records_error(
    smp: SimpleNamespace, data: st.DataObject
) -> None:
    # Records of plain scalars and arrays of their width in table order are copied
    # slice by slice; a tuple for a scalar (1 value: expanded; 2: refused), an array of
    # another width or a scalar for an array, a wrong table, number or zone is the
    # record's own error, raised for the first bad record of the batch.
    table = data.draw(st.sampled_from([smp.v11_table1(), smp.mixed_table()]))
    widths = {f.name: len(f.column_names()) for f in table.fields}
    stamp = dt.datetime(2024, 5, 1, 12, 0)
    records = []
    for n in range(data.draw(st.integers(0, 4))):
        values: dict[str, Any] = {
            name: data.draw(_flat_value if width == 1 else _array_value(width))
            for name, width in widths.items()
        }
        if data.draw(st.booleans()):
            values = dict(data.draw(st.permutations(list(values.items()))))
        kind = data.draw(st.sampled_from(["decoded", "dict", "other table", "aware", "bool"]))
        if kind == "decoded":
            records.append(_decoded(table, values, n))
        elif kind == "dict":
            records.append(Record(table.name, n, stamp, values))
        elif kind == "other table":
            records.append(Record("Other", n, stamp, values))
        elif kind == "aware":
            records.append(Record(table.name, n, stamp.replace(tzinfo=dt.UTC), values))
        else:
            records.append(Record(table.name, True, stamp, values))
    want: list[list[Any]] = []
    error: str | None = None
    for record in records:
        try:
            want.append(record_row(table, record))
        except UsageError as exc:
            error = str(exc)
            break
    if error is None:
        rows = record_rows(table, records)
        assert len(rows) == len(want)
        assert all(_same_row(a, b) for a, b in zip(rows, want, strict=True))
        assert not any(isinstance(v, tuple) for row in rows for v in row)
    else:
        with pytest.raises(UsageError) as caught:
            record_rows(table, records)
        assert str(caught.value) == error


def test_a_scalar_field_given_one_value_in_a_tuple_is_expanded(smp: SimpleNamespace) -> None:
    table = smp.v11_table1()
    values: dict[str, Value] = {f.name: float(i) for i, f in enumerate(table.fields)}
    values[table.fields[0].name] = (5.0,)
    (row,) = record_rows(table, [_decoded(table, values)])
    assert row[0] == 5.0 and len(row) == len(table.fields)


def test_decoded_records_in_table_order_are_read_without_a_dict(smp: SimpleNamespace) -> None:
    table = smp.mixed_table()
    values = dict(smp.mixed_record(3).values)  # arrays, a NaN, a string, booleans
    record = _decoded(table, values)
    row = record_row(table, record)
    assert record._values is None
    assert _same_row(row, _by_name(table, values))
    assert len(row) == len(table.column_names())
    assert isinstance(row[4], float) and math.isnan(row[4])  # TC(3)
    assert row[-2] == "ok"


def test_decoded_records_that_do_not_match_are_refused_as_before(smp: SimpleNamespace) -> None:
    table = smp.mixed_table()
    values = dict(smp.mixed_record(3).values)
    subset = {k: v for k, v in values.items() if k != "Note"}
    extra = {**values, "Extra": 1.0}
    short_array = {**values, "Grid": (1, 2, 3)}
    scalar_for_array = {**values, "TC": 1.5}
    array_for_scalar = {**values, "PTemp": (1.0, 2.0)}
    for bad, message in [
        (subset, r"missing \['Note'\]"),
        (extra, r"unknown \['Extra'\]"),
        (short_array, "field Grid has 3 values, the definition says 4"),
        (scalar_for_array, "field TC is an array of 3, got a single value"),
        (array_for_scalar, "field PTemp has 2 values, the definition says 1"),
    ]:
        for record in (_decoded(table, bad), Record(table.name, 7, dt.datetime(2024, 1, 1), bad)):
            with pytest.raises(UsageError, match=message):
                record_row(table, record)


def test_a_record_of_a_field_subset_is_refused_by_either_path(smp: SimpleNamespace) -> None:
    # A collection of selected fields gives records with fewer fields than the table.
    table = smp.v11_table1()
    names = tuple(f.name for f in table.fields)
    part = {n: float(i) for i, n in enumerate(names[:3])}
    with pytest.raises(UsageError, match="does not match the table"):
        record_row(table, _decoded(table, part))
    full = {n: float(i) for i, n in enumerate(names)}
    assert record_row(table, _decoded(table, full)) == [float(i) for i in range(len(names))]


def test_a_table_of_another_identity_but_same_fields_is_read_right(smp: SimpleNamespace) -> None:
    # Shapes are kept per TableDef object: a new definition must not reuse an old one.
    values = dict(smp.mixed_record(1).values)
    for _ in range(3):
        table = smp.mixed_table(extra=True)
        with pytest.raises(UsageError, match="WS_ms"):
            record_row(table, _decoded(table, values))
        table = smp.mixed_table()
        assert _same_row(record_row(table, _decoded(table, values)), _by_name(table, values))
