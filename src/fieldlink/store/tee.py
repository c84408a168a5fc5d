"""A storing sink that also publishes what it newly stores (MQTT riding on a store).

Live publishing must neither decide what is collected nor hold up storing.  So an
MQTT sink is hung behind one of the station's storing sinks: the store's position
is the one the collector resumes from, every append goes to the store first, and
only the records the store newly accepted are then handed to the publishers —
whose failures are logged and never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol

from fieldlink.pakbus.protocol.model import Record, TableDef
from fieldlink.store.base import Hole, Position, Sink, StationInfo, TableWriter, new_records
from fieldlink.store.opened import Closes, WriterBase

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """What a :class:`PublishingSink` hands new records to (an MQTT sink)."""

    name: str

    def publish_records(
        self, station: StationInfo, table: TableDef, version: int, records: Sequence[Record]
    ) -> None: ...

    def log(self, station: str, event: str, detail: str = "") -> None: ...


class PublishingSink(Closes):
    """``inner`` as it is, plus every newly stored record handed to ``publishers``."""

    def __init__(self, inner: Sink, publishers: Sequence[Publisher]) -> None:
        self.inner = inner
        self.publishers = tuple(publishers)

    def open_table(
        self, station: StationInfo, table: TableDef, *, new_version: bool = False
    ) -> PublishingWriter:
        writer = self.inner.open_table(station, table, new_version=new_version)
        return PublishingWriter(writer, self.publishers)

    def log(self, station: str, event: str, detail: str = "") -> None:
        self.inner.log(station, event, detail)
        for p in self.publishers:
            _quietly(p.name, partial(p.log, station, event, detail))

    def close(self) -> None:
        """Publishers are the pool's to close (several stores may share one broker)."""
        self.inner.close()


class PublishingWriter(WriterBase):
    """``inner`` (which its sink counts as open), publishing what it newly stores."""

    def __init__(self, inner: TableWriter, publishers: Sequence[Publisher]) -> None:
        super().__init__(None, inner.station, inner.table, inner.version)
        self.inner = inner
        self.publishers = publishers

    @property
    def position(self) -> Position | None:
        return self.inner.position

    def append(self, records: Sequence[Record], holes: Sequence[Hole] = ()) -> None:
        before = self.inner.position
        self.inner.append(records, holes)
        after = self.inner.position
        if after is None or (before is not None and after.record == before.record):
            return
        upto = after.record
        fresh = [r for r in new_records(records, before) if r.number <= upto]
        for p in self.publishers:
            _quietly(p.name, partial(p.publish_records, self.station, self.table,
                                     self.version, fresh))  # fmt: skip

    def holes(self) -> list[Hole]:
        return self.inner.holes()

    def _close(self) -> None:
        self.inner.close()


def _quietly(name: str, work: Callable[[], None]) -> None:
    try:
        work()
    except Exception as exc:  # a publisher must never stop storing
        log.warning("%s: could not publish: %s", name, exc)


__all__ = ["Publisher", "PublishingSink", "PublishingWriter"]
