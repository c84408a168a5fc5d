"""Serving emulated Batlabs: one kit :class:`EmulatorHost` per unit, a pty by default.

A real Batlab is a USB serial port, and the official library only opens device
paths, so each unit gets its own pseudo-terminal; TCP is there for tests and for
clients on other machines.
"""

from __future__ import annotations

import random
from typing import Any

from fieldlink.batlab.emulator.battery import Battery
from fieldlink.batlab.emulator.calibration import REFERENCE
from fieldlink.batlab.emulator.clock import Clock, monotonic
from fieldlink.batlab.emulator.unit import BatlabUnit
from fieldlink.kit.host import EmulatorHost

__all__ = ["BatlabEmulator", "make_units"]

#: First serial number of emulated units (the real calibration record's unit).
FIRST_SERIAL = REFERENCE.serial


def make_units(
    count: int = 1,
    *,
    speed: float = 1.0,
    seed: int = 0,
    clock: Clock = monotonic,
    reset_silence: float = 0.5,
    capacity_ah: float = 2.5,
) -> list[BatlabUnit]:
    """``count`` units, serial numbers counting up, four charged-ish cells each.

    Cell capacities and states of charge vary a little with ``seed`` (same seed, same
    cells), as real cells from one batch do.
    """
    rng = random.Random(seed)
    units = []
    for n in range(count):
        cells: list[Battery | None] = [
            Battery(
                capacity_ah=capacity_ah * rng.uniform(0.9, 1.05),
                soc=rng.uniform(0.4, 0.7),
                resistance=rng.uniform(0.06, 0.1),
            )
            for _ in range(4)
        ]
        units.append(
            BatlabUnit(
                cells=cells,
                serial=FIRST_SERIAL + n,
                clock=clock,
                speed=speed,
                reset_silence=reset_silence,
                name=f"batlab{n}",
            )
        )
    return units


class BatlabEmulator(EmulatorHost):
    """A kit emulator host serving one :class:`BatlabUnit` (pty unless told otherwise)."""

    def __init__(self, unit: BatlabUnit | None = None, *, pty: bool = True, **host: Any) -> None:
        self.unit = unit if unit is not None else BatlabUnit()
        host.setdefault("name", "batlab")
        super().__init__(self.unit, pty=pty, **host)
