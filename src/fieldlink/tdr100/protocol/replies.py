"""TDR100 -> host reply frames: quoting, the CRC, dispatch, and an incremental decoder.

A reply is ``:`` + quoted(body + CRC16 big-endian) + CR (tdr100.md §3.1).  The body
is ``$MNEM`` (acknowledgement), ``!NN`` (error) or ``#MNEM`` + k big-endian float32
(values).  Quoting replaces 0x3A, 0x0D and 0x22 by 0x22 and 256 - b, so a frame
never holds a bare colon or CR and the decoder may cut at them blindly.

:class:`ReplyDecoder` follows the receiver algorithm of §3.2 on whatever a read
returned, and bounds its buffer: a frame cannot be longer than the largest body
(8200 bytes), its CRC and every byte quoted, so past that it is dropped, never kept.
It also implements the CRC-variant lock of §3.3: until a frame has been accepted the
decoder tries every candidate variant on a frame that fails the expected one, and
locks onto the first variant that alone explains a frame.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from fieldlink.errors import ProtocolError
from fieldlink.tdr100.protocol.crc import CANDIDATES, XMODEM, CrcVariant
from fieldlink.tdr100.protocol.errors import TDR100Error

__all__ = [
    "MAX_BODY",
    "MAX_FRAME",
    "Ack",
    "ErrorReply",
    "ReplyDecoder",
    "TDR100Reply",
    "Values",
    "decode_body",
    "encode_body",
    "encode_reply",
    "quote",
    "unquote",
]

log = logging.getLogger("fieldlink.tdr100.protocol")

COLON, CR, QUOTE = 0x3A, 0x0D, 0x22
_SPECIAL = frozenset((COLON, CR, QUOTE))
#: Largest unquoted body (§3.1): '#' + 4 characters + 2048 floats, rounded as the SDK does.
MAX_BODY = 8200
#: Largest quoted frame between ':' and CR: body and CRC with every byte quoted.
MAX_FRAME = 2 * (MAX_BODY + 2)
#: What ends a frame's bytes: its CR, or a ':' that starts the next one.
_FRAME_END = re.compile(rb"[:\r]")


def quote(data: bytes) -> bytes:
    """Replace 0x3A, 0x0D and 0x22 by 0x22 and their two's complement (§3.1)."""
    if not any(b in data for b in (b":", b"\r", b'"')):
        return bytes(data)
    out = bytearray()
    for b in data:
        if b in _SPECIAL:
            out += bytes((QUOTE, 256 - b))
        else:
            out.append(b)
    return bytes(out)


def unquote(data: bytes) -> bytes:
    """Undo :func:`quote` left to right (never by global replaces, §3.2 step 3).

    Raises ProtocolError for a 0x22 at the end or one whose pair decodes to anything
    but the three quoted bytes (a sender never produces it).
    """
    if QUOTE not in data:
        return bytes(data)
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == QUOTE:
            if i + 1 >= n:
                raise ProtocolError(
                    "quote byte at the end of a frame", message_type="TDR100 reply", offset=i
                )
            value = (256 - data[i + 1]) & 0xFF
            if value not in _SPECIAL:
                raise ProtocolError(
                    f"quote pair 22 {data[i + 1]:02X} decodes to no quoted byte",
                    message_type="TDR100 reply",
                    offset=i,
                )
            out.append(value)
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


@dataclass(frozen=True)
class Ack:
    """``$MNEM``: the command was carried out."""

    command: str


@dataclass(frozen=True)
class Values:
    """``#MNEM`` + floats: the command's result."""

    command: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class ErrorReply:
    """``!NN``: the device refused or failed the command."""

    code: int

    def error(self, command: str | None = None) -> TDR100Error:
        return TDR100Error(self.code, command)


TDR100Reply = Ack | Values | ErrorReply


def _mnemonic(body: bytes) -> str:
    name = body[1:5]
    if len(name) != 4 or not all(0x20 < b < 0x7F for b in name):
        raise ProtocolError(
            f"no 4-character command echo in {body[:5]!r}", message_type="TDR100 reply"
        )
    return name.decode("ascii")


def decode_body(body: bytes) -> TDR100Reply:
    """Dispatch an unquoted, CRC-checked body on its first byte (§3.2 steps 5-6)."""
    if not body:
        raise ProtocolError("empty reply body", message_type="TDR100 reply")
    kind = body[0]
    if kind == ord("$"):
        if len(body) != 5:
            raise ProtocolError(
                f"acknowledgement of {len(body)} bytes, not 5", message_type="TDR100 reply"
            )
        return Ack(_mnemonic(body))
    if kind == ord("!"):
        digits = body[1:]
        if len(digits) != 2 or not digits.isdigit():
            raise ProtocolError(
                f"error reply {body!r} is not '!' and two digits", message_type="TDR100 reply"
            )
        return ErrorReply(int(digits))
    if kind == ord("#"):
        if len(body) < 5 or (len(body) - 5) % 4:
            raise ProtocolError(
                f"value reply of {len(body)} bytes: {len(body) - 5} data bytes "
                "is no whole number of floats",
                message_type="TDR100 reply",
            )
        count = (len(body) - 5) // 4
        return Values(_mnemonic(body), struct.unpack(f">{count}f", body[5:]))
    raise ProtocolError(
        f"reply starts with {kind:#04x}, not $, ! or #", message_type="TDR100 reply"
    )


def encode_body(reply: TDR100Reply) -> bytes:
    """The unquoted body of ``reply`` (the emulator's side of §3.1)."""
    if isinstance(reply, Ack):
        return b"$" + reply.command.encode("ascii")
    if isinstance(reply, ErrorReply):
        return b"!%02d" % reply.code
    return (
        b"#" + reply.command.encode("ascii") + struct.pack(f">{len(reply.values)}f", *reply.values)
    )


def encode_reply(reply: TDR100Reply | bytes, crc: CrcVariant = XMODEM) -> bytes:
    """A whole reply frame: body, CRC (big-endian), quoted, between ``:`` and CR."""
    body = reply if isinstance(reply, bytes) else encode_body(reply)
    return b":" + quote(body + crc.digest(body)) + b"\r"


class ReplyDecoder:
    """Turns the byte stream from a TDR100 into replies, one call per read.

    :meth:`feed` returns complete replies in order; a frame that cannot be a reply
    (bad quoting, bad CRC, too long, cut short by a new ``:``) comes back as the
    ProtocolError in its place, so a session can resend at once.  Bytes outside a
    frame (line noise, a terminal prompt) are skipped.

    ``crc`` is the variant expected first; with ``detect`` (the default) the decoder
    locks onto the variant that explains the first good frame (§3.3), and after the
    lock accepts no other.  ``locked`` says which; ``on_lock`` is called once with it.
    """

    def __init__(self, crc: CrcVariant = XMODEM, *, detect: bool = True) -> None:
        self.crc = crc
        self.locked: CrcVariant | None = None if detect else crc
        self._buffer = bytearray()
        self._in_frame = False
        self.dropped = 0

    def reset(self) -> None:
        """Forget a partial frame (the link was reopened, a request was resent)."""
        self._buffer.clear()
        self._in_frame = False

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame held (never more than :data:`MAX_FRAME`)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[TDR100Reply | ProtocolError]:
        out: list[TDR100Reply | ProtocolError] = []
        data = bytes(data)
        i, n = 0, len(data)
        while i < n:
            if not self._in_frame:
                j = data.find(b":", i)
                if j < 0:
                    break  # noise outside a frame
                i = j + 1
                self._in_frame = True
                self._buffer.clear()
                continue
            found = _FRAME_END.search(data, i)
            cut = n if found is None else found.start()
            if len(self._buffer) + (cut - i) > MAX_FRAME:
                out.append(self._drop(f"frame longer than {MAX_FRAME} bytes"))
                i = cut
                continue
            self._buffer += data[i:cut]
            i = cut
            if cut == n:
                break
            if data[cut] == COLON:
                # The ':' itself starts the next frame; a lone ':' before it is noise.
                if self._buffer:
                    out.append(self._drop("frame cut short by a new ':' (no CR)"))
                self._in_frame = False
                continue
            i += 1  # the CR
            frame = bytes(self._buffer)
            self._buffer.clear()
            self._in_frame = False
            if frame:  # a bare ":" CR is line noise, not a reply
                out.append(self._frame(frame))
        return out

    def _drop(self, reason: str) -> ProtocolError:
        self.dropped += 1
        self._buffer.clear()
        self._in_frame = False
        log.debug("TDR100 reply dropped: %s", reason)
        return ProtocolError(reason, message_type="TDR100 reply")

    def _frame(self, frame: bytes) -> TDR100Reply | ProtocolError:
        try:
            raw = unquote(frame)
            if len(raw) < 3:
                raise ProtocolError(
                    f"frame of {len(raw)} bytes is too short", message_type="TDR100 reply"
                )
            body, crc = raw[:-2], int.from_bytes(raw[-2:], "big")
            variant = self._verify(body, crc)
            reply = decode_body(body)
        except ProtocolError as exc:
            self.dropped += 1
            return exc
        if self.locked is None:
            self._lock(variant)
        return reply

    def _verify(self, body: bytes, crc: int) -> CrcVariant:
        if self.locked is not None:
            if self.locked(body) == crc:
                return self.locked
            raise ProtocolError(
                f"CRC mismatch ({self.locked.name}: {self.locked(body):04X}, frame says {crc:04X})",
                message_type="TDR100 reply",
            )
        if self.crc(body) == crc:
            return self.crc
        matches = [v for v in candidates(self.crc) if v(body) == crc]
        if len(matches) == 1:
            return matches[0]
        which = "no candidate variant" if not matches else "several variants"
        raise ProtocolError(f"CRC {crc:04X} matches {which}", message_type="TDR100 reply")

    def _lock(self, variant: CrcVariant) -> None:
        self.locked = variant
        if variant is self.crc:
            log.info("TDR100 replies use %s (as expected)", variant.name)
        else:
            log.warning("TDR100: device uses CRC variant %s, not %s", variant.name, self.crc.name)
        self.on_lock(variant)

    def on_lock(self, variant: CrcVariant) -> None:
        """Hook for a session that wants to know when the variant is settled."""


def candidates(first: CrcVariant) -> Sequence[CrcVariant]:
    """Every candidate of §3.3, ``first`` first, each once."""
    return (first, *(v for v in CANDIDATES if v != first))
