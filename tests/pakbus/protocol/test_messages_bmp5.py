"""BMP5 messages (HiProtoCode 1).

Byte vectors are from /work/shared/protocols/pakbus-vectors.md; each test names its
vector.  Whole frames are checked for CSI signature 0 before the body (bytes between
the 8-byte header and the 2-byte nullifier) is used, so a copying slip cannot pass.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlink.errors import ProtocolError, UsageError
from fieldlink.pakbus.protocol import bmp5 as b5
from fieldlink.pakbus.protocol.codes import Bmp5ResponseCode, CollectMode
from fieldlink.pakbus.protocol.messages import BMP5, Message, decode_message, registered_messages
from fieldlink.pakbus.protocol.signature import signature
from fieldlink.pakbus.protocol.wire import NSec


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def frame_body(frame_hex: str) -> bytes:
    frame = h(frame_hex)
    assert signature(frame) == 0, "vector copied wrongly: frame signature is not 0"
    return frame[8:-2]


def roundtrip(body: bytes, expected: Message) -> None:
    decoded = decode_message(BMP5, body)
    assert decoded == expected
    assert type(decoded) is type(expected)
    assert expected.encode() == body


def when(t: NSec) -> dt.datetime:
    return dt.datetime(1990, 1, 1) + dt.timedelta(
        seconds=t.seconds, microseconds=t.nanoseconds // 1000
    )


# --- request vectors --------------------------------------------------------------------------

V1_4 = "09 03 00 00 07 00 02 9E A7 2A 72 6F 30 00 00 00 00 2A 72 6F 34 00 00 00 00 00 00"


@pytest.mark.parametrize(
    ("vector", "body", "expected"),
    [
        # V1.4 = V14: mode 7, table 2, sig 0x9EA7, 09:24:00 .. 09:24:04, all fields.
        (
            "V1.4/V14",
            V1_4,
            b5.CollectDataCommand(
                3, 0, 7, (b5.TableRequest(2, 0x9EA7, NSec(712142640, 0), NSec(712142644, 0)),)
            ),
        ),
        ("V1.5", "17 04 00 00 00 00 00 00 00 00 00 00", b5.ClockCommand(4, 0, NSec(0, 0))),
        ("V1.6", "18 05 00 00", b5.ProgStatsCommand(5, 0)),
        (
            "V1.7",
            "1D 06 00 00 46 69 6C 65 6E 61 6D 65 00 01 00 00 00 00 02 00",
            b5.FileReceiveCommand(6, 0, "Filename", True, 0, 512),
        ),
        ("V16.1", "17 17 00 00 00 00 00 00 00 00 00 00", b5.ClockCommand(0x17)),
        (
            "V17.1",
            "1D 1D 00 00 43 50 55 3A 44 65 66 2E 74 64 66 00 00 00 00 00 00 00 80",
            b5.FileReceiveCommand(0x1D, 0, "CPU:Def.tdf", False, 0, 128),
        ),
        # V18: mode 5 (newest P1 records), table 3, sig 0x4315, P1 = 60.
        (
            "V18",
            "09 09 00 00 05 00 03 43 15 00 00 00 3C 00 00",
            b5.CollectDataCommand(9, 0, 5, (b5.TableRequest(3, 0x4315, 60),)),
        ),
    ],
)
def test_request_vectors(vector: str, body: str, expected: Message) -> None:
    roundtrip(h(body), expected)


def test_v1_4_times_are_the_documented_ones() -> None:
    msg = decode_message(BMP5, h(V1_4))
    assert isinstance(msg, b5.CollectDataCommand)
    (req,) = msg.requests
    assert isinstance(req.p1, NSec) and isinstance(req.p2, NSec)
    assert when(req.p1) == dt.datetime(2012, 7, 26, 9, 24, 0)
    assert when(req.p2) == dt.datetime(2012, 7, 26, 9, 24, 4)


def test_v21_set_values_body() -> None:
    frame = (
        "A0 01 9F FE 10 01 0F FE 1B 2A 00 00 50 75 62 6C 69 63 00 09 53 65 74 70 74 00 00 01"
        " BD CC CC CD EF 40"
    )
    body = frame_body(frame)
    expected = b5.SetValuesCommand(0x2A, 0, "Public", 9, "Setpt", 1, h("BD CC CC CD"))
    roundtrip(body, expected)
    assert struct.unpack(">f", expected.data)[0] == pytest.approx(-0.1)


def test_weatherd_collect_with_single_byte_terminator() -> None:
    # weatherd ends the field list with one 0x00 (V15–V19 notes); we accept it and
    # write the proper 0x0000 terminator back.
    body = h("09 DC 00 00 05 00 04 77 D8 00 00 00 01 00")
    msg = decode_message(BMP5, body)
    assert msg == b5.CollectDataCommand(0xDC, 0, 5, (b5.TableRequest(4, 0x77D8, 1),))
    assert msg.encode() == body + b"\x00"


# --- response vectors -------------------------------------------------------------------------

V6_FRAME = """
A8 02 10 01 18 02 00 01 98 05 00 43 52 31 30 30 30 2E 53 74 64 2E 32 34 00 30 00 45 34 36 36 38
00 43 50 55 3A 43 52 31 30 30 30 5F 4C 41 42 4F 2E 43 52 31 00 01 43 50 55 3A 43 52 31 30 30 30
5F 4C 41 42 4F 2E 43 52 31 00 0B B1 2A 61 51 8E 00 98 96 80 43 50 55 3A 43 52 31 30 30 30 5F 4C
41 42 4F 2E 43 52 31 20 2D 2D 20 43 6F 6D 70 69 6C 65 64 20 69 6E 20 50 69 70 65 6C 69 6E 65 4D
6F 64 65 2E 0D 0A 00 D3 41
"""


def test_v6_programming_statistics() -> None:
    body = frame_body(V6_FRAME)
    expected = b5.ProgStatsResponse(
        tran=5,
        resp_code=0,
        os_version="CR1000.Std.24",
        os_sig=12288,
        serial_number="E4668",
        power_up_program="CPU:CR1000_LABO.CR1",
        compile_state=1,
        program_name="CPU:CR1000_LABO.CR1",
        program_sig=2993,
        compile_time=NSec(711020942, 10_000_000),
        compile_result="CPU:CR1000_LABO.CR1 -- Compiled in PipelineMode.\r\n",
        model=None,
        station_name=None,
    )
    roundtrip(body, expected)
    assert expected.compile_time is not None
    assert when(expected.compile_time) == dt.datetime(2012, 7, 13, 9, 49, 2, 10000)


def test_prog_stats_newer_os_and_refusal() -> None:
    base = b5.ProgStatsResponse(1, 0, "CR6.Std.12", 1, "123", "", 1, "CPU:x.CR6", 2, NSec(5, 0), "")
    newer = dataclasses.replace(base, model="CR6", station_name="Site A")
    body = newer.encode()
    assert body.endswith(b"\x00CR6\x00Site A\x00")
    assert decode_message(BMP5, body) == newer
    # A still newer OS appending something unknown must not break the decode.
    assert decode_message(BMP5, body + b"more\x00") == newer
    refused = decode_message(BMP5, h("98 05 01"))
    assert refused == b5.ProgStatsResponse(5, Bmp5ResponseCode.PERMISSION_DENIED)
    assert refused.encode() == h("98 05 01")
    with pytest.raises(ProtocolError):
        decode_message(BMP5, h("98 05 00"))  # ok but no statistics
    with pytest.raises(UsageError, match="OSSig"):
        b5.ProgStatsResponse(5, 0, os_version="x").encode()


def test_v7_clock_response() -> None:
    body = frame_body("A8 02 10 01 18 02 00 01 97 05 00 2A 72 73 0A 3B 02 33 80 8D 6D")
    expected = b5.ClockResponse(5, 0, NSec(712143626, 990_000_000))
    roundtrip(body, expected)
    assert when(NSec(712143626, 990_000_000)) == dt.datetime(2012, 7, 26, 9, 40, 26, 990000)


def test_v16_2_impossible_nanoseconds() -> None:
    # The manual's CR200 example: nanoseconds 0xC8000000 > 10^9.  Decoding keeps the
    # wire value (byte-exact re-encode); checked_old_time drops it to 0.
    body = frame_body("AF FE 00 01 1F FE 00 01 97 17 00 1B FA 2A 61 C8 00 00 00 04 FA")
    msg = decode_message(BMP5, body)
    assert msg == b5.ClockResponse(0x17, 0, NSec(469379681, 0xC8000000))
    assert isinstance(msg, b5.ClockResponse)
    assert msg.encode() == body
    assert msg.checked_old_time == NSec(469379681, 0)
    assert when(NSec(469379681, 0)) == dt.datetime(2004, 11, 15, 15, 14, 41)
    assert b5.ClockResponse(1, 0, NSec(3, 5)).checked_old_time == NSec(3, 5)
    assert b5.ClockResponse(1, 1).checked_old_time is None


def test_clock_refused_and_negative_adjustment() -> None:
    assert decode_message(BMP5, h("97 04 01")) == b5.ClockResponse(4, 1)
    with pytest.raises(UsageError, match="OldTime"):
        b5.ClockResponse(4, 0).encode()
    # -1.5 s: both parts carry the sign (Int4 nanoseconds).
    cmd = b5.ClockCommand(8, 0, NSec(-1, -500_000_000))
    assert cmd.encode() == h("17 08 00 00 FF FF FF FF E2 32 9B 00")
    assert decode_message(BMP5, cmd.encode()) == cmd


def test_v8_file_receive_error_with_extra_bytes() -> None:
    # RespCode 0x0D (invalid file name) followed by 4 bytes where FileOffset would be;
    # their meaning is UNCERTAIN.  We decode them as the offset, so the body round-trips.
    body = frame_body("A8 02 10 01 18 02 00 01 9D 05 0D 00 00 00 6C 8E 14")
    roundtrip(body, b5.FileReceiveResponse(5, Bmp5ResponseCode.INVALID_FILE_NAME, 0x6C, b""))
    assert decode_message(BMP5, h("9D 05 0D")) == b5.FileReceiveResponse(5, 0x0D)


V9_1_FRAME = """
A8 02 10 01 18 02 00 01 9D 05 00 00 00 00 00 01 53 74 61 74 75 73 00 00 00 00 01 0E 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 8B 4F 53 56 65 72 73 69 6F 6E 00 00 00 00 00 00 00 00 01 00
00 00 20 00 00 00 20 00 00 00 00 8B 4F 53 44 61 74 65 00 00 00 00 00 00 00 00 01 00 00 00 08 00
00 00 08 00 00 00 00 86 4F 53 53 69 67 6E 61 74 75 72 65 00 00 00 00 00 00 00 00 01 00 00 00 01
00 00 00 00 8B 53 65 72 69 61 6C 4E 75 6D 62 65 72 00 00 00 00 00 00 00 00 01 00 00 00 08 00 00
00 08 00 00 00 00 8B 52 65 76 42 6F 61 72 64 00 00 00 00 00 00 00 00 01 00 00 00 08 00 00 00 08
00 00 00 00 0B 53 74 61 74 69 6F 6E 4E 61 6D 65 00 00 00 00 00 00 00 00 01 00 00 00 40 00 00 00
40 00 00 00 00 06 50 61 6B 42 75 73 41 64 64 72 65 73 73 00 00 00 00 00 00 00 00 01 00 00 00 01
00 00 00 00 8B 50 72 6F 67 4E 61 6D 65 00 00 00 00 00 00 00 00 01 00 00 00 40 00 00 00 40 00 00
00 00 8E 53 74 61 72 74 54 69 6D 65 00 00 00 64 61 74 65 00 00 00 00 00 01 00 00 00 01 00 00 00
00 86 52 75 6E 53 69 67 6E 61 74 75 72 65 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 86
50 72 6F 67 53 69 67 6E 61 74 75 72 65 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 89 42
61 74 74 65 72 79 00 00 00 56 6F 6C 74 73 00 00 00 00 00 01 00 00 00 01 00 00 00 00 89 50 61 6E
65 6C 54 65 6D 70 00 00 00 44 65 67 43 00 00 00 00 00 01 00 00 00 01 00 00 00 00 06 57 61 74 63
68 64 6F 67 45 72 72 6F 72 73 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 89 4C 69 74 68
69 75 6D 42 61 74 74 65 72 79 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 06 4C 6F 77 31
32 56 43 6F 75 6E 74 00 00 00 00 00 00 00 00 7E 4B
"""


def test_v9_1_file_receive_512_bytes() -> None:
    body = frame_body(V9_1_FRAME)
    msg = decode_message(BMP5, body)
    assert isinstance(msg, b5.FileReceiveResponse)
    assert (msg.tran, msg.resp_code, msg.offset) == (5, 0, 0)
    assert len(msg.data) == 512
    assert msg.data.startswith(b"\x01Status\x00\x00\x00\x00\x01\x0e")  # FslVersion 1, table Status
    assert msg.data == body[7:]
    assert msg.encode() == body


def test_v17_2_file_receive_cr200_fragment() -> None:
    body = frame_body(
        "A0 04 00 01 10 04 00 01 9D 1D 00 00 00 00 00 01 53 74 61 74 75 73 00 00 00 00 01 0C 00 00"
        " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 8B 4F 53 76 65 72 73 69 6F 6E 00 00 00 00 00"
        " 00 00 00 01 00 00 00 08 00 00 00 08 00 00 00 00 8B 4F 53 44 61 74 65 00 00 00 00 00 00"
        " 00 00 01 00 00 00 0A 00 00 00 0A 00 00 00 00 8B 50 72 6F 67 4E 61 6D 65 00 00 00 00 00"
        " 00 00 00 01 00 00 00 10 00 00 00 10 00 00 00 00 95 50 72 6F 67 53 69 67 00 00 F1 67"
    )
    msg = decode_message(BMP5, body)
    assert isinstance(msg, b5.FileReceiveResponse)
    assert (msg.tran, msg.resp_code, msg.offset, len(msg.data)) == (0x1D, 0, 0, 128)
    assert msg.encode() == body


V13_DATA = """
00 02 00 01 5B DC 00 06 2A 72 AB 30 00 00 00 00 45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 E0 BE AC
47 74 24 BD 45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 DB BE A4 47 50 24 C7 45 51 13 90 09 CA 09 B1
09 CB 09 DE A7 D5 BE B0 47 6F 24 BF 45 51 13 90 09 CB 09 B1 09 CB 09 DE A7 B0 BE B6 47 4A 24 C2
45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 D0 BE AD 47 CB 24 BD 45 51 13 90 09 CA 09 B1 09 CB 09 DE
A7 C8 BE D4 47 64 24 B3 00
"""


def test_v13_collect_data_response_keeps_data_raw() -> None:
    data = h(V13_DATA)
    body = h("89 03 00") + data
    msg = decode_message(BMP5, body)
    assert msg == b5.CollectDataResponse(3, 0, data)
    assert msg.encode() == body
    assert decode_message(BMP5, h("89 03 07")) == b5.CollectDataResponse(3, 7)


# --- collect data: tolerant decoding, strict encoding (§8.3) ----------------------------------


def test_collect_several_blocks_and_field_lists() -> None:
    # CSI's "collect holes": mode 6 blocks one after the other, the last simply ends.
    cmd = b5.CollectDataCommand(
        1,
        0x0102,
        6,
        (b5.TableRequest(2, 0xAAAA, 10, 20, (1, 3)), b5.TableRequest(2, 0xAAAA, 30, 31)),
    )
    body = h(
        "09 01 01 02 06"
        " 00 02 AA AA 00 00 00 0A 00 00 00 14 00 01 00 03 00 00"
        " 00 02 AA AA 00 00 00 1E 00 00 00 1F 00 00"
    )
    roundtrip(body, cmd)
    # Without the final terminator the end of the message ends the field list.
    assert decode_message(BMP5, body[:-2]) == cmd
    # Mode 3 has no P1/P2; mode 8 asks for the rest of record 7 from byte 900.
    roundtrip(
        h("09 02 00 00 03 00 01 12 34 00 00"),
        b5.CollectDataCommand(2, 0, 3, (b5.TableRequest(1, 0x1234),)),
    )
    roundtrip(
        h("09 02 00 00 08 00 01 12 34 00 00 00 07 00 00 03 84 00 00"),
        b5.CollectDataCommand(
            2, 0, CollectMode.PARTIAL_RECORD, (b5.TableRequest(1, 0x1234, 7, 900),)
        ),
    )


def test_collect_tolerates_jpakbus_surplus_p2() -> None:
    # jPakBus sends P2 as a UInt4 even in mode 5; the zeros land where table 0 would
    # start, which cannot be a table, so they are ignored.
    body = h("09 05 00 00 05 00 03 43 15 00 00 00 01 00 00 00 00 00 00")
    assert decode_message(BMP5, body) == b5.CollectDataCommand(
        5, 0, 5, (b5.TableRequest(3, 0x4315, 1),)
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("09 01 00 00 02 00 01 12 34", "unknown collect mode 2"),
        ("09 01 00 00 05 00 01 12 34 00 00", "P1"),
        ("09 01 00 00 07 00 01 12 34 00 00 00 01 00 00 00 00", "P2"),
        ("09 01 00 00 03 00 01 12 34 00 05 07", "terminator"),
        ("09 01 00 00", "CollectMode"),
    ],
)
def test_collect_malformed(body: str, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem) as info:
        decode_message(BMP5, h(body))
    assert info.value.message_type == "BMP5 0x09 collect data command"


@pytest.mark.parametrize(
    ("cmd", "problem"),
    [
        (b5.CollectDataCommand(1, 0, 7, (b5.TableRequest(1, 2, 5, 6),)), "must be an NSec"),
        (b5.CollectDataCommand(1, 0, 4, (b5.TableRequest(1, 2, NSec(1, 0)),)), "must be an int"),
        (b5.CollectDataCommand(1, 0, 3, (b5.TableRequest(1, 2, 5),)), "not used"),
        (b5.CollectDataCommand(1, 0, 6, (b5.TableRequest(1, 2, 5),)), "P2"),
        (b5.CollectDataCommand(1, 0, 9, (b5.TableRequest(1, 2),)), "3..8"),
        (b5.CollectDataCommand(1, 0, 3, ()), "at least one"),
        (b5.CollectDataCommand(1, 0, 3, (b5.TableRequest(1, 2, fields=(1, 0)),)), "0 ends"),
    ],
)
def test_collect_encode_checks_parameters(cmd: b5.CollectDataCommand, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        cmd.encode()


def test_collect_params_cover_every_mode() -> None:
    assert set(b5.COLLECT_PARAMS) == set(CollectMode)


# --- other BMP5 layouts -----------------------------------------------------------------------


def test_file_messages() -> None:
    send = b5.FileSendCommand(7, 0, "CPU:x.CR1", 0, True, 0, b"abc")
    assert send.encode() == h("1C 07 00 00") + b"CPU:x.CR1\x00" + h("00 01 00 00 00 00") + b"abc"
    assert decode_message(BMP5, h("9C 07 00 00 00 00 00")) == b5.FileSendResponse(7, 0, 0)
    assert decode_message(BMP5, h("9C 07 00 00 00 00 00 00 01 00 00")) == b5.FileSendResponse(
        7, 0, 0, 65536
    )
    assert decode_message(BMP5, h("9C 07 01")) == b5.FileSendResponse(7, 1)
    ctrl = b5.FileControlCommand(8, 0, "CPU:x.CR1", 14)
    assert ctrl.encode() == h("1E 08 00 00") + b"CPU:x.CR1\x00" + h("0E")
    moved = b5.FileControlCommand(8, 0, "CPU:a", 15, "CPU:b")
    assert moved.encode().endswith(b"\x0fCPU:b\x00")
    # HoldOff: always written, but tolerated when absent.
    assert b5.FileControlResponse(8, 0x0D).encode() == h("9E 08 0D 00 00")
    assert decode_message(BMP5, h("9E 08 0D")) == b5.FileControlResponse(8, 0x0D, 0)
    assert decode_message(BMP5, h("9E 08 00 00 05")) == b5.FileControlResponse(8, 0, 5)


def test_table_control_name_is_optional() -> None:
    # §8.5 UNCERTAIN: we append the table name; PbCdlComm's 3-byte body also decodes.
    assert b5.TableControlCommand(1, 0, 1, "Table1").encode() == h("19 01 00 00 01") + b"Table1\x00"
    assert decode_message(BMP5, h("19 01 00 00 01")) == b5.TableControlCommand(1, 0, 1, None)


def test_values_and_small_messages() -> None:
    get = b5.GetValuesCommand(3, 0, "Public", 9, "Temp(3)", 2)
    assert get.encode() == h("1A 03 00 00") + b"Public\x00\x09Temp(3)\x00" + h("00 02")
    assert decode_message(BMP5, h("9A 03 00 41 20 00 00")) == b5.GetValuesResponse(
        3, 0, h("41 20 00 00")
    )
    assert decode_message(BMP5, h("9B 03 15 00 3C")) == b5.SetValuesResponse(3, 0x15, 60)
    assert decode_message(BMP5, h("9B 03 00")) == b5.SetValuesResponse(3, 0)
    assert decode_message(BMP5, h("A1 09 18 00 0A")) == b5.PleaseWait(9, 0x18, 10)
    assert decode_message(BMP5, h("A8 02 01")) == b5.CheckAccessResponse(2, 1)
    assert decode_message(BMP5, h("8B 04 00 43 52 3E")) == b5.UserIONotification(4, 0, b"CR>")
    assert b5.OneWayData(h("00 01 02 03")).encode() == h("14 00 00 01 02 03")
    assert decode_message(BMP5, h("20 00 00 02 41 00")) == b5.OneWayTableDef(2, h("41 00"))


# --- property-based: every class round-trips; decoders only raise ProtocolError ---------------

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
i32 = st.integers(-(2**31), 2**31 - 1)
text = st.text(st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=24)
blob = st.binary(max_size=48)
nsec = st.builds(NSec, i32, u32)
error_code = st.integers(1, 0xFF)


def opt(strategy: st.SearchStrategy[int]) -> st.SearchStrategy[int | None]:
    return st.none() | strategy


def _table_requests(mode: int) -> st.SearchStrategy[tuple[b5.TableRequest, ...]]:
    kinds = b5.COLLECT_PARAMS[mode]
    by_kind: dict[str | None, st.SearchStrategy[int | NSec | None]] = {
        None: st.none(),
        "u32": u32,
        "nsec": nsec,
    }
    # Table numbers are 1-based; a 0 where a further block would start ends the list.
    request = st.builds(
        b5.TableRequest,
        st.integers(1, 0xFFFF),
        u16,
        by_kind[kinds[0]],
        by_kind[kinds[1]],
        st.lists(st.integers(1, 0xFFFF), max_size=5).map(tuple),
    )
    return st.lists(request, min_size=1, max_size=3).map(tuple)


collect_commands = st.sampled_from(sorted(b5.COLLECT_PARAMS)).flatmap(
    lambda mode: st.builds(b5.CollectDataCommand, u8, u16, st.just(mode), _table_requests(mode))
)

prog_stats_full = st.builds(
    b5.ProgStatsResponse,
    u8,
    st.just(0) | error_code,
    text,
    u16,
    text,
    text,
    u8,
    text,
    u16,
    nsec,
    text,
).flatmap(
    lambda m: st.sampled_from(
        [
            m,
            dataclasses.replace(m, model="CR1000"),
            dataclasses.replace(m, model="CR6", station_name="Site"),
        ]
    )
)


BMP5_STRATEGIES: dict[type[Message], st.SearchStrategy[Message]] = {
    b5.PleaseWait: st.builds(b5.PleaseWait, u8, u8, u16),
    b5.ClockCommand: st.builds(b5.ClockCommand, u8, u16, st.builds(NSec, i32, i32)),
    b5.ClockResponse: st.builds(b5.ClockResponse, u8, st.just(0), nsec)
    | st.builds(b5.ClockResponse, u8, error_code, st.none() | nsec),
    b5.ProgStatsCommand: st.builds(b5.ProgStatsCommand, u8, u16),
    b5.ProgStatsResponse: prog_stats_full | st.builds(b5.ProgStatsResponse, u8, error_code),
    b5.FileSendCommand: st.builds(b5.FileSendCommand, u8, u16, text, u8, st.booleans(), u32, blob),
    b5.FileSendResponse: st.builds(b5.FileSendResponse, u8, u8, u32, opt(u32)),
    b5.FileReceiveCommand: st.builds(b5.FileReceiveCommand, u8, u16, text, st.booleans(), u32, u16),
    b5.FileReceiveResponse: st.builds(b5.FileReceiveResponse, u8, u8, u32, blob),
    b5.FileControlCommand: st.builds(b5.FileControlCommand, u8, u16, text, u8, st.none() | text),
    b5.FileControlResponse: st.builds(b5.FileControlResponse, u8, u8, u16),
    b5.CollectDataCommand: collect_commands,
    b5.CollectDataResponse: st.builds(b5.CollectDataResponse, u8, u8, blob),
    b5.TableControlCommand: st.builds(b5.TableControlCommand, u8, u16, u8, st.none() | text),
    b5.TableControlResponse: st.builds(b5.TableControlResponse, u8, u8),
    b5.GetValuesCommand: st.builds(b5.GetValuesCommand, u8, u16, text, u8, text, u16),
    b5.GetValuesResponse: st.builds(b5.GetValuesResponse, u8, u8, blob),
    b5.SetValuesCommand: st.builds(b5.SetValuesCommand, u8, u16, text, u8, text, u16, blob),
    b5.SetValuesResponse: st.builds(b5.SetValuesResponse, u8, u8, opt(u16)),
    b5.OneWayTableDef: st.builds(b5.OneWayTableDef, u16, blob, tran=u8),
    b5.OneWayData: st.builds(b5.OneWayData, blob, tran=u8),
    b5.UserIOCommand: st.builds(b5.UserIOCommand, u8, u16, blob),
    b5.UserIONotification: st.builds(b5.UserIONotification, u8, u8, blob),
    b5.CheckAccessCommand: st.builds(b5.CheckAccessCommand, u8, u16),
    b5.CheckAccessResponse: st.builds(b5.CheckAccessResponse, u8, u8),
}


def test_every_bmp5_class_has_a_strategy() -> None:
    registered = {c for c in registered_messages() if c.HI_PROTO == BMP5}
    assert registered == set(BMP5_STRATEGIES)


# Per class, so every class gets its own examples (one_of over all would give each few).
def _type_of(cls: type[Message]) -> int:
    return cls.MSG_TYPE


CLASSES: list[type[Message]] = sorted(BMP5_STRATEGIES, key=_type_of)
by_class = pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)


@by_class
@settings(max_examples=60)
@given(data=st.data())
def test_roundtrip(cls: type[Message], data: st.DataObject) -> None:
    message = data.draw(BMP5_STRATEGIES[cls])
    body = message.encode()
    assert body[:2] == bytes((message.MSG_TYPE, message.tran))
    decoded = decode_message(BMP5, body)
    assert decoded == message
    assert decoded.encode() == body


@by_class
@settings(max_examples=30)
@given(data=st.data())
def test_truncated_bodies_raise_only_protocol_error(
    cls: type[Message], data: st.DataObject
) -> None:
    body = data.draw(BMP5_STRATEGIES[cls]).encode()
    cut = data.draw(st.integers(0, len(body)))
    try:
        decoded = decode_message(BMP5, body[:cut])
    except ProtocolError:
        return
    assert (decoded.msg_type, decoded.tran) == (body[0], body[1])


known_types = st.sampled_from(sorted(c.MSG_TYPE for c in BMP5_STRATEGIES))


@given(st.one_of(st.binary(max_size=64), st.tuples(known_types, st.binary(max_size=64))))
def test_random_bodies_raise_only_protocol_error(raw: bytes | tuple[int, bytes]) -> None:
    body = raw if isinstance(raw, bytes) else bytes([raw[0]]) + raw[1]
    try:
        decoded = decode_message(BMP5, body)
    except ProtocolError:
        return
    assert (decoded.hi_proto, decoded.msg_type, decoded.tran) == (BMP5, body[0], body[1])
