"""Issue 13 for the sinks: odd bytes in a stored file, and symlinks out of a sink folder.

Resume must fail only with a StoreError that names the file and line, and a sink never
writes through a symlink to a file outside its folder.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from fieldlink.errors import StoreError
from fieldlink.store import CsvSink, StationInfo, Toa5Sink

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
