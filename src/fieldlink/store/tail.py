"""Recover the position of a text data file from its last complete record.

A file sink appends each batch with one write and an fsync, so after a crash the only
damage is an unterminated last line (a torn write, possibly NUL-filled by the file
system).  Everything from the last line terminator on is therefore dropped, and the
record number of the line before it is the position: nothing is duplicated (the torn
record was not counted) and nothing is lost (the collector asks for it again).

A complete last line that is not a record of the table is *not* dropped: that is not a
torn write but someone else's edit, and guessing would risk deleting data.

Strings may hold quoted line breaks, so for tables with string fields the file is
scanned with the quoting in mind; for purely numeric tables a line break is always a
record end and only the last few kilobytes are read.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from typing import BinaryIO

from fieldlink.errors import StoreError

_CHUNK = 1 << 16
_QUOTE_OR_NEWLINE = re.compile(rb'["\n]')


@dataclass(frozen=True, slots=True)
class Tail:
    """Where the next record goes and what the last complete one holds."""

    #: Offset just past the last complete record (data_start if there is none).
    end: int
    #: The cells of the last complete record, or None.
    row: list[str] | None
    #: Bytes after ``end`` — a torn write — that the caller must truncate.
    torn: int


def find_tail(
    f: BinaryIO,
    data_start: int,
    *,
    delimiter: str,
    field_count: int,
    quoted_newlines: bool,
    path: str,
) -> Tail:
    """Locate the last complete record after ``data_start`` (the end of the header)."""
    size = f.seek(0, os.SEEK_END)
    if size <= data_start:
        return Tail(data_start, None, 0)
    if quoted_newlines:
        end, start = _scan_records(f, data_start)
    else:
        end, start = _last_line(f, data_start, size)
    if end <= data_start:
        return Tail(data_start, None, size - data_start)
    f.seek(start)
    raw = f.read(end - start)
    row = _parse(raw, delimiter, path)
    if row is None or len(row) != field_count or not _is_record_number(row[1]):
        shown = raw[:120].decode("utf-8", "replace").rstrip("\r\n")
        line = _line_number(f, start)
        raise StoreError(
            f"{path}, line {line}: the last line is not a record of this table ({shown!r}); "
            "fieldlink will not guess its position — move the file aside or repair that line"
        )
    return Tail(end, row, size - end)


def _is_record_number(cell: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also takes ``²`` and ``١``, which ``int`` may not."""
    return cell.isascii() and cell.isdigit()


def record_number(cell: str, path: str, line: int | None = None) -> int:
    """The RECORD cell as a number, or a StoreError naming the file (and line)."""
    if not _is_record_number(cell):
        where = path if line is None else f"{path}, line {line}"
        raise StoreError(f"{where}: record number {cell!r} is not a number")
    return int(cell)


def _line_number(f: BinaryIO, offset: int) -> int:
    """The 1-based line that starts at ``offset`` (counts the line breaks before it).

    Only on the error path, so reading the file from the start is fine; a quoted line
    break inside a string counts as a line, as an editor shows it.
    """
    f.seek(0)
    breaks = 0
    remaining = offset
    while remaining > 0:
        block = f.read(min(_CHUNK * 16, remaining))
        if not block:
            break
        breaks += block.count(b"\n")
        remaining -= len(block)
    return breaks + 1


def _last_line(f: BinaryIO, data_start: int, size: int) -> tuple[int, int]:
    """(end, start) of the last newline-terminated line, reading backwards in chunks."""
    end: int | None = None
    pos = size
    buf = b""
    while pos > data_start:
        read_from = max(data_start, pos - _CHUNK)
        f.seek(read_from)
        buf = f.read(pos - read_from) + buf
        pos = read_from
        if end is None:
            i = buf.rfind(b"\n")
            if i < 0:
                continue
            end = pos + i + 1
            buf = buf[:i]
        j = buf.rfind(b"\n")
        if j >= 0:
            return end, pos + j + 1
    if end is None:
        return data_start, data_start
    return end, data_start


def _scan_records(f: BinaryIO, data_start: int) -> tuple[int, int]:
    """(end, start) of the last complete record, honouring quoted line breaks."""
    f.seek(data_start)
    in_quotes = False
    offset = data_start
    last = prev = data_start
    while block := f.read(_CHUNK * 16):
        for m in _QUOTE_OR_NEWLINE.finditer(block):
            if block[m.start()] == 0x22:
                in_quotes = not in_quotes
            elif not in_quotes:
                prev, last = last, offset + m.end()
        offset += len(block)
    return last, prev


def _parse(raw: bytes, delimiter: str, path: str) -> list[str] | None:
    try:
        text = raw.decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except (UnicodeDecodeError, csv.Error):
        return None
    return rows[0] if len(rows) == 1 else None
