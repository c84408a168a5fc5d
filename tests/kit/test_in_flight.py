"""Several requests in flight (kit.converse Send/Take/Drop) through both drivers.

A toy tagged protocol -- ``ASK id n`` answered ``ANS id 2n`` (``ERR id`` for a
negative n), in order, as a logger queues them -- with a session that routes each
answer to the open exchange of its id, as PakBus routes by TranNbr.  The driver core
is family-independent: everything below besides the toy is shipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from fieldlink.errors import DeviceError, LinkTimeout, UsageError
from fieldlink.kit import drive
from fieldlink.kit.converse import Operation, drop, send, take
from fieldlink.kit.device import BasePort, Outgoing
from fieldlink.kit.host import EmulatorHost
from fieldlink.link import open_async_link, open_link

# --- the toy: device ------------------------------------------------------------------------


@dataclass
class Tagged:
    received: int = 0

    def open_port(self, number: int) -> TaggedPort:
        return TaggedPort(self)

    def describe(self) -> str:
        return "a toy instrument that answers tagged questions in order"


class TaggedPort(BasePort):
    def __init__(self, model: Tagged) -> None:
        self.model = model
        self.buffer = b""

    def frames(self, data: bytes) -> Sequence[bytes]:
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        return [line for line in lines if line]

    def answer(self, unit: bytes) -> Sequence[Outgoing]:
        _, tag, n = unit.split()
        self.model.received += 1
        if int(n) < 0:
            return [Outgoing(b"ERR %s\n" % tag)]
        return [Outgoing(b"ANS %s %d\n" % (tag, 2 * int(n)))]


# --- the toy: client session ----------------------------------------------------------------


@dataclass
class Ask:
    n: int


class TaggedExchange:
    def __init__(self, session: TaggedSession, ask: Ask, tag: int, now: float) -> None:
        self.session, self.ask, self.tag = session, ask, tag
        self.deadline = now
        self.give_up_at = now + 3 * session.timeout
        self.answer: int | None = None
        self.error: DeviceError | None = None
        self.cancelled = False
        session.open[tag] = self

    one_way = False

    def start(self, now: float) -> bytes:
        self.deadline = now + self.session.timeout
        self.session.sent += 1
        self.session.most_open = max(self.session.most_open, len(self.session.open))
        return b"ASK %d %d\n" % (self.tag, self.ask.n)

    def receive(self, data: bytes, now: float) -> int | None:
        self.session.receive(data)
        if self.error is not None:
            raise self.error
        return self.answer

    def on_timeout(self, now: float) -> bytes:
        if now >= self.give_up_at:
            raise LinkTimeout(f"no answer to {self.tag}")
        return self.start(now)

    def cancel(self) -> None:
        self.cancelled = True
        self.session.open.pop(self.tag, None)


@dataclass
class TaggedSession:
    timeout: float = 0.5
    max_in_flight: int = 4
    open: dict[int, TaggedExchange] = field(default_factory=dict)
    buffer: bytes = b""
    tags: int = 0
    sent: int = 0
    most_open: int = 0
    stray: int = 0
    made: list[TaggedExchange] = field(default_factory=list)

    def exchange(self, request: Any, now: float, previous: Any = None, /) -> TaggedExchange:
        self.tags += 1
        ex = TaggedExchange(self, request, self.tags, now)
        self.made.append(ex)
        return ex

    def receive(self, data: bytes) -> object:
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        for line in filter(None, lines):
            verb, tag, *rest = line.split()
            ex = self.open.pop(int(tag), None)
            if ex is None:
                self.stray += 1
            elif verb == b"ERR":
                ex.error = DeviceError(f"the toy refused {ex.ask.n}")
            else:
                ex.answer = int(rest[0])
        return None

    def take_outbox(self) -> bytes:
        return b""


# --- conversations --------------------------------------------------------------------------


def doubled(numbers: Sequence[int], window: int) -> Operation[list[int]]:
    """Each number doubled by the toy, ``window`` questions in flight."""
    out: list[int] = []
    pending = 0
    for n in numbers:
        if pending == window:
            out.append((yield from take()))
            pending -= 1
        yield from send(Ask(n))
        pending += 1
    for _ in range(pending):
        out.append((yield from take()))
    return out


def first_then_drop(numbers: Sequence[int]) -> Operation[int]:
    for n in numbers:
        yield from send(Ask(n))
    first: int = yield from take()
    yield from drop()
    return first


def refused(numbers: Sequence[int]) -> Operation[str]:
    for n in numbers:
        yield from send(Ask(n))
    try:
        for _ in numbers:
            yield from take()
    except DeviceError as exc:
        return str(exc)
    return "no error"


# --- tests ----------------------------------------------------------------------------------

NUMBERS = list(range(30))


@pytest.mark.parametrize("window", [1, 2, 4])
def test_both_drivers_keep_up_to_window_requests_in_flight(window: int) -> None:
    with EmulatorHost(Tagged(), name="tagged").running() as emu:
        assert emu.url is not None
        sync = TaggedSession()
        with open_link(emu.url) as link:
            assert drive.run(link, sync, doubled(NUMBERS, window)) == [2 * n for n in NUMBERS]

        async def in_asyncio() -> list[int]:
            assert emu.url is not None
            link = await open_async_link(emu.url)
            try:
                return await drive.run_async(link, aio, doubled(NUMBERS, window))
            finally:
                await link.close()

        aio = TaggedSession()
        assert asyncio.run(in_asyncio()) == [2 * n for n in NUMBERS]
    for session in (sync, aio):
        assert session.most_open == window  # counted at each send, not timed
        assert session.sent == len(NUMBERS) and not session.open


def test_lost_answers_are_resent_one_by_one_and_come_out_in_order() -> None:
    with EmulatorHost(Tagged(), name="tagged", faults="drop=0.2", seed=4).running() as emu:
        assert emu.url is not None
        session = TaggedSession(timeout=0.3)
        with open_link(emu.url) as link:
            assert drive.run(link, session, doubled(NUMBERS, 4)) == [2 * n for n in NUMBERS]
        assert "dropped" in emu.fault_history[1]
        assert session.sent > len(NUMBERS)  # the lost ones were asked again


def test_drop_abandons_what_is_in_flight() -> None:
    with EmulatorHost(Tagged(), name="tagged").running() as emu:
        assert emu.url is not None
        session = TaggedSession()
        with open_link(emu.url) as link:
            assert drive.run(link, session, first_then_drop([5, 6, 7, 8])) == 10
            assert [ex.cancelled for ex in session.made] == [False, True, True, True]
            # the late answers to the abandoned ones do not confuse the next question
            assert drive.run(link, session, doubled([21], 1)) == [42]


def test_more_than_the_session_allows_is_refused() -> None:
    with EmulatorHost(Tagged(), name="tagged").running() as emu:
        assert emu.url is not None
        session = TaggedSession(max_in_flight=2)
        with open_link(emu.url) as link, pytest.raises(UsageError, match="at most 2"):
            drive.run(link, session, doubled(NUMBERS, 3))
        assert not session.open, "the window was abandoned"


def test_an_error_in_flight_abandons_the_window() -> None:
    with EmulatorHost(Tagged(), name="tagged").running() as emu:
        assert emu.url is not None
        session = TaggedSession()
        with open_link(emu.url) as link:
            assert drive.run(link, session, refused([1, -2, 3, 4])) == "the toy refused -2"
        assert not session.open
        # the answered one was taken; the failed one and those behind it were abandoned
        assert [ex.cancelled for ex in session.made] == [False, True, True, True]


def test_take_with_nothing_in_flight_is_a_programming_error() -> None:
    def bad() -> Operation[object]:
        return (yield from take())

    with EmulatorHost(Tagged(), name="tagged").running() as emu:
        assert emu.url is not None
        with open_link(emu.url) as link, pytest.raises(RuntimeError, match="no request"):
            drive.run(link, TaggedSession(), bad())
