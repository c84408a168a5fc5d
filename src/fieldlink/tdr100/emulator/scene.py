"""What the emulated TDR100 is wired to: cable, probe and a soil per multiplexer channel.

The scene is the physics the emulator is given; a client that measures it well gets
it back (water content, EC).  It loads from TOML::

    [cable]                      # the coax from the TDR100 to the probes
    length = 3.0                 # m
    velocity = 0.8               # propagation velocity factor of the cable
    impedance = 50.0             # ohm (50 = matched, no reflection along it)

    [probe]                      # every channel's probe (CS610-like defaults)
    length = 0.3                 # rod length, m
    offset = 0.085               # apparent length inside the probe head, m
    impedance = 200.0            # rod impedance in air, ohm

    [noise]
    rms = 0.002                  # reflection-coefficient noise of one waveform
    seed = 0

    [timing]
    overhead = 0.3               # s per acquisition
    per_sample = 2e-5            # s per point per averaged waveform

    [[channel]]
    path = "1.1"                 # multiplexer path (see protocol.mux), "0" = direct
    name = "dry sand"
    permittivity = 3.5           # or: water_content = 0.05 (m³/m³, via Topp)
    conductivity = 0.001         # bulk EC, S/m

Defaults: eight level-1 channels from dry sand to wet clay, and the direct (no
multiplexer) connection sees channel 1.1's soil.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldlink.errors import ConfigError, UsageError
from fieldlink.kit.textfile import read_toml
from fieldlink.tdr100 import analysis
from fieldlink.tdr100.protocol.mux import MuxPath

__all__ = ["DEFAULT_SOILS", "Cable", "Probe", "Scene", "Soil", "Timing", "load_scene"]


@dataclass(frozen=True)
class Soil:
    """A medium around a probe: apparent permittivity Ka and bulk EC σ (S/m)."""

    name: str
    permittivity: float
    conductivity: float

    def __post_init__(self) -> None:
        if not 1.0 <= self.permittivity <= 90.0:
            raise UsageError(
                f"soil {self.name!r}: permittivity must be 1-90, not {self.permittivity}"
            )
        if not 0.0 <= self.conductivity <= 5.0:
            raise UsageError(
                f"soil {self.name!r}: conductivity must be 0-5 S/m, not {self.conductivity}"
            )

    @property
    def water_content(self) -> float:
        """What Topp's equation gives for this soil's Ka (the "true" value a client should get)."""
        return analysis.topp(self.permittivity)

    @classmethod
    def wet(cls, name: str, water_content: float, conductivity: float) -> Soil:
        """A soil given by its water content (Ka through the inverse of Topp's equation)."""
        return cls(name, analysis.topp_inverse(water_content), conductivity)


@dataclass(frozen=True)
class Cable:
    length: float = 3.0
    velocity: float = 0.8
    impedance: float = 50.0

    def __post_init__(self) -> None:
        if not (
            0 <= self.length <= 500 and 0.3 <= self.velocity <= 1.0 and 10 <= self.impedance <= 200
        ):
            raise UsageError("cable: length 0-500 m, velocity 0.3-1.0, impedance 10-200 ohm")

    def apparent_length(self, vp: float) -> float:
        """Where the probe starts on the TDR100's distance axis at setting ``vp``."""
        return self.length * vp / self.velocity


@dataclass(frozen=True)
class Probe:
    length: float = 0.3
    offset: float = 0.085
    impedance: float = 200.0

    def __post_init__(self) -> None:
        if not (0 < self.length <= 5 and 0 <= self.offset <= 1 and 50 < self.impedance <= 1000):
            raise UsageError("probe: length 0-5 m, offset 0-1 m, impedance 50-1000 ohm")

    @property
    def cell_constant(self) -> float:
        """Kp of this geometry: Z_air / (376.73 Ω · L) (TEM-line relation, §7.3)."""
        return self.impedance / (analysis.FREE_SPACE_IMPEDANCE * self.length)

    def section_reflection(self, permittivity: float) -> float:
        """ρ along the rods in a medium of ``permittivity``: Z = Z_air/√Ka against 50 Ω."""
        z = self.impedance / math.sqrt(permittivity)
        return (z - analysis.ZC) / (z + analysis.ZC)


@dataclass(frozen=True)
class Timing:
    overhead: float = 0.3
    per_sample: float = 2e-5
    power_up: float = 0.05

    def acquisition(self, averages: int, points: int, powered: bool = True) -> float:
        """Seconds one acquisition takes (§8: a few µs per point and average, plus overhead)."""
        return (
            self.overhead + averages * points * self.per_sample + (0 if powered else self.power_up)
        )


#: Eight level-1 channels, dry sand to wet clay (Ka, σ in S/m): typical textbook values.
DEFAULT_SOILS: tuple[Soil, ...] = (
    Soil("dry sand", 3.5, 0.001),
    Soil("moist sand", 8.0, 0.005),
    Soil("wet sand", 18.0, 0.02),
    Soil("dry loam", 6.0, 0.005),
    Soil("moist loam", 14.0, 0.03),
    Soil("wet loam", 22.0, 0.06),
    Soil("moist clay", 18.0, 0.08),
    Soil("wet clay", 30.0, 0.15),
)


def _default_channels() -> dict[MuxPath, Soil]:
    channels = {MuxPath(((1, i + 1),)): soil for i, soil in enumerate(DEFAULT_SOILS)}
    channels[MuxPath()] = DEFAULT_SOILS[0]
    return channels


@dataclass(frozen=True)
class Scene:
    cable: Cable = field(default_factory=Cable)
    probe: Probe = field(default_factory=Probe)
    channels: Mapping[MuxPath, Soil] = field(default_factory=_default_channels)
    noise: float = 0.002
    seed: int = 0
    timing: Timing = field(default_factory=Timing)
    #: Apparent distance of a short (liquid-level use, GDTS); None: no short, GDTS fails.
    short_distance: float | None = None
    #: Rise of every edge, m of apparent distance (≈0.2 ns, §8).
    rise: float = 0.025

    def soil(self, path: MuxPath) -> Soil | None:
        return self.channels.get(path)


def load_scene(path: str | Path) -> Scene:
    """A :class:`Scene` from a TOML file (format in the module docstring)."""
    file = Path(path)
    return scene_from_mapping(read_toml(file, "the scene"), str(file))


def _table(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _build(cls: Any, values: dict[str, Any], where: str, key: str) -> Any:
    try:
        return cls(**{k: float(v) for k, v in values.items()})
    except TypeError as exc:
        raise ConfigError(f"{where}: [{key}]: {exc}") from None
    except (ValueError, UsageError) as exc:
        raise ConfigError(f"{where}: [{key}]: {exc}") from None


def scene_from_mapping(data: Mapping[str, Any], where: str = "scene") -> Scene:
    cable = _build(Cable, _table(data, "cable", where), where, "cable")
    probe = _build(Probe, _table(data, "probe", where), where, "probe")
    timing = _build(Timing, _table(data, "timing", where), where, "timing")
    noise = _table(data, "noise", where)
    channels: dict[MuxPath, Soil] = {}
    entries = data.get("channel")
    if entries is None:
        channels = _default_channels()
    else:
        if not isinstance(entries, list):
            raise ConfigError(f"{where}: channel must be an array of tables ([[channel]])")
        for n, entry in enumerate(entries, 1):
            here = f"{where}: channel #{n}"
            try:
                p = MuxPath.parse(str(entry["path"]))
                name = str(entry.get("name", f"channel {p}"))
                sigma = float(entry.get("conductivity", 0.01))
                if "water_content" in entry:
                    soil = Soil.wet(name, float(entry["water_content"]), sigma)
                else:
                    soil = Soil(name, float(entry["permittivity"]), sigma)
            except KeyError as exc:
                raise ConfigError(f"{here}: missing key {exc.args[0]!r}") from None
            except (TypeError, ValueError, UsageError) as exc:
                raise ConfigError(f"{here}: {exc}") from None
            if p in channels:
                raise ConfigError(f"{here}: path {p} given twice")
            channels[p] = soil
    try:
        return Scene(
            cable=cable,
            probe=probe,
            channels=channels,
            timing=timing,
            noise=float(noise.get("rms", 0.002)),
            seed=int(noise.get("seed", 0)),
            short_distance=(float(data["short_distance"]) if "short_distance" in data else None),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
