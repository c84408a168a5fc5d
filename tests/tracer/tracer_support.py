"""Shared test helpers: a controller model whose clock stands still."""

from __future__ import annotations

import datetime as dt

from fieldlink.kit.clock import ManualClock
from fieldlink.tracer.emulator.model import ControllerConfig, TracerModel

NOON = dt.datetime(2026, 6, 21, 12, 0, 0)


def frozen_model(at: dt.datetime = NOON, **config: object) -> TracerModel:
    """A model run from 05:00 to ``at`` + 1 min whose clock then stands still, so every
    read in a test sees the same values (the sun has charged it a while)."""
    dawn = at.replace(hour=5, minute=0, second=0)
    model = TracerModel(
        ControllerConfig(start=dawn, **config),  # type: ignore[arg-type]
        monotonic=ManualClock(),
    )
    model.advance(at)
    return model
