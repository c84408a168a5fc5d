"""Showing many stations at once: a live rich table on a terminal, log lines otherwise.

``fieldlink collect`` runs for weeks under systemd or cron, where a redrawn
table would fill the journal with escape codes; at a terminal a person wants
one row per station that updates in place.  Both views are fed the same events
by the scheduler through the :class:`StatusListener` interface.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, TextIO

from rich import box
from rich.console import Console
from rich.live import Live
from rich.logging import RichHandler
from rich.table import Table
from rich.text import Text

from fieldlink.collect.config import StationConfig
from fieldlink.collect.results import CycleResult


class StatusListener(Protocol):
    """What the scheduler tells whoever is watching."""

    def cycle_started(self, station: str) -> None: ...

    def table_progress(self, station: str, table: str, records: int) -> None: ...

    def cycle_finished(self, result: CycleResult, next_due: float | None, level: str) -> None: ...


@dataclass(slots=True)
class StationRow:
    """The latest known state of one station."""

    name: str
    url: str
    state: str = "waiting"
    table: str = ""
    records_this_cycle: int = 0
    total_records: int = 0
    total_missing: int = 0
    cycles: int = 0
    failures: int = 0
    last_ok: dt.datetime | None = None
    next_due: float | None = None
    level: str = "regular"
    message: str = ""
    clock: str = ""
    tables: dict[str, int] = field(default_factory=dict)


class StatusBoard:
    """Per-station rows updated by scheduler events; the data behind both views."""

    def __init__(self, stations: list[StationConfig]) -> None:
        self.rows = {s.name: StationRow(s.name, s.url) for s in stations}

    def cycle_started(self, station: str) -> None:
        row = self.rows[station]
        row.state = "collecting"
        row.table = ""
        row.records_this_cycle = 0

    def table_progress(self, station: str, table: str, records: int) -> None:
        row = self.rows[station]
        row.table = table
        row.records_this_cycle = records

    def cycle_finished(self, result: CycleResult, next_due: float | None, level: str) -> None:
        row = self.rows[result.station]
        row.cycles += 1
        row.total_records += result.records
        row.total_missing += result.missing
        row.records_this_cycle = result.records
        row.next_due = next_due
        row.level = level
        row.table = ""
        for t in result.tables:
            row.tables[t.table] = row.tables.get(t.table, 0) + t.records
        if result.clock is not None:
            c = result.clock
            row.clock = f"{c.deviation:+.1f}s" + (" set" if c.was_set else "")
        if result.ok:
            row.state = "ok"
            row.last_ok = result.finished
            row.message = "" if not result.holes else f"{result.missing} records lost to holes"
        else:
            row.state = "failed"
            row.failures += 1
            row.message = result.error or ""

    def render(self, now: float | None = None, width: int | None = None) -> Table:
        """The board as a table; with ``width`` (the terminal's), one line per station.

        The short columns keep their width; the message column (what is being
        collected, or why the last cycle failed -- an error can be long) takes what is
        left and is cut with an ellipsis rather than wrapped over many lines.  The
        plain log and ``--once``'s last line carry errors whole.
        """
        now = time.time() if now is None else now
        table = Table(
            title="fieldlink collect", expand=False, box=box.SIMPLE_HEAD, collapse_padding=True
        )
        headers = ("station", "state", "records", "lost", "clock", "last ok", "next")
        rows = [self._cells(row, now) for row in self.rows.values()]
        natural = [max([len(h)] + [len(r[i].plain) for r in rows]) for i, h in enumerate(headers)]
        for column, size in zip(headers, natural, strict=True):
            justify = "right" if column in ("records", "lost", "clock") else "left"
            table.add_column(column, justify=justify, no_wrap=True, min_width=size)  # type: ignore[arg-type]
        message_width = None
        if width is not None:
            # Two spaces between columns (their paddings collapse), and the edges.
            message_width = max(10, width - sum(natural) - 2 * len(headers) - 4)
        table.add_column("message", max_width=message_width, no_wrap=True, overflow="ellipsis")
        for cells in rows:
            table.add_row(*cells)
        return table

    @staticmethod
    def _cells(row: StationRow, now: float) -> list[Text]:
        next_text = ""
        if row.next_due is not None:
            # A clock time, not a countdown: the table is redrawn only on events.
            when = dt.datetime.fromtimestamp(row.next_due).astimezone()
            fmt = "%H:%M:%S" if row.next_due - now < 86400 else "%Y-%m-%d %H:%M"
            next_text = when.strftime(fmt)
        if row.state == "collecting":
            message = Text(
                f"{row.table} {row.records_this_cycle}" if row.table else "", style="dim"
            )
        else:
            message = Text(" ".join(row.message.split()),
                           style="red" if row.state == "failed" else "yellow")  # fmt: skip
            if row.level != "regular" and row.next_due is not None:
                message = Text(f"{row.level} retry: ", style="bold") + message
        message.no_wrap, message.overflow = True, "ellipsis"
        return [
            Text(row.name),
            Text(row.state, style=_STATE_STYLE.get(row.state, "")),
            Text(str(row.total_records)),
            Text(str(row.total_missing), style="bold red" if row.total_missing else ""),
            Text(row.clock),
            Text(_clock_time(row.last_ok, now)),
            Text(next_text),
            message,
        ]


def _clock_time(when: dt.datetime | None, now: float) -> str:
    """A local time of day, with the date only when it is not within the last day."""
    if when is None:
        return ""
    fmt = "%H:%M:%S" if now - when.timestamp() < 86400 else "%Y-%m-%d %H:%M"
    return when.astimezone().strftime(fmt)


_STATE_STYLE = {"ok": "green", "failed": "bold red", "collecting": "cyan", "waiting": "dim"}


class LiveStatus(StatusBoard):
    """The board redrawn in place on a terminal (rich ``Live``)."""

    def __init__(self, stations: list[StationConfig], console: Console | None = None) -> None:
        super().__init__(stations)
        self.console = console or Console()
        self._live = Live(
            self._table(), console=self.console, refresh_per_second=2, auto_refresh=False
        )
        self._replaced: list[logging.Handler] = []
        self._rich_handler: logging.Handler | None = None

    def __enter__(self) -> LiveStatus:
        self._route_logging()  # before Live swaps sys.stderr for its own proxy
        self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.refresh()
        self._live.__exit__(exc_type, exc, tb)
        self._restore_logging()

    def _route_logging(self) -> None:
        """Send log lines (holes, clock warnings) through the console, above the table.

        A handler writing straight to stderr would tear the redrawn table apart.
        """
        root = logging.getLogger()
        self._replaced = [
            h for h in root.handlers
            if type(h) is logging.StreamHandler and h.stream in (sys.stderr, sys.__stderr__)
        ]  # fmt: skip
        if self._replaced:
            handler = RichHandler(console=self.console, show_path=False)
            handler.setLevel(min(h.level for h in self._replaced))
            for h in self._replaced:
                root.removeHandler(h)
            root.addHandler(handler)
            self._rich_handler = handler

    def _restore_logging(self) -> None:
        root = logging.getLogger()
        if self._rich_handler is not None:
            root.removeHandler(self._rich_handler)
        for h in self._replaced:
            root.addHandler(h)
        self._replaced, self._rich_handler = [], None

    def _table(self) -> Table:
        return self.render(width=self.console.width)

    def refresh(self) -> None:
        self._live.update(self._table(), refresh=True)

    def cycle_started(self, station: str) -> None:
        super().cycle_started(station)
        self.refresh()

    def table_progress(self, station: str, table: str, records: int) -> None:
        super().table_progress(station, table, records)
        self.refresh()

    def cycle_finished(self, result: CycleResult, next_due: float | None, level: str) -> None:
        super().cycle_finished(result, next_due, level)
        self.refresh()


class LogStatus(StatusBoard):
    """One plain line per finished cycle (and per start), for journals and cron mail."""

    def __init__(self, stations: list[StationConfig], stream: TextIO) -> None:
        super().__init__(stations)
        self.stream = stream

    def note(self, text: str) -> None:
        """A line of context (what is configured), stamped like the others."""
        self._line(text)

    def _line(self, text: str) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.stream.write(f"{stamp} {text}\n")
        self.stream.flush()

    def cycle_started(self, station: str) -> None:
        super().cycle_started(station)
        self._line(f"{station}: collecting")

    def cycle_finished(self, result: CycleResult, next_due: float | None, level: str) -> None:
        super().cycle_finished(result, next_due, level)
        line = f"{result.station}: {'ok' if result.ok else 'FAILED'}: {result.summary()}"
        if next_due is not None:
            when = dt.datetime.fromtimestamp(next_due, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            line += f"; next {'retry' if level != 'regular' else 'collection'} {when}"
            if level != "regular":
                line += f" ({level})"
        self._line(line)
