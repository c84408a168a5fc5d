"""Pacing to a baud rate follows a line clock (kit.host.Connection).

No assertion here is about speed: the line clock is arithmetic (where it stands after
so many bytes), and "never earlier than the line would deliver" is a lower bound that
sleeping guarantees however busy the machine is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from fieldlink.kit.device import BasePort, Outgoing
from fieldlink.kit.host import Connection, EmulatorHost
from fieldlink.link.throttle import bytes_per_second


class _Silent(BasePort):
    def frames(self, data: bytes) -> Sequence[bytes]:
        return [data]

    def answer(self, unit: bytes) -> Sequence[Outgoing]:
        return ()


class _Model:
    def open_port(self, number: int) -> _Silent:
        return _Silent()

    def describe(self) -> str:
        return "silent"


def _connection(baud: int, written: list[tuple[float, bytes]]) -> Connection:
    host = EmulatorHost(_Model(), baud=baud, name="silent")
    return Connection(host, 1, lambda data: written.append((time.monotonic(), data)), lambda: None)


@pytest.mark.parametrize("baud", [9600, 115_200])
def test_the_line_clock_advances_by_transmit_times_only(baud: int) -> None:
    """However late the event loop wakes up, the clock ends where the bytes end: the
    time to send N bytes is never more than N byte times after the line was free."""
    written: list[tuple[float, bytes]] = []
    byte_time = 1.0 / bytes_per_second(baud)
    size = 300 if baud == 9600 else 3000

    async def scenario() -> float:
        conn = _connection(baud, written)
        start = time.monotonic()
        await conn._put(b"x" * size, start)
        assert conn.line_free_at == pytest.approx(start + size * byte_time, abs=1e-9)
        return start

    start = asyncio.run(scenario())
    assert b"".join(chunk for _, chunk in written) == b"x" * size
    sent = 0
    for when, chunk in written:  # each chunk when its last byte would have arrived
        sent += len(chunk)
        assert when >= start + sent * byte_time - 1e-3


def test_an_answer_waits_for_the_request_on_a_half_duplex_line() -> None:
    written: list[tuple[float, bytes]] = []
    byte_time = 1.0 / bytes_per_second(9600)

    async def scenario() -> None:
        conn = _connection(9600, written)
        before = time.monotonic()
        await conn.feed(b"r" * 96)  # 0.1 s of line time
        after = time.monotonic()
        assert before + 96 * byte_time <= conn.line_free_at <= after + 96 * byte_time
        assert conn.bytes_in == 96
        free = conn.line_free_at
        await conn._put(b"a" * 10, before)  # ready before the request had arrived
        assert conn.line_free_at == pytest.approx(free + 10 * byte_time, abs=1e-9)
        assert written[0][0] >= free + 10 * byte_time - 1e-3
        assert conn.bytes_out == 10

    asyncio.run(scenario())


def test_an_idle_line_starts_when_the_answer_is_ready() -> None:
    """Line time not used is not banked: after a pause the clock restarts from the
    answer's ready time, it does not let a burst through at once."""
    written: list[tuple[float, bytes]] = []

    async def scenario() -> None:
        conn = _connection(9600, written)
        conn.line_free_at = time.monotonic() - 10.0  # idle for ten seconds
        ready = time.monotonic()
        await conn._put(b"z" * 20, ready)
        assert conn.line_free_at >= ready + 20 / bytes_per_second(9600) - 1e-9
        assert written[0][0] >= ready + 20 / bytes_per_second(9600) - 1e-3

    asyncio.run(scenario())


def test_without_a_baud_rate_nothing_is_paced() -> None:
    written: list[tuple[float, bytes]] = []

    async def scenario() -> None:
        host = EmulatorHost(_Model(), name="silent")
        conn = Connection(host, 1, lambda d: written.append((0.0, d)), lambda: None)
        await conn.feed(b"q" * 50)
        await conn._put(b"w" * 5000, time.monotonic())
        assert conn.line_free_at == 0.0 and conn.bytes_out == 5000

    asyncio.run(scenario())
    assert [len(d) for _, d in written] == [5000]
