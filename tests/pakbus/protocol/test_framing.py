"""Byte framing: quoting, encode_frame and the streaming FrameDecoder.

Wire frames are copied from pakbus-vectors.md (ids cited); the decoder is fed them
in every kind of split a serial port or TCP socket can produce.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.protocol.framing import (
    MAX_UNQUOTED,
    MIN_FRAME,
    QUOTE,
    SYNC,
    FrameDecoder,
    encode_frame,
    quote,
    unquote,
)
from fieldlink.pakbus.protocol.signature import nullifier, signature


def _hex(text: str) -> bytes:
    return bytes.fromhex(text)


#: Complete wire frames (sync bytes included) with their content (header + message).
WIRE = {
    "V2": (
        _hex("BD 90 01 58 02 00 01 08 02 09 01 00 02 07 08 F6 86 BD"),
        _hex("90 01 58 02 00 01 08 02 09 01 00 02 07 08"),
    ),
    "V15.1": (_hex("BD 90 01 0F FE 71 D2 BD"), _hex("90 01 0F FE")),
    "V15.2": (_hex("BD AF FE 00 01 5A 89 BD"), _hex("AF FE 00 01")),
    "V16.1": (
        _hex("BD A0 01 4F FE 10 01 0F FE 17 17 00 00 00 00 00 00 00 00 00 00 B2 B3 BD"),
        _hex("A0 01 4F FE 10 01 0F FE 17 17 00 00 00 00 00 00 00 00 00 00"),
    ),
    "V16.2": (
        _hex("BD AF FE 00 01 1F FE 00 01 97 17 00 1B FA 2A 61 C8 00 00 00 04 FA BD"),
        _hex("AF FE 00 01 1F FE 00 01 97 17 00 1B FA 2A 61 C8 00 00 00"),
    ),
    "V18": (
        _hex("BD A0 01 70 04 10 01 00 04 09 09 00 00 05 00 03 43 15 00 00 00 3C 00 00 C7 DF BD"),
        _hex("A0 01 70 04 10 01 00 04 09 09 00 00 05 00 03 43 15 00 00 00 3C 00 00"),
    ),
    "V19.1": (_hex("BD 90 01 0F FC 75 D4 BD"), _hex("90 01 0F FC")),
    "V19.2": (
        _hex("BD A0 01 6F FC 00 01 0F FC 09 D9 01 02 FF FF DE 86 BD"),
        _hex("A0 01 6F FC 00 01 0F FC 09 D9 01 02 FF FF"),
    ),
    # V21.1: the 0xBD inside the value is sent as BC DD.
    "V21.1": (
        _hex(
            "BD A0 01 9F FE 10 01 0F FE 1B 2A 00 00 50 75 62 6C 69 63 00 09 53 65 74 70 74 00 "
            "00 01 BC DD CC CC CD EF 40 BD"
        ),
        _hex(
            "A0 01 9F FE 10 01 0F FE 1B 2A 00 00 50 75 62 6C 69 63 00 09 53 65 74 70 74 00 00 "
            "01 BD CC CC CD"
        ),
    ),
    # V21.2: the nullifier B7 BD itself needs quoting.
    "V21.2": (
        _hex(
            "BD A0 01 9F FE 10 01 0F FE 1B 05 00 00 50 75 62 6C 69 63 00 09 53 65 74 70 74 00 "
            "00 01 BC DD CC CC CD B7 BC DD BD"
        ),
        _hex(
            "A0 01 9F FE 10 01 0F FE 1B 05 00 00 50 75 62 6C 69 63 00 09 53 65 74 70 74 00 00 "
            "01 BD CC CC CD"
        ),
    ),
}

#: V4: the CR1000's unsolicited Hello Request on TCP connect, as read (no sync bytes).
V4_UNQUOTED = _hex("EF FF 10 01 0F FF 00 01 0E 00 DD F0")


def _with_nullifier(content: bytes) -> bytes:
    return content + nullifier(signature(content))


# --- quoting -----------------------------------------------------------------------------------


def test_constants() -> None:
    assert (SYNC, QUOTE, MAX_UNQUOTED, MIN_FRAME) == (0xBD, 0xBC, 1024, 6)


def test_quote_escapes_sync_and_quote_bytes() -> None:
    assert quote(b"\xbc") == b"\xbc\xdc"
    assert quote(b"\xbd") == b"\xbc\xdd"
    assert quote(b"a\xbd\xbcb") == b"a\xbc\xdd\xbc\xdcb"
    assert quote(b"\xdc\xdd\x00") == b"\xdc\xdd\x00"


def test_unquote_reverses_the_escapes() -> None:
    assert unquote(b"\xbc\xdc") == b"\xbc"
    assert unquote(b"\xbc\xdd") == b"\xbd"
    # A quoted 0xBC followed by a literal 0xDC must not be read as a second pair.
    assert unquote(b"\xbc\xdc\xdc") == b"\xbc\xdc"
    assert unquote(b"\xbc\xdd\xdc") == b"\xbd\xdc"
    # ... nor a quoted 0xBC followed by a literal 0xDD as a quoted 0xBD.
    assert unquote(b"\xbc\xdc\xdd") == b"\xbc\xdd"
    assert unquote(quote(b"\xbc\xdd\xbd\xdc")) == b"\xbc\xdd\xbd\xdc"


@pytest.mark.parametrize(
    ("raw", "offset"),
    [
        (b"\xbc", 0),  # quote byte at the end
        (b"ab\xbc\x00", 2),  # not DC/DD after it
        (b"a\xbc\xbc\xdc", 1),  # quote followed by quote
        (b"\xbc\xdcz\xbc\xde", 3),  # the second pair is the bad one
    ],
)
def test_unquote_rejects_bad_quote_sequences(raw: bytes, offset: int) -> None:
    with pytest.raises(ProtocolError) as info:
        unquote(raw)
    assert info.value.offset == offset
    assert "0xBC" in str(info.value)


def test_unquote_rejects_a_bare_sync_byte() -> None:
    with pytest.raises(ProtocolError) as info:
        unquote(b"ab\xbdc")
    assert info.value.offset == 2


@given(st.binary(max_size=600))
def test_quoting_round_trips(data: bytes) -> None:
    quoted = quote(data)
    assert SYNC not in quoted
    assert len(quoted) == len(data) + data.count(SYNC) + data.count(QUOTE)
    assert unquote(quoted) == data


@given(st.binary(max_size=300))
def test_unquote_of_arbitrary_bytes_raises_only_protocol_error(raw: bytes) -> None:
    try:
        out = unquote(raw)
    except ProtocolError:
        return
    assert quote(out) == raw


# --- encode_frame --------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", sorted(WIRE))
def test_encode_frame_reproduces_published_frames(vector: str) -> None:
    wire, content = WIRE[vector]
    assert encode_frame(content) == wire


@pytest.mark.parametrize("vector", ["V21.1", "V21.2"])
def test_quoted_frames_unquote_to_signature_zero(vector: str) -> None:
    wire, content = WIRE[vector]
    unquoted = unquote(wire[1:-1])
    assert unquoted[:-2] == content
    assert signature(unquoted) == 0


# --- FrameDecoder: good streams ---------------------------------------------------------------


@pytest.mark.parametrize("vector", sorted(WIRE))
def test_decoder_returns_content_without_nullifier(vector: str) -> None:
    wire, content = WIRE[vector]
    decoder = FrameDecoder()
    assert decoder.feed(wire) == [content]
    assert decoder.stats.frames == 1
    assert decoder.stats.dropped == 0


def test_decoder_reads_the_v4_hello_request_after_a_sync_burst() -> None:
    decoder = FrameDecoder()
    stream = b"\xbd" * 6 + b"\xbd" + quote(V4_UNQUOTED) + b"\xbd"
    assert decoder.feed(stream) == [V4_UNQUOTED[:-2]]
    assert decoder.stats.runts == 0 and decoder.stats.dropped == 0


def test_decoder_one_byte_at_a_time() -> None:
    decoder = FrameDecoder()
    out: list[bytes] = []
    for vector in ("V21.2", "V2", "V15.1"):
        for byte in WIRE[vector][0]:
            out += decoder.feed(bytes((byte,)))
    assert out == [WIRE["V21.2"][1], WIRE["V2"][1], WIRE["V15.1"][1]]


def test_decoder_many_frames_in_one_read() -> None:
    wires = [WIRE[v][0] for v in sorted(WIRE)]
    decoder = FrameDecoder()
    assert decoder.feed(b"".join(wires)) == [WIRE[v][1] for v in sorted(WIRE)]


def test_frames_sharing_one_sync_byte() -> None:
    a, b = WIRE["V16.1"][0], WIRE["V16.2"][0]
    stream = a + b[1:]  # a's trailing 0xBD is b's leading one
    assert FrameDecoder().feed(stream) == [WIRE["V16.1"][1], WIRE["V16.2"][1]]


def test_garbage_before_the_first_sync_is_discarded_silently() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x01\x02garbage" + WIRE["V18"][0]) == [WIRE["V18"][1]]
    assert decoder.stats.dropped == 0 and decoder.stats.runts == 0


def test_joining_mid_frame_drops_only_the_tail() -> None:
    wire = WIRE["V19.2"][0]
    decoder = FrameDecoder()
    # The tail of a frame, its closing sync, then a whole frame.
    assert decoder.feed(wire[9:] + WIRE["V2"][0]) == [WIRE["V2"][1]]


def test_runs_of_sync_bytes_make_no_frames_and_no_errors() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\xbd" * 50) == []
    assert decoder.feed(b"\xbd" * 3 + WIRE["V15.2"][0] + b"\xbd" * 7) == [WIRE["V15.2"][1]]
    assert decoder.stats.frames == 1
    assert decoder.stats.dropped == 0 and decoder.stats.runts == 0


def test_in_frame_and_reset() -> None:
    decoder = FrameDecoder()
    wire = WIRE["V2"][0]
    assert decoder.feed(wire[:5]) == []
    assert decoder.in_frame
    decoder.reset()
    assert not decoder.in_frame
    # After a reset the decoder hunts for a sync byte again: the rest is a frame tail.
    assert decoder.feed(wire[5:]) == []
    assert decoder.feed(wire) == [WIRE["V2"][1]]


# --- FrameDecoder: damaged frames are counted, not raised ----------------------------------------


def test_bad_signature_is_counted_and_the_next_frame_survives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wire = bytearray(WIRE["V16.1"][0])
    wire[12] ^= 0x40
    decoder = FrameDecoder()
    with caplog.at_level(logging.DEBUG, logger="fieldlink.pakbus.protocol.framing"):
        out = decoder.feed(bytes(wire) + WIRE["V18"][0])
    assert out == [WIRE["V18"][1]]
    assert decoder.stats.bad_signature == 1
    assert decoder.stats.frames == 1
    assert any("bad signature" in r.getMessage() for r in caplog.records)


def test_bad_quote_is_counted() -> None:
    content = _with_nullifier(WIRE["V18"][1])
    decoder = FrameDecoder()
    out = decoder.feed(b"\xbd" + content[:10] + b"\xbc\x01" + content[10:] + b"\xbd")
    assert out == []
    assert decoder.stats.bad_quote == 1


def test_quote_byte_right_before_sync_is_bad_and_the_sync_starts_the_next_frame() -> None:
    decoder = FrameDecoder()
    out = decoder.feed(b"\xbd\x01\x02\x03\x04\x05\x06\xbc" + WIRE["V19.1"][0])
    assert out == [WIRE["V19.1"][1]]
    assert decoder.stats.bad_quote == 1


def _valid_frame_of(size: int) -> bytes:
    """Unquoted frame of ``size`` bytes (nullifier included) with signature 0."""
    content = bytes((i * 7) & 0x7F for i in range(size - 2))
    return _with_nullifier(content)


def test_length_limit_is_1024_unquoted_bytes() -> None:
    decoder = FrameDecoder()
    at_limit = _valid_frame_of(MAX_UNQUOTED)
    over = _valid_frame_of(MAX_UNQUOTED + 1)
    out = decoder.feed(b"\xbd" + quote(at_limit) + b"\xbd" + quote(over) + b"\xbd")
    assert out == [at_limit[:-2]]
    assert decoder.stats.too_long == 1


def test_quoted_bytes_count_once_toward_the_limit() -> None:
    # 1020 unquoted bytes, most of them needing quoting: raw length ~2000 but valid.
    content = b"\xa0\x01\x98\x02\x10\x01\x08\x02" + b"\xbd\xbc" * 505
    frame = _with_nullifier(content)
    assert len(frame) == 1020 and len(quote(frame)) > 2000
    assert FrameDecoder().feed(encode_frame(content)) == [content]


def test_endless_frame_is_abandoned_with_bounded_memory() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"\xbd")
    for _ in range(100):
        assert decoder.feed(b"\x55" * 1000) == []
    assert decoder.stats.too_long == 1
    assert not decoder.in_frame  # nothing buffered while skipping to the next sync
    assert decoder.feed(WIRE["V2"][0]) == [WIRE["V2"][1]]


def test_short_fragments_are_runts_not_errors() -> None:
    decoder = FrameDecoder()
    stream = b"\xbd\x01\xbd\x01\x02\x03\x04\x05\xbd" + WIRE["V15.1"][0]
    assert decoder.feed(stream) == [WIRE["V15.1"][1]]
    assert decoder.stats.runts == 2
    assert decoder.stats.dropped == 0


@pytest.mark.parametrize("content_len", [5, 6, 7])
def test_signed_frames_of_5_to_7_bytes_are_bad_length(content_len: int) -> None:
    decoder = FrameDecoder()
    content = bytes(range(0xA0, 0xA0 + content_len))
    assert decoder.feed(encode_frame(content)) == []
    assert decoder.stats.bad_length == 1
    assert decoder.stats.frames == 0


@pytest.mark.parametrize("content_len", [4, 8])
def test_header_sizes_pass(content_len: int) -> None:
    content = bytes(range(0xA0, 0xA0 + content_len))
    assert FrameDecoder().feed(encode_frame(content)) == [content]


# --- FrameDecoder: property tests --------------------------------------------------------------

_contents = st.one_of(
    st.binary(min_size=4, max_size=4),
    st.binary(min_size=8, max_size=120),
)

#: Line noise between frames that can never pass as a frame: either a runt without
#: sync/quote bytes, or anything containing a bad quote sequence.
_runt = st.binary(min_size=1, max_size=MIN_FRAME - 1).filter(
    lambda b: SYNC not in b and QUOTE not in b
)
_bad_quote = st.binary(max_size=40).map(lambda b: b"\xbc\x00" + b.replace(b"\xbd", b""))


@st.composite
def _streams(draw: st.DrawFn) -> tuple[bytes, list[bytes], int, int]:
    """A stream of frames with noise; returns (stream, contents, runts, bad quotes)."""
    contents = draw(st.lists(_contents, min_size=1, max_size=8))
    prefix = draw(st.binary(max_size=20)).replace(b"\xbd", b"")
    parts = [prefix]
    runts = bad_quotes = 0
    for content in contents:
        parts.append(b"\xbd" * draw(st.integers(1, 3)))
        parts.append(quote(_with_nullifier(content)))
        parts.append(b"\xbd" * draw(st.integers(0, 2)))  # 0: shared sync with what follows
        noise = draw(st.one_of(st.none(), _runt, _bad_quote))
        if noise is not None:
            parts += [b"\xbd", noise]
            if noise.startswith(b"\xbc\x00"):
                bad_quotes += 1
            else:
                runts += 1
    parts.append(b"\xbd")
    return b"".join(parts), contents, runts, bad_quotes


@given(_streams(), st.lists(st.integers(min_value=0, max_value=5000), max_size=30))
def test_any_split_of_a_noisy_stream_yields_the_same_frames(
    sample: tuple[bytes, list[bytes], int, int], cuts: list[int]
) -> None:
    stream, contents, runts, bad_quotes = sample
    points = sorted({c % (len(stream) + 1) for c in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    decoder = FrameDecoder()
    out: list[bytes] = []
    for piece in pieces:
        out += decoder.feed(piece)
    assert out == contents
    assert decoder.stats.frames == len(contents)
    assert decoder.stats.bad_quote == bad_quotes
    assert decoder.stats.runts == runts
    assert decoder.stats.bad_signature == decoder.stats.too_long == 0


@given(st.lists(st.binary(max_size=300), max_size=10))
def test_random_bytes_never_raise(chunks: list[bytes]) -> None:
    decoder = FrameDecoder()
    for chunk in chunks:
        for frame in decoder.feed(chunk):
            assert len(frame) == 4 or 8 <= len(frame) <= MAX_UNQUOTED - 2


@given(st.lists(st.sampled_from([b"\xbc", b"\xbd", b"\xdc", b"\xdd", b"\x00"]), max_size=200))
def test_quote_and_sync_soup_never_raises(tokens: list[bytes]) -> None:
    decoder = FrameDecoder()
    decoder.feed(b"".join(tokens))
    assert decoder.stats.frames + decoder.stats.dropped + decoder.stats.runts <= len(tokens)


# --- FrameDecoder: efficiency --------------------------------------------------------------------


def test_a_64k_read_of_frames_yields_every_frame() -> None:
    # How fast: benchmarks/bench_framing.py (speed is measured there, not asserted here).
    wire = WIRE["V21.1"][0]
    count = 65536 // len(wire)
    decoder = FrameDecoder()
    out = decoder.feed(wire * count)
    assert len(out) == count


def test_a_long_run_without_sync_bytes_is_abandoned_once() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"\xbd")
    for _ in range(64):
        decoder.feed(b"\x11" * 65536)
    assert decoder.stats.too_long == 1
    assert not decoder.in_frame
