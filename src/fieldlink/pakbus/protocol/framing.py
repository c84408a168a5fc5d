"""PakBus byte framing (SerPkt): sync bytes, quoting and the signature check.

The same byte stream runs over serial, USB and TCP (pakbus.md §2.1, §2.7), so this
module is the one place that turns a stream into frames and back.  It is sans-I/O:
:class:`FrameDecoder` takes whatever a read returned -- one byte, half a frame, many
frames with line noise between them -- and hands back only frames whose signature
checks.  A damaged frame on a noisy line is routine, not exceptional, so the
decoder counts and logs it instead of raising: the caller's transaction simply
times out and retries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.protocol.signature import nullifier, signature

#: SerSyncByte: starts and ends every frame; runs of it are allowed and may be shared.
SYNC = 0xBD
#: QuoteByte: escapes 0xBC and 0xBD inside a frame (sent as 0xBC, byte + 0x20).
QUOTE = 0xBC
#: Campbell's decoder abandons a frame whose unquoted length passes this (pakbus.md §2.1).
MAX_UNQUOTED = 1024
#: Smallest real frame: 4-byte link-state header + 2-byte nullifier (pakbus.md §2.4).
MIN_FRAME = 6
#: Length of the nullifier that closes every frame.
NULLIFIER_LEN = 2

_SYNC = b"\xbd"
_QUOTE = b"\xbc"
_QUOTED_SYNC = b"\xbc\xdd"
_QUOTED_QUOTE = b"\xbc\xdc"

#: Quoting at most doubles the length, so a raw frame longer than this cannot unquote to
#: MAX_UNQUOTED bytes or fewer; the decoder stops buffering it there.
_MAX_RAW = 2 * MAX_UNQUOTED

log = logging.getLogger("fieldlink.pakbus.protocol.framing")


def quote(data: bytes | bytearray | memoryview) -> bytes:
    """Escape 0xBC and 0xBD so that the only 0xBD on the wire are sync bytes.

    Every byte between the sync bytes is quoted, header and nullifier included, as
    Campbell's own sender does (pakbus.md §2.1).
    """
    # 0xBC first: the second replacement introduces 0xBC bytes that must stay as they are.
    return bytes(data).replace(_QUOTE, _QUOTED_QUOTE).replace(_SYNC, _QUOTED_SYNC)


def unquote(data: bytes | bytearray | memoryview) -> bytes:
    """Undo :func:`quote` on the bytes found between two sync bytes.

    Raises ProtocolError when 0xBC is followed by anything but 0xDC/0xDD (Campbell
    discards such a frame) or when a bare 0xBD is inside (it can only be a sync byte).
    """
    raw = bytes(data)
    quotes = raw.count(_QUOTE)
    if quotes == 0 and _SYNC not in raw:
        return raw
    # Each valid pair holds exactly one 0xBC and the two pairs cannot overlap, so the
    # counts agree exactly when every 0xBC starts a valid pair.
    if quotes != raw.count(_QUOTED_QUOTE) + raw.count(_QUOTED_SYNC):
        raise ProtocolError(
            "0xBC not followed by 0xDC or 0xDD",
            message_type="PakBus frame quoting",
            offset=_first_bad_quote(raw),
        )
    if _SYNC in raw:
        raise ProtocolError(
            "unquoted 0xBD inside a frame",
            message_type="PakBus frame quoting",
            offset=raw.index(_SYNC),
        )
    # Replacing the 0xBC 0xDD pairs first cannot create new 0xBC 0xDC pairs.
    return raw.replace(_QUOTED_SYNC, _SYNC).replace(_QUOTED_QUOTE, _QUOTE)


def _first_bad_quote(raw: bytes) -> int:
    pos = raw.find(_QUOTE)
    while pos >= 0:
        if raw[pos + 1 : pos + 2] not in (b"\xdc", b"\xdd"):
            return pos
        pos = raw.find(_QUOTE, pos + 2)
    return len(raw)  # pragma: no cover - only called once a bad pair is known to exist


def encode_frame(unquoted: bytes | bytearray | memoryview) -> bytes:
    """Wire bytes for one frame: 0xBD, quoted(header + message + nullifier), 0xBD.

    One sync byte on each side is all a receiver needs; wake-up bursts on serial
    links are the driver's business (pakbus.md §2.1).
    """
    body = bytes(unquoted)
    return _SYNC + quote(body + nullifier(signature(body))) + _SYNC


@dataclass(slots=True)
class FrameStats:
    """What a :class:`FrameDecoder` has seen; the dropped counts explain a retry storm."""

    #: Good frames returned by :meth:`FrameDecoder.feed`.
    frames: int = 0
    #: Signature of the unquoted frame was not 0 (line noise, baud mismatch).
    bad_signature: int = 0
    #: 0xBC followed by something other than 0xDC/0xDD.
    bad_quote: int = 0
    #: Unquoted frame longer than MAX_UNQUOTED.
    too_long: int = 0
    #: Signature good but 5-7 bytes after the nullifier: neither header size.
    bad_length: int = 0
    #: 1-5 bytes between sync bytes.  Not an error: wake-up bursts and line noise
    #: produce them routinely.  (Empty frames from 0xBD runs are not counted at all.)
    runts: int = 0

    @property
    def dropped(self) -> int:
        """Frames discarded as damaged (runts excluded)."""
        return self.bad_signature + self.bad_quote + self.too_long + self.bad_length


class FrameDecoder:
    """Split a PakBus byte stream into checked, unquoted frames.

    Bytes before the first 0xBD are discarded (we may have joined mid-frame).  Each
    frame is returned without its nullifier: 4 bytes is a link-state-only frame,
    8 or more a full PakBus frame (see :meth:`Packet.decode
    <fieldlink.pakbus.protocol.packet.Packet.decode>`).  Scanning uses ``bytes.find`` so a
    large read costs time proportional to its size.
    """

    __slots__ = ("_buf", "_hunting", "stats")

    def __init__(self) -> None:
        self.stats = FrameStats()
        self._buf = bytearray()
        # True until a sync byte starts a frame: at start-up and after abandoning one.
        self._hunting = True

    @property
    def in_frame(self) -> bool:
        """True while part of a frame has arrived; a driver should not time out mid-frame."""
        return bool(self._buf)

    def reset(self) -> None:
        """Forget any partial frame (e.g. after reopening the link); keeps the stats."""
        self._buf.clear()
        self._hunting = True

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Take the next bytes of the stream; return the frames they complete."""
        chunk = bytes(data)
        frames: list[bytes] = []
        pos = 0
        end = len(chunk)
        while pos < end:
            if self._hunting:
                sync = chunk.find(_SYNC, pos)
                if sync < 0:
                    return frames
                self._hunting = False
                pos = sync + 1
                continue
            sync = chunk.find(_SYNC, pos)
            if sync < 0:
                self._buf += chunk[pos:]
                if len(self._buf) > _MAX_RAW:
                    self._abandon_long_frame()
                return frames
            if self._buf:
                self._buf += chunk[pos:sync]
                raw = bytes(self._buf)
                self._buf.clear()
            else:
                raw = chunk[pos:sync]
            pos = sync + 1
            if raw:
                frame = self._check(raw)
                if frame is not None:
                    frames.append(frame)
        return frames

    def _check(self, raw: bytes) -> bytes | None:
        """Validate the bytes between two sync bytes (pakbus.md §2.8 steps 2-5)."""
        stats = self.stats
        if len(raw) > _MAX_RAW:
            stats.too_long += 1
            _log_drop("too long", f"{len(raw)} raw bytes", raw)
            return None
        try:
            frame = unquote(raw)
        except ProtocolError as exc:
            stats.bad_quote += 1
            _log_drop("bad quote", str(exc), raw)
            return None
        size = len(frame)
        if size > MAX_UNQUOTED:
            stats.too_long += 1
            _log_drop("too long", f"{size} bytes unquoted", frame)
            return None
        if size < MIN_FRAME:
            stats.runts += 1
            _log_drop("runt", f"{size} bytes", frame)
            return None
        sig = signature(frame)
        if sig != 0:
            stats.bad_signature += 1
            _log_drop("bad signature", f"signature 0x{sig:04X}", frame)
            return None
        content = frame[:-NULLIFIER_LEN]
        if 4 < len(content) < 8:
            stats.bad_length += 1
            _log_drop("bad length", f"{len(content)} bytes without nullifier", frame)
            return None
        stats.frames += 1
        return content

    def _abandon_long_frame(self) -> None:
        self.stats.too_long += 1
        _log_drop("too long", f"over {_MAX_RAW} bytes before a sync byte", bytes(self._buf))
        self._buf.clear()
        self._hunting = True


def _log_drop(kind: str, why: str, frame: bytes) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug("dropped frame (%s, %s): %s", kind, why, frame[:64].hex(" "))


__all__ = [
    "MAX_UNQUOTED",
    "MIN_FRAME",
    "NULLIFIER_LEN",
    "QUOTE",
    "SYNC",
    "FrameDecoder",
    "FrameStats",
    "encode_frame",
    "quote",
    "unquote",
]
