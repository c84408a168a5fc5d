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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from fieldlink.errors import StoreError
from fieldlink.pakbus.protocol.model import TableDef
from fieldlink.store.base import (
    Column,
    Hole,
    StationInfo,
    columns,
    iso_time,
    utc_now,
    value_kind,
)
from fieldlink.store.opened import OpenTables
from fieldlink.store.safefile import inside
from fieldlink.store.sqlbook import FIXED_COLUMNS, Row, SqlSink, SqlTableWriter

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

T = TypeVar("T")


def ident(name: str) -> str:
    """An SQL identifier for any text (double quotes, embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


#: The column type for each kind of value; a type fieldlink does not know gets none
#: (SQLite then keeps whatever it is given).
_SQL_TYPES = {"float": "REAL", "int": "INTEGER", "bool": "INTEGER", "time": "TEXT", "text": "TEXT"}


def sql_type(type_code: int) -> str:
    return _SQL_TYPES.get(value_kind(type_code), "")


def sql_columns(cols: list[Column]) -> list[str]:
    """Column names for the logger columns, kept clear of the three fixed ones.

    SQLite compares names without regard to case, so a field called ``Record`` would
    collide with ``record``; such a name gets a trailing underscore.
    """
    taken = set(FIXED_COLUMNS)
    out = []
    for c in cols:
        name = c.name
        while name.lower() in taken:
            name += "_"
        taken.add(name.lower())
        out.append(name)
    return out


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


class SqliteSink(SqlSink[sqlite3.Connection]):
    """A SQLite database file holding every station's tables."""

    marker = "?"
    time_value = staticmethod(iso_time)
    cell_value = staticmethod(_sql_value)
    stored_as_is = frozenset({float, int, str, type(None)})
    column_names = staticmethod(sql_columns)

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        p = Path(path)
        if p.is_dir():
            p = p / "fieldlink.sqlite"
        self.path = p
        self._lock = threading.RLock()
        self._open = OpenTables(str(p))
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
        with self._lock, self._open.opening(station, table):
            try:
                with self.transaction() as db:
                    version, sql_table = self._version(db, station, table, new_version)
            except sqlite3.Error as e:
                raise StoreError(f"cannot write {self.path}: {_reason(e)}") from e
            return SqliteTableWriter(self, station, table, version, sql_table)

    def _prepare(
        self,
        db: sqlite3.Connection,
        station: StationInfo,
        table: TableDef,
        version: int,
        sql_table: str,
    ) -> None:
        cols = columns(table)
        col_defs = [
            f"{ident(n)} {sql_type(c.field.type_code)}".rstrip()
            for n, c in zip(self.column_names(cols), cols, strict=True)
        ]
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {ident(sql_table)} ("
            '"record" INTEGER PRIMARY KEY, "timestamp" TEXT NOT NULL, "timestamp_utc" TEXT'
            + "".join(", " + d for d in col_defs)
            + ")"
        )

    def _free_name(
        self, db: sqlite3.Connection, station: StationInfo, table: TableDef, version: int
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

    def close(self) -> None:
        with self._lock:
            self._db.close()


class SqliteTableWriter(SqlTableWriter[SqliteSink, sqlite3.Connection]):
    """Appends one table version; records, holes, position and log in one transaction."""

    @cached_property
    def _insert(self) -> str:
        names = self._names
        return (
            f"INSERT OR IGNORE INTO {ident(self.sql_table)} ("
            + ", ".join(ident(n) for n in names)
            + ") VALUES ("
            + ", ".join("?" * len(names))
            + ")"
        )

    def _read(self, what: str, work: Callable[[sqlite3.Connection], T]) -> T:
        # Outside a transaction: a read must not take the database's write lock.
        # (The message names the file, as every SQLite sink message does, not ``what``.)
        try:
            with self._sink._lock:
                return work(self._sink._db)
        except sqlite3.Error as e:
            raise StoreError(f"cannot read {self._sink.path}: {_reason(e)}") from e

    def _store(self, rows: list[Row], holes: Sequence[Hole]) -> int | None:
        station, table, version = self._key
        try:
            with self._sink.transaction() as db:
                before = db.total_changes
                db.executemany(self._insert, (values for _, values in rows))
                stored = db.total_changes - before
                new_holes, lost = self._store_holes(db, holes)
                last = rows[-1][0] if rows else None
                db.execute(
                    "INSERT INTO positions VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (station, table_name, version) DO UPDATE SET "
                    "last_record = CASE WHEN last_record IS NULL OR "
                    "  (excluded.last_record IS NOT NULL AND excluded.last_record > last_record) "
                    "  THEN excluded.last_record ELSE last_record END, "
                    "holes = holes + excluded.holes, "
                    "records_lost = records_lost + excluded.records_lost, "
                    "updated_utc = excluded.updated_utc",
                    (station, table, version, self.table.signature, last, new_holes, lost,
                     iso_time(utc_now())),
                )  # fmt: skip
                if rows:
                    self._log_stored(db, stored, len(rows), rows[0][0], rows[-1][0])
                position = self._position_row(db)
        except sqlite3.Error as e:
            raise StoreError(f"cannot write {self._sink.path}: {_reason(e)}") from e
        return None if position is None or position[0] is None else int(position[0])


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError):
        return e.strerror or str(e)
    return str(e)


__all__ = ["SqliteSink", "SqliteTableWriter", "ident", "sql_type"]
