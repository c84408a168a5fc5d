"""asyncio links: TCP and UDP on loopback, loop:// and a pty through the worker-thread link."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable

import pytest

from fieldlink.errors import LinkClosed, LinkError, LinkTimeout, UsageError
from fieldlink.link import AsyncLink, open_async_link, open_pty

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_exactly(link: AsyncLink, n: int) -> bytes:
    data = b""
    while len(data) < n:
        data += await link.read(n - len(data), timeout=5)
    return data


async def start_server(serve: Serve) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(4096):
        writer.write(data)
        await writer.drain()
    writer.close()


# --- TCP --------------------------------------------------------------------------------------


def test_tcp_write_and_read_back() -> None:
    async def main() -> None:
        server, port = await start_server(echo)
        async with server, await open_async_link(f"tcp:127.0.0.1:{port}", timeout=5) as link:
            await link.write(b"\xbd\x01\x02\xbd")
            assert await read_exactly(link, 4) == b"\xbd\x01\x02\xbd"

    asyncio.run(main())


def test_tcp_read_timeout_peer_close_and_closed_link() -> None:
    async def main() -> None:
        go = asyncio.Event()

        async def later_bye(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await go.wait()
            writer.write(b"bye")
            await writer.drain()
            writer.close()

        server, port = await start_server(later_bye)
        async with server:
            link = await open_async_link(f"tcp:127.0.0.1:{port}", timeout=60)
            started = time.monotonic()
            with pytest.raises(LinkTimeout, match=f"127.0.0.1:{port}"):
                await link.read(timeout=0.2)
            assert 0.15 <= time.monotonic() - started < 20  # not the link's 60 s
            go.set()
            assert await read_exactly(link, 3) == b"bye"
            with pytest.raises(LinkClosed, match="closed by the peer"):
                await link.read(timeout=5)
            await link.close()
            await link.close()
            with pytest.raises(LinkClosed):
                await link.write(b"x")

    asyncio.run(main())


def test_tcp_zero_timeout_returns_what_is_already_buffered() -> None:
    async def main() -> None:
        async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"ready")
            await writer.drain()
            await reader.read()

        server, port = await start_server(greet)
        async with server, await open_async_link(f"tcp:127.0.0.1:{port}", timeout=5) as link:
            # Until the loop has moved the bytes into the stream buffer, a zero timeout
            # finds nothing; then it returns them without waiting.
            deadline = time.monotonic() + 30
            while True:
                try:
                    got = await link.read(timeout=0)
                    break
                except LinkTimeout:
                    assert time.monotonic() < deadline, "the greeting never arrived"
                    await asyncio.sleep(0.01)
            assert got == b"ready"
            with pytest.raises(LinkTimeout):
                await link.read(timeout=-1)

    asyncio.run(main())


def test_tcp_cancelled_read_loses_nothing() -> None:
    async def main() -> None:
        go = asyncio.Event()

        async def send_on_cue(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await go.wait()
            writer.write(b"kept")
            await writer.drain()
            await reader.read()

        server, port = await start_server(send_on_cue)
        async with server, await open_async_link(f"tcp:127.0.0.1:{port}", timeout=5) as link:
            pending = asyncio.create_task(link.read(timeout=5))
            await asyncio.sleep(0.05)
            pending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await pending
            go.set()
            assert await read_exactly(link, 4) == b"kept"

    asyncio.run(main())


def test_tcp_close_ends_a_read_in_another_task() -> None:
    async def main() -> None:
        async def idle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()

        server, port = await start_server(idle)
        async with server:
            link = await open_async_link(f"tcp:127.0.0.1:{port}", timeout=60)
            reading = asyncio.create_task(link.read(timeout=60))
            await asyncio.sleep(0.05)
            await link.close()
            with pytest.raises(LinkClosed):
                await asyncio.wait_for(reading, 20)  # not the 60 s read timeout

    asyncio.run(main())


def test_tcp_refused_names_the_address(free_tcp_port: int) -> None:
    async def main() -> None:
        with pytest.raises(LinkError) as info:
            await open_async_link(f"tcp:127.0.0.1:{free_tcp_port}", timeout=5)
        assert f"127.0.0.1:{free_tcp_port}" in str(info.value)
        assert not isinstance(info.value, LinkTimeout)

    asyncio.run(main())


def test_bad_timeout_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        asyncio.run(open_async_link("loop://", timeout=-1))


# --- UDP --------------------------------------------------------------------------------------


def test_udp_datagrams_in_and_out(udp_echo: int) -> None:
    async def main() -> None:
        async with await open_async_link(f"udp:127.0.0.1:{udp_echo}", timeout=5) as link:
            await link.write(b"one")
            await link.write(b"two")
            assert await link.read(timeout=5) == b"ONE"
            assert await link.read(timeout=5) == b"TWO"
            big = b"xyz" * 500
            await link.write(big)
            parts = [await link.read(1000, timeout=5) for _ in range(2)]
            assert [len(p) for p in parts] == [1000, 500]
            assert b"".join(parts) == big.upper()
            with pytest.raises(LinkTimeout):
                await link.read(timeout=0.1)
        with pytest.raises(LinkClosed):
            await link.read()

    asyncio.run(main())


def test_udp_nothing_listening_is_reported(free_udp_port: int) -> None:
    async def main() -> None:
        async with await open_async_link(f"udp:127.0.0.1:{free_udp_port}", timeout=5) as link:
            await link.write(b"anyone?")
            with pytest.raises(LinkError, match="port unreachable"):
                await link.read(timeout=2)

    asyncio.run(main())


# --- serial through a worker thread -----------------------------------------------------------


def test_loop_url_round_trip_and_timeout() -> None:
    async def main() -> None:
        async with await open_async_link("loop://", timeout=5) as link:
            await link.write(b"\x00\xbd\xff")
            assert await read_exactly(link, 3) == b"\x00\xbd\xff"
            await link.write(b"abcdef")
            assert await link.read(2, timeout=5) == b"ab"
            assert await link.read(10, timeout=5) == b"cdef"
            with pytest.raises(LinkTimeout):
                await link.read(timeout=0.1)

    asyncio.run(main())


def test_loop_cancelled_read_loses_nothing() -> None:
    async def main() -> None:
        async with await open_async_link("loop://", timeout=5) as link:
            pending = asyncio.create_task(link.read(timeout=2))
            await asyncio.sleep(0.05)  # the blocking read is now waiting in its thread
            pending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await pending
            await link.write(b"kept")
            assert await read_exactly(link, 4) == b"kept"

    asyncio.run(main())


def test_loop_close_wakes_a_read_in_its_thread() -> None:
    async def main() -> None:
        link = await open_async_link("loop://", timeout=60)
        reading = asyncio.create_task(link.read(timeout=60))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await link.close()
        with pytest.raises(LinkClosed):
            await asyncio.wait_for(reading, 20)
        assert time.monotonic() - started < 20  # not the 60 s read timeout

    asyncio.run(main())


def test_missing_serial_device() -> None:
    with pytest.raises(LinkError, match="no such serial device"):
        asyncio.run(open_async_link("serial:/dev/ttyFIELDLINK-NONE9:9600"))


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_pty_through_the_async_link() -> None:
    async def main() -> None:
        with open_pty(115200) as pair:
            async with await open_async_link(pair.url, timeout=5) as link:
                os.write(pair.master_fd, b"\r\nhello\x03")
                assert await read_exactly(link, 8) == b"\r\nhello\x03"
                await link.write(b"back\r")
                got = b""
                while len(got) < 5:
                    got += await asyncio.to_thread(os.read, pair.master_fd, 5 - len(got))
                assert got == b"back\r"

    asyncio.run(main())
