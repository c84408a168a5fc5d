"""Datalogger conversations driven by hand: canned answers in, requests and results out.

Each operation is a generator; :func:`drive` plays the logger, answering every
Request with what the test's ``answer`` function returns (a message, or an error to
throw in, as a real driver would), every Now with a scripted clock reading.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from vectors import CR1000_TDF, V12_FRAME

from fieldlink.errors import (
    DeliveryFailure,
    DeviceError,
    FieldlinkError,
    LinkTimeout,
    NotFound,
    PermissionDenied,
    ProtocolError,
    UsageError,
)
from fieldlink.pakbus import operations as ops
from fieldlink.pakbus.protocol import bmp5, pakctrl
from fieldlink.pakbus.protocol.messages import Message
from fieldlink.pakbus.protocol.model import Record
from fieldlink.pakbus.protocol.packet import LinkState, Packet
from fieldlink.pakbus.protocol.records import layout_for
from fieldlink.pakbus.protocol.signature import signature
from fieldlink.pakbus.protocol.tabledef import build_tdf, parse_tdf
from fieldlink.pakbus.protocol.wire import NSec
from fieldlink.pakbus.session import Emit, Instant, Now, Pause, Request

#: V11: the complete .TDF of a CR1000 (Status, Table1, Public).
TDF = CR1000_TDF
STATUS, TABLE1, PUBLIC = parse_tdf(TDF)

#: V13: the bytes after RespCode of a captured Collect Data response (Table1, 6 records).
V13 = bytes.fromhex(
    """
00 02 00 01 5B DC 00 06 2A 72 AB 30 00 00 00 00 45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 E0 BE AC
47 74 24 BD 45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 DB BE A4 47 50 24 C7 45 51 13 90 09 CA 09 B1
09 CB 09 DE A7 D5 BE B0 47 6F 24 BF 45 51 13 90 09 CB 09 B1 09 CB 09 DE A7 B0 BE B6 47 4A 24 C2
45 51 13 90 09 CA 09 B1 09 CB 09 DE A7 D0 BE AD 47 CB 24 BD 45 51 13 90 09 CA 09 B1 09 CB 09 DE
A7 C8 BE D4 47 64 24 B3 00
"""
)

#: V10: a captured .DIR file.
V10 = bytes.fromhex(
    """
01 43 50 55 3A 00 00 07 6E 00 00 00 43 50 55 3A 74 65 6D 70 6C 61 74 65 65 78 61 6D 70 6C 65 2E
63 72 31 00 00 00 02 CB 32 30 31 32 2D 30 33 2D 31 36 20 31 33 3A 32 32 3A 34 32 00 00 43 50 55
3A 43 52 31 30 30 30 5F 4C 41 42 4F 2E 43 52 31 00 00 00 0C 5E 32 30 31 32 2D 30 35 2D 32 33 20
31 31 3A 32 35 3A 33 38 00 01 02 00
"""
)

#: V6: a captured programming-statistics response frame (header ... nullifier).
V6 = bytes.fromhex(
    """
A8 02 10 01 18 02 00 01 98 05 00 43 52 31 30 30 30 2E 53 74 64 2E 32 34 00 30 00 45 34 36 36 38
00 43 50 55 3A 43 52 31 30 30 30 5F 4C 41 42 4F 2E 43 52 31 00 01 43 50 55 3A 43 52 31 30 30 30
5F 4C 41 42 4F 2E 43 52 31 00 0B B1 2A 61 51 8E 00 98 96 80 43 50 55 3A 43 52 31 30 30 30 5F 4C
41 42 4F 2E 43 52 31 20 2D 2D 20 43 6F 6D 70 69 6C 65 64 20 69 6E 20 50 69 70 65 6C 69 6E 65 4D
6F 64 65 2E 0D 0A 00 D3 41
"""
)

#: V12: a captured DevConfig get-settings response frame (MoreSettings set; last id 59).
V12 = V12_FRAME


def captured_message(frame: bytes) -> Message:
    """The message of a captured frame (header ... nullifier, unquoted)."""
    assert signature(frame) == 0
    packet = Packet.decode(frame[:-2])
    return pakctrl_or_bmp5(packet.hi_proto or 0, packet.body)


def pakctrl_or_bmp5(hi_proto: int, body: bytes) -> Message:
    from fieldlink.pakbus.protocol.messages import decode_message

    return decode_message(hi_proto, body)


# --- the hand driver --------------------------------------------------------------------------

Answer = Callable[[Message], "Message | FieldlinkError"]


@dataclass
class Trace:
    """What an operation did while driven."""

    requests: list[Request] = field(default_factory=list)
    emitted: list[Any] = field(default_factory=list)
    batches: int = 0
    pauses: list[float] = field(default_factory=list)

    @property
    def messages(self) -> list[Message]:
        return [r.message for r in self.requests]


def drive(
    operation: Any, answer: Answer, *, clock: Iterator[float] | None = None
) -> tuple[Any, Trace]:
    trace = Trace()
    ticks = clock if clock is not None else (float(i) for i in range(10_000))
    sent: Any = None
    try:
        step = next(operation)
        while True:
            if isinstance(step, Request):
                trace.requests.append(step)
                reply = None if step.one_way else answer(step.message)
                if isinstance(reply, FieldlinkError):
                    step = operation.throw(reply)
                    continue
                sent = reply
            elif isinstance(step, Now):
                t = next(ticks)
                sent = Instant(t, 1_600_000_000.0 + t)
            elif isinstance(step, Pause):
                trace.pauses.append(step.seconds)
                sent = None
            elif isinstance(step, Emit):
                trace.emitted.extend(step.items)
                trace.batches += 1
                sent = None
            step = operation.send(sent)
    except StopIteration as stop:
        return stop.value, trace


def by_type(**answers: Callable[[Any], Message | FieldlinkError]) -> Answer:
    """An answer function dispatching on the request's class name."""

    def answer(message: Message) -> Message | FieldlinkError:
        return answers[type(message).__name__](message)

    return answer


def tdf_file(data: bytes = TDF) -> Callable[[Any], Message]:
    """Serve ``data`` as .TDF in swaths, as a logger would."""

    def serve(m: bmp5.FileReceiveCommand) -> Message:
        assert m.file_name == ".TDF"
        return bmp5.FileReceiveResponse(0, 0, m.offset, data[m.offset : m.offset + m.swath])

    return serve


# --- link -------------------------------------------------------------------------------------


def test_hello_returns_the_answer() -> None:
    answer = pakctrl.HelloResponse(0, 0, 2, 1800)
    result, trace = drive(ops.hello(), lambda m: answer)
    assert result == answer
    (sent,) = trace.messages
    assert isinstance(sent, pakctrl.HelloCommand) and sent.hop_metric == 2


def test_bye_is_one_way_with_link_state_finished() -> None:
    _, trace = drive(ops.bye(), lambda m: pytest.fail("bye expects no answer"))
    (request,) = trace.requests
    assert request.one_way and request.link_state == LinkState.FINISHED
    assert isinstance(request.message, pakctrl.Bye)


def test_echo_payload_has_signature_zero() -> None:
    for size in (2, 16, 500):
        payload = ops.echo_payload(size)
        assert len(payload) == size and signature(payload) == 0


def test_ping_measures_the_echo_round_trip() -> None:
    def echo(m: pakctrl.EchoCommand) -> Message:
        return pakctrl.EchoResponse(0, NSec(5, 0), m.payload)

    rtt, trace = drive(ops.ping(), by_type(EchoCommand=echo), clock=iter([10.0, 10.25]))
    assert rtt == pytest.approx(0.25)
    assert len(trace.requests) == 1


def test_ping_falls_back_to_hello_when_echo_is_unsupported() -> None:
    answers = by_type(
        EchoCommand=lambda m: DeliveryFailure("unsupported", code=4),
        HelloCommand=lambda m: pakctrl.HelloResponse(0, 0, 2, 1800),
    )
    rtt, trace = drive(ops.ping(), answers, clock=iter([1.0, 2.0, 2.5]))
    assert rtt == pytest.approx(0.5)
    assert [type(m).__name__ for m in trace.messages] == ["EchoCommand", "HelloCommand"]


def test_ping_rejects_a_mangled_echo() -> None:
    def echo(m: pakctrl.EchoCommand) -> Message:
        return pakctrl.EchoResponse(0, NSec(5, 0), m.payload[:-1] + b"\x00")

    with pytest.raises(ProtocolError, match="echo"):
        drive(ops.ping(), by_type(EchoCommand=echo))


def test_ping_passes_on_other_delivery_failures() -> None:
    with pytest.raises(DeliveryFailure):
        drive(ops.ping(), lambda m: DeliveryFailure("unreachable", code=1))


# --- clock ------------------------------------------------------------------------------------

#: V7: the logger time of a captured clock response.
V7_TIME = NSec(712143626, 990000000)


def test_read_clock_v7() -> None:
    t, trace = drive(ops.read_clock(77), lambda m: bmp5.ClockResponse(5, 0, V7_TIME))
    assert ops.nsec_datetime(t) == dt.datetime(2012, 7, 26, 9, 40, 26, 990000)
    (sent,) = trace.messages
    assert isinstance(sent, bmp5.ClockCommand)
    assert sent.security_code == 77 and sent.adjustment == NSec(0, 0)


def test_impossible_nanoseconds_are_ignored_v16_2() -> None:
    assert ops.nsec_datetime(NSec(469379681, 0xC8000000)) == dt.datetime(2004, 11, 15, 15, 14, 41)


def test_clock_permission_denied() -> None:
    with pytest.raises(PermissionDenied, match="security code"):
        drive(ops.read_clock(), lambda m: bmp5.ClockResponse(0, 1))


class FakeClock:
    """A logger clock that answers reads and applies adjustments."""

    def __init__(self, ns: int) -> None:
        self.ns = ns
        self.adjustments: list[NSec] = []

    def __call__(self, m: bmp5.ClockCommand) -> Message:
        old = self.ns
        self.adjustments.append(m.adjustment)
        self.ns += m.adjustment.seconds * 1_000_000_000 + m.adjustment.nanoseconds
        return bmp5.ClockResponse(0, 0, NSec.from_total_ns(old))


def test_set_clock_compensates_half_the_round_trip() -> None:
    logger = FakeClock(NSec(700_000_000, 0).total_ns)
    wanted = dt.datetime(2020, 1, 1, 12, 0, 0)
    result, trace = drive(ops.set_clock(wanted), logger, clock=iter([0.0, 0.4]))  # type: ignore[arg-type]
    read, step, _confirm = trace.requests
    assert read.message.adjustment == NSec(0, 0)  # type: ignore[attr-defined]
    assert step.retries == 0  # a set is never blindly retried
    wanted_ns = (wanted - dt.datetime(1990, 1, 1)).total_seconds() * 1e9
    applied = step.message.adjustment  # type: ignore[attr-defined]
    expected = wanted_ns - NSec(700_000_000, 0).total_ns + 0.2e9
    assert applied.seconds * 1e9 + applied.nanoseconds == pytest.approx(expected)
    assert result == ops.nsec_datetime(NSec.from_total_ns(logger.ns))


def test_negative_adjustments_carry_the_sign_in_both_parts() -> None:
    logger = FakeClock(NSec(700_000_010, 500_000_000).total_ns)
    wanted = ops.nsec_datetime(NSec(700_000_000, 0))
    drive(ops.set_clock(wanted), logger, clock=iter([0.0, 0.0]))  # type: ignore[arg-type]
    step = logger.adjustments[1]
    assert step == NSec(-10, -500_000_000)


def test_set_clock_refuses_aware_times() -> None:
    with pytest.raises(UsageError, match="naive"):
        drive(ops.set_clock(dt.datetime(2020, 1, 1, tzinfo=dt.UTC)), lambda m: pytest.fail())


def test_sync_clock_leaves_a_good_clock_alone() -> None:
    readings = [0.2, 0.3, 0.1, 0.25, 0.15]
    logger = StepLogger(offset=0.2)
    result, trace = drive(
        ops.sync_clock(samples=5, threshold=0.5, tz=dt.UTC), logger, clock=logger.ticks(readings)
    )
    assert not result.adjusted
    assert result.offset == pytest.approx(0.2)
    assert len(trace.requests) == 5
    assert result.samples == 3  # the faster half (rounded up)


def test_sync_clock_ignores_slow_outliers_and_bounds_the_step() -> None:
    # Round trips: one reply delayed 4 s makes its reading 2 s off; the fast ones agree.
    logger = StepLogger(offset=-90.0, skew={2: 2.0})
    trips = [0.1, 0.12, 4.0, 0.11, 0.13]
    result, trace = drive(
        ops.sync_clock(samples=5, threshold=0.5, max_step=60.0, tz=dt.UTC),
        logger,
        clock=logger.ticks([*trips, 0.1]),
    )
    assert result.offset == pytest.approx(-90.0)
    assert result.step == pytest.approx(60.0)
    assert logger.applied == pytest.approx(60.0)
    assert result.residual == pytest.approx(-30.0)
    step_request = trace.requests[5]
    assert step_request.retries == 0


class StepLogger:
    """A logger clock ``offset`` s ahead of the driver's wall clock (UTC), readable and
    settable; ``skew`` adds an error to the i-th reading (a delayed answer)."""

    def __init__(self, offset: float, skew: dict[int, float] | None = None) -> None:
        self.offset = offset
        self.skew = skew or {}
        self.applied = 0.0
        self.reads = 0
        self._mid: list[float] = []

    def ticks(self, trips: list[float]) -> Iterator[float]:
        t = 100.0
        for trip in trips:
            self._mid.append(t + trip / 2)
            yield t
            yield t + trip
            t += 10.0

    def __call__(self, m: Message) -> Message:
        assert isinstance(m, bmp5.ClockCommand)
        if m.adjustment != NSec(0, 0):
            self.applied += m.adjustment.seconds + m.adjustment.nanoseconds / 1e9
            return bmp5.ClockResponse(0, 0, NSec(0, 0))
        wall = 1_600_000_000.0 + self._mid[self.reads]
        reading = wall + self.offset + self.applied + self.skew.get(self.reads, 0.0)
        self.reads += 1
        return bmp5.ClockResponse(0, 0, NSec.from_unix(reading))


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [({"samples": 0}, "sample"), ({"threshold": -1}, "threshold"), ({"max_step": 0}, "max_step")],
)
def test_sync_clock_checks_its_arguments(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        drive(ops.sync_clock(**kwargs), lambda m: pytest.fail())


# --- programming statistics and settings ------------------------------------------------------


def test_program_stats_from_captured_response_v6() -> None:
    response = captured_message(V6)
    stats, _ = drive(ops.program_stats(), lambda m: response)
    assert stats.os_version == "CR1000.Std.24"
    assert stats.serial_number == "E4668"
    assert stats.program_name == "CPU:CR1000_LABO.CR1"
    assert stats.program_signature == 2993
    assert stats.compile_state_text == "running"
    assert stats.compile_time == dt.datetime(2012, 7, 13, 9, 49, 2, 10000)
    assert stats.as_dict()["CompResult"] == "CPU:CR1000_LABO.CR1 -- Compiled in PipelineMode."


def test_program_stats_model_comes_from_the_os_version_when_modelno_is_absent_v6() -> None:
    """A CR1000 on OS 24 (V6) sends no ModelNo: the model is read from "CR1000.Std.24"."""
    response = captured_message(V6)
    assert isinstance(response, bmp5.ProgStatsResponse) and response.model is None
    stats, _ = drive(ops.program_stats(), lambda m: response)
    assert stats.model_number == ""
    assert stats.model == "CR1000"
    assert "ModelNo" not in stats.as_dict(), "getprogstat shows what the logger sent"


def test_program_stats_model_prefers_the_modelno_sent() -> None:
    import dataclasses

    response = captured_message(V6)
    assert isinstance(response, bmp5.ProgStatsResponse)
    newer = dataclasses.replace(response, model="CR850")
    stats, _ = drive(ops.program_stats(), lambda m: newer)
    assert (stats.model_number, stats.model) == ("CR850", "CR850")
    assert stats.as_dict()["ModelNo"] == "CR850"


@pytest.mark.parametrize(
    ("os_version", "model"),
    [
        ("CR1000.Std.24", "CR1000"),
        ("CR1000X.Std.04.02", "CR1000X"),
        ("CR6.Std.07.02", "CR6"),
        ("CR800.Std.28", "CR800"),
        ("  CR3000.Std.32 ", "CR3000"),
        ("", ""),
        (".Std", ""),
    ],
)
def test_model_from_os(os_version: str, model: str) -> None:
    assert ops.model_from_os(os_version) == model


def test_settings_follow_more_settings_from_the_device_order_v12() -> None:
    first = captured_message(V12)
    assert isinstance(first, pakctrl.DevConfigGetSettingsResponse) and first.more
    second = pakctrl.DevConfigGetSettingsResponse(
        0, 1, 12, 5, 0, False, (pakctrl.SettingValue(90, b"0.0.0.0\x00"),)
    )
    replies = iter([first, second])
    settings, trace = drive(ops.get_settings(3), lambda m: next(replies))
    begins = [m.begin_id for m in trace.messages]  # type: ignore[attr-defined]
    assert begins == [None, 0x8000 | 59]
    assert all(m.security_code == 3 for m in trace.messages)  # type: ignore[attr-defined]
    assert settings.model == "CR1000"
    assert settings.get(0).text == "CR1000.Std.24"
    assert settings.get(2).text == "LABO" and not settings.get(2).read_only
    assert settings.get(3).number == 1
    assert settings.get(49).number == 1000  # max packet size
    assert settings.get(54).number == 6785
    assert settings.get(5).display() == "0"  # one byte: a flag, not an empty string
    assert [s.id for s in settings][:6] == [0, 1, 2, 3, 4, 86]
    assert settings.get(90) is not None


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"\xff\xff\x6a\x00", "-38400"),  # auto-baud from 38400: a number ending in NUL
        (b"\xff\xfe\x3e\x00", "-115200"),
        (b"Station1\x00", "Station1"),
        (b"caf\xe9\x00", "63 61 66 e9 00"),  # not ASCII: neither text nor a 1/2/4-byte number
    ],
)
def test_setting_display_reads_only_ascii_as_text(raw: bytes, shown: str) -> None:
    assert ops.Setting(7, raw).display() == shown


def test_large_setting_values_are_fetched_in_fragments() -> None:
    head = pakctrl.DevConfigGetSettingsResponse(
        0, 1, 12, 5, 0, False, (pakctrl.SettingValue(7, b"abc", large_value=True),)
    )
    parts = iter(
        [
            pakctrl.DevConfigGetFragmentResponse(0, 1, True, b"def"),
            pakctrl.DevConfigGetFragmentResponse(0, 1, False, b"gh"),
        ]
    )
    answers = by_type(
        DevConfigGetSettingsCommand=lambda m: head,
        DevConfigGetFragmentCommand=lambda m: next(parts),
    )
    settings, trace = drive(ops.get_settings(), answers)
    assert settings.get(7).value == b"abcdefgh"
    offsets = [m.offset for m in trace.messages[1:]]  # type: ignore[attr-defined]
    assert offsets == [3, 6]


def test_settings_with_a_wrong_code_are_denied() -> None:
    with pytest.raises(PermissionDenied):
        drive(ops.get_settings(9), lambda m: pakctrl.DevConfigGetSettingsResponse(0, 2))


def test_set_setting_stages_then_commits() -> None:
    answers = by_type(
        DevConfigSetSettingsCommand=lambda m: pakctrl.DevConfigSetSettingsResponse(
            0, 1, (pakctrl.SettingResult(2, 1),)
        ),
        DevConfigControlCommand=lambda m: pakctrl.DevConfigControlResponse(0, 1),
    )
    _, trace = drive(ops.set_setting(2, "FIELD", 5), answers)
    staged, commit = trace.messages
    assert isinstance(staged, pakctrl.DevConfigSetSettingsCommand)
    assert staged.settings == (pakctrl.SettingChange(2, b"FIELD\x00"),)
    assert isinstance(commit, pakctrl.DevConfigControlCommand) and commit.action == 1


def test_set_setting_number_takes_the_current_width() -> None:
    current = pakctrl.DevConfigGetSettingsResponse(
        0, 1, 12, 5, 0, False, (pakctrl.SettingValue(49, b"\x03\xe8"),)
    )
    answers = by_type(
        DevConfigGetSettingsCommand=lambda m: current,
        DevConfigSetSettingsCommand=lambda m: pakctrl.DevConfigSetSettingsResponse(0, 1),
        DevConfigControlCommand=lambda m: pakctrl.DevConfigControlResponse(0, 1),
    )
    _, trace = drive(ops.set_setting(49, 512), answers)
    assert trace.messages[1].settings[0].value == b"\x02\x00"  # type: ignore[attr-defined]


def test_refused_setting_cancels_the_session() -> None:
    answers = by_type(
        DevConfigSetSettingsCommand=lambda m: pakctrl.DevConfigSetSettingsResponse(
            0, 1, (pakctrl.SettingResult(0, 4),)
        ),
        DevConfigControlCommand=lambda m: pakctrl.DevConfigControlResponse(0, 3),
    )
    with pytest.raises(PermissionDenied, match="read-only"):
        drive(ops.set_setting(0, b"x"), answers)


def test_long_setting_values_go_in_fragments() -> None:
    value = bytes(range(256)) * 5  # 1280 bytes
    answers = by_type(
        DevConfigSetSettingsCommand=lambda m: pakctrl.DevConfigSetSettingsResponse(0, 1),
        DevConfigSetFragmentCommand=lambda m: pakctrl.DevConfigSetFragmentResponse(0, 1),
        DevConfigControlCommand=lambda m: pakctrl.DevConfigControlResponse(0, 1),
    )
    _, trace = drive(ops.set_setting(60, value), answers)
    staged, fragment, _ = trace.messages
    assert staged.settings[0].more_fragments  # type: ignore[attr-defined]
    first = staged.settings[0].value  # type: ignore[attr-defined]
    assert fragment.offset == len(first) and not fragment.more_fragments  # type: ignore[attr-defined]
    assert first + fragment.data == value  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "current", "expected"),
    [
        (-1, b"\x00\x00\x00\x00", b"\xff\xff\xff\xff"),
        (7, b"\x00", b"\x07"),
        (1.5, b"\x00" * 4, struct.pack(">f", 1.5)),
        (b"\x01\x02", None, b"\x01\x02"),
    ],
)
def test_encode_setting(value: Any, current: bytes | None, expected: bytes) -> None:
    assert ops.encode_setting(value, current) == expected


def test_encode_setting_refuses_what_does_not_fit() -> None:
    with pytest.raises(UsageError):
        ops.encode_setting(300, b"\x00")
    with pytest.raises(UsageError):
        ops.encode_setting(3, b"\x00\x00\x00")
    with pytest.raises(UsageError, match="Latin-1"):
        ops.encode_setting("\u20acuro", b"EUR\x00")
    with pytest.raises(UsageError, match="NUL"):
        ops.encode_setting("a\x00b", b"ab\x00")


# --- files ------------------------------------------------------------------------------------


class LoggerFiles:
    """Serves File Receive swaths from ``files``; records File Send fragments."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.upload = bytearray()

    def receive(self, m: bmp5.FileReceiveCommand) -> Message:
        data = self.files.get(m.file_name)
        if data is None:
            return bmp5.FileReceiveResponse(0, 0x0D, 0x6C)
        return bmp5.FileReceiveResponse(0, 0, m.offset, data[m.offset : m.offset + m.swath])

    def send(self, m: bmp5.FileSendCommand) -> Message:
        assert m.offset == len(self.upload)
        self.upload += m.data
        return bmp5.FileSendResponse(0, 0, m.offset)


def test_get_file_reads_swaths_under_one_transaction() -> None:
    data = bytes(range(256)) * 10  # 2560 bytes: 993 + 993 + 574
    files = LoggerFiles({"CPU:x.CR1": data})
    progress: list[tuple[int, int | None]] = []
    result, trace = drive(
        ops.get_file("CPU:x.CR1", 4, progress=lambda d, t: progress.append((d, t)), size=2560),
        by_type(FileReceiveCommand=files.receive),
    )
    assert result == data
    assert [m.offset for m in trace.messages] == [0, 993, 1986]  # type: ignore[attr-defined]
    assert [r.same_transaction for r in trace.requests] == [False, True, True]
    assert all(m.swath == ops.FILE_SWATH for m in trace.messages)  # type: ignore[attr-defined]
    assert progress[-1] == (2560, 2560)


def test_get_file_of_exact_swath_multiple_ends_on_an_empty_swath() -> None:
    files = LoggerFiles({"f": b"x" * 1986})
    result, trace = drive(ops.get_file("f"), by_type(FileReceiveCommand=files.receive))
    assert len(result) == 1986 and len(trace.requests) == 3


def test_get_file_ignores_a_duplicate_of_an_earlier_swath() -> None:
    op = ops.get_file("f")
    first = next(op)
    assert isinstance(first, Request) and not first.same_transaction
    second = op.send(bmp5.FileReceiveResponse(0, 0, 0, b"a" * 993))
    assert isinstance(second, Request) and second.accept is not None
    assert not second.accept(bmp5.FileReceiveResponse(0, 0, 0, b"a" * 993))
    assert second.accept(bmp5.FileReceiveResponse(0, 0, 993, b"b"))
    assert second.accept(bmp5.FileReceiveResponse(0, 0x0E, 0))  # errors always count


def test_missing_file_is_not_found() -> None:
    with pytest.raises(NotFound, match=r"no file 'CPU:none\.CR1'"):
        drive(ops.get_file("CPU:none.CR1"), by_type(FileReceiveCommand=LoggerFiles({}).receive))


def test_error_in_the_middle_of_a_download_raises() -> None:
    replies = iter(
        [bmp5.FileReceiveResponse(0, 0, 0, b"x" * 993), bmp5.FileReceiveResponse(0, 0x0E, 993)]
    )
    with pytest.raises(DeviceError, match="at byte 993"):
        drive(ops.get_file("f"), lambda m: next(replies))


def test_timeout_in_the_middle_of_a_download_says_it_is_incomplete() -> None:
    replies = iter([bmp5.FileReceiveResponse(0, 0, 0, b"x" * 993), LinkTimeout("no answer")])
    with pytest.raises(LinkTimeout, match="incomplete after 993 bytes"):
        drive(ops.get_file("f"), lambda m: next(replies))


def test_put_file_fragments_and_closes() -> None:
    name = "CPU:prog.CR1"
    first = ops.MAX_PAYLOAD - 9 - len(name)
    data = bytes(range(251)) * 8  # 2008 bytes
    files = LoggerFiles({})
    progress: list[int] = []
    _, trace = drive(
        ops.put_file(name, data, progress=lambda d, t: progress.append(d)),
        by_type(FileSendCommand=files.send),
    )
    sent = trace.messages
    assert bytes(files.upload) == data
    assert [len(m.data) for m in sent] == [first, 989, 2008 - first - 989]  # type: ignore[attr-defined]
    assert [m.file_name for m in sent] == [name, "", ""]  # type: ignore[attr-defined]
    assert [m.close_flag for m in sent] == [False, False, True]  # type: ignore[attr-defined]
    assert [r.same_transaction for r in trace.requests] == [False, True, True]
    assert progress[-1] == len(data)


def test_put_file_of_exact_fragment_size_sends_an_empty_last_fragment() -> None:
    name = "USR:a"
    data = b"z" * (ops.MAX_PAYLOAD - 9 - len(name))
    files = LoggerFiles({})
    _, trace = drive(ops.put_file(name, data), by_type(FileSendCommand=files.send))
    assert [len(m.data) for m in trace.messages] == [len(data), 0]  # type: ignore[attr-defined]
    assert trace.messages[-1].close_flag  # type: ignore[attr-defined]


def test_put_file_stops_when_the_logger_is_full() -> None:
    with pytest.raises(DeviceError, match="memory full"):
        drive(ops.put_file("USR:a", b"x" * 3000), lambda m: bmp5.FileSendResponse(0, 2, 0))


def test_file_control_waits_out_the_hold_off() -> None:
    hold, trace = drive(
        ops.file_control("CPU:p.CR1", "run"), lambda m: bmp5.FileControlResponse(0, 0, 4)
    )
    assert hold == 4 and trace.pauses == [4]
    assert trace.messages[0].command == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "code"), [("stop", 7), ("delete", 4), ("FORMAT", 5), ("13", 13), (8, 8)]
)
def test_file_command_names(text: str | int, code: int) -> None:
    assert ops.file_command(text) == code


def test_unknown_file_command() -> None:
    with pytest.raises(UsageError, match="unknown file command"):
        ops.file_command("explode")


def test_list_files_v10() -> None:
    files = LoggerFiles({".DIR": V10})
    entries, _ = drive(ops.list_files(), by_type(FileReceiveCommand=files.receive))
    assert [e.name for e in entries] == ["CPU:", "CPU:templateexample.cr1", "CPU:CR1000_LABO.CR1"]
    assert entries[2].size == 3166 and entries[2].attributes == (1, 2)


# --- tables and collection --------------------------------------------------------------------


def test_table_defs_are_read_once() -> None:
    catalog = ops.TableCatalog()
    tables, trace = drive(ops.table_defs(catalog), by_type(FileReceiveCommand=tdf_file()))
    assert [t.name for t in tables] == ["Status", "Table1", "Public"]
    assert len(trace.requests) == 5  # 4809 bytes in 993-byte swaths
    _, again = drive(ops.table_defs(catalog), lambda m: pytest.fail("cached"))
    assert again.requests == []
    _, fresh = drive(ops.table_defs(catalog, refresh=True), by_type(FileReceiveCommand=tdf_file()))
    assert len(fresh.requests) == 5


def test_unknown_table_lists_the_known_ones() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    with pytest.raises(NotFound, match="Status, Table1, Public"):
        catalog.find("Nope")
    assert catalog.find("table1") == TABLE1


def collected(data: bytes, more: bool | None = None) -> bmp5.CollectDataResponse:
    if more is not None:
        data = data[:-1] + (b"\x01" if more else b"\x00")
    return bmp5.CollectDataResponse(0, 0, data)


def v13_from(index: int, *, first_number: int = 89052, more: bool = False) -> bytes:
    """V13's records from the ``index``-th on, as the logger answers a request from that one.

    V13 holds six 20-byte records of an interval table; only the first carries its time
    stamp (one minute apart).  ``first_number`` renumbers them, as after a table reset.
    """
    head = struct.pack(">HIH", 2, first_number + index, 6 - index)
    stamp = struct.pack(">II", 712158000 + 60 * index, 0)
    return head + stamp + V13[16 + 20 * index : -1] + (b"\x01" if more else b"\x00")


def test_collect_decodes_the_captured_records_v13() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    _, trace = drive(ops.collect(catalog, "Table1"), lambda m: collected(V13))
    records = trace.emitted
    assert [r.number for r in records] == list(range(89052, 89058))
    assert records[0].timestamp == dt.datetime(2012, 7, 26, 13, 40)
    assert records[5].timestamp == dt.datetime(2012, 7, 26, 13, 45)
    first = records[0].values
    assert first["Batt_Volt_Avg"] == pytest.approx(13.61)
    assert first["CurSensor2_mAmp_Avg"] == pytest.approx(-785.2)
    (request,) = trace.messages
    assert request.mode == 3  # type: ignore[attr-defined]
    block = request.requests[0]  # type: ignore[attr-defined]
    assert (block.table_nbr, block.signature) == (2, 0x9EA7)


def test_collect_continues_after_more_records_exist() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    replies = iter([collected(V13, more=True), collected(b"\x00")])
    _, trace = drive(ops.collect(catalog, "Table1", since_record=89000), lambda m: next(replies))
    first, second = trace.messages
    assert (first.mode, first.requests[0].p1) == (4, 89000)  # type: ignore[attr-defined]
    assert (second.mode, second.requests[0].p1) == (4, 89058)  # type: ignore[attr-defined]
    assert len(trace.emitted) == 6 and trace.batches == 1


def test_collect_refuses_a_logger_that_promises_records_it_never_sends() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    with pytest.raises(ProtocolError, match="more records"):
        drive(ops.collect(catalog, "Table1"), lambda m: collected(b"\x01"))


def test_collect_newest_continues_with_a_record_range() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    replies = iter([collected(V13, more=True), collected(b"\x00")])
    _, trace = drive(ops.collect(catalog, "Table1", newest=10), lambda m: next(replies))
    first, second = trace.messages
    assert (first.mode, first.requests[0].p1) == (5, 10)  # type: ignore[attr-defined]
    block = second.requests[0]  # type: ignore[attr-defined]
    assert (second.mode, block.p1, block.p2) == (6, 89058, 89062)  # type: ignore[attr-defined]


def test_collect_newest_stops_at_the_count() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    _, trace = drive(ops.collect(catalog, "Table1", newest=4), lambda m: collected(V13, True))
    assert [r.number for r in trace.emitted] == [89052, 89053, 89054, 89055]
    assert len(trace.requests) == 1


def test_v13_from_rebuilds_the_captured_answer() -> None:
    assert v13_from(0) == V13  # the helper below is only as good as this


def test_collect_raises_table_reset_when_numbers_go_back_mid_stream() -> None:
    """A reset between two answers: the old run is emitted, then TableReset -- no record
    of the new run is dropped as "already seen", none is passed off as the old run's."""
    catalog = ops.TableCatalog(parse_tdf(TDF))
    replies = iter([collected(v13_from(0), more=True), collected(v13_from(0, first_number=0))])
    op = ops.collect(catalog, "Table1")
    with pytest.raises(ops.TableReset) as info:
        drive(op, lambda m: next(replies))
    reset = info.value
    assert (reset.table, reset.last, reset.first) == ("Table1", 89057, 0)
    assert isinstance(reset, DeviceError)
    assert "went back from 89057 to 0" in str(reset)


def test_collect_emits_the_old_run_before_raising_table_reset() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    emitted: list[int] = []
    replies = iter([collected(v13_from(0), more=True), collected(v13_from(0, first_number=0))])
    op = ops.collect(catalog, "Table1")
    step = next(op)
    with pytest.raises(ops.TableReset):
        while True:
            if isinstance(step, Emit):
                emitted.extend(r.number for r in step.items)
                step = op.send(None)
            else:
                step = op.send(next(replies))
    assert emitted == list(range(89052, 89058))


def test_collect_since_record_beyond_the_newest_is_a_table_reset() -> None:
    """Mode 4 from a number the logger does not hold answers from its oldest record:
    asked from 100, records 0..5 arrive -- the table restarted."""
    catalog = ops.TableCatalog(parse_tdf(TDF))
    op = ops.collect(catalog, "Table1", since_record=100)
    with pytest.raises(ops.TableReset) as info:
        drive(op, lambda m: collected(v13_from(0, first_number=0)))
    assert (info.value.last, info.value.first) == (99, 0)
    assert "holds no record 100 of table 'Table1'" in str(info.value)
    assert "answered from record 0" in str(info.value)


def test_collect_since_record_overwritten_is_not_a_reset() -> None:
    """Asked from a number the ring already overwrote, the oldest held is newer: a hole
    for the caller to see, not a reset."""
    catalog = ops.TableCatalog(parse_tdf(TDF))
    _, trace = drive(ops.collect(catalog, "Table1", since_record=89000), lambda m: collected(V13))
    assert [r.number for r in trace.emitted] == list(range(89052, 89058))


def test_collect_time_window_uses_mode_7_then_stops_at_the_window_end() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    start = dt.datetime(2012, 7, 26, 13, 40)
    stop = dt.datetime(2012, 7, 26, 13, 44)
    # First answer: the first two records only (NbrOfRecs patched to 2), more to come.
    first = bytearray(V13[: 8 + 8 + 20 * 2] + b"\x01")
    first[7] = 2
    replies = iter([collected(bytes(first)), collected(v13_from(2))])
    _, trace = drive(
        ops.collect(catalog, "Table1", start=start, stop=stop), lambda m: next(replies)
    )
    window, cont = trace.messages
    assert window.mode == 7  # type: ignore[attr-defined]
    block = window.requests[0]  # type: ignore[attr-defined]
    assert block.p1 == NSec(712158000, 0) and block.p2 == NSec(712158240, 0)
    assert (cont.mode, cont.requests[0].p1) == (4, 89054)  # type: ignore[attr-defined]
    assert [r.timestamp.minute for r in trace.emitted] == [40, 41, 42, 43]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"newest": 0},
        {"newest": 3, "since_record": 4},
        {"since_record": 1, "start": dt.datetime(2020, 1, 1)},
        {"start": dt.datetime(2020, 1, 2), "stop": dt.datetime(2020, 1, 1)},
        {"start": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)},
    ],
)
def test_collect_checks_its_query_before_sending(kwargs: dict[str, Any]) -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    with pytest.raises(UsageError):
        drive(ops.collect(catalog, "Table1", **kwargs), lambda m: pytest.fail("sent"))


def test_collect_selected_fields_in_the_order_given() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    names = [f.name for f in TABLE1.fields]
    wanted = [names[3], names[0]]
    _, trace = drive(ops.collect(catalog, "Table1", fields=wanted), lambda m: collected(b"\x00"))
    block = trace.messages[0].requests[0]  # type: ignore[attr-defined]
    assert block.fields == (4, 1)
    with pytest.raises(NotFound, match="no field 'Nope'"):
        drive(ops.collect(catalog, "Table1", fields=["Nope"]), lambda m: pytest.fail())


def test_changed_table_definition_rereads_tdf_and_raises() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    answers = by_type(
        CollectDataCommand=lambda m: bmp5.CollectDataResponse(0, 7),
        FileReceiveCommand=tdf_file(),
    )
    with pytest.raises(ops.TableDefinitionChanged, match="Table1") as info:
        drive(ops.collect(catalog, "Table1"), answers)
    assert info.value.code == 7
    assert catalog.tables is not None


def test_collect_with_a_wrong_code_is_denied() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    with pytest.raises(PermissionDenied):
        drive(ops.collect(catalog, "Table1"), lambda m: bmp5.CollectDataResponse(0, 1))


def status_record_bytes() -> bytes:
    """A whole Status record of V11 (time stamp first): OSVersion set, the rest zeros."""
    layout = layout_for(STATUS)
    assert layout.size is not None
    raw = bytearray(layout.stamp_size + layout.size)
    raw[0:8] = struct.pack(">iI", 712158000, 0)
    raw[8 : 8 + 13] = b"CR1000.Std.24"
    return bytes(raw)


def fragment(record: bytes, number: int, offset: int, size: int, more: bool) -> bytes:
    head = struct.pack(">HII", STATUS.number, number, 0x80000000 | offset)
    return head + record[offset : offset + size] + (b"\x01" if more else b"\x00")


def test_a_record_larger_than_a_packet_is_reassembled_with_mode_8() -> None:
    record = status_record_bytes()
    assert len(record) > 1000  # the CR1000 Status record always fragments (pitfall 7)
    chunk = 900
    catalog = ops.TableCatalog(parse_tdf(TDF))

    def answer(m: Message) -> Message:
        assert isinstance(m, bmp5.CollectDataCommand)
        block = m.requests[0]
        if m.mode == 5:
            return collected(fragment(record, 42, 0, chunk, True))
        assert m.mode == 8 and block.p1 == 42
        offset = block.p2
        assert isinstance(offset, int)
        last = offset + chunk >= len(record)
        return collected(fragment(record, 42, offset, chunk, not last))

    _, trace = drive(ops.collect(catalog, "Status", newest=1), answer)
    (rec,) = trace.emitted
    assert isinstance(rec, Record) and rec.number == 42
    assert rec.timestamp == dt.datetime(2012, 7, 26, 13, 40)
    assert rec.values["OSVersion"] == "CR1000.Std.24"
    offsets = [m.requests[0].p2 for m in trace.messages[1:]]  # type: ignore[attr-defined]
    assert offsets == list(range(chunk, len(record), chunk))


def test_collection_memory_is_one_response_at_a_time() -> None:
    """Records are emitted per response, never gathered: 50 responses, 50 batches."""
    catalog = ops.TableCatalog(parse_tdf(TDF))
    sent = 0

    def answer(m: Message) -> Message:
        nonlocal sent
        sent += 1
        block = bytearray(V13)
        start = 89052 + 6 * (sent - 1)
        block[2:6] = start.to_bytes(4, "big")
        block[-1] = 1 if sent < 50 else 0
        return collected(bytes(block))

    op = ops.collect(catalog, "Table1")
    batches = 0
    step = next(op)
    with pytest.raises(StopIteration):
        while True:
            if isinstance(step, Emit):
                batches += 1
                assert len(step.items) == 6
                step = op.send(None)
            else:
                step = op.send(answer(step.message))
    assert batches == 50 and sent == 50


# --- values and table control -----------------------------------------------------------------


def test_get_value_asks_for_ieee4_of_an_fp2_field_and_keeps_the_subscript() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    field = TABLE1.fields[0]  # an FP2 field of Table1
    assert field.type_code == 7
    value, trace = drive(
        ops.get_value(catalog, "Table1", f"{field.name.lower()}(1)"),
        lambda m: bmp5.GetValuesResponse(0, 0, struct.pack(">f", 13.5)),
    )
    (sent,) = trace.messages
    assert sent.type_code == 9 and sent.field_name == f"{field.name}(1)"  # type: ignore[attr-defined]
    assert value == 13.5


def test_get_value_swath_returns_a_tuple() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    value, _ = drive(
        ops.get_value(catalog, "Table1", TABLE1.fields[0].name, swath=2),
        lambda m: bmp5.GetValuesResponse(0, 0, struct.pack(">ff", 1.0, 2.0)),
    )
    assert value == (1.0, 2.0)


def test_get_value_of_a_string_reads_asciiz() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    value, trace = drive(
        ops.get_value(catalog, "Status", "OSVersion"),
        lambda m: bmp5.GetValuesResponse(0, 0, b"CR1000.Std.24\x00"),
    )
    assert value == "CR1000.Std.24"
    assert trace.messages[0].type_code == 16  # type: ignore[attr-defined]


def test_get_value_errors() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    with pytest.raises(NotFound, match="no field 'Nope'"):
        drive(ops.get_value(catalog, "Public", "Nope"), lambda m: pytest.fail())
    field = PUBLIC.fields[0].name
    with pytest.raises(NotFound):
        drive(ops.get_value(catalog, "Public", field), lambda m: bmp5.GetValuesResponse(0, 0x10))
    with pytest.raises(ProtocolError):
        drive(ops.get_value(catalog, "Public", field), lambda m: bmp5.GetValuesResponse(0, 0, b"1"))


def test_set_value_encodings() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    ok = lambda m: bmp5.SetValuesResponse(0, 0)  # noqa: E731
    _, trace = drive(ops.set_value(catalog, "Public", "Batt_Volt", "2.5"), ok)
    sent = trace.messages[0]
    assert (sent.type_code, sent.swath, sent.data) == (9, 1, struct.pack(">f", 2.5))  # type: ignore[attr-defined]
    _, trace = drive(ops.set_value(catalog, "Status", "StationName", "LABO"), ok)
    sent = trace.messages[0]
    assert (sent.type_code, sent.swath, sent.data) == (16, 4, b"LABO\x00")  # type: ignore[attr-defined]
    with pytest.raises(UsageError, match="not a number"):
        drive(ops.set_value(catalog, "Public", "Batt_Volt", "warm"), ok)


def test_set_value_refuses_a_read_only_field_before_sending() -> None:
    """The captured .TDF marks data-table fields read-only and Public variables not."""
    catalog = ops.TableCatalog(parse_tdf(TDF))
    float_field = TABLE1.fields[0].name
    with pytest.raises(DeviceError, match=f"Table1.{float_field} is read-only"):
        drive(ops.set_value(catalog, "Table1", float_field, "2.5"), lambda m: pytest.fail())
    with pytest.raises(DeviceError, match="read-only"):
        drive(ops.set_value(catalog, "Status", "OSVersion", "x"), lambda m: pytest.fail())


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Batt_Volt(2)", "Batt_Volt is a single value"),
        ("Batt_Volt(1,1)", "Batt_Volt is a single value"),
        ("OSVersion(2)", "OSVersion is a single value"),  # a string's length is no index
    ],
)
def test_a_subscript_beyond_the_field_is_named_before_sending(name: str, problem: str) -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    table = "Status" if name.startswith("OS") else "Public"
    with pytest.raises(NotFound, match=problem):
        drive(ops.get_value(catalog, table, name), lambda m: pytest.fail())


def test_a_subscript_within_the_field_is_sent_as_typed() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    answer = lambda m: bmp5.GetValuesResponse(0, 0, struct.pack(">f", 1.5))  # noqa: E731
    value, trace = drive(ops.get_value(catalog, "Public", "batt_volt(1)"), answer)
    assert value == 1.5
    assert trace.messages[0].field_name == "Batt_Volt(1)"  # type: ignore[attr-defined]
    with pytest.raises(UsageError, match="whole numbers"):
        drive(ops.get_value(catalog, "Public", "Batt_Volt(one)"), lambda m: pytest.fail())


def test_reset_table_names_the_table() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    _, trace = drive(ops.reset_table(catalog, "table1"), lambda m: bmp5.TableControlResponse(0, 0))
    sent = trace.messages[0]
    assert (sent.option, sent.table_name) == (1, "Table1")  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        drive(ops.reset_table(catalog, "Table1"), lambda m: bmp5.TableControlResponse(0, 0x10))


# --- programs ---------------------------------------------------------------------------------


def new_tdf() -> bytes:
    return build_tdf([STATUS, PUBLIC])


def test_send_program_runs_it_and_rereads_the_tables() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    files = LoggerFiles({".TDF": new_tdf()})
    stats = captured_message(V6)
    answers = by_type(
        FileSendCommand=files.send,
        FileControlCommand=lambda m: bmp5.FileControlResponse(0, 0, 2),
        ProgStatsCommand=lambda m: stats,
        FileReceiveCommand=files.receive,
    )
    program = b"BeginProg\r\nEndProg\r\n"
    result, trace = drive(ops.send_program(catalog, "new.CR1", program), answers)
    kinds = [type(m).__name__ for m in trace.messages]
    assert kinds[:3] == ["FileSendCommand", "FileControlCommand", "ProgStatsCommand"]
    assert set(kinds[3:]) == {"FileReceiveCommand"}  # the new .TDF
    assert trace.messages[0].file_name == "CPU:new.CR1"  # type: ignore[attr-defined]
    assert trace.messages[1].command == 13  # type: ignore[attr-defined]
    assert trace.pauses == [2]
    assert result.program_name == "CPU:CR1000_LABO.CR1"
    assert [t.name for t in catalog.tables or ()] == ["Status", "Public"]


def test_send_program_that_does_not_compile() -> None:
    catalog = ops.TableCatalog(parse_tdf(TDF))
    failed = bmp5.ProgStatsResponse(
        0,
        0,
        "CR1000.Std.24",
        1,
        "E1",
        "",
        2,
        "CPU:bad.CR1",
        0,
        NSec(0, 0),
        "CPU:bad.CR1 -- line 3: Variable not declared.\r\n",
    )
    answers = by_type(
        FileSendCommand=lambda m: bmp5.FileSendResponse(0, 0, m.offset),
        FileControlCommand=lambda m: bmp5.FileControlResponse(0, 0, 0),
        ProgStatsCommand=lambda m: failed,
    )
    with pytest.raises(DeviceError, match=r"did not compile: .*line 3"):
        drive(ops.send_program(catalog, "CPU:bad.CR1", b"x"), answers)
    assert catalog.tables is None  # stale definitions are not kept


# --- bounded downloads (issue 13) -------------------------------------------------------------


def endless(limit: int = 40_000) -> Callable[[Any], Message]:
    """A hostile logger: every swath full, forever (the test stops it after ``limit``)."""
    asked = 0

    def serve(m: bmp5.FileReceiveCommand) -> Message:
        nonlocal asked
        asked += 1
        assert asked <= limit, "the download did not end"
        return bmp5.FileReceiveResponse(0, 0, m.offset, b"\x01" * m.swath)

    return serve


@pytest.mark.parametrize("name", [".TDF", "CPU:.DIR", ".dir"])
def test_definition_files_have_a_sane_maximum(name: str) -> None:
    with pytest.raises(ProtocolError, match=r"more than .* bytes"):
        drive(ops.get_file(name), by_type(FileReceiveCommand=endless()))


def test_a_download_ends_at_the_size_the_directory_announced() -> None:
    with pytest.raises(ProtocolError, match="announced 2000"):
        drive(ops.get_file("f", size=2000), by_type(FileReceiveCommand=endless(10)))
    files = LoggerFiles({"f": b"x" * 2000})  # exactly the size: fine
    result, _ = drive(ops.get_file("f", size=2000), by_type(FileReceiveCommand=files.receive))
    assert result == b"x" * 2000


def test_a_download_ends_at_the_callers_maximum() -> None:
    with pytest.raises(ProtocolError, match="--max-size"):
        drive(ops.get_file("f", max_size=5000), by_type(FileReceiveCommand=endless(10)))
    files = LoggerFiles({"f": b"x" * 5000})
    result, _ = drive(ops.get_file("f", max_size=5000), by_type(FileReceiveCommand=files.receive))
    assert len(result) == 5000


def test_any_download_has_a_default_maximum(monkeypatch: pytest.MonkeyPatch) -> None:
    from fieldlink.pakbus.operations import files

    assert 0 < files.DEFAULT_MAX_FILE_SIZE < 2**40
    monkeypatch.setattr(files, "DEFAULT_MAX_FILE_SIZE", 10_000)
    with pytest.raises(ProtocolError, match="10000"):
        drive(ops.get_file("CPU:data.dat"), by_type(FileReceiveCommand=endless(20)))


def test_table_definitions_are_read_with_the_definition_maximum() -> None:
    with pytest.raises(ProtocolError, match=r"\.TDF"):
        drive(ops.table_defs(ops.TableCatalog()), by_type(FileReceiveCommand=endless()))


def test_a_fragmented_record_that_stops_growing_is_a_protocol_error() -> None:
    """A logger answering mode 8 with empty fragments for ever: the collect ends (issue 13)."""
    record = status_record_bytes()
    catalog = ops.TableCatalog(parse_tdf(TDF))
    asked = 0

    def answer(m: Message) -> Message:
        nonlocal asked
        asked += 1
        assert asked < 1000, "the collect did not end"
        assert isinstance(m, bmp5.CollectDataCommand)
        if m.mode == 5:
            return collected(fragment(record, 42, 0, 900, True))
        offset = m.requests[0].p2
        assert isinstance(offset, int)
        return collected(fragment(record, 42, offset, 0, True))  # nothing new, "more"

    with pytest.raises(ProtocolError, match="no new bytes"):
        drive(ops.collect(catalog, "Status", newest=1), answer)
    assert asked == 2


def test_a_setting_whose_fragments_never_end_is_a_protocol_error() -> None:
    head = pakctrl.DevConfigGetSettingsResponse(
        0, 1, 12, 5, 0, False, (pakctrl.SettingValue(7, b"abc", large_value=True),)
    )
    asked = 0

    def fragment_answer(m: Any) -> Message:
        nonlocal asked
        asked += 1
        assert asked < 5000, "the settings read did not end"
        return pakctrl.DevConfigGetFragmentResponse(0, 1, True, b"x" * 900)

    answers = by_type(
        DevConfigGetSettingsCommand=lambda m: head, DevConfigGetFragmentCommand=fragment_answer
    )
    with pytest.raises(ProtocolError, match="setting 7"):
        drive(ops.get_settings(), answers)
    assert asked * 900 <= ops.MAX_SETTING_SIZE + 900


def test_a_device_repeating_its_settings_for_ever_is_a_protocol_error() -> None:
    again = pakctrl.DevConfigGetSettingsResponse(
        0, 1, 12, 5, 0, True, (pakctrl.SettingValue(7, b"abc"),)
    )
    asked = 0

    def answer(m: Any) -> Message:
        nonlocal asked
        asked += 1
        assert asked < 100, "the settings read did not end"
        return again

    with pytest.raises(ProtocolError, match="no new setting"):
        drive(ops.get_settings(), by_type(DevConfigGetSettingsCommand=answer))
    assert asked == 2
