"""``fieldlink logger ...`` against the emulator, as a PyCampbellCR1000 user would type it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldlink.cli import main
from fieldlink.errors import NotFound, UsageError
from fieldlink.pakbus.cli import parse_datetime
from fieldlink.pakbus.emulator import LoggerEmulator
from fieldlink.pakbus.emulator.station import ManualClock

T0 = 1_714_564_800.0  # 2024-05-01 12:00:00, the emulated logger's frozen clock


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    emu = LoggerEmulator(records=300, seed=9, listen="127.0.0.1:0", clock=lambda: T0)
    with emu.running():
        assert emu.url is not None
        yield emu.url


@pytest.fixture
def fresh() -> Iterator[LoggerEmulator]:
    emu = LoggerEmulator(records=30, seed=2, listen="127.0.0.1:0", compile_seconds=0.5)
    with emu.running():
        yield emu


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``fieldlink logger ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        main(["logger", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# --- PyCampbellCR1000's commands --------------------------------------------------------------


def test_gettime(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out, _ = run(capsys, "gettime", url)
    assert code == 0 and out.strip() == "2024-05-01 12:00:00"


def test_pycampbellcr1000_options_are_accepted(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, out, err = run(
        capsys,
        "gettime",
        url,
        "--timeout",
        "5",
        "--src",
        "2050",
        "--dest",
        "1",
        "--src_addr",
        "2050",
        "--dest_addr",
        "1",
        "--code",
        "0",
    )
    assert code == 0, err
    assert out.strip() == "2024-05-01 12:00:00"


def test_connection_options_reach_the_client_under_its_keywords(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each PyCampbellCR1000 option lands on the client keyword it means (--dest is the
    node, --dest_addr the next hop's address ...), for a command and for update's station."""

    wanted: dict[str, object] = {
        "node": 7,
        "address": 3,
        "src": 2050,
        "src_address": 2051,
        "security_code": 1234,
        "timeout": 2.5,
        "first_timeout": 30.0,
    }
    seen: list[dict[str, object]] = []

    def from_url(url: str, **options: object) -> None:
        seen.append({"url": url, **options})
        raise NotFound("stop here")

    def update_station(url: str, table: str, path: Path, **options: object) -> None:
        from_url(url, **{k: v for k, v in options.items() if k in wanted})

    from fieldlink.pakbus.client import Datalogger

    monkeypatch.setattr(Datalogger, "from_url", from_url)
    monkeypatch.setattr("fieldlink.collect.update.update_station", update_station)
    url = "tcp:127.0.0.1:9"
    options = [url, "--timeout", "2.5", "--first-timeout", "30", "--src", "2050", "--dest", "7"]
    options += ["--src-addr", "2051", "--dest_addr", "3", "--code", "1234"]
    for command in (["gettime"], ["update", "Table1", str(tmp_path / "t.csv")]):
        code, _, err = run(capsys, command[0], *options, *command[1:])
        assert code == 1 and "stop here" in err, err
    assert seen == [{"url": url, **wanted}] * 2


def test_settime(capsys: pytest.CaptureFixture[str]) -> None:
    # A logger clock that stands still: read back after the set, it shows the time set
    # (plus half a round trip), never the second after it on a slow machine.
    emu = LoggerEmulator(records=30, seed=2, listen="127.0.0.1:0", clock=ManualClock())
    with emu.running():
        assert emu.url is not None
        code, out, err = run(capsys, "settime", emu.url, "2031-02-03 04:05")
    assert code == 0, err
    old, current = out.splitlines()
    assert old == "Old Time : 2024-05-01 12:00:30"
    assert current == "Current Time : 2031-02-03 04:05:00"
    assert abs(emu.station.now() - dt.datetime(2031, 2, 3, 4, 5)) < dt.timedelta(seconds=1)


def test_getprogstat(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out, _ = run(capsys, "getprogstat", url)
    assert code == 0
    keys = [line.split(" : ")[0] for line in out.splitlines()]
    assert keys[:9] == [
        "OSVer",
        "OSSig",
        "SerialNbr",
        "PowUpProg",
        "CompState",
        "ProgName",
        "ProgSig",
        "CompTime",
        "CompResult",
    ]
    assert "OSVer : CR1000.Std.24" in out


def test_getsettings_as_csv(capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path) -> None:
    # --raw is the former output, byte for byte (issue 12 made names the default).
    code, out, _ = run(capsys, "getsettings", url, "--delim", ";", "--raw")
    assert code == 0
    table = list(csv.reader(io.StringIO(out), delimiter=";"))
    assert table[0] == ["SettingId", "SettingValue", "ReadOnly"]
    assert ["0", "CR1000.Std.24", "1"] in table
    assert ["1", str(0x4500123C), "1"] in table and ["4", "00 00 00 00 00 00", "0"] in table
    target = tmp_path / "settings.csv"
    code, _, _ = run(capsys, "getsettings", url, "--output", str(target))
    assert code == 0 and target.read_text().startswith("SettingId,Name,SettingValue,ReadOnly")


def test_getsettings_names_and_decodes(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out, _ = run(capsys, "getsettings", url)
    assert code == 0
    rows = {r[0]: r[1:] for r in csv.reader(io.StringIO(out))}
    assert rows["0"] == ["OS Version", "CR1000.Std.24", "1"]
    assert rows["1"] == ["Serial Number", "E4668", "1"]
    assert rows["4"] == ["Security", "level 1 0, level 2 0, level 3 0", "0"]
    assert rows["7"] == ["RS-232 Baud Rate", "auto (from 38400)", "0"]
    assert rows["49"] == ["Max Packet Size", "1000", "0"]
    assert rows["54"][0] == ""  # moved between OS versions: not named


def test_listfiles(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out, _ = run(capsys, "listfiles", url)
    assert code == 0 and "CPU:" in out.splitlines()
    code, out, _ = run(capsys, "listfiles", url, "-l")
    assert "running now" in out


def test_getfile(capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path) -> None:
    target = tmp_path / "prog.cr1"
    code, _, err = run(capsys, "getfile", url, "CPU:Default.CR1", str(target))
    assert code == 0, err
    assert b"BeginProg" in target.read_bytes()
    code, out, _ = run(capsys, "getfile", url, "CPU:Default.CR1", "-")
    assert code == 0 and out.encode() == target.read_bytes()


def test_getfile_of_a_missing_file(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path
) -> None:
    target = tmp_path / "x.cr1"
    code, _, err = run(capsys, "getfile", url, "CPU:nothere.CR1", str(target))
    assert code == 1
    assert "no file 'CPU:nothere.CR1'" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []  # nothing that looks like a download


def test_listtables(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out, _ = run(capsys, "listtables", url)
    assert code == 0 and out.split() == ["Status", "Table1", "Fast", "Public"]


def test_getdata_csv(capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path) -> None:
    target = tmp_path / "table1.csv"
    code, out, err = run(capsys, "getdata", url, "Table1", str(target))
    assert code == 0, err
    # Data to the file; in a pipe, PyCampbellCR1000's progress lines on stdout (issue 12)
    lines = out.splitlines()
    assert lines[0] == "Your download is starting." and lines[1].startswith("Packet 0 with ")
    assert lines[-2:] == ["---------------------------", "300 new records were found"]
    assert sum(int(line.split()[3]) for line in lines if line.startswith("Packet ")) == 300
    assert "300 records of Table1" in err
    rows = list(csv.reader(target.open()))
    assert rows[0][:4] == ["Datetime", "RecNbr", "BattV_Min", "PTemp_C_Avg"]
    assert "WS_ms_Avg(4)" in rows[0]
    assert [r[1] for r in rows[1:]] == [str(n) for n in range(300)]
    assert rows[-1][0] == "2024-05-01 12:00:00"


def test_getdata_time_range_as_toa5(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path
) -> None:
    target = tmp_path / "table1.dat"
    code, _, err = run(
        capsys,
        "getdata",
        url,
        "Table1",
        str(target),
        "--start",
        "2024-05-01 11:00",
        "--stop",
        "2024-05-01 11:30",
    )
    assert code == 0, err
    lines = target.read_text().splitlines()
    assert lines[0].startswith('"TOA5","')
    assert lines[1].startswith('"TIMESTAMP","RECORD","BattV_Min"')
    assert lines[2].startswith('"TS","RN","Volts"')
    data = lines[4:]
    assert len(data) == 30
    assert data[0].startswith('"2024-05-01 11:00:00",')
    assert data[-1].startswith('"2024-05-01 11:29:00",')


def test_getdata_to_stdout_with_options(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out, _ = run(
        capsys,
        "getdata",
        url,
        "Table1",
        "-",
        "--newest",
        "3",
        "--fields",
        "Counter,RH",
        "--delim",
        "\\t",
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Datetime\tRecNbr\tCounter\tRH"
    assert [line.split("\t")[2] for line in lines[1:]] == ["297", "298", "299"]
    code, out, _ = run(capsys, "getdata", url, "Table1", "-", "--format", "toa5", "--newest", "1")
    assert out.startswith('"TOA5"')


def test_getdata_of_the_fragmented_status_table(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, out, _ = run(capsys, "getdata", url, "Status", "-")
    assert code == 0
    header, row = list(csv.reader(io.StringIO(out)))
    assert header[2] == "OSVersion" and row[2] == "CR1000.Std.24"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["Nope", "-"], 1, "no table 'Nope'"),
        (["Table1", "-", "--fields", "Nope"], 1, "no field 'Nope'"),
        (["Table1", "-", "--start", "yesterday"], 2, "cannot read the date 'yesterday'"),
        (
            ["Table1", "-", "--start", "2024-05-02 00:00", "--stop", "2024-05-01 00:00"],
            2,
            "is not before --stop",
        ),
        (["Table1", "out.xyz", "--format", "json"], 2, "json"),
        (["Table1", "-", "--newest", "2", "--since-record", "4"], 2, "cannot be combined"),
    ],
)
def test_getdata_bad_input(
    capsys: pytest.CaptureFixture[str], url: str, args: list[str], code: int, message: str
) -> None:
    status, _, err = run(capsys, "getdata", url, *args)
    assert status == code
    assert message in err


def test_a_silent_node_is_a_link_error(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, _, err = run(capsys, "gettime", url, "--dest", "9", "--timeout", "0.2")
    assert code == 1
    assert "node 9 did not answer" in one_error_line(err)


def test_wrong_security_code(capsys: pytest.CaptureFixture[str]) -> None:
    emu = LoggerEmulator(records=10, security_code=4321, listen="127.0.0.1:0")
    with emu.running():
        assert emu.url is not None
        code, _, err = run(capsys, "getfile", emu.url, "CPU:Default.CR1", "-", "--code", "1")
        assert code == 1 and "security code" in one_error_line(err)
        code, out, _ = run(capsys, "getfile", emu.url, "CPU:Default.CR1", "-", "--code", "4321")
        assert code == 0 and "BeginProg" in out


def test_debug_logs_frames_in_hex(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out, err = run(capsys, "gettime", url, "--debug")
    assert code == 0 and out.strip() == "2024-05-01 12:00:00"
    sent = [line for line in err.splitlines() if " -> " in line and "clock command" in line]
    assert sent and " 90 01 " in sent[0]  # Ring (the first frame), to node 1


# --- fieldlink's own commands -----------------------------------------------------------------


def test_ping(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out, _ = run(capsys, "ping", url)
    assert code == 0 and out.startswith("PakBus node 1 answered in ")


def test_sync_clock(capsys: pytest.CaptureFixture[str], fresh: LoggerEmulator) -> None:
    assert fresh.url is not None
    fresh.station.set_clock(dt.datetime.now() - dt.timedelta(seconds=40))
    code, out, err = run(capsys, "sync-clock", fresh.url, "--samples", "3")
    assert code == 0, err
    assert "stepped" in out
    # Far from the 40 s it was off, and from the round trips of a loaded machine.
    assert abs((fresh.station.now() - dt.datetime.now()).total_seconds()) < 3.0
    code, out, _ = run(capsys, "sync-clock", fresh.url, "--threshold", "5")
    assert "not stepped" in out


def test_values(capsys: pytest.CaptureFixture[str], fresh: LoggerEmulator) -> None:
    assert fresh.url is not None
    code, out, _ = run(capsys, "setvalue", fresh.url, "Public", "Setpoint", "18.25")
    assert code == 0 and out.strip() == "18.25"
    code, out, _ = run(capsys, "getvalue", fresh.url, "Public", "Setpoint")
    assert out.strip() == "18.25"
    code, out, _ = run(capsys, "getvalue", fresh.url, "Public", "WS_ms", "--swath", "4")
    assert code == 0 and len(out.split()) == 4
    code, _, err = run(capsys, "setvalue", fresh.url, "Public", "Setpoint", "warm")
    assert code == 2 and "not a number" in err
    # A whole number typed for an integer variable (INT4) is sent as one; a fraction is refused.
    code, out, err = run(capsys, "setvalue", fresh.url, "Public", "Counter", "5")
    assert code == 0 and out.strip() == "5", err
    code, _, err = run(capsys, "setvalue", fresh.url, "Public", "Counter", "5.5")
    assert code == 2 and "not a whole number" in err
    code, _, err = run(capsys, "getvalue", fresh.url, "Public", "Nope")
    assert code == 1 and "no field 'Nope'" in err


def test_tabledef(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out, _ = run(capsys, "tabledef", url, "Table1")
    assert code == 0
    assert out.startswith("table Table1 (number 2, signature ")
    assert "every 60 s" in out
    assert any(line.split()[:2] == ["WS_ms_Avg(4)", "IEEE4"] for line in out.splitlines())


def test_putfile_and_filecontrol(
    capsys: pytest.CaptureFixture[str], fresh: LoggerEmulator, tmp_path: Path
) -> None:
    assert fresh.url is not None
    local = tmp_path / "notes.txt"
    local.write_bytes(b"calibrated 2024-05-01\n" * 100)
    code, _, err = run(capsys, "putfile", fresh.url, str(local), "USR:notes.txt")
    assert code == 0, err
    back = tmp_path / "back.txt"
    run(capsys, "getfile", fresh.url, "USR:notes.txt", str(back))
    assert back.read_bytes() == local.read_bytes()
    code, _, _ = run(capsys, "filecontrol", fresh.url, "USR:notes.txt", "delete")
    assert code == 0
    code, _, _ = run(capsys, "putfile", fresh.url, str(tmp_path / "none.txt"), "USR:x")
    assert code == 2


def test_send_program(
    capsys: pytest.CaptureFixture[str], fresh: LoggerEmulator, tmp_path: Path
) -> None:
    assert fresh.url is not None
    program = tmp_path / "hourly.CR1"
    program.write_text(
        "Public AirTC\nDataTable(Hourly, True, 100)\n  DataInterval(0, 60, Min, 10)\n"
        "  Average(1, AirTC, IEEE4, False)\nEndTable\nBeginProg\n  Scan(1, Sec, 0, 0)\n"
        "    CallTable Hourly\n  NextScan\nEndProg\n"
    )
    code, out, err = run(capsys, "send-program", fresh.url, str(program))
    assert code == 0, err
    assert out.splitlines()[0] == "CPU:hourly.CR1: running"
    assert "tables: Status, Hourly, Public" in out
    program.write_text("BeginProg\n")
    code, _, err = run(capsys, "send-program", fresh.url, str(program))
    assert code == 1 and "did not compile" in one_error_line(err)


def test_setsetting(capsys: pytest.CaptureFixture[str], fresh: LoggerEmulator) -> None:
    assert fresh.url is not None
    code, _, err = run(capsys, "setsetting", fresh.url, "2", "RIDGE")
    assert code == 0, err
    _, out, _ = run(capsys, "getsettings", fresh.url, "--raw")
    assert "2,RIDGE,0" in out.splitlines()
    code, _, err = run(capsys, "setsetting", fresh.url, "2", "zz", "--hex")
    assert code == 2 and "hex" in err


def test_monitor_in_a_pipe_prints_a_line_per_refresh(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, out, _ = run(capsys, "monitor", url, "--count", "2", "--interval", "0.1")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("2024-05-01 12:00:00 BattV=")


def test_update_appends_only_new_records(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path
) -> None:
    db = tmp_path / "table1.csv"
    code, _, err = run(capsys, "update", url, "Table1", str(db))
    assert code == 0, err
    first = db.read_text().splitlines()
    code, _, err = run(capsys, "update", url, "Table1", str(db))
    assert code == 0, err
    assert db.read_text().splitlines() == first  # a rerun appends nothing twice


def test_over_a_pseudo_terminal(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    emu = LoggerEmulator(records=25, seed=4, pty=True, clock=lambda: T0)
    with emu.running():
        assert emu.url is not None and emu.url.startswith("serial:")
        code, out, _ = run(capsys, "gettime", emu.url)
        assert code == 0 and out.strip() == "2024-05-01 12:00:00"
        target = tmp_path / "t.dat"
        code, _, err = run(capsys, "getdata", emu.url, "Table1", str(target))
        assert code == 0, err
        assert len(target.read_text().splitlines()) == 4 + 25


# --- what users meet when something goes wrong -----------------------------------------------


def test_every_command_has_a_whole_first_sentence_in_the_list() -> None:
    """`fieldlink logger --help` lists each command by its first sentence: an "e.g."
    inside it used to cut the sentence there ("Print the value of TABLE.FIELD (e.g.")."""
    from fieldlink.pakbus.cli import logger_group

    for name, command in logger_group.commands.items():
        short = command.get_short_help_str(limit=200)
        assert short.count("(") == short.count(")"), (name, short)
        assert not short.endswith(("e.g.", "i.e.")), (name, short)


def test_tabledef_of_a_one_record_table(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out, _ = run(capsys, "tabledef", url, "Status")
    assert code == 0 and ", 1 record, " in out.splitlines()[0]


def test_setsetting_bad_values_name_the_setting(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, _, err = run(capsys, "setsetting", url, "3", "99999")  # PakBus address: 2 bytes
    assert code == 2 and one_error_line(err).startswith("fieldlink: error: setting 3:")
    code, _, err = run(capsys, "setsetting", url, "3", "abc")
    assert code == 2 and "setting 3 holds a 2-byte number" in one_error_line(err)


@pytest.mark.parametrize(
    "args",
    [
        ["putfile", "tcp:127.0.0.1:1", "/no/such/file", "USR:x"],
        ["getdata", "tcp:127.0.0.1:1", "Table1"],
        ["setsetting", "tcp:127.0.0.1:1", "70000", "5"],
        ["gettime", "tcp:127.0.0.1:1", "--timeout", "fast"],
        ["nosuchcommand"],
    ],
)
def test_usage_errors_are_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("fieldlink: error: ") and "--help" in line


def test_a_cut_link_leaves_a_part_file_and_says_so_on_the_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    emu = LoggerEmulator(records=3000, listen="127.0.0.1:0", clock=lambda: T0,
                         faults="disconnect-after=20000")  # fmt: skip
    target = tmp_path / "t1.csv"
    with emu.running():
        assert emu.url is not None
        code, _, err = run(capsys, "getdata", emu.url, "Table1", str(target), "--timeout", "2")
    assert code == 1
    line = one_error_line(err)
    assert "closed" in line and f"records kept in {target}.part" in line
    assert not target.exists(), "never a file that looks complete"
    kept = int(line.split("incomplete: ")[1].split()[0])
    rows = list(csv.reader((tmp_path / "t1.csv.part").open()))
    assert 0 < kept == len(rows) - 1 < 3001
    assert [int(r[1]) for r in rows[1:]] == list(range(kept))


def test_getfile_checks_where_it_writes_before_downloading(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Nothing listens on port 1: the unwritable target must be found first.
    target = tmp_path / "no" / "such" / "dir" / "prog.cr1"
    code, _, err = run(capsys, "getfile", "tcp:127.0.0.1:1", "CPU:x.CR1", str(target))
    assert code == 1 and f"cannot write {target}" in one_error_line(err)
    code, _, err = run(capsys, "getsettings", "tcp:127.0.0.1:1", "--output", str(target))
    assert code == 1 and f"cannot write {target}" in one_error_line(err)


def test_values_print_as_the_logger_holds_them(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    """An IEEE4 value prints with the 7 digits it has, not a double's 17."""
    from fieldlink.pakbus.client import Datalogger

    with Datalogger.from_url(url) as lg:
        speed = lg.get_value("Public", "WS_ms(2)")
    assert isinstance(speed, float)
    code, out, _ = run(capsys, "getvalue", url, "Public", "WS_ms(2)")
    assert code == 0 and out.strip() == f"{speed:.7g}"
    assert len(out.strip()) <= 9


def test_values_bad_subscript_and_read_only_field(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, _, err = run(capsys, "getvalue", url, "Public", "WS_ms(9)")
    assert code == 1 and "WS_ms is an array of 4" in one_error_line(err)
    code, _, err = run(capsys, "setvalue", url, "Status", "OSVersion", "hacked")
    assert code == 1 and "read-only" in one_error_line(err)


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``fieldlink logger getdata URL TABLE - | head -1``: no error, no traceback."""
    emu = LoggerEmulator(records=5000, listen="127.0.0.1:0", clock=lambda: T0)
    with emu.running():
        assert emu.url is not None
        proc = subprocess.Popen(
            [sys.executable, "-m", "fieldlink", "logger", "getdata", emu.url, "Table1", "-"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith(b"Datetime,RecNbr,")
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.wait(30)
    assert err == ""
    assert proc.returncode == 1  # click's status for a closed pipe; the shell reports head's


def _on_a_terminal(*args: str) -> tuple[int, str]:
    """Run ``fieldlink ARGS`` with stdout and stderr on a pseudo-terminal: (status, screen)."""
    import os
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldlink", *args], stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    screen = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            screen += chunk
    finally:
        proc.wait(60)
        os.close(master)
    return proc.returncode, screen.decode("utf-8", "replace")


def test_progress_shows_on_a_terminal(tmp_path: Path) -> None:
    emu = LoggerEmulator(records=2000, listen="127.0.0.1:0", clock=lambda: T0)
    with emu.running():
        assert emu.url is not None
        code, screen = _on_a_terminal(
            "logger", "getdata", emu.url, "Table1", str(tmp_path / "a.csv")
        )
        assert code == 0, screen

        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
        assert "Table1 " in text and "/2000 records" in text  # the bar, with its total
        assert "records/s" in text and "ETA" in text and "100%" in text
        assert "2000 records of Table1 written to" in screen
        code, screen = _on_a_terminal(
            "logger", "update", emu.url, "Table1", str(tmp_path / "b.csv")
        )
        assert code == 0, screen
        assert "2000/? records" in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
        code, screen = _on_a_terminal("logger", "getfile", emu.url, ".TDF", str(tmp_path / "t"))
        assert code == 0, screen
        assert "kB" in screen and ".TDF: " in screen


def test_in_a_pipe_pycampbellcr1000s_lines_and_no_bar(url: str, tmp_path: Path) -> None:
    """Cron and log files see PyCampbellCR1000's lines on stdout (issue 12); stderr keeps
    the closing line only, and nothing is drawn."""
    for args, last in (
        (["update", url, "Table1", str(tmp_path / "b.csv")], "300 new records were found"),
        (["update", url, "Table1", str(tmp_path / "b.csv")], "No new records were found"),
        (["getfile", url, ".TDF", str(tmp_path / "t")], None),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "fieldlink", "logger", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        assert len(r.stderr.splitlines()) == 1, r.stderr  # the closing line only
        assert "\x1b" not in r.stderr + r.stdout
        if last is not None:
            assert r.stdout.splitlines()[0] == "Your download is starting."
            assert r.stdout.splitlines()[-1] == last


def test_progress_plain_none_and_data_on_stdout(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path
) -> None:
    code, out, err = run(capsys, "getdata", url, "Table1", "-", "--newest", "3")
    assert code == 0 and "Packet" not in out + err  # auto: data on stdout, no lines
    code, out, err = run(
        capsys, "getdata", url, "Table1", "-", "--newest", "3", "--progress", "plain"
    )
    assert code == 0 and out.startswith("Datetime,RecNbr,") and "Packet" not in out
    assert err.splitlines()[-1] == "3 new records were found"
    target = tmp_path / "n.csv"
    code, out, err = run(capsys, "getdata", url, "Table1", str(target), "--progress", "none")
    assert code == 0 and out == "" and err.startswith("300 records")
    code, _, err = run(capsys, "getdata", url, "Table1", "-", "--progress", "loud")
    assert code == 2


# --- no clobbering, and a clean end (issue 12) ---------------------------------------------------


def test_getdata_never_replaces_a_file_unless_force(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path
) -> None:
    target = tmp_path / "years.csv"
    target.write_text("200,000 rows of someone's update\n")
    code, _, err = run(capsys, "getdata", url, "Table1", str(target), "--newest", "3")
    assert code == 2 and "already exists" in one_error_line(err) and "--force" in err
    assert target.read_text() == "200,000 rows of someone's update\n"
    code, _, err = run(capsys, "getdata", url, "Table1", str(target), "--newest", "3", "--force")
    assert code == 0, err
    assert len(target.read_text().splitlines()) == 4


def test_getdata_append_is_update(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path
) -> None:
    target = tmp_path / "t.csv"
    code, _, err = run(capsys, "getdata", url, "Table1", str(target), "--newest", "5")
    assert code == 0, err
    code, out, err = run(capsys, "getdata", url, "Table1", str(target), "--append")
    assert code == 0, err
    numbers = [row[1] for row in csv.reader(target.open())][1:]
    assert numbers == [str(n) for n in range(295, 300)]  # nothing twice, nothing new yet
    assert "No new records were found" in out
    code, _, err = run(capsys, "getdata", url, "Table1", str(target), "--append", "--start",
                       "2024-05-01")  # fmt: skip
    assert code == 2 and "--append" in one_error_line(err)


def test_getdata_and_update_agree_about_missing_directories(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path
) -> None:
    for command in ("getdata", "update"):
        target = tmp_path / "no" / "such" / "t.csv"
        code, _, err = run(capsys, command, url, "Table1", str(target))
        assert code == 1 and f"there is no directory {target.parent}" in one_error_line(err)
        assert not (tmp_path / "no").exists()


def test_a_directory_as_output_is_refused_before_downloading(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "getdata", "tcp:127.0.0.1:1", "Table1", str(tmp_path), "--force")
    assert code == 2 and "is a directory" in one_error_line(err)


def test_a_failed_final_rename_is_one_line_naming_the_part_file(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output turned into a directory while downloading: no traceback, .part named."""
    import os

    target = tmp_path / "t.csv"
    real_replace = os.replace

    def replace(src: object, dst: object) -> None:
        if str(dst) == str(target):
            target.mkdir()
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr("fieldlink.pakbus.output.os.replace", replace)
    code, _, err = run(capsys, "getdata", url, "Table1", str(target), "--progress", "none")
    line = one_error_line(err)
    assert code == 1 and line.startswith(f"fieldlink: error: cannot write {target}: ")
    assert line.endswith(f"the 300 records downloaded are kept in {target}.part")
    assert len(list(csv.reader((tmp_path / "t.csv.part").open()))) == 301


def test_ctrl_c_names_the_part_file_kept(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldlink.pakbus import output

    writes = 0
    real_write = output.RecordWriter.write

    def write(self: output.RecordWriter, records: list[object]) -> None:
        nonlocal writes
        writes += 1
        if writes == 2:
            raise KeyboardInterrupt
        real_write(self, records)  # type: ignore[arg-type]

    monkeypatch.setattr(output.RecordWriter, "write", write)
    target = tmp_path / "t.csv"
    code, _, err = run(capsys, "getdata", url, "Table1", str(target), "--progress", "none")
    assert code == 130
    line = one_error_line(err)
    assert line.startswith("fieldlink: interrupted (incomplete: ")
    assert line.endswith(f" records kept in {target}.part)")
    kept = int(line.split("incomplete: ")[1].split()[0])
    rows = list(csv.reader((tmp_path / "t.csv.part").open()))
    assert 256 <= kept == len(rows) - 1 < 300 and not target.exists()


# --- dates, and one run as a separate process -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01 11:30", dt.datetime(2024, 5, 1, 11, 30)),
        ("2024-05-01 11:30:15", dt.datetime(2024, 5, 1, 11, 30, 15)),
        ("2024-05-01T11:30", dt.datetime(2024, 5, 1, 11, 30)),
        ("2024-05-01", dt.datetime(2024, 5, 1)),
    ],
)
def test_dates(text: str, expected: dt.datetime) -> None:
    assert parse_datetime(text, "--start") == expected


def test_bad_date() -> None:
    with pytest.raises(UsageError, match="write it like"):
        parse_datetime("01/05/2024", "--start")


def test_as_a_separate_process(url: str, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "fieldlink",
            "logger",
            "getdata",
            url,
            "Table1",
            str(out),
            "--newest",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert len(out.read_text().splitlines()) == 6
    assert ok.stderr.strip() == f"5 records of Table1 written to {out}"  # no progress bar in a pipe
    bad = subprocess.run(
        [sys.executable, "-m", "fieldlink", "logger", "getdata", url, "Nope", str(out) + "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0 and "no table 'Nope'" in bad.stderr


# --- clock safety and --timezone (issue 12) -----------------------------------------------------

PLUS5 = dt.timezone(dt.timedelta(hours=5))


def test_sync_clock_hours_off_does_not_exit_0_and_names_the_zone(
    capsys: pytest.CaptureFixture[str], fresh: LoggerEmulator
) -> None:
    assert fresh.url is not None
    fresh.station.set_clock(dt.datetime.now() - dt.timedelta(hours=2))
    code, out, err = run(capsys, "sync-clock", fresh.url, "--samples", "2")
    assert code == 1, out
    line = one_error_line(err)
    assert "-2 h 00 min off" in line and "time-zone mistake" in line and "rerun" in line
    assert "stepped     +300.000 s" in out  # the capped step, and no more
    left = (dt.datetime.now() - fresh.station.now()).total_seconds()
    assert abs(left - (7200 - 300)) < 5


def test_sync_clock_in_the_loggers_timezone(
    capsys: pytest.CaptureFixture[str], fresh: LoggerEmulator
) -> None:
    assert fresh.url is not None
    fresh.station.set_clock(dt.datetime.now(PLUS5).replace(tzinfo=None) - dt.timedelta(seconds=30))
    code, out, err = run(capsys, "sync-clock", fresh.url, "--timezone", "UTC+5", "--samples", "2")
    assert code == 0, err
    assert "stepped" in out
    ahead = (fresh.station.now() - dt.datetime.now(PLUS5).replace(tzinfo=None)).total_seconds()
    assert abs(ahead) < 3
    code, _, err = run(capsys, "sync-clock", fresh.url, "--timezone", "Mars/Olympus")
    assert code == 2 and "--timezone" in one_error_line(err)
    code, _, err = run(capsys, "sync-clock", fresh.url, "--timezone", "UTC", "--utc")
    assert code == 2


def test_settime_now_in_the_loggers_timezone(
    capsys: pytest.CaptureFixture[str], fresh: LoggerEmulator
) -> None:
    assert fresh.url is not None
    code, _, err = run(capsys, "settime", fresh.url, "now", "--timezone", "+05:00")
    assert code == 0, err
    ahead = (fresh.station.now() - dt.datetime.now(PLUS5).replace(tzinfo=None)).total_seconds()
    assert abs(ahead) < 3


def test_dates_with_an_offset_need_and_follow_timezone() -> None:
    assert parse_datetime("2024-05-01T06:00Z", "--start", PLUS5) == dt.datetime(2024, 5, 1, 11)
    assert parse_datetime("2024-05-01 06:00+02:00", "--start", PLUS5) == dt.datetime(2024, 5, 1, 9)
    assert parse_datetime("2024-05-01 06:00", "--start", PLUS5) == dt.datetime(2024, 5, 1, 6)
    with pytest.raises(UsageError, match="--timezone"):
        parse_datetime("2024-05-01T06:00Z", "--start")
    now = parse_datetime("now", "--stop", PLUS5)
    assert abs((now - dt.datetime.now(PLUS5).replace(tzinfo=None)).total_seconds()) < 3


def test_getdata_start_in_utc_with_the_loggers_timezone(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    # The logger (UTC-2 here) stamps its records at 12:00, 11:59 ...: 14:00Z is its 12:00.
    code, out, err = run(
        capsys, "getdata", url, "Table1", "-", "--start", "2024-05-01T13:58Z",
        "--timezone", "UTC-2",
    )  # fmt: skip
    assert code == 0, err
    stamps = [row[0] for row in csv.reader(io.StringIO(out))][1:]
    assert stamps and min(stamps) >= "2024-05-01 11:58:00"
    code, _, err = run(capsys, "getdata", url, "Table1", "-", "--start", "2024-05-01T13:58Z")
    assert code == 2 and "--timezone" in one_error_line(err)


def test_help_names_udp_and_explains_the_src_default() -> None:
    from click.testing import CliRunner

    from fieldlink.pakbus.cli import logger_group

    group_help = CliRunner().invoke(logger_group, ["--help"]).output
    assert "udp:HOST:PORT" in group_help and "tcp:HOST:PORT" in group_help
    command_help = " ".join(CliRunner().invoke(logger_group, ["gettime", "--help"]).output.split())
    assert "PyCampbellCR1000 used 2050" in command_help and "[default: 4094;" in command_help


# --- plain words (issue 12) ----------------------------------------------------------------------


def test_permission_errors_name_the_security_level_needed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fieldlink.errors import PermissionDenied
    from fieldlink.pakbus.operations.common import check_response

    emu = LoggerEmulator(records=5, listen="127.0.0.1:0", security_code=1111)
    with emu.running():
        url = emu.url or ""
        code, _, err = run(capsys, "getfile", url, "CPU:Default.CR1", "-")
        line = one_error_line(err)
        assert code == 1 and "reading file 'CPU:Default.CR1': permission denied" in line
        assert line.endswith("this needs the level-1 security code; give it with --code")
        code, _, err = run(capsys, "getsettings", url)
        assert code == 1 and "the level-1 security code" in one_error_line(err)
        code, _, err = run(capsys, "getsettings", url, "--code", "1111")
        assert code == 0, err
    # Levels 2 and 3 (the emulator's command line sets level 1 only): the words per level.
    for level, words in ((2, "the level-2 (or level-1) security code"),
                         (3, "a security code (of any level)")):  # fmt: skip
        with pytest.raises(PermissionDenied, match=re.escape(words)):
            check_response(1, "setting the clock", level)


@pytest.mark.parametrize(
    ("when", "words"),
    [("1900-01-01", "is before 1990-01-01, where logger clocks begin"),
     ("2100-01-01 00:00", "the last time a logger clock can hold")],
)  # fmt: skip
def test_settime_out_of_the_loggers_range_says_so_plainly(
    capsys: pytest.CaptureFixture[str], url: str, when: str, words: str
) -> None:
    code, _, err = run(capsys, "settime", url, when)
    line = one_error_line(err)
    assert code == 2 and words in line
    assert "BMP5" not in line and "Int4" not in line


def test_a_value_too_large_for_its_field_says_what_the_field_holds(
    capsys: pytest.CaptureFixture[str], fresh: LoggerEmulator
) -> None:
    code, _, err = run(capsys, "setvalue", fresh.url or "", "Public", "Setpoint", "1e40")
    line = one_error_line(err)
    assert code == 2 and "it holds 4-byte floating-point numbers" in line
    assert "IEEE4" not in line and "pack" not in line


def test_update_of_a_pycampbellcr1000_file_that_cannot_be_resumed(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path
) -> None:
    """One error line, the file untouched, and no "were found" line claiming success."""
    db = tmp_path / "db.csv"
    db.write_bytes(b"Datetime,RecNbr,b'BattV_Min'\r\n2024-05-01 10:00:00,x,1\r\n")
    code, out, err = run(capsys, "update", url, "Table1", str(db))
    assert code == 1 and "RecNbr is 'x'" in err.splitlines()[-1]
    assert "were found" not in out
    assert db.read_bytes() == b"Datetime,RecNbr,b'BattV_Min'\r\n2024-05-01 10:00:00,x,1\r\n"
