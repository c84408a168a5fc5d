"""A toy family proves the kit: an echo instrument gets TCP, a pty, faults, pacing,
both drivers and a collector source by writing only its codec and its model.

The toy speaks lines: ``ASK n`` is answered ``ANS n*2`` after a checksum byte-pair
(``*HH``, the sum of the line's bytes modulo 256), so that a corrupted reply is
detectable.  Nothing below is shipped; everything it runs on is.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from fieldlink.collect.config import SinkSpec, StationConfig
from fieldlink.collect.engine import run_cycle
from fieldlink.collect.sampled import InstrumentInfo, SampledLogger, table_def
from fieldlink.collect.sinks import SinkPool
from fieldlink.errors import FieldlinkError, LinkClosed, LinkTimeout, ProtocolError
from fieldlink.kit import drive
from fieldlink.kit.client import AsyncClient, Call, Client, Method, Streamed
from fieldlink.kit.converse import Operation, emit, now
from fieldlink.kit.device import BasePort, Outgoing
from fieldlink.kit.host import EmulatorHost
from fieldlink.kit.reply import ReplySession, ask
from fieldlink.link import AsyncLink, Link, open_async_link, open_link
from fieldlink.pakbus.protocol.model import TableDef, Value

# --- codec (sans-I/O) -------------------------------------------------------------------


def _checksum(body: bytes) -> bytes:
    return b"*%02X" % (sum(body) % 256)


def frame(body: bytes) -> bytes:
    return body + _checksum(body) + b"\r"


def unframe(line: bytes) -> bytes:
    body, star, _ = line.rpartition(b"*")
    if not star or frame(body) != line + b"\r":
        raise ProtocolError(f"bad checksum in {line!r}")
    return body


class LineSplitter:
    """Complete CR-terminated lines; a partial line is kept, at most 256 bytes of it."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        *lines, self.buffer = (self.buffer + data).split(b"\r")
        self.buffer = self.buffer[-256:]
        return [line for line in lines if line]


# --- device model -----------------------------------------------------------------------


@dataclass
class Echo:
    """The toy's state: how many questions it has answered, and how it doubles."""

    answered: int = 0

    def open_port(self, number: int) -> EchoPort:
        return EchoPort(self)

    def describe(self) -> str:
        return "a toy echo instrument"


class EchoPort(BasePort):
    unit_name = "lines"

    def __init__(self, echo: Echo) -> None:
        self.echo = echo
        self.lines = LineSplitter()

    @property
    def in_unit(self) -> bool:
        return bool(self.lines.buffer)

    def frames(self, data: bytes) -> Sequence[bytes]:
        return self.lines.feed(data)

    def answer(self, unit: bytes) -> Sequence[Outgoing]:
        try:
            verb, _, arg = unframe(unit).partition(b" ")
            if verb != b"ASK":
                raise ValueError(verb)
            number = int(arg)
        except (ProtocolError, ValueError):
            return [Outgoing(frame(b"ERR"))]
        self.echo.answered += 1
        return [Outgoing(frame(b"ANS %d" % (number * 2)))]


# --- client session and conversations -------------------------------------------------


class EchoSession(ReplySession[int, int]):
    def __init__(self, *, timeout: float = 5.0) -> None:
        super().__init__(timeout=timeout)
        self.lines = LineSplitter()

    def encode(self, request: int) -> bytes:
        return frame(b"ASK %d" % request)

    def feed(self, data: bytes) -> list[int | ProtocolError]:
        out: list[int | ProtocolError] = []
        for line in self.lines.feed(data):
            try:
                out.append(int(unframe(line).removeprefix(b"ANS ")))
            except (ProtocolError, ValueError) as exc:
                out.append(exc if isinstance(exc, ProtocolError) else ProtocolError(str(exc)))
        return out


def double(n: int) -> Operation[int]:
    reply: int = yield from ask(n)
    return reply


def doubles(count: int) -> Operation[None]:
    for n in range(count):
        yield from emit([(yield from ask(n))])
    yield from now()


# --- the kit at work --------------------------------------------------------------------


def test_tcp_and_both_drivers_run_one_conversation() -> None:
    echo = Echo()
    with EmulatorHost(echo, name="echo").running() as emu:
        assert emu.url is not None and emu.url.startswith("tcp:127.0.0.1:")
        with open_link(emu.url) as link:
            assert drive.run(link, EchoSession(timeout=2.0), double(21)) == 42
            assert list(drive.stream(link, EchoSession(timeout=2.0), doubles(4))) == [0, 2, 4, 6]

        async def in_asyncio() -> tuple[int, list[int]]:
            assert emu.url is not None
            link = await open_async_link(emu.url)
            try:
                session = EchoSession(timeout=2.0)
                one = await drive.run_async(link, session, double(5))
                many = [x async for x in drive.stream_async(link, session, doubles(3))]
            finally:
                await link.close()
            return one, many

        assert asyncio.run(in_asyncio()) == (10, [0, 2, 4])
    assert echo.answered == 1 + 4 + 1 + 3


def test_pty_serves_a_serial_device_path_paced_to_a_baud_rate() -> None:
    with EmulatorHost(Echo(), pty=True, baud=9600, name="echo").running() as emu:
        assert emu.url is not None and emu.url.startswith("serial:/dev/")
        for _ in range(2):  # a client may close the port and open it again
            with open_link(emu.url) as link:
                assert drive.run(link, EchoSession(timeout=2.0), double(100)) == 200


def test_corrupted_replies_are_asked_again_never_returned() -> None:
    faults = "corrupt=0.15"
    with EmulatorHost(Echo(), faults=faults, seed=3, name="echo").running() as emu:
        assert emu.url is not None
        session = EchoSession(timeout=2.0)
        with open_link(emu.url) as link:
            got = [drive.run(link, session, double(n)) for n in range(30)]
        assert got == [2 * n for n in range(30)]
        assert "corrupted" in emu.fault_history[1]
        assert session.stats.resends >= emu.fault_history[1].count("corrupted") > 0


def test_a_dropped_reply_is_resent_and_a_silent_device_times_out() -> None:
    with EmulatorHost(Echo(), faults="drop=1", name="echo").running() as emu:
        assert emu.url is not None
        session = EchoSession(timeout=0.2)
        with open_link(emu.url) as link, pytest.raises(LinkTimeout, match="no answer to int"):
            drive.run(link, session, double(1))
        assert session.stats.resends == 2 and session.stats.timeouts == 3


# --- the family's clients: the kit's plumbing plus two hooks ------------------------------


class EchoGone(LinkClosed):
    """The toy's own word for a link that closed under a conversation."""


class EchoClient(Client):
    def __init__(self, link: Link, *, timeout: float = 2.0) -> None:
        super().__init__(link, EchoSession(timeout=timeout))
        self.greeting: int | None = None

    def opened(self) -> None:  # the handshake
        self.greeting = self.run(double(50))

    def lost(self, error: LinkClosed) -> FieldlinkError:
        return EchoGone(f"the echo went away: {error}")


class AsyncEchoClient(AsyncClient):
    def __init__(self, link: AsyncLink, *, timeout: float = 2.0) -> None:
        super().__init__(link, EchoSession(timeout=timeout))
        self.greeting: int | None = None

    async def opened(self) -> None:
        self.greeting = await self.run(double(50))

    def lost(self, error: LinkClosed) -> FieldlinkError:
        return EchoGone(f"the echo went away: {error}")


def test_clients_shake_hands_on_open_and_name_a_lost_link_their_own_way() -> None:
    with EmulatorHost(Echo(), pty=True, name="echo").running() as emu:
        assert emu.url is not None
        client = EchoClient.open(emu.url, link_timeout=2.0)
        assert client.greeting == 100 and client.run(double(4)) == 8
        assert list(client.stream(doubles(3))) == [0, 2, 4]

        async def in_asyncio() -> tuple[int | None, list[int]]:
            assert emu.url is not None
            async with AsyncEchoClient.open(emu.url, link_timeout=2.0) as twin:
                return twin.greeting, [x async for x in twin.stream(doubles(2))]

        assert asyncio.run(in_asyncio()) == (100, [0, 2])
    with pytest.raises(EchoGone, match="went away") as caught:
        client.run(double(1))
    assert isinstance(caught.value.__cause__, LinkClosed)
    with pytest.raises(EchoGone):
        list(client.stream(doubles(2)))
    client.close()


def test_a_failed_handshake_closes_the_link() -> None:
    opened: list[Link] = []

    class Refused(EchoClient):
        def opened(self) -> None:
            opened.append(self.link)
            raise ProtocolError("no greeting")

    with EmulatorHost(Echo(), name="echo").running() as emu:
        assert emu.url is not None
        with pytest.raises(ProtocolError, match="no greeting"):
            Refused.open(emu.url, link_timeout=2.0)
    assert [link.closed for link in opened] == [True]


def _checked_double(n: int) -> Operation[int]:
    """Twice ``n`` (a negative ``n`` is refused before anything is sent)."""
    if n < 0:
        raise ValueError("no negatives")
    return double(n)


class _EchoCalls:
    """The toy's methods, written once for both clients."""

    greeting: int | None
    double = Call(_checked_double)
    doubles = Streamed.of_arguments(doubles, int)

    @Method
    def double_greeting(self, times: int = 1) -> Operation[int]:
        """Twice the greeting the handshake got, ``times`` over."""
        return double((self.greeting or 0) * times)


class CallingEcho(_EchoCalls, EchoClient):
    pass


class AsyncCallingEcho(_EchoCalls, AsyncEchoClient):
    pass


def test_methods_written_once_run_on_both_clients() -> None:
    echo = Echo()
    assert "refused" in (CallingEcho.double.__doc__ or "")
    assert list(inspect.signature(CallingEcho.double).parameters) == ["self", "n"]
    assert inspect.iscoroutinefunction(AsyncCallingEcho.double)
    with EmulatorHost(echo, name="echo").running() as emu:
        assert emu.url is not None
        with CallingEcho.open(emu.url, link_timeout=2.0) as client:
            assert client.double(7) == 14 and list(client.doubles(3)) == [0, 2, 4]
            assert client.double_greeting() == 200 and CallingEcho.double(client, 3) == 6
            named = client.double_greeting
            assert named.__qualname__ == "_EchoCalls.double_greeting"
            assert "greeting the handshake got" in (named.__doc__ or "")
            with pytest.raises(ValueError, match="negatives"):
                client.double(-1)

        async def in_asyncio() -> tuple[int, list[int]]:
            assert emu.url is not None
            async with AsyncCallingEcho.open(emu.url, link_timeout=2.0) as twin:
                pending = twin.double(-1)  # a coroutine: nothing checked until awaited
                with pytest.raises(ValueError, match="negatives"):
                    await pending
                assert await twin.double_greeting(times=2) == 400
                return await twin.double(8), [x async for x in twin.doubles(2)]

        assert asyncio.run(in_asyncio()) == (16, [0, 2])
    assert echo.answered == 2 * 1 + 1 + 3 + 2 + 1 + 1 + 2  # greetings, the calls; no negatives


# --- a collector source -------------------------------------------------------------------


class EchoSampler:
    def __init__(self, url: str) -> None:
        self.url = url

    async def info(self) -> InstrumentInfo:
        return InstrumentInfo("ECHO1", serial_number="7")

    def tables(self) -> Sequence[TableDef]:
        return [table_def("Doubles", [("twice", "float", "1"), ("ok", "bool", "")])]

    async def sample(self) -> Mapping[str, Mapping[str, Value]]:
        link = await open_async_link(self.url)
        try:
            value = await drive.run_async(link, EchoSession(timeout=2.0), double(4))
        finally:
            await link.close()
        return {"Doubles": {"twice": float(value), "ok": True}}


def test_a_sampled_instrument_is_collected_into_the_same_sinks(tmp_path: Path) -> None:
    database = tmp_path / "echo.sqlite"
    with EmulatorHost(Echo(), name="echo").running() as emu:
        assert emu.url is not None
        station = StationConfig(
            name="toy",
            url=emu.url,
            kind="tdr100",
            sinks=(SinkSpec("sqlite", database),),
            clock=None,
        )

        @asynccontextmanager
        async def connect(config: StationConfig) -> AsyncIterator[SampledLogger]:
            yield SampledLogger(EchoSampler(config.url), "echo", dt.UTC)

        pool = SinkPool()
        try:
            results = [asyncio.run(run_cycle(station, connect, pool.for_table)) for _ in range(3)]
        finally:
            pool.close()
    assert [r.ok for r in results] == [True] * 3, [r.error for r in results]
    with sqlite3.connect(database) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        data = next(t for t in tables if "Doubles" in t)
        rows = db.execute(f'select * from "{data}"').fetchall()
    assert len(rows) == 3  # one record per cycle, numbered on from the stored position
    assert all(8.0 in row for row in rows)
