"""Settings: the manual's ranges as data, checked before anything is encoded; mux paths."""

from __future__ import annotations

import struct

import pytest

from fieldlink.errors import ProtocolError, UsageError
from fieldlink.tdr100.protocol import MuxPath, parse_channels
from fieldlink.tdr100.settings import SETTINGS, Settings, setting

# name, a value inside, values outside (each must be refused naming the range)
RANGES = [
    ("vp", 0.1, [0.09, 1.01], "0.1 to 1"),
    ("averages", 128, [0, 129, 2.5], "1 to 128"),
    ("points", 20, [19, 2049, 100.5], "20 to 2048"),
    ("distance", -2.0, [-2.01, 2100.1], "-2 to 2100 m"),
    ("window", 700, [0.09, 700.5], "0.1 to 700 m"),
    ("probe_length", 0.01, [0.0, -1.0], "> 0 m"),
    ("probe_offset", 1.0, [-0.01, 1.01], "0 to 1 m"),
    ("cell_constant", 0.001, [0.0], "> 0 1/m"),
    ("smooth", 100, [-1, 100.5], "0 to 100"),
]


@pytest.mark.parametrize(("name", "good", "bad", "text"), RANGES)
def test_ranges(name: str, good: float, bad: list[float], text: str) -> None:
    s = setting(name)
    assert s.check(good) == good
    assert s.range_text() == text
    for value in bad:
        with pytest.raises(UsageError) as info:
            Settings().replace(**{name: value})
        assert text.split(" ")[0] in str(info.value) or "whole number" in str(info.value)


def test_non_numbers_and_non_finite_are_refused() -> None:
    for value in (float("nan"), float("inf"), "1", True):
        with pytest.raises(UsageError):
            setting("vp").check(value)  # type: ignore[arg-type]


def test_order_and_commands_follow_dump() -> None:
    assert [s.command for s in SETTINGS] == [
        "S_VP", "SNAV", "SPNT", "SDIS", "SWLN", "SPRL", "SPRO", "SPCC", "SSMO",
    ]  # fmt: skip


def test_names_and_aliases() -> None:
    assert setting("probe-length").name == "probe_length"
    assert setting("KP").name == "cell_constant"
    assert setting("cable_length").name == "distance"
    with pytest.raises(UsageError, match="choose one of"):
        setting("colour")


def test_parse_typed_value() -> None:
    assert setting("points").parse("251") == 251
    assert isinstance(setting("points").parse("251"), int)
    with pytest.raises(UsageError, match="not a number"):
        setting("points").parse("lots")


def test_from_dump_rounds_float32() -> None:
    floats = struct.unpack(">9f", struct.pack(">9f", 0.99, 4, 251, 3.25, 4, 0.3, 0.085, 1.7696, 0))
    s = Settings.from_dump(floats)
    assert s == Settings(0.99, 4, 251, 3.25, 4.0, 0.3, 0.085, 1.7696, 0.0)
    assert isinstance(s.points, int)
    assert s.dump() == (0.99, 4.0, 251.0, 3.25, 4.0, 0.3, 0.085, 1.7696, 0.0)


def test_from_dump_rejects_short_or_impossible() -> None:
    with pytest.raises(ProtocolError):
        Settings.from_dump([1.0] * 8)
    with pytest.raises(ProtocolError):
        Settings.from_dump([5.0, 4, 251, 0, 5, 0.3, 0, 1, 0])  # Vp 5


def test_mux_paths() -> None:
    assert MuxPath.parse("1.3").smux_values() == (13,)
    assert MuxPath.parse("1.3/2.5/3.8").smux_values() == (13, 25, 38)
    assert MuxPath.parse("0").smux_values() == (0,)
    assert MuxPath.parse("").hops == ()
    assert str(MuxPath.parse(" 1.2/3.4 ")) == "1.2/3.4"
    for bad in ("1.9", "4.1", "1.0", "2.1/1.1", "1.1/1.2", "x", "1", "1.a"):
        with pytest.raises(UsageError):
            MuxPath.parse(bad)


def test_channel_sweeps() -> None:
    assert [str(p) for p in parse_channels("1.1-1.8")] == [f"1.{i}" for i in range(1, 9)]
    assert [str(p) for p in parse_channels("1.1-3,1.7, 1.1")] == ["1.1", "1.2", "1.3", "1.7"]
    assert [str(p) for p in parse_channels("1.2/2.1-2.3")] == ["1.2/2.1", "1.2/2.2", "1.2/2.3"]
    for bad in ("", "1.5-1.2", "1.1-2.3", "0-3", "1.1-x", "1.1-1.9"):
        with pytest.raises(UsageError):
            parse_channels(bad)
