"""``fieldlink batlab ...`` through a throwaway click group, against in-process emulators."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from fieldlink.batlab.cli import mount
from fieldlink.batlab.emulator import BatlabEmulator, BatlabUnit, Battery, make_units
from fieldlink.batlab.firmware import make_image
from fieldlink.batlab.registers import CellRegister, Mode
from fieldlink.errors import FieldlinkError


@click.group()
def root() -> None:
    pass


@click.group()
def emulate() -> None:
    pass


mount(root, emulate)


def invoke(*args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(root, ["batlab", *args], catch_exceptions=True)
    if result.exception and not isinstance(result.exception, (SystemExit, FieldlinkError)):
        raise result.exception
    err = result.stderr if result.stderr_bytes is not None else ""
    code = result.exit_code
    if isinstance(result.exception, FieldlinkError):
        code = result.exception.exit_code  # what the root CLI does with it
        err += str(result.exception)
    return code, result.stdout, err


@pytest.fixture
def units() -> list[BatlabUnit]:
    us = make_units(2, speed=400, reset_silence=0.1, capacity_ah=0.1)
    for u in us:
        for n in range(4):
            b = u.cells[n].battery
            assert b is not None
            b.soc = 0.6
    return us


@pytest.fixture
def ports(units: list[BatlabUnit]) -> Iterator[list[str]]:
    hosts = [BatlabEmulator(u, pty=False) for u in units]
    with hosts[0].running() as a, hosts[1].running() as b:
        assert a.url and b.url
        yield ["--port", a.url, "--port", b.url]


def test_list_two_units(ports: list[str]) -> None:
    code, out, _ = invoke("list", *ports, "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert {r["serial"] for r in rows} == {262222, 262223}
    assert len(rows) == 8 and all(r["mode"] == "IDLE" for r in rows)


def test_debug_traces_every_packet_on_stderr_only(ports: list[str]) -> None:
    code, out, err = invoke("--debug", "list", *ports[:2], "--format", "json")
    assert code == 0 and len(json.loads(out)) == 4  # stdout stays clean JSON
    sent = [line for line in err.splitlines() if " -> aa " in line]
    answered = [line for line in err.splitlines() if " <- aa " in line]
    assert sent and len(answered) == len(sent)
    _, _, quiet = invoke("list", *ports[:2], "--format", "json")
    assert " -> aa " not in quiet


def test_read_and_write_with_units(ports: list[str], units: list[BatlabUnit]) -> None:
    code, out, _ = invoke("read", "unit", "FIRMWARE_VER", *ports[:2], "--format", "csv")
    assert code == 0 and out.splitlines()[1] == "262222,FIRMWARE_VER,7,"
    code, out, _ = invoke("write", "2", "CURRENT_SETPOINT", "1.5A", *ports)
    assert code == 0
    assert [u.cell_register(2, CellRegister.CURRENT_SETPOINT) for u in units] == [192, 192]
    code, out, _ = invoke("write", "0", "VOLTAGE_LIMIT_CHG", "4.2V", *ports[:2])
    assert units[0].cell_register(0, CellRegister.VOLTAGE_LIMIT_CHG) == 30583
    code, out, _ = invoke("read", "0", "voltage_limit_chg", *ports[:2], "--format", "json")
    assert (
        json.loads(out)[0]["value"] == "4.1999 V"
    )  # 30583, truncated as the official encoder does
    code, out, _ = invoke("write", "0", "CURRENT_CALIB_OFF", "-37", *ports[:2])
    assert units[0].cell_register(0, CellRegister.CURRENT_CALIB_OFF) == 65499


def test_bad_input_exit_codes(ports: list[str]) -> None:
    code, _, err = invoke("write", "unit", "FIRMWARE_VER", "9", *ports[:2])
    assert code != 0 and "read-only" in err
    code, _, err = invoke("write", "0", "CURRENT_SETPOINT", "9A", *ports[:2])
    assert code != 0 and "0..5 A" in err
    code, _, err = invoke("read", "7", "MODE", *ports[:2])
    assert code != 0 and "namespace" in err
    code, _, err = invoke("read", "0", "NOPE", *ports[:2])
    assert code != 0 and "NOPE" in err


def test_measure(ports: list[str]) -> None:
    _code, out, _ = invoke("measure", *ports[:2], "--cell", "1", "--format", "json")
    (row,) = json.loads(out)
    assert row["cell"] == 1 and row["mode"] == "IDLE" and 3.0 < row["voltage"] < 4.3


def test_impedance(ports: list[str]) -> None:
    code, out, _ = invoke(
        "impedance", *ports[:2], "--cell", "0", "--settle", "0.7", "--format", "json"
    )
    assert code == 0
    assert 0.05 < json.loads(out)[0]["impedance"] < 0.11


def test_discharge_logs_csv_and_sqlite(
    ports: list[str], tmp_path: Path, units: list[BatlabUnit]
) -> None:
    db = tmp_path / "lab.sqlite"
    out_dir = tmp_path / "logs"
    code, out, err = invoke(
        "discharge", *ports, "--cell", "0", "--rate", "2", "--poll", "0.1",
        "--output", str(out_dir), "--sink", f"sqlite:{db}",
    )  # fmt: skip
    assert code == 0, err
    assert "DISCHARGE done" in err  # live progress on stderr
    lines = out.splitlines()
    assert lines[0].startswith("serial,cell,result,capacity_mAh")
    assert len(lines) == 3 and all(",ok," in line for line in lines[1:])
    log = (out_dir / "batlab-log_DefaultPlaylist.csv").read_text().splitlines()
    summaries = [line for line in log if line.split(",")[11:12] == ["DISCHARGE"]]
    assert len(summaries) == 2
    with sqlite3.connect(db) as con:
        names = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        tables = [n for n in names if "Phases" in n]  # one per unit (station)
        rows = [r for t in tables for r in con.execute(f'select * from "{t}"').fetchall()]
    assert len(tables) == 2 and len(rows) == 2
    assert all(u.cell_register(0, CellRegister.MODE) == Mode.IDLE for u in units)


def test_charge_and_cycle(ports: list[str], tmp_path: Path) -> None:
    code, _, err = invoke("charge", *ports[:2], "--cell", "3", "--poll", "0.1", "--quiet")
    assert code == 0, err
    assert "CHARGE done" in err and "cell 3" in err
    code, _out, err = invoke(
        "cycle", *ports[:2], "--cell", "1", "--cycles", "1", "--rest", "0.3", "--poll", "0.1",
        "--quiet", "--plot", str(tmp_path / "plots"),
    )  # fmt: skip
    assert code == 0, err
    for phase in ("PRECHARGE", "CHARGEREST", "DISCHARGE", "DISCHARGEREST", "CHARGE"):
        assert f"{phase} done" in err
    assert (tmp_path / "plots" / "batlab-262222-capacity.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "batlab-262222-cell1.png").exists()


def test_test_command_with_settings_file(ports: list[str], tmp_path: Path) -> None:
    settings = tmp_path / "playlist.json"
    playlist = {"cellPlaylistName": "Lab", "restPeriod": 0.3, "reportingPeriod": 0.1}
    settings.write_text(json.dumps({**playlist, "numMeasurementCycles": 1}))
    code, _out, err = invoke(
        "test", str(settings), *ports[:2], "--cell", "2", "--output", str(tmp_path)
    )
    assert code == 0, err
    log = (tmp_path / "batlab-log_Lab.csv").read_text()
    assert log.startswith('"{""cellPlaylistName"": ""Lab""')
    assert "Cell Name,Batlab SN,Channel" in log and ",DISCHARGE," in log


def test_test_command_refuses_unsafe_settings(ports: list[str], tmp_path: Path) -> None:
    settings = tmp_path / "bad.json"
    settings.write_text(json.dumps({"chargeRate": 9}))
    code, _, err = invoke("test", str(settings), *ports[:2])
    assert code == 2 and "chargeRate" in err


def test_backwards_cell_fails_clearly_and_stays_stopped(units: list[BatlabUnit]) -> None:
    unit = units[0]
    unit.insert(1, Battery(reversed=True))
    with BatlabEmulator(unit, pty=False).running() as host:
        assert host.url
        code, _out, err = invoke("discharge", "--port", host.url, "--cell", "1", "--poll", "0.1")
    assert code == 1 and "backwards" in err
    assert unit.cell_register(1, CellRegister.MODE) in (Mode.STOPPED, Mode.BACKWARDS)


def test_firmware_command(units: list[BatlabUnit], tmp_path: Path) -> None:
    wrong = tmp_path / "small.bin"
    wrong.write_bytes(b"123")
    with BatlabEmulator(units[0], pty=False).running() as host:
        assert host.url
        code, _, err = invoke("firmware", str(wrong), "--port", host.url)
    assert code == 2 and "15360" in err


def test_no_units_found_without_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    import serial.tools.list_ports

    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda: [])
    code, _, err = invoke("list")
    assert code == 1 and "--port" in err


def test_emulate_prints_one_port_per_unit_and_the_official_library_connects() -> None:
    script = (
        "import click, sys\n"
        "from fieldlink.batlab.cli import mount\n"
        "root = click.Group('fieldlink'); emulate = click.Group('emulate')\n"
        "root.add_command(emulate); mount(root, emulate)\n"
        "root(['emulate', 'batlab', '--units', '2', '--speed', '50'])\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        first, second = proc.stdout.readline().strip(), proc.stdout.readline().strip()
        assert first.startswith("serial:/dev/") and second.startswith("serial:/dev/")
        import batlab.batlabclass as official

        bat = official.Batlab(first.split(":")[1])
        try:
            assert str(bat.sn) == "262222"
        finally:
            bat.disconnect()
        _code, out, _ = invoke("list", "--port", second, "--format", "json")
        assert {r["serial"] for r in json.loads(out)} == {262223}
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_emulator_command_bad_options() -> None:
    result = CliRunner().invoke(root, ["emulate", "batlab", "--units", "0"])
    assert result.exit_code != 0
    result = CliRunner().invoke(root, ["emulate", "batlab", "--speed", "-1"])
    assert result.exit_code != 0


def test_spawned_through_the_root_cli() -> None:
    """Needs the lead's mount of the batlab family in src/fieldlink/cli.py."""
    from fieldlink.kit.spawn import spawn_emulator

    with spawn_emulator("batlab", "--units", "2", lines=2) as proc:
        assert len(proc.urls) == 2 and all(u.startswith("serial:/dev/") for u in proc.urls)


def test_large_firmware_file_refused_early(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(make_image() + b"\0")
    code, _, err = invoke("firmware", str(big), "--port", "tcp:127.0.0.1:1")
    assert code == 2 and "15361 bytes" in err


def test_emulator_cell_specs() -> None:
    from fieldlink.batlab.emulator.host import apply_cell_spec
    from fieldlink.errors import UsageError

    us = make_units(2)
    apply_cell_spec(us, "2:empty")
    apply_cell_spec(us, "1.0:backwards")
    apply_cell_spec(us, "3:capacity=3.2,soc=0.1,temperature=30")
    assert all(u.cells[2].battery is None for u in us)
    b0 = us[1].cells[0].battery
    assert b0 is not None and b0.reversed
    b3 = us[0].cells[3].battery
    assert b3 is not None and (b3.capacity_ah, b3.soc, b3.ambient) == (3.2, 0.1, 30.0)
    for bad in ("2", "9:empty", "5.0:empty", "1:colour=red", "1:soc=2", "1:soc=x"):
        with pytest.raises(UsageError):
            apply_cell_spec(us, bad)
    result = CliRunner().invoke(root, ["emulate", "batlab", "--cell", "7:empty"])
    assert result.exit_code != 0
