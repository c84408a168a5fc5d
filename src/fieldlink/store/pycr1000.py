"""Carry on a CSV file that PyCampbellCR1000's ``pycr1000 update`` started.

Its files begin ``Datetime,RecNbr,<field>,...`` and come in two dialects:

- written by Python 3, the field names are the repr of bytes: ``b'AirTC_Avg'``;
- written by Python 2, the names are plain but the fields follow the order of a
  Python 2 dict (``Datetime`` and ``RecNbr`` first, the rest in hash order).

An array field holds one column, its first element, under the field's bare name.
Users edit these files too: a column may be missing (even ``RecNbr``) and the
delimiter is whatever ``--delim`` they used.

So the header is read as it stands and each of its columns is matched to the
logger's: ``Datetime``, ``RecNbr``, a column name as the logger gives it
(``Temp(2)``), or a bare array name meaning its first element.  New lines keep the
file's column order, delimiter and line ending, and write values as PyCampbellCR1000
did (``str(datetime)``, ``True``/``False``, ``nan``; numbers as in fieldlink's CSV;
strings ``b'...'`` in a Python 3 file), so a column never mixes two spellings.  A
logger column the file has no place for is left out (and logged); a file column the
logger does not have stops the update.

The position is the ``RecNbr`` of the last line.  Without ``RecNbr`` it is the
last ``Datetime``: every record of the table is asked for and only those stamped
later are appended (slower, and exact only if the logger clock never went back).

A last line without its line ending is a torn write (PyCampbellCR1000 ends every
line): it is cut off before anything is appended, as for fieldlink's own files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fieldlink.errors import StoreError
from fieldlink.pakbus.protocol.model import Record, Scalar, TableDef
from fieldlink.store.base import (
    Hole,
    Position,
    StationInfo,
    columns,
    record_rows,
)
from fieldlink.store.formatting import number_text
from fieldlink.store.opened import WriterBase
from fieldlink.store.safefile import TornWrite, append_at

log = logging.getLogger(__name__)

#: Delimiters tried, after the one asked for, when reading a header.
DELIMITERS = (",", ";", "\t", "|", " ")
#: A header longer than this is not a PyCampbellCR1000 header.
_MAX_HEADER = 1 << 20
_BYTES_REPR = re.compile(r"""b(['"])(.*)\1""", re.DOTALL)


@dataclass(frozen=True, slots=True)
class PycrHeader:
    """The first line of a PyCampbellCR1000 file, read."""

    #: Column names with any ``b'...'`` removed.
    names: tuple[str, ...]
    delimiter: str
    #: "python3" (``b'name'`` headers) or "python2".
    dialect: str
    #: Bytes of the header line, its line ending included.
    length: int
    line_end: str

    def describe(self) -> str:
        delim = {"\t": "tab", " ": "space"}.get(self.delimiter, repr(self.delimiter))
        origin = "Python 3" if self.dialect == "python3" else "Python 2"
        return f"a PyCampbellCR1000 file (written by {origin}, {delim}-separated)"


def column_name(cell: str) -> str:
    """``b'AirTC_Avg'`` (Python 3's bytes repr) -> ``AirTC_Avg``; others stripped."""
    text = cell.strip()
    m = _BYTES_REPR.fullmatch(text)
    return m.group(2) if m else text


def read_header(path: Path, delimiter: str = ",") -> PycrHeader | None:
    """The header of ``path`` if it is a ``Datetime,...`` CSV header, else None."""
    try:
        with open(path, "rb") as f:
            line = f.readline(_MAX_HEADER)
    except OSError as e:
        raise StoreError(f"cannot read {path}: {e.strerror or e}") from e
    if not line.endswith(b"\n"):
        return None
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    bom = len(line) - len(text.encode("utf-8"))
    line_end = "\r\n" if text.endswith("\r\n") else "\n"
    body = text[: -len(line_end)]
    for delim in dict.fromkeys((delimiter, *DELIMITERS)):
        cells = next(csv.reader([body], delimiter=delim), [])
        names = tuple(column_name(c) for c in cells)
        if "Datetime" in names and len(names) > 1:
            dialect = "python3" if any(_BYTES_REPR.fullmatch(c.strip()) for c in cells) else (
                "python2")  # fmt: skip
            return PycrHeader(names, delim, dialect, len(text.encode("utf-8")) + bom, line_end)
    return None


#: One cell of a new line, from the record and its row of values in the logger's order.
Cell = Callable[[Record, list[Scalar]], str]


def pycr_value(value: object, dialect: str = "python2") -> str:
    """A value as PyCampbellCR1000 wrote it (Python's ``str``), numbers as fieldlink's CSV.

    Under Python 3 it wrote strings as the repr of bytes (``b'OK\\x00...'``, padded to
    the field's size); they are written ``b'OK'`` so the column keeps its form.
    """
    if isinstance(value, str) and dialect == "python3":
        return repr(value.encode("utf-8"))
    if isinstance(value, float) and math.isfinite(value):
        return number_text(value, 9)
    return str(value)  # True/False, and "nan", "inf", "-inf" as Python spells them


def plan_cells(header: PycrHeader, table: TableDef, path: Path) -> tuple[list[Cell], list[str]]:
    """How to fill each of the file's columns, and the logger's columns left out."""
    cols = columns(table)
    where = {c.name: i for i, c in enumerate(cols)}
    for i, c in enumerate(cols):  # an array's bare name: its first element
        where.setdefault(c.field.name, i)
    cells: list[Cell] = []
    used: set[int] = set()
    for name in header.names:
        if name == "Datetime":
            cells.append(lambda r, _row: str(r.timestamp))
        elif name == "RecNbr":
            cells.append(lambda r, _row: str(r.number))
        elif name in where:
            i = where[name]
            used.add(i)
            cells.append(lambda _r, row, i=i: pycr_value(row[i], header.dialect))  # type: ignore[misc]
        else:
            raise StoreError(
                f"{path} has a column {name!r} that {table.name} on the logger does not "
                "have (another table, or another program); give a new file name"
            )
    left_out = [c.name for i, c in enumerate(cols) if i not in used]
    return cells, left_out


class HoleStore(Protocol):
    """Where holes are kept: the sink's ``FILE.holes.csv``."""

    def _load_holes(self, station: str, table: str, version: int) -> list[Hole]: ...

    def _store_holes(self, station: str, version: int, holes: Sequence[Hole]) -> None: ...


class PycrTableWriter(WriterBase):
    """Appends a table's new records to an existing PyCampbellCR1000 file."""

    def __init__(
        self,
        holes: HoleStore,
        station: StationInfo,
        table: TableDef,
        path: Path,
        header: PycrHeader,
    ) -> None:
        super().__init__(None, station, table, 1)
        self.path = path
        self.header = header
        self._holes_store = holes
        self._cells, self.left_out = plan_cells(header, table, path)
        if self.left_out:
            log.warning("%s has no column for %s: not stored", path, ", ".join(self.left_out))
        try:
            self._file = open(path, "r+b", buffering=0)  # noqa: SIM115 - owned by the writer
        except OSError as e:
            raise StoreError(f"cannot open {path}: {e.strerror or e}") from e
        try:
            self._end, last = self._recover()
        except BaseException:
            self._file.close()
            raise
        self.position: Position | None = None
        #: Without RecNbr: the last time stamp stored; only later records are appended.
        self.after_time: dt.datetime | None = None
        if last is not None:
            self._read_position(last)
        self._holes = holes._load_holes(station.name, table.name, 1)

    def _recover(self) -> tuple[int, list[str] | None]:
        """Cut a torn last line; return the end of the data and its last row."""
        size = self._file.seek(0, os.SEEK_END)
        data_start = self.header.length
        end = size
        if size > data_start:
            self._file.seek(max(data_start, size - 1))
            if self._file.read(1) != b"\n":
                end = self._last_newline(data_start, size)
                log.warning("%s: %d bytes of a torn last line removed", self.path, size - end)
                self._file.truncate(end)
                os.fsync(self._file.fileno())
        last: list[str] | None = None
        with open(self.path, "rb") as raw:
            raw.seek(data_start)
            text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
            try:
                for row in csv.reader(text, delimiter=self.header.delimiter):
                    if row:
                        last = row
            except csv.Error as e:
                raise StoreError(f"{self.path}: cannot read its lines ({e})") from e
        return end, last

    def _last_newline(self, data_start: int, size: int) -> int:
        pos = size
        while pos > data_start:
            start = max(data_start, pos - (1 << 16))
            self._file.seek(start)
            chunk = self._file.read(pos - start)
            i = chunk.rfind(b"\n")
            if i >= 0:
                return start + i + 1
            pos = start
        return data_start

    def _read_position(self, row: list[str]) -> None:
        names = self.header.names
        shown = self.header.delimiter.join(row)[:120]
        if len(row) != len(names):
            raise StoreError(
                f"{self.path}: the last line has {len(row)} cells for {len(names)} columns "
                f"({shown!r}); fieldlink will not guess its position — repair that line"
            )
        if "RecNbr" in names:
            number = row[names.index("RecNbr")].strip()
            if not number.isdigit():
                raise StoreError(
                    f"{self.path}: the last line's RecNbr is {number!r}, not a number; "
                    "repair or remove that line"
                )
            self.position = Position(self.table.signature, int(number), 1)
            return
        stamp = row[names.index("Datetime")].strip()
        try:
            self.after_time = dt.datetime.fromisoformat(stamp)
        except ValueError:
            raise StoreError(
                f"{self.path}: the last line's Datetime is {stamp!r}, not a date and time; "
                "repair or remove that line"
            ) from None

    def holes(self) -> list[Hole]:
        return list(self._holes)

    def append(self, records: Sequence[Record], holes: Sequence[Hole] = ()) -> None:
        self._check_open(self.path.name)
        fresh = self._fresh(records, holes, self.position)
        if self.after_time is not None:
            after = self.after_time
            fresh = [r for r in fresh if r.timestamp > after]
        known = {(h.first, h.last) for h in self._holes}
        new_holes = [h for h in holes if (h.first, h.last) not in known]
        if new_holes:
            self._holes_store._store_holes(self.station.name, 1, new_holes)
            self._holes = sorted([*self._holes, *new_holes], key=lambda h: (h.first, h.last))
        if not fresh:
            return
        out = io.StringIO()
        writer = csv.writer(
            out, delimiter=self.header.delimiter, lineterminator=self.header.line_end
        )
        for r, row in zip(fresh, record_rows(self.table, fresh), strict=True):
            writer.writerow([cell(r, row) for cell in self._cells])
        self._write(out.getvalue().encode("utf-8"))
        self.position = Position(self.table.signature, fresh[-1].number, 1)
        if self.after_time is not None:
            self.after_time = fresh[-1].timestamp

    def _write(self, data: bytes) -> None:
        try:
            self._end = append_at(self._file, self._end, data)
        except TornWrite as e:
            reason = e.cause.strerror or e.cause
            raise StoreError(f"cannot write {self.path}: {reason}") from e.cause

    def _close(self) -> None:
        self._file.close()


__all__ = ["PycrHeader", "PycrTableWriter", "column_name", "pycr_value", "read_header"]
