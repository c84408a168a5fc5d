"""The PostgreSQL store's bookkeeping schema, versioned, and its forward migrations.

The schema carries a version number (table ``fieldlink_schema``).  Opening a
database runs every migration between its version and :data:`SCHEMA_VERSION`, in
one transaction under an advisory lock, so several collectors starting together
migrate it exactly once.  A database whose version is *newer* than this
fieldlink's is refused: an older collector cannot know what the newer schema
means, and writing into it could break what the newer one relies on.

Version 1: the SQLite sink's four bookkeeping tables (``table_versions``,
``positions``, ``holes``, ``collection_log``).  Version 2: ``fleet_leases``, one
row per station, and ``fleet_collectors``, one per live collector, for collectors
sharing the database (see :mod:`fieldlink.collect.fleet`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldlink.errors import StoreError

if TYPE_CHECKING:
    import psycopg

MIGRATIONS: tuple[str, ...] = (
    # 1: the store itself
    """
    CREATE TABLE IF NOT EXISTS table_versions (
        station         text      NOT NULL,
        table_name      text      NOT NULL,
        version         integer   NOT NULL,
        sql_table       text      NOT NULL UNIQUE,
        table_signature integer   NOT NULL,
        definition      text      NOT NULL,
        created_utc     timestamp NOT NULL,
        PRIMARY KEY (station, table_name, version)
    );
    CREATE TABLE IF NOT EXISTS positions (
        station         text      NOT NULL,
        table_name      text      NOT NULL,
        version         integer   NOT NULL,
        table_signature integer   NOT NULL,
        last_record     bigint,
        holes           integer   NOT NULL DEFAULT 0,
        records_lost    bigint    NOT NULL DEFAULT 0,
        updated_utc     timestamp NOT NULL,
        PRIMARY KEY (station, table_name, version)
    );
    CREATE TABLE IF NOT EXISTS holes (
        station         text      NOT NULL,
        table_name      text      NOT NULL,
        version         integer   NOT NULL,
        first_record    bigint    NOT NULL,
        last_record     bigint    NOT NULL,
        detected_utc    timestamp NOT NULL,
        PRIMARY KEY (station, table_name, version, first_record, last_record)
    );
    CREATE TABLE IF NOT EXISTS collection_log (
        id              bigserial PRIMARY KEY,
        time_utc        timestamp NOT NULL,
        station         text      NOT NULL,
        event           text      NOT NULL,
        detail          text      NOT NULL
    );
    CREATE INDEX IF NOT EXISTS collection_log_station ON collection_log (station, time_utc);
    """,
    # 2: collectors sharing the database
    """
    CREATE TABLE IF NOT EXISTS fleet_leases (
        station          text        PRIMARY KEY,
        holder           text,
        in_cycle         boolean     NOT NULL DEFAULT false,
        claimed_utc      timestamptz,
        heartbeat_utc    timestamptz,
        expires_utc      timestamptz,
        last_success_utc timestamptz,
        last_failure_utc timestamptz,
        last_error       text,
        failures         integer     NOT NULL DEFAULT 0,
        cycles           bigint      NOT NULL DEFAULT 0,
        takeovers        integer     NOT NULL DEFAULT 0
    );
    CREATE TABLE IF NOT EXISTS fleet_collectors (
        collector        text        PRIMARY KEY,
        seen_utc         timestamptz NOT NULL,
        lease            float8      NOT NULL
    );
    """,
)

#: The schema version this fieldlink writes.
SCHEMA_VERSION = len(MIGRATIONS)

#: pg_advisory_xact_lock key serialising migrations ("fieldlnk" as a 64-bit number).
_LOCK_KEY = int.from_bytes(b"fieldlnk", "big") & 0x7FFF_FFFF_FFFF_FFFF


def migrate(
    conn: psycopg.Connection[tuple[object, ...]], store: str, upto: int = SCHEMA_VERSION
) -> int:
    """Bring the schema up to version ``upto`` (default: this fieldlink's); return it.

    Raises :class:`StoreError` for a schema from a newer fieldlink.  ``conn`` must be
    in autocommit mode; the migration is one transaction of its own.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute("CREATE TABLE IF NOT EXISTS fieldlink_schema (version integer NOT NULL)")
        row = conn.execute("SELECT max(version) FROM fieldlink_schema").fetchone()
        current = 0 if row is None or row[0] is None else int(str(row[0]))
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{store}: schema version {current} is from a newer fieldlink (this one "
                f"knows up to {SCHEMA_VERSION}); upgrade fieldlink on this host"
            )
        for version in range(current + 1, upto + 1):
            conn.execute(MIGRATIONS[version - 1].encode())
        if upto > current:
            conn.execute("DELETE FROM fieldlink_schema")
            conn.execute("INSERT INTO fieldlink_schema (version) VALUES (%s)", (upto,))
        return max(current, upto)


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]
