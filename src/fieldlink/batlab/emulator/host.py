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
from fieldlink.batlab.emulator.unit import BatlabUnit
from fieldlink.errors import UsageError
from fieldlink.kit.clock import Clock, monotonic
from fieldlink.kit.host import EmulatorHost

__all__ = ["BatlabEmulator", "apply_cell_spec", "make_units"]

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


_BATTERY_KEYS = {
    "capacity": "capacity_ah",
    "soc": "soc",
    "resistance": "resistance",
    "temperature": "temperature",
    "ambient": "ambient",
}


def apply_cell_spec(units: list[BatlabUnit], spec: str) -> None:
    """Change slots from a command-line spec: ``[UNIT.]CELL:WHAT``.

    WHAT is ``empty``, ``backwards``, or ``key=value,...`` with keys capacity (Ah),
    soc (0..1), resistance (ohm), temperature and ambient (°C).  Without ``UNIT.``
    the change applies to that cell of every unit.  E.g. ``2:empty``,
    ``1.0:backwards``, ``3:capacity=3.2,soc=0.1``.
    """
    where, sep, what = spec.partition(":")
    if not sep or not what:
        raise UsageError(f"cell spec {spec!r}: expected [UNIT.]CELL:empty|backwards|key=value,...")
    unit_text, dot, cell_text = where.rpartition(".")
    try:
        cell = int(cell_text)
        targets = [units[int(unit_text)]] if dot else units
    except (ValueError, IndexError):
        raise UsageError(f"cell spec {spec!r}: no such unit or cell") from None
    if not 0 <= cell < 4:
        raise UsageError(f"cell spec {spec!r}: cell must be 0-3")
    for unit in targets:
        unit.insert(cell, _battery(what, spec))


def _battery(what: str, spec: str) -> Battery | None:
    if what == "empty":
        return None
    if what == "backwards":
        return Battery(reversed=True)
    values: dict[str, float] = {}
    for item in what.split(","):
        key, eq, text = item.partition("=")
        if not eq or key.strip() not in _BATTERY_KEYS:
            known = ", ".join(_BATTERY_KEYS)
            raise UsageError(f"cell spec {spec!r}: {item!r} is not KEY=VALUE with KEY in {known}")
        try:
            values[_BATTERY_KEYS[key.strip()]] = float(text)
        except ValueError:
            raise UsageError(f"cell spec {spec!r}: {text!r} is not a number") from None
    if values.get("capacity_ah", 1.0) <= 0 or not 0 <= values.get("soc", 0.5) <= 1:
        raise UsageError(f"cell spec {spec!r}: capacity must be positive and soc within 0..1")
    if "temperature" in values and "ambient" not in values:
        values["ambient"] = values["temperature"]
    return Battery(**values)  # type: ignore[arg-type]
