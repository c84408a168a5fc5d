"""Issue 13 for the sinks: odd bytes in a stored file, and symlinks out of a sink folder.

Resume must fail only with a StoreError that names the file and line, and a sink never
writes through a symlink to a file outside its folder.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from fieldlink.errors import StoreError
from fieldlink.store import CsvSink, SqliteSink, StationInfo, Toa5Sink

# --- tail recovery --------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["²", "١٢", "1²", "⁴2"])
@pytest.mark.parametrize("sink_class", [Toa5Sink, CsvSink])
def test_an_odd_record_number_is_a_store_error_naming_file_and_line(
    smp: SimpleNamespace,
    tmp_path: Path,
    station: StationInfo,
    cell: str,
    sink_class: type[Toa5Sink] | type[CsvSink],
) -> None:
    assert cell.isdigit()  # what fooled the old check
    with sink_class(tmp_path) as sink, sink.open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(0), smp.numeric_record(1)])
        path = w.path
    lines = path.read_bytes().split(b"\n")
    last = lines[-2].decode().split(",")
    last[1] = cell
    lines[-2] = ",".join(last).encode()
    path.write_bytes(b"\n".join(lines))
    header_lines = 4 if sink_class is Toa5Sink else 1
    with pytest.raises(StoreError, match=rf"{path.name}.*line {header_lines + 2}\b"):
        sink_class(tmp_path).open_table(station, smp.numeric_table())
    # the writer did not stay open: the table can be opened again once repaired
    last[1] = "1"
    lines[-2] = ",".join(last).encode()
    path.write_bytes(b"\n".join(lines))
    with sink_class(tmp_path).open_table(station, smp.numeric_table()) as w:
        assert w.position is not None and w.position.record == 1


def test_a_failed_resume_closes_the_file(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Toa5Sink(tmp_path) as sink, sink.open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(0)])
        path = w.path
    lines = path.read_bytes().split(b"\n")
    cells = lines[-2].split(b",")
    cells[1] = "²".encode()
    lines[-2] = b",".join(cells)
    path.write_bytes(b"\n".join(lines))
    opened: list[object] = []
    real_open = open

    def spy(*args: object, **kwargs: object) -> object:
        f = real_open(*args, **kwargs)  # type: ignore[call-overload]
        opened.append(f)
        return f

    monkeypatch.setattr("builtins.open", spy)
    sink = Toa5Sink(tmp_path)
    with pytest.raises(StoreError):
        sink.open_table(station, smp.numeric_table())
    monkeypatch.undo()
    assert opened and all(f.closed for f in opened)  # type: ignore[attr-defined]
    assert not sink._open  # the table is not left marked open


# --- symlinks out of the sink folder ----------------------------------------------------------

PRECIOUS = b"precious data outside the sink\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the sink folder that a planted symlink points at."""
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "victim"
    target.write_bytes(PRECIOUS)
    return target


def _plant(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def _write_some(sink: Toa5Sink | CsvSink, smp: SimpleNamespace, station: StationInfo) -> Path:
    with sink, sink.open_table(station, smp.numeric_table()) as w:
        w.append([smp.numeric_record(0), smp.numeric_record(1)])
        return w.path


@pytest.mark.parametrize("name", ["collection.log", "holes.csv"])
def test_an_appended_log_that_is_a_symlink_is_refused(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo, victim: Path, name: str
) -> None:
    sink_dir = tmp_path / "sink"
    _plant(sink_dir / name, victim)
    with pytest.raises(StoreError, match="symbolic link"):
        sink = Toa5Sink(sink_dir)
        with sink.open_table(station, smp.numeric_table()) as w:
            from fieldlink.store import Hole

            w.append([smp.numeric_record(5)], [Hole("Hourly", 1, 4)])
    assert victim.read_bytes() == PRECIOUS


def test_a_temporary_file_that_is_a_symlink_is_not_followed(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo, victim: Path
) -> None:
    sink_dir = tmp_path / "sink"
    for name in ("fieldlink-toa5-versions.json.tmp", "station_Hourly.dat.tmp"):
        _plant(sink_dir / name, victim)
    path = _write_some(Toa5Sink(sink_dir), smp, station)
    assert victim.read_bytes() == PRECIOUS
    assert path.read_bytes().count(b"\n") == 6  # header lines and two records


@pytest.mark.parametrize("sink_class", [Toa5Sink, CsvSink])
def test_a_data_file_that_is_a_symlink_out_of_the_folder_is_refused(
    smp: SimpleNamespace,
    tmp_path: Path,
    station: StationInfo,
    victim: Path,
    sink_class: type[Toa5Sink] | type[CsvSink],
) -> None:
    first = tmp_path / "first"
    path = _write_some(sink_class(first), smp, station)
    victim.write_bytes(path.read_bytes())  # a copy outside, with a matching header
    before = victim.read_bytes()
    path.unlink()
    path.symlink_to(victim)
    with pytest.raises(StoreError, match=r"symbolic link.*outside"):
        _write_some(sink_class(first), smp, station)
    assert victim.read_bytes() == before


def test_a_data_file_linked_inside_the_folder_is_fine(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    sink_dir = tmp_path / "sink"
    path = _write_some(Toa5Sink(sink_dir), smp, station)
    real = sink_dir / "real.dat"
    path.rename(real)
    path.symlink_to(real.name)
    with Toa5Sink(sink_dir) as sink, sink.open_table(station, smp.numeric_table()) as w:
        assert w.position is not None and w.position.record == 1
        w.append([smp.numeric_record(2)])
    assert real.read_bytes().count(b"\n") == 7


def test_a_new_data_file_never_writes_through_a_dangling_link(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo
) -> None:
    sink_dir = tmp_path / "sink"
    outside = tmp_path / "outside" / "created-by-fieldlink"
    outside.parent.mkdir()
    _plant(sink_dir / "station_Hourly.dat", outside)  # dangling: the target does not exist
    path = _write_some(Toa5Sink(sink_dir), smp, station)
    assert not outside.exists()
    assert not path.is_symlink()


def test_a_sqlite_database_that_is_a_symlink_out_of_its_folder_is_refused(
    tmp_path: Path, victim: Path
) -> None:
    sink_dir = tmp_path / "sink"
    _plant(sink_dir / "fieldlink.sqlite", victim)
    with pytest.raises(StoreError, match=r"symbolic link.*outside"):
        SqliteSink(sink_dir / "fieldlink.sqlite")
    with pytest.raises(StoreError, match=r"symbolic link.*outside"):
        SqliteSink(sink_dir)
    assert victim.read_bytes() == PRECIOUS
    inside = sink_dir / "real.sqlite"
    (sink_dir / "linked.sqlite").symlink_to(inside.name)
    SqliteSink(sink_dir / "linked.sqlite").close()
    assert sqlite3.connect(inside).execute("PRAGMA integrity_check").fetchone() == ("ok",)


# --- a hostile table definition reaching a sink ---------------------------------------------


@pytest.mark.parametrize("kind", ["toa5", "csv", "sqlite"])
def test_a_hostile_definition_is_a_protocol_error_in_every_sink(
    tmp_path: Path, station: StationInfo, kind: str
) -> None:
    """What ``collect`` does with a logger's table: the sinks name its columns first."""
    from fieldlink.errors import ProtocolError
    from fieldlink.pakbus.protocol.model import FieldDef
    from fieldlink.pakbus.protocol.tabledef import make_table
    from fieldlink.pakbus.protocol.wire import NSec
    from fieldlink.store import open_sink

    huge = FieldDef("x", 9, piece_size=2**32 - 1, dimensions=(2**32 - 1,))
    table = make_table("T", 1, 14, NSec(0, 0), NSec(0, 0), [huge])
    sink = open_sink(kind, tmp_path / ("db.sqlite" if kind == "sqlite" else "files"))
    with pytest.raises(ProtocolError, match="'x'"):
        sink.open_table(station, table)
    sink.close()


def test_a_versions_index_that_is_a_symlink_is_replaced_not_written_through(
    smp: SimpleNamespace, tmp_path: Path, station: StationInfo, victim: Path
) -> None:
    sink_dir = tmp_path / "sink"
    index = sink_dir / "fieldlink-toa5-versions.json"
    _plant(index, victim)
    with pytest.raises(StoreError, match="versions index"):
        _write_some(Toa5Sink(sink_dir), smp, station)  # the victim is no index: refused
    assert victim.read_bytes() == PRECIOUS
    victim.write_text('{"format": 1, "versions": []}\n')
    _write_some(Toa5Sink(sink_dir), smp, station)
    assert victim.read_text() == '{"format": 1, "versions": []}\n'  # untouched
    assert not index.is_symlink() and "Hourly" in index.read_text()
