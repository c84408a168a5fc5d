"""Throwaway PostgreSQL and mosquitto servers for tests and benchmarks: real engines, no mocks.

Each lives in a temporary directory, listens on 127.0.0.1 on a free port, and is
gone when stopped (or when the process exits).  PostgreSQL is found as the
Debian/Ubuntu packages install it (``/usr/lib/postgresql/<version>/bin``) or on
PATH; mosquitto on PATH or in ``/usr/sbin``.  PostgreSQL refuses to run as root,
so under root the cluster belongs to, and the server runs as, an unprivileged
user (``postgres`` if the packages created it, else ``nobody``).

:func:`shared_postgres` and :func:`shared_mosquitto` start one server per
process on first use, so every test module of a pytest session shares them.
Anything that cannot be started raises :class:`Unavailable` with the reason, for
a test to skip on.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TypeVar

#: The superuser of a throwaway cluster and its password (scram over TCP).
PG_USER = "fieldlink"
PG_PASSWORD = "throwaway-secret"


class Unavailable(RuntimeError):
    """The server cannot be started here; the message says why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, deadline: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.05)
    return False


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise Unavailable("no PostgreSQL server installed (apt-get install postgresql)")


def _run_as() -> list[str]:
    """The command prefix that drops root for PostgreSQL (empty when not root)."""
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        runuser = shutil.which("runuser") or shutil.which("setpriv")
        if runuser is None:
            raise Unavailable("running as root and neither runuser nor setpriv is available")
        if runuser.endswith("runuser"):
            return [runuser, "-u", user, "--"]
        ids = pwd.getpwnam(user)
        return [runuser, f"--reuid={ids.pw_uid}", f"--regid={ids.pw_gid}", "--clear-groups"]
    raise Unavailable("running as root and there is no unprivileged user to run PostgreSQL")


class PostgresServer:
    """One throwaway PostgreSQL cluster."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.prefix = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="fieldlink-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.log = self.root / "server.log"
        self._started = False
        os.chmod(self.root, 0o777)
        pwfile = self.root / "pw"
        pwfile.write_text(PG_PASSWORD + "\n")
        os.chmod(pwfile, 0o644)
        self._run(
            "initdb", "-D", str(self.data), "-U", PG_USER, f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256", "--auth-local=trust", "-N", "-E", "UTF8",
            "--locale=C.UTF-8",
        )  # fmt: skip
        atexit.register(self.destroy)
        self.start()

    def _run(self, tool: str, *args: str, timeout: float = 60.0) -> None:
        cmd = [*self.prefix, str(self.bin / tool), *args]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise Unavailable(f"{tool} failed: {exc}") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()[-3:]
            raise Unavailable(f"{tool} failed: {' / '.join(tail)}")

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root} "
            "-c fsync=off -c full_page_writes=off -c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")  # fmt: skip
        self._started = True

    def stop(self, mode: str = "fast") -> None:
        if self._started:
            self._started = False
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def dsn(self, database: str = "postgres", *, password: bool = True) -> str:
        auth = f":{PG_PASSWORD}" if password else ""
        return f"postgresql://{PG_USER}{auth}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh empty database; returns its DSN (with the password)."""
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
            conn.execute(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY'.encode())
        return self.dsn(name)

    def create_schema(self, name: str) -> str:
        """A fresh empty schema in database ``postgres``, first on the DSN's search path.

        Much faster than a database per test; the store's tables land in it.
        """
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'.encode())
            conn.execute(f'CREATE SCHEMA "{name}"'.encode())
        return self.dsn() + f"?options=-csearch_path%3D{name}"

    def destroy(self) -> None:
        with contextlib.suppress(Unavailable):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class MosquittoServer:
    """One throwaway mosquitto broker, with persistence so a restart keeps sessions."""

    def __init__(self) -> None:
        exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists(
            "/usr/sbin/mosquitto") else None)  # fmt: skip
        if exe is None:
            raise Unavailable("no mosquitto broker installed (apt-get install mosquitto)")
        self.exe = exe
        self.root = Path(tempfile.mkdtemp(prefix="fieldlink-mqtt-"))
        os.chmod(self.root, 0o777)
        self.port = free_port()
        self.config = self.root / "mosquitto.conf"
        user = pwd.getpwuid(os.geteuid()).pw_name
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.root}/\nautosave_interval 1\n"
            f"user {user}\nlog_dest file {self.root}/broker.log\n"
            "max_queued_messages 100000\n"
        )
        self._proc: subprocess.Popen[bytes] | None = None
        atexit.register(self.destroy)
        self.start()

    def start(self) -> None:
        proc = subprocess.Popen(
            [self.exe, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if not _wait_port(self.port, time.monotonic() + 15, proc):
            proc.kill()
            err = proc.communicate()[1].decode(errors="replace").strip()
            raise Unavailable(f"mosquitto did not start: {err or 'no answer on its port'}")
        self._proc = proc

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


Server = TypeVar("Server", PostgresServer, MosquittoServer)

#: This process's server of each kind, or why it could not start (then asking again
#: fails at once instead of trying again in every test).
_shared: dict[type, PostgresServer | MosquittoServer | Unavailable] = {}


def _shared_server(kind: type[Server]) -> Server:
    got = _shared.get(kind)
    if got is None:
        try:
            got = kind()
        except Unavailable as exc:
            got = exc
        _shared[kind] = got
    if isinstance(got, Unavailable):
        raise got
    assert isinstance(got, kind)
    return got


def shared_postgres() -> PostgresServer:
    """This process's throwaway PostgreSQL server, started on first use."""
    return _shared_server(PostgresServer)


def shared_mosquitto() -> MosquittoServer:
    """This process's throwaway mosquitto broker, started on first use."""
    return _shared_server(MosquittoServer)


__all__ = [
    "PG_PASSWORD",
    "PG_USER",
    "MosquittoServer",
    "PostgresServer",
    "Unavailable",
    "free_port",
    "shared_mosquitto",
    "shared_postgres",
]
