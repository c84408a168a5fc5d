"""The blocking and asyncio clients against the emulator over real links (TCP, pty)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import pytest

from fieldlink.batlab.client import AsyncBatlab, Batlab, port_url
from fieldlink.batlab.emulator import BatlabEmulator, BatlabUnit, Battery, make_units
from fieldlink.batlab.errors import (
    CellFault,
    FirmwareImageError,
    RegisterRejected,
    UnitUnplugged,
)
from fieldlink.batlab.firmware import IMAGE_SIZE, FirmwareImage, make_image
from fieldlink.batlab.registers import CellRegister, Mode, SettingsFlag, UnitRegister
from fieldlink.batlab.settings import TestSettings
from fieldlink.batlab.workflow import TestKind
from fieldlink.errors import UsageError


@pytest.fixture
def unit() -> BatlabUnit:
    return make_units(1, speed=200, reset_silence=0.1, capacity_ah=0.3)[0]


@pytest.fixture
def emu(unit: BatlabUnit) -> Iterator[BatlabEmulator]:
    with BatlabEmulator(unit, pty=False).running() as host:
        yield host


@pytest.fixture
def client(emu: BatlabEmulator) -> Iterator[Batlab]:
    assert emu.url is not None
    with Batlab(emu.url, timeout=0.5) as b:
        yield b


def test_port_url_forms() -> None:
    assert port_url("/dev/ttyACM0") == "serial:/dev/ttyACM0:38400"
    assert port_url("serial:/dev/pts/4") == "serial:/dev/pts/4:38400"
    assert port_url("serial:/dev/pts/4:115200") == "serial:/dev/pts/4:115200"
    assert port_url("tcp:127.0.0.1:5000") == "tcp:127.0.0.1:5000"
    assert port_url("COM3") == "serial:COM3:38400"


def test_handshake_leaves_unit_as_the_official_library_does(
    client: Batlab, unit: BatlabUnit
) -> None:
    assert client.serial == 262222 and client.info.firmware == 7
    assert client.info.temp_r == (1606, 1686, 1763, 1715)
    assert unit.unit_register(UnitRegister.SETTINGS) == SettingsFlag.WATCHDOG
    assert unit.unit_register(UnitRegister.WATCHDOG_TIMER) >= 250
    assert [unit.cell_register(n, CellRegister.MODE) for n in range(4)] == [Mode.IDLE] * 4


def test_read_write_and_negative_values(client: Batlab, unit: BatlabUnit) -> None:
    client.write(0, CellRegister.CURRENT_CALIB_OFF, -37)
    assert unit.cell_register(0, CellRegister.CURRENT_CALIB_OFF) == 65499
    assert client.read(0, CellRegister.CURRENT_CALIB_OFF) == 65499
    client.write_verify(1, CellRegister.REPORT_INTERVAL, 0)


def test_read_only_and_rejected_writes(client: Batlab, unit: BatlabUnit) -> None:
    with pytest.raises(UsageError, match="FIRMWARE_VER is read-only"):
        client.write(4, UnitRegister.FIRMWARE_VER, 9)
    with pytest.raises(RegisterRejected, match="SERIAL_NUM"):
        client.write(4, UnitRegister.SERIAL_NUM, 1)  # protected: not blank, no DEBUG
    with pytest.raises(RegisterRejected):
        client.write(4, 0x30, 1)
    assert unit.unit_register(UnitRegister.FIRMWARE_VER) == 7


def test_out_of_range_setpoint_sends_nothing(client: Batlab, unit: BatlabUnit) -> None:
    before = client.session.stats.exchanges
    with pytest.raises(UsageError, match=r"0\.\.5 A"):
        client.set_current(0, 7.5)
    assert client.session.stats.exchanges == before
    assert unit.cell_register(0, CellRegister.CURRENT_SETPOINT) == 256


def test_snapshot_and_current(client: Batlab, unit: BatlabUnit) -> None:
    client.set_current(2, 1.5)
    client.set_mode(2, Mode.DISCHARGE)
    s = client.snapshot(2)
    assert s.mode is Mode.DISCHARGE and s.setpoint == 1.5 and s.present
    assert 3.0 < s.voltage < 4.2 and s.temperature is not None and 20 < s.temperature < 40
    assert unit.unit_register(UnitRegister.LOCK) == 0  # the snapshot unlocked again
    client.set_mode(2, Mode.IDLE)


def test_stream_packets_kept_aside_from_replies(client: Batlab, unit: BatlabUnit) -> None:
    for cell in range(4):
        client.write(cell, CellRegister.REPORT_INTERVAL, 0)  # as fast as the firmware goes
    errors: list[BaseException] = []

    def reader(cell: int) -> None:
        try:
            for _ in range(40):
                assert client.read(cell, CellRegister.TEMP_CALIB_B) == 3380
                assert client.read(4, UnitRegister.FIRMWARE_VER) == 7
        except BaseException as exc:
            errors.append(exc)

    for cell in range(4):
        client.write(cell, CellRegister.REPORT_INTERVAL, 1)
    packets = []

    def listener() -> None:
        for _ in range(10):
            packets.extend(client.listen(0.05))

    threads = [threading.Thread(target=reader, args=(c,)) for c in range(4)]
    threads.append(threading.Thread(target=listener))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    packets += client.stream_packets()
    assert packets and {p.cell for p in packets} <= {0, 1, 2, 3}
    assert all(p.subtype == 0 for p in packets)
    for cell in range(4):
        client.write(cell, CellRegister.REPORT_INTERVAL, 0)


def test_run_test_capacity_and_cell_faults(emu: BatlabEmulator, unit: BatlabUnit) -> None:
    unit.insert(3, None)
    assert emu.url is not None
    with Batlab(emu.url, timeout=0.5) as b:
        run = b.start_test(
            TestSettings(reporting_period=0.2),
            TestKind.DISCHARGE,
            {0: TestKind.DISCHARGE, 3: TestKind.DISCHARGE},
        )
        with pytest.raises(CellFault, match="cell 3: no cell") as info:
            b.run_test(run, poll=0.2)
        assert info.value.run is run
        s = run.summaries()
        assert s[0].fault is None and s[0].capacity_coulombs
        assert s[3].fault


def test_firmware_image_checks_before_touching_the_unit(
    client: Batlab, unit: BatlabUnit, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    short = tmp_path / "short.bin"
    short.write_bytes(b"\0" * 100)
    with pytest.raises(FirmwareImageError, match="15360"):
        client.bootload(short)
    bad = bytearray(make_image(8))
    bad[100] ^= 0xFF
    corrupt = tmp_path / "corrupt.bin"
    corrupt.write_bytes(bytes(bad))
    with pytest.raises(FirmwareImageError, match="checksum"):
        client.bootload(corrupt)
    with pytest.raises(FirmwareImageError, match="cannot read"):
        client.bootload(tmp_path / "missing.bin")
    assert unit.firmware_version == 7 and client.read(4, UnitRegister.FIRMWARE_VER) == 7
    assert len(make_image()) == IMAGE_SIZE


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("FIELDLINK_SOAK", "").lower() != "full"
    and not os.environ.get("FIELDLINK_BATLAB_FLASH"),
    reason="about 10 s (46 080 exchanges); tests/batlab/test_emulator.py flashes in memory",
)
def test_bootload_over_a_real_link(client: Batlab, unit: BatlabUnit) -> None:
    seen: list[int] = []
    version = client.bootload(
        FirmwareImage.from_bytes(make_image(8)),
        progress=lambda p: seen.append(p.done),
        reset_wait=0.3,
    )
    assert version == 8 and client.info.firmware == 8 and seen[-1] == IMAGE_SIZE


def test_unit_unplugged(unit: BatlabUnit) -> None:
    emu = BatlabEmulator(unit, pty=True)
    with emu.running() as host:
        assert host.url is not None
        b = Batlab(host.url, timeout=0.3)
    with pytest.raises(UnitUnplugged, match="went away"):
        b.read(0, 0)
    b.close()


def test_unplugged_mid_test_keeps_measurements(unit: BatlabUnit) -> None:
    unit.cells[0].battery = Battery(capacity_ah=5.0, soc=0.9)
    host = BatlabEmulator(unit, pty=True)
    events = []
    with host.running() as h:
        assert h.url is not None
        b = Batlab(h.url, timeout=0.3)
        run = b.start_test(
            TestSettings(reporting_period=0.05), TestKind.DISCHARGE, {0: TestKind.DISCHARGE}
        )
        it = b.iter_test(run, poll=0.05)
        for event in it:
            events.append(event)
            if len(events) >= 3:
                break
    with pytest.raises(UnitUnplugged):
        for event in b.iter_test(run, poll=0.05):
            events.append(event)
    assert events and run.events
    assert run.schedules[0].done and "unit lost" in (run.schedules[0].fault or "")
    assert any(e.kind.value == "sample" for e in run.events)
    b.close()


def test_async_twin(emu: BatlabEmulator, unit: BatlabUnit) -> None:
    async def go() -> tuple[int, float, int]:
        assert emu.url is not None
        async with await AsyncBatlab.open(emu.url, timeout=0.5) as b:
            await b.set_current(1, 0.5)
            s = await b.snapshot(1)
            return b.info.serial, s.setpoint, await b.firmware_version()

    assert asyncio.run(go()) == (262222, 0.5, 7)


def test_lost_replies_are_asked_again(unit: BatlabUnit) -> None:
    with BatlabEmulator(unit, pty=False, faults="drop=0.1", seed=5).running() as host:
        assert host.url
        with Batlab(host.url, timeout=0.1) as b:
            values = [b.read(n % 4, CellRegister.TEMP_CALIB_B) for n in range(40)]
        assert values == [3380] * 40
        assert b.session.stats.resends > 0


def test_async_test_and_bootload(emu: BatlabEmulator, unit: BatlabUnit) -> None:
    from fieldlink.batlab.errors import FirmwareImageError

    async def go() -> tuple[list[str], float | None]:
        assert emu.url is not None
        async with await AsyncBatlab.open(emu.url, timeout=0.5) as b:
            run = b.start_test(
                TestSettings(reporting_period=0.1), TestKind.CHARGE, {2: TestKind.CHARGE}
            )
            kinds = [e.kind.value async for e in b.iter_test(run, poll=0.1)]
            with pytest.raises(FirmwareImageError):
                await b.bootload(FirmwareImage(b"short"))  # checked again before sending
            assert await b.firmware_version() == 7 and unit.phase.value == "application"
            return kinds, run.summaries()[2].charge_in

    kinds, charged = asyncio.run(go())
    assert kinds[-1] == "finished" and "phase" in kinds and "sample" in kinds
    assert charged is not None and charged > 0


def test_ctrl_c_during_a_lab_run_stops_every_cell(
    emu: BatlabEmulator, unit: BatlabUnit, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldlink.batlab import labrun

    real_join = threading.Thread.join
    state = {"raised": False}

    def join(self: threading.Thread, timeout: float | None = None) -> None:
        if not state["raised"]:
            state["raised"] = True
            real_join(self, 0.5)  # let the test get going
            raise KeyboardInterrupt
        real_join(self, timeout)

    monkeypatch.setattr(labrun.threading.Thread, "join", join)
    assert emu.url is not None
    with Batlab(emu.url, timeout=0.5) as b:
        runs: list[object] = []
        settings = TestSettings(reporting_period=0.05, rest_period=60)
        with pytest.raises(KeyboardInterrupt):
            labrun.run_on_units([b], settings, TestKind.CYCLE, cells=[0, 1], runs=runs)  # type: ignore[arg-type]
    assert [unit.cell_register(c, CellRegister.MODE) for c in (0, 1)] == [Mode.STOPPED] * 2
    (run,) = runs
    assert all(s.fault == "interrupted by the user" for s in run.summaries().values())  # type: ignore[attr-defined]
