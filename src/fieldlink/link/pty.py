"""Pseudo-terminals, so an emulator can stand behind a real serial device path.

A client that only knows serial ports (a published PakBus tool, a terminal
program) can then be pointed at ``serial:/dev/pts/N:BAUD`` and talk to an
emulator exactly as it would to hardware.  The emulator serves on the master file
descriptor; the client opens the slave path.

We keep our own descriptor on the slave open for the pair's whole life: on Linux,
once the last slave descriptor closes, reads on the master fail with EIO, so
without it the emulator would see an error every time a client disconnects, and
could not serve the next one.  The pty starts in raw mode (no echo, no line
editing, no CR/LF translation) because the bytes are binary protocol frames;
the baud rate is recorded in the terminal settings for clients that ask, but a
pty moves bytes at memory speed, so emulators that want realistic timing throttle
themselves (see :mod:`fieldlink.link.throttle`).  Likewise Linux ptys force 8 data
bits and no parity whatever a client asks for, so framing such as 7E1 exists on a
pty only in the timing an emulator computes.  POSIX only.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

from fieldlink.errors import LinkError, UsageError


@dataclass(slots=True)
class PtyPair:
    """An open pseudo-terminal: ``master_fd`` for the emulator, ``slave_path`` for clients."""

    master_fd: int
    slave_path: str
    baud: int
    _slave_fd: int = field(repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        """The link URL a client opens to reach whoever serves the master side."""
        return f"serial:{self.slave_path}:{self.baud}"

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close both ends; clients still holding the slave then see the line drop."""
        if self._closed:
            return
        self._closed = True
        for fd in (self._slave_fd, self.master_fd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> PtyPair:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_pty(baud: int = 9600) -> PtyPair:
    """Create a raw-mode pseudo-terminal pair announcing ``baud``."""
    if not isinstance(baud, int) or baud < 1:
        raise UsageError(f"baud must be a positive whole number, not {baud!r}")
    try:
        import termios
        import tty
    except ImportError:
        raise LinkError("pseudo-terminals need a POSIX system (Linux, macOS, BSD)") from None
    try:
        master_fd, slave_fd = os.openpty()
    except OSError as exc:
        raise LinkError(f"cannot create a pseudo-terminal: {exc}") from exc
    try:
        tty.setraw(slave_fd)
        speed = getattr(termios, f"B{baud}", None)
        if speed is not None:  # a non-standard rate is only a label on a pty
            attrs = termios.tcgetattr(slave_fd)
            attrs[4] = attrs[5] = speed
            termios.tcsetattr(slave_fd, termios.TCSANOW, attrs)
        slave_path = os.ttyname(slave_fd)
    except (OSError, termios.error) as exc:
        os.close(slave_fd)
        os.close(master_fd)
        raise LinkError(f"cannot set up the pseudo-terminal: {exc}") from exc
    return PtyPair(master_fd=master_fd, slave_path=slave_path, baud=baud, _slave_fd=slave_fd)
