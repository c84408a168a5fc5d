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
from fieldlink.store.formatting import CRLF, quote, toa5_timestamp, toa5_value


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


def toa5_line(record: Record, row: list[Scalar], cols: list[Column]) -> str:
    cells = [quote(toa5_timestamp(record.timestamp)), str(record.number)]
    cells += [toa5_value(v, c.field.type_code) for v, c in zip(row, cols, strict=True)]
    return ",".join(cells) + CRLF


class Toa5Sink(FileSink):
    """One TOA5 ``.dat`` file per station, table and definition version."""

    kind = "toa5"
    extension = ".dat"
    delimiter = ","

    def header(self, station: StationInfo, table: TableDef) -> bytes:
        return toa5_header(station, table).encode("utf-8")

    def data_line(self, record: Record, row: list[Scalar], cols: list[Column]) -> bytes:
        return toa5_line(record, row, cols).encode("utf-8")
