"""The loose CRBasic reader on the constructs real programs use: constants, the time of
a maximum or minimum, arrays stored from an element on -- and its refusals."""

from __future__ import annotations

import pytest

from fieldlink.pakbus.emulator.crbasic import CompileError, parse_program, render_program
from fieldlink.pakbus.protocol.types import DataType

SHORTCUT_STYLE = """\
'CR1000 Series Datalogger
Const SCAN_SEC = 5
Const NSENS = 3
Const DAY_MIN = 60 * 24
Const SITE = "ridge"            'text constants are allowed (and unused here)
Public BattV, AirTC
Public WS(NSENS)
Public Note As String * NSENS
Units AirTC = Deg C

DataTable (Daily, True, -1)
  DataInterval (0, DAY_MIN, Min, 10)
  Maximum (1, AirTC, FP2, False, True)
  Minimum (1, AirTC, IEEE4, False, False)
  Minimum (NSENS - 1, WS(2), FP2, False, True)
  Sample (1, Note, String)
EndTable

BeginProg
  Scan (SCAN_SEC, Sec, 0, 0)
    If AirTC > 40 Then AirTC = 40
    CallTable Daily
  NextScan
EndProg
"""


def test_constants_size_arrays_strings_intervals_and_scans() -> None:
    program = parse_program(SHORTCUT_STYLE)
    assert program.scan_ns == 5_000_000_000
    public = {f.name: f for f in program.public}
    assert public["WS"].dims == (3,)
    assert public["Note"].dims == (3,)  # a String * NSENS of 3 characters
    (daily,) = program.tables
    assert daily.interval_ns == 86_400 * 1_000_000_000
    assert daily.size == 10_000  # -1: auto-allocated


def test_maximum_and_minimum_with_time_add_a_time_field() -> None:
    (daily,) = parse_program(SHORTCUT_STYLE).tables
    fields = [(f.name, f.type_code, f.dims, f.processing) for f in daily.fields]
    assert fields == [
        ("AirTC_Max", DataType.FP2, (), "Max"),
        ("AirTC_TMx", DataType.NSEC, (), "TMx"),
        ("AirTC_Min", DataType.IEEE4, (), "Min"),
        ("WS_Min", DataType.FP2, (2,), "Min"),
        ("WS_TMn", DataType.NSEC, (2,), "TMn"),
        ("Note", DataType.ASCII, (3,), "Smp"),
    ]


def test_rendered_program_keeps_the_time_fields() -> None:
    program = parse_program(SHORTCUT_STYLE)
    text = render_program(program)
    assert "Maximum(1, AirTC, FP2, False, True)" in text
    assert "Minimum(1, AirTC, IEEE4, False, False)" in text
    assert parse_program(text).tables == program.tables


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Const X = 1 / 0", "division by zero"),
        ("Const X = 1e999", "finite number"),
        ("Const X = Y + 1", "Const, not 'Y'"),
        ("Const X = 2 ** 3", "must be a number"),
        ("Const X", "cannot read the constant"),
        ("Public X(2.5)", "whole number"),
        ("Const BattV = 1", "declared twice"),
    ],
)
def test_bad_constants_are_compile_errors_on_their_line(line: str, message: str) -> None:
    text = f"Public BattV\n{line}\nBeginProg\nEndProg\n"
    with pytest.raises(CompileError, match=message) as info:
        parse_program(text)
    assert info.value.line == 2


def test_repetitions_past_the_end_of_an_array_do_not_compile() -> None:
    text = SHORTCUT_STYLE.replace("Minimum (NSENS - 1, WS(2)", "Minimum (NSENS, WS(2)")
    with pytest.raises(CompileError, match=r"3 repetitions of WS\(2\) pass the end") as info:
        parse_program(text)
    assert info.value.line == 15
