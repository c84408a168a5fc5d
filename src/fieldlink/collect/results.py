"""What one collection cycle did, for the status display, logs and exit status.

Kept apart from the engine so the display and the scheduler can be tested
with hand-made results, and so a result says everything a person needs to act
on (which table, which records, which hole, which error) without a traceback.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fieldlink.store.base import Hole


def describe_hole(hole: Hole) -> str:
    if hole.first == hole.last:
        return f"record {hole.first}"
    return f"records {hole.first}-{hole.last} ({hole.count})"


@dataclass(slots=True)
class TableResult:
    """One table of one cycle.  ``records`` counts records newly stored by any sink."""

    table: str
    records: int = 0
    first: int | None = None
    last: int | None = None
    holes: list[Hole] = field(default_factory=list)
    #: The table definition changed (new program): its records went to a new version.
    new_version: bool = False
    #: The logger's record numbers went backwards (table reset or recompile).
    reset: bool = False

    @property
    def missing(self) -> int:
        return sum(h.count for h in self.holes)

    def note(self, number: int) -> None:
        """Remember that record ``number`` was stored in this cycle."""
        self.records += 1
        if self.first is None:
            self.first = number
        self.last = number


@dataclass(frozen=True, slots=True)
class ClockResult:
    """The clock check: the logger's time, how far it was off, and whether we set it."""

    logger_time: dt.datetime
    #: Logger minus our clock, in seconds (positive: the logger is ahead).
    deviation: float
    allowed: float
    was_set: bool = False
    #: Why the clock was not set although allowed (beyond ``max_step``), else "".
    refused: str = ""

    @property
    def within(self) -> bool:
        return abs(self.deviation) <= self.allowed


@dataclass(slots=True)
class CycleResult:
    """One station's cycle: tables done so far, and the error that ended it, if any."""

    station: str
    started: dt.datetime
    finished: dt.datetime | None = None
    tables: list[TableResult] = field(default_factory=list)
    clock: ClockResult | None = None
    error: str | None = None
    #: Name of the error class (``LinkTimeout``, ``StoreError`` ...) for the status column.
    error_kind: str | None = None
    #: Times the link was cut (or timed out) and connected again within this cycle.
    reconnects: int = 0

    @property
    def progressed(self) -> bool:
        """Something was stored: even a cycle that ended in an error was no failure."""
        return self.records > 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def records(self) -> int:
        return sum(t.records for t in self.tables)

    @property
    def holes(self) -> int:
        return sum(len(t.holes) for t in self.tables)

    @property
    def missing(self) -> int:
        return sum(t.missing for t in self.tables)

    def table(self, name: str) -> TableResult:
        for t in self.tables:
            if t.table == name:
                return t
        result = TableResult(name)
        self.tables.append(result)
        return result

    def summary(self) -> str:
        """One line for logs: what came in, holes, clock, and what went wrong (last)."""
        parts = []
        if self.records:
            per_table = ", ".join(f"{t.table} +{t.records}" for t in self.tables)
            parts.append(f"{self.records} new records ({per_table})")
        for t in self.tables:
            for hole in t.holes:
                parts.append(
                    f"HOLE in {t.table}: {describe_hole(hole)} overwritten before collection"
                )
            if t.new_version:
                parts.append(f"{t.table}: new table definition, new version started")
            if t.reset:
                parts.append(f"{t.table}: record numbers restarted (table reset)")
        if self.reconnects:
            parts.append(f"{self.reconnects} reconnect{'s' if self.reconnects > 1 else ''}")
        if self.clock is not None:
            state = "set" if self.clock.was_set else ("ok" if self.clock.within else "OFF")
            parts.append(f"clock {self.clock.deviation:+.1f}s {state}")
            if self.clock.refused:
                parts.append(f"clock not set: {self.clock.refused}")
        if self.error is not None:
            parts.append(self.error)
        return "; ".join(parts) if parts else "nothing new"
