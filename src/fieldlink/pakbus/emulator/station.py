"""The state of one emulated CR1000-family logger: clock, program, tables, values, files.

This is the ground truth the emulator answers from and tests check against.  It is
modelled, not canned: the clock is the host clock plus an offset that Clock Set
changes; tables fill as logger time passes (a record for every interval boundary,
see :mod:`fieldlink.pakbus.emulator.tables`), each record's values come from
:mod:`fieldlink.pakbus.emulator.values` (so :meth:`Station.record` can compute any record
for a table and number); sending and running a program (CRBasic, read by
:mod:`fieldlink.pakbus.emulator.crbasic`) replaces the tables, their definitions and their
signatures; DevConfig settings, security codes and the Public variables live here.

Nothing here knows message layouts; :mod:`fieldlink.pakbus.emulator.device` turns requests
into calls on a Station and the results into responses.  The clock is injected
(``clock=``), so tests can move time by hand.  All public methods take the
station's lock: the emulator serves from its own thread while a test reads the
ground truth from another.
"""

from __future__ import annotations

import datetime as dt
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from fieldlink.errors import ConfigError, NotFound, UsageError
from fieldlink.pakbus.emulator.config import (
    DEFAULT_RECORDS,
    StationConfig,
    default_program,
)
from fieldlink.pakbus.emulator.crbasic import CompileError, parse_program, render_program
from fieldlink.pakbus.emulator.files import FileStore
from fieldlink.pakbus.emulator.models import LoggerModel, logger_model, status_fields
from fieldlink.pakbus.emulator.settings import (
    IS_ROUTER,
    MAX_PACKET_SIZE,
    PAKBUS_ADDRESS,
    SECURITY,
    STATION_NAME,
    SettingsStore,
    station_catalogue,
)
from fieldlink.pakbus.emulator.spec import NS_PER_S, ProgramSpec, TableSpec
from fieldlink.pakbus.emulator.status import status_values
from fieldlink.pakbus.emulator.tables import LoggedTable
from fieldlink.pakbus.emulator.values import FieldValues, ValueModel
from fieldlink.pakbus.emulator.variables import (
    decode_assignment,
    encode_values,
    shape,
)
from fieldlink.pakbus.protocol.codes import AccessLevel, Bmp5ResponseCode, CompileState, FileCommand
from fieldlink.pakbus.protocol.directory import build_dir
from fieldlink.pakbus.protocol.model import FieldDef, Record, Scalar, TableDef, Value
from fieldlink.pakbus.protocol.records import (
    PackedRecord,
    RecordLayout,
    RecordRun,
    RowRecord,
    StoredRecord,
)
from fieldlink.pakbus.protocol.signature import signature
from fieldlink.pakbus.protocol.tabledef import build_tdf, make_table
from fieldlink.pakbus.protocol.types import DataType, nsec_to_datetime
from fieldlink.pakbus.protocol.wire import EPOCH_1990, NSec

__all__ = [
    "UPLOAD_BYTES_LIMIT",
    "ManualClock",
    "Need",
    "ProgramState",
    "Station",
    "local_wall_clock",
]

R = Bmp5ResponseCode
_NSEC = DataType.NSEC
_STATUS_CADENCE_NS = NS_PER_S
_DEFAULT_USR_SIZE = 65_536
#: Data records whose values a station keeps after computing them one at a time
#: (ground truth, Get Values): fragments and retried requests ask for them again.
_RECENT_RECORDS = 512
#: Records computed beyond those asked for, in the same block (see Station._rows): a
#: collection's next answers are served from the block (numpy's cost per call is then
#: shared by many records); the block is all a station keeps of a collection.
_COMPUTE_AHEAD = 512
#: Largest block a station keeps (records): a collection's are request + ahead.
_BLOCK_LIMIT = 4_096
#: Encodings (field selections) of one block kept at once.
_LAYOUTS_PER_BLOCK = 4
#: Bytes a station holds, over all File Sends in progress, before it answers
#: "insufficient resources" (RespCode 2, pakbus.md §7.1).  An upload lives in memory
#: until its last fragment; without a cap, clients that start uploads and never
#: finish them could each hold a drive's worth (a CRD: card is gigabytes).
UPLOAD_BYTES_LIMIT = 16 * 1024 * 1024
_COMPILED = "Compiled in PipelineMode."
_COMPILE_COMMANDS = {
    # command: (keep data, set power-up, paused)
    FileCommand.RUN_AND_SET_POWER_UP: (False, True, False),
    FileCommand.RUN_KEEP_DATA: (True, None, False),
    FileCommand.RUN_LEAVE_POWER_UP: (False, None, False),
    FileCommand.STOP_DELETE_RUN_SET_POWER_UP: (False, True, False),
    FileCommand.STOP_DELETE_RUN_LEAVE_POWER_UP: (False, None, False),
    FileCommand.MOVE_AND_RUN_SET_POWER_UP: (False, True, False),
    FileCommand.MOVE_AND_RUN_LEAVE_POWER_UP: (False, None, False),
    FileCommand.COPY_AND_RUN_SET_POWER_UP: (False, True, False),
    FileCommand.COPY_AND_RUN_LEAVE_POWER_UP: (False, None, False),
    FileCommand.COMPILE_PAUSED_FOR_RECOVERY: (True, None, True),
}


def local_wall_clock() -> Callable[[], float]:
    """A clock reading host local time on the Unix scale (loggers keep local time).

    The UTC offset is taken once, as a logger's clock does not follow daylight saving
    time: it runs at one rate from whatever it was set to.
    """
    offset = time.localtime().tm_gmtoff
    return lambda: time.time() + offset


class ManualClock:
    """A host clock that moves only when told to (for tests and demonstrations).

    Pass it as ``clock=``; ``when`` is the logger-local start time.
    """

    def __init__(self, when: dt.datetime = dt.datetime(2024, 5, 1, 12, 0, 30)) -> None:
        self.t = (when - dt.datetime(1970, 1, 1)).total_seconds()

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class Need(Enum):
    """What a request needs the security code for (pakbus.md §5, mapping INFERRED)."""

    #: Collect, read values, read the clock, table definitions and the directory.
    READ = "read"
    #: Set the clock, write Public values.
    WRITE = "write"
    #: Programs and files, settings, table control, writable Status fields.
    ADMIN = "admin"


@dataclass(slots=True)
class ProgramState:
    """What programming statistics report."""

    name: str = ""
    signature: int = 0
    state: int = CompileState.NO_PROGRAM
    compile_time_ns: int = 0
    result: str = ""
    power_up: str = ""
    spec: ProgramSpec | None = None


@dataclass(slots=True)
class _Upload:
    name: str
    buffer: bytearray = field(default_factory=bytearray)


class Station:
    """One emulated logger.  See the module docstring; every argument is optional.

    ``model`` (default: the config's, else CR1000) and ``node`` give the identity;
    ``config`` describes the program/tables, identity and neighbours (from a TOML file);
    ``records`` is the history in the first data table at start; ``security`` is a level-1
    code or the three level codes; ``clock`` returns host time in Unix seconds (local
    wall time by default); ``compile_seconds``/``format_seconds`` are how long those
    operations keep the logger busy (it answers Please Wait meanwhile).
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        node: int = 1,
        config: StationConfig | None = None,
        records: int | None = None,
        seed: int = 0,
        security: int | tuple[int, int, int] | None = None,
        clock: Callable[[], float] | None = None,
        compile_seconds: float = 1.5,
        format_seconds: float = 2.0,
    ) -> None:
        cfg = config or StationConfig()
        self.config = cfg
        self.lock = threading.RLock()
        self.model: LoggerModel = logger_model(model or cfg.model or "CR1000")
        if not 1 <= node <= 4094:
            raise UsageError(f"PakBus address must be 1..4094, not {node}")
        self.seed = seed
        self.values = ValueModel(seed)
        self.compile_seconds = compile_seconds
        self.format_seconds = format_seconds
        self._clock = clock or local_wall_clock()
        self._offset_ns = 0
        self._busy_until = 0.0
        levels = _security_levels(security) or cfg.security or (0, 0, 0)
        history = (
            records
            if records is not None
            else (cfg.records if cfg.records is not None else DEFAULT_RECORDS)
        )
        if history < 0:
            raise UsageError(f"records must be 0 or more, not {history}")
        self.records_at_start = history
        ext = self.model.program_extension
        self.settings = SettingsStore(
            station_catalogue(
                self.model,
                station_name=cfg.station_name or f"Station{node}",
                serial_number=cfg.serial_number or _serial_for(self.model.serial_number, node),
                node=node,
                security=levels,
                is_router=bool(cfg.neighbours),
            )
        )
        drives = {"CPU:": self.model.cpu_drive_size}
        usr = cfg.usr_drive_size if cfg.usr_drive_size is not None else _DEFAULT_USR_SIZE
        if usr:
            drives["USR:"] = usr
        if self.model.card_size:
            drives["CRD:"] = self.model.card_size
        self.files = FileStore(drives)
        self.program = ProgramState()
        self._uploads: dict[Hashable, _Upload] = {}
        #: Total bytes in ``_uploads``, and the most it may hold (UPLOAD_BYTES_LIMIT).
        self._upload_bytes = 0
        self.upload_limit = UPLOAD_BYTES_LIMIT
        self._data: dict[str, LoggedTable] = {}
        self._specs: dict[str, TableSpec] = {}
        self._defs: tuple[TableDef, ...] = ()
        # (table, generation, number, time) -> values, newest last; shared, never mutated
        self._recent: OrderedDict[tuple[str, int, int, int], dict[str, Value]] = OrderedDict()
        # data table -> the block of records last computed for a collection
        self._blocks: dict[str, _Block] = {}
        # table -> (generation, compiled value function of each field)
        self._field_values: dict[str, tuple[int, list[tuple[str, FieldValues]]]] = {}
        self._tdf = b""
        self._public_overrides: dict[str, list[Scalar]] = {}
        self._status_overrides: dict[str, list[Scalar]] = {}
        self._public: LoggedTable | None = None
        self.neighbours: dict[int, Station] = {
            n.node: Station(
                model=n.station.model or self.model.name,
                node=n.node,
                config=n.station,
                records=n.station.records if n.station.records is not None else records,
                seed=seed * 31 + n.node,
                clock=clock,
                compile_seconds=compile_seconds,
                format_seconds=format_seconds,
            )
            for n in cfg.neighbours
        }

        # The program has been running since it logged `history` records of its first table.
        program = cfg.program or default_program(history)
        now = self.now_ns()
        start = _program_start(program, history, now)
        self._status = LoggedTable(
            "Status",
            cadence_ns=_STATUS_CADENCE_NS,
            size=1,
            start_ns=min(start, now - _STATUS_CADENCE_NS),
            now_ns=now,
        )
        text = cfg.program_text or render_program(program, title=f"{self.model.name} station")
        name = cfg.program_name or f"CPU:Default{ext}"
        if self.files.normalise(name) is None:
            raise ConfigError(
                f"{cfg.source}: program_name {name!r}: a {self.model.name} has "
                f"no such drive (it has {', '.join(self.files.drives)})"
            )
        self.files.write(name, text.encode("latin-1"), _stamp(start))
        spec = program if cfg.program_text is None else None  # a given program file compiles
        self._run(name, keep_data=False, power_up=True, paused=False, start_ns=start, spec=spec)
        self._busy_until = 0.0

    # --- identity -------------------------------------------------------------------------

    @property
    def node(self) -> int:
        """Own PakBus address (DevConfig setting 3)."""
        return self.settings.u16(PAKBUS_ADDRESS)

    @property
    def station_name(self) -> str:
        return self.settings.text(STATION_NAME)

    @property
    def serial_number(self) -> str:
        raw = self.settings.value(1)
        letter = chr(raw[0]) if raw[0] else ""
        return f"{letter}{int.from_bytes(raw[1:4], 'big')}"

    @property
    def max_packet_size(self) -> int:
        """The DevConfig "Max Packet Size" (setting 49): bytes of one message at most."""
        return self.settings.u16(MAX_PACKET_SIZE)

    @property
    def is_router(self) -> bool:
        return bool(self.settings.value(IS_ROUTER)[:1] == b"\x01")

    # --- clock ----------------------------------------------------------------------------

    def host_time(self) -> float:
        """Host time in seconds (the clock sessions and busy periods are measured on)."""
        return self._clock()

    def now_ns(self) -> int:
        """Logger time: nanoseconds since 1990-01-01 00:00:00 (logger-local)."""
        return round((self._clock() - EPOCH_1990) * NS_PER_S) + self._offset_ns

    def now(self) -> dt.datetime:
        """Logger time as a naive datetime."""
        return nsec_to_datetime(NSec.from_total_ns(self.now_ns()))

    def adjust_clock(self, adjustment_ns: int) -> int:
        """Add ``adjustment_ns`` to the clock (Clock Set); return the time before it."""
        with self.lock:
            old = self._tick()
            if adjustment_ns:
                self._offset_ns += adjustment_ns
                new = self.now_ns()
                for table in self._all_tables():
                    if table.running:
                        table.realign(new)
            return old

    def set_clock(self, when: dt.datetime) -> None:
        """Set the logger clock to ``when`` (naive, logger-local)."""
        target = int((when - dt.datetime(1990, 1, 1)).total_seconds() * NS_PER_S)
        self.adjust_clock(target - self.now_ns())

    def _tick(self) -> int:
        """Bring every table up to now; return the current logger time."""
        now = self.now_ns()
        for table in self._all_tables():
            table.advance(now)
        self.settings.expire(self._clock())
        return now

    def _all_tables(self) -> list[LoggedTable]:
        return [self._status, *self._data.values(), *self._public_list()]

    def _public_list(self) -> list[LoggedTable]:
        return [self._public] if self._public is not None else []

    # --- busy (compile, format) -----------------------------------------------------------

    def busy_remaining(self) -> float:
        """Seconds the logger stays busy compiling or formatting (0 when idle)."""
        return max(0.0, self._busy_until - self._clock())

    def _busy_for(self, seconds: float) -> None:
        self._busy_until = max(self._busy_until, self._clock() + seconds)

    # --- security -------------------------------------------------------------------------

    @property
    def security(self) -> tuple[int, int, int]:
        return self.settings.security()

    def allowed(self, code: int | None, need: Need) -> bool:
        """Whether security code ``code`` may do what ``need`` says (§5)."""
        l1, l2, l3 = self.security
        if not l1:
            return True
        code = code or 0
        level = 1 if code == l1 else 2 if l2 and code == l2 else 3 if l3 and code == l3 else 0
        if level == 1:
            return True
        if need is Need.ADMIN:
            return False
        if need is Need.WRITE:
            return level == 2 or not l2
        return level in (2, 3) or not l3

    def access_level(self, code: int | None) -> int:
        """The Check Access Level answer (codes.AccessLevel) for ``code``."""
        if self.allowed(code, Need.ADMIN):
            return AccessLevel.ALL
        if self.allowed(code, Need.WRITE):
            return AccessLevel.READ_WRITE
        if self.allowed(code, Need.READ):
            return AccessLevel.READ_ONLY
        return AccessLevel.NONE

    # --- tables ---------------------------------------------------------------------------

    def table_defs(self) -> tuple[TableDef, ...]:
        """The table definitions in ``.TDF`` order: Status, data tables, Public."""
        with self.lock:
            return self._defs

    def table_def(self, name: str) -> TableDef:
        with self.lock:
            for d in self._defs:
                if d.name == name:
                    return d
            raise NotFound(f"no table {name!r}", code=R.INVALID_TABLE_OR_FIELD)

    def tdf(self) -> bytes:
        """The ``.TDF`` file as File Receive serves it."""
        with self.lock:
            return self._tdf

    def _logged(self, name: str) -> LoggedTable:
        if name == "Status":
            return self._status
        if name == "Public" and self._public is not None:
            return self._public
        table = self._data.get(name)
        if table is None:
            raise NotFound(f"no table {name!r}", code=R.INVALID_TABLE_OR_FIELD)
        return table

    def table_state(self, name: str) -> LoggedTable:
        """Record bookkeeping of a table (held range, next record)."""
        with self.lock:
            self._tick()
            return self._logged(name)

    def record_numbers(self, name: str) -> range:
        """Numbers of the records the table holds now, oldest first."""
        with self.lock:
            self._tick()
            table = self._logged(name)
            return range(table.oldest, table.next_record)

    def record(self, name: str, number: int) -> Record:
        """Record ``number`` of table ``name`` as a client will decode it.

        Works for every held record, and for a one-record table's just-replaced ones.
        """
        with self.lock:
            self._tick()
            table = self._logged(name)
            if not (table.holds(number) or (table.size == 1 and table.can_describe(number))):
                raise NotFound(f"table {name} does not hold record {number}")
            when = table.time_of(number)
            return Record(
                name,
                number,
                nsec_to_datetime(NSec.from_total_ns(when)),
                dict(self._values(name, table, number, when)),
            )

    def records(self, name: str, start: int | None = None, stop: int | None = None) -> list[Record]:
        """The held records of a table (optionally numbers start <= n < stop), oldest first."""
        with self.lock:
            held = self.record_numbers(name)
            lo = held.start if start is None else max(start, held.start)
            hi = held.stop if stop is None else min(stop, held.stop)
            names = self._names(name)
            return [
                Record(
                    name,
                    n,
                    nsec_to_datetime(NSec.from_total_ns(when)),
                    dict(zip(names, row, strict=True)),
                )
                for n, when, row in self._rows(name, range(lo, hi))
            ]

    def stored_records(self, name: str, numbers: list[int] | range) -> list[StoredRecord]:
        """(number, exact time stamp, values) of the given records, as dicts."""
        with self.lock:
            names = self._names(name)
            return [
                (n, NSec.from_total_ns(t), dict(zip(names, row, strict=True)))
                for n, t, row in self._rows(name, numbers)
            ]

    def stored_rows(
        self, name: str, numbers: list[int] | range, layout: RecordLayout | None = None
    ) -> Sequence[RowRecord | PackedRecord]:
        """(number, time stamp in ns since 1990, values in field order) for packing into a
        collect response: what :meth:`stored_records` says, without a dict or an NSec per
        record.  The rows are tuples shared with the station's cache (immutable).

        With ``layout``, records served from a kept block come with their value bytes
        for that layout instead (:data:`PackedRecord`): the block is encoded once per
        layout, and the ~30 answers it serves share that work.  A fixed-size layout's
        bytes come as one :class:`RecordRun`, a slice of the block's bytes, which the
        packer sends as it is."""
        with self.lock:
            return self._rows(name, numbers, layout)

    def _names(self, name: str) -> tuple[str, ...]:
        return tuple(f.name for f in self.table_def(name).fields)

    def _rows(
        self, name: str, numbers: list[int] | range, layout: RecordLayout | None = None
    ) -> Sequence[RowRecord | PackedRecord]:
        table = self._logged(name)
        whens = table.times_of(numbers)
        if name in ("Status", "Public") or len(whens) < 2:
            names = self._names(name)
            return [
                (n, when, _row(self._values(name, table, n, when), names))
                for n, when in zip(numbers, whens, strict=True)
            ]
        # A data table: records are computed a block at a time, one column per field
        # (the same values, bit for bit, as one record at a time), and the newest block
        # is kept -- collections read forward, so the next answers are served from it.
        gen = table.generation
        block = self._blocks.get(name)
        if block is None or not block.serves(gen, numbers, whens):
            # Collections read forward: the records after these are computed in the
            # same block, so the next answers find them in it.
            todo = list(numbers)
            ahead = range(todo[-1] + 1, min(todo[-1] + 1 + _COMPUTE_AHEAD, table.next_record))
            todo += ahead
            todo_whens = whens + table.times_of(ahead)
            fields = self._specs[name].fields
            columns = self.values.columns(name, fields, todo, todo_whens, gen)
            block = _Block(gen, todo, todo_whens, columns)
            # Kept for the next answers unless the numbers are not consecutive, or it
            # is a whole table's ground truth (Station.records): bounded memory.
            if block.first is not None and len(todo) <= _BLOCK_LIMIT:
                self._blocks[name] = block
        return block.take(numbers, whens, layout)

    def reset_table(self, name: str | None) -> int:
        """Table Control "reset": a BMP5 RespCode."""
        with self.lock:
            now = self._tick()
            if not name:
                return R.INVALID_TABLE_OR_FIELD
            if name in ("Status", "Public"):
                return R.OPTION_NOT_APPLICABLE
            table = self._data.get(name)
            if table is None:
                return R.INVALID_TABLE_OR_FIELD
            table.reset(now)
            return R.OK

    def _values(self, name: str, table: LoggedTable, number: int, when: int) -> dict[str, Value]:
        """The values of one record (shared with the recent-records cache: do not change)."""
        if name == "Status":
            return self._status_values(number, when)
        if name == "Public":
            spec = self.program.spec
            public = spec.public if spec else ()
            out: dict[str, Value] = {}
            for f in public:
                override = self._public_overrides.get(f.name)
                if override is not None:
                    out[f.name] = shape(override, f.element_count)
                else:
                    out[f.name] = self.values.value("Public", f, number, when)
            return out
        key = (name, table.generation, number, when)
        recent = self._recent.get(key)
        if recent is not None:
            self._recent.move_to_end(key)
            return recent
        compiled = self._field_values.get(name)
        if compiled is None or compiled[0] != table.generation:
            fields = self.values.fields(name, self._specs[name].fields, table.generation)
            compiled = self._field_values[name] = (table.generation, fields)
        values = {field: value(number, when) for field, value in compiled[1]}
        self._recent[key] = values
        if len(self._recent) > _RECENT_RECORDS:
            self._recent.popitem(last=False)
        return values

    # --- programs -------------------------------------------------------------------------

    def _install(self, spec: ProgramSpec | None, *, keep_data: bool, start_ns: int) -> None:
        now = self.now_ns()
        old_data, old_defs = self._data, {d.name: d for d in self._defs}
        self._data, self._specs = {}, {}
        self._recent.clear()  # a new program's table may reuse a name, numbers and times
        self._blocks.clear()
        self._field_values.clear()
        defs: list[TableDef] = [make_table("Status", 1, _NSEC, NSec(), NSec(), status_fields())]
        for ts in spec.tables if spec else ():
            definition = _definition(ts)
            old = old_data.get(ts.name)
            previous = old_defs.get(ts.name)
            if (
                keep_data
                and old is not None
                and previous is not None
                and previous.signature == definition.signature
                and previous.fields == definition.fields
            ):
                table = old
                table.resume(now)
            else:
                table = LoggedTable(
                    ts.name,
                    cadence_ns=ts.cadence_ns,
                    size=ts.size,
                    start_ns=start_ns,
                    now_ns=now,
                    time_into_ns=ts.time_into_ns,
                    event=ts.is_event,
                    seed=self.seed,
                )
            self._data[ts.name] = table
            self._specs[ts.name] = ts
            defs.append(definition)
        self._public_overrides = {}
        if spec and spec.public:
            self._public = LoggedTable(
                "Public",
                cadence_ns=spec.scan_ns,
                size=1,
                start_ns=min(start_ns, now - spec.scan_ns),
                now_ns=now,
            )
            defs.append(
                make_table("Public", 1, _NSEC, NSec(), NSec(), [f.field_def() for f in spec.public])
            )
        else:
            self._public = None
        self._defs = tuple(
            make_table(d.name, d.size, d.time_type, d.time_into, d.interval, d.fields, number=i)
            for i, d in enumerate(defs, start=1)
        )
        self._tdf = build_tdf(self._defs)

    def _run(
        self,
        name: str,
        *,
        keep_data: bool,
        power_up: bool | None,
        paused: bool,
        start_ns: int | None = None,
        spec: ProgramSpec | None = None,
    ) -> int:
        """Compile and run file ``name``; ``spec`` stands in for compiling its text (the
        tables a station description gave, which its rendered text may only approximate)."""
        stored = self.files.get(name)
        if stored is None:
            return R.INVALID_FILE_NAME
        now = self.now_ns()
        start = now if start_ns is None else start_ns
        try:
            if spec is None:
                spec = parse_program(stored.data.decode("latin-1"))
            result = f"{stored.name} -- {_COMPILED}\r\n"
            state = CompileState.PAUSED if paused else CompileState.RUNNING
        except CompileError as exc:
            spec = None
            result = f"{stored.name} -- Compile Failed!\r\n{exc}\r\n"
            state = CompileState.COMPILE_ERROR
        self._install(spec, keep_data=keep_data, start_ns=start)
        if paused:
            for table in self._data.values():
                table.stop()
        power = self.program.power_up
        if power_up:
            power = stored.name
        self.program = ProgramState(
            name=stored.name,
            signature=signature(stored.data),
            state=state,
            compile_time_ns=start,
            result=result,
            power_up=power,
            spec=spec,
        )
        self._busy_for(self.compile_seconds)
        return R.OK

    def _stop(self, *, delete_data: bool) -> None:
        now = self.now_ns()
        for table in self._data.values():
            if delete_data:
                table.reset(now)
            table.stop()
        if self.program.state != CompileState.COMPILE_ERROR:
            self.program.state = CompileState.NO_PROGRAM

    def file_control(self, name: str, command: int, name2: str | None = None) -> int:
        """File Control: a BMP5 RespCode (the emulator adds HoldOff)."""
        with self.lock:
            self._tick()
            return self._file_control(name, command, name2 or "")

    def _file_control(self, name: str, command: int, name2: str) -> int:
        fc = FileCommand
        if command in (
            fc.RUN_AND_SET_POWER_UP,
            fc.RUN_KEEP_DATA,
            fc.RUN_LEAVE_POWER_UP,
            fc.STOP_DELETE_RUN_SET_POWER_UP,
            fc.STOP_DELETE_RUN_LEAVE_POWER_UP,
            fc.COMPILE_PAUSED_FOR_RECOVERY,
        ):
            keep, power, paused = _COMPILE_COMMANDS[command]  # type: ignore[index]
            return self._run(name, keep_data=keep, power_up=power, paused=paused)
        if command in (
            fc.MOVE_AND_RUN_SET_POWER_UP,
            fc.MOVE_AND_RUN_LEAVE_POWER_UP,
            fc.COPY_AND_RUN_SET_POWER_UP,
            fc.COPY_AND_RUN_LEAVE_POWER_UP,
        ):
            moved = self._copy(
                name,
                name2,
                move=command in (fc.MOVE_AND_RUN_SET_POWER_UP, fc.MOVE_AND_RUN_LEAVE_POWER_UP),
            )
            if moved != R.OK:
                return moved
            keep, power, paused = _COMPILE_COMMANDS[command]  # type: ignore[index]
            return self._run(name2, keep_data=keep, power_up=power, paused=paused)
        if command == fc.SET_POWER_UP:
            if not name:
                self.program.power_up = ""
                return R.OK
            stored = self.files.get(name)
            if stored is None:
                return R.INVALID_FILE_NAME
            self.program.power_up = stored.name
            return R.OK
        if command == fc.HIDE:
            stored = self.files.get(name)
            if stored is None:
                return R.INVALID_FILE_NAME
            stored.hidden = True
            return R.OK
        if command == fc.DELETE:
            stored = self.files.get(name)
            if stored is None:
                return R.INVALID_FILE_NAME
            if stored.name == self.program.name and self.program.state in (
                CompileState.RUNNING,
                CompileState.PAUSED,
            ):
                return R.FILE_BUSY
            self.files.delete(name)
            if self.program.power_up == stored.name:
                self.program.power_up = ""
            return R.OK
        if command == fc.FORMAT:
            drive = name.upper() if name.endswith(":") else ""
            if drive not in self.files.drives:
                return R.INVALID_FILE_NAME
            if self.program.name.startswith(drive):
                self._stop(delete_data=False)
            if self.program.power_up.startswith(drive):
                self.program.power_up = ""
            self.files.format(drive)
            self._busy_for(self.format_seconds)
            return R.OK
        if command in (fc.STOP, fc.STOP_AND_DELETE_DATA):
            self._stop(delete_data=command == fc.STOP_AND_DELETE_DATA)
            return R.OK
        if command == fc.PAUSE:
            if self.program.state == CompileState.RUNNING:
                for table in self._data.values():
                    table.stop()
                self.program.state = CompileState.PAUSED
            return R.OK
        if command == fc.RESUME:
            if self.program.state == CompileState.PAUSED:
                now = self.now_ns()
                for table in self._data.values():
                    table.resume(now)
                self.program.state = CompileState.RUNNING
            return R.OK
        if command in (fc.MOVE, fc.COPY):
            return self._copy(name, name2, move=command == fc.MOVE)
        return R.UNSUPPORTED_FILE_COMMAND

    def _copy(self, name: str, name2: str, *, move: bool) -> int:
        stored = self.files.get(name)
        target = self.files.normalise(name2)
        if stored is None or target is None:
            return R.INVALID_FILE_NAME
        if not self.files.fits(target, len(stored.data)):
            return R.INSUFFICIENT_RESOURCES
        self.files.write(target, stored.data, _stamp(self.now_ns()))
        if move and target != stored.name:
            self.files.delete(stored.name)
        return R.OK

    # --- files ----------------------------------------------------------------------------

    def directory(self) -> bytes:
        """The ``.DIR`` file as File Receive serves it."""
        with self.lock:
            running = (
                self.program.name
                if self.program.state in (CompileState.RUNNING, CompileState.PAUSED)
                else ""
            )
            entries = self.files.entries(
                running=running,
                power_up=self.program.power_up,
                paused=self.program.state == CompileState.PAUSED,
            )
            return build_dir(self.model.dir_version, entries)

    def file_bytes(self, name: str) -> bytes | None:
        """What File Receive serves for ``name`` (``.TDF``/``.DIR`` generated), or None."""
        with self.lock:
            self._tick()
            if name.upper() == ".TDF":
                return self._tdf
            if name.upper() == ".DIR":
                return self.directory()
            stored = self.files.get(name)
            return None if stored is None else stored.data

    def receive_fragment(
        self, owner: Hashable, name: str, offset: int, close: bool, data: bytes
    ) -> tuple[int, int]:
        """One File Send fragment: (BMP5 RespCode, bytes left on the drive).

        An upload that would take the bytes held in unfinished uploads past
        :attr:`upload_limit` is abandoned with "insufficient resources", as one that
        would not fit its drive is.
        """
        with self.lock:
            self._tick()
            upload = self._uploads.get(owner)
            if offset == 0 and name:
                full = self.files.normalise(name)
                if full is None:
                    return R.INVALID_FILE_NAME, 0
                existing = self.files.get(full)
                if existing is not None and existing.read_only:
                    return R.FILE_NOT_ACCESSIBLE, 0
                self._drop_upload(owner)
                upload = self._uploads[owner] = _Upload(full)
            elif upload is None or (name and self.files.normalise(name) != upload.name):
                return R.INVALID_FRAGMENT, 0
            buffer = upload.buffer
            drive = upload.name.split(":", 1)[0] + ":"
            if offset + len(data) == len(buffer) and buffer[offset:] == data and data:
                pass  # a resent fragment we already hold
            elif offset != len(buffer):
                return R.INVALID_FRAGMENT, self.files.free(drive)
            else:
                if not self.files.fits(upload.name, len(buffer) + len(data)) or (
                    self._upload_bytes + len(data) > self.upload_limit
                ):
                    self._drop_upload(owner)
                    return R.INSUFFICIENT_RESOURCES, self.files.free(drive)
                buffer += data
                self._upload_bytes += len(data)
            if close:
                self.files.write(upload.name, bytes(buffer), _stamp(self.now_ns()))
                self._drop_upload(owner)
            return R.OK, self.files.free(drive)

    def forget_uploads(self, connection: Hashable) -> int:
        """Abandon the File Sends in progress over ``connection``, which has closed.

        Uploads belong to an owner: ``connection`` itself, or a ``(connection, node)``
        pair as :class:`~fieldlink.pakbus.emulator.device.Device` makes them (one per
        client node on the link).  Routed neighbours forget theirs too.  Returns how
        many uploads were dropped.
        """
        with self.lock:
            gone = [
                owner
                for owner in self._uploads
                if owner == connection
                or (isinstance(owner, tuple) and owner and owner[0] == connection)
            ]
            for owner in gone:
                self._drop_upload(owner)
            return len(gone) + sum(n.forget_uploads(connection) for n in self.neighbours.values())

    @property
    def upload_bytes(self) -> int:
        """Bytes held in unfinished File Sends (at most :attr:`upload_limit`)."""
        with self.lock:
            return self._upload_bytes

    def _drop_upload(self, owner: Hashable) -> None:
        upload = self._uploads.pop(owner, None)
        if upload is not None:
            self._upload_bytes -= len(upload.buffer)

    # --- values (Get/Set Values) ----------------------------------------------------------

    def get_values(
        self, table: str, field_name: str, type_code: int, swath: int
    ) -> tuple[int, bytes]:
        """Get Values: (BMP5 RespCode, the encoded values)."""
        with self.lock:
            self._tick()
            found = self._variable(table, field_name)
            if found is None:
                return R.INVALID_TABLE_OR_FIELD, b""
            fdef, index, current = found
            return encode_values(fdef, index, current, type_code, swath)

    def value_access(self, table: str, field_name: str) -> Need:
        """What writing this variable needs: Public is WRITE, Status fields ADMIN."""
        return Need.WRITE if table == "Public" else Need.ADMIN

    def set_values(
        self, table: str, field_name: str, type_code: int, swath: int, data: bytes
    ) -> int:
        """Set Values: a BMP5 RespCode."""
        with self.lock:
            self._tick()
            found = self._variable(table, field_name)
            if found is None or table not in ("Public", "Status"):
                return R.INVALID_TABLE_OR_FIELD
            fdef, index, current = found
            if fdef.read_only:
                return R.INVALID_TABLE_OR_FIELD
            code, new = decode_assignment(fdef, index, current, type_code, swath, data)
            if code != R.OK:
                return code
            if table == "Public":
                self._public_overrides[fdef.name] = new
            else:
                self._write_status(fdef.name, new)
            return R.OK

    def _variable(self, table: str, field_name: str) -> tuple[FieldDef, int, list[Scalar]] | None:
        """(definition, element index, current values) of ``Name`` or ``Name(i[,j])``."""
        base, _, subscript = field_name.partition("(")
        defs = {d.name: d for d in self._defs}
        tdef = defs.get(table)
        if tdef is None:
            return None
        fdef = next((f for f in tdef.fields if f.name == base.strip()), None)
        if fdef is None:
            return None
        shape = fdef.dimensions[:-1] if fdef.is_string else fdef.dimensions
        index = 0
        if subscript:
            try:
                indices = [int(i) for i in subscript.rstrip(") ").split(",")]
            except ValueError:
                return None
            if not shape:
                shape = (fdef.value_count,)
            if len(indices) != len(shape) or any(
                not 1 <= i <= d for i, d in zip(indices, shape, strict=True)
            ):
                return None
            for i, d in zip(indices, shape, strict=True):
                index = index * d + (i - 1)
        table_state = self._logged(table)
        number = table_state.newest if table_state.newest is not None else 0
        record = self._values(table, table_state, number, table_state.time_of(number))
        value = record.get(fdef.name)
        if value is None:
            return None
        current = list(value) if isinstance(value, tuple) else [value]
        return fdef, index, current

    def _write_status(self, name: str, values: list[Scalar]) -> None:
        first = values[0]
        if name == "StationName" and isinstance(first, str) and first:
            self.settings.set_committed(STATION_NAME, first.encode("latin-1") + b"\x00")
        elif name == "PakBusAddress" and isinstance(first, int) and 1 <= first <= 4094:
            self.settings.set_committed(PAKBUS_ADDRESS, first.to_bytes(2, "big"))
        elif name == "MaxPacketSize" and isinstance(first, int) and 16 <= first <= 1000:
            self.settings.set_committed(MAX_PACKET_SIZE, first.to_bytes(2, "big"))
        elif name == "IsRouter":
            self.settings.set_committed(IS_ROUTER, b"\x01" if first else b"\x00")
        elif name == "Security" and len(values) == 3:
            codes = [int(v) & 0xFFFF for v in values]  # type: ignore[arg-type]
            self.settings.set_committed(SECURITY, struct.pack(">3H", *codes))
        else:
            self._status_overrides[name] = values

    # --- the Status record ----------------------------------------------------------------

    def data_table_specs(self) -> tuple[TableSpec, ...]:
        """The running program's data tables, in ``.TDF`` order."""
        return tuple(self._specs.values())

    def _status_values(self, number: int, when: int) -> dict[str, Value]:
        return status_values(self, number, when, self._status_overrides)


# --- helpers ----------------------------------------------------------------------------------


class _Block:
    """Consecutive records of one data table computed together: numbers, times, and the
    values field by field (rows are made of them only for the records asked for).

    ``first`` is None when the numbers are not consecutive (then the block serves only
    the request it was computed for).
    """

    __slots__ = ("columns", "count", "encoded", "first", "generation", "served", "whens")

    def __init__(
        self, generation: int, numbers: list[int], whens: list[int], columns: list[list[Value]]
    ) -> None:
        self.generation = generation
        self.first: int | None = numbers[0] if _consecutive(numbers) else None
        self.whens = whens
        self.columns = columns
        self.count = len(numbers)
        #: The records' value bytes per layout asked for (a few field selections at
        #: most): back to back for a fixed-size layout, else one bytes per record.
        self.encoded: dict[RecordLayout, bytes | list[bytes]] = {}
        #: Whether an answer was served from the block already.
        self.served = False

    def serves(self, generation: int, numbers: list[int] | range, whens: list[int]) -> bool:
        """Whether every record asked for is in the block, at the same time (a clock set
        moves later records: those are computed again)."""
        if self.first is None or generation != self.generation or not numbers:
            return False
        lo = numbers[0] - self.first
        hi = lo + len(numbers)
        inside = lo >= 0 and hi <= self.count
        return inside and _consecutive(numbers) and self.whens[lo:hi] == whens

    def _rows(self, lo: int, hi: int) -> list[tuple[Value, ...]]:
        return list(zip(*(column[lo:hi] for column in self.columns), strict=True))

    def take(
        self, numbers: list[int] | range, whens: list[int], layout: RecordLayout | None = None
    ) -> Sequence[RowRecord | PackedRecord]:
        if self.first is None:
            return list(zip(numbers, whens, self._rows(0, len(numbers)), strict=True))
        lo = numbers[0] - self.first
        hi = lo + len(numbers)
        # A block serving a second answer serves a collection reading forward: encode
        # it whole now.  The first answer takes rows, so that a client reading here and
        # there does not pay for encoding records it never asks for.
        encoded = None if layout is None or not self.served else self._encoded(layout)
        self.served = True
        if encoded is None:
            return list(zip(numbers, whens, self._rows(lo, hi), strict=True))
        if isinstance(encoded, bytes):
            size = len(encoded) // self.count
            return RecordRun(numbers[0], whens, memoryview(encoded)[lo * size : hi * size], size)
        return list(zip(numbers, whens, encoded[lo:hi], strict=True))

    def _encoded(self, layout: RecordLayout) -> bytes | list[bytes] | None:
        """Every record's value bytes for ``layout``, encoded on first use; None when
        some record cannot be encoded (the packer then meets, and reports, the records
        asked for)."""
        encoded = self.encoded.get(layout)
        if encoded is None:
            try:
                values = layout.encode_columns(layout.select(self.columns), self.count)
            except ValueError:
                return None
            encoded = b"".join(values) if layout.size else values
            if len(self.encoded) >= _LAYOUTS_PER_BLOCK:
                self.encoded.clear()
            self.encoded[layout] = encoded
        return encoded


def _consecutive(numbers: list[int] | range) -> bool:
    if isinstance(numbers, range):
        return numbers.step == 1
    return numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def _row(values: dict[str, Value], names: tuple[str, ...]) -> tuple[Value, ...]:
    return tuple(values[n] for n in names)


def _security_levels(security: int | tuple[int, int, int] | None) -> tuple[int, int, int] | None:
    if security is None:
        return None
    if isinstance(security, int):
        levels: tuple[int, int, int] = (security, 0, 0)
    else:
        levels = tuple(security)  # type: ignore[assignment]
    if len(levels) != 3 or not all(0 <= c <= 65_535 for c in levels):
        raise UsageError("security codes are three numbers 0..65535")
    l1, l2, l3 = levels
    if (l2 and not l1) or (l3 and not l2):
        raise UsageError("security level 1 must be set before level 2, and 2 before 3")
    return levels


def _serial_for(base: str, node: int) -> str:
    letter = base[0] if base[:1].isalpha() else ""
    return f"{letter}{int(base[len(letter) :]) + node - 1}"


def _program_start(program: ProgramSpec, history: int, now: int) -> int:
    """When the program started, so that its first table holds ``history`` records now."""
    if not program.tables:
        return now
    first = program.tables[0]
    c = first.cadence_ns
    last = first.time_into_ns + ((now - first.time_into_ns) // c) * c
    if history == 0:
        return now + 1
    return last - (history - 1) * c


def _definition(ts: TableSpec) -> TableDef:
    interval = NSec.from_total_ns(ts.interval_ns)
    into = NSec.from_total_ns(ts.time_into_ns)
    return make_table(ts.name, ts.size, _NSEC, into, interval, [f.field_def() for f in ts.fields])


def _stamp(when_ns: int) -> str:
    return nsec_to_datetime(NSec.from_total_ns(when_ns)).strftime("%Y-%m-%d %H:%M:%S")
