"""The CRC-16 that closes every TDR100 reply, as a parameter (tdr100.md §3.3).

The manuals say only "CRC-16, big-endian"; no capture settles which one.  The
recommended reading (UNCERTAIN, taken here) is CRC-16/XMODEM, Campbell's own
"CCITT CRC16, seed 0".  Because a real device may disagree, the variant is data: a
:class:`CrcVariant` names the polynomial, seed, reflection and final XOR, and
:data:`CANDIDATES` lists the six the reference tells a client to try, in the order it
gives.  A table-driven implementation keeps a 8 kB waveform reply cheap to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ARC",
    "BUYPASS",
    "CANDIDATES",
    "CCITT_FALSE",
    "KERMIT",
    "MODBUS",
    "XMODEM",
    "CrcVariant",
    "by_name",
]


def _reflect(value: int, width: int) -> int:
    out = 0
    for _ in range(width):
        out = (out << 1) | (value & 1)
        value >>= 1
    return out


@dataclass(frozen=True)
class CrcVariant:
    """One CRC-16 from the catalogue: ``poly`` is the normal (non-reflected) form."""

    name: str
    poly: int
    init: int
    reflected: bool
    xorout: int = 0
    _table: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table: list[int] = []
        if self.reflected:
            rpoly = _reflect(self.poly, 16)
            for byte in range(256):
                crc = byte
                for _ in range(8):
                    crc = (crc >> 1) ^ rpoly if crc & 1 else crc >> 1
                table.append(crc)
        else:
            for byte in range(256):
                crc = byte << 8
                for _ in range(8):
                    crc = ((crc << 1) ^ self.poly) if crc & 0x8000 else crc << 1
                table.append(crc & 0xFFFF)
        object.__setattr__(self, "_table", tuple(table))

    def __call__(self, data: bytes | bytearray | memoryview) -> int:
        """The CRC of ``data`` as an int 0..0xFFFF."""
        table = self._table
        crc = _reflect(self.init, 16) if self.reflected else self.init
        if self.reflected:
            for byte in bytes(data):
                crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
        else:
            for byte in bytes(data):
                crc = ((crc << 8) & 0xFFFF) ^ table[((crc >> 8) ^ byte) & 0xFF]
        return crc ^ self.xorout

    def digest(self, data: bytes | bytearray | memoryview) -> bytes:
        """The CRC as the device appends it: big-endian, high byte first (§3.1)."""
        return self(data).to_bytes(2, "big")


#: The recommended default (§3.3): poly 0x1021, seed 0, no reflection.
XMODEM = CrcVariant("CRC-16/XMODEM", 0x1021, 0x0000, False)
CCITT_FALSE = CrcVariant("CRC-16/CCITT-FALSE", 0x1021, 0xFFFF, False)
KERMIT = CrcVariant("CRC-16/KERMIT", 0x1021, 0x0000, True)
ARC = CrcVariant("CRC-16/ARC", 0x8005, 0x0000, True)
MODBUS = CrcVariant("CRC-16/MODBUS", 0x8005, 0xFFFF, True)
BUYPASS = CrcVariant("CRC-16/BUYPASS", 0x8005, 0x0000, False)

#: Every variant a client tries before giving up on a frame, default first (§3.3).
CANDIDATES: tuple[CrcVariant, ...] = (XMODEM, ARC, CCITT_FALSE, KERMIT, MODBUS, BUYPASS)


def by_name(name: str) -> CrcVariant:
    """The variant called ``name`` (case-insensitive; "xmodem" or "CRC-16/XMODEM")."""
    key = name.strip().upper().removeprefix("CRC-16/").replace("_", "-")
    for variant in CANDIDATES:
        if variant.name.removeprefix("CRC-16/") == key:
            return variant
    from fieldlink.errors import UsageError

    names = ", ".join(v.name.removeprefix("CRC-16/").lower() for v in CANDIDATES)
    raise UsageError(f"unknown CRC variant {name!r}; choose one of {names}")
