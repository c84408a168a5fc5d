"""Run a conversation over a real link: one blocking driver, one asyncio driver.

The conversation (a generator, see :mod:`fieldlink.kit.converse`) holds the protocol
logic; the family's session holds the matching and retry rules.  What is left here is
only the I/O: write, read until the deadline, feed, repeat -- and, for streaming
operations, hand emitted items to the caller as they arrive.  The two halves of this
module mirror each other line for line so that a reader can check they agree.

``guard`` (a lock) is held around each exchange, not around a whole operation, so a
caller iterating over a collection may still call other methods between items.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, Iterator
from typing import Any, TypeVar

from fieldlink.errors import FieldlinkError, LinkTimeout
from fieldlink.kit.converse import Emit, Exchange, Instant, Now, Operation, Pause, Session, Stream
from fieldlink.link import AsyncLink, Link

__all__ = ["run", "run_async", "stream", "stream_async"]

T = TypeVar("T")

#: Bytes asked of the link per read.
READ_SIZE = 4096


def _instant() -> Instant:
    return Instant(time.monotonic(), time.time())


# --- blocking ---------------------------------------------------------------------------------


class _Runner:
    """Performs steps for one operation: remembers its previous exchange for the session."""

    def __init__(self, link: Link, session: Session, guard: Any) -> None:
        self.link = link
        self.session = session
        self.guard = guard if guard is not None else contextlib.nullcontext()
        self.previous: Exchange | None = None

    def perform(self, step: object) -> Any:
        if isinstance(step, Now):
            return _instant()
        if isinstance(step, Pause):
            with self.guard:
                self._idle(step.seconds)
            return None
        if isinstance(step, Emit):
            raise TypeError("an operation run for a result cannot yield Emit")
        with self.guard:
            return self._exchange(step)

    def _exchange(self, request: object) -> Any:
        ex = self.session.exchange(request, time.monotonic(), self.previous)
        self.previous = ex
        self.link.write(ex.start(time.monotonic()))
        if ex.one_way:
            return None
        while True:
            remaining = ex.deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise LinkTimeout("deadline passed")
                data = self.link.read(READ_SIZE, timeout=remaining)
            except LinkTimeout:
                if time.monotonic() < ex.deadline:  # the device asked us to wait meanwhile
                    continue
                self.link.write(ex.on_timeout(time.monotonic()))
                continue
            result = ex.receive(data, time.monotonic())
            if reply := self.session.take_outbox():
                self.link.write(reply)
            if result is not None:
                return result

    def _idle(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (remaining := end - time.monotonic()) > 0:
            try:
                data = self.link.read(READ_SIZE, timeout=remaining)
            except LinkTimeout:
                break
            self.session.receive(data)
            if reply := self.session.take_outbox():
                self.link.write(reply)


def run(link: Link, session: Session, operation: Operation[T], *, guard: Any = None) -> T:
    """Drive ``operation`` to completion over a blocking link and return its result."""
    runner = _Runner(link, session, guard)
    try:
        step = next(operation)
        while True:
            try:
                sent = runner.perform(step)
            except FieldlinkError as exc:
                step = operation.throw(exc)
                continue
            step = operation.send(sent)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        operation.close()


def stream(link: Link, session: Session, operation: Stream, *, guard: Any = None) -> Iterator[Any]:
    """Drive a streaming operation, yielding each item it emits as soon as it arrives.

    Abandoning the iterator closes the operation between exchanges, never in the
    middle of one.
    """
    runner = _Runner(link, session, guard)
    try:
        step = next(operation)
        while True:
            if isinstance(step, Emit):
                yield from step.items
                step = operation.send(None)
                continue
            try:
                sent = runner.perform(step)
            except FieldlinkError as exc:
                step = operation.throw(exc)
                continue
            step = operation.send(sent)
    except StopIteration:
        return
    finally:
        operation.close()


# --- asyncio ----------------------------------------------------------------------------------


class _AsyncRunner:
    """The asyncio twin of :class:`_Runner`."""

    def __init__(self, link: AsyncLink, session: Session, guard: Any) -> None:
        self.link = link
        self.session = session
        self.guard = guard if guard is not None else contextlib.nullcontext()
        self.previous: Exchange | None = None

    async def perform(self, step: object) -> Any:
        if isinstance(step, Now):
            return _instant()
        if isinstance(step, Pause):
            async with self.guard:
                await self._idle(step.seconds)
            return None
        if isinstance(step, Emit):
            raise TypeError("an operation run for a result cannot yield Emit")
        async with self.guard:
            return await self._exchange(step)

    async def _exchange(self, request: object) -> Any:
        ex = self.session.exchange(request, time.monotonic(), self.previous)
        self.previous = ex
        await self.link.write(ex.start(time.monotonic()))
        if ex.one_way:
            return None
        while True:
            remaining = ex.deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise LinkTimeout("deadline passed")
                data = await self.link.read(READ_SIZE, timeout=remaining)
            except LinkTimeout:
                if time.monotonic() < ex.deadline:  # the device asked us to wait meanwhile
                    continue
                await self.link.write(ex.on_timeout(time.monotonic()))
                continue
            result = ex.receive(data, time.monotonic())
            if reply := self.session.take_outbox():
                await self.link.write(reply)
            if result is not None:
                return result

    async def _idle(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (remaining := end - time.monotonic()) > 0:
            try:
                data = await self.link.read(READ_SIZE, timeout=remaining)
            except LinkTimeout:
                break
            self.session.receive(data)
            if reply := self.session.take_outbox():
                await self.link.write(reply)


async def run_async(
    link: AsyncLink, session: Session, operation: Operation[T], *, guard: Any = None
) -> T:
    """Drive ``operation`` to completion over an asyncio link and return its result."""
    runner = _AsyncRunner(link, session, guard)
    try:
        step = next(operation)
        while True:
            try:
                sent = await runner.perform(step)
            except FieldlinkError as exc:
                step = operation.throw(exc)
                continue
            step = operation.send(sent)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        operation.close()


async def stream_async(
    link: AsyncLink, session: Session, operation: Stream, *, guard: Any = None
) -> AsyncGenerator[Any, None]:
    """Drive a streaming operation over an asyncio link, yielding items as they arrive."""
    runner = _AsyncRunner(link, session, guard)
    try:
        step = next(operation)
        while True:
            if isinstance(step, Emit):
                for item in step.items:
                    yield item
                step = operation.send(None)
                continue
            try:
                sent = await runner.perform(step)
            except FieldlinkError as exc:
                step = operation.throw(exc)
                continue
            step = operation.send(sent)
    except StopIteration:
        return
    finally:
        operation.close()
