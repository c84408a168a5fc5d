"""Reading and writing a logger's variables by name, in whatever wire type the client asks.

Get Values and Set Values name a variable (``Temp``, ``WS_ms(2)``), a data type and a
swath of consecutive elements (pakbus.md §9.1); the logger converts between the
variable's own type and the requested one.  These helpers do that conversion and
the shaping of values to a field definition, so :mod:`fieldlink.pakbus.emulator.station`
only has to find the variable.  Numbers convert freely among the numeric types
(rounded and clamped into integer ranges; true reads as -1, or all ones when
unsigned, as in CRBasic); strings only to and from ASCII/ASCIIZ; times only to time
types.  Anything else is RespCode 0x11; a swath past the end of the variable 0x12.
"""

from __future__ import annotations

import datetime as dt
import math

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.emulator.values import quantize
from fieldlink.pakbus.protocol.codes import Bmp5ResponseCode
from fieldlink.pakbus.protocol.model import FieldDef, Scalar, Value
from fieldlink.pakbus.protocol.types import DataType, decode_values, encode_value, nsec_to_datetime
from fieldlink.pakbus.protocol.wire import NSec

__all__ = ["conform", "convert", "decode_assignment", "encode_values", "shape"]

R = Bmp5ResponseCode
_NSEC = DataType.NSEC
_NUMERIC_INT: dict[int, tuple[int, int]] = {
    DataType.BYTE: (0, 255),
    DataType.UINT2: (0, 65_535),
    DataType.UINT4: (0, 2**32 - 1),
    DataType.INT1: (-128, 127),
    DataType.INT2: (-32_768, 32_767),
    DataType.INT4: (-(2**31), 2**31 - 1),
    DataType.INT2_LSF: (-32_768, 32_767),
    DataType.INT4_LSF: (-(2**31), 2**31 - 1),
    DataType.UINT2_LSF: (0, 65_535),
    DataType.UINT4_LSF: (0, 2**32 - 1),
    DataType.BOOL8: (0, 255),
}
_NUMERIC_FLOAT = frozenset(
    {
        DataType.FP2,
        DataType.FP3,
        DataType.FP4,
        DataType.IEEE4,
        DataType.IEEE8,
        DataType.IEEE4_LSF,
        DataType.IEEE8_LSF,
    }
)
_BOOLS = frozenset({DataType.BOOL, DataType.BOOL2, DataType.BOOL4})
_STRINGS = frozenset({DataType.ASCII, DataType.ASCIIZ})


def shape(values: list[Scalar], count: int) -> Value:
    """A field's value: a tuple for several elements, else the one scalar."""
    return tuple(values) if count > 1 else values[0]


def _default(code: int) -> Scalar:
    if code in _STRINGS:
        return ""
    if code in _BOOLS:
        return False
    if code in _NUMERIC_FLOAT:
        return 0.0
    if code == _NSEC:
        return nsec_to_datetime(NSec())
    return 0


def conform(f: FieldDef, raw: object) -> Value:
    """``raw`` shaped and quantized to field ``f`` (defaults fill what is missing)."""
    count = f.value_count
    items = list(raw) if isinstance(raw, tuple | list) else ([] if raw is None else [raw])
    items = (items + [_default(f.type_code)] * count)[:count]
    length = f.piece_size // count if f.type_code == DataType.ASCII else None
    out: list[Scalar] = []
    for item in items:
        if f.type_code == DataType.ASCII and isinstance(item, str) and length is not None:
            item = item[:length]
        out.append(quantize(f.type_code, item, length))  # type: ignore[arg-type]
    return shape(out, count)


def encode_values(
    fdef: FieldDef, index: int, current: list[Scalar], type_code: int, swath: int
) -> tuple[int, bytes]:
    if fdef.is_string:
        text = str(current[index]) if index < len(current) else ""
        if type_code == DataType.ASCIIZ:
            return R.OK, encode_value(DataType.ASCIIZ, text)
        if type_code == DataType.ASCII:
            width = max(1, swath)
            return R.OK, encode_value(DataType.ASCII, text[:width], length=width)
        return R.CONVERSION_NOT_SUPPORTED, b""
    if swath < 1 or index + swath > len(current):
        return R.MEMORY_BOUNDS_VIOLATION, b""
    out = []
    for value in current[index : index + swath]:
        converted = convert(value, type_code)
        if converted is None:
            return R.CONVERSION_NOT_SUPPORTED, b""
        out.append(encode_value(type_code, converted))
    return R.OK, b"".join(out)


def convert(value: Scalar, type_code: int) -> Scalar | None:
    """``value`` as a value of wire type ``type_code``, or None if that cannot be."""
    if isinstance(value, dt.datetime):
        return value if type_code in (_NSEC, DataType.SEC, DataType.NSEC_LSF) else None
    if isinstance(value, str):
        return None
    number = -1.0 if value is True else float(value)
    if type_code in _BOOLS:
        return bool(number) if not math.isnan(number) else None
    if type_code in _NUMERIC_FLOAT:
        return number
    limits = _NUMERIC_INT.get(type_code)
    if limits is None or math.isnan(number) or math.isinf(number):
        return None
    lo, hi = limits
    if value is True and lo == 0:
        return hi
    return max(lo, min(hi, round(number)))


def decode_assignment(
    fdef: FieldDef, index: int, current: list[Scalar], type_code: int, swath: int, data: bytes
) -> tuple[int, list[Scalar]]:
    new = list(current)
    if fdef.is_string:
        if type_code not in _STRINGS:
            return R.CONVERSION_NOT_SUPPORTED, new
        text = data.split(b"\x00", 1)[0].decode("latin-1")
        if type_code == DataType.ASCII:
            text = data[: max(0, swath)].split(b"\x00", 1)[0].decode("latin-1")
        length = fdef.piece_size // fdef.value_count
        new[index] = conform_scalar(fdef.type_code, text[:length], length)
        return R.OK, new
    if type_code in _STRINGS or swath < 1 or index + swath > len(current):
        return (
            R.CONVERSION_NOT_SUPPORTED if type_code in _STRINGS else R.MEMORY_BOUNDS_VIOLATION
        ), new
    try:
        values, _ = decode_values(type_code, data, swath)
    except (ProtocolError, ValueError):  # short or undecodable data from the client
        return R.MEMORY_BOUNDS_VIOLATION, new
    for i, value in enumerate(values):
        converted = convert(value, fdef.type_code)  # type: ignore[arg-type]
        if converted is None:
            return R.CONVERSION_NOT_SUPPORTED, list(current)
        new[index + i] = conform_scalar(fdef.type_code, converted)
    return R.OK, new


def conform_scalar(code: int, value: Scalar, length: int | None = None) -> Scalar:
    return quantize(code, value, length)
