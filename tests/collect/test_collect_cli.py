"""``fieldlink collect`` and ``fieldlink logger update`` as processes, as cron and users run them.

The emulators run in this process; the collector is a child process, so it can
be killed with SIGKILL in the middle of a table, exactly like a power cut.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from collect_emulators import (
    START,
    assert_sqlite_matches,
    emulator,
    running,
    sqlite_records,
    text_numbers,
)

from fieldlink.kit.faults import Faults
from fieldlink.pakbus.emulator.station import ManualClock


def fieldlink(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fieldlink", *args], capture_output=True, text=True, timeout=timeout
    )


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fieldlink", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stations_toml(path: Path, stations: list[tuple[str, str]], *, extra: str = "") -> Path:
    lines = [
        "[defaults]",
        'tables = ["Small"]',
        "batch_size = 20",
        'timeout = "3s"',
        "clock = false",
        'sinks = [{kind = "sqlite", path = "data/all.sqlite"},',
        '         {kind = "toa5", path = "data/toa5"}]',
        extra,
    ]
    for name, url in stations:
        lines += ["[[station]]", f'name = "{name}"', f'url = "{url}"']
    path.write_text("\n".join(lines) + "\n")
    return path


def dead_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"tcp:127.0.0.1:{port}"  # nothing listens there any more


def count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_collector_killed_mid_table_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    # Each answer (~30 records) is delayed, so the table takes several seconds: the
    # kill lands mid-table even if this process is slow to notice the first 100.
    emu = emulator(tmp_path, records=800, size=2000, faults="delay=0.25")
    with running([emu]) as (url,):
        config = stations_toml(tmp_path / "stations.toml", [("ridge", url)])
        dat = tmp_path / "data" / "toa5" / "ridge_Small.dat"
        proc = spawn("collect", str(config), "--once", "--plain")
        deadline = time.monotonic() + 60
        while count_lines(dat) < 4 + 100 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(60)
        stored_at_kill = count_lines(dat) - 4
        assert 100 <= stored_at_kill < 800, "killed in the middle of the table"
        emu.faults = Faults()
        rerun = fieldlink("collect", str(config), "--once", "--plain")
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        truth = emu.station.records("Small")
    assert len(truth) == 800
    assert text_numbers(dat, 4) == list(range(800))
    assert_sqlite_matches(truth, sqlite_records(tmp_path / "data" / "all.sqlite", "ridge"))


def test_two_dozen_stations_at_once_and_one_dead(tmp_path: Path) -> None:
    emus = [emulator(tmp_path, f"st{i:02d}", records=60 + i, seed=i) for i in range(24)]
    with running(emus) as urls:
        names = [(f"st{i:02d}", url) for i, url in enumerate(urls)]
        config = stations_toml(
            tmp_path / "stations.toml",
            [*names, ("dead", dead_url())],
            extra="[defaults.retry]\nprimary_retries = 1",
        )
        r = fieldlink("collect", str(config), "--once", "--plain")
        truths = {
            name: emu.station.records("Small") for (name, _), emu in zip(names, emus, strict=True)
        }
    assert r.returncode == 1, r.stdout + r.stderr
    (last,) = r.stderr.splitlines()
    assert last.startswith("fieldlink: 1 of 25 stations failed: dead (connection refused by")
    assert "dead: FAILED:" in r.stdout
    for i, (name, _) in enumerate(names):
        assert f"{name}: ok: {60 + i} new records" in r.stdout
        assert_sqlite_matches(truths[name], sqlite_records(tmp_path / "data" / "all.sqlite", name))
        assert text_numbers(tmp_path / "data" / "toa5" / f"{name}_Small.dat", 4) == list(
            range(60 + i)
        )


def test_collect_runs_on_schedule_until_sigterm(tmp_path: Path) -> None:
    clock = ManualClock(START)
    emu = emulator(tmp_path, records=10, clock=clock)
    with running([emu]) as (url,):
        config = stations_toml(
            tmp_path / "stations.toml", [("ridge", url)], extra='interval = "1s"'
        )
        dat = tmp_path / "data" / "toa5" / "ridge_Small.dat"
        proc = spawn("collect", str(config), "--plain")
        try:
            deadline = time.monotonic() + 60
            while count_lines(dat) < 4 + 10 and time.monotonic() < deadline:
                time.sleep(0.05)
            clock.advance(5 * 60)  # five more records; the next scheduled cycle takes them
            deadline = time.monotonic() + 60
            while count_lines(dat) < 4 + 15 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert text_numbers(dat, 4) == list(range(15))
    assert out.count("ridge: ok:") >= 2


def test_bad_stations_file_is_exit_2_with_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "stations.toml"
    bad.write_text('[[station]]\nname = "a"\nurl = "tcp:h:1"\ninterval = "often"\n')
    r = fieldlink("collect", str(bad), "--once")
    assert r.returncode == 2
    assert f"{bad}, line 4, key station[1].interval:" in r.stderr
    assert "Traceback" not in r.stderr


def test_logger_update_appends_only_new_records(tmp_path: Path) -> None:
    clock = ManualClock(START)
    emu = emulator(tmp_path, records=25, clock=clock)
    out = tmp_path / "small.dat"
    with running([emu]) as (url,):
        first = fieldlink("logger", "update", url, "Small", str(out), "--station", "ridge")
        assert first.returncode == 0, first.stderr
        clock.advance(3 * 60)
        second = fieldlink("logger", "update", url, "Small", str(out))
        assert second.returncode == 0, second.stderr
        third = fieldlink("logger", "update", url, "Small", str(out))
        truth = emu.station.records("Small")
    assert "25 new records" in first.stderr
    assert "3 new records" in second.stderr
    assert "nothing new" in third.stderr or "0 new records" in third.stderr
    assert text_numbers(out, 4) == [r.number for r in truth] == list(range(28))
    assert out.read_text().startswith('"TOA5","ridge",')


def test_collect_and_getdata_write_the_same_toa5_header(tmp_path: Path) -> None:
    """One helper builds the station line for both: a CR1000 on OS 24 sends no ModelNo,
    and both name it "CR1000" from its OS version."""
    emu = emulator(tmp_path, records=5)
    got = tmp_path / "got.dat"
    with running([emu]) as (url,):
        config = stations_toml(tmp_path / "stations.toml", [("ridge", url)])
        collected = fieldlink("collect", str(config), "--once", "--plain")
        assert collected.returncode == 0, collected.stdout + collected.stderr
        fetched = fieldlink("logger", "getdata", url, "Small", str(got), "--station", "ridge")
        assert fetched.returncode == 0, fetched.stderr
    first_line = (tmp_path / "data" / "toa5" / "ridge_Small.dat").read_text().splitlines()[0]
    assert first_line == got.read_text().splitlines()[0]
    assert first_line.split(",")[:5] == ['"TOA5"', '"ridge"', '"CR1000"', '"E4668"',
                                         '"CR1000.Std.24"']  # fmt: skip


def test_failure_summary_names_each_failed_station_and_why() -> None:
    import datetime as dt

    from fieldlink.collect.cli import failure_summary
    from fieldlink.collect.results import CycleResult

    def result(name: str, error: str | None = None, kind: str | None = None) -> CycleResult:
        r = CycleResult(name, started=dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
        r.error, r.error_kind = error, kind
        return r

    one = [result("a"), result("b", "no answer\nfrom node 1", "LinkTimeout")]
    assert failure_summary(one) == "1 of 2 stations failed: b (no answer from node 1)"
    two = [*one, result("c", "disk full", "StoreError")]
    # The messages, not class names (issue 12).
    assert failure_summary(two) == (
        "2 of 3 stations failed: b (no answer from node 1); c (disk full)"
    )


def test_the_example_in_collect_help_is_a_valid_stations_file() -> None:
    from fieldlink.collect.cli import collect_command
    from fieldlink.collect.config import parse_stations

    help_text = collect_command.help or ""
    example = help_text.split("[[station]]", 1)[1]
    toml = "[[station]]\n" + "\n".join(line.strip() for line in example.splitlines())
    (station,) = parse_stations(toml).stations
    assert (station.name, station.url) == ("ridge", "tcp:192.168.1.10:6785")


def test_collect_example_writes_a_valid_commented_stations_file(tmp_path: Path) -> None:
    """``fieldlink collect --example > stations.toml``: shipped in the package (the
    source's examples/ folder is not in the wheel)."""
    from fieldlink.collect.config import load_stations

    r = fieldlink("collect", "--example")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("# fieldlink stations file")
    assert "max_step" in r.stdout and "allowed_deviation" in r.stdout
    path = tmp_path / "stations.toml"
    path.write_text(r.stdout)
    assert [s.name for s in load_stations(path).stations] == ["ridge", "valley"]
    assert "--example" in fieldlink("collect", "--help").stdout
    assert "examples/" not in fieldlink("collect", "--help").stdout
    missing = fieldlink("collect")
    assert missing.returncode == 2 and "--example" in missing.stderr
    both = fieldlink("collect", str(path), "--example")
    assert both.returncode == 2
