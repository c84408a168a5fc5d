"""Connections to PostgreSQL as the store and the fleet use them: errors as StoreError.

The PostgreSQL sink and the fleet's leases each keep one autocommit connection for
as long as they live and run every piece of work in one transaction on it.  A
connection the server dropped (restart, network cut) is noticed by psycopg as
*broken*; :class:`PgConnection` then opens a new one and runs the work once more,
which is safe because every piece of work is idempotent (appends skip what is
stored, lease updates are compare-and-set).  A second failure, or any other error,
is a :class:`StoreError` naming the store and what failed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import psycopg

from fieldlink.errors import StoreError

Conn = psycopg.Connection[tuple[Any, ...]]
T = TypeVar("T")


def reason(exc: BaseException) -> str:
    """A psycopg error as one line (libpq's messages run over several)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def open_connection(
    dsn: str, store: str, *, timeout: float = 10.0, application_name: str = "fieldlink"
) -> Conn:
    """A new autocommit connection; failing to connect is a StoreError naming ``store``."""
    try:
        return psycopg.connect(
            dsn,
            autocommit=True,
            connect_timeout=max(1, round(timeout)),
            application_name=application_name,
        )
    except psycopg.Error as exc:
        raise StoreError(f"{store}: cannot connect: {reason(exc)}") from exc


@contextmanager
def connect(dsn: str, store: str, *, timeout: float = 10.0) -> Iterator[Conn]:
    """A short-lived autocommit connection (status queries), errors as :class:`StoreError`."""
    conn = open_connection(dsn, store, timeout=timeout)
    try:
        yield conn
    except psycopg.Error as exc:
        raise StoreError(f"{store}: {reason(exc)}") from exc
    finally:
        conn.close()


class PgConnection:
    """One connection to ``dsn``, opened when first needed and again when it broke.

    ``name`` is the store as messages name it.  ``setup`` (a schema migration) runs
    on each new connection before any work; ``lock`` serialises the work of threads.
    """

    def __init__(
        self,
        dsn: str,
        name: str,
        *,
        timeout: float = 10.0,
        application_name: str = "fieldlink",
        setup: Callable[[Conn, str], object] | None = None,
    ) -> None:
        self.dsn = dsn
        self.name = name
        self.lock = threading.RLock()
        self._timeout = timeout
        self._application_name = application_name
        self._setup = setup
        self._conn: Conn | None = None

    def connection(self) -> Conn:
        """The open connection, or a new one (set up) if there is none or it broke."""
        with self.lock:
            conn = self._conn
            if conn is not None and not conn.closed and not conn.broken:
                return conn
            self.drop()
            conn = open_connection(
                self.dsn, self.name, timeout=self._timeout, application_name=self._application_name
            )
            if self._setup is not None:
                try:
                    self._setup(conn, self.name)
                except psycopg.Error as exc:
                    conn.close()
                    raise StoreError(
                        f"{self.name}: cannot set up the schema: {reason(exc)}"
                    ) from exc
                except BaseException:
                    conn.close()
                    raise
            self._conn = conn
            return conn

    def drop(self) -> None:
        """Close the connection (if any); the next work opens a new one."""
        with self.lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(psycopg.Error):
                conn.close()

    def run(self, what: str, work: Callable[[Conn], T]) -> T:
        """``work`` in one transaction; on a lost connection once more on a new one.

        Every failure is a :class:`StoreError` saying ``what`` failed in which store.
        """
        with self.lock:
            lost: psycopg.Error | None = None
            for attempt in (1, 2):
                try:
                    conn = self.connection()
                except StoreError as exc:
                    if lost is None:
                        raise
                    raise StoreError(
                        f"{self.name}: cannot {what}: connection lost ({reason(lost)}), "
                        f"then {str(exc).removeprefix(self.name + ': ')}"
                    ) from exc
                try:
                    with conn.transaction():
                        return work(conn)
                except psycopg.OperationalError as exc:
                    if conn.broken and attempt == 1:
                        lost = exc
                        self.drop()
                        continue
                    raise StoreError(f"{self.name}: cannot {what}: {reason(exc)}") from exc
                except psycopg.Error as exc:
                    raise StoreError(f"{self.name}: cannot {what}: {reason(exc)}") from exc
            raise AssertionError("unreachable")


__all__ = ["Conn", "PgConnection", "connect", "open_connection", "reason"]
