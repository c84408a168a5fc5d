"""Several collectors, one fleet: stations divided by lease rows in the shared database.

``fieldlink collect`` on two or more hosts with the same stations file and a
PostgreSQL sink marked ``fleet = true`` divides the stations between them with no
coordinator of its own — the database is the coordinator:

- Before a station's cycle the collector *claims* its lease row: ``SELECT ... FOR
  UPDATE SKIP LOCKED`` on the row (so two collectors claiming at once never wait on
  each other: one gets the row, the other skips the station this time), and takes
  it if it is free, expired, or already its own.  A station collected successfully
  within the last half interval is left alone, so collectors waking for the same
  slot do not collect it twice in a row.
- Every collector keeps a row in ``fleet_collectors`` fresh while it runs (a thread
  beating every third of the lease time).  A collector over its fair share — the
  stations divided by the live collectors, rounded up — lets the others go first:
  it asks again after a moment (:attr:`Fleet.settle`) and only then takes what is
  still free, so the first one to wake does not grab them all, yet no station is
  left out (collectors may know different stations).  A new collector also waits
  the settle pause before its first claim, so that collectors started together
  see each other.
- A collector that finds a station in another's cycle asks again every
  :attr:`Fleet.poll` seconds (for at most half the interval): if the other died, it
  takes the station over when the lease runs out rather than at its next slot.
- During the cycle a *heartbeat* pushes the expiry forward every third of the lease
  time; at the end the lease is released (expiry now) with the outcome noted
  (last success, last failure and error, failures in a row).
- A collector that dies stops its heartbeats; once its lease expires the next
  collector whose slot comes takes the station over (counted in ``takeovers`` and
  logged).  All times are the database server's (``now()``), so the hosts' clocks
  need not agree.

Correctness does not rest on the leases, which only divide the work: every append
locks the table's position row and stores only the records above it, in the same
transaction as the position (see :mod:`fieldlink.store.postgresql`), so a record is
stored exactly once even if two collectors did fetch it.  The leases add fencing:
the store refuses appends from a collector that no longer holds the station
(a process frozen past its lease, then woken).

One lease per *station*, covering all its tables: a logger serves one link at a
time (one TCP connection, one radio), so two collectors splitting its tables would
fight over the link.  Per-table state — position, holes, records lost — is in the
``positions`` table, which ``fieldlink fleet status`` shows beside the leases.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from fieldlink.collect.config import StationConfig
from fieldlink.collect.results import CycleResult
from fieldlink.errors import FieldlinkError
from fieldlink.store.pgconn import Conn, PgConnection, connect
from fieldlink.store.pgschema import migrate

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Runs one cycle of one station (what the scheduler runs).
Cycle = Callable[[StationConfig], Awaitable[CycleResult]]

#: Seconds a lease lasts without a heartbeat.
DEFAULT_LEASE = 60.0


def default_collector() -> str:
    """This collector's name in the lease rows: ``$FIELDLINK_COLLECTOR`` or ``host:pid``."""
    return os.environ.get("FIELDLINK_COLLECTOR") or f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of claiming a station: ours, or whose it is and why not ours."""

    station: str
    ok: bool
    holder: str | None = None
    why: str = ""
    took_over_from: str | None = None
    #: Refused because another collector is in a cycle of it right now: worth asking
    #: again when its lease would run out (it may have died).
    busy: bool = False
    #: Refused because another collector was claiming it at that very moment.
    locked: bool = False
    #: Refused because this collector has its fair share already.
    deferred: bool = False


class Fleet:
    """Lease rows in one PostgreSQL database, for one collector (``collector``)."""

    def __init__(
        self, dsn: str, *, name: str, collector: str | None = None, lease: float = DEFAULT_LEASE
    ) -> None:
        self.dsn = dsn
        self.name = name
        self.collector = collector or default_collector()
        self.lease = lease
        #: Seconds a new collector waits before its first claim (see the module docstring).
        self.settle = min(2.0, lease / 3)
        #: Seconds between looks at a station another collector is in a cycle of: soon
        #: enough to follow it when it finishes or dies, a short transaction each.
        self.poll = min(lease / 2, max(1.0, lease / 10))
        self._pg = PgConnection(
            dsn, name, application_name=f"fieldlink fleet {self.collector}", setup=migrate
        )
        self._joined: float | None = None
        self._known: set[str] = set()
        self._join_lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    # --- database access --------------------------------------------------------------------

    def _run(self, what: str, work: Callable[[Conn], T]) -> T:
        return self._pg.run(what, work)

    # --- leases -----------------------------------------------------------------------------

    def claim(
        self, station: str, *, recent: float = 0.0, takeover_only: bool = False, fair: bool = True
    ) -> Claim:
        """Take ``station``'s lease if it is free, expired or ours; see the module docstring.

        ``recent``: seconds within which a successful cycle (by anyone) makes the
        station not due yet.  ``takeover_only``: only take it from a collector whose
        lease ran out in the middle of a cycle (after waiting on a busy station: one
        that was released meanwhile has had its cycle, good or bad).  ``fair=False``
        ignores the fair share.
        """

        def work(db: Conn) -> Claim:
            db.execute("INSERT INTO fleet_leases (station) VALUES (%s) ON CONFLICT DO NOTHING",
                       (station,))  # fmt: skip
            row = db.execute(
                "SELECT holder, in_cycle, expires_utc > now(), "
                "coalesce(last_success_utc > now() - make_interval(secs => %s), false) "
                "FROM fleet_leases WHERE station = %s FOR UPDATE SKIP LOCKED",
                (recent, station),
            ).fetchone()
            if row is None:
                return Claim(station, False, None, "being claimed by another collector",
                             locked=True)  # fmt: skip
            holder, in_cycle, live, fresh = row
            if holder is not None and holder != self.collector and live:
                return Claim(station, False, holder, f"leased to {holder}", busy=bool(in_cycle))
            if fresh and not in_cycle:
                return Claim(station, False, holder, "collected moments ago")
            if takeover_only and not (in_cycle and holder not in (None, self.collector)):
                return Claim(station, False, holder, f"{holder} has had its cycle meanwhile")
            if fair and (holder != self.collector or not in_cycle):
                mine, total, collectors = db.execute(
                    "SELECT count(*) FILTER (WHERE holder = %s AND in_cycle "
                    "AND expires_utc > now()), count(*), (SELECT count(*) FROM "
                    "fleet_collectors WHERE seen_utc > now() - make_interval(secs => lease) "
                    "AND collector <> %s) + 1 FROM fleet_leases",
                    (self.collector, self.collector),
                ).fetchone() or (0, 0, 1)
                share = -(-int(total) // max(1, int(collectors)))
                if int(mine) >= share:
                    return Claim(station, False, holder, f"has its share already "
                                 f"({mine} of {total} stations, {collectors} collectors)",
                                 deferred=True)  # fmt: skip
            taken = holder if in_cycle and holder not in (None, self.collector) else None
            db.execute(
                "UPDATE fleet_leases SET holder = %s, in_cycle = true, claimed_utc = now(), "
                "heartbeat_utc = now(), expires_utc = now() + make_interval(secs => %s), "
                "takeovers = takeovers + %s WHERE station = %s",
                (self.collector, self.lease, 1 if taken else 0, station),
            )
            if taken:
                db.execute(
                    "INSERT INTO collection_log (time_utc, station, event, detail) "
                    "VALUES (now() AT TIME ZONE 'UTC', %s, 'takeover', %s)",
                    (station, f"{self.collector} took over from {taken} (lease expired)"),
                )
            return Claim(station, True, self.collector, took_over_from=taken)

        result: Claim = self._run(f"claim station {station}", work)
        return result

    def join(self) -> None:
        """Register this collector as live, and keep it so from a thread until closed."""
        with self._join_lock:
            if self._joined is not None:
                return
            self._run("join the fleet", self._seen)
            self._joined = time.monotonic()
            self._beat = threading.Thread(target=self._beating, daemon=True,
                                          name=f"fleet heartbeat {self.collector}")  # fmt: skip
            self._beat.start()

    def _seen(self, db: Conn) -> None:
        db.execute(
            "INSERT INTO fleet_collectors VALUES (%s, now(), %s) ON CONFLICT (collector) "
            "DO UPDATE SET seen_utc = now(), lease = excluded.lease",
            (self.collector, self.lease),
        )

    def _beating(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                self._run("beat", self._seen)
            except FieldlinkError as exc:
                log.warning("%s: collector heartbeat failed: %s", self.name, exc)

    def leave(self) -> None:
        """Stop beating and deregister (peers then share the stations without us)."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(5)
        with contextlib.suppress(FieldlinkError):
            self._run("leave the fleet", self._gone)

    def _gone(self, db: Conn) -> None:
        db.execute("DELETE FROM fleet_collectors WHERE collector = %s", (self.collector,))

    def register(self, station: str) -> None:
        """Make ``station``'s lease row exist, so fair shares count it from the start."""
        self._run(f"register station {station}", lambda db: db.execute(
            "INSERT INTO fleet_leases (station) VALUES (%s) ON CONFLICT DO NOTHING",
            (station,)))  # fmt: skip

    def heartbeat(self, station: str) -> bool:
        """Extend our lease on ``station``; False if it is no longer ours."""

        def work(db: Conn) -> bool:
            cur = db.execute(
                "UPDATE fleet_leases SET heartbeat_utc = now(), "
                "expires_utc = now() + make_interval(secs => %s) "
                "WHERE station = %s AND holder = %s",
                (self.lease, station, self.collector),
            )
            return cur.rowcount > 0

        ours: bool = self._run(f"renew the lease of {station}", work)
        return ours

    def release(self, station: str, result: CycleResult | None) -> None:
        """End our cycle of ``station``: note its outcome, let the lease expire now."""
        ok = result is not None and result.ok
        error = None if result is None else result.error

        def work(db: Conn) -> None:
            db.execute(
                "UPDATE fleet_leases SET in_cycle = false, expires_utc = now(), "
                "cycles = cycles + 1, "
                "last_success_utc = CASE WHEN %(ok)s THEN now() ELSE last_success_utc END, "
                "last_failure_utc = CASE WHEN %(ok)s THEN last_failure_utc ELSE now() END, "
                "last_error = CASE WHEN %(ok)s THEN last_error ELSE %(error)s END, "
                "failures = CASE WHEN %(ok)s THEN 0 ELSE failures + 1 END "
                "WHERE station = %(station)s AND holder = %(me)s",
                {"ok": ok, "error": error or "interrupted", "station": station,
                 "me": self.collector},
            )  # fmt: skip

        self._run(f"release the lease of {station}", work)

    # --- running a cycle under a lease ------------------------------------------------------

    async def run(self, station: StationConfig, cycle: Cycle) -> CycleResult:
        """``cycle(station)`` if this collector gets the lease; else an empty result.

        A station held by another collector is not a failure of ours: the result has
        no error and no tables, and the station stays on its regular schedule.  While
        the other collector is in a cycle of it, we ask again every :attr:`poll`
        seconds (for at most half the station's interval): if that collector died, its
        lease runs out and we take the station over then, not a whole interval later.
        """
        started = dt.datetime.now(dt.UTC)
        try:
            if self._joined is None:
                await asyncio.to_thread(self.join)
            if station.name not in self._known:
                await asyncio.to_thread(self.register, station.name)
                self._known.add(station.name)
            assert self._joined is not None
            wait = self._joined + self.settle - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            claim = await self._claim_patiently(station)
        except FieldlinkError as exc:
            return CycleResult(station.name, started=started, finished=dt.datetime.now(dt.UTC),
                               error=str(exc), error_kind=type(exc).__name__)  # fmt: skip
        if not claim.ok:
            log.info("%s: not collecting here: %s", station.name, claim.why)
            return CycleResult(station.name, started=started, finished=dt.datetime.now(dt.UTC))
        if claim.took_over_from:
            log.warning("%s: took over from %s, whose lease expired", station.name,
                        claim.took_over_from)  # fmt: skip
        beat = asyncio.create_task(self._heartbeats(station.name))
        result: CycleResult | None = None
        try:
            result = await cycle(station)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            try:
                await asyncio.shield(asyncio.to_thread(self.release, station.name, result))
            except FieldlinkError as exc:
                log.warning("%s: could not release the lease: %s", station.name, exc)
        return result

    async def _claim_patiently(self, station: StationConfig) -> Claim:
        """Claim, and ask again while the answer may change soon (never past half the
        station's interval, so the next slot is not run into):

        - the row is locked (another collector is deciding): again in a moment;
        - over our fair share: again after the settle pause, then regardless of shares
          (shares order who goes first; they never leave a station uncollected, even
          when collectors know different stations);
        - another collector is in a cycle of it: again every :attr:`poll` seconds,
          taking it only if that collector's lease ran out mid-cycle.
        """
        recent = station.interval / 2
        deadline = time.monotonic() + station.interval / 2
        fair, takeover_only = True, False
        while True:
            ask = partial(self.claim, recent=recent, fair=fair, takeover_only=takeover_only)
            claim: Claim = await asyncio.to_thread(ask, station.name)
            if claim.locked:
                delay = 0.1
            elif claim.deferred:
                delay, fair = max(self.settle, 0.2), False
            elif claim.busy:
                delay, takeover_only = self.poll, True
            else:
                return claim
            if time.monotonic() + delay >= deadline:
                return claim
            await asyncio.sleep(delay)

    async def _heartbeats(self, station: str) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                if not await asyncio.to_thread(self.heartbeat, station):
                    log.warning("%s: lease lost to another collector; its writes will be "
                                "refused", station)  # fmt: skip
                    return
            except FieldlinkError as exc:
                log.warning("%s: heartbeat failed: %s", station, exc)

    def close(self) -> None:
        if self._beat is not None:
            self.leave()
        self._pg.drop()


@dataclass(frozen=True, slots=True)
class StationState:
    """One station as ``fieldlink fleet status`` shows it: its lease and its tables."""

    station: str
    holder: str | None
    #: "collecting" (in a cycle, lease live), "expired" (in a cycle but the lease ran
    #: out: its collector is presumed dead), "idle" (between cycles) or "unleased".
    state: str
    #: Seconds until the lease expires (negative: expired), None without a lease.
    expires_in: float | None
    last_success: dt.datetime | None
    last_failure: dt.datetime | None
    last_error: str | None
    failures: int
    cycles: int
    takeovers: int
    #: (table, newest record stored) of each table's current version.
    tables: tuple[tuple[str, int | None], ...]
    holes: int
    records_lost: int


_STATUS = """
WITH latest AS (
    SELECT DISTINCT ON (station, table_name) station, table_name, last_record
    FROM positions ORDER BY station, table_name, version DESC
), lost AS (
    SELECT station, sum(holes)::bigint AS holes, sum(records_lost)::bigint AS lost
    FROM positions GROUP BY station
), tables AS (
    SELECT station, array_agg(table_name ORDER BY table_name) AS names,
           array_agg(last_record ORDER BY table_name) AS lasts
    FROM latest GROUP BY station
)
SELECT coalesce(l.station, t.station), l.holder, l.in_cycle,
       extract(epoch FROM l.expires_utc - now())::float8, l.last_success_utc,
       l.last_failure_utc, l.last_error, coalesce(l.failures, 0), coalesce(l.cycles, 0),
       coalesce(l.takeovers, 0), t.names, t.lasts, coalesce(h.holes, 0), coalesce(h.lost, 0)
FROM fleet_leases l
FULL OUTER JOIN tables t ON t.station = l.station
LEFT JOIN lost h ON h.station = coalesce(l.station, t.station)
ORDER BY 1
"""


def live_collectors(dsn: str, name: str) -> list[str]:
    """The collectors whose heartbeat is fresh (seen within their lease time)."""
    with connect(dsn, name) as conn:
        migrate(conn, name)
        rows = conn.execute(
            b"SELECT collector FROM fleet_collectors "
            b"WHERE seen_utc > now() - make_interval(secs => lease) ORDER BY collector"
        ).fetchall()
    return [str(r[0]) for r in rows]


def fleet_status(dsn: str, name: str) -> list[StationState]:
    """Every station the database knows: who holds it, how it went, what is stored."""
    with connect(dsn, name) as conn:
        migrate(conn, name)
        rows = conn.execute(_STATUS.encode()).fetchall()
    out = []
    for (station, holder, in_cycle, expires_in, ok_at, failed_at, error, failures, cycles,
         takeovers, names, lasts, holes, lost) in rows:  # fmt: skip
        if holder is None:
            state = "unleased"
        elif in_cycle:
            state = "collecting" if expires_in is not None and expires_in > 0 else "expired"
        else:
            state = "idle"
        tables = tuple(zip(names or (), lasts or (), strict=True))
        out.append(StationState(str(station), holder, state, expires_in, ok_at, failed_at, error,
                                int(failures), int(cycles), int(takeovers), tables, int(holes),
                                int(lost)))  # fmt: skip
    return out


__all__ = [
    "DEFAULT_LEASE",
    "Claim",
    "Fleet",
    "StationState",
    "default_collector",
    "fleet_status",
    "live_collectors",
]
