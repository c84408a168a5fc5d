"""What the text-file sinks (TOA5, CSV) share: versions, durable appends, the logs.

Layout of a sink directory::

    <station>_<table>.dat                      version 1 of a table
    <station>_<table>_v2_20240501T101500Z.dat  version 2, started at that UTC time
    fieldlink-toa5-versions.json               which file holds which version (and its definition)
    holes.csv                                  records lost in the logger, one line per hole
    collection.log                             one tab-separated line per event

The versions index is written (atomically) before a version's file is created, so a
crash in between only leaves a declared file to create.  The position is not in the
index: it is read back from the data file's last complete line, so it can never
disagree with the data (see :mod:`fieldlink.store.tail`).  Every append is one
write followed by an fsync; if that fails the file is cut back to where it was.

One process should own a directory at a time; within it, one writer per table.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fieldlink.errors import StoreError, UsageError
from fieldlink.pakbus.protocol.model import Record, TableDef
from fieldlink.store.base import (
    Column,
    Hole,
    Position,
    StationInfo,
    columns,
    definition_key,
    record_rows,
    utc_now,
)
from fieldlink.store.formatting import LineFormat
from fieldlink.store.opened import Closes, OpenTables, WriterBase
from fieldlink.store.safefile import TornWrite, append_at, open_append, open_existing, temp_beside
from fieldlink.store.tail import find_tail, record_number

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A file-name-safe rendering of a station or table name."""
    return _UNSAFE.sub("_", text).strip("._") or "_"


def os_reason(err: OSError) -> str:
    return err.strerror or str(err)


def fsync_dir(directory: Path) -> None:
    """Make a create/rename in ``directory`` durable (best effort where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_new_file(path: Path, content: bytes) -> None:
    """Create ``path`` holding ``content``, all or nothing (temp file, fsync, rename).

    The temporary file is made by ``mkstemp`` beside ``path`` and the rename replaces
    whatever ``path`` was, a symlink included, without following it.
    """
    fd, tmp = temp_beside(path)
    try:
        with open(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(f"cannot write {path}: {os_reason(e)}") from e
    fsync_dir(path.parent)


def append_durably(path: Path, data: bytes) -> None:
    """Append whole lines and fsync; a line torn by an earlier crash is ended first."""
    fd = open_append(path)  # never through a symlink
    try:
        with open(fd, "r+b") as f:
            if f.seek(0, os.SEEK_END) > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    data = b"\n" + data
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise StoreError(f"cannot write {path}: {os_reason(e)}") from e


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class VersionEntry:
    station: str
    table: str
    version: int
    file: str
    key: str
    created_utc: str


class VersionIndex:
    """The JSON list of table versions and their files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[VersionEntry] = []
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as e:
            raise StoreError(f"cannot read {path}: {os_reason(e)}") from e
        try:
            data = json.loads(text)
            self.entries = [VersionEntry(**e) for e in data["versions"]]
        except (ValueError, KeyError, TypeError) as e:
            raise StoreError(
                f"{path} is not a fieldlink versions index ({e}); repair or remove it"
            ) from e

    def versions(self, station: str, table: str) -> list[VersionEntry]:
        found = [e for e in self.entries if e.station == station and e.table == table]
        return sorted(found, key=lambda e: e.version)

    def claimed(self, file: str) -> bool:
        return any(e.file == file for e in self.entries)

    def add(self, entry: VersionEntry) -> None:
        entries = [*self.entries, entry]
        doc = {"format": 1, "versions": [_asdict(e) for e in entries]}
        write_new_file(self.path, (json.dumps(doc, indent=1) + "\n").encode("utf-8"))
        self.entries = entries


def _asdict(e: VersionEntry) -> dict[str, object]:
    return {
        "station": e.station,
        "table": e.table,
        "version": e.version,
        "file": e.file,
        "key": e.key,
        "created_utc": e.created_utc,
    }


class FileSink(Closes, ABC):
    """Base of the TOA5 and CSV sinks: one directory, one file per table version."""

    #: Short name used in the index file name, e.g. ``"toa5"``.
    kind: str
    #: Data file extension, with the dot.
    extension: str
    #: Cell separator of data lines.
    delimiter: str

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create {self.directory}: {os_reason(e)}") from e
        if not self.directory.is_dir():
            raise StoreError(f"{self.directory} is not a directory")
        self._lock = threading.Lock()
        #: Serialises appends to the shared collection.log and holes.csv.
        self._append_lock = threading.Lock()
        self._open = OpenTables(str(self.directory))
        self._index: VersionIndex | None = None
        self._sink_closed = False
        self.log_path = self.directory / "collection.log"
        self.holes_path = self.directory / "holes.csv"

    # --- what a format defines ----------------------------------------------------------------

    @abstractmethod
    def header(self, station: StationInfo, table: TableDef) -> bytes:
        """The complete header (all header lines, terminated)."""

    @abstractmethod
    def line_format(self, cols: list[Column]) -> LineFormat:
        """How a table with these columns writes its data lines (made once per table)."""

    # --- Sink ---------------------------------------------------------------------------------

    def open_table(
        self, station: StationInfo, table: TableDef, *, new_version: bool = False
    ) -> FileTableWriter:
        with self._lock:
            if self._sink_closed:
                raise UsageError(f"the sink at {self.directory} is closed")
            with self._open.opening(station, table):
                entry = self._current_file(station, table, new_version)
                if Path(entry.file).name != entry.file or entry.file in ("", ".", ".."):
                    raise StoreError(
                        f"{self.index.path} names {entry.file!r} for {table.name}, which is "
                        f"not a file of {self.directory}; repair the index"
                    )
                header_length = len(self.header(station, table))
                path = self.directory / entry.file
                return FileTableWriter(self, station, table, entry.version, path, header_length)

    def log(self, station: str, event: str, detail: str = "") -> None:
        stamp = utc_now().isoformat(timespec="seconds") + "Z"
        line = "\t".join([stamp, _one_line(station), _one_line(event), _one_line(detail)])
        with self._append_lock:
            append_durably(self.log_path, (line + "\n").encode("utf-8"))

    def close(self) -> None:
        """Refuse further tables; each writer owns (and closes) its own file."""
        self._sink_closed = True

    # --- versions -----------------------------------------------------------------------------

    @property
    def index(self) -> VersionIndex:
        if self._index is None:
            self._index = VersionIndex(self.directory / f"fieldlink-{self.kind}-versions.json")
        return self._index

    def _current_file(
        self, station: StationInfo, table: TableDef, new_version: bool
    ) -> VersionEntry:
        key = definition_key(station, table)
        header = self.header(station, table)
        known = self.index.versions(station.name, table.name)
        current = known[-1] if known else None
        if current is not None and not new_version and current.key == key:
            path = self.directory / current.file
            if not path.exists():
                self.log(
                    station.name,
                    "file missing",
                    f"{table.name} v{current.version}: {path.name} recreated",
                )
                write_new_file(path, header)
                return current
            if self._header_matches(path, header):
                return current
            self.log(
                station.name,
                "header mismatch",
                f"{path.name} does not hold {table.name} as now defined; new version",
            )
        elif current is None and not new_version:
            base = f"{safe_name(station.name)}_{safe_name(table.name)}{self.extension}"
            path = self.directory / base
            if (
                path.exists()
                and not self.index.claimed(base)
                and self._header_matches(path, header)
            ):
                entry = VersionEntry(station.name, table.name, 1, base, key, _stamp())
                self.index.add(entry)
                self.log(station.name, "adopted", f"{table.name}: existing {base}")
                return entry
        version = current.version + 1 if current else 1
        entry = VersionEntry(
            station.name,
            table.name,
            version,
            self._new_file_name(station, table, version),
            key,
            _stamp(),
        )
        self.index.add(entry)
        write_new_file(self.directory / entry.file, header)
        self.log(
            station.name,
            "new version",
            f"{table.name} v{version} signature {table.signature}: {entry.file}",
        )
        return entry

    def _new_file_name(self, station: StationInfo, table: TableDef, version: int) -> str:
        stem = f"{safe_name(station.name)}_{safe_name(table.name)}"
        candidates = [f"{stem}{self.extension}"] if version == 1 else []
        when = utc_now().strftime("%Y%m%dT%H%M%SZ")
        candidates.append(f"{stem}_v{version}_{when}{self.extension}")
        candidates += [f"{stem}_v{version}_{when}_{n}{self.extension}" for n in range(2, 100)]
        for name in candidates:
            if not (self.directory / name).exists() and not self.index.claimed(name):
                return name
        raise StoreError(f"no free file name for {stem} v{version} in {self.directory}")

    @staticmethod
    def _header_matches(path: Path, header: bytes) -> bool:
        try:
            with open(path, "rb") as f:
                return f.read(len(header)) == header
        except OSError as e:
            raise StoreError(f"cannot read {path}: {os_reason(e)}") from e

    # --- holes --------------------------------------------------------------------------------

    def _load_holes(self, station: str, table: str, version: int) -> list[Hole]:
        try:
            text = self.holes_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as e:
            raise StoreError(f"cannot read {self.holes_path}: {os_reason(e)}") from e
        found: dict[tuple[int, int], Hole] = {}
        for row in csv.reader(io.StringIO(text, newline="")):
            if len(row) != 6 or not all(n.isascii() and n.isdigit() for n in row[3:5]):
                continue  # the header, or a line torn by a crash (or edited: "²" is no number)
            if (row[0], row[1], row[2]) == (station, table, str(version)):
                hole = Hole(table, int(row[3]), int(row[4]))
                found[(hole.first, hole.last)] = hole
        return sorted(found.values(), key=lambda h: (h.first, h.last))

    def _store_holes(self, station: str, version: int, holes: Sequence[Hole]) -> None:
        with self._append_lock:
            out = io.StringIO()
            w = csv.writer(out, lineterminator="\n")
            if not self.holes_path.exists():
                w.writerow(["station", "table", "version", "first", "last", "detected_utc"])
            stamp = _stamp()
            for h in holes:
                w.writerow([station, h.table, version, h.first, h.last, stamp])
            append_durably(self.holes_path, out.getvalue().encode("utf-8"))


def _stamp() -> str:
    return utc_now().isoformat(timespec="seconds") + "Z"


class FileTableWriter(WriterBase):
    """Appends one table version to its data file; position from the file's last line."""

    def __init__(
        self,
        sink: FileSink,
        station: StationInfo,
        table: TableDef,
        version: int,
        path: Path,
        header_length: int,
    ) -> None:
        super().__init__(sink._open, station, table, version)
        self._sink = sink
        self.path = path
        self._cols = columns(table)
        self._format = sink.line_format(self._cols)
        self._broken: str | None = None
        fd = open_existing(path, sink.directory)  # a link only to a file of the folder
        self._file = open(fd, "r+b", buffering=0)  # noqa: SIM115 - owned by the writer
        try:
            tail = find_tail(
                self._file,
                header_length,
                delimiter=sink.delimiter,
                field_count=2 + len(self._cols),
                quoted_newlines=any(c.field.is_string for c in self._cols),
                path=str(path),
            )
            if tail.torn:
                self._file.truncate(tail.end)
                os.fsync(self._file.fileno())
                sink.log(
                    station.name,
                    "torn line removed",
                    f"{path.name}: {tail.torn} bytes after the last complete record",
                )
            self._end = tail.end
            self.position = (
                None
                if tail.row is None
                else Position(table.signature, record_number(tail.row[1], str(path)), version)
            )
            self._holes = sink._load_holes(station.name, table.name, version)
        except OSError as e:
            self._file.close()
            raise StoreError(f"cannot recover {path}: {os_reason(e)}") from e
        except BaseException:
            self._file.close()
            raise

    def holes(self) -> list[Hole]:
        return list(self._holes)

    def append(self, records: Sequence[Record], holes: Sequence[Hole] = ()) -> None:
        self._check_open(self.path.name)
        if self._broken is not None:
            raise StoreError(
                f"{self.path}: an earlier write failed and could not be undone "
                f"({self._broken}); reopen the table"
            )
        fresh = self._fresh(records, holes, self.position)
        rows = record_rows(self.table, fresh)
        stamps = [r.timestamp for r in fresh]
        text = self._format.lines(stamps, [r.number for r in fresh], rows)
        known = {(h.first, h.last) for h in self._holes}
        new_holes = sorted(
            {(h.first, h.last): h for h in holes if (h.first, h.last) not in known}.values(),
            key=lambda h: (h.first, h.last),
        )
        if new_holes:
            self._sink._store_holes(self.station.name, self.version, new_holes)
            self._holes = sorted([*self._holes, *new_holes], key=lambda h: (h.first, h.last))
        if text:
            self._write(text.encode("utf-8"))
            self.position = Position(self.table.signature, fresh[-1].number, self.version)
        self._log(fresh, new_holes, len(records) - len(fresh))

    def _write(self, data: bytes) -> None:
        try:
            self._end = append_at(self._file, self._end, data)
        except TornWrite as e:
            if e.undo is not None:
                self._broken = os_reason(e.undo)
            raise StoreError(f"cannot write {self.path}: {os_reason(e.cause)}") from e.cause

    def _log(self, fresh: list[Record], holes: list[Hole], skipped: int) -> None:
        name = f"{self.table.name} v{self.version}"
        for h in holes:
            self._sink.log(
                self.station.name,
                "hole",
                f"{name}: records {h.first}..{h.last} lost in the logger ({h.count} records)",
            )
        if fresh:
            self._sink.log(
                self.station.name,
                "stored",
                f"{name}: {len(fresh)} records {fresh[0].number}..{fresh[-1].number}",
            )
        if skipped:
            self._sink.log(
                self.station.name,
                "skipped",
                f"{name}: {skipped} records already stored or repeated",
            )

    def _close(self) -> None:
        self._file.close()


__all__ = ["FileSink", "FileTableWriter", "safe_name"]
