"""The per-column line formatters write exactly what the per-value functions write.

:class:`~fieldlink.store.formatting.LineFormat` picks each column's formatter once and
gives the usual values a short path; these tests hold every line it writes, for random
values of every field type (and values a column does not normally hold), to the bytes
that :func:`csv_value` / :func:`toa5_value` and the csv module make of the same row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlink.pakbus.protocol.types import DataType
from fieldlink.store.formatting import (
    CRLF,
    LineFormat,
    csv_line,
    csv_value,
    quote,
    toa5_timestamp,
    toa5_value,
)

TYPE_CODES = sorted(int(t) for t in DataType)

#: Values as collections give them for each kind of field, and the odd ones out.
floats = st.floats(allow_nan=True, allow_infinity=True, width=32) | st.floats()
values = st.one_of(
    floats,
    st.sampled_from([0.0, -0.0, 1e-5, 1.5e-5, 1e16, 123.0, 1e7, 9999999.5, 1e22, 5e-324]),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(['a"b', "x,y", "line\r\nbreak", "", " ", "\t", ";", "NAN"]),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)),
)
delimiters = st.sampled_from([",", ";", "\t", " ", "|", ".", "-", "E", "0", "1", "e", "N"])


def reference_csv(stamp: dt.datetime, number: int, row: list[object], codes: list[int],
                  delimiter: str) -> str:  # fmt: skip
    cells = [toa5_timestamp(stamp), str(number)]
    cells += [csv_value(v, c) for v, c in zip(row, codes, strict=True)]
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(cells)
    return out.getvalue()


def reference_toa5(stamp: dt.datetime, number: int, row: list[object], codes: list[int]) -> str:
    cells = [quote(toa5_timestamp(stamp)), str(number)]
    cells += [toa5_value(v, c) for v, c in zip(row, codes, strict=True)]
    return ",".join(cells) + CRLF


rows = st.lists(st.tuples(st.sampled_from(TYPE_CODES), values), min_size=0, max_size=12)
stamps = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1))


@settings(max_examples=400, deadline=None)
@given(rows, stamps, st.integers(0, 2**32), delimiters)
def test_csv_lines_are_the_per_value_functions_bytes(
    cells: list[tuple[int, object]], stamp: dt.datetime, number: int, delimiter: str
) -> None:
    codes = [c for c, _ in cells]
    row = [v for _, v in cells]
    got = LineFormat(codes, toa5=False, delimiter=delimiter).line(stamp, number, row)
    assert got.encode() == reference_csv(stamp, number, row, codes, delimiter).encode()


@settings(max_examples=400, deadline=None)
@given(rows, stamps, st.integers(0, 2**32))
def test_toa5_lines_are_the_per_value_functions_bytes(
    cells: list[tuple[int, object]], stamp: dt.datetime, number: int
) -> None:
    codes = [c for c, _ in cells]
    row = [v for _, v in cells]
    got = LineFormat(codes, toa5=True).line(stamp, number, row)
    assert got.encode() == reference_toa5(stamp, number, row, codes).encode()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TYPE_CODES), values)
def test_each_column_formatter_is_the_per_value_function(code: int, value: object) -> None:
    assert LineFormat([code], toa5=False).cells([value]) == [csv_value(value, code)]
    assert LineFormat([code], toa5=True).cells([value]) == [toa5_value(value, code)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=6), max_size=5), delimiters)
def test_csv_line_quotes_as_the_csv_module_does(cells: list[str], delimiter: str) -> None:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(cells)
    assert csv_line(cells, delimiter) == out.getvalue()


def test_usual_values_take_the_forms_the_files_pin() -> None:
    codes = [int(DataType.FP2), int(DataType.IEEE4), int(DataType.IEEE8), int(DataType.INT4),
             int(DataType.BOOL), int(DataType.BOOL8), int(DataType.ASCII)]  # fmt: skip
    row = [13.61, 965.8099, 123.0, -7, True, 255, "a,b"]
    fmt = LineFormat(codes, toa5=False)
    assert fmt.line(dt.datetime(2024, 5, 1, 14, 7, 7, 600000), 3, row) == (
        '2024-05-01 14:07:07.6,3,13.61,965.8099,123,-7,-1,255,"a,b"\r\n'
    )
    assert LineFormat(codes, toa5=True).line(dt.datetime(2024, 5, 1), 3, row) == (
        '"2024-05-01 00:00:00",3,13.61,965.8099,123,-7,-1,255,"a,b"\r\n'
    )


#: Columns with a short path of their own (floats, integers, truth values), and IEEE8 without.
BATCH_CODES = [int(DataType.FP2), int(DataType.IEEE4), int(DataType.INT4), int(DataType.BOOL8)]
BATCH_CODES += [int(DataType.BOOL), int(DataType.IEEE8)]
batch_values = st.one_of(
    st.floats(width=32),
    st.sampled_from([0.0, -0.0, 1e-5, 1e7, 9999999.5, 13.61, -400.0, math.nan, -math.inf]),
    st.integers(min_value=-(2**31), max_value=2**32),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*BATCH_CODES, int(DataType.ASCII)]), min_size=0, max_size=6),
    st.data(),
    st.booleans(),
    delimiters,
)
def test_many_lines_are_each_lines_bytes(
    codes: list[int], data: st.DataObject, toa5: bool, delimiter: str
) -> None:
    """``lines`` (column by column where the batch allows) writes what ``line``
    writes for each record: usual values, NaN, infinities, exponents, negative zero,
    values of another type than the column's, fractions of a second, any delimiter."""
    count = data.draw(st.integers(1, 6))
    usual = data.draw(st.booleans())  # every value of its column's type, or anything
    rows = []
    for _ in range(count):
        row: list[object] = []
        for code in codes:
            if not usual:
                row.append(data.draw(batch_values | values))
            elif code in (int(DataType.FP2), int(DataType.IEEE4)):
                row.append(data.draw(st.floats(-1e6, 1e6, width=32) | st.floats(width=32)))
            elif code == int(DataType.ASCII):
                row.append(data.draw(st.text(max_size=4)))
            elif code == int(DataType.BOOL):
                row.append(data.draw(st.booleans()))
            elif code == int(DataType.IEEE8):
                row.append(data.draw(st.floats()))
            else:
                row.append(data.draw(st.integers(-(2**31), 2**31 - 1)))
        rows.append(row)
    stamps_ = [data.draw(stamps) for _ in range(count)]
    numbers = [data.draw(st.integers(0, 2**32)) for _ in range(count)]
    fmt = LineFormat(codes, toa5=toa5, delimiter=delimiter)
    expected = "".join(map(fmt.line, stamps_, numbers, rows))
    assert fmt.lines(stamps_, numbers, rows) == expected


def test_a_batch_is_written_column_by_column_and_odd_values_by_their_formatter() -> None:
    codes = [int(DataType.FP2), int(DataType.INT4), int(DataType.IEEE4), int(DataType.BOOL)]
    codes += [int(DataType.ASCII)]
    fmt = LineFormat(codes, toa5=False)
    stamps_ = [dt.datetime(2024, 5, 1, 0, 0, s, 600000 * (s == 2)) for s in range(4)]
    rows: list[list[object]] = [
        [13.61, -7, 965.8099, True, "OK"],
        [-0.0, 0, math.nan, False, "open"],
        [1e-5, 3, 1e7, True, ""],
        [-0.5, -1, -math.inf, False, "none"],
    ]
    expected = (
        "2024-05-01 00:00:00,1,13.61,-7,965.8099,-1,OK\r\n"
        "2024-05-01 00:00:01,2,0,0,NAN,0,open\r\n"
        "2024-05-01 00:00:02.6,3,1E-05,3,1E+07,-1,\r\n"
        "2024-05-01 00:00:03,4,-0.5,-1,-INF,0,none\r\n"
    )
    assert fmt._by_columns(stamps_, [1, 2, 3, 4], rows) == expected
    assert fmt.lines(stamps_, [1, 2, 3, 4], rows) == expected
    toa5 = LineFormat(codes, toa5=True)._by_columns(stamps_, [1, 2, 3, 4], rows)
    assert toa5 is not None
    assert toa5.splitlines()[1] == '"2024-05-01 00:00:01",2,0,0,"NAN",0,"open"'
    # Line by line: a delimiter the time stamps hold, a cell the csv module must quote.
    assert LineFormat(codes, toa5=False, delimiter=" ")._by_columns(stamps_, [1] * 4, rows) is None
    rows[0][4] = "a,b"
    assert fmt._by_columns(stamps_, [1, 2, 3, 4], rows) is None
    assert fmt.lines(stamps_, [1, 2, 3, 4], rows).startswith(
        '2024-05-01 00:00:00,1,13.61,-7,965.8099,-1,"a,b"\r\n'
    )
