"""The logger clock: read, set with round-trip compensation, careful sync (pakbus.md §6.2)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from fieldlink.errors import (
    ProtocolError,
    UsageError,
)
from fieldlink.pakbus.operations.common import LEVEL_READ, LEVEL_WRITE, check_response
from fieldlink.pakbus.protocol import bmp5
from fieldlink.pakbus.protocol.types import EPOCH as EPOCH_1990_NAIVE
from fieldlink.pakbus.protocol.types import datetime_to_nsec
from fieldlink.pakbus.protocol.wire import NSec
from fieldlink.pakbus.session import (
    Operation,
    Request,
    expect,
    now,
)

# --- clock ------------------------------------------------------------------------------------


def nsec_datetime(t: NSec) -> dt.datetime:
    """A logger time as a naive datetime; impossible nanoseconds (V16.2) count as 0."""
    micros = t.nanoseconds // 1000 if 0 <= t.nanoseconds < 1_000_000_000 else 0
    try:
        return EPOCH_1990_NAIVE + dt.timedelta(seconds=t.seconds, microseconds=micros)
    except OverflowError:
        raise ProtocolError(f"logger time {t.seconds} s since 1990 is out of range") from None


#: The last time a logger clock can hold: 2**31 - 1 seconds after its 1990 epoch.
LAST_TIME = EPOCH_1990_NAIVE + dt.timedelta(seconds=2**31 - 1)


def _ns(when: dt.datetime) -> int:
    if when.tzinfo is not None:
        raise UsageError("logger clocks keep local time without a zone: give a naive date and time")
    if when < EPOCH_1990_NAIVE:
        raise UsageError(
            f"{when:%Y-%m-%d %H:%M:%S} is before {EPOCH_1990_NAIVE:%Y-%m-%d}, where logger "
            "clocks begin"
        )
    if when > LAST_TIME:
        raise UsageError(
            f"{when:%Y-%m-%d %H:%M:%S} is after {LAST_TIME:%Y-%m-%d %H:%M:%S}, the last time "
            "a logger clock can hold"
        )
    return datetime_to_nsec(when).total_ns


def _logger_ns(t: NSec) -> int:
    ns = t.nanoseconds if 0 <= t.nanoseconds < 1_000_000_000 else 0
    return t.seconds * 1_000_000_000 + ns


def _adjustment(ns: int) -> NSec:
    """A signed clock adjustment: both parts carry the sign (pakbus.md §6.2, INFERRED)."""
    sign = -1 if ns < 0 else 1
    seconds, nanos = divmod(abs(ns), 1_000_000_000)
    return NSec(sign * seconds, sign * nanos)


def read_clock(security_code: int = 0) -> Operation[NSec]:
    """The logger clock (§6.2), read with an adjustment of (0, 0)."""
    reply = yield from expect(
        Request(bmp5.ClockCommand(0, security_code, NSec(0, 0))), bmp5.ClockResponse
    )
    check_response(reply.resp_code, "reading the clock", LEVEL_READ)
    if reply.old_time is None:
        raise ProtocolError("clock response without a time", message_type=reply.what())
    return reply.old_time


def _timed_read(security_code: int) -> Operation[tuple[int, float, float]]:
    """(logger ns, round trip s, wall-clock Unix time at the middle of the round trip)."""
    before = yield from now()
    logger = yield from read_clock(security_code)
    after = yield from now()
    return (
        _logger_ns(logger),
        after.monotonic - before.monotonic,
        (before.wall + after.wall) / 2,
    )


def _step_clock(step_ns: int, security_code: int) -> Operation[None]:
    # Never blindly retried: a lost answer may hide an applied step (§6.2).
    reply = yield from expect(
        Request(bmp5.ClockCommand(0, security_code, _adjustment(step_ns)), retries=0),
        bmp5.ClockResponse,
    )
    check_response(reply.resp_code, "setting the clock", LEVEL_WRITE)


def set_clock(when: dt.datetime, security_code: int = 0) -> Operation[dt.datetime]:
    """Set the logger clock to ``when`` (logger-local, naive); return the clock read back.

    ``when`` is taken to be right at the moment the operation starts.  The logger's
    reading is assumed to be taken half-way through its round trip, so the adjustment
    is ``when - reading + round_trip / 2`` (the time the set itself takes in transit
    cancels out, since the logger adds the adjustment to its running clock).
    """
    wanted = _ns(when)
    before = yield from now()
    logger = yield from read_clock(security_code)
    after = yield from now()
    half_trip = (after.monotonic - before.monotonic) / 2
    step = wanted - _logger_ns(logger) + round(half_trip * 1e9)
    yield from _step_clock(step, security_code)
    return nsec_datetime((yield from read_clock(security_code)))


@dataclass(frozen=True, slots=True)
class ClockSyncResult:
    """What :func:`sync_clock` found and did.

    ``offset`` is logger minus reference before, in seconds (positive: the logger is
    fast); ``step`` the adjustment applied (0.0 if none); ``residual`` the offset
    measured again after a step (equal to ``offset`` when no step was made);
    ``round_trip`` the median round trip of the samples kept; ``samples`` how many
    readings the estimate used.
    """

    offset: float
    step: float
    residual: float
    round_trip: float
    samples: int

    @property
    def adjusted(self) -> bool:
        return self.step != 0.0


def _reference_ns(wall: float, tz: dt.tzinfo | None) -> int:
    """The logger-local reading a correct clock would show at Unix time ``wall``."""
    if tz is None:
        local = dt.datetime.fromtimestamp(wall)
    else:
        local = dt.datetime.fromtimestamp(wall, tz).replace(tzinfo=None)
    delta = local - EPOCH_1990_NAIVE
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _estimate_offset(
    samples: int, security_code: int, tz: dt.tzinfo | None
) -> Operation[tuple[float, float, int]]:
    from statistics import median  # only here: statistics loads fractions and decimal

    readings: list[tuple[float, float]] = []
    for _ in range(samples):
        logger, trip, wall = yield from _timed_read(security_code)
        readings.append((trip, (logger - _reference_ns(wall, tz)) / 1e9))
    # The fastest round trips bound the reading's moment most tightly (±trip/2);
    # keep the better half and take their median offset, which ignores outliers.
    readings.sort()
    kept = readings[: max(1, math.ceil(len(readings) / 2))]
    return median(o for _, o in kept), median(t for t, _ in kept), len(kept)


def sync_clock(
    *,
    samples: int = 5,
    threshold: float = 0.5,
    max_step: float | None = 300.0,
    tz: dt.tzinfo | None = None,
    security_code: int = 0,
) -> Operation[ClockSyncResult]:
    """Bring the logger clock to this computer's time, carefully.

    Reads the clock ``samples`` times, keeps the readings with the shortest round trips
    and takes the median offset, so one delayed packet cannot cause a bad step.  The
    clock is stepped only when the offset exceeds ``threshold`` seconds, by at most
    ``max_step`` seconds (None: no bound), which protects a logger from a computer whose
    own clock is wrong.  ``tz`` is the zone the logger keeps (None: this computer's
    local time).
    """
    if samples < 1:
        raise UsageError("sync_clock needs at least one sample")
    if threshold < 0 or (max_step is not None and max_step <= 0):
        raise UsageError("threshold must be >= 0 and max_step > 0")
    offset, trip, kept = yield from _estimate_offset(samples, security_code, tz)
    if abs(offset) <= threshold:
        return ClockSyncResult(offset, 0.0, offset, trip, kept)
    step = -offset
    if max_step is not None:
        step = max(-max_step, min(max_step, step))
    yield from _step_clock(round(step * 1e9), security_code)
    residual, _, _ = yield from _estimate_offset(1, security_code, tz)
    return ClockSyncResult(offset, step, residual, trip, kept)


def offset_text(seconds: float) -> str:
    """A clock offset as a person reads it: ``+40.2 s``, ``-7 h 00 min``, ``+12 min 30 s``."""
    sign = "-" if seconds < 0 else "+"
    s = abs(seconds)
    if s < 60:
        return f"{sign}{s:.1f} s"
    if s < 3600:
        minutes, secs = divmod(round(s), 60)
        return f"{sign}{minutes} min {secs:02d} s"
    hours, minutes = divmod(round(s / 60), 60)
    return f"{sign}{hours} h {minutes:02d} min"


def looks_like_zone_mistake(offset: float) -> bool:
    """Half an hour or more, and within a minute of a whole quarter hour: the mark of a
    clock kept (or compared) in the wrong time zone rather than one that drifted."""
    quarter = 900.0
    return (
        abs(offset) >= 1800 - 60 and abs(abs(offset) - round(abs(offset) / quarter) * quarter) <= 60
    )


def too_far_to_step(offset: float, limit: float, *, zone: str | None = None) -> str:
    """Why a clock ``offset`` seconds off (logger minus reference) is not stepped.

    ``limit`` is the largest step allowed; ``zone`` the zone the logger is assumed to
    keep, named in the hint when the offset looks like a time-zone mistake.
    """
    text = (
        f"the logger clock is {offset_text(offset)} off, more than the largest step allowed "
        f"({offset_text(limit).lstrip('+')})"
    )
    if looks_like_zone_mistake(offset):
        assumed = f" (it is taken to keep {zone})" if zone else ""
        text += f"; that looks like a time-zone mistake: check the logger's zone{assumed}"
    return text
