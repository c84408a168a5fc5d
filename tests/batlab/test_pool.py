"""The pool: USB discovery by VID/PID, explicit ports, hot-plug events, active unit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from serial.tools.list_ports_common import ListPortInfo

from fieldlink.batlab.emulator import BatlabEmulator, make_units
from fieldlink.batlab.pool import EventKind, Pool, PoolEvent, discover_ports
from fieldlink.errors import NotFound


def path(url: str | None) -> str:
    assert url is not None
    return url.split(":")[1]


def fake_comports(monkeypatch: pytest.MonkeyPatch, attached: list[tuple[str, int, int]]) -> None:
    import serial.tools.list_ports

    def comports() -> list[ListPortInfo]:
        out = []
        for device, vid, pid in attached:
            info = ListPortInfo(device, skip_link_detection=True)
            info.vid, info.pid = vid, pid
            out.append(info)
        return out

    monkeypatch.setattr(serial.tools.list_ports, "comports", comports)


def test_discovery_filters_by_usb_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_comports(
        monkeypatch,
        [
            ("/dev/ttyACM1", 0x04D8, 0x000A),
            ("/dev/ttyUSB0", 0x0403, 0x6001),
            ("/dev/ttyACM0", 0x04D8, 0x000A),
        ],
    )
    assert discover_ports() == ["/dev/ttyACM0", "/dev/ttyACM1"]


def test_usb_hot_plug_with_emulators(monkeypatch: pytest.MonkeyPatch) -> None:
    attached: list[tuple[str, int, int]] = []
    fake_comports(monkeypatch, attached)
    a_unit, b_unit = make_units(2)
    with (
        BatlabEmulator(a_unit).running() as a,
        BatlabEmulator(b_unit).running() as b,
        Pool() as pool,
    ):
        assert pool.refresh() == [] and pool.active is None
        attached.append((path(a.url), 0x04D8, 0x000A))
        kinds = [e.kind for e in pool.refresh()]
        assert kinds == [EventKind.CONNECTED, EventKind.ACTIVE]
        attached.append((path(b.url), 0x04D8, 0x000A))
        assert [e.kind for e in pool.refresh()] == [EventKind.CONNECTED]
        assert sorted(pool.by_serial()) == [262222, 262223]
        assert pool.active is not None and pool.active.serial == 262222
        pool.select(262223)
        assert pool.active.serial == 262223
        assert pool.select(path(a.url)).serial == 262222
        attached.pop(0)
        events = pool.refresh()
        assert events[0] == PoolEvent(EventKind.DISCONNECTED, path(a.url), 262222)
        assert pool.active is not None and pool.active.serial == 262223
        with pytest.raises(NotFound):
            pool.select(262222)


def test_explicit_ports_watched_in_the_background() -> None:
    units = make_units(2)
    seen: list[PoolEvent] = []
    changed = threading.Event()

    def on_event(event: PoolEvent) -> None:
        seen.append(event)
        changed.set()

    def wait(condition: Callable[[], bool]) -> bool:
        end = time.monotonic() + 20
        while not condition() and time.monotonic() < end:
            changed.wait(0.1)
            changed.clear()
        return condition()

    a = BatlabEmulator(units[0])
    with a.running() as ha, BatlabEmulator(units[1]).running() as hb:
        assert ha.url and hb.url
        pool = Pool([ha.url, hb.url], on_event=on_event, interval=0.05).start()
        try:
            assert wait(lambda: len(pool.units) == 2)
            assert {u.serial for u in pool.units.values()} == {262222, 262223}
        finally:
            pass
    # both emulators stopped: their ptys are gone -> unplugged
    try:
        assert wait(lambda: len(pool.units) == 0)
    finally:
        pool.close()
    kinds = [e.kind for e in seen]
    assert kinds.count(EventKind.CONNECTED) == 2 and kinds.count(EventKind.DISCONNECTED) == 2
    assert ("connected" in str(seen[0]) and "262222" in str(seen[0])) or "262223" in str(seen[0])


def test_a_port_that_fails_to_open_is_reported_and_retried(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = tmp_path / "ttyFAKE"
    fake.write_text("")
    pool = Pool([str(fake)])
    events = pool.refresh()
    assert [e.kind for e in events] == [EventKind.FAILED]
    assert pool.units == {} and pool.events()[0].kind is EventKind.FAILED
    pool.close()


def test_keepalive_kicks_the_watchdog_of_every_unit() -> None:
    from fieldlink.batlab.registers import UnitRegister

    unit = make_units(1)[0]
    with BatlabEmulator(unit, pty=False).running() as host:
        assert host.url
        pool = Pool([host.url], interval=0.02, keepalive=0.0)
        try:
            pool.refresh()
            unit.unit_regs[UnitRegister.WATCHDOG_TIMER] = 7
            pool.start()
            end = time.monotonic() + 20
            while unit.unit_register(UnitRegister.WATCHDOG_TIMER) < 200 and time.monotonic() < end:
                time.sleep(0.01)
            assert unit.unit_register(UnitRegister.WATCHDOG_TIMER) >= 200
        finally:
            pool.close()
