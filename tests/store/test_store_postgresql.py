"""PostgreSQL sink against a real, throwaway PostgreSQL server (never a mock).

The server is started once per session (:func:`fieldlink.store.throwaway.shared_postgres`);
each test gets a fresh database.  Without a PostgreSQL installation the tests skip
with the reason.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg (fieldlink[postgresql]) not installed")

from fieldlink.errors import ConfigError, StoreError, UsageError  # noqa: E402
from fieldlink.pakbus.protocol.model import FieldDef, Record, TableDef  # noqa: E402
from fieldlink.pakbus.protocol.wire import NSec  # noqa: E402
from fieldlink.store import Hole, Position, StationInfo, open_sink  # noqa: E402
from fieldlink.store.pgschema import SCHEMA_VERSION, migrate  # noqa: E402
from fieldlink.store.postgresql import PostgresSink  # noqa: E402
from fieldlink.store.secrets import (  # noqa: E402
    check_no_clear_password,
    clear_password,
    redact,
)
from fieldlink.store.throwaway import (  # noqa: E402
    PG_PASSWORD,
    PostgresServer,
    Unavailable,
    free_port,
    shared_postgres,
)


@pytest.fixture(scope="session")
def pg() -> PostgresServer:
    try:
        return shared_postgres()
    except Unavailable as exc:
        pytest.skip(f"no PostgreSQL server can be started here: {exc}")


@pytest.fixture
def dsn(pg: PostgresServer) -> str:
    return pg.create_schema(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def db(dsn: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn


def rows(
    conn: psycopg.Connection[tuple[object, ...]], query: str, *args: object
) -> list[tuple[object, ...]]:
    return conn.execute(query.encode(), args).fetchall()


def test_typed_columns_values_and_utc(
    smp: SimpleNamespace, dsn: str, db: psycopg.Connection[tuple[object, ...]],
    station: StationInfo,
) -> None:  # fmt: skip
    with PostgresSink(dsn) as sink, sink.open_table(station, smp.mixed_table()) as w:
        w.append([smp.mixed_record(0, note="a\x00b"), smp.mixed_record(1)])
        assert w.sql_table == "Ridge_Mixed"
        assert w.position == Position(0x1234, 1, 1)
    cols = rows(
        db,
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'Ridge_Mixed' AND table_schema = current_schema() "
        "ORDER BY ordinal_position",
    )
    assert cols == [
        ("record", "bigint"),
        ("timestamp", "timestamp without time zone"),
        ("timestamp_utc", "timestamp without time zone"),
        ("BattV_Min", "double precision"),
        ("PTemp", "double precision"),
        ("TC(1)", "double precision"),
        ("TC(2)", "double precision"),
        ("TC(3)", "double precision"),
        ("Grid(1,1)", "bigint"),
        ("Grid(1,2)", "bigint"),
        ("Grid(2,1)", "bigint"),
        ("Grid(2,2)", "bigint"),
        ("Flag", "boolean"),
        ("Door", "boolean"),
        ("Note", "text"),
        ("Count", "bigint"),
    ]
    first = rows(db, 'SELECT * FROM "Ridge_Mixed" ORDER BY record')[0]
    assert first[:5] == (
        0,
        dt.datetime(2024, 5, 1, 12, 0),
        dt.datetime(2024, 5, 1, 11, 0),  # station zone +01:00
        12.5,
        20.25,
    )
    assert first[5:7] == (1.5, -2.25)
    assert isinstance(first[7], float) and math.isnan(first[7])  # NaN stays NaN
    assert first[8:] == (1, 2, 3, 4, True, False, "ab", 0)  # NUL dropped from text


def test_rerun_stores_nothing_twice_and_resumes(
    smp: SimpleNamespace, dsn: str, db: psycopg.Connection[tuple[object, ...]],
    station: StationInfo,
) -> None:  # fmt: skip
    table = smp.numeric_table()
    with PostgresSink(dsn) as sink:
        with sink.open_table(station, table) as w:
            w.append([smp.numeric_record(n) for n in range(5)])
            w.append([smp.numeric_record(n) for n in range(3, 8)])
        with sink.open_table(station, table) as w:
            assert w.position == Position(table.signature, 7, 1)
            w.append([smp.numeric_record(n) for n in range(8)])  # all old: nothing
    numbers = [r[0] for r in rows(db, 'SELECT record FROM "Ridge_Hourly" ORDER BY record')]
    assert numbers == list(range(8))
    log = rows(db, "SELECT event, detail FROM collection_log WHERE event = 'stored' ORDER BY id")
    assert [d for _, d in log] == [
        "Hourly v1: 5 new of 5 records 0..4",
        "Hourly v1: 3 new of 5 records 5..7",
    ]


def test_holes_counted_once_with_the_records(
    smp: SimpleNamespace, dsn: str, db: psycopg.Connection[tuple[object, ...]],
    station: StationInfo,
) -> None:  # fmt: skip
    table = smp.numeric_table()
    with PostgresSink(dsn) as sink, sink.open_table(station, table) as w:
        w.append([smp.numeric_record(0)])
        w.append([smp.numeric_record(5)], [Hole("Hourly", 1, 4)])
        w.append([], [Hole("Hourly", 1, 4)])  # reported again: not counted again
        assert w.holes() == [Hole("Hourly", 1, 4)]
        with pytest.raises(UsageError):
            w.append([], [Hole("Other", 1, 2)])
    assert rows(db, "SELECT last_record, holes, records_lost FROM positions") == [(5, 1, 4)]


def test_new_definition_and_reset_start_new_versions(
    smp: SimpleNamespace, dsn: str, db: psycopg.Connection[tuple[object, ...]],
    station: StationInfo,
) -> None:  # fmt: skip
    with PostgresSink(dsn) as sink:
        with sink.open_table(station, smp.mixed_table()) as w:
            w.append([smp.mixed_record(0)])
        with sink.open_table(station, smp.mixed_table(0x9999, extra=True)) as w:
            assert (w.version, w.sql_table, w.position) == (2, "Ridge_Mixed_v2", None)
            w.append([smp.mixed_record(0, extra=True)])
        with sink.open_table(station, smp.mixed_table(0x9999, extra=True), new_version=True) as w:
            assert (w.version, w.sql_table) == (3, "Ridge_Mixed_v3")
        with (
            pytest.raises(UsageError),
            sink.open_table(station, smp.mixed_table(0x9999, extra=True)),
        ):
            sink.open_table(station, smp.mixed_table(0x9999, extra=True))
    versions = rows(db, "SELECT version, sql_table FROM table_versions ORDER BY version")
    assert versions == [(1, "Ridge_Mixed"), (2, "Ridge_Mixed_v2"), (3, "Ridge_Mixed_v3")]


def test_long_names_fit_postgresql_identifiers(dsn: str, smp: SimpleNamespace) -> None:
    station = StationInfo("S" * 64)
    field = FieldDef("V" * 70, 9, processing="Smp")
    table = TableDef("T" * 40, 2, 100, 14, NSec(0, 0), NSec(60, 0), (field,), 7)
    record = Record(table.name, 0, dt.datetime(2024, 1, 1), {field.name: 1.5})
    with PostgresSink(dsn) as sink:
        with sink.open_table(station, table) as w:
            w.append([record])
            assert len(w.sql_table.encode()) <= 63
        with sink.open_table(station, table, new_version=True) as w2:
            assert len(w2.sql_table.encode()) <= 63 and w2.sql_table != w.sql_table


def test_two_sinks_racing_on_one_table_store_each_record_once(
    smp: SimpleNamespace, dsn: str, db: psycopg.Connection[tuple[object, ...]],
    station: StationInfo,
) -> None:  # fmt: skip
    """Two collectors that both fetched overlapping records: the position lock decides."""
    table = smp.numeric_table()
    errors: list[BaseException] = []

    def collector() -> None:
        try:
            with PostgresSink(dsn) as sink:
                for _ in range(25):  # each round: resume from the stored position, fetch 10
                    with sink.open_table(station, table) as w:
                        start = -1 if w.position is None else w.position.record
                        batch = [smp.numeric_record(n) for n in range(start + 1, start + 11)]
                        w.append(batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=collector) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    numbers = [r[0] for r in rows(db, 'SELECT record FROM "Ridge_Hourly" ORDER BY record')]
    assert numbers == list(range(numbers[-1] + 1))
    assert rows(db, "SELECT last_record FROM positions") == [(numbers[-1],)]


# --- schema version --------------------------------------------------------------------------


def test_forward_migration_keeps_the_data(
    smp: SimpleNamespace, dsn: str, db: psycopg.Connection[tuple[object, ...]],
    station: StationInfo,
) -> None:  # fmt: skip
    assert migrate(db, "test", upto=1) == 1
    assert rows(db, "SELECT to_regclass('fleet_leases')") == [(None,)]
    with PostgresSink(dsn) as sink, sink.open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(0)])
    assert rows(db, "SELECT version FROM fieldlink_schema") == [(SCHEMA_VERSION,)]
    assert rows(db, "SELECT to_regclass('fleet_leases')::text") == [("fleet_leases",)]
    assert rows(db, 'SELECT count(*) FROM "Ridge_Hourly"') == [(1,)]


def test_schema_from_a_newer_fieldlink_is_refused(
    smp: SimpleNamespace, dsn: str, db: psycopg.Connection[tuple[object, ...]],
    station: StationInfo,
) -> None:  # fmt: skip
    PostgresSink(dsn).close()
    db.execute(b"UPDATE fieldlink_schema SET version = 99")
    with pytest.raises(StoreError) as info:
        PostgresSink(dsn)
    message = str(info.value)
    assert message.startswith("PostgreSQL store postgresql://fieldlink:***@127.0.0.1")
    assert "schema version 99 is from a newer fieldlink" in message and "\n" not in message
    assert PG_PASSWORD not in message


# --- bad input -------------------------------------------------------------------------------


def test_wrong_password_unreachable_and_missing_database(pg: PostgresServer) -> None:
    wrong = pg.dsn().replace(PG_PASSWORD, "not-it")
    with pytest.raises(StoreError) as info:
        PostgresSink(wrong)
    text = str(info.value)
    assert "password authentication failed" in text and "\n" not in text
    assert "not-it" not in text and text.startswith("PostgreSQL store ")
    with pytest.raises(StoreError, match="cannot connect"):
        PostgresSink(f"postgresql://fieldlink@127.0.0.1:{free_port()}/x", connect_timeout=2)
    with pytest.raises(StoreError, match='database "nope" does not exist'):
        PostgresSink(pg.dsn("nope"))


def test_password_from_env_or_file_never_in_clear(
    pg: PostgresServer, dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = dsn.replace(f":{PG_PASSWORD}", "")
    assert clear_password(dsn) and not clear_password(bare)
    assert clear_password("host=db password=x user=u")
    assert clear_password("postgresql://u@db/x?password=x")
    assert redact(dsn) == bare.replace("fieldlink@", "fieldlink:***@")
    with pytest.raises(ConfigError, match="password in clear"):
        check_no_clear_password(dsn, "the postgresql dsn")
    monkeypatch.setenv("FL_TEST_PG", PG_PASSWORD)
    open_sink("postgresql", options={"dsn": bare, "password_env": "FL_TEST_PG"}).close()
    secret = tmp_path / "pg.pass"
    secret.write_text(PG_PASSWORD + "\n")
    open_sink("postgresql", options={"dsn": bare, "password_file": str(secret)}).close()
    with pytest.raises(StoreError, match="FL_TEST_UNSET is not set"):
        open_sink("postgresql", options={"dsn": bare, "password_env": "FL_TEST_UNSET"})
    with pytest.raises(StoreError, match="cannot read password file"):
        open_sink("postgresql", options={"dsn": bare, "password_file": str(secret) + ".x"})


def test_fenced_writes_refused_without_the_lease(
    smp: SimpleNamespace, dsn: str, db: psycopg.Connection[tuple[object, ...]],
    station: StationInfo,
) -> None:  # fmt: skip
    table = smp.numeric_table()
    with PostgresSink(dsn, holder="A") as sink, sink.open_table(station, table) as w:
        db.execute(b"INSERT INTO fleet_leases (station, holder) VALUES ('Ridge', 'B')")
        with pytest.raises(StoreError, match="leased to B, not to this collector"):
            w.append([smp.numeric_record(0)])
        assert w.position is None
        db.execute(b"UPDATE fleet_leases SET holder = 'A'")
        w.append([smp.numeric_record(0)])
        assert w.position == Position(table.signature, 0, 1)


def test_database_stopping_mid_transaction(
    smp: SimpleNamespace, pg: PostgresServer, dsn: str, station: StationInfo
) -> None:
    """The server goes down while an append waits inside its transaction.

    The append fails with one StoreError naming the store, nothing of its batch is
    kept, the position stays; once the server is back the same append stores it once.
    The server stops at once ("immediate", as a crash or power cut would stop it): a
    "fast" stop ends sessions one by one, and when the lock holder's ends first the
    waiting append may still commit -- a fine outcome, but not the one tested here.
    """
    table = smp.numeric_table()
    sink = PostgresSink(dsn)
    writer = sink.open_table(station, table)
    writer.append([smp.numeric_record(n) for n in range(3)])
    blocker = psycopg.connect(dsn)
    blocker.execute(b"SELECT * FROM positions FOR UPDATE")  # holds the row lock
    outcome: list[BaseException | None] = []

    def append() -> None:
        try:
            writer.append([smp.numeric_record(n) for n in range(3, 9)])
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=append)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        with psycopg.connect(pg.dsn(), autocommit=True) as watch:
            while time.monotonic() < deadline:  # wait until the append is stuck on the lock
                waiting = watch.execute(
                    b"SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    b"'fieldlink' AND wait_event_type = 'Lock'"
                ).fetchone()
                if waiting and waiting[0]:
                    break
                time.sleep(0.02)
            else:
                pytest.fail("the append never waited on the position lock")
        pg.stop("immediate")
        thread.join(30)
    finally:
        pg.start()
        blocker.close()
    assert len(outcome) == 1 and isinstance(outcome[0], StoreError), outcome
    message = str(outcome[0])
    assert message.startswith("PostgreSQL store ") and "store 6 records" in message
    assert "\n" not in message
    assert writer.position == Position(table.signature, 2, 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert rows(conn, "SELECT last_record FROM positions") == [(2,)]
        assert rows(conn, 'SELECT count(*) FROM "Ridge_Hourly"') == [(3,)]
    writer.append([smp.numeric_record(n) for n in range(3, 9)])  # reconnects by itself
    writer.append([smp.numeric_record(n) for n in range(3, 9)])
    with psycopg.connect(dsn, autocommit=True) as conn:
        numbers = rows(conn, 'SELECT record FROM "Ridge_Hourly" ORDER BY record')
        assert [r[0] for r in numbers] == list(range(9))
    writer.close()
    sink.close()


def test_stations_file_postgresql_sink_keys(tmp_path: Path) -> None:
    from fieldlink.collect.config import parse_stations

    base = (
        '[[station]]\nname = "r"\nurl = "tcp:127.0.0.1:1"\nsinks = [{ kind = "postgresql", %s }]\n'
    )
    spec = (
        parse_stations(
            base
            % 'dsn = "postgresql://c@db/f", password_file = "pg.pass", fleet = true, lease = "90s"',
            base_dir=tmp_path,
        )
        .stations[0]
        .sinks[0]
    )
    assert dict(spec.options) == {
        "dsn": "postgresql://c@db/f",
        "password_file": str(tmp_path / "pg.pass"),
        "fleet": True,
        "lease": 90.0,
    }
    assert str(spec) == "postgresql:postgresql://c@db/f"
    with pytest.raises(ConfigError, match=r"line 4, key station.*dsn: .*password in clear"):
        parse_stations(base % 'dsn = "host=db password=hunter2"')
    with pytest.raises(ConfigError, match="not both"):
        parse_stations(base % 'dsn = "postgresql://db", password_env = "A", password_file = "b"')
    with pytest.raises(ConfigError, match="needs 'dsn'"):
        parse_stations(base % 'tables = ["T"]')
    with pytest.raises(ConfigError, match="expected true or false"):
        parse_stations(base % 'dsn = "postgresql://db", fleet = "yes"')
