"""TOA5 files, as LoggerNet writes them, so every TOA5 tool reads ours.

Four header lines, every cell quoted::

    "TOA5","station","model","serial","os version","program name","program signature","table"
    "TIMESTAMP","RECORD","Batt_Volt_Avg","Temp(1)","Temp(2)"
    "TS","RN","Volts","Deg C","Deg C"
    "","","Avg","Smp","Smp"

then one CRLF-terminated line per record: ``"2012-07-26 13:40:00",89052,13.61,...``
(see :mod:`fieldlink.store.formatting` for how each value is spelled).  Only one
table per file; a changed definition gets a new file (see :mod:`fieldlink.store.files`).
"""

from __future__ import annotations

from fieldlink.pakbus.protocol.model import Record, Scalar, TableDef
from fieldlink.store.base import Column, StationInfo, columns
from fieldlink.store.files import FileSink
from fieldlink.store.formatting import CRLF, LineFormat, quote


def toa5_header(station: StationInfo, table: TableDef) -> str:
    cols = columns(table)
    signature = "" if station.program_signature is None else str(station.program_signature)
    lines = [
        [
            "TOA5",
            station.name,
            station.model,
            station.serial_number,
            station.os_version,
            station.program_name,
            signature,
            table.name,
        ],
        ["TIMESTAMP", "RECORD", *(c.name for c in cols)],
        ["TS", "RN", *(c.field.units for c in cols)],
        ["", "", *(c.field.processing for c in cols)],
    ]
    return "".join(",".join(quote(cell) for cell in line) + CRLF for line in lines)


def toa5_format(cols: list[Column]) -> LineFormat:
    """The data lines of a table with these columns."""
    return LineFormat([c.field.type_code for c in cols], toa5=True)


def toa5_line(record: Record, row: list[Scalar], cols: list[Column]) -> str:
    """One data line (a writer of many lines keeps one :func:`toa5_format` instead)."""
    return toa5_format(cols).line(record.timestamp, record.number, row)


class Toa5Sink(FileSink):
    """One TOA5 ``.dat`` file per station, table and definition version."""

    kind = "toa5"
    extension = ".dat"
    delimiter = ","

    def header(self, station: StationInfo, table: TableDef) -> bytes:
        return toa5_header(station, table).encode("utf-8")

    def line_format(self, cols: list[Column]) -> LineFormat:
        return toa5_format(cols)
