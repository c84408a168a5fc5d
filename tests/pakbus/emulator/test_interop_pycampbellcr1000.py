"""Proof of faithfulness: the published client PyCampbellCR1000 (0.4) works, unmodified,
against the emulator -- its ``pycr1000`` command line and its library API.

Its commands run as subprocesses against an emulator on a free port, as a user would
run them.  Several ``pycr1000`` commands are broken on Python 3 by PyCampbellCR1000's
own bugs, before any byte reaches a logger, so they are not exercised:

- ``getsettings``: calls ``str.decode("string-escape")`` on its ``--delim`` option;
- ``getfile``: calls ``str.decode`` on the file name argument;
- ``settime``: packs a float number of seconds with ``struct.pack(">2l")``, which
  Python 3 refuses, and then misreports it as a date-format error;
- ``getdata``/``getfile`` writing to a file path: ``argparse.FileType('w', 0)`` opens
  an unbuffered text file, which Python 3 refuses; ``-`` (stdout) works.

The library calls behind the first two (``CR1000.settings``, ``CR1000.getfile``) work
and are tested directly.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldlink.pakbus.emulator import LoggerEmulator, spawn_logger_emulator
from fieldlink.pakbus.emulator.config import default_program
from fieldlink.pakbus.emulator.station import ManualClock
from fieldlink.pakbus.emulator.values import ValueModel
from fieldlink.pakbus.protocol.types import datetime_to_nsec

pycampbellcr1000 = pytest.importorskip("pycampbellcr1000")

pytestmark = pytest.mark.interop

PYCR1000 = shutil.which("pycr1000", path=str(Path(sys.executable).parent)) or shutil.which(
    "pycr1000"
)
RECORDS = 150
SEED = 11


@pytest.fixture(scope="module")
def emulator() -> Iterator[LoggerEmulator]:
    # A clock that stands still: a minute boundary passing mid-test would add a record.
    clock = ManualClock(dt.datetime.now().replace(second=30, microsecond=0))
    with LoggerEmulator(
        listen="127.0.0.1:0", records=RECORDS, seed=SEED, clock=clock
    ).running() as emu:
        yield emu


def pycr1000(*args: str, cwd: Path | None = None, link_timeout: int = 5) -> str:
    if PYCR1000 is None:
        pytest.skip("the pycr1000 command is not installed")
    r = subprocess.run(
        [PYCR1000, *args, "--timeout", str(link_timeout)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=cwd,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_gettime(emulator: LoggerEmulator) -> None:
    out = pycr1000("gettime", emulator.url or "")
    reported = dt.datetime.strptime(out.strip()[:19], "%Y-%m-%d %H:%M:%S")
    assert abs(reported - emulator.station.now()) < dt.timedelta(seconds=5)


def test_getprogstat(emulator: LoggerEmulator) -> None:
    out = pycr1000("getprogstat", emulator.url or "")
    lines = dict(line.split(" : ", 1) for line in out.splitlines() if " : " in line)
    assert lines["OSVer"] == "b'CR1000.Std.24'"
    assert lines["SerialNbr"] == "b'E4668'"
    assert lines["ProgName"] == "b'CPU:Default.CR1'"
    assert lines["CompState"] == "1"
    assert int(lines["ProgSig"]) == emulator.station.program.signature


def test_listtables(emulator: LoggerEmulator) -> None:
    out = pycr1000("listtables", emulator.url or "")
    assert out.split() == ["Status", "Table1", "Fast", "Public"]


def test_listfiles(emulator: LoggerEmulator) -> None:
    out = pycr1000("listfiles", emulator.url or "")
    assert out.split() == ["CPU:", "CPU:Default.CR1", "USR:", "CRD:"]


def read_csv(text: str) -> list[dict[str, str]]:
    body = [line for line in text.splitlines() if "," in line]
    return list(csv.DictReader(io.StringIO("\n".join(body))))


def test_getdata_returns_every_record_with_the_expected_values(emulator: LoggerEmulator) -> None:
    """The values are the ones the value model computes for (seed, record, time)."""
    out = pycr1000("getdata", emulator.url or "", "Table1", "-")
    rows = read_csv(out)
    assert [int(r["RecNbr"]) for r in rows] == list(range(RECORDS))
    model = ValueModel(SEED)
    fields = {f.name: f for f in default_program().tables[0].fields}
    for row in rows:
        number = int(row["RecNbr"])
        when = dt.datetime.strptime(row["Datetime"], "%Y-%m-%d %H:%M:%S")
        assert when == emulator.station.record("Table1", number).timestamp
        ns = datetime_to_nsec(when).total_ns
        for name in ("BattV_Min", "PTemp_C_Avg", "Counter", "Rain_mm_Tot"):
            expected = model.value("Table1", fields[name], number, ns)
            assert float(row[f"b'{name}'"]) == pytest.approx(float(expected))  # type: ignore[arg-type]


def test_update_appends_only_new_records(emulator: LoggerEmulator, tmp_path: Path) -> None:
    db = tmp_path / "table1.csv"
    pycr1000("update", emulator.url or "", "Table1", str(db))
    first = read_csv(db.read_text())
    assert len(first) == RECORDS
    out = pycr1000("update", emulator.url or "", "Table1", str(db))
    assert "No new records were found" in out
    assert len(read_csv(db.read_text())) == RECORDS


def test_library_settings_file_download_and_data(emulator: LoggerEmulator) -> None:
    device = pycampbellcr1000.CR1000.from_url(emulator.url, timeout=5)
    try:
        settings = device.settings
        by_id = {s["SettingId"]: s for s in settings}
        assert by_id[0]["SettingValue"] == b"CR1000.Std.24\x00" and by_id[0]["ReadOnly"] == 1
        assert by_id[3]["SettingValue"] == b"\x00\x01"
        assert by_id[49]["SettingValue"] == b"\x03\xe8"
        program = device.getfile("CPU:Default.CR1")
        assert program == emulator.station.file_bytes("CPU:Default.CR1")
        assert b"DataTable(Table1" in program
        assert device.getfile(".TDF") == emulator.station.tdf()
        truth = emulator.station.records("Table1")
        # mode 7: start <= time < stop, so the record at the stop time is not included
        records = device.get_data("Table1", truth[100].timestamp, truth[110].timestamp)
        assert [r["RecNbr"] for r in records] == list(range(100, 110))
        assert [r["Datetime"] for r in records] == [t.timestamp for t in truth[100:110]]
    finally:
        device.bye()


def test_against_the_command_line_emulator() -> None:
    """The whole chain as users run it: our command in one process, theirs in another."""
    started = time.time()
    with spawn_logger_emulator("--records", "30", "--seed", "2", stderr=subprocess.DEVNULL) as proc:
        assert pycr1000("listtables", proc.url).split()[:2] == ["Status", "Table1"]
        rows = read_csv(pycr1000("getdata", proc.url, "Table1", "-"))
    # The command's logger clock is the host's: each minute that began since it started
    # may have logged one more Table1 record (its interval is a minute).
    assert 30 <= len(rows) <= 30 + minutes_begun_since(started)
    assert [int(r["RecNbr"]) for r in rows] == list(range(len(rows)))


def minutes_begun_since(then: float) -> int:
    """Minute boundaries of the host clock passed since Unix time ``then``."""
    return int(time.time() // 60) - int(then // 60)


def test_over_a_serial_line_without_waiting_out_its_timeout() -> None:
    """pycr1000 wakes a serial logger with 6 x 0xBD and waits for a frame before its first
    command; the emulator answers the burst with a Hello Request, so each command is
    quick over a pseudo-terminal too (before: every command waited its whole timeout)."""
    with LoggerEmulator(pty=True, records=20, seed=SEED).running() as emu:
        url = emu.url or ""
        assert url.startswith("serial:/dev/")
        # With a 60 s link timeout, a burst left unanswered would cost pycr1000 at least
        # 60 s per command; the bound below is far from both that and a loaded machine.
        for command in ("gettime", "listtables"):
            start = time.monotonic()
            out = pycr1000(command, url, link_timeout=60)
            assert time.monotonic() - start < 45.0, command
        assert out.split() == ["Status", "Table1", "Fast", "Public"]


def test_fieldlink_update_carries_on_a_pycr1000_update_file(tmp_path: Path) -> None:
    """A user's ``pycr1000 update`` file, continued by ``fieldlink logger update``."""
    from fieldlink.cli import main

    clock = ManualClock(dt.datetime(2024, 5, 1, 12, 0, 30))
    with LoggerEmulator(listen="127.0.0.1:0", records=40, seed=3, clock=clock).running() as emu:
        url = emu.url or ""
        db = tmp_path / "db.csv"
        pycr1000("update", url, "Table1", str(db))
        header = db.read_bytes().split(b"\r\n")[0]
        assert header.startswith(b"Datetime,RecNbr,b'BattV_Min',")
        clock.advance(180)  # three more records
        main(["logger", "update", url, "Table1", str(db)])  # exits only on an error
        lines = db.read_bytes().split(b"\r\n")
    assert lines[0] == header and lines[-1] == b""
    rows = list(csv.reader(io.StringIO(db.read_text(), newline="")))
    assert [int(r[1]) for r in rows[1:]] == list(range(43))
    assert all(len(r) == len(rows[0]) for r in rows)
    status = rows[0].index("b'Status_Msg'")
    assert rows[-1][status].startswith("b'") and rows[-2][status].startswith("b'")
    assert rows[-1][0] == str(emu.station.record("Table1", 42).timestamp)
