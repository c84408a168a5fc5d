"""TOA5 sink: LoggerNet's exact format, read back by the published ``toa5`` reader (pytoa5)."""

from __future__ import annotations

import csv
import datetime as dt
import errno
import json
import os
import struct
from pathlib import Path
from types import SimpleNamespace

import pytest

from fieldlink.errors import StoreError, UsageError
from fieldlink.pakbus.protocol.model import FieldDef, Record, TableDef
from fieldlink.pakbus.protocol.wire import NSec
from fieldlink.store import Hole, Position, StationInfo, Toa5Sink, open_sink

toa5 = pytest.importorskip("toa5")

# vectors §V13: Collect Data response body from a CR1000, Table1 records 89052..89057.
V13 = bytes.fromhex(
    "00 02 00 01 5B DC 00 06 2A 72 AB 30 00 00 00 00 45 51 13 90 09 CA 09 B1 "
    "09 CB 09 DE A7 E0 BE AC 47 74 24 BD 45 51 13 90 09 CA 09 B1 09 CB 09 DE "
    "A7 DB BE A4 47 50 24 C7 45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 D5 BE B0 "
    "47 6F 24 BF 45 51 13 90 09 CB 09 B1 09 CB 09 DE A7 B0 BE B6 47 4A 24 C2 "
    "45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 D0 BE AD 47 CB 24 BD 45 51 13 90 "
    "09 CA 09 B1 09 CB 09 DE A7 C8 BE D4 47 64 24 B3 00"
)


def fp2(word: int) -> float:
    """FP2 as pakbus.md §10 defines it (sign bit 15, decimals bits 14..13, mantissa 12..0)."""
    sign = -1 if word & 0x8000 else 1
    return sign * (word & 0x1FFF) / 10 ** ((word >> 13) & 3)


def v13_records(smp: SimpleNamespace) -> list[Record]:
    table = smp.v11_table1()
    names = [f.name for f in table.fields]
    first = dt.datetime(1990, 1, 1) + dt.timedelta(seconds=int.from_bytes(V13[8:12], "big"))
    out = []
    for i in range(6):
        words = struct.unpack(">10H", V13[16 + 20 * i : 36 + 20 * i])
        out.append(
            Record(
                "Table1",
                89052 + i,
                first + dt.timedelta(minutes=i),
                dict(zip(names, (fp2(w) for w in words), strict=True)),
            )
        )
    return out


def f32(x: float) -> float:
    return float(struct.unpack(">f", struct.pack(">f", x))[0])


def read_back(path: Path) -> tuple[toa5.FileHeader, list[list[str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        header = toa5.read_header(reader)
        return header, list(reader)


# --- the format, byte for byte ----------------------------------------------------------------


def test_v13_records_written_as_loggernet_writes_them(smp: SimpleNamespace, tmp_path: Path) -> None:
    st = StationInfo("CR1000", "CR1000", "1031", "CR1000.Std.24", "CPU:CR1000_LABO.CR1", 4062)
    with Toa5Sink(tmp_path) as sink, sink.open_table(st, smp.v11_table1()) as w:
        w.append(v13_records(smp))
        path = w.path
    assert path.name == "CR1000_Table1.dat"
    assert path.read_bytes() == (
        b'"TOA5","CR1000","CR1000","1031","CR1000.Std.24","CPU:CR1000_LABO.CR1","4062","Table1"\r\n'
        b'"TIMESTAMP","RECORD","Batt_Volt_Avg","Ref5V_mVolt_Avg","CurSensor1_mVolt_Avg",'
        b'"CurSensor2_mVolt_Avg","CurSensor3_mVolt_Avg","CurSensor4_mVolt_Avg",'
        b'"CurSensor1_mAmp_Avg","CurSensor2_mAmp_Avg","CurSensor3_mAmp_Avg",'
        b'"CurSensor4_mAmp_Avg"\r\n'
        b'"TS","RN","Volts","Volts","mVolts","mVolts","mVolts","mVolts","mA","mA","mA","mA"\r\n'
        b'"","","Avg","Avg","Avg","Avg","Avg","Avg","Avg","Avg","Avg","Avg"\r\n'
        b'"2012-07-26 13:40:00",89052,13.61,5008,2506,2481,2507,2526,-201.6,-785.2,19.08,121.3\r\n'
        b'"2012-07-26 13:41:00",89053,13.61,5008,2506,2481,2507,2526,-201.1,-784.4,18.72,122.3\r\n'
        b'"2012-07-26 13:42:00",89054,13.61,5008,2506,2481,2507,2526,-200.5,-785.6,19.03,121.5\r\n'
        b'"2012-07-26 13:43:00",89055,13.61,5008,2507,2481,2507,2526,-196.8,-786.2,18.66,121.8\r\n'
        b'"2012-07-26 13:44:00",89056,13.61,5008,2506,2481,2507,2526,-200,-785.3,19.95,121.3\r\n'
        b'"2012-07-26 13:45:00",89057,13.61,5008,2506,2481,2507,2526,-199.2,-789.2,18.92,120.3\r\n'
    )


def test_header_with_arrays_strings_and_booleans(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    with Toa5Sink(tmp_path) as sink, sink.open_table(station, smp.mixed_table()) as w:
        w.append([smp.mixed_record(0)])
        lines = w.path.read_bytes().split(b"\r\n")
    assert lines[:5] == [
        b'"TOA5","Ridge","CR1000","1031","CR1000.Std.32","CPU:ridge.CR1","4062","Mixed"',
        b'"TIMESTAMP","RECORD","BattV_Min","PTemp","TC(1)","TC(2)","TC(3)","Grid(1,1)",'
        b'"Grid(1,2)","Grid(2,1)","Grid(2,2)","Flag","Door","Note","Count"',
        b'"TS","RN","Volts","Deg C","Deg C","Deg C","Deg C","","","","","","","text","n"',
        b'"","","Min","Smp","Avg","Avg","Avg","Smp","Smp","Smp","Smp","Smp","Smp","Smp","Tot"',
        b'"2024-05-01 12:00:00",0,12.5,20.25,1.5,-2.25,"NAN",1,2,3,4,-1,0,"ok",0',
    ]
    assert lines[5:] == [b""]


def test_special_values(tmp_path: Path, station: StationInfo) -> None:
    table = TableDef(
        "Special",
        1,
        10,
        14,
        NSec(),
        NSec(),
        signature=7,
        fields=(
            FieldDef("A", 9, piece_size=9, dimensions=(9,)),
            FieldDef("D", 18, piece_size=2, dimensions=(2,)),
            FieldDef("S", 16, piece_size=40),
            FieldDef("B", 28, piece_size=2, dimensions=(2,)),
        ),
    )
    values = (
        f32(26.58174),
        f32(965.8099),
        f32(-9.825724),
        f32(1.5e-05),
        f32(12345678.0),
        float("inf"),
        float("-inf"),
        -0.0,
        5008.0,
    )
    rec = Record(
        "Special",
        3,
        dt.datetime(1995, 9, 19, 14, 31, 43, 840000),
        {"A": values, "D": (0.1 + 0.2, 2.0), "S": 'say "NAN", then\tgo', "B": (True, False)},
    )
    rec2 = Record(
        "Special",
        4,
        dt.datetime(1995, 9, 19, 14, 31, 43, 500),
        {"A": (0.0,) * 9, "D": (1e300, -3.5), "S": "", "B": (False, True)},
    )
    with Toa5Sink(tmp_path) as sink, sink.open_table(station, table) as w:
        w.append([rec, rec2])
        lines = w.path.read_bytes().split(b"\r\n")[4:]
    assert lines == [
        b'"1995-09-19 14:31:43.84",3,26.58174,965.8099,-9.825724,1.5E-05,1.234568E+07,'
        b'"INF","-INF",0,5008,0.30000000000000004,2,"say ""NAN"", then\tgo",-1,0',
        b'"1995-09-19 14:31:43.0005",4,0,0,0,0,0,0,0,0,0,1E+300,-3.5,"",0,-1',
        b"",
    ]


def test_read_back_with_the_toa5_package(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    with Toa5Sink(tmp_path) as sink, sink.open_table(station, smp.mixed_table()) as w:
        w.append([smp.mixed_record(n, note='a "quoted", word') for n in range(3)])
        path = w.path
    header, rows = read_back(path)
    assert header.env_line == toa5.EnvironmentLine(
        station_name="Ridge",
        logger_model="CR1000",
        logger_serial="1031",
        logger_os="CR1000.Std.32",
        program_name="CPU:ridge.CR1",
        program_sig="4062",
        table_name="Mixed",
    )
    assert [c.name for c in header.columns][:5] == [
        "TIMESTAMP",
        "RECORD",
        "BattV_Min",
        "PTemp",
        "TC(1)",
    ]
    assert header.columns[2] == toa5.ColumnHeader("BattV_Min", "Volts", "Min")
    assert [r[1] for r in rows] == ["0", "1", "2"]
    assert rows[1][13] == 'a "quoted", word'
    df = toa5.read_pandas(path, col_trans=lambda c: c.name)
    assert list(df["RECORD"]) == [0, 1, 2]
    assert df["TC(3)"].isna().all()
    assert list(df["TC(2)"]) == [-2.25] * 3
    assert list(df["Flag"]) == [-1, 0, -1]
    assert str(df.index[2]) == "2024-05-01 12:02:00"


# --- position, resume and crashes -------------------------------------------------------------


def test_resume_after_reopen_from_the_file_tail(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    sink = Toa5Sink(tmp_path)
    w = sink.open_table(station, smp.mixed_table())
    assert w.position is None
    w.append([smp.mixed_record(n) for n in range(5)])
    assert w.position == Position(0x1234, 4, 1)
    w.close()
    w = Toa5Sink(tmp_path).open_table(station, smp.mixed_table())
    assert w.position == Position(0x1234, 4, 1)
    w.append([smp.mixed_record(n) for n in range(3, 8)])  # overlaps the stored 3 and 4
    w.close()
    _, rows = read_back(w.path)
    assert [int(r[1]) for r in rows] == list(range(8))


def test_rerun_of_the_same_batch_stores_nothing_twice(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    with Toa5Sink(tmp_path) as sink, sink.open_table(station, smp.numeric_table()) as w:
        batch = [smp.numeric_record(n) for n in (3, 1, 2, 2)]
        w.append(batch)
        size = w.path.stat().st_size
        w.append(batch)
        assert w.path.stat().st_size == size
        assert w.position is not None and w.position.record == 3
    _, rows = read_back(w.path)
    assert [r[1] for r in rows] == ["1", "2", "3"]
    log = (tmp_path / "collection.log").read_text()
    assert "1 records already stored or repeated" in log  # the repeated 2
    assert "4 records already stored or repeated" in log  # the whole rerun


@pytest.mark.parametrize("kind", ["numeric", "mixed"])
def test_torn_last_line_is_cut_away(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo, kind: str
) -> None:
    table = getattr(smp, f"{kind}_table")()
    rec = getattr(smp, f"{kind}_record")
    with Toa5Sink(tmp_path) as sink, sink.open_table(station, table) as w:
        w.append([rec(n) for n in range(3)])
        path = w.path
    complete = path.read_bytes()
    with open(path, "ab") as f:  # a crash in the middle of writing record 3
        f.write(b'"2024-05-01 12:03:00",3,12.5')
    w = Toa5Sink(tmp_path).open_table(station, table)
    assert w.position is not None and w.position.record == 2
    assert path.read_bytes() == complete
    w.append([rec(n) for n in range(2, 5)])
    w.close()
    _, rows = read_back(path)
    assert [int(r[1]) for r in rows] == [0, 1, 2, 3, 4]
    assert "torn line removed" in (tmp_path / "collection.log").read_text()


def test_torn_inside_a_quoted_line_break(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    table = smp.mixed_table()
    with Toa5Sink(tmp_path) as sink, sink.open_table(station, table) as w:
        w.append(
            [smp.mixed_record(0, note="line one\r\nline two"), smp.mixed_record(1, note="x\r\ny")]
        )
        path = w.path
    complete = path.read_bytes()
    full = Toa5Sink(tmp_path / "other")
    with full.open_table(station, table) as w2:
        w2.append([smp.mixed_record(2, note="a\r\nb")])
        line2 = w2.path.read_bytes().split(b"\r\n", 4)[4]
    cut = line2.index(b"\r\n") + 2  # the write stopped just after the quoted line break
    with open(path, "ab") as f:
        f.write(line2[:cut])
    w = Toa5Sink(tmp_path).open_table(station, table)
    assert w.position is not None and w.position.record == 1
    assert path.read_bytes() == complete
    w.close()


def test_nul_filled_tail_from_a_crash_is_cut(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    with Toa5Sink(tmp_path) as sink, sink.open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(n) for n in range(2)])
        path = w.path
    complete = path.read_bytes()
    with open(path, "ab") as f:
        f.write(b"\0" * 300)
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w:
        assert w.position is not None and w.position.record == 1
    assert path.read_bytes() == complete


def test_foreign_last_line_is_refused_not_guessed(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    with Toa5Sink(tmp_path) as sink, sink.open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(0)])
        path = w.path
    with open(path, "ab") as f:
        f.write(b"edited by hand\r\n")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a record of this table"):
        Toa5Sink(tmp_path).open_table(station, smp.numeric_table())
    assert path.read_bytes() == before


def test_header_only_file_has_no_position(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w:
        pass
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w:
        assert w.position is None
        assert w.path.read_bytes().count(b"\r\n") == 4


# --- versions ---------------------------------------------------------------------------------


def test_changed_definition_starts_a_new_file(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    sink = Toa5Sink(tmp_path)
    with sink.open_table(station, smp.mixed_table()) as w1:
        w1.append([smp.mixed_record(n) for n in range(4)])
    old = w1.path.read_bytes()
    with sink.open_table(station, smp.mixed_table(0x5678, extra=True)) as w2:
        assert w2.version == 2 and w2.position is None
        assert w2.path != w1.path and w2.path.name.startswith("Ridge_Mixed_v2_")
        w2.append([smp.mixed_record(0, extra=True)])
    assert w1.path.read_bytes() == old
    header, rows = read_back(w2.path)
    assert header.columns[-1].name == "WS_ms" and len(rows) == 1
    # the same new definition resumes version 2 ...
    with Toa5Sink(tmp_path).open_table(station, smp.mixed_table(0x5678, extra=True)) as w:
        assert (w.version, w.path) == (2, w2.path)
        assert w.position == Position(0x5678, 0, 2)
    # ... and going back to the first program is a third version, never version 1 again
    with Toa5Sink(tmp_path).open_table(station, smp.mixed_table()) as w:
        assert w.version == 3 and w.position is None
    versions = json.loads((tmp_path / "fieldlink-toa5-versions.json").read_text())["versions"]
    assert [v["version"] for v in versions] == [1, 2, 3]


def test_new_program_with_same_columns_is_a_new_version(
    smp: SimpleNamespace, tmp_path: Path
) -> None:
    a = StationInfo("S", "CR1000", "1", "OS", "CPU:a.CR1", 100)
    b = StationInfo("S", "CR1000", "1", "OS", "CPU:a.CR1", 101)
    with Toa5Sink(tmp_path).open_table(a, smp.numeric_table()) as w:
        w.append([smp.numeric_record(7)])
    with Toa5Sink(tmp_path).open_table(b, smp.numeric_table()) as w:
        assert w.version == 2 and w.position is None


def test_new_version_on_request(smp: SimpleNamespace, tmp_path: Path, station: StationInfo) -> None:
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(50)])
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table(), new_version=True) as w:
        assert w.version == 2 and w.position is None


def test_existing_loggernet_file_is_adopted(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    path = tmp_path / "Ridge_Hourly.dat"
    path.write_bytes(
        b'"TOA5","Ridge","CR1000","1031","CR1000.Std.32","CPU:ridge.CR1","4062","Hourly"\r\n'
        b'"TIMESTAMP","RECORD","AirT","RH"\r\n"TS","RN","Deg C","%"\r\n"","","Avg","Smp"\r\n'
        b'"2024-01-01 00:00:00",0,10,50.5\r\n"2024-01-01 01:00:00",1,10.25,50.5\r\n'
    )
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w:
        assert w.path == path and w.position == Position(0x4321, 1, 1)
        w.append([smp.numeric_record(n) for n in range(4)])
    _, rows = read_back(path)
    assert [r[1] for r in rows] == ["0", "1", "2", "3"]


def test_file_with_other_columns_is_left_alone(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    path = tmp_path / "Ridge_Hourly.dat"
    foreign = b'"TOA5","x","x","x","x","x","x","Hourly"\r\n"TIMESTAMP","RECORD","Other"\r\n'
    path.write_bytes(foreign)
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w:
        assert w.path != path and w.position is None
    assert path.read_bytes() == foreign


def test_missing_file_is_recreated(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(3)])
    w.path.unlink()
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w2:
        assert w2.path == w.path and w2.position is None
    assert "file missing" in (tmp_path / "collection.log").read_text()


# --- holes ------------------------------------------------------------------------------------


def test_holes_are_recorded_counted_and_not_repeated(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(n) for n in (0, 1)])
        w.append([smp.numeric_record(n) for n in (10, 11)], holes=[Hole("Hourly", 2, 9)])
        w.append([smp.numeric_record(n) for n in (10, 11)], holes=[Hole("Hourly", 2, 9)])  # rerun
        assert w.holes() == [Hole("Hourly", 2, 9)]
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w:
        assert w.holes() == [Hole("Hourly", 2, 9)]
        assert sum(h.count for h in w.holes()) == 8
    lines = (tmp_path / "holes.csv").read_text().splitlines()
    assert lines[0] == "station,table,version,first,last,detected_utc"
    assert [line.split(",")[:5] for line in lines[1:]] == [["Ridge", "Hourly", "1", "2", "9"]]
    log = (tmp_path / "collection.log").read_text()
    assert log.count("records 2..9 lost in the logger (8 records)") == 1


def test_hole_of_another_table_is_refused(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    with (
        Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w,
        pytest.raises(UsageError),
    ):
        w.append([], holes=[Hole("Other", 1, 2)])


# --- failures ---------------------------------------------------------------------------------


def test_read_only_directory_raises_store_error(
    smp: SimpleNamespace, read_only_dir: Path, station: StationInfo
) -> None:
    sink = open_sink("toa5", read_only_dir)
    with pytest.raises(StoreError) as e:
        sink.open_table(station, smp.numeric_table())
    assert str(read_only_dir) in str(e.value)
    assert "ermission denied" in str(e.value) or "ead-only" in str(e.value)


def test_disk_full_leaves_file_and_position_unchanged(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = Toa5Sink(tmp_path).open_table(station, smp.numeric_table())
    w.append([smp.numeric_record(0)])
    before = w.path.read_bytes()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", full)
        with pytest.raises(StoreError) as e:
            w.append([smp.numeric_record(1), smp.numeric_record(2)])
    assert str(w.path) in str(e.value) and "No space left on device" in str(e.value)
    assert w.position == Position(0x4321, 0, 1)
    assert w.path.read_bytes() == before
    w.append([smp.numeric_record(1)])  # space again: carries on where it was
    w.close()
    _, rows = read_back(w.path)
    assert [r[1] for r in rows] == ["0", "1"]


def test_record_that_does_not_match_is_refused_before_writing(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    with Toa5Sink(tmp_path).open_table(station, smp.mixed_table()) as w:
        bad = smp.mixed_record(1)
        bad.values["TC"] = (1.0, 2.0)
        with pytest.raises(UsageError, match="TC has 2 values"):
            w.append([smp.mixed_record(0), bad])
        assert w.position is None
        assert w.path.read_bytes().count(b"\r\n") == 4


def test_one_writer_per_table(smp: SimpleNamespace, tmp_path: Path, station: StationInfo) -> None:
    sink = Toa5Sink(tmp_path)
    w = sink.open_table(station, smp.numeric_table())
    with pytest.raises(UsageError, match="already open"):
        sink.open_table(station, smp.numeric_table())
    w.close()
    sink.open_table(station, smp.numeric_table()).close()


def test_torn_hole_line_does_not_swallow_the_next(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(0)], holes=[Hole("Hourly", 1, 1)])
    with open(tmp_path / "holes.csv", "ab") as f:
        f.write(b"Ridge,Hou")  # crash while recording a hole
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(9)], holes=[Hole("Hourly", 2, 8)])
    with Toa5Sink(tmp_path).open_table(station, smp.numeric_table()) as w:
        assert w.holes() == [Hole("Hourly", 1, 1), Hole("Hourly", 2, 8)]
