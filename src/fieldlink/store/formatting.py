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

import datetime as dt
import math

from fieldlink.store.base import FLOAT4_TYPES

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
        if math.isnan(value):
            return "NAN"
        if math.isinf(value):
            return "INF" if value > 0 else "-INF"
        return number_text(value, type_code)
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
