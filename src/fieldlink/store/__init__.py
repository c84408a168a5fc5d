"""Sinks: where collected records are stored, resumably and without duplicates.

The collector uses one interface (:class:`Sink`, :class:`TableWriter`) whatever the
storage; :func:`open_sink` builds the sink a station's configuration names:

- ``"sqlite"`` (the default) — one database file, typed tables, UTC beside logger time;
- ``"toa5"`` — a directory of TOA5 ``.dat`` files exactly as LoggerNet writes them;
- ``"csv"`` — a directory of CSV files with PyCampbellCR1000's columns;
- ``"postgresql"`` — a shared PostgreSQL database (extra ``fieldlink[postgresql]``),
  see :mod:`fieldlink.store.postgresql`;
- ``"mqtt"`` — live records on an MQTT broker (extra ``fieldlink[mqtt]``), see
  :mod:`fieldlink.store.mqtt`.

:func:`records_to_dataframe` turns records into a pandas DataFrame (optional extra).

The names are imported on first use (PEP 562), and :func:`open_sink` imports only the
sink it opens: a command that writes a CSV file or reads a time zone does not load
sqlite3 and every other sink with it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fieldlink.errors import ConfigError, StoreError
from fieldlink.kit.lazy import lazy_exports

if TYPE_CHECKING:
    from fieldlink.store.base import Hole, Position, Sink, StationInfo, TableWriter
    from fieldlink.store.csvsink import CsvSink
    from fieldlink.store.dataframe import records_to_dataframe
    from fieldlink.store.sqlite import SqliteSink
    from fieldlink.store.timezones import local_to_utc, parse_timezone
    from fieldlink.store.toa5 import Toa5Sink

#: The sink kinds :func:`open_sink` knows, as written in a station configuration.
SINK_KINDS = ("sqlite", "toa5", "csv", "postgresql", "mqtt")


def open_sink(
    kind: str,
    path: str | os.PathLike[str] = ".",
    *,
    delimiter: str = ",",
    options: Mapping[str, Any] | None = None,
    holder: str | None = None,
) -> Sink:
    """The sink of the given kind at ``path`` (a database file, or a directory for files).

    ``delimiter`` applies to ``"csv"`` only.  ``"postgresql"`` and ``"mqtt"`` take
    their ``options`` (``dsn`` or ``url``, ``password_env``/``password_file`` ...) as
    the stations file has them; ``holder`` is the fleet collector a PostgreSQL store
    fences its writes to.
    """
    k = kind.strip().lower()
    if k in ("postgresql", "mqtt"):
        return _open_network_sink(k, options or {}, holder)
    if k == "sqlite":
        from fieldlink.store.sqlite import SqliteSink

        return SqliteSink(path)
    if k == "toa5":
        from fieldlink.store.toa5 import Toa5Sink

        return Toa5Sink(path)
    if k == "csv":
        from fieldlink.store.csvsink import CsvSink

        return CsvSink(path, delimiter=delimiter)
    raise ConfigError(f"unknown sink {kind!r}: choose one of {', '.join(SINK_KINDS)}")


def _open_network_sink(kind: str, options: Mapping[str, Any], holder: str | None) -> Sink:
    from fieldlink.store.secrets import read_password, redact, resolve_dsn

    try:
        if kind == "postgresql":
            dsn, name = resolve_dsn(options)
            try:
                from fieldlink.store.postgresql import PostgresSink
            except ImportError as exc:
                raise _missing(name, "postgresql", exc) from None
            return PostgresSink(dsn, name=name.removeprefix("PostgreSQL store "), holder=holder)
        name = f"MQTT store {redact(str(options.get('url', '')))}"
        password = read_password(options.get("password_env"), options.get("password_file"), name)
        try:
            from fieldlink.store.mqtt import MqttSink
        except ImportError as exc:
            raise _missing(name, "mqtt", exc) from None
        return MqttSink.from_options(options, password=password)
    except ConfigError as exc:
        raise StoreError(str(exc)) from None


def _missing(name: str, extra: str, exc: ImportError) -> StoreError:
    return StoreError(f"{name}: this sink needs the {extra} extra: "
                      f"pip install 'fieldlink[{extra}]' ({exc})")  # fmt: skip


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

__getattr__ = lazy_exports(
    __name__,
    {
        "Hole": "base",
        "Position": "base",
        "Sink": "base",
        "StationInfo": "base",
        "TableWriter": "base",
        "CsvSink": "csvsink",
        "records_to_dataframe": "dataframe",
        "SqliteSink": "sqlite",
        "local_to_utc": "timezones",
        "parse_timezone": "timezones",
        "Toa5Sink": "toa5",
    },
)
