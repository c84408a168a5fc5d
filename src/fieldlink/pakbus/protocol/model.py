"""The shapes of a logger's data: table and field definitions, and records.

These are plain immutable values shared by the codec (which parses them from
``.TDF`` files and Collect Data responses), the emulator (which builds them),
the client (which yields them) and the sinks (which store them).  Nothing here
does I/O or parsing; see :mod:`fieldlink.pakbus.protocol.tabledef` and
:mod:`fieldlink.pakbus.protocol.records` for that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import count
from math import prod

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.protocol.wire import NSec

#: A scalar value as decoded from a record.  Strings are ``str`` (Latin-1), booleans
#: ``bool``, integers ``int``, every float type ``float`` (NaN and ±inf included), and
#: time-typed fields (Sec/USec/NSec, e.g. Status ``StartTime``) naive logger-local
#: ``datetime``.
Scalar = float | int | bool | str | dt.datetime
#: A field value: a scalar, or a flat row-major tuple of scalars for array fields.
Value = Scalar | tuple[Scalar, ...]

#: PakBus data type code for ASCII (fixed length) strings.
ASCII_TYPE = 11
#: PakBus data type code for ASCIIZ (NUL-terminated) strings.
ASCIIZ_TYPE = 16

# What a real logger can hold (issue 13).  A ``.TDF`` is device input: its sizes are
# checked against these before a layout is compiled or a column named, so a hostile or
# corrupt definition is a ProtocolError instead of gigabytes of allocation.  CRBasic
# arrays have at most three dimensions (a string array one more, its length); a
# CR1000's whole SRAM is 4 MB and a CR6's final storage a few tens of MB, in which a
# record of more than 65 536 values or 1 MiB is not something any program declares.

#: Most dimensions a field may declare.
MAX_DIMENSIONS = 6
#: Most values (columns) in one record, all fields together.
MAX_RECORD_VALUES = 65_536
#: Most bytes in one record's values, all fields together.
MAX_RECORD_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field (a "piece") of a table definition, as in the ``.TDF`` file (BMP5 §8.2)."""

    name: str
    type_code: int
    read_only: bool = True
    processing: str = ""
    units: str = ""
    description: str = ""
    begin_index: int = 1
    #: Number of elements in this piece; for ASCII, the number of characters.
    piece_size: int = 1
    #: Dimensions of the whole array (empty for a scalar); for ASCII the last is the length.
    dimensions: tuple[int, ...] = ()
    aliases: tuple[str, ...] = ()

    def check_bounds(self) -> None:
        """Raise ProtocolError if this field's sizes exceed what a real logger can hold.

        Cheap (no allocation whatever the sizes): callers run it before they build
        anything whose size comes from the field.  PieceSize counts elements (bytes for
        ASCII), and every element takes at least a byte, so it is bounded by
        :data:`MAX_RECORD_BYTES`; the values it makes by :data:`MAX_RECORD_VALUES`.
        """
        problem = None
        if len(self.dimensions) > MAX_DIMENSIONS:
            problem = f"{len(self.dimensions)} dimensions (at most {MAX_DIMENSIONS})"
        elif self.piece_size > MAX_RECORD_BYTES:
            problem = f"PieceSize {self.piece_size} (at most {MAX_RECORD_BYTES})"
        elif self.value_count > MAX_RECORD_VALUES:
            problem = f"{self.value_count} values (at most {MAX_RECORD_VALUES})"
        if problem is not None:
            raise ProtocolError(
                f"field {self.name!r} declares {problem}: more than a logger can hold",
                message_type=".TDF table definitions",
            )

    @property
    def is_string(self) -> bool:
        return self.type_code in (ASCII_TYPE, ASCIIZ_TYPE)

    @property
    def value_count(self) -> int:
        """How many values this field holds in a record (strings count as one each)."""
        if self.is_string:
            dims = self.dimensions[:-1] if self.dimensions else ()
            strlen = self.dimensions[-1] if self.dimensions else self.piece_size
            if not dims:
                return 1
            return max(1, self.piece_size // max(1, strlen))
        return self.piece_size

    @property
    def is_array(self) -> bool:
        return self.value_count > 1 or (
            not self.is_string and bool(self.dimensions) and prod(self.dimensions) > 1
        )

    def column_names(self) -> list[str]:
        """Column headers as LoggerNet writes them: ``Name`` or ``Name(1)``, ``Name(1,2)``.

        A field larger than a logger can hold is a ProtocolError (:meth:`check_bounds`).
        """
        self.check_bounds()
        if not self.is_array:
            return [self.name]
        dims = self.dimensions[:-1] if self.is_string else self.dimensions
        if not dims:
            dims = (self.value_count,)
        names = []
        first = self.begin_index - 1
        for linear in range(first, first + self.value_count):
            idx = []
            rem = linear
            for d in reversed(dims):
                idx.append(rem % d + 1)
                rem //= d
            names.append(f"{self.name}({','.join(str(i) for i in reversed(idx))})")
        return names


@dataclass(frozen=True, slots=True)
class TableDef:
    """One table of a ``.TDF`` file.

    ``number`` is the 1-based position in the file (the TableNbr of Collect Data);
    ``signature`` is the CSI signature of the definition bytes (BMP5 §8.2), which the
    client sends back with every collect request.
    """

    name: str
    number: int
    size: int
    time_type: int
    time_into: NSec
    interval: NSec
    fields: tuple[FieldDef, ...]
    signature: int

    @property
    def is_interval(self) -> bool:
        """Interval tables carry one time stamp per block, event tables one per record."""
        return self.interval != NSec(0, 0)

    def field(self, name: str) -> FieldDef:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def check_bounds(self) -> None:
        """Raise ProtocolError if a field, or all of them together, exceed one record.

        Only the value count is summed here: the byte size of each type is the codec's
        business (:class:`~fieldlink.pakbus.protocol.records.RecordLayout` checks it).
        """
        total = 0
        for f in self.fields:
            f.check_bounds()
            total += f.value_count
        if total > MAX_RECORD_VALUES:
            raise ProtocolError(
                f"table {self.name!r} declares {total} values per record "
                f"(at most {MAX_RECORD_VALUES}): more than a logger can hold",
                message_type=".TDF table definitions",
            )

    def column_names(self) -> list[str]:
        self.check_bounds()
        return [c for f in self.fields for c in f.column_names()]


class Record:
    """One record of a table: logger-local time stamp (naive), record number, values.

    ``values`` maps field name to value, in table order (or in the order of the
    requested field list).  Array fields hold a tuple.

    Collecting makes these by the hundred thousand, so this is a plain slotted class
    rather than a frozen dataclass (whose ``__init__`` goes through
    ``object.__setattr__`` per field), and a record made by :func:`records_from_rows`
    keeps the decoder's row of values until ``values`` is first read: a caller that
    only wants numbers, times or :meth:`flat` never pays for a dict.  Treat records as
    immutable, the values dict included: nothing stops an assignment, but one record
    may be shared by several consumers (e.g. every sink of a collection).
    """

    __slots__ = ("_names", "_row", "_values", "number", "table", "timestamp")
    __match_args__ = ("table", "number", "timestamp", "values")

    table: str
    number: int
    timestamp: dt.datetime
    _values: dict[str, Value] | None
    _row: tuple[Value, ...]
    _names: tuple[str, ...]

    def __init__(
        self,
        table: str,
        number: int,
        timestamp: dt.datetime,
        values: dict[str, Value] | None = None,
    ) -> None:
        self.table = table
        self.number = number
        self.timestamp = timestamp
        self._values = {} if values is None else values

    @classmethod
    def from_row(
        cls,
        table: str,
        number: int,
        timestamp: dt.datetime,
        names: tuple[str, ...],
        row: tuple[Value, ...],
    ) -> Record:
        """A record whose values are ``row`` (one per name, in order), kept as a row."""
        return records_from_rows(table, number, (timestamp,), names, (row,))[0]

    @property
    def values(self) -> dict[str, Value]:
        values = self._values
        if values is None:
            values = self._values = dict(zip(self._names, self._row, strict=True))
        return values

    def values_in_order(self, names: tuple[str, ...]) -> Iterable[Value] | None:
        """The values in field order if this record's fields are exactly ``names``, else None.

        Lets a consumer that knows the table (a sink) read a decoded record's row as it
        stands, without building the ``values`` dict or looking fields up by name.
        """
        values = self._values
        if values is None:
            given, row = self._names, self._row
            same = (given is names or given == names) and len(row) == len(names)
            return row if same else None
        return values.values() if tuple(values) == names else None

    def flat(self) -> list[Scalar]:
        """The values expanded to one scalar per column, in column order."""
        out: list[Scalar] = []
        for v in self._row if self._values is None else self._values.values():
            if isinstance(v, tuple):
                out.extend(v)
            else:
                out.append(v)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (
            self.number == other.number
            and self.table == other.table
            and self.timestamp == other.timestamp
            and self.values == other.values
        )

    __hash__ = None  # type: ignore[assignment]  # equal records may hold different dicts

    def __repr__(self) -> str:
        return (
            f"Record(table={self.table!r}, number={self.number!r}, "
            f"timestamp={self.timestamp!r}, values={self.values!r})"
        )

    def __reduce__(self) -> tuple[type[Record], tuple[str, int, dt.datetime, dict[str, Value]]]:
        return Record, (self.table, self.number, self.timestamp, self.values)


def records_from_rows(
    table: str,
    first_number: int,
    timestamps: Iterable[dt.datetime],
    names: tuple[str, ...],
    rows: Iterable[tuple[Value, ...]],
) -> list[Record]:
    """Records numbered from ``first_number``, one per (time stamp, row) pair.

    This is how a decoder makes records: no ``__init__`` call and no dict per record
    (see :class:`Record`), which makes building them cost a fraction of decoding them.
    Each row holds one value per name, in the order of ``names``.
    """
    new = object.__new__
    out: list[Record] = []
    append = out.append
    for number, stamp, row in zip(count(first_number), timestamps, rows):
        record = new(Record)
        record.table = table
        record.number = number
        record.timestamp = stamp
        record._values = None
        record._row = row
        record._names = names
        append(record)
    return out
