"""``fieldlink logger update URL TABLE FILE``: append a table's new records to one file.

PyCampbellCR1000's ``update`` finds the last time stamp in the file and asks
for records after it, which repeats or misses records whenever two share a
stamp or the logger clock is set.  This one runs the collection engine on a
single station and table: the position is the record number on the file's last
complete line (a torn last line from a crash is cut off first), holes are
reported, and a rerun appends nothing twice.  A link cut or a timeout in the middle
does not end the run: it reconnects and resumes from the last stored record, up to
``reconnects`` times in a row without a new record (``--retries``).

The format follows the suffix: ``.dat``/``.toa5`` TOA5, ``.csv``/``.txt`` CSV,
``.sqlite``/``.sqlite3``/``.db`` SQLite.  A text file holds exactly one table
definition, so if the logger's program changed since the file was started the
command stops and asks for a new file name instead of mixing columns (SQLite
keeps versions side by side and simply starts a new one).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from fieldlink.collect.config import (
    DEFAULT_RECONNECTS,
    FirstCollection,
    SinkSpec,
    StationConfig,
)
from fieldlink.collect.engine import Connect, Progress, run_cycle
from fieldlink.collect.results import CycleResult
from fieldlink.errors import StoreError, UsageError
from fieldlink.pakbus.protocol.model import TableDef
from fieldlink.store import CsvSink, Sink, SqliteSink, StationInfo, Toa5Sink
from fieldlink.store.base import TableWriter, definition_key
from fieldlink.store.files import FileSink, VersionEntry, write_new_file
from fieldlink.store.pycr1000 import PycrTableWriter, read_header
from fieldlink.store.timezones import parse_timezone

if TYPE_CHECKING:
    from fieldlink.pakbus.client import ClientOptions

log = logging.getLogger(__name__)

SUFFIX_KINDS = {
    ".dat": "toa5", ".toa5": "toa5", ".csv": "csv", ".txt": "csv",
    ".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite",
}  # fmt: skip


def kind_for(path: Path, kind: str | None = None) -> str:
    """The sink kind named by ``kind`` or by the file's suffix."""
    if kind is not None:
        return kind
    found = SUFFIX_KINDS.get(path.suffix.lower())
    if found is None:
        raise UsageError(
            f"cannot tell the format of {path} from its suffix: use .dat (TOA5), .csv or "
            ".sqlite, or say --format toa5|csv|sqlite"
        )
    return found


class _OneFile(FileSink):
    """A file sink confined to one named file instead of one file per version.

    The sink's own machinery (durable appends, the position from the file's tail,
    torn-line repair) is kept; only the choice of file is replaced, and the holes
    list sits beside the data file as ``FILE.holes.csv``.
    """

    file_name: str

    def _current_file(
        self, station: StationInfo, table: TableDef, new_version: bool
    ) -> VersionEntry:
        path = self.directory / self.file_name
        header = self.header(station, table)
        if new_version:
            raise StoreError(
                f"{path}: the logger's record numbers of {table.name} went back (table reset "
                "or new program); append to a new file to keep the old records apart"
            )
        if not path.exists() or path.stat().st_size == 0:
            write_new_file(path, header)
        elif not self._header_matches(path, header):
            raise StoreError(
                f"{path} does not hold {table.name} as the logger now defines it (its header "
                "differs: another table, program or logger); give a new file name"
            )
        return VersionEntry(station.name, table.name, 1, self.file_name,
                            definition_key(station, table), "")  # fmt: skip

    def log(self, station: str, event: str, detail: str = "") -> None:
        log.info("%s: %s %s", station, event, detail)


class _OneToa5File(_OneFile, Toa5Sink):
    pass


class _OneCsvFile(_OneFile, CsvSink):
    pass


class _CarryOnCsv:
    """The CSV file sink, which also carries on a file PyCampbellCR1000 started.

    A file whose header is not the one fieldlink would write, but a ``Datetime,...``
    header all the same, is continued in its own columns (see
    :mod:`fieldlink.store.pycr1000`).
    """

    def __init__(self, inner: _OneCsvFile) -> None:
        self.inner = inner

    def open_table(
        self, station: StationInfo, table: TableDef, *, new_version: bool = False
    ) -> TableWriter:
        inner = self.inner
        path = inner.directory / inner.file_name
        if not new_version and path.is_file() and path.stat().st_size > 0:
            header = read_header(path, inner.delimiter)
            if header is not None and not inner._header_matches(path, inner.header(station, table)):
                return PycrTableWriter(inner, station, table, path, header)
        return inner.open_table(station, table, new_version=new_version)

    def log(self, station: str, event: str, detail: str = "") -> None:
        self.inner.log(station, event, detail)

    def close(self) -> None:
        self.inner.close()


def open_file_sink(path: Path, kind: str, *, delimiter: str = ",") -> Sink:
    """A sink writing to exactly ``path`` (for SQLite: the database file)."""
    if kind == "sqlite":
        return SqliteSink(path)
    sink: _OneFile
    if kind == "toa5":
        sink = _OneToa5File(path.parent)
    elif kind == "csv":
        sink = _OneCsvFile(path.parent, delimiter=delimiter)
    else:
        raise UsageError(f"unknown format {kind!r}: choose toa5, csv or sqlite")
    sink.file_name = path.name
    sink.holes_path = path.with_name(path.name + ".holes.csv")
    return _CarryOnCsv(sink) if isinstance(sink, _OneCsvFile) else sink


def toa5_station_name(path: Path) -> str | None:
    """The station name in an existing TOA5 file's first line, so appending matches it."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            first = next(csv.reader([f.readline()]), [])
    except OSError:
        return None
    if len(first) >= 2 and first[0] == "TOA5" and first[1].strip():
        return first[1].strip()
    return None


def update_station(
    url: str,
    table: str,
    path: Path,
    *,
    station: str | None = None,
    timezone: str = "UTC",
    first: FirstCollection | None = None,
    kind: str | None = None,
    reconnects: int = DEFAULT_RECONNECTS,
    window: int = 1,
    **client: Unpack[ClientOptions],
) -> StationConfig:
    """The one-station, one-table configuration ``update`` runs; ``client`` says how to
    reach the logger (what is left out takes :class:`StationConfig`'s defaults)."""
    kind = kind_for(path, kind)
    name = station or (toa5_station_name(path) if kind == "toa5" else None) or path.stem
    return StationConfig(
        name=name,
        url=url,
        **client,
        tables=(table,),
        sinks=(SinkSpec(kind, path),),
        first_collection=first or FirstCollection(),
        clock=None,
        timezone=parse_timezone(timezone),
        timezone_name=timezone,
        reconnects=reconnects,
        window=window,
    )


async def run_update(
    config: StationConfig,
    connect: Connect,
    *,
    delimiter: str = ",",
    progress: Progress | None = None,
) -> CycleResult:
    """One cycle of ``config`` into its single sink; the sink is closed afterwards.

    ``progress`` is told (station, table, records stored so far) after every batch.
    """
    spec = config.sinks[0]
    sink = open_file_sink(spec.path, spec.kind, delimiter=delimiter)
    try:
        return await run_cycle(config, connect, lambda _station, _table: [sink], progress=progress)
    finally:
        sink.close()


__all__ = ["kind_for", "open_file_sink", "run_update", "update_station"]
