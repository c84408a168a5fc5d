"""The ``.DIR`` directory file (reference §7.3)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.protocol.directory import DirEntry, build_dir, parse_dir

#: V10: .DIR of a CR1000 (captured file data), DirVersion 1, ends at end of data.
V10 = bytes.fromhex(
    """
01 43 50 55 3A 00 00 07 6E 00 00 00 43 50 55 3A 74 65 6D 70 6C 61 74 65 65 78 61 6D 70 6C 65 2E
63 72 31 00 00 00 02 CB 32 30 31 32 2D 30 33 2D 31 36 20 31 33 3A 32 32 3A 34 32 00 00 43 50 55
3A 43 52 31 30 30 30 5F 4C 41 42 4F 2E 43 52 31 00 00 00 0C 5E 32 30 31 32 2D 30 35 2D 32 33 20
31 31 3A 32 35 3A 33 38 00 01 02 00
"""
)


def test_v10_parses() -> None:
    version, entries = parse_dir(V10)
    assert version == 1
    assert entries == (
        DirEntry("CPU:", 486912, "", ()),
        DirEntry("CPU:templateexample.cr1", 715, "2012-03-16 13:22:42", ()),
        DirEntry("CPU:CR1000_LABO.CR1", 3166, "2012-05-23 11:25:38", (1, 2)),
    )
    assert [e.is_device for e in entries] == [True, False, False]
    assert all(e.free_space is None for e in entries)


def test_v10_rebuilds_byte_exact() -> None:
    version, entries = parse_dir(V10)
    assert build_dir(version, entries) == V10


def test_empty_name_ends_the_list() -> None:
    version, entries = parse_dir(V10 + b"\x00garbage after the terminator")
    assert version == 1
    assert len(entries) == 3


def test_version_2_device_entries_carry_ieee4_free_space() -> None:
    data = (
        b"\x02CPU:\x00"
        + struct.pack(">f", 1536.5)
        + b"\x00\x00"
        + b"CPU:a.cr1\x00"
        + struct.pack(">I", 42)
        + b"2024-01-02 03:04:05\x00\x03\x00"
    )
    version, entries = parse_dir(data)
    assert version == 2
    assert entries == (
        DirEntry("CPU:", 0, "", (), 1536.5),
        DirEntry("CPU:a.cr1", 42, "2024-01-02 03:04:05", (3,)),
    )
    assert build_dir(2, entries) == data


def test_bad_versions() -> None:
    for version in (0, 3, 255):
        with pytest.raises(ProtocolError, match="version"):
            parse_dir(bytes([version]) + V10[1:])
        with pytest.raises(ValueError):
            build_dir(version, [])
    with pytest.raises(ProtocolError):
        parse_dir(b"")


def test_truncations_are_protocol_errors() -> None:
    _, entries = parse_dir(V10)
    # after DirVersion and after each entry the prefix is a shorter valid listing
    ends = [len(build_dir(1, entries[:k])) for k in range(len(entries) + 1)]
    assert ends == [1, 12, 61, 108]
    for cut in range(len(V10)):
        if cut in ends:
            assert parse_dir(V10[:cut])[1] == entries[: ends.index(cut)]
            continue
        with pytest.raises(ProtocolError):
            parse_dir(V10[:cut])


def test_build_rejects_bad_entries() -> None:
    for bad in (
        DirEntry("", 1),
        DirEntry("a", -1),
        DirEntry("a", 2**32),
        DirEntry("a", 1, attributes=(0,)),
        DirEntry("a", 1, attributes=(256,)),
        DirEntry("a\x00b", 1),
    ):
        with pytest.raises(ValueError):
            build_dir(1, [bad])
    with pytest.raises(ValueError):
        build_dir(2, [DirEntry("CPU:", 0, free_space=1e39)])


_TEXT = st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=20)


@st.composite
def _entry(draw: st.DrawFn, version: int) -> DirEntry:
    name = draw(st.text(st.characters(min_codepoint=1, max_codepoint=255), min_size=1))
    if version == 2 and name.endswith(":"):
        space = draw(st.floats(width=32, allow_nan=False))
        return DirEntry(name, 0, draw(_TEXT), (), space)
    attributes = draw(st.lists(st.integers(1, 255), max_size=12).map(tuple))
    return DirEntry(name, draw(st.integers(0, 2**32 - 1)), draw(_TEXT), attributes)


@given(st.sampled_from([1, 2]).flatmap(lambda v: st.tuples(st.just(v), st.lists(_entry(v)))))
def test_round_trip(case: tuple[int, list[DirEntry]]) -> None:
    version, entries = case
    assert parse_dir(build_dir(version, entries)) == (version, tuple(entries))


@given(st.binary(max_size=200))
def test_random_bytes_only_raise_protocol_errors(data: bytes) -> None:
    try:
        parse_dir(b"\x01" + data)
        parse_dir(b"\x02" + data)
    except ProtocolError:
        pass
