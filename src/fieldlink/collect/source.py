"""What the collection engine needs from a logger, as a structural interface.

Very little: its program, its tables, its clock, and the records after a given
number.  Naming exactly that keeps the engine testable with small fakes and
open to anything that has those shapes — the PakBus client first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from fieldlink.pakbus.protocol.model import Record, TableDef
from fieldlink.store.base import StationInfo


class ProgramInfo(Protocol):
    """The parts of Get Programming Statistics (BMP5 §6.3) a sink records."""

    @property
    def model(self) -> str:
        """The model, never empty for a PakBus logger: ModelNo, else read from the OS
        version (see :attr:`fieldlink.pakbus.operations.ProgramStats.model`)."""
        ...

    @property
    def serial_number(self) -> str: ...

    @property
    def os_version(self) -> str: ...

    @property
    def program_name(self) -> str: ...

    @property
    def program_signature(self) -> int: ...


class Logger(Protocol):
    """A connected datalogger."""

    async def program_stats(self) -> ProgramInfo: ...

    async def table_defs(self) -> Sequence[TableDef]: ...

    async def gettime(self) -> dt.datetime:
        """The logger's clock: a naive datetime in the station's time zone."""
        ...

    async def settime(self, when: dt.datetime) -> object:
        """Set the logger's clock to ``when`` (naive, station time zone)."""
        ...

    def collect(
        self, table: TableDef, *, since_record: int | None = None, newest: int | None = None
    ) -> AsyncIterator[Record]:
        """Records oldest first: all of them, those numbered ``since_record`` and up
        (from the oldest still held if that one was overwritten), or the ``newest`` N.

        ``table`` pins the definition the sinks were opened with: if the logger's
        program changed meanwhile, it must refuse (RespCode 7) rather than send
        records of another layout.  Record numbers only rise: when they go back (the
        table was reset) it raises :class:`~fieldlink.pakbus.operations.TableReset`
        after the records of the old run -- the engine also copes with a logger that
        simply goes on with the new run's lower numbers."""
        ...


def describe_station(
    name: str, program: ProgramInfo | None, *, timezone: str | None = None
) -> StationInfo:
    """The station as the sinks record it (TOA5 environment line, SQLite stations table).

    The one place where programming statistics become a :class:`StationInfo`, for
    ``fieldlink collect`` and ``fieldlink logger getdata`` alike, so their TOA5 headers
    cannot drift apart.
    """
    if program is None:
        return StationInfo(name, timezone=timezone)
    return StationInfo(
        name,
        model=program.model,
        serial_number=program.serial_number,
        os_version=program.os_version,
        program_name=program.program_name,
        program_signature=program.program_signature,
        timezone=timezone,
    )
