"""The emulated unit, through its bytes: vectors, access rules, state machine, watchdog,
stream packets, reset silence and the bootloader."""

from __future__ import annotations

import pytest
from batlab_support import CONNECT_REQUESTS, MemoryDriver, h, vector_unit

from fieldlink.batlab import convert as cv
from fieldlink.batlab import operations as ops
from fieldlink.batlab.codec import Command, decode_response
from fieldlink.batlab.emulator import BatlabUnit, Battery, ManualClock, Phase
from fieldlink.batlab.emulator.port import BatlabPort
from fieldlink.batlab.firmware import make_image
from fieldlink.batlab.registers import (
    CELL_REGISTERS,
    COMMS_REGISTERS,
    UNIT_REGISTERS,
    Access,
    CellRegister,
    ErrorFlag,
    Mode,
    SettingsFlag,
    StatusFlag,
    UnitRegister,
)


def ask(unit: BatlabUnit, wire: str) -> bytes | None:
    return unit.handle(h(wire))


def test_connect_sequence_answers_match_vectors(clock: ManualClock) -> None:
    unit = vector_unit(clock)
    expected = {
        "AA 05 01 00 00": "AA 05 01 01 01",
        "AA 04 91 FF 00": "AA 04 91 00 00",
        "AA 04 00 00 00": "AA 04 00 34 12",
        "AA 04 01 00 00": "AA 04 01 02 00",
        "AA 04 02 00 00": "AA 04 02 07 00",
        "AA 04 86 04 00": "AA 04 86 00 00",
        "AA 04 06 00 00": "AA 04 06 04 00",
    }
    for n in range(4):
        expected[f"AA 0{n} 80 02 00"] = f"AA 0{n} 80 00 00"
        expected[f"AA 0{n} 16 00 00"] = f"AA 0{n} 16 10 27"
        expected[f"AA 0{n} 17 00 00"] = f"AA 0{n} 17 34 0D"
        expected[f"AA 0{n} 03 00 00"] = f"AA 0{n} 03 00 01"
    for wire, _ in CONNECT_REQUESTS:
        assert ask(unit, wire) == h(expected[wire]), wire


def test_connect_operation_learns_the_unit(clock: ManualClock) -> None:
    unit = vector_unit(clock)
    drv = MemoryDriver(unit, clock)
    info = drv.run(ops.connect())
    assert info.serial == 135732 and info.firmware == 7 and not info.bootloader
    assert info.temp_r == (10000,) * 4 and info.temp_b == (3380,) * 4
    assert info.setpoints == (256,) * 4
    assert drv.sent == [h(w) for w, _ in CONNECT_REQUESTS]


def test_other_transaction_vectors(clock: ManualClock) -> None:
    unit = vector_unit(clock)
    assert ask(unit, "AA 00 83 40 01") == h("AA 00 83 00 00")
    assert ask(unit, "AA 04 20 00 00") == h("AA 04 20 01 01")
    assert ask(unit, "AA 00 07 00 00") == h("AA 00 07 3E 69")
    assert ask(unit, "AA 00 05 00 00") == h("AA 00 05 00 40")
    assert ask(unit, "AA 04 82 07 00") == h("AA 04 82 01 01")
    assert ask(unit, "AA 00 8A 77 77") == h("AA 00 8A 00 00")
    assert ask(unit, "AA 00 8E 04 62") == h("AA 00 8E 00 00")
    unit.supply_volts = 32768 * 4.096 / 31000.5
    clock.advance(1.0)
    assert ask(unit, "AA 04 03 00 00") == h("AA 04 03 18 79")


def test_stream_packet_vector(clock: ManualClock) -> None:
    unit = vector_unit(clock)
    r10k = 10000
    ask(unit, "AA 00 8E " + cv.temperature_to_raw(45, r10k, 3380).to_bytes(2, "little").hex())
    ask(unit, "AA 00 8F " + cv.temperature_to_raw(65, r10k, 3380).to_bytes(2, "little").hex())
    assert ask(unit, "AA 00 84 05 00") == h("AA 00 84 00 00")
    port = BatlabPort(unit)
    packets: list[bytes] = []
    for _ in range(20):  # 1 s
        clock.advance(0.05)
        packets += [o.data for o in port.tick(clock())]
    assert packets[0] == h("AF 00 00 02 00 00 00 00 40 00 00 3E 69")
    # period (5 + 1) x 0.1 s: one second gives one or two packets, never more.
    assert 1 <= len(packets) <= 2


# --- access rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("reg", list(CELL_REGISTERS))
def test_every_cell_register_reads_and_accepts_writes(unit: BatlabUnit, reg: CellRegister) -> None:
    read = decode_response(unit.handle(Command.read(1, reg).encode()) or b"")
    assert read.namespace == 1 and read.address == reg and not read.write
    spec = CELL_REGISTERS[reg]
    assert spec.access in (Access.RW, Access.EEPROM)
    reply = unit.handle(Command.write_value(1, reg, read.value).encode())
    assert reply == Command.write_value(1, reg, 0).encode()[:3] + b"\x00\x00"


@pytest.mark.parametrize("address", [0x1F, 0x20, 0x7F])
def test_cell_addresses_past_the_map_answer_257(unit: BatlabUnit, address: int) -> None:
    assert unit.handle(Command.read(0, address).encode())[3:] == b"\x01\x01"  # type: ignore[index]
    assert unit.handle(Command.write_value(0, address, 1).encode())[3:] == b"\x01\x01"  # type: ignore[index]


@pytest.mark.parametrize("reg", [r for r in UNIT_REGISTERS if r is not UnitRegister.BOOTLOAD])
def test_every_unit_register_access_rule(unit: BatlabUnit, reg: UnitRegister) -> None:
    spec = UNIT_REGISTERS[reg]
    before = decode_response(unit.handle(Command.read(4, reg).encode()) or b"").value
    value = 0x0001 if reg is not UnitRegister.WATCHDOG_TIMER else 200
    reply = decode_response(unit.handle(Command.write_value(4, reg, value).encode()) or b"")
    after = decode_response(unit.handle(Command.read(4, reg).encode()) or b"").value
    if spec.access is Access.RO:
        assert reply.rejected
        assert reg is UnitRegister.SYSTEM_TIMER or after == before
    elif spec.access is Access.SERIAL:  # not blank, no DEBUG: protected
        assert reply.rejected and after == before
    else:
        assert not reply.rejected and after == value


def test_serial_writable_in_debug_and_kept_in_eeprom(unit: BatlabUnit, clock: ManualClock) -> None:
    unit.handle(Command.write_value(4, UnitRegister.SETTINGS, SettingsFlag.DEBUG).encode())
    assert unit.handle(Command.write_value(4, 0, 0x1234).encode()) == h("AA 04 80 00 00")
    unit.handle(Command.write_value(4, UnitRegister.BOOTLOAD, 0).encode())
    unit.handle(Command.write_value(5, 0, 0).encode())
    clock.advance(5)
    unit.advance()
    while unit.phase is not Phase.APPLICATION:  # bootloader: leave it with a good image
        unit.handle(Command.write_value(5, 0, 0).encode())
        clock.advance(1)
        unit.advance()
    assert unit.unit_register(UnitRegister.SERIAL_NUM) == 0x1234
    assert unit.unit_register(UnitRegister.SETTINGS) == 0  # RAM, not EEPROM


def test_bootload_register_is_an_action(unit: BatlabUnit) -> None:
    assert unit.handle(Command.write_value(4, UnitRegister.BOOTLOAD, 0).encode()) == h(
        "AA 04 8A 00 00"
    )
    assert unit.phase is Phase.RESETTING


@pytest.mark.parametrize("reg", list(COMMS_REGISTERS))
def test_comms_registers(unit: BatlabUnit, reg: int) -> None:
    assert not decode_response(
        unit.handle(Command.write_value(255, reg, 3).encode()) or b""
    ).rejected
    assert decode_response(unit.handle(Command.read(255, 9).encode()) or b"").rejected


def test_namespace_5_in_application_and_unknown_namespaces(unit: BatlabUnit) -> None:
    assert ask(unit, "AA 05 81 00 04") == h("AA 05 81 01 01")
    assert ask(unit, "AA 07 00 00 00") == h("AA 07 00 01 01")


# --- cells, modes, limits -----------------------------------------------------------------------


def test_present_cells_come_up_idle_empty_slot_no_cell(clock: ManualClock) -> None:
    unit = BatlabUnit(clock=clock, cells=[Battery(), None, Battery(reversed=True), Battery()])
    modes = [unit.cell_register(n, CellRegister.MODE) for n in range(4)]
    assert modes == [Mode.IDLE, Mode.NO_CELL, Mode.BACKWARDS, Mode.IDLE]
    assert unit.cell_register(1, CellRegister.STATUS) & StatusFlag.NO_CELL
    assert unit.cell_register(2, CellRegister.STATUS) & StatusFlag.BACKWARDS


def test_charge_into_empty_slot_stops_with_discharge_limit(clock: ManualClock) -> None:
    unit = BatlabUnit(clock=clock, cells=[None, Battery(), Battery(), Battery()])
    assert ask(unit, "AA 00 80 03 00") == h("AA 00 80 00 00")
    assert unit.cell_register(0, CellRegister.MODE) == Mode.STOPPED
    assert unit.cell_register(0, CellRegister.ERROR) == ErrorFlag.VOLTAGE_LIMIT_DCHG
    ask(unit, "AA 00 80 02 00")  # IDLE on an empty slot -> NO_CELL, error cleared
    assert unit.cell_register(0, CellRegister.MODE) == Mode.NO_CELL
    assert unit.cell_register(0, CellRegister.ERROR) == 0


def test_backwards_cell_cannot_be_charged(clock: ManualClock) -> None:
    unit = BatlabUnit(clock=clock, cells=[Battery(reversed=True), None, None, None])
    ask(unit, "AA 00 80 03 00")
    assert unit.cell_register(0, CellRegister.MODE) == Mode.STOPPED
    assert unit.cell_register(0, CellRegister.CURRENT) == 0


def test_charge_raises_voltage_until_limit_stops(clock: ManualClock) -> None:
    cell = Battery(soc=0.3)
    unit = BatlabUnit(clock=clock, cells=[cell, None, None, None], speed=200)
    ask(unit, "AA 00 80 03 00")
    clock.advance(1.0)
    unit.advance()
    assert unit.cell_register(0, CellRegister.MODE) == Mode.CHARGE
    assert unit.cell_register(0, CellRegister.DUTY) == 256
    i = cv.current_from_raw(unit.cell_register(0, CellRegister.CURRENT))
    assert i == pytest.approx(2.0, abs=0.01)
    v0 = cv.voltage_from_raw(unit.cell_register(0, CellRegister.VOLTAGE))
    clock.advance(10.0)
    unit.advance()
    v1 = cv.voltage_from_raw(unit.cell_register(0, CellRegister.VOLTAGE))
    assert v1 > v0
    for _ in range(100):
        clock.advance(5)
        unit.advance()
    assert unit.cell_register(0, CellRegister.MODE) == Mode.STOPPED
    assert unit.cell_register(0, CellRegister.ERROR) == ErrorFlag.VOLTAGE_LIMIT_CHG
    assert cell.soc > 0.8


def test_charge_counter_adds_up_to_the_charge_moved(clock: ManualClock) -> None:
    cell = Battery(soc=0.5, capacity_ah=2.0)
    unit = BatlabUnit(clock=clock, cells=[cell, None, None, None], speed=50)
    ask(unit, "AA 00 83 80 00")  # 1.0 A
    ask(unit, "AA 00 89 00 00")  # clear
    ask(unit, "AA 00 80 04 00")  # discharge
    soc0 = cell.soc
    for _ in range(20):
        clock.advance(0.6144)
        unit.advance()
    moved = (soc0 - cell.soc) * 2.0 * 3600
    q = (
        unit.cell_register(0, CellRegister.CHARGEL)
        | unit.cell_register(0, CellRegister.CHARGEH) << 16
    )
    assert cv.charge_from_raw(q & 0xFFFF, q >> 16) == pytest.approx(moved, rel=0.02)
    assert moved == pytest.approx(1.0 * 20 * 0.6144 * 50, rel=0.02)


def test_temperature_limit_trips_discharge(clock: ManualClock) -> None:
    cell = Battery(temperature=70.0, ambient=70.0)
    unit = BatlabUnit(clock=clock, cells=[cell, None, None, None])
    ask(unit, "AA 00 80 04 00")
    assert unit.cell_register(0, CellRegister.MODE) == Mode.STOPPED
    assert unit.cell_register(0, CellRegister.ERROR) & ErrorFlag.TEMP_LIMIT_DCHG


def test_no_psu_trips_charge_not_discharge_when_enabled(clock: ManualClock) -> None:
    unit = BatlabUnit(clock=clock, psu=False)
    clock.advance(1)
    unit.advance()
    ask(unit, "AA 04 86 08 00")  # NO_PSU_DCHG_ENABLE
    ask(unit, "AA 00 80 03 00")
    ask(unit, "AA 01 80 04 00")
    assert unit.cell_register(0, CellRegister.ERROR) & ErrorFlag.NO_PSU
    assert unit.cell_register(1, CellRegister.MODE) == Mode.DISCHARGE


def test_lock_freezes_temperature_and_pp(clock: ManualClock) -> None:
    cell = Battery()
    unit = BatlabUnit(clock=clock, cells=[cell, None, None, None])
    ask(unit, "AA 00 80 05 00")  # impedance
    clock.advance(1)
    unit.advance()
    pp = unit.cell_register(0, CellRegister.CURRENT_PP)
    assert pp > 0
    ask(unit, "AA 04 8F 01 00")  # LOCK
    t0 = unit.cell_register(0, CellRegister.TEMPERATURE)
    cell.temperature = 40.0
    cell.ambient = 40.0
    ask(unit, "AA 00 80 02 00")
    clock.advance(2)
    unit.advance()
    assert unit.cell_register(0, CellRegister.TEMPERATURE) == t0
    assert unit.cell_register(0, CellRegister.CURRENT_PP) == pp
    ask(unit, "AA 04 8F 00 00")
    clock.advance(1)
    unit.advance()
    assert unit.cell_register(0, CellRegister.TEMPERATURE) < t0  # hotter reads lower raw
    assert unit.cell_register(0, CellRegister.CURRENT_PP) == 0


def test_impedance_operation_measures_internal_resistance(clock: ManualClock) -> None:
    unit = BatlabUnit(clock=clock, cells=[Battery(resistance=0.12), None, None, None])
    drv = MemoryDriver(unit, clock)
    z = drv.run(ops.impedance(0))
    assert z == pytest.approx(0.12, rel=0.02)
    assert unit.cell_register(0, CellRegister.MODE) == Mode.IDLE  # restored


def test_hi_res_latches_one_cell_six_times_as_often(clock: ManualClock) -> None:
    unit = BatlabUnit(clock=clock, cells=[Battery(), Battery(), None, None])
    ask(unit, "AA 00 80 04 00")
    ask(unit, "AA 01 80 04 00")
    ask(unit, "AA 04 86 10 00")  # CH0_HI_RES
    ask(unit, "AA 00 89 00 00")
    ask(unit, "AA 01 89 00 00")
    clock.advance(6 * 0.6144 + 0.01)
    unit.advance()
    low, high = (unit.cell_register(0, r) for r in (CellRegister.CHARGEL, CellRegister.CHARGEH))
    assert unit.cell_register(1, CellRegister.CHARGEL) == 0  # not measured meanwhile
    # ~36 hi-res latches of 0.1024 s at 2 A (less the rest of the round in progress);
    # normal rounds would have given 6 latches, i.e. 1.2 C read with m = 1.
    assert 2.0 * 30 * 0.1024 <= cv.charge_from_raw(low, high, hires=True) <= 2.0 * 37 * 0.1024


# --- watchdog ----------------------------------------------------------------------------------


def test_watchdog_trip_persists_until_kicked(clock: ManualClock) -> None:
    unit = BatlabUnit(clock=clock)
    ask(unit, "AA 04 86 04 00")  # WATCHDOG
    ask(unit, "AA 04 91 05 00")  # 0.5 s
    ask(unit, "AA 00 80 04 00")
    ask(unit, "AA 01 80 03 00")
    clock.advance(0.35)
    unit.advance()
    assert unit.cell_register(0, CellRegister.MODE) == Mode.DISCHARGE
    clock.advance(0.3)
    unit.advance()
    assert unit.watchdog_tripped
    assert [unit.cell_register(n, CellRegister.MODE) for n in range(4)] == [Mode.STOPPED] * 4
    assert unit.cell_register(0, CellRegister.ERROR) == 0  # no watchdog error bit
    # A mode write is acknowledged but overwritten within 0.1 s.
    assert ask(unit, "AA 00 80 04 00") == h("AA 00 80 00 00")
    clock.advance(0.11)
    unit.advance()
    assert unit.cell_register(0, CellRegister.MODE) == Mode.STOPPED
    ask(unit, "AA 04 91 00 00")  # writing 0 keeps it tripped
    clock.advance(0.2)
    unit.advance()
    assert unit.watchdog_tripped
    ask(unit, "AA 04 91 FF 00")
    ask(unit, "AA 00 80 04 00")
    clock.advance(0.5)
    unit.advance()
    assert unit.cell_register(0, CellRegister.MODE) == Mode.DISCHARGE


def test_watchdog_disabled_never_counts(clock: ManualClock) -> None:
    unit = BatlabUnit(clock=clock)
    clock.advance(60)
    unit.advance()
    assert unit.unit_register(UnitRegister.WATCHDOG_TIMER) == 255
    assert unit.unit_register(UnitRegister.SYSTEM_TIMER) in (599, 600, 601)


# --- reset, bootloader -------------------------------------------------------------------------


def test_reset_silence_then_bootloader(clock: ManualClock) -> None:
    unit = BatlabUnit(clock=clock, reset_silence=0.5)
    assert ask(unit, "AA 04 8A 00 00") == h("AA 04 8A 00 00")
    assert ask(unit, "AA 04 02 00 00") is None  # silent
    assert ask(unit, "AA FF 04 00 00") == h("AA FF 04 01 00")  # comms PIC still answers
    clock.advance(0.6)
    assert ask(unit, "AA 04 02 00 00") is None  # bootloader ignores other namespaces
    assert unit.phase is Phase.BOOTLOADER
    assert ask(unit, "AA 05 01 00 00") == h("AA 05 01 00 04")
    assert ask(unit, "AA 05 81 00 03") == h("AA 05 81 01 01")  # clamped and flagged
    assert ask(unit, "AA 05 01 00 00") == h("AA 05 01 00 04")
    assert ask(unit, "AA 05 83 00 00") == h("AA 05 82 01 01")  # sic
    assert ask(unit, "AA 05 07 00 00") == h("AA 05 07 01 01")


def test_bootloader_flashes_vector_bytes(clock: ManualClock) -> None:
    unit = BatlabUnit(clock=clock, reset_silence=0.5)
    ask(unit, "AA 04 8A 00 00")
    clock.advance(1)
    assert ask(unit, "AA 05 81 00 04") == h("AA 05 81 00 00")
    assert ask(unit, "AA 05 82 44 00") == h("AA 05 82 00 00")
    assert ask(unit, "AA 05 02 00 00") == h("AA 05 02 44 00")
    # Half-written image: checksum fails, the unit stays in the bootloader.
    assert ask(unit, "AA 05 80 00 00") == h("AA 05 80 01 01")
    assert unit.phase is Phase.BOOTLOADER


def test_bootload_operation_full_image(clock: ManualClock) -> None:
    from fieldlink.batlab.firmware import FirmwareImage

    unit = BatlabUnit(clock=clock)
    drv = MemoryDriver(unit, clock)
    seen: list[int] = []
    version = drv.run(
        ops.bootload(
            FirmwareImage.from_bytes(make_image(9)), progress=lambda p: seen.append(p.done)
        )
    )
    assert version == 9
    assert seen[-1] == 15360 and seen == sorted(seen)
    assert unit.phase is Phase.APPLICATION
    assert bytes(unit.flash) == make_image(9)
    assert drv.run(ops.connect()).firmware == 9


def test_rewriting_flash_can_only_clear_bits(clock: ManualClock) -> None:
    unit = BatlabUnit(clock=clock)
    ask(unit, "AA 04 8A 00 00")
    clock.advance(1)
    ask(unit, "AA 05 81 10 04")
    ask(unit, "AA 05 82 F0 00")
    ask(unit, "AA 05 82 3C 00")
    assert ask(unit, "AA 05 02 00 00") == h("AA 05 02 30 00")


def test_stray_bytes_and_interleaved_race(clock: ManualClock) -> None:
    unit = BatlabUnit(clock=clock)
    port = BatlabPort(unit)
    units = port.frames(h("01 02 AA 04 03 AA 00 04 91 FF 00 00 AA 04 02 00"))
    assert units == [h("AA 04 03 AA 00")]
    assert port.in_unit
    (out,) = port.answer(units[0])
    assert out.data[:3] == h("AA 04 03")
    assert port.frames(h("00")) == [h("AA 04 02 00 00")]


# --- robustness -----------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fieldlink.batlab.session import BatlabSession  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=40), max_size=30), st.floats(0, 2))
def test_emulator_port_never_raises_on_any_bytes(chunks: list[bytes], dt: float) -> None:
    clock = ManualClock(0.0)
    unit = BatlabUnit(clock=clock, reset_silence=0.1)
    port = BatlabPort(unit)
    for chunk in chunks:
        for u in port.frames(chunk):
            for out in port.answer(u):
                assert len(out.data) == 5 and out.data[0] == 0xAA
        clock.advance(dt)
        port.tick(clock())
    assert len(unit.stream) <= 256


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=50))
def test_session_feed_keeps_stream_aside_and_bounded(chunks: list[bytes]) -> None:
    s = BatlabSession(backlog=8)
    for chunk in chunks:
        for item in s.feed(chunk):
            assert item.__class__.__name__ == "Response"
        assert len(s.stream) <= 8 and s.decoder.pending <= 12


def test_refused_image_leaves_unit_in_bootloader_and_reflash_recovers(clock: ManualClock) -> None:
    from fieldlink.batlab.errors import BootloadError
    from fieldlink.batlab.firmware import FirmwareImage

    unit = BatlabUnit(clock=clock)
    drv = MemoryDriver(unit, clock)
    bad = make_image(9)[:64]  # unchecked on purpose: the rest of the flash stays erased
    with pytest.raises(BootloadError, match="checksum"):
        drv.run(ops.bootload(FirmwareImage(bad), check=False))  # the device refuses
    assert unit.phase is Phase.BOOTLOADER
    info = drv.run(ops.connect())
    assert info.bootloader  # the handshake sees the bootloader, as the official one does
    assert drv.run(ops.bootload(FirmwareImage.from_bytes(make_image(9)))) == 9
    assert unit.phase is Phase.APPLICATION


def test_hardware_fuse_guard(clock: ManualClock) -> None:
    unit = BatlabUnit(clock=clock, cells=[Battery(soc=0.8), None, None, None])
    ask(unit, "AA 00 8D FF 7F")  # CURRENT_LIMIT_DCHG = 32767: only the fuse is left
    ask(unit, "AA 00 83 40 02")  # setpoint 576 = 4.5 A
    ask(unit, "AA 00 80 04 00")
    clock.advance(0.7)
    unit.advance()
    assert unit.cell_register(0, CellRegister.MODE) == Mode.STOPPED
    assert unit.cell_register(0, CellRegister.ERROR) == ErrorFlag.HW_CURRENT_LIMIT
