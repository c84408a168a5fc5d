"""Clocks for emulators: the real monotonic clock, or one a test moves by hand."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "ManualClock", "monotonic"]

#: A clock is any callable returning seconds (monotonic).
Clock = Callable[[], float]
monotonic: Clock = time.monotonic


class ManualClock:
    """A clock that stands still until :meth:`advance` moves it (deterministic tests)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now
