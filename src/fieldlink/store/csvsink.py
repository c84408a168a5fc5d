"""CSV files with the columns PyCampbellCR1000's ``pycr1000 getdata`` writes.

Its files have one header line ``Datetime,RecNbr,<field>,...`` and one line per record,
written by Python's csv module (minimal quoting, CRLF line ends), time stamps as
``str(datetime)`` (``2012-07-26 13:40:00``) and ``,`` as the default delimiter (its
``--delim`` option changes it; so does ours).  Users of its ``update`` command and
their spreadsheets can switch to fieldlink and keep their files.

Deliberate differences: array fields are expanded to one column per element named
like TOA5's ``Name(1)`` (PyCampbellCR1000 keeps only the first element), and values
are written as LoggerNet writes them in TOA5 (see :mod:`fieldlink.store.formatting`):
4-byte floats with 7 significant digits instead of 17, booleans ``-1``/``0``, ``NAN``,
time stamps with a trimmed fraction (``2024-05-01 14:07:07.6``).
"""

from __future__ import annotations

import os

from fieldlink.errors import ConfigError
from fieldlink.pakbus.protocol.model import TableDef
from fieldlink.store.base import Column, StationInfo, columns
from fieldlink.store.files import FileSink
from fieldlink.store.formatting import LineFormat, csv_line


class CsvSink(FileSink):
    """One ``.csv`` file per station, table and definition version."""

    kind = "csv"
    extension = ".csv"

    def __init__(self, directory: str | os.PathLike[str], *, delimiter: str = ",") -> None:
        if len(delimiter) != 1 or delimiter in '"\r\n':
            raise ConfigError(
                f"CSV delimiter must be one character other than a quote or "
                f"line break, not {delimiter!r}"
            )
        self.delimiter = delimiter
        super().__init__(directory)

    def _line(self, cells: list[str]) -> bytes:
        return csv_line(cells, self.delimiter).encode("utf-8")

    def header(self, station: StationInfo, table: TableDef) -> bytes:
        return self._line(["Datetime", "RecNbr", *(c.name for c in columns(table))])

    def line_format(self, cols: list[Column]) -> LineFormat:
        return LineFormat([c.field.type_code for c in cols], toa5=False, delimiter=self.delimiter)
