"""A ready-made client session for command/reply instruments.

Most instruments answer each command with one reply and say nothing unasked (the
TDR100, a Tracer's meter port, Modbus, a Batlab's register reads).  For them a family
writes only what is its own -- how a request becomes bytes, how bytes become replies,
which reply answers which request, and which replies are the device's own errors --
by subclassing :class:`ReplySession`; when to resend and how long to persevere is
decided here, once, with the round trip learned as in :mod:`fieldlink.kit.rtt`:

- a try is resent after the adaptive deadline (the configured timeout until the
  first answer has been timed); each timeout doubles it until the next sample;
- only answers to a request sent once are timed (Karn's rule);
- a reply that fails its check (a CRC, a short frame: a :class:`ProtocolError` out
  of :meth:`ReplySession.feed`) is resent at once while tries remain, then raised --
  a corrupted reply never becomes a value;
- the exchange gives up ``(retries + 1) × timeout`` after its first try with a
  :class:`~fieldlink.errors.LinkTimeout` naming the request.

Conversations say ``reply = yield from ask(command)``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from fieldlink.errors import LinkTimeout, ProtocolError
from fieldlink.kit.rtt import MIN_RETRY_TIMEOUT, ExchangeStats, RoundTripEstimator

__all__ = ["Ask", "ReplyExchange", "ReplySession", "ask"]

log = logging.getLogger("fieldlink.kit.reply")

Req = TypeVar("Req")
Rep = TypeVar("Rep")


@dataclass(frozen=True, slots=True)
class Ask(Generic[Req]):
    """A step: send ``request`` and wait for its reply.

    ``timeout`` is the longest wait per try (None: the session's); ``retries`` the
    resends allowed (0 for a command that must not run twice, such as a clock set);
    ``one_way`` requests expect no reply.
    """

    request: Req
    timeout: float | None = None
    retries: int = 2
    one_way: bool = False


def ask(
    request: Any, *, timeout: float | None = None, retries: int = 2, one_way: bool = False
) -> Generator[Any, Any, Any]:
    """Send ``request`` and return its reply (``reply = yield from ask(cmd)``)."""
    return (yield Ask(request, timeout, retries, one_way))


class ReplySession(ABC, Generic[Req, Rep]):
    """The client side of a command/reply link.  Subclass it; see the module docstring.

    ``timeout`` is the longest wait for one try, in seconds.  A subclass that keeps
    state of its own (a decoder) extends ``__init__`` and calls ``super().__init__``.
    """

    #: Where ``--debug`` shows every frame in hex (``fieldlink.FAMILY.frames``); None: nowhere.
    frames: ClassVar[logging.Logger | None] = None

    def __init__(self, *, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self.rtt = RoundTripEstimator()
        self.stats = ExchangeStats()
        #: Replies decoded while no exchange waited for them (the device's chatter).
        self.unclaimed = 0

    @abstractmethod
    def encode(self, request: Req) -> bytes:
        """Wire bytes for ``request``."""

    @abstractmethod
    def feed(self, data: bytes) -> list[Rep | ProtocolError]:
        """Complete replies in ``data`` (partial ones kept); a damaged one as its error."""

    def matches(self, request: Req, reply: Rep) -> bool:
        """Whether ``reply`` answers ``request`` (default: any reply does)."""
        return True

    def check(self, request: Req, reply: Rep) -> Rep:
        """Raise the device's own error carried by ``reply``; else return it."""
        return reply

    def describe(self, request: Req) -> str:
        """``request`` in a few words, for messages."""
        return type(request).__name__

    def adaptive(self, request: Req) -> bool:
        """Whether ``request`` may be resent on the learned round trip (default: yes)."""
        return True

    def timeout_for(self, ask: Ask[Req]) -> float:
        """The longest wait for one try of ``ask``."""
        return self.timeout if ask.timeout is None else ask.timeout

    # --- the kit's Session protocol -----------------------------------------------------

    def exchange(
        self, request: Any, now: float, previous: Any | None = None, /
    ) -> ReplyExchange[Req, Rep]:
        if not isinstance(request, Ask):
            raise TypeError(f"a reply session is asked with Ask steps, not {type(request)}")
        return ReplyExchange(self, request, now)

    def wire(self, request: Req) -> bytes:
        """:meth:`encode`, traced to :attr:`frames`."""
        data = self.encode(request)
        if self.frames is not None and self.frames.isEnabledFor(logging.DEBUG):
            self.frames.debug("-> %s", data.hex(" "))
        return data

    def heard(self, data: bytes) -> list[Rep | ProtocolError]:
        """:meth:`feed`, traced to :attr:`frames`."""
        if data and self.frames is not None and self.frames.isEnabledFor(logging.DEBUG):
            self.frames.debug("<- %s", data.hex(" "))
        return self.feed(data)

    def receive(self, data: bytes) -> object:
        replies = self.heard(data)
        self.unclaimed += len(replies)
        return replies

    def take_outbox(self) -> bytes:
        return b""

    @property
    def max_in_flight(self) -> int:
        """One: a reply carries no transaction number to tell two requests' replies apart."""
        return 1


class ReplyExchange(Generic[Req, Rep]):
    """One :class:`Ask` and the wait for its reply (driven by :mod:`fieldlink.kit.drive`)."""

    def __init__(self, session: ReplySession[Req, Rep], ask: Ask[Req], now: float) -> None:
        self.session = session
        self.ask = ask
        self.tries = 0
        self._deadline = now
        self.sent_at = now
        self.first_sent_at = now
        self.give_up_at = now
        self._ceiling = session.timeout_for(ask)
        self._resend_now = False

    @property
    def deadline(self) -> float:
        return self._deadline

    @property
    def one_way(self) -> bool:
        return self.ask.one_way

    def start(self, now: float) -> bytes:
        session = self.session
        self.tries += 1
        if self.tries == 1:
            self.first_sent_at = now
            self.give_up_at = now + (max(self.ask.retries, 0) + 1) * self._ceiling
            if not self.ask.one_way:
                session.stats.exchanges += 1
        else:
            session.stats.resends += 1
        wait = self._ceiling
        if self.ask.retries > 0 and session.adaptive(self.ask.request):
            wait = session.rtt.timeout(self._ceiling)
        if now + wait > self.give_up_at:
            wait = max(self.give_up_at - now, min(MIN_RETRY_TIMEOUT, self._ceiling))
            self.give_up_at = max(self.give_up_at, now + wait)
        self.sent_at = now
        self._deadline = now + wait
        return session.wire(self.ask.request)

    def on_timeout(self, now: float) -> bytes:
        session = self.session
        if self._resend_now:  # a damaged reply, not a lost one: no backoff
            self._resend_now = False
            return self.start(now)
        session.stats.timeouts += 1
        session.stats.waited_out += max(now - self.sent_at, 0.0)
        session.rtt.timed_out()
        if now >= self.give_up_at:
            raise LinkTimeout(self._no_answer(now))
        log.info("no answer to %s, resending", session.describe(self.ask.request))
        return self.start(now)

    def cancel(self) -> None:
        """Nothing to forget: the session keeps no record of open requests."""

    def receive(self, data: bytes, now: float) -> Rep | None:
        if not data:  # one exchange at a time: no answer can have come by another way
            return None
        session = self.session
        request = self.ask.request
        for reply in session.heard(data):
            if isinstance(reply, ProtocolError):
                if self.tries <= self.ask.retries:
                    what = session.describe(request)
                    log.info("damaged reply to %s (%s), asking again", what, reply)
                    self._resend_now = True
                    self._deadline = now  # the driver resends at once through on_timeout
                    continue
                raise reply
            if not session.matches(request, reply):
                session.unclaimed += 1
                continue
            session.stats.answered += 1
            if self.tries == 1:
                session.rtt.sample(now - self.sent_at)
                session.stats.rtt_samples += 1
            return session.check(request, reply)
        return None

    def _no_answer(self, now: float) -> str:
        tries = f"{self.tries} {'try' if self.tries == 1 else 'tries'}"
        return (
            f"no answer to {self.session.describe(self.ask.request)} "
            f"({tries} in {now - self.first_sent_at:.3g} s)"
        )
