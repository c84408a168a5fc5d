"""Batlab packets, sans-I/O: 5-byte commands and responses, 13-byte stream packets.

The protocol has no checksum and no length field (batlab.md §2): a packet is a start
byte and a fixed number of bytes after it.  Both ends frame *blindly* -- the device
takes any 5 bytes starting at 0xAA as a command, the host any 0xAA + 4 bytes as a
response and 0xAF + 12 bytes as a stream packet, skipping other bytes -- and this
module does the same, because a stricter framer would desynchronise where the real
device resynchronises (§2.4).  Buffers never hold more than one packet's worth.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from fieldlink.batlab.convert import word
from fieldlink.batlab.registers import COMMAND_ERROR
from fieldlink.errors import ProtocolError, UsageError

__all__ = [
    "COMMAND_LEN",
    "RESPONSE_START",
    "STREAM_LEN",
    "STREAM_START",
    "Command",
    "CommandFramer",
    "PacketDecoder",
    "Response",
    "StreamPacket",
    "decode_command",
    "decode_response",
    "decode_stream",
]

RESPONSE_START: Final = 0xAA
STREAM_START: Final = 0xAF
COMMAND_LEN: Final = 5
STREAM_LEN: Final = 13
_WRITE: Final = 0x80
_ADDR: Final = 0x7F
#: start, namespace, register byte, value (LE) -- commands and responses alike.
_PACKET = struct.Struct("<BBBH")
#: start, cell, sub-type, MODE, STATUS, TEMPERATURE, CURRENT, VOLTAGE.
_STREAM = struct.Struct("<BBBHHHHH")


@dataclass(frozen=True, slots=True)
class Command:
    """A host -> device packet: read (value 0) or write ``value`` at namespace/address."""

    namespace: int
    address: int
    write: bool = False
    value: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.namespace <= 0xFF:
            raise UsageError(f"namespace {self.namespace} out of range 0..255")
        if not 0 <= self.address <= _ADDR:
            raise UsageError(f"register address {self.address} out of range 0..127")
        object.__setattr__(self, "value", word(self.value))

    @classmethod
    def read(cls, namespace: int, address: int) -> Command:
        return cls(namespace, address)

    @classmethod
    def write_value(cls, namespace: int, address: int, value: int) -> Command:
        """A write; ``value`` may be signed (−32768…−1 go out as two's complement)."""
        return cls(namespace, address, True, value)

    @property
    def register_byte(self) -> int:
        return self.address | (_WRITE if self.write else 0)

    def encode(self) -> bytes:
        return _PACKET.pack(RESPONSE_START, self.namespace, self.register_byte, self.value)

    def answered_by(self, response: Response) -> bool:
        """True if ``response`` echoes this command's namespace and register byte."""
        return (
            response.namespace == self.namespace
            and response.address == self.address
            and response.write == self.write
        )


@dataclass(frozen=True, slots=True)
class Response:
    """A device -> host packet echoing a command.

    For a read ``value`` is the register word; for a write 0x0000 is accepted and
    0x0101 rejected.  (0x0101 = 257 is also a legal register value.)
    """

    namespace: int
    address: int
    write: bool
    value: int

    @property
    def rejected(self) -> bool:
        """A write the device refused, or a read of something that does not exist."""
        return self.value == COMMAND_ERROR

    def encode(self) -> bytes:
        reg = self.address | (_WRITE if self.write else 0)
        return _PACKET.pack(RESPONSE_START, self.namespace, reg, self.value & 0xFFFF)


@dataclass(frozen=True, slots=True)
class StreamPacket:
    """An unsolicited 13-byte cell report (batlab.md §2.3); words are raw registers.

    ``subtype`` is 0 for every packet firmware v7 sends; other sub-types are kept
    (with their bytes) instead of being decoded as if they were sub-type 0.
    """

    cell: int
    subtype: int
    mode: int
    status: int
    temperature: int
    current: int
    voltage: int

    def encode(self) -> bytes:
        return _STREAM.pack(
            STREAM_START,
            self.cell,
            self.subtype,
            self.mode,
            self.status,
            self.temperature,
            self.current,
            self.voltage,
        )


def _unpack_packet(data: bytes, what: str) -> tuple[int, int, int, int]:
    if len(data) != COMMAND_LEN:
        raise ProtocolError(f"{len(data)} bytes, expected {COMMAND_LEN}", message_type=what)
    start, namespace, reg, value = _PACKET.unpack(data)
    if start != RESPONSE_START:
        raise ProtocolError(f"start byte 0x{start:02X}, expected 0xAA", message_type=what)
    return namespace, reg & _ADDR, reg & _WRITE, value


def decode_command(data: bytes) -> Command:
    """Five bytes from the host -> :class:`Command` (ProtocolError if not a packet)."""
    namespace, address, write, value = _unpack_packet(data, "Batlab command")
    return Command(namespace, address, bool(write), value)


def decode_response(data: bytes) -> Response:
    """Five bytes from the device -> :class:`Response`."""
    namespace, address, write, value = _unpack_packet(data, "Batlab response")
    return Response(namespace, address, bool(write), value)


def decode_stream(data: bytes) -> StreamPacket:
    """Thirteen bytes starting 0xAF -> :class:`StreamPacket`."""
    if len(data) != STREAM_LEN:
        raise ProtocolError(
            f"{len(data)} bytes, expected {STREAM_LEN}", message_type="Batlab stream packet"
        )
    start, cell, subtype, mode, status, temp, current, voltage = _STREAM.unpack(data)
    if start != STREAM_START:
        raise ProtocolError(
            f"start byte 0x{start:02X}, expected 0xAF", message_type="Batlab stream packet"
        )
    return StreamPacket(cell, subtype, mode, status, temp, current, voltage)


class PacketDecoder:
    """Host side: bytes from the device -> responses and stream packets, in order.

    0xAA starts a 5-byte response, 0xAF a 13-byte stream packet, anything else
    between packets is line noise: skipped and counted in :attr:`discarded` (the
    official library logs "Packet Loss Detected" for it).  The buffer never holds
    more than one incomplete packet (≤ 12 bytes).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        #: Bytes skipped while hunting for a start byte.
        self.discarded = 0

    def feed(self, data: bytes) -> list[Response | StreamPacket]:
        out: list[Response | StreamPacket] = []
        buffer = self._buffer
        for byte in data:
            if not buffer:
                if byte in (RESPONSE_START, STREAM_START):
                    buffer.append(byte)
                else:
                    self.discarded += 1
                continue
            buffer.append(byte)
            need = COMMAND_LEN if buffer[0] == RESPONSE_START else STREAM_LEN
            if len(buffer) == need:
                packet = bytes(buffer)
                buffer.clear()
                out.append(
                    decode_response(packet) if need == COMMAND_LEN else decode_stream(packet)
                )
        return out

    @property
    def pending(self) -> int:
        """Bytes of an incomplete packet held for the next :meth:`feed`."""
        return len(self._buffer)

    def reset(self) -> None:
        self._buffer.clear()


class CommandFramer:
    """Device side: the firmware's blind framing -- 0xAA and the next 4 bytes, no checks.

    Bytes before a 0xAA are dropped (counted in :attr:`discarded`); a stray 0xAA
    inside a value just mis-frames one packet and the next 0xAA resynchronises.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.discarded = 0

    def feed(self, data: bytes) -> list[bytes]:
        return list(self._frames(data))

    def _frames(self, data: bytes) -> Iterator[bytes]:
        buffer = self._buffer
        for byte in data:
            if not buffer and byte != RESPONSE_START:
                self.discarded += 1
                continue
            buffer.append(byte)
            if len(buffer) == COMMAND_LEN:
                yield bytes(buffer)
                buffer.clear()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def reset(self) -> None:
        self._buffer.clear()
