"""The emulated logger's state, without any protocol: tables, clock, programs, files,
settings, security and variables (fieldlink.pakbus.emulator.station and its helpers)."""

from __future__ import annotations

import datetime as dt
import math
import struct
import textwrap
from pathlib import Path

import pytest
from vectors import CR1000_TDF

from fieldlink.errors import ConfigError, NotFound, UsageError
from fieldlink.pakbus.emulator.config import (
    StationConfig,
    default_program,
    load_station,
    parse_station,
)
from fieldlink.pakbus.emulator.crbasic import CompileError, parse_program, render_program
from fieldlink.pakbus.emulator.settings import SESSION_SECONDS, SettingsStore, encode_serial
from fieldlink.pakbus.emulator.spec import NS_PER_S, FieldSpec, ProgramSpec, TableSpec
from fieldlink.pakbus.emulator.station import ManualClock, Need, Station
from fieldlink.pakbus.emulator.tables import LoggedTable
from fieldlink.pakbus.emulator.values import ValueModel, quantize, unit_noise
from fieldlink.pakbus.protocol.codes import (
    AccessLevel,
    Bmp5ResponseCode,
    CompileState,
    DevConfigControlOutcome,
    DevConfigSetFragmentOutcome,
    DevConfigSetOutcome,
    FileCommand,
    SettingOutcome,
)
from fieldlink.pakbus.protocol.directory import parse_dir
from fieldlink.pakbus.protocol.model import Record
from fieldlink.pakbus.protocol.tabledef import parse_tdf, table_bytes
from fieldlink.pakbus.protocol.types import DataType, decode_value, encode_value

R = Bmp5ResponseCode
FakeClock = ManualClock


def same_value(a: object, b: object) -> bool:
    """Equality that counts NaN equal to NaN (flaky sensors read NaN on purpose)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def same_record(a: Record, b: Record) -> bool:
    return (
        a.number == b.number
        and a.timestamp == b.timestamp
        and all(same_value(a.values[k], b.values[k]) for k in a.values)
    )


def make(**kwargs: object) -> tuple[Station, FakeClock]:
    clock = FakeClock()
    kwargs.setdefault("records", 30)
    station = Station(clock=clock, **kwargs)  # type: ignore[arg-type]
    return station, clock


def small_station(size: int = 5, history: int = 3) -> tuple[Station, FakeClock]:
    table = TableSpec(
        name="Ten",
        interval_ns=10 * NS_PER_S,
        size=size,
        fields=(FieldSpec("BattV_Min", DataType.FP2, "Min", "Volts", source="BattV"),),
    )
    program = ProgramSpec(
        public=(FieldSpec("BattV", DataType.IEEE4, units="Volts", read_only=False),),
        tables=(table,),
    )
    return make(config=StationConfig(program=program), records=history)


# --- table definitions ----------------------------------------------------------------------


def test_status_definition_is_byte_for_byte_the_captured_cr1000_one() -> None:
    """V11: the Status block of our .TDF equals a real CR1000's (signature 0x3888)."""
    captured = parse_tdf(CR1000_TDF)[0]
    station, _ = make()
    ours = station.table_defs()[0]
    assert ours.name == "Status"
    assert table_bytes(ours) == table_bytes(captured)
    assert ours.signature == captured.signature == 14472


def test_tdf_lists_status_then_data_tables_then_public() -> None:
    station, _ = make()
    defs = parse_tdf(station.tdf())
    assert [d.name for d in defs] == ["Status", "Table1", "Fast", "Public"]
    assert [d.number for d in defs] == [1, 2, 3, 4]
    assert defs == station.table_defs()
    table1, fast = defs[1], defs[2]
    assert table1.interval.seconds == 60 and table1.is_interval
    assert fast.interval.nanoseconds == 100_000_000
    types = {f.type_code for f in table1.fields}
    assert {DataType.FP2, DataType.IEEE4, DataType.ASCII, DataType.INT4} <= types
    ws = table1.field("WS_ms_Avg")
    assert ws.dimensions == (4,) and ws.piece_size == 4
    assert not defs[3].is_interval and all(not f.read_only for f in defs[3].fields)


# --- time, history and the ring buffer ------------------------------------------------------


def test_history_and_records_appear_as_time_passes() -> None:
    station, clock = make(records=10)
    assert station.record_numbers("Table1") == range(0, 10)
    newest = station.record("Table1", 9)
    assert newest.timestamp == dt.datetime(2024, 5, 1, 12, 0)  # the last minute boundary
    assert station.record("Table1", 0).timestamp == dt.datetime(2024, 5, 1, 11, 51)
    clock.advance(29.9)
    assert station.record_numbers("Table1") == range(0, 10)
    clock.advance(0.1)  # 12:01:00 exactly: the boundary's record is stored
    assert station.record_numbers("Table1") == range(0, 11)
    clock.advance(120)
    assert station.record_numbers("Table1").stop == 13
    assert station.record("Table1", 12).timestamp == dt.datetime(2024, 5, 1, 12, 3)


def test_ring_buffer_keeps_size_records_and_overwrites_the_oldest() -> None:
    station, clock = small_station(size=5, history=3)
    assert station.record_numbers("Ten") == range(0, 3)
    clock.advance(60)  # six more boundaries
    held = station.record_numbers("Ten")
    assert held == range(4, 9)
    with pytest.raises(NotFound):
        station.record("Ten", 3)
    assert station.record("Ten", 4).timestamp + dt.timedelta(seconds=40) == (
        station.record("Ten", 8).timestamp
    )


def test_ten_hz_table_is_full_and_wraps() -> None:
    station, _ = make(records=100)
    held = station.record_numbers("Fast")
    assert len(held) == 6_000
    assert held.start > 0  # 100 minutes at 10 Hz overflowed the ring long ago
    a, b = station.record("Fast", held.start), station.record("Fast", held.start + 1)
    assert b.timestamp - a.timestamp == dt.timedelta(milliseconds=100)


def test_clock_set_forward_skips_boundaries_and_backward_repeats_times() -> None:
    station, clock = small_station(size=100, history=3)
    last = station.record("Ten", 2).timestamp
    old = station.adjust_clock(3_600 * NS_PER_S)
    assert old == station.now_ns() - 3_600 * NS_PER_S
    clock.advance(10)
    new = station.record("Ten", 3)
    assert new.timestamp > last + dt.timedelta(minutes=59)  # no back-fill of the hour
    station.adjust_clock(-2 * 3_600 * NS_PER_S)
    clock.advance(10)
    back = station.record("Ten", 4)
    assert back.timestamp < last  # numbers go on, time stamps go back
    assert station.record_numbers("Ten") == range(0, 5)


def test_set_clock_to_a_datetime() -> None:
    station, _ = make()
    station.set_clock(dt.datetime(2030, 1, 2, 3, 4, 5))
    assert station.now() == dt.datetime(2030, 1, 2, 3, 4, 5)


def test_logged_table_time_range_over_segments() -> None:
    t = LoggedTable("T", cadence_ns=10, size=100, start_ns=0, now_ns=95)
    assert t.next_record == 10
    assert list(t.numbers_in_time(20, 50)) == [2, 3, 4]
    t.realign(1_000)  # the clock jumped
    t.advance(1_035)
    assert t.time_of(10) == 1_010
    assert list(t.numbers_in_time(0, 30)) == [0, 1, 2]
    assert list(t.numbers_in_time(1_000, 1_040)) == [10, 11, 12]  # 1040 is still to come


# --- values -----------------------------------------------------------------------------------


def test_values_are_a_function_of_seed_and_time() -> None:
    a, _ = make(seed=7)
    b, _ = make(seed=7)
    c, _ = make(seed=8)
    ra, rb, rc = (s.records("Table1") for s in (a, b, c))
    assert all(same_record(x, y) for x, y in zip(ra, rb, strict=True))
    assert any(x.values != y.values for x, y in zip(ra, rc, strict=True))
    assert unit_noise(1, "a", 2) == unit_noise(1, "a", 2) != unit_noise(1, "a", 3)


def test_values_read_back_exactly_through_their_wire_type() -> None:
    station, _ = make(records=50)
    for record in station.records("Table1"):
        for name in ("BattV_Min", "RH", "AirTC_Avg"):
            value = record.values[name]
            code = station.table_def("Table1").field(name).type_code
            assert isinstance(value, float)
            assert math.isnan(value) or quantize(code, value) == value
        battery = record.values["BattV_Min"]
        assert isinstance(battery, float) and 11.0 < battery < 14.5
        assert record.values["Counter"] == record.number
        assert isinstance(record.values["WS_ms_Avg"], tuple)
        assert len(record.values["WS_ms_Avg"]) == 4


def test_flaky_sensors_read_nan_now_and_then() -> None:
    station, _ = make(records=1_500)
    airtc = [r.values["AirTC_Avg"] for r in station.records("Table1")]
    nans = sum(1 for v in airtc if isinstance(v, float) and math.isnan(v))
    assert 3 <= nans <= 60


def test_value_model_shapes_arrays_and_strings() -> None:
    model = ValueModel(3)
    text = FieldSpec("Msg", DataType.ASCII, dims=(8,))
    strings = FieldSpec("Names", DataType.ASCII, dims=(3, 8))
    array = FieldSpec("T", DataType.IEEE4, dims=(2, 2))
    assert isinstance(model.value("X", text, 1, 0), str)
    assert len(model.value("X", strings, 1, 0)) == 3  # type: ignore[arg-type]
    assert len(model.value("X", array, 1, 0)) == 4  # type: ignore[arg-type]


# --- programs ---------------------------------------------------------------------------------

NEW_PROGRAM = textwrap.dedent(
    """\
    'A program with one table that is not in the default station
    Public PTemp, Batt_V, Flow(3)
    Public Note As String * 12
    Units Batt_V = Volts
    DataTable(Hourly, True, 500)
      DataInterval(0, 60, Min, 10)
      Average(1, PTemp, FP2, False)
      Minimum(1, Batt_V, FP2, False, False)
      Totalize(3, Flow(), IEEE4, False)
      FieldNames("Flow_L:litres per hour")
      Sample(1, Note, String)
    EndTable
    BeginProg
      Scan(1, Sec, 0, 0)
        CallTable Hourly
      NextScan
    EndProg
    """
)


def test_running_a_new_program_changes_name_signature_and_tables() -> None:
    station, clock = make()
    before = {d.name: d.signature for d in station.table_defs()}
    old_sig = station.program.signature
    station.files.write("CPU:new.CR1", NEW_PROGRAM.encode(), "2024-05-01 12:00:00")
    assert station.file_control("CPU:new.CR1", FileCommand.RUN_AND_SET_POWER_UP) == R.OK
    p = station.program
    assert p.name == "CPU:new.CR1" and p.power_up == "CPU:new.CR1"
    assert p.state == CompileState.RUNNING and p.signature != old_sig
    assert "Compiled in PipelineMode" in p.result
    defs = {d.name: d for d in station.table_defs()}
    assert list(defs) == ["Status", "Hourly", "Public"]
    assert defs["Status"].signature == before["Status"]
    assert defs["Public"].signature != before["Public"]
    hourly = defs["Hourly"]
    assert hourly.interval.seconds == 3_600 and hourly.size == 500
    assert [f.name for f in hourly.fields] == ["PTemp_Avg", "Batt_V_Min", "Flow_L", "Note"]
    assert hourly.field("Flow_L").description == "litres per hour"
    assert hourly.field("Batt_V_Min").units == "Volts"
    assert station.busy_remaining() > 0  # compiling keeps the logger busy for a moment
    assert station.record_numbers("Hourly") == range(0, 0)  # a new program starts empty
    clock.advance(3_600)
    assert station.record_numbers("Hourly") == range(0, 1)


def test_a_program_that_does_not_compile_reports_where() -> None:
    station, _ = make()
    bad = NEW_PROGRAM.replace("Public PTemp, Batt_V", "Public Batt_V")
    station.files.write("CPU:bad.CR1", bad.encode(), "2024-05-01 12:00:00")
    station.file_control("CPU:bad.CR1", FileCommand.RUN_LEAVE_POWER_UP)
    assert station.program.state == CompileState.COMPILE_ERROR
    assert "Compile Failed" in station.program.result
    assert "line 7: variable PTemp is not declared" in station.program.result
    assert [d.name for d in station.table_defs()] == ["Status"]
    status = station.record("Status", station.record_numbers("Status")[-1])
    assert status.values["ProgErrors"] == 1
    assert str(status.values["CompileResults"]).startswith("CPU:bad.CR1 -- Compile Failed!")


def test_resending_the_running_program_keeps_its_table_signatures() -> None:
    station, _ = make(records=20)
    name = station.program.name
    text = station.file_bytes(name)
    assert text is not None
    sigs = [d.signature for d in station.table_defs()]
    station.files.write("CPU:copy.CR1", text, "2024-05-01 12:00:00")
    station.file_control("CPU:copy.CR1", FileCommand.RUN_KEEP_DATA)
    assert [d.signature for d in station.table_defs()] == sigs
    assert station.record_numbers("Table1") == range(0, 20)  # data kept (command 6)
    station.file_control("CPU:copy.CR1", FileCommand.RUN_LEAVE_POWER_UP)
    assert station.record_numbers("Table1") == range(0, 0)  # data reset (command 10)


def test_stop_pause_resume_and_delete() -> None:
    station, clock = small_station(size=100, history=3)
    station.file_control("", FileCommand.PAUSE)
    assert station.program.state == CompileState.PAUSED
    clock.advance(100)
    assert station.record_numbers("Ten").stop == 3  # nothing stored while paused
    station.file_control("", FileCommand.RESUME)
    clock.advance(10)
    assert station.record_numbers("Ten").stop == 4
    assert station.file_control(station.program.name, FileCommand.DELETE) == R.FILE_BUSY
    station.file_control("", FileCommand.STOP_AND_DELETE_DATA)
    assert station.program.state == CompileState.NO_PROGRAM
    assert station.record_numbers("Ten") == range(0, 0)
    assert station.file_control(station.program.name, FileCommand.DELETE) == R.OK
    assert station.file_control("CPU:nothing.CR1", FileCommand.DELETE) == R.INVALID_FILE_NAME
    assert station.file_control("CPU:x", 99) == R.UNSUPPORTED_FILE_COMMAND


def test_table_reset_restarts_numbering() -> None:
    station, clock = small_station(size=100, history=30)
    assert station.reset_table("Ten") == R.OK
    assert station.record_numbers("Ten") == range(0, 0)
    clock.advance(10)
    assert station.record_numbers("Ten") == range(0, 1)
    assert station.reset_table("Status") == R.OPTION_NOT_APPLICABLE
    assert station.reset_table("Nope") == R.INVALID_TABLE_OR_FIELD


# --- files ------------------------------------------------------------------------------------


def test_directory_lists_drives_and_files_with_attributes() -> None:
    station, _ = make()
    version, entries = parse_dir(station.directory())
    assert version == 1
    names = [e.name for e in entries]
    assert names[:2] == ["CPU:", "CPU:Default.CR1"]
    assert "USR:" in names and "CRD:" in names
    program = entries[1]
    assert program.attributes == (1, 2)  # running, run on power-up (as V10)
    assert entries[0].size == station.files.free("CPU:")


def test_file_upload_in_fragments() -> None:
    station, _ = make()
    owner = ("client", 4094)
    assert station.receive_fragment(owner, "CPU:a.txt", 0, False, b"hello ")[0] == R.OK
    assert station.receive_fragment(owner, "", 6, False, b"world")[0] == R.OK
    assert station.receive_fragment(owner, "", 6, False, b"world")[0] == R.OK  # a resend
    assert station.receive_fragment(owner, "", 99, False, b"x")[0] == R.INVALID_FRAGMENT
    code, left = station.receive_fragment(owner, "", 11, True, b"!")
    assert code == R.OK and left == station.files.free("CPU:")
    assert station.file_bytes("CPU:a.txt") == b"hello world!"
    assert station.receive_fragment(owner, "XYZ:a", 0, True, b"")[0] == R.INVALID_FILE_NAME
    assert station.receive_fragment(owner, "", 5, True, b"x")[0] == R.INVALID_FRAGMENT
    big = b"x" * (station.files.free("USR:") + 1)
    assert station.receive_fragment(owner, "USR:big", 0, True, big)[0] == (R.INSUFFICIENT_RESOURCES)


def test_a_closed_connection_forgets_its_unfinished_uploads() -> None:
    station, _ = make()
    assert station.receive_fragment(("c1", 4094), "CPU:a.txt", 0, False, b"a" * 100)[0] == R.OK
    assert station.receive_fragment(("c1", 4093), "USR:b.txt", 0, False, b"b" * 50)[0] == R.OK
    assert station.receive_fragment(("c2", 4094), "CPU:c.txt", 0, False, b"c" * 30)[0] == R.OK
    assert station.upload_bytes == 180
    assert station.forget_uploads("c1") == 2
    assert station.upload_bytes == 30
    assert station.forget_uploads("c1") == 0
    # c1's uploads are gone: a next fragment has nothing to continue.
    assert station.receive_fragment(("c1", 4094), "", 100, True, b"!")[0] == R.INVALID_FRAGMENT
    assert station.file_bytes("CPU:a.txt") is None
    # c2 is untouched and finishes; what it held is released.
    assert station.receive_fragment(("c2", 4094), "", 30, True, b"!")[0] == R.OK
    assert station.file_bytes("CPU:c.txt") == b"c" * 30 + b"!"
    assert station.upload_bytes == 0


def test_routed_neighbours_forget_a_closed_connections_uploads_too() -> None:
    config = parse_station({"neighbours": [{"node": 2}]}, source="t", base=Path("."))
    station = Station(config=config, clock=FakeClock(), records=3)
    child = station.neighbours[2]
    assert child.receive_fragment(("c1", 4094), "CPU:x", 0, False, b"x" * 10)[0] == R.OK
    assert station.forget_uploads("c1") == 1
    assert child.upload_bytes == 0


def test_unfinished_uploads_are_capped_in_total() -> None:
    station, _ = make()
    assert 0 < station.upload_limit < station.files.free("CRD:")  # below a drive's worth
    station.upload_limit = 1_000
    assert station.receive_fragment(("a", 1), "CRD:a", 0, False, b"a" * 600)[0] == R.OK
    assert station.receive_fragment(("b", 1), "CRD:b", 0, False, b"b" * 300)[0] == R.OK
    # b's next fragment would take the total to 1 100: refused, and b's upload dropped.
    code, left = station.receive_fragment(("b", 1), "", 300, False, b"b" * 200)
    assert code == R.INSUFFICIENT_RESOURCES and left == station.files.free("CRD:")
    assert station.upload_bytes == 600
    assert station.receive_fragment(("b", 1), "", 300, False, b"b")[0] == R.INVALID_FRAGMENT
    # A new upload starts but cannot pass the cap either, even in its first fragment.
    assert station.receive_fragment(("c", 1), "CRD:c", 0, False, b"c" * 401)[0] == (
        R.INSUFFICIENT_RESOURCES
    )
    assert station.receive_fragment(("c", 1), "CRD:c", 0, False, b"c" * 400)[0] == R.OK
    assert station.upload_bytes == 1_000
    # Finished uploads free their share: a is written, and c can grow again.
    assert station.receive_fragment(("a", 1), "", 600, True, b"")[0] == R.OK
    assert station.file_bytes("CRD:a") == b"a" * 600
    assert station.receive_fragment(("c", 1), "", 400, True, b"c" * 500)[0] == R.OK
    assert station.file_bytes("CRD:c") == b"c" * 900
    assert station.upload_bytes == 0


def test_restarting_an_upload_releases_what_it_held() -> None:
    station, _ = make()
    station.upload_limit = 100
    owner = ("a", 1)
    for _ in range(5):  # a client that keeps starting over must not leak the cap
        assert station.receive_fragment(owner, "CPU:a", 0, False, b"a" * 80)[0] == R.OK
    assert station.upload_bytes == 80


def test_format_empties_a_drive() -> None:
    station, _ = make()
    station.files.write("CRD:log.dat", b"123", "2024-05-01 12:00:00")
    assert station.file_control("CRD:", FileCommand.FORMAT) == R.OK
    assert station.file_bytes("CRD:log.dat") is None
    assert station.busy_remaining() > 0


# --- security ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "code", "read", "write", "admin"),
    [
        ((0, 0, 0), 0, True, True, True),
        ((111, 0, 0), 0, True, True, False),
        ((111, 0, 0), 111, True, True, True),
        ((111, 222, 0), 0, True, False, False),
        ((111, 222, 0), 222, True, True, False),
        ((111, 222, 333), 0, False, False, False),
        ((111, 222, 333), 333, True, False, False),
        ((111, 222, 333), 222, True, True, False),
        ((111, 222, 333), 111, True, True, True),
        ((111, 222, 333), 999, False, False, False),
    ],
)
def test_security_levels(
    levels: tuple[int, int, int], code: int, read: bool, write: bool, admin: bool
) -> None:
    station, _ = make(security=levels)
    assert station.allowed(code, Need.READ) is read
    assert station.allowed(code, Need.WRITE) is write
    assert station.allowed(code, Need.ADMIN) is admin
    expected = (
        AccessLevel.ALL
        if admin
        else AccessLevel.READ_WRITE
        if write
        else AccessLevel.READ_ONLY
        if read
        else AccessLevel.NONE
    )
    assert station.access_level(code) == expected


def test_security_levels_must_be_set_in_order() -> None:
    with pytest.raises(UsageError):
        make(security=(0, 5, 0))


# --- settings ---------------------------------------------------------------------------------


def test_catalogue_replays_the_captured_cr1000_settings() -> None:
    station, _ = make()
    settings = station.settings.settings()
    ids = [s.id for s in settings]
    assert ids[:10] == [0, 1, 2, 3, 4, 86, 5, 6, 83, 7]  # V12's order
    assert station.settings.value(0) == b"CR1000.Std.24\x00"
    assert station.settings.value(1) == bytes.fromhex("4500123C")  # E4668
    assert station.settings.value(49) == b"\x03\xe8"
    assert station.settings.value(54) == b"\x1a\x81"
    assert encode_serial("E4668") == bytes.fromhex("4500123C")
    assert len(station.settings.value(120)) > 988 and len(station.settings.value(121)) > 988


def test_settings_pages_continue_after_the_last_id() -> None:
    station, _ = make()
    store = station.settings
    seen: list[int] = []
    begin: int | None = None
    while True:
        page = store.page(begin, None, 992)
        assert sum(4 + len(sent) for _, sent, _ in page.entries) <= 992
        seen += [s.id for s, _, _ in page.entries]
        if not page.more:
            break
        begin = 0x8000 | page.entries[-1][0].id
    assert seen == [s.id for s in store.settings()]
    large = store.page(0x8000 | 59, None, 992)
    setting, sent, is_large = large.entries[0]
    assert setting.id == 120 and is_large and len(sent) == 988 and len(large.entries) == 1
    rest, more = store.fragment(120, len(sent), 995) or (b"", True)
    assert sent + rest == store.value(120) and not more
    assert [s.id for s, _, _ in store.page(49, 49, 992).entries] == [49]


def test_settings_are_staged_until_commit_and_expire() -> None:
    station, clock = make()
    store = station.settings
    me, other = ("a", 4094), ("b", 4093)
    outcome, results = store.stage(
        me,
        clock(),
        [(2, b"RIDGE\x00", False), (0, b"x\x00", False), (999, b"", False), (49, b"\x00", False)],
    )
    assert outcome == DevConfigSetOutcome.OK
    assert results == [
        (2, SettingOutcome.TAGGED),
        (0, SettingOutcome.READ_ONLY),
        (999, SettingOutcome.UNKNOWN_ID),
        (49, SettingOutcome.MALFORMED),
    ]
    assert station.station_name != "RIDGE"
    assert store.stage(other, clock(), [(2, b"X\x00", False)])[0] == DevConfigSetOutcome.LOCKED
    assert store.control(other, clock(), 1)[0] == DevConfigControlOutcome.LOCKED
    outcome2, changed = store.control(me, clock(), 1)
    assert outcome2 == DevConfigControlOutcome.COMMITTED and changed == {2: b"RIDGE\x00"}
    assert station.station_name == "RIDGE"
    store.stage(me, clock(), [(49, b"\x01\x00", False)])
    clock.advance(SESSION_SECONDS + 1)
    assert store.control(me, clock(), 1)[0] == DevConfigControlOutcome.SESSION_ENDED
    assert station.max_packet_size == 1000  # rolled back


def test_large_setting_is_written_in_fragments() -> None:
    station, clock = make()
    store = station.settings
    me = ("a", 4094)
    value = (b"notes " * 300)[:1500] + b"\x00"
    assert store.stage(me, clock(), [(121, value[:900], True)])[1] == [(121, SettingOutcome.TAGGED)]
    assert store.stage_fragment(me, clock(), 121, 800, False, value[800:]) == (
        DevConfigSetFragmentOutcome.MALFORMED
    )
    store.stage(me, clock(), [(121, value[:900], True)])
    assert store.stage_fragment(me, clock(), 121, 900, False, value[900:]) == (
        DevConfigSetFragmentOutcome.ACCEPTED
    )
    assert store.stage_fragment(me, clock(), 120, 0, False, b"x") == (
        DevConfigSetFragmentOutcome.READ_ONLY
    )
    store.control(me, clock(), 1)
    assert store.value(121) == value


def test_revert_refresh_and_invalid_actions() -> None:
    store = SettingsStore(make()[0].settings.settings())
    me = ("a", 1)
    assert store.control(me, 0.0, 4)[0] == DevConfigControlOutcome.TIMER_RESET
    assert store.control(me, 0.0, 3)[0] == DevConfigControlOutcome.REVERTED
    assert store.control(me, 0.0, 2)[0] == DevConfigControlOutcome.SESSION_ENDED
    assert store.control(me, 0.0, 5)[0] == DevConfigControlOutcome.DISCARDED_REBOOTING
    assert store.control(me, 0.0, 42)[0] == DevConfigControlOutcome.INVALID_ACTION


def test_commit_of_security_codes_protects_the_logger() -> None:
    station, clock = make()
    me = ("a", 1)
    store = station.settings
    store.stage(me, clock(), [(4, struct.pack(">3H", 77, 0, 0), False)])
    store.control(me, clock(), 1)
    assert station.security == (77, 0, 0)
    assert not station.allowed(0, Need.ADMIN) and station.allowed(77, Need.ADMIN)


# --- variables (Get/Set Values) ---------------------------------------------------------------


def test_public_values_can_be_set_and_read_in_any_numeric_type() -> None:
    station, _ = make()
    raw = encode_value(DataType.IEEE4, 21.5)
    assert station.set_values("Public", "Setpoint", DataType.IEEE4, 1, raw) == R.OK
    code, data = station.get_values("Public", "Setpoint", DataType.IEEE4, 1)
    assert code == R.OK and decode_value(DataType.IEEE4, data)[0] == 21.5
    code, data = station.get_values("Public", "Setpoint", DataType.INT4, 1)
    assert code == R.OK and decode_value(DataType.INT4, data)[0] == 22
    last = station.records("Public")[-1]
    assert last.values["Setpoint"] == 21.5


def test_array_elements_and_swaths() -> None:
    station, _ = make()
    two = encode_value(DataType.IEEE4, 1.25) + encode_value(DataType.IEEE4, 2.5)
    assert station.set_values("Public", "WS_ms(3)", DataType.IEEE4, 2, two) == R.OK
    code, data = station.get_values("Public", "WS_ms(3)", DataType.IEEE4, 2)
    assert code == R.OK and data == two
    assert station.get_values("Public", "WS_ms(4)", DataType.IEEE4, 2)[0] == (
        R.MEMORY_BOUNDS_VIOLATION
    )
    assert station.get_values("Public", "WS_ms(5)", DataType.IEEE4, 1)[0] == (
        R.INVALID_TABLE_OR_FIELD
    )


def test_strings_booleans_and_refusals() -> None:
    station, _ = make()
    msg = encode_value(DataType.ASCIIZ, "hello")
    assert station.set_values("Public", "Status_Msg", DataType.ASCIIZ, 5, msg) == R.OK
    assert station.get_values("Public", "Status_Msg", DataType.ASCIIZ, 1) == (R.OK, msg)
    assert station.get_values("Public", "Status_Msg", DataType.IEEE4, 1)[0] == (
        R.CONVERSION_NOT_SUPPORTED
    )
    assert station.set_values("Public", "Flag", DataType.BOOL, 1, b"\xff") == R.OK
    assert station.get_values("Public", "Flag", DataType.INT4, 1) == (
        R.OK,
        encode_value(DataType.INT4, -1),
    )
    assert station.set_values("Status", "OSVersion", DataType.INT4, 1, b"\0\0\0\1") == (
        R.INVALID_TABLE_OR_FIELD
    )
    assert station.set_values("Nope", "x", DataType.INT4, 1, b"\0\0\0\1") == (
        R.INVALID_TABLE_OR_FIELD
    )
    assert station.set_values("Public", "Setpoint", DataType.IEEE4, 1, b"\0") == (
        R.MEMORY_BOUNDS_VIOLATION
    )


def test_writable_status_fields_change_the_station() -> None:
    station, _ = make()
    name = encode_value(DataType.ASCIIZ, "NEWNAME")
    assert station.set_values("Status", "StationName", DataType.ASCIIZ, 7, name) == R.OK
    assert station.station_name == "NEWNAME"
    assert station.value_access("Status", "StationName") is Need.ADMIN
    assert station.value_access("Public", "Setpoint") is Need.WRITE


def test_status_record_reports_the_station() -> None:
    station, _ = make(model="CR800")
    status = station.record("Status", station.record_numbers("Status")[-1])
    v = status.values
    assert v["OSVersion"] == "CR800.Std.24"
    assert v["ProgName"] == "CPU:Default.CR8"
    assert v["PakBusAddress"] == 1
    assert v["DataTableName"] == "Table1"
    assert v["StartTime"] == status.timestamp - dt.timedelta(minutes=29, seconds=30)
    assert v["PortConfig"] == ("Input",) * 8
    assert isinstance(v["Battery"], float)


# --- CRBasic ----------------------------------------------------------------------------------


def test_rendered_default_program_reads_back_to_the_same_tables() -> None:
    program = default_program(1_000)
    assert parse_program(render_program(program)) == program


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Public x\nBeginProg\nEndProg\nDataTable(T, True, 10)\nSample(1, x, FP2)\n",
            "has no EndTable",
        ),
        ("Public x\n", "BeginProg ... EndProg not found"),
        ("Public x As Potato\nBeginProg\nEndProg\n", "unknown variable type"),
        (
            "Public x\nDataTable(T,True,5)\nSample(1, x, FP9)\nEndTable\nBeginProg\nEndProg",
            "unknown output data type",
        ),
        (
            "Public x\nDataTable(T,True,5)\nDataInterval(0,5,Fortnight,1)\nEndTable\n",
            "unknown time unit",
        ),
        (
            "Public s As String\nDataTable(T,True,5)\nAverage(1,s,FP2,False)\nEndTable\n",
            "string variables are stored as String only",
        ),
    ],
)
def test_compile_errors(text: str, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        parse_program(text)


# --- the TOML station file --------------------------------------------------------------------


def test_station_file(tmp_path: Path) -> None:
    (tmp_path / "behind.toml").write_text('station_name = "BEHIND"\nrecords = 5\n')
    path = tmp_path / "station.toml"
    path.write_text(
        textwrap.dedent(
            """\
            station_name = "RIDGE"
            model = "cr3000"
            records = 12
            security_code = 4321

            [[tables]]
            name = "Hourly"
            interval = "1 hr"
            size = 48
            [[tables.fields]]
            name = "BattV_Min"
            type = "FP2"
            processing = "Min"
            units = "Volts"
            [[tables.fields]]
            name = "Msg"
            type = "String"
            length = 10

            [[tables]]
            name = "Alarms"
            every = 300
            [[tables.fields]]
            name = "Level"
            type = "Long"

            [[neighbours]]
            node = 2
            station = "behind.toml"
            model = "CR800"
            """
        )
    )
    config = load_station(path)
    station = Station(config=config, clock=FakeClock())
    assert station.model.name == "CR3000" and station.station_name == "RIDGE"
    assert station.security == (4321, 0, 0)
    assert [d.name for d in station.table_defs()] == ["Status", "Hourly", "Alarms", "Public"]
    assert station.record_numbers("Hourly") == range(0, 12)
    alarms = station.table_def("Alarms")
    assert not alarms.is_interval
    times = [r.timestamp for r in station.records("Alarms")]
    assert times == sorted(times) and len(times) >= 100
    assert {f.name for f in station.table_def("Public").fields} == {"BattV", "Msg", "Level"}
    behind = station.neighbours[2]
    assert behind.model.name == "CR800" and behind.station_name == "BEHIND"
    assert behind.record_numbers("Table1") == range(0, 5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1", "unknown key 'colour'"),
        ("model = 'CR9'", "unknown model"),
        ("[[tables]]\nname = 'T'\n", r"tables\[0\]\.fields: a table needs at least one field"),
        ("[[tables]]\nname='T'\n[[tables.fields]]\nname='x'\ntype='FP9'\n", "unknown type"),
        (
            "[[tables]]\nname='T'\n[[tables.fields]]\nname='x'\nprocessing='Avg'\ntype='String'\n",
            "strings can only be sampled",
        ),
        ("[[neighbours]]\nnode = 9000\n", "PakBus address"),
        ("security = [0, 1, 0]", "level 1 must be set before 2"),
        ("records = 'many'", "whole number"),
        ("this is not toml", "invalid TOML"),
    ],
)
def test_bad_station_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_station(path)
    assert str(path) in str(info.value)


def test_station_file_with_a_program(tmp_path: Path) -> None:
    (tmp_path / "prog.CR1").write_text(NEW_PROGRAM)
    config = parse_station({"program": "prog.CR1"}, source="x", base=tmp_path)
    station = Station(config=config, clock=FakeClock(), records=4)
    assert station.program.name == "CPU:prog.CR1"
    assert station.record_numbers("Hourly") == range(0, 4)
    with pytest.raises(ConfigError, match="cannot read program"):
        parse_station({"program": "prog.CR1"}, source="x", base=tmp_path / "missing")
    (tmp_path / "bad.CR1").write_text("Public x\n")
    with pytest.raises(ConfigError, match=r"bad\.CR1 does not compile: line 1: BeginProg"):
        parse_station({"program": "bad.CR1"}, source="x", base=tmp_path)
