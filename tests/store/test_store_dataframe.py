"""records_to_dataframe: the pandas view of records (optional extra)."""

from __future__ import annotations

import datetime as dt
import math
import sys
from types import SimpleNamespace

import pytest

from fieldlink.errors import FieldlinkError, MissingExtra, UsageError
from fieldlink.pakbus.protocol.model import Record
from fieldlink.store import records_to_dataframe


def test_without_pandas_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(MissingExtra, match=r"pip install 'fieldlink\[pandas\]'") as e:
        records_to_dataframe([])
    assert isinstance(e.value, FieldlinkError)


def test_columns_index_and_values(smp: SimpleNamespace) -> None:
    pd = pytest.importorskip("pandas")
    table = smp.mixed_table()
    df = records_to_dataframe([smp.mixed_record(n) for n in range(3)], table)
    assert df.index.name == "TIMESTAMP"
    assert list(df.index) == [pd.Timestamp(2024, 5, 1, 12, n) for n in range(3)]
    assert list(df.columns) == ["RECORD", *table.column_names()]
    assert list(df["RECORD"]) == [0, 1, 2]
    assert list(df["Grid(2,1)"]) == [3, 3, 3]
    assert df["TC(3)"].isna().all()
    assert list(df["Flag"]) == [True, False, True]
    assert list(df["Note"]) == ["ok"] * 3


def test_utc_column_with_a_zone(smp: SimpleNamespace) -> None:
    pd = pytest.importorskip("pandas")
    df = records_to_dataframe([smp.numeric_record(0)], smp.numeric_table(), timezone="UTC-7")
    assert df["TIMESTAMP_UTC"].iloc[0] == pd.Timestamp("2024-01-01 07:00", tz="UTC")


def test_columns_from_the_records_without_a_definition(smp: SimpleNamespace) -> None:
    pytest.importorskip("pandas")
    recs = [
        Record("T", 1, dt.datetime(2020, 1, 1), {"A": 1.5, "B": (1, 2)}),
        Record("T", 2, dt.datetime(2020, 1, 2), {"A": math.nan, "B": (3, 4)}),
    ]
    df = records_to_dataframe(recs)
    assert list(df.columns) == ["RECORD", "A", "B(1)", "B(2)"]
    assert list(df["B(2)"]) == [2, 4]
    assert math.isnan(df["A"].iloc[1])
    with pytest.raises(UsageError):
        records_to_dataframe([*recs, Record("T", 3, dt.datetime(2020, 1, 3), {"A": 1.0})])


def test_records_not_matching_the_definition(smp: SimpleNamespace) -> None:
    pytest.importorskip("pandas")
    with pytest.raises(UsageError):
        records_to_dataframe([smp.numeric_record(0)], smp.mixed_table())


def test_empty(smp: SimpleNamespace) -> None:
    pytest.importorskip("pandas")
    df = records_to_dataframe([], smp.numeric_table())
    assert len(df) == 0 and list(df.columns) == ["RECORD", "AirT", "RH"]
