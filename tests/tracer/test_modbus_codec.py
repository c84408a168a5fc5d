"""Modbus side: register map, typed values, client codec and FC 0x43 (tracer.md Part B)."""

from __future__ import annotations

import datetime as dt

import pytest
import tracer_vectors as v
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.errors import ProtocolError, UsageError
from fieldlink.tracer.modbus import pdus, values
from fieldlink.tracer.modbus import registers as regs
from fieldlink.tracer.modbus.adapter import ClientCodec
from fieldlink.tracer.modbus.registers import Table


def one(data: bytes, codec: ClientCodec | None = None) -> pdus.Reply:
    (reply,) = (codec or ClientCodec()).feed(data)
    assert not isinstance(reply, ProtocolError), reply
    return reply


@pytest.mark.parametrize(
    ("request_", "wire"),
    [
        (pdus.ReadRegisters(Table.INPUT, 0x3104, 1), v.READ_BATTERY_V),
        (pdus.ReadRegisters(Table.HOLDING, 0x9013, 3), v.READ_RTC),
        (pdus.WriteRegisters(0x9013, (0x3035, 0x1300, 0x0F06)), v.SET_RTC),
        (pdus.WriteCoil(2, True), v.COIL2_ON),
        (pdus.WriteCoil(2, False), v.COIL2_OFF),
        (pdus.WriteCoil(6, True), v.COIL6_ON),
        (pdus.ReadRegisters(Table.INPUT, 0x3200, 3), v.READ_STATUS),
        (pdus.ReadBits(Table.DISCRETE, 0x2000, 1), v.READ_OVERTEMP),
        (pdus.ReadRegisters(Table.INPUT, 0x331A, 3), v.READ_331A),
        (pdus.ReadRegisters(Table.INPUT, 0x3302, 18), v.READ_STATS),
        (pdus.ReadRegisters(Table.INPUT, 0x311D, 1), v.READ_311D),
        (pdus.ReadDeviceId(1), v.READ_ID_BASIC),
        (pdus.ReadDeviceId(2), v.READ_ID_REGULAR),
        (pdus.SparseRead(0x3100, 27), v.SPARSE_3100),
        (pdus.SparseRead(0x3005, 10), v.SPARSE_3005),
        (pdus.ReadRegisters(Table.INPUT, 0x3100, 16), v.READ_REALTIME_16),
        (pdus.ReadRegisters(Table.INPUT, 0x3100, 19), v.READ_REALTIME_19),
        (pdus.ReadRegisters(Table.INPUT, 0x3000, 9), v.READ_RATED_9),
        (pdus.ReadRegisters(Table.HOLDING, 0x9000, 15), v.READ_SETTINGS_15),
        (pdus.ReadBits(Table.COIL, 0, 8), v.READ_COILS_8),
    ],
)
def test_client_requests_are_byte_exact(request_: pdus.Request, wire: bytes) -> None:
    assert ClientCodec().encode(request_) == wire


def test_td_requests_are_byte_exact() -> None:
    tables = {1: Table.COIL, 2: Table.DISCRETE, 3: Table.HOLDING, 4: Table.INPUT}
    for request, _ in v.TD_PAIRS:
        fc, start, count = request[1], int.from_bytes(request[2:4]), int.from_bytes(request[4:6])
        req: pdus.Request = (
            pdus.ReadBits(tables[fc], start, count)
            if fc <= 2
            else pdus.ReadRegisters(tables[fc], start, count)
        )
        assert ClientCodec().encode(req) == request


def test_battery_voltage_reply() -> None:
    reply = one(v.BATTERY_V_REPLY)
    assert reply == pdus.Registers(4, (1230,))
    assert regs.by_name(regs.REALTIME)["battery_voltage"].decode({0x3104: 1230}) == 12.30


def test_clock_vectors() -> None:
    reply = one(v.RTC_REPLY)
    assert isinstance(reply, pdus.Registers)
    assert values.decode_clock(list(reply.values)) == dt.datetime(2015, 6, 19, 1, 6, 51)
    assert values.encode_clock(dt.datetime(2015, 6, 19, 0, 48, 53)) == [0x3035, 0x1300, 0x0F06]
    assert one(v.SET_RTC_REPLY) == pdus.Written(0x10, 0x9013, 3)
    with pytest.raises(ProtocolError, match="not a date"):
        values.decode_clock([0, 0, 0x0F0D])  # month 13
    with pytest.raises(UsageError):
        values.encode_clock(dt.datetime(1999, 1, 1))


def test_net_battery_current_is_signed_32_bit_low_word_first() -> None:
    reply = one(v.REPLY_331A)
    assert isinstance(reply, pdus.Registers)
    words = dict(zip(range(0x331A, 0x331D), reply.values, strict=True))
    reg = regs.by_name(regs.STATISTICS)
    assert reg["battery_voltage"].decode(words) == 12.76
    assert reg["net_battery_current"].decode(words) == -0.03
    assert reg["net_battery_current"].encode(-0.03) == [0xFFFD, 0xFFFF]


def test_statistics_block_vector() -> None:
    reply = one(v.STATS_REPLY)
    assert isinstance(reply, pdus.Registers)
    words = dict(zip(range(0x3302, 0x3314), reply.values, strict=True))
    stats = regs.decode_all([r for r in regs.STATISTICS if 0x3302 <= r.address < 0x3314], words)
    assert stats["max_battery_voltage_today"] == 12.76
    assert stats["min_battery_voltage_today"] == 12.74
    assert stats["consumed_today"] == 0
    assert stats["consumed_month"] == stats["consumed_year"] == stats["consumed_total"] == 0.66
    assert stats["generated_month"] == stats["generated_total"] == 1.03


def test_status_reply_decodes_bits() -> None:
    reply = one(v.STATUS_REPLY)
    assert isinstance(reply, pdus.Registers)
    status = values.Status(*reply.values)
    assert status.battery["voltage"] == "normal"
    assert status.charging["running"] is True and status.stage == "not charging"
    assert status.discharging["running"] is True
    assert values.decode_bits(0x000C, values.CHARGING_STATUS)["stage"] == "equalization"
    assert values.decode_bits(0x3000, values.DISCHARGING_STATUS)["load_level"] == "overload"
    word = values.encode_bits({"stage": "float", "running": True}, values.CHARGING_STATUS)
    assert word == 0x0005


def test_signed_temperature_and_plain_percentages() -> None:
    codec = ClientCodec()
    replies = {req: one(rep, codec) for req, rep in v.TD_PAIRS}
    low = replies[v.TD_PAIRS[10][0]]
    assert isinstance(low, pdus.Registers)
    reg = regs.by_name(regs.OTHER_SETTINGS)["battery_temperature_lower_limit"]
    assert reg.decode({0x9018: low.values[0]}) == -40.0
    soc = replies[v.TD_PAIRS[9][0]]
    assert isinstance(soc, pdus.Registers) and soc.values == (70,)
    assert regs.by_name(regs.REALTIME)["battery_soc"].decode({0x311A: 70}) == 70
    assert replies[v.TD_PAIRS[1][0]] == pdus.ExceptionReply(3, 2)
    assert replies[v.TD_PAIRS[6][0]] == pdus.Bits(1, (True,) + (False,) * 7)


def test_device_identification() -> None:
    basic = one(v.ID_BASIC_REPLY)
    regular = one(v.ID_REGULAR_REPLY)
    assert isinstance(basic, pdus.DeviceObjects) and isinstance(regular, pdus.DeviceObjects)
    info = values.DeviceInfo.from_objects({**basic.objects, **regular.objects})
    assert info == values.DeviceInfo(
        "EPsolar Tech co., Ltd", "Tracer2215BN", "V02.05+V07.12", "0002201301200045"
    )


def test_sparse_read_sized_from_the_bitmap_not_bc() -> None:
    reply = one(v.SPARSE_3100_REPLY)
    assert isinstance(reply, pdus.Sparse) and reply.count == 27
    assert sorted(reply.present) == [*range(20), 26]
    assert reply.present[0] == 197 and reply.present[4] == 1275 and reply.present[26] == 48
    small = one(v.SPARSE_3005_REPLY)
    assert small == pdus.Sparse(0x43, 10, {0: 2000, 1: 50000, 2: 0, 3: 2, 9: 2000})


def test_sparse_reply_in_pieces() -> None:
    codec = ClientCodec()
    got: list[pdus.Reply | ProtocolError] = []
    for b in v.SPARSE_3100_REPLY:
        got += codec.feed(bytes([b]))
    assert len(got) == 1 and isinstance(got[0], pdus.Sparse)


def test_crc_error_is_a_protocol_error() -> None:
    bad = v.BATTERY_V_REPLY[:-1] + bytes([v.BATTERY_V_REPLY[-1] ^ 0xFF])
    (err,) = ClientCodec().feed(bad)
    assert isinstance(err, ProtocolError)


def test_socket_framing_round_trip() -> None:
    codec = ClientCodec(framing="socket")
    wire = codec.encode(pdus.ReadRegisters(Table.INPUT, 0x3104, 1))
    assert wire[2:] == bytes.fromhex("0000 0006 01 04 3104 0001")
    reply = wire[:2] + bytes.fromhex("0000 0005 01 04 02 04CE")
    assert codec.feed(reply) == [pdus.Registers(4, (1230,))]


def test_reply_for_another_unit_is_ignored() -> None:
    other = bytes.fromhex("02 04 02 04 CE")
    from pymodbus.framer import FramerRTU

    frame = other + FramerRTU.compute_CRC(other).to_bytes(2, "big")
    assert ClientCodec(unit=1).feed(frame) == []


def test_register_encode_range() -> None:
    reg = regs.by_name(regs.BATTERY)["boost_voltage"]
    assert reg.encode(14.4) == [1440]
    with pytest.raises(ValueError):
        reg.encode(-1)


def test_blocks_never_cross_an_absent_register() -> None:
    present = regs.PRESENT_INPUT | regs.PRESENT_HOLDING
    groups = regs.RATED + regs.REALTIME + regs.STATUS + regs.STATISTICS + regs.SETTINGS
    for block in regs.blocks_for(groups):
        assert set(block.addresses) <= present, block


@given(st.binary(max_size=600), st.sampled_from(["rtu", "socket"]))
def test_fuzz_client_codec(data: bytes, framing: str) -> None:
    codec = ClientCodec(framing=framing)  # type: ignore[arg-type]
    for i in range(0, len(data), 7):
        for item in codec.feed(data[i : i + 7]):
            assert isinstance(item, ProtocolError) or hasattr(item, "function")
    assert len(codec._split.buf) <= 600


@given(
    st.sampled_from([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x2B, 0x43, 0x83, 0x90, 0xAB]),
    st.binary(max_size=80),
)
def test_fuzz_valid_crc_frames_decode_or_fail_cleanly(function: int, body: bytes) -> None:
    """Random PDUs with a correct CRC: only replies or ProtocolErrors, whatever pymodbus does."""
    from pymodbus.framer import FramerRTU

    frame = bytes((1, function)) + body
    frame += FramerRTU.compute_CRC(frame).to_bytes(2, "big")
    codec = ClientCodec()
    for item in codec.feed(frame) + codec.feed(frame[:5]) + codec.feed(frame[5:]):
        assert isinstance(item, ProtocolError) or hasattr(item, "function")


@given(st.integers(0, 0xFF), st.sampled_from([0xA0, 0xAA, 0xAD, 0x00]), st.binary(max_size=40))
def test_fuzz_mt5_replies_decode_or_fail_cleanly(ident: int, command: int, data: bytes) -> None:
    from fieldlink.tracer.mt5 import messages as m
    from fieldlink.tracer.mt5.framing import Frame

    try:
        reply = m.decode_reply(Frame(ident, command, data))
    except ProtocolError:
        return
    assert isinstance(reply, m.RealTimeData | m.LoadState | m.ParametersAccepted)
