"""The client sessions, sans-I/O: matching, checking and garbage."""

from __future__ import annotations

import pytest
import tracer_vectors as v

from fieldlink.errors import ProtocolError
from fieldlink.tracer.errors import ModbusExceptionError, WriteRejected
from fieldlink.tracer.modbus import pdus
from fieldlink.tracer.modbus.registers import Table
from fieldlink.tracer.mt5 import messages as m
from fieldlink.tracer.mt5.framing import Frame
from fieldlink.tracer.session import ModbusSession, Mt5Session


def test_mt5_session_sends_wake_and_sync_and_skips_other_replies() -> None:
    s = Mt5Session()
    request = m.read_realtime()
    assert s.encode(request) == v.MT5_READ_16
    replies = s.feed(b"\x00garbage\xeb" + v.MT5_LOAD_ON_REPLY + v.MT5_REALTIME_REPLY)
    assert [type(r) for r in replies] == [Frame, Frame]
    late, wanted = replies
    assert isinstance(late, Frame) and isinstance(wanted, Frame)
    assert not s.matches(request, late)  # a late reply to another command: skipped
    assert s.matches(request, wanted)
    assert s.check(request, wanted) is wanted
    assert "read real-time data" in s.describe(request)


def test_mt5_session_rejects_a_malformed_payload() -> None:
    s = Mt5Session()
    with pytest.raises(ProtocolError, match="24 bytes"):
        s.check(m.read_realtime(), Frame(0x16, m.READ_REALTIME, b"\x01\x02"))
    (err,) = s.feed(v.MT5_XXV_BAD_CRC)
    assert isinstance(err, ProtocolError)


def test_modbus_session_raises_the_controllers_exception() -> None:
    s = ModbusSession()
    read = pdus.ReadRegisters(Table.HOLDING, 0x3000, 1)
    (reply,) = s.feed(v.TD_PAIRS[1][1])
    assert s.matches(read, reply)
    with pytest.raises(ModbusExceptionError, match="illegal data address") as info:
        s.check(read, reply)
    assert info.value.code == 2 and not isinstance(info.value, WriteRejected)
    write = pdus.WriteRegisters(0x9008, (1450,))
    with pytest.raises(WriteRejected, match="write 1 holding registers at 0x9008"):
        s.check(write, pdus.ExceptionReply(0x10, 3))
    assert not s.matches(write, reply)
