"""One collection cycle of one station: clock check, then every table, resumably.

Resuming is by record number, never by time (time-based resumption, as in
PyCampbellCR1000's ``update``, repeats or misses records whenever the clock is
set or two records share a stamp).  Each sink keeps, per table version, the
number of the last record it stored; the engine asks the logger for what is
newer (Collect Data mode 4, BMP5 §8.3) and hands every sink exactly the records
it does not hold yet, in batches of ``batch_size``.  A batch and the position
it reaches are stored together by the sink, so a crash or a cut link costs at
most the batch in flight, which the next cycle collects again; nothing is
stored twice because each sink filters on its own position.

What the record numbers reveal is reported, never papered over:

- the first record returned is newer than position + 1, or numbers jump inside
  the stream: the logger's ring buffer overwrote records before we got them —
  a *hole*, stored with the next batch and shown in the cycle result (except in
  one-record tables such as Status and Public, which only ever hold the current
  values: there the skipped numbers are by design);
- record numbers go backwards — the first record returned is older than what we
  asked for, or a later answer restarts below the records already received: mode
  4 fell back to the oldest record because the number asked for lies beyond the
  newest, so the table was reset (Table Control, keypad) or the program
  recompiled, between cycles or in the middle of this one.  The client raises
  :class:`~fieldlink.pakbus.operations.TableReset`; the records of the old run
  received so far are stored, every sink starts a new version, and the new run is
  collected into it from its oldest record — nothing lost, nothing stored twice.

UNCERTAIN: a table that was reset *and* has since stored more records than our
position cannot be told apart by numbers alone (its record position + 1 exists
again).  A new program changes the signature or the program statistics, which
the sinks turn into a new version; only a bare table reset through the keyboard
or a Table Control command goes unseen until then.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from fieldlink.collect.config import ClockPolicy, FirstCollection, StationConfig
from fieldlink.collect.results import ClockResult, CycleResult, TableResult, describe_hole
from fieldlink.collect.source import Logger, ProgramInfo, describe_station
from fieldlink.errors import (
    DeviceError,
    FieldlinkError,
    LinkError,
    NotFound,
    StoreError,
    UsageError,
)
from fieldlink.pakbus.operations import TableDefinitionChanged, TableReset
from fieldlink.pakbus.operations.clock import too_far_to_step
from fieldlink.pakbus.protocol.model import Record, TableDef
from fieldlink.store.base import Hole, Sink, StationInfo, TableWriter

log = logging.getLogger(__name__)

#: Opens a connection to a station's logger, closed when the cycle ends.
Connect = Callable[[StationConfig], AbstractAsyncContextManager[Logger]]
#: The sinks a table of a station goes to.
SinksFor = Callable[[StationConfig, str], Sequence[Sink]]
#: Told (station, table, records stored so far in this cycle) after every batch.
Progress = Callable[[str, str, int], None]


@dataclass(slots=True)
class _Feed:
    """One sink's share of a pass: which records it still lacks, and its pending batch."""

    sink: Sink
    writer: TableWriter
    last: int | None
    pending: list[Record] = field(default_factory=list)
    holes: list[Hole] = field(default_factory=list)

    @classmethod
    def of(cls, sink: Sink, writer: TableWriter) -> _Feed:
        return cls(sink, writer, _position(writer))

    def offer(self, record: Record) -> Hole | None:
        """Take ``record`` if this sink lacks it; return the hole it reveals, if any."""
        hole = None
        if self.last is None:
            # A file resumed by time stamp (a PyCampbellCR1000 file without RecNbr).
            after: dt.datetime | None = getattr(self.writer, "after_time", None)
            if after is not None and record.timestamp <= after:
                return None
        else:
            if record.number <= self.last:
                return None
            if record.number > self.last + 1 and not is_snapshot(self.writer.table):
                hole = Hole(self.writer.table.name, self.last + 1, record.number - 1)
                self.holes.append(hole)
        self.pending.append(record)
        self.last = record.number
        return hole

    def flush(self) -> list[Record]:
        if not self.pending and not self.holes:
            return []
        batch, holes = self.pending, self.holes
        self.writer.append(batch, holes)
        self.pending, self.holes = [], []
        return batch

    def restart(self, station: StationInfo) -> None:
        """Close this version and open a new one that expects record 0 first."""
        self.flush()
        table = self.writer.table
        self.writer.close()
        self.writer = self.sink.open_table(station, table, new_version=True)
        self.last = -1


@dataclass(slots=True)
class _Pass:
    """One Collect Data request stream feeding some of a table's sinks."""

    feeds: list[_Feed]
    since_record: int | None = None
    newest: int | None = None


def is_snapshot(table: TableDef) -> bool:
    """A one-record table (Status, Public): it holds the current values only.

    Every scan overwrites its one record, so the records between two collections
    are gone by design, not lost: no holes are reported for it.
    """
    return table.size <= 1


def _position(writer: TableWriter) -> int | None:
    pos = writer.position
    return None if pos is None else pos.record


def _is_new_version(writer: TableWriter) -> bool:
    """An empty version after the first: the definition changed, so all its records are new."""
    return writer.position is None and writer.version > 1


def plan_passes(
    targets: Sequence[tuple[Sink, TableWriter]], policy: FirstCollection
) -> list[_Pass]:
    """Group a table's sinks into as few logger requests as possible.

    Sinks that hold records resume together from the lowest position among them
    (each filters out what it already has).  A sink that holds nothing takes the
    first-collection policy — unless its version is new after a program change,
    whose records are all new.  Empty sinks get passes of their own even though
    "all" would cover a resume: only a resume request (mode 4) can reveal a table
    reset, and a sink must not mistake a reset table's records for ones it holds.
    """
    resuming = [t for t in targets if _position(t[1]) is not None]
    fresh_all = [t for t in targets if _position(t[1]) is None and (
        _is_new_version(t[1]) or policy.newest is None)]  # fmt: skip
    fresh_newest = [t for t in targets if _position(t[1]) is None and t not in fresh_all]
    passes = []
    if resuming:
        feeds = [_Feed.of(*t) for t in resuming]
        since = min(f.last for f in feeds if f.last is not None) + 1
        passes.append(_Pass(feeds, since_record=since))
    if fresh_all:
        passes.append(_Pass([_Feed.of(*t) for t in fresh_all]))
    if fresh_newest:
        passes.append(_Pass([_Feed.of(*t) for t in fresh_newest], newest=policy.newest))
    return passes


async def check_clock(
    logger: Logger,
    policy: ClockPolicy,
    zone: dt.tzinfo,
    now: Callable[[], float] = time.time,
    *,
    name: str = "logger",
    zone_name: str | None = None,
) -> ClockResult:
    """Compare the logger's clock with ours (mid-point of the request), set it if allowed."""
    before = now()
    logger_time = await logger.gettime()
    after = now()
    deviation = logger_time.replace(tzinfo=zone).timestamp() - (before + after) / 2
    allowed = policy.allowed_deviation
    if abs(deviation) <= allowed:
        return ClockResult(logger_time, deviation, allowed)
    if not policy.set_clock:
        log.warning("%s: clock is off by %+.1f s (allowed %.1f s)", name, deviation, allowed)
        return ClockResult(logger_time, deviation, allowed)
    if policy.max_step and abs(deviation) > policy.max_step:
        why = too_far_to_step(deviation, policy.max_step, zone=zone_name)
        log.warning("%s: %s; not set (raise [clock] max_step if it is right)", name, why)
        return ClockResult(logger_time, deviation, allowed, refused=why)
    target = dt.datetime.fromtimestamp(now(), zone).replace(tzinfo=None)
    try:
        await logger.settime(target)
    except DeviceError as exc:
        # Refused (usually the security code): report it, but still collect the data.
        log.warning("%s: could not set the clock: %s", name, exc)
        return ClockResult(logger_time, deviation, allowed)
    log.info("%s: clock was off by %+.1f s; set to %s", name, deviation, target.isoformat())
    return ClockResult(logger_time, deviation, allowed, was_set=True)


async def collect_table(
    logger: Logger,
    station: StationInfo,
    table: TableDef,
    sinks: Sequence[Sink],
    *,
    policy: FirstCollection,
    batch_size: int,
    result: TableResult,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Bring every sink of ``table`` up to the logger's newest record."""
    targets: list[tuple[Sink, TableWriter]] = []
    passes: list[_Pass] = []
    try:
        for sink in sinks:
            targets.append((sink, sink.open_table(station, table)))
        result.new_version = any(_is_new_version(w) for _, w in targets)
        passes = plan_passes(targets, policy)
        for plan in passes:
            await _run_pass(logger, station, table, plan, batch_size, result, progress)
    finally:
        # Every writer sits in exactly one feed (a reset may have replaced it there).
        writers = [f.writer for p in passes for f in p.feeds] if passes else [
            w for _, w in targets]  # fmt: skip
        for writer in writers:
            try:
                writer.close()
            except (FieldlinkError, OSError) as exc:  # do not hide why the table ended
                log.warning("%s %s: closing a sink failed: %s", station.name, table.name, exc)


#: Table resets met in one pass before the cycle gives up (a logger resetting in a loop).
MAX_RESETS_PER_PASS = 3


async def _run_pass(
    logger: Logger,
    station: StationInfo,
    table: TableDef,
    plan: _Pass,
    batch_size: int,
    result: TableResult,
    progress: Callable[[int], None] | None,
) -> None:
    """Run one pass; after a table reset, store the new run of records as a new version.

    The logger's :class:`TableReset` (or record numbers going backwards, from a logger
    that does not raise it) ends the stream once the old run's records are stored.
    Every sink then opens a new version and the new run is collected from its oldest
    record (Collect Data "all"): nothing of it is lost, and nothing is stored twice
    because the old version keeps only the old run.
    """
    since, newest = plan.since_record, plan.newest
    resets = 0
    while True:
        try:
            await _stream(logger, station, table, plan, since, newest, batch_size, result,
                          progress)  # fmt: skip
            return
        except TableReset as reset:
            resets += 1
            if resets > MAX_RESETS_PER_PASS:
                raise
            _restart(plan, station, result, reset)
            since, newest = None, None


async def _stream(
    logger: Logger,
    station: StationInfo,
    table: TableDef,
    plan: _Pass,
    since: int | None,
    newest: int | None,
    batch_size: int,
    result: TableResult,
    progress: Callable[[int], None] | None,
) -> None:
    received = 0
    previous: int | None = None
    stream = logger.collect(table, since_record=since, newest=newest)
    try:
        async for record in stream:
            reached = previous if previous is not None else (since - 1 if since else None)
            if reached is not None and record.number <= reached:
                raise TableReset(table.name, reached, record.number, asked=previous is None)
            previous = record.number
            for feed in plan.feeds:
                hole = feed.offer(record)
                if hole is not None and hole not in result.holes:
                    result.holes.append(hole)
                    log.warning("%s %s: %s overwritten in the logger before collection",
                                station.name, table.name, describe_hole(hole))  # fmt: skip
            received += 1
            if received % batch_size == 0:
                _flush(plan, result, progress)
    except (StoreError, OSError):
        raise
    except BaseException:
        # The link broke, the table was reset (or we were cancelled) mid-table: keep
        # what did arrive.
        try:
            _flush(plan, result, progress)
        except (StoreError, OSError) as store_exc:
            log.error("%s %s: could not store the records received before the failure: %s",
                      station.name, table.name, store_exc)  # fmt: skip
        raise
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    _flush(plan, result, progress)


def _restart(plan: _Pass, station: StationInfo, result: TableResult, reset: TableReset) -> None:
    """The table was reset: move every sink to a new version for the new run of records.

    A reset restarts record numbers at 0, so the new version expects record 0 first:
    if the oldest record of the new run is later, the ring overwrote the ones before
    it and they are reported as a hole like any other.
    """
    log.warning("%s %s: record numbers went back from %d to %d: the table was reset; "
                "starting a new version", station.name, reset.table, reset.last,
                reset.first)  # fmt: skip
    for feed in plan.feeds:
        feed.restart(station)
        feed.sink.log(station.name, "reset",
                      f"{reset.table}: record {reset.first} after {reset.last}")  # fmt: skip
    result.reset = True


def _flush(plan: _Pass, result: TableResult, progress: Callable[[int], None] | None) -> None:
    """Write every sink's pending batch; a sink that fails does not keep the others from it."""
    batches: list[list[Record]] = []
    failure: StoreError | OSError | None = None
    for feed in plan.feeds:
        try:
            batches.append(feed.flush())
        except (StoreError, OSError) as exc:
            failure = failure or exc
    longest = max(batches, key=len, default=[])
    for record in longest:
        result.note(record.number)
    if progress is not None and longest:
        progress(result.records)
    if failure is not None:
        raise failure


def select_tables(defs: Sequence[TableDef], wanted: Sequence[str] | None) -> list[TableDef]:
    """The tables to collect, in the logger's order; a name the program lacks is an error."""
    if wanted is None:
        return list(defs)
    names = {t.name for t in defs}
    missing = [n for n in wanted if n not in names]
    if missing:
        raise NotFound(
            f"table {', '.join(missing)} not in the logger's program "
            f"(it has: {', '.join(t.name for t in defs) or 'no tables'})"
        )
    return [t for t in defs if t.name in wanted]


def station_info(station: StationConfig, program: ProgramInfo | None) -> StationInfo:
    """The station as the sinks record it (see :func:`~.source.describe_station`)."""
    return describe_station(station.name, program, timezone=station.timezone_name)


async def _collect_tables(
    logger: Logger,
    station: StationConfig,
    sinks_for: SinksFor,
    result: CycleResult,
    progress: Progress | None,
) -> None:
    info = station_info(station, await logger.program_stats())
    defs = await logger.table_defs()
    missing: NotFound | None = None
    try:
        tables = select_tables(defs, station.tables)
    except NotFound as exc:
        # Collect what is there; report the rest once the others are safe.
        missing = exc
        tables = [t for t in defs if t.name in (station.tables or ())]
    for table in tables:
        name = table.name

        def table_progress(count: int, name: str = name) -> None:
            if progress is not None:
                progress(station.name, name, count)

        await collect_table(
            logger,
            info,
            table,
            sinks_for(station, name),
            policy=station.first_collection,
            batch_size=station.batch_size,
            result=result.table(name),
            progress=table_progress,
        )
    if missing is not None:
        raise missing


#: Pause before the first reconnect after a cut; doubled for each reconnect in a row that
#: brought no new record, up to :data:`RECONNECT_MAX_DELAY`.
RECONNECT_DELAY = 0.5
RECONNECT_MAX_DELAY = 30.0


def reconnect_delay(failures: int, base: float = RECONNECT_DELAY) -> float:
    """Seconds to wait before a reconnect, after ``failures`` fruitless ones in a row."""
    return float(min(base * 2**failures, RECONNECT_MAX_DELAY))


def _worth_reconnecting(exc: FieldlinkError) -> bool:
    """A cut link or a timeout: the link broke, not the request (a bad URL is no cut)."""
    return isinstance(exc, LinkError) and not isinstance(exc, UsageError)


async def _connection(
    station: StationConfig,
    connect: Connect,
    sinks_for: SinksFor,
    result: CycleResult,
    progress: Progress | None,
    now: Callable[[], float],
    connected: list[bool],
) -> None:
    """One connection's worth of the cycle: clock check (once per cycle), every table.

    If the program changes during the cycle (the logger refuses the table signature),
    the program and tables are read again and the cycle goes once more over every
    table: the finished ones have nothing new, the changed ones start new versions.
    """
    async with connect(station) as logger:
        connected[0] = True
        if station.clock is not None and result.clock is None:
            result.clock = await check_clock(
                logger,
                station.clock,
                station.timezone,
                now,
                name=station.name,
                zone_name=station.timezone_name,
            )
        try:
            await _collect_tables(logger, station, sinks_for, result, progress)
        except TableDefinitionChanged as exc:
            log.warning("%s: the program changed during collection (%s); reading its "
                        "tables again", station.name, exc)  # fmt: skip
            await _collect_tables(logger, station, sinks_for, result, progress)


async def run_cycle(
    station: StationConfig,
    connect: Connect,
    sinks_for: SinksFor,
    *,
    progress: Progress | None = None,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> CycleResult:
    """One full cycle for ``station``.  Never raises a FieldlinkError: it ends up in the result.

    A link cut or a timeout once the logger has been reached does not end the cycle:
    it connects again (after :func:`reconnect_delay`) and resumes every table from
    the last record its sinks hold, as LoggerNet's Collect Now does.  Only
    ``station.reconnects`` reconnects in a row that store no new record are made;
    one that stores records resets the count, so a link cut every few kilobytes
    still brings a whole table in one cycle.  A first connection that fails ends the
    cycle at once (the station is down: the scheduler's retry policy takes over).
    """
    result = CycleResult(station.name, started=dt.datetime.fromtimestamp(now(), dt.UTC))
    fruitless = 0
    try:
        while True:
            stored = result.records
            connected = [False]
            try:
                await _connection(station, connect, sinks_for, result, progress, now, connected)
                break
            except FieldlinkError as exc:
                reached = connected[0] or result.reconnects > 0
                if not _worth_reconnecting(exc) or not reached or station.reconnects == 0:
                    raise
                fruitless = 0 if result.records > stored else fruitless + 1
                if fruitless > station.reconnects:
                    raise
                delay = reconnect_delay(fruitless)
                log.warning("%s: %s; reconnecting in %.1f s (%d stored so far, %d of %d "
                            "reconnects without progress)", station.name, exc, delay,
                            result.records, fruitless, station.reconnects)  # fmt: skip
                result.reconnects += 1
                await sleep(delay)
    except FieldlinkError as exc:
        result.error = str(exc)
        result.error_kind = type(exc).__name__
    except OSError as exc:
        # A sink's file system refused outside its own error handling: still one line.
        where = f": {exc.filename}" if exc.filename else ""
        result.error = f"{exc.strerror or exc}{where}"
        result.error_kind = type(exc).__name__
    finally:
        result.finished = dt.datetime.fromtimestamp(now(), dt.UTC)
    return result
