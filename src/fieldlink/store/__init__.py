"""Sinks: where collected records are stored, resumably and without duplicates.

The collector uses one interface (:class:`Sink`, :class:`TableWriter`) whatever the
storage; :func:`open_sink` builds the sink a station's configuration names:

- ``"sqlite"`` (the default) — one database file, typed tables, UTC beside logger time;
- ``"toa5"`` — a directory of TOA5 ``.dat`` files exactly as LoggerNet writes them;
- ``"csv"`` — a directory of CSV files with PyCampbellCR1000's columns.

:func:`records_to_dataframe` turns records into a pandas DataFrame (optional extra).
"""

from __future__ import annotations

import os

from fieldlink.errors import ConfigError
from fieldlink.store.base import Hole, Position, Sink, StationInfo, TableWriter
from fieldlink.store.csvsink import CsvSink
from fieldlink.store.dataframe import records_to_dataframe
from fieldlink.store.sqlite import SqliteSink
from fieldlink.store.timezones import local_to_utc, parse_timezone
from fieldlink.store.toa5 import Toa5Sink

#: The sink kinds :func:`open_sink` knows, as written in a station configuration.
SINK_KINDS = ("sqlite", "toa5", "csv")


def open_sink(kind: str, path: str | os.PathLike[str], *, delimiter: str = ",") -> Sink:
    """The sink of the given kind at ``path`` (a database file, or a directory for files).

    ``delimiter`` applies to ``"csv"`` only.
    """
    k = kind.strip().lower()
    if k == "sqlite":
        return SqliteSink(path)
    if k == "toa5":
        return Toa5Sink(path)
    if k == "csv":
        return CsvSink(path, delimiter=delimiter)
    raise ConfigError(f"unknown sink {kind!r}: choose one of {', '.join(SINK_KINDS)}")


__all__ = [
    "SINK_KINDS",
    "CsvSink",
    "Hole",
    "Position",
    "Sink",
    "SqliteSink",
    "StationInfo",
    "TableWriter",
    "Toa5Sink",
    "local_to_utc",
    "open_sink",
    "parse_timezone",
    "records_to_dataframe",
]
