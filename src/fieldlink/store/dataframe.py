"""Records as a pandas DataFrame, for people who analyse rather than archive.

pandas is an optional extra (``pip install 'fieldlink[pandas]'``), imported only when a
DataFrame is asked for, so the collector never pays for it.  The layout follows what
the ``toa5`` reader package returns for a TOA5 file: a ``TIMESTAMP`` index (logger
local time), a ``RECORD`` column, then one column per value named like TOA5's
``Temp(1)``; with a station zone, a ``TIMESTAMP_UTC`` column (timezone-aware) is added.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fieldlink.errors import MissingExtra, UsageError
from fieldlink.pakbus.protocol.model import Record, Scalar, TableDef
from fieldlink.store.base import record_rows
from fieldlink.store.timezones import local_to_utc, parse_timezone

if TYPE_CHECKING:
    import pandas


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise MissingExtra(
            "pandas is not installed; DataFrames need it: pip install 'fieldlink[pandas]'"
        ) from None


def _guess_columns(records: list[Record]) -> tuple[list[str], list[list[Scalar]]]:
    """Column names and rows from the records themselves, when no definition is given."""
    first = records[0]
    names: list[str] = []
    for name, value in first.values.items():
        if isinstance(value, tuple):
            names += [f"{name}({i})" for i in range(1, len(value) + 1)]
        else:
            names.append(name)
    rows = []
    for r in records:
        if r.table != first.table or list(r.values) != list(first.values):
            raise UsageError(
                f"record {r.number} of {r.table} does not have the fields of "
                f"record {first.number} of {first.table}; pass the TableDef"
            )
        row = r.flat()
        if len(row) != len(names):
            raise UsageError(
                f"record {r.number} of {r.table} has {len(row)} values, "
                f"record {first.number} has {len(names)}"
            )
        rows.append(row)
    return names, rows


def records_to_dataframe(
    records: Iterable[Record],
    table: TableDef | None = None,
    *,
    timezone: str | None = None,
) -> pandas.DataFrame:
    """One row per record, indexed by ``TIMESTAMP``.

    ``table`` gives the column names and checks every record against the definition;
    without it the columns are taken from the first record.  ``timezone`` (IANA name or
    offset, as for a station) adds ``TIMESTAMP_UTC``.
    """
    pd = _pandas()
    zone = None if timezone is None else parse_timezone(timezone)
    recs = list(records)
    if table is not None:
        names = table.column_names()
        rows = record_rows(table, recs)
    elif recs:
        names, rows = _guess_columns(recs)
    else:
        names, rows = [], []
    data: dict[str, Any] = {"RECORD": pd.array([r.number for r in recs], dtype="int64")}
    if zone is not None:
        utc = pd.DatetimeIndex([local_to_utc(r.timestamp, zone) for r in recs])
        data["TIMESTAMP_UTC"] = utc.tz_localize("UTC")
    for i, name in enumerate(names):
        data[name] = [row[i] for row in rows]
    index = pd.DatetimeIndex([r.timestamp for r in recs], name="TIMESTAMP")
    return pd.DataFrame(data, index=index)
