"""When a station is collected next: its interval, and LoggerNet's retry levels.

Pure arithmetic on POSIX seconds so it is tested without waiting.  Regular
collections fall on multiples of the interval counted from the Unix epoch (an
hourly station is collected on the hour, a 15-minute one at :00, :15, :30,
:45), as LoggerNet does from its base time: stations sharing a modem or a
radio then line up predictably, and the collected files end on whole
intervals.  After a failure the retry schedule takes over until a cycle
succeeds (see :class:`~fieldlink.collect.config.RetryPolicy`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fieldlink.collect.config import RetryPolicy


def next_slot(now: float, interval: float) -> float:
    """The first multiple of ``interval`` (seconds since the epoch) strictly after ``now``.

    ``now`` within a millionth of an interval of a slot counts as that slot: floating
    point makes 1000.3 / 0.1 come out as 10002.999..., and without the tolerance the
    "next" slot would be the current one, run again at once.
    """
    slot = (math.floor(now / interval + 1e-6) + 1) * interval
    return slot if slot - now > interval * 1e-6 else slot + interval


@dataclass(slots=True)
class StationSchedule:
    """One station's schedule: call :meth:`succeeded` or :meth:`failed` after each cycle."""

    interval: float
    retry: RetryPolicy
    #: Consecutive failed cycles; 0 after a success.
    failures: int = 0

    def succeeded(self, now: float) -> float:
        """Record a good cycle; return when the next regular collection is due."""
        self.failures = 0
        return next_slot(now, self.interval)

    def progressed(self, now: float) -> float:
        """Record a cycle that stored records, then failed: no failure (the link works).

        The rest is collected after the primary retry interval rather than at the next
        regular slot, which may be hours away; the failure count starts again.
        """
        self.failures = 0
        return now + self.retry.primary_interval

    def failed(self, now: float) -> float:
        """Record a failed cycle; return when to retry."""
        self.failures += 1
        return now + self.retry.delay_after(self.failures)

    @property
    def level(self) -> str:
        """``"regular"``, ``"primary"`` or ``"secondary"``: which schedule is in force."""
        if self.failures == 0:
            return "regular"
        return "primary" if self.failures <= self.retry.primary_retries else "secondary"
