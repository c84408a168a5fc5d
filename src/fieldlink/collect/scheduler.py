"""Many stations at once: one asyncio task per station, each on its own schedule.

A station's cycle only ever waits on its own link, so a dead radio or a slow
modem delays nobody else; its failures move it onto the retry schedule
(:class:`~fieldlink.collect.schedule.StationSchedule`) while the others keep
their intervals.  Even a bug that escapes a cycle is caught at the station's
task, logged with its traceback, and counted as that station's failure.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from fieldlink.collect.config import StationConfig
from fieldlink.collect.engine import Connect, run_cycle
from fieldlink.collect.results import CycleResult
from fieldlink.collect.schedule import StationSchedule
from fieldlink.collect.sinks import SinkPool
from fieldlink.collect.status import StatusListener
from fieldlink.errors import FieldlinkError

log = logging.getLogger(__name__)

#: Runs one cycle of one station.
Cycle = Callable[[StationConfig], Awaitable[CycleResult]]


def make_cycle(connect: Connect, pool: SinkPool, status: StatusListener | None = None) -> Cycle:
    """A cycle that writes to ``pool``'s sinks and notes failures in their collection logs.

    A station whose sinks include a fleet database (``fleet = true``) is collected
    only while this collector holds its lease (:mod:`fieldlink.collect.fleet`).
    """

    async def cycle(station: StationConfig) -> CycleResult:
        fleet = pool.fleet_for(station)
        if fleet is not None:  # shared with other collectors: only under its lease
            return await fleet.run(station, plain)
        return await plain(station)

    async def plain(station: StationConfig) -> CycleResult:
        progress = status.table_progress if status is not None else None
        result = await run_cycle(station, connect, pool.for_table, progress=progress)
        if not result.ok:
            for sink in pool.for_station(station):
                try:
                    sink.log(station.name, "cycle failed", result.error or "")
                except FieldlinkError as exc:
                    log.warning("%s: could not log the failure: %s", station.name, exc)
        return result

    return cycle


async def guarded(cycle: Cycle, station: StationConfig) -> CycleResult:
    """Run ``cycle``; a bug becomes that station's failed result, not everyone's crash."""
    started = dt.datetime.now(dt.UTC)
    try:
        return await cycle(station)
    except Exception as exc:  # isolate stations from each other's bugs
        log.exception("%s: unexpected error in the collection cycle", station.name)
        return CycleResult(
            station.name,
            started=started,
            finished=dt.datetime.now(dt.UTC),
            error=f"internal error: {type(exc).__name__}: {exc}",
            error_kind=type(exc).__name__,
        )


async def collect_once(
    stations: Sequence[StationConfig], cycle: Cycle, status: StatusListener
) -> list[CycleResult]:
    """One cycle for every station, all at once; the results in the stations' order."""

    async def one(station: StationConfig) -> CycleResult:
        status.cycle_started(station.name)
        result = await guarded(cycle, station)
        status.cycle_finished(result, None, "regular" if result.ok else "primary")
        return result

    return list(await asyncio.gather(*(one(s) for s in stations)))


async def collect_forever(
    stations: Sequence[StationConfig],
    cycle: Cycle,
    status: StatusListener,
    *,
    stop: asyncio.Event | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Collect every station on its schedule until ``stop`` is set (or we are cancelled).

    Each station's first cycle starts at once; after that regular cycles fall on
    multiples of its interval and failed ones follow its retry schedule.
    """
    stop = stop or asyncio.Event()

    async def station_loop(station: StationConfig) -> None:
        schedule = StationSchedule(station.interval, station.retry)
        due = clock()
        while not stop.is_set():
            delay = due - clock()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                    return
                except TimeoutError:
                    pass
            status.cycle_started(station.name)
            result = await guarded(cycle, station)
            # A timer may fire a hair before the wall clock reaches ``due``: never
            # schedule from a time before the slot just collected, or it comes round again.
            now = max(clock(), due)
            if result.ok:
                due = schedule.succeeded(now)
            elif result.progressed:  # cut after storing records: not a failure
                due = schedule.progressed(now)
            else:
                due = schedule.failed(now)
            status.cycle_finished(result, due, schedule.level)

    await asyncio.gather(*(station_loop(s) for s in stations))
