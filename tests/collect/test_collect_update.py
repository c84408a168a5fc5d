"""``logger update``'s single-file sinks, driven by the engine against a fake logger."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from collect_fakes import FakeLogger, FakeTable, connector, make_table

from fieldlink.collect.results import CycleResult
from fieldlink.collect.update import kind_for, run_update, update_station
from fieldlink.errors import UsageError


def update(logger: FakeLogger, path: Path, **kw: object) -> CycleResult:
    cfg = update_station("tcp:127.0.0.1:6785", "Table1", path, **kw)  # type: ignore[arg-type]
    return asyncio.run(run_update(cfg, connector(logger)))


def numbers_in(path: Path, header_lines: int) -> list[int]:
    lines = path.read_text().splitlines()[header_lines:]
    return [int(line.split(",")[1]) for line in lines]


@pytest.mark.parametrize(("suffix", "header_lines"), [(".dat", 4), (".csv", 1)])
def test_update_appends_only_new_records_to_the_named_file(
    tmp_path: Path, suffix: str, header_lines: int
) -> None:
    table = FakeTable(make_table())
    table.store(30)
    logger = FakeLogger(table)
    path = tmp_path / f"ridge{suffix}"
    first = update(logger, path)
    assert first.ok, first.error
    assert numbers_in(path, header_lines) == list(range(30))
    table.store(4)
    second = update(logger, path)
    assert second.records == 4 and logger.requests[-1] == ("Table1", 30, None)
    assert update(logger, path).records == 0
    assert numbers_in(path, header_lines) == list(range(34))
    # Only the data file and, for holes, its sidecar: no per-version files next to it.
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_update_reports_holes_beside_the_file(tmp_path: Path) -> None:
    table = FakeTable(make_table(size=10))
    table.store(5)
    logger = FakeLogger(table)
    path = tmp_path / "t.dat"
    update(logger, path)
    table.store(20)  # 5..24, ring keeps 15..24
    result = update(logger, path)
    assert result.missing == 10
    assert numbers_in(path, 4) == [*range(5), *range(15, 25)]
    holes = (tmp_path / "t.dat.holes.csv").read_text()
    assert ",5,14," in holes


def test_update_refuses_to_mix_another_program_into_a_file(tmp_path: Path) -> None:
    table = FakeTable(make_table())
    table.store(3)
    logger = FakeLogger(table)
    path = tmp_path / "t.dat"
    update(logger, path)
    logger.program.program_signature = 0x1111
    result = update(logger, path)
    assert not result.ok and result.error_kind == "StoreError"
    assert "give a new file name" in (result.error or "")
    assert numbers_in(path, 4) == [0, 1, 2]


def test_update_keeps_the_station_name_of_an_existing_toa5_file(tmp_path: Path) -> None:
    table = FakeTable(make_table())
    table.store(2)
    logger = FakeLogger(table)
    path = tmp_path / "data.dat"
    update(logger, path, station="CR1000_Ridge")
    table.store(1)
    cfg = update_station("tcp:127.0.0.1:6785", "Table1", path)
    assert cfg.name == "CR1000_Ridge"
    assert update(logger, path).records == 1


def test_update_into_sqlite(tmp_path: Path) -> None:
    import sqlite3

    table = FakeTable(make_table())
    table.store(12)
    logger = FakeLogger(table)
    path = tmp_path / "db.sqlite"
    assert update(logger, path, station="ridge").records == 12
    table.store(3)
    assert update(logger, path, station="ridge").records == 3
    with sqlite3.connect(path) as db:
        rows = db.execute('SELECT "record" FROM "ridge_Table1" ORDER BY 1').fetchall()
    assert [r[0] for r in rows] == list(range(15))


def test_unknown_suffix_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--format"):
        kind_for(tmp_path / "x.parquet")
    assert kind_for(tmp_path / "x.parquet", "csv") == "csv"


def test_a_table_reset_during_update_keeps_the_file_whole_and_says_why(tmp_path: Path) -> None:
    """A text file holds one run of records: the old run's records received before the
    reset are appended, then the update stops and asks for a new file."""
    table = FakeTable(make_table())
    table.store(50)
    logger = FakeLogger(table)
    logger.page_size = 20
    resets = iter([lambda: table.reset(5)])
    logger.between_pages = lambda: next(resets, lambda: None)()
    path = tmp_path / "t.csv"
    result = update(logger, path)
    assert not result.ok and result.error_kind == "StoreError"
    assert "new file" in (result.error or "")
    assert result.records == 20
    assert numbers_in(path, 1) == list(range(20))


def test_a_table_reset_during_update_into_sqlite_starts_a_new_version(tmp_path: Path) -> None:
    import sqlite3

    table = FakeTable(make_table())
    table.store(50)
    logger = FakeLogger(table)
    logger.page_size = 20
    resets = iter([lambda: table.reset(5)])
    logger.between_pages = lambda: next(resets, lambda: None)()
    result = update(logger, tmp_path / "t.sqlite", station="ridge")
    assert result.ok, result.error
    assert result.table("Table1").reset and result.records == 25
    with sqlite3.connect(tmp_path / "t.sqlite") as db:
        versions = db.execute(
            "SELECT version, sql_table FROM table_versions ORDER BY version"
        ).fetchall()
        counts = [db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for _, t in versions]
    assert [v for v, _ in versions] == [1, 2] and counts == [20, 5]


# --- files PyCampbellCR1000 started ------------------------------------------------------------


def pycr_file(path: Path, header: str, rows: list[str], end: str = "\r\n") -> None:
    path.write_bytes((end.join([header, *rows]) + end).encode("utf-8"))


def test_update_continues_a_python3_pycampbellcr1000_file(tmp_path: Path) -> None:
    """Python 3's ``b'name'`` headers: carried on from the last RecNbr, header untouched."""
    table = FakeTable(make_table())
    table.store(5)
    logger = FakeLogger(table)
    path = tmp_path / "db.csv"
    header = "Datetime,RecNbr,b'Batt_V',b'Temp_C'"
    pycr_file(path, header, ["2024-05-01 00:02:00,2,2.0,2.1"])
    result = update(logger, path)
    assert result.ok, result.error
    assert result.records == 2 and logger.requests[-1] == ("Table1", 3, None)
    lines = path.read_bytes().decode().split("\r\n")
    assert lines[0] == header
    assert lines[2:] == ["2024-05-01 00:03:00,3,3,3.1", "2024-05-01 00:04:00,4,4,4.1", ""]
    table.store(1)
    assert update(logger, path).records == 1
    assert update(logger, path).records == 0


def test_update_keeps_a_python2_files_column_order_and_delimiter(tmp_path: Path) -> None:
    """Python 2 wrote the fields in dict order, here with ``--delim ';'`` and LF ends."""
    table = FakeTable(make_table())
    table.store(4)
    logger = FakeLogger(table)
    path = tmp_path / "db.csv"
    pycr_file(path, "Datetime;RecNbr;Temp_C;Batt_V", ["2024-05-01 00:01:00;1;1.1;1.0"], end="\n")
    result = update(logger, path)  # --delim not given: the file's own is found
    assert result.ok, result.error
    assert path.read_text().splitlines()[2:] == [
        "2024-05-01 00:02:00;2;2.1;2",
        "2024-05-01 00:03:00;3;3.1;3",
    ]
    assert b"\r" not in path.read_bytes()


def test_update_resumes_a_file_without_recnbr_from_its_last_datetime(tmp_path: Path) -> None:
    table = FakeTable(make_table())
    table.store(6)
    logger = FakeLogger(table)
    path = tmp_path / "db.csv"
    pycr_file(path, "Datetime,b'Batt_V'", ["2024-05-01 00:03:00,3.0"])
    result = update(logger, path)
    assert result.ok, result.error
    assert path.read_text().splitlines()[1:] == [
        "2024-05-01 00:03:00,3.0",
        "2024-05-01 00:04:00,4",
        "2024-05-01 00:05:00,5",
    ]
    assert update(logger, path).records == 0


def test_update_cuts_a_torn_last_line_of_a_pycampbellcr1000_file(tmp_path: Path) -> None:
    table = FakeTable(make_table())
    table.store(3)
    logger = FakeLogger(table)
    path = tmp_path / "db.csv"
    path.write_bytes(
        b"Datetime,RecNbr,b'Batt_V',b'Temp_C'\r\n2024-05-01 00:00:00,0,0.0,0.1\r\n2024-05-0"
    )
    assert update(logger, path).records == 2
    assert [line.split(",")[1] for line in path.read_text().splitlines()[1:]] == ["0", "1", "2"]


def test_update_refuses_a_pycampbellcr1000_file_of_another_table(tmp_path: Path) -> None:
    table = FakeTable(make_table())
    table.store(3)
    logger = FakeLogger(table)
    path = tmp_path / "db.csv"
    pycr_file(path, "Datetime,RecNbr,b'WindSpd'", ["2024-05-01 00:00:00,0,1.5"])
    before = path.read_bytes()
    result = update(logger, path)
    assert not result.ok and "'WindSpd'" in (result.error or "")
    assert path.read_bytes() == before
