"""Table definitions and data collection (pakbus.md §8.2, §8.3, §8.5)."""

from __future__ import annotations

import datetime as dt
import enum
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from fieldlink.errors import (
    DeviceError,
    NotFound,
    ProtocolError,
    UsageError,
)
from fieldlink.pakbus.operations.common import LEVEL_ADMIN, LEVEL_READ, check_response
from fieldlink.pakbus.operations.files import get_file
from fieldlink.pakbus.protocol import bmp5
from fieldlink.pakbus.protocol.codes import (
    Bmp5ResponseCode,
    CollectMode,
    TableControlOption,
    bmp5_meaning,
)
from fieldlink.pakbus.protocol.model import Record, TableDef
from fieldlink.pakbus.protocol.packet import MAX_BODY
from fieldlink.pakbus.protocol.records import (
    CollectPayload,
    Fragment,
    FragmentAssembler,
    RecordBlock,
    layout_for,
    parse_collect_payload,
)
from fieldlink.pakbus.protocol.tabledef import parse_tdf
from fieldlink.pakbus.protocol.types import datetime_to_nsec
from fieldlink.pakbus.protocol.wire import NSec
from fieldlink.pakbus.session import (
    MAX_IN_FLIGHT,
    Operation,
    Request,
    Stream,
    drop,
    emit,
    expect,
    send,
    take_expected,
)

#: The largest NSec second count (an open-ended time range ends here).
_MAX_SECONDS = 2**31 - 1


class TableDefinitionChanged(DeviceError):
    """The logger no longer has the table definition a collection was using (RespCode 7).

    The program was changed or recompiled; the client has already re-read ``.TDF``.
    A collector should start a new version of the table and collect again.
    """


class TableReset(DeviceError):
    """The logger's record numbers went backwards while collecting: the table was reset.

    A Table Control reset, a reset from the keypad or a recompile that kept the table
    definition restarts a table's record numbers at 0.  A logger asked for records from
    a number it does not hold, and that is not the next to be stored, answers with its
    oldest record (§8.3 mode 4) -- so the new run of records arrives numbered *below*
    what the caller already has.  Rather than drop those records (numbers seen before)
    or pass them on as if they continued the old run, the collection stops here with
    this error; the records emitted before it all belong to the old run.

    ``last`` is the record number the old run had reached (the last record emitted, or
    ``since_record - 1`` when the very first answer went backwards) and ``first`` the
    number of the first record of the new run.  A collector stores the new run as a new
    version of the table and collects it from its oldest record; a one-off download
    reports that the table changed under it.
    """

    def __init__(self, table: str, last: int, first: int, *, asked: bool = False) -> None:
        self.table = table
        self.last = last
        self.first = first
        if asked:  # the very first answer: nothing of the old run was seen in this stream
            message = (
                f"the logger holds no record {last + 1} of table {table!r} or later: it "
                f"answered from record {first}, so the table was reset (Table Control or a "
                f"recompiled program) -- or {last + 1} is beyond its newest record"
            )
        else:
            message = (
                f"table {table!r} was reset on the logger during collection: its record "
                f"numbers went back from {last} to {first} (Table Control reset or program "
                "recompiled)"
            )
        super().__init__(message)


# --- table definitions ------------------------------------------------------------------------


@dataclass
class TableCatalog:
    """The table definitions last read from the logger, shared by every operation.

    Kept by the client so that ``.TDF`` is read once, and re-read when a program
    change makes it stale.
    """

    tables: tuple[TableDef, ...] | None = None

    def invalidate(self) -> None:
        self.tables = None

    def find(self, name: str) -> TableDef:
        """The table called ``name`` (exact, else the one case-insensitive match)."""
        tables = self.tables or ()
        for t in tables:
            if t.name == name:
                return t
        folded = [t for t in tables if t.name.lower() == name.lower()]
        if len(folded) == 1:
            return folded[0]
        known = ", ".join(t.name for t in tables) or "none"
        raise NotFound(f"no table {name!r} on the logger (tables: {known})")


def table_defs(
    catalog: TableCatalog, security_code: int = 0, *, refresh: bool = False
) -> Operation[tuple[TableDef, ...]]:
    """The logger's table definitions (``.TDF``, §8.2), read once and cached in ``catalog``."""
    if catalog.tables is None or refresh:
        raw = yield from get_file(".TDF", security_code)
        catalog.tables = parse_tdf(raw)
    return catalog.tables


def resolve_fields(table: TableDef, names: Sequence[str] | None) -> tuple[int, ...]:
    """1-based field numbers for ``names`` (all pieces of each), in the order given."""
    if not names:
        return ()
    numbers: list[int] = []
    for name in names:
        found = [i for i, f in enumerate(table.fields, 1) if f.name == name]
        if not found:
            found = [i for i, f in enumerate(table.fields, 1) if f.name.lower() == name.lower()]
        if not found:
            known = ", ".join(dict.fromkeys(f.name for f in table.fields))
            raise NotFound(f"table {table.name!r} has no field {name!r} (fields: {known})")
        numbers.extend(n for n in found if n not in numbers)
    return tuple(numbers)


# --- data collection --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Query:
    """What a collection asks for; checked once, before anything is sent."""

    start: dt.datetime | None = None
    stop: dt.datetime | None = None
    since_record: int | None = None
    newest: int | None = None

    def check(self) -> None:
        if self.newest is not None and (
            self.start is not None or self.stop is not None or self.since_record is not None
        ):
            raise UsageError("newest cannot be combined with start, stop or since_record")
        if self.since_record is not None and (self.start is not None or self.stop is not None):
            raise UsageError("since_record cannot be combined with start or stop")
        if self.newest is not None and self.newest < 1:
            raise UsageError(f"newest must be at least 1, not {self.newest}")
        if self.since_record is not None and not 0 <= self.since_record < 2**32:
            raise UsageError(f"since_record must be 0..{2**32 - 1}, not {self.since_record}")
        for name, when in (("start", self.start), ("stop", self.stop)):
            if when is not None and when.tzinfo is not None:
                raise UsageError(f"{name} must be a naive logger-local time (loggers have no zone)")
        if self.start is not None and self.stop is not None and self.start >= self.stop:
            raise UsageError(f"start {self.start} is not before stop {self.stop}")

    def wants(self, record: Record) -> bool:
        if self.start is not None and record.timestamp < self.start:
            return False
        return self.stop is None or record.timestamp < self.stop


@dataclass
class _Progress:
    """Where a collection stands between requests."""

    emitted: int = 0
    last: int | None = None
    first: int | None = None


def _reached(state: _Progress, query: _Query) -> int | None:
    """The record number the stream has reached: a record at or below it went backwards.

    Before the first record that is ``since_record - 1``: a mode-4 answer never starts
    below the number asked for unless that number is beyond the newest record.
    """
    if state.last is not None:
        return state.last
    if query.since_record:
        return query.since_record - 1
    return None


def _time(when: dt.datetime | None, default: NSec) -> NSec:
    return default if when is None else datetime_to_nsec(when)


def _first_request(q: _Query) -> tuple[int, int | NSec | None, int | NSec | None]:
    if q.newest is not None:
        return CollectMode.NEWEST, q.newest, None
    if q.since_record is not None:
        return CollectMode.FROM_RECORD, q.since_record, None
    if q.start is not None or q.stop is not None:
        return (
            CollectMode.TIME_RANGE,
            _time(q.start, NSec(0, 0)),
            _time(q.stop, NSec(_MAX_SECONDS, 0)),
        )
    return CollectMode.ALL, None, None


@dataclass(frozen=True, slots=True)
class _Collecting:
    """One collection's table, field selection and code: what each of its requests carries."""

    catalog: TableCatalog
    table: TableDef
    fields: tuple[int, ...]
    security_code: int

    def request(self, mode: int, p1: int | NSec | None, p2: int | NSec | None) -> Request:
        t = self.table
        asked = bmp5.TableRequest(t.number, t.signature, p1, p2, self.fields)
        return Request(bmp5.CollectDataCommand(0, self.security_code, mode, (asked,)))

    def checked(self, r: bmp5.CollectDataResponse) -> Operation[bmp5.CollectDataResponse]:
        """``r`` if the logger collected; else the error it answered (RespCode 7: after
        reading the table definitions again)."""
        name = self.table.name
        if r.resp_code == Bmp5ResponseCode.INVALID_TABLE_DEFINITION:
            yield from table_defs(self.catalog, self.security_code, refresh=True)
            raise TableDefinitionChanged(
                f"the definition of table {name!r} changed on the logger (new or recompiled "
                "program?); the table definitions were read again -- collect again",
                code=r.resp_code,
                meaning=bmp5_meaning(r.resp_code),
            )
        check_response(r.resp_code, f"collecting table {name!r}", LEVEL_READ)
        return r

    def once(
        self, mode: int, p1: int | NSec | None, p2: int | NSec | None
    ) -> Operation[bmp5.CollectDataResponse]:
        """One request and its answer (checked)."""
        r = yield from expect(self.request(mode, p1, p2), bmp5.CollectDataResponse)
        return (yield from self.checked(r))

    def parse(self, r: bmp5.CollectDataResponse) -> CollectPayload:
        t = self.table
        return parse_collect_payload(r.data, {t.number: t}, {t.number: self.fields})


def _assemble(c: _Collecting, first: Fragment) -> Operation[Record]:
    """The whole record whose first fragment arrived: ask for the rest with mode 8."""
    table = c.table
    assembler = FragmentAssembler(table, first.record_nbr, c.fields or None)
    record = assembler.add(first)
    while record is None:
        r = yield from c.once(CollectMode.PARTIAL_RECORD, first.record_nbr, assembler.next_offset)
        payload = c.parse(r)
        fragment = payload.fragment
        if fragment is None:
            whole = [rec for rec in payload.records if rec.number == first.record_nbr]
            if whole:
                return whole[0]
            raise ProtocolError(
                f"record {first.record_nbr} of {table.name!r} stopped arriving after "
                f"{assembler.next_offset} bytes",
                message_type=bmp5.CollectDataResponse.what(),
            )
        held = assembler.next_offset
        record = assembler.add(fragment)
        if record is None and assembler.next_offset == held:
            # Asking again would get the same answer: a logger that never ends the record.
            raise ProtocolError(
                f"record {first.record_nbr} of {table.name!r}: a fragment with no new bytes "
                f"after {held} bytes",
                message_type=bmp5.CollectDataResponse.what(),
            )
    return record


def _sift(
    batch: Sequence[Record], state: _Progress, query: _Query, mode: int, table: str
) -> tuple[list[Record], bool, TableReset | None]:
    """The records of ``batch`` to emit, whether the collection is finished, and the
    TableReset to raise once they are emitted (record numbers went backwards)."""
    out: list[Record] = []
    for record in batch:
        reached = _reached(state, query)
        if reached is not None and record.number <= reached:
            return out, True, TableReset(table, reached, record.number, asked=state.last is None)
        state.last = record.number
        past_stop = query.stop is not None and record.timestamp >= query.stop
        if past_stop and mode != CollectMode.TIME_RANGE:
            return out, True, None  # continuing in record order has left the time window
        if not query.wants(record):
            continue
        if query.newest is not None and state.emitted >= query.newest:
            return out, True, None
        out.append(record)
        state.emitted += 1
    return out, False, None


#: Bytes of a one-block Collect Data answer besides its records: MsgType, TranNbr,
#: RespCode, TableNbr, BegRecNbr, NbrOfRecs, MoreRecsExist (pakbus.md §8.3).
_ANSWER_OVERHEAD = 12


def records_per_answer(table: TableDef, fields: Sequence[int] = ()) -> int:
    """How many records of ``table`` one answer of the largest message holds (0: a
    record does not fit, or ASCIIZ fields make records variable in size)."""
    layout = layout_for(table, tuple(fields) or None)
    if layout.size is None:
        return 0
    if table.is_interval:  # one time stamp per block
        head, each = _ANSWER_OVERHEAD + layout.stamp_size, layout.size
    else:  # a time stamp per record
        head, each = _ANSWER_OVERHEAD, layout.size + layout.stamp_size
    return max(0, (MAX_BODY - head) // max(1, each))


def check_window(window: int) -> int:
    """``window`` if it is a number of requests a collection may keep in flight."""
    if isinstance(window, bool) or not isinstance(window, int):
        raise UsageError(f"window must be a whole number 1..{MAX_IN_FLIGHT}, not {window!r}")
    if not 1 <= window <= MAX_IN_FLIGHT:
        raise UsageError(f"window must be 1..{MAX_IN_FLIGHT} requests in flight, not {window}")
    return window


class _After(enum.Enum):
    """How a pipelined stretch of a collection ended."""

    DONE = "the collection is finished"
    RESUME = "continue one request at a time from the last record emitted"
    SINGLY = "the logger did not keep to the record ranges: one request at a time from now on"


@dataclass(slots=True)
class _Slot:
    """Records ``first <= number < end`` asked for with mode 6, and what came."""

    first: int
    end: int
    records: list[Record] | None = None
    last_of_all: bool = False


def _fill(slot: _Slot, payload: CollectPayload) -> _Slot | _After | None:
    """Put an answer's records in ``slot``.  Returns the slot of the remainder still to
    ask for (a short answer), an :class:`_After` when the answer breaks the pattern,
    or None.

    Records must lie in the range, rising.  An empty answer may mean the end of the
    data, a range the ring buffer has overwritten or a reset table: one request at a
    time (mode 4) tells which, as it does without a window.  A range answered in full
    from a later first record lost its start to the ring buffer, as mode 4 would have.
    """
    records: list[Record] = []
    for block in payload.blocks:
        if not isinstance(block, RecordBlock):
            return _After.RESUME  # a fragment: mode 8 belongs to the one-at-a-time path
        records.extend(block.records)
    if not records:
        return _After.RESUME
    numbers = [rec.number for rec in records]
    if numbers[0] < slot.first or numbers[-1] >= slot.end or numbers != sorted(set(numbers)):
        return _After.SINGLY
    slot.records = records
    last = numbers[-1]
    if last == slot.end - 1:
        return None
    if payload.more:  # the logger's answers are smaller than reckoned: ask for the rest
        rest = _Slot(last + 1, slot.end)
        slot.end = last + 1
        return rest
    slot.last_of_all = True  # nothing after ``last`` yet: the newest record
    return None


def _pipelined(
    c: _Collecting, state: _Progress, query: _Query, window: int, per: int, bound: int | None
) -> Operation[_After]:
    """Collect from ``state.last + 1`` (up to ``bound``, exclusive) with ``window``
    mode-6 requests of ``per`` records in flight, emitting records in order.

    Answers come oldest first; each fills its slot, and slots are emitted in record
    order as soon as every earlier one is complete, so at most ``2 × window`` answers
    are held.  A short answer with MoreRecsExist asks for its remainder (and smaller
    ranges from then on); anything else unexpected abandons what is in flight and
    hands back to the one-request path, which resumes after the last record emitted
    -- so each record is emitted once, in order, as without a window.
    """
    assert state.last is not None
    next_first = state.last + 1
    slots: deque[_Slot] = deque()  # record order
    flight: deque[_Slot] = deque()  # the order the requests were sent
    while True:
        while len(flight) < window and len(slots) < 2 * window:
            end = next_first + per if bound is None else min(next_first + per, bound)
            if end <= next_first:
                break
            slot = _Slot(next_first, end)
            yield from send(c.request(CollectMode.RECORD_RANGE, slot.first, slot.end))
            slots.append(slot)
            flight.append(slot)
            next_first = end
        if not flight:
            return _After.DONE  # the bound is reached and every slot emitted
        slot = flight.popleft()
        r = yield from take_expected(bmp5.CollectDataResponse)
        if r.resp_code != Bmp5ResponseCode.OK:
            yield from drop()
            yield from c.checked(r)  # raises, unless the code is no error (0x15)
            return _After.RESUME
        filled = _fill(slot, c.parse(r))
        if isinstance(filled, _After):
            yield from drop()
            return filled
        if filled is not None:
            slots.insert(slots.index(slot) + 1, filled)
            flight.append(filled)
            yield from send(c.request(CollectMode.RECORD_RANGE, filled.first, filled.end))
            per = max(1, slot.end - slot.first)
        while slots and slots[0].records is not None:
            done = slots.popleft()
            assert done.records is not None
            out, finished, reset = _sift(
                done.records, state, query, CollectMode.RECORD_RANGE, c.table.name
            )
            yield from emit(out)
            if reset is not None:
                yield from drop()
                raise reset
            if finished or done.last_of_all:
                yield from drop()
                return _After.DONE


def collect(
    catalog: TableCatalog,
    table: str | TableDef,
    *,
    start: dt.datetime | None = None,
    stop: dt.datetime | None = None,
    since_record: int | None = None,
    newest: int | None = None,
    fields: Sequence[str] | None = None,
    security_code: int = 0,
    window: int = 1,
) -> Stream:
    """Collect records of one table (§8.3), emitting them response by response.

    What is selected:

    - nothing given: every record, oldest first (mode 3);
    - ``since_record=N``: records numbered N and later (mode 4);
    - ``start``/``stop``: records with ``start <= time < stop`` (mode 7), naive
      logger-local times, either bound optional;
    - ``newest=N``: the N newest records (mode 5).

    When the logger sets MoreRecsExist, collection continues after the last record
    received -- mode 4 from last + 1, or mode 6 up to the N-th for ``newest`` (INFERRED:
    a truncated mode-5 answer starts with the oldest of the N).  A record larger than
    one packet arrives in fragments and is completed with mode 8 before it is emitted.
    Only the current response is held, so memory stays flat whatever the table size.

    ``window`` > 1 keeps that many requests in flight once the first answer says more
    records exist: mode-6 record ranges (P1 <= number < P2) sized so that each answer
    fits one packet, asked for before the previous answers have arrived, so the link's
    round trip is paid once per window rather than once per answer.  Records still
    come out once each, in order, exactly as with ``window=1``; a fragment, an empty
    or a surprising answer falls back to one request at a time (see
    :func:`_pipelined`).  UNCERTAIN: pakbus.md does not say that a real logger accepts
    more than one outstanding Collect Data request, so the default is 1; the emulator
    answers queued requests in order.  Tables whose records do not fit one packet,
    or are variable in size (ASCIIZ), are always collected one request at a time.

    ``table`` may be a :class:`TableDef` to pin a definition the caller already stores
    against; a logger that no longer has it answers RespCode 7, which raises
    :class:`TableDefinitionChanged` after re-reading ``.TDF``.

    Record numbers only ever rise within one stream.  A record numbered at or below one
    already emitted (or below ``since_record``) means the table was reset meanwhile:
    the records of the old run are emitted, then :class:`TableReset` is raised instead
    of dropping the new run or mixing it in.  UNCERTAIN: a reset table that has already
    stored more records than the caller's position answers mode 4 from that number as
    if nothing happened; record numbers alone cannot reveal it.
    """
    query = _Query(start, stop, since_record, newest)
    query.check()
    check_window(window)
    if isinstance(table, TableDef):
        tdef = table
    else:
        yield from table_defs(catalog, security_code)
        tdef = catalog.find(table)
    numbers = resolve_fields(tdef, fields)
    c = _Collecting(catalog, tdef, numbers, security_code)
    per = records_per_answer(tdef, numbers) if window > 1 else 0
    state = _Progress()
    mode, p1, p2 = _first_request(query)
    while True:
        r = yield from c.once(mode, p1, p2)
        payload = c.parse(r)
        batch: list[Record] = []
        assembled = False
        for block in payload.blocks:
            if isinstance(block, RecordBlock):
                batch.extend(block.records)
            else:
                batch.append((yield from _assemble(c, block)))
                assembled = True
        if batch and state.first is None:
            state.first = batch[0].number
        out, finished, reset = _sift(batch, state, query, mode, tdef.name)
        yield from emit(out)
        if reset is not None:
            raise reset
        if finished or (not payload.more and not assembled):
            return
        if query.newest is not None and state.emitted >= query.newest:
            return
        if not batch:
            raise ProtocolError(
                f"the logger says more records of {tdef.name!r} exist but sent none",
                message_type=bmp5.CollectDataResponse.what(),
            )
        assert state.last is not None
        bound = None
        if query.newest is not None and state.first is not None:
            bound = state.first + query.newest
        if per > 0 and not assembled:
            after = yield from _pipelined(c, state, query, window, per, bound)
            if after is _After.DONE:
                return
            if after is _After.SINGLY:
                per = 0
        if bound is not None:
            mode, p1, p2 = CollectMode.RECORD_RANGE, state.last + 1, bound
            if p1 >= p2:
                return
        else:
            mode, p1, p2 = CollectMode.FROM_RECORD, state.last + 1, None


def reset_table(catalog: TableCatalog, table: str, security_code: int = 0) -> Operation[None]:
    """Table Control "reset" (§8.5): discard a table's records.  The name is appended
    after CtrlOption (UNCERTAIN in the manual; the recommended reading)."""
    yield from table_defs(catalog, security_code)
    tdef = catalog.find(table)
    r = yield from expect(
        Request(bmp5.TableControlCommand(0, security_code, TableControlOption.RESET, tdef.name)),
        bmp5.TableControlResponse,
    )
    check_response(r.resp_code, f"resetting table {tdef.name!r}", LEVEL_ADMIN)
