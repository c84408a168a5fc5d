"""The user's API for a Campbell datalogger: :class:`Datalogger` and :class:`AsyncDatalogger`.

Both are thin: every method builds the matching conversation from
:mod:`fieldlink.pakbus.operations` and runs it with :mod:`fieldlink.kit.drive`,
blocking or under asyncio.  So the two classes cannot disagree about the protocol,
only about how they wait.  Each keeps the logger's table definitions (read once from
``.TDF``, read again when a program changes) and a lock so that one logger object
may be shared between threads or tasks: the lock is taken per exchange, so a
caller iterating over :meth:`Datalogger.collect` may call other methods between
records.

Example::

    with Datalogger.from_url("tcp:192.168.1.10:6785", node=1) as logger:
        print(logger.gettime())
        for record in logger.collect("Table1", since_record=1000):
            print(record.number, record.timestamp, record.values)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TypeVar

from fieldlink.errors import UsageError
from fieldlink.kit.client import AsyncClient, AsyncOpen, Client
from fieldlink.link import AsyncLink, Link
from fieldlink.pakbus import operations as ops
from fieldlink.pakbus.protocol.directory import DirEntry
from fieldlink.pakbus.protocol.model import Record, Scalar, TableDef
from fieldlink.pakbus.protocol.pakctrl import HelloResponse
from fieldlink.pakbus.session import ClientSession, ExchangeStats, Operation

T = TypeVar("T")

#: The source address fieldlink uses unless told otherwise: LoggerNet's, in the
#: 4000..4094 range that loggers' neighbour filters never block (pakbus.md §2.5).
DEFAULT_SRC = 4094


def _session(
    node: int,
    address: int | None,
    src: int,
    src_address: int | None,
    timeout: float,
    first_timeout: float | None,
) -> ClientSession:
    try:
        return ClientSession(
            node=node,
            src=src,
            address=address,
            src_address=src_address,
            timeout=timeout,
            first_timeout=first_timeout,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


class _Methods:
    """What both clients share: the session, catalogue and how each call is built."""

    session: ClientSession
    catalog: ops.TableCatalog
    security_code: int
    #: Requests :meth:`collect` keeps in flight when not told (see its ``window``).
    window: int = 1

    def _init(self, session: ClientSession, security_code: int) -> None:
        if not 0 <= security_code <= 0xFFFF:
            raise UsageError(f"security code must be 0..65535, not {security_code}")
        self.session = session
        self.catalog = ops.TableCatalog()
        self.security_code = security_code

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


class Datalogger(_Methods, Client):
    """A blocking client for one PakBus datalogger over one link.

    Use :meth:`from_url` to open the link; the logger is a context manager that says
    goodbye and closes the link on exit.
    """

    def __init__(
        self,
        link: Link,
        *,
        node: int = 1,
        address: int | None = None,
        src: int = DEFAULT_SRC,
        src_address: int | None = None,
        security_code: int = 0,
        timeout: float = 10.0,
        first_timeout: float | None = None,
    ) -> None:
        self._init(_session(node, address, src, src_address, timeout, first_timeout), security_code)
        Client.__init__(self, link, self.session)

    @classmethod
    def from_url(
        cls,
        url: str,
        node: int = 1,
        address: int | None = None,
        src: int = DEFAULT_SRC,
        security_code: int = 0,
        timeout: float = 10.0,
        first_timeout: float | None = None,
        *,
        src_address: int | None = None,
    ) -> Datalogger:
        """Open ``url`` (``tcp:HOST:PORT``, ``serial:DEVICE:BAUD`` ...) to logger ``node``.

        ``address`` is the physical address of the next hop when a router sits in
        between; ``timeout`` the longest wait per try of each request (once answers
        have been timed, a lost frame is resent sooner -- see
        :mod:`fieldlink.pakbus.session`); ``first_timeout`` a longer wait for the very
        first answer (a cellular modem bringing its link up).
        """
        return cls.open(
            url,
            link_timeout=max(timeout, first_timeout or 0.0),
            node=node,
            address=address,
            src=src,
            src_address=src_address,
            security_code=security_code,
            timeout=timeout,
            first_timeout=first_timeout,
        )

    def __repr__(self) -> str:
        return f"Datalogger({self.link!r}, node={self.node})"

    # --- link -------------------------------------------------------------------------

    def hello(self) -> HelloResponse:
        """Hello: make sure the logger answers, and become its neighbour."""
        return self.run(ops.hello())

    def bye(self) -> None:
        self.run(ops.bye())

    def ping(self, *, size: int = 16) -> float:
        """Round-trip time in seconds (PakBus Echo; Hello if Echo is not supported)."""
        return self.run(ops.ping(size=size))

    # --- clock ------------------------------------------------------------------------

    def gettime(self) -> dt.datetime:
        """The logger clock: a naive datetime in whatever zone the logger keeps."""
        return ops.nsec_datetime(self.run(ops.read_clock(self.security_code)))

    def settime(self, when: dt.datetime) -> dt.datetime:
        """Set the logger clock to ``when`` (round trip compensated); returns the new time."""
        return self.run(ops.set_clock(when, self.security_code))

    def sync_clock(
        self,
        *,
        samples: int = 5,
        threshold: float = 0.5,
        max_step: float | None = 300.0,
        tz: dt.tzinfo | None = None,
    ) -> ops.ClockSyncResult:
        """Step the logger clock towards this computer's, if off by more than ``threshold`` s."""
        return self.run(
            ops.sync_clock(
                samples=samples,
                threshold=threshold,
                max_step=max_step,
                tz=tz,
                security_code=self.security_code,
            )
        )

    # --- status and settings ----------------------------------------------------------

    def program_stats(self) -> ops.ProgramStats:
        return self.run(ops.program_stats(self.security_code))

    def settings(self) -> ops.DeviceSettings:
        """All DevConfig settings."""
        return self.run(ops.get_settings(self.security_code))

    def set_setting(self, setting_id: int, value: bytes | str | int | float | bool) -> None:
        """Change one DevConfig setting and commit it (the logger may restart)."""
        self.run(ops.set_setting(setting_id, value, self.security_code))

    # --- files ------------------------------------------------------------------------

    def list_files(self) -> list[DirEntry]:
        return list(self.run(ops.list_files(self.security_code)))

    def get_file(
        self,
        name: str,
        progress: ops.ProgressCallback | None = None,
        *,
        size: int | None = None,
        max_size: int | None = None,
    ) -> bytes:
        """Download a whole file; raises rather than return part of one.

        ``size`` (what the directory announced) and ``max_size`` bound the download;
        see :func:`fieldlink.pakbus.operations.get_file`.
        """
        return self.run(
            ops.get_file(name, self.security_code, progress=progress, size=size, max_size=max_size)
        )

    def put_file(
        self, name: str, data: bytes, progress: ops.ProgressCallback | None = None
    ) -> None:
        self.run(ops.put_file(name, data, self.security_code, progress=progress))

    def file_control(self, name: str, command: int | str, *, name2: str = "") -> int:
        """File Control: ``"run"``, ``"stop"``, ``"delete"``, ``"format"`` or a code; HoldOff."""
        return self.run(ops.file_control(name, command, self.security_code, name2=name2))

    def send_program(
        self,
        name: str,
        data: bytes,
        *,
        run: bool = True,
        power_up: bool = True,
        progress: ops.ProgressCallback | None = None,
    ) -> ops.ProgramStats:
        """Send a program and compile and run it; returns the programming statistics."""
        return self.run(
            ops.send_program(
                self.catalog,
                name,
                data,
                self.security_code,
                run=run,
                power_up=power_up,
                progress=progress,
            )
        )

    # --- tables and data --------------------------------------------------------------

    def table_defs(self, refresh: bool = False) -> tuple[TableDef, ...]:
        return self.run(ops.table_defs(self.catalog, self.security_code, refresh=refresh))

    def list_tables(self) -> list[str]:
        return [t.name for t in self.table_defs()]

    def table_def(self, name: str) -> TableDef:
        self.table_defs()
        return self.catalog.find(name)

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
    ) -> Iterator[Record]:
        """Records of ``table`` as they arrive (see :func:`operations.collect`).

        ``window`` (1..16; None: :attr:`window`, 1 unless set) requests may be in
        flight at once, which pays a slow link's round trip once per window; more
        than 1 is unverified on real loggers (the protocol reference does not say a
        CR1000 queues Collect Data requests).

        Record numbers only rise: if the table is reset meanwhile, the records of the
        old run are yielded and then :class:`~fieldlink.pakbus.operations.TableReset`
        is raised rather than the new run being dropped or mixed in.
        """
        return self.stream(
            ops.collect(
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
        )

    def get_value(
        self, table: str, field: str, swath: int = 1
    ) -> ops.FieldValue | tuple[ops.FieldValue, ...]:
        return self.run(ops.get_value(self.catalog, table, field, swath, self.security_code))

    def set_value(self, table: str, field: str, value: Scalar | Sequence[Scalar]) -> None:
        self.run(ops.set_value(self.catalog, table, field, value, self.security_code))

    def reset_table(self, table: str) -> None:
        self.run(ops.reset_table(self.catalog, table, self.security_code))


class AsyncDatalogger(_Methods, AsyncClient):
    """The asyncio twin of :class:`Datalogger`: the same methods, awaited.

    :meth:`collect` returns an async iterator.
    """

    def __init__(
        self,
        link: AsyncLink,
        *,
        node: int = 1,
        address: int | None = None,
        src: int = DEFAULT_SRC,
        src_address: int | None = None,
        security_code: int = 0,
        timeout: float = 10.0,
        first_timeout: float | None = None,
    ) -> None:
        self._init(_session(node, address, src, src_address, timeout, first_timeout), security_code)
        AsyncClient.__init__(self, link, self.session)

    @classmethod
    def from_url(
        cls,
        url: str,
        node: int = 1,
        address: int | None = None,
        src: int = DEFAULT_SRC,
        security_code: int = 0,
        timeout: float = 10.0,
        first_timeout: float | None = None,
        *,
        src_address: int | None = None,
    ) -> AsyncOpen[AsyncDatalogger]:
        """``logger = await AsyncDatalogger.from_url(...)`` or ``async with ... as logger``."""
        return cls.open(
            url,
            link_timeout=max(timeout, first_timeout or 0.0),
            node=node,
            address=address,
            src=src,
            src_address=src_address,
            security_code=security_code,
            timeout=timeout,
            first_timeout=first_timeout,
        )

    def __repr__(self) -> str:
        return f"AsyncDatalogger({self.link!r}, node={self.node})"

    # --- link -------------------------------------------------------------------------

    async def hello(self) -> HelloResponse:
        return await self.run(ops.hello())

    async def bye(self) -> None:
        await self.run(ops.bye())

    async def ping(self, *, size: int = 16) -> float:
        return await self.run(ops.ping(size=size))

    # --- clock ------------------------------------------------------------------------

    async def gettime(self) -> dt.datetime:
        return ops.nsec_datetime(await self.run(ops.read_clock(self.security_code)))

    async def settime(self, when: dt.datetime) -> dt.datetime:
        return await self.run(ops.set_clock(when, self.security_code))

    async def sync_clock(
        self,
        *,
        samples: int = 5,
        threshold: float = 0.5,
        max_step: float | None = 300.0,
        tz: dt.tzinfo | None = None,
    ) -> ops.ClockSyncResult:
        return await self.run(
            ops.sync_clock(
                samples=samples,
                threshold=threshold,
                max_step=max_step,
                tz=tz,
                security_code=self.security_code,
            )
        )

    # --- status and settings ----------------------------------------------------------

    async def program_stats(self) -> ops.ProgramStats:
        return await self.run(ops.program_stats(self.security_code))

    async def settings(self) -> ops.DeviceSettings:
        return await self.run(ops.get_settings(self.security_code))

    async def set_setting(self, setting_id: int, value: bytes | str | int | float | bool) -> None:
        await self.run(ops.set_setting(setting_id, value, self.security_code))

    # --- files ------------------------------------------------------------------------

    async def list_files(self) -> list[DirEntry]:
        return list(await self.run(ops.list_files(self.security_code)))

    async def get_file(
        self,
        name: str,
        progress: ops.ProgressCallback | None = None,
        *,
        size: int | None = None,
        max_size: int | None = None,
    ) -> bytes:
        return await self.run(
            ops.get_file(name, self.security_code, progress=progress, size=size, max_size=max_size)
        )

    async def put_file(
        self, name: str, data: bytes, progress: ops.ProgressCallback | None = None
    ) -> None:
        await self.run(ops.put_file(name, data, self.security_code, progress=progress))

    async def file_control(self, name: str, command: int | str, *, name2: str = "") -> int:
        return await self.run(ops.file_control(name, command, self.security_code, name2=name2))

    async def send_program(
        self,
        name: str,
        data: bytes,
        *,
        run: bool = True,
        power_up: bool = True,
        progress: ops.ProgressCallback | None = None,
    ) -> ops.ProgramStats:
        return await self.run(
            ops.send_program(
                self.catalog,
                name,
                data,
                self.security_code,
                run=run,
                power_up=power_up,
                progress=progress,
            )
        )

    # --- tables and data --------------------------------------------------------------

    async def table_defs(self, refresh: bool = False) -> tuple[TableDef, ...]:
        return await self.run(ops.table_defs(self.catalog, self.security_code, refresh=refresh))

    async def list_tables(self) -> list[str]:
        return [t.name for t in await self.table_defs()]

    async def table_def(self, name: str) -> TableDef:
        await self.table_defs()
        return self.catalog.find(name)

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
    ) -> AsyncIterator[Record]:
        """Records of ``table`` as they arrive: ``async for record in logger.collect(...)``.

        A table reset meanwhile ends the iteration with
        :class:`~fieldlink.pakbus.operations.TableReset`, as in :meth:`Datalogger.collect`.
        """
        return self.stream(
            ops.collect(
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
        )

    async def get_value(
        self, table: str, field: str, swath: int = 1
    ) -> ops.FieldValue | tuple[ops.FieldValue, ...]:
        return await self.run(ops.get_value(self.catalog, table, field, swath, self.security_code))

    async def set_value(self, table: str, field: str, value: Scalar | Sequence[Scalar]) -> None:
        await self.run(ops.set_value(self.catalog, table, field, value, self.security_code))

    async def reset_table(self, table: str) -> None:
        await self.run(ops.reset_table(self.catalog, table, self.security_code))


__all__ = ["DEFAULT_SRC", "AsyncDatalogger", "Datalogger"]
