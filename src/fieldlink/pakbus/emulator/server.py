"""A virtual CR1000-family datalogger served over TCP or a pseudo-terminal (asyncio).

The protocol is all in :class:`~fieldlink.pakbus.emulator.device.Device` (sans-I/O); this
module moves bytes.  TCP serves any number of clients at once, each with its own
link state, faults and pacing, all answering from the one shared
:class:`~fieldlink.pakbus.emulator.station.Station`; like a CR1000 behind an NL1xx, the
emulator sends a broadcast Hello Request (V4) about 0.1 s after each TCP accept.
A pseudo-terminal gives a real serial device path instead.

Use it from tests::

    with LoggerEmulator(records=1000, seed=1).running() as emu:
        ...  # connect to emu.url; emu.station.records("Table1") is the ground truth

    async with LoggerEmulator(records=100) as emu:   # inside a running event loop
        ...

or as another process, exactly as a user runs it (:func:`spawn_logger_emulator`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import TracebackType

from fieldlink.errors import LinkError, UsageError
from fieldlink.link.pty import PtyPair, open_pty
from fieldlink.link.throttle import transmit_seconds
from fieldlink.pakbus.emulator.config import StationConfig, check_addresses, load_station
from fieldlink.pakbus.emulator.device import Device, DevicePort, Outgoing
from fieldlink.pakbus.emulator.faults import FaultInjector, Faults
from fieldlink.pakbus.emulator.station import Station

__all__ = [
    "DEFAULT_PORT",
    "EmulatorProcess",
    "LoggerEmulator",
    "parse_listen",
    "spawn_logger_emulator",
]

log = logging.getLogger("fieldlink.pakbus.emulator")

#: PakBus/TCP's port (pakbus.md §2.7).
DEFAULT_PORT = 6785
#: Seconds after a TCP accept before the unsolicited Hello Request (§2.7).
HELLO_REQUEST_DELAY = 0.1
#: On a pseudo-terminal, a read of nothing but sync bytes (at least two, outside a
#: frame) is a client waking the line -- PyCampbellCR1000 sends 6 x 0xBD, then waits
#: for a frame before it says anything -- and the emulator answers it with the Hello
#: Request it sends on a TCP connect, at most once in this many seconds.  pakbus.md
#: §2.7 allows this ("and/or after the 0xBD burst"); a real serial CR1000 was never
#: seen doing it (UNCERTAIN), and clients that send a frame with their burst (fieldlink,
#: LoggerNet) never trigger it.
WAKE_HELLO_INTERVAL = 0.05
#: Baud rate a pseudo-terminal announces when no --baud is given (no pacing then).
PTY_DEFAULT_BAUD = 115_200
#: Bytes written at once when pacing to a baud rate.
_PACE_CHUNK = 64
#: Answers (bytes) a connection may have waiting to be sent before it is no longer
#: read from: a client that does not read its answers gets TCP back-pressure.
MAX_BACKLOG = 64 * 1024


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


class _Connection:
    """One client link: reads into a DevicePort, writes its answers paced and faulted.

    Input is answered one frame at a time, yielding to the event loop in between, and
    a connection whose answers pile up unsent (a client that writes requests but does
    not read) is not read from until they drain: one greedy or hostile client can
    neither stall the others nor make the emulator hoard memory.
    """

    def __init__(
        self,
        emulator: LoggerEmulator,
        number: int,
        write: Callable[[bytes], None],
        close: Callable[[], None],
        drain: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.emulator = emulator
        self.number = number
        self.port = DevicePort(emulator.device, client=number)
        self.faults = FaultInjector(emulator.faults, emulator.seed, number)
        history = emulator.fault_history
        history[number] = self.faults.history
        if len(history) > _FAULT_HISTORIES:
            del history[next(iter(history))]
        self._write = write
        self._close = close
        self._drain = drain
        self._queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        #: Bytes answered but not yet handed to the link.
        self.backlog = 0
        self._room = asyncio.Event()
        self._room.set()
        self.frames_out = 0
        self.opened = time.monotonic()
        self.closed = False

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def feed(self, data: bytes) -> None:
        """Answer the frames in ``data``, one at a time, waiting while the backlog is full."""
        for raw in self.port.frames(data):
            if self.closed:
                return
            for out in self.port.answer(raw):
                self.send(out)
            await asyncio.sleep(0)  # let the other connections have their turn
            while self.backlog > MAX_BACKLOG and not self.closed:
                self._room.clear()
                await self._room.wait()

    def send(self, out: Outgoing) -> None:
        if self.closed:
            return
        if out.delay > 0:
            loop = asyncio.get_running_loop()
            timer: asyncio.TimerHandle | None = None

            def later() -> None:
                if timer is not None:
                    self._timers.discard(timer)
                self._enqueue(out)

            timer = loop.call_later(out.delay, later)
            self._timers.add(timer)
        else:
            self._enqueue(out)

    def _enqueue(self, out: Outgoing) -> None:
        if not self.closed:
            frame = out.to_wire()
            self.backlog += len(frame)
            self._queue.put_nowait((time.monotonic(), frame))

    def _sent(self, size: int) -> None:
        self.backlog -= size
        if self.backlog <= MAX_BACKLOG:
            self._room.set()

    async def _write_loop(self) -> None:
        baud = self.emulator.baud
        latency = self.emulator.faults.delay
        try:
            while True:
                queued_at, frame = await self._queue.get()
                try:
                    if latency:
                        wait = queued_at + latency - time.monotonic()
                        if wait > 0:
                            await asyncio.sleep(wait)
                    damaged = self.faults.apply(frame)
                    if damaged is None:
                        continue
                    allowed = self.faults.allowance(len(damaged))
                    await self._put(damaged[:allowed], baud)
                    self.faults.sent += allowed
                    self.frames_out += 1
                finally:
                    self._sent(len(frame))
                if allowed < len(damaged):
                    log.info(
                        "connection %d: cut after %d bytes (fault)", self.number, self.faults.sent
                    )
                    self.shutdown()
                    return
        except (ConnectionError, OSError) as exc:
            log.debug("connection %d: write failed: %s", self.number, exc)
            self.shutdown()

    async def _put(self, data: bytes, baud: int | None) -> None:
        if not data:
            return
        if baud is None:
            self._write(data)
            if self._drain is not None:
                await self._drain()
            return
        for i in range(0, len(data), _PACE_CHUNK):
            chunk = data[i : i + _PACE_CHUNK]
            self._write(chunk)
            if self._drain is not None:
                await self._drain()
            await asyncio.sleep(transmit_seconds(len(chunk), baud))

    def summary(self) -> str:
        """How the connection went, for its one closing log line."""
        stats = self.port.decoder.stats
        f = self.faults
        parts = [
            f"{stats.frames} frames in",
            f"{self.frames_out} out",
        ]
        if stats.dropped:
            parts.append(f"{stats.dropped} damaged frames dropped")
        if self.port.failures:
            parts.append(f"{self.port.failures} delivery failures sent")
        if self.port.ignored:
            parts.append(f"{self.port.ignored} frames for other nodes ignored")
        if f.dropped or f.corrupted:
            parts.append(f"faults: {f.dropped} dropped, {f.corrupted} corrupted")
        return f"after {time.monotonic() - self.opened:.1f} s: " + ", ".join(parts)

    def shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.emulator.station.forget_uploads(self.number)  # File Sends it left unfinished
        self._room.set()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()
        with contextlib.suppress(OSError, RuntimeError):
            self._close()


class LoggerEmulator:
    """A virtual logger: one :class:`Station`, served to many clients.

    Every argument is optional.  ``station`` is a TOML path or a StationConfig;
    ``records`` the history logged in the first data table at start (default 10 000);
    ``security_code`` a level-1 code; ``listen`` ``HOST:PORT`` (port 0 picks a free one);
    ``pty`` serves on a pseudo-terminal instead of TCP; ``baud`` paces output to a
    serial line rate; ``faults`` a :class:`Faults` or its text form; ``seed`` makes
    values and faults reproducible; ``clock`` replaces the host clock (Unix seconds,
    logger-local); ``compile_seconds`` is how long a program compile keeps it busy.
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        node: int = 1,
        security_code: int | None = None,
        station: str | Path | StationConfig | None = None,
        records: int | None = None,
        seed: int = 0,
        listen: str = f"127.0.0.1:{DEFAULT_PORT}",
        pty: bool = False,
        baud: int | None = None,
        faults: Faults | str | None = None,
        hello_on_connect: bool = True,
        clock: Callable[[], float] | None = None,
        compile_seconds: float = 1.5,
        format_seconds: float = 2.0,
    ) -> None:
        config = load_station(station) if isinstance(station, str | Path) else station
        if config is not None:
            check_addresses(config, node)
        if baud is not None and baud < 1:
            raise UsageError(f"baud must be a positive number, not {baud}")
        self.station = Station(
            model=model,
            node=node,
            config=config,
            records=records,
            seed=seed,
            security=security_code,
            clock=clock,
            compile_seconds=compile_seconds,
            format_seconds=format_seconds,
        )
        self.device = Device(self.station)
        self.seed = seed
        self.host, self.port = parse_listen(listen)
        self.use_pty = pty
        self.baud = baud
        self.faults = Faults.parse(faults) if isinstance(faults, str) else (faults or Faults())
        self.hello_on_connect = hello_on_connect
        self.url: str | None = None
        self.connections: list[_Connection] = []
        #: Per connection number, what the faults did to each outgoing frame (see
        #: FaultInjector.history): kept after the connection closes, for tests and logs.
        self.fault_history: dict[int, list[str]] = {}
        self._numbers = itertools.count(1)
        self._server: asyncio.base_events.Server | None = None
        self._pty: PtyPair | None = None
        self._pty_connection: _Connection | None = None
        self._pty_task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[object]] = set()
        self._pty_pending = bytearray()
        self._thread_loop: asyncio.AbstractEventLoop | None = None

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
        log.info("%s serving on %s", self._describe(), self.url)
        return self.url

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
            return await asyncio.start_server(self._accept, host, self.port)
        except OSError as exc:
            raise LinkError(f"cannot listen on {self.host}:{self.port}: {_os_reason(exc)}") from exc

    def _describe(self) -> str:
        s = self.station
        tables = ", ".join(spec.name for spec in s.data_table_specs()) or "no data tables"
        extras = [f"program {s.program.name}", tables]
        if self.faults.active:
            extras.append(f"faults {self.faults}")
        if self.baud:
            extras.append(f"paced to {self.baud} baud")
        if s.security[0]:
            extras.append("security code set")
        text = f"emulated {s.model.name} node {s.node} '{s.station_name}' ({'; '.join(extras)})"
        for node, child in sorted(s.neighbours.items()):
            text += f", routing to {child.model.name} node {node} '{child.station_name}'"
        return text

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.shutdown()
        handlers = [t for t in self._handlers if t is not asyncio.current_task()]
        if handlers:  # closing their connections ends them; cancel what lingers
            _, lingering = await asyncio.wait(handlers, timeout=2.0)
            for task in lingering:
                task.cancel()
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

    async def __aenter__(self) -> LoggerEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = next(self._numbers)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        peer = _peer_text(writer.get_extra_info("peername"))
        log.info("connection %d from %s", number, peer)
        conn = _Connection(self, number, writer.write, writer.close, writer.drain)
        self.connections.append(conn)
        conn.start()
        if self.hello_on_connect:
            hello = conn.port.hello_request()
            conn.send(Outgoing(hello.packet, HELLO_REQUEST_DELAY))
        reason = ""
        try:
            while not conn.closed:
                data = await reader.read(4096)
                if not data:
                    break
                await conn.feed(data)
        except OSError as exc:  # ConnectionResetError and friends
            reason = f" ({exc.strerror or exc})"
        except asyncio.CancelledError:  # the emulator is stopping; the handler ends here
            reason = " (emulator stopping)"
        finally:
            conn.shutdown()
            with contextlib.suppress(ValueError):
                self.connections.remove(conn)
            if task is not None:
                self._handlers.discard(task)
            log.info("connection %d from %s closed%s %s", number, peer, reason, conn.summary())

    def _start_pty(self) -> str:
        pair = open_pty(self.baud or PTY_DEFAULT_BAUD)
        self._pty = pair
        os.set_blocking(pair.master_fd, False)
        conn = _Connection(
            self, next(self._numbers), self._pty_write, self._pty_closed, self._pty_drain
        )
        self._pty_connection = conn
        self.connections.append(conn)
        conn.start()
        self._pty_task = asyncio.get_running_loop().create_task(self._pty_serve(pair, conn))
        return pair.url

    async def _pty_serve(self, pair: PtyPair, conn: _Connection) -> None:
        """Read the line and answer it; not reading while answers are being worked out,
        so a busy or back-pressured line does not spin the event loop."""
        loop = asyncio.get_running_loop()
        fd = pair.master_fd
        readable = asyncio.Event()
        last_hello = -WAKE_HELLO_INTERVAL
        while not pair.closed:
            readable.clear()
            loop.add_reader(fd, readable.set)
            try:
                await readable.wait()
            finally:
                with contextlib.suppress(Exception):
                    loop.remove_reader(fd)
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                continue
            except OSError as exc:  # EIO while no client holds the slave: keep serving
                log.debug("pty read: %s", exc)
                await asyncio.sleep(0.1)
                continue
            if not data:
                continue
            now = time.monotonic()
            if (
                self.hello_on_connect
                and now - last_hello >= WAKE_HELLO_INTERVAL
                and not conn.port.decoder.in_frame
                and len(data) >= 2
                and data.count(b"\xbd") == len(data)
            ):
                log.debug("line woken by sync bytes: answering with a Hello Request")
                conn.send(Outgoing(conn.port.hello_request().packet, HELLO_REQUEST_DELAY))
                last_hello = now
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

    def _pty_closed(self) -> None:
        pass

    # --- blocking helpers ---------------------------------------------------------------

    @contextlib.contextmanager
    def running(self, timeout: float = 10.0) -> Iterator[LoggerEmulator]:
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

        thread = threading.Thread(target=run, name="fieldlink-logger-emulator", daemon=True)
        thread.start()
        if not ready.wait(timeout):
            raise LinkError("the logger emulator did not start in time")
        if failure:
            thread.join(timeout)
            loop.close()
            raise failure[0]
        self._thread_loop = loop
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            self._thread_loop = None
            if thread.is_alive():  # still busy: leave the daemon thread its loop
                log.warning("the logger emulator did not stop within %g s", timeout)
            else:
                loop.close()


class EmulatorProcess:
    """``fieldlink emulate logger`` running as a child process."""

    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process = process
        self.url = url

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait, and return the exit status (it should be 0)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def spawn_logger_emulator(
    *args: str,
    python: str = sys.executable,
    timeout: float = 20.0,
    stderr: int | None = None,
    env: dict[str, str] | None = None,
    verbose: int = 0,
) -> EmulatorProcess:
    """Start ``python -m fieldlink [-v...] emulate logger ARGS...`` and read its URL.

    The URL is the first line the command prints; ``--listen 127.0.0.1:0`` is added
    unless ``--listen`` or ``--pty`` is among ``args``, so parallel tests never clash.
    ``verbose`` is the number of ``-v`` (more log on ``stderr``).
    """
    argv = list(args)
    if "--listen" not in argv and "--pty" not in argv:
        argv += ["--listen", "127.0.0.1:0"]
    process = subprocess.Popen(
        [python, "-m", "fieldlink", *["-v"] * verbose, "emulate", "logger", *argv],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    fd = process.stdout.fileno()
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            code = process.poll()
            if code is None:
                process.kill()
                process.wait()
            raise LinkError(
                f"the logger emulator did not print its URL (exit status {process.returncode})"
            )
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.2))
        if ready:
            chunk = os.read(fd, 1)
            if not chunk:
                continue
            line += chunk
    return EmulatorProcess(process, line.decode().strip())
