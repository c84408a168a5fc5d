"""Opening a station's logger for one cycle with the PakBus client.

One connection per cycle, closed at its end whatever happens: a field modem or
radio link should not stay up between collections, and a fresh connection
after a failure is the simplest recovery.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fieldlink.collect.config import StationConfig
from fieldlink.collect.sampled import open_sampled
from fieldlink.collect.source import Logger


@asynccontextmanager
async def connect_client(station: StationConfig) -> AsyncIterator[Logger]:
    """The station's logger through :class:`fieldlink.pakbus.client.AsyncDatalogger`,
    or its sampled instrument (:mod:`fieldlink.collect.sampled`)."""
    if station.kind != "logger":
        async with open_sampled(station) as instrument:
            yield instrument
        return
    from fieldlink.pakbus.client import AsyncDatalogger

    async with AsyncDatalogger.from_url(station.url, **station.client_options()) as logger:
        logger.window = station.window
        yield logger
