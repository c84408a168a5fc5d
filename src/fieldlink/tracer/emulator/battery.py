"""A lead-acid battery: state of charge integrates current, voltage follows it.

Open-circuit voltage rises linearly with state of charge (1.95–2.15 V a cell,
falling off to 1.80 V in the last 20 %);
on charge the terminal voltage adds the internal resistance drop and a gassing
over-potential that grows steeply above 60 % charge, so a constant-current bulk
phase ends by reaching the boost voltage as the battery fills, as a real one does.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Battery:
    capacity_ah: float = 100.0
    cells: int = 6
    soc: float = 0.7
    resistance: float = 0.02  # ohm for 6 cells

    @property
    def scale(self) -> float:
        return self.cells / 6

    @property
    def knee(self) -> float:
        """Charging current at which the gassing over-potential is fully developed (C/20)."""
        return 0.05 * self.capacity_ah

    def ocv(self) -> float:
        # Linear 1.95–2.15 V a cell, sagging to 1.80 V as the last 20 % goes.
        knee = 0.15 * max(0.0, 0.2 - self.soc) / 0.2
        return self.cells * (1.95 + 0.2 * self.soc - knee)

    def _gassing(self) -> float:
        excess = max(0.0, (self.soc - 0.6) / 0.4)
        return self.scale * (0.3 + 2.2 * excess * excess)

    def terminal_voltage(self, current: float) -> float:
        """Terminal voltage at ``current`` amps (positive = charging)."""
        r = self.resistance * self.scale
        if current <= 0:
            return self.ocv() + current * r
        knee = self.knee
        return self.ocv() + current * r + self._gassing() * min(current / knee, 1.0)

    def current_for(self, voltage: float) -> float:
        """Charging current that holds the terminal at ``voltage`` (0 if it is already above)."""
        r = self.resistance * self.scale
        head = voltage - self.ocv()
        if head <= 0:
            return 0.0
        knee = self.knee
        below = head / (r + self._gassing() / knee)
        if below <= knee:
            return below
        return knee + (head - self._gassing() - knee * r) / r

    def step(self, current: float, seconds: float) -> None:
        self.soc = min(1.0, max(0.0, self.soc + current * seconds / 3600 / self.capacity_ah))
