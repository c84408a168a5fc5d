"""Command frames: the checksum and Type-1 vectors of instrument-vectors.md §4.1, byte-exact,
and the device side's parse with the error code each malformed frame earns."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.errors import FieldlinkError, UsageError
from fieldlink.tdr100.protocol import (
    COMMANDS,
    Command,
    CommandRejected,
    checksum,
    expected_count,
    format_value,
    parse_command,
)

# §4.1: every Type-2/3 command with its computed checksum (GNDR/GNWA: the manual's 28/20 are typos).
CHECKSUMS = {
    "GCAL": "17", "GCON": "27", "GDTS": "32", "GLDR": "29", "GLWF": "30", "GMOS": "36",
    "GNDR": "2B", "GNWA": "2D", "GRLN": "33", "GTIM": "31", "GVAR": "30", "GVER": "34",
    "GWAV": "35", "ABRT": "29", "ANWA": "27", "AWAV": "2F", "RSET": "3E", "SOFF": "2E",
    "SRLN": "3F", "SSET": "3F", "DUMP": "36",
}  # fmt: skip

# §4.1 Type-1 frames (what M5 sends), with the value as the client passes it.
TYPE1 = [
    ("S_VP", 0.99, b":S_VP 0.9948\r"),
    ("SNAV", 1, b":SNAV 189\r"),
    ("SPRL", 0.3, b":SPRL 0.3F2\r"),
    ("SPRO", 0.09, b":SPRO 0.092B\r"),
    ("SPCC", 1, b":SPCC 17A\r"),
    ("SDIS", 0, b":SDIS 083\r"),
    ("SPNT", 251.0, b":SPNT 251.05B\r"),
    ("SWLN", 50, b":SWLN 50C9\r"),
    ("SMUX", 11, b":SMUX 11CF\r"),
    ("CCCC", 25, b":CCCC 2593\r"),
]


@pytest.mark.parametrize(("mnemonic", "hl"), sorted(CHECKSUMS.items()))
def test_type2_and_type3_frames(mnemonic: str, hl: str) -> None:
    assert Command(mnemonic).encode() == b":" + mnemonic.encode() + hl.encode() + b"\r"


def test_full_frame_bytes() -> None:
    assert Command("GCAL").encode() == bytes.fromhex("3A 47 43 41 4C 31 37 0D")
    assert Command("GWAV").encode() == b":GWAV35\r"
    assert Command("ABRT").encode() == b":ABRT29\r"


@pytest.mark.parametrize(("mnemonic", "value", "frame"), TYPE1)
def test_type1_frames(mnemonic: str, value: float, frame: bytes) -> None:
    assert Command(mnemonic, value).encode() == frame
    # and the device side reads the same frame back
    parsed = parse_command(frame)
    assert parsed.mnemonic == mnemonic
    assert float(parsed.value) == pytest.approx(float(value))  # type: ignore[arg-type]


def test_checksum_is_two_digits_even_below_0x10() -> None:
    # M5 does not zero-pad; we must ("  " + "\x01" sums to 0x41; "\x00\x05" to 05).
    assert checksum(b"\x00\x05") == b"05"
    assert checksum(b"\xff\x01") == b"00"


def test_format_value() -> None:
    assert format_value(1) == "1"
    assert format_value(0.99) == "0.99"
    assert format_value(251.0) == "251.0"
    assert format_value(1e-7) == "0.0000001"
    assert format_value("12.5") == "12.5"
    for bad in (float("nan"), float("inf"), "1e3", "abc", True):
        with pytest.raises(UsageError):
            format_value(bad)  # type: ignore[arg-type]


def test_command_value_presence_is_checked() -> None:
    with pytest.raises(UsageError, match="needs a value"):
        Command("S_VP")
    with pytest.raises(UsageError, match="takes no value"):
        Command("GWAV", 1)
    with pytest.raises(UsageError, match="unknown"):
        Command("XXXX")


def test_expected_counts_follow_section_2_4() -> None:
    assert expected_count("DUMP", 251) == (9,)
    assert expected_count("GTIM", 251) == (3, 4)
    assert expected_count("CCCC", 251) == (2,)
    assert expected_count("GVAR", 251) == (3,)
    assert expected_count("GVER", 251) == (4,)
    for m in ("GWAV", "GLWF", "GNWA"):
        assert expected_count(m, 251) == (251,)
    for m in ("GNDR", "GLDR"):
        assert expected_count(m, 251) == (246,)
    for m in ("GCAL", "GCON", "GDTS", "GMOS", "GRLN"):
        assert expected_count(m, 100) == (1,)
    assert expected_count("S_VP", 251) == ()
    assert expected_count("ABRT", 251) == ()
    assert len(COMMANDS) == 34


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b":GWAV36\r", 1),  # checksum off by one
        (b":GWAVzz\r", 1),  # checksum not hex
        (b":GWA\r", 2),  # too short to hold mnemonic and checksum
        (b":gw\x01v" + checksum(b"gw\x01v") + b"\r", 3),
        (b":S_VP" + checksum(b"S_VP") + b"\r", 4),  # type 1 without its value
        (b":S_VP0.5" + checksum(b"S_VP0.5") + b"\r", 4),  # no space
        (b":S_VP abc" + checksum(b"S_VP abc") + b"\r", 4),
        (b":GWAV 1" + checksum(b"GWAV 1") + b"\r", 4),  # type 2 with a value
        (b":XXXX" + checksum(b"XXXX") + b"\r", 5),
        (b":S_VP 1e-1" + checksum(b"S_VP 1e-1") + b"\r", 13),
    ],
)
def test_device_side_rejections(frame: bytes, code: int) -> None:
    with pytest.raises(CommandRejected) as info:
        parse_command(frame)
    assert info.value.code == code


@given(st.binary(max_size=80))
def test_device_parser_only_raises_fieldlink_errors(data: bytes) -> None:
    try:
        cmd = parse_command(data)
    except FieldlinkError:
        return
    assert cmd.mnemonic in COMMANDS
