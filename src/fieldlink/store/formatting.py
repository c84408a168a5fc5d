"""Values as text, the way LoggerNet writes them: in TOA5 files and, the same, in CSV.

What real LoggerNet TOA5 files show (Campbell manuals' examples and files published
with data-processing projects):

- every header cell is quoted; data lines quote the time stamp and strings only;
- time stamps are ``"YYYY-MM-DD HH:MM:SS"``, with a fraction only when it is non-zero
  and without trailing zeros (``"1995-09-19 14:31:43.84"``);
- numbers are bare; 4-byte floats carry at most 7 significant digits and no trailing
  zeros or ``.0`` (``13.61``, ``5008``, ``965.8099``, ``-9.825724``);
- NaN is ``"NAN"`` (quoted);
- booleans are ``-1`` / ``0``: documented for Bool8 ("splits it apart into eight fields
  of -1 or 0 when storing to an ASCII file") and CRBasic's TRUE is -1.

fieldlink's CSV files (``getdata``, ``update``, the CSV sink) write every value in
the same form, only quoted by CSV's rules instead of TOA5's (a time stamp or ``NAN``
is bare unless it holds the delimiter): ``2024-05-01 14:07:07.6``, ``-1``/``0``,
``NAN``, ``INF``.  So a value reads the same whichever file it is in.  (A file that
PyCampbellCR1000 started keeps its own forms, see :mod:`fieldlink.store.pycr1000`.)

UNCERTAIN (no real file seen): ``"INF"`` / ``"-INF"`` for infinities (by analogy with
``"NAN"``); the exponent form of very large/small numbers (we write ``1.5E-05``);
negative zero (we write ``0``); 8-byte floats (we write the shortest repr that reads
back exactly); and the file encoding (we write UTF-8, LoggerNet may use the Windows
code page).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable, Sequence
from typing import cast

from fieldlink.store.base import FLOAT4_TYPES, FLOAT8_TYPES, INT_TYPES

CRLF = "\r\n"
#: Bool, Bool2, Bool4: one truth value each (Bool8 holds 8 flags and is written as its number).
_SINGLE_BOOL_TYPES = frozenset({10, 27, 28})


def quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def toa5_timestamp(t: dt.datetime) -> str:
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    if t.microsecond:
        text += "." + f"{t.microsecond:06d}".rstrip("0")
    return text


def number_text(value: float, type_code: int) -> str:
    """A finite float as LoggerNet prints it: no ``.0``, 7 significant digits for 4-byte types.

    Other types (IEEE8, or a float in an integer field) get the shortest text that
    reads back exactly.
    """
    if value == 0:
        return "0"
    text = f"{value:.7g}" if type_code in FLOAT4_TYPES else repr(value)
    mantissa, e, exponent = text.partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    if e:
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}E{sign}{exponent.lstrip('+-').zfill(2)}"
    return mantissa


def loggernet_text(value: object, type_code: int) -> str:
    """One value as LoggerNet writes it, before any quoting."""
    if isinstance(value, bool):
        return "-1" if value else "0"
    if isinstance(value, int):
        if type_code in _SINGLE_BOOL_TYPES:
            return "-1" if value else "0"
        return str(value)
    if isinstance(value, float):
        # Python spells the three "nan", "inf" and "-inf"; LoggerNet in capitals.
        return number_text(value, type_code) if math.isfinite(value) else str(value).upper()
    if isinstance(value, dt.datetime):
        return toa5_timestamp(value)
    return str(value)


def toa5_value(value: object, type_code: int) -> str:
    """One data cell of a TOA5 line: strings, time stamps and NAN/INF quoted."""
    text = loggernet_text(value, type_code)
    if isinstance(value, str | dt.datetime) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        return quote(text)
    return text


def csv_value(value: object, type_code: int) -> str:
    """One cell of a CSV line, before the csv module quotes it: as in TOA5 (LoggerNet's
    forms), so the same value reads the same in both."""
    return loggernet_text(value, type_code)


# --- the same forms, per column -----------------------------------------------------------------
#
# A collection writes hundreds of thousands of lines, and asking of every value what it is
# (bool? int? float? which type code?) was half of ``getdata``'s CPU.  A column's type is
# known once per table, so each column gets its formatter once: the value it normally
# holds (a float in a float field, an int in an integer field) takes a short path, and
# anything else -- NaN, infinities, zero, exponent forms, a hand-made record holding an
# unexpected type -- goes to the per-value functions above.  So the text is theirs by
# construction, and a property test holds the two to byte equality.

#: One cell's text from one value of a column (before CSV quoting).
CellText = Callable[[object], str]


def cell_formatter(type_code: int, *, toa5: bool) -> CellText:
    """The formatter of a column of ``type_code``: :func:`toa5_value` (``toa5``) or
    :func:`csv_value`, with a short path for the values such a column normally holds."""
    general = toa5_value if toa5 else csv_value

    def other(value: object) -> str:
        return general(value, type_code)

    if type_code in FLOAT4_TYPES:

        def float4(value: object) -> str:
            # ``x - x == 0`` only for finite x; the "g" format already drops trailing
            # zeros and a bare point, so only exponent forms need number_text's work.
            if value.__class__ is float and value - value == 0.0:
                if not value:
                    return "0"
                text = f"{value:.7g}"
                if "e" not in text:
                    return text
            return general(value, type_code)

        return float4
    if type_code in FLOAT8_TYPES:

        def float8(value: object) -> str:
            # repr is the shortest text that reads back: its only trailing zero is ".0".
            if value.__class__ is float and value - value == 0.0:
                if not value:
                    return "0"
                text = repr(value)
                if "e" not in text:
                    return text[:-2] if text.endswith(".0") else text
            return general(value, type_code)

        return float8
    if type_code in _STRING_TYPES:

        def string(value: object) -> str:
            if value.__class__ is str:
                return quote(value) if toa5 else value
            return general(value, type_code)

        return string
    if type_code in _SINGLE_BOOL_TYPES:

        def truth(value: object) -> str:
            if value.__class__ is bool or value.__class__ is int:
                return "-1" if value else "0"
            return general(value, type_code)

        return truth
    if type_code in INT_TYPES or type_code == _BOOL8:

        def integer(value: object) -> str:
            if value.__class__ is int:
                return str(value)
            return general(value, type_code)

        return integer
    return other


#: Bool8: eight flags in one byte, written as its number.
_BOOL8 = 17
#: ASCII, ASCIIZ.
_STRING_TYPES = frozenset({11, 16})


def csv_line(cells: Sequence[str], delimiter: str) -> str:
    """``cells`` as one CSV line, exactly as ``csv.writer`` (minimal quoting, CRLF) writes it.

    A line in which no cell holds the delimiter, a quote or a line break needs no
    quoting and is simply joined; any other goes through the csv module.
    """
    line = delimiter.join(cells)
    if (
        line.count(delimiter) == len(cells) - 1
        and '"' not in line
        and "\r" not in line
        and "\n" not in line
        and (len(cells) != 1 or line)  # the csv module quotes a lone empty cell
    ):
        return line + CRLF
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=CRLF).writerow(cells)
    return out.getvalue()


# --- many lines at once -------------------------------------------------------------------------
#
# Even a formatter per column is a Python call per value.  A batch of lines is written
# column by column instead: a column holding only the type its formatter's short path
# takes goes through one C-level ``map`` (``"%.7g" %`` is the ``.7g`` of the float
# formatter, ``str`` the integer one's), anything else through the column's own
# formatter -- and so does a float column in which the short form shows something the
# per-value functions spell otherwise (``nan``, ``inf``, an exponent, ``-0``).  The
# cells are then joined line by line.

#: A column's cells from its values.
ColumnText = Callable[[Sequence[object]], list[str]]

_FLOAT4_TEXT = "%.7g".__mod__
#: Bool, Bool2, Bool4 by truth value (False indexes 0, True 1).
_TRUTH_TEXT = ("0", "-1")
#: Characters of the time stamp and record number cells: a CSV delimiter among them
#: would need quoting, so such a delimiter writes line by line.
_STAMP_CHARS = frozenset("0123456789-.: ")
#: Characters of a CSV cell that make the csv module quote it (the delimiter aside).
_QUOTED_CHARS = ('"', "\r", "\n")
#: Length of ``str`` of a datetime without a fraction (``2024-05-01 14:07:07``).
_PLAIN_STAMP = 19


def _only(values: Sequence[object], kind: type) -> bool:
    """Whether every one of ``values`` is exactly of type ``kind`` (no subclass: a bool
    is not an int here)."""
    return set(map(type, values)) == {kind}


def column_text(type_code: int, cell: CellText, *, toa5: bool) -> ColumnText:
    """The cells of a whole column of ``type_code`` whose cell formatter is ``cell``:
    what ``cell`` gives for each value, the usual columns without a call per value."""

    def each(column: Sequence[object]) -> list[str]:
        return list(map(cell, column))

    if type_code in FLOAT4_TYPES:

        def float4(column: Sequence[object]) -> list[str]:
            if _only(column, float):
                texts = list(map(_FLOAT4_TEXT, column))
                joined = "".join(texts)
                if "n" not in joined and "e" not in joined and "-0" not in texts:
                    return texts
            return each(column)

        return float4
    if type_code in INT_TYPES or type_code == _BOOL8:

        def integer(column: Sequence[object]) -> list[str]:
            return list(map(str, column)) if _only(column, int) else each(column)

        return integer
    if type_code in _SINGLE_BOOL_TYPES:

        def truth(column: Sequence[object]) -> list[str]:
            if _only(column, bool):
                return list(map(_TRUTH_TEXT.__getitem__, cast(Sequence[bool], column)))
            return each(column)

        return truth
    if type_code in _STRING_TYPES:

        def string(column: Sequence[object]) -> list[str]:
            if _only(column, str):
                strings = cast(Sequence[str], column)
                return list(map(quote, strings)) if toa5 else list(strings)
            return each(column)

        return string
    return each


class LineFormat:
    """A table's data lines as TOA5 or CSV writes them, each column's formatter made once.

    A line is the time stamp, the record number and the values in column order
    (``type_codes`` is each column's field type).  :meth:`lines` writes many at once,
    column by column.
    """

    __slots__ = ("_cells", "_columns", "delimiter", "toa5")

    def __init__(self, type_codes: Sequence[int], *, toa5: bool, delimiter: str = ",") -> None:
        self.toa5 = toa5
        self.delimiter = "," if toa5 else delimiter
        self._cells = [cell_formatter(code, toa5=toa5) for code in type_codes]
        self._columns = [
            column_text(code, cell, toa5=toa5)
            for code, cell in zip(type_codes, self._cells, strict=True)
        ]

    def cells(self, row: Sequence[object]) -> list[str]:
        """The value cells of a row, before CSV quoting."""
        return [text(value) for text, value in zip(self._cells, row, strict=True)]

    def line(self, timestamp: dt.datetime, number: int, row: Sequence[object]) -> str:
        """One terminated data line."""
        stamp = toa5_timestamp(timestamp)
        if self.toa5:
            return ",".join([quote(stamp), str(number), *self.cells(row)]) + CRLF
        return csv_line([stamp, str(number), *self.cells(row)], self.delimiter)

    def lines(
        self,
        timestamps: Sequence[dt.datetime],
        numbers: Sequence[int],
        rows: Sequence[Sequence[object]],
    ) -> str:
        """The terminated lines of many records: what :meth:`line` writes for each, joined."""
        text = self._by_columns(timestamps, numbers, rows)
        if text is None:
            return "".join(map(self.line, timestamps, numbers, rows))
        return text

    def _by_columns(
        self,
        timestamps: Sequence[dt.datetime],
        numbers: Sequence[int],
        rows: Sequence[Sequence[object]],
    ) -> str | None:
        """The lines, column by column; None when they must be written line by line (a
        CSV cell that needs quoting, rows of the wrong length, a mismatched batch)."""
        d = self.delimiter
        width = len(self._columns)
        if not rows or d in _STAMP_CHARS or len({len(timestamps), len(numbers), len(rows)}) != 1:
            return None
        if set(map(len, rows)) != {width}:
            return None
        texts = [
            text(column)
            for text, column in zip(self._columns, zip(*rows, strict=True), strict=True)
        ]
        if not self.toa5:
            for column in texts:
                joined = "".join(column)
                if d in joined or any(c in joined for c in _QUOTED_CHARS):
                    return None
        stamps = list(map(str, timestamps))  # "YYYY-MM-DD HH:MM:SS[.ffffff]"
        if not _only(timestamps, dt.datetime) or max(map(len, stamps)) > _PLAIN_STAMP:
            stamps = list(map(toa5_timestamp, timestamps))  # a fraction, which TOA5 trims
        if self.toa5:
            stamps = list(map(quote, stamps))
        cells = zip(stamps, map(str, numbers), *texts, strict=True)
        return CRLF.join(map(d.join, cells)) + CRLF
