"""Packets: the vectors of instrument-vectors.md §1 byte-exact, framing, resync, fuzz."""

from __future__ import annotations

import pytest
from batlab_support import CONNECT_REQUESTS, h
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlink.batlab.codec import (
    Command,
    CommandFramer,
    PacketDecoder,
    Response,
    StreamPacket,
    decode_command,
    decode_response,
    decode_stream,
)
from fieldlink.batlab.registers import CellRegister, Namespace, UnitRegister
from fieldlink.errors import FieldlinkError, ProtocolError, UsageError

CONNECT_RESPONSES = [
    ("AA 05 01 01 01", Response(5, 1, False, 257)),
    ("AA 04 91 00 00", Response(4, 0x11, True, 0)),
    ("AA 00 16 10 27", Response(0, 0x16, False, 10000)),
    ("AA 03 17 34 0D", Response(3, 0x17, False, 3380)),
    ("AA 02 03 00 01", Response(2, 3, False, 256)),
    ("AA 04 00 34 12", Response(4, 0, False, 0x1234)),
    ("AA 04 01 02 00", Response(4, 1, False, 2)),
    ("AA 04 02 07 00", Response(4, 2, False, 7)),
    ("AA 04 06 04 00", Response(4, 6, False, 4)),
]


@pytest.mark.parametrize(("wire", "command"), CONNECT_REQUESTS)
def test_connect_requests_encode_byte_exact(wire: str, command: Command) -> None:
    assert command.encode() == h(wire)
    assert decode_command(h(wire)) == command


@pytest.mark.parametrize(("wire", "response"), CONNECT_RESPONSES)
def test_connect_responses_decode(wire: str, response: Response) -> None:
    assert decode_response(h(wire)) == response
    assert response.encode() == h(wire)


@pytest.mark.parametrize(
    ("wire", "command"),
    [
        ("AA 00 83 40 01", Command.write_value(0, CellRegister.CURRENT_SETPOINT, 320)),
        ("AA 04 20 00 00", Command.read(4, 0x20)),
        ("AA 04 03 00 00", Command.read(4, UnitRegister.VCC)),
        ("AA 00 07 00 00", Command.read(0, CellRegister.VOLTAGE)),
        ("AA 00 05 00 00", Command.read(0, CellRegister.TEMPERATURE)),
        ("AA 00 8A 77 77", Command.write_value(0, CellRegister.VOLTAGE_LIMIT_CHG, 30583)),
        ("AA 00 8E 04 62", Command.write_value(0, CellRegister.TEMP_LIMIT_CHG, 25092)),
        ("AA 04 84 01 00", Command.write_value(4, UnitRegister.SINE_FREQ, 1)),
        ("AA 00 80 05 00", Command.write_value(0, CellRegister.MODE, 5)),
        ("AA 04 82 07 00", Command.write_value(4, UnitRegister.FIRMWARE_VER, 7)),
        ("AA 00 84 05 00", Command.write_value(0, CellRegister.REPORT_INTERVAL, 5)),
        ("AA 04 8A 00 00", Command.write_value(4, UnitRegister.BOOTLOAD, 0)),
        ("AA 05 81 00 04", Command.write_value(5, 1, 0x0400)),
        ("AA 05 82 44 00", Command.write_value(5, 2, 0x44)),
        ("AA 05 02 00 00", Command.read(5, 2)),
        ("AA 05 81 FF 3F", Command.write_value(5, 1, 0x3FFF)),
        ("AA 05 80 00 00", Command.write_value(5, 0, 0)),
        ("AA 05 81 00 03", Command.write_value(5, 1, 0x0300)),
    ],
)
def test_other_transactions_byte_exact(wire: str, command: Command) -> None:
    assert command.encode() == h(wire)


@pytest.mark.parametrize(
    ("wire", "value", "rejected"),
    [
        ("AA 00 83 00 00", 0, False),
        ("AA 04 20 01 01", 257, True),
        ("AA 04 03 18 79", 31000, False),
        ("AA 00 07 3E 69", 26942, False),
        ("AA 00 05 00 40", 16384, False),
        ("AA 04 82 01 01", 257, True),
        ("AA 05 80 01 01", 257, True),
        ("AA 05 02 44 00", 0x44, False),
    ],
)
def test_response_values(wire: str, value: int, rejected: bool) -> None:
    r = decode_response(h(wire))
    assert r.value == value
    assert r.rejected is rejected


def test_write_flag_echoed_and_matched() -> None:
    cmd = Command.write_value(0, CellRegister.CURRENT_SETPOINT, 320)
    assert cmd.answered_by(decode_response(h("AA 00 83 00 00")))
    assert not cmd.answered_by(decode_response(h("AA 00 03 00 00")))  # a read's reply
    assert not cmd.answered_by(decode_response(h("AA 01 83 00 00")))  # other cell


def test_stream_vector() -> None:
    wire = h("AF 00 00 02 00 00 00 00 40 00 00 3E 69")
    packet = decode_stream(wire)
    assert packet == StreamPacket(0, 0, 2, 0, 16384, 0, 26942)
    assert packet.encode() == wire


def test_negative_value_is_twos_complement() -> None:
    """−37 for CURRENT_CALIB_OFF goes out as 0xFFDB; the official library corrupts it (§7.2)."""
    cmd = Command.write_value(0, CellRegister.CURRENT_CALIB_OFF, -37)
    assert cmd.encode() == h("AA 00 94 DB FF")
    assert cmd.value == 65499
    assert Command.write_value(0, CellRegister.CURRENT_CALIB_OFF, 65499).encode() == cmd.encode()
    assert Command.write_value(4, 0x0D, -32768).encode() == h("AA 04 8D 00 80")


@pytest.mark.parametrize("value", [-32769, 65536, 1 << 20])
def test_out_of_range_value_refused_before_encoding(value: int) -> None:
    with pytest.raises(UsageError, match=r"-32768\.\.65535"):
        Command.write_value(0, 0, value)


def test_bad_namespace_and_address_refused() -> None:
    with pytest.raises(UsageError):
        Command.read(256, 0)
    with pytest.raises(UsageError):
        Command.read(0, 128)
    with pytest.raises(UsageError):
        Namespace.cell(4)


def test_decoder_separates_responses_from_stream_packets() -> None:
    wire = h("AA 00 07 3E 69") + h("AF 00 00 02 00 00 00 00 40 00 00 3E 69") + h("AA 04 91 00 00")
    out = PacketDecoder().feed(wire)
    assert [type(p) for p in out] == [Response, StreamPacket, Response]
    assert out[0] == Response(0, 7, False, 26942)


def test_decoder_byte_at_a_time_and_resync() -> None:
    d = PacketDecoder()
    wire = (
        h("00 13 37") + h("AA 00 07 3E 69") + h("55") + h("AF 01 00 02 00 00 00 00 40 00 00 3E 69")
    )
    out = []
    for b in wire:
        out += d.feed(bytes([b]))
        assert d.pending <= 12
    assert [type(p) for p in out] == [Response, StreamPacket]
    assert d.discarded == 4


def test_decoder_keeps_unknown_stream_subtype() -> None:
    (p,) = PacketDecoder().feed(h("AF 02 07 02 00 00 00 00 40 00 00 3E 69"))
    assert isinstance(p, StreamPacket) and p.subtype == 7 and p.cell == 2


def test_device_framer_is_blind_like_the_firmware() -> None:
    """The interleaved race of §2.4: the device takes the first 5 bytes as one packet."""
    framer = CommandFramer()
    units = framer.feed(h("AA 04 03 AA 00") + h("04 91 FF 00 00"))
    assert units == [h("AA 04 03 AA 00")]
    assert framer.discarded == 5
    assert framer.feed(h("12 AA 00 07")) == [] and framer.pending == 3
    assert framer.feed(h("00 00")) == [h("AA 00 07 00 00")]


@pytest.mark.parametrize(
    ("decoder", "data"),
    [
        (decode_response, h("AA 00 07 3E")),
        (decode_response, h("AB 00 07 3E 69")),
        (decode_stream, h("AA 00 00 02 00 00 00 00 40 00 00 3E 69")),
        (decode_stream, h("AF 00")),
    ],
)
def test_malformed_packets_are_protocol_errors(decoder: object, data: bytes) -> None:
    with pytest.raises(ProtocolError):
        decoder(data)  # type: ignore[operator]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=40))
def test_decoder_fuzz(chunks: list[bytes]) -> None:
    d = PacketDecoder()
    total = 0
    try:
        for chunk in chunks:
            out = d.feed(chunk)
            total += len(out)
            assert d.pending <= 12
    except FieldlinkError:
        pass
    assert total <= sum(len(c) for c in chunks) // 5 + 1


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_decoder_same_result_whole_or_split(data: bytes) -> None:
    whole = PacketDecoder().feed(data)
    d = PacketDecoder()
    split = [p for i in range(len(data)) for p in d.feed(data[i : i + 1])]
    assert whole == split


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_device_framer_fuzz(data: bytes) -> None:
    f = CommandFramer()
    units = f.feed(data)
    assert all(len(u) == 5 and u[0] == 0xAA for u in units)
    assert f.pending < 5
    for u in units:
        decode_command(u)
