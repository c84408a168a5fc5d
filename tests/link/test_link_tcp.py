"""Blocking TCP links against a loopback server thread."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

import pytest

from fieldlink.errors import LinkClosed, LinkError, LinkTimeout, UsageError
from fieldlink.link import Link, open_link, parse_url

Start = Callable[[Callable[[socket.socket], None]], int]


def read_exactly(link: Link, n: int) -> bytes:
    data = b""
    while len(data) < n:
        data += link.read(n - len(data), timeout=5)
    return data


def echo(conn: socket.socket) -> None:
    while data := conn.recv(4096):
        conn.sendall(data)


def hold_until(event: threading.Event) -> Callable[[socket.socket], None]:
    def handler(conn: socket.socket) -> None:
        event.wait(10)

    return handler


def test_write_and_read_back(tcp_server: Start) -> None:
    port = tcp_server(echo)
    frame = bytes([0xBD, 0x00, 0xFF, 0x0D, 0x0A, 0xBD])
    with open_link(f"tcp:127.0.0.1:{port}", timeout=5) as link:
        link.write(frame)
        assert read_exactly(link, len(frame)) == frame
        link.write(b"second")
        assert read_exactly(link, 6) == b"second"


def test_accepts_parsed_url_and_tcp_double_slash_form(tcp_server: Start) -> None:
    port = tcp_server(echo)
    url = parse_url(f"tcp://127.0.0.1:{port}")
    with open_link(url, timeout=5) as link:
        assert link.url == url
        link.write(b"x")
        assert link.read(timeout=5) == b"x"


def test_read_returns_what_arrived_up_to_max_bytes(tcp_server: Start) -> None:
    sent = threading.Event()

    def send_ten(conn: socket.socket) -> None:
        conn.sendall(b"0123456789")
        sent.set()
        conn.recv(1)  # wait for the client to go away

    port = tcp_server(send_ten)
    with open_link(f"tcp:127.0.0.1:{port}", timeout=5) as link:
        sent.wait(5)
        first = link.read(4, timeout=5)
        assert first == b"0123"
        assert first + read_exactly(link, 6) == b"0123456789"


def test_read_timeout_raises_link_timeout(tcp_server: Start) -> None:
    release = threading.Event()
    port = tcp_server(hold_until(release))
    try:
        # A link timeout far above the read's: waiting it out instead is plain to see.
        with open_link(f"tcp:127.0.0.1:{port}", timeout=60) as link:
            started = time.monotonic()
            with pytest.raises(LinkTimeout, match=f"127.0.0.1:{port}"):
                link.read(timeout=0.2)
            elapsed = time.monotonic() - started
            assert 0.15 <= elapsed < 20
    finally:
        release.set()


def test_default_read_timeout_is_the_links(tcp_server: Start) -> None:
    release = threading.Event()
    port = tcp_server(hold_until(release))
    try:
        with open_link(f"tcp:127.0.0.1:{port}", timeout=0.2) as link:
            started = time.monotonic()
            with pytest.raises(LinkTimeout):
                link.read()
            assert time.monotonic() - started < 20
    finally:
        release.set()


def test_negative_timeout_polls(tcp_server: Start) -> None:
    release = threading.Event()

    def send_later(conn: socket.socket) -> None:
        release.wait(10)
        conn.sendall(b"late")
        conn.recv(1)

    port = tcp_server(send_later)
    with open_link(f"tcp:127.0.0.1:{port}", timeout=60) as link:
        started = time.monotonic()
        with pytest.raises(LinkTimeout):
            link.read(timeout=-60)  # a poll, not a 60 s wait
        assert time.monotonic() - started < 20
        release.set()
        assert read_exactly(link, 4) == b"late"


def test_peer_close_raises_link_closed_after_the_data(tcp_server: Start) -> None:
    def say_bye(conn: socket.socket) -> None:
        conn.sendall(b"bye")

    port = tcp_server(say_bye)
    with open_link(f"tcp:127.0.0.1:{port}", timeout=5) as link:
        assert read_exactly(link, 3) == b"bye"
        with pytest.raises(LinkClosed, match="closed by the peer"):
            link.read(timeout=5)


def test_refused_port_names_the_address(free_tcp_port: int) -> None:
    with pytest.raises(LinkError) as info:
        open_link(f"tcp:127.0.0.1:{free_tcp_port}", timeout=5)
    assert not isinstance(info.value, LinkTimeout)
    assert f"127.0.0.1:{free_tcp_port}" in str(info.value)
    assert "refused" in str(info.value)


def test_dns_failure_names_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> socket.socket:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "create_connection", fail)
    with pytest.raises(LinkError, match=r"cannot resolve host 'logger\.invalid'.*not known"):
        open_link("tcp:logger.invalid:6785")


def test_connect_timeout_is_link_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(*args: object, **kwargs: object) -> socket.socket:
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", hang)
    with pytest.raises(LinkTimeout, match=r"10\.9\.8\.7:6785 within 2 s"):
        open_link("tcp:10.9.8.7:6785", timeout=2)


def test_unreachable_names_address_and_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(*args: object, **kwargs: object) -> socket.socket:
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    with pytest.raises(LinkError, match=r"10\.9\.8\.7:6785.*Network is unreachable"):
        open_link("tcp:10.9.8.7:6785")


def test_closed_link_refuses_io_and_close_is_idempotent(tcp_server: Start) -> None:
    port = tcp_server(echo)
    link = open_link(f"tcp:127.0.0.1:{port}", timeout=5)
    link.close()
    link.close()
    assert link.closed
    with pytest.raises(LinkClosed):
        link.read()
    with pytest.raises(LinkClosed):
        link.write(b"x")


def test_close_from_another_thread_ends_a_blocked_read(tcp_server: Start) -> None:
    release = threading.Event()
    port = tcp_server(hold_until(release))
    try:
        link = open_link(f"tcp:127.0.0.1:{port}", timeout=60)
        threading.Timer(0.1, link.close).start()
        started = time.monotonic()
        with pytest.raises(LinkClosed):
            link.read(timeout=60)
        assert time.monotonic() - started < 20  # not the 60 s read timeout
    finally:
        release.set()


def test_bad_arguments_are_usage_errors(tcp_server: Start) -> None:
    with pytest.raises(UsageError, match="timeout"):
        open_link("tcp:127.0.0.1:1", timeout=0)
    port = tcp_server(echo)
    with open_link(f"tcp:127.0.0.1:{port}", timeout=5) as link, pytest.raises(UsageError):
        link.read(0)


def test_bad_url_is_a_link_url_error_before_any_connect() -> None:
    from fieldlink.errors import LinkURLError

    with pytest.raises(LinkURLError, match="expected tcp:HOST:PORT"):
        open_link("tcp:127.0.0.1")


def test_debug_log_shows_hex_both_ways(tcp_server: Start, caplog: pytest.LogCaptureFixture) -> None:
    port = tcp_server(echo)
    with (
        caplog.at_level(logging.DEBUG, logger="fieldlink.link"),
        open_link(f"tcp:127.0.0.1:{port}", timeout=5) as link,
    ):
        link.write(b"\xbd\x01\xfe")
        read_exactly(link, 3)
    messages = [r.getMessage() for r in caplog.records if r.name == "fieldlink.link"]
    assert any("tx" in m and "bd 01 fe" in m for m in messages)
    assert any("rx" in m and "bd 01 fe" in m for m in messages)


def test_no_log_records_when_debug_is_off(
    tcp_server: Start, caplog: pytest.LogCaptureFixture
) -> None:
    port = tcp_server(echo)
    with (
        caplog.at_level(logging.INFO, logger="fieldlink.link"),
        open_link(f"tcp:127.0.0.1:{port}", timeout=5) as link,
    ):
        link.write(b"abc")
        read_exactly(link, 3)
    assert not [r for r in caplog.records if r.name == "fieldlink.link"]
