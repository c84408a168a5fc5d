"""Table definitions: the ``.TDF`` file and the one-way table definition (reference §8.2, §8.4).

A client reads ``.TDF`` to learn each table's number, fields and signature before it
can ask for or decode a record; an emulator builds one from its tables.  Parsing and
building live together so that ``build_tdf(parse_tdf(x)) == x`` can be checked on a
captured file, which is what keeps the two sides honest.

Two readings chosen where the sources disagree (see §8.2):

- After FieldName, Campbell's readers skip one reserved byte; others read an alias list
  of ASCIIZ strings ended by an empty one.  We *parse* the alias list (identical when there
  are no aliases, which is always the case in captures) and *build* exactly one 0x00, so
  aliases are never written.
- PieceSize is the element count of this piece (Campbell's meaning), not the manual's
  "dimension of the whole array".

Parsing bounds only the structure (at most ``MAX_DIMENSIONS`` dimensions per field); the
sizes a field declares are checked where they would be used -- compiling a record
layout, naming columns (:meth:`~fieldlink.pakbus.protocol.model.FieldDef.check_bounds`)
-- so one impossible table is a ProtocolError for that table, and the logger's other
tables can still be listed and collected.

The signature of a table is the CSI signature of its bytes from the first byte of
TableName through the field-list terminator, inclusive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from fieldlink.pakbus.protocol.model import MAX_DIMENSIONS, FieldDef, TableDef
from fieldlink.pakbus.protocol.signature import signature
from fieldlink.pakbus.protocol.wire import NSec, Reader, Writer

__all__ = [
    "FSL_VERSION",
    "TableDefSpec",
    "build_tdf",
    "make_table",
    "make_tables",
    "parse_table_definition",
    "parse_tdf",
    "table_bytes",
]

#: The only ``.TDF`` format version there is; Campbell rejects any other.
FSL_VERSION = 1

_READ_ONLY = 0x80
_WHAT = ".TDF table definitions"


@dataclass(frozen=True, slots=True)
class TableDefSpec:
    """A table as an emulator declares it: everything but its number and signature."""

    name: str
    size: int
    time_type: int
    time_into: NSec
    interval: NSec
    fields: tuple[FieldDef, ...]

    def numbered(self, number: int, sig: int) -> TableDef:
        """This table as number ``number`` of a file, with signature ``sig``."""
        return TableDef(
            self.name,
            number,
            self.size,
            self.time_type,
            self.time_into,
            self.interval,
            self.fields,
            sig,
        )

    def signed(self, number: int = 1) -> TableDef:
        """This table as number ``number``, signed over the bytes ``build_tdf`` writes."""
        return self.numbered(number, signature(table_bytes(self)))


# --- parsing ------------------------------------------------------------------------------


def _parse_field(r: Reader, field_type: int) -> FieldDef:
    name = r.text("FieldName")
    aliases = []
    while True:
        alias = r.text("AliasName")
        if not alias:
            break
        aliases.append(alias)
    processing = r.text("Processing")
    units = r.text("Units")
    description = r.text("Description")
    begin_index = r.u32("BegIdx")
    piece_size = r.u32("PieceSize")
    dims: list[int] = []
    while True:
        dim = r.u32("Dimension")
        if dim == 0:
            break
        if len(dims) == MAX_DIMENSIONS:  # no logger array has more: a corrupt file
            raise r.error(f"field {name!r} has more than {MAX_DIMENSIONS} dimensions", r.pos - 4)
        dims.append(dim)
    return FieldDef(
        name=name,
        type_code=field_type & 0x7F,
        read_only=bool(field_type & _READ_ONLY),
        processing=processing,
        units=units,
        description=description,
        begin_index=begin_index,
        piece_size=piece_size,
        dimensions=tuple(dims),
        aliases=tuple(aliases),
    )


def _parse_table(r: Reader, number: int) -> TableDef:
    start = r.pos
    name = r.text("TableName")
    if not name:
        raise r.error("empty table name", start)
    size = r.u32("TableSize")
    time_type = r.u8("TimeType")
    time_into = r.nsec("TblTimeInto")
    interval = r.nsec("TblInterval")
    fields = []
    while True:
        field_type = r.u8("FieldType")
        if field_type == 0:
            break
        if field_type == _READ_ONLY:
            raise r.error("field with data type 0", r.pos - 1)
        fields.append(_parse_field(r, field_type))
    spec = TableDefSpec(name, size, time_type, time_into, interval, tuple(fields))
    return spec.numbered(number, signature(r.data[start : r.pos]))


def parse_table_definition(
    data: bytes, offset: int = 0, *, number: int = 1
) -> tuple[TableDef, int]:
    """Parse one table definition (TableName ... terminator) at ``offset``.

    This is the per-table layout shared by ``.TDF`` and the one-way table definition
    message 0x20 (whose TableNbr precedes it and is passed as ``number``).  Returns the
    table and the offset after its terminator.  UNCERTAIN (§8.4): the manual's 0x20 layout
    omits TblInterval after TblTimeInto, almost certainly a slip; we read it, as in ``.TDF``.
    """
    r = Reader(data, _WHAT, offset)
    table = _parse_table(r, number)
    return table, r.pos


#: ``.TDF`` files up to this size are parsed once per distinct content (real ones are a
#: few KiB to a few tens of KiB); a bigger one is parsed every time rather than kept.
_CACHED_TDF_SIZE = 256 << 10
#: Distinct ``.TDF`` contents kept parsed: a fleet runs a handful of programs.
_CACHED_TDFS = 8


def parse_tdf(data: bytes) -> tuple[TableDef, ...]:
    """Parse a whole ``.TDF`` file; tables are numbered 1, 2, ... in file order.

    A collector of a fleet reads the same program's ``.TDF`` from every logger, so the
    result is kept for the last few distinct contents (keyed by the bytes): 1,000
    identical files are parsed once, and the 1,000 clients share one tuple of tables.
    Sharing is safe because the result is immutable (frozen dataclasses, tuples).
    A file that does not parse is not kept: it raises every time.
    """
    data = bytes(data)
    if len(data) > _CACHED_TDF_SIZE:
        return _parse_tdf(data)
    return _parse_tdf_cached(data)


def _parse_tdf(data: bytes) -> tuple[TableDef, ...]:
    r = Reader(data, _WHAT)
    version = r.u8("FslVersion")
    if version != FSL_VERSION:
        raise r.error(f"unsupported .TDF version {version} (only {FSL_VERSION} exists)", 0)
    tables: list[TableDef] = []
    while not r.at_end():
        tables.append(_parse_table(r, len(tables) + 1))
    return tuple(tables)


_parse_tdf_cached = lru_cache(maxsize=_CACHED_TDFS)(_parse_tdf)


# --- building -----------------------------------------------------------------------------


def _check_u32(value: int, what: str) -> None:
    if not 0 <= value < 2**32:
        raise ValueError(f"{what} {value} does not fit a UInt4")


def table_bytes(table: TableDef | TableDefSpec) -> bytes:
    """One table's definition bytes, TableName through terminator (what is signed)."""
    name = table.name
    if not name:
        raise ValueError("a table needs a name")
    _check_u32(table.size, f"table {name!r} size")
    w = Writer().asciiz(name).u32(table.size).u8(table.time_type)
    w.nsec(table.time_into).nsec(table.interval)
    for f in table.fields:
        if not 1 <= f.type_code <= 0x7F:
            raise ValueError(f"field {f.name!r}: type code {f.type_code} does not fit 7 bits")
        w.u8(f.type_code | (_READ_ONLY if f.read_only else 0))
        w.asciiz(f.name).u8(0)  # one reserved byte: the empty alias list
        w.asciiz(f.processing).asciiz(f.units).asciiz(f.description)
        _check_u32(f.begin_index, f"field {f.name!r} begin index")
        _check_u32(f.piece_size, f"field {f.name!r} piece size")
        w.u32(f.begin_index).u32(f.piece_size)
        for dim in f.dimensions:
            if not 0 < dim < 2**32:
                raise ValueError(f"field {f.name!r}: dimensions must be positive UInt4s")
            w.u32(dim)
        w.u32(0)
    return w.u8(0).bytes()


def make_table(
    name: str,
    size: int,
    time_type: int,
    time_into: NSec,
    interval: NSec,
    fields: Sequence[FieldDef],
    *,
    number: int = 1,
) -> TableDef:
    """A TableDef whose signature is computed from the bytes ``build_tdf`` will write.

    This is how an emulator gets the signature a client will send back without having to
    know the signature algorithm or the ``.TDF`` layout.
    """
    return TableDefSpec(name, size, time_type, time_into, interval, tuple(fields)).signed(number)


def make_tables(specs: Iterable[TableDefSpec | TableDef]) -> tuple[TableDef, ...]:
    """Number tables 1, 2, ... in order and sign them, as ``parse_tdf(build_tdf(specs))``."""
    return tuple(
        make_table(s.name, s.size, s.time_type, s.time_into, s.interval, s.fields, number=i)
        for i, s in enumerate(specs, start=1)
    )


def build_tdf(tables: Iterable[TableDefSpec | TableDef]) -> bytes:
    """A whole ``.TDF`` file: FslVersion 1, then each table in order.

    Table numbers and signatures of TableDefs are ignored: in the file they are implied by
    the order and the bytes.
    """
    w = Writer().u8(FSL_VERSION)
    for t in tables:
        w.raw(table_bytes(t))
    return w.bytes()
