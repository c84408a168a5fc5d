"""PakBus data types (reference §10): codes, sizes, every codec, the 1990 epoch."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.protocol.types import (
    EPOCH,
    FP2_TABLE,
    DataType,
    datetime_to_nsec,
    decode_value,
    decode_values,
    encode_value,
    fp2_from_word,
    fp2_to_word,
    nsec_to_datetime,
    type_size,
)
from fieldlink.pakbus.protocol.wire import NSec

# (code, BMP5/CSI name, bytes) straight from the §10 table.
SECTION_10 = [
    (1, "BYTE", 1),
    (2, "UINT2", 2),
    (3, "UINT4", 4),
    (4, "INT1", 1),
    (5, "INT2", 2),
    (6, "INT4", 4),
    (7, "FP2", 2),
    (8, "FP4", 4),
    (9, "IEEE4", 4),
    (10, "BOOL", 1),
    (12, "SEC", 4),
    (13, "USEC", 6),
    (14, "NSEC", 8),
    (15, "FP3", 3),
    (17, "BOOL8", 1),
    (18, "IEEE8", 8),
    (19, "INT2_LSF", 2),
    (20, "INT4_LSF", 4),
    (21, "UINT2_LSF", 2),
    (22, "UINT4_LSF", 4),
    (23, "NSEC_LSF", 8),
    (24, "IEEE4_LSF", 4),
    (25, "IEEE8_LSF", 8),
    (26, "FS4", 4),
    (27, "BOOL2", 2),
    (28, "BOOL4", 4),
]


@pytest.mark.parametrize(("code", "name", "size"), SECTION_10)
def test_codes_names_and_sizes(code: int, name: str, size: int) -> None:
    assert DataType[name] == code
    assert type_size(code) == size
    assert len(encode_value(code, _sample(code))) == size


def test_string_sizes() -> None:
    assert (int(DataType.ASCII), int(DataType.ASCIIZ)) == (11, 16)
    assert type_size(DataType.ASCII) == 1  # per character: PieceSize is the length
    assert type_size(DataType.ASCIIZ) is None


@pytest.mark.parametrize("code", [0, 29, 32, 127])
def test_unknown_codes(code: int) -> None:
    with pytest.raises(ProtocolError):
        type_size(code)
    with pytest.raises(ProtocolError):
        decode_value(code, bytes(8))
    with pytest.raises(ValueError):
        encode_value(code, 0)


def _sample(code: int) -> object:
    if code in (12, 13, 14, 23):
        return dt.datetime(2012, 7, 26, 13, 40)
    if code in (10, 27, 28):
        return True
    if code in (7, 8, 9, 15, 18, 24, 25, 26):
        return 1.5
    return 1


# --- FP2 ----------------------------------------------------------------------------------

# OBSERVED in a CR1000 Table1 record (vectors V13, §10).
FP2_VECTORS = [
    ("45 51", 13.61),
    ("13 90", 5008.0),
    ("09 CA", 2506.0),
    ("A7 E0", -201.6),
    ("BE AC", -785.2),
]


@pytest.mark.parametrize(("hexbytes", "value"), FP2_VECTORS)
def test_fp2_observed_values(hexbytes: str, value: float) -> None:
    raw = bytes.fromhex(hexbytes)
    assert decode_value(DataType.FP2, raw) == (value, 2)
    # These are what a logger wrote, so Campbell's encoder must give the same bytes back.
    assert encode_value(DataType.FP2, value) == raw


def test_fp2_specials() -> None:
    assert math.isnan(fp2_from_word(0x9FFE))
    assert fp2_from_word(0x1FFF) == math.inf
    assert fp2_from_word(0x9FFF) == -math.inf
    assert fp2_to_word(math.nan) == 0x9FFE
    assert fp2_to_word(math.inf) == 0x1FFF
    assert fp2_to_word(-math.inf) == 0x9FFF


def test_fp2_layout() -> None:
    # sign bit 15, decimals bits 14..13, mantissa bits 12..0
    assert fp2_from_word(0x0000 | 1234) == 1234
    assert fp2_from_word(0x2000 | 1234) == 123.4
    assert fp2_from_word(0x4000 | 1234) == 12.34
    assert fp2_from_word(0x6000 | 1234) == 1.234
    assert fp2_from_word(0x8000 | 0x6000 | 1) == -0.001
    assert fp2_from_word(0x1FFE) == 8190  # beyond what the encoder writes, but decodable


@pytest.mark.parametrize(
    ("value", "word"),
    [
        (7.999, 0x6000 | 7999),
        (7.9996, 0x6000 | 8000),  # rounds up within 3 decimals: 13-bit mantissa holds it
        (8.0, 0x4000 | 800),
        (79.99, 0x4000 | 7999),
        (80.0, 0x2000 | 800),
        (799.9, 0x2000 | 7999),
        (800.0, 800),
        (7998.6, 7999),
        (7999.0, 7999),
        (8191.0, 7999),  # would be +INF if not clamped
        (1e9, 7999),
        (-1e9, 0x8000 | 7999),
        (-0.0001, 0x0000),  # rounds to zero and loses its sign
        (0.0, 0x0000),
        (0.0005, 0x6000 | 1),  # half rounds away from zero, as the logger does
    ],
)
def test_fp2_encoder_rules(value: float, word: int) -> None:
    assert fp2_to_word(value) == word


def _fp2_resolution(magnitude: float) -> float:
    """§10: |v| < 8 keeps 3 decimals, < 80 two, < 800 one, otherwise none."""
    for limit, step in ((8, 0.001), (80, 0.01), (800, 0.1)):
        if magnitude < limit:
            return step
    return 1.0


def test_fp2_every_word_reencodes_within_the_resolution_or_the_clamp() -> None:
    specials = {0x9FFE, 0x1FFF, 0x9FFF}
    for word, value in enumerate(FP2_TABLE):
        if word in specials:
            continue
        again = fp2_to_word(value)
        assert again not in specials
        target = math.copysign(min(abs(value), 7999.0), value)
        error = abs(FP2_TABLE[again] - target)
        assert error <= _fp2_resolution(abs(target)) / 2 + 1e-9, hex(word)
        assert fp2_to_word(FP2_TABLE[again]) == again  # canonical words are fixed points


def test_fp2_table_is_complete() -> None:
    assert len(FP2_TABLE) == 65536
    assert all(isinstance(v, float) for v in FP2_TABLE[::4099])


# --- FP3, FP4, FS4 ------------------------------------------------------------------------


def test_fp3_layout_and_specials() -> None:
    # sign bit 23, decimals bits 22..20, 20-bit mantissa
    assert decode_value(DataType.FP3, bytes.fromhex("1004D2"))[0] == 123.4
    assert decode_value(DataType.FP3, bytes.fromhex("F004D2"))[0] == -0.0001234
    assert decode_value(DataType.FP3, bytes.fromhex("0FFFFD"))[0] == 1048573
    assert math.isnan(decode_value(DataType.FP3, bytes.fromhex("8FFFFE"))[0])  # type: ignore[arg-type]
    assert decode_value(DataType.FP3, bytes.fromhex("0FFFFF"))[0] == math.inf
    assert decode_value(DataType.FP3, bytes.fromhex("8FFFFF"))[0] == -math.inf


def _fp4_as_ieee(word: int) -> float:
    """§10: the IEEE-single bit pattern equivalent to a normalised FP4 word."""
    bits = (((word >> 1) & 0x3F800000) + 0x1F000000) | (word & 0x807FFFFF)
    return float(struct.unpack(">f", bits.to_bytes(4, "big"))[0])


@given(
    sign=st.integers(0, 1),
    exponent=st.integers(0, 127),
    fraction=st.integers(0x800000, 0xFFFFFF),
)
def test_fp4_matches_the_ieee_equivalence(sign: int, exponent: int, fraction: int) -> None:
    word = (sign << 31) | (exponent << 24) | fraction
    if word in (0x7FFFFFFF, 0xFFFFFFFF):
        return
    value, end = decode_value(DataType.FP4, word.to_bytes(4, "big"))
    assert end == 4
    assert value == _fp4_as_ieee(word)


def test_fp4_specials_and_examples() -> None:
    assert decode_value(DataType.FP4, bytes(4))[0] == 0.0
    assert decode_value(DataType.FP4, bytes.fromhex("7FFFFFFF"))[0] == math.inf
    assert decode_value(DataType.FP4, bytes.fromhex("FFFFFFFF"))[0] == -math.inf
    # 1.0 = 0.5 * 2**1: exponent 64 + 1, fraction 0x800000
    assert decode_value(DataType.FP4, bytes.fromhex("41800000"))[0] == 1.0
    assert encode_value(DataType.FP4, 1.0) == bytes.fromhex("41800000")
    assert encode_value(DataType.FP4, -1.0) == bytes.fromhex("C1800000")
    assert encode_value(DataType.FP4, math.inf) == bytes.fromhex("7FFFFFFF")
    assert encode_value(DataType.FP4, 1e30) == bytes.fromhex("7FFFFFFF")  # overflow
    with pytest.raises(ValueError):
        encode_value(DataType.FP4, math.nan)


def test_fp4_largest_finite_value_does_not_become_infinity() -> None:
    largest = math.ldexp(0xFFFFFF, 127 - 64 - 24)  # the +INF bit pattern read as a number
    word = int.from_bytes(encode_value(DataType.FP4, largest), "big")
    assert word == 0x7FFFFFFE


def test_fs4_layout() -> None:
    # mantissa 0x12345 = 74565: w2 bit 8 = 1, w1 low byte 0x23, w2 low byte 0x45;
    # 5 decimals = w1 bits 9..8 = 0b10 (4) + w1 bit 15 (1); negative via w1 bit 14.
    raw = bytes.fromhex("C223 0145")
    assert decode_value(DataType.FS4, raw)[0] == -0.74565
    assert encode_value(DataType.FS4, -0.74565) == raw


# --- integers and booleans ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "raw", "value"),
    [
        (DataType.BYTE, "FF", 255),
        (DataType.UINT2, "1234", 0x1234),
        (DataType.UINT4, "FFFFFFFE", 0xFFFFFFFE),
        (DataType.INT1, "FF", -1),
        (DataType.INT2, "8000", -32768),
        (DataType.INT4, "FFFFFFFE", -2),
        (DataType.INT2_LSF, "FEFF", -2),
        (DataType.INT4_LSF, "78563412", 0x12345678),
        (DataType.UINT2_LSF, "3412", 0x1234),
        (DataType.UINT4_LSF, "FEFFFFFF", 0xFFFFFFFE),
        (DataType.BOOL8, "A5", 0xA5),
        (DataType.IEEE4, "BDCCCCCD", struct.unpack(">f", bytes.fromhex("BDCCCCCD"))[0]),
        (DataType.IEEE4_LSF, "CDCCCCBD", struct.unpack(">f", bytes.fromhex("BDCCCCCD"))[0]),
        (DataType.IEEE8, "3FF8000000000000", 1.5),
        (DataType.IEEE8_LSF, "000000000000F83F", 1.5),
    ],
)
def test_integer_and_ieee_byte_orders(code: int, raw: str, value: object) -> None:
    data = bytes.fromhex(raw)
    assert decode_value(code, data) == (value, len(data))
    assert encode_value(code, value) == data


@pytest.mark.parametrize(
    ("code", "size"), [(DataType.BOOL, 1), (DataType.BOOL2, 2), (DataType.BOOL4, 4)]
)
def test_booleans(code: int, size: int) -> None:
    assert decode_value(code, bytes(size)) == (False, size)
    for byte in (0x01, 0x80, 0xFF):
        raw = bytes(size - 1) + bytes([byte])
        assert decode_value(code, raw) == (True, size)
        assert decode_value(code, bytes([byte]) + bytes(size - 1)) == (True, size)
    assert encode_value(code, True) == b"\xff" * size  # Campbell writes all ones
    assert encode_value(code, False) == bytes(size)


@pytest.mark.parametrize(
    ("code", "bad"),
    [
        (DataType.BYTE, 256),
        (DataType.BYTE, -1),
        (DataType.INT1, 128),
        (DataType.INT2, -32769),
        (DataType.UINT2_LSF, 65536),
        (DataType.UINT4, 2**32),
        (DataType.INT4_LSF, 2**31),
        (DataType.INT2, 1.5),
        (DataType.INT2, "1"),
        (DataType.IEEE4, 1e39),
        (DataType.IEEE4, "x"),
        (DataType.FP2, None),
    ],
)
def test_unencodable_values_are_value_errors(code: int, bad: object) -> None:
    with pytest.raises(ValueError):
        encode_value(code, bad)


# --- times --------------------------------------------------------------------------------


def test_epoch_v22() -> None:
    """V22 (weatherd NSecTests): 2022-09-07 20:47:23 <-> NSec (1 031 431 643, 0)."""
    when = dt.datetime(2022, 9, 7, 20, 47, 23)
    assert datetime_to_nsec(when) == NSec(1_031_431_643, 0)
    assert nsec_to_datetime(NSec(1_031_431_643, 0)) == when
    raw = encode_value(DataType.NSEC, when)
    assert raw == (1_031_431_643).to_bytes(4, "big") + bytes(4)
    assert decode_value(DataType.NSEC, raw) == (when, 8)
    assert dt.datetime(1990, 1, 1) == EPOCH


def test_v13_time_of_rec() -> None:
    """V13: TimeOfRec (712158000, 0) is 2012-07-26 13:40:00."""
    raw = bytes.fromhex("2A72AB30 00000000")
    assert decode_value(DataType.NSEC, raw)[0] == dt.datetime(2012, 7, 26, 13, 40)


def test_time_types() -> None:
    when = dt.datetime(2012, 7, 26, 13, 40, 0, 123450)
    secs = 712_158_000
    assert encode_value(DataType.SEC, when) == secs.to_bytes(4, "big")
    assert decode_value(DataType.SEC, secs.to_bytes(4, "big"))[0] == when.replace(microsecond=0)
    # USec counts 10-µs units (UNCERTAIN in the manual; CSI's reading)
    ticks = secs * 100_000 + 12_345
    assert encode_value(DataType.USEC, when) == ticks.to_bytes(6, "big")
    assert decode_value(DataType.USEC, ticks.to_bytes(6, "big"))[0] == when
    nsec_le = secs.to_bytes(4, "little") + (123_450_000).to_bytes(4, "little")
    assert encode_value(DataType.NSEC_LSF, when) == nsec_le
    assert decode_value(DataType.NSEC_LSF, nsec_le)[0] == when
    assert encode_value(DataType.NSEC, NSec(5, 999_999_999)) == bytes.fromhex("00000005 3B9AC9FF")


def test_impossible_nanoseconds_are_ignored() -> None:
    """V16.2: a CR200 example carries nanoseconds 3 355 443 200 (> 10**9)."""
    raw = bytes.fromhex("1BFA2A61 C8000000")
    assert decode_value(DataType.NSEC, raw)[0] == dt.datetime(2004, 11, 15, 15, 14, 41)


def test_time_encoding_errors() -> None:
    with pytest.raises(ValueError):
        datetime_to_nsec(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(ValueError):
        encode_value(DataType.SEC, dt.datetime(1989, 12, 31))  # Sec is unsigned
    with pytest.raises(ValueError):
        encode_value(DataType.NSEC, dt.datetime(2100, 1, 1))  # beyond Int4 seconds
    with pytest.raises(ValueError):
        encode_value(DataType.NSEC, 12.0)


# --- strings ------------------------------------------------------------------------------


def test_ascii() -> None:
    assert decode_value(DataType.ASCII, b"CR1000\x00\x00", length=8) == ("CR1000", 8)
    assert decode_value(DataType.ASCII, b"abc\x00xyz", length=7)[0] == "abc"
    assert decode_value(DataType.ASCII, b"full", length=4)[0] == "full"
    assert decode_value(DataType.ASCII, b"pad  ", length=5)[0] == "pad  "
    assert decode_value(DataType.ASCII, b"\xe9t\xe9\x00", length=4)[0] == "été"  # Latin-1
    assert encode_value(DataType.ASCII, "été", length=5) == b"\xe9t\xe9\x00\x00"
    assert encode_value(DataType.ASCII, "full", length=4) == b"full"
    for bad in ("toolong", "a\x00b", "€"):
        with pytest.raises(ValueError):
            encode_value(DataType.ASCII, bad, length=4)
    with pytest.raises(ValueError):
        encode_value(DataType.ASCII, "x")
    with pytest.raises(ValueError):
        decode_value(DataType.ASCII, b"x")
    with pytest.raises(ProtocolError):
        decode_value(DataType.ASCII, b"abc", length=4)


def test_asciiz() -> None:
    assert decode_value(DataType.ASCIIZ, b"xxCPU:\x00yy", 2) == ("CPU:", 7)
    assert decode_value(DataType.ASCIIZ, b"\x00") == ("", 1)
    assert encode_value(DataType.ASCIIZ, "CPU:") == b"CPU:\x00"
    with pytest.raises(ProtocolError):
        decode_value(DataType.ASCIIZ, b"no terminator")
    with pytest.raises(ValueError):
        encode_value(DataType.ASCIIZ, "a\x00b")


def test_decode_values() -> None:
    raw = bytes.fromhex("4551 1390 09CA")
    assert decode_values(DataType.FP2, raw, 3) == ((13.61, 5008.0, 2506.0), 6)
    assert decode_values(DataType.FP2, raw, 2, 2) == ((5008.0, 2506.0), 6)
    assert decode_values(DataType.ASCII, b"ab\x00cd\x00", 2, length=3) == (("ab", "cd"), 6)
    with pytest.raises(ProtocolError):
        decode_values(DataType.FP2, raw, 4)


# --- properties ---------------------------------------------------------------------------

_FIXED = [code for code, _, _ in SECTION_10]
_TIME = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2057, 12, 31))


def _values_for(code: int) -> st.SearchStrategy[object]:
    ints = {
        1: (0, 255),
        2: (0, 65535),
        3: (0, 2**32 - 1),
        4: (-128, 127),
        5: (-(2**15), 2**15 - 1),
        6: (-(2**31), 2**31 - 1),
        17: (0, 255),
        19: (-(2**15), 2**15 - 1),
        20: (-(2**31), 2**31 - 1),
        21: (0, 65535),
        22: (0, 2**32 - 1),
    }
    if code in ints:
        return st.integers(*ints[code])
    if code in (10, 27, 28):
        return st.booleans()
    if code == 7:  # every value FP2 can hold, in its canonical form
        return st.integers(0, 65535).map(lambda w: FP2_TABLE[fp2_to_word(FP2_TABLE[w])])
    if code in (9, 24):
        return st.floats(width=32, allow_nan=False)
    if code in (18, 25):
        return st.floats(allow_nan=False)
    if code == 8:
        return st.floats(width=32, allow_nan=False, allow_infinity=False).filter(
            lambda f: f == 0 or 2**-60 < abs(f) < 2**60
        )
    if code == 15:
        return st.integers(0, 999_999).map(lambda m: m / 1000)
    if code == 26:
        return st.integers(-99_999, 99_999).map(lambda m: m / 100)
    if code == 12:
        return _TIME.map(lambda d: d.replace(microsecond=0))
    if code == 13:
        return _TIME.map(lambda d: d.replace(microsecond=d.microsecond // 10 * 10))
    return _TIME


@st.composite
def _code_and_value(draw: st.DrawFn) -> tuple[int, object]:
    code = draw(st.sampled_from(_FIXED))
    return code, draw(_values_for(code))


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b and type(a) is type(b)


@given(_code_and_value())
def test_every_fixed_type_round_trips(code_value: tuple[int, object]) -> None:
    code, value = code_value
    raw = encode_value(code, value)
    assert len(raw) == type_size(code)
    decoded, end = decode_value(code, b"\xaa" + raw + b"\x55", 1)
    assert end == 1 + len(raw)
    assert _same(decoded, value), (code, value, decoded)


@given(st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=40))
def test_strings_round_trip(text: str) -> None:
    raw = encode_value(DataType.ASCIIZ, text)
    assert decode_value(DataType.ASCIIZ, raw) == (text, len(raw))
    raw = encode_value(DataType.ASCII, text, length=40)
    assert decode_value(DataType.ASCII, raw, length=40) == (text, 40)


@given(st.sampled_from([*_FIXED, 11, 16]), st.binary(max_size=10), st.integers(0, 12))
def test_decoders_only_raise_protocol_errors(code: int, data: bytes, offset: int) -> None:
    with contextlib.suppress(ProtocolError):
        decode_value(code, data, offset, length=3)


@given(st.sampled_from(_FIXED), st.data())
def test_truncated_values_are_protocol_errors(code: int, data: st.DataObject) -> None:
    size = type_size(code)
    assert size is not None
    raw = data.draw(st.binary(min_size=0, max_size=size - 1))
    with pytest.raises(ProtocolError):
        decode_value(code, raw)
