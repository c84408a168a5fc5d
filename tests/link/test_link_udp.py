"""Blocking UDP links against a loopback echo server (it answers upper-cased)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from fieldlink.errors import LinkClosed, LinkError, LinkTimeout
from fieldlink.link import open_link


def test_each_write_is_one_datagram_and_each_read_returns_one(udp_echo: int) -> None:
    with open_link(f"udp:127.0.0.1:{udp_echo}", timeout=5) as link:
        link.write(b"first")
        link.write(b"second")
        # datagram boundaries survive: two reads, two datagrams, in order
        assert link.read(timeout=5) == b"FIRST"
        assert link.read(timeout=5) == b"SECOND"


def test_datagram_longer_than_max_bytes_is_split_not_truncated(udp_echo: int) -> None:
    payload = bytes(range(97, 123)) * 40  # 1040 bytes
    with open_link(f"udp:127.0.0.1:{udp_echo}", timeout=5) as link:
        link.write(payload)
        parts = [link.read(300, timeout=5) for _ in range(4)]
        assert [len(p) for p in parts] == [300, 300, 300, 140]
        assert b"".join(parts) == payload.upper()


def test_read_timeout(udp_echo: int) -> None:
    with open_link(f"udp:127.0.0.1:{udp_echo}", timeout=60) as link:
        started = time.monotonic()
        with pytest.raises(LinkTimeout, match=r"within 0\.2 s"):
            link.read(timeout=0.2)
        assert 0.15 <= time.monotonic() - started < 20  # not the link's 60 s


def test_empty_datagrams_are_skipped() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    with server, open_link(f"udp:127.0.0.1:{server.getsockname()[1]}", timeout=5) as link:
        link.write(b"hi")
        _, peer = server.recvfrom(100)
        server.sendto(b"", peer)
        server.sendto(b"data", peer)
        assert link.read(timeout=5) == b"data"


def test_nothing_listening_is_reported(free_udp_port: int) -> None:
    with open_link(f"udp:127.0.0.1:{free_udp_port}", timeout=5) as link:
        link.write(b"anyone?")
        with pytest.raises(LinkError, match=f"127.0.0.1:{free_udp_port}.*port unreachable"):
            link.read(timeout=2)


def test_read_after_close(udp_echo: int) -> None:
    link = open_link(f"udp:127.0.0.1:{udp_echo}", timeout=5)
    link.close()
    with pytest.raises(LinkClosed):
        link.read()


def test_close_from_another_thread_ends_a_blocked_read(udp_echo: int) -> None:
    link = open_link(f"udp:127.0.0.1:{udp_echo}", timeout=60)
    threading.Timer(0.1, link.close).start()
    started = time.monotonic()
    with pytest.raises(LinkClosed):
        link.read(timeout=60)
    assert time.monotonic() - started < 20  # not the 60 s read timeout
