"""MT-5 frames: bytes out, and an incremental receiver for bytes in (tracer.md §A2).

A frame is ``[AA 55 AA 55 AA 55] EB 90 EB 90 EB 90 id cmd N data(N) crc_hi crc_lo 7F``.
The six wake-up bytes are optional (some controllers never send them), so the
receiver treats everything before the first complete sync run as line noise.

:class:`Receiver` takes whatever a read returned -- one byte, half a frame, noise,
several frames -- and hands back complete frames, or a :class:`ProtocolError` for a
frame whose end byte or CRC is wrong.  After an error it resumes the sync search
one byte past the bad sync, so a real frame hiding inside garbage is still found.
It works in a loop (never recursion) and buffers at most one maximal frame plus a
few bytes of a possible sync prefix, whatever the device sends.
"""

from __future__ import annotations

from dataclasses import dataclass

from fieldlink.errors import ProtocolError
from fieldlink.tracer.mt5.crc import crc16, crc_bytes

#: "PWL start": sent by the host before every request; optional in replies.
WAKE = bytes.fromhex("AA55AA55AA55")
#: Sync run that starts every frame.
SYNC = bytes.fromhex("EB90EB90EB90")
#: Last byte of every frame.
END = 0x7F
#: The protocol's limit on the length byte.
MAX_DATA = 200
#: Header after the sync: id, command, length.
_HEAD = 3
#: Trailer: CRC (2) and end byte.
_TAIL = 3
#: Command 0xAD and its fixed data length (for the lenient reading, see Receiver).
_SET_PARAMETERS = 0xAD
_PARAMETERS = 7
#: The longest frame from the sync on.
MAX_FRAME = len(SYNC) + _HEAD + MAX_DATA + _TAIL


@dataclass(frozen=True, slots=True)
class Frame:
    """One MT-5 frame: controller ID, command code and data bytes."""

    controller_id: int
    command: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.controller_id <= 0xFF or not 0 <= self.command <= 0xFF:
            raise ValueError("controller id and command are single bytes")
        if len(self.data) > MAX_DATA:
            raise ValueError(f"MT-5 data is at most {MAX_DATA} bytes, not {len(self.data)}")

    def body(self) -> bytes:
        """ID, command, length and data: what the CRC covers."""
        return bytes((self.controller_id, self.command, len(self.data))) + self.data

    def encode(self, *, wake: bool = True) -> bytes:
        """The frame on the wire; ``wake`` prefixes the six wake-up bytes."""
        body = self.body()
        return (WAKE if wake else b"") + SYNC + body + crc_bytes(body) + bytes((END,))


class Receiver:
    """Incremental MT-5 frame decoder (sans-I/O).

    :meth:`feed` returns complete frames and :class:`ProtocolError` values for
    damaged ones, in arrival order.  ``discarded`` counts bytes skipped before a sync run (wake-up
    bytes included) and bytes given up with a damaged frame.
    """

    def __init__(self, *, lenient_set_parameters: bool = False) -> None:
        self._buf = bytearray()
        self.discarded = 0
        #: Also take a 0xAD frame whose length byte says 0 but carries the 7 parameter
        #: bytes, as the manufacturer's text writes it (tracer.md §A3, UNCERTAIN): the
        #: emulator accepts it when the end byte and CRC line up after the 7 bytes.
        self.lenient_set_parameters = lenient_set_parameters

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame or sync run."""
        return len(self._buf)

    @property
    def in_frame(self) -> bool:
        """True once a sync run has arrived and its frame is not complete."""
        return self._buf.startswith(SYNC)

    def clear(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame | ProtocolError]:
        out: list[Frame | ProtocolError] = []
        buf = self._buf
        buf += data
        while True:
            start = buf.find(SYNC)
            if start < 0:
                # Keep a tail that could be the start of a sync run split across reads.
                keep = self._sync_prefix_len(buf)
                self._drop(len(buf) - keep)
                return out
            self._drop(start)
            if len(buf) < len(SYNC) + _HEAD:
                return out
            length = buf[len(SYNC) + 2]
            if length > MAX_DATA:
                out.append(
                    ProtocolError(
                        f"length byte {length} exceeds {MAX_DATA}",
                        message_type="MT-5 frame",
                        offset=len(SYNC) + 2,
                    )
                )
                self._drop(1)
                continue
            total = len(SYNC) + _HEAD + length + _TAIL
            if len(buf) < total:
                later = self._later_frame(buf)
                if later is None:
                    return out
                self._drop(later)  # a false sync in the noise announced a frame never sent
                continue
            raw = bytes(buf[len(SYNC) : total])
            error = self._check(raw)
            if error is not None and self._zero_length_parameters(raw):
                alt_total = total + _PARAMETERS
                if len(buf) < alt_total:
                    return out
                alt = bytes(buf[len(SYNC) : alt_total])
                if self._check(alt) is None:
                    out.append(Frame(alt[0], alt[1], alt[_HEAD : _HEAD + _PARAMETERS]))
                    del buf[:alt_total]
                    continue
            if error is not None:
                out.append(error)
                self._drop(1)
                continue
            out.append(Frame(raw[0], raw[1], raw[_HEAD : _HEAD + length]))
            del buf[:total]

    @classmethod
    def _later_frame(cls, buf: bytearray) -> int | None:
        """Where a later sync run starts a complete, intact frame, if one does.

        Noise that happens to hold a sync run can announce a long frame that never
        comes; waiting for it would hide the real frame that follows, so a complete
        frame behind it that passes its end byte and CRC is taken instead.
        """
        at = buf.find(SYNC, 1)
        while at >= 0:
            head = at + len(SYNC)
            if len(buf) >= head + _HEAD:
                end = head + _HEAD + buf[head + 2] + _TAIL
                intact = buf[head + 2] <= MAX_DATA and len(buf) >= end
                if intact and cls._check(bytes(buf[head:end])) is None:
                    return at
            at = buf.find(SYNC, at + 1)
        return None

    def _zero_length_parameters(self, raw: bytes) -> bool:
        return self.lenient_set_parameters and raw[1] == _SET_PARAMETERS and raw[2] == 0

    @staticmethod
    def _check(raw: bytes) -> ProtocolError | None:
        if raw[-1] != END:
            return ProtocolError(
                f"end byte {raw[-1]:#04x} is not 0x7f",
                message_type="MT-5 frame",
                offset=len(SYNC) + len(raw) - 1,
            )
        if crc16(raw[:-1]) != 0:
            got = int.from_bytes(raw[-3:-1], "big")
            want = crc16(raw[:-3])
            return ProtocolError(
                f"CRC {got:04X} does not match {want:04X}",
                message_type=f"MT-5 frame, command {raw[1]:#04x}",
                offset=len(SYNC) + len(raw) - 3,
            )
        return None

    def _drop(self, count: int) -> None:
        if count > 0:
            self.discarded += count
            del self._buf[:count]

    @staticmethod
    def _sync_prefix_len(buf: bytearray) -> int:
        for keep in range(min(len(SYNC) - 1, len(buf)), 0, -1):
            if buf.endswith(SYNC[:keep]):
                return keep
        return 0
