"""The user's API for a Campbell datalogger: :class:`Datalogger` and :class:`AsyncDatalogger`.

Both are thin: every method builds the matching conversation from
:mod:`fieldlink.pakbus.operations` and runs it with :mod:`fieldlink.kit.drive`,
blocking or under asyncio.  Each method is written once, in :class:`_Methods`, as
the builder of its conversation; :class:`Datalogger` runs what it builds and
:class:`AsyncDatalogger` awaits it (see :class:`~fieldlink.kit.client.Method`).
So the two classes cannot disagree about the protocol or about their arguments,
only about how they wait.
Each keeps the logger's table definitions (read once from ``.TDF``, read again when
a program changes) and a lock so that one logger object may be shared between
threads or tasks: the lock is taken per exchange, so a caller iterating over
:meth:`Datalogger.collect` may call other methods between records.

Example::

    with Datalogger.from_url("tcp:192.168.1.10:6785", node=1) as logger:
        print(logger.gettime())
        for record in logger.collect("Table1", since_record=1000):
            print(record.number, record.timestamp, record.values)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypedDict, TypeVar, Unpack

from fieldlink.errors import UsageError
from fieldlink.kit.client import AsyncClient, AsyncOpen, Client, Method, Streamed
from fieldlink.link.sync import Link
from fieldlink.pakbus import operations as ops
from fieldlink.pakbus.defaults import DEFAULT_SRC
from fieldlink.pakbus.protocol.directory import DirEntry
from fieldlink.pakbus.protocol.model import Record, Scalar, TableDef
from fieldlink.pakbus.protocol.pakctrl import HelloResponse
from fieldlink.pakbus.session import ClientSession, ExchangeStats, Operation, Stream

if TYPE_CHECKING:  # not at run time: a blocking client does not load asyncio
    from fieldlink.link.aio import AsyncLink

P = ParamSpec("P")
T = TypeVar("T")
L = TypeVar("L", Link, "AsyncLink")
C = TypeVar("C", bound=Client)
A = TypeVar("A", bound=AsyncClient)
R = TypeVar("R")  # what from_url gives: the client, or an AsyncOpen of it

#: The longest wait, in seconds, for each try of a request unless told otherwise.
DEFAULT_TIMEOUT = 10.0


class ClientOptions(TypedDict, total=False):
    """How a client reaches its logger, as keywords of :meth:`Datalogger.from_url` (and of
    the configurations that open one), for callers that hold them under other names.
    A key left out takes the constructor's default."""

    node: int
    address: int | None
    src: int
    src_address: int | None
    security_code: int
    timeout: float
    first_timeout: float | None


def _records(build: Callable[Concatenate[Any, P], Stream]) -> Streamed[P, Record]:
    """A method written once that streams the logger's records."""
    return Streamed(build, Record)


class _Methods(Generic[L, R]):
    """Both clients: the session, the catalogue, and every method, written once.

    The class that comes next in line (:class:`~fieldlink.kit.client.Client` or
    :class:`~fieldlink.kit.client.AsyncClient`) owns the link, the lock and closing.
    """

    session: ClientSession
    catalog: ops.TableCatalog
    security_code: int
    #: Requests :meth:`collect` keeps in flight when not told (see its ``window``).
    window: int = 1

    if TYPE_CHECKING:  # the next class in line's

        @classmethod
        def open(cls, url: str, *, link_timeout: float, **kwargs: Any) -> R: ...

    def __init__(
        self,
        link: L,
        *,
        node: int = 1,
        address: int | None = None,
        src: int = DEFAULT_SRC,
        src_address: int | None = None,
        security_code: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
        first_timeout: float | None = None,
    ) -> None:
        if not 0 <= security_code <= 0xFFFF:
            raise UsageError(f"security code must be 0..65535, not {security_code}")
        try:
            session = ClientSession(
                node=node,
                src=src,
                address=address,
                src_address=src_address,
                timeout=timeout,
                first_timeout=first_timeout,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        self.catalog = ops.TableCatalog()
        self.security_code = security_code
        # Client or AsyncClient, which mypy cannot see from this mixin.
        super().__init__(link, session)  # type: ignore[call-arg]

    @classmethod
    def from_url(cls, url: str, **options: Unpack[ClientOptions]) -> R:
        """Open ``url`` (``tcp:HOST:PORT``, ``serial:DEVICE:BAUD`` ...) to logger ``node``
        (1 unless given); ``options`` are the constructor's.

        ``address`` is the physical address of the next hop when a router sits in
        between; ``timeout`` the longest wait per try of each request (once answers
        have been timed, a lost frame is resent sooner -- see
        :mod:`fieldlink.pakbus.session`); ``first_timeout`` a longer wait for the very
        first answer (a cellular modem bringing its link up).  The asyncio client's
        is awaited or entered: ``logger = await AsyncDatalogger.from_url(...)`` or
        ``async with AsyncDatalogger.from_url(...) as logger``.
        """
        longest = max(options.get("timeout", DEFAULT_TIMEOUT), options.get("first_timeout") or 0.0)
        return cls.open(url, link_timeout=longest, **options)

    @property
    def node(self) -> int:
        return self.session.node

    def goodbye(self) -> Operation[None] | None:
        """PakBus Bye, once the logger has been heard: it may then drop us at once."""
        return ops.bye() if self.session.contacted else None

    @property
    def link_stats(self) -> ExchangeStats:
        """Exchanges, resends, timeouts and seconds spent waiting them out, so far."""
        return self.session.stats

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self, 'link', None)!r}, node={self.node})"

    # --- link -------------------------------------------------------------------------

    @Method
    def hello(self) -> Operation[HelloResponse]:
        """Hello: make sure the logger answers, and become its neighbour."""
        return ops.hello()

    @Method
    def bye(self) -> Operation[None]:
        return ops.bye()

    @Method
    def ping(self, *, size: int = 16) -> Operation[float]:
        """Round-trip time in seconds (PakBus Echo; Hello if Echo is not supported)."""
        return ops.ping(size=size)

    # --- clock ------------------------------------------------------------------------

    @Method
    def gettime(self) -> Operation[dt.datetime]:
        """The logger clock: a naive datetime in whatever zone the logger keeps."""
        return ops.nsec_datetime((yield from ops.read_clock(self.security_code)))

    @Method
    def settime(self, when: dt.datetime) -> Operation[dt.datetime]:
        """Set the logger clock to ``when`` (round trip compensated); returns the new time."""
        return ops.set_clock(when, self.security_code)

    @Method
    def sync_clock(
        self,
        *,
        samples: int = 5,
        threshold: float = 0.5,
        max_step: float | None = 300.0,
        tz: dt.tzinfo | None = None,
    ) -> Operation[ops.ClockSyncResult]:
        """Step the logger clock towards this computer's, if off by more than ``threshold`` s."""
        return ops.sync_clock(
            samples=samples,
            threshold=threshold,
            max_step=max_step,
            tz=tz,
            security_code=self.security_code,
        )

    # --- status and settings ----------------------------------------------------------

    @Method
    def program_stats(self) -> Operation[ops.ProgramStats]:
        return ops.program_stats(self.security_code)

    @Method
    def settings(self) -> Operation[ops.DeviceSettings]:
        """All DevConfig settings."""
        return ops.get_settings(self.security_code)

    @Method
    def set_setting(
        self, setting_id: int, value: bytes | str | int | float | bool
    ) -> Operation[None]:
        """Change one DevConfig setting and commit it (the logger may restart)."""
        return ops.set_setting(setting_id, value, self.security_code)

    # --- files ------------------------------------------------------------------------

    @Method
    def list_files(self) -> Operation[list[DirEntry]]:
        return list((yield from ops.list_files(self.security_code)))

    @Method
    def get_file(
        self,
        name: str,
        progress: ops.ProgressCallback | None = None,
        *,
        size: int | None = None,
        max_size: int | None = None,
    ) -> Operation[bytes]:
        """Download a whole file; raises rather than return part of one.

        ``size`` (what the directory announced) and ``max_size`` bound the download;
        see :func:`fieldlink.pakbus.operations.get_file`.
        """
        return ops.get_file(
            name, self.security_code, progress=progress, size=size, max_size=max_size
        )

    @Method
    def put_file(
        self, name: str, data: bytes, progress: ops.ProgressCallback | None = None
    ) -> Operation[None]:
        return ops.put_file(name, data, self.security_code, progress=progress)

    @Method
    def file_control(self, name: str, command: int | str, *, name2: str = "") -> Operation[int]:
        """File Control: ``"run"``, ``"stop"``, ``"delete"``, ``"format"`` or a code; HoldOff."""
        return ops.file_control(name, command, self.security_code, name2=name2)

    @Method
    def send_program(
        self,
        name: str,
        data: bytes,
        *,
        run: bool = True,
        power_up: bool = True,
        progress: ops.ProgressCallback | None = None,
    ) -> Operation[ops.ProgramStats]:
        """Send a program and compile and run it; returns the programming statistics."""
        return ops.send_program(
            self.catalog,
            name,
            data,
            self.security_code,
            run=run,
            power_up=power_up,
            progress=progress,
        )

    # --- tables and data --------------------------------------------------------------

    @Method
    def table_defs(self, refresh: bool = False) -> Operation[tuple[TableDef, ...]]:
        return ops.table_defs(self.catalog, self.security_code, refresh=refresh)

    @Method
    def list_tables(self) -> Operation[list[str]]:
        return [t.name for t in (yield from ops.table_defs(self.catalog, self.security_code))]

    @Method
    def table_def(self, name: str) -> Operation[TableDef]:
        yield from ops.table_defs(self.catalog, self.security_code)
        return self.catalog.find(name)

    @_records
    def collect(
        self,
        table: str | TableDef,
        *,
        start: dt.datetime | None = None,
        stop: dt.datetime | None = None,
        since_record: int | None = None,
        newest: int | None = None,
        fields: Sequence[str] | None = None,
        window: int | None = None,
    ) -> Stream:
        """Records of ``table`` as they arrive (see :func:`operations.collect`);
        ``async for record in logger.collect(...)`` with the asyncio client.

        ``window`` (1..16; None: :attr:`window`, 1 unless set) requests may be in
        flight at once, which pays a slow link's round trip once per window; more
        than 1 is unverified on real loggers (the protocol reference does not say a
        CR1000 queues Collect Data requests).

        Record numbers only rise: if the table is reset meanwhile, the records of the
        old run are yielded and then :class:`~fieldlink.pakbus.operations.TableReset`
        is raised rather than the new run being dropped or mixed in.
        """
        return ops.collect(
            self.catalog,
            table,
            start=start,
            stop=stop,
            since_record=since_record,
            newest=newest,
            fields=fields,
            security_code=self.security_code,
            window=self.window if window is None else window,
        )

    @Method
    def get_value(
        self, table: str, field: str, swath: int = 1
    ) -> Operation[ops.FieldValue | tuple[ops.FieldValue, ...]]:
        return ops.get_value(self.catalog, table, field, swath, self.security_code)

    @Method
    def set_value(
        self, table: str, field: str, value: Scalar | Sequence[Scalar]
    ) -> Operation[None]:
        return ops.set_value(self.catalog, table, field, value, self.security_code)

    @Method
    def reset_table(self, table: str) -> Operation[None]:
        return ops.reset_table(self.catalog, table, self.security_code)


class Datalogger(_Methods[Link, "Datalogger"], Client):
    """A blocking client for one PakBus datalogger over one link.

    Use :meth:`from_url` to open the link; the logger is a context manager that says
    goodbye and closes the link on exit.
    """


class AsyncDatalogger(_Methods["AsyncLink", AsyncOpen["AsyncDatalogger"]], AsyncClient):
    """The asyncio twin of :class:`Datalogger`: the same methods, awaited.

    :meth:`collect` returns an async iterator; :meth:`from_url` is awaited or entered.
    """


__all__ = ["DEFAULT_SRC", "AsyncDatalogger", "ClientOptions", "Datalogger"]
