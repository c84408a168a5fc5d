"""Reply frames: quoting, the CRC-candidate vectors of instrument-vectors.md §4.2-4.3
byte-exact, dispatch, the incremental decoder, its CRC-variant lock and its bounds."""

from __future__ import annotations

import logging
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlink.errors import DeviceError, FieldlinkError, ProtocolError
from fieldlink.tdr100.protocol import (
    ERROR_CODES,
    Ack,
    ErrorReply,
    ReplyDecoder,
    TDR100Error,
    Values,
    decode_body,
    encode_body,
    encode_reply,
    meaning,
    quote,
    unquote,
)
from fieldlink.tdr100.protocol.crc import (
    ARC,
    BUYPASS,
    CANDIDATES,
    CCITT_FALSE,
    KERMIT,
    MODBUS,
    XMODEM,
    by_name,
)
from fieldlink.tdr100.protocol.replies import MAX_FRAME

H = bytes.fromhex

# §4.2
QUOTING = [
    (H("3A"), H("22 C6")),
    (H("0D"), H("22 F3")),
    (H("22"), H("22 DE")),
    (H("3A 20 00 00"), H("22 C6 20 00 00")),
    (H("3E 0D 22 00"), H("3E 22 F3 22 DE 00")),
]

GVAR_DATA = H("42 01 C2 8F 43 29 DE B8 3C 23 D7 0A")
# §4.3: body -> CRC bytes per variant, in the table's column order.
VARIANTS = (XMODEM, CCITT_FALSE, KERMIT, ARC, MODBUS, BUYPASS)
CRCS = {
    b"$S_VP": ("E3 46", "F2 4A", "A1 DC", "CD 6E", "CD 4A", "83 92"),
    b"$ABRT": ("98 FB", "89 F7", "00 A5", "B0 F8", "B0 DC", "72 2B"),
    b"!05": ("D2 95", "1E 09", "89 6B", "1D 84", "DD F5", "A2 2A"),
    b"#GMOS" + H("40 20 00 00"): ("30 3F", "28 4D", "73 F2", "DA CB", "2A C1", "4D 24"),
    b"#GVAR" + GVAR_DATA: ("43 8A", "84 66", "4D AF", "7E DE", "0E AE", "C2 76"),
}
XMODEM_WIRE = {
    b"$S_VP": H("3A 24 53 5F 56 50 E3 46 0D"),
    b"$ABRT": H("3A 24 41 42 52 54 98 FB 0D"),
    b"!05": H("3A 21 30 35 D2 95 0D"),
}


def test_catalogue_check_values() -> None:
    checks = {XMODEM: 0x31C3, CCITT_FALSE: 0x29B1, KERMIT: 0x2189, ARC: 0xBB3D,
              MODBUS: 0x4B37, BUYPASS: 0xFEE8}  # fmt: skip
    for variant, check in checks.items():
        assert variant(b"123456789") == check


@pytest.mark.parametrize(("raw", "quoted"), QUOTING)
def test_quoting(raw: bytes, quoted: bytes) -> None:
    assert quote(raw) == quoted
    assert unquote(quoted) == raw


def test_float_with_two_escapes() -> None:
    assert struct.pack(">f", 0.13782501) == H("3E 0D 22 00")
    frame = encode_reply(Values("GMOS", (0.13782501,)))
    assert H("3E 22 F3 22 DE 00") in frame
    (reply,) = ReplyDecoder().feed(frame)
    assert reply == Values("GMOS", (pytest.approx(0.13782501),))  # type: ignore[arg-type]


def test_unquote_is_left_to_right() -> None:
    # 22 DE -> 22, then C6 is a plain byte: a global replace would make a colon of it.
    assert unquote(H("22 DE C6")) == H("22 C6")


@pytest.mark.parametrize("bad", [H("41 22"), H("22 41"), H("22 00")])
def test_bad_quoting_is_a_protocol_error(bad: bytes) -> None:
    with pytest.raises(ProtocolError):
        unquote(bad)


@pytest.mark.parametrize("body", sorted(CRCS))
def test_crc_vectors_for_every_candidate(body: bytes) -> None:
    for variant, crc in zip(VARIANTS, CRCS[body], strict=True):
        frame = encode_reply(body, variant)
        assert frame == b":" + body + H(crc) + b"\r", variant.name
        decoder = ReplyDecoder(variant, detect=False)
        (reply,) = decoder.feed(frame)
        assert not isinstance(reply, Exception)


def test_xmodem_wire_bytes_and_gvar() -> None:
    for body, wire in XMODEM_WIRE.items():
        assert encode_reply(body) == wire
    assert encode_reply(Values("GVAR", (32.44, 169.87, 0.01))) == (
        b":#GVAR" + GVAR_DATA + H("43 8A") + b"\r"
    )
    assert encode_reply(Ack("S_VP")) == XMODEM_WIRE[b"$S_VP"]
    assert encode_reply(ErrorReply(5)) == XMODEM_WIRE[b"!05"]


def test_dispatch() -> None:
    assert decode_body(b"$S_VP") == Ack("S_VP")
    assert decode_body(b"!05") == ErrorReply(5)
    (value,) = decode_body(b"#GMOS" + H("40 20 00 00")).values  # type: ignore[union-attr]
    assert value == 2.5
    assert decode_body(b"#GVAR" + GVAR_DATA) == Values("GVAR", struct.unpack(">3f", GVAR_DATA))
    assert decode_body(b"#DUMP") == Values("DUMP", ())
    for body in (b"", b"$S_V", b"$S_VPX", b"!5", b"!ab", b"#GMOS\x00", b"?GMOS", b"#GM"):
        with pytest.raises(ProtocolError):
            decode_body(body)


def test_encode_body_roundtrip() -> None:
    for reply in (Ack("SSET"), ErrorReply(18), Values("GVER", (1.0, 4660.0, 2.0, 22136.0))):
        assert decode_body(encode_body(reply)) == reply


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_error_code_becomes_a_tdr100_error(code: int) -> None:
    (reply,) = ReplyDecoder().feed(encode_reply(ErrorReply(code)))
    assert isinstance(reply, ErrorReply)
    err = reply.error("GMOS")
    assert isinstance(err, TDR100Error) and isinstance(err, DeviceError)
    assert err.code == code and err.meaning == ERROR_CODES[code]
    assert f"{code:02d}" in str(err) and ERROR_CODES[code] in str(err) and "GMOS" in str(err)


def test_error_meanings() -> None:
    assert meaning(1) == "bad checksum"
    assert meaning(18) == "incorrect mux address or channel"
    assert meaning(79) == "READ: address not accepted"
    assert meaning(55) == "undocumented error code"


def test_decoder_byte_by_byte_with_noise_between_frames() -> None:
    stream = (
        b"\x00junk>"
        + encode_reply(Ack("S_VP"))
        + b"\r\n"
        + encode_reply(Values("GMOS", (0.13782501,)))
        + encode_reply(ErrorReply(16))
    )
    decoder = ReplyDecoder()
    got = []
    for b in stream:
        got += decoder.feed(bytes([b]))
    assert got == [Ack("S_VP"), Values("GMOS", (struct.unpack(">f", H("3E 0D 22 00"))[0],)),
                   ErrorReply(16)]  # fmt: skip
    assert decoder.pending == 0


def test_frame_cut_short_by_a_new_colon() -> None:
    good = encode_reply(Ack("SSET"))
    got = ReplyDecoder().feed(good[:5] + good)
    assert isinstance(got[0], ProtocolError) and "cut short" in str(got[0])
    assert got[1] == Ack("SSET")


def test_corrupted_frame_is_reported_then_decoding_continues() -> None:
    good = encode_reply(Values("GMOS", (2.5,)))
    bad = bytearray(good)
    bad[7] ^= 0x01
    decoder = ReplyDecoder(detect=False)
    got = decoder.feed(bytes(bad) + good)
    assert isinstance(got[0], ProtocolError) and "CRC" in str(got[0])
    assert got[1] == Values("GMOS", (2.5,))
    assert decoder.dropped == 1


@pytest.mark.parametrize("variant", CANDIDATES, ids=lambda v: v.name)
def test_crc_lock(variant: object, caplog: pytest.LogCaptureFixture) -> None:
    decoder = ReplyDecoder()
    locked = []
    decoder.on_lock = locked.append  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="fieldlink.tdr100.protocol"):
        got = decoder.feed(encode_reply(Ack("S_VP"), variant))  # type: ignore[arg-type]
    assert got == [Ack("S_VP")]
    assert decoder.locked is variant and locked == [variant]
    assert variant.name in caplog.text  # type: ignore[attr-defined]
    if variant is not XMODEM:
        assert any(r.levelno == logging.WARNING for r in caplog.records)
        # once locked, the default variant is no longer accepted
        (err,) = decoder.feed(encode_reply(Ack("S_VP"), XMODEM))
        assert isinstance(err, ProtocolError)
    (ok,) = decoder.feed(encode_reply(ErrorReply(5), variant))  # type: ignore[arg-type]
    assert ok == ErrorReply(5)


def test_no_lock_without_detection() -> None:
    decoder = ReplyDecoder(XMODEM, detect=False)
    (err,) = decoder.feed(encode_reply(Ack("S_VP"), MODBUS))
    assert isinstance(err, ProtocolError)
    assert decoder.locked is XMODEM


def test_a_frame_matching_no_variant_does_not_lock() -> None:
    decoder = ReplyDecoder()
    (err,) = decoder.feed(b":$S_VP\x00\x00\r")
    assert isinstance(err, ProtocolError) and decoder.locked is None


def test_by_name() -> None:
    assert by_name("xmodem") is XMODEM
    assert by_name("CRC-16/MODBUS") is MODBUS
    assert by_name("ccitt-false") is CCITT_FALSE
    with pytest.raises(FieldlinkError):
        by_name("crc32")


def test_largest_waveform_passes_and_longer_frames_are_dropped() -> None:
    frame = encode_reply(Values("GWAV", tuple(float(i) for i in range(2048))))
    (reply,) = ReplyDecoder().feed(frame)
    assert isinstance(reply, Values) and len(reply.values) == 2048
    decoder = ReplyDecoder()
    got = decoder.feed(b":" + b"A" * (MAX_FRAME + 10))
    assert len(got) == 1 and isinstance(got[0], ProtocolError)
    assert decoder.pending == 0
    # the rest of the monster frame is skipped; the next real frame decodes
    assert decoder.feed(b"A" * 1000 + b"\r" + encode_reply(Ack("SSET"))) == [Ack("SSET")]


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=300), max_size=12))
def test_fuzzed_streams_give_only_replies_or_fieldlink_errors(chunks: list[bytes]) -> None:
    decoder = ReplyDecoder()
    for chunk in chunks:
        for item in decoder.feed(chunk):
            assert isinstance(item, Ack | Values | ErrorReply | FieldlinkError)
        assert decoder.pending <= MAX_FRAME


@given(st.lists(st.sampled_from([b":", b"\r", b'"', b"\xc6", b"\xf3", b"\xde", b"$", b"#", b"!",
                                 b"0", b"A"]), max_size=200))  # fmt: skip
def test_fuzzed_framing_bytes(parts: list[bytes]) -> None:
    decoder = ReplyDecoder()
    for item in decoder.feed(b"".join(parts)):
        assert isinstance(item, Ack | Values | ErrorReply | FieldlinkError)


@given(
    st.one_of(
        st.builds(Ack, st.sampled_from(["S_VP", "ABRT", "SSET"])),
        st.builds(ErrorReply, st.integers(0, 99)),
        st.builds(
            Values,
            st.sampled_from(["GWAV", "GMOS", "DUMP"]),
            st.lists(st.floats(width=32, allow_nan=False), max_size=40).map(tuple),
        ),
    ),
    st.sampled_from(CANDIDATES),
    st.integers(1, 7),
)
def test_roundtrip_any_reply_any_variant_any_split(
    reply: object, variant: object, split: int
) -> None:
    frame = encode_reply(reply, variant)  # type: ignore[arg-type]
    decoder = ReplyDecoder(variant, detect=False)  # type: ignore[arg-type]
    got = []
    for i in range(0, len(frame), split):
        got += decoder.feed(frame[i : i + split])
    assert got == [reply]
