"""Scheduled, resumable collection from many stations (``fieldlink collect``).

- :mod:`~fieldlink.collect.config` — the stations file (:func:`load_stations`);
- :mod:`~fieldlink.collect.engine` — one station's cycle (:func:`run_cycle`): resume by
  record number, holes, table versions, clock check;
- :mod:`~fieldlink.collect.scheduler` — every station at once, with LoggerNet's retry
  levels (:func:`collect_once`, :func:`collect_forever`);
- :mod:`~fieldlink.collect.status` — a live table on a terminal, log lines otherwise;
- :mod:`~fieldlink.collect.update` — ``fieldlink logger update`` on the same engine.

Example, one cycle of every station in a file::

    import asyncio
    from fieldlink.collect import SinkPool, connect_client, load_stations, run_cycle

    stations = load_stations("stations.toml").stations
    with SinkPool() as pool:
        for station in stations:
            result = asyncio.run(run_cycle(station, connect_client, pool.for_table))
            print(station.name, result.summary())

The names are imported on first use (PEP 562): a command that needs one module of the
collector (a duration parser, the stations file) does not load the engine, the
scheduler, asyncio and rich with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldlink.kit.lazy import lazy_exports

if TYPE_CHECKING:
    from fieldlink.collect.config import (
        ClockPolicy,
        FirstCollection,
        RetryPolicy,
        SinkSpec,
        StationConfig,
        StationsFile,
        load_stations,
        parse_stations,
    )
    from fieldlink.collect.connect import connect_client
    from fieldlink.collect.engine import run_cycle
    from fieldlink.collect.results import ClockResult, CycleResult, TableResult
    from fieldlink.collect.scheduler import collect_forever, collect_once, make_cycle
    from fieldlink.collect.sinks import SinkPool

__all__ = [
    "ClockPolicy",
    "ClockResult",
    "CycleResult",
    "FirstCollection",
    "RetryPolicy",
    "SinkPool",
    "SinkSpec",
    "StationConfig",
    "StationsFile",
    "TableResult",
    "collect_forever",
    "collect_once",
    "connect_client",
    "load_stations",
    "make_cycle",
    "parse_stations",
    "run_cycle",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "ClockPolicy": "config",
        "FirstCollection": "config",
        "RetryPolicy": "config",
        "SinkSpec": "config",
        "StationConfig": "config",
        "StationsFile": "config",
        "load_stations": "config",
        "parse_stations": "config",
        "connect_client": "connect",
        "run_cycle": "engine",
        "ClockResult": "results",
        "CycleResult": "results",
        "TableResult": "results",
        "collect_forever": "scheduler",
        "collect_once": "scheduler",
        "make_cycle": "scheduler",
        "SinkPool": "sinks",
    },
)
