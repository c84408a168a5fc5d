"""The Modbus front of the emulator, bytes in and bytes out (no I/O)."""

from __future__ import annotations

import datetime as dt

import pytest
import tracer_vectors as v
from hypothesis import given
from hypothesis import strategies as st
from pymodbus.framer import FramerRTU

from fieldlink.kit.clock import ManualClock
from fieldlink.tracer.emulator.device import TracerDevice
from fieldlink.tracer.emulator.modbus_port import ModbusPort
from fieldlink.tracer.emulator.model import ControllerConfig, TracerModel


def rtu(hexbody: str) -> bytes:
    body = bytes.fromhex(hexbody)
    return body + FramerRTU.compute_CRC(body).to_bytes(2, "big")


def model(**config: object) -> TracerModel:
    return TracerModel(ControllerConfig(**config), monotonic=ManualClock())  # type: ignore[arg-type]


def ask(port: ModbusPort, request: bytes) -> bytes | None:
    units = port.frames(request)
    assert len(units) <= 1
    if not units:
        return None
    out = port.answer(units[0])
    return out[0].data if out else None


@pytest.fixture
def port() -> ModbusPort:
    return ModbusPort(model())


def test_td_pairs_answered_byte_exact(port: ModbusPort) -> None:
    # Holding 0x9000 is 1 (sealed), coil 2 on, coil 5 off, night, SOC 70: the TD snapshot.
    for request, reply in v.TD_PAIRS:
        if request[2:4] in (b"\x30\x00", b"\x90\x18", b"\x90\x6d") or request[1] != 4:
            assert ask(port, request) == reply, request.hex(" ")
    assert ask(port, bytes.fromhex("01 04 31 1A 00 01 1E F1")) == bytes.fromhex(
        "01 04 02 00 46 38 C2"
    )


def test_device_identification_byte_exact(port: ModbusPort) -> None:
    assert ask(port, v.READ_ID_BASIC) == v.ID_BASIC_REPLY
    assert ask(port, v.READ_ID_REGULAR) == v.ID_REGULAR_REPLY


def test_sparse_read_byte_exact(port: ModbusPort) -> None:
    assert ask(port, v.SPARSE_3005) == v.SPARSE_3005_REPLY
    reply = ask(port, v.SPARSE_3100)
    assert reply is not None and reply[:7] == bytes.fromhex("01 43 36 04 0F FF FF")
    assert len(reply) == 3 + 4 + 2 * 21 + 2


def test_rtc_write_then_read(port: ModbusPort) -> None:
    assert ask(port, v.SET_RTC) == v.SET_RTC_REPLY
    assert ask(port, v.READ_RTC) == bytes.fromhex("01 03 06 30 35 13 00 0F 06 29 F7")
    assert port.model.time == dt.datetime(2015, 6, 19, 0, 48, 53)


def test_coil_write_echo_and_load_switch(port: ModbusPort) -> None:
    assert ask(port, v.COIL2_OFF) == v.COIL2_OFF
    assert port.model.coils[2] is False
    assert ask(port, v.COIL2_ON) == v.COIL2_ON
    assert port.model.coils[2] is True


def test_absent_register_in_a_range_is_exception_02(port: ModbusPort) -> None:
    assert ask(port, rtu("01 04 31 00 00 15")) == rtu("01 84 02")  # reaches 0x3114
    assert ask(port, rtu("01 03 90 66 00 01")) == rtu("01 83 02")  # 0x9066 absent
    assert ask(port, rtu("01 10 90 0F 00 01 02 00 01")) == rtu("01 90 02")
    assert ask(port, v.READ_REALTIME_19) is not None
    assert ask(port, v.READ_REALTIME_19)[1] == 0x04  # type: ignore[index]


def test_rule_violation_is_exception_03_and_changes_nothing(port: ModbusPort) -> None:
    m = port.model
    m.holding[0x9000] = 0
    before = dict(m.holding)
    # float 14.50 V above boost 14.40 V: rule A.
    assert ask(port, rtu("01 10 90 08 00 01 02 05 AA")) == rtu("01 90 03")
    # a range: boost duration 5 min.
    assert ask(port, rtu("01 10 90 6C 00 01 02 00 05")) == rtu("01 90 03")
    assert m.holding == before
    # a valid write goes through.
    assert ask(port, rtu("01 10 90 08 00 01 02 05 50")) == rtu("01 10 90 08 00 01")
    assert m.holding[0x9008] == 1360


def test_checks_are_switchable() -> None:
    p = ModbusPort(model(check_settings=False))
    p.model.holding[0x9000] = 0
    assert ask(p, rtu("01 10 90 08 00 01 02 05 AA")) == rtu("01 10 90 08 00 01")


def test_single_register_write_accepted(port: ModbusPort) -> None:
    assert ask(port, rtu("01 06 90 01 00 C8")) == rtu("01 06 90 01 00 C8")
    assert port.model.holding[0x9001] == 200


def test_other_unit_and_garbage_get_no_reply(port: ModbusPort) -> None:
    assert ask(port, rtu("02 04 31 04 00 01")) is None
    bad = bytearray(v.READ_BATTERY_V)
    bad[-1] ^= 0xFF
    assert port.frames(bytes(bad)) == []
    assert port.codec.noise > 0


def test_modbus_tcp_framing() -> None:
    p = TracerDevice(TracerModel(monotonic=ManualClock()), framing="socket").open_port(1)
    request = bytes.fromhex("0007 0000 0006 01 04 3104 0001")
    (unit,) = p.frames(request)
    (out,) = p.answer(unit)
    assert out.data[:9] == bytes.fromhex("0007 0000 0005 01 04 02")


def test_statistics_and_status_readable(port: ModbusPort) -> None:
    for request in (v.READ_STATS, v.READ_331A, v.READ_STATUS, v.READ_RATED_9, v.READ_SETTINGS_15):
        reply = ask(port, request)
        assert reply is not None and reply[1] == request[1], request.hex(" ")


@given(st.binary(max_size=400))
def test_fuzz_port_never_raises_and_stays_bounded(data: bytes) -> None:
    p = ModbusPort(model())
    for i in range(0, len(data), 13):
        for unit in p.frames(data[i : i + 13]):
            p.answer(unit)
    assert p.codec.pending <= 512 + 13


def test_broadcast_write_is_carried_out_without_a_reply(port: ModbusPort) -> None:
    assert ask(port, rtu("00 05 00 02 00 00")) is None
    assert port.model.coils[2] is False
    assert ask(port, rtu("00 04 31 04 00 01")) is None  # a broadcast read: nothing
