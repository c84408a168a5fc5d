"""Writing collected records to one file or stdout, for ``fieldlink logger getdata``.

The sinks of :mod:`fieldlink.store` own the formats (TOA5 exactly as LoggerNet
writes it, CSV with PyCampbellCR1000's columns) but write resumable directories of
versioned files; ``getdata`` writes one stream, once.  So this module reuses the
sinks' header and line formatting and adds only the stream handling: a file is
written under a ``.part`` name and renamed when complete, so a partial download is
never presented as a finished file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from fieldlink.errors import StoreError, UsageError
from fieldlink.pakbus.protocol.model import Record, TableDef
from fieldlink.store import StationInfo
from fieldlink.store.base import columns, record_rows
from fieldlink.store.formatting import LineFormat, csv_line, csv_value
from fieldlink.store.safefile import create_new
from fieldlink.store.toa5 import toa5_header

#: Output formats and the file suffixes that choose them.
FORMATS = ("csv", "toa5")
_SUFFIXES = {".csv": "csv", ".txt": "csv", ".dat": "toa5", ".toa5": "toa5"}


def output_format(output: str, requested: str | None) -> str:
    """The format for ``output``: as requested, else by suffix, else CSV (and for ``-``)."""
    if requested is not None:
        fmt = requested.strip().lower()
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {requested!r}: choose csv or toa5")
        return fmt
    if output == "-":
        return "csv"
    return _SUFFIXES.get(Path(output).suffix.lower(), "csv")


def value_text(value: object, type_code: int) -> str:
    """A value as ``getvalue``, ``setvalue`` and ``monitor`` print it: as in getdata's CSV.

    ``type_code`` is the field's, so a 4-byte float reads ``3.528624``, not the
    ``3.5286242961883545`` its conversion to a Python float would print.
    """
    if isinstance(value, tuple):
        return "(" + ",".join(value_text(v, type_code) for v in value) + ")"
    return csv_value(value, type_code)


def check_delimiter(delimiter: str) -> str:
    """``--delim`` as PyCampbellCR1000 takes it: one character, ``\\t`` written as such."""
    text = delimiter.encode("latin-1", "backslashreplace").decode("unicode_escape")
    if len(text) != 1 or text in '"\r\n':
        raise UsageError(
            f"--delim must be one character other than a quote or line break, not {delimiter!r}"
        )
    return text


def check_target(target: Path, *, replace: bool) -> None:
    """Refuse, before anything is downloaded, a target that cannot or must not be written.

    Its directory must exist (neither ``getdata`` nor ``update`` creates directories: a
    mistyped path should not quietly grow a tree), it must not be a directory, and an
    existing file is replaced only when ``replace`` is true.
    """
    if target.is_dir():
        raise UsageError(f"{target} is a directory: give a file name")
    parent = target.parent
    if not parent.is_dir():
        raise StoreError(f"cannot write {target}: there is no directory {parent}")
    if target.exists() and not replace:
        raise UsageError(
            f"{target} already exists: --force replaces it, --append adds the records it "
            "does not hold yet (as update does)"
        )


def _open_part(part: Path, output: str) -> IO[bytes]:
    """A fresh ``.part`` file, created exclusively: an old one (or a symlink planted in
    its place) is removed, never written through (issue 13)."""
    try:
        fd = create_new(part)
    except StoreError as exc:
        raise StoreError(f"cannot write {output}: {exc}") from exc
    return open(fd, "wb")


@contextmanager
def atomic_output(output: str) -> Iterator[IO[bytes]]:
    """``output`` opened for bytes: stdout for ``-``, else a ``.part`` file beside it.

    The ``.part`` file is renamed over ``output`` when the block ends normally and
    removed when it does not, so a failed download leaves neither a file that looks
    finished nor a stale half one.  Opening it first finds an unwritable target
    before anything is downloaded.
    """
    if output == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(output)
    part = target.with_name(target.name + ".part")
    stream = _open_part(part, output)
    try:
        yield stream
        stream.close()
        os.replace(part, target)
    except OSError as exc:
        stream.close()
        part.unlink(missing_ok=True)
        raise StoreError(f"cannot write {output}: {exc.strerror or exc}") from exc
    except BaseException:
        stream.close()
        part.unlink(missing_ok=True)
        raise


class RecordWriter:
    """One table's records as CSV or TOA5 to a file (atomically renamed) or stdout."""

    def __init__(
        self,
        output: str,
        table: TableDef,
        station: StationInfo,
        *,
        fmt: str = "csv",
        delimiter: str = ",",
    ) -> None:
        self.output = output
        self.table = table
        self.fmt = fmt
        self.delimiter = delimiter
        self.count = 0
        self._cols = columns(table)
        self._format = LineFormat(
            [c.field.type_code for c in self._cols], toa5=fmt == "toa5", delimiter=delimiter
        )
        self._part: Path | None = None
        self._closed = False
        self._stream: IO[bytes]
        if output == "-":
            self._stream = sys.stdout.buffer
        else:
            final = Path(output)
            self._part = final.with_name(final.name + ".part")
            self._stream = _open_part(self._part, output)
        if fmt == "toa5":
            self._write(toa5_header(station, table).encode("utf-8"))
        else:
            names = [c.name for c in self._cols]
            self._write(self._csv_line(["Datetime", "RecNbr", *names]))

    @property
    def partial_path(self) -> Path | None:
        """Where the data lives until :meth:`close` renames it (None for stdout)."""
        return self._part

    def _csv_line(self, cells: list[str]) -> bytes:
        return csv_line(cells, self.delimiter).encode("utf-8")

    def _write(self, data: bytes) -> None:
        try:
            self._stream.write(data)
        except BrokenPipeError:
            raise  # the reader of stdout went away: not a storage fault
        except OSError as exc:
            raise StoreError(f"cannot write {self.output}: {exc.strerror or exc}") from exc

    def write(self, records: Iterable[Record]) -> None:
        if self._closed:
            raise StoreError(f"{self.output}: the writer is closed")
        batch = list(records)
        rows = record_rows(self.table, batch)
        stamps = [r.timestamp for r in batch]
        text = self._format.lines(stamps, [r.number for r in batch], rows)
        self.count += len(rows)
        if text:
            self._write(text.encode("utf-8"))

    def close(self, *, complete: bool) -> None:
        """Flush; a complete file gets its final name, an incomplete one keeps ``.part``
        (its records are sound, one per line) unless it holds none, then it goes.
        A second call does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise StoreError(f"cannot write {self.output}: {exc.strerror or exc}") from exc
        finally:
            if self._part is not None:
                self._stream.close()
        if self._part is None:
            return
        if complete:
            try:
                os.replace(self._part, self.output)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                if not self.count:
                    self._part.unlink(missing_ok=True)
                    raise StoreError(f"cannot write {self.output}: {reason}") from None
                raise StoreError(
                    f"cannot write {self.output}: {reason}; the {self.count} records "
                    f"downloaded are kept in {self._part}"
                ) from None
        elif not self.count:
            self._part.unlink(missing_ok=True)


__all__ = [
    "FORMATS",
    "RecordWriter",
    "atomic_output",
    "check_delimiter",
    "check_target",
    "output_format",
    "value_text",
]
