"""Loopback servers for the link tests: each serves one client in a thread on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

Handler = Callable[[socket.socket], None]


@pytest.fixture
def tcp_server() -> Iterator[Callable[[Handler], int]]:
    """``start(handler) -> port``: accept one connection and run ``handler`` on it."""
    servers: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(handler: Handler) -> int:
        server = socket.create_server(("127.0.0.1", 0))
        servers.append(server)

        def serve() -> None:
            try:
                conn, _ = server.accept()
            except OSError:
                return  # closed before anyone connected
            with conn:
                handler(conn)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return int(server.getsockname()[1])

    yield start
    for server in servers:
        server.close()
    for thread in threads:
        thread.join(timeout=5)


@pytest.fixture
def udp_echo() -> Iterator[int]:
    """A UDP server on 127.0.0.1 that sends every datagram back, upper-cased."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            sock.sendto(data.upper(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(sock.getsockname()[1])
    stop.set()
    thread.join(timeout=5)
    sock.close()


def _unused_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def free_tcp_port() -> int:
    """A loopback TCP port nobody listens on (bound, noted, released)."""
    return _unused_port(socket.SOCK_STREAM)


@pytest.fixture
def free_udp_port() -> int:
    """A loopback UDP port nobody listens on."""
    return _unused_port(socket.SOCK_DGRAM)
