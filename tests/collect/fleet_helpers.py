"""Shared by the fleet tests: the throwaway PostgreSQL server, fleet stations, ground truth."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg (fieldlink[postgresql]) not installed")

from fieldlink.collect.config import SinkSpec, StationConfig  # noqa: E402
from fieldlink.pakbus.protocol.model import Record  # noqa: E402
from fieldlink.store.throwaway import (  # noqa: E402
    PG_PASSWORD,
    PostgresServer,
    Unavailable,
    shared_postgres,
)

#: The environment variable the fleet sinks read the password from.
PASSWORD_ENV = "FIELDLINK_TEST_PG_PASSWORD"


def server() -> PostgresServer:
    try:
        return shared_postgres()
    except Unavailable as exc:
        pytest.skip(f"no PostgreSQL server can be started here: {exc}")


def fresh_dsn(pg: PostgresServer) -> str:
    """A new empty schema; its DSN *without* the password (it comes from PASSWORD_ENV)."""
    return pg.create_schema(f"f_{uuid.uuid4().hex[:12]}").replace(f":{PG_PASSWORD}@", "@")


def with_password(dsn: str) -> str:
    return dsn.replace("fieldlink@", f"fieldlink:{PG_PASSWORD}@")


def fleet_sink(dsn: str, lease: float = 2.0) -> SinkSpec:
    options = {"dsn": dsn, "password_env": PASSWORD_ENV, "fleet": True, "lease": lease}
    return SinkSpec("postgresql", Path(), None, options)


def fleet_station(name: str, url: str, dsn: str, **kw: Any) -> StationConfig:
    base: dict[str, Any] = {
        "name": name,
        "url": url,
        "tables": ("Small",),
        "clock": None,
        "batch_size": 10,
        "timeout": 5.0,
        "sinks": (fleet_sink(dsn),),
    }
    base.update(kw)
    return StationConfig(**base)


def stored_rows(dsn: str, station: str, table: str = "Small") -> list[tuple[Any, ...]]:
    with psycopg.connect(with_password(dsn), autocommit=True) as conn:
        found = conn.execute(
            b"SELECT sql_table FROM table_versions WHERE station = %s AND table_name = %s "
            b"AND version = 1",
            (station, table),
        ).fetchone()
        if found is None:
            return []
        quoted = '"' + str(found[0]).replace('"', '""') + '"'
        return conn.execute(f'SELECT * FROM {quoted} ORDER BY "record"'.encode()).fetchall()


def query(dsn: str, text: str, *args: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(with_password(dsn), autocommit=True) as conn:
        cur = conn.execute(text.encode(), args)
        return cur.fetchall() if cur.description is not None else []


def assert_exactly_once(truth: Sequence[Record], rows: Sequence[tuple[Any, ...]]) -> None:
    """The stored rows are the ground truth: every record once, same stamp, same values."""
    numbers = [r[0] for r in rows]
    assert numbers == [r.number for r in truth], "records missing, extra or stored twice"
    for record, row in zip(truth, rows, strict=True):
        assert row[1] == record.timestamp, record.number
        assert row[2] == record.timestamp.replace(tzinfo=dt.UTC).replace(tzinfo=None)
        for want, got in zip(record.flat(), row[3:], strict=True):
            if isinstance(want, float) and math.isnan(want):
                assert isinstance(got, float) and math.isnan(got)
            else:
                assert got == want, (record.number, want, got)
