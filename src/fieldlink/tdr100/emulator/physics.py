"""The reflection waveform a TDR100 would record for a scene: pure functions, seeded noise.

Along the apparent-distance axis x (one-way at Vp·c, tdr100.md §7.1) the trace is:

- ρ = -1 before the step leaves the front panel (x < 0), 0 along a matched cable;
- at the probe (x_s = cable length · Vp / cable velocity factor) a step to the probe
  head's reflection (inside the head the rods are in air: Z_air), then down to the
  rods' level in the soil, ρ_soil from Z_air/√Ka;
- at x_e = x_s + Vp·(offset + L·√Ka) the open end reflects: a rise damped by the
  soil's conductivity, then a slow approach to ρ∞ = (Kp - σZc)/(Kp + σZc) (§7.3);
- every edge blurred by the instrument's rise time, Gaussian noise shrinking as
  1/√averages.

It is a caricature of a transmission-line simulation, but one whose probe edges and
settled level are where the physics puts them, which is what a client measures.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from fieldlink.tdr100 import analysis
from fieldlink.tdr100.emulator.scene import Scene, Soil
from fieldlink.tdr100.settings import Settings

__all__ = ["Trace", "rho_inf", "synthesise", "trace"]

#: Loss of the end reflection per S/m of EC per m of rod (two-way): damps it in saline soil.
END_DAMPING = 20.0
#: Apparent distance over which the trace settles from the end reflection to ρ∞, m.
SETTLE_LENGTH = 0.5
#: What an uncalibrated waveform (GNWA) is off by: a gain and offset error.
UNCALIBRATED = (0.97, 0.015)


def _step(u: float, rise: float) -> float:
    """A unit step blurred by a Gaussian of width ``rise``."""
    return 0.5 * (1.0 + math.erf(u / (rise * math.sqrt(2.0))))


@dataclass(frozen=True)
class Trace:
    """The noiseless physics of one channel at one Vp: edge positions and levels."""

    start: float
    entry: float
    end: float | None
    cable: float
    head: float
    soil: float
    end_rise: float
    settled: float
    rise: float

    def __call__(self, x: float) -> float:
        r = self.rise
        value = -1.0 + (1.0 + self.cable) * _step(x, r)
        if self.end is None:  # nothing connected: the cable end is open
            return value + (1.0 - self.cable) * _step(x - self.start, r)
        value += (self.head - self.cable) * _step(x - self.start, r)
        value += (self.soil - self.head) * _step(x - self.entry, r)
        u = x - self.end
        value += self.end_rise * _step(u, r)
        if u > 0:
            value += (self.settled - self.soil - self.end_rise) * (1 - math.exp(-u / SETTLE_LENGTH))
        return value


def rho_inf(scene: Scene, soil: Soil | None) -> float:
    """The settled reflection long after the probe end (§7.3), for the scene's probe Kp."""
    if soil is None:
        return 1.0
    return analysis.reflection_for_conductivity(soil.conductivity, scene.probe.cell_constant)


def trace(scene: Scene, soil: Soil | None, vp: float) -> Trace:
    cable = scene.cable
    cable_rho = (cable.impedance - analysis.ZC) / (cable.impedance + analysis.ZC)
    start = cable.apparent_length(vp)
    probe = scene.probe
    entry = start + vp * probe.offset
    # Inside the head the rods are in air (epoxy aside): the level every soil drops from.
    head = probe.section_reflection(1.0)
    if soil is None:
        return Trace(start, entry, None, cable_rho, head, 1.0, 0.0, 1.0, scene.rise)
    level = probe.section_reflection(soil.permittivity)
    end = entry + vp * probe.length * math.sqrt(soil.permittivity)
    damping = math.exp(-END_DAMPING * soil.conductivity * probe.length)
    return Trace(
        start,
        entry,
        end,
        cable_rho,
        head,
        level,
        (1.0 - level) * damping,
        rho_inf(scene, soil),
        scene.rise,
    )


def synthesise(
    scene: Scene,
    soil: Soil | None,
    settings: Settings,
    rng: random.Random,
    *,
    calibrated: bool = True,
) -> list[float]:
    """The N reflection coefficients of one acquisition with ``settings``."""
    t = trace(scene, soil, settings.vp)
    n = settings.points
    step = settings.window / (n - 1)
    sigma = scene.noise / math.sqrt(settings.averages)
    gain, offset = (1.0, 0.0) if calibrated else UNCALIBRATED
    return [
        gain * t(settings.distance + i * step) + offset + rng.gauss(0.0, sigma) for i in range(n)
    ]
