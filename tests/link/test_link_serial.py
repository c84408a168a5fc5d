"""Serial links through pyserial: loop://, a real pseudo-terminal, and a missing device."""

from __future__ import annotations

import os
import socket
import sys
import termios
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from fieldlink.errors import LinkClosed, LinkError, LinkTimeout, LinkURLError
from fieldlink.link import Link, open_link, open_pty

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

# Bytes a cooked terminal would mangle: CR, LF, ^C, XON/XOFF, NUL, DEL, the PakBus sync byte.
AWKWARD = bytes([0x0D, 0x0A, 0x03, 0x11, 0x13, 0x00, 0x7F, 0xBD, 0x04, 0x1A])


def read_exactly(link: Link, n: int) -> bytes:
    data = b""
    while len(data) < n:
        data += link.read(n - len(data), timeout=5)
    return data


def read_fd_exactly(fd: int, n: int) -> bytes:
    data = b""
    while len(data) < n:
        data += os.read(fd, n - len(data))
    return data


def slave_attrs(path: str) -> list[Any]:
    """The terminal settings clients see (a Linux pty master has its own, unrelated ones)."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        return termios.tcgetattr(fd)
    finally:
        os.close(fd)


def test_loop_url_reads_back_what_was_written() -> None:
    with open_link("loop://", timeout=5) as link:
        link.write(b"\xbdhello\xbd")
        assert read_exactly(link, 7) == b"\xbdhello\xbd"


def test_loop_read_returns_early_with_what_is_there() -> None:
    with open_link("loop://", timeout=5) as link:
        link.write(b"abcdef")
        started = time.monotonic()
        assert link.read(4096, timeout=60) == b"abcdef"  # does not wait to fill 4096
        assert time.monotonic() - started < 20  # nor for the 60 s timeout
        link.write(b"0123456789")
        assert link.read(4) == b"0123"
        assert link.read(100) == b"456789"


def test_loop_read_timeout_and_poll() -> None:
    with open_link("loop://", timeout=60) as link:
        started = time.monotonic()
        with pytest.raises(LinkTimeout, match="loop://"):
            link.read(timeout=0.2)
        assert 0.15 <= time.monotonic() - started < 20  # not the link's 60 s
        with pytest.raises(LinkTimeout):
            link.read(timeout=0)
        link.write(b"z")
        assert link.read(timeout=0) == b"z"


def test_serial_url_with_pyserial_device_applies_baud_and_framing() -> None:
    with open_link("serial:loop://:4800:7E2", timeout=5) as link:
        port = link._port  # type: ignore[attr-defined]
        assert (port.baudrate, port.bytesize, port.parity, port.stopbits) == (4800, 7, "E", 2)
        link.write(b"ok")
        assert read_exactly(link, 2) == b"ok"


def test_pyserial_option_errors_are_link_errors_naming_the_url() -> None:
    with pytest.raises(LinkURLError, match="loop://"):
        open_link("loop://?logging=shouting")  # pyserial itself raises KeyError here
    with pytest.raises(LinkError, match=r"loop://\?colour=blue"):
        open_link("loop://?colour=blue")


def test_close_from_another_thread_ends_a_blocked_read() -> None:
    link = open_link("loop://", timeout=60)
    threading.Timer(0.1, link.close).start()
    started = time.monotonic()
    with pytest.raises(LinkClosed):
        link.read(timeout=60)
    assert time.monotonic() - started < 20  # not the 60 s read timeout


def test_missing_device_says_so() -> None:
    with pytest.raises(LinkError, match="no such serial device '/dev/ttyFIELDLINK-NONE9'"):
        open_link("serial:/dev/ttyFIELDLINK-NONE9:9600")


def test_socket_url_refused_names_the_url(free_tcp_port: int) -> None:
    with pytest.raises(LinkError, match=f"socket://127.0.0.1:{free_tcp_port}"):
        open_link(f"socket://127.0.0.1:{free_tcp_port}", timeout=2)


@posix_only
def test_pty_both_directions_through_the_slave_path() -> None:
    with open_pty(115200) as pair:
        assert pair.url == f"serial:{pair.slave_path}:115200"
        with open_link(f"serial:{pair.slave_path}:115200", timeout=5) as link:
            os.write(pair.master_fd, b"from-emulator" + AWKWARD)
            assert read_exactly(link, 13 + len(AWKWARD)) == b"from-emulator" + AWKWARD
            link.write(b"from-client" + AWKWARD)
            assert read_fd_exactly(pair.master_fd, 11 + len(AWKWARD)) == b"from-client" + AWKWARD


@posix_only
def test_pty_framing_from_the_url_reaches_the_terminal() -> None:
    # Linux ptys force 8 data bits and no parity, so only speed and stop bits can show.
    with open_pty(9600) as pair:
        assert not slave_attrs(pair.slave_path)[2] & termios.CSTOPB
        with open_link(f"serial:{pair.slave_path}:19200:8N2", timeout=5):
            attrs = slave_attrs(pair.slave_path)
            assert attrs[2] & termios.CSTOPB
            assert attrs[4] == attrs[5] == termios.B19200


@posix_only
def test_pty_starts_raw_with_the_requested_speed() -> None:
    with open_pty(57600) as pair:
        iflag, oflag, _, lflag, ispeed, ospeed, _ = slave_attrs(pair.slave_path)
        assert not lflag & (termios.ECHO | termios.ICANON | termios.ISIG)
        assert not iflag & (termios.ICRNL | termios.IXON)
        assert not oflag & termios.OPOST
        assert ispeed == ospeed == termios.B57600
        # raw: bytes written by the emulator are not echoed back to it
        os.write(pair.master_fd, b"abc\r\n")
        os.set_blocking(pair.master_fd, False)
        time.sleep(0.05)
        with pytest.raises(BlockingIOError):
            os.read(pair.master_fd, 100)


@posix_only
def test_pty_serves_successive_clients() -> None:
    with open_pty(9600) as pair:
        for n in range(2):
            with open_link(pair.url, timeout=5) as link:
                link.write(b"client%d" % n)
                assert read_fd_exactly(pair.master_fd, 7) == b"client%d" % n


@posix_only
def test_pty_closed_under_the_client_is_link_closed() -> None:
    pair = open_pty(9600)
    with open_link(pair.url, timeout=5) as link:
        pair.close()
        assert pair.closed
        with pytest.raises(LinkClosed):
            link.read(timeout=2)


def test_open_pty_rejects_a_bad_baud() -> None:
    from fieldlink.errors import UsageError

    with pytest.raises(UsageError):
        open_pty(0)


def test_socket_url_through_pyserial(
    tcp_server: Callable[[Callable[[socket.socket], None]], int],
) -> None:
    def echo(conn: socket.socket) -> None:
        while data := conn.recv(4096):
            conn.sendall(data)

    port = tcp_server(echo)
    with open_link(f"socket://127.0.0.1:{port}", timeout=5) as link:
        link.write(b"\xbd through pyserial \xbd")
        assert read_exactly(link, 20) == b"\xbd through pyserial \xbd"
