"""PostgreSQL, the shared store: the SQLite sink's schema on a server several collectors use.

The layout follows :mod:`fieldlink.store.sqlite` table for table: one SQL table per
logger table version, ``<station>_<table>`` (then ``_v2`` ...), with::

    record         bigint PRIMARY KEY    the logger's record number
    timestamp      timestamp             logger-local time
    timestamp_utc  timestamp             the same instant in UTC, when the station zone is known
    <columns>      double precision / bigint / boolean / timestamp / text

and the bookkeeping tables of :mod:`fieldlink.store.pgschema` (versions, positions,
holes, collection log, fleet leases).  Unlike SQLite, NaN stays NaN and booleans are
``boolean``; text loses any NUL character (PostgreSQL text cannot hold one).

One append is one transaction: it locks the table's position row (``SELECT ... FOR
UPDATE``), keeps only the records above it, bulk-loads them with ``COPY``, notes the
holes and moves the position, and commits.  Two collectors appending the same table
queue on that row lock, and the second sees the first one's position: a record is
stored once whoever collected it twice, and the position never runs ahead of the
records (it moves in the same commit).  In fleet mode (``holder`` set) the
transaction also checks, under a share lock, that this collector still holds the
station's lease, so a collector presumed dead cannot write after another took over.

A lost connection is retried once on a fresh one (an append is idempotent); if the
server is still away the append raises :class:`StoreError` naming the store and
nothing of it is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TypeVar

from psycopg import sql

from fieldlink.errors import StoreError
from fieldlink.pakbus.protocol.model import TableDef
from fieldlink.store.base import (
    Column,
    Hole,
    StationInfo,
    columns,
    utc_now,
    value_kind,
)
from fieldlink.store.opened import OpenTables
from fieldlink.store.pgconn import Conn, PgConnection
from fieldlink.store.pgschema import migrate
from fieldlink.store.secrets import redact
from fieldlink.store.sqlbook import FIXED_COLUMNS, Row, SqlSink, SqlTableWriter

T = TypeVar("T")

#: PostgreSQL truncates identifiers longer than this many bytes.
MAX_IDENT = 63


#: The column type for each kind of value; strings and anything unknown are text.
_PG_TYPES = {"float": "double precision", "int": "bigint", "bool": "boolean", "time": "timestamp"}


def pg_type(type_code: int) -> str:
    return _PG_TYPES.get(value_kind(type_code), "text")


def pg_columns(cols: list[Column]) -> list[str]:
    """Column names kept clear of the fixed ones and within PostgreSQL's 63 bytes."""
    taken = set(FIXED_COLUMNS)
    out = []
    for c in cols:
        name = _fit(c.name)
        n = 1
        while name.lower() in taken:
            n += 1
            name = _fit(c.name, f"_{n}")
        taken.add(name.lower())
        out.append(name)
    return out


def _fit(name: str, suffix: str = "") -> str:
    """``name + suffix`` cut (on a character boundary) to fit an identifier."""
    room = MAX_IDENT - len(suffix.encode())
    raw = name.encode()[:room].decode(errors="ignore")
    return raw + suffix


def _pg_value(value: object) -> object:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, bool | int | float | dt.datetime) or value is None:
        return value
    return str(value)


class PostgresSink(SqlSink[Conn]):
    """A PostgreSQL database holding every station's tables.

    ``dsn`` is a libpq connection string or URL *with* its password (see
    :mod:`fieldlink.store.secrets`); ``name`` is how messages name the store
    (default: the DSN without password).  ``holder`` turns on fleet fencing: appends
    only go through while this collector holds the station's lease.
    """

    marker = "%s"
    cell_value = staticmethod(_pg_value)
    column_names = staticmethod(pg_columns)

    @staticmethod
    def time_value(t: dt.datetime) -> object:
        return t

    def __init__(
        self,
        dsn: str,
        *,
        name: str | None = None,
        holder: str | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self.dsn = dsn
        self.name = f"PostgreSQL store {name or redact(dsn)}"
        self.holder = holder
        self._pg = PgConnection(dsn, self.name, timeout=connect_timeout, setup=migrate)
        self._lock = self._pg.lock
        self._open = OpenTables(self.name)
        self._pg.connection()  # a wrong DSN or password fails here, not in the first cycle

    def run(self, what: str, work: Callable[[Conn], T]) -> T:
        """``work`` in one transaction; on a lost connection once more on a new one.

        Every failure is a :class:`StoreError` saying ``what`` failed in which store.
        """
        return self._pg.run(what, work)

    # --- the Sink interface -----------------------------------------------------------------

    def open_table(
        self, station: StationInfo, table: TableDef, *, new_version: bool = False
    ) -> PostgresTableWriter:
        with self._lock, self._open.opening(station, table):
            version, sql_table = self.run(
                f"open {station.name} {table.name}",
                lambda db: self._version(db, station, table, new_version),
            )
            return PostgresTableWriter(self, station, table, version, sql_table)

    def _version(
        self, db: Conn, station: StationInfo, table: TableDef, new_version: bool
    ) -> tuple[int, str]:
        # Two collectors opening a new table at once must not both create version 1.
        db.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            (f"fieldlink version {station.name!r} {table.name!r}",),
        )
        return super()._version(db, station, table, new_version)

    def _prepare(
        self, db: Conn, station: StationInfo, table: TableDef, version: int, sql_table: str
    ) -> None:
        cols = columns(table)
        col_defs = [
            sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(pg_type(c.field.type_code)))
            for n, c in zip(self.column_names(cols), cols, strict=True)
        ]
        db.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                '"record" bigint PRIMARY KEY, "timestamp" timestamp NOT NULL, '
                '"timestamp_utc" timestamp{})'
            ).format(
                sql.Identifier(sql_table),
                sql.SQL("").join(sql.SQL(", ") + d for d in col_defs),
            )
        )
        db.execute(
            "INSERT INTO positions VALUES (%s, %s, %s, %s, NULL, 0, 0, %s) ON CONFLICT DO NOTHING",
            (station.name, table.name, version, table.signature, utc_now()),
        )

    def _free_name(self, db: Conn, station: StationInfo, table: TableDef, version: int) -> str:
        suffix = "" if version == 1 else f"_v{version}"
        base = _fit(f"{station.name}_{table.name}", suffix)
        name, n = base, 1
        while db.execute(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
            "AND lower(tablename) = lower(%s) "
            "UNION ALL SELECT 1 FROM table_versions WHERE lower(sql_table) = lower(%s)",
            (name, name),
        ).fetchone():
            n += 1
            name = _fit(f"{station.name}_{table.name}", f"{suffix}_{n}")
        return name

    def log(self, station: str, event: str, detail: str = "") -> None:
        self.run("write the collection log", lambda db: self._log(db, station, event, detail))

    def close(self) -> None:
        self._pg.drop()


class PostgresTableWriter(SqlTableWriter[PostgresSink, Conn]):
    """Appends one table version: records by COPY, holes, position and log in one transaction."""

    @cached_property
    def _copy(self) -> sql.Composed:
        return sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(self.sql_table), sql.SQL(", ").join(map(sql.Identifier, self._names))
        )

    def _read(self, what: str, work: Callable[[Conn], T]) -> T:
        return self._sink.run(what, work)

    def _store(self, rows: list[Row], holes: Sequence[Hole]) -> int | None:
        return self._sink.run(
            f"store {len(rows)} records in {self.sql_table}",
            lambda db: self._append(db, rows, holes),
        )

    def _append(self, db: Conn, rows: list[Row], holes: Sequence[Hole]) -> int | None:
        if self._sink.holder is not None:
            self._check_lease(db)
        row = self._position_row(db, " FOR UPDATE")
        if row is None:
            raise StoreError(f"{self._sink.name}: the position row of {self.sql_table} is gone")
        stored_up_to = None if row[0] is None else int(row[0])
        new = [(n, values) for n, values in rows if stored_up_to is None or n > stored_up_to]
        if new:
            with db.cursor() as cur, cur.copy(self._copy) as copy:
                for _, values in new:
                    copy.write_row(values)
        new_holes, lost = self._store_holes(db, holes)
        reached = new[-1][0] if new else stored_up_to
        db.execute(
            "UPDATE positions SET last_record = %s, holes = holes + %s, "
            "records_lost = records_lost + %s, updated_utc = %s "
            "WHERE station = %s AND table_name = %s AND version = %s",
            (reached, new_holes, lost, utc_now(), *self._key),
        )
        if new:
            self._log_stored(db, len(new), len(rows), new[0][0], new[-1][0])
        return reached

    def _check_lease(self, db: Conn) -> None:
        station = self.station.name
        row = db.execute(
            "SELECT holder FROM fleet_leases WHERE station = %s FOR SHARE", (station,)
        ).fetchone()
        holder = None if row is None else row[0]
        if holder != self._sink.holder:
            raise StoreError(
                f"{self._sink.name}: station {station} is leased to {holder or 'nobody'}, "
                f"not to this collector ({self._sink.holder}): not writing"
            )


__all__ = ["PostgresSink", "PostgresTableWriter", "pg_type"]
