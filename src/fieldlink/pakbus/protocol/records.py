"""Collect Data record payloads (reference §8.3), decoded by the client, built by the emulator.

Both sides share one idea, the :class:`RecordLayout`: a table's selected fields compiled
*once* into a single ``struct`` format for the whole fixed-size record, plus the few
per-item conversions ``struct`` cannot do (FP2 through a 65 536-entry lookup table, text
cut at its NUL, booleans, times).  Decoding a block of records is then one
``iter_unpack`` over the block and C-level ``map``/``zip`` passes, instead of interpreting
the table definition field by field for every record — which is what makes collection
of a big table fast.

Wire facts used here (all §8.3):

- A response is record blocks, then one MoreRecsExist byte.  A block is TableNbr (UInt2),
  BegRecNbr (UInt4), then a UInt2 whose bit 15 is IsOffset.
- IsOffset 0: bits 14..0 count the records.  Interval tables (TblInterval != 0) send one
  time stamp, TimeOfRec, for the block and record k is TimeOfRec + k x interval; event
  tables send a stamp before every record.
- IsOffset 1: the word and the next UInt2 form a 31-bit *byte offset* into one record
  whose bytes (time stamp first, for interval and event tables alike) run up to the
  MoreRecsExist byte.  The client asks for the rest with mode 8 until it holds time
  stamp + value bytes.
- Emulator side (INFERRED): a new block starts wherever record numbers or interval times
  are discontinuous.
"""

from __future__ import annotations

import datetime as dt
import operator
import struct
import sys
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import accumulate, chain, repeat
from typing import Any, TypeVar, cast, overload

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.protocol import types as t
from fieldlink.pakbus.protocol.model import (
    MAX_RECORD_BYTES,
    MAX_RECORD_VALUES,
    FieldDef,
    Record,
    Scalar,
    TableDef,
    Value,
    records_from_rows,
)
from fieldlink.pakbus.protocol.wire import NSec

__all__ = [
    "CollectPayload",
    "Fragment",
    "FragmentAssembler",
    "PackedPayload",
    "PackedRecord",
    "RecordBlock",
    "RecordLayout",
    "RecordRun",
    "RowRecord",
    "StoredRecord",
    "TimeLike",
    "encode_fragment",
    "encode_record_block",
    "layout_for",
    "pack_collect_payload",
    "pack_records",
    "parse_collect_payload",
]

#: A time an emulator may hand us: a naive logger-local datetime, or an exact NSec.
TimeLike = dt.datetime | NSec
#: One stored record as the emulator keeps it: (record number, time stamp, values).
StoredRecord = tuple[int, TimeLike, Mapping[str, Value]]
#: The same as the emulator packs it: (record number, time stamp in nanoseconds since
#: 1990, values in the table's field order) -- no dict and no NSec per record.
RowRecord = tuple[int, int, Sequence[Value]]
#: A record whose values are already encoded for the layout it is packed with (number,
#: ns since 1990, value bytes): the emulator encodes a computed block of records once
#: (:meth:`RecordLayout.encode_rows`) and serves the answers that follow from its bytes.
PackedRecord = tuple[int, int, bytes]

#: What RecordLayout.select picks: a row's values, or the table's columns.
_Item = TypeVar("_Item")
_WHAT = "BMP5 collect data response"
_BLOCK_HEADER = struct.Struct(">HIH")
_FRAGMENT_HEADER = struct.Struct(">HII")
_MAX_BLOCK_RECORDS = 0x7FFF
_MAX_OFFSET = 0x7FFFFFFF

# --- compiling a layout -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Piece:
    """One selected field, compiled: how many struct items it takes and how to code them."""

    field: FieldDef
    code: int
    items: int
    item_fmt: str  # struct code of one item (no count, no byte order)
    decode: Callable[[Any], object] | None
    encode: Callable[[object], object]
    array: bool
    string_length: int | None  # ASCII/ASCIIZ only; None for ASCIIZ

    @property
    def fmt(self) -> str:
        """The struct format of the whole piece, e.g. ``10H`` or ``8s8s8s``."""
        if self.item_fmt.endswith("s"):
            return self.item_fmt * self.items
        return f"{self.items}{self.item_fmt}"


def _string_shape(f: FieldDef) -> tuple[int, int]:
    """(number of strings, bytes per string) of an ASCII field.

    PieceSize is the piece's byte count; for a string array the last dimension is the
    string length, e.g. PortConfig dims [8, 8] piece 64 = 8 strings of 8.
    """
    count = f.value_count
    if count == 1:
        return 1, f.piece_size
    length = f.dimensions[-1]
    if count * length != f.piece_size:
        raise ProtocolError(
            f"field {f.name!r}: string piece of {f.piece_size} bytes is not "
            f"{count} strings of {length}"
        )
    return count, length


def _ascii_encoder(length: int) -> Callable[[object], object]:
    def encode(value: object) -> object:
        return t._ascii_to_bytes(value, length)

    return encode


_FP2_ITEM = t.ENCODE_PLAN[t.DataType.FP2]
#: float -> FP2 word, for floats that are exactly an FP2 value (at most 65 536 of them):
#: what an emulator sends has been through FP2 already, and finding its word again
#: the long way costs more than the rest of encoding the record.
_FP2_WORDS: dict[float, int] = {}


def _fp2_encoder(value: object) -> object:
    if type(value) is not float:
        return _FP2_ITEM(value)  # checks the type, converts ints
    word = _FP2_WORDS.get(value)
    if word is None:
        word = t.fp2_to_word(value)
        if t.FP2_TABLE[word] == value:
            _FP2_WORDS[value] = word
    return word


#: Types whose items ``struct`` packs as they are, when every value of a column is an
#: exact ``float`` (the encoder would return it unchanged) or an exact ``int`` (the
#: encoder checks the range, which ``struct`` also does: a value out of range sends
#: the block through the per-record path and its error).
_FLOATS_AS_IS = frozenset({t.DataType.IEEE4, t.DataType.IEEE8})
_INTS_AS_IS = frozenset(
    {
        t.DataType.BYTE,
        t.DataType.UINT2,
        t.DataType.UINT4,
        t.DataType.INT1,
        t.DataType.INT2,
        t.DataType.INT4,
        t.DataType.BOOL8,
    }
)


def _column_items(p: _Piece, column: Sequence[Any], kinds: set[type]) -> Iterable[object]:
    """The struct items of one column of values of piece ``p`` (``kinds``: their types).

    Shortcuts give what ``p.encode`` gives, value for value: floats and ints that pack
    as they are; FP2 words of floats found in the table of words already seen; Latin-1
    text, which ``struct``'s ``s`` pads with NULs as the encoder does (too long, or
    holding a NUL, raises ValueError: the caller then encodes record by record).
    """
    if kinds == {float}:
        if p.code in _FLOATS_AS_IS:
            return column
        if p.code == t.DataType.FP2:
            words = list(map(_FP2_WORDS.get, column))
            if None in words:
                return [
                    _fp2_encoder(v) if w is None else w for w, v in zip(words, column, strict=True)
                ]
            return words
    elif kinds == {int} and p.code in _INTS_AS_IS:
        return column
    elif kinds == {str} and p.code == t.DataType.ASCII:
        raw = [v.encode("latin-1") for v in column]  # UnicodeEncodeError is a ValueError
        if max(map(len, raw)) > (p.string_length or 0) or _NUL in b"".join(raw):
            raise ValueError("a string too long, or holding NUL")
        return raw
    return map(p.encode, column)


def _asciiz_encoder(value: object) -> object:
    return t.encode_value(t.DataType.ASCIIZ, value)


def _compile_piece(f: FieldDef) -> _Piece:
    f.check_bounds()  # before any size from the field is used
    code = f.type_code
    if code == t.DataType.ASCII:
        count, length = _string_shape(f)
        return _Piece(
            f,
            code,
            count,
            f"{length}s",
            t._ascii_from_bytes,
            _ascii_encoder(length),
            f.is_array,
            length,
        )
    if code == t.DataType.ASCIIZ:
        count = f.value_count
        return _Piece(f, code, count, "", None, _asciiz_encoder, f.is_array, None)
    plan = t.DECODE_PLAN.get(code)
    if plan is None:
        raise ProtocolError(f"field {f.name!r} has unknown data type code {code}")
    if f.piece_size < 1:
        raise ProtocolError(f"field {f.name!r} has PieceSize {f.piece_size}")
    fmt, decode = plan
    encode = _fp2_encoder if code == t.DataType.FP2 else t.ENCODE_PLAN[code]
    return _Piece(f, code, f.piece_size, fmt, decode, encode, f.is_array, None)


_NUL = b"\x00"
_SEQUENCES = (tuple, list)
_FIRST = operator.itemgetter(0)
_REST = operator.itemgetter(slice(1, None))


def _ascii_column(column: Iterable[bytes]) -> Iterable[str]:
    """Fixed-length ASCII items cut at their first NUL, decoded as Latin-1 — all in C."""
    heads = map(_FIRST, map(bytes.partition, column, repeat(_NUL)))
    return map(bytes.decode, heads, repeat("latin-1"))


ColumnConverter = Callable[[Iterable[Any]], Iterable[Any]]

#: struct codes that an array.array reads as the same type and size on this machine.
_ARRAY_CODES = frozenset(c for c in "bBhHiIlLqQfd" if array(c).itemsize == struct.calcsize(">" + c))
#: Whether wire (big-endian) items need a byte swap after reading them into an array.
_SWAP = sys.byteorder == "little"
_FP2_DECODE = t.DECODE_PLAN[t.DataType.FP2][1]


def _fp2_column(words: Sequence[int]) -> Iterable[float]:
    """FP2 words -> floats through the lookup table in one C call (an ``itemgetter`` of
    all the words beats a ``map`` of a method per word by a third)."""
    if len(words) > 1:
        return operator.itemgetter(*words)(t.FP2_TABLE)  # type: ignore[no-any-return]
    return [t.FP2_TABLE[w] for w in words]


def _column_converter(convert: Callable[[Any], object]) -> ColumnConverter:
    """A whole column (or block) of items through ``convert``."""
    if convert is _FP2_DECODE:
        return cast(ColumnConverter, _fp2_column)
    return partial(map, convert)


def _array_column(
    code: str, count: int, convert: Callable[[Any], object] | None
) -> ColumnConverter:
    """A column of raw array pieces (``count`` big-endian items each) -> tuples of values.

    The pieces of every record are joined and read as one :class:`array.array`, so a
    16-element FP2 array costs 16 table look-ups per record and nothing else.  Items
    that need no conversion (IEEE4, integers) come out of ``struct`` as the tuples they
    end up in: one ``iter_unpack`` of the joined pieces, no array and no regrouping.
    """
    if convert is None:
        piece = struct.Struct(f">{count}{code}")
        return lambda pieces: piece.iter_unpack(b"".join(pieces))
    converter = _column_converter(convert)

    def column(pieces: Iterable[bytes]) -> Iterable[Any]:
        numbers = array(code)
        numbers.frombytes(b"".join(pieces))
        if _SWAP:
            numbers.byteswap()
        items = iter(converter(numbers))
        return zip(*([items] * count), strict=False)

    return column


_NS_PER_S = 1_000_000_000


def _nsec_stamps(seconds: Sequence[int], nanoseconds: Sequence[int]) -> list[dt.datetime]:
    """The time stamps of columns of (seconds, nanoseconds) since 1990, as
    :func:`types._stamp <fieldlink.pakbus.protocol.types._stamp>` gives each one.

    An event table's block carries a stamp per record: here a ``timedelta`` and an
    addition per stamp, both mapped in C, instead of a Python call per stamp.  A column
    holding an impossible fraction (ignored stamp by stamp, V16.2) or a stamp out of
    range goes through ``_stamp`` itself, which applies the rule and names the error.
    """
    low, high = min(nanoseconds), max(nanoseconds)
    if low >= 0 and high < _NS_PER_S:
        deltas = (
            map(dt.timedelta, repeat(0), seconds)  # fractions under 1 us: truncated to none
            if high < 1000
            else map(
                dt.timedelta, repeat(0), seconds, map(operator.floordiv, nanoseconds, repeat(1000))
            )
        )
        try:
            return list(map(t.EPOCH.__add__, deltas))
        except OverflowError:
            pass
    return list(map(t._stamp, seconds, nanoseconds))


def _sec_stamps(seconds: Sequence[int]) -> list[dt.datetime]:
    return _nsec_stamps(seconds, (0,) * len(seconds))


def _each_stamp(convert: Callable[[bytes], dt.datetime]) -> Callable[..., list[dt.datetime]]:
    return lambda raw: list(map(convert, raw))


#: Time type -> (struct codes of its stamp inside a big-endian record, the function of
#: the stamp's columns that gives the time stamps).  NSec and Sec are read as numbers
#: and converted in bulk; USec (48 bits) and little-endian NSec as raw bytes, each
#: through its own converter.
_STAMP_COLUMNS: dict[int, tuple[str, Callable[..., list[dt.datetime]]]] = {
    t.DataType.NSEC: ("iI", _nsec_stamps),
    t.DataType.SEC: ("I", _sec_stamps),
    t.DataType.USEC: ("6s", _each_stamp(t.STAMP_PLAN[t.DataType.USEC][1])),
    t.DataType.NSEC_LSF: ("8s", _each_stamp(cast(Any, t.DECODE_PLAN[t.DataType.NSEC_LSF][1]))),
}


class _Codec:
    """A compiled fixed-size record: Structs, item conversions and a regrouping.

    Decoding a block is C-level passes only, in one of three plans:

    - every item of one numeric type (an all-FP2 or all-IEEE4 table, the common case):
      the block is read into an :class:`array.array` in one go and byte-swapped in
      place, one pass converts the items (FP2: one ``itemgetter`` over the lookup
      table) and ``zip`` regroups them into records -- no tuple per record from
      ``struct``;
    - every item needing the same conversion but not an array type: ``iter_unpack``
      and the same conversion and ``zip``;
    - otherwise ``iter_unpack`` with a format that reads each numeric array field as
      one raw piece, the block transposed into columns, only the columns that need it
      converted (FP2 lookup table, ``bool``, NUL-cut Latin-1 text, times; array pieces
      through :func:`_array_column`) and transposed back.

    An ``itemgetter`` of indexes and slices finally nests arrays where a plan leaves
    them flat.  ``struct`` is the one-item-per-element format, used for encoding.
    """

    __slots__ = (
        "array_code",
        "columns",
        "getter",
        "items",
        "single",
        "struct",
        "uniform",
        "unpacker",
        "width",
    )

    def __init__(self, pieces: Sequence[_Piece], stamp_code: int | None) -> None:
        fmt = [">"]
        convs: list[Callable[[Any], object] | None] = []
        codes: set[str] = set()
        specs: list[int | slice] = []
        # the column plan: struct format, converter of each column, nesting
        column_fmt = [">"]
        columns: list[tuple[int, ColumnConverter]] = []
        column_specs: list[int | slice] = []
        if stamp_code is not None:
            stamp_fmt, stamp_conv = t.DECODE_PLAN[stamp_code]
            fmt.append(stamp_fmt)
            convs.append(stamp_conv)
            codes.add(stamp_fmt)
            specs.append(0)
            column_fmt.append(stamp_fmt)
            if stamp_conv is not None:
                columns.append((0, _column_converter(stamp_conv)))
            column_specs.append(0)
        for p in pieces:
            pos = len(convs)
            fmt.append(p.fmt)
            convs.extend(repeat(p.decode, p.items))
            codes.add(p.item_fmt)
            specs.append(slice(pos, pos + p.items) if p.array else pos)
            col = len(column_fmt) - 1
            if p.array and p.item_fmt in _ARRAY_CODES:
                column_fmt.append(f"{p.items * struct.calcsize('>' + p.item_fmt)}s")
                columns.append((col, _array_column(p.item_fmt, p.items, p.decode)))
                column_specs.append(col)
                continue
            column_fmt.extend(repeat(p.item_fmt, p.items))
            column_specs.append(slice(col, col + p.items) if p.array else col)
            if p.code == t.DataType.ASCII:
                columns.extend((i, _ascii_column) for i in range(col, col + p.items))
            elif p.decode is not None:
                convert = _column_converter(p.decode)
                columns.extend((i, convert) for i in range(col, col + p.items))
        self.struct = struct.Struct("".join(fmt))
        self.items = len(convs)
        distinct = set(convs)
        same = convs[0] if len(distinct) == 1 else None  # the one conversion of every item
        strings = any(p.code == t.DataType.ASCII for p in pieces)
        self.uniform: ColumnConverter | None = (
            _column_converter(same) if same is not None and not strings else None
        )
        one_code = next(iter(codes)) if len(codes) == 1 and len(distinct) == 1 else None
        self.array_code: str | None = one_code if one_code in _ARRAY_CODES else None
        if self.array_code is not None or self.uniform is not None:
            self.unpacker = self.struct
            self.width = self.items
            self.columns: tuple[tuple[int, ColumnConverter], ...] = ()
        else:
            self.unpacker = struct.Struct("".join(column_fmt))
            self.width = len(column_fmt) - 1
            self.columns = tuple(columns)
            specs = column_specs
        flat = len(specs) == self.width and all(s == i for i, s in enumerate(specs))
        self.single = len(specs) == 1 and not flat
        self.getter: Callable[[tuple[object, ...]], Any] | None = (
            None if flat else operator.itemgetter(*specs)
        )

    def many(self, buf: bytes | bytearray | memoryview, offset: int, count: int) -> list[Any]:
        """``count`` records from ``offset`` as tuples of values (bounds already checked)."""
        if count <= 0:
            return []
        if self.items == 0:
            return [()] * count
        end = offset + count * self.struct.size
        rows: Iterable[Any]
        if self.array_code is not None:
            numbers = array(self.array_code)
            numbers.frombytes(buf[offset:end])
            if _SWAP:
                numbers.byteswap()
            items = iter(numbers if self.uniform is None else self.uniform(numbers))
            rows = zip(*([items] * self.items), strict=False)
        elif self.uniform is not None:
            records = _unpack_each(self.struct, buf, offset, count)
            items = iter(self.uniform(list(chain.from_iterable(records))))
            rows = zip(*([items] * self.items), strict=False)
        else:
            records = _unpack_each(self.unpacker, buf, offset, count)
            if self.columns:
                columns: list[Iterable[Any]] = list(zip(*records, strict=True))
                for i, convert in self.columns:
                    columns[i] = convert(columns[i])
                rows = zip(*columns, strict=False)
            else:
                rows = records
        if self.getter is not None:
            rows = map(self.getter, rows)
            if self.single:
                rows = zip(rows, strict=False)
        return list(rows)


def _unpack_each(
    unpacker: struct.Struct, buf: bytes | bytearray | memoryview, offset: int, count: int
) -> Iterable[tuple[Any, ...]]:
    """``count`` records' struct items from ``offset``.  Records of zero-length strings
    only take no bytes, and ``iter_unpack`` refuses an empty format: each is the empty
    record's items."""
    if unpacker.size == 0:
        return repeat(unpacker.unpack(b""), count)
    return unpacker.iter_unpack(memoryview(buf)[offset : offset + count * unpacker.size])


class RecordLayout:
    """The selected fields of one table, compiled once for decoding and encoding records.

    ``field_numbers`` are 1-based positions in the table (the FieldNbr list of the
    request, in request order); None or empty selects every field in table order.
    ``size`` is the byte size of one record's values (time stamp excluded), or None when
    an ASCIIZ field makes records variable in size.  Values come back as tuples in field
    order (``decode_many``) or as a name -> value dict (``decode``); array fields are
    tuples, everything else a scalar.
    """

    __slots__ = (
        "_codec",
        "_event_split",
        "_event_stamps",
        "_picks",
        "_pieces",
        "_stamp_from",
        "_stamp_struct",
        "_stamped",
        "fields",
        "interval",
        "names",
        "size",
        "stamp_size",
        "table",
    )

    def __init__(self, table: TableDef, field_numbers: Sequence[int] | None = None) -> None:
        self.table = table
        if field_numbers:
            if len(set(field_numbers)) != len(field_numbers):
                raise ValueError(f"field numbers {list(field_numbers)} repeat a field")
            for n in field_numbers:
                if not 1 <= n <= len(table.fields):
                    raise ValueError(
                        f"table {table.name!r} has no field number {n} (it has {len(table.fields)})"
                    )
            self.fields = tuple(table.fields[n - 1] for n in field_numbers)
            #: Where the selected values are in a row of the whole table (see select).
            self._picks: tuple[int, ...] | None = tuple(n - 1 for n in field_numbers)
        else:
            self.fields = table.fields
            self._picks = None
        self.names = tuple(f.name for f in self.fields)
        if table.time_type not in t.TIME_TYPES:
            raise ProtocolError(
                f"table {table.name!r} has time stamp type {table.time_type}, not a time type"
            )
        stamp_fmt, self._stamp_from = t.STAMP_PLAN[table.time_type]
        self._stamp_struct = struct.Struct(stamp_fmt)
        self.stamp_size = self._stamp_struct.size
        #: Time between consecutive records of an interval table; None for event tables.
        self.interval: dt.timedelta | None = (
            dt.timedelta(
                seconds=table.interval.seconds, microseconds=table.interval.nanoseconds // 1000
            )
            if table.interval.seconds or table.interval.nanoseconds
            else None
        )
        self._pieces = tuple(_compile_piece(f) for f in self.fields)
        self._check_bounds()
        if any(p.code == t.DataType.ASCIIZ for p in self._pieces):
            self.size: int | None = None
            self._codec: _Codec | None = None
            self._stamped: _Codec | None = None
        else:
            self._codec = _Codec(self._pieces, None)
            self._stamped = _Codec(self._pieces, table.time_type)
            self.size = self._codec.struct.size
            # An event block, record by record: the stamp's items, then the value bytes.
            stamp_items, self._event_stamps = _STAMP_COLUMNS[table.time_type]
            self._event_split = struct.Struct(f">{stamp_items}{self.size}s")

    def _check_bounds(self) -> None:
        """The whole record within what a logger can hold, before any struct is built.

        Each piece was checked alone by :func:`_compile_piece`; together they may still
        be too many values or bytes (an ASCIIZ string counts its NUL byte at least).
        """
        values = sum(p.items for p in self._pieces)
        size = sum(
            p.items * (struct.calcsize(">" + p.item_fmt) if p.item_fmt else 1) for p in self._pieces
        )
        problem = None
        if values > MAX_RECORD_VALUES:
            problem = f"{values} values (at most {MAX_RECORD_VALUES})"
        elif size > MAX_RECORD_BYTES:
            problem = f"{size} bytes (at most {MAX_RECORD_BYTES})"
        if problem is not None:
            raise ProtocolError(
                f"a record of table {self.table.name!r} would hold {problem}: "
                "more than a logger can hold",
                message_type=_WHAT,
            )

    # --- decoding ---------------------------------------------------------------------

    def _short(self, what: str, offset: int, need: int, have: int) -> ProtocolError:
        return ProtocolError(
            f"{what} of table {self.table.name!r} needs {need} bytes, {have} left",
            message_type=_WHAT,
            offset=offset,
        )

    def decode_row(
        self, buf: bytes | bytearray | memoryview, offset: int = 0
    ) -> tuple[tuple[Value, ...], int]:
        """One record's values at ``offset`` and the offset after them."""
        if self._codec is not None:
            size = self._codec.struct.size
            if offset < 0 or offset + size > len(buf):
                raise self._short("a record", offset, size, len(buf) - offset)
            return self._codec.many(buf, offset, 1)[0], offset + size
        return self._decode_variable(bytes(buf), offset)

    def decode(self, buf: bytes | bytearray | memoryview, offset: int = 0) -> dict[str, Value]:
        """One record's values as a name -> value dict."""
        row, _ = self.decode_row(buf, offset)
        return dict(zip(self.names, row, strict=True))

    def decode_many(
        self, buf: bytes | bytearray | memoryview, offset: int, count: int
    ) -> list[tuple[Value, ...]]:
        """``count`` back-to-back records (no time stamps) from ``offset``."""
        rows, _ = self._many(buf, offset, count, stamped=False)
        return rows

    def decode_stamped_many(
        self, buf: bytes | bytearray | memoryview, offset: int, count: int
    ) -> tuple[list[tuple[Any, ...]], int]:
        """``count`` records each preceded by its time stamp (event tables).

        Returns rows whose item 0 is the time stamp and items 1.. the values, and the
        offset after the last record.
        """
        return self._many(buf, offset, count, stamped=True)

    def _many(
        self, buf: bytes | bytearray | memoryview, offset: int, count: int, *, stamped: bool
    ) -> tuple[list[Any], int]:
        codec = self._stamped if stamped else self._codec
        if codec is not None:
            need = count * codec.struct.size
            if offset < 0 or count < 0 or offset + need > len(buf):
                raise self._short(f"{count} records", offset, need, len(buf) - offset)
            return codec.many(buf, offset, count), offset + need
        data = bytes(buf)
        rows = []
        for _ in range(count):
            if stamped:
                stamp, offset = self.decode_stamp(data, offset)
                row, offset = self._decode_variable(data, offset)
                rows.append((stamp, *row))
            else:
                row, offset = self._decode_variable(data, offset)
                rows.append(row)
        return rows, offset

    def decode_block(
        self,
        buf: bytes | bytearray | memoryview,
        offset: int,
        count: int,
        end: int | None = None,
    ) -> tuple[list[dt.datetime], list[tuple[Value, ...]], int]:
        """The time stamps and value rows of a record block's ``count`` records.

        ``offset`` is where the block's first time stamp starts (after the header) and
        ``end`` where the block must end at the latest (default: the end of ``buf``);
        returns the stamps, the rows and the offset after the block.
        """
        codec, step = self._codec, self.interval
        limit = len(buf) if end is None else end
        if step is not None and codec is not None and count > 0:
            size = self.stamp_size + count * codec.struct.size
            if offset >= 0 and offset + size <= limit:  # else the checks below explain
                first = self._stamp_from(*self._stamp_struct.unpack_from(buf, offset))
                rows = codec.many(buf, offset + self.stamp_size, count)
                stamps = list(accumulate(repeat(step, count - 1), operator.add, initial=first))
                return stamps, rows, offset + size
        if step is None and codec is not None and count > 0:
            # An event block: one pass splits every record into its stamp's items and
            # its value bytes; the stamps are converted as columns and the values
            # decoded as one interval block's would be (the same plan, the same rows).
            size = count * self._event_split.size
            if offset >= 0 and offset + size <= limit:  # else the checks below explain
                split = self._event_split.iter_unpack(memoryview(buf)[offset : offset + size])
                *stamp_columns, values = zip(*split, strict=True)
                rows = codec.many(b"".join(values), 0, count)
                return self._event_stamps(*stamp_columns), rows, offset + size
        if limit < len(buf):
            buf = memoryview(buf)[:limit]
        if step is not None and count:
            first, offset = self.decode_stamp(buf, offset)
            rows, offset = self._many(buf, offset, count, stamped=False)
            stamps = list(accumulate(repeat(step, count - 1), operator.add, initial=first))
            return stamps, rows, offset
        stamped, offset = self._many(buf, offset, count, stamped=True)
        return list(map(_FIRST, stamped)), list(map(_REST, stamped)), offset

    def decode_stamp(
        self, buf: bytes | bytearray | memoryview, offset: int = 0
    ) -> tuple[dt.datetime, int]:
        """A time stamp of the table's TimeType at ``offset``, and the offset after it."""
        size = self.stamp_size
        if offset < 0 or offset + size > len(buf):
            raise self._short("a time stamp", offset, size, len(buf) - offset)
        return self._stamp_from(*self._stamp_struct.unpack_from(buf, offset)), offset + size

    def _decode_variable(self, data: bytes, offset: int) -> tuple[tuple[Value, ...], int]:
        row: list[Value] = []
        for p in self._pieces:
            try:
                values, offset = t.decode_values(
                    p.code, data, p.items, offset, length=p.string_length
                )
            except ProtocolError as exc:
                raise ProtocolError(
                    f"field {p.field.name!r}: {exc.reason}", message_type=_WHAT, offset=offset
                ) from None
            vals = cast(tuple[Scalar, ...], values)
            row.append(vals if p.array else vals[0])
        return tuple(row), offset

    # --- encoding ---------------------------------------------------------------------

    def _items(self, p: _Piece, value: object) -> list[object]:
        if p.array:
            if not isinstance(value, tuple | list):
                if p.items != 1:
                    raise ValueError(f"field {p.field.name!r} holds {p.items} values, not a scalar")
                value = (value,)
            if len(value) != p.items:
                raise ValueError(f"field {p.field.name!r} holds {p.items} values, got {len(value)}")
            return [p.encode(v) for v in value]
        if isinstance(value, tuple | list):
            raise ValueError(f"field {p.field.name!r} is a scalar, got a sequence")
        return [p.encode(value)]

    def encode_row(self, row: Sequence[object]) -> bytes:
        """One record's value bytes from values in field order."""
        if len(row) != len(self._pieces):
            raise ValueError(f"expected {len(self._pieces)} values, got {len(row)}")
        try:
            if self._codec is None:
                pieces = zip(self._pieces, row, strict=True)
                return b"".join(self._variable_bytes(p, v) for p, v in pieces)
            items: list[object] = []
            append, extend = items.append, items.extend
            for p, v in zip(self._pieces, row, strict=True):
                # the common shapes inline; anything else (and every error) via _items
                if isinstance(v, _SEQUENCES):
                    if p.array and len(v) == p.items:
                        extend(map(p.encode, v))
                        continue
                elif not p.array:
                    append(p.encode(v))
                    continue
                extend(self._items(p, v))
            return self._codec.struct.pack(*items)
        except (struct.error, OverflowError) as exc:
            raise ValueError(f"cannot encode a record of {self.table.name!r}: {exc}") from None

    def _variable_bytes(self, p: _Piece, value: object) -> bytes:
        items = self._items(p, value)
        if p.code == t.DataType.ASCIIZ:
            return b"".join(cast(list[bytes], items))
        return struct.pack(">" + p.fmt, *items)

    def encode_rows(self, rows: Sequence[Sequence[object]]) -> list[bytes]:
        """The value bytes of many records (values in field order): ``encode_row`` of each.

        A fixed-size layout converts column by column (:meth:`encode_columns`), which is
        what lets the emulator pack a block of records cheaply.
        """
        if self._codec is None or len(rows) < 2:
            return [self.encode_row(row) for row in rows]
        try:
            columns = list(zip(*rows, strict=True))
        except ValueError:  # rows of different lengths: encode_row names the problem
            return [self.encode_row(row) for row in rows]
        return self.encode_columns(columns, len(rows))

    def encode_columns(self, columns: Sequence[Sequence[Any]], count: int) -> list[bytes]:
        """The value bytes of ``count`` records given field by field (one sequence of
        ``count`` values per field, in field order): :meth:`encode_rows` of their rows.

        A fixed-size layout converts column by column -- one ``map`` of a field's
        encoder over the column, then one ``struct`` pack per record, all C-level
        iteration.  Anything unusual in a column (a sequence where a scalar belongs, an
        array of the wrong length, a value an encoder refuses) sends the records through
        ``encode_row``, which names the problem: both paths give the same bytes.
        """
        codec = self._codec
        if codec is None or count < 2:
            return [self.encode_row(row) for row in _rows_of(columns, count)]
        try:
            items: list[Iterable[object]] = []
            for p, column in zip(self._pieces, columns, strict=True):
                if len(column) != count:
                    raise ValueError(f"field {p.field.name!r} has {len(column)} values")
                kinds = set(map(type, column))
                if not p.array:
                    if any(issubclass(k, _SEQUENCES) for k in kinds):
                        raise ValueError(f"field {p.field.name!r} is a scalar")
                    items.append(_column_items(p, column, kinds))
                elif set(map(len, column)) == {p.items}:  # TypeError for a scalar
                    elements = zip(*column, strict=True)
                    items.extend(_column_items(p, e, set(map(type, e))) for e in elements)
                else:
                    raise ValueError(f"field {p.field.name!r} holds {p.items} values")
            return list(map(codec.struct.pack, *items))
        except (ValueError, TypeError, struct.error, OverflowError):
            return [self.encode_row(row) for row in _rows_of(columns, count)]

    def row_of(self, values: Mapping[str, object]) -> list[object]:
        """The values of a name -> value mapping in field order (every field required)."""
        try:
            return [values[name] for name in self.names]
        except KeyError as exc:
            raise ValueError(f"record of {self.table.name!r} lacks field {exc.args[0]!r}") from None

    def select(self, row: Sequence[_Item]) -> Sequence[_Item]:
        """This layout's values (in its order) of a row of the whole table -- or its
        columns, of the whole table's columns."""
        picks = self._picks
        return row if picks is None else tuple(row[i] for i in picks)

    def encode(self, values: Mapping[str, object]) -> bytes:
        """One record's value bytes from a name -> value mapping (every field required)."""
        return self.encode_row(self.row_of(values))

    def encode_stamp(self, when: TimeLike) -> bytes:
        """A time stamp in the table's TimeType."""
        return t.encode_value(self.table.time_type, when)


def _rows_of(columns: Sequence[Sequence[object]], count: int) -> list[Sequence[object]]:
    """The ``count`` rows that ``columns`` (one sequence per field) make up."""
    if not columns:
        return [()] * count
    return list(zip(*columns, strict=True))


_LAYOUTS: dict[tuple[int, int, str, tuple[int, ...]], RecordLayout] = {}
#: The same layouts by the identity of the TableDef object: the common case costs one
#: lookup, not a comparison of two definitions (entries hold the table, so an id cannot
#: be reused while cached).
_BY_IDENTITY: dict[tuple[int, tuple[int, ...]], tuple[TableDef, RecordLayout]] = {}
#: Layouts kept: every table of a fleet of a thousand loggers (identical programs share).
_LAYOUT_CACHE_SIZE = 4096


def layout_for(table: TableDef, field_numbers: Sequence[int] | None = None) -> RecordLayout:
    """The compiled layout of ``table`` (and field selection), compiled once and reused.

    Keyed by the definition's signature, number and name, so the many copies of one
    table definition a fleet of loggers running the same program yields share one
    layout (confirmed by equality: a hand-built TableDef may have signature 0); each
    TableDef object then finds it by identity.  Full caches forget their oldest entry.
    """
    selection = tuple(field_numbers or ())
    mine = _BY_IDENTITY.get((id(table), selection))
    if mine is not None and mine[0] is table:
        return mine[1]
    key = (table.signature, table.number, table.name, selection)
    layout = _LAYOUTS.get(key)
    if layout is None or not (layout.table is table or layout.table == table):
        layout = RecordLayout(table, field_numbers)
        _remember(_LAYOUTS, key, layout)
    _remember(_BY_IDENTITY, (id(table), selection), (table, layout))
    return layout


def _remember(cache: dict[Any, Any], key: object, value: object) -> None:
    if len(cache) >= _LAYOUT_CACHE_SIZE:
        del cache[next(iter(cache))]
    cache[key] = value


# --- client side: parsing a response ------------------------------------------------------


@dataclass(slots=True, eq=False, repr=False)
class RecordBlock:
    """Consecutive whole records of one table from one response.

    Decoded into parallel lists — ``timestamps`` and ``rows`` (value tuples in ``names``
    order, arrays as tuples) — which is what sinks store and costs far less than one
    object per record; :attr:`records` builds the :class:`Record` objects on first use.
    """

    table_nbr: int
    table: str
    begin_record: int
    names: tuple[str, ...]
    timestamps: list[dt.datetime]
    rows: list[tuple[Value, ...]]
    _records: list[Record] | None = field(default=None, init=False)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return (
            f"RecordBlock(table={self.table!r}, table_nbr={self.table_nbr}, "
            f"begin_record={self.begin_record}, count={len(self.rows)})"
        )

    @property
    def numbers(self) -> range:
        """The record numbers, consecutive from ``begin_record``."""
        return range(self.begin_record, self.begin_record + len(self.rows))

    @property
    def records(self) -> list[Record]:
        if self._records is None:
            self._records = records_from_rows(
                self.table, self.begin_record, self.timestamps, self.names, self.rows
            )
        return self._records


@dataclass(frozen=True, slots=True)
class Fragment:
    """Part of one record too big for a packet: its bytes from ``offset`` (time stamp first)."""

    table_nbr: int
    record_nbr: int
    offset: int
    data: bytes


@dataclass(slots=True)
class CollectPayload:
    """A decoded Collect Data response (after RespCode).

    Not frozen only because a frozen dataclass's ``__init__`` costs as much as decoding
    a few records, once per response: treat it as read-only.
    """

    blocks: list[RecordBlock | Fragment]
    more: bool

    @property
    def records(self) -> list[Record]:
        """Every whole record, in response order."""
        out: list[Record] = []
        for block in self.blocks:
            if isinstance(block, RecordBlock):
                out += block.records
        return out

    @property
    def fragment(self) -> Fragment | None:
        """The fragment of this response, if it carried one."""
        for b in self.blocks:
            if isinstance(b, Fragment):
                return b
        return None


def parse_collect_payload(
    data: bytes | bytearray | memoryview,
    tables: Mapping[int, TableDef],
    fields: Mapping[int, Sequence[int]] | None = None,
) -> CollectPayload:
    """Decode the bytes after RespCode of a Collect Data response (0x89).

    ``tables`` maps TableNbr to definitions (e.g. ``{t.number: t for t in tdf}``);
    ``fields`` maps TableNbr to the FieldNbr list that was requested (missing or empty
    means all fields).  Anything that does not fit the definitions is a ProtocolError.
    """
    buf = bytes(data)
    end = len(buf) - 1  # the MoreRecsExist byte
    if end < 0:
        raise ProtocolError("response ends before MoreRecsExist", message_type=_WHAT, offset=0)
    blocks: list[RecordBlock | Fragment] = []
    pos = 0
    while pos < end:
        if pos + _BLOCK_HEADER.size > end:
            raise ProtocolError(
                "response ends inside a record block header", message_type=_WHAT, offset=pos
            )
        table_nbr, begin, word = _BLOCK_HEADER.unpack_from(buf, pos)
        table = tables.get(table_nbr)
        if table is None:
            raise ProtocolError(
                f"record block for unknown table number {table_nbr}",
                message_type=_WHAT,
                offset=pos,
            )
        if word & 0x8000:
            if pos + _FRAGMENT_HEADER.size > end:
                raise ProtocolError(
                    "response ends inside a fragment header", message_type=_WHAT, offset=pos
                )
            offset = _FRAGMENT_HEADER.unpack_from(buf, pos)[2] & _MAX_OFFSET
            pos += _FRAGMENT_HEADER.size
            blocks.append(Fragment(table_nbr, begin, offset, buf[pos:end]))
            pos = end
            break
        pos += _BLOCK_HEADER.size
        layout = layout_for(table, fields.get(table_nbr) if fields else None)
        stamps, rows, pos = layout.decode_block(buf, pos, word & 0x7FFF, end)
        blocks.append(RecordBlock(table_nbr, table.name, begin, layout.names, stamps, rows))
    return CollectPayload(blocks, buf[end] != 0)


class FragmentAssembler:
    """Collects the fragments of one record and tells the client what to ask for next.

    The client feeds every :class:`Fragment` it receives to :meth:`add`; while
    :attr:`complete` is false it sends Collect Data mode 8 with P1 = ``record_nbr`` and
    P2 = :attr:`next_offset`.  Once time stamp + value bytes are in, :meth:`add` returns
    the :class:`Record`.  A record whose size is not fixed (ASCIIZ fields) is complete when
    its bytes decode in full.
    """

    def __init__(
        self, table: TableDef, record_nbr: int, field_numbers: Sequence[int] | None = None
    ) -> None:
        self.table = table
        self.record_nbr = record_nbr
        self.layout = layout_for(table, field_numbers)
        self.total_size: int | None = (
            None if self.layout.size is None else self.layout.stamp_size + self.layout.size
        )
        self._buf = bytearray()
        self._record: Record | None = None

    @property
    def next_offset(self) -> int:
        """The byte offset to request next (mode 8 P2): the bytes held so far."""
        return len(self._buf)

    @property
    def complete(self) -> bool:
        return self._record is not None

    @property
    def record(self) -> Record | None:
        return self._record

    def add(self, fragment: Fragment) -> Record | None:
        """Add one fragment; return the record once it is complete, else None.

        A fragment that overlaps bytes already held (a retried request) contributes only
        its new bytes; one that leaves a gap, belongs to another record, or runs past the
        record's size (for a variable-size record, past what a logger can hold) is a
        ProtocolError.
        """
        if fragment.table_nbr != self.table.number or fragment.record_nbr != self.record_nbr:
            raise ProtocolError(
                f"fragment of table {fragment.table_nbr} record {fragment.record_nbr} while "
                f"assembling table {self.table.number} record {self.record_nbr}",
                message_type=_WHAT,
            )
        if self._record is not None:
            return self._record
        held = len(self._buf)
        if fragment.offset > held:
            raise ProtocolError(
                f"fragment starts at byte {fragment.offset} but only {held} bytes are held",
                message_type=_WHAT,
            )
        new = fragment.data[held - fragment.offset :]
        limit = self.layout.stamp_size + MAX_RECORD_BYTES
        if self.total_size is None and held + len(new) > limit:
            # A variable-size (ASCIIZ) record that never ends: no logger holds one this big.
            raise ProtocolError(
                f"fragments hold {held + len(new)} bytes of one record, more than a logger "
                f"can hold ({MAX_RECORD_BYTES} bytes of values)",
                message_type=_WHAT,
            )
        self._buf += new
        if self.total_size is not None:
            if len(self._buf) > self.total_size:
                raise ProtocolError(
                    f"fragments hold {len(self._buf)} bytes of a {self.total_size}-byte record",
                    message_type=_WHAT,
                )
            if len(self._buf) == self.total_size:
                self._record = self._decode()
        else:
            self._record = self._decode()
        return self._record

    def _decode(self) -> Record | None:
        """The record, or None while a variable-size record is still short."""
        try:
            rows, end = self.layout._many(self._buf, 0, 1, stamped=True)
        except ProtocolError:
            if self.total_size is None:
                return None
            raise
        if end != len(self._buf):
            raise ProtocolError(
                f"{len(self._buf) - end} bytes left after the record", message_type=_WHAT
            )
        stamp, *values = rows[0]
        return Record(
            self.table.name,
            self.record_nbr,
            stamp,
            dict(zip(self.layout.names, values, strict=True)),
        )


# --- emulator side: building a response ---------------------------------------------------


#: Any form of a record the emulator side packs.
AnyRecord = Record | StoredRecord | RowRecord | PackedRecord
#: A record ready to pack: (number, time stamp in ns since 1990, values in layout order
#: or their bytes).
_Entry = tuple[int, int, Sequence[object] | bytes]


class RecordRun(Sequence[PackedRecord]):
    """Consecutive records whose value bytes sit back to back, as an emulator keeps them.

    Records ``first``, ``first + 1`` ... with time stamps ``stamps`` (ns since 1990) and
    ``size`` value bytes each in ``data`` (a fixed-size layout's, the one they are packed
    with).  It is a sequence of :data:`PackedRecord` like any other, so every packing
    path takes it; :func:`pack_records` packs one whose stamps are the interval table's
    regular ones as a single block, a slice of ``data`` -- no Python step per record,
    which is most of what an answer of a forward collection cost.
    """

    __slots__ = ("data", "first", "size", "stamps")

    def __init__(
        self, first: int, stamps: Sequence[int], data: bytes | memoryview, size: int
    ) -> None:
        if size < 1 or len(data) != len(stamps) * size:
            raise ValueError(f"{len(data)} bytes are not {len(stamps)} records of {size}")
        self.first = first
        self.stamps = stamps
        self.data = data
        self.size = size

    def __len__(self) -> int:
        return len(self.stamps)

    @overload
    def __getitem__(self, index: int) -> PackedRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[PackedRecord]: ...

    def __getitem__(self, index: int | slice) -> PackedRecord | Sequence[PackedRecord]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = range(len(self))[index]  # IndexError, negative indices
        size = self.size
        return self.first + i, self.stamps[i], bytes(self.data[i * size : (i + 1) * size])


def _one_block(
    table: TableDef, layout: RecordLayout, run: RecordRun, budget: int, interval: int | None
) -> tuple[bytes, int] | None:
    """What :func:`pack_records` makes of ``run``, when that is one block of an interval
    table (the records that fit are at regular times); None otherwise."""
    if interval is None or run.size != layout.size:
        return None
    room = budget - _BLOCK_HEADER.size - layout.stamp_size
    count = min(len(run), max(0, room // run.size))
    if not 0 < count <= _MAX_BLOCK_RECORDS:
        return None
    first_ns = run.stamps[0]
    regular = range(first_ns, first_ns + count * interval, interval)
    if list(run.stamps[:count]) != list(regular):  # a clock set within them: blocks split
        return None
    header = _block_header(table, run.first, count)
    stamp = layout.encode_stamp(NSec.from_total_ns(first_ns))
    return b"".join((header, stamp, run.data[: count * run.size])), count


def _entry(layout: RecordLayout, record: AnyRecord) -> _Entry:
    when: TimeLike | int
    values: Mapping[str, Value] | Sequence[Value]
    if isinstance(record, Record):
        number, when, values = record.number, record.timestamp, record.values
    else:
        number, when, values = record
    ns = when if isinstance(when, int) else _as_nsec(when).total_ns
    if isinstance(values, _SEQUENCES):
        return number, ns, layout.select(values)
    if isinstance(values, bytes):  # a PackedRecord: this layout's bytes already
        return number, ns, values
    return number, ns, layout.row_of(cast(Mapping[str, Value], values))


def _values_bytes(layout: RecordLayout, rows: Sequence[Sequence[object] | bytes]) -> list[bytes]:
    """The value bytes of each row (rows given as bytes are encoded already)."""
    encoded = [row for row in rows if isinstance(row, bytes)]
    if not encoded:
        return layout.encode_rows(rows)
    if len(encoded) == len(rows):
        return encoded
    return [row if isinstance(row, bytes) else layout.encode_row(row) for row in rows]


def _as_nsec(when: TimeLike) -> NSec:
    return when if isinstance(when, NSec) else t.datetime_to_nsec(when)


def _block_header(table: TableDef, begin: int, count: int) -> bytes:
    if not 0 <= begin < 2**32:
        raise ValueError(f"record number {begin} does not fit a UInt4")
    if count > _MAX_BLOCK_RECORDS:
        raise ValueError(f"a block holds at most {_MAX_BLOCK_RECORDS} records")
    return _BLOCK_HEADER.pack(table.number, begin, count)


def _block_bytes(
    table: TableDef,
    layout: RecordLayout,
    begin: int,
    stamps: Sequence[int],
    rows: Sequence[Sequence[object] | bytes],
) -> bytes:
    """A record block: header, time stamp(s) (ns since 1990), the rows' value bytes."""
    header = _block_header(table, begin, len(rows))
    values = _values_bytes(layout, rows)
    if not rows:
        return header
    if table.is_interval:
        return header + layout.encode_stamp(NSec.from_total_ns(stamps[0])) + b"".join(values)
    stamped = zip(map(layout.encode_stamp, map(NSec.from_total_ns, stamps)), values, strict=True)
    return header + b"".join(chain.from_iterable(stamped))


def encode_record_block(
    table: TableDef,
    begin_record: int,
    values: Sequence[Mapping[str, Value]],
    first_time: TimeLike,
    *,
    times: Sequence[TimeLike] | None = None,
    field_numbers: Sequence[int] | None = None,
) -> bytes:
    """One record block (header, stamps, values) of consecutive records.

    Interval tables carry ``first_time`` once; event tables a stamp per record, taken from
    ``times`` (required for more than one record of an event table).
    """
    layout = layout_for(table, field_numbers)
    if table.is_interval:
        times = [first_time]
    elif times is None:
        if len(values) > 1:
            raise ValueError("an event-table block needs a time stamp per record")
        times = [first_time] * len(values)
    elif len(times) != len(values):
        raise ValueError(f"{len(values)} records but {len(times)} time stamps")
    stamps = [_as_nsec(when).total_ns for when in times]
    return _block_bytes(table, layout, begin_record, stamps, [layout.row_of(v) for v in values])


def encode_fragment(
    table: TableDef,
    record: AnyRecord,
    offset: int,
    room: int,
    *,
    field_numbers: Sequence[int] | None = None,
) -> tuple[bytes, int]:
    """A fragment block of ``record`` from byte ``offset`` with at most ``room`` data bytes.

    The record's bytes are its time stamp then its values, for interval and event tables
    alike.  Returns the block and the offset after its last byte (the record's size when
    this is the last fragment).
    """
    block, end, _ = _fragment(table, record, offset, room, field_numbers)
    return block, end


def _fragment(
    table: TableDef,
    record: AnyRecord,
    offset: int,
    room: int,
    field_numbers: Sequence[int] | None,
) -> tuple[bytes, int, int]:
    layout = layout_for(table, field_numbers)
    number, ns, row = _entry(layout, record)
    (values,) = _values_bytes(layout, [row])
    whole = layout.encode_stamp(NSec.from_total_ns(ns)) + values
    if not 0 <= offset <= len(whole):
        raise ValueError(f"offset {offset} is outside the {len(whole)}-byte record")
    if room < 0:
        raise ValueError("negative room")
    chunk = whole[offset : offset + room]
    header = _FRAGMENT_HEADER.pack(table.number, number, 0x80000000 | offset)
    return header + chunk, offset + len(chunk), len(whole)


def pack_records(
    table: TableDef,
    records: Sequence[AnyRecord],
    budget: int,
    *,
    field_numbers: Sequence[int] | None = None,
) -> tuple[bytes, int]:
    """As many whole records as fit in ``budget`` bytes of blocks; (bytes, records packed).

    A new block starts where record numbers are not consecutive or (interval tables) a
    time stamp is not the previous one plus the interval.  Returns ``(b"", 0)`` when not
    even the first record fits (the caller then sends a fragment).  Each block's values
    are encoded together (:meth:`RecordLayout.encode_rows`); a :class:`RecordRun` at
    regular times is one block already encoded.
    """
    layout = layout_for(table, field_numbers)
    interval = table.interval.total_ns if table.is_interval else None
    if isinstance(records, RecordRun):
        one = _one_block(table, layout, records, budget, interval)
        if one is not None:
            return one
    stamp_size = layout.stamp_size
    size = layout.size
    blocks: list[tuple[int, list[int], list[Sequence[object] | bytes]]] = []
    stamps: list[int] = []
    rows: list[Sequence[object] | bytes] = []
    used = 0
    prev_number = prev_ns = -1
    for record in records:
        number, ns, row = _entry(layout, record)
        if size is not None:
            body = size
        else:  # variable size: encoded to be measured, and kept encoded
            row = row if isinstance(row, bytes) else layout.encode_row(row)
            body = len(row)
        continues = (
            bool(rows)
            and number == prev_number + 1
            and len(rows) < _MAX_BLOCK_RECORDS
            and (interval is None or ns == prev_ns + interval)
        )
        cost = body + (stamp_size if interval is None else 0)
        if not continues:
            cost += _BLOCK_HEADER.size + (stamp_size if interval is not None else 0)
        if used + cost > budget:
            break
        if not continues:
            stamps, rows = [], []
            blocks.append((number, stamps, rows))
        stamps.append(ns)
        rows.append(row)
        used += cost
        prev_number, prev_ns = number, ns
    data = b"".join(_block_bytes(table, layout, *block) for block in blocks)
    return data, sum(len(block[2]) for block in blocks)


@dataclass(frozen=True, slots=True)
class PackedPayload:
    """A Collect Data response body (after RespCode) built by the emulator.

    ``records_sent`` whole records went out; ``fragment_end`` is set when the payload is a
    fragment and is the offset the client will ask for next (the record size when done).
    """

    data: bytes
    more: bool
    records_sent: int
    fragment_end: int | None = None
    record_size: int | None = None


def pack_collect_payload(
    table: TableDef,
    records: Sequence[AnyRecord],
    budget: int,
    *,
    field_numbers: Sequence[int] | None = None,
    fragment_offset: int | None = None,
) -> PackedPayload:
    """Fill at most ``budget`` bytes (blocks + the MoreRecsExist byte) with ``records``.

    Whole records first; if not even one fits, or ``fragment_offset`` is given (mode 8),
    one fragment of ``records[0]`` from that offset (0 for the first).  MoreRecsExist is
    set when records remain, including the rest of a fragmented record (INFERRED).
    """
    if budget < _FRAGMENT_HEADER.size + 2:
        raise ValueError(f"a budget of {budget} bytes cannot carry any record data")
    room = budget - 1
    if fragment_offset is None and records:
        blocks, packed = pack_records(table, records, room, field_numbers=field_numbers)
        if packed:
            more = packed < len(records)
            return PackedPayload(blocks + (b"\x01" if more else b"\x00"), more, packed)
        fragment_offset = 0
    if not records:
        return PackedPayload(b"\x00", False, 0)
    assert fragment_offset is not None
    block, end, size = _fragment(
        table, records[0], fragment_offset, room - _FRAGMENT_HEADER.size, field_numbers
    )
    done = end >= size
    more = not done or len(records) > 1
    return PackedPayload(block + (b"\x01" if more else b"\x00"), more, 1 if done else 0, end, size)
