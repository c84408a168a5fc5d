"""Byte-level readers and writers shared by every PakBus message and file codec.

Decoding untrusted bytes with bare ``struct.unpack_from`` and slicing turns a short
or corrupt message into ``struct.error`` or, worse, silently short strings.  The
:class:`Reader` checks every read against the end of the buffer and raises
:class:`~fieldlink.errors.ProtocolError` naming what was being decoded and the
offset, which is what the user needs to report a device bug.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from fieldlink.errors import ProtocolError

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_NSEC = struct.Struct(">iI")
_NSEC_SIGNED = struct.Struct(">ii")

#: Seconds from the Unix epoch to the PakBus epoch, 1990-01-01 00:00:00.
EPOCH_1990 = 631_152_000


@dataclass(frozen=True, slots=True, order=True)
class NSec:
    """A PakBus time: seconds and nanoseconds since 1990-01-01 (logger-local, no zone).

    Also used for clock *adjustments* and intervals, where both parts may be negative.
    """

    seconds: int = 0
    nanoseconds: int = 0

    @classmethod
    def from_unix(cls, t: float) -> NSec:
        whole = int(t // 1)
        ns = round((t - whole) * 1e9)
        if ns >= 1_000_000_000:
            whole, ns = whole + 1, ns - 1_000_000_000
        return cls(whole - EPOCH_1990, ns)

    def to_unix(self) -> float:
        return self.seconds + EPOCH_1990 + self.nanoseconds / 1e9

    @property
    def total_ns(self) -> int:
        return self.seconds * 1_000_000_000 + self.nanoseconds

    @classmethod
    def from_total_ns(cls, total: int) -> NSec:
        s, ns = divmod(total, 1_000_000_000)
        return cls(s, ns)


class Reader:
    """Sequential big-endian reader over one message, raising ProtocolError on overrun."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, what: str, pos: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.what = what

    def error(self, reason: str, offset: int | None = None) -> ProtocolError:
        return ProtocolError(
            reason, message_type=self.what, offset=self.pos if offset is None else offset
        )

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def _need(self, n: int, field: str) -> int:
        start = self.pos
        if n < 0 or start + n > len(self.data):
            raise self.error(
                f"message ends inside {field} ({n} bytes needed, {self.remaining} left)"
            )
        self.pos = start + n
        return start

    def u8(self, field: str = "byte") -> int:
        start = self._need(1, field)
        return self.data[start]

    def u16(self, field: str = "UInt2") -> int:
        start = self._need(2, field)
        return int(_U16.unpack_from(self.data, start)[0])

    def u32(self, field: str = "UInt4") -> int:
        start = self._need(4, field)
        return int(_U32.unpack_from(self.data, start)[0])

    def i32(self, field: str = "Int4") -> int:
        start = self._need(4, field)
        return int(_I32.unpack_from(self.data, start)[0])

    def nsec(self, field: str = "NSec", *, signed_ns: bool = False) -> NSec:
        start = self._need(8, field)
        fmt = _NSEC_SIGNED if signed_ns else _NSEC
        s, ns = fmt.unpack_from(self.data, start)
        return NSec(int(s), int(ns))

    def take(self, n: int, field: str = "bytes") -> bytes:
        start = self._need(n, field)
        return self.data[start : start + n]

    def rest(self) -> bytes:
        out = self.data[self.pos :]
        self.pos = len(self.data)
        return out

    def asciiz(self, field: str = "string") -> bytes:
        """A NUL-terminated string; the NUL is consumed but not returned."""
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise self.error(f"{field} is not NUL-terminated")
        out = self.data[self.pos : end]
        self.pos = end + 1
        return out

    def text(self, field: str = "string") -> str:
        """An ASCIIZ string decoded as Latin-1 (loggers send 8-bit bytes, never UTF-8)."""
        return self.asciiz(field).decode("latin-1")

    def expect_end(self) -> None:
        if self.pos != len(self.data):
            raise self.error(f"{self.remaining} unexpected trailing bytes")


class Writer:
    """Big-endian message builder; the mirror of :class:`Reader`."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray()

    def u8(self, v: int) -> Writer:
        self.buf.append(v & 0xFF)
        return self

    def u16(self, v: int) -> Writer:
        self.buf += _U16.pack(v & 0xFFFF)
        return self

    def u32(self, v: int) -> Writer:
        self.buf += _U32.pack(v & 0xFFFFFFFF)
        return self

    def i32(self, v: int) -> Writer:
        self.buf += _I32.pack(v)
        return self

    def nsec(self, t: NSec, *, signed_ns: bool = False) -> Writer:
        fmt = _NSEC_SIGNED if signed_ns else _NSEC
        self.buf += fmt.pack(t.seconds, t.nanoseconds)
        return self

    def raw(self, b: bytes) -> Writer:
        self.buf += b
        return self

    def asciiz(self, s: bytes | str) -> Writer:
        b = s.encode("latin-1") if isinstance(s, str) else s
        if b"\x00" in b:
            raise ValueError("a PakBus string cannot contain NUL")
        self.buf += b + b"\x00"
        return self

    def bytes(self) -> bytes:
        return bytes(self.buf)
