"""Reading and writing variables by name: Get and Set Values (pakbus.md §9.1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from fieldlink.errors import (
    DeviceError,
    NotFound,
    ProtocolError,
    UsageError,
)
from fieldlink.pakbus.operations.common import LEVEL_ADMIN, LEVEL_READ, LEVEL_WRITE, check_response
from fieldlink.pakbus.operations.tables import TableCatalog, table_defs
from fieldlink.pakbus.protocol import bmp5
from fieldlink.pakbus.protocol.model import FieldDef, Scalar, TableDef
from fieldlink.pakbus.protocol.types import DataType, decode_values, encode_value
from fieldlink.pakbus.session import (
    Operation,
    Request,
    expect,
)

#: One value read with Get Values: time stamps (NSec variables) come back as datetimes.
FieldValue = Scalar | dt.datetime


# --- values and table control -----------------------------------------------------------------

#: The type to ask a logger for when reading or writing a field of each type: the
#: field's own type where it is a plain big-endian one, else the nearest that is
#: ("the safest data type to request is IEEE4", §9.1).
#: What a field of each written type holds, in words (for a value that does not fit).
_PLAIN_TYPES: dict[int, str] = {
    DataType.BYTE: "whole numbers 0 to 255",
    DataType.UINT2: "whole numbers 0 to 65535",
    DataType.UINT4: "whole numbers 0 to 4294967295",
    DataType.INT1: "whole numbers -128 to 127",
    DataType.INT2: "whole numbers -32768 to 32767",
    DataType.INT4: "whole numbers -2147483648 to 2147483647",
    DataType.IEEE4: "4-byte floating-point numbers (at most about ±3.4e38)",
    DataType.IEEE8: "8-byte floating-point numbers",
    DataType.NSEC: "times from 1990 to 2058",
}

_VALUE_TYPE: dict[int, int] = {
    DataType.BYTE: DataType.BYTE,
    DataType.UINT2: DataType.UINT2,
    DataType.UINT4: DataType.UINT4,
    DataType.INT1: DataType.INT1,
    DataType.INT2: DataType.INT2,
    DataType.INT4: DataType.INT4,
    DataType.FP2: DataType.IEEE4,
    DataType.FP4: DataType.IEEE4,
    DataType.IEEE4: DataType.IEEE4,
    DataType.BOOL: DataType.BOOL,
    DataType.ASCII: DataType.ASCIIZ,
    DataType.SEC: DataType.NSEC,
    DataType.USEC: DataType.NSEC,
    DataType.NSEC: DataType.NSEC,
    DataType.FP3: DataType.IEEE4,
    DataType.ASCIIZ: DataType.ASCIIZ,
    DataType.BOOL8: DataType.BYTE,
    DataType.IEEE8: DataType.IEEE8,
    DataType.INT2_LSF: DataType.INT2,
    DataType.INT4_LSF: DataType.INT4,
    DataType.UINT2_LSF: DataType.UINT2,
    DataType.UINT4_LSF: DataType.UINT4,
    DataType.NSEC_LSF: DataType.NSEC,
    DataType.IEEE4_LSF: DataType.IEEE4,
    DataType.IEEE8_LSF: DataType.IEEE8,
    DataType.FS4: DataType.IEEE4,
    DataType.BOOL2: DataType.BOOL,
    DataType.BOOL4: DataType.BOOL,
}


def _field_base(field_name: str) -> str:
    return field_name.partition("(")[0].strip()


def find_field(tdef: TableDef, field_name: str) -> FieldDef:
    """The field ``field_name`` names (``Temp`` or ``Temp(3)``; exact, else any case).

    A subscript is checked against the field's dimensions, so a typo is named here
    rather than answered by the logger's vague "invalid table or field name".
    """
    base = _field_base(field_name)
    found = next((f for f in tdef.fields if f.name == base), None)
    if found is None:
        found = next((f for f in tdef.fields if f.name.lower() == base.lower()), None)
    if found is None:
        known = ", ".join(dict.fromkeys(f.name for f in tdef.fields))
        raise NotFound(f"table {tdef.name!r} has no field {base!r} (fields: {known})")
    _check_subscript(tdef, found, field_name)
    return found


def _check_subscript(tdef: TableDef, fdef: FieldDef, field_name: str) -> None:
    _, paren, rest = field_name.partition("(")
    if not paren:
        return
    # A scalar reads as an array of one (``BattV(1)``); a string's last dimension is its
    # length, not an index.
    dims = (fdef.dimensions[:-1] if fdef.is_string else fdef.dimensions) or (1,)
    inside = rest.rstrip().removesuffix(")")
    try:
        index = tuple(int(part) for part in inside.split(","))
    except ValueError:
        raise UsageError(
            f"{field_name!r}: a subscript is whole numbers, like {fdef.name}(2)"
        ) from None
    if len(index) != len(dims) or any(not 1 <= i <= d for i, d in zip(index, dims, strict=False)):
        if dims == (1,):
            shape = "a single value"
        elif len(dims) == 1:
            shape = f"an array of {dims[0]} ({fdef.name}(1) to {fdef.name}({dims[0]}))"
        else:
            shape = "an array of " + " x ".join(map(str, dims))
        raise NotFound(f"{tdef.name}.{field_name} does not exist: {fdef.name} is {shape}")


def _value_field(
    catalog: TableCatalog, table: str, field_name: str, security_code: int
) -> Operation[tuple[TableDef, FieldDef]]:
    yield from table_defs(catalog, security_code)
    tdef = catalog.find(table)
    return tdef, find_field(tdef, field_name)


def _named(tdef: TableDef, fdef: FieldDef, field_name: str) -> str:
    """The field name as the logger spells it, keeping the caller's subscript."""
    _, paren, subscript = field_name.partition("(")
    return fdef.name + (paren + subscript if paren else "")


def get_value(
    catalog: TableCatalog, table: str, field_name: str, swath: int = 1, security_code: int = 0
) -> Operation[FieldValue | tuple[FieldValue, ...]]:
    """Read ``swath`` consecutive values of a variable (Get Values, §9.1).

    ``field_name`` may carry a subscript (``Temp(3)``).  The values are asked for in
    a type the logger converts to without loss (IEEE4 for its float formats); a
    string comes back whole.  One value returns a scalar, several a tuple.
    """
    if not 1 <= swath <= 0xFFFF:
        raise UsageError(f"swath must be 1..65535, not {swath}")
    tdef, fdef = yield from _value_field(catalog, table, field_name, security_code)
    code = _VALUE_TYPE.get(fdef.type_code, DataType.IEEE4)
    if code == DataType.ASCIIZ:
        swath = 1
    r = yield from expect(
        Request(
            bmp5.GetValuesCommand(
                0, security_code, tdef.name, code, _named(tdef, fdef, field_name), swath
            )
        ),
        bmp5.GetValuesResponse,
    )
    check_response(r.resp_code, f"reading {tdef.name}.{field_name}", LEVEL_READ)
    try:
        values, _ = decode_values(code, r.data, swath)
    except ProtocolError as exc:
        raise ProtocolError(
            f"value of {tdef.name}.{field_name}: {exc.reason}", message_type=r.what()
        ) from None
    out = tuple(_field_value(v) for v in values)
    return out[0] if len(out) == 1 else out


def _field_value(value: object) -> FieldValue:
    if isinstance(value, bool | int | float | str | dt.datetime):
        return value
    return str(value)


def set_value(
    catalog: TableCatalog,
    table: str,
    field_name: str,
    value: Scalar | Sequence[Scalar],
    security_code: int = 0,
) -> Operation[None]:
    """Write a variable (Set Values, §9.1); a sequence writes consecutive elements.

    Strings go as ASCIIZ with Swath = the text length, booleans as Bool 0xFF/0x00 and
    numbers in the field's nearest plain type, as Campbell's client sends them.
    """
    tdef, fdef = yield from _value_field(catalog, table, field_name, security_code)
    if fdef.read_only:
        raise DeviceError(
            f"{tdef.name}.{fdef.name} is read-only on the logger (its table definition "
            "says so); only writable variables, such as most of Public, can be set"
        )
    items: tuple[Scalar, ...] = (
        tuple(value) if isinstance(value, list | tuple) else (value,)  # type: ignore[assignment]
    )
    if not items:
        raise UsageError("no value to set")
    code = _VALUE_TYPE.get(fdef.type_code, DataType.IEEE4)
    if code == DataType.ASCIIZ:
        if len(items) != 1:
            raise UsageError("set one string at a time")
        text = str(items[0])
        data = encode_value(DataType.ASCIIZ, text)
        swath = len(text)
    else:
        try:
            coerced = [_coerce(v, code) for v in items]
        except ValueError as exc:
            raise UsageError(f"cannot write {value!r} to {tdef.name}.{fdef.name}: {exc}") from None
        try:
            data = b"".join(encode_value(code, v) for v in coerced)
        except ValueError:
            raise UsageError(
                f"cannot write {value!r} to {tdef.name}.{fdef.name}: it holds "
                f"{_PLAIN_TYPES.get(code, 'values of another kind')}"
            ) from None
        swath = len(items)
    r = yield from expect(
        Request(
            bmp5.SetValuesCommand(
                0, security_code, tdef.name, code, _named(tdef, fdef, field_name), swath, data
            )
        ),
        bmp5.SetValuesResponse,
    )
    level = LEVEL_WRITE if tdef.name == "Public" else LEVEL_ADMIN
    check_response(r.resp_code, f"writing {tdef.name}.{field_name}", level)


def _coerce(value: Scalar, code: int) -> Scalar:
    """A user's value as the wire type wants it ("1.5" from a command line included)."""
    if isinstance(value, str):
        text = value.strip()
        if code == DataType.BOOL:
            lowered = text.lower()
            if lowered in ("true", "yes", "on", "-1", "1"):
                return True
            if lowered in ("false", "no", "off", "0"):
                return False
            raise ValueError(f"{value!r} is not a boolean (true/false)")
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    if code in (
        DataType.BYTE,
        DataType.UINT2,
        DataType.UINT4,
        DataType.INT1,
        DataType.INT2,
        DataType.INT4,
    ) and isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value} is not a whole number")
        return int(value)
    return value
