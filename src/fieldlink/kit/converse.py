"""Conversations: device operations written once, as generators, for both drivers.

An operation that needs several exchanges (a table in many packets, a sweep of
multiplexer channels, a firmware image in pages) is a generator that yields *steps*
and is sent their results:

- a family's request object -- hand it to the family's :class:`Session`, which
  encodes it, matches the reply and decides when to resend; the reply comes back;
- :class:`Now` -- the driver's clock readings (:class:`Instant`) come back;
- :class:`Pause` -- wait this long, still answering the device's own chatter;
- :class:`Emit` -- items for whoever iterates over a streaming operation.

Errors of an exchange (a timeout, a device error) are thrown *into* the operation,
so one that knows better can catch them.  :mod:`fieldlink.kit.drive` runs the same
generator over a blocking or an asyncio link.  Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

__all__ = [
    "Emit",
    "Exchange",
    "Instant",
    "Now",
    "Operation",
    "Pause",
    "Session",
    "Stream",
    "emit",
    "now",
    "pause",
]

T = TypeVar("T")
Y = TypeVar("Y")


@dataclass(frozen=True, slots=True)
class Now:
    """Ask the driver for the current :class:`Instant`."""


@dataclass(frozen=True, slots=True)
class Instant:
    """A driver's clock readings: ``monotonic`` for intervals, ``wall`` (Unix seconds)."""

    monotonic: float
    wall: float


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait ``seconds`` before the next request, still answering the device's chatter."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Emit(Generic[Y]):
    """Items for the consumer of a streaming operation (see :func:`drive.stream`)."""

    items: tuple[Y, ...]


#: A conversation: yields steps (a family's requests, Now, Pause, Emit), is sent their
#: results, returns its own.
Operation = Generator[Any, Any, T]
#: A conversation whose result is a stream of items delivered with :class:`Emit`.
Stream = Generator[Any, Any, None]


class Exchange(Protocol):
    """One request and the wait for its answer, without I/O.

    A driver writes :meth:`start`'s bytes, feeds every chunk it reads to
    :meth:`receive` and calls :meth:`on_timeout` whenever :attr:`deadline` passes
    (writing the bytes it returns: a resend, or nothing for a grace period), until
    :meth:`receive` returns the result or one of them raises.
    """

    @property
    def deadline(self) -> float:
        """Monotonic time by which the answer should have arrived."""
        ...

    @property
    def one_way(self) -> bool:
        """True for a request that has no answer: the driver only writes :meth:`start`'s bytes."""
        ...

    def start(self, now: float) -> bytes: ...

    def receive(self, data: bytes, now: float) -> Any | None:
        """Feed bytes; the request's result once it is complete, else None."""
        ...

    def on_timeout(self, now: float) -> bytes:
        """Bytes to resend, or raise :class:`~fieldlink.errors.LinkTimeout` when out of patience."""
        ...


class Session(Protocol):
    """A family's client side of a link: what the drivers need from it.

    ``previous`` is the operation's previous exchange (PakBus continues a file
    download in the same transaction); most families ignore it.
    """

    def exchange(self, request: Any, now: float, previous: Any | None = None, /) -> Exchange:
        """Start waiting for ``request``'s answer (``previous``: the operation's last exchange)."""
        ...

    def receive(self, data: bytes) -> object:
        """Bytes that arrived while no exchange waits (during a Pause)."""
        ...

    def take_outbox(self) -> bytes:
        """Bytes the session wants sent on its own (answers to the device's chatter)."""
        ...


def now() -> Generator[Any, Any, Instant]:
    """The driver's current clock readings (``yield from now()``)."""
    reply = yield Now()
    if not isinstance(reply, Instant):
        raise TypeError(f"driver answered Now with {type(reply).__name__}")
    return reply


def pause(seconds: float) -> Generator[Any, Any, None]:
    """Wait ``seconds`` (nothing when it is not positive)."""
    if seconds > 0:
        yield Pause(seconds)


def emit(items: Iterable[Y]) -> Generator[Any, Any, None]:
    """Hand ``items`` to the consumer of a streaming operation."""
    batch = tuple(items)
    if batch:
        yield Emit(batch)
