"""The cell model on its own: OCV curve, terminal voltage, charge, heat."""

from __future__ import annotations

import pytest

from fieldlink.batlab.emulator import LIION_OCV, Battery


def test_ocv_follows_the_table_and_rises_with_charge() -> None:
    b = Battery()
    volts = []
    for soc in [i / 20 for i in range(21)]:
        b.soc = soc
        volts.append(b.ocv())
    assert volts == sorted(volts)
    b.soc = 0.4
    assert b.ocv() == pytest.approx(dict(LIION_OCV)[0.4])
    b.soc = 0.3
    assert b.ocv() == pytest.approx((3.56 + 3.68) / 2)


def test_beyond_empty_and_full_the_voltage_runs_away() -> None:
    b = Battery(soc=-0.05)
    assert b.ocv() < 2.7  # a discharge limit of 2.5-2.8 V always ends the phase
    b.soc = 1.05
    assert b.ocv() > 4.3


def test_terminal_voltage_and_reversed_cell() -> None:
    b = Battery(soc=0.5, resistance=0.1)
    assert b.terminal_voltage(2.0) == pytest.approx(b.ocv() + 0.2)
    assert b.terminal_voltage(-2.0) == pytest.approx(b.ocv() - 0.2)
    r = Battery(soc=0.5, reversed=True)
    assert r.terminal_voltage(0.0) == pytest.approx(-r.ocv())


def test_charge_moves_state_of_charge_by_capacity() -> None:
    b = Battery(capacity_ah=2.0, soc=0.2)
    b.step(2.0, 1800)  # 1 Ah in
    assert b.soc == pytest.approx(0.7)
    b.step(-1.0, 3600)  # 1 Ah out
    assert b.soc == pytest.approx(0.2)
    b.step(-10.0, 36000)
    assert b.soc == pytest.approx(-0.1)  # clamped


def test_joule_heating_and_cooling() -> None:
    b = Battery(resistance=0.1, thermal_mass=45, thermal_resistance=20, ambient=25, temperature=25)
    for _ in range(100):
        b.step(3.0, 10)
    hot = b.temperature
    assert 25 < hot <= 25 + 9 * 0.1 * 20 + 1e-9  # towards the steady state I²R·Rth above ambient
    for _ in range(300):
        b.step(0.0, 10)
    assert b.temperature < hot and b.temperature == pytest.approx(25, abs=0.5)
    b.step(3.0, 10_000)  # a step longer than the time constant settles at once
    assert b.temperature == pytest.approx(25 + 0.9 * 20)
