"""PakBus data types (BMP5 App. A, reference §10): codes, sizes, and value codecs.

Every value a logger sends — record fields, table-definition times, Get/Set Values
payloads — is one of these 28 types.  The decoders here are the single source of
truth for their bit layouts; :mod:`fieldlink.pakbus.protocol.records` compiles the same
knowledge into ``struct`` formats for speed and borrows the slower converters
(FP2 lookup table, FP4, times, strings) from this module.

Conventions:

- Bad *bytes* (too short, no NUL terminator) raise :class:`~fieldlink.errors.ProtocolError`.
- A value that *cannot be encoded* (out of range, wrong kind) raises ``ValueError``: that
  is a programmer error on our side, not something a device sent.  FP2 is the exception:
  it clamps to ±7999 exactly as the logger does.
- Times decode to naive :class:`datetime.datetime` in logger-local time (loggers know no
  time zone); sub-microsecond nanoseconds are truncated.  Encoders accept a naive
  ``datetime`` or an :class:`~fieldlink.pakbus.protocol.wire.NSec`.
- Strings are Latin-1: loggers send 8-bit bytes, never UTF-8.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.protocol.wire import NSec

__all__ = [
    "EPOCH",
    "FP2_TABLE",
    "STAMP_PLAN",
    "TIME_TYPES",
    "DataType",
    "datetime_to_nsec",
    "decode_value",
    "decode_values",
    "encode_value",
    "fp2_from_word",
    "fp2_to_word",
    "nsec_to_datetime",
    "type_size",
]


class DataType(IntEnum):
    """Wire data type codes (BMP5 App. A; CSI ``CsiLgrTypeCode``)."""

    BYTE = 1
    UINT2 = 2
    UINT4 = 3
    INT1 = 4
    INT2 = 5
    INT4 = 6
    FP2 = 7
    FP4 = 8
    IEEE4 = 9
    BOOL = 10
    ASCII = 11
    SEC = 12
    USEC = 13
    NSEC = 14
    FP3 = 15
    ASCIIZ = 16
    BOOL8 = 17
    IEEE8 = 18
    INT2_LSF = 19
    INT4_LSF = 20
    UINT2_LSF = 21
    UINT4_LSF = 22
    NSEC_LSF = 23
    IEEE4_LSF = 24
    IEEE8_LSF = 25
    FS4 = 26
    BOOL2 = 27
    BOOL4 = 28


#: The types a table may use for its record time stamps (TimeType in the ``.TDF``).
TIME_TYPES = frozenset({DataType.SEC, DataType.USEC, DataType.NSEC, DataType.NSEC_LSF})

#: Bytes per element.  ASCII counts one byte per character (a field's PieceSize is its
#: length); ASCIIZ has no fixed size.
_SIZES: dict[int, int | None] = {
    DataType.BYTE: 1,
    DataType.UINT2: 2,
    DataType.UINT4: 4,
    DataType.INT1: 1,
    DataType.INT2: 2,
    DataType.INT4: 4,
    DataType.FP2: 2,
    DataType.FP4: 4,
    DataType.IEEE4: 4,
    DataType.BOOL: 1,
    DataType.ASCII: 1,
    DataType.SEC: 4,
    DataType.USEC: 6,
    DataType.NSEC: 8,
    DataType.FP3: 3,
    DataType.ASCIIZ: None,
    DataType.BOOL8: 1,
    DataType.IEEE8: 8,
    DataType.INT2_LSF: 2,
    DataType.INT4_LSF: 4,
    DataType.UINT2_LSF: 2,
    DataType.UINT4_LSF: 4,
    DataType.NSEC_LSF: 8,
    DataType.IEEE4_LSF: 4,
    DataType.IEEE8_LSF: 8,
    DataType.FS4: 4,
    DataType.BOOL2: 2,
    DataType.BOOL4: 4,
}


def type_size(code: int) -> int | None:
    """Bytes per element of type ``code`` (1 per character for ASCII, None for ASCIIZ).

    An unknown code is a device we do not understand, hence ProtocolError.
    """
    try:
        return _SIZES[code]
    except KeyError:
        raise ProtocolError(f"unknown PakBus data type code {code}") from None


def _type(code: int) -> DataType:
    try:
        return DataType(code)
    except ValueError:
        raise ProtocolError(f"unknown PakBus data type code {code}") from None


# --- time ---------------------------------------------------------------------------------

#: The PakBus epoch, 1990-01-01 00:00:00 logger-local (Unix 631 152 000).
EPOCH = dt.datetime(1990, 1, 1)
_NS_PER_S = 1_000_000_000


def _stamp(seconds: int, nanoseconds: int) -> dt.datetime:
    """The datetime of (seconds, nanoseconds) since 1990, without building an NSec.

    An impossible nanosecond part (>= 10**9 or negative, seen in the manual's CR200
    example, vectors V16.2) is ignored rather than carried into the seconds: the
    seconds are trustworthy, the fraction is garbage.
    """
    micros = nanoseconds // 1000 if 0 <= nanoseconds < _NS_PER_S else 0
    try:
        return EPOCH + dt.timedelta(0, seconds, micros)
    except OverflowError:
        raise ProtocolError(f"time stamp {seconds} s since 1990 is out of range") from None


def nsec_to_datetime(t: NSec) -> dt.datetime:
    """Logger-local naive datetime of an NSec (nanoseconds truncated to microseconds).

    Impossible nanoseconds (>= 10**9, V16.2) are ignored, see :func:`_stamp`.
    """
    return _stamp(t.seconds, t.nanoseconds)


def datetime_to_nsec(value: dt.datetime) -> NSec:
    """NSec of a naive logger-local datetime.

    An aware datetime is refused (ValueError): loggers keep local time with no zone, so
    silently dropping or converting the zone would shift every record.
    """
    if value.tzinfo is not None:
        raise ValueError("PakBus times are logger-local: pass a naive datetime")
    delta = value - EPOCH
    return NSec(delta.days * 86_400 + delta.seconds, delta.microseconds * 1000)


def _as_nsec(value: object) -> NSec:
    if isinstance(value, NSec):
        return value
    if isinstance(value, dt.datetime):
        return datetime_to_nsec(value)
    raise ValueError(f"a time must be a datetime or NSec, not {type(value).__name__}")


# --- FP2 ----------------------------------------------------------------------------------

#: Powers of ten for the decimal float formats (up to the 7 decimals of FP3/FS4).
_POW10 = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)


@dataclass(frozen=True, slots=True)
class _Specials:
    """The words a decimal float format (FP2, FP3) keeps for NaN and the infinities."""

    nan: int
    pos_inf: int
    neg_inf: int

    def value(self, word: int) -> float | None:
        """NaN or an infinity for a special word, None for an ordinary number."""
        if word == self.nan:
            return math.nan
        if word == self.pos_inf:
            return math.inf
        if word == self.neg_inf:
            return -math.inf
        return None

    def word(self, value: float) -> int | None:
        """The special word of NaN or an infinity, None for a finite value."""
        if math.isnan(value):
            return self.nan
        if math.isinf(value):
            return self.pos_inf if value > 0 else self.neg_inf
        return None


def _most_decimals(magnitude: float, max_mantissa: int) -> tuple[int, int]:
    """(decimals, mantissa) keeping the most of up to 7 decimals that fit ``max_mantissa``;
    0 decimals, clamped, for a magnitude too large for any."""
    for d in range(7, 0, -1):
        m = math.floor(magnitude * _POW10[d] + 0.5)
        if m <= max_mantissa:
            return d, m
    return 0, min(math.floor(magnitude + 0.5), max_mantissa)


_FP2 = _Specials(nan=0x9FFE, pos_inf=0x1FFF, neg_inf=0x9FFF)


def _fp2_value(word: int) -> float:
    special = _FP2.value(word)
    if special is not None:
        return special
    mantissa = word & 0x1FFF
    value = mantissa / _POW10[(word >> 13) & 0x3]
    return -value if word & 0x8000 else value


def _fp2_values() -> tuple[float, ...]:
    """:func:`_fp2_value` of every word, built in bulk: start-up pays for this table on
    every command, and 65 536 calls cost ~10x these comprehensions (the same floats:
    ``m / 10**d`` either way, and negation is exact)."""
    positive = [m / p for p in _POW10[:4] for m in range(0x2000)]  # bits 14..13, 12..0
    table = positive + [-v for v in positive]  # bit 15
    table[_FP2.nan], table[_FP2.pos_inf], table[_FP2.neg_inf] = math.nan, math.inf, -math.inf
    return tuple(table)


#: FP2 word -> float for all 65 536 words; records decode FP2 by indexing this.
FP2_TABLE: tuple[float, ...] = _fp2_values()
#: The same table as a list, private: ``list.__getitem__`` is a fast C method when mapped
#: over thousands of items, ``tuple.__getitem__`` a slow slot wrapper (about 3x slower).
_FP2_LIST = list(FP2_TABLE)


def fp2_from_word(word: int) -> float:
    """The value of one FP2 word (bit 15 sign, bits 14..13 decimals, 13-bit mantissa)."""
    return FP2_TABLE[word]


def fp2_to_word(value: float) -> int:
    """The FP2 word the logger would store for ``value``.

    Campbell's rule: |v| < 8 -> 3 decimals, < 80 -> 2, < 800 -> 1, otherwise 0 decimals
    and magnitudes of 7999 or more clamp to 7999.  The mantissa therefore never exceeds
    8000, so a finite value can never produce one of the special words (0x1FFF, 0x9FFF,
    0x9FFE), and a value that rounds to zero loses its sign.
    """
    special = _FP2.word(value)
    if special is not None:
        return special
    magnitude = abs(value)
    if magnitude < 8:
        decimals = 3
    elif magnitude < 80:
        decimals = 2
    elif magnitude < 800:
        decimals = 1
    else:
        decimals = 0
        magnitude = min(magnitude, 7999.0)
    mantissa = math.floor(magnitude * _POW10[decimals] + 0.5)
    if mantissa == 0:
        return 0
    sign = 0x8000 if value < 0 else 0
    return sign | (decimals << 13) | mantissa


# --- FP3 ----------------------------------------------------------------------------------

_FP3 = _Specials(nan=0x8FFFFE, pos_inf=0x0FFFFF, neg_inf=0x8FFFFF)
_FP3_MAX_MANTISSA = 0xFFFFD  # stay clear of the special patterns


def _fp3_from_word(word: int) -> float:
    """FP3: bit 23 sign, bits 22..20 decimals, 20-bit mantissa.

    UNCERTAIN: CSI's decoder has no specials; jPakBus reads 0x8FFFFE/0x0FFFFF/0x8FFFFF as
    NaN/+INF/-INF, mirroring FP2.  We follow jPakBus (the patterns are the FP2 specials
    widened), so those three words never decode as ordinary numbers.
    """
    special = _FP3.value(word)
    if special is not None:
        return special
    value = (word & 0xFFFFF) / _POW10[(word >> 20) & 0x7]
    return -value if word & 0x800000 else value


def _fp3_to_word(value: float) -> int:
    """Our own encoder (no device rule is documented): most decimals that fit, clamped."""
    special = _FP3.word(value)
    if special is not None:
        return special
    decimals, mantissa = _most_decimals(abs(value), _FP3_MAX_MANTISSA)
    if mantissa == 0:
        return 0
    return (0x800000 if value < 0 else 0) | (decimals << 20) | mantissa


# --- FP4 (CSI 4-byte binary float) --------------------------------------------------------

_FP4_POS_INF = 0x7FFFFFFF
_FP4_NEG_INF = 0xFFFFFFFF


def _fp4_from_word(word: int) -> float:
    """Sign bit 31, excess-64 exponent in bits 30..24, 24-bit fraction with explicit 1."""
    if word == _FP4_POS_INF:
        return math.inf
    if word == _FP4_NEG_INF:
        return -math.inf
    value = math.ldexp(word & 0xFFFFFF, ((word >> 24) & 0x7F) - 64 - 24)
    return -value if word & 0x80000000 else value


def _fp4_to_word(value: float) -> int:
    """Round to 24 fraction bits; overflow becomes ±INF, underflow 0.  NaN has no FP4 form."""
    if math.isnan(value):
        raise ValueError("FP4 cannot represent NaN")
    sign = 0x80000000 if math.copysign(1.0, value) < 0 else 0
    if math.isinf(value):
        return _FP4_NEG_INF if sign else _FP4_POS_INF
    if value == 0:
        return sign
    fraction, exponent = math.frexp(abs(value))  # abs(value) = fraction * 2**exponent
    mantissa = math.floor(fraction * (1 << 24) + 0.5)
    if mantissa == 1 << 24:
        mantissa, exponent = 1 << 23, exponent + 1
    biased = exponent + 64
    if biased > 0x7F:
        return _FP4_NEG_INF if sign else _FP4_POS_INF
    if biased < 0:
        return sign
    word = sign | (biased << 24) | mantissa
    if word in (_FP4_POS_INF, _FP4_NEG_INF):  # the largest finite value, one ulp short
        word -= 1
    return word


# --- FS4 (CR10X high-resolution final storage) --------------------------------------------

_FS4_MAX_MANTISSA = 0x1FFFF


def _fs4_from_words(w1: int, w2: int) -> float:
    """UNCERTAIN (CR10X only): 17-bit mantissa, sign in w1 bit 14, 3-bit decimal count.

    mantissa = w2 bit 8, then w1 bits 7..0, then w2 bits 7..0; decimals = w1 bits 9..8
    (as bits 2..1) plus w1 bit 15 (as bit 0).  Other bits are CR10X markers and ignored.
    """
    mantissa = ((w1 & 0xFF) | (w2 & 0x100)) << 8 | (w2 & 0xFF)
    decimals = ((w1 & 0x0300) >> 7) + (1 if w1 & 0x8000 else 0)
    value = mantissa / _POW10[decimals]
    return -value if w1 & 0x4000 else value


def _fs4_to_words(value: float) -> tuple[int, int]:
    """Our own encoder: the marker bits a CR10X sets are not documented, we leave them 0."""
    if not math.isfinite(value):
        raise ValueError("FS4 cannot represent NaN or infinity")
    decimals, mantissa = _most_decimals(abs(value), _FS4_MAX_MANTISSA)
    w1 = ((decimals & 0x1) << 15) | ((decimals >> 1) << 8) | ((mantissa >> 8) & 0xFF)
    if value < 0 and mantissa:
        w1 |= 0x4000
    w2 = ((mantissa >> 16) << 8) | (mantissa & 0xFF)
    return w1, w2


# --- strings ------------------------------------------------------------------------------


def _ascii_from_bytes(raw: bytes) -> str:
    """A fixed-length ASCII field: the text up to the first NUL (padding may be NUL or space;
    spaces are kept because they can be content)."""
    end = raw.find(b"\x00")
    return (raw if end < 0 else raw[:end]).decode("latin-1")


def _string_bytes(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"a string field needs str, not {type(value).__name__}")
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{value!r} has characters outside Latin-1") from None
    if b"\x00" in raw:
        raise ValueError("a PakBus string cannot contain NUL")
    return raw


def _ascii_to_bytes(value: object, length: int) -> bytes:
    raw = _string_bytes(value)
    if len(raw) > length:
        raise ValueError(f"{value!r} is longer than the field's {length} characters")
    return raw.ljust(length, b"\x00")


# --- time stamps --------------------------------------------------------------------------

_USEC_UNIT = dt.timedelta(microseconds=10)


def _sec_to_datetime(seconds: int) -> dt.datetime:
    return _stamp(seconds, 0)


def _usec_to_datetime(raw: bytes) -> dt.datetime:
    """USec: unsigned 48-bit count of 10-µs units.

    UNCERTAIN: the manual says "10's of milliseconds"; CSI's code multiplies by 10 000 ns,
    so we read 10 µs.
    """
    ticks = int.from_bytes(raw, "big")
    try:
        return EPOCH + ticks * _USEC_UNIT
    except OverflowError:
        raise ProtocolError(f"USec time stamp {ticks} is out of range") from None


_NSEC_BE = struct.Struct(">iI")
_NSEC_LE = struct.Struct("<iI")


def _nsec_reader(fmt: struct.Struct) -> Callable[[bytes], dt.datetime]:
    """Decoder of an NSec in the byte order of ``fmt``."""
    unpack = fmt.unpack

    def decode(raw: bytes) -> dt.datetime:
        return _stamp(*unpack(raw))

    return decode


def _sec_stamp(seconds: int) -> dt.datetime:
    return _stamp(seconds, 0)


#: Time-stamp types: (struct format with byte order, function of the unpacked items).  The
#: record decoders use this to read a stamp with one unpack and one call.
STAMP_PLAN: dict[int, tuple[str, Callable[..., dt.datetime]]] = {
    DataType.SEC: (">I", _sec_stamp),
    DataType.USEC: (">6s", _usec_to_datetime),
    DataType.NSEC: (">iI", _stamp),
    DataType.NSEC_LSF: ("<iI", _stamp),
}


def _checked_nsec(value: object) -> NSec:
    t = _as_nsec(value)
    if not -(2**31) <= t.seconds < 2**31 or not 0 <= t.nanoseconds < _NS_PER_S:
        raise ValueError(f"{value!r} is outside the NSec range (1922..2058)")
    return t


def _sec_item(value: object) -> int:
    t = _as_nsec(value)
    if not 0 <= t.seconds < 2**32:
        raise ValueError(f"{value!r} is outside the Sec range (1990..2126)")
    return t.seconds


def _usec_to_bytes(value: object) -> bytes:
    t = _as_nsec(value)
    ticks = t.total_ns // 10_000
    if not 0 <= ticks < 2**48:
        raise ValueError(f"{value!r} is outside the USec range")
    return ticks.to_bytes(6, "big")


# --- the per-type tables ------------------------------------------------------------------

#: Big-endian struct code of each fixed-size type as it sits in a record, and the function
#: that turns the unpacked item into our value (None: the item already is the value).  Types
#: whose layout ``struct`` cannot express (48-bit, 24-bit, little-endian inside a big-endian
#: record, NSec pairs) are unpacked as raw bytes and converted.
Converter = Callable[..., object]

_LE_I2 = struct.Struct("<h")
_LE_I4 = struct.Struct("<i")
_LE_U2 = struct.Struct("<H")
_LE_U4 = struct.Struct("<I")
_LE_F4 = struct.Struct("<f")
_LE_F8 = struct.Struct("<d")
_BE_WORDS = struct.Struct(">HH")


def _le_item(fmt: struct.Struct) -> Converter:
    """Decoder of a little-endian item, taken from the record as raw bytes."""
    unpack = fmt.unpack

    def decode(raw: bytes) -> object:
        return unpack(raw)[0]

    return decode


def _fp3_from_bytes(raw: bytes) -> float:
    return _fp3_from_word(int.from_bytes(raw, "big"))


def _fs4_from_bytes(raw: bytes) -> float:
    w1, w2 = _BE_WORDS.unpack(raw)
    return _fs4_from_words(w1, w2)


#: code -> (struct code for one element, decoder of the unpacked item or None)
DECODE_PLAN: dict[int, tuple[str, Converter | None]] = {
    DataType.BYTE: ("B", None),
    DataType.UINT2: ("H", None),
    DataType.UINT4: ("I", None),
    DataType.INT1: ("b", None),
    DataType.INT2: ("h", None),
    DataType.INT4: ("i", None),
    DataType.FP2: ("H", _FP2_LIST.__getitem__),
    DataType.FP4: ("I", _fp4_from_word),
    DataType.IEEE4: ("f", None),
    DataType.BOOL: ("B", bool),
    DataType.SEC: ("I", _sec_to_datetime),
    DataType.USEC: ("6s", _usec_to_datetime),
    DataType.NSEC: ("8s", _nsec_reader(_NSEC_BE)),
    DataType.FP3: ("3s", _fp3_from_bytes),
    DataType.BOOL8: ("B", None),
    DataType.IEEE8: ("d", None),
    DataType.INT2_LSF: ("2s", _le_item(_LE_I2)),
    DataType.INT4_LSF: ("4s", _le_item(_LE_I4)),
    DataType.UINT2_LSF: ("2s", _le_item(_LE_U2)),
    DataType.UINT4_LSF: ("4s", _le_item(_LE_U4)),
    DataType.NSEC_LSF: ("8s", _nsec_reader(_NSEC_LE)),
    DataType.IEEE4_LSF: ("4s", _le_item(_LE_F4)),
    DataType.IEEE8_LSF: ("8s", _le_item(_LE_F8)),
    DataType.FS4: ("4s", _fs4_from_bytes),
    DataType.BOOL2: ("H", bool),
    DataType.BOOL4: ("I", bool),
}


def _int_encoder(lo: int, hi: int, name: str) -> Converter:
    def encode(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} needs an int, not {type(value).__name__}")
        if not lo <= value <= hi:
            raise ValueError(f"{value} is outside the {name} range {lo}..{hi}")
        return value

    return encode


def _float_item(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a float field needs a number, not {type(value).__name__}")
    return float(value)


def _bool_encoder(true: int) -> Converter:
    def encode(value: object) -> int:
        return true if value else 0

    return encode


def _le_packer(fmt: struct.Struct, item: Converter) -> Converter:
    def encode(value: object) -> bytes:
        return fmt.pack(item(value))

    return encode


def _nsec_writer(fmt: struct.Struct) -> Converter:
    """Encoder of an NSec in the byte order of ``fmt``."""

    def encode(value: object) -> bytes:
        t = _checked_nsec(value)
        return fmt.pack(t.seconds, t.nanoseconds)

    return encode


def _fp3_bytes(value: object) -> bytes:
    return _fp3_to_word(_float_item(value)).to_bytes(3, "big")


def _fs4_bytes(value: object) -> bytes:
    return _BE_WORDS.pack(*_fs4_to_words(_float_item(value)))


def _fp2_item(value: object) -> int:
    return fp2_to_word(_float_item(value))


def _fp4_item(value: object) -> int:
    return _fp4_to_word(_float_item(value))


_int1 = _int_encoder(-(2**7), 2**7 - 1, "Int1")
_int2 = _int_encoder(-(2**15), 2**15 - 1, "Int2")
_int4 = _int_encoder(-(2**31), 2**31 - 1, "Int4")
_uint1 = _int_encoder(0, 2**8 - 1, "Byte")
_uint2 = _int_encoder(0, 2**16 - 1, "UInt2")
_uint4 = _int_encoder(0, 2**32 - 1, "UInt4")

#: code -> converter from our value to the item packed with DECODE_PLAN's struct code.
ENCODE_PLAN: dict[int, Converter] = {
    DataType.BYTE: _uint1,
    DataType.UINT2: _uint2,
    DataType.UINT4: _uint4,
    DataType.INT1: _int1,
    DataType.INT2: _int2,
    DataType.INT4: _int4,
    DataType.FP2: _fp2_item,
    DataType.FP4: _fp4_item,
    DataType.IEEE4: _float_item,
    DataType.BOOL: _bool_encoder(0xFF),
    DataType.SEC: _sec_item,
    DataType.USEC: _usec_to_bytes,
    DataType.NSEC: _nsec_writer(_NSEC_BE),
    DataType.FP3: _fp3_bytes,
    DataType.BOOL8: _uint1,
    DataType.IEEE8: _float_item,
    DataType.INT2_LSF: _le_packer(_LE_I2, _int2),
    DataType.INT4_LSF: _le_packer(_LE_I4, _int4),
    DataType.UINT2_LSF: _le_packer(_LE_U2, _uint2),
    DataType.UINT4_LSF: _le_packer(_LE_U4, _uint4),
    DataType.NSEC_LSF: _nsec_writer(_NSEC_LE),
    DataType.IEEE4_LSF: _le_packer(_LE_F4, _float_item),
    DataType.IEEE8_LSF: _le_packer(_LE_F8, _float_item),
    DataType.FS4: _fs4_bytes,
    DataType.BOOL2: _bool_encoder(0xFFFF),
    DataType.BOOL4: _bool_encoder(0xFFFFFFFF),  # UNCERTAIN: presumably -1, as CRBasic True
}

_ELEMENT_STRUCTS: dict[int, struct.Struct] = {
    code: struct.Struct(">" + fmt) for code, (fmt, _) in DECODE_PLAN.items()
}


# --- the public one-value API -------------------------------------------------------------


def decode_value(
    code: int, data: bytes, offset: int = 0, *, length: int | None = None
) -> tuple[object, int]:
    """Decode one value of type ``code`` at ``offset``; return it and the offset after it.

    ``length`` is the byte length of an ASCII value (its PieceSize) and is required for
    ASCII only.  ASCIIZ reads up to and including the NUL.
    """
    kind = _type(code)
    if offset < 0:
        raise ValueError("negative offset")
    if kind is DataType.ASCIIZ:
        end = data.find(b"\x00", offset)
        if end < 0:
            raise ProtocolError("ASCIIZ value is not NUL-terminated", offset=offset)
        return data[offset:end].decode("latin-1"), end + 1
    if kind is DataType.ASCII:
        if length is None or length < 0:
            raise ValueError("decoding ASCII needs its length")
        if offset + length > len(data):
            raise ProtocolError(
                f"data ends inside an ASCII value ({length} bytes needed)", offset=offset
            )
        return _ascii_from_bytes(data[offset : offset + length]), offset + length
    fmt = _ELEMENT_STRUCTS[kind]
    if offset + fmt.size > len(data):
        raise ProtocolError(
            f"data ends inside a {kind.name} value ({fmt.size} bytes needed)", offset=offset
        )
    (item,) = fmt.unpack_from(data, offset)
    convert = DECODE_PLAN[kind][1]
    return (item if convert is None else convert(item)), offset + fmt.size


def decode_values(
    code: int, data: bytes, count: int, offset: int = 0, *, length: int | None = None
) -> tuple[tuple[object, ...], int]:
    """Decode ``count`` consecutive values of one type; return them and the offset after."""
    out = []
    for _ in range(count):
        value, offset = decode_value(code, data, offset, length=length)
        out.append(value)
    return tuple(out), offset


def encode_value(code: int, value: object, *, length: int | None = None) -> bytes:
    """Encode one value of type ``code``.

    ``length`` is the ASCII field length in bytes (required for ASCII; shorter text is
    NUL-padded, longer text is a ValueError).  Times accept a naive datetime or NSec.
    Booleans encode True as all ones (0xFF, 0xFFFF, 0xFFFFFFFF) as Campbell does.
    """
    try:
        kind = DataType(code)
    except ValueError:
        raise ValueError(f"unknown PakBus data type code {code}") from None
    if kind is DataType.ASCIIZ:
        return _string_bytes(value) + b"\x00"
    if kind is DataType.ASCII:
        if length is None or length < 0:
            raise ValueError("encoding ASCII needs its length")
        return _ascii_to_bytes(value, length)
    item = ENCODE_PLAN[kind](value)
    try:
        return _ELEMENT_STRUCTS[kind].pack(item)
    except (struct.error, OverflowError) as exc:
        raise ValueError(f"cannot encode {value!r} as {kind.name}: {exc}") from None
