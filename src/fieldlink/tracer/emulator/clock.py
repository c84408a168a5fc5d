"""The emulator's clock: simulated wall time that can run faster than real time.

``speed=60`` makes an hour pass every real minute, so a solar day runs in 24
minutes.  The monotonic source is injectable so tests move time by hand instead
of sleeping (:class:`fieldlink.kit.clock.ManualClock`).
"""

from __future__ import annotations

import datetime as dt

from fieldlink.kit.clock import Clock, monotonic


class SimClock:
    """Simulated local time = ``start`` + (monotonic elapsed) × ``speed``."""

    def __init__(
        self,
        start: dt.datetime,
        *,
        speed: float = 1.0,
        monotonic: Clock = monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.speed = speed
        self._monotonic = monotonic
        self._base = start
        self._t0 = monotonic()

    def now(self) -> dt.datetime:
        return self._base + dt.timedelta(seconds=(self._monotonic() - self._t0) * self.speed)

    def set(self, when: dt.datetime) -> None:
        """Set the clock (the controller's RTC was written)."""
        self._base = when
        self._t0 = self._monotonic()
