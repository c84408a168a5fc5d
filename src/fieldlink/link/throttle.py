"""How long bytes take on a serial line, so emulators can pace their replies.

A pseudo-terminal or TCP socket delivers a 10 kB table collection instantly,
which hides timeout bugs that show up at 9600 baud in the field.  Each character
on an asynchronous serial line costs a start bit, the data bits, an optional
parity bit and the stop bits; this module does that arithmetic and nothing else
(no sleeping), so the emulator decides how to wait.
"""

from __future__ import annotations

from fieldlink.errors import UsageError
from fieldlink.link.url import PARITIES, LinkURL


def bits_per_character(bytesize: int = 8, parity: str = "N", stopbits: float = 1.0) -> float:
    """Bits on the wire per character: 1 start + data + parity (if any) + stop."""
    if bytesize not in (5, 6, 7, 8):
        raise UsageError(f"bytesize must be 5, 6, 7 or 8, not {bytesize!r}")
    if not isinstance(parity, str) or parity.upper() not in PARITIES:
        raise UsageError(f"parity must be one of N, E, O, M, S, not {parity!r}")
    if stopbits not in (1, 1.5, 2):
        raise UsageError(f"stopbits must be 1, 1.5 or 2, not {stopbits!r}")
    parity_bits = 0 if parity.upper() == "N" else 1
    return 1 + bytesize + parity_bits + float(stopbits)


def bytes_per_second(
    baud: int, bytesize: int = 8, parity: str = "N", stopbits: float = 1.0
) -> float:
    """Characters per second the line carries at full speed (9600 8N1 -> 960)."""
    if not isinstance(baud, int | float) or baud <= 0:
        raise UsageError(f"baud must be a positive number, not {baud!r}")
    return baud / bits_per_character(bytesize, parity, stopbits)


def transmit_seconds(
    n_bytes: int, baud: int, bytesize: int = 8, parity: str = "N", stopbits: float = 1.0
) -> float:
    """Seconds the line needs to carry ``n_bytes`` back to back."""
    if not isinstance(n_bytes, int) or n_bytes < 0:
        raise UsageError(f"n_bytes must be a whole number >= 0, not {n_bytes!r}")
    return n_bytes / bytes_per_second(baud, bytesize, parity, stopbits)


def url_transmit_seconds(n_bytes: int, url: LinkURL) -> float:
    """:func:`transmit_seconds` for a ``serial:`` link URL's baud rate and framing."""
    if url.baud is None or url.bytesize is None or url.parity is None or url.stopbits is None:
        raise UsageError(f"{url} has no baud rate and framing to throttle to")
    return transmit_seconds(n_bytes, url.baud, url.bytesize, url.parity, url.stopbits)
