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
# Even a formatter per column is a Python call per value.  A table of numbers only (the
# usual logger table: 4-byte floats and integers) has a whole line that ``%`` can write
# in one C call from a template made once -- ``%.7g`` is the ``.7g`` of the float
# formatter above, ``%d`` the ``str`` of the integer one -- provided each column holds
# exactly the type its formatter's short path takes.  What that short path hands on
# (NaN, infinities, exponent forms, negative zero) shows in the text as an ``n``, an
# ``e`` or a ``-0`` cell, and only those lines are written again value by value.

#: The batch path's conversion and the value type it requires, by column kind.
_BATCH_FLOAT4 = ("%.7g", float)
_BATCH_INT = ("%d", int)
#: What a cell of the batch path can hold besides the delimiter (time stamps add the
#: space and colon): a delimiter among them would need CSV quoting.
_BATCH_CELL_CHARS = frozenset("0123456789+-.: ")


def _batch_spec(type_code: int) -> tuple[str, type] | None:
    if type_code in FLOAT4_TYPES:
        return _BATCH_FLOAT4
    if type_code in INT_TYPES or type_code == _BOOL8:
        return _BATCH_INT
    return None


class LineFormat:
    """A table's data lines as TOA5 or CSV writes them, each column's formatter made once.

    A line is the time stamp, the record number and the values in column order
    (``type_codes`` is each column's field type).  :meth:`lines` writes a batch of them,
    through a whole-line template when the table's columns allow one.
    """

    __slots__ = ("_cells", "_kinds", "_minus_zero", "_template", "delimiter", "toa5")

    def __init__(self, type_codes: Sequence[int], *, toa5: bool, delimiter: str = ",") -> None:
        self.toa5 = toa5
        self.delimiter = "," if toa5 else delimiter
        self._cells = [cell_formatter(code, toa5=toa5) for code in type_codes]
        specs = [_batch_spec(code) for code in type_codes]
        d = self.delimiter
        self._template: str | None = None
        self._kinds: tuple[type, ...] = ()
        if None not in specs and d not in _BATCH_CELL_CHARS:
            given = cast(list[tuple[str, type]], specs)
            stamp = '"%s"' if toa5 else "%s"
            self._template = d.join([stamp, "%d", *(spec for spec, _ in given)]) + CRLF
            self._kinds = tuple(kind for _, kind in given)
        #: A cell ``-0`` (negative zero, which the per-value functions write ``0``).
        self._minus_zero = (f"{d}-0{d}", f"{d}-0{CRLF}")

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
        text = self._batch(timestamps, numbers, rows)
        if text is None:
            return "".join(map(self.line, timestamps, numbers, rows))
        return text

    def _batch(
        self,
        timestamps: Sequence[dt.datetime],
        numbers: Sequence[int],
        rows: Sequence[Sequence[object]],
    ) -> str | None:
        """The lines through the template, or None when the table or a value's type
        rules it out (the caller then writes line by line)."""
        template, kinds = self._template, self._kinds
        if template is None or not rows:
            return None
        columns = list(zip(*rows, strict=True))
        if len(columns) != len(kinds) or len(rows) != len(timestamps) or len(rows) != len(numbers):
            return None
        for column, kind in zip(columns, kinds, strict=True):
            if not _only(column, kind):
                return None
        if not (_only(timestamps, dt.datetime) and _only(numbers, int)):
            return None
        stamps = list(map(str, timestamps))  # "YYYY-MM-DD HH:MM:SS[.ffffff]"
        if max(map(len, stamps)) > _PLAIN_STAMP:  # a fraction, which TOA5 trims
            stamps = list(map(toa5_timestamp, timestamps))
        lines = list(map(template.__mod__, zip(stamps, numbers, *columns, strict=True)))
        text = "".join(lines)
        if self._special(text):
            line = self.line
            lines = [
                line(stamp, number, row) if self._special(done) else done
                for done, stamp, number, row in zip(lines, timestamps, numbers, rows, strict=True)
            ]
            text = "".join(lines)
        return text

    def _special(self, text: str) -> bool:
        """Whether ``text`` from the template holds a value the template does not spell
        as the per-value functions do: NaN, an infinity, an exponent, negative zero."""
        minus_zero, minus_zero_last = self._minus_zero
        return "n" in text or "e" in text or minus_zero in text or minus_zero_last in text


#: Length of ``str`` of a datetime without a fraction (``2024-05-01 14:07:07``).
_PLAIN_STAMP = 19


def _only(values: Sequence[object], kind: type) -> bool:
    """Whether every one of ``values`` is exactly of type ``kind`` (no subclass: a bool
    is not an int here)."""
    return set(map(type, values)) == {kind}
