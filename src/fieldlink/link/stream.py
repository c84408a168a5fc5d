"""What the blocking and the asyncio links do alike around each transport's own I/O.

:class:`~fieldlink.link.sync.Link` and :class:`~fieldlink.link.aio.AsyncLink` keep
one contract (see their modules), so everything but the transport's own writing,
reading and closing is the same for both and lives here once: the URL and default
deadline, the open/closed state, the checks before a write or a read, and the
traces of what moved.  Only the ``await`` differs, and that stays in the two classes.
"""

from __future__ import annotations

from fieldlink.errors import LinkClosed, LinkTimeout, UsageError
from fieldlink.link.trace import trace
from fieldlink.link.url import LinkURL


class Stream:
    """The state and checks of an open link, around its transport's I/O."""

    def __init__(self, url: LinkURL, timeout: float) -> None:
        self.url = url
        #: Default deadline, in seconds, for reads and writes.
        self.timeout = timeout
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self.url} {state}>"

    def _check_open(self) -> None:
        if self._closed:
            raise LinkClosed(f"{self.url} is closed")

    def _timed_out(self, wait: float) -> LinkTimeout:
        return LinkTimeout(f"nothing received from {self.url} within {wait:g} s")

    def _outgoing(self, data: bytes) -> bytes:
        """``data`` as the bytes to send (traced); empty when there is nothing to send."""
        self._check_open()
        data = bytes(data)
        if data:
            trace("tx", self.url, data)
        return data

    def _read_wait(self, max_bytes: int, timeout: float | None) -> float:
        """The seconds a read of ``max_bytes`` may wait: the link's timeout, or ``timeout``
        (a negative one meaning zero)."""
        self._check_open()
        if max_bytes < 1:
            raise UsageError(f"max_bytes must be at least 1, not {max_bytes}")
        return self.timeout if timeout is None else max(0.0, timeout)

    def _incoming(self, data: bytes) -> bytes:
        trace("rx", self.url, data)
        return data

    def _mark_closed(self) -> bool:
        """Mark the link closed (before the transport closes: a reader in another thread
        must see it); True if it was open, so that the transport closes only once."""
        was_open = not self._closed
        self._closed = True
        return was_open


__all__ = ["Stream"]
