"""The CSI signature and nullifier against the algorithm identities (V0) and every
captured or published frame in pakbus-vectors.md.

A genuine frame's unquoted bytes, nullifier included, have signature 0; so each
captured frame checks the implementation independently of our own encoder.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.pakbus.protocol.signature import SEED, nullifier, signature


def _hex(text: str) -> bytes:
    return bytes.fromhex(text)


def _rol8(x: int) -> int:
    return ((x << 1) | (x >> 7)) & 0xFF


def _manual_step(sig: int, byte: int) -> int:
    """One step exactly as BMP5 App. B states it (independent of the closed form)."""
    t = (sig * 2) & 0x1FF
    if t >= 0x100:
        t += 1
    return ((t + (sig >> 8) + byte) & 0xFF) | ((sig << 8) & 0xFFFF)


def _manual_signature(data: bytes, seed: int = 0xAAAA) -> int:
    sig = seed
    for b in data:
        sig = _manual_step(sig, b)
    return sig


def _manual_nullifier(sig: int) -> bytes:
    """The manual's iterative nullifier: N1 zeroes the low byte, feed it, then N2."""
    hi, lo = sig >> 8, sig & 0xFF
    n1 = (256 - ((_rol8(lo) + hi) % 256)) % 256
    s1 = _manual_step(sig, n1)
    h1, l1 = s1 >> 8, s1 & 0xFF
    n2 = (256 - ((_rol8(l1) + h1) % 256)) % 256
    return bytes((n1, n2))


#: V6: Get Programming Statistics response (137 bytes)
V6 = _hex(
    "A8 02 10 01 18 02 00 01 98 05 00 43 52 31 30 30 30 2E 53 74 64 2E 32 34 00 30 00 45 34 36 "
    "36 38 00 43 50 55 3A 43 52 31 30 30 30 5F 4C 41 42 4F 2E 43 52 31 00 01 43 50 55 3A 43 52 "
    "31 30 30 30 5F 4C 41 42 4F 2E 43 52 31 00 0B B1 2A 61 51 8E 00 98 96 80 43 50 55 3A 43 52 "
    "31 30 30 30 5F 4C 41 42 4F 2E 43 52 31 20 2D 2D 20 43 6F 6D 70 69 6C 65 64 20 69 6E 20 50 "
    "69 70 65 6C 69 6E 65 4D 6F 64 65 2E 0D 0A 00 D3 41 "
)
#: V9.1: File Receive response, first .TDF swath (529 bytes)
V9_1 = _hex(
    "A8 02 10 01 18 02 00 01 9D 05 00 00 00 00 00 01 53 74 61 74 75 73 00 00 00 00 01 0E 00 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 8B 4F 53 56 65 72 73 69 6F 6E 00 00 00 00 00 00 "
    "00 00 01 00 00 00 20 00 00 00 20 00 00 00 00 8B 4F 53 44 61 74 65 00 00 00 00 00 00 00 00 "
    "01 00 00 00 08 00 00 00 08 00 00 00 00 86 4F 53 53 69 67 6E 61 74 75 72 65 00 00 00 00 00 "
    "00 00 00 01 00 00 00 01 00 00 00 00 8B 53 65 72 69 61 6C 4E 75 6D 62 65 72 00 00 00 00 00 "
    "00 00 00 01 00 00 00 08 00 00 00 08 00 00 00 00 8B 52 65 76 42 6F 61 72 64 00 00 00 00 00 "
    "00 00 00 01 00 00 00 08 00 00 00 08 00 00 00 00 0B 53 74 61 74 69 6F 6E 4E 61 6D 65 00 00 "
    "00 00 00 00 00 00 01 00 00 00 40 00 00 00 40 00 00 00 00 06 50 61 6B 42 75 73 41 64 64 72 "
    "65 73 73 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 8B 50 72 6F 67 4E 61 6D 65 00 "
    "00 00 00 00 00 00 00 01 00 00 00 40 00 00 00 40 00 00 00 00 8E 53 74 61 72 74 54 69 6D 65 "
    "00 00 00 64 61 74 65 00 00 00 00 00 01 00 00 00 01 00 00 00 00 86 52 75 6E 53 69 67 6E 61 "
    "74 75 72 65 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 86 50 72 6F 67 53 69 67 6E "
    "61 74 75 72 65 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 89 42 61 74 74 65 72 79 "
    "00 00 00 56 6F 6C 74 73 00 00 00 00 00 01 00 00 00 01 00 00 00 00 89 50 61 6E 65 6C 54 65 "
    "6D 70 00 00 00 44 65 67 43 00 00 00 00 00 01 00 00 00 01 00 00 00 00 06 57 61 74 63 68 64 "
    "6F 67 45 72 72 6F 72 73 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 89 4C 69 74 68 "
    "69 75 6D 42 61 74 74 65 72 79 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 06 4C 6F "
    "77 31 32 56 43 6F 75 6E 74 00 00 00 00 00 00 00 00 7E 4B "
)
#: V12: DevConfig Get Settings response (549 bytes)
V12 = _hex(
    "A8 02 10 01 08 02 00 01 8F 05 01 00 0C 05 00 01 00 00 40 0E 43 52 31 30 30 30 2E 53 74 64 "
    "2E 32 34 00 00 01 40 04 45 00 12 3C 00 02 00 05 4C 41 42 4F 00 00 03 00 02 00 01 00 04 00 "
    "06 00 00 00 00 00 00 00 56 00 04 FF FF FF FF 00 05 00 01 00 00 06 00 02 00 32 00 53 00 00 "
    "00 07 00 04 FF FF 6A 00 00 08 00 04 FF FE 3E 00 00 49 00 04 00 01 C2 00 00 0C 00 04 00 00 "
    "00 00 00 0D 00 04 00 00 00 00 00 0E 00 04 00 00 00 00 00 0F 00 04 00 00 00 00 00 11 00 02 "
    "00 00 00 12 00 02 00 00 00 14 00 02 00 00 00 15 00 02 00 00 00 4A 00 02 00 00 00 4B 00 02 "
    "00 00 00 16 00 02 00 00 00 17 00 02 00 00 00 18 00 02 00 00 00 19 00 02 00 00 00 1B 00 02 "
    "00 00 00 1C 00 02 00 00 00 1E 00 02 00 00 00 1F 00 02 00 00 00 4D 00 02 00 00 00 4E 00 02 "
    "00 00 00 20 00 02 00 00 00 21 00 02 00 00 00 22 00 02 00 00 00 23 00 02 00 00 00 25 00 00 "
    "00 26 00 00 00 28 00 00 00 29 00 00 00 50 00 00 00 51 00 00 00 2A 00 00 00 2B 00 00 00 2C "
    "00 00 00 2D 00 00 00 2F 00 00 00 30 40 07 01 08 02 08 02 13 88 00 37 00 04 00 00 00 00 00 "
    "32 00 00 00 54 00 01 00 00 31 00 02 03 E8 00 3D 00 05 00 00 00 00 00 00 33 00 08 30 2E 30 "
    "2E 30 2E 30 00 00 35 00 0E 32 35 35 2E 32 35 35 2E 32 35 35 2E 30 00 00 34 00 08 30 2E 30 "
    "2E 30 2E 30 00 00 59 00 08 30 2E 30 2E 30 2E 30 00 00 5B 00 0E 32 35 35 2E 32 35 35 2E 32 "
    "35 35 2E 30 00 00 5A 00 08 30 2E 30 2E 30 2E 30 00 00 42 00 08 00 00 00 00 00 00 00 00 00 "
    "38 00 15 00 30 2E 30 2E 30 2E 30 00 00 00 00 00 43 4F 4E 4E 45 43 54 00 00 36 00 02 1A 81 "
    "00 41 00 00 00 55 00 01 00 00 3F 00 02 00 50 00 40 00 02 00 15 00 3A 00 0C 61 6E 6F 6E 79 "
    "6D 6F 75 73 00 2A 00 00 3C 00 01 FF 00 57 00 02 00 00 00 58 00 03 00 00 00 00 39 00 03 00 "
    "00 00 00 3B 40 01 00 5D 1B "
)

#: Unquoted bytes (header ... nullifier) of every captured or published frame.
CAPTURED = {
    # V2: PyCampbellCR1000's Hello written to a real CR1000 (sync bytes removed).
    "V2": _hex("90 01 58 02 00 01 08 02 09 01 00 02 07 08 F6 86"),
    "V3.1": _hex("A8 02 10 01 08 02 00 01 89 01 00 01 FF FF 6C 75"),
    "V3.2": _hex("A8 02 10 01 08 02 00 01 89 01 00 02 07 08 24 56"),
    "V3.3": _hex("A8 02 10 01 08 02 00 01 89 02 00 01 FF FF 24 57"),
    "V4": _hex("EF FF 10 01 0F FF 00 01 0E 00 DD F0"),
    "V6": V6,
    "V7": _hex("A8 02 10 01 18 02 00 01 97 05 00 2A 72 73 0A 3B 02 33 80 8D 6D"),
    "V8": _hex("A8 02 10 01 18 02 00 01 9D 05 0D 00 00 00 6C 8E 14"),
    "V9.1": V9_1,
    # V9.2: V9.1 with TranNbr 6 and nullifier 2A 3E.
    "V9.2": V9_1[:9] + b"\x06" + V9_1[10:-2] + _hex("2A 3E"),
    "V12": V12,
    "V15.1": _hex("90 01 0F FE 71 D2"),
    "V15.2": _hex("AF FE 00 01 5A 89"),
    "V16.1": _hex("A0 01 4F FE 10 01 0F FE 17 17 00 00 00 00 00 00 00 00 00 00 B2 B3"),
    "V16.2": _hex("AF FE 00 01 1F FE 00 01 97 17 00 1B FA 2A 61 C8 00 00 00 04 FA"),
    "V17.1": _hex(
        "A0 01 70 04 10 01 00 04 1D 1D 00 00 43 50 55 3A 44 65 66 2E 74 64 66 00 00 00 00 00 "
        "00 00 80 27 EA"
    ),
    "V17.2": _hex(
        "A0 04 00 01 10 04 00 01 9D 1D 00 00 00 00 00 01 53 74 61 74 75 73 00 00 00 00 01 0C "
        "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 8B 4F 53 76 65 72 73 69 6F 6E 00 00 "
        "00 00 00 00 00 00 01 00 00 00 08 00 00 00 08 00 00 00 00 8B 4F 53 44 61 74 65 00 00 "
        "00 00 00 00 00 00 01 00 00 00 0A 00 00 00 0A 00 00 00 00 8B 50 72 6F 67 4E 61 6D 65 "
        "00 00 00 00 00 00 00 00 01 00 00 00 10 00 00 00 10 00 00 00 00 95 50 72 6F 67 53 69 "
        "67 00 00 F1 67"
    ),
    "V18": _hex("A0 01 70 04 10 01 00 04 09 09 00 00 05 00 03 43 15 00 00 00 3C 00 00 C7 DF"),
    "V19.1": _hex("90 01 0F FC 75 D4"),
    "V19.2": _hex("A0 01 6F FC 00 01 0F FC 09 D9 01 02 FF FF DE 86"),
    # V21.1 / V21.2 (synthetic, quoting): the unquoted content plus the stated nullifier.
    "V21.1": _hex(
        "A0 01 9F FE 10 01 0F FE 1B 2A 00 00 50 75 62 6C 69 63 00 09 53 65 74 70 74 00 00 01 "
        "BD CC CC CD EF 40"
    ),
    "V21.2": _hex(
        "A0 01 9F FE 10 01 0F FE 1B 05 00 00 50 75 62 6C 69 63 00 09 53 65 74 70 74 00 00 01 "
        "BD CC CC CD B7 BD"
    ),
}


def test_captured_lengths_match_the_vectors_file() -> None:
    # Guards the transcription of the long vectors.
    assert len(V6) == 137
    assert len(V9_1) == 529
    assert len(V12) == 549


@pytest.mark.parametrize("vector", sorted(CAPTURED))
def test_every_captured_frame_has_signature_zero(vector: str) -> None:
    assert signature(CAPTURED[vector]) == 0


@pytest.mark.parametrize("vector", sorted(CAPTURED))
def test_nullifier_reproduces_each_captured_nullifier(vector: str) -> None:
    frame = CAPTURED[vector]
    assert nullifier(signature(frame[:-2])) == frame[-2:]


@pytest.mark.parametrize("vector", ["V3.2", "V6", "V12"])
def test_any_single_byte_change_breaks_the_signature(vector: str) -> None:
    frame = bytearray(CAPTURED[vector])
    for i in range(0, len(frame), max(1, len(frame) // 40)):
        damaged = bytearray(frame)
        damaged[i] ^= 0x01
        assert signature(damaged) != 0, f"flip at {i} went unnoticed"


# --- V0: algorithm identities -----------------------------------------------------------------


def test_signature_of_nothing_is_the_seed() -> None:
    assert SEED == 0xAAAA
    assert signature(b"") == 0xAAAA


def test_pycr_nullifier_example() -> None:
    # V0: V8 with its first byte changed from 0xA8 to 0xD7 -> signature 0x9D98, nullifier "2h".
    changed = b"\xd7" + CAPTURED["V8"][1:]
    assert signature(changed) == 0x9D98
    assert nullifier(0x9D98) == b"2h"


def test_closed_form_equals_manual_step_for_every_seed() -> None:
    # The vectors file checked all 65 536 x 256 pairs; every seed with a spread of
    # bytes (including the rotate's carry cases) keeps this test fast.
    for seed in range(0x10000):
        for byte in (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF):
            assert signature(bytes((byte,)), seed) == _manual_step(seed, byte)


def test_closed_form_equals_manual_step_for_every_byte() -> None:
    for seed in (0x0000, 0x00FF, 0x0080, 0x7F7F, 0xAAAA, 0xFFFF, 0x1234):
        for byte in range(256):
            assert signature(bytes((byte,)), seed) == _manual_step(seed, byte)


def test_nullifier_equals_manual_iteration_and_zeroes_every_signature() -> None:
    for sig in range(0x10000):
        null = nullifier(sig)
        assert null == _manual_nullifier(sig)
        assert signature(null, sig) == 0


@given(st.binary(max_size=300))
def test_signature_equals_manual_algorithm(data: bytes) -> None:
    assert signature(data) == _manual_signature(data)


@given(st.binary(max_size=200), st.binary(max_size=200))
def test_signature_continues_from_a_partial_seed(head: bytes, tail: bytes) -> None:
    assert signature(head + tail) == signature(tail, signature(head))


@given(st.binary(max_size=1010))
def test_appending_the_nullifier_gives_zero(data: bytes) -> None:
    assert signature(data + nullifier(signature(data))) == 0


def test_signature_accepts_bytearray_and_memoryview() -> None:
    frame = CAPTURED["V3.2"]
    assert signature(bytearray(frame)) == signature(memoryview(frame)) == 0


def _plain_loop(data: bytes, seed: int) -> int:
    """The closed form of the module docstring, byte by byte."""
    hi, lo = seed >> 8, seed & 0xFF
    for b in data:
        hi, lo = lo, (_rol8(lo) + hi + b) & 0xFF
    return (hi << 8) | lo


@given(st.binary(max_size=600), st.integers(0, 0xFFFF))
def test_signature_equals_the_closed_form_and_the_manual_from_any_seed(
    data: bytes, seed: int
) -> None:
    assert signature(data, seed) == _plain_loop(data, seed) == _manual_signature(data, seed)


def test_every_entry_of_the_step_table_is_the_manual_step() -> None:
    """The module's table holds one entry per low byte L and sum H + b (0..510); each
    is reached here by one byte from one seed and checked against the manual, so every
    (seed, byte) pair is right (the step depends on H and b only through H + b)."""
    for lo in range(256):
        for total in range(511):
            hi = min(total, 255)
            seed = (hi << 8) | lo
            assert signature(bytes((total - hi,)), seed) == _manual_step(seed, total - hi)


def test_signature_equals_the_closed_form_on_frames_of_every_size() -> None:
    """Random frames up to the largest PakBus frame, from random seeds (as traffic)."""
    rng = random.Random(14)
    for size in [*range(0, 40), 529, 998, 1010, *[rng.randrange(1, 1011) for _ in range(200)]]:
        data, seed = rng.randbytes(size), rng.randrange(0x10000)
        assert signature(data, seed) == _plain_loop(data, seed)
