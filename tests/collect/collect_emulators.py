"""Emulated stations for the end-to-end collection tests, and ground-truth checks.

Small tables keep the tests fast: a one-minute table with an FP2, a two-element
IEEE4 array and a string, so every value path (float formats, arrays, text) is
crossed on the way from the emulator to each sink and compared back.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from fieldlink.collect.config import SinkSpec, StationConfig
from fieldlink.pakbus.emulator import LoggerEmulator
from fieldlink.pakbus.emulator.config import StationConfig as EmulatedStation
from fieldlink.pakbus.emulator.config import load_station
from fieldlink.pakbus.emulator.station import ManualClock
from fieldlink.pakbus.protocol.model import Record

START = dt.datetime(2024, 5, 1, 12, 0, 30)

SMALL = """\
station_name = "{name}"
records = {records}

[[tables]]
name = "Small"
interval = 60
size = {size}

[[tables.fields]]
name = "BattV_Min"
type = "FP2"
processing = "Min"
units = "Volts"

[[tables.fields]]
name = "Temp_C"
type = "IEEE4"
dims = [2]
units = "Deg C"

[[tables.fields]]
name = "Msg"
type = "String"
length = 12
{extra}"""

EXTRA_FIELD = """
[[tables.fields]]
name = "RH"
type = "FP2"
units = "%"
"""


def small_station(
    directory: Path,
    name: str = "ridge",
    *,
    records: int = 200,
    size: int = 1000,
    extra_field: bool = False,
) -> EmulatedStation:
    """An emulated station whose program has one data table, ``Small``."""
    path = directory / f"{name}{'-v2' if extra_field else ''}.toml"
    path.write_text(
        SMALL.format(
            name=name, records=records, size=size, extra=EXTRA_FIELD if extra_field else ""
        )
    )
    return load_station(path)


def emulator(
    directory: Path,
    name: str = "ridge",
    *,
    records: int = 200,
    size: int = 1000,
    clock: Callable[[], float] | None = None,
    faults: str | None = None,
    seed: int = 0,
) -> LoggerEmulator:
    return LoggerEmulator(
        station=small_station(directory, name, records=records, size=size),
        listen="127.0.0.1:0",
        clock=clock or ManualClock(START),
        faults=faults,
        seed=seed,
        compile_seconds=0.05,
    )


@contextmanager
def running(emulators: Sequence[LoggerEmulator]) -> Iterator[list[str]]:
    """Serve every emulator (each on its own thread); yield their URLs."""
    with ExitStack() as stack:
        urls = []
        for emu in emulators:
            stack.enter_context(emu.running())
            assert emu.url is not None
            urls.append(emu.url)
        yield urls


def station_for(url: str, directory: Path, name: str = "ridge", **kw: object) -> StationConfig:
    """A collector configuration writing to SQLite, TOA5 and CSV under ``directory``."""
    base: dict[str, object] = {
        "name": name,
        "url": url,
        "tables": ("Small",),
        "clock": None,
        "batch_size": 25,
        "timeout": 3.0,
        "sinks": (
            SinkSpec("sqlite", directory / "all.sqlite"),
            SinkSpec("toa5", directory / "toa5"),
            SinkSpec("csv", directory / "csv"),
        ),
    }
    base.update(kw)
    return StationConfig(**base)  # type: ignore[arg-type]


# --- reading the store back -------------------------------------------------------------------


def sqlite_records(
    db_path: Path, station: str, table: str = "Small", version: int = 1
) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as db:
        row = db.execute(
            "SELECT sql_table FROM table_versions WHERE station = ? AND "
            "table_name = ? AND version = ?",
            (station, table, version),
        ).fetchone()
        assert row is not None, f"no version {version} of {station} {table}"
        quoted = '"' + str(row[0]).replace('"', '""') + '"'
        return list(db.execute(f'SELECT * FROM {quoted} ORDER BY "record"'))


def text_numbers(path: Path, header_lines: int) -> list[int]:
    import csv

    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[header_lines:]
    return [int(r[1]) for r in rows]


def assert_sqlite_matches(truth: Sequence[Record], rows: Sequence[tuple[object, ...]]) -> None:
    """Every record of ``truth`` is in ``rows``, once, with the same stamp and values."""
    by_number = {r[0]: r for r in rows}
    assert len(by_number) == len(rows), "a record number is stored twice"
    for record in truth:
        row = by_number.get(record.number)
        assert row is not None, f"record {record.number} is missing"
        assert row[1] == record.timestamp.isoformat(sep=" "), record.number
        for want, got in zip(record.flat(), row[3:], strict=True):
            if isinstance(want, float) and math.isnan(want):
                assert got is None
            elif isinstance(want, bool):
                assert got == int(want)
            else:
                assert got == want, (record.number, want, got)
