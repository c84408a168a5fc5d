"""PakCtrl messages (HiProtoCode 0) and the shared dispatch in messages.py.

Byte vectors are from /work/shared/protocols/pakbus-vectors.md; each test names its
vector.  Where a vector is a whole frame, the test checks the copied frame's CSI
signature is 0 (so a transcription slip cannot pass) and takes the body as the bytes
between the 8-byte header and the 2-byte nullifier.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vectors import V12_FRAME

from fieldlink.errors import ProtocolError, UsageError
from fieldlink.pakbus.protocol import pakctrl as pc
from fieldlink.pakbus.protocol.messages import (
    BMP5,
    PAKCTRL,
    Message,
    UnknownMessage,
    decode_message,
    message_class,
    registered_messages,
    response_type,
)
from fieldlink.pakbus.protocol.signature import signature
from fieldlink.pakbus.protocol.wire import NSec


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def frame_body(frame_hex: str) -> bytes:
    """Body of an unquoted frame (header … nullifier), after checking its signature."""
    frame = h(frame_hex)
    assert signature(frame) == 0, "vector copied wrongly: frame signature is not 0"
    return frame[8:-2]


def roundtrip(body: bytes, expected: Message) -> None:
    decoded = decode_message(expected.HI_PROTO, body)
    assert decoded == expected
    assert type(decoded) is type(expected)
    assert expected.encode() == body


# --- vectors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vector", "body", "expected"),
    [
        # V1.1: PyCampbellCR1000's hello, identical to the frame sent to a real CR1000 (V2).
        ("V1.1", "09 01 00 02 07 08", pc.HelloCommand(1, 0, 2, 1800)),
        ("V1.2", "89 01 00 02 07 08", pc.HelloResponse(1, 0, 2, 1800)),
        ("V19.2", "09 D9 01 02 FF FF", pc.HelloCommand(0xD9, 1, 2, 0xFFFF)),
        # V1.3: DevConfig get settings without any SecurityCode.
        ("V1.3", "0F 02", pc.DevConfigGetSettingsCommand(2)),
        ("V1.8", "0D 00", pc.Bye()),
        ("V4", "0E 00", pc.HelloRequest()),
    ],
)
def test_request_vectors(vector: str, body: str, expected: Message) -> None:
    roundtrip(h(body), expected)


@pytest.mark.parametrize(
    ("vector", "frame", "expected"),
    [
        (
            "V3.1",
            "A8 02 10 01 08 02 00 01 89 01 00 01 FF FF 6C 75",
            pc.HelloResponse(1, 0, 1, 65535),
        ),
        (
            "V3.2",
            "A8 02 10 01 08 02 00 01 89 01 00 02 07 08 24 56",
            pc.HelloResponse(1, 0, 2, 1800),
        ),
        (
            "V3.3",
            "A8 02 10 01 08 02 00 01 89 02 00 01 FF FF 24 57",
            pc.HelloResponse(2, 0, 1, 65535),
        ),
        ("V4", "EF FF 10 01 0F FF 00 01 0E 00 DD F0", pc.HelloRequest(tran=0)),
    ],
)
def test_captured_frames(vector: str, frame: str, expected: Message) -> None:
    roundtrip(frame_body(frame), expected)


def test_bye_and_hello_request_have_tran_zero_by_default() -> None:
    assert pc.Bye().encode() == h("0D 00")
    assert pc.HelloRequest().encode() == h("0E 00")
    assert pc.ResetRoutes().encode() == h("0C 00")
    assert pc.ResetRoutes(1).encode() == h("0C 00 01")


# (id, read_only, length) of every setting in V12, in the logger's order.
V12_SETTINGS = [
    (0, 1, 14),
    (1, 1, 4),
    (2, 0, 5),
    (3, 0, 2),
    (4, 0, 6),
    (86, 0, 4),
    (5, 0, 1),
    (6, 0, 2),
    (83, 0, 0),
    (7, 0, 4),
    (8, 0, 4),
    (73, 0, 4),
    (12, 0, 4),
    (13, 0, 4),
    (14, 0, 4),
    (15, 0, 4),
    (17, 0, 2),
    (18, 0, 2),
    (20, 0, 2),
    (21, 0, 2),
    (74, 0, 2),
    (75, 0, 2),
    (22, 0, 2),
    (23, 0, 2),
    (24, 0, 2),
    (25, 0, 2),
    (27, 0, 2),
    (28, 0, 2),
    (30, 0, 2),
    (31, 0, 2),
    (77, 0, 2),
    (78, 0, 2),
    (32, 0, 2),
    (33, 0, 2),
    (34, 0, 2),
    (35, 0, 2),
    (37, 0, 0),
    (38, 0, 0),
    (40, 0, 0),
    (41, 0, 0),
    (80, 0, 0),
    (81, 0, 0),
    (42, 0, 0),
    (43, 0, 0),
    (44, 0, 0),
    (45, 0, 0),
    (47, 0, 0),
    (48, 1, 7),
    (55, 0, 4),
    (50, 0, 0),
    (84, 0, 1),
    (49, 0, 2),
    (61, 0, 5),
    (51, 0, 8),
    (53, 0, 14),
    (52, 0, 8),
    (89, 0, 8),
    (91, 0, 14),
    (90, 0, 8),
    (66, 0, 8),
    (56, 0, 21),
    (54, 0, 2),
    (65, 0, 0),
    (85, 0, 1),
    (63, 0, 2),
    (64, 0, 2),
    (58, 0, 12),
    (60, 0, 1),
    (87, 0, 2),
    (88, 0, 3),
    (57, 0, 3),
    (59, 1, 1),
]


def test_v12_devconfig_settings_response() -> None:
    body = frame_body(V12_FRAME.hex())
    msg = decode_message(PAKCTRL, body)
    assert isinstance(msg, pc.DevConfigGetSettingsResponse)
    assert (msg.tran, msg.outcome, msg.device_type, msg.major, msg.minor) == (5, 1, 12, 5, 0)
    assert msg.more is True
    assert [(s.id, int(s.read_only), len(s.value)) for s in msg.settings] == V12_SETTINGS
    assert not any(s.large_value for s in msg.settings)
    by_id = {s.id: s.value for s in msg.settings}
    assert by_id[0] == b"CR1000.Std.24\x00"
    assert by_id[1] == h("45 00 12 3C")  # 'E' + 4668
    assert by_id[2] == b"LABO\x00"
    assert by_id[3] == h("00 01")
    assert by_id[7] == h("FF FF 6A 00")
    assert by_id[49] == h("03 E8")
    assert by_id[54] == h("1A 81")  # 6785
    assert by_id[56] == b"\x000.0.0.0\x00\x00\x00\x00\x00CONNECT\x00"
    assert by_id[58] == b"anonymous\x00*\x00"
    assert msg.encode() == body


def test_devconfig_get_settings_continuation_and_range() -> None:
    # Campbell's continuation: begin at 0x8000 | last id received (§4.10).
    cmd = pc.DevConfigGetSettingsCommand(6, 0, 0x8000 | 59)
    assert cmd.encode() == h("0F 06 00 00 80 3B")
    assert decode_message(PAKCTRL, h("0F 06 00 00 80 3B")) == cmd
    full = pc.DevConfigGetSettingsCommand(7, 0x1234, 1, 10)
    assert full.encode() == h("0F 07 12 34 00 01 00 0A")
    with pytest.raises(UsageError, match="without SecurityCode"):
        pc.DevConfigGetSettingsCommand(1, None, 5).encode()


def test_devconfig_get_settings_refused_is_short() -> None:
    refused = decode_message(PAKCTRL, h("8F 03 02"))
    assert refused == pc.DevConfigGetSettingsResponse(3, 2)
    assert refused.encode() == h("8F 03 02")
    # The ok outcome needs the header.
    with pytest.raises(ProtocolError):
        decode_message(PAKCTRL, h("8F 03 01"))


def test_devconfig_flags_words() -> None:
    # Get settings: bit 15 LargeValue, bit 14 ReadOnly, 13..0 length.
    msg = pc.DevConfigGetSettingsResponse(
        1, 1, 12, 5, 0, False, (pc.SettingValue(9, b"ab", read_only=True, large_value=True),)
    )
    assert msg.encode() == h("8F 01 01 00 0C 05 00 00 00 09 C0 02 61 62")
    # Set settings: bit 15 = more fragments follow.
    cmd = pc.DevConfigSetSettingsCommand(2, 0, (pc.SettingChange(3, h("00 07"), True),))
    assert cmd.encode() == h("10 02 00 00 00 03 80 02 00 07")
    frag = pc.DevConfigGetFragmentResponse(4, 1, True, b"xyz")
    assert frag.encode() == h("91 04 01 80 03 78 79 7A")
    assert decode_message(PAKCTRL, h("91 04 03")) == pc.DevConfigGetFragmentResponse(4, 3)


def test_delivery_failure_fields_and_quote() -> None:
    # Node 1 could not deliver BMP5 collect data (09, tran 7) from node 4094, hop count 2.
    body = h("81 00 04 10 01 2F FE 09 07 00 00")
    msg = decode_message(PAKCTRL, body)
    assert msg == pc.DeliveryFailureMessage(4, 1, 1, 0xFFE, 2, h("09 07 00 00"))
    assert isinstance(msg, pc.DeliveryFailureMessage)
    assert (msg.original_msg_type, msg.original_tran) == (0x09, 7)
    assert msg.encode() == body
    assert pc.DeliveryFailureMessage(1, 1, 0, 2, 0).original_tran is None
    with pytest.raises(UsageError, match="at most 16"):
        pc.DeliveryFailureMessage(4, 1, 1, 2, 0, bytes(17)).encode()
    with pytest.raises(UsageError, match="DstNodeId"):
        pc.DeliveryFailureMessage(4, 4096, 1, 2, 0).encode()


def test_echo_and_neighbours_and_strings() -> None:
    echo = pc.EchoCommand(9, payload=b"\x01\x02")
    assert echo.encode() == h("05 09 00 00 00 00 00 00 00 00 01 02")
    answer = decode_message(PAKCTRL, h("85 09 2A 72 73 0A 3B 02 33 80 01 02"))
    assert answer == pc.EchoResponse(9, NSec(712143626, 990000000), b"\x01\x02")
    # Neighbour entry: router bit, hop metric 3, address 0x123.
    nl = decode_message(PAKCTRL, h("8B 01 05 B1 23 00 02"))
    assert nl == pc.GetNeighbourListResponse(
        1, 5, (pc.Neighbour(0x123, 3, True), pc.Neighbour(2, 0, False))
    )
    with pytest.raises(ProtocolError):
        decode_message(PAKCTRL, h("8B 01 05 B1"))  # half an entry
    settings = pc.GetStringSettingsResponse(3, "Model=CR200;PakBusAddress=1;")
    assert settings.as_dict() == {"Model": "CR200", "PakBusAddress": "1"}
    assert decode_message(PAKCTRL, h("88 03 00")) == pc.SetStringSettingsResponse(3, 0)
    assert decode_message(PAKCTRL, h("88 03 03 00 0C")) == pc.SetStringSettingsResponse(3, 3, 12)
    ports = pc.ListPortNamesResponse(1, ("ComSDC7", "Ethernet"))
    assert ports.encode() == b"\x95\x01ComSDC7\x00Ethernet\x00"


# --- dispatch and the base class (messages.py) ------------------------------------------------


def test_dispatch_depends_on_hi_proto() -> None:
    hello = decode_message(PAKCTRL, h("09 01 00 02 07 08"))
    assert isinstance(hello, pc.HelloCommand)
    collect = decode_message(BMP5, h("09 03 00 00 03 00 01 12 34 00 00"))
    assert type(collect).__name__ == "CollectDataCommand"
    assert message_class(PAKCTRL, 0x8B) is pc.GetNeighbourListResponse
    assert message_class(BMP5, 0x8B) is not pc.GetNeighbourListResponse


@pytest.mark.parametrize(
    ("hi_proto", "body"),
    [(PAKCTRL, "04 07 AA BB"), (BMP5, "FF 01"), (3, "13 00 01 02 03"), (BMP5, "0C 02")],
)
def test_unknown_types_decode_whole(hi_proto: int, body: str) -> None:
    msg = decode_message(hi_proto, h(body))
    assert isinstance(msg, UnknownMessage)
    assert (msg.hi_proto, msg.msg_type, msg.tran, msg.payload) == (
        hi_proto,
        h(body)[0],
        h(body)[1],
        h(body)[2:],
    )
    # Code holding a plain Message reads the class-level names; they must not fail here.
    assert hi_proto == msg.HI_PROTO
    assert h(body)[0] == msg.MSG_TYPE
    assert msg.encode() == h(body)


@pytest.mark.parametrize("body", [b"", b"\x09"])
def test_body_shorter_than_two_bytes(body: bytes) -> None:
    with pytest.raises(ProtocolError, match="MsgType and TranNbr"):
        decode_message(PAKCTRL, body)


def test_errors_name_message_and_offset() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_message(PAKCTRL, h("89 01 00 02 07"))
    assert info.value.message_type == "PakCtrl 0x89 hello response"
    assert info.value.offset == 4
    with pytest.raises(ProtocolError, match="trailing") as info:
        decode_message(PAKCTRL, h("89 01 00 02 07 08 00"))
    assert info.value.offset == 6
    with pytest.raises(ProtocolError, match="expected 0x09"):
        pc.HelloCommand.decode(h("89 01 00 02 07 08"))


def test_response_type_and_is_response() -> None:
    assert response_type(PAKCTRL, 0x09) == 0x89
    assert response_type(BMP5, 0x1D) == 0x9D
    assert response_type(PAKCTRL, 0x14) == 0x94  # remote echo; 0x14 is one-way only in BMP5
    for hi, one_way in [(PAKCTRL, 0x0D), (PAKCTRL, 0x0E), (PAKCTRL, 0x0C), (BMP5, 0x20)]:
        with pytest.raises(UsageError, match="one-way"):
            response_type(hi, one_way)
    with pytest.raises(UsageError, match="not a command"):
        response_type(BMP5, 0x89)
    assert pc.HelloResponse(1, 0, 2, 0).is_response
    assert pc.DeliveryFailureMessage(1, 1, 0, 2, 0).is_response
    assert not pc.HelloCommand(1, 0, 2, 0).is_response
    assert not pc.Bye().is_response


def test_messages_are_frozen_and_slotted() -> None:
    msg = pc.HelloCommand(1, 0, 2, 1800)
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.tran = 2  # type: ignore[misc]
    assert not hasattr(msg, "__dict__")
    assert dataclasses.replace(msg, tran=7).encode() == h("09 07 00 02 07 08")


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (pc.HelloCommand(256, 0, 2, 0), "TranNbr"),
        (pc.HelloCommand(1, 0, 2, 70000), "VerifyIntv"),
        (pc.DevConfigControlCommand(1, -1, 1), "SecurityCode"),
        (pc.GetStringSettingsCommand(1, "a\x00b"), "NUL"),
        (pc.RemoteHelloRequestCommand(1, "€uro"), "Latin-1"),
        (pc.SendNeighbourListCommand(1, 0, 0, (pc.Neighbour(5000),)), "address"),
    ],
)
def test_encode_refuses_values_that_do_not_fit(message: Message, field: str) -> None:
    with pytest.raises(UsageError, match=field) as info:
        message.encode()
    assert "PakCtrl 0x" in str(info.value)


# --- property-based: every class round-trips; decoders only raise ProtocolError ---------------

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
text = st.text(st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=24)
blob = st.binary(max_size=48)
nsec = st.builds(NSec, st.integers(-(2**31), 2**31 - 1), u32)


def opt(strategy: st.SearchStrategy[int]) -> st.SearchStrategy[int | None]:
    return st.none() | strategy


neighbours = st.lists(
    st.builds(pc.Neighbour, st.integers(0, 0xFFF), st.integers(0, 7), st.booleans()), max_size=6
).map(tuple)
setting_values = st.lists(
    st.builds(pc.SettingValue, u16, blob, st.booleans(), st.booleans()), max_size=5
).map(tuple)

PAKCTRL_STRATEGIES: dict[type[Message], st.SearchStrategy[Message]] = {
    pc.DeliveryFailureMessage: st.builds(
        pc.DeliveryFailureMessage,
        u8,
        st.integers(0, 0xFFF),
        st.integers(0, 15),
        st.integers(0, 0xFFF),
        st.integers(0, 15),
        st.binary(max_size=16),
        tran=u8,
    ),
    pc.HelloCommand: st.builds(pc.HelloCommand, u8, u8, u8, u16),
    pc.HelloResponse: st.builds(pc.HelloResponse, u8, u8, u8, u16),
    pc.HelloRequest: st.builds(pc.HelloRequest, tran=u8),
    pc.Bye: st.builds(pc.Bye, tran=u8),
    pc.ResetRoutes: st.builds(pc.ResetRoutes, opt(u8), tran=u8),
    pc.EchoCommand: st.builds(pc.EchoCommand, u8, nsec, blob),
    pc.EchoResponse: st.builds(pc.EchoResponse, u8, nsec, blob),
    pc.GetStringSettingsCommand: st.builds(pc.GetStringSettingsCommand, u8, text),
    pc.GetStringSettingsResponse: st.builds(pc.GetStringSettingsResponse, u8, text),
    pc.SetStringSettingsCommand: st.builds(pc.SetStringSettingsCommand, u8, text),
    pc.SetStringSettingsResponse: st.builds(pc.SetStringSettingsResponse, u8, u8, opt(u16)),
    pc.DevConfigGetSettingsCommand: st.one_of(
        st.builds(pc.DevConfigGetSettingsCommand, u8),
        st.builds(pc.DevConfigGetSettingsCommand, u8, u16),
        st.builds(pc.DevConfigGetSettingsCommand, u8, u16, u16),
        st.builds(pc.DevConfigGetSettingsCommand, u8, u16, u16, u16),
    ),
    pc.DevConfigGetSettingsResponse: st.one_of(
        st.builds(pc.DevConfigGetSettingsResponse, u8, u8),
        st.builds(
            pc.DevConfigGetSettingsResponse, u8, u8, u16, u8, u8, st.booleans(), setting_values
        ),
    ),
    pc.DevConfigSetSettingsCommand: st.builds(
        pc.DevConfigSetSettingsCommand,
        u8,
        u16,
        st.lists(st.builds(pc.SettingChange, u16, blob, st.booleans()), max_size=5).map(tuple),
    ),
    pc.DevConfigSetSettingsResponse: st.builds(
        pc.DevConfigSetSettingsResponse,
        u8,
        u8,
        st.lists(st.builds(pc.SettingResult, u16, u8), max_size=6).map(tuple),
    ),
    pc.DevConfigGetFragmentCommand: st.builds(pc.DevConfigGetFragmentCommand, u8, u16, u16, u32),
    pc.DevConfigGetFragmentResponse: st.one_of(
        st.builds(pc.DevConfigGetFragmentResponse, u8, u8),
        st.builds(pc.DevConfigGetFragmentResponse, u8, u8, st.booleans(), blob),
    ),
    pc.DevConfigSetFragmentCommand: st.builds(
        pc.DevConfigSetFragmentCommand, u8, u16, u16, u32, st.booleans(), blob
    ),
    pc.DevConfigSetFragmentResponse: st.builds(pc.DevConfigSetFragmentResponse, u8, u8),
    pc.DevConfigControlCommand: st.builds(pc.DevConfigControlCommand, u8, u16, u8),
    pc.DevConfigControlResponse: st.builds(pc.DevConfigControlResponse, u8, u8),
    pc.SendNeighbourListCommand: st.builds(pc.SendNeighbourListCommand, u8, u8, u8, neighbours),
    pc.SendNeighbourListResponse: st.builds(pc.SendNeighbourListResponse, u8),
    pc.GetNeighbourListCommand: st.builds(pc.GetNeighbourListCommand, u8),
    pc.GetNeighbourListResponse: st.builds(pc.GetNeighbourListResponse, u8, u8, neighbours),
    pc.RemoteEchoCommand: st.builds(pc.RemoteEchoCommand, u8, u16, u16),
    pc.RemoteEchoResponse: st.builds(pc.RemoteEchoResponse, u8, u8, opt(u32)),
    pc.ListPortNamesCommand: st.builds(pc.ListPortNamesCommand, u8),
    pc.ListPortNamesResponse: st.builds(
        pc.ListPortNamesResponse, u8, st.lists(text, max_size=5).map(tuple)
    ),
    pc.RemoteHelloRequestCommand: st.builds(pc.RemoteHelloRequestCommand, u8, text),
    pc.RemoteHelloRequestResponse: st.builds(pc.RemoteHelloRequestResponse, u8, u8),
}


def test_every_pakctrl_class_has_a_strategy() -> None:
    registered = {c for c in registered_messages() if c.HI_PROTO == PAKCTRL}
    assert registered == set(PAKCTRL_STRATEGIES)


@pytest.mark.parametrize("cls", registered_messages(), ids=lambda c: c.__name__)
def test_every_declared_layout_compiles(cls: type[Message]) -> None:
    """The codecs are compiled on first use (start-up): every PakCtrl and BMP5 layout
    must compile, and its fixed or minimum size hold the MsgType and TranNbr."""
    codec = cls._CODEC
    if codec is None:
        assert cls._decode_fields.__func__ is not Message._decode_fields.__func__  # hand-written
        return
    assert codec.compile() is codec
    assert codec.min_size >= 2
    assert codec.size is None or codec.size == codec.min_size


# Per class, so every class gets its own examples (one_of over all would give each few).
def _type_of(cls: type[Message]) -> int:
    return cls.MSG_TYPE


CLASSES: list[type[Message]] = sorted(PAKCTRL_STRATEGIES, key=_type_of)
by_class = pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)


@by_class
@settings(max_examples=60)
@given(data=st.data())
def test_roundtrip(cls: type[Message], data: st.DataObject) -> None:
    message = data.draw(PAKCTRL_STRATEGIES[cls])
    body = message.encode()
    assert body[:2] == bytes((message.MSG_TYPE, message.tran))
    decoded = decode_message(PAKCTRL, body)
    assert decoded == message
    assert decoded.encode() == body


@by_class
@settings(max_examples=30)
@given(data=st.data())
def test_truncated_bodies_raise_only_protocol_error(
    cls: type[Message], data: st.DataObject
) -> None:
    body = data.draw(PAKCTRL_STRATEGIES[cls]).encode()
    cut = data.draw(st.integers(0, len(body)))
    try:
        decoded = decode_message(PAKCTRL, body[:cut])
    except ProtocolError:
        return
    assert decoded.encode() == decode_message(PAKCTRL, decoded.encode()).encode()


known_types = st.sampled_from(sorted(c.MSG_TYPE for c in PAKCTRL_STRATEGIES))


@given(st.one_of(st.binary(max_size=64), st.tuples(known_types, st.binary(max_size=64))))
def test_random_bodies_raise_only_protocol_error(raw: bytes | tuple[int, bytes]) -> None:
    body = raw if isinstance(raw, bytes) else bytes([raw[0]]) + raw[1]
    try:
        decoded = decode_message(PAKCTRL, body)
    except ProtocolError:
        return
    assert (decoded.hi_proto, decoded.msg_type, decoded.tran) == (PAKCTRL, body[0], body[1])
