"""Conversations: device operations written once, as generators, for both drivers.

An operation that needs several exchanges (a table in many packets, a sweep of
multiplexer channels, a firmware image in pages) is a generator that yields *steps*
and is sent their results:

- a family's request object -- hand it to the family's :class:`Session`, which
  encodes it, matches the reply and decides when to resend; the reply comes back;
- :class:`Now` -- the driver's clock readings (:class:`Instant`) come back;
- :class:`Pause` -- wait this long, still answering the device's own chatter;
- :class:`Emit` -- items for whoever iterates over a streaming operation;
- :class:`Send`, :class:`Take`, :class:`Drop` -- several requests in flight: send
  without waiting, take the answers back oldest first, abandon the rest.

Several requests in flight (a *window*) let client, link and device work at once: on a
link with a 200 ms round trip, one request at a time leaves everything idle for most
of the collection.  Each request of the window is still an exchange of its own, with
its own match, deadline and resends by the session's rules; the session routes an
answer to whichever of its open exchanges it belongs to (PakBus by transaction
number), and :attr:`Session.max_in_flight` says how many it can tell apart (1 for an
instrument whose replies carry no transaction number).  An exchange's error (a
timeout, a device error) is thrown into the operation in its turn -- at the Take that
awaits it -- and abandons the rest of the window.

Errors of an exchange (a timeout, a device error) are thrown *into* the operation,
so one that knows better can catch them.  :mod:`fieldlink.kit.drive` runs the same
generator over a blocking or an asyncio link.  Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

__all__ = [
    "Drop",
    "Emit",
    "Exchange",
    "Instant",
    "Now",
    "Operation",
    "Pause",
    "Send",
    "Session",
    "Stream",
    "Take",
    "drop",
    "emit",
    "now",
    "pause",
    "send",
    "take",
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


@dataclass(frozen=True, slots=True)
class Send:
    """Put ``request`` in flight without waiting: a later :class:`Take` returns its answer.

    A one-way request is only written.  The driver refuses more than the session's
    :attr:`Session.max_in_flight` requests in flight at once.
    """

    request: Any


@dataclass(frozen=True, slots=True)
class Take:
    """Wait for the answer to the oldest request in flight and return it.

    Meanwhile the deadlines of every request in flight are kept: each is resent (or
    gives up) by its own exchange's rules, and answers to the younger ones are kept
    for the next Takes.
    """


@dataclass(frozen=True, slots=True)
class Drop:
    """Abandon every request in flight: their answers are ignored if they still come."""


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

    With several exchanges of one session in flight, the driver feeds each chunk to
    one of them; the session hands every answer to the exchange it belongs to, and
    ``receive(b"", now)`` then returns an answer that arrived that way (again on
    each call), or raises the error that did.
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

    def cancel(self) -> None:
        """The answer is no longer awaited (its window was abandoned): forget the request."""
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

    @property
    def max_in_flight(self) -> int:
        """How many requests may be in flight at once (1: answers cannot be told apart)."""
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


def send(request: Any) -> Generator[Any, Any, None]:
    """Put ``request`` in flight without waiting for its answer (see :class:`Send`)."""
    yield Send(request)


def take() -> Generator[Any, Any, Any]:
    """The answer to the oldest request in flight, once it has arrived."""
    return (yield Take())


def drop() -> Generator[Any, Any, None]:
    """Abandon every request in flight."""
    yield Drop()


def emit(items: Iterable[Y]) -> Generator[Any, Any, None]:
    """Hand ``items`` to the consumer of a streaming operation."""
    batch = tuple(items)
    if batch:
        yield Emit(batch)
