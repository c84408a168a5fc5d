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
from fieldlink.pakbus.emulator.config import StationConfig, load_station
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
#: Baud rate a pseudo-terminal announces when no --baud is given (no pacing then).
PTY_DEFAULT_BAUD = 115_200
#: Bytes written at once when pacing to a baud rate.
_PACE_CHUNK = 64


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
    """One client link: reads into a DevicePort, writes its answers paced and faulted."""

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
        emulator.fault_history[number] = self.faults.history
        self._write = write
        self._close = close
        self._drain = drain
        self._queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self.closed = False

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    def received(self, data: bytes) -> None:
        for out in self.port.receive(data):
            self.send(out)

    def send(self, out: Outgoing) -> None:
        if self.closed:
            return
        if out.delay > 0:
            loop = asyncio.get_running_loop()
            self._timers.append(loop.call_later(out.delay, self._enqueue, out))
        else:
            self._enqueue(out)

    def _enqueue(self, out: Outgoing) -> None:
        if not self.closed:
            self._queue.put_nowait((time.monotonic(), out.to_wire()))

    async def _write_loop(self) -> None:
        baud = self.emulator.baud
        latency = self.emulator.faults.delay
        try:
            while True:
                queued_at, frame = await self._queue.get()
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
                if allowed < len(damaged):
                    log.info(
                        "connection %d: cut after %d bytes (fault)", self.number, self.faults.sent
                    )
                    self.shutdown()
                    return
        except (ConnectionError, OSError) as exc:
            log.info("connection %d: write failed: %s", self.number, exc)
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

    def shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        for timer in self._timers:
            timer.cancel()
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
            try:
                self._server = await asyncio.start_server(self._accept, self.host, self.port)
            except OSError as exc:
                raise LinkError(
                    f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
                ) from exc
            sock = self._server.sockets[0].getsockname()
            host = f"[{sock[0]}]" if ":" in sock[0] else sock[0]
            self.url = f"tcp:{host}:{sock[1]}"
        log.info(
            "emulated %s node %d (%s) serving on %s",
            self.station.model.name,
            self.station.node,
            self.station.station_name,
            self.url,
        )
        return self.url

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.shutdown()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None
        if self._pty is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._pty.master_fd)
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
        peer = writer.get_extra_info("peername")
        log.info("connection %d from %s", number, peer)
        conn = _Connection(self, number, writer.write, writer.close, writer.drain)
        self.connections.append(conn)
        conn.start()
        if self.hello_on_connect:
            hello = conn.port.hello_request()
            conn.send(Outgoing(hello.packet, HELLO_REQUEST_DELAY))
        try:
            while not conn.closed:
                data = await reader.read(4096)
                if not data:
                    break
                conn.received(data)
        except (ConnectionError, OSError) as exc:
            log.info("connection %d: %s", number, exc)
        finally:
            conn.shutdown()
            with contextlib.suppress(ValueError):
                self.connections.remove(conn)
            log.info(
                "connection %d closed (%d frames in, %d dropped as damaged)",
                number,
                conn.port.decoder.stats.frames,
                conn.port.decoder.stats.dropped,
            )

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
        asyncio.get_running_loop().add_reader(pair.master_fd, self._pty_readable)
        return pair.url

    def _pty_readable(self) -> None:
        if self._pty is None or self._pty_connection is None:
            return
        try:
            data = os.read(self._pty.master_fd, 4096)
        except BlockingIOError:
            return
        except OSError as exc:  # EIO while no client holds the slave: keep serving
            log.debug("pty read: %s", exc)
            return
        if data:
            self._pty_connection.received(data)

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
            loop.close()
            self._thread_loop = None


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
) -> EmulatorProcess:
    """Start ``python -m fieldlink emulate logger ARGS...`` and read its URL.

    The URL is the first line the command prints; ``--listen 127.0.0.1:0`` is added
    unless ``--listen`` or ``--pty`` is among ``args``, so parallel tests never clash.
    """
    argv = list(args)
    if "--listen" not in argv and "--pty" not in argv:
        argv += ["--listen", "127.0.0.1:0"]
    process = subprocess.Popen(
        [python, "-m", "fieldlink", "emulate", "logger", *argv],
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
