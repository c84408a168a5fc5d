"""CSV sink: PyCampbellCR1000's columns (Datetime, RecNbr, fields) and delimiter."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

from fieldlink.errors import ConfigError
from fieldlink.store import CsvSink, Position, StationInfo, open_sink


def test_columns_and_default_delimiter(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    sink = open_sink("csv", tmp_path)
    with sink.open_table(station, smp.mixed_table()) as w:
        w.append([smp.mixed_record(0, note="a, b"), smp.mixed_record(1, note='say "hi"')])
        path = w.path
    assert isinstance(sink, CsvSink) and path.name == "Ridge_Mixed.csv"
    assert path.read_bytes() == (
        b'Datetime,RecNbr,BattV_Min,PTemp,TC(1),TC(2),TC(3),"Grid(1,1)","Grid(1,2)",'
        b'"Grid(2,1)","Grid(2,2)",Flag,Door,Note,Count\r\n'
        b'2024-05-01 12:00:00,0,12.5,20.25,1.5,-2.25,NAN,1,2,3,4,-1,0,"a, b",0\r\n'
        b'2024-05-01 12:01:00,1,12.51,20.25,1.5,-2.25,NAN,1,2,3,4,0,0,"say ""hi""",10\r\n'
    )


def test_read_back_as_pycampbellcr1000_update_reads_it(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    """Its ``update`` command reads the file with csv.DictReader and parses Datetime."""
    with CsvSink(tmp_path, delimiter=";").open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(n) for n in range(3)])
        path = w.path
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";", skipinitialspace=True))
    assert list(rows[0]) == ["Datetime", "RecNbr", "AirT", "RH"]
    assert [dt.datetime.strptime(r["Datetime"], "%Y-%m-%d %H:%M:%S") for r in rows] == [
        dt.datetime(2024, 1, 1, h) for h in range(3)
    ]
    assert [float(r["AirT"]) for r in rows] == [10.0, 10.25, 10.5]


def test_resume_and_torn_line_with_custom_delimiter(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    with CsvSink(tmp_path, delimiter=";").open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(n) for n in range(3)])
        path = w.path
    complete = path.read_bytes()
    with open(path, "ab") as f:
        f.write(b"2024-01-01 03:00:00;3;10.7")
    with CsvSink(tmp_path, delimiter=";").open_table(station, smp.numeric_table()) as w:
        assert w.position == Position(0x4321, 2, 1)
        assert path.read_bytes() == complete
        w.append([smp.numeric_record(n) for n in range(5)])
    with open(path, newline="") as f:
        assert [r["RecNbr"] for r in csv.DictReader(f, delimiter=";")] == ["0", "1", "2", "3", "4"]


def test_changing_the_delimiter_starts_a_new_file(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    with CsvSink(tmp_path).open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(0)])
    with CsvSink(tmp_path, delimiter="\t").open_table(station, smp.numeric_table()) as w2:
        assert w2.path != w.path and w2.position is None


def test_program_change_with_same_columns_is_a_new_version(
    smp: SimpleNamespace, tmp_path: Path
) -> None:
    """The CSV header cannot show a new program; the versions index does."""
    with CsvSink(tmp_path).open_table(
        StationInfo("S", program_signature=1), smp.numeric_table()
    ) as w:
        w.append([smp.numeric_record(9)])
    with CsvSink(tmp_path).open_table(
        StationInfo("S", program_signature=2), smp.numeric_table()
    ) as w2:
        assert w2.version == 2 and w2.position is None


@pytest.mark.parametrize("delimiter", ["", ";;", '"', "\n"])
def test_bad_delimiter(tmp_path: Path, delimiter: str) -> None:
    with pytest.raises(ConfigError):
        CsvSink(tmp_path, delimiter=delimiter)


def test_csv_and_toa5_write_each_value_in_loggernets_form(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    """The same record in a CSV and a TOA5 file: cell for cell the same text once each
    format's quoting is read (issue 12: no more 14:07:07.600000 vs .6, False vs 0)."""
    from fieldlink.pakbus.protocol.model import Record
    from fieldlink.store import Toa5Sink

    base = smp.mixed_record(0, note="x")
    record = Record(base.table, 7, dt.datetime(2024, 5, 1, 14, 7, 7, 600000), base.values)
    with CsvSink(tmp_path / "c").open_table(station, smp.mixed_table()) as w:
        w.append([record])
        csv_path = w.path
    with Toa5Sink(tmp_path / "t").open_table(station, smp.mixed_table()) as w:
        w.append([record])
        toa5_path = w.path
    csv_row = list(csv.reader(csv_path.open(newline="")))[1]
    toa5_row = list(csv.reader(toa5_path.open(newline="")))[4]
    assert csv_row == toa5_row
    assert csv_row[0] == "2024-05-01 14:07:07.6"
    assert "-1" in csv_row and "NAN" in csv_row and "True" not in csv_row
