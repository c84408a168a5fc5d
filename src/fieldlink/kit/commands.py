"""Click scaffolding every instrument family's commands share.

``fieldlink FAMILY COMMAND URL`` commands take the same connection options
(:func:`instrument_options`: the URL, ``--timeout``, ``--debug``), print results the
same way (:func:`format_option` and :func:`print_rows`: an aligned table on a
terminal, CSV or JSON when asked or piped), and mount the same way (:func:`mount_family`).
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import click

__all__ = [
    "FORMATS",
    "InstrumentOptions",
    "choice_option",
    "format_option",
    "frame_log",
    "instrument_options",
    "mount_family",
    "print_rows",
    "value_option",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Output formats of commands that print values.
FORMATS = ("table", "csv", "json")


@dataclass(frozen=True, slots=True)
class InstrumentOptions:
    """How to reach an instrument, from the options every command takes."""

    url: str
    timeout: float
    debug: bool


def instrument_options(*, default_timeout: float = 5.0) -> Callable[[F], F]:
    """Add the URL argument, ``--timeout`` and ``--debug``; pass them as ``link``."""

    def decorate(command: F) -> F:
        @click.option(
            "--timeout",
            default=default_timeout,
            show_default=True,
            type=click.FloatRange(min=0.1),
            help="Seconds to wait for each answer.",
        )
        @click.option("--debug", is_flag=True, help="Log every frame in hex on stderr.")
        @click.argument("url")
        @functools.wraps(command)
        def wrapper(url: str, timeout: float, debug: bool, **kwargs: Any) -> Any:
            return command(link=InstrumentOptions(url, timeout, debug), **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


@contextmanager
def frame_log(logger: str, enabled: bool) -> Iterator[None]:
    """``--debug``: the DEBUG records of ``logger`` (a family's frame trace) on stderr,
    for the duration of a command.  Families mask secrets before they log a frame."""
    if not enabled:
        yield
        return
    frames = logging.getLogger(logger)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    saved = frames.level, frames.propagate
    frames.setLevel(logging.DEBUG)
    frames.propagate = False
    frames.addHandler(handler)
    try:
        yield
    finally:
        frames.removeHandler(handler)
        frames.setLevel(saved[0])
        frames.propagate = saved[1]


def format_option(command: F) -> F:
    """``--format table|csv|json`` (default: a table on a terminal, CSV in a pipe)."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=None,
        help="Output format [a table on a terminal, else csv].",
    )(command)


def choice_option(name: str, choices: Sequence[str], help: str) -> Callable[[F], F]:
    """An option that takes one of ``choices``, the first being the default (shown)."""
    kind = click.Choice(list(choices))
    return click.option(name, type=kind, default=choices[0], show_default=True, help=help)


def value_option(name: str, metavar: str, help: str, *, type: Any = None) -> Callable[[F], F]:
    """An option that is None unless given, and then takes a value (``--channel 1.3``)."""
    return click.option(name, type=type, default=None, metavar=metavar, help=help)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def print_rows(
    columns: Sequence[str], rows: Sequence[Mapping[str, object]], fmt: str | None = None
) -> None:
    """Print ``rows`` (dicts keyed by ``columns``) as a table, CSV or JSON on stdout."""
    if fmt is None:
        fmt = "table" if sys.stdout.isatty() else "csv"
    if fmt == "json":
        click.echo(json.dumps([{c: row.get(c) for c in columns} for row in rows], default=str))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_text(row.get(c)) for c in columns])
    else:
        cells = [[_text(row.get(c)) for c in columns] for row in rows]
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
        numeric = [all(_is_number(r[i]) for r in cells) for i in range(len(columns))]

        def line(values: Sequence[str]) -> str:
            parts = [
                v.rjust(w) if num else v.ljust(w)
                for v, w, num in zip(values, widths, numeric, strict=True)
            ]
            return "  ".join(parts).rstrip()

        click.echo(line(list(columns)))
        for r in cells:
            click.echo(line(r))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text == ""
    return True


def mount_family(
    root: click.Group,
    emulate: click.Group | None,
    group: click.Command,
    emulator: Callable[[], click.Command],
) -> None:
    """Attach ``fieldlink FAMILY ...`` and, when ``emulate`` is given, ``fieldlink emulate
    FAMILY``: ``emulator()`` is called only then, so a family can leave its emulator
    unimported while one of its commands talks to a real instrument."""
    root.add_command(group)
    if emulate is not None:
        emulate.add_command(emulator())
