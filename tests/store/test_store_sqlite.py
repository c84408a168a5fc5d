"""SQLite sink: typed tables, positions in the same transaction, holes, UTC, versions."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from fieldlink.errors import StoreError, UsageError
from fieldlink.pakbus.protocol.model import FieldDef, Record, TableDef
from fieldlink.pakbus.protocol.wire import NSec
from fieldlink.store import Hole, Position, SqliteSink, StationInfo, open_sink


def query(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def test_typed_columns_and_values(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    db = tmp_path / "data.sqlite"
    with SqliteSink(db) as sink, sink.open_table(station, smp.mixed_table()) as w:
        w.append([smp.mixed_record(0, note='say "hi"'), smp.mixed_record(1)])
        assert w.sql_table == "Ridge_Mixed"
    info = [(r[1], r[2], r[5]) for r in query(db, 'PRAGMA table_info("Ridge_Mixed")')]
    assert info == [
        ("record", "INTEGER", 1),
        ("timestamp", "TEXT", 0),
        ("timestamp_utc", "TEXT", 0),
        ("BattV_Min", "REAL", 0),
        ("PTemp", "REAL", 0),
        ("TC(1)", "REAL", 0),
        ("TC(2)", "REAL", 0),
        ("TC(3)", "REAL", 0),
        ("Grid(1,1)", "INTEGER", 0),
        ("Grid(1,2)", "INTEGER", 0),
        ("Grid(2,1)", "INTEGER", 0),
        ("Grid(2,2)", "INTEGER", 0),
        ("Flag", "INTEGER", 0),
        ("Door", "INTEGER", 0),
        ("Note", "TEXT", 0),
        ("Count", "INTEGER", 0),
    ]
    rows = query(db, 'SELECT * FROM "Ridge_Mixed" ORDER BY record')
    assert rows[0] == (
        0,
        "2024-05-01 12:00:00",
        "2024-05-01 11:00:00",
        12.5,
        20.25,
        1.5,
        -2.25,
        None,
        1,
        2,
        3,
        4,
        1,
        0,
        'say "hi"',
        0,
    )
    assert rows[1][0:3] == (1, "2024-05-01 12:01:00", "2024-05-01 11:01:00")


def test_infinities_stay_and_nan_is_null(tmp_path: Path) -> None:
    table = TableDef(
        "F",
        1,
        10,
        14,
        NSec(),
        NSec(),
        signature=1,
        fields=(FieldDef("X", 9, piece_size=3, dimensions=(3,)),),
    )
    db = tmp_path / "d.sqlite"
    with SqliteSink(db).open_table(StationInfo("S"), table) as w:
        w.append([Record("F", 0, dt.datetime(2020, 1, 1), {"X": (math.inf, -math.inf, math.nan)})])
    assert query(db, 'SELECT "X(1)", "X(2)", "X(3)", timestamp_utc FROM "S_F"') == [
        (math.inf, -math.inf, None, None)
    ]


@pytest.mark.parametrize(
    ("zone", "local", "utc"),
    [
        ("Europe/Paris", dt.datetime(2024, 7, 1, 12, 0), "2024-07-01 10:00:00"),
        ("Europe/Paris", dt.datetime(2024, 1, 1, 12, 0), "2024-01-01 11:00:00"),
        ("UTC-7", dt.datetime(2024, 1, 1, 20, 30, 0, 250000), "2024-01-02 03:30:00.250000"),
        ("+05:30", dt.datetime(2024, 1, 1, 5, 30), "2024-01-01 00:00:00"),
        ("UTC", dt.datetime(2024, 1, 1, 5, 30), "2024-01-01 05:30:00"),
    ],
)
def test_utc_column_with_a_zone(
    smp: SimpleNamespace, tmp_path: Path, zone: str, local: dt.datetime, utc: str
) -> None:
    db = tmp_path / "d.sqlite"
    st = StationInfo("S", timezone=zone)
    with SqliteSink(db).open_table(st, smp.numeric_table()) as w:
        w.append([Record("Hourly", 1, local, {"AirT": 1.0, "RH": 2.0})])
    assert query(db, 'SELECT timestamp, timestamp_utc FROM "S_Hourly"') == [
        (local.isoformat(sep=" "), utc)
    ]


def test_rerun_is_idempotent(smp: SimpleNamespace, tmp_path: Path, station: StationInfo) -> None:
    db = tmp_path / "d.sqlite"
    batch = [smp.numeric_record(n) for n in range(5)]
    for _ in range(2):  # the same cycle twice, e.g. after a crash before the collector noticed
        with SqliteSink(db) as sink, sink.open_table(station, smp.numeric_table()) as w:
            w.append(batch)
            w.append(batch[2:])
            assert w.position == Position(0x4321, 4, 1)
    assert query(db, 'SELECT count(*), min(record), max(record) FROM "Ridge_Hourly"') == [(5, 0, 4)]
    assert query(db, "SELECT last_record FROM positions") == [(4,)]


def test_position_survives_reopening(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    db = tmp_path / "d.sqlite"
    with SqliteSink(db).open_table(station, smp.numeric_table()) as w:
        assert w.position is None
        w.append([smp.numeric_record(n) for n in (7, 8)])
    with open_sink("sqlite", db).open_table(station, smp.numeric_table()) as w:
        assert w.position == Position(0x4321, 8, 1)


def test_records_position_and_log_commit_together(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    """A failure after the records were inserted leaves nothing of the append visible."""
    db = tmp_path / "d.sqlite"
    sink = SqliteSink(db)
    w = sink.open_table(station, smp.numeric_table())
    w.append([smp.numeric_record(0)], holes=[])
    log_before = query(db, "SELECT count(*) FROM collection_log")
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TRIGGER fail BEFORE UPDATE ON positions "
        "BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"
    )
    con.commit()
    with pytest.raises(StoreError, match="simulated failure") as e:
        w.append([smp.numeric_record(n) for n in (1, 2, 3)], holes=[Hole("Hourly", 10, 12)])
    assert str(db) in str(e.value)
    assert w.position == Position(0x4321, 0, 1)
    assert query(db, 'SELECT record FROM "Ridge_Hourly"') == [(0,)]
    assert query(db, "SELECT count(*) FROM holes") == [(0,)]
    assert query(db, "SELECT count(*) FROM collection_log") == log_before
    assert query(db, "SELECT last_record, holes FROM positions") == [(0, 0)]
    con.execute("DROP TRIGGER fail")
    con.commit()
    con.close()
    w.append([smp.numeric_record(n) for n in (1, 2, 3)])
    assert query(db, 'SELECT count(*) FROM "Ridge_Hourly"') == [(4,)]


def test_holes_are_counted_once(smp: SimpleNamespace, tmp_path: Path, station: StationInfo) -> None:
    db = tmp_path / "d.sqlite"
    with SqliteSink(db).open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(0)])
        w.append([smp.numeric_record(20)], holes=[Hole("Hourly", 1, 9), Hole("Hourly", 12, 19)])
        w.append([smp.numeric_record(20)], holes=[Hole("Hourly", 1, 9)])  # reported again
        assert w.holes() == [Hole("Hourly", 1, 9), Hole("Hourly", 12, 19)]
    assert query(db, "SELECT holes, records_lost, last_record FROM positions") == [(2, 17, 20)]
    assert query(db, "SELECT first_record, last_record FROM holes ORDER BY 1") == [(1, 9), (12, 19)]
    events = query(db, "SELECT event, detail FROM collection_log WHERE event = 'hole'")
    assert events == [
        ("hole", "Hourly v1: records 1..9 lost in the logger (9 records)"),
        ("hole", "Hourly v1: records 12..19 lost in the logger (8 records)"),
    ]


def test_holes_before_any_record(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    db = tmp_path / "d.sqlite"
    with SqliteSink(db).open_table(station, smp.numeric_table()) as w:
        w.append([], holes=[Hole("Hourly", 0, 4)])
        assert w.position is None and w.holes() == [Hole("Hourly", 0, 4)]


def test_changed_definition_gets_a_new_table(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    db = tmp_path / "d.sqlite"
    sink = SqliteSink(db)
    with sink.open_table(station, smp.mixed_table()) as w1:
        w1.append([smp.mixed_record(0)])
    with sink.open_table(station, smp.mixed_table(0x9999, extra=True)) as w2:
        assert (w2.version, w2.sql_table, w2.position) == (2, "Ridge_Mixed_v2", None)
        w2.append([smp.mixed_record(0, extra=True)])
    with sink.open_table(station, smp.mixed_table()) as w3:
        assert (w3.version, w3.sql_table) == (3, "Ridge_Mixed_v3")
    assert query(
        db, "SELECT version, sql_table, table_signature FROM table_versions ORDER BY version"
    ) == [(1, "Ridge_Mixed", 0x1234), (2, "Ridge_Mixed_v2", 0x9999), (3, "Ridge_Mixed_v3", 0x1234)]
    assert query(db, 'SELECT "WS_ms" FROM "Ridge_Mixed_v2"') == [(3.5,)]
    assert query(db, 'SELECT count(*) FROM "Ridge_Mixed"') == [(1,)]


def test_field_named_like_a_fixed_column(tmp_path: Path) -> None:
    table = TableDef(
        "T",
        1,
        10,
        14,
        NSec(),
        NSec(),
        signature=3,
        fields=(FieldDef("Record", 6), FieldDef("TimeStamp", 16)),
    )
    db = tmp_path / "d.sqlite"
    with SqliteSink(db).open_table(StationInfo("S"), table) as w:
        w.append([Record("T", 5, dt.datetime(2020, 1, 1), {"Record": 99, "TimeStamp": "x"})])
    assert query(db, 'SELECT record, "Record_", "TimeStamp_" FROM "S_T"') == [(5, 99, "x")]


def test_station_names_needing_quotes(smp: SimpleNamespace, tmp_path: Path) -> None:
    db = tmp_path / "d.sqlite"
    with SqliteSink(db).open_table(StationInfo('Ridge "A"; DROP'), smp.numeric_table()) as w:
        w.append([smp.numeric_record(0)])
    assert query(db, 'SELECT count(*) FROM "Ridge ""A""; DROP_Hourly"') == [(1,)]


def test_log_and_wal(tmp_path: Path) -> None:
    db = tmp_path / "d.sqlite"
    with SqliteSink(db) as sink:
        sink.log("S", "link down", "tcp:10.0.0.5:6785 timed out")
    assert query(db, "SELECT station, event, detail FROM collection_log") == [
        ("S", "link down", "tcp:10.0.0.5:6785 timed out")
    ]
    assert query(db, "PRAGMA journal_mode") == [("wal",)]


def test_directory_path_gets_a_default_file(tmp_path: Path) -> None:
    assert SqliteSink(tmp_path).path == tmp_path / "fieldlink.sqlite"


def test_read_only_directory_raises_store_error(read_only_dir: Path) -> None:
    with pytest.raises(StoreError) as e:
        SqliteSink(read_only_dir / "data.sqlite")
    assert str(read_only_dir / "data.sqlite") in str(e.value)


def test_one_writer_per_table(smp: SimpleNamespace, tmp_path: Path, station: StationInfo) -> None:
    sink = SqliteSink(tmp_path / "d.sqlite")
    w = sink.open_table(station, smp.numeric_table())
    with pytest.raises(UsageError):
        sink.open_table(station, smp.numeric_table())
    w.close()
    with pytest.raises(UsageError):
        w.append([smp.numeric_record(0)])


def test_threads_opening_one_database_at_once_all_get_it(tmp_path: Path) -> None:
    """Several Batlabs logging into one lab database open it in their own threads at the
    same moment: none may fail with "database is locked" while another sets it up."""
    import threading

    from fieldlink.store.sqlite import SqliteSink

    def open_it(path: Path, start: threading.Barrier, failures: list[BaseException]) -> None:
        start.wait()
        try:
            SqliteSink(path).close()
        except BaseException as exc:
            failures.append(exc)

    for attempt in range(5):
        start = threading.Barrier(6)
        failures: list[BaseException] = []
        args = (tmp_path / f"lab{attempt}.sqlite", start, failures)
        threads = [threading.Thread(target=open_it, args=args) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert failures == []
