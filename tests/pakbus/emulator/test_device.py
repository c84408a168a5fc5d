"""The emulated logger's answers, with bytes alone (fieldlink.pakbus.emulator.device).

Captured frames from real CR1000s (pakbus-vectors.md) go in, and what comes out is
compared byte for byte where the vector pins the answer (V3.2, V4, V12, V15), or
decoded with the shared codec and checked against the station's ground truth.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vectors import V12_FRAME

from fieldlink.pakbus.emulator.config import StationConfig, parse_station
from fieldlink.pakbus.emulator.device import Device, DevicePort, Outgoing, hello_request_packet
from fieldlink.pakbus.emulator.spec import FieldSpec, ProgramSpec
from fieldlink.pakbus.emulator.station import ManualClock, Station
from fieldlink.pakbus.protocol import bmp5, pakctrl
from fieldlink.pakbus.protocol.codes import (
    AccessLevel,
    Bmp5ResponseCode,
    CollectMode,
    CompileState,
    DeliveryFailureCode,
    DevConfigControlOutcome,
    DevConfigGetOutcome,
    DevConfigSetOutcome,
    FileCommand,
    SettingOutcome,
)
from fieldlink.pakbus.protocol.framing import FrameDecoder, encode_frame
from fieldlink.pakbus.protocol.messages import Message, decode_message
from fieldlink.pakbus.protocol.model import Record, TableDef
from fieldlink.pakbus.protocol.packet import HiProto, LinkState, Packet
from fieldlink.pakbus.protocol.records import FragmentAssembler, parse_collect_payload
from fieldlink.pakbus.protocol.tabledef import parse_tdf
from fieldlink.pakbus.protocol.types import DataType, decode_value
from fieldlink.pakbus.protocol.wire import NSec

R = Bmp5ResponseCode
F = DeliveryFailureCode
CLIENT = 4094
PYCR = 0x802  # PyCampbellCR1000's address in the captures


def frame(text: str) -> bytes:
    return bytes.fromhex(text)


def make(**kwargs: object) -> tuple[Station, Device, ManualClock]:
    clock = ManualClock()
    kwargs.setdefault("records", 40)
    kwargs.setdefault("seed", 5)
    station = Station(clock=clock, **kwargs)  # type: ignore[arg-type]
    return station, Device(station), clock


def send(
    device: Device,
    message: Message,
    *,
    dst: int = 1,
    dst_phy: int | None = None,
    src: int = CLIENT,
    client: object = "c",
    hop: int = 0,
) -> list[tuple[Outgoing, Message]]:
    """Encode ``message`` in a packet, hand it to the device, decode what comes back."""
    packet = Packet.message(
        message.HI_PROTO, message.encode(), dst=dst, src=src, dst_phy=dst_phy, hop_count=hop
    )
    out = device.handle(packet, client)
    return [(o, decode_message(o.packet.hi_proto or 0, o.packet.body)) for o in out]


def answer(device: Device, message: Message, **kwargs: object) -> Message:
    """The one immediate answer to ``message``."""
    out = send(device, message, **kwargs)  # type: ignore[arg-type]
    assert len(out) == 1 and out[0][0].delay == 0
    return out[0][1]


def unquoted(wire: bytes) -> bytes:
    frames = FrameDecoder().feed(wire)
    assert len(frames) == 1
    return frames[0]


# --- captured exchanges --------------------------------------------------------------------------


def test_pycampbellcr1000_hello_gets_the_captured_cr1000_answer() -> None:
    """V2 in (Hello with link state Ring), V3.2 out, byte for byte."""
    _, device, _ = make()
    out = DevicePort(device).receive(frame("BD 90 01 58 02 00 01 08 02 09 01 00 02 07 08 F6 86 BD"))
    assert [o.to_wire() for o in out] == [
        frame("BD A8 02 10 01 08 02 00 01 89 01 00 02 07 08 24 56 BD")
    ]


def test_unsolicited_hello_request_is_the_captured_frame() -> None:
    """V4: EF FF 10 01 0F FF 00 01 0E 00 DD F0."""
    assert hello_request_packet(1).to_wire() == frame("BD EF FF 10 01 0F FF 00 01 0E 00 DD F0 BD")


def test_bare_ring_is_answered_ready_as_in_the_manual() -> None:
    """V15.1 in, V15.2 out."""
    _, device, _ = make()
    out = DevicePort(device).receive(frame("BD 90 01 0F FE 71 D2 BD"))
    assert [o.to_wire() for o in out] == [frame("BD AF FE 00 01 5A 89 BD")]


def test_bare_finished_is_answered_off_line() -> None:
    _, device, _ = make()
    finished = Packet.link_only(LinkState.FINISHED, dst=1, src=CLIENT).to_wire()
    (out,) = DevicePort(device).receive(finished)
    assert out.packet.is_link_only and out.packet.link_state == LinkState.OFF_LINE


def test_bye_is_not_answered() -> None:
    """V1.8: PyCampbellCR1000's Bye (link state Finished, with a message)."""
    _, device, _ = make()
    assert DevicePort(device).receive(frame("BD B0 01 18 02 00 01 08 02 0D 00 50 6D BD")) == []


V12 = V12_FRAME


def test_get_settings_without_security_code_replays_the_captured_response() -> None:
    """V1.3's request (no SecurityCode, here with TranNbr 5) gets V12 byte for byte.

    The station is named LABO like the captured logger; the first page ends where V12
    does (MoreSettings 1) because the next setting is too large to join it.
    """
    _, device, _ = make(config=StationConfig(station_name="LABO"))
    request = encode_frame(frame("A0 01 98 02 00 01 08 02 0F 05"))
    (out,) = DevicePort(device).receive(request)
    assert unquoted(out.to_wire()) == V12[:-2]


def test_clock_read_as_pycampbellcr1000_sends_it() -> None:
    """V1.5: Clock with adjustment (0, 0) returns the logger time."""
    station, device, _ = make()
    (out,) = DevicePort(device).receive(
        frame("BD A0 01 98 02 10 01 08 02 17 04 00 00 00 00 00 00 00 00 00 00 58 27 BD")
    )
    response = decode_message(1, out.packet.body)
    assert isinstance(response, bmp5.ClockResponse) and response.tran == 4
    assert response.resp_code == R.OK
    assert response.old_time == NSec.from_total_ns(station.now_ns())
    assert out.packet.dst_node == PYCR and out.packet.src_node == 1


def test_programming_statistics_as_pycampbellcr1000_asks() -> None:
    """V1.6: the answer has the V6 layout (no ModelNo on a CR1000 OS 24)."""
    station, device, _ = make()
    (out,) = DevicePort(device).receive(frame("BD A0 01 98 02 10 01 08 02 18 05 00 00 4B 81 BD"))
    stats = decode_message(1, out.packet.body)
    assert isinstance(stats, bmp5.ProgStatsResponse)
    assert stats.os_version == "CR1000.Std.24" and stats.os_sig == 12288
    assert stats.serial_number == "E4668"
    assert stats.program_name == stats.power_up_program == "CPU:Default.CR1"
    assert stats.compile_state == CompileState.RUNNING
    assert stats.compile_result == "CPU:Default.CR1 -- Compiled in PipelineMode.\r\n"
    assert stats.program_sig == station.program.signature
    assert stats.model is None


def test_newer_models_add_model_and_station_name_to_statistics() -> None:
    _, device, _ = make(model="CR1000X")
    stats = answer(device, bmp5.ProgStatsCommand(1))
    assert isinstance(stats, bmp5.ProgStatsResponse)
    assert stats.model == "CR1000X" and stats.station_name == "Station1"
    assert stats.os_version == "CR1000X.Std.04.02"


def test_unknown_file_is_invalid_file_name() -> None:
    """V1.7: File Receive of "Filename" -> RespCode 0x0D."""
    _, device, _ = make()
    (out,) = DevicePort(device).receive(
        frame(
            "BD A0 01 98 02 10 01 08 02 1D 06 00 00 46 69 6C 65 6E 61 6D 65 00 01 00 00 00 00 02 00"
            " 51 47 BD"
        )
    )
    response = decode_message(1, out.packet.body)
    assert isinstance(response, bmp5.FileReceiveResponse)
    assert response.resp_code == R.INVALID_FILE_NAME


def test_stale_table_signature_is_refused() -> None:
    """V1.4: mode 7 with the captured logger's Table1 signature 0x9EA7 -> RespCode 7."""
    _, device, _ = make()
    (out,) = DevicePort(device).receive(
        frame(
            "BD A0 01 98 02 10 01 08 02 09 03 00 00 07 00 02 9E A7 2A 72 6F 30 00 00 00 00 2A 72"
            " 6F 34 00 00 00 00 00 00 FB D4 BD"
        )
    )
    response = decode_message(1, out.packet.body)
    assert isinstance(response, bmp5.CollectDataResponse)
    assert response.resp_code == R.INVALID_TABLE_DEFINITION


def test_quoted_set_values_frame() -> None:
    """V21.1: a Set Values whose value contains 0xBD (quoted on the wire) reaches the variable."""
    program = ProgramSpec(public=(FieldSpec("Setpt", DataType.IEEE4, read_only=False),), tables=())
    station, device, _ = make(config=StationConfig(program=program))
    (out,) = DevicePort(device).receive(
        frame(
            "BD A0 01 9F FE 10 01 0F FE 1B 2A 00 00 50 75 62 6C 69 63 00 09 53 65 74 70 74 00 00"
            " 01 BC DD CC CC CD EF 40 BD"
        )
    )
    response = decode_message(1, out.packet.body)
    assert isinstance(response, bmp5.SetValuesResponse) and response.resp_code == R.OK
    code, data = station.get_values("Public", "Setpt", DataType.IEEE4, 1)
    assert code == R.OK and data == frame("BD CC CC CD")


# --- collecting data ---------------------------------------------------------------------------


def tables(station: Station) -> dict[int, TableDef]:
    return {d.number: d for d in station.table_defs()}


def collect(
    device: Device,
    station: Station,
    name: str,
    mode: int,
    p1: object = None,
    p2: object = None,
    fields: tuple[int, ...] = (),
) -> tuple[list[Record], bool, bytes]:
    tdef = station.table_def(name)
    request = bmp5.TableRequest(tdef.number, tdef.signature, p1, p2, fields)  # type: ignore[arg-type]
    response = answer(device, bmp5.CollectDataCommand(9, 0, mode, (request,)))
    assert isinstance(response, bmp5.CollectDataResponse) and response.resp_code == R.OK
    payload = parse_collect_payload(response.data, tables(station), {tdef.number: fields})
    return payload.records, payload.more, response.data


def same(a: Record, b: Record) -> bool:
    def eq(x: object, y: object) -> bool:
        if isinstance(x, tuple) and isinstance(y, tuple):
            return all(eq(i, j) for i, j in zip(x, y, strict=True))
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x):
            return math.isnan(y)
        return x == y

    return (
        a.number == b.number
        and a.timestamp == b.timestamp
        and all(eq(v, b.values[k]) for k, v in a.values.items())
    )


def test_collect_everything_in_packets_mode_3_then_4() -> None:
    station, device, _ = make(records=300)
    got, more, data = collect(device, station, "Table1", CollectMode.ALL)
    assert more and 0 < len(got) < 300
    assert len(data) + 3 <= 1000  # a whole message within the default Max Packet Size
    while more:
        page, more, _ = collect(
            device, station, "Table1", CollectMode.FROM_RECORD, got[-1].number + 1
        )
        got += page
    truth = station.records("Table1")
    assert [r.number for r in got] == list(range(300))
    assert all(same(a, b) for a, b in zip(got, truth, strict=True))


def test_newest_records_mode_5() -> None:
    station, device, _ = make()
    got, more, _ = collect(device, station, "Table1", CollectMode.NEWEST, 3)
    assert [r.number for r in got] == [37, 38, 39] and not more
    got, _, _ = collect(device, station, "Table1", CollectMode.NEWEST, 1)
    assert same(got[0], station.record("Table1", 39))


def test_record_range_mode_6_and_time_range_mode_7() -> None:
    station, device, _ = make()
    got, _, _ = collect(device, station, "Table1", CollectMode.RECORD_RANGE, 10, 14)
    assert [r.number for r in got] == [10, 11, 12, 13]
    start = station.record("Table1", 20).timestamp
    begin = NSec(int((start - dt.datetime(1990, 1, 1)).total_seconds()), 0)
    end = NSec(begin.seconds + 180, 0)
    got, _, _ = collect(device, station, "Table1", CollectMode.TIME_RANGE, begin, end)
    assert [r.number for r in got] == [20, 21, 22]
    assert all(same(r, station.record("Table1", r.number)) for r in got)


def test_mode_4_from_an_overwritten_record_starts_at_the_oldest() -> None:
    config = parse_station(
        {
            "records": 30,
            "tables": [
                {
                    "name": "Small",
                    "interval": 60,
                    "size": 10,
                    "fields": [{"name": "BattV", "type": "FP2"}],
                }
            ],
        },
        source="test",
        base=Path("."),
    )
    station, device, _ = make(config=config, records=30)
    got, _, _ = collect(device, station, "Small", CollectMode.FROM_RECORD, 5)
    assert [r.number for r in got] == list(range(20, 30))  # 5 was overwritten long ago
    got, _, _ = collect(device, station, "Small", CollectMode.FROM_RECORD, 30)
    assert got == []  # the next record to be stored: nothing new yet
    got, _, _ = collect(device, station, "Small", CollectMode.FROM_RECORD, 500)
    assert [r.number for r in got] == list(range(20, 30))  # a position from a reset table


def test_selected_fields_only() -> None:
    station, device, _ = make()
    got, _, _ = collect(device, station, "Table1", CollectMode.NEWEST, 2, fields=(7, 1))
    assert list(got[0].values) == ["Counter", "BattV_Min"]
    truth = station.record("Table1", got[0].number).values
    assert got[0].values["Counter"] == truth["Counter"]
    tdef = station.table_def("Table1")
    bad = bmp5.TableRequest(tdef.number, tdef.signature, 1, None, (99,))
    response = answer(device, bmp5.CollectDataCommand(9, 0, CollectMode.NEWEST, (bad,)))
    assert isinstance(response, bmp5.CollectDataResponse)
    assert response.resp_code == R.INVALID_TABLE_DEFINITION


def test_status_record_comes_in_fragments_mode_8() -> None:
    """V11: Status is 2200 value bytes + time stamp, more than one packet holds."""
    station, device, clock = make()
    status = station.table_def("Status")
    response = answer(
        device,
        bmp5.CollectDataCommand(
            1, 0, CollectMode.ALL, (bmp5.TableRequest(status.number, status.signature),)
        ),
    )
    assert isinstance(response, bmp5.CollectDataResponse)
    payload = parse_collect_payload(response.data, tables(station))
    first = payload.fragment
    assert first is not None and first.offset == 0 and payload.records == []
    assembler = FragmentAssembler(status, first.record_nbr)
    assembler.add(first)
    clock.advance(3)  # the live Status record moves on; the fragments stay consistent
    requests = 1
    while not assembler.complete:
        request = bmp5.TableRequest(
            status.number, status.signature, first.record_nbr, assembler.next_offset
        )
        response = answer(
            device, bmp5.CollectDataCommand(2, 0, CollectMode.PARTIAL_RECORD, (request,))
        )
        assert isinstance(response, bmp5.CollectDataResponse)
        fragment = parse_collect_payload(response.data, tables(station)).fragment
        assert fragment is not None and fragment.offset == assembler.next_offset
        assembler.add(fragment)
        requests += 1
    record = assembler.record
    assert record is not None and requests == 3
    assert same(record, station.record("Status", first.record_nbr))
    assert record.values["OSVersion"] == "CR1000.Std.24"


def test_several_tables_in_one_request() -> None:
    station, device, _ = make()
    t1, public = station.table_def("Table1"), station.table_def("Public")
    requests = (
        bmp5.TableRequest(t1.number, t1.signature, 2, None),
        bmp5.TableRequest(public.number, public.signature, 1, None),
    )
    response = answer(device, bmp5.CollectDataCommand(3, 0, CollectMode.NEWEST, requests))
    assert isinstance(response, bmp5.CollectDataResponse)
    payload = parse_collect_payload(response.data, tables(station))
    assert [(r.table, r.number) for r in payload.records][:2] == [("Table1", 38), ("Table1", 39)]
    assert payload.records[2].table == "Public" and not payload.more


def test_max_packet_size_setting_bounds_every_answer() -> None:
    station, device, _ = make(records=100)
    change = pakctrl.DevConfigSetSettingsCommand(
        1, 0, (pakctrl.SettingChange(49, struct.pack(">H", 200)),)
    )
    assert isinstance(answer(device, change), pakctrl.DevConfigSetSettingsResponse)
    commit = answer(device, pakctrl.DevConfigControlCommand(2, 0, 1))
    assert isinstance(commit, pakctrl.DevConfigControlResponse)
    assert commit.outcome == DevConfigControlOutcome.COMMITTED
    assert station.max_packet_size == 200
    got, more, data = collect(device, station, "Table1", CollectMode.ALL)
    assert len(data) + 3 <= 200 and more and len(got) >= 1
    swath = answer(device, bmp5.FileReceiveCommand(3, 0, ".TDF", False, 0, 993))
    assert isinstance(swath, bmp5.FileReceiveResponse)
    assert len(swath.encode()) == 200 and swath.data == station.tdf()[:193]


# --- programs, Please Wait and signatures ------------------------------------------------------

PROGRAM = b"""Public Batt_V, T(2)
DataTable(Minute, True, 100)
  DataInterval(0, 1, Min, 10)
  Average(1, Batt_V, FP2, False)
  Sample(2, T(), IEEE4)
EndTable
BeginProg
  Scan(1, Sec, 0, 0)
    CallTable Minute
  NextScan
EndProg
"""


def read_file(device: Device, name: str, swath: int = 993) -> bytes:
    """File Receive in swaths until a short one (Campbell's rule), one TranNbr throughout."""
    data = b""
    while True:
        part = answer(device, bmp5.FileReceiveCommand(10, 0, name, False, len(data), swath))
        assert isinstance(part, bmp5.FileReceiveResponse) and part.resp_code == R.OK
        assert part.offset == len(data)
        data += part.data
        if len(part.data) < swath:
            return data


def test_sending_and_running_a_program_changes_the_tables() -> None:
    station, device, clock = make(compile_seconds=2.0)
    old_table1 = station.table_def("Table1")
    for i, offset in enumerate(range(0, len(PROGRAM), 100)):
        chunk = PROGRAM[offset : offset + 100]
        last = offset + 100 >= len(PROGRAM)
        sent = answer(
            device,
            bmp5.FileSendCommand(7, 0, "CPU:minute.CR1" if i == 0 else "", 0, last, offset, chunk),
        )
        assert isinstance(sent, bmp5.FileSendResponse)
        assert sent.resp_code == R.OK and sent.offset == offset
    assert station.file_bytes("CPU:minute.CR1") == PROGRAM
    control = answer(
        device,
        bmp5.FileControlCommand(8, 0, "CPU:minute.CR1", FileCommand.STOP_DELETE_RUN_SET_POWER_UP),
    )
    assert isinstance(control, bmp5.FileControlResponse) and control.resp_code == R.OK
    # While it compiles: Please Wait at once, the statistics when it is done.
    (wait, wait_msg), (late, stats) = send(device, bmp5.ProgStatsCommand(9, 0))
    assert isinstance(wait_msg, bmp5.PleaseWait) and wait.delay == 0
    assert wait_msg.tran == 9 and wait_msg.cmd_msg_type == 0x18 and wait_msg.wait_seconds == 2
    assert isinstance(stats, bmp5.ProgStatsResponse) and 1.9 < late.delay <= 2.0
    assert stats.program_name == "CPU:minute.CR1" and stats.compile_state == CompileState.RUNNING
    clock.advance(2.0)
    tdf = read_file(device, ".TDF")
    assert [t.name for t in parse_tdf(tdf)] == ["Status", "Minute", "Public"]
    stale = bmp5.TableRequest(old_table1.number, old_table1.signature, 1, None)
    refused = answer(device, bmp5.CollectDataCommand(11, 0, CollectMode.NEWEST, (stale,)))
    assert isinstance(refused, bmp5.CollectDataResponse)
    assert refused.resp_code == R.INVALID_TABLE_DEFINITION


def test_format_is_announced_with_please_wait() -> None:
    _, device, _ = make(format_seconds=3.0)
    (_, wait_msg), (late, done) = send(
        device, bmp5.FileControlCommand(4, 0, "CRD:", FileCommand.FORMAT)
    )
    assert isinstance(wait_msg, bmp5.PleaseWait) and wait_msg.wait_seconds == 3
    assert isinstance(done, bmp5.FileControlResponse) and done.resp_code == R.OK
    assert late.delay == pytest.approx(3.0)


def test_table_control_resets_a_table() -> None:
    station, device, _ = make()
    reset = answer(device, bmp5.TableControlCommand(1, 0, 1, "Table1"))
    assert isinstance(reset, bmp5.TableControlResponse) and reset.resp_code == R.OK
    assert station.record_numbers("Table1") == range(0, 0)
    for option, name, code in (
        (1, None, R.INVALID_TABLE_OR_FIELD),
        (2, "Table1", R.OPTION_NOT_APPLICABLE),
        (1, "Public", R.OPTION_NOT_APPLICABLE),
    ):
        response = answer(device, bmp5.TableControlCommand(2, 0, option, name))
        assert isinstance(response, bmp5.TableControlResponse) and response.resp_code == code


def test_get_and_set_values() -> None:
    _, device, _ = make()
    data = struct.pack(">f", 3.5)
    ok = answer(device, bmp5.SetValuesCommand(1, 0, "Public", 9, "Setpoint", 1, data))
    assert isinstance(ok, bmp5.SetValuesResponse) and ok.resp_code == R.OK
    got = answer(device, bmp5.GetValuesCommand(2, 0, "Public", 9, "Setpoint", 1))
    assert isinstance(got, bmp5.GetValuesResponse) and got.data == data
    status = answer(device, bmp5.GetValuesCommand(3, 0, "Status", 11, "OSVersion", 32))
    assert isinstance(status, bmp5.GetValuesResponse)
    assert decode_value(11, status.data, length=32)[0] == "CR1000.Std.24"
    refused = answer(device, bmp5.SetValuesCommand(4, 0, "Status", 6, "OSVersion", 1, b"\0\0\0\1"))
    assert isinstance(refused, bmp5.SetValuesResponse)
    assert refused.resp_code == R.INVALID_TABLE_OR_FIELD  # not 1: the code was good enough


# --- security --------------------------------------------------------------------------------


def test_level_1_code_guards_programs_and_settings_but_not_data() -> None:
    _, device, _ = make(security=1234)
    clock = answer(device, bmp5.ClockCommand(1, 0))
    assert isinstance(clock, bmp5.ClockResponse) and clock.resp_code == R.OK
    for code, expected in ((0, R.PERMISSION_DENIED), (1234, R.OK)):
        control = answer(device, bmp5.FileControlCommand(2, code, "", FileCommand.RESUME))
        assert isinstance(control, bmp5.FileControlResponse) and control.resp_code == expected
    denied = answer(device, pakctrl.DevConfigGetSettingsCommand(3))
    assert isinstance(denied, pakctrl.DevConfigGetSettingsResponse)
    assert denied.outcome == DevConfigGetOutcome.SECURITY and denied.settings == ()
    allowed = answer(device, pakctrl.DevConfigGetSettingsCommand(4, 1234))
    assert isinstance(allowed, pakctrl.DevConfigGetSettingsResponse)
    assert allowed.outcome == DevConfigGetOutcome.OK
    program = answer(device, bmp5.FileReceiveCommand(5, 0, "CPU:Default.CR1", False, 0, 512))
    assert isinstance(program, bmp5.FileReceiveResponse)
    assert program.resp_code == R.PERMISSION_DENIED
    tdf = answer(device, bmp5.FileReceiveCommand(6, 0, ".TDF", False, 0, 512))
    assert isinstance(tdf, bmp5.FileReceiveResponse) and tdf.resp_code == R.OK


def test_all_three_levels_lock_collection_and_the_clock() -> None:
    station, device, _ = make(security=(11, 22, 33))
    t1 = station.table_def("Table1")
    request = (bmp5.TableRequest(t1.number, t1.signature, 1, None),)
    for code, expected in ((0, R.PERMISSION_DENIED), (33, R.OK)):
        response = answer(device, bmp5.CollectDataCommand(1, code, CollectMode.NEWEST, request))
        assert isinstance(response, bmp5.CollectDataResponse) and response.resp_code == expected
    set_clock = bmp5.ClockCommand(2, 33, NSec(5, 0))
    response = answer(device, set_clock)
    assert isinstance(response, bmp5.ClockResponse) and response.resp_code == R.PERMISSION_DENIED
    response = answer(device, dataclasses.replace(set_clock, security_code=22))
    assert isinstance(response, bmp5.ClockResponse) and response.resp_code == R.OK
    level = answer(device, bmp5.CheckAccessCommand(3, 33))
    assert isinstance(level, bmp5.CheckAccessResponse)
    assert level.access_level == AccessLevel.READ_ONLY


# --- settings over the wire -------------------------------------------------------------------


def test_settings_pages_and_large_value_fragments() -> None:
    station, device, _ = make()
    seen: dict[int, bytes] = {}
    begin: int | None = None
    large: list[int] = []
    while True:
        page = answer(device, pakctrl.DevConfigGetSettingsCommand(1, 0, begin))
        assert isinstance(page, pakctrl.DevConfigGetSettingsResponse)
        assert len(page.encode()) <= 1000
        for s in page.settings:
            value = s.value
            if s.large_value:
                large.append(s.id)
                more = True
                while more:
                    fragment = answer(
                        device, pakctrl.DevConfigGetFragmentCommand(2, 0, s.id, len(value))
                    )
                    assert isinstance(fragment, pakctrl.DevConfigGetFragmentResponse)
                    value += fragment.data
                    more = fragment.more_fragments
            seen[s.id] = value
        if not page.more:
            break
        begin = 0x8000 | page.settings[-1].id
    assert large == [120, 121]
    assert seen == {s.id: s.value for s in station.settings.settings()}


def test_set_settings_session_and_lock_between_clients() -> None:
    station, device, _ = make()
    new_notes = b"big notes".ljust(1100, b".") + b"\x00"
    first = pakctrl.DevConfigSetSettingsCommand(
        1,
        0,
        (
            pakctrl.SettingChange(2, b"NEWNAME\x00"),
            pakctrl.SettingChange(121, new_notes[:700], more_fragments=True),
        ),
    )
    staged = answer(device, first, client="a")
    assert isinstance(staged, pakctrl.DevConfigSetSettingsResponse)
    assert staged.outcome == DevConfigSetOutcome.OK
    assert [(r.id, r.outcome) for r in staged.setting_outcomes] == [
        (2, SettingOutcome.TAGGED),
        (121, SettingOutcome.TAGGED),
    ]
    rest = answer(
        device,
        pakctrl.DevConfigSetFragmentCommand(2, 0, 121, 700, False, new_notes[700:]),
        client="a",
    )
    assert isinstance(rest, pakctrl.DevConfigSetFragmentResponse) and rest.outcome == 1
    other = answer(
        device,
        pakctrl.DevConfigSetSettingsCommand(3, 0, (pakctrl.SettingChange(2, b"OTHER\x00"),)),
        client="b",
    )
    assert isinstance(other, pakctrl.DevConfigSetSettingsResponse)
    assert other.outcome == DevConfigSetOutcome.LOCKED
    assert station.station_name == "Station1"
    commit = answer(device, pakctrl.DevConfigControlCommand(4, 0, 1), client="a")
    assert isinstance(commit, pakctrl.DevConfigControlResponse)
    assert commit.outcome == DevConfigControlOutcome.COMMITTED
    assert station.station_name == "NEWNAME" and station.settings.value(121) == new_notes


def test_new_pakbus_address_takes_effect_after_commit() -> None:
    station, device, _ = make()
    change = pakctrl.SettingChange(3, b"\0\x07")
    answer(device, pakctrl.DevConfigSetSettingsCommand(1, 0, (change,)))
    out = send(device, pakctrl.DevConfigControlCommand(2, 0, 1))
    assert out[0][0].packet.src_node == 1  # the answer still comes from the old address
    assert station.node == 7
    assert send(device, bmp5.ClockCommand(3, 0)) == []  # node 1 is gone
    reply = answer(device, bmp5.ClockCommand(4, 0), dst=7)
    assert isinstance(reply, bmp5.ClockResponse)


def test_string_settings() -> None:
    station, device, _ = make()
    got = answer(device, pakctrl.GetStringSettingsCommand(1, "Model;PakBusAddress"))
    assert isinstance(got, pakctrl.GetStringSettingsResponse)
    assert got.as_dict() == {"Model": "CR1000", "PakBusAddress": "1"}
    done = answer(device, pakctrl.SetStringSettingsCommand(2, "StationName=HILL;Model=X;"))
    assert isinstance(done, pakctrl.SetStringSettingsResponse)
    assert done.resp_code == 1 and done.fail_offset == len("StationName=HILL;")
    assert station.station_name == "HILL"


# --- PakCtrl chatter --------------------------------------------------------------------------


def test_echo_returns_the_payload_and_the_logger_time() -> None:
    station, device, _ = make()
    response = answer(device, pakctrl.EchoCommand(3, NSec(0, 0), b"\x01\x02ping"))
    assert isinstance(response, pakctrl.EchoResponse)
    assert response.payload == b"\x01\x02ping"
    assert response.time == NSec.from_total_ns(station.now_ns())


def test_hello_request_gets_a_hello_command() -> None:
    _, device, _ = make()
    ((out, hello),) = send(device, pakctrl.HelloRequest(), dst=0xFFF, dst_phy=0xFFF)
    assert isinstance(hello, pakctrl.HelloCommand) and hello.tran != 0
    assert out.packet.dst_node == CLIENT and out.packet.src_node == 1


def test_neighbour_list() -> None:
    config = parse_station({"neighbours": [{"node": 2}, {"node": 3}]}, source="t", base=Path("."))
    _, device, _ = make(config=config)
    response = answer(device, pakctrl.GetNeighbourListCommand(1))
    assert isinstance(response, pakctrl.GetNeighbourListResponse)
    assert [n.address for n in response.neighbours] == [2, 3]
    hello = answer(device, pakctrl.HelloCommand(2, 0, 2, 60))
    assert isinstance(hello, pakctrl.HelloResponse) and hello.is_router == 1


# --- routing ----------------------------------------------------------------------------------


def routed() -> tuple[Station, Device]:
    config = parse_station(
        {
            "neighbours": [
                {"node": 2, "model": "CR800", "neighbours": [{"node": 3, "model": "CR6"}]}
            ]
        },
        source="t",
        base=Path("."),
    )
    station, device, _ = make(config=config)
    return station, device


def test_packets_for_loggers_behind_are_routed_through() -> None:
    station, device = routed()
    ((out, stats),) = send(device, bmp5.ProgStatsCommand(5, 0), dst=2, dst_phy=1)
    assert isinstance(stats, bmp5.ProgStatsResponse) and stats.os_version == "CR800.Std.24"
    p = out.packet
    assert (p.src_node, p.src_phy, p.dst_node, p.dst_phy, p.hop_count) == (2, 1, CLIENT, CLIENT, 1)
    ((out, stats),) = send(device, bmp5.ProgStatsCommand(6, 0), dst=3, dst_phy=1)
    assert isinstance(stats, bmp5.ProgStatsResponse) and stats.os_version.startswith("CR6")
    assert out.packet.hop_count == 2 and out.packet.src_node == 3
    assert station.neighbours[2].neighbours[3].model.name == "CR6"


def test_unknown_node_gets_delivery_failure_unreachable() -> None:
    _, device = routed()
    ((out, failure),) = send(device, bmp5.ClockCommand(8, 0), dst=99, dst_phy=1)
    assert isinstance(failure, pakctrl.DeliveryFailureMessage)
    assert failure.err_code == F.UNREACHABLE_DESTINATION
    assert failure.dst_node == 99 and failure.original[:2] == b"\x17\x08"
    assert out.packet.src_node == 1 and out.packet.dst_node == CLIENT


# --- hostile and unsupported input ------------------------------------------------------------


@pytest.mark.parametrize(
    ("hi_proto", "body", "code"),
    [
        (HiProto.PAKCTRL, b"\x04\x01", F.UNSUPPORTED_MESSAGE_TYPE),  # device type query
        (HiProto.BMP5, b"\x1f\x02\x00\x00", F.UNSUPPORTED_MESSAGE_TYPE),  # query capabilities
        (HiProto.BMP5, b"\x0b\x02\x00\x00ls\r", F.UNSUPPORTED_MESSAGE_TYPE),  # terminal
        (HiProto.BMP5, b"\x17\x03\x00", F.MALFORMED_MESSAGE),  # clock cut short
        (HiProto.BMP5, b"\x09\x04\x00\x00\x02\x00\x01", F.MALFORMED_MESSAGE),  # collect mode 2
        (HiProto.ENCRYPTED, b"\x11\x00\x02\x00\x00", F.UNREACHABLE_PROTOCOL),
        (HiProto.DATAGRAM, b"\x01\x02", F.UNREACHABLE_PROTOCOL),
    ],
)
def test_delivery_failure_codes(hi_proto: int, body: bytes, code: int) -> None:
    _, device, _ = make()
    packet = Packet.message(hi_proto, body, dst=1, src=CLIENT)
    (out,) = device.handle(packet, "c")
    failure = decode_message(0, out.packet.body)
    assert isinstance(failure, pakctrl.DeliveryFailureMessage) and failure.err_code == code
    assert failure.original == body[:16] and failure.hi_proto_of_original == hi_proto


@pytest.mark.parametrize(
    ("body", "dst", "hop"),
    [
        (b"\x89\x01\x00\x02\xff\xff", 1, 0),  # a response: never answered
        (b"\x81\x00\x01\x00\x01\x00\x02", 1, 0),  # a delivery failure
        (b"\x04\x01", 0xFFF, 0),  # broadcast
        (b"\x04\x01", 1, 15),  # hop count exhausted
        (b"\x04\x01", 2, 0),  # for someone else on the line
    ],
)
def test_messages_that_must_not_be_answered(body: bytes, dst: int, hop: int) -> None:
    _, device, _ = make()
    packet = Packet.message(HiProto.PAKCTRL, body, dst=dst, src=CLIENT, hop_count=hop)
    assert device.handle(packet, "c") == []


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_port(data: bytes) -> None:
    port = DevicePort(DEVICE)
    for out in port.receive(b"\xbd" + data + b"\xbd"):
        assert isinstance(out, Outgoing)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([0, 1]), st.integers(0, 255), st.binary(max_size=60))
def test_random_messages_are_answered_or_dropped_never_raised(
    hi: int, msg_type: int, rest: bytes
) -> None:
    packet = Packet.message(hi, bytes([msg_type, 7]) + rest, dst=1, src=CLIENT)
    for out in DEVICE.handle(packet, "fuzz"):
        assert out.packet.dst_node == CLIENT
        decode_message(out.packet.hi_proto or 0, out.packet.body)


DEVICE = Device(Station(clock=ManualClock(), records=20, compile_seconds=0.0, format_seconds=0.0))
