"""The MT-5 frame check (tracer.md §A2.1).

The manufacturer describes a bit-level shift-register procedure over the frame
body followed by two zero bytes.  That augmented form is exactly a plain,
non-reflected CRC-16 with polynomial 0x1041, initial value 0 and no final XOR,
so the table form below is used; the check value over ``b"123456789"`` is 0xAF1C.
The CRC travels high byte first, and running the CRC over body + CRC gives 0.
"""

from __future__ import annotations

POLY = 0x1041


def _table() -> tuple[int, ...]:
    out = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ POLY) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        out.append(crc)
    return tuple(out)


_TABLE = _table()


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC of ``data`` (controller ID through the last data byte)."""
    crc = 0
    for byte in bytes(data):
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


def crc_bytes(data: bytes | bytearray | memoryview) -> bytes:
    """The two CRC bytes as sent: high byte first."""
    return crc16(data).to_bytes(2, "big")


def crc_augmented(data: bytes | bytearray | memoryview) -> int:
    """The manufacturer's own shift-register procedure, kept to prove the equivalence.

    R1/R2 start with the first two bytes; every further byte (and two appended zeros)
    is shifted through bit by bit, XORing 0x10/0x41 when a one falls out of R1.
    """
    raw = bytes(data) + b"\x00\x00"
    if len(raw) < 2:
        return 0
    r1, r2 = raw[0], raw[1]
    for r3 in raw[2:]:
        for _ in range(8):
            top = r1 & 0x80
            r1 = ((r1 << 1) | (r2 >> 7)) & 0xFF
            r2 = ((r2 << 1) | (r3 >> 7)) & 0xFF
            r3 = (r3 << 1) & 0xFF
            if top:
                r1 ^= 0x10
                r2 ^= 0x41
    return (r1 << 8) | r2
