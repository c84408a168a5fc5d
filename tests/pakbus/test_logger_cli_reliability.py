"""``fieldlink logger`` options of issue 13: ``getfile --max-size``, ``update --retries``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldlink.pakbus.emulator import LoggerEmulator

from .test_logger_cli import T0, run


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    emu = LoggerEmulator(records=30, seed=9, listen="127.0.0.1:0", clock=lambda: T0)
    with emu.running():
        assert emu.url is not None
        yield emu.url


def test_getfile_stops_at_max_size(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path
) -> None:
    target = tmp_path / "prog.cr1"
    code, _, err = run(capsys, "getfile", url, "CPU:Default.CR1", str(target), "--max-size", "10")
    assert code == 1, err
    assert "--max-size 10" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing that looks like a download
    code, _, err = run(capsys, "getfile", url, "CPU:Default.CR1", str(target), "--max-size", "1M")
    assert code == 0, err
    assert b"BeginProg" in target.read_bytes()


@pytest.mark.parametrize("bad", ["0", "-1", "lots", "1X"])
def test_getfile_max_size_must_be_a_size(capsys: pytest.CaptureFixture[str], bad: str) -> None:
    code, _, err = run(capsys, "getfile", "tcp:127.0.0.1:1", "x", "-", "--max-size", bad)
    assert code == 2 and "--max-size" in err


def _numbers(path: Path) -> list[int]:
    import csv

    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    return [int(r[1]) for r in rows[4:]]


def test_update_reconnects_after_cuts_within_one_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    emu = LoggerEmulator(
        records=2000,
        seed=3,
        listen="127.0.0.1:0",
        clock=lambda: T0,
        faults="disconnect-after=20000",
    )
    dat = tmp_path / "t1.dat"
    with emu.running():
        assert emu.url is not None
        code, _, err = run(capsys, "update", emu.url, "Table1", str(dat), "--timeout", "2")
        truth = [r.number for r in emu.station.records("Table1")]
    assert code == 0, err
    assert "reconnects" in err and "Traceback" not in err
    assert len(truth) == 2000
    assert _numbers(dat) == truth  # every record, once, in one run


def test_update_retries_zero_stops_at_the_first_cut(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    emu = LoggerEmulator(
        records=2000, seed=3, listen="127.0.0.1:0", clock=lambda: T0,
        faults="disconnect-after=20000",
    )  # fmt: skip
    dat = tmp_path / "t1.dat"
    with emu.running():
        assert emu.url is not None
        code, _, err = run(
            capsys, "update", emu.url, "Table1", str(dat), "--timeout", "2", "--retries", "0"
        )
    assert code == 1 and "rerun to resume" in err
    stored = _numbers(dat)
    assert 0 < len(stored) < 2000 and stored == sorted(set(stored))
