"""Client sessions for both protocols, on the kit's command/reply session.

:class:`Mt5Session` frames MT-5 requests (wake-up bytes first, as the
manufacturer's host does) and hands back frames whose command matches; a frame
that fails its CRC or end byte comes back as a ProtocolError, which the kit resends
at once while retries remain.  :class:`ModbusSession` does the same for Modbus
through :class:`~fieldlink.tracer.modbus.adapter.ClientCodec` (RTU framing on a
serial line or RTU-over-TCP, or Modbus/TCP with ``framing="socket"``) and turns an
exception reply into :class:`~fieldlink.tracer.errors.ModbusExceptionError`
(:class:`~fieldlink.tracer.errors.WriteRejected` for a write).
"""

from __future__ import annotations

import logging

from fieldlink.errors import ProtocolError
from fieldlink.kit.reply import ReplySession
from fieldlink.tracer.errors import ModbusExceptionError, WriteRejected
from fieldlink.tracer.modbus import pdus
from fieldlink.tracer.modbus.adapter import ClientCodec, Framing
from fieldlink.tracer.mt5 import messages as mt5
from fieldlink.tracer.mt5.framing import Frame, Receiver

#: ``--debug`` shows this logger: every frame in hex, both ways.
frames_log = logging.getLogger("fieldlink.tracer.frames")

_WRITES = frozenset({pdus.WRITE_COIL, pdus.WRITE_REGISTER, pdus.WRITE_REGISTERS})


class Mt5Session(ReplySession[Frame, Frame]):
    """MT-5 over any byte link (9600 8N1 serial, or a serial-to-Ethernet converter)."""

    frames = frames_log

    def __init__(self, *, timeout: float = 1.0, wake: bool = True) -> None:
        super().__init__(timeout=timeout)
        self.wake = wake
        self._rx = Receiver()

    def encode(self, request: Frame) -> bytes:
        return request.encode(wake=self.wake)

    def feed(self, data: bytes) -> list[Frame | ProtocolError]:
        return self._rx.feed(data)

    def matches(self, request: Frame, reply: Frame) -> bool:
        # Another command's reply (a late one) is skipped, never recursed on (seed defect 2).
        return reply.command == request.command

    def check(self, request: Frame, reply: Frame) -> Frame:
        mt5.decode_reply(reply)  # a malformed payload raises ProtocolError here
        return reply

    def describe(self, request: Frame) -> str:
        name = mt5.COMMAND_NAMES.get(request.command, f"command {request.command:#04x}")
        return f"MT-5 {name} (controller id {request.controller_id:#04x})"


class ModbusSession(ReplySession[pdus.Request, pdus.Reply]):
    """EPEVER Modbus on one unit id."""

    frames = frames_log

    def __init__(self, *, unit: int = 1, framing: Framing = "rtu", timeout: float = 1.0) -> None:
        super().__init__(timeout=timeout)
        self.codec = ClientCodec(unit=unit, framing=framing)

    @property
    def unit(self) -> int:
        return self.codec.unit

    def encode(self, request: pdus.Request) -> bytes:
        return self.codec.encode(request)

    def feed(self, data: bytes) -> list[pdus.Reply | ProtocolError]:
        return self.codec.feed(data)

    def matches(self, request: pdus.Request, reply: pdus.Reply) -> bool:
        """Same function and, where the reply shows it, the same size or address: RTU has
        no transaction id, so a late reply to an earlier read of another block must not
        pass for this one."""
        if reply.function != request.function:
            return False
        if isinstance(request, pdus.ReadRegisters) and isinstance(reply, pdus.Registers):
            return len(reply.values) == request.count
        if isinstance(request, pdus.ReadBits) and isinstance(reply, pdus.Bits):
            return request.count <= len(reply.values) < request.count + 8
        if isinstance(request, pdus.WriteRegisters) and isinstance(reply, pdus.Written):
            return (reply.address, reply.count) == (request.start, len(request.values))
        if isinstance(request, pdus.WriteCoil) and isinstance(reply, pdus.Written):
            return reply.address == request.address
        if isinstance(request, pdus.SparseRead) and isinstance(reply, pdus.Sparse):
            return reply.count == request.count
        return True

    def check(self, request: pdus.Request, reply: pdus.Reply) -> pdus.Reply:
        if isinstance(reply, pdus.ExceptionReply):
            kind = WriteRejected if request.function in _WRITES else ModbusExceptionError
            raise kind(reply.function, reply.code, self.describe(request))
        return reply

    def describe(self, request: pdus.Request) -> str:
        if isinstance(request, pdus.ReadRegisters | pdus.ReadBits):
            what = f"read {request.count} {request.table.value}s at {request.start:#06x}"
        elif isinstance(request, pdus.WriteRegisters):
            what = f"write {len(request.values)} holding registers at {request.start:#06x}"
        elif isinstance(request, pdus.WriteCoil):
            what = f"switch coil {request.address:#06x} {'on' if request.on else 'off'}"
        elif isinstance(request, pdus.ReadDeviceId):
            what = f"read device identification (code {request.code})"
        else:
            what = f"sparse read of {request.count} registers at {request.start:#06x}"
        return f"Tracer unit {self.unit}: {what}"
