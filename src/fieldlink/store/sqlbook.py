"""What the SQLite and PostgreSQL sinks do alike: table versions, positions, holes, the log.

Both keep the same bookkeeping tables (``table_versions``, ``positions``, ``holes``,
``collection_log``: see :mod:`fieldlink.store.sqlite` and :mod:`fieldlink.store.pgschema`)
and ask them the same questions.  Only two things differ: the DB-API parameter marker
(``?`` for sqlite3, ``%s`` for psycopg) and how a time goes in (ISO text in SQLite, a
``timestamp`` in PostgreSQL).  So the questions are written here once, with ``?``, and
each engine's sink names its marker and its time; what really differs (naming and
creating a data table, running a transaction, bulk-loading records) stays in the
engine's module.
"""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from fieldlink.pakbus.protocol.model import Record, Scalar, TableDef
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
from fieldlink.store.opened import Closes, OpenTables, WriterBase
from fieldlink.store.timezones import local_to_utc

T = TypeVar("T")


class Rows(Protocol):
    """What both drivers' cursors give back."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Db(Protocol):
    """A connection of either driver, as far as the shared questions need one."""

    def execute(self, query: str, params: Sequence[Any], /) -> Rows: ...


C = TypeVar("C", bound=Db)

#: The columns every data table starts with, before the logger's.
FIXED_COLUMNS = ("record", "timestamp", "timestamp_utc")

#: A record to store: its number, and its row (number, time stamp, UTC time, values).
Row = tuple[int, list[object]]

_POSITION = "SELECT last_record FROM positions WHERE station = ? AND table_name = ? AND version = ?"

_NEW_HOLE = "INSERT INTO holes VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"


class SqlSink(Closes, Generic[C]):
    """The version bookkeeping of an SQL sink whose connections are ``C``."""

    #: The driver's DB-API parameter marker.
    marker: ClassVar[str]
    _open: OpenTables

    @classmethod
    def sql(cls, text: str) -> str:
        """``text`` written with ``?`` markers, in the driver's marker."""
        return text.replace("?", cls.marker)

    @staticmethod
    @abstractmethod
    def time_value(t: dt.datetime) -> object:
        """A naive time as the tables hold it."""

    @staticmethod
    @abstractmethod
    def cell_value(value: Scalar) -> object:
        """A record's value as its column holds it."""

    #: Value types :meth:`cell_value` returns unchanged: a row holding only these (most
    #: rows) is stored as it is, after one C-level look at its types.
    stored_as_is: ClassVar[frozenset[type]] = frozenset()

    @staticmethod
    @abstractmethod
    def column_names(cols: list[Column]) -> list[str]:
        """The SQL names of the logger's columns, clear of :data:`FIXED_COLUMNS`."""

    @abstractmethod
    def _free_name(self, db: C, station: StationInfo, table: TableDef, version: int) -> str:
        """An SQL table name no table or version has taken."""

    @abstractmethod
    def _prepare(
        self, db: C, station: StationInfo, table: TableDef, version: int, sql_table: str
    ) -> None:
        """Make sure the version's data table (and whatever else it needs) exists."""

    def _version(
        self, db: C, station: StationInfo, table: TableDef, new_version: bool
    ) -> tuple[int, str]:
        """The table's current version and SQL table, or a new one if the definition changed."""
        definition = definition_key(station, table)
        row = db.execute(
            self.sql(
                "SELECT version, sql_table, definition FROM table_versions "
                "WHERE station = ? AND table_name = ? ORDER BY version DESC LIMIT 1"
            ),
            (station.name, table.name),
        ).fetchone()
        if row is not None and not new_version and row[2] == definition:
            version, sql_table = int(row[0]), str(row[1])
        else:
            version = int(row[0]) + 1 if row is not None else 1
            sql_table = self._free_name(db, station, table, version)
            db.execute(
                self.sql("INSERT INTO table_versions VALUES (?, ?, ?, ?, ?, ?, ?)"),
                (station.name, table.name, version, sql_table, table.signature, definition,
                 self.time_value(utc_now())),
            )  # fmt: skip
            detail = f"{table.name} v{version} signature {table.signature}: table {sql_table}"
            self._log(db, station.name, "new version", detail)
        self._prepare(db, station, table, version, sql_table)
        return version, sql_table

    def _log(self, db: C, station: str, event: str, detail: str) -> None:
        db.execute(
            self.sql(
                "INSERT INTO collection_log (time_utc, station, event, detail) VALUES (?, ?, ?, ?)"
            ),
            (self.time_value(utc_now()), station, event, detail),
        )


S = TypeVar("S", bound=SqlSink[Any])


class SqlTableWriter(WriterBase, Generic[S, C]):
    """What the SQL table writers share: reading the position and holes, storing holes."""

    def __init__(
        self, sink: S, station: StationInfo, table: TableDef, version: int, sql_table: str
    ) -> None:
        super().__init__(sink._open, station, table, version)
        self._sink = sink
        self.sql_table = sql_table
        self._cols = columns(table)
        #: The data table's columns, in order.
        self._names = [*FIXED_COLUMNS, *sink.column_names(self._cols)]
        self._key = (station.name, table.name, version)
        self.position = self._read_position()

    @abstractmethod
    def _read(self, what: str, work: Callable[[C], T]) -> T:
        """``work`` on the database between appends; a failure is a StoreError."""

    @abstractmethod
    def _store(self, rows: list[Row], holes: Sequence[Hole]) -> int | None:
        """Store rows and holes in one transaction; return the position's record after it."""

    def append(self, records: Sequence[Record], holes: Sequence[Hole] = ()) -> None:
        self._check_open(self.sql_table)
        rows = self._rows(self._fresh(records, holes, None))
        if not rows and not holes:
            return
        last = self._store(rows, holes)
        if last is not None:
            self.position = Position(self.table.signature, last, self.version)

    def _rows(self, records: list[Record]) -> list[Row]:
        """Each record (in number order, each once) as its number and its row."""
        zone = self.station.tzinfo
        # A fixed offset (UTC, and most field stations): one subtraction per record.
        offset = zone.utcoffset(None) if isinstance(zone, dt.timezone) else None
        time_value, cell_value = self._sink.time_value, self._sink.cell_value
        as_is = self._sink.stored_as_is
        rows: list[Row] = []
        for r, values in zip(records, record_rows(self.table, records), strict=True):
            local = time_value(r.timestamp)
            if offset is not None:  # UTC itself: the same text again
                utc = time_value(r.timestamp - offset) if offset else local
            else:
                utc = None if zone is None else time_value(local_to_utc(r.timestamp, zone))
            cells = values if as_is.issuperset(map(type, values)) else map(cell_value, values)
            rows.append((r.number, [r.number, local, utc, *cells]))
        return rows

    def _position_row(self, db: C, lock: str = "") -> Any:
        """The version's row of ``positions`` (``lock``: a locking clause to add)."""
        return db.execute(self._sink.sql(_POSITION + lock), self._key).fetchone()

    def _read_position(self) -> Position | None:
        row = self._read(f"read the position of {self.sql_table}", self._position_row)
        if row is None or row[0] is None:
            return None
        return Position(self.table.signature, int(row[0]), self.version)

    def holes(self) -> list[Hole]:
        rows = self._read(
            f"read the holes of {self.sql_table}",
            lambda db: db.execute(
                self._sink.sql(
                    "SELECT first_record, last_record FROM holes WHERE station = ? AND "
                    "table_name = ? AND version = ? ORDER BY first_record, last_record"
                ),
                self._key,
            ).fetchall(),
        )
        return [Hole(self.table.name, int(a), int(b)) for a, b in rows]

    def _store_holes(self, db: C, holes: Sequence[Hole]) -> tuple[int, int]:
        """Note the holes not noted yet, each with a log line: (how many, records lost)."""
        station, table, version = self._key
        now = utc_now()
        new_holes = 0
        lost = 0
        for h in holes:
            cur = db.execute(
                self._sink.sql(
                    "INSERT INTO holes VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                (station, table, version, h.first, h.last, self._sink.time_value(now)),
            )
            if cur.rowcount > 0:
                new_holes += 1
                lost += h.count
                detail = (
                    f"{table} v{version}: records {h.first}..{h.last} lost in the logger "
                    f"({h.count} records)"
                )
                self._sink._log(db, station, "hole", detail)
        return new_holes, lost

    def _log_stored(self, db: C, new: int, of: int, first: int, last: int) -> None:
        station, table, version = self._key
        detail = f"{table} v{version}: {new} new of {of} records {first}..{last}"
        self._sink._log(db, station, "stored", detail)


__all__ = ["FIXED_COLUMNS", "Db", "Row", "SqlSink", "SqlTableWriter"]
