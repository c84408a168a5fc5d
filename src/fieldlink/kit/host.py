"""The emulator host: serves any device model over TCP or a pseudo-terminal (asyncio).

Every family's emulator is a sans-I/O device model (:mod:`fieldlink.kit.device`); this
module moves its bytes, once for all of them.  TCP serves any number of clients at
once, each with its own :class:`~fieldlink.kit.device.Port`, faults and pacing, all
answering from the one shared model; a pseudo-terminal gives a real serial device
path instead, which a client may close and open again as often as it likes.

Use it from tests::

    with EmulatorHost(model).running() as emu:       # a background thread
        ...  # connect to emu.url

    async with EmulatorHost(model) as emu:           # inside a running event loop
        ...

A family's emulator class is a thin subclass that builds its model (see
:class:`fieldlink.pakbus.emulator.LoggerEmulator`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Self

from fieldlink.errors import LinkError, UsageError
from fieldlink.kit.device import DeviceModel, Outgoing, Port
from fieldlink.kit.faults import FaultInjector, Faults
from fieldlink.link.pty import PtyPair, open_pty
from fieldlink.link.throttle import bytes_per_second

__all__ = ["MAX_BACKLOG", "PTY_DEFAULT_BAUD", "Connection", "EmulatorHost", "parse_listen"]

log = logging.getLogger("fieldlink.emulator")

#: Baud rate a pseudo-terminal announces when no baud is given (no pacing then).
PTY_DEFAULT_BAUD = 115_200
#: Bytes handed to the link at once when pacing to a baud rate.
_PACE_CHUNK = 64
#: Answers (bytes) a connection may have waiting to be sent before it is no longer
#: read from: a client that does not read its answers gets TCP back-pressure.
MAX_BACKLOG = 64 * 1024
#: Bytes read from a link at once.
_READ_SIZE = 4096
#: Connections whose fault history is kept after they close (the newest ones).
_FAULT_HISTORIES = 1_000
#: What a client on this machine dials when the emulator listens on every interface.
_WILDCARD_URL_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def _os_reason(exc: OSError) -> str:
    """The operating system's words for ``exc``, without asyncio's wrapping."""
    if isinstance(exc, socket.gaierror) or not exc.errno or exc.errno < 0:
        return str(exc.strerror or exc)
    return os.strerror(exc.errno)


def _peer_text(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = str(peer[0])
        return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
    return str(peer or "unknown peer")


def parse_listen(text: str) -> tuple[str, int]:
    """``"HOST:PORT"`` (``"[::1]:PORT"`` for IPv6, ``":PORT"`` for loopback) -> (host, port)."""
    head, colon, port_text = text.strip().rpartition(":")
    if not colon:
        head, port_text = "", text.strip()
    host = head.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:6785") from None
    if not 0 <= port <= 65_535:
        raise UsageError(f"--listen {text!r}: port must be 0..65535 (0 picks a free one)")
    return host, port


class Connection:
    """One client link: reads into a Port, writes its answers paced and faulted.

    Input is answered one unit at a time, yielding to the event loop in between, and
    a connection whose answers pile up unsent (a client that writes requests but does
    not read) is not read from until they drain: one greedy or hostile client can
    neither stall the others nor make the emulator hoard memory.

    A connection with nothing to do to its output -- no pacing, no faults (latency is
    one) -- is *direct*: each answer is written to the link as soon as it is worked
    out, in order, with the unsolicited output (timers, ticks) written the same way
    when it falls due.  A paced or faulted one queues its answers for a write task
    that paces, delays and damages them.  Writing directly spares each answer the
    queue and a task switch (a quarter of the host's own CPU per answer, the send
    itself aside); the link's own buffer is then the backlog (``buffered``: TCP's
    high-water mark is :data:`MAX_BACKLOG`, and reading stops above it).

    Pacing to a baud rate follows a *line clock*, :attr:`line_free_at`: the moment the
    simulated serial line has carried everything so far.  A chunk of an answer is
    handed over when its last byte would have arrived on a real line (never earlier),
    the clock advances by the chunk's transmit time from where it was, not from when
    the event loop woke up, so a late wake-up is made up on the next chunk instead of
    adding up.  The line is half duplex: bytes received also occupy it, so an answer
    starts after the request has (notionally) arrived.
    """

    def __init__(
        self,
        host: EmulatorHost,
        number: int,
        write: Callable[[bytes], None],
        close: Callable[[], None],
        drain: Callable[[], Awaitable[None]] | None = None,
        buffered: Callable[[], int] | None = None,
    ) -> None:
        self.host = host
        self.number = number
        self.port: Port = host.model.open_port(number)
        self.faults = FaultInjector(host.faults, host.seed, number, keep_clear=host.keep_clear)
        history = host.fault_history
        history[number] = self.faults.history
        if len(history) > _FAULT_HISTORIES:
            del history[next(iter(history))]
        self._write = write
        self._close = close
        self._drain = drain
        self._buffered = buffered
        self._queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        #: Bytes answered and queued for the write task, not yet handed to the link.
        self._queued = 0
        self._room = asyncio.Event()
        self._room.set()
        self.units_in = 0
        self.units_out = 0
        #: Seconds one byte occupies the paced line (8N1), or None without pacing.
        self._byte_time = 1.0 / bytes_per_second(host.baud) if host.baud else None
        #: Output goes straight to the link (nothing paces, delays or damages it).
        self.direct = self._byte_time is None and not host.faults.active
        #: time.monotonic() at which the paced line has carried every byte so far.
        self.line_free_at = 0.0
        self.bytes_in = 0
        self.bytes_out = 0
        self.opened = time.monotonic()
        self.closed = False

    @property
    def backlog(self) -> int:
        """Bytes answered but not sent yet: queued for the write task, plus what the
        link holds back (the whole backlog of a direct connection)."""
        return self._queued + (self._buffered() if self._buffered is not None else 0)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        if not self.direct:
            self._tasks.append(loop.create_task(self._write_loop()))
        if self.port.tick_interval:
            self._tasks.append(loop.create_task(self._tick_loop(self.port.tick_interval)))
        self.send_all(self.port.opened())

    async def feed(self, data: bytes) -> None:
        """Answer the units in ``data``, one at a time, waiting while the backlog is full."""
        await self.answer_from(self.received(data), 0)

    def received(self, data: bytes) -> Sequence[bytes]:
        """Count ``data`` in (on a paced line: the time it held the line); its units."""
        self.bytes_in += len(data)
        if self._byte_time is not None:  # the request held the (half-duplex) line
            start = max(self.line_free_at, time.monotonic())
            self.line_free_at = start + len(data) * self._byte_time
        return self.port.frames(data)

    def answer(self, unit: bytes) -> None:
        """Answer one unit: its output written (direct) or queued for the write task."""
        self.units_in += 1
        self.send_all(self.port.answer(unit))

    async def answer_from(self, units: Sequence[bytes], first: int) -> None:
        """Answer ``units[first:]``, waiting for room after each, and letting the other
        connections have their turn between units (not after the last: the next read
        waits for input unless some is already buffered, so at most two units ever go
        back to back)."""
        for i in range(first, len(units)):
            if i:
                await asyncio.sleep(0)
            if self.closed:
                return
            self.answer(units[i])
            await self.wait_for_room()

    def must_wait(self) -> bool:
        """Whether the backlog must drain before the next unit is answered: the link
        holds bytes back (direct), or more than MAX_BACKLOG are queued."""
        if self.direct:
            return self._drain is not None and self._buffered is not None and self._buffered() > 0
        return self._queued > MAX_BACKLOG and not self.closed

    async def wait_for_room(self) -> None:
        """Wait while :meth:`must_wait`.  A direct link's drain decides how long: TCP's
        only above its high-water mark, a pseudo-terminal's until the line took the
        bytes (at most 1 s)."""
        if self.direct:
            if self._drain is not None and self.must_wait():
                await self._drain()
            return
        while self.must_wait():
            self._room.clear()
            await self._room.wait()

    def send_all(self, outgoing: Iterable[Outgoing]) -> None:
        for out in outgoing:
            self.send(out)

    def send(self, out: Outgoing) -> None:
        if self.closed:
            return
        if out.delay > 0:
            loop = asyncio.get_running_loop()
            timer: asyncio.TimerHandle | None = None

            def later() -> None:
                if timer is not None:
                    self._timers.discard(timer)
                self._enqueue(out.data)

            timer = loop.call_later(out.delay, later)
            self._timers.add(timer)
        else:
            self._enqueue(out.data)

    def _enqueue(self, data: bytes) -> None:
        if self.closed or not data:
            return
        if not self.direct:
            self._queued += len(data)
            self._queue.put_nowait((time.monotonic(), data))
            return
        self.bytes_out += len(data)
        self.units_out += 1
        try:
            self._write(data)
        except (ConnectionError, OSError) as exc:
            log.debug("connection %d: write failed: %s", self.number, exc)
            self.shutdown()

    def _sent(self, size: int) -> None:
        self._queued -= size
        if self._queued <= MAX_BACKLOG:
            self._room.set()

    async def _tick_loop(self, interval: float) -> None:
        while not self.closed:
            await asyncio.sleep(interval)
            try:
                self.send_all(self.port.tick(time.monotonic()))
            except Exception:  # a bug must not take the emulator down with it
                log.exception("connection %d: unsolicited output failed", self.number)

    async def _write_loop(self) -> None:
        latency = self.host.faults.delay
        try:
            while True:
                queued_at, unit = await self._queue.get()
                ready = queued_at + latency
                try:
                    if latency:
                        wait = ready - time.monotonic()
                        if wait > 0:
                            await asyncio.sleep(wait)
                    damaged = self.faults.apply(unit)
                    if damaged is None:
                        continue
                    allowed = self.faults.allowance(len(damaged))
                    await self._put(damaged[:allowed], ready)
                    self.faults.sent += allowed
                    self.units_out += 1
                finally:
                    self._sent(len(unit))
                if allowed < len(damaged):
                    log.info(
                        "connection %d: cut after %d bytes (fault)", self.number, self.faults.sent
                    )
                    self.shutdown()
                    return
        except (ConnectionError, OSError) as exc:
            log.debug("connection %d: write failed: %s", self.number, exc)
            self.shutdown()

    async def _put(self, data: bytes, ready: float) -> None:
        """Hand ``data`` (an answer ready since ``ready``) to the link, paced if asked."""
        if not data:
            return
        self.bytes_out += len(data)
        byte_time = self._byte_time
        if byte_time is None:
            self._write(data)
            if self._drain is not None:
                await self._drain()
            return
        # The line starts on the answer when it is free and the answer is ready; from
        # then on the line clock only advances by transmit times (debt, not sleeps).
        self.line_free_at = max(self.line_free_at, ready)
        for i in range(0, len(data), _PACE_CHUNK):
            chunk = data[i : i + _PACE_CHUNK]
            self.line_free_at += len(chunk) * byte_time
            wait = self.line_free_at - time.monotonic()
            if wait > 0:  # ahead of the line: wait for it; behind: catch up at once
                await asyncio.sleep(wait)
            self._write(chunk)
            if self._drain is not None:
                await self._drain()

    def summary(self) -> str:
        """How the connection went, for its one closing log line."""
        parts = [f"{self.units_in} {self.port.unit_name} in", f"{self.units_out} out"]
        if detail := self.port.summary():
            parts.append(detail)
        f = self.faults
        if f.dropped or f.corrupted:
            parts.append(f"faults: {f.dropped} dropped, {f.corrupted} corrupted")
        return f"after {time.monotonic() - self.opened:.1f} s: " + ", ".join(parts)

    def shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.port.closed()
        except Exception:
            log.exception("connection %d: closing the port failed", self.number)
        self._room.set()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        with contextlib.suppress(OSError, RuntimeError):
            self._close()


class EmulatorHost:
    """Serves one device model to many clients over TCP, or to one over a pseudo-terminal.

    ``listen`` is ``HOST:PORT`` (port 0 picks a free one; loopback unless told
    otherwise); ``pty`` serves on a pseudo-terminal instead; ``baud`` paces output to
    a serial line rate; ``faults`` a :class:`Faults` or its text form, drawn per
    connection from ``seed``; ``keep_clear`` the framing bytes a corruption never
    produces; ``name`` names the emulator in logs and errors.
    """

    def __init__(
        self,
        model: DeviceModel,
        *,
        listen: str = "127.0.0.1:0",
        pty: bool = False,
        baud: int | None = None,
        faults: Faults | str | None = None,
        seed: int = 0,
        keep_clear: bytes = b"",
        name: str = "emulator",
    ) -> None:
        if baud is not None and baud < 1:
            raise UsageError(f"baud must be a positive number, not {baud}")
        self.model = model
        self.seed = seed
        self.host, self.port = parse_listen(listen)
        self.use_pty = pty
        self.baud = baud
        self.faults = Faults.parse(faults) if isinstance(faults, str) else (faults or Faults())
        self.keep_clear = keep_clear
        self.name = name
        self.url: str | None = None
        self.connections: list[Connection] = []
        #: Per connection number, what the faults did to each outgoing unit (see
        #: FaultInjector.history): kept after the connection closes, for tests and logs.
        self.fault_history: dict[int, list[str]] = {}
        self._numbers = itertools.count(1)
        self._server: asyncio.base_events.Server | None = None
        self._pty: PtyPair | None = None
        self._pty_task: asyncio.Task[None] | None = None
        self._links: set[_TcpLink] = set()
        self._stopping = False
        self._pty_pending = bytearray()

    # --- asyncio life cycle -------------------------------------------------------------

    async def start(self) -> str:
        """Start serving; return the URL a client uses."""
        if self.url is not None:
            return self.url
        if self.use_pty:
            self.url = self._start_pty()
        else:
            self._server = await self._listen()
            sock = self._server.sockets[0].getsockname()
            host = _WILDCARD_URL_HOSTS.get(sock[0], sock[0])
            if sock[0] in _WILDCARD_URL_HOSTS:
                log.warning(
                    "listening on every network interface (%s): other machines can reach "
                    "this emulator",
                    self.host,
                )
            host = f"[{host}]" if ":" in host else host
            self.url = f"tcp:{host}:{sock[1]}"
        log.info("%s serving on %s", self.describe(), self.url)
        return self.url

    def describe(self) -> str:
        """What is served, with the link's faults and pacing."""
        extras = []
        if self.faults.active:
            extras.append(f"faults {self.faults}")
        if self.baud:
            extras.append(f"paced to {self.baud} baud")
        text = self.model.describe()
        return f"{text} ({'; '.join(extras)})" if extras else text

    async def _listen(self) -> asyncio.base_events.Server:
        host: str | list[str] = self.host
        try:
            if self.port == 0:
                # One address only: each address of a name like "localhost" would
                # otherwise get its own free port, and the URL names just one.
                infos = await asyncio.get_running_loop().getaddrinfo(
                    self.host, 0, type=socket.SOCK_STREAM
                )
                host = str(infos[0][4][0])
            loop = asyncio.get_running_loop()
            return await loop.create_server(lambda: _TcpLink(self), host, self.port)
        except OSError as exc:
            raise LinkError(f"cannot listen on {self.host}:{self.port}: {_os_reason(exc)}") from exc

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.shutdown()
        links = [link.lost for link in self._links]
        if links:  # closing their connections ends them; abort what lingers
            _, lingering = await asyncio.wait(links, timeout=2.0)
            for link in list(self._links):
                if link.lost in lingering and link.transport is not None:
                    link.transport.abort()
            if lingering:
                await asyncio.wait(lingering, timeout=1.0)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None
        if self._pty_task is not None:
            self._pty_task.cancel()
            with contextlib.suppress(BaseException):
                await self._pty_task
            self._pty_task = None
        if self._pty is not None:
            self._pty.close()
            self._pty = None
        self.url = None
        self._stopping = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- pseudo-terminal --------------------------------------------------------------

    def _start_pty(self) -> str:
        pair = open_pty(self.baud or PTY_DEFAULT_BAUD)
        self._pty = pair
        os.set_blocking(pair.master_fd, False)
        conn = Connection(
            self, next(self._numbers), self._pty_write, _nothing, self._pty_drain, self._pty_held
        )
        self.connections.append(conn)
        conn.start()
        self._pty_task = asyncio.get_running_loop().create_task(self._pty_serve(pair, conn))
        return pair.url

    async def _pty_serve(self, pair: PtyPair, conn: Connection) -> None:
        """Read the line and answer it; not reading while answers are being worked out,
        so a busy or back-pressured line does not spin the event loop."""
        loop = asyncio.get_running_loop()
        fd = pair.master_fd
        readable = asyncio.Event()
        while not pair.closed:
            readable.clear()
            loop.add_reader(fd, readable.set)
            try:
                await readable.wait()
            finally:
                with contextlib.suppress(Exception):
                    loop.remove_reader(fd)
            try:
                data = os.read(fd, _READ_SIZE)
            except BlockingIOError:
                continue
            except OSError as exc:  # EIO while no client holds the slave: keep serving
                log.debug("pty read: %s", exc)
                await asyncio.sleep(0.1)
                continue
            if not data:
                continue
            if not conn.port.in_unit:
                conn.send_all(conn.port.woken(data, time.monotonic()))
            await conn.feed(data)

    def _pty_write(self, data: bytes) -> None:
        """Write what the pseudo-terminal takes now; :meth:`_pty_drain` does the rest."""
        self._pty_pending += data
        self._pty_flush()

    def _pty_flush(self) -> None:
        if self._pty is None:
            self._pty_pending.clear()
            return
        while self._pty_pending:
            try:
                n = os.write(self._pty.master_fd, self._pty_pending)
            except BlockingIOError:
                return
            except OSError as exc:
                log.debug("pty write: %s", exc)
                self._pty_pending.clear()
                return
            del self._pty_pending[:n]

    def _pty_held(self) -> int:
        """Bytes written that the pseudo-terminal has not taken yet."""
        return len(self._pty_pending)

    async def _pty_drain(self) -> None:
        """Wait (without blocking the loop) until the line took the bytes, at most 1 s;
        nobody reading the line means the bytes are lost, as on a serial port."""
        deadline = time.monotonic() + 1.0
        while self._pty_pending and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
            self._pty_flush()
        if self._pty_pending:
            log.debug("pty output dropped: nobody is reading")
            self._pty_pending.clear()

    # --- blocking helpers ---------------------------------------------------------------

    @contextlib.contextmanager
    def running(self, timeout: float = 10.0) -> Iterator[Self]:
        """Serve from a background thread for the duration of a ``with`` block."""
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the caller below
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())

        thread = threading.Thread(target=run, name=f"fieldlink-{self.name}", daemon=True)
        thread.start()
        if not ready.wait(timeout):
            raise LinkError(f"the {self.name} emulator did not start in time")
        if failure:
            thread.join(timeout)
            loop.close()
            raise failure[0]
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if thread.is_alive():  # still busy: leave the daemon thread its loop
                log.warning("the %s emulator did not stop within %g s", self.name, timeout)
            else:
                loop.close()


class _TcpLink(asyncio.Protocol):
    """One TCP connection as asyncio hands it over: bytes in, answered at once.

    A read is answered in the transport's own callback: the first unit at once, and
    only when there are more (a client that sends several requests without waiting)
    or the link holds bytes back is a task started for the rest, with reading paused
    until it is done.  A request-answer client -- every collection -- so costs the
    event loop one callback per request: no stream buffer, future or task switch,
    which were 30 % of the instructions the host spent per answer around the model's
    own work (bench_emulator.py --instructions, with and without --spawned).
    Flow control is the transport's: above :data:`MAX_BACKLOG` unsent bytes it pauses
    us for writing, and :meth:`drain` waits for it to resume.
    """

    def __init__(self, host: EmulatorHost) -> None:
        self.host = host
        self.transport: asyncio.Transport | None = None
        self.conn: Connection | None = None
        self.peer = ""
        #: Resolved when the connection is gone (EmulatorHost.stop waits for it).
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._answering: asyncio.Task[None] | None = None
        self._unread: list[bytes] = []  # bytes received while a task was answering
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        host = self.host
        number = next(host._numbers)
        host._links.add(self)
        self.peer = _peer_text(transport.get_extra_info("peername"))
        log.info("connection %d from %s", number, self.peer)
        transport.set_write_buffer_limits(high=MAX_BACKLOG)
        buffered = transport.get_write_buffer_size
        self.conn = Connection(host, number, transport.write, transport.close, self.drain, buffered)
        host.connections.append(self.conn)
        self.conn.start()

    def data_received(self, data: bytes) -> None:
        conn = self.conn
        assert conn is not None and self.transport is not None
        if self._answering is not None:  # reading is paused; keep what came before that
            self._unread.append(data)
            return
        units = conn.received(data)
        if not units or conn.closed:
            return
        conn.answer(units[0])
        if len(units) > 1 or conn.must_wait():
            self.transport.pause_reading()
            self._answering = asyncio.get_running_loop().create_task(self._answer_rest(units))

    async def _answer_rest(self, units: Sequence[bytes]) -> None:
        conn = self.conn
        assert conn is not None and self.transport is not None
        try:
            await conn.wait_for_room()
            await conn.answer_from(units, 1)
            while self._unread and not conn.closed:
                await conn.feed(self._unread.pop(0))
        except (ConnectionError, OSError) as exc:
            log.debug("connection %d: %s", conn.number, exc)
            conn.shutdown()
        finally:
            self._answering = None
        if not conn.closed:
            self.transport.resume_reading()

    def eof_received(self) -> bool:
        return False  # the client is done: close our side too (connection_lost follows)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake()

    def _wake(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def drain(self) -> None:
        """Wait while the transport holds more than its high-water mark (as a stream
        writer's drain); ConnectionResetError once the connection is gone."""
        while self._write_paused and not self.lost.done():
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained
        if self.lost.done():
            raise ConnectionResetError("connection lost")

    def connection_lost(self, exc: Exception | None) -> None:
        conn = self.conn
        if not self.lost.done():
            self.lost.set_result(None)
        self._wake()
        self.host._links.discard(self)
        if self._answering is not None:
            self._answering.cancel()
        if conn is None:
            return
        conn.shutdown()
        with contextlib.suppress(ValueError):
            self.host.connections.remove(conn)
        if isinstance(exc, OSError):  # ConnectionResetError and friends
            reason = f" ({exc.strerror or exc})"
        else:
            reason = " (emulator stopping)" if self.host._stopping else ""
        log.info(
            "connection %d from %s closed%s %s", conn.number, self.peer, reason, conn.summary()
        )


def _nothing() -> None:
    """A pseudo-terminal is not closed per connection: clients come and go on it."""
