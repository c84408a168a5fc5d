"""Fleet leases on a real PostgreSQL server: claim, skip, expiry, takeover, fencing, status."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from collect_emulators import emulator, running
from fleet_helpers import (
    PASSWORD_ENV,
    assert_exactly_once,
    fleet_station,
    fresh_dsn,
    psycopg,
    query,
    server,
    stored_rows,
    with_password,
)

from fieldlink.collect.config import StationConfig
from fieldlink.collect.connect import connect_client
from fieldlink.collect.fleet import Fleet, fleet_status
from fieldlink.collect.fleet_cli import fleet_group
from fieldlink.collect.results import CycleResult
from fieldlink.collect.scheduler import collect_once, make_cycle
from fieldlink.collect.sinks import SinkPool
from fieldlink.errors import StoreError
from fieldlink.pakbus.protocol.model import FieldDef, Record, TableDef
from fieldlink.pakbus.protocol.wire import NSec
from fieldlink.store.base import StationInfo
from fieldlink.store.postgresql import PostgresSink
from fieldlink.store.throwaway import PG_PASSWORD, PostgresServer


@pytest.fixture(scope="module")
def pg() -> PostgresServer:
    return server()


@pytest.fixture
def dsn(pg: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(PASSWORD_ENV, PG_PASSWORD)
    return fresh_dsn(pg)


class Quiet:
    """A status listener that listens to nothing."""

    def cycle_started(self, station: str) -> None: ...

    def table_progress(self, station: str, table: str, records: int) -> None: ...

    def cycle_finished(self, result: CycleResult, next_due: float | None, level: str) -> None: ...


def fleet(dsn: str, name: str, lease: float = 30.0) -> Fleet:
    return Fleet(with_password(dsn), name="test fleet", collector=name, lease=lease)


def ok(station: str) -> CycleResult:
    return CycleResult(station, started=dt.datetime.now(dt.UTC))


def test_claim_skip_release_expire_and_take_over(dsn: str) -> None:
    a, b, c = fleet(dsn, "A"), fleet(dsn, "B"), fleet(dsn, "C")
    try:
        assert a.claim("ridge").ok
        refused = b.claim("ridge")
        assert (refused.ok, refused.holder, refused.why) == (False, "A", "leased to A")
        assert a.claim("ridge").ok  # our own lease: renewed, not refused
        a.release("ridge", ok("ridge"))
        assert b.claim("ridge", recent=60).why == "collected moments ago"
        assert b.claim("ridge").ok  # released: free for anyone
        # B dies mid-cycle: no release, no heartbeat.  Its lease runs out...
        query(dsn, "UPDATE fleet_leases SET expires_utc = now() - interval '1 s'")
        taken = c.claim("ridge", recent=60)  # a dead collector's station is due at once
        assert taken.ok and taken.took_over_from == "B"
        assert not b.heartbeat("ridge")  # B wakes up: the lease is no longer its
        assert c.heartbeat("ridge")
        c.release("ridge", None)  # interrupted: counts as a failure
        assert query(dsn, "SELECT holder, takeovers, failures, last_error FROM fleet_leases") == [
            ("C", 1, 1, "interrupted")
        ]
        log = query(dsn, "SELECT detail FROM collection_log WHERE event = 'takeover'")
        assert log == [("C took over from B (lease expired)",)]
    finally:
        for f in (a, b, c):
            f.close()


def test_a_row_being_claimed_is_skipped_not_waited_for(dsn: str) -> None:
    a, b = fleet(dsn, "A"), fleet(dsn, "B")
    try:
        a.claim("ridge")
        a.release("ridge", ok("ridge"))
        with psycopg.connect(with_password(dsn)) as locker:
            locker.execute(b"SELECT * FROM fleet_leases FOR UPDATE")
            done: list[object] = []
            t = threading.Thread(target=lambda: done.append(b.claim("ridge")))
            t.start()
            t.join(20)  # SKIP LOCKED: returns at once instead of queueing
            assert not t.is_alive()
        assert done and not done[0].ok  # type: ignore[attr-defined]
        assert done[0].why == "being claimed by another collector"  # type: ignore[attr-defined]
    finally:
        a.close()
        b.close()


def test_fleet_database_unreachable_fails_the_cycle_in_one_line(
    dsn: str, pg: PostgresServer
) -> None:
    from fieldlink.store.throwaway import free_port

    bad = dsn.replace(f":{pg.port}/", f":{free_port()}/")
    station = fleet_station("ridge", "tcp:127.0.0.1:1", bad)
    with SinkPool(collector="A") as pool:
        result = asyncio.run(make_cycle(connect_client, pool)(station))
    assert result.error_kind == "StoreError" and result.error is not None
    assert result.error.startswith("PostgreSQL store postgresql://fieldlink@127.0.0.1:")
    assert "cannot connect" in result.error and "\n" not in result.error


@pytest.mark.parametrize("collectors", [2, 3])
def test_collectors_share_stations_each_record_once(
    tmp_path: Path, dsn: str, collectors: int
) -> None:
    """N collectors run one cycle of every station at the same time: each station is
    collected by exactly one of them, and every record is stored exactly once."""
    emus = [emulator(tmp_path, f"st{i}", records=60, seed=i) for i in range(6)]
    with running(emus) as urls:
        stations = [fleet_station(f"st{i}", url, dsn) for i, url in enumerate(urls)]
        pools = [SinkPool(collector=f"C{n}") for n in range(collectors)]
        for pool in pools:  # all live before anyone claims (the settle pause is a heuristic)
            fleet_of = pool.fleet_for(stations[0])
            assert fleet_of is not None
            fleet_of.join()

        async def all_at_once() -> list[list[CycleResult]]:
            cycles = [make_cycle(connect_client, pool) for pool in pools]
            return list(await asyncio.gather(*(collect_once(stations, c, Quiet()) for c in cycles)))

        try:
            results = asyncio.run(all_at_once())
        finally:
            for pool in pools:
                pool.close()
    assert all(r.ok for rs in results for r in rs), [r.error for rs in results for r in rs]
    for i, emu in enumerate(emus):
        assert_exactly_once(emu.station.records("Small"), stored_rows(dsn, f"st{i}"))
        collected_by = [rs[i].records for rs in results]
        assert sorted(collected_by) == [0] * (collectors - 1) + [60], collected_by
    leases = query(dsn, "SELECT station, cycles, holder FROM fleet_leases ORDER BY station")
    assert [(s, n) for s, n, _ in leases] == [(f"st{i}", 1) for i in range(6)]
    # Divided, not grabbed by the first to wake: each takes its fair share.
    shares = Counter(h for *_, h in leases)
    assert sorted(shares) == [f"C{n}" for n in range(collectors)]
    assert max(shares.values()) == -(-6 // collectors), shares


def test_a_collector_takes_no_more_than_its_share(dsn: str) -> None:
    a, b = fleet(dsn, "A"), fleet(dsn, "B")
    try:
        a.join()
        b.join()
        for s in ("s1", "s2", "s3", "s4"):
            a.register(s)
        assert a.claim("s1").ok and a.claim("s2").ok
        refused = a.claim("s3")
        assert not refused.ok
        assert refused.why == "has its share already (2 of 4 stations, 2 collectors)"
        assert b.claim("s3").ok
        b.leave()  # B gone: A may take everything
        assert a.claim("s4").ok
    finally:
        a.close()
        b.close()


def test_status_shows_holders_successes_and_tables(tmp_path: Path, dsn: str) -> None:
    emus = [emulator(tmp_path, f"st{i}", records=20, seed=i) for i in range(2)]
    with running(emus) as urls, SinkPool(collector="alpha") as pool:
        stations = [fleet_station(f"st{i}", url, dsn) for i, url in enumerate(urls)]
        asyncio.run(collect_once(stations, make_cycle(connect_client, pool), Quiet()))
    toml = tmp_path / "stations.toml"
    toml.write_text(
        "[defaults]\n"
        f'sinks = [{{ kind = "postgresql", dsn = "{dsn}", password_env = "{PASSWORD_ENV}", '
        "fleet = true }]\n"
        + "".join(f'[[station]]\nname = "st{i}"\nurl = "{u}"\n' for i, u in enumerate(urls))
    )
    a = fleet(dsn, "beta")
    a.join()
    try:
        assert a.claim("st1").ok  # beta is collecting st1 right now
        out = CliRunner().invoke(fleet_group, ["status", str(toml)], env={"COLUMNS": "250"})
    finally:
        a.close()
    states = {s.station: s for s in fleet_status(with_password(dsn), "test")}
    assert states["st0"].state == "idle" and states["st0"].holder == "alpha"
    assert states["st0"].tables == (("Small", 19),) and states["st0"].last_success is not None
    assert states["st1"].state == "collecting" and states["st1"].holder == "beta"
    assert out.exit_code == 0, out.output
    assert "collectors running: beta; collecting now: beta (1)" in out.output
    assert "Small #19" in out.output and "alpha" in out.output
    assert PG_PASSWORD not in out.output
    lines = CliRunner().invoke(fleet_group, ["status", str(toml), "--json"]).output.splitlines()
    assert [json.loads(line)["holder"] for line in lines] == ["alpha", "beta"]


def test_fenced_writer_cannot_store_once_taken_over(dsn: str) -> None:
    """A collector frozen past its lease wakes up mid-cycle: its writes are refused."""
    a, b = fleet(dsn, "A"), fleet(dsn, "B")
    try:
        assert a.claim("ridge").ok
        query(dsn, "UPDATE fleet_leases SET expires_utc = now() - interval '1 s'")
        assert b.claim("ridge").ok
    finally:
        a.close()
        b.close()
    t = TableDef("T", 2, 10, 14, NSec(0, 0), NSec(60, 0), (FieldDef("V", 9),), 1)
    with PostgresSink(with_password(dsn), holder="A") as sink:
        writer = sink.open_table(StationInfo("ridge"), t)
        with pytest.raises(StoreError, match="leased to B"):
            writer.append([Record("T", 0, dt.datetime(2024, 1, 1), {"V": 1.0})])
        assert writer.position is None


def test_waiting_on_a_busy_station_takes_it_over_when_its_collector_dies(dsn: str) -> None:
    """B finds A in a cycle of the station; A dies: B takes over at A's lease expiry,
    not a whole interval later.  Had A finished meanwhile, B would have left it."""
    station = fleet_station("ridge", "tcp:127.0.0.1:1", dsn)
    ran: list[str] = []

    async def cycle(config: object) -> CycleResult:
        ran.append("B")
        return ok("ridge")

    a, b = fleet(dsn, "A", lease=1.0), fleet(dsn, "B", lease=1.0)
    try:
        assert a.claim("ridge").ok  # A starts a cycle ... and is never heard of again
        result = asyncio.run(b.run(station, cycle))
        assert result.ok and ran == ["B"]
        assert query(dsn, "SELECT holder, takeovers, in_cycle FROM fleet_leases") == [
            ("B", 1, False)
        ]
        # Now A is alive and finishes while B waits: B does not collect again.
        assert a.claim("ridge").ok

        async def a_finishes() -> CycleResult:
            async def release_soon() -> None:
                await asyncio.sleep(0.2)
                await asyncio.to_thread(a.release, "ridge", ok("ridge"))

            task = asyncio.create_task(release_soon())
            result = await b.run(station, cycle)
            await task
            return result

        assert asyncio.run(a_finishes()).records == 0 and ran == ["B"]
    finally:
        a.close()
        b.close()


def test_fair_shares_order_collectors_but_never_leave_a_station_out(dsn: str) -> None:
    """B is live but does not know these stations (another stations file): A, over its
    share, waits the settle pause for B, then collects them all anyway."""
    stations = [fleet_station(f"s{i}", "tcp:127.0.0.1:1", dsn) for i in range(4)]
    ran: list[str] = []

    async def cycle(config: StationConfig) -> CycleResult:
        await asyncio.sleep(0.3)  # still in its cycle while the others are claimed
        ran.append(config.name)
        return ok(config.name)

    a, b = fleet(dsn, "A", lease=1.0), fleet(dsn, "B", lease=1.0)
    try:
        b.join()

        async def all_four() -> list[CycleResult]:
            return list(await asyncio.gather(*(a.run(s, cycle) for s in stations)))

        assert all(r.ok for r in asyncio.run(all_four()))
        assert sorted(ran) == ["s0", "s1", "s2", "s3"]
    finally:
        a.close()
        b.close()


def test_database_restart_mid_collection_loses_and_duplicates_nothing(
    tmp_path: Path, dsn: str, pg: PostgresServer
) -> None:
    """The shared database goes down and comes back while stations are being collected:
    the cycles caught fail with a one-line StoreError, the next ones finish the job,
    and every record is stored exactly once."""
    emus = [emulator(tmp_path, f"st{i}", records=150, seed=i, faults="delay=0.05")
            for i in range(3)]  # fmt: skip
    PostgresSink(with_password(dsn)).close()  # the schema, for the query below
    with running(emus) as urls, SinkPool(collector="A") as pool:
        stations = [fleet_station(f"st{i}", url, dsn) for i, url in enumerate(urls)]
        cycle = make_cycle(connect_client, pool)

        async def restart_when_half_stored() -> list[CycleResult]:
            run = asyncio.ensure_future(collect_once(stations, cycle, Quiet()))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not run.done():
                stored = await asyncio.to_thread(
                    query, dsn, "SELECT coalesce(sum(last_record + 1), 0) FROM positions"
                )
                if 0 < stored[0][0] < 300:
                    break
                await asyncio.sleep(0.02)
            await asyncio.to_thread(pg.stop, "fast")
            await asyncio.to_thread(pg.start)
            return await run

        first = asyncio.run(restart_when_half_stored())
        failed = [r for r in first if not r.ok]
        assert failed, "the restart should have hit a cycle"
        for r in failed:
            assert r.error_kind == "StoreError" and r.error is not None and "\n" not in r.error
            assert r.error.startswith("PostgreSQL store postgresql://fieldlink@")
        again = asyncio.run(collect_once(stations, cycle, Quiet()))
        assert all(r.ok for r in again), [r.error for r in again]
    for i, emu in enumerate(emus):
        assert_exactly_once(emu.station.records("Small"), stored_rows(dsn, f"st{i}"))
