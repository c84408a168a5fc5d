"""The client session's TDR100 rules with bytes alone, and the emulator port under fuzz."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tdr100_bench import Clock

from fieldlink.errors import FieldlinkError, ProtocolError
from fieldlink.tdr100.emulator import TDR100Model
from fieldlink.tdr100.protocol import (
    Ack,
    Command,
    ErrorReply,
    ReplyDecoder,
    TDR100Error,
    Values,
    encode_reply,
)
from fieldlink.tdr100.session import TDR100Session


def test_matching_by_echo() -> None:
    s = TDR100Session()
    assert s.matches(Command("GWAV"), Values("GWAV", ()))
    assert not s.matches(Command("GLWF"), Values("GWAV", ()))  # a late reply to an aborted GWAV
    assert s.matches(Command("S_VP", 0.5), Ack("S_VP"))
    assert not s.matches(Command("S_VP", 0.5), Ack("SNAV"))
    assert s.matches(Command("GMOS"), ErrorReply(16))  # an error carries no echo


def test_check_raises_device_errors_and_wrong_kinds() -> None:
    s = TDR100Session()
    with pytest.raises(TDR100Error) as info:
        s.check(Command("GMOS"), ErrorReply(16))
    assert info.value.code == 16 and info.value.command == "GMOS"
    with pytest.raises(ProtocolError, match="acknowledgement"):
        s.check(Command("GMOS"), Ack("GMOS"))
    with pytest.raises(ProtocolError, match="values"):
        s.check(Command("SSET"), Values("SSET", (1.0,)))


def test_count_check_warns_and_tracks_points(caplog: pytest.LogCaptureFixture) -> None:
    s = TDR100Session()
    dump = Values("DUMP", (1.0, 4.0, 300.0, 0.0, 5.0, 0.3, 0.0, 1.0, 0.0))
    assert s.check(Command("DUMP"), dump) is dump
    assert s.points == 300
    with caplog.at_level(logging.WARNING, logger="fieldlink.tdr100"):
        s.check(Command("GWAV"), Values("GWAV", (0.0,) * 300))
        assert not caplog.records
        s.check(Command("GWAV"), Values("GWAV", (0.0,) * 251))  # warned, still returned
        s.check(Command("GTIM"), Values("GTIM", (0.0,) * 4))  # 4 is admitted (§2.4)
    assert len(caplog.records) == 1 and "300" in caplog.text
    s.check(Command("SPNT", 500), Ack("SPNT"))
    assert s.points == 500
    s.check(Command("RSET"), Ack("RSET"))
    assert s.points is None


def test_acquisitions_are_not_resent_on_the_learned_round_trip() -> None:
    s = TDR100Session()
    assert not s.adaptive(Command("GWAV")) and not s.adaptive(Command("GMOS"))
    assert s.adaptive(Command("DUMP")) and s.adaptive(Command("S_VP", 1))
    assert s.describe(Command("S_VP", 0.5)) == "TDR100 command S_VP 0.5"


def test_session_locks_the_crc_and_decodes() -> None:
    from fieldlink.tdr100.protocol.crc import ARC

    s = TDR100Session()
    assert s.crc is None
    assert s.feed(encode_reply(Ack("SSET"), ARC)) == [Ack("SSET")]
    assert s.crc is ARC
    assert s.encode(Command("GCAL")) == b":GCAL17\r"


def test_another_link_aborts_and_a_closed_link_loses_only_the_reply() -> None:
    clock = Clock()
    model = TDR100Model(clock=clock)
    one, two = model.open_port(1), model.open_port(2)
    assert not one.answer(Command("GWAV").encode())
    clock.now += 0.01
    (ack,) = two.answer(Command("ABRT").encode())
    assert ReplyDecoder().feed(ack.data) == [Ack("ABRT")]
    assert two.aborted == ["GWAV"] and model.waveform is None
    assert not one.tick(clock.now + 100)
    # a link that closes while its acquisition runs: the device still finishes it
    one.answer(Command("GWAV").encode())
    one.closed()
    clock.now += 100
    assert not one.tick(clock.now)
    two.answer(Command("DUMP").encode())
    assert model.waveform is not None


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=60), max_size=10), st.integers(0, 3))
def test_the_port_answers_any_bytes_without_raising(chunks: list[bytes], advance: int) -> None:
    clock = Clock()
    model = TDR100Model(clock=clock)
    port = model.open_port(1)
    decoder = ReplyDecoder(detect=False)
    for chunk in chunks:
        for unit in port.frames(chunk):
            assert len(unit) <= 66
            for out in port.answer(unit):
                for r in decoder.feed(out.data):
                    assert not isinstance(r, FieldlinkError)
        clock.now += advance
        for out in port.tick(clock.now):
            assert decoder.feed(out.data)


command_text = st.builds(
    lambda m, v: Command(m, v).encode(),
    st.sampled_from(["S_VP", "SNAV", "SPNT", "SDIS", "SWLN", "SMUX", "SPRO", "CCCC"]),
    st.one_of(st.integers(-100, 5000), st.floats(-10, 3000, allow_nan=False)),
)


@settings(max_examples=150)
@given(st.lists(command_text, max_size=8))
def test_any_value_gets_an_ack_or_a_documented_error(frames: list[bytes]) -> None:
    clock = Clock()
    model = TDR100Model(clock=clock)
    port = model.open_port(1)
    decoder = ReplyDecoder(detect=False)
    for frame in frames:
        (unit,) = port.frames(frame)
        outs = list(port.answer(unit))
        clock.now += 1000
        outs += port.tick(clock.now)
        (reply,) = [r for o in outs for r in decoder.feed(o.data)]
        assert isinstance(reply, Ack | Values) or reply.code in (7, 10, 13, 18)  # type: ignore[union-attr]
    model.settings.replace()  # still valid settings after all of it


def test_a_command_after_the_acquisition_ended_but_before_a_tick_gets_both_replies() -> None:
    clock = Clock()
    model = TDR100Model(clock=clock)
    port = model.open_port(1)
    assert not port.answer(Command("GCON").encode())
    clock.now += 100  # done, but no tick has run yet
    outs = port.answer(Command("DUMP").encode())
    replies = [r for o in outs for r in ReplyDecoder().feed(o.data)]
    assert [type(r).__name__ for r in replies] == ["Values", "Values"]
    assert [r.command for r in replies] == ["GCON", "DUMP"]  # type: ignore[union-attr]
    assert port.aborted == [] and not port.tick(clock.now)
