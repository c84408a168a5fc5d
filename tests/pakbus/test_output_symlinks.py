"""``getfile``/``getdata`` output: the ``.part`` file is never written through a symlink."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fieldlink.errors import StoreError
from fieldlink.pakbus.output import RecordWriter, atomic_output
from fieldlink.pakbus.protocol.model import FieldDef, Record, TableDef
from fieldlink.pakbus.protocol.wire import NSec
from fieldlink.store import StationInfo

PRECIOUS = b"precious\n"
TABLE = TableDef("T", 1, 10, 14, NSec(0, 0), NSec(0, 0), (FieldDef("x", 9),), 1)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    target = tmp_path / "outside" / "victim"
    target.write_bytes(PRECIOUS)
    return target


def test_getfile_part_link_is_not_followed(tmp_path: Path, victim: Path) -> None:
    out = tmp_path / "prog.cr1"
    (tmp_path / "prog.cr1.part").symlink_to(victim)
    with atomic_output(str(out)) as sink:
        sink.write(b"downloaded")
    assert out.read_bytes() == b"downloaded" and not out.is_symlink()
    assert victim.read_bytes() == PRECIOUS


def test_getfile_part_is_gone_after_a_failure(tmp_path: Path) -> None:
    out = tmp_path / "prog.cr1"
    with pytest.raises(RuntimeError), atomic_output(str(out)) as sink:
        sink.write(b"half")
        raise RuntimeError("link cut")
    assert list(tmp_path.iterdir()) == []


def test_getdata_part_link_is_not_followed(tmp_path: Path, victim: Path) -> None:
    out = tmp_path / "t.csv"
    (tmp_path / "t.csv.part").symlink_to(victim)
    writer = RecordWriter(str(out), TABLE, StationInfo("s"))
    writer.write([Record("T", 1, dt.datetime(2024, 1, 1), {"x": 1.5})])
    writer.close(complete=False)
    assert victim.read_bytes() == PRECIOUS
    part = tmp_path / "t.csv.part"
    assert not part.is_symlink() and b"1.5" in part.read_bytes()


def test_getdata_part_cannot_be_raced_into_a_link(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Created exclusively: a link planted after the old .part was removed is refused."""
    import os

    out = tmp_path / "t.csv"
    real_unlink = os.unlink

    def unlink_then_plant(path: object, *args: object, **kwargs: object) -> None:
        real_unlink(path, *args, **kwargs)  # type: ignore[arg-type]
        if str(path).endswith(".part"):
            os.symlink(victim, str(path))

    (tmp_path / "t.csv.part").write_bytes(b"stale")
    monkeypatch.setattr(os, "unlink", unlink_then_plant)
    with pytest.raises(StoreError, match=r"t\.csv"):
        RecordWriter(str(out), TABLE, StationInfo("s"))
    assert victim.read_bytes() == PRECIOUS
