"""The CSI signature: PakBus's 16-bit running check value (BMP5 App. B).

It guards every frame (with a two-byte *nullifier* that brings the signature of
the whole frame to zero), identifies table definitions, and checks echo payloads.
The closed form below was checked against the manual's step-by-step algorithm for
every (seed, byte) pair.
"""

from __future__ import annotations

#: Signature of zero bytes; the seed of every signature.
SEED = 0xAAAA


#: ROL8 (8-bit rotate left by one) of every byte.
_ROL8 = tuple(((b << 1) | (b >> 7)) & 0xFF for b in range(256))
#: The new low byte for every low byte L and every sum H + b (0..510, so no reduction
#: is needed in the loop): ``_ROWS[L][H + b] == (ROL8(L) + H + b) mod 256``.  One
#: lookup per byte instead of a lookup, two additions and a mask: 1.2-1.3x faster on
#: frames of real traffic (benchmarks/bench_signature.py, "row-bytes"); rows of
#: ``bytes`` (128 KiB in all) beat tuples of ints and a 2**17-entry state table, whose
#: size costs more in cache misses than it saves on distinct frames.
_ROWS = tuple(bytes((_ROL8[lo] + s) & 0xFF for s in range(511)) for lo in range(256))


def signature(data: bytes | bytearray | memoryview, seed: int = SEED) -> int:
    """CSI signature of ``data``, continuing from ``seed`` (a 16-bit signature).

    ``S' = (L << 8) | ((ROL8(L) + H + b) mod 256)`` for each byte b, where S = (H << 8) | L.
    """
    if not data:
        return seed
    hi, lo = (seed >> 8) & 0xFF, seed & 0xFF
    rows = _ROWS
    for b in data:
        hi, lo = lo, rows[lo][hi + b]
    return (hi << 8) | lo


def nullifier(sig: int) -> bytes:
    """The two bytes that, appended to data of signature ``sig``, make the signature 0."""
    hi, lo = sig >> 8, sig & 0xFF
    n1 = (-(_ROL8[lo] + hi)) & 0xFF
    n2 = (-lo) & 0xFF
    return bytes((n1, n2))
