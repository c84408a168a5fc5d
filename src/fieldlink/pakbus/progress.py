"""How ``getdata`` and ``update`` show a download's progress.

Three ways, chosen by ``--progress`` (``auto`` picks the first on a terminal, the
second elsewhere):

- ``bar``: a progress bar on stderr, redrawn in place: records of the total, the
  percentage, records per second and the time left.  ``getdata`` learns the total
  before the first record: it asks the logger for its newest record number, and the
  first answer gives the oldest (or the range asked for gives both);
- ``plain``: PyCampbellCR1000's own lines, so scripts written around ``pycr1000``
  keep working: ``Your download is starting.``, ``Packet N with M records`` for each
  answer of the logger (for ``update``: for each batch stored), a line of dashes and
  ``N new records were found`` / ``1 new record was found`` / ``No new records were
  found``.  They go to stdout, as PyCampbellCR1000's did, so scripts that read them
  there keep working -- unless stdout carries the data (``getdata ... -``): then
  ``auto`` shows nothing and ``plain`` writes them to stderr;
- ``none``: nothing but the closing line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Protocol

import click

from fieldlink.errors import UsageError

#: ``--progress`` values.
MODES = ("auto", "bar", "plain", "none")


def choose_mode(requested: str, *, data_on_stdout: bool = False) -> str:
    """``auto`` made concrete: a bar when stderr is a terminal, else plain lines (none
    when stdout carries the data)."""
    mode = requested.strip().lower()
    if mode not in MODES:
        raise UsageError(f"--progress must be one of {', '.join(MODES)}, not {requested!r}")
    if mode == "auto":
        if sys.stderr.isatty():
            return "bar"
        return "none" if data_on_stdout else "plain"
    return mode


class RecordProgress(Protocol):
    """Told what a download does, in order: total (maybe), packets, done."""

    def total(self, count: int | None) -> None:
        """The number of records expected, once known (None: unknown)."""

    def packet(self, count: int) -> None:
        """One answer (or stored batch) of ``count`` records arrived."""

    def done(self, count: int) -> None:
        """The download finished with ``count`` records in all."""


class _Silent:
    def total(self, count: int | None) -> None:
        pass

    def packet(self, count: int) -> None:
        pass

    def done(self, count: int) -> None:
        pass


class PlainLines:
    """PyCampbellCR1000's progress lines, word for word."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.packets = 0
        self._line("Your download is starting.")

    def _line(self, text: str) -> None:
        click.echo(text, file=self.stream)
        self.stream.flush()

    def total(self, count: int | None) -> None:
        pass

    def packet(self, count: int) -> None:
        self._line(f"Packet {self.packets} with {count} records")
        self.packets += 1

    def done(self, count: int) -> None:
        self._line("---------------------------")
        if count == 0:
            self._line("No new records were found")
        elif count == 1:
            self._line("1 new record was found")
        else:
            self._line(f"{count} new records were found")


@contextmanager
def record_progress(
    mode: str, label: str, *, data_on_stdout: bool = False
) -> Iterator[RecordProgress]:
    """The progress display for ``mode`` (already chosen), closed at the end."""
    if mode == "plain":
        yield PlainLines(sys.stderr if data_on_stdout else sys.stdout)
        return
    if mode != "bar":
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None, rate="")

        class _Bar:
            def total(self, count: int | None) -> None:
                bar.update(task, total=count)

            def packet(self, count: int) -> None:
                bar.advance(task, count)
                speed = bar.tasks[task].speed
                bar.update(task, rate="" if not speed else f"{speed:,.0f} records/s")

            def done(self, count: int) -> None:
                bar.update(task, completed=count)

        yield _Bar()


__all__ = ["MODES", "PlainLines", "RecordProgress", "choose_mode", "record_progress"]
