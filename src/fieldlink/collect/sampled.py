"""Instruments without a memory of their own, collected by sampling them.

A datalogger keeps numbered records and the collector asks for the ones it lacks.
A TDR100, a charge controller or a battery tester keeps nothing: its values exist
only when asked.  Such an instrument is a :class:`Sampler` -- its fixed tables and
one :meth:`~Sampler.sample` per cycle -- and :class:`SampledLogger` makes it look
like a logger to the engine, so its records go through the same sinks with the same
positions, crash safety and table versions:

- each cycle takes one sample, the record numbered one past the stored position of
  its table, stamped with the host's clock in the station's time zone;
- the tables' definitions are fixed; their combined signature is the "program
  signature", so a changed channel list starts a new table version instead of
  mixing columns;
- the host's clock is the instrument's: there is no clock to check or set.

A family provides ``open_sampler(station)`` in its ``source`` module (see
:data:`SAMPLER_MODULES`): an async context manager yielding its Sampler.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from fieldlink.errors import NotFound, UsageError
from fieldlink.pakbus.protocol.model import FieldDef, Record, TableDef, Value
from fieldlink.pakbus.protocol.signature import signature
from fieldlink.pakbus.protocol.types import DataType
from fieldlink.pakbus.protocol.wire import NSec
from fieldlink.store.base import TableWriter

if TYPE_CHECKING:
    from fieldlink.collect.config import StationConfig

__all__ = [
    "SAMPLER_MODULES",
    "InstrumentInfo",
    "SampledLogger",
    "Sampler",
    "append_next",
    "open_sampled",
    "sample_record",
    "table_def",
]

#: Where each instrument kind's ``open_sampler`` lives.
SAMPLER_MODULES = {
    "tdr100": "fieldlink.tdr100.source",
    "tracer": "fieldlink.tracer.source",
    "batlab": "fieldlink.batlab.source",
}

_TYPES = {
    "float": DataType.IEEE8,
    "int": DataType.INT4,
    "bool": DataType.BOOL,
    "str": DataType.ASCII,
}
#: Characters kept of a string value.
STRING_LENGTH = 64


@dataclass(frozen=True, slots=True)
class InstrumentInfo:
    """What the sinks record about an instrument (TOA5 environment line, stations table)."""

    model: str
    serial_number: str = ""
    os_version: str = ""


class Sampler(Protocol):
    """An instrument the collector samples once per cycle."""

    async def info(self) -> InstrumentInfo: ...

    def tables(self) -> Sequence[TableDef]:
        """The tables a sample fills, fixed for the life of the sampler."""
        ...

    async def sample(self) -> Mapping[str, Mapping[str, Value]]:
        """One reading: table name -> field name -> value (tables it could not read
        are left out; a value it could not read is NaN or absent)."""
        ...


def table_def(name: str, fields: Sequence[tuple[str, str, str]], *, number: int = 1) -> TableDef:
    """A table definition for sampled values: ``fields`` are (name, kind, units) with
    kind one of float, int, bool, str."""
    defs = []
    for field_name, kind, units in fields:
        if kind not in _TYPES:
            raise ValueError(f"field {field_name}: kind must be one of {', '.join(_TYPES)}")
        string = kind == "str"
        defs.append(
            FieldDef(
                name=field_name,
                type_code=_TYPES[kind],
                units=units,
                piece_size=STRING_LENGTH if string else 1,
                dimensions=(STRING_LENGTH,) if string else (),
            )
        )
    described = "|".join(f"{n}:{k}:{u}" for n, k, u in fields)
    return TableDef(
        name=name,
        number=number,
        size=1,
        time_type=DataType.NSEC,
        time_into=NSec(0, 0),
        interval=NSec(0, 0),
        fields=tuple(defs),
        signature=signature(f"{name}|{described}".encode()),
    )


@dataclass(frozen=True, slots=True)
class _ProgramInfo:
    model: str
    serial_number: str
    os_version: str
    program_name: str
    program_signature: int


class SampledLogger:
    """A :class:`Sampler` with the face the collection engine expects of a logger."""

    def __init__(self, sampler: Sampler, kind: str, timezone: dt.tzinfo = dt.UTC) -> None:
        self.sampler = sampler
        self.kind = kind
        self.timezone = timezone
        self._sample: Mapping[str, Mapping[str, Value]] | None = None
        self._stamp: dt.datetime | None = None

    async def program_stats(self) -> _ProgramInfo:
        info = await self.sampler.info()
        signatures = b"".join(t.signature.to_bytes(2, "big") for t in self.sampler.tables())
        return _ProgramInfo(
            model=info.model,
            serial_number=info.serial_number,
            os_version=info.os_version,
            program_name=f"{self.kind} sampling",
            program_signature=signature(signatures),
        )

    async def table_defs(self) -> Sequence[TableDef]:
        return self.sampler.tables()

    async def gettime(self) -> dt.datetime:
        return dt.datetime.now(self.timezone).replace(tzinfo=None)

    async def settime(self, when: dt.datetime) -> object:
        raise UsageError(f"a {self.kind} has no clock of its own to set")

    async def _reading(self) -> tuple[dt.datetime, Mapping[str, Mapping[str, Value]]]:
        """One sample per cycle, shared by every table of the cycle."""
        if self._sample is None or self._stamp is None:
            self._stamp = dt.datetime.now(self.timezone).replace(tzinfo=None)
            self._sample = await self.sampler.sample()
        return self._stamp, self._sample

    async def collect(
        self, table: TableDef, *, since_record: int | None = None, newest: int | None = None
    ) -> AsyncIterator[Record]:
        if newest == 0:
            return
        stamp, reading = await self._reading()
        values = reading.get(table.name)
        if values is None:
            if table.name not in {t.name for t in self.sampler.tables()}:
                raise NotFound(f"{self.kind} has no table {table.name!r}")
            return
        yield sample_record(table, since_record or 1, stamp, values)


def sample_record(
    table: TableDef, number: int, when: dt.datetime, values: Mapping[str, Value]
) -> Record:
    """One sample as record ``number`` of ``table``, stamped ``when`` (naive, local).

    A field missing from ``values`` is stored as NaN (a sample the instrument did not
    give); keys the table does not have are left out.
    """
    row = {f.name: values.get(f.name, math.nan) for f in table.fields}
    return Record(table.name, number, when.replace(tzinfo=None), row)


def append_next(writer: TableWriter, when: dt.datetime, values: Mapping[str, Value]) -> None:
    """Append one sample as the next record of ``writer``'s table: what a family command
    that writes to a sink itself does (``fieldlink tracer log``, the Batlab recorder),
    numbered the way the collector numbers it."""
    position = writer.position
    number = 1 if position is None else position.record + 1
    writer.append([sample_record(writer.table, number, when, values)])


def open_sampled(station: StationConfig) -> AbstractAsyncContextManager[SampledLogger]:
    """The station's instrument, sampled, for one cycle (``station.kind`` not a logger)."""
    module_name = SAMPLER_MODULES.get(station.kind)
    if module_name is None:
        raise UsageError(f"unknown instrument kind {station.kind!r}")
    module = importlib.import_module(module_name)

    @asynccontextmanager
    async def opened() -> AsyncIterator[SampledLogger]:
        async with module.open_sampler(station) as sampler:
            yield SampledLogger(sampler, station.kind, station.timezone)

    return opened()
