"""The MT-5 front of the emulator, bytes in and bytes out."""

from __future__ import annotations

import tracer_vectors as v
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.kit.clock import ManualClock
from fieldlink.tracer.emulator.model import TracerModel
from fieldlink.tracer.emulator.mt5_port import Mt5Port
from fieldlink.tracer.mt5 import messages as m
from fieldlink.tracer.mt5.framing import Frame, Receiver


def port(**kw: bool) -> Mt5Port:
    return Mt5Port(TracerModel(monotonic=ManualClock()), **kw)


def ask(p: Mt5Port, request: bytes) -> list[bytes]:
    return [o.data for u in p.frames(request) for o in p.answer(u)]


def decode(data: bytes) -> m.Reply:
    (frame,) = Receiver().feed(data)
    assert isinstance(frame, Frame)
    return m.decode_reply(frame)


def test_realtime_request_answered_with_the_models_values() -> None:
    p = port()
    (reply,) = ask(p, v.MT5_READ_16)
    assert reply.startswith(bytes.fromhex("EB90EB90EB90 16 A0 18"))  # no wake-up bytes
    data = decode(reply)
    assert isinstance(data, m.RealTimeData)
    assert data.over_discharge_voltage == 11.10 and data.battery_full_voltage == 14.40
    assert abs(data.battery_voltage - p.model.battery_voltage) < 0.01
    assert data.battery_temperature == 25


def test_controller_id_is_echoed() -> None:
    (reply,) = ask(port(), v.MT5_READ_01)
    assert reply[6] == 0x01
    (reply,) = ask(port(), v.MT5_READ_00)
    assert reply[6] == 0x00


def test_load_switch_replies_byte_exact_and_switches_the_model() -> None:
    p = port()
    assert ask(p, v.MT5_LOAD_OFF) == [bytes.fromhex("EB90EB90EB90 16 AA 01 00 FC C9 7F")]
    assert p.model.coils[2] is False
    assert ask(p, v.MT5_LOAD_ON) == [v.MT5_LOAD_ON_REPLY]
    assert p.model.coils[2] is True


def test_set_parameters_reply_byte_exact_and_applied() -> None:
    p = port()
    assert ask(p, v.MT5_SET_PARAMS) == [v.MT5_SET_PARAMS_REPLY]
    assert p.model.mt5_parameters.temperature_compensation == 5
    assert p.model.holding[0x9000] == 1 and p.model.holding[0x9001] == 100
    gel = m.set_parameters(m.ControlParameters(battery_type=m.BatteryType.GEL, capacity_ah=200))
    assert ask(p, gel.encode()) == [v.MT5_SET_PARAMS_REPLY]
    assert p.model.holding[0x9000] == 2 and p.model.battery.capacity_ah == 200


def test_wake_bytes_on_request() -> None:
    (reply,) = ask(port(wake=True), v.MT5_READ_16)
    assert reply.startswith(bytes.fromhex("AA55AA55AA55EB90EB90EB90"))


def test_bad_frames_and_unknown_commands_get_no_reply() -> None:
    p = port()
    assert ask(p, v.MT5_XXV_BAD_CRC) == []
    assert ask(p, Frame(0x16, 0x99).encode()) == []
    assert ask(p, Frame(0x16, m.LOAD_SWITCH, b"\x05").encode()) == []
    assert ask(p, Frame(0x16, m.SET_PARAMETERS, bytes([0, 0, 5, 9, 10, 0, 18])).encode()) == []
    assert p.rejected == 4
    assert "rejected" in p.summary()


def test_split_request_is_answered_once_complete() -> None:
    p = port()
    out: list[bytes] = []
    for b in v.MT5_READ_16:
        assert out == []
        out += ask(p, bytes([b]))
    assert len(out) == 1


@given(st.binary(max_size=500))
def test_fuzz_port(data: bytes) -> None:
    p = port()
    for i in range(0, len(data), 11):
        for unit in p.frames(data[i : i + 11]):
            p.answer(unit)


def test_set_parameters_with_the_documented_zero_length_byte_is_accepted() -> None:
    from fieldlink.tracer.mt5.crc import crc_bytes

    body = bytes.fromhex("16 AD 00 00 00 05 02 14 00 12")  # length 00, then 7 bytes
    request = bytes.fromhex("AA55AA55AA55 EB90EB90EB90") + body + crc_bytes(body) + b"\x7f"
    p = port()
    assert ask(p, request) == [v.MT5_SET_PARAMS_REPLY]
    assert p.model.holding[0x9000] == 3 and p.model.holding[0x9001] == 200
