"""Serial line timing arithmetic (start + data + parity + stop bits per character)."""

from __future__ import annotations

import pytest

from fieldlink.errors import UsageError
from fieldlink.link import (
    bits_per_character,
    bytes_per_second,
    parse_url,
    transmit_seconds,
    url_transmit_seconds,
)


def test_9600_8n1_carries_960_bytes_per_second() -> None:
    assert bytes_per_second(9600) == pytest.approx(960.0)
    assert transmit_seconds(960, 9600) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("bytesize", "parity", "stopbits", "bits"),
    [
        (8, "N", 1, 10),  # start + 8 + stop
        (7, "E", 1, 10),  # start + 7 + parity + stop
        (8, "E", 1, 11),
        (8, "N", 2, 11),
        (7, "O", 2, 11),
        (5, "N", 1.5, 7.5),
        (8, "m", 1, 11),  # mark/space parity still occupy a bit
    ],
)
def test_bits_per_character(bytesize: int, parity: str, stopbits: float, bits: float) -> None:
    assert bits_per_character(bytesize, parity, stopbits) == pytest.approx(bits)


def test_worked_examples() -> None:
    # 115200 8N1: 11520 characters per second, so a 1 KiB swath takes ~88.9 ms
    assert transmit_seconds(1024, 115200) == pytest.approx(1024 / 11520)
    # 9600 8E1: 11 bits per character, 100 bytes take 1100/9600 s
    assert transmit_seconds(100, 9600, 8, "E", 1) == pytest.approx(1100 / 9600)
    assert transmit_seconds(0, 300) == 0


def test_from_a_serial_url() -> None:
    assert url_transmit_seconds(480, parse_url("serial:/dev/ttyS0:4800:8N2")) == pytest.approx(
        480 * 11 / 4800
    )
    with pytest.raises(UsageError, match="no baud rate"):
        url_transmit_seconds(1, parse_url("tcp:h:1"))


@pytest.mark.parametrize(
    "call",
    [
        lambda: bytes_per_second(0),
        lambda: bytes_per_second(-9600),
        lambda: bits_per_character(9),
        lambda: bits_per_character(8, "X"),
        lambda: bits_per_character(8, "N", 3),
        lambda: transmit_seconds(-1, 9600),
    ],
)
def test_nonsense_is_a_usage_error(call: object) -> None:
    with pytest.raises(UsageError):
        call()  # type: ignore[operator]
