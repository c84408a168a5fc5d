"""SQLite, the embedded default: typed tables, and the position in the same transaction.

One SQL table per logger table version, named ``<station>_<table>`` (then ``_v2``,
``_v3`` ... for later definitions), with columns::

    record         INTEGER PRIMARY KEY   the logger's record number
    timestamp      TEXT                  logger-local time, ISO 8601 ("2012-07-26 13:40:00")
    timestamp_utc  TEXT                  the same instant in UTC, when the station zone is known
    <columns>      REAL / INTEGER / TEXT one per value, arrays expanded as "Temp(1)", "Temp(2)"

and four bookkeeping tables: ``table_versions`` (which SQL table holds which
definition), ``positions`` (last record stored, holes and records lost per version),
``holes`` and ``collection_log``.

Every append is one ``BEGIN IMMEDIATE`` ... ``COMMIT``: the records (``INSERT OR
IGNORE``, so a rerun cannot duplicate), the holes, the position and a log line
become visible together or not at all.  WAL journal with ``synchronous=FULL`` makes
the commit durable.

Value mapping: NaN becomes NULL (SQLite has no NaN), infinities stay REAL, booleans
are 1/0.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from fieldlink.errors import StoreError, UsageError
from fieldlink.pakbus.protocol.model import Record, TableDef
from fieldlink.store.base import (
    BOOL_TYPES,
    FLOAT4_TYPES,
    FLOAT8_TYPES,
    INT_TYPES,
    TIME_TYPES,
    Column,
    Hole,
    Position,
    StationInfo,
    check_holes,
    columns,
    definition_key,
    iso_time,
    new_records,
    record_row,
    utc_now,
)
from fieldlink.store.safefile import inside
from fieldlink.store.timezones import local_to_utc

_SCHEMA = """
CREATE TABLE IF NOT EXISTS table_versions (
    station         TEXT    NOT NULL,
    table_name      TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    sql_table       TEXT    NOT NULL UNIQUE,
    table_signature INTEGER NOT NULL,
    definition      TEXT    NOT NULL,
    created_utc     TEXT    NOT NULL,
    PRIMARY KEY (station, table_name, version)
);
CREATE TABLE IF NOT EXISTS positions (
    station         TEXT    NOT NULL,
    table_name      TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    table_signature INTEGER NOT NULL,
    last_record     INTEGER,
    holes           INTEGER NOT NULL DEFAULT 0,
    records_lost    INTEGER NOT NULL DEFAULT 0,
    updated_utc     TEXT    NOT NULL,
    PRIMARY KEY (station, table_name, version)
);
CREATE TABLE IF NOT EXISTS holes (
    station         TEXT    NOT NULL,
    table_name      TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    first_record    INTEGER NOT NULL,
    last_record     INTEGER NOT NULL,
    detected_utc    TEXT    NOT NULL,
    PRIMARY KEY (station, table_name, version, first_record, last_record)
);
CREATE TABLE IF NOT EXISTS collection_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    time_utc        TEXT    NOT NULL,
    station         TEXT    NOT NULL,
    event           TEXT    NOT NULL,
    detail          TEXT    NOT NULL
);
"""

_RESERVED = ("record", "timestamp", "timestamp_utc")


def ident(name: str) -> str:
    """An SQL identifier for any text (double quotes, embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def sql_type(type_code: int) -> str:
    if type_code in FLOAT4_TYPES or type_code in FLOAT8_TYPES:
        return "REAL"
    if type_code in INT_TYPES or type_code in BOOL_TYPES:
        return "INTEGER"
    if type_code in TIME_TYPES:
        return "TEXT"
    return "TEXT" if type_code in (11, 16) else ""


def sql_columns(cols: list[Column]) -> list[str]:
    """Column names for the logger columns, kept clear of the three fixed ones.

    SQLite compares names without regard to case, so a field called ``Record`` would
    collide with ``record``; such a name gets a trailing underscore.
    """
    taken = set(_RESERVED)
    out = []
    for c in cols:
        name = c.name
        while name.lower() in taken:
            name += "_"
        taken.add(name.lower())
        out.append(name)
    return out


#: Value types SQLite stores as they are (_sql_value returns them unchanged).
_AS_IS = frozenset({float, int, str, type(None)})


def _sql_value(value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float | str) or value is None:
        return value
    if isinstance(value, dt.datetime):
        return iso_time(value)
    return str(value)


#: One lock per database file for setting it up: threads of one process (several Batlabs
#: logging into one lab database) open it at the same moment.
_SETUP_LOCKS: dict[str, threading.Lock] = {}
_SETUP_LOCKS_GUARD = threading.Lock()


def _setup_lock(path: Path) -> threading.Lock:
    key = os.path.abspath(path)
    with _SETUP_LOCKS_GUARD:
        return _SETUP_LOCKS.setdefault(key, threading.Lock())


def _switch_to_wal(db: sqlite3.Connection, timeout: float) -> None:
    """``PRAGMA journal_mode=WAL``, waiting for other connections as a write would.

    Changing the journal mode needs the database to itself, and SQLite answers
    "database is locked" at once instead of calling the busy handler while another
    connection (another collector process) is setting the same file up.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


class SqliteSink:
    """A SQLite database file holding every station's tables."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        p = Path(path)
        if p.is_dir():
            p = p / "fieldlink.sqlite"
        self.path = p
        self._lock = threading.RLock()
        self._open: set[tuple[str, str]] = set()
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            inside(p, p.parent)  # a link out of the database's folder is refused
            self._db = sqlite3.connect(
                p, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open database {p}: {_reason(e)}") from e
        try:
            with _setup_lock(p), self._lock:
                _switch_to_wal(self._db, timeout)
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        except sqlite3.Error as e:
            self._db.close()
            raise StoreError(f"cannot set up database {p}: {_reason(e)}") from e

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` and re-raise."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def open_table(
        self, station: StationInfo, table: TableDef, *, new_version: bool = False
    ) -> SqliteTableWriter:
        key = (station.name, table.name)
        with self._lock:
            if key in self._open:
                raise UsageError(
                    f"table {table.name} of {station.name} is already open in {self.path}"
                )
            try:
                with self.transaction() as db:
                    version, sql_table = self._version(db, station, table, new_version)
            except sqlite3.Error as e:
                raise StoreError(f"cannot write {self.path}: {_reason(e)}") from e
            writer = SqliteTableWriter(self, station, table, version, sql_table)
            self._open.add(key)
            return writer

    def _version(
        self, db: sqlite3.Connection, station: StationInfo, table: TableDef, new_version: bool
    ) -> tuple[int, str]:
        definition = definition_key(station, table)
        row = db.execute(
            "SELECT version, sql_table, definition FROM table_versions "
            "WHERE station = ? AND table_name = ? ORDER BY version DESC LIMIT 1",
            (station.name, table.name),
        ).fetchone()
        cols = columns(table)
        if row is not None and not new_version and row[2] == definition:
            version, sql_table = int(row[0]), str(row[1])
        else:
            version = int(row[0]) + 1 if row is not None else 1
            sql_table = self._free_name(db, station, table, version)
            db.execute(
                "INSERT INTO table_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    station.name,
                    table.name,
                    version,
                    sql_table,
                    table.signature,
                    definition,
                    iso_time(utc_now()),
                ),
            )
            self._log(
                db,
                station.name,
                "new version",
                f"{table.name} v{version} signature {table.signature}: table {sql_table}",
            )
        col_defs = [
            f"{ident(n)} {sql_type(c.field.type_code)}".rstrip()
            for n, c in zip(sql_columns(cols), cols, strict=True)
        ]
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {ident(sql_table)} ("
            '"record" INTEGER PRIMARY KEY, "timestamp" TEXT NOT NULL, "timestamp_utc" TEXT'
            + "".join(", " + d for d in col_defs)
            + ")"
        )
        return version, sql_table

    @staticmethod
    def _free_name(
        db: sqlite3.Connection, station: StationInfo, table: TableDef, version: int
    ) -> str:
        base = f"{station.name}_{table.name}" + ("" if version == 1 else f"_v{version}")
        name, n = base, 1
        while db.execute(
            "SELECT 1 FROM sqlite_master WHERE lower(name) = lower(?) UNION ALL "
            "SELECT 1 FROM table_versions WHERE lower(sql_table) = lower(?)",
            (name, name),
        ).fetchone():
            n += 1
            name = f"{base}_{n}"
        return name

    def log(self, station: str, event: str, detail: str = "") -> None:
        try:
            with self.transaction() as db:
                self._log(db, station, event, detail)
        except sqlite3.Error as e:
            raise StoreError(f"cannot write {self.path}: {_reason(e)}") from e

    @staticmethod
    def _log(db: sqlite3.Connection, station: str, event: str, detail: str) -> None:
        db.execute(
            "INSERT INTO collection_log (time_utc, station, event, detail) VALUES (?, ?, ?, ?)",
            (iso_time(utc_now()), station, event, detail),
        )

    def _closed(self, station: str, table: str) -> None:
        with self._lock:
            self._open.discard((station, table))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SqliteSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SqliteTableWriter:
    """Appends one table version; records, holes, position and log in one transaction."""

    def __init__(
        self,
        sink: SqliteSink,
        station: StationInfo,
        table: TableDef,
        version: int,
        sql_table: str,
    ) -> None:
        self._sink = sink
        self.station = station
        self.table = table
        self.version = version
        self.sql_table = sql_table
        self._cols = columns(table)
        self._closed = False
        names = ["record", "timestamp", "timestamp_utc", *sql_columns(self._cols)]
        self._insert = (
            f"INSERT OR IGNORE INTO {ident(sql_table)} ("
            + ", ".join(ident(n) for n in names)
            + ") VALUES ("
            + ", ".join("?" * len(names))
            + ")"
        )
        self.position = self._read_position()

    def _read_position(self) -> Position | None:
        try:
            with self._sink._lock:
                row = self._sink._db.execute(
                    "SELECT last_record FROM positions WHERE station = ? AND table_name = ? "
                    "AND version = ?",
                    (self.station.name, self.table.name, self.version),
                ).fetchone()
        except sqlite3.Error as e:
            raise StoreError(f"cannot read {self._sink.path}: {_reason(e)}") from e
        if row is None or row[0] is None:
            return None
        return Position(self.table.signature, int(row[0]), self.version)

    def holes(self) -> list[Hole]:
        try:
            with self._sink._lock:
                rows = self._sink._db.execute(
                    "SELECT first_record, last_record FROM holes WHERE station = ? AND "
                    "table_name = ? AND version = ? ORDER BY first_record, last_record",
                    (self.station.name, self.table.name, self.version),
                ).fetchall()
        except sqlite3.Error as e:
            raise StoreError(f"cannot read {self._sink.path}: {_reason(e)}") from e
        return [Hole(self.table.name, int(a), int(b)) for a, b in rows]

    def append(self, records: Sequence[Record], holes: Sequence[Hole] = ()) -> None:
        if self._closed:
            raise UsageError(f"{self.sql_table}: writer is closed")
        check_holes(self.table, holes)
        fresh = new_records(records, None)
        zone = self.station.tzinfo
        # A fixed offset (most field stations, and UTC): one subtraction per record.
        offset = zone.utcoffset(None) if isinstance(zone, dt.timezone) else None
        rows = []
        for r in fresh:
            values = record_row(self.table, r)
            # Most rows hold only values stored as they are: one C-level look at them.
            cells = values if _AS_IS.issuperset(map(type, values)) else map(_sql_value, values)
            if offset is not None:
                utc: str | None = iso_time(r.timestamp - offset)
            else:
                utc = None if zone is None else iso_time(local_to_utc(r.timestamp, zone))
            rows.append([r.number, iso_time(r.timestamp), utc, *cells])
        if not rows and not holes:
            return
        station, table, version = self.station.name, self.table.name, self.version
        try:
            with self._sink.transaction() as db:
                before = db.total_changes
                db.executemany(self._insert, rows)
                stored = db.total_changes - before
                new_holes = 0
                lost = 0
                for h in holes:
                    cur = db.execute(
                        "INSERT OR IGNORE INTO holes VALUES (?, ?, ?, ?, ?, ?)",
                        (station, table, version, h.first, h.last, iso_time(utc_now())),
                    )
                    if cur.rowcount > 0:
                        new_holes += 1
                        lost += h.count
                        self._sink._log(
                            db,
                            station,
                            "hole",
                            f"{table} v{version}: records {h.first}..{h.last} "
                            f"lost in the logger ({h.count} records)",
                        )
                last = fresh[-1].number if fresh else None
                db.execute(
                    "INSERT INTO positions VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (station, table_name, version) DO UPDATE SET "
                    "last_record = CASE WHEN last_record IS NULL OR "
                    "  (excluded.last_record IS NOT NULL AND excluded.last_record > last_record) "
                    "  THEN excluded.last_record ELSE last_record END, "
                    "holes = holes + excluded.holes, "
                    "records_lost = records_lost + excluded.records_lost, "
                    "updated_utc = excluded.updated_utc",
                    (
                        station,
                        table,
                        version,
                        self.table.signature,
                        last,
                        new_holes,
                        lost,
                        iso_time(utc_now()),
                    ),
                )
                if fresh:
                    self._sink._log(
                        db,
                        station,
                        "stored",
                        f"{table} v{version}: {stored} new of {len(fresh)} records "
                        f"{fresh[0].number}..{fresh[-1].number}",
                    )
                position = db.execute(
                    "SELECT last_record FROM positions WHERE station = ? AND table_name = ? "
                    "AND version = ?",
                    (station, table, version),
                ).fetchone()
        except sqlite3.Error as e:
            raise StoreError(f"cannot write {self._sink.path}: {_reason(e)}") from e
        if position is not None and position[0] is not None:
            self.position = Position(self.table.signature, int(position[0]), version)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._sink._closed(self.station.name, self.table.name)

    def __enter__(self) -> SqliteTableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError):
        return e.strerror or str(e)
    return str(e)


__all__ = ["SqliteSink", "SqliteTableWriter", "ident", "sql_type"]
