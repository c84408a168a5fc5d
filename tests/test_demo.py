"""``fieldlink demo``: README command 1, run as a user runs it, with no options."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import toa5

from fieldlink.collect import load_stations
from fieldlink.demo import MARKER, prepare
from fieldlink.errors import UsageError


def test_demo_with_no_options_collects_twice_and_resumes(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "fieldlink", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "cycle 2 resumed from the stored record numbers" in out
    demo = tmp_path / "fieldlink-demo"
    assert (demo / MARKER).exists()

    # TOA5: readable by the published reader; Table1 holds 10 000 + 5 records, each once.
    path = demo / "toa5" / "demo_Table1.dat"
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = toa5.read_header(reader)
        rows = list(reader)
    assert header.env_line.table_name == "Table1"
    assert header.env_line.station_name == "demo"
    # A CR1000 on OS 24 sends no ModelNo: the model comes from its OS version.
    assert header.env_line.logger_model == "CR1000"
    assert header.env_line.logger_os == "CR1000.Std.24"
    numbers = [int(row[1]) for row in rows]
    assert numbers == list(range(10_005))
    assert "Table1" in out and "+5" in out and "10,005" in out

    # SQLite: the same records, the positions where the next run would resume, no holes.
    with sqlite3.connect(demo / "fieldlink.sqlite") as db:
        stored = [n for (n,) in db.execute('SELECT "record" FROM "demo_Table1" ORDER BY 1')]
        positions = dict(
            db.execute("SELECT table_name, last_record FROM positions WHERE station = 'demo'")
        )
        holes = db.execute("SELECT count(*) FROM holes").fetchone()[0]
        fast = db.execute('SELECT count(*), min("record"), max("record") FROM "demo_Fast"')
        fast_count, fast_min, fast_max = fast.fetchone()
    assert stored == numbers
    assert positions["Table1"] == 10_004
    assert holes == 0
    # Fast (10 Hz, 6000-record ring): 6000 in cycle 1, then 3000 new after 5 minutes.
    assert fast_count == 9000 and fast_max - fast_min + 1 == 9000
    assert positions["Fast"] == fast_max

    # The next step it suggests is a stations file that works as it stands.
    stations = demo / "stations.toml"
    assert f"fieldlink collect {Path('fieldlink-demo') / 'stations.toml'} --once" in " ".join(
        out.split()
    )
    (station,) = load_stations(stations).stations
    assert station.url == "tcp:127.0.0.1:6785"  # where `fieldlink emulate logger` listens
    assert {s.kind: s.path for s in station.sinks}["sqlite"] == demo / "mystation.sqlite"
    # On an 80-column console no sentence of the summary is broken over two lines.
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0] == "fieldlink demo: an emulated field station on this computer"
    assert lines[1].startswith("- a CR1000 datalogger at tcp:127.0.0.1:")
    assert [line[:2] for line in lines[2:5]] == ["  "] * 3, out

    # The whole station: the TDR100's sweep and the charge controller, sampled each cycle
    # into the same stores, numbered on from the stored position.
    with sqlite3.connect(demo / "fieldlink.sqlite") as db:
        sweeps = db.execute('SELECT * FROM "demo-tdr100_TDR100" ORDER BY "record"')
        names = [d[0] for d in sweeps.description]
        rows = sweeps.fetchall()
        tracer = db.execute(
            'SELECT "record", battery_voltage, charging_stage FROM "demo-tracer_Tracer"'
        ).fetchall()
    assert [row[names.index("record")] for row in rows] == [1, 2]
    theta = {n: rows[-1][names.index(n)] for n in names if n.endswith("_theta")}
    assert len(theta) == 8  # channels 1.1 .. 1.8, dry sand to wet clay
    assert theta["c1_1_theta"] < 0.1 < 0.35 < theta["c1_8_theta"] < 0.6
    assert [r[0] for r in tracer] == [1, 2]
    assert all(11.0 < r[1] < 15.0 and r[2] for r in tracer)
    assert "soil water" in out and "battery (charge controller)" in out
    assert (demo / "toa5" / "demo-tdr100_TDR100.dat").exists()


def test_the_demos_stations_file_collects_an_emulator(tmp_path: Path) -> None:
    from fieldlink.demo import write_stations_file
    from fieldlink.pakbus.emulator import LoggerEmulator

    path = write_stations_file(tmp_path)
    emu = LoggerEmulator(records=20, listen="127.0.0.1:0")
    with emu.running():
        assert emu.url is not None
        path.write_text(path.read_text().replace("tcp:127.0.0.1:6785", emu.url))
        r = subprocess.run(
            [sys.executable, "-m", "fieldlink", "collect", str(path), "--once", "--plain"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "mystation: ok:" in r.stdout
    assert (tmp_path / "mystation.sqlite").exists()
    assert (tmp_path / "mystation-toa5" / "mystation_Table1.dat").exists()


def test_prepare_clears_only_its_own_folder(tmp_path: Path) -> None:
    own = tmp_path / "own"
    prepare(own)
    (own / "toa5").mkdir()
    (own / "toa5" / "old.dat").write_text("x")
    (own / "fieldlink.sqlite").write_text("x")
    prepare(own)
    assert sorted(p.name for p in own.iterdir()) == [MARKER]

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(UsageError, match="only ever clears a folder it created"):
        prepare(foreign)
    assert (foreign / "thesis.tex").read_text() == "precious"


def test_demo_refuses_a_folder_of_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    r = subprocess.run(
        [sys.executable, "-m", "fieldlink", "demo", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "already holds other files" in r.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"
