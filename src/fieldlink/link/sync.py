"""Blocking byte streams: TCP, UDP and serial behind one small interface.

Protocol drivers need exactly four things from a link (write, read what has
arrived, give up after a deadline, close) and must not care whether the bytes
travel over a socket or an RS-232 cable.  :class:`Link` is that contract; the
three transports below differ only in how they meet it.

``read`` returns as soon as *anything* has arrived (up to ``max_bytes``), because
framed protocols find frame boundaries themselves and waiting for a full buffer
would only add latency.  A negative ``timeout`` is treated as zero (poll once), so
a driver may pass ``deadline - now`` without checking the sign first.
"""

from __future__ import annotations

import contextlib
import math
import selectors
import socket
import threading
import time
from abc import ABC, abstractmethod
from typing import Any

import serial

from fieldlink.errors import LinkClosed, LinkError, LinkTimeout, LinkURLError, UsageError
from fieldlink.link.failures import connect_failure, serial_open_failure
from fieldlink.link.stream import Stream
from fieldlink.link.url import LinkURL, parse_url

#: Largest UDP payload; reading a datagram into anything smaller would truncate it.
_MAX_DATAGRAM = 65535


class Link(Stream, ABC):
    """An open, blocking byte stream.  Not for concurrent readers (one reader, one writer)."""

    def write(self, data: bytes) -> None:
        """Send all of ``data``; raise LinkTimeout if it cannot leave within the timeout."""
        data = self._outgoing(data)
        if data:
            self._write(data)

    def read(self, max_bytes: int = 4096, timeout: float | None = None) -> bytes:
        """Return 1..max_bytes bytes as soon as any arrive.

        Raises LinkTimeout if nothing arrives within ``timeout`` seconds (default:
        the link's timeout) and LinkClosed if the peer closed the stream.
        """
        wait = self._read_wait(max_bytes, timeout)
        return self._incoming(self._read(max_bytes, wait))

    def close(self) -> None:
        """Close the stream; safe to call twice, and from another thread to end a read."""
        if self._mark_closed():
            self._close()

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _broken(self, exc: BaseException) -> LinkClosed:
        if self._closed:
            return LinkClosed(f"{self.url} is closed")
        return LinkClosed(f"{self.url} broke while receiving: {exc}")

    @abstractmethod
    def _write(self, data: bytes) -> None: ...

    @abstractmethod
    def _read(self, max_bytes: int, wait: float) -> bytes: ...

    @abstractmethod
    def _close(self) -> None: ...


class _SocketLink(Link):
    """What TCP and UDP share: waiting for input, and closing under a blocked reader.

    Reads wait on a selector rather than on the socket's own timeout, so a reader's
    short poll never changes the deadline a concurrent writer runs under.  ``close()``
    from another thread shuts the socket down, which wakes the reader; the file
    descriptors are released by whichever of the two finishes last, because closing
    them while the reader still waits would cancel the wake-up and leave it hanging
    until its timeout.
    """

    def __init__(self, url: LinkURL, timeout: float, sock: socket.socket) -> None:
        super().__init__(url, timeout)
        self._sock = sock
        self._selector = selectors.DefaultSelector()
        self._selector.register(sock, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._reading = False
        self._released = False

    def _read(self, max_bytes: int, wait: float) -> bytes:
        with self._lock:
            self._check_open()
            self._reading = True
        try:
            return self._receive(max_bytes, wait)
        except (OSError, ValueError) as exc:  # ValueError: the selector closed under us
            raise self._broken(exc) from exc
        finally:
            with self._lock:
                self._reading = False
                if self._closed:
                    self._release()

    def _wait_readable(self, wait: float, asked: float | None = None) -> None:
        """Return once input (or end of stream) is waiting; LinkTimeout after ``wait`` s."""
        if not self._selector.select(wait):
            raise self._timed_out(wait if asked is None else asked)
        self._check_open()  # woken by close() rather than by the peer

    @abstractmethod
    def _receive(self, max_bytes: int, wait: float) -> bytes: ...

    def _close(self) -> None:
        with self._lock:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            if not self._reading:
                self._release()

    def _release(self) -> None:
        if not self._released:
            self._released = True
            self._selector.close()
            self._sock.close()


class TcpLink(_SocketLink):
    """A TCP connection, with Nagle off: request/response protocols send small packets."""

    def __init__(self, url: LinkURL, timeout: float) -> None:
        try:
            sock = socket.create_connection(url.endpoint(), timeout=timeout)
        except OSError as exc:
            raise connect_failure(url, exc, timeout) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().__init__(url, timeout, sock)  # the socket timeout now bounds sendall

    def _write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except TimeoutError:
            raise LinkTimeout(f"could not send to {self.url} within {self.timeout:g} s") from None
        except OSError as exc:
            raise LinkClosed(f"{self.url} broke while sending: {exc}") from exc

    def _receive(self, max_bytes: int, wait: float) -> bytes:
        self._wait_readable(wait)
        data = self._sock.recv(max_bytes)
        if not data:
            self._check_open()
            raise LinkClosed(f"{self.url} was closed by the peer")
        return data


class UdpLink(_SocketLink):
    """A connected UDP socket: one datagram per write, one datagram per read.

    A datagram larger than ``max_bytes`` is not truncated (the kernel would drop the
    rest): the remainder is returned by the following reads, so a stream consumer
    never loses bytes.  Empty datagrams carry nothing and are skipped.
    """

    def __init__(self, url: LinkURL, timeout: float) -> None:
        try:
            infos = socket.getaddrinfo(*url.endpoint(), type=socket.SOCK_DGRAM)
        except OSError as exc:
            raise connect_failure(url, exc, timeout) from exc
        failure: OSError = OSError("no usable address")
        for family, kind, proto, _, address in infos:
            sock = socket.socket(family, kind, proto)
            try:
                sock.connect(address)
            except OSError as exc:
                sock.close()
                failure = exc
                continue
            break
        else:
            raise connect_failure(url, failure, timeout)
        super().__init__(url, timeout, sock)
        self._pending = b""

    def _write(self, data: bytes) -> None:
        try:
            self._sock.send(data)
        except ConnectionRefusedError as exc:
            raise self._refused() from exc
        except OSError as exc:
            raise LinkError(f"cannot send {len(data)}-byte datagram to {self.url}: {exc}") from exc

    def _receive(self, max_bytes: int, wait: float) -> bytes:
        if not self._pending:
            self._pending = self._next_datagram(wait)
        data, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
        return data

    def _next_datagram(self, wait: float) -> bytes:
        deadline = time.monotonic() + wait
        while True:
            self._wait_readable(max(0.0, deadline - time.monotonic()), wait)
            try:
                datagram = self._sock.recv(_MAX_DATAGRAM)
            except ConnectionRefusedError as exc:
                raise self._refused() from exc
            self._check_open()
            if datagram:
                return datagram

    def _refused(self) -> LinkError:
        return LinkError(
            f"{self.url}: {self.url.address} answered 'port unreachable' — nothing is "
            "listening on that UDP port"
        )


class SerialLink(Link):
    """A serial port or pyserial URL, through ``serial.serial_for_url``.

    pyserial's ``read(n)`` waits for all n bytes; to return early with whatever has
    arrived we read one byte under the deadline, then take what else is already
    waiting.  pyserial applies a timeout change by reconfiguring the port (over
    rfc2217 that is a round trip), so the timeout is only touched when it changes.
    """

    def __init__(self, url: LinkURL, timeout: float) -> None:
        super().__init__(url, timeout)
        device = url.device or str(url)
        options: dict[str, Any] = {"timeout": timeout}
        if not device.lower().startswith("rfc2217://"):  # pyserial's rfc2217 refuses it
            options["write_timeout"] = timeout
        if url.baud is not None:
            options["baudrate"] = url.baud
        if url.bytesize is not None:
            options["bytesize"] = url.bytesize
        if url.parity is not None:
            options["parity"] = url.parity
        if url.stopbits is not None:
            options["stopbits"] = 1.5 if url.stopbits == 1.5 else int(url.stopbits)
        try:
            self._port = serial.serial_for_url(device, **options)
        except (ValueError, LookupError) as exc:  # pyserial's verdict on options or settings
            raise LinkURLError(f"pyserial rejected {url}: {exc!r}") from exc
        except ImportError as exc:  # e.g. cp2110:// without hidapi installed
            raise LinkError(f"cannot open {url}: pyserial needs a missing module ({exc})") from exc
        except (serial.SerialException, OSError) as exc:
            raise serial_open_failure(url, exc) from exc

    def _write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except serial.SerialTimeoutException:
            raise LinkTimeout(f"could not send to {self.url} within {self.timeout:g} s") from None
        except (serial.SerialException, OSError) as exc:
            raise LinkClosed(f"{self.url} broke while sending: {exc}") from exc

    def _read(self, max_bytes: int, wait: float) -> bytes:
        try:
            if self._port.timeout != wait:
                self._port.timeout = wait
            data = self._port.read(1)
            if data and max_bytes > 1:
                waiting = self._port.in_waiting
                if waiting:
                    data += self._port.read(min(waiting, max_bytes - 1))
        except (serial.SerialException, OSError) as exc:
            raise self._broken(exc) from exc
        if not data:
            self._check_open()  # a close() in another thread cancelled the read
            raise self._timed_out(wait)
        return bytes(data)

    def _close(self) -> None:
        cancel = getattr(self._port, "cancel_read", None)
        if cancel is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                cancel()  # wakes a read blocked in another thread
        with contextlib.suppress(serial.SerialException, OSError):
            self._port.close()


def open_link(url: str | LinkURL, *, timeout: float = 10.0) -> Link:
    """Open the byte stream ``url`` names; ``timeout`` bounds the connect and is the I/O default."""
    parsed = url if isinstance(url, LinkURL) else parse_url(url)
    check_timeout(timeout)
    if parsed.kind == "tcp":
        return TcpLink(parsed, timeout)
    if parsed.kind == "udp":
        return UdpLink(parsed, timeout)
    return SerialLink(parsed, timeout)


def check_timeout(timeout: float) -> None:
    """A link's default timeout must be a positive, finite number of seconds."""
    if not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
        raise UsageError(f"timeout must be a positive number of seconds, not {timeout!r}")
