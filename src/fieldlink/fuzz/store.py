"""Tail recovery of TOA5 and CSV files as fuzz targets: any bytes after a header."""

from __future__ import annotations

import io

from fieldlink.fuzz import Target
from fieldlink.store.tail import find_tail, record_number

_TOA5_HEADER = (
    b'"TOA5","ridge","CR1000","1234","CR1000.Std.32","CPU:x.CR1","1","Hourly"\r\n'
    b'"TIMESTAMP","RECORD","BattV","Note"\r\n"TS","RN","Volts",""\r\n"","","Min","Smp"\r\n'
)
_CSV_HEADER = b"Datetime,RecNbr,BattV,Note\r\n"


def _recover(header: bytes, data: bytes, delimiter: str) -> None:
    for quoted in (False, True):
        f = io.BytesIO(header + data)
        tail = find_tail(
            f,
            len(header),
            delimiter=delimiter,
            field_count=4,
            quoted_newlines=quoted,
            path="fuzz.dat",
        )
        if tail.row is not None:
            record_number(tail.row[1], "fuzz.dat")  # what the writer does next


def toa5_tail(data: bytes) -> None:
    """The position of a TOA5 file whose data lines are ``data``."""
    _recover(_TOA5_HEADER, data, ",")


def csv_tail(data: bytes) -> None:
    """The position of a CSV file (``;``-separated) whose data lines are ``data``."""
    _recover(_CSV_HEADER.replace(b",", b";"), data, ";")


TARGETS = (
    Target(
        "toa5-tail",
        toa5_tail,
        toa5_tail.__doc__ or "",
        (b'"2024-05-01 12:00:00",1,12.5,"a"\r\n"2024-05-01 13:00:00",2,12.4,"b\r\nc"\r\n',),
    ),
    Target("csv-tail", csv_tail, csv_tail.__doc__ or "", (b"2024-05-01 12:00:00;1;12.5;a\r\n",)),
)
