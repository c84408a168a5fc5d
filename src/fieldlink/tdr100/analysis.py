"""Soil physics from TDR readings: no I/O, usable on live values and saved waveforms alike.

Everything here is a formula from tdr100.md §7 (references PRB, MAN, Topp 1980,
Ledieu 1986), so a user's spreadsheet step becomes one call:

- La/L from the probe's start and end (PRB eq. A1), apparent permittivity Ka = (La/L)²;
- volumetric water content with Topp (default), Ledieu, or the user's own polynomial;
- bulk EC from the cell constant and the settled reflection coefficient (MAN §6.3.13.1),
  and its correction to 25 °C;
- the permittivity of water at a temperature (PRB A5) and the cell constant a probe
  shows in de-ionised water (§7.3's emulator rule, UNCERTAIN).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict, Unpack

from fieldlink.errors import UsageError

__all__ = [
    "FREE_SPACE_IMPEDANCE",
    "ZC",
    "Calibration",
    "Geometry",
    "apparent_permittivity",
    "cell_constant_in_water",
    "conductivity",
    "ec25",
    "index_to_distance",
    "la_l",
    "ledieu",
    "loss_corrected",
    "probe_offset_in_water",
    "reflection_for_conductivity",
    "topp",
    "topp_inverse",
    "water_content",
    "water_permittivity",
]

#: Reflectometer (and cable) impedance, ohm (§7.3).
ZC = 50.0
#: Impedance of free space 1/(eps0 c), ohm (§7.3).
FREE_SPACE_IMPEDANCE = 376.73
#: Linear temperature coefficient for EC, per °C: the common soil-science default.
EC_TEMPERATURE_COEFFICIENT = 0.02


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, not {value}")
    return float(value)


def index_to_distance(index: float, points: int, window: float) -> float:
    """Distance from the window's start of a (fractional) waveform index: i/(N-1)·W (PRB)."""
    if points < 2:
        raise UsageError("a waveform needs at least 2 points")
    return index / (points - 1) * window


class Geometry(TypedDict):
    """How waveform indices become a probe's apparent length: the keywords :func:`la_l`
    and :func:`probe_offset_in_water` share (points, window m, Vp, probe length m)."""

    points: int
    window: float
    vp: float
    probe_length: float


def _apparent_length(start_index: float, end_index: float, geometry: Geometry) -> float:
    """(d_end - d_start)/Vp, m: the probe's length as the pulse sees it."""
    if geometry["probe_length"] <= 0 or geometry["vp"] <= 0:
        raise UsageError("probe length and Vp must be positive")
    span = index_to_distance(end_index - start_index, geometry["points"], geometry["window"])
    return span / geometry["vp"]


def la_l(
    start_index: float,
    end_index: float,
    *,
    probe_offset: float = 0.0,
    **geometry: Unpack[Geometry],
) -> float:
    """La/L = ((d_end - d_start)/Vp - offset) / L (PRB eq. A1), from GVAR's indices."""
    la = _apparent_length(start_index, end_index, geometry) - probe_offset
    return la / geometry["probe_length"]


def probe_offset_in_water(
    start_index: float, end_index: float, *, temperature: float, **geometry: Unpack[Geometry]
) -> float:
    """The probe offset that makes a reading in water come out right (PRB A.3.2).

    La in water is L·√ε(T); the offset is what the measured apparent length has beyond it.
    """
    la = _apparent_length(start_index, end_index, geometry)
    return la - geometry["probe_length"] * math.sqrt(water_permittivity(temperature))


def apparent_permittivity(la_over_l: float) -> float:
    """Ka = (La/L)² (MAN eq. [2])."""
    return _finite("La/L", la_over_l) ** 2


def water_permittivity(temperature: float) -> float:
    """Relative permittivity of water at ``temperature`` °C (PRB eq. A5)."""
    dt = _finite("temperature", temperature) - 25.0
    return 78.54 * (1 - 4.579e-3 * dt + 1.19e-5 * dt**2 - 2.8e-8 * dt**3)


def topp(ka: float) -> float:
    """Volumetric water content (m³/m³) from Ka, Topp et al. (1980)."""
    ka = _finite("Ka", ka)
    return -0.053 + 0.0292 * ka - 5.5e-4 * ka**2 + 4.3e-6 * ka**3


def topp_inverse(theta: float) -> float:
    """The Ka that Topp's equation maps to ``theta`` (it rises monotonically in Ka)."""
    theta = _finite("water content", theta)
    lo, hi = 1.0, 81.0
    if not topp(lo) <= theta <= topp(hi):
        raise UsageError(
            f"water content {theta} is outside Topp's range {topp(lo):.3f}-{topp(hi):.3f}"
        )
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if topp(mid) < theta else (lo, mid)
    return (lo + hi) / 2


def ledieu(la_over_l: float) -> float:
    """Volumetric water content from La/L, Ledieu et al. (1986): 0.1138·La/L - 0.1758.

    That this is the manual's equation [4] is the reference's UNCERTAIN reading.
    """
    return 0.1138 * _finite("La/L", la_over_l) - 0.1758


@dataclass(frozen=True)
class Calibration:
    """A user's own polynomial: θ = c0 + c1·v + c2·v² + ..., v = Ka or La/L."""

    coefficients: tuple[float, ...]
    variable: Literal["ka", "la_l"] = "ka"

    def __post_init__(self) -> None:
        if not self.coefficients:
            raise UsageError("a calibration polynomial needs at least one coefficient")
        if self.variable not in ("ka", "la_l"):
            raise UsageError("a calibration's variable is 'ka' or 'la_l'")
        for c in self.coefficients:
            _finite("calibration coefficient", c)

    @classmethod
    def parse(cls, text: str, variable: Literal["ka", "la_l"] = "ka") -> Calibration:
        """Coefficients written ``c0,c1,c2`` (the CLI's ``--calibration``)."""
        try:
            return cls(tuple(float(c) for c in text.split(",")), variable)
        except ValueError:
            raise UsageError(f"calibration {text!r}: write coefficients c0,c1,c2,...") from None

    def __call__(self, la_over_l: float) -> float:
        v = apparent_permittivity(la_over_l) if self.variable == "ka" else la_over_l
        return sum(c * v**i for i, c in enumerate(self.coefficients))


Method = Literal["topp", "ledieu"] | Calibration


def water_content(la_over_l: float, method: Method = "topp") -> float:
    """Volumetric water content (m³/m³) from La/L with Topp, Ledieu or a Calibration."""
    if isinstance(method, Calibration):
        return method(la_over_l)
    if method == "topp":
        return topp(apparent_permittivity(la_over_l))
    if method == "ledieu":
        return ledieu(la_over_l)
    raise UsageError(f"unknown water-content method {method!r}; use topp, ledieu or a calibration")


def conductivity(rho_inf: float, cell_constant: float, zc: float = ZC) -> float:
    """Bulk EC σ (S/m) = Kp/Zc · (1 - ρ∞)/(1 + ρ∞) (MAN §6.3.13.1)."""
    rho_inf = _finite("reflection coefficient", rho_inf)
    if not -1.0 < rho_inf <= 1.0:
        raise UsageError(f"a settled reflection coefficient must be in (-1, 1], not {rho_inf}")
    return cell_constant / zc * (1 - rho_inf) / (1 + rho_inf)


def reflection_for_conductivity(sigma: float, cell_constant: float, zc: float = ZC) -> float:
    """The inverse: ρ∞ = (Kp - σ·Zc)/(Kp + σ·Zc) (§7.3)."""
    return (cell_constant - sigma * zc) / (cell_constant + sigma * zc)


def ec25(
    sigma: float, temperature: float, coefficient: float = EC_TEMPERATURE_COEFFICIENT
) -> float:
    """EC at 25 °C from EC at ``temperature``: σ25 = σT / (1 + α(T - 25)).

    Linear compensation with α = 2 %/°C, the usual default for soil solutions; pass
    your own ``coefficient`` for another medium.
    """
    factor = 1 + coefficient * (_finite("temperature", temperature) - 25.0)
    if factor <= 0:
        raise UsageError(f"temperature {temperature} °C is outside the linear correction's range")
    return sigma / factor


def loss_corrected(rho: float, rho_open: float, rho_short: float) -> float:
    """Cable/multiplexer loss correction (Castiglione & Shouse 2003, PRB App. B):
    ρ' = 2(ρ - ρ_open)/(ρ_open - ρ_short) + 1."""
    if rho_open == rho_short:
        raise UsageError("open and short reflection coefficients must differ")
    return 2 * (rho - rho_open) / (rho_open - rho_short) + 1


def cell_constant_in_water(rho_water: float, temperature: float, probe_length: float) -> float:
    """Kp from the probe section's reflection in de-ionised water (§7.3, UNCERTAIN rule).

    Z_w = Zc(1+ρ)/(1-ρ), Kp = √ε(T)·Z_w / (376.73 Ω · L).
    """
    if not -1.0 < rho_water < 1.0:
        raise UsageError(f"reflection coefficient in water must be in (-1, 1), not {rho_water}")
    z_water = ZC * (1 + rho_water) / (1 - rho_water)
    return (
        math.sqrt(water_permittivity(temperature)) * z_water / (FREE_SPACE_IMPEDANCE * probe_length)
    )


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def rms(values: Sequence[float]) -> float:
    return math.sqrt(sum(v * v for v in values) / len(values)) if values else 0.0
