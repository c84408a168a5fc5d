"""``fieldlink tdr100 ...`` and ``fieldlink emulate tdr100``, mounted on a throwaway root
group (the lead mounts them in the real one), against the emulator over a pty."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from fieldlink.errors import DeviceError, UsageError
from fieldlink.tdr100.cli import mount
from fieldlink.tdr100.client import TDR100
from fieldlink.tdr100.emulator import DEFAULT_SOILS, Scene, TDR100Emulator, Timing

FAST = Scene(timing=Timing(overhead=0.02, per_sample=1e-7, power_up=0.01))


def _root() -> click.Group:
    root = click.Group("fieldlink")
    emulate = click.Group("emulate")
    root.add_command(emulate)
    mount(root, emulate)
    return root


@pytest.fixture
def url() -> Iterator[str]:
    with TDR100Emulator(FAST, pty=True).running() as emu:
        assert emu.url is not None
        yield emu.url


def run(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(_root(), ["tdr100", *args])
    return result.exit_code, result.output, result.exception


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_settings_and_set(url: str) -> None:
    code, out, _ = run("settings", url)
    assert code == 0
    table = {r["setting"]: r for r in rows(out)}
    assert table["points"]["value"] == "251" and table["points"]["range"] == "20 to 2048"
    assert table["probe-length"]["units"] == "m"
    code, out, _ = run("set", url, "probe-length", "0.25")
    assert code == 0 and out.strip() == "probe-length = 0.25 m"
    code, out, _ = run("settings", url, "--format", "json")
    assert '"setting": "probe-length", "value": 0.25' in out


def test_set_refuses_out_of_range_naming_the_range(url: str) -> None:
    _, _, exc = run("set", url, "averages", "500")
    assert isinstance(exc, UsageError) and "1 to 128" in str(exc)
    _, _, exc = run("set", url, "colour", "5")
    assert isinstance(exc, UsageError) and "probe-length" in str(exc)


def test_measure_sweep_as_csv_and_table(url: str) -> None:
    code, out, _ = run("measure", url, "--channels", "1.1-1.8")
    assert code == 0
    got = rows(out)
    assert [r["channel"] for r in got] == [f"1.{i}" for i in range(1, 9)]
    for r, soil in zip(got, DEFAULT_SOILS, strict=True):
        assert float(r["water_content"]) == pytest.approx(soil.water_content, abs=0.02)
        assert float(r["ec_dS_m"]) == pytest.approx(soil.conductivity * 10, rel=0.05, abs=2e-3)
    code, out, _ = run("measure", url, "--channels", "1.2", "--format", "table",
                       "--temperature", "20", "--method", "ledieu")  # fmt: skip
    header, line = out.splitlines()
    assert header.split()[:4] == ["channel", "la_l", "ka", "water_content"]
    assert line.split()[0] == "1.2" and len(line.split()) == 6  # ec25 filled, no error


def test_measure_with_a_failing_channel_reports_it_and_keeps_the_rest(url: str) -> None:
    _, out, exc = run("measure", url, "--channels", "1.1,1.1/2.4,1.2")
    got = rows(out)
    assert [r["channel"] for r in got] == ["1.1", "1.1/2.4", "1.2"]
    assert got[0]["water_content"] and got[2]["water_content"]
    assert got[1]["water_content"] == "" and "bad moisture calculation" in got[1]["error"]
    assert isinstance(exc, DeviceError) and "1 of 3" in str(exc) and "1.1/2.4" in str(exc)


def test_measure_current_channel_with_own_calibration(url: str) -> None:
    code, out, _ = run("measure", url, "--calibration", "-0.053,0.0292,-5.5e-4,4.3e-6")
    assert code == 0
    (r,) = rows(out)
    assert r["channel"] == "0"
    assert float(r["water_content"]) == pytest.approx(DEFAULT_SOILS[0].water_content, abs=0.02)


def test_waveform_to_csv_and_png(url: str, tmp_path: Path) -> None:
    csv_file, png_file = tmp_path / "w.csv", tmp_path / "w.png"
    code, out, exc = run("waveform", url, "--channel", "1.4", "-o", str(csv_file),
                         "-o", str(png_file))  # fmt: skip
    assert code == 0, exc
    assert out.split() == [str(csv_file), str(png_file)]
    assert "# path=1.4" in csv_file.read_text()
    assert png_file.read_bytes()[:4] == b"\x89PNG"
    code, _, exc = run("waveform", url, "-o", str(tmp_path / "w.txt"))
    assert isinstance(exc, UsageError) and ".csv or .png" in str(exc)


def test_calibrate_version_power_off(url: str) -> None:
    code, out, _ = run("calibrate-cell-constant", url, "--water-temp", "20", "--save")
    assert code == 0 and out.startswith("cell constant ") and "saved" in out
    code, out, _ = run("version", url)
    assert rows(out)[1] == {"part": "os", "version": "2", "signature": "0x5678"}
    code, out, _ = run("power-off", url)
    assert code == 0 and "off" in out


def test_emulate_command_prints_the_url_first_and_stops_cleanly(tmp_path: Path) -> None:
    scene = tmp_path / "scene.toml"
    scene.write_text('[[channel]]\npath = "1.1"\nwater_content = 0.3\nconductivity = 0.02\n')
    script = (
        "import click, sys\n"
        "from fieldlink.tdr100.cli import mount\n"
        "root = click.Group('fieldlink'); emulate = click.Group('emulate')\n"
        "root.add_command(emulate); mount(root, emulate)\n"
        "root(sys.argv[1:])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "emulate", "tdr100", "--pty", "--scene", str(scene),
         "--crc", "kermit"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        assert url.startswith("serial:/dev/")
        with TDR100.from_url(url, timeout=2.0) as tdr:
            m = tdr.measure("1.1")
            assert m.water_content == pytest.approx(0.3, abs=0.02)
            assert tdr.crc is not None and tdr.crc.name == "CRC-16/KERMIT"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def test_emulate_command_rejects_bad_options() -> None:
    result = CliRunner().invoke(_root(), ["emulate", "tdr100", "--crc", "crc32"])
    assert isinstance(result.exception, UsageError) and "xmodem" in str(result.exception)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_sweep_progress_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from fieldlink.tdr100.cli import _progress

    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with _progress(8) as advance:
        advance("1.1")
    assert pipe.getvalue() == ""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with _progress(8) as advance:
        for i in range(1, 9):
            advance(f"1.{i}")
    assert "8/8" in terminal.getvalue()
