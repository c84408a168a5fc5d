"""Analysis against the hand-computed values of instrument-vectors.md §4.4."""

from __future__ import annotations

import math

import pytest

from fieldlink.errors import UsageError
from fieldlink.tdr100 import analysis as a

LA_L = [2.0, 2.5, 3.0, 4.0, 5.0]
TOPP = [0.0553, 0.1091, 0.1684, 0.2910, 0.4004]
LEDIEU = [0.0518, 0.1087, 0.1656, 0.2794, 0.3932]


def test_water_permittivity() -> None:
    assert a.water_permittivity(24.4) == pytest.approx(78.756, abs=5e-4)
    assert a.water_permittivity(25) == pytest.approx(78.54)
    assert a.water_permittivity(20) == pytest.approx(80.36, abs=5e-3)


def test_prb_worked_example() -> None:
    # L 0.3 m in water at 24.4 °C: La = 2.6623 m; indices 32.44 / 169.87 of 251 over 5 m.
    assert 0.3 * math.sqrt(a.water_permittivity(24.4)) == pytest.approx(2.6623, abs=5e-4)
    assert a.index_to_distance(32.44, 251, 5) == pytest.approx(0.6488)
    assert a.index_to_distance(169.87, 251, 5) == pytest.approx(3.3974)
    offset = a.probe_offset_in_water(
        32.44, 169.87, points=251, window=5, vp=1, probe_length=0.3, temperature=24.4
    )
    assert offset == pytest.approx(0.0863, abs=5e-4)
    # and with that offset La/L in water is √ε
    la_l = a.la_l(32.44, 169.87, points=251, window=5, vp=1, probe_length=0.3, probe_offset=offset)
    assert la_l == pytest.approx(math.sqrt(78.756), abs=1e-3)
    assert a.apparent_permittivity(la_l) == pytest.approx(78.756, abs=0.01)
    with pytest.raises(UsageError, match="Vp must be positive"):
        a.probe_offset_in_water(1, 2, points=251, window=5, vp=0, probe_length=0.3, temperature=20)
    # Both formulas take the same geometry and refuse the same nonsense in it.
    geometry = a.Geometry(points=251, window=5, vp=1, probe_length=0)
    with pytest.raises(UsageError, match="probe length"):
        a.probe_offset_in_water(1, 2, temperature=20, **geometry)
    with pytest.raises(UsageError, match="probe length"):
        a.la_l(1, 2, **geometry)


@pytest.mark.parametrize(("la_l", "topp", "ledieu"), list(zip(LA_L, TOPP, LEDIEU, strict=True)))
def test_water_content_equations(la_l: float, topp: float, ledieu: float) -> None:
    assert a.water_content(la_l) == pytest.approx(topp, abs=6e-5)
    assert a.water_content(la_l, "topp") == pytest.approx(topp, abs=6e-5)
    assert a.water_content(la_l, "ledieu") == pytest.approx(ledieu, abs=6e-5)


def test_user_polynomial() -> None:
    topp_again = a.Calibration((-0.053, 0.0292, -5.5e-4, 4.3e-6))
    assert a.water_content(4.0, topp_again) == pytest.approx(0.2910, abs=6e-5)
    linear = a.Calibration.parse("-0.1758,0.1138", "la_l")
    assert a.water_content(4.0, linear) == pytest.approx(0.2794, abs=6e-5)
    with pytest.raises(UsageError):
        a.Calibration.parse("a,b")
    with pytest.raises(UsageError):
        a.Calibration(())
    with pytest.raises(UsageError):
        a.water_content(3.0, "nope")  # type: ignore[arg-type]


def test_topp_inverse() -> None:
    for ka in (2.0, 10.0, 25.0, 40.0):
        assert a.topp_inverse(a.topp(ka)) == pytest.approx(ka, abs=1e-9)
    with pytest.raises(UsageError):
        a.topp_inverse(0.99)


def test_conductivity() -> None:
    assert a.conductivity(0.20, 1.0) == pytest.approx(0.01333, abs=5e-6)
    assert a.conductivity(0.20, 3.42) == pytest.approx(0.04560, abs=5e-6)
    assert a.conductivity(-0.5, 10) == pytest.approx(0.600)
    assert a.reflection_for_conductivity(0.0456, 3.42) == pytest.approx(0.2000, abs=1e-4)
    with pytest.raises(UsageError):
        a.conductivity(-1.0, 1.0)


def test_ec25() -> None:
    assert a.ec25(0.1, 25.0) == pytest.approx(0.1)
    assert a.ec25(0.11, 30.0) == pytest.approx(0.1)  # 0.11 / (1 + 0.02·5)
    assert a.ec25(0.09, 20.0) == pytest.approx(0.1)
    assert a.ec25(0.1, 15.0, coefficient=0.0191) == pytest.approx(0.1 / (1 - 0.191))
    with pytest.raises(UsageError):
        a.ec25(0.1, -40.0)


def test_cell_constant_and_loss_correction() -> None:
    # A probe of Z_air 200 Ω, 0.3 m: in water at 25 °C its rods show Z = 200/√78.54.
    z = 200 / math.sqrt(78.54)
    rho = (z - 50) / (z + 50)
    assert a.cell_constant_in_water(rho, 25.0, 0.3) == pytest.approx(200 / (376.73 * 0.3))
    assert a.loss_corrected(0.5, 0.9, -0.9) == pytest.approx(2 * (0.5 - 0.9) / 1.8 + 1)
    with pytest.raises(UsageError):
        a.loss_corrected(0.1, 0.5, 0.5)
