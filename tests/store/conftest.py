"""Table definitions, records and fixtures shared by the sink tests.

The builders are plain functions; tests reach them through the ``smp`` fixture
(the suite imports test modules with ``--import-mode=importlib``, so a helper
module cannot be imported by name).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from fieldlink.pakbus.protocol.model import FieldDef, Record, TableDef, Value
from fieldlink.pakbus.protocol.wire import NSec
from fieldlink.store import StationInfo

# Table1 of the CR1000 .TDF in vectors §V11 (all FP2, processing Avg), signature 40615.
V11_TABLE1_FIELDS = (
    ("Batt_Volt_Avg", "Volts"),
    ("Ref5V_mVolt_Avg", "Volts"),
    ("CurSensor1_mVolt_Avg", "mVolts"),
    ("CurSensor2_mVolt_Avg", "mVolts"),
    ("CurSensor3_mVolt_Avg", "mVolts"),
    ("CurSensor4_mVolt_Avg", "mVolts"),
    ("CurSensor1_mAmp_Avg", "mA"),
    ("CurSensor2_mAmp_Avg", "mA"),
    ("CurSensor3_mAmp_Avg", "mA"),
    ("CurSensor4_mAmp_Avg", "mA"),
)


def v11_table1() -> TableDef:
    return TableDef(
        name="Table1",
        number=2,
        size=191987,
        time_type=14,
        time_into=NSec(0, 0),
        interval=NSec(60, 0),
        fields=tuple(FieldDef(n, 7, processing="Avg", units=u) for n, u in V11_TABLE1_FIELDS),
        signature=40615,
    )


def mixed_table(signature: int = 0x1234, *, extra: bool = False) -> TableDef:
    """Scalars of several types, a 1-D and a 2-D array, a string and booleans."""
    fields = [
        FieldDef("BattV_Min", 7, processing="Min", units="Volts"),
        FieldDef("PTemp", 9, processing="Smp", units="Deg C"),
        FieldDef("TC", 9, processing="Avg", units="Deg C", piece_size=3, dimensions=(3,)),
        FieldDef("Grid", 5, processing="Smp", units="", piece_size=4, dimensions=(2, 2)),
        FieldDef("Flag", 28, processing="Smp"),
        FieldDef("Door", 10, processing="Smp"),
        FieldDef("Note", 16, processing="Smp", units="text", piece_size=32, dimensions=(32,)),
        FieldDef("Count", 6, processing="Tot", units="n"),
    ]
    if extra:
        fields.append(FieldDef("WS_ms", 9, processing="Avg", units="meters/second"))
    return TableDef(
        name="Mixed",
        number=3,
        size=1000,
        time_type=14,
        time_into=NSec(0, 0),
        interval=NSec(0, 0),
        fields=tuple(fields),
        signature=signature,
    )


def numeric_table(signature: int = 0x4321) -> TableDef:
    return TableDef(
        name="Hourly",
        number=4,
        size=1000,
        time_type=14,
        time_into=NSec(0, 0),
        interval=NSec(3600, 0),
        signature=signature,
        fields=(
            FieldDef("AirT", 9, processing="Avg", units="Deg C"),
            FieldDef("RH", 7, processing="Smp", units="%"),
        ),
    )


def mixed_record(n: int, *, note: str = "ok", extra: bool = False) -> Record:
    values: dict[str, Value] = {
        "BattV_Min": 12.5 + n / 100,
        "PTemp": 20.25,
        "TC": (1.5, -2.25, float("nan")),
        "Grid": (1, 2, 3, 4),
        "Flag": n % 2 == 0,
        "Door": False,
        "Note": note,
        "Count": n * 10,
    }
    if extra:
        values["WS_ms"] = 3.5
    return Record("Mixed", n, dt.datetime(2024, 5, 1, 12, 0) + dt.timedelta(minutes=n), values)


def numeric_record(n: int) -> Record:
    return Record(
        "Hourly",
        n,
        dt.datetime(2024, 1, 1) + dt.timedelta(hours=n),
        {"AirT": 10 + n / 4, "RH": 50.5},
    )


@pytest.fixture
def smp() -> SimpleNamespace:
    return SimpleNamespace(
        v11_table1=v11_table1,
        mixed_table=mixed_table,
        mixed_record=mixed_record,
        numeric_table=numeric_table,
        numeric_record=numeric_record,
    )


@pytest.fixture
def station() -> StationInfo:
    return StationInfo(
        name="Ridge",
        model="CR1000",
        serial_number="1031",
        os_version="CR1000.Std.32",
        program_name="CPU:ridge.CR1",
        program_signature=4062,
        timezone="+01:00",
    )


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory in which nothing can be created, even by root.

    Unprivileged: a chmod 555 directory.  As root (containers) permissions do not
    apply, so the kernel's read-only sysfs directory is used instead.
    """
    if os.geteuid() != 0:
        d = tmp_path / "ro"
        d.mkdir()
        d.chmod(0o555)
        yield d
        d.chmod(0o755)
    elif os.path.isdir("/sys/fs") and _cannot_create("/sys/fs"):
        yield Path("/sys/fs")
    else:
        pytest.skip("no read-only directory available as root")


def _cannot_create(directory: str) -> bool:
    probe = os.path.join(directory, "fieldlink-probe")
    try:
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except OSError:
        return True
    os.close(fd)
    os.unlink(probe)
    return False
