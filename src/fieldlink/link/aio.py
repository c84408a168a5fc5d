"""asyncio byte streams with the same contract as the blocking :class:`~fieldlink.link.Link`.

The asyncio driver runs the same protocol conversations as the blocking one, so it
needs the same four operations with the same meaning: ``read`` returns as soon as
anything arrives, raises LinkTimeout when nothing does and LinkClosed at end of
stream.  TCP and UDP use asyncio's own transports.  Serial ports and pyserial URLs
run the blocking pyserial link in a worker thread (:func:`asyncio.to_thread`):
pyserial has no asyncio API that covers Windows, RFC 2217 and ``loop://`` alike, and
one thread per open port is cheap next to a serial line's speed, so simple and
correct beats a clever event-loop integration.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod

from fieldlink.errors import LinkClosed, LinkError, LinkTimeout
from fieldlink.link.failures import connect_failure
from fieldlink.link.stream import Stream
from fieldlink.link.sync import Link, check_timeout, open_link
from fieldlink.link.url import LinkURL, parse_url


class AsyncLink(Stream, ABC):
    """An open asyncio byte stream.  Not for concurrent readers (one reader, one writer)."""

    async def write(self, data: bytes) -> None:
        """Send all of ``data``; raise LinkTimeout if it cannot leave within the timeout."""
        data = self._outgoing(data)
        if data:
            await self._write(data)

    async def read(self, max_bytes: int = 4096, timeout: float | None = None) -> bytes:
        """Return 1..max_bytes bytes as soon as any arrive (LinkTimeout / LinkClosed otherwise).

        A negative ``timeout`` means zero: take what has already arrived, or time out.
        Cancelling a read loses no bytes; they are returned by the next read.
        """
        wait = self._read_wait(max_bytes, timeout)
        return self._incoming(await self._read(max_bytes, wait))

    async def close(self) -> None:
        """Close the stream; safe to call twice."""
        if self._mark_closed():
            await self._close()

    async def __aenter__(self) -> AsyncLink:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @abstractmethod
    async def _write(self, data: bytes) -> None: ...

    @abstractmethod
    async def _read(self, max_bytes: int, wait: float) -> bytes: ...

    @abstractmethod
    async def _close(self) -> None: ...


class AsyncTcpLink(AsyncLink):
    """A TCP connection through asyncio streams."""

    def __init__(
        self,
        url: LinkURL,
        timeout: float,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        super().__init__(url, timeout)
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, url: LinkURL, timeout: float) -> AsyncTcpLink:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(*url.endpoint())
        except (OSError, TimeoutError) as exc:
            raise connect_failure(url, exc, timeout) from exc
        return cls(url, timeout, reader, writer)

    async def _write(self, data: bytes) -> None:
        try:
            self._writer.write(data)
            async with asyncio.timeout(self.timeout):
                await self._writer.drain()
        except TimeoutError:
            raise LinkTimeout(f"could not send to {self.url} within {self.timeout:g} s") from None
        except OSError as exc:
            raise LinkClosed(f"{self.url} broke while sending: {exc}") from exc

    async def _read(self, max_bytes: int, wait: float) -> bytes:
        # StreamReader.read() takes nothing from its buffer until it returns, so a
        # timeout or a cancellation here never drops bytes.
        try:
            async with asyncio.timeout(wait):
                data = await self._reader.read(max_bytes)
        except TimeoutError:
            raise self._timed_out(wait) from None
        except OSError as exc:
            raise LinkClosed(f"{self.url} broke while receiving: {exc}") from exc
        if not data:
            self._check_open()
            raise LinkClosed(f"{self.url} was closed by the peer")
        return data

    async def _close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


class _DatagramInbox(asyncio.DatagramProtocol):
    """Queues what the transport delivers: datagrams, ICMP errors, and None for closed."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[bytes | OSError | None] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if data:  # an empty datagram carries nothing a stream reader could use
            self.inbox.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError):
            self.inbox.put_nowait(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.inbox.put_nowait(None)


class AsyncUdpLink(AsyncLink):
    """A connected UDP endpoint: one datagram per write, one datagram per read.

    As in the blocking link, a datagram longer than ``max_bytes`` is handed out over
    several reads rather than truncated.  Send errors (such as ICMP port
    unreachable) arrive asynchronously and are raised by the next read.
    """

    def __init__(
        self,
        url: LinkURL,
        timeout: float,
        transport: asyncio.DatagramTransport,
        protocol: _DatagramInbox,
    ) -> None:
        super().__init__(url, timeout)
        self._transport = transport
        self._inbox = protocol.inbox
        self._pending = b""

    @classmethod
    async def connect(cls, url: LinkURL, timeout: float) -> AsyncUdpLink:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_datagram_endpoint(
                    _DatagramInbox, remote_addr=url.endpoint()
                )
        except (OSError, TimeoutError) as exc:
            raise connect_failure(url, exc, timeout) from exc
        return cls(url, timeout, transport, protocol)

    async def _write(self, data: bytes) -> None:
        if self._transport.is_closing():
            raise LinkClosed(f"{self.url} is closed")
        self._transport.sendto(data)

    async def _read(self, max_bytes: int, wait: float) -> bytes:
        if not self._pending:
            self._pending = await self._next_datagram(wait)
        data, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
        return data

    async def _next_datagram(self, wait: float) -> bytes:
        try:
            async with asyncio.timeout(wait):
                item = await self._inbox.get()
        except TimeoutError:
            raise self._timed_out(wait) from None
        if item is None:
            self._inbox.put_nowait(None)  # stay closed for every later read
            raise LinkClosed(f"{self.url} is closed")
        if isinstance(item, ConnectionRefusedError):
            raise LinkError(
                f"{self.url}: {self.url.address} answered 'port unreachable' — nothing is "
                "listening on that UDP port"
            )
        if isinstance(item, OSError):
            raise LinkError(f"{self.url}: {item}")
        return item

    async def _close(self) -> None:
        self._transport.close()  # connection_lost() then wakes any read in another task


class ThreadedAsyncLink(AsyncLink):
    """A blocking :class:`Link` driven from asyncio through worker threads.

    A blocking read cannot be interrupted, so when the awaiting task is cancelled
    the read keeps running in its thread; its result is kept and handed to the next
    read, which is what makes cancellation lose no bytes.  That next read may
    therefore end with the earlier read's timeout rather than its own.
    """

    def __init__(self, link: Link) -> None:
        super().__init__(link.url, link.timeout)
        self._link = link
        self._in_flight: asyncio.Future[bytes] | None = None
        self._leftover = b""

    @classmethod
    async def connect(cls, url: LinkURL, timeout: float) -> ThreadedAsyncLink:
        opening = asyncio.ensure_future(asyncio.to_thread(open_link, url, timeout=timeout))
        try:
            link = await asyncio.shield(opening)
        except asyncio.CancelledError:
            # The port opens in its thread regardless; close it once it has.
            opening.add_done_callback(_close_if_opened)
            raise
        return cls(link)

    async def _write(self, data: bytes) -> None:
        await asyncio.to_thread(self._link.write, data)

    async def _read(self, max_bytes: int, wait: float) -> bytes:
        if not self._leftover:
            if self._in_flight is None:
                self._in_flight = asyncio.ensure_future(
                    asyncio.to_thread(self._link.read, max(max_bytes, 4096), wait)
                )
            in_flight = self._in_flight
            try:
                self._leftover = await asyncio.shield(in_flight)
            finally:
                if in_flight.done():
                    self._in_flight = None
        data, self._leftover = self._leftover[:max_bytes], self._leftover[max_bytes:]
        return data

    async def _close(self) -> None:
        await asyncio.to_thread(self._link.close)  # also wakes a read blocked in a thread
        if self._in_flight is not None:
            with contextlib.suppress(LinkError):
                await self._in_flight
            self._in_flight = None


def _close_if_opened(opening: asyncio.Future[Link]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()


async def open_async_link(url: str | LinkURL, *, timeout: float = 10.0) -> AsyncLink:
    """Open the byte stream ``url`` names; ``timeout`` bounds the connect and is the I/O default."""
    parsed = url if isinstance(url, LinkURL) else parse_url(url)
    check_timeout(timeout)
    if parsed.kind == "tcp":
        return await AsyncTcpLink.connect(parsed, timeout)
    if parsed.kind == "udp":
        return await AsyncUdpLink.connect(parsed, timeout)
    return await ThreadedAsyncLink.connect(parsed, timeout)
