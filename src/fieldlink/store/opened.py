"""One writer per table, and what every sink and table writer does alike when it closes.

A sink hands out at most one writer per (station, table) at a time: two writers
appending the same file or SQL table would each trust a position the other moves.
:class:`OpenTables` keeps that rule once for every sink; :class:`WriterBase` is the
writer's half of it (its identity, and a close that frees the table again), and
:class:`Closes` gives sinks and writers the same ``with`` block.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Self

from fieldlink.errors import UsageError
from fieldlink.pakbus.protocol.model import Record, TableDef
from fieldlink.store.base import Hole, Position, StationInfo, check_holes, new_records


class Closes(ABC):
    """``with`` it: closed when the block ends, however it ends."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class OpenTables:
    """The tables of one sink that have a writer open; ``where`` names the sink in errors."""

    def __init__(self, where: str) -> None:
        self.where = where
        self._keys: set[tuple[str, str]] = set()
        self._lock = threading.RLock()

    @contextmanager
    def opening(self, station: StationInfo, table: TableDef) -> Iterator[None]:
        """Refuse a table already open; else mark it open once the block (the writer) succeeds."""
        key = (station.name, table.name)
        with self._lock:
            if key in self._keys:
                raise UsageError(
                    f"table {table.name} of {station.name} is already open in {self.where}"
                )
            yield
            self._keys.add(key)

    def release(self, station: str, table: str) -> None:
        with self._lock:
            self._keys.discard((station, table))

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(eq=False, repr=False)
class WriterBase(Closes):
    """A table writer's identity and its one close, which frees its table in ``_tables``.

    ``_tables`` is None for a writer no sink counts (one that wraps another, or a file
    the sink does not own).  A subclass releases what else it holds in :meth:`_close`.
    """

    _tables: OpenTables | None
    station: StationInfo
    table: TableDef
    version: int
    _closed: bool = field(default=False, init=False)

    def _check_open(self, name: str) -> None:
        if self._closed:
            raise UsageError(f"{name}: writer is closed")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._close()
            finally:
                if self._tables is not None:
                    self._tables.release(self.station.name, self.table.name)

    def _close(self) -> None:
        """Release what the writer holds besides its table (a file); nothing by default."""

    def _fresh(
        self, records: Sequence[Record], holes: Sequence[Hole], after: Position | None
    ) -> list[Record]:
        """What an append stores: ``records`` past ``after`` in number order, each once
        (:func:`~fieldlink.store.base.new_records`), once ``holes`` are known to be this
        table's."""
        check_holes(self.table, holes)
        return new_records(records, after)


__all__ = ["Closes", "OpenTables", "WriterBase"]
