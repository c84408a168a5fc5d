"""Sunlight and a solar panel, simple but shaped like the real thing.

Irradiance follows the sun's elevation (declination by day of year, hour angle by
local solar time, latitude), ``G = 1000 · sin(elevation)^1.2`` W/m² under a clear
sky.  Clouds, when asked for, dim it by a factor drawn per ten-minute slot from a
generator seeded with (seed, slot): the same seed gives the same day.

The panel is the usual single-exponential curve ``I = Isc·(1 − exp((V − Voc)/a))``
with Isc proportional to irradiance and Voc falling logarithmically with it; the
MPPT tracker finds the maximum power point by scanning the curve.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass


def solar_elevation(when: dt.datetime, latitude: float) -> float:
    """Sun elevation in degrees at local solar time ``when``."""
    day = when.timetuple().tm_yday
    decl = math.radians(-23.44) * math.cos(2 * math.pi * (day + 10) / 365)
    hours = when.hour + when.minute / 60 + when.second / 3600
    hour_angle = math.radians(15 * (hours - 12))
    lat = math.radians(latitude)
    s = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(hour_angle)
    return math.degrees(math.asin(max(-1.0, min(1.0, s))))


def cloud_factor(when: dt.datetime, seed: int) -> float:
    """Fraction of clear-sky light that gets through (0.2–1.0), fixed per 10-minute slot."""
    slot = (
        int(when.timestamp() // 600)
        if when.tzinfo
        else int((when - dt.datetime(2000, 1, 1)).total_seconds() // 600)
    )
    rng = random.Random(f"{seed}:{slot}")
    return 1.0 if rng.random() < 0.5 else 0.2 + 0.8 * float(rng.random())


def irradiance(when: dt.datetime, latitude: float, *, clouds: bool = False, seed: int = 0) -> float:
    """Global irradiance on the panel, W/m²."""
    elevation = solar_elevation(when, latitude)
    if elevation <= 0:
        return 0.0
    clear: float = 1000.0 * math.sin(math.radians(elevation)) ** 1.2
    return clear * (cloud_factor(when, seed) if clouds else 1.0)


@dataclass(frozen=True, slots=True)
class Panel:
    """A panel (or string) at standard test conditions (1000 W/m²)."""

    voc: float = 22.0
    isc: float = 8.0
    #: Curve knee width as a fraction of Voc.
    knee: float = 0.06

    def open_voltage(self, g: float) -> float:
        if g <= 0:
            return 0.0
        return max(0.0, self.voc * (1 + 0.05 * math.log(min(g, 1200.0) / 1000.0)))

    def current(self, v: float, g: float) -> float:
        voc = self.open_voltage(g)
        if voc <= 0 or v >= voc:
            return 0.0
        return self.isc * g / 1000.0 * (1 - math.exp((v - voc) / (self.knee * voc)))

    def max_power_point(self, g: float) -> tuple[float, float]:
        """(voltage, current) at maximum power, by scanning the curve."""
        voc = self.open_voltage(g)
        if voc <= 0:
            return 0.0, 0.0
        best = (0.0, 0.0)
        for k in range(1, 100):
            v = voc * k / 100
            i = self.current(v, g)
            if v * i > best[0] * best[1]:
                best = (v, i)
        return best
