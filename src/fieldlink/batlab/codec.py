"""Batlab packets, sans-I/O: 5-byte commands and responses, 13-byte stream packets.

The protocol has no checksum and no length field (batlab.md §2): a packet is a start
byte and a fixed number of bytes after it.  Both ends frame *blindly* -- the device
takes any 5 bytes starting at 0xAA as a command, the host any 0xAA + 4 bytes as a
response and 0xAF + 12 bytes as a stream packet, skipping other bytes -- and this
module does the same, because a stricter framer would desynchronise where the real
device resynchronises (§2.4).  Buffers never hold more than one packet's worth.

Each packet's layout is declared once (``LAYOUT``, see :mod:`fieldlink.kit.fields`):
encoding, decoding and the packet lengths all follow from it.  Words are
little-endian; the register byte is the write flag (bit 7) over the address.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from fieldlink.batlab.convert import word
from fieldlink.batlab.registers import COMMAND_ERROR
from fieldlink.errors import UsageError
from fieldlink.kit.fields import Binary, Codec, Layout, bits, const, part, u8, u16le

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
_ADDR: Final = 0x7F

#: start, namespace, register byte (write flag, address), value -- commands and responses alike.
_PACKET: Final[Layout] = (
    const("start byte", RESPONSE_START),
    u8("namespace"),
    bits("register byte", part("write", 1, flag=True), part("address", 7), code="B"),
    u16le("value"),
)


@dataclass(frozen=True, slots=True)
class Command(Binary):
    """A host -> device packet: read (value 0) or write ``value`` at namespace/address."""

    LAYOUT: ClassVar[Layout] = _PACKET
    WHAT: ClassVar[str] = "Batlab command"

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
        return self.address | (0x80 if self.write else 0)

    def answered_by(self, response: Response) -> bool:
        """True if ``response`` echoes this command's namespace and register byte."""
        return (
            response.namespace == self.namespace
            and response.address == self.address
            and response.write == self.write
        )


@dataclass(frozen=True, slots=True)
class Response(Binary):
    """A device -> host packet echoing a command.

    For a read ``value`` is the register word; for a write 0x0000 is accepted and
    0x0101 rejected.  (0x0101 = 257 is also a legal register value.)  Encoding
    refuses a value outside 0..65535 (UsageError) rather than masking it.
    """

    LAYOUT: ClassVar[Layout] = _PACKET
    WHAT: ClassVar[str] = "Batlab response"

    namespace: int
    address: int
    write: bool
    value: int

    @property
    def rejected(self) -> bool:
        """A write the device refused, or a read of something that does not exist."""
        return self.value == COMMAND_ERROR


@dataclass(frozen=True, slots=True)
class StreamPacket(Binary):
    """An unsolicited 13-byte cell report (batlab.md §2.3); words are raw registers.

    ``subtype`` is 0 for every packet firmware v7 sends; other sub-types are kept
    (with their bytes) instead of being decoded as if they were sub-type 0.
    """

    LAYOUT: ClassVar[Layout] = (
        const("start byte", STREAM_START),
        u8("cell"),
        u8("subtype"),
        u16le("mode", "MODE"),
        u16le("status", "STATUS"),
        u16le("temperature", "TEMPERATURE"),
        u16le("current", "CURRENT"),
        u16le("voltage", "VOLTAGE"),
    )
    WHAT: ClassVar[str] = "Batlab stream packet"

    cell: int
    subtype: int
    mode: int
    status: int
    temperature: int
    current: int
    voltage: int


_COMMAND = Command.codec()
_RESPONSE = Response.codec()
_STREAM = StreamPacket.codec()


def _size(codec: Codec[Any]) -> int:
    if codec.size is None:  # pragma: no cover - the layouts above are fixed
        raise TypeError(f"{codec.what} is not a fixed-size packet")
    return codec.size


COMMAND_LEN: Final = _size(_COMMAND)  # 5
STREAM_LEN: Final = _size(_STREAM)  # 13
#: What the host reads after each start byte: the codec and the packet length.
_BY_START: Final[dict[int, tuple[Codec[Any], int]]] = {
    RESPONSE_START: (_RESPONSE, COMMAND_LEN),
    STREAM_START: (_STREAM, STREAM_LEN),
}
_NEXT_START: Final = re.compile(rb"[\xaa\xaf]")


def decode_command(data: bytes) -> Command:
    """Five bytes from the host -> :class:`Command` (ProtocolError if not a packet)."""
    return _COMMAND.decode(data)


def decode_response(data: bytes) -> Response:
    """Five bytes from the device -> :class:`Response`."""
    return _RESPONSE.decode(data)


def decode_stream(data: bytes) -> StreamPacket:
    """Thirteen bytes starting 0xAF -> :class:`StreamPacket`."""
    return _STREAM.decode(data)


class PacketDecoder:
    """Host side: bytes from the device -> responses and stream packets, in order.

    0xAA starts a 5-byte response, 0xAF a 13-byte stream packet, anything else
    between packets is line noise: skipped and counted in :attr:`discarded` (the
    official library logs "Packet Loss Detected" for it).  The buffer never holds
    more than one incomplete packet (≤ 12 bytes).

    Whole packets are decoded in place from what arrived (no per-byte copying): the
    stream is polled often, so this is the Batlab's hot path.
    """

    def __init__(self) -> None:
        self._buffer = b""
        #: Bytes skipped while hunting for a start byte.
        self.discarded = 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[Response | StreamPacket]:
        raw = self._buffer + bytes(data)
        out: list[Response | StreamPacket] = []
        pos, end = 0, len(raw)
        while pos < end:
            found = _BY_START.get(raw[pos])
            if found is None:
                hit = _NEXT_START.search(raw, pos)
                skip_to = end if hit is None else hit.start()
                self.discarded += skip_to - pos
                pos = skip_to
                continue
            codec, size = found
            if pos + size > end:
                break
            packet, pos = codec.decode_from(raw, pos)
            out.append(packet)
        self._buffer = raw[pos:]
        return out

    @property
    def pending(self) -> int:
        """Bytes of an incomplete packet held for the next :meth:`feed`."""
        return len(self._buffer)

    def reset(self) -> None:
        self._buffer = b""


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
