"""Storing what a family samples itself (``fieldlink tracer log``, the Batlab recorder).

The collector numbers and stores records for sampled instruments on its own
(:mod:`fieldlink.collect.sampled`); a family command that writes to a sink directly
appends the same way: one record per sample, numbered after the table's last.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

from fieldlink.pakbus.protocol.model import Record, Value
from fieldlink.store.base import TableWriter

__all__ = ["append_next"]


def append_next(writer: TableWriter, when: dt.datetime, values: Mapping[str, Value]) -> None:
    """Append ``values`` as the table's next record, stamped ``when`` (naive, local).

    A field of the table missing from ``values`` is stored as NaN (a sample the
    instrument did not give); keys the table does not have are left out.
    """
    position = writer.position
    number = 1 if position is None else position.record + 1
    row = {f.name: values.get(f.name, math.nan) for f in writer.table.fields}
    writer.append([Record(writer.table.name, number, when.replace(tzinfo=None), row)])
