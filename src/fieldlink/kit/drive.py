"""Run a conversation over a real link: one blocking driver, one asyncio driver.

The conversation (a generator, see :mod:`fieldlink.kit.converse`) holds the protocol
logic; the family's session holds the matching and retry rules.  What is left here is
the I/O -- write, read until the deadline, feed, repeat -- and, for streaming
operations, handing emitted items to the caller as they arrive.  A plain request is
a window of one: sent, then waited for, by the same code that keeps several requests
in flight (:class:`~fieldlink.kit.converse.Send`, ``Take``, ``Drop``).  That logic is
written once, sans-I/O (:func:`_conversation` and :class:`_Steps`, which yield
:class:`_Write` and :class:`_Read` actions); the blocking and the asyncio driver only
carry the actions out on their link, so they cannot disagree.

``guard`` (a lock) is held around each exchange (each Send, each Take), not around a
whole operation, so a caller iterating over a collection may still call other
methods between items -- even with requests in flight, since the session hands each
answer to the exchange it belongs to.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import AsyncGenerator, Generator, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from fieldlink.errors import FieldlinkError, LinkTimeout, UsageError
from fieldlink.kit.converse import (
    Drop,
    Emit,
    Exchange,
    Instant,
    Now,
    Operation,
    Pause,
    Send,
    Session,
    Stream,
    Take,
)
from fieldlink.link import AsyncLink, Link

__all__ = ["run", "run_async", "stream", "stream_async"]

T = TypeVar("T")

#: Bytes asked of the link per read.
READ_SIZE = 4096


def _instant() -> Instant:
    return Instant(time.monotonic(), time.time())


# --- the logic, sans-I/O ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Write:
    data: bytes


@dataclass(frozen=True, slots=True)
class _Read:
    """Read what arrives within ``timeout`` s: sent back as bytes, or LinkTimeout thrown in."""

    timeout: float


#: One step's I/O, carried out under the guard: yields actions, returns the step's result.
_IO = Generator[_Write | _Read, Any, Any]


@dataclass(slots=True)
class _Pending:
    """An exchange in flight and, once it has come, its answer or its error."""

    exchange: Exchange
    answer: Any = None
    error: FieldlinkError | None = None

    @property
    def pending(self) -> bool:
        return self.answer is None and self.error is None

    def collect(self, now: float, data: bytes = b"") -> None:
        """Feed ``data`` (none: take what the session handed to the exchange meanwhile)."""
        if self.pending:
            try:
                self.answer = self.exchange.receive(data, now)
            except FieldlinkError as exc:
                self.error = exc

    def resend(self, now: float, target: _Pending) -> bytes:
        """The exchange's bytes for its deadline; giving up is kept for its turn, unless
        it is the one awaited now."""
        try:
            return self.exchange.on_timeout(now)
        except FieldlinkError as exc:
            if self is target:
                raise
            self.error = exc
            return b""


class _Steps:
    """Performs steps for one operation: its requests in flight, oldest first, and its
    previous exchange (for the session)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.previous: Exchange | None = None
        self.flight: deque[_Pending] = deque()

    def io(self, step: object) -> _IO:
        if isinstance(step, Pause):
            return self._idle(step.seconds)
        if isinstance(step, Emit):
            raise TypeError("an operation run for a result cannot yield Emit")
        if isinstance(step, Send):
            return self._send(step.request)
        if isinstance(step, Take):
            return self._take()
        if isinstance(step, Drop):
            return self._drop()
        return self._exchange(step)

    def abandon(self) -> None:
        """Forget every request in flight (an error, Drop, or the operation's end)."""
        while self.flight:
            self.flight.popleft().exchange.cancel()

    def _send(self, request: object) -> Generator[_Write | _Read, Any, _Pending | None]:
        if len(self.flight) >= self.session.max_in_flight:
            raise UsageError(
                f"at most {self.session.max_in_flight} request(s) may be in flight on this link"
            )
        ex = self.session.exchange(request, time.monotonic(), self.previous)
        self.previous = ex
        yield _Write(ex.start(time.monotonic()))
        if ex.one_way:
            return None
        pending = _Pending(ex)
        self.flight.append(pending)
        return pending

    def _exchange(self, request: object) -> _IO:
        pending = yield from self._send(request)
        if pending is None:
            return None
        answer = yield from self._wait(pending)
        self.flight.remove(pending)
        return answer

    def _take(self) -> _IO:
        if not self.flight:
            raise RuntimeError("Take with no request in flight")
        answer = yield from self._wait(self.flight[0])
        self.flight.popleft()
        return answer

    def _drop(self) -> _IO:
        self.abandon()
        yield from ()

    def _wait(self, target: _Pending) -> _IO:
        """Read until ``target`` is answered, resending any request in flight whose
        deadline passes; answers (and errors) of the others are kept for their turn."""
        while True:
            now = time.monotonic()
            for p in self.flight:
                p.collect(now)
            if target.error is not None:
                raise target.error
            if target.answer is not None:
                return target.answer
            waiting = [p for p in self.flight if p.pending]
            remaining = min(p.exchange.deadline for p in waiting) - time.monotonic()
            try:
                if remaining <= 0:
                    raise LinkTimeout("deadline passed")
                data = yield _Read(remaining)
            except LinkTimeout:
                for p in waiting:  # those the device did not ask us to wait longer for
                    if time.monotonic() >= p.exchange.deadline:
                        yield _Write(p.resend(time.monotonic(), target))
                continue
            target.collect(time.monotonic(), data)
            if reply := self.session.take_outbox():
                yield _Write(reply)

    def _idle(self, seconds: float) -> _IO:
        end = time.monotonic() + seconds
        while (remaining := end - time.monotonic()) > 0:
            try:
                data = yield _Read(remaining)
            except LinkTimeout:
                break
            self.session.receive(data)
            if reply := self.session.take_outbox():
                yield _Write(reply)
        return None


@dataclass(frozen=True, slots=True)
class _Guard:
    """Take (``held``) or give back the caller's lock: it is held around each exchange."""

    held: bool


_HOLD = _Guard(True)
_RELEASE = _Guard(False)

#: What a driver carries out: hand items over, take or give back the lock, write, read.
_Action = Emit[Any] | _Guard | _Write | _Read


def _conversation(
    session: Session, operation: Operation[Any], *, streaming: bool
) -> Generator[_Action, Any, Any]:
    """The whole operation as actions; a FieldlinkError the link raised is thrown in
    where it happened and reaches the operation, which may handle it."""
    steps = _Steps(session)
    try:
        step = next(operation)
        while True:
            if streaming and isinstance(step, Emit):
                yield step
                step = operation.send(None)
                continue
            if isinstance(step, Now):
                step = operation.send(_instant())
                continue
            yield _HOLD
            try:
                sent = yield from steps.io(step)
            except FieldlinkError as exc:
                yield _RELEASE
                steps.abandon()
                step = operation.throw(exc)
                continue
            yield _RELEASE
            step = operation.send(sent)
    except StopIteration as stop:
        return stop.value
    finally:
        steps.abandon()
        operation.close()


class _Actions:
    """Iterates over an operation's actions; the driver reports how each read or write
    went (:meth:`answer`, :meth:`fail`) before taking the next.  ``result`` is the
    operation's, once iteration has ended."""

    def __init__(self, session: Session, operation: Operation[Any], *, streaming: bool) -> None:
        self._actions = _conversation(session, operation, streaming=streaming)
        self._sent: Any = None
        self._error: FieldlinkError | None = None
        self.result: Any = None

    def __iter__(self) -> _Actions:
        return self

    def __next__(self) -> _Action:
        sent, error = self._sent, self._error
        self._sent = self._error = None
        try:
            if error is not None:
                return self._actions.throw(error)
            return self._actions.send(sent)
        except StopIteration as stop:
            self.result = stop.value
            raise StopIteration from None

    def answer(self, sent: Any) -> None:
        self._sent = sent

    def fail(self, error: FieldlinkError) -> None:
        self._error = error

    def close(self) -> None:
        self._actions.close()


# --- blocking ---------------------------------------------------------------------------------


def _drive(
    link: Link, session: Session, operation: Operation[Any], guard: Any, *, streaming: bool
) -> Generator[Any, None, Any]:
    lock = guard if guard is not None else contextlib.nullcontext()
    actions = _Actions(session, operation, streaming=streaming)
    with contextlib.closing(actions), contextlib.ExitStack() as held:
        for action in actions:
            if isinstance(action, Emit):
                yield from action.items
            elif isinstance(action, _Guard):
                if action.held:
                    held.enter_context(lock)
                else:
                    held.close()
            else:
                try:
                    if isinstance(action, _Read):
                        actions.answer(link.read(READ_SIZE, timeout=action.timeout))
                    else:
                        link.write(action.data)
                except FieldlinkError as exc:
                    actions.fail(exc)
    return actions.result


def run(link: Link, session: Session, operation: Operation[T], *, guard: Any = None) -> T:
    """Drive ``operation`` to completion over a blocking link and return its result."""
    driven = _drive(link, session, operation, guard, streaming=False)
    try:
        next(driven)  # never yields: the conversation does not stream
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    raise AssertionError("a conversation run for a result emitted items")


def stream(link: Link, session: Session, operation: Stream, *, guard: Any = None) -> Iterator[Any]:
    """Drive a streaming operation, yielding each item it emits as soon as it arrives.

    Abandoning the iterator closes the operation between exchanges, never in the
    middle of one.
    """
    yield from _drive(link, session, operation, guard, streaming=True)


# --- asyncio ----------------------------------------------------------------------------------


async def _drive_async(
    link: AsyncLink,
    session: Session,
    operation: Operation[Any],
    guard: Any,
    *,
    streaming: bool,
    result: list[Any],
) -> AsyncGenerator[Any, None]:
    """The asyncio twin of :func:`_drive` (an async generator returns nothing: the
    operation's result is appended to ``result``)."""
    lock = guard if guard is not None else contextlib.nullcontext()
    actions = _Actions(session, operation, streaming=streaming)
    with contextlib.closing(actions):
        async with contextlib.AsyncExitStack() as held:
            for action in actions:
                if isinstance(action, Emit):
                    for item in action.items:
                        yield item
                elif isinstance(action, _Guard):
                    await (held.enter_async_context(lock) if action.held else held.aclose())
                else:
                    try:
                        if isinstance(action, _Read):
                            actions.answer(await link.read(READ_SIZE, timeout=action.timeout))
                        else:
                            await link.write(action.data)
                    except FieldlinkError as exc:
                        actions.fail(exc)
    result.append(actions.result)


async def run_async(
    link: AsyncLink, session: Session, operation: Operation[T], *, guard: Any = None
) -> T:
    """Drive ``operation`` to completion over an asyncio link and return its result."""
    result: list[Any] = []
    async for _ in _drive_async(link, session, operation, guard, streaming=False, result=result):
        raise AssertionError("a conversation run for a result emitted items")
    return result[0]  # type: ignore[no-any-return]


def stream_async(
    link: AsyncLink, session: Session, operation: Stream, *, guard: Any = None
) -> AsyncGenerator[Any, None]:
    """Drive a streaming operation over an asyncio link, yielding items as they arrive."""
    return _drive_async(link, session, operation, guard, streaming=True, result=[])
