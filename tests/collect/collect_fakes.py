"""Small stand-ins for a logger and a sink, for unit tests of the collection engine.

The fake logger answers like BMP5 Collect Data (§8.3): a ring buffer of
``size`` records, mode 4 (``since_record``) falling back to the oldest record
when the one asked for is gone and is not the next to be stored, mode 5
(``newest``).  The memory sink keeps the store's contract (positions, versions,
idempotent appends, holes) in dictionaries.  The real client, emulator and
sinks are exercised by the end-to-end tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fieldlink.errors import LinkClosed, StoreError
from fieldlink.pakbus.operations import TableDefinitionChanged, TableReset
from fieldlink.pakbus.protocol.model import FieldDef, Record, TableDef
from fieldlink.pakbus.protocol.wire import NSec
from fieldlink.store.base import Hole, Position, StationInfo, definition_key

T0 = dt.datetime(2024, 5, 1, 0, 0, 0)


def make_table(
    name: str = "Table1",
    size: int = 1000,
    signature: int = 0x1234,
    number: int = 1,
    fields: tuple[str, ...] = ("Batt_V", "Temp_C"),
) -> TableDef:
    return TableDef(
        name=name,
        number=number,
        size=size,
        time_type=14,
        time_into=NSec(0, 0),
        interval=NSec(60, 0),
        fields=tuple(FieldDef(f, 9) for f in fields),
        signature=signature,
    )


def make_record(table: TableDef, number: int, base: dt.datetime = T0) -> Record:
    values = {f.name: float(number) + i / 10 for i, f in enumerate(table.fields)}
    return Record(table.name, number, base + dt.timedelta(minutes=number), values)


@dataclass
class Program:
    model: str = "CR1000"
    serial_number: str = "1234"
    os_version: str = "CR1000.Std.32"
    program_name: str = "CPU:test.CR1"
    program_signature: int = 0xBEEF


@dataclass
class FakeTable:
    table: TableDef
    records: list[Record] = field(default_factory=list)
    next_number: int = 0
    base: dt.datetime = T0

    def store(self, count: int) -> None:
        """The logger stores ``count`` more records; the ring keeps the newest ``size``."""
        for _ in range(count):
            self.records.append(make_record(self.table, self.next_number, self.base))
            self.next_number += 1
        del self.records[: max(0, len(self.records) - self.table.size)]

    def reset(self, count: int = 0, base: dt.datetime = dt.datetime(2024, 6, 1)) -> None:
        """Table Control reset: numbering starts again at 0; then ``count`` new records."""
        self.records.clear()
        self.next_number = 0
        self.base = base
        self.store(count)

    def select(self, since_record: int | None, newest: int | None) -> list[Record]:
        if newest is not None:
            return self.records[-newest:] if newest else []
        if since_record is None:
            return list(self.records)
        held = [r for r in self.records if r.number >= since_record]
        if any(r.number == since_record for r in self.records) or since_record == self.next_number:
            return held
        return list(self.records)  # mode 4: "from the oldest"


class FakeLogger:
    def __init__(self, *tables: FakeTable, clock_offset: float = 0.0, zone: dt.tzinfo = dt.UTC):
        self.tables = {t.table.name: t for t in tables}
        self.program = Program()
        self.clock_offset = clock_offset
        self.zone = zone
        self.set_times: list[dt.datetime] = []
        #: Break the link after this many records have been sent (across all requests).
        self.cut_after: int | None = None
        self.sent = 0
        self.requests: list[tuple[str, int | None, int | None]] = []
        self.refuse_settime: Exception | None = None
        #: Records per answer; between answers ``between_pages`` runs (e.g. a reset).
        self.page_size = 10**9
        self.between_pages: Callable[[], None] | None = None
        self.raises_reset = True

    async def program_stats(self) -> Program:
        return self.program

    async def table_defs(self) -> Sequence[TableDef]:
        return [t.table for t in self.tables.values()]

    async def gettime(self) -> dt.datetime:
        now = dt.datetime.now(self.zone) + dt.timedelta(seconds=self.clock_offset)
        return now.replace(tzinfo=None)

    async def settime(self, when: dt.datetime) -> None:
        if self.refuse_settime is not None:
            raise self.refuse_settime
        self.set_times.append(when)
        aware = when.replace(tzinfo=self.zone)
        self.clock_offset = (aware - dt.datetime.now(self.zone)).total_seconds()

    async def collect(
        self, table: TableDef, *, since_record: int | None = None, newest: int | None = None
    ) -> AsyncIterator[Record]:
        """Pages of ``page_size`` records, each page after the first asked for anew from
        the last record + 1 (as the client continues on MoreRecsExist); record numbers
        going backwards raise TableReset, as the client does (unless ``raises_reset``
        is off: a logger that passes them on)."""
        self.requests.append((table.name, since_record, newest))
        held = self.tables[table.name]
        if held.table.signature != table.signature:
            raise TableDefinitionChanged(f"table {table.name} changed", code=7)
        reached = since_record - 1 if since_record else None
        selected = held.select(since_record, newest)
        while True:
            page, rest = selected[: self.page_size], selected[self.page_size :]
            for record in page:
                if self.cut_after is not None and self.sent >= self.cut_after:
                    raise LinkClosed("fake link cut")
                if self.raises_reset and reached is not None and record.number <= reached:
                    raise TableReset(table.name, reached, record.number)
                reached = record.number
                self.sent += 1
                yield record
            if not rest:
                return
            if self.between_pages is not None:
                self.between_pages()
            selected = rest if newest is not None else held.select((reached or 0) + 1, None)


def connector(logger: FakeLogger):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def connect(station):  # type: ignore[no-untyped-def]
        yield logger

    return connect


class MemoryWriter:
    def __init__(self, sink: MemorySink, station: StationInfo, table: TableDef, version: int):
        self.sink, self._station, self._table, self._version = sink, station, table, version
        self.closed = False

    @property
    def station(self) -> StationInfo:
        return self._station

    @property
    def table(self) -> TableDef:
        return self._table

    @property
    def version(self) -> int:
        return self._version

    @property
    def _rows(self) -> list[Record]:
        return self.sink.data[(self._station.name, self._table.name, self._version)]

    @property
    def position(self) -> Position | None:
        rows = self._rows
        return None if not rows else Position(self._table.signature, rows[-1].number, self._version)

    def append(self, records: Sequence[Record], holes: Sequence[Hole] = ()) -> None:
        assert not self.closed
        if self.sink.fail_with is not None:
            raise self.sink.fail_with
        self.sink.appends.append(len(records))
        last = None if not self._rows else self._rows[-1].number
        numbers = [r.number for r in records]
        assert numbers == sorted(set(numbers)), "records must come in ascending order"
        fresh = [r for r in records if last is None or r.number > last]
        self._rows.extend(fresh)
        self.sink.holes.setdefault(
            (self._station.name, self._table.name, self._version), []
        ).extend(holes)

    def holes(self) -> list[Hole]:
        return list(self.sink.holes.get((self._station.name, self._table.name, self._version), []))

    def close(self) -> None:
        self.closed = True
        self.sink.open.discard((self._station.name, self._table.name))


class MemorySink:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str, int], list[Record]] = {}
        self.keys: dict[tuple[str, str], list[str]] = {}
        self.holes: dict[tuple[str, str, int], list[Hole]] = {}
        self.events: list[tuple[str, str, str]] = []
        self.appends: list[int] = []
        self.open: set[tuple[str, str]] = set()
        self.fail_with: Exception | None = None

    def open_table(
        self, station: StationInfo, table: TableDef, *, new_version: bool = False
    ) -> MemoryWriter:
        ident = (station.name, table.name)
        assert ident not in self.open, "one writer per table at a time"
        key = definition_key(station, table)
        versions = self.keys.setdefault(ident, [])
        if not versions or new_version or versions[-1] != key:
            versions.append(key)
        version = len(versions)
        self.data.setdefault((station.name, table.name, version), [])
        self.open.add(ident)
        return MemoryWriter(self, station, table, version)

    def log(self, station: str, event: str, detail: str = "") -> None:
        self.events.append((station, event, detail))

    def close(self) -> None:
        pass

    def numbers(self, station: str, table: str, version: int = 1) -> list[int]:
        return [r.number for r in self.data.get((station, table, version), [])]


class BrokenSink(MemorySink):
    """A sink whose disk is full."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_with = StoreError("cannot write /data/x.dat: No space left on device")
