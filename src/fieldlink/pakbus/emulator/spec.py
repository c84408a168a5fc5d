"""What an emulated logger's program declares: its Public variables and its data tables.

Three sources describe a station's tables -- the built-in default station, a
``--station`` TOML file and a CRBasic program sent with File Send -- and all three
produce these specs, so the emulator's state (:mod:`fieldlink.pakbus.emulator.station`)
has one shape to work from.  A spec is what the program *says*; the table number
and signature a client sees come later, from :mod:`fieldlink.pakbus.protocol.tabledef`.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from fieldlink.pakbus.protocol.model import FieldDef
from fieldlink.pakbus.protocol.types import DataType

__all__ = [
    "NS_PER_S",
    "PROCESSING_SUFFIXES",
    "FieldSpec",
    "ProgramSpec",
    "TableSpec",
    "source_name",
]

NS_PER_S = 1_000_000_000

#: Output processing -> the suffix CRBasic appends to the source variable's name.
PROCESSING_SUFFIXES = {
    "Smp": "",
    "Avg": "_Avg",
    "Max": "_Max",
    "Min": "_Min",
    "Tot": "_Tot",
    "Std": "_Std",
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a table (or one Public variable).

    ``dims`` are the TDF dimensions: empty for a scalar, the array shape otherwise; for
    strings the last dimension is the length in characters.  ``source`` is the program
    variable the field is made from; the value generator picks its kind of signal
    (battery, temperature, wind ...) from that name.
    """

    name: str
    type_code: int
    processing: str = ""
    units: str = ""
    description: str = ""
    dims: tuple[int, ...] = ()
    read_only: bool = True
    source: str = ""

    @property
    def is_string(self) -> bool:
        return self.type_code in (DataType.ASCII, DataType.ASCIIZ)

    @property
    def piece_size(self) -> int:
        return prod(self.dims) if self.dims else 1

    @property
    def string_length(self) -> int:
        """Characters per string (strings only)."""
        return self.dims[-1] if self.dims else 1

    @property
    def element_count(self) -> int:
        """Values in one record: array elements, or strings for a string field."""
        if self.is_string:
            return prod(self.dims[:-1]) if len(self.dims) > 1 else 1
        return self.piece_size

    @property
    def variable(self) -> str:
        """The program variable behind the field (its own name when none is recorded)."""
        return self.source or source_name(self.name, self.processing)

    def field_def(self) -> FieldDef:
        return FieldDef(
            name=self.name,
            type_code=self.type_code,
            read_only=self.read_only,
            processing=self.processing,
            units=self.units,
            description=self.description,
            begin_index=1,
            piece_size=self.piece_size,
            dimensions=self.dims,
        )


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A data table: interval (or event) table with a fixed ring size.

    ``interval_ns`` 0 makes an *event* table (each record carries its own time stamp on
    the wire); the emulator then stores one record every ``every_ns``, at a time jittered
    inside that period, standing in for whatever triggers it on a real logger.
    """

    name: str
    interval_ns: int
    size: int
    fields: tuple[FieldSpec, ...]
    time_into_ns: int = 0
    every_ns: int = 0

    @property
    def cadence_ns(self) -> int:
        """How often a record is stored."""
        return self.interval_ns or self.every_ns

    @property
    def is_event(self) -> bool:
        return self.interval_ns == 0


@dataclass(frozen=True, slots=True)
class ProgramSpec:
    """What a running program declares: Public variables, data tables and its scan rate."""

    public: tuple[FieldSpec, ...]
    tables: tuple[TableSpec, ...]
    scan_ns: int = NS_PER_S


def source_name(field_name: str, processing: str) -> str:
    """The variable a CRBasic output field is named after (``AirTC_Avg`` -> ``AirTC``)."""
    suffix = PROCESSING_SUFFIXES.get(processing, "")
    if suffix and field_name.endswith(suffix) and len(field_name) > len(suffix):
        return field_name[: -len(suffix)]
    return field_name
