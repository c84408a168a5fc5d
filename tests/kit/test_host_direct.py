"""Direct output (kit.host.Connection.direct): a link without pacing or faults has its
answers written as they are worked out, with no queue or write task in between.

What must not change with it: the bytes and their order (answers, answers sent after
a delay, unsolicited output), and back-pressure: a link that holds bytes back (TCP
above its high-water mark, a pseudo-terminal nobody reads) is drained before the next
unit is answered, so a client that does not read stops being read from.  No assertion
here is about speed.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

import pytest

from fieldlink.kit.device import BasePort, Outgoing
from fieldlink.kit.host import Connection, EmulatorHost

BIG = 10_000


class _LinePort(BasePort):
    """Lines in; ``big`` is answered with BIG bytes, ``later`` with a delayed line and
    an immediate one, anything else echoed.  Says ``hello`` when a client connects."""

    def __init__(self) -> None:
        self.buffer = b""

    def frames(self, data: bytes) -> Sequence[bytes]:
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        return lines

    def answer(self, unit: bytes) -> Sequence[Outgoing]:
        if unit == b"big":
            return [Outgoing(b"B" * (BIG - 1) + b"\n")]
        if unit == b"later":
            return [Outgoing(b"late\n", 0.05), Outgoing(b"now\n")]
        return [Outgoing(unit + b"\n")]

    def opened(self) -> Sequence[Outgoing]:
        return [Outgoing(b"hello\n")]


class _Lines:
    def open_port(self, number: int) -> _LinePort:
        return _LinePort()

    def describe(self) -> str:
        return "lines"


def _address(host: EmulatorHost) -> tuple[str, int]:
    assert host.url is not None
    _, name, port = host.url.split(":")
    return name, int(port)


def _read_lines(sock: socket.socket, count: int) -> list[bytes]:
    data = b""
    while data.count(b"\n") < count:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data.split(b"\n")[:count]


@pytest.mark.parametrize(
    ("faults", "baud", "direct"),
    [(None, None, True), ("delay=0.001", None, False), (None, 1_000_000, False)],
)
def test_every_path_sends_the_same_lines_in_the_same_order(
    faults: str | None, baud: int | None, direct: bool
) -> None:
    """The unsolicited greeting first, then the answers in request order; a delayed
    answer somewhere after the one sent with it (where exactly depends on how fast the
    others are answered), each line whole."""
    requests = [b"q%d" % i for i in range(40)]
    host = EmulatorHost(_Lines(), faults=faults, baud=baud)
    with host.running() as emu, socket.create_connection(_address(emu), timeout=10) as sock:
        sock.sendall(b"\n".join([b"later", *requests]) + b"\n")
        got = _read_lines(sock, 1 + 1 + len(requests) + 1)
        (conn,) = emu.connections
        assert conn.direct is direct
    assert got.index(b"late") > got.index(b"now")
    got.remove(b"late")
    assert got == [b"hello", b"now", *requests]


@pytest.mark.parametrize("held_back", [True, False])
def test_a_direct_link_holding_bytes_back_is_drained_before_the_next_unit(
    held_back: bool,
) -> None:
    """The link's drain is awaited after an answer it could not take at once (and
    only then: a link that took everything costs no drain)."""
    events: list[tuple[str, object]] = []
    held = [0]

    def write(data: bytes) -> None:
        events.append(("write", data))
        held[0] += len(data) if held_back else 0

    async def drain() -> None:
        events.append(("drain", held[0]))
        held[0] = 0

    async def scenario() -> Connection:
        conn = Connection(EmulatorHost(_Lines()), 1, write, lambda: None, drain, lambda: held[0])
        assert conn.direct
        await conn.feed(b"a\nbig\nc\n")
        return conn

    conn = asyncio.run(scenario())
    if held_back:
        assert events == [
            ("write", b"a\n"),
            ("drain", 2),
            ("write", b"B" * (BIG - 1) + b"\n"),
            ("drain", BIG),
            ("write", b"c\n"),
            ("drain", 2),
        ]
    else:
        assert [kind for kind, _ in events] == ["write"] * 3
    assert conn.backlog == 0 and conn.units_in == conn.units_out == 3
    assert conn.bytes_out == 4 + BIG


def test_reading_resumes_after_a_read_of_several_units_and_a_hang_up_closes() -> None:
    """A read of several units is answered by a task with reading paused: the next
    request, sent once those answers are in, is still read and answered; a client that
    hangs up is closed and forgotten."""
    host = EmulatorHost(_Lines())
    with host.running() as emu, socket.create_connection(_address(emu), timeout=10) as sock:
        assert _read_lines(sock, 1) == [b"hello"]
        for round_ in range(3):
            batch = [b"r%d-%d" % (round_, i) for i in range(5)]
            sock.sendall(b"\n".join([*batch, b"big"]) + b"\n")
            assert _read_lines(sock, len(batch) + 1)[:-1] == batch
        sock.sendall(b"single\n")
        assert _read_lines(sock, 1) == [b"single"]
        (conn,) = emu.connections
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(10) == b""  # closed by the emulator after our end of stream
    assert conn.closed and conn.units_in == 3 * 6 + 1
