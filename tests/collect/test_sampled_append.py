"""append_next: a family that stores its own samples numbers them after the table's last."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from fieldlink.collect.sampled import append_next, table_def
from fieldlink.store import StationInfo, open_sink


def test_records_are_numbered_on_from_the_last_and_missing_fields_are_nan(tmp_path: Path) -> None:
    database = tmp_path / "samples.sqlite"
    table = table_def("Samples", [("volts", "float", "V"), ("amps", "float", "A")])
    when = dt.datetime(2026, 6, 21, 12, 0, tzinfo=dt.UTC)
    for run in range(2):  # a second run resumes the table
        sink = open_sink("sqlite", database)
        writer = sink.open_table(StationInfo("toy"), table)
        append_next(writer, when + dt.timedelta(minutes=run), {"volts": 12.5 + run})
        writer.close()
        sink.close()
    assert writer.position is not None and writer.position.record == 2
    with sqlite3.connect(database) as db:
        rows = db.execute('select record, timestamp, volts, amps from "toy_Samples"').fetchall()
    # NaN is stored as NULL by SQLite: the missing field is there, without a value.
    assert rows == [
        (1, "2026-06-21 12:00:00", 12.5, None),
        (2, "2026-06-21 12:01:00", 13.5, None),
    ]
