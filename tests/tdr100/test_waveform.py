"""The waveform object: probe edges on a hand-built trace, La/L, CSV and PNG."""

from __future__ import annotations

import itertools
import math
import random
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlink.errors import UsageError
from fieldlink.tdr100 import Settings, Waveform, WaveformError
from fieldlink.tdr100.emulator import Scene, Soil
from fieldlink.tdr100.emulator.physics import synthesise
from fieldlink.tdr100.protocol import MuxPath
from fieldlink.tdr100.waveform import derivative, find_probe


def _ramp(points: list[tuple[int, float]], n: int) -> tuple[float, ...]:
    """Piecewise-linear values through (index, value) corners, flat outside."""
    out = []
    for i in range(n):
        for (i0, v0), (i1, v1) in itertools.pairwise(points):
            if i0 <= i <= i1:
                out.append(v0 + (v1 - v0) * (i - i0) / (i1 - i0))
                break
        else:
            out.append(points[0][1] if i < points[0][0] else points[-1][1])
    return tuple(out)


# cable 0, ramp into the head at 20-30, down to the soil level at 40-45, end ramp 100-110.
HAND = _ramp([(20, 0.0), (30, 0.2), (40, 0.2), (45, -0.1), (100, -0.1), (110, 0.8)], 151)
SETTINGS = Settings(vp=1.0, points=151, window=3.0, probe_length=0.3, probe_offset=0.1)


def test_derivative_rule() -> None:
    d = derivative([0, 1, 2, 3, 4, 5, 10, 10])
    assert d == [1.0, 1.8, 1.6]  # (ρ[k+5] - ρ[k]) / 5, N - 5 values


def test_edges_by_tangents_by_hand() -> None:
    e = find_probe(HAND)
    # Tangents along the ramps meet the baselines exactly at the ramps' starts.
    assert e.start == pytest.approx(20.0)
    assert e.end == pytest.approx(100.0)
    assert e.rms == 0.0
    w = Waveform(HAND, SETTINGS)
    # span 80/150 · 3 m = 1.6 m; (1.6 / 1 - 0.1) / 0.3 = 5.0
    assert w.la_l() == pytest.approx(5.0)
    assert w.water_content() == pytest.approx(0.4004, abs=1e-4)
    assert w.rho_inf() == pytest.approx(0.8)
    assert w.distances[0] == 0.0 and w.distances[-1] == pytest.approx(3.0)


def test_window_start_distance_shifts_axis_only() -> None:
    w = Waveform(HAND, SETTINGS.replace(distance=2.0))
    assert w.distances[100] == pytest.approx(4.0)
    assert w.la_l() == pytest.approx(5.0)


@pytest.mark.parametrize(
    "values",
    [
        tuple([0.0] * 100),
        tuple([0.0] * 8),
        tuple([0.0] * 50 + [float("nan")] * 50),
        _ramp([(20, 0.0), (30, 0.9)], 100),  # an open cable: a start, no end
        tuple(0.001 * (i % 3) for i in range(200)),  # noise only
    ],
)
def test_no_probe_is_a_waveform_error(values: tuple[float, ...]) -> None:
    with pytest.raises(WaveformError):
        find_probe(values)


@pytest.mark.parametrize(("points", "averages"), [(251, 4), (2048, 1), (500, 128), (200, 16)])
def test_synthetic_soils_come_back(points: int, averages: int) -> None:
    scene = Scene()
    settings = Settings(
        averages=averages, points=points, distance=3.25, window=4.0,
        probe_length=0.3, probe_offset=0.085,
    )  # fmt: skip
    for soil in (Soil("dry", 3.2, 0.001), Soil("wet", 30.0, 0.15), Soil("water", 78.5, 0.0)):
        framed = settings.replace(window=7.0 if soil.permittivity > 40 else 4.0)
        w = Waveform(tuple(synthesise(scene, soil, framed, random.Random(1))), framed)
        assert w.la_l() == pytest.approx(soil.permittivity**0.5, rel=0.02), soil


def test_csv_roundtrip(tmp_path: Path) -> None:
    w = Waveform(HAND, SETTINGS, MuxPath.parse("1.3"), calibrated=False)
    target = tmp_path / "w.csv"
    text = w.to_csv(target)
    assert target.read_text() == text
    lines = text.splitlines()
    assert "# vp=1.0" in lines and "# path=1.3" in lines and "# calibrated=False" in lines
    assert "index,distance_m,rho" in lines
    assert lines[-1] == "150,3.000000,0.8"
    back = Waveform.from_csv(target)
    assert back.settings == w.settings and back.path == w.path and not back.calibrated
    assert back.values == pytest.approx(w.values)


def test_from_csv_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        Waveform.from_csv(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("index,distance_m,rho\n0,0,1\n")
    with pytest.raises(UsageError, match="not a fieldlink waveform"):
        Waveform.from_csv(bad)


def test_png_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = Waveform(HAND, SETTINGS, MuxPath.parse("1.1")).plot(tmp_path / "w.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a trace without a probe still plots (no marks)
    flat = Waveform(tuple([0.0] * 30), SETTINGS.replace(points=30)).plot(tmp_path / "f.png")
    assert flat.stat().st_size > 0


def test_plot_without_matplotlib_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(UsageError, match=r"fieldlink\[plot\]"):
        Waveform(HAND, SETTINGS).plot(tmp_path / "w.png")
    assert not (tmp_path / "w.png").exists()


@settings(max_examples=300)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=400))
def test_find_probe_on_any_values_gives_edges_or_a_waveform_error(values: list[float]) -> None:
    try:
        e = find_probe(values)
    except WaveformError:
        return
    assert e.start < e.end


@settings(max_examples=100)
@given(st.lists(st.floats(-1.0, 1.0, width=32), min_size=20, max_size=2048))
def test_waveform_analysis_never_raises_anything_else(values: list[float]) -> None:
    w = Waveform(tuple(values), SETTINGS.replace(points=len(values)))
    try:
        la = w.la_l()
    except WaveformError:
        return
    assert math.isfinite(la)
