"""The PakBus header: byte-exact encoding of published frames from their fields,
decoding captured headers to the fields the vectors file states, and round-trips.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.protocol.framing import FrameDecoder
from fieldlink.pakbus.protocol.packet import (
    MAX_BODY,
    ExpMore,
    HiProto,
    LinkState,
    Packet,
    Priority,
)


def _hex(text: str) -> bytes:
    return bytes.fromhex(text)


CLIENT, LOGGER = 0x802, 1  # PyCampbellCR1000's default address and the logger (V1)

# --- V1: PyCampbellCR1000's client requests, from fields to bytes --------------------------------

_PYCR_READY_PAKCTRL = {
    "link_state": LinkState.READY,
    "dst_phy": LOGGER,
    "src_phy": CLIENT,
    "exp_more": ExpMore.NEUTRAL,
    "priority": Priority.NORMAL,
    "hi_proto": HiProto.PAKCTRL,
    "dst_node": LOGGER,
    "src_node": CLIENT,
}
_PYCR_READY_BMP5 = {**_PYCR_READY_PAKCTRL, "hi_proto": HiProto.BMP5}

#: (fields, unquoted header+body, DERIVED wire frame) per V1 row.
V1 = {
    "V1.1": (
        {**_PYCR_READY_PAKCTRL, "link_state": LinkState.RING, "exp_more": ExpMore.MORE},
        "90 01 58 02 00 01 08 02 09 01 00 02 07 08",
        "F6 86",
    ),
    "V1.2": (_PYCR_READY_PAKCTRL, "A0 01 98 02 00 01 08 02 89 01 00 02 07 08", "F2 2A"),
    "V1.3": (_PYCR_READY_PAKCTRL, "A0 01 98 02 00 01 08 02 0F 02", "1C 6C"),
    "V1.4": (
        _PYCR_READY_BMP5,
        "A0 01 98 02 10 01 08 02 09 03 00 00 07 00 02 9E A7 2A 72 6F 30 00 00 00 00 "
        "2A 72 6F 34 00 00 00 00 00 00",
        "FB D4",
    ),
    "V1.5": (
        _PYCR_READY_BMP5,
        "A0 01 98 02 10 01 08 02 17 04 00 00 00 00 00 00 00 00 00 00",
        "58 27",
    ),
    "V1.6": (_PYCR_READY_BMP5, "A0 01 98 02 10 01 08 02 18 05 00 00", "4B 81"),
    "V1.7": (
        _PYCR_READY_BMP5,
        "A0 01 98 02 10 01 08 02 1D 06 00 00 46 69 6C 65 6E 61 6D 65 00 01 00 00 00 00 02 00",
        "51 47",
    ),
    "V1.8": (
        {**_PYCR_READY_PAKCTRL, "link_state": LinkState.FINISHED, "exp_more": ExpMore.LAST},
        "B0 01 18 02 00 01 08 02 0D 00",
        "50 6D",
    ),
}


@pytest.mark.parametrize("vector", sorted(V1))
def test_v1_requests_encode_byte_exactly(vector: str) -> None:
    fields, unquoted, null = V1[vector]
    content = _hex(unquoted)
    packet = Packet(**fields, body=content[8:])
    assert packet.encode() == content
    # The framed form: no byte of these needs quoting.
    assert packet.to_wire() == b"\xbd" + content + _hex(null) + b"\xbd"


@pytest.mark.parametrize("vector", sorted(V1))
def test_v1_requests_decode_to_their_fields(vector: str) -> None:
    fields, unquoted, _ = V1[vector]
    content = _hex(unquoted)
    packet = Packet.decode(content)
    for name, value in fields.items():
        assert getattr(packet, name) == value, name
    assert packet.hop_count == 0
    assert packet.body == content[8:]


def test_v2_hello_as_written_to_a_real_cr1000() -> None:
    hello = Packet.message(
        HiProto.PAKCTRL,
        _hex("09 01 00 02 07 08"),
        dst=LOGGER,
        src=CLIENT,
        link_state=LinkState.RING,
        exp_more=ExpMore.MORE,
    )
    assert hello.to_wire() == _hex("BD 90 01 58 02 00 01 08 02 09 01 00 02 07 08 F6 86 BD")


# --- V15, V19, V21: link-state frames and quoting -----------------------------------------------


def test_v15_ring_and_ready_from_the_bmp5_manual() -> None:
    ring = Packet.link_only(LinkState.RING, dst=1, src=4094)
    ready = Packet.link_only(LinkState.READY, dst=4094, src=1)
    assert ring.to_wire() == _hex("BD 90 01 0F FE 71 D2 BD")
    assert ready.to_wire() == _hex("BD AF FE 00 01 5A 89 BD")
    assert ring.is_link_only and ring.msg_type is None and ring.tran_nbr is None


def test_v19_weatherd_ring_and_hello() -> None:
    ring = Packet(LinkState.RING, 1, 4092, ExpMore.LAST, Priority.LOW)
    assert ring.to_wire() == _hex("BD 90 01 0F FC 75 D4 BD")
    hello = Packet.message(
        HiProto.PAKCTRL,
        _hex("09 D9 01 02 FF FF"),
        dst=1,
        src=4092,
        exp_more=ExpMore.MORE,
        priority=Priority.HIGH,
    )
    assert hello.to_wire() == _hex("BD A0 01 6F FC 00 01 0F FC 09 D9 01 02 FF FF DE 86 BD")


_SET_VALUES = "00 00 50 75 62 6C 69 63 00 09 53 65 74 70 74 00 00 01 BD CC CC CD"


@pytest.mark.parametrize(
    ("tran", "wire"),
    [
        (
            0x2A,
            "BD A0 01 9F FE 10 01 0F FE 1B 2A 00 00 50 75 62 6C 69 63 00 09 53 65 74 70 74 00 "
            "00 01 BC DD CC CC CD EF 40 BD",
        ),
        (
            0x05,
            "BD A0 01 9F FE 10 01 0F FE 1B 05 00 00 50 75 62 6C 69 63 00 09 53 65 74 70 74 00 "
            "00 01 BC DD CC CC CD B7 BC DD BD",
        ),
    ],
    ids=["V21.1", "V21.2"],
)
def test_v21_set_values_frames_are_quoted(tran: int, wire: str) -> None:
    body = bytes((0x1B, tran)) + _hex(_SET_VALUES)
    packet = Packet.message(HiProto.BMP5, body, dst=1, src=4094)
    assert packet.to_wire() == _hex(wire)
    assert FrameDecoder().feed(_hex(wire)) == [packet.encode()]
    assert Packet.decode(packet.encode()) == packet


# --- decoding captured headers (V3, V4, V15-V19, weatherd) --------------------------------------

#: unquoted content (nullifier removed) -> expected header fields
#: (link_state, dst_phy, exp_more, priority, src_phy, hi_proto, dst_node, hop, src_node,
#: msg_type, tran_nbr)
HEADERS = {
    "V3.1": (
        "A8 02 10 01 08 02 00 01 89 01 00 01 FF FF",
        (0xA, 2050, 0, 1, 1, 0, 2050, 0, 1, 0x89, 1),
    ),
    "V3.2": (
        "A8 02 10 01 08 02 00 01 89 01 00 02 07 08",
        (0xA, 2050, 0, 1, 1, 0, 2050, 0, 1, 0x89, 1),
    ),
    "V3.3": (
        "A8 02 10 01 08 02 00 01 89 02 00 01 FF FF",
        (0xA, 2050, 0, 1, 1, 0, 2050, 0, 1, 0x89, 2),
    ),
    "V4": ("EF FF 10 01 0F FF 00 01 0E 00", (0xE, 4095, 0, 1, 1, 0, 4095, 0, 1, 0x0E, 0)),
    "V7": (
        "A8 02 10 01 18 02 00 01 97 05 00 2A 72 73 0A 3B 02 33 80",
        (0xA, 2050, 0, 1, 1, 1, 2050, 0, 1, 0x97, 5),
    ),
    "V16.1": (
        "A0 01 4F FE 10 01 0F FE 17 17 00 00 00 00 00 00 00 00 00 00",
        (0xA, 1, 1, 0, 4094, 1, 1, 0, 4094, 0x17, 0x17),
    ),
    "V16.2": (
        "AF FE 00 01 1F FE 00 01 97 17 00 1B FA 2A 61 C8 00 00 00",
        (0xA, 4094, 0, 0, 1, 1, 4094, 0, 1, 0x97, 0x17),
    ),
    "V17.1": (
        "A0 01 70 04 10 01 00 04 1D 1D 00 00",
        (0xA, 1, 1, 3, 4, 1, 1, 0, 4, 0x1D, 0x1D),
    ),
    "V18": (
        "A0 01 70 04 10 01 00 04 09 09 00 00 05 00 03 43 15 00 00 00 3C 00 00",
        (0xA, 1, 1, 3, 4, 1, 1, 0, 4, 0x09, 0x09),
    ),
    "V19.2": (
        "A0 01 6F FC 00 01 0F FC 09 D9 01 02 FF FF",
        (0xA, 1, 1, 2, 4092, 0, 1, 0, 4092, 0x09, 0xD9),
    ),
    "weatherd": ("A0 64 5F FE 10 64 0F FE", (0xA, 100, 1, 1, 4094, 1, 100, 0, 4094, None, None)),
}


@pytest.mark.parametrize("vector", sorted(HEADERS))
def test_captured_headers_decode_to_the_stated_fields(vector: str) -> None:
    content, expected = HEADERS[vector]
    packet = Packet.decode(_hex(content))
    got = (
        packet.link_state,
        packet.dst_phy,
        packet.exp_more,
        packet.priority,
        packet.src_phy,
        packet.hi_proto,
        packet.dst_node,
        packet.hop_count,
        packet.src_node,
        packet.msg_type,
        packet.tran_nbr,
    )
    assert got == expected
    assert packet.encode() == _hex(content)


@pytest.mark.parametrize(
    ("content", "state", "dst", "src"),
    [("90 01 0F FE", 0x9, 1, 4094), ("AF FE 00 01", 0xA, 4094, 1), ("90 01 0F FC", 0x9, 1, 4092)],
    ids=["V15.1", "V15.2", "V19.1"],
)
def test_link_state_frames_decode(content: str, state: int, dst: int, src: int) -> None:
    packet = Packet.decode(_hex(content))
    assert packet.is_link_only
    assert (packet.link_state, packet.dst_phy, packet.src_phy) == (state, dst, src)
    assert (packet.exp_more, packet.priority) == (ExpMore.LAST, Priority.LOW)
    assert packet.body == b"" and packet.hi_proto is None


def test_v4_is_a_broadcast_capabilities_frame() -> None:
    packet = Packet.decode(_hex("EF FF 10 01 0F FF 00 01 0E 00"))
    assert packet.link_state is LinkState.CAPABILITIES
    assert packet.is_broadcast
    assert packet.capability == 1  # or ExpMore 0 / Priority 1: UNCERTAIN which is meant
    assert packet.is_for(4094) and packet.is_for(1)


def test_decoded_enums_are_named_when_known() -> None:
    packet = Packet.decode(_hex("A8 02 10 01 18 02 00 01 97 05"))
    assert packet.link_state is LinkState.READY
    assert packet.exp_more is ExpMore.LAST
    assert packet.priority is Priority.NORMAL
    assert packet.hi_proto is HiProto.BMP5


@pytest.mark.parametrize("nibble", [0x0, 0x3, 0x7, 0xD, 0xF])
def test_invalid_link_state_nibbles_decode_and_keep_their_value(nibble: int) -> None:
    content = bytes((nibble << 4 | 0x0, 0x01, 0x1F, 0xFE, 0x10, 0x01, 0x0F, 0xFE, 0x17, 0x01))
    packet = Packet.decode(content)
    assert packet.link_state == nibble
    assert packet.encode() == content


def test_unknown_hi_proto_decodes() -> None:
    packet = Packet.decode(_hex("A0 01 1F FE 70 01 0F FE 01 02"))
    assert packet.hi_proto == 7
    assert packet.capability is None


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 6, 7])
def test_decode_rejects_lengths_between_header_sizes(size: int) -> None:
    with pytest.raises(ProtocolError) as info:
        Packet.decode(bytes(range(0xA0, 0xA0 + size)))
    assert f"{size}-byte" in str(info.value)


def test_eight_byte_header_without_message() -> None:
    packet = Packet.decode(_hex("A0 01 1F FE 10 01 0F FE"))
    assert not packet.is_link_only
    assert packet.body == b"" and packet.msg_type is None and packet.tran_nbr is None


def test_one_byte_message_has_a_type_but_no_tran_nbr() -> None:
    packet = Packet.decode(_hex("A0 01 1F FE 10 01 0F FE 17"))
    assert packet.msg_type == 0x17 and packet.tran_nbr is None


def test_decode_accepts_bytearray_and_memoryview() -> None:
    content = _hex("A0 01 1F FE 10 01 0F FE 17 01")
    assert Packet.decode(bytearray(content)) == Packet.decode(memoryview(content))
    assert type(Packet.decode(bytearray(content)).body) is bytes


# --- encode validation -----------------------------------------------------------------------


def _ok() -> Packet:
    return Packet.message(HiProto.BMP5, b"\x17\x01", dst=1, src=4094)


@pytest.mark.parametrize(
    "change",
    [
        {"dst_phy": 0x1000},
        {"src_phy": -1},
        {"dst_node": 4096},
        {"src_node": 0x1000},
        {"exp_more": 4},
        {"priority": 4},
        {"hi_proto": 16},
        {"hop_count": 16},
        {"link_state": 16},
        {"body": b"\x00" * (MAX_BODY + 1)},
    ],
)
def test_encode_rejects_out_of_range_fields(change: dict[str, object]) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError):
        replace(_ok(), **change).encode()  # type: ignore[arg-type]


def test_link_only_packets_carry_nothing_else() -> None:
    with pytest.raises(ValueError):
        Packet(LinkState.RING, 1, 4094, body=b"\x09").encode()
    with pytest.raises(ValueError):
        Packet(LinkState.RING, 1, 4094, dst_node=1).encode()


def test_largest_message_encodes() -> None:
    packet = Packet.message(HiProto.BMP5, b"\x9d\x01" + b"\x00" * (MAX_BODY - 2), dst=1, src=2)
    assert len(packet.encode()) == 8 + MAX_BODY
    assert FrameDecoder().feed(packet.to_wire()) == [packet.encode()]


def test_message_constructor_routes_through_a_router() -> None:
    packet = Packet.message(HiProto.BMP5, b"\x17\x01", dst=5, src=4094, dst_phy=50)
    assert (packet.dst_phy, packet.dst_node, packet.src_phy, packet.src_node) == (50, 5, 4094, 4094)
    assert not packet.is_for(50) and packet.is_for(5)


# --- reply --------------------------------------------------------------------------------------


def test_reply_reproduces_the_cr1000_hello_response_header() -> None:
    # V2 was answered by V3.2: the reply header must match the logger's byte for byte.
    request = Packet.decode(_hex("90 01 58 02 00 01 08 02 09 01 00 02 07 08"))
    answer = request.reply(_hex("89 01 00 02 07 08"))
    assert answer.encode() == _hex("A8 02 10 01 08 02 00 01 89 01 00 02 07 08")
    assert answer.to_wire() == _hex("BD A8 02 10 01 08 02 00 01 89 01 00 02 07 08 24 56 BD")


def test_reply_keeps_hi_proto_reproducing_the_clock_response_header() -> None:
    # V1.6 (BMP5 from the client) answered with V7's header.
    request = Packet.decode(_hex("A0 01 98 02 10 01 08 02 18 05 00 00"))
    answer = request.reply(b"\x97\x05")
    assert answer.encode()[:8] == _hex("A8 02 10 01 18 02 00 01")


def test_reply_can_change_hi_proto_and_link_state() -> None:
    request = _ok()
    answer = request.reply(
        b"\x81\x00", hi_proto=HiProto.PAKCTRL, link_state=LinkState.FINISHED, exp_more=1
    )
    assert answer.hi_proto == HiProto.PAKCTRL
    assert (answer.link_state, answer.exp_more) == (LinkState.FINISHED, ExpMore.MORE)


def test_reply_goes_back_through_the_router() -> None:
    # Received by the logger (node 5) from client 4094 via router 50, 3 hops so far.
    request = Packet(
        LinkState.READY,
        5,
        50,
        hi_proto=HiProto.BMP5,
        dst_node=5,
        src_node=4094,
        hop_count=3,
        body=b"\x17\x01",
    )
    answer = request.reply(b"\x97\x01")
    assert (answer.dst_phy, answer.dst_node) == (50, 4094)
    assert (answer.src_phy, answer.src_node) == (5, 5)
    assert answer.hop_count == 0


def test_reply_to_a_broadcast_needs_an_address() -> None:
    hello_request = Packet.decode(_hex("EF FF 10 01 0F FF 00 01 0E 00"))
    with pytest.raises(ValueError):
        hello_request.reply(b"\x09\x00")
    answer = hello_request.reply(b"\x09\x00", address=4094)
    assert (answer.dst_phy, answer.src_phy, answer.dst_node, answer.src_node) == (1, 4094, 1, 4094)


def test_reply_to_a_link_state_frame_is_link_only() -> None:
    # V15: the logger's Ready to the manual's Ring.
    ring = Packet.decode(_hex("90 01 0F FE"))
    ready = ring.reply(b"", priority=Priority.LOW)
    assert ready.to_wire() == _hex("BD AF FE 00 01 5A 89 BD")


def test_reply_from_a_link_frame_can_become_a_message() -> None:
    ring = Packet.decode(_hex("90 01 0F FE"))
    answer = ring.reply(b"\x0e\x00", hi_proto=HiProto.PAKCTRL)
    assert (answer.dst_node, answer.src_node) == (4094, 1)


def test_is_for_checks_the_node_address() -> None:
    packet = Packet.decode(_hex("A8 02 10 01 08 02 00 01 89 01"))
    assert packet.is_for(2050)
    assert not packet.is_for(4094)
    assert not Packet.decode(_hex("AF FE 00 01")).is_for(4093)


# --- property tests -----------------------------------------------------------------------------

_addr = st.integers(0, 0xFFF)
_packets = st.one_of(
    st.builds(
        Packet,
        link_state=st.integers(0, 15),
        dst_phy=_addr,
        src_phy=_addr,
        exp_more=st.integers(0, 3),
        priority=st.integers(0, 3),
    ),
    st.builds(
        Packet,
        link_state=st.integers(0, 15),
        dst_phy=_addr,
        src_phy=_addr,
        exp_more=st.integers(0, 3),
        priority=st.integers(0, 3),
        hi_proto=st.integers(0, 15),
        dst_node=_addr,
        src_node=_addr,
        hop_count=st.integers(0, 15),
        body=st.binary(max_size=MAX_BODY),
    ),
)


@given(_packets)
def test_packet_round_trips_through_bytes_and_wire(packet: Packet) -> None:
    encoded = packet.encode()
    assert Packet.decode(encoded) == packet
    assert FrameDecoder().feed(packet.to_wire()) == [encoded]


@given(st.binary(max_size=1100))
def test_decode_of_random_bytes_raises_only_protocol_error(data: bytes) -> None:
    try:
        packet = Packet.decode(data)
    except ProtocolError:
        assert 0 <= len(data) < 8 and len(data) != 4
        return
    # Every header bit has a meaning, so anything decodable re-encodes identically.
    if len(packet.body) <= MAX_BODY:
        assert packet.encode() == data
