"""Firmware images of the measurement processor (batlab.md §6).

The application occupies flash 0x0400..0x3FFF: exactly 15360 bytes, whose last byte
is the 8-bit sum of the 15359 before it.  The client checks both before it touches
the unit -- the official library only checks the size, so a corrupt image reaches
the bootloader, which refuses it at the very end and leaves the unit in the
bootloader (§6).  Checking for newer firmware online is deliberately not offered:
fieldlink never reaches the network on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fieldlink.batlab.errors import FirmwareImageError

__all__ = [
    "APP_END",
    "APP_START",
    "IMAGE_SIZE",
    "FirmwareImage",
    "checksum",
    "checksum_ok",
    "load_image",
    "make_image",
]

APP_START: Final = 0x0400
APP_END: Final = 0x3FFF
IMAGE_SIZE: Final = APP_END - APP_START + 1  # 15360
#: Emulator convention (not a Lexcelon format): images built by :func:`make_image` start
#: with this marker and the version byte, so the emulator reports the flashed version.
VERSION_MARK: Final = b"FLFW"


def checksum(body: bytes) -> int:
    """The 8-bit sum the last image byte must hold."""
    return sum(body) & 0xFF


def checksum_ok(image: bytes) -> bool:
    return len(image) == IMAGE_SIZE and checksum(image[:-1]) == image[-1]


@dataclass(frozen=True, slots=True)
class FirmwareImage:
    """A checked application image."""

    data: bytes
    name: str = "image"

    @property
    def embedded_version(self) -> int | None:
        """The version an image from :func:`make_image` carries (None for real images)."""
        if self.data.startswith(VERSION_MARK):
            return self.data[len(VERSION_MARK)]
        return None

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "image") -> FirmwareImage:
        """Check size and checksum; FirmwareImageError says which is wrong."""
        if len(data) != IMAGE_SIZE:
            raise FirmwareImageError(
                f"{name}: {len(data)} bytes, a Batlab image is exactly {IMAGE_SIZE} bytes"
            )
        if not checksum_ok(data):
            raise FirmwareImageError(
                f"{name}: checksum byte 0x{data[-1]:02X} does not match the sum "
                f"0x{checksum(data[:-1]):02X} of the image (corrupt image)"
            )
        return cls(bytes(data), name)


def load_image(path: str | Path) -> FirmwareImage:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FirmwareImageError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    return FirmwareImage.from_bytes(data, str(p))


def make_image(version: int = 7, fill: int = 0x00) -> bytes:
    """A synthetic valid image for tests and the emulator (carries ``version``)."""
    if not 0 <= version <= 0xFF or not 0 <= fill <= 0xFF:
        from fieldlink.errors import UsageError

        raise UsageError("version and fill must be bytes (0..255)")
    head = VERSION_MARK + bytes([version])
    body = head + bytes([fill]) * (IMAGE_SIZE - 1 - len(head))
    return body + bytes([checksum(body)])
