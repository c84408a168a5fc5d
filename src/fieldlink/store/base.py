"""The one small interface every sink offers the collector, and the values it speaks in.

The collector knows nothing about files or databases.  For each (station, table) it
asks a :class:`Sink` for a :class:`TableWriter`, reads :attr:`TableWriter.position`
(the last record number stored), collects what is newer, and hands the records to
:meth:`TableWriter.append`, which is durable when it returns.  That contract is what
makes collection resumable and idempotent (DESIGN principle 6): whatever the sink,
the position it reports is exactly what it has stored.

A *version* is one run of a table definition.  When the definition changes (a new
program: other columns, types, units or signature) the sink starts a new version — a
new file or SQL table — instead of mixing columns, and the position starts empty.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from fieldlink.errors import ConfigError, UsageError
from fieldlink.pakbus.protocol.model import FieldDef, Record, Scalar, TableDef, Value
from fieldlink.store.timezones import parse_timezone


@dataclass(frozen=True, slots=True)
class StationInfo:
    """What a sink needs to know about the station a table comes from.

    The fields are those of a TOA5 environment line.  ``timezone`` is the zone the
    logger clock keeps (IANA name or fixed offset, see
    :func:`~fieldlink.store.timezones.parse_timezone`); ``None`` means unknown, and
    then no UTC time is stored.
    """

    name: str
    model: str = ""
    serial_number: str = ""
    os_version: str = ""
    program_name: str = ""
    program_signature: int | None = None
    timezone: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise ConfigError("a station needs a non-empty name")
        if self.timezone is not None:
            parse_timezone(self.timezone)

    @property
    def tzinfo(self) -> dt.tzinfo | None:
        return None if self.timezone is None else parse_timezone(self.timezone)


@dataclass(frozen=True, slots=True)
class Position:
    """How far a table has been stored: the last record number of the current version."""

    #: The table definition signature the records were stored under.
    signature: int
    #: The last (highest) record number stored.
    record: int
    #: The version (1, 2, ...) of the table definition.
    version: int


@dataclass(frozen=True, slots=True)
class Hole:
    """Records ``first..last`` (inclusive) that the logger overwrote before they were collected."""

    table: str
    first: int
    last: int

    def __post_init__(self) -> None:
        if self.first < 0 or self.last < self.first:
            raise UsageError(f"bad hole in {self.table}: records {self.first}..{self.last}")

    @property
    def count(self) -> int:
        return self.last - self.first + 1


@runtime_checkable
class TableWriter(Protocol):
    """Appends the records of one table (one version) of one station."""

    @property
    def station(self) -> StationInfo: ...

    @property
    def table(self) -> TableDef: ...

    @property
    def version(self) -> int: ...

    @property
    def position(self) -> Position | None:
        """The last record stored in this version, or None if none yet."""
        ...

    def append(self, records: Sequence[Record], holes: Sequence[Hole] = ()) -> None:
        """Store records (and report holes) durably, or raise StoreError and store nothing.

        Records already stored are skipped, so a rerun never duplicates.
        """
        ...

    def holes(self) -> list[Hole]:
        """The holes reported so far for this version, in record order."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Sink(Protocol):
    """Where collected data goes: TOA5 files, CSV files or an SQLite database."""

    def open_table(
        self, station: StationInfo, table: TableDef, *, new_version: bool = False
    ) -> TableWriter:
        """Resume the table's current version, or start a new one if its definition changed.

        ``new_version=True`` starts a new version even if the definition is unchanged:
        the collector asks for it when the logger's record numbers went backwards
        (table reset, program recompiled), since resuming would skip the new records.
        """
        ...

    def log(self, station: str, event: str, detail: str = "") -> None:
        """Add a line to the collection log (what happened, when, to which station)."""
        ...

    def close(self) -> None: ...


# --- shared helpers for the sinks -----------------------------------------------------------

#: Type codes whose values are 4-byte-or-smaller floats (FP2, FP4, IEEE4, FP3, IEEE4L, FS4).
FLOAT4_TYPES = frozenset({7, 8, 9, 15, 24, 26})
#: Type codes of 8-byte floats (IEEE8 big and little endian).
FLOAT8_TYPES = frozenset({18, 25})
#: Type codes of integers.
INT_TYPES = frozenset({1, 2, 3, 4, 5, 6, 19, 20, 21, 22})
#: Type codes of booleans (Bool, Bool8, Bool2, Bool4).
BOOL_TYPES = frozenset({10, 17, 27, 28})
#: Type codes of time stamps used as field values (Sec, USec, NSec, NSecLsf).
TIME_TYPES = frozenset({12, 13, 14, 23})
#: Type codes of strings (ASCII, ASCIIZ).
STRING_TYPES = frozenset({11, 16})

_KINDS = (
    ("float", FLOAT4_TYPES | FLOAT8_TYPES),
    ("int", INT_TYPES),
    ("bool", BOOL_TYPES),
    ("time", TIME_TYPES),
    ("text", STRING_TYPES),
)


def value_kind(type_code: int) -> str:
    """What a field of this type holds: "float", "int", "bool", "time", "text", or "" (unknown).

    Sinks that type their columns (SQL tables) map these kinds to their own types.
    """
    return next((kind for kind, codes in _KINDS if type_code in codes), "")


@dataclass(frozen=True, slots=True)
class Column:
    """One output column: an element of a field (``Temp(2)``) or the whole scalar field."""

    name: str
    field: FieldDef


def columns(table: TableDef) -> list[Column]:
    return [Column(name, f) for f in table.fields for name in f.column_names()]


def definition_key(station: StationInfo, table: TableDef) -> str:
    """A canonical text that changes whenever stored data would no longer line up.

    Besides the table's own signature and columns it holds the program and the
    logger identity: a new program (or logger, or OS) restarts record numbers at 0,
    so resuming an old version would skip records.
    """
    key = {
        "table": table.name,
        "table_signature": table.signature,
        "model": station.model,
        "serial_number": station.serial_number,
        "os_version": station.os_version,
        "program_name": station.program_name,
        "program_signature": station.program_signature,
        "columns": [
            [c.name, c.field.type_code, c.field.units, c.field.processing] for c in columns(table)
        ],
    }
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class _Shape:
    """A table's field names and each field's column count, worked out once per table."""

    table: TableDef
    names: tuple[str, ...]
    widths: tuple[int, ...]
    #: Whether no two fields share a name (else values go by name, as a dict has them).
    unique: bool
    #: The values of the one-column fields, from a row of values in table order.
    scalars: Callable[[Sequence[Value]], Sequence[Value]]
    #: (position, width) of each array field (a width other than 1), in table order.
    arrays: tuple[tuple[int, int], ...]

    def quick_row(self, values: Sequence[Value]) -> list[Scalar] | None:
        """The row of values in table order whose one-column fields hold plain scalars
        and whose arrays are tuples of their width (what a decoder gives), built slice
        by slice; None when anything needs the field-by-field path."""
        if not _SCALAR_TYPES.issuperset(map(type, self.scalars(values))):
            return None
        row: list[Any] = []
        start = 0
        for at, width in self.arrays:
            array = values[at]
            if type(array) is not tuple or len(array) != width:
                return None
            row += values[start:at]
            row += array
            start = at + 1
        row += values[start:]
        return row


#: Shapes of recently used tables by identity: sinks convert record after record of
#: one TableDef, and its column counts cost a ``column_names()`` per field to find.
_shapes: dict[int, _Shape] = {}
_MAX_SHAPES = 64

#: Value types that are one column as they stand (a tuple, or a subclass of anything,
#: takes the field-by-field path, which expands or refuses it).
_SCALAR_TYPES = frozenset({float, int, bool, str, dt.datetime, type(None)})


def _shape(table: TableDef) -> _Shape:
    shape = _shapes.get(id(table))
    if shape is None or shape.table is not table:
        if len(_shapes) >= _MAX_SHAPES:
            _shapes.clear()
        names = tuple(f.name for f in table.fields)
        widths = tuple(len(f.column_names()) for f in table.fields)
        unique = len(set(names)) == len(names)
        ones = [i for i, w in enumerate(widths) if w == 1]
        arrays = tuple((i, w) for i, w in enumerate(widths) if w != 1)
        shape = _Shape(table, names, widths, unique, _getter(ones), arrays)
        _shapes[id(table)] = shape
    return shape


def _getter(positions: list[int]) -> Callable[[Sequence[Value]], Sequence[Value]]:
    """The items at ``positions`` as a sequence (itemgetter gives a bare item for one)."""
    if len(positions) >= 2:
        return operator.itemgetter(*positions)
    return lambda values: [values[i] for i in positions]


def record_row(table: TableDef, record: Record) -> list[Scalar]:
    """The record's values in column order, checked against the table definition.

    Values are matched by field name, so a record whose dict is in another order still
    lands in the right columns; a missing or extra field is the caller's error.  A
    record whose fields are the table's, in table order (what a collection gives), is
    read as it stands instead of name by name.
    """
    return record_rows(table, (record,))[0]


def record_rows(table: TableDef, records: Iterable[Record]) -> list[list[Scalar]]:
    """:func:`record_row` of each record, in order (the first bad record raises).

    The table's shape is looked up once for the batch; a record whose values are in
    table order, plain scalars and arrays of the right width (what a collection gives),
    is copied slice by slice (:meth:`_Shape.quick_row`), without the field-by-field
    checks it would pass anyway.
    """
    rows: list[list[Scalar]] = []
    shape = _shape(table)
    name = table.name
    for record in records:
        if record.table != name:
            raise UsageError(f"record {record.number} is from table {record.table!r}, not {name!r}")
        number = record.number
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise UsageError(f"bad record number {number!r} in table {name}")
        if record.timestamp.tzinfo is not None:
            raise UsageError(
                f"record {number} of {name}: time stamps must be naive logger-local time"
            )
        ordered = record.values_in_order(shape.names) if shape.unique else None
        if ordered is not None:
            ordered = ordered if isinstance(ordered, tuple) else tuple(ordered)
            row = shape.quick_row(ordered)
            if row is not None:
                rows.append(row)
                continue
        rows.append(_fields_row(table, shape, record, ordered))
    return rows


def _fields_row(
    table: TableDef, shape: _Shape, record: Record, ordered: Iterable[Value] | None
) -> list[Scalar]:
    """The record's row field by field: arrays expanded, names and widths checked."""
    if ordered is None:
        named = record.values
        if set(named) != set(shape.names):
            missing = [n for n in shape.names if n not in named]
            extra = [n for n in named if n not in shape.names]
            raise UsageError(
                f"record {record.number} of {table.name} does not match the table "
                f"definition (missing {missing}, unknown {extra})"
            )
        ordered = [named[n] for n in shape.names]
    row: list[Scalar] = []
    for name, width, value in zip(shape.names, shape.widths, ordered, strict=True):
        if isinstance(value, tuple):
            if len(value) != width:
                raise UsageError(
                    f"record {record.number} of {table.name}: field {name} has "
                    f"{len(value)} values, the definition says {width}"
                )
            row.extend(value)
        elif width == 1:
            row.append(value)
        else:
            raise UsageError(
                f"record {record.number} of {table.name}: field {name} is an "
                f"array of {width}, got a single value"
            )
    return row


def new_records(records: Sequence[Record], after: Position | None) -> list[Record]:
    """Records sorted by number, without repeats and without those at or below ``after``
    (the position a writer has stored up to; None: keep them all)."""
    last = None if after is None else after.record
    out: list[Record] = []
    seen: set[int] = set()
    for r in sorted(records, key=lambda r: r.number):
        if r.number in seen or (last is not None and r.number <= last):
            continue
        seen.add(r.number)
        out.append(r)
    return out


def check_holes(table: TableDef, holes: Sequence[Hole]) -> None:
    for h in holes:
        if h.table != table.name:
            raise UsageError(
                f"hole {h.first}..{h.last} is in table {h.table!r}, not {table.name!r}"
            )


def iso_time(t: dt.datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` with ``.ffffff`` only when there are microseconds."""
    return t.isoformat(sep=" ")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
