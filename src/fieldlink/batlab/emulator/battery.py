"""A battery cell model: open-circuit voltage against state of charge, internal
resistance, capacity and a lumped thermal mass.

Deliberately simple -- a lithium-ion-like OCV table with linear interpolation, one
series resistance, Joule heating against a thermal resistance to ambient -- because
what the emulator must reproduce is what the *tester* sees: a voltage that rises
while charging until the limit trips, falls while discharging, a charge that adds up
to the capacity, a temperature that moves.  Beyond 0 % and 100 % the voltage falls
or rises steeply so the firmware's limits always end a phase.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Final

__all__ = ["LIION_OCV", "Battery"]

#: (state of charge, open-circuit volts) for a generic 18650 lithium-ion cell.
LIION_OCV: Final[tuple[tuple[float, float], ...]] = (
    (0.00, 3.00),
    (0.05, 3.30),
    (0.10, 3.45),
    (0.20, 3.56),
    (0.40, 3.68),
    (0.60, 3.82),
    (0.80, 3.98),
    (0.90, 4.07),
    (1.00, 4.18),
)
_SOC_MIN: Final = -0.1
_SOC_MAX: Final = 1.1
_SLOPE_OUTSIDE: Final = 8.0  # volts per unit of SoC beyond the table


@dataclass
class Battery:
    """One cell.  Current is signed: positive charges the cell, negative discharges it."""

    capacity_ah: float = 2.5
    soc: float = 0.5
    resistance: float = 0.08
    thermal_mass: float = 45.0  # J/K (about 45 g of cell)
    thermal_resistance: float = 20.0  # K/W to ambient
    ambient: float = 25.0
    temperature: float = 25.0
    reversed: bool = False
    ocv_table: tuple[tuple[float, float], ...] = field(default=LIION_OCV)

    def ocv(self) -> float:
        """Open-circuit volts at the present state of charge."""
        table = self.ocv_table
        soc = self.soc
        if soc <= table[0][0]:
            return table[0][1] - (table[0][0] - soc) * _SLOPE_OUTSIDE
        if soc >= table[-1][0]:
            return table[-1][1] + (soc - table[-1][0]) * _SLOPE_OUTSIDE
        i = bisect.bisect_right([s for s, _ in table], soc)
        (s0, v0), (s1, v1) = table[i - 1], table[i]
        return v0 + (v1 - v0) * (soc - s0) / (s1 - s0)

    def terminal_voltage(self, current: float) -> float:
        """Volts at the terminals carrying ``current`` (as wired: negative if reversed)."""
        v = self.ocv() + current * self.resistance
        return -v if self.reversed else v

    def step(self, current: float, seconds: float) -> None:
        """Carry ``current`` for ``seconds``: charge moves, the cell heats and cools."""
        if seconds <= 0:
            return
        self.soc += current * seconds / (self.capacity_ah * 3600.0)
        self.soc = min(max(self.soc, _SOC_MIN), _SOC_MAX)
        heat = current * current * self.resistance
        loss = (self.temperature - self.ambient) / self.thermal_resistance
        tau = self.thermal_mass * self.thermal_resistance
        if seconds >= tau:  # settle at once rather than overshoot
            self.temperature = self.ambient + heat * self.thermal_resistance
        else:
            self.temperature += (heat - loss) * seconds / self.thermal_mass
