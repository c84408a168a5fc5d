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

import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from fieldlink.kit.device import BasePort, Outgoing
from fieldlink.kit.faults import Faults
from fieldlink.kit.host import EmulatorHost, parse_listen
from fieldlink.kit.spawn import EmulatorProcess, spawn_emulator
from fieldlink.pakbus.defaults import DEFAULT_PORT
from fieldlink.pakbus.emulator.config import StationConfig, check_addresses, load_station
from fieldlink.pakbus.emulator.device import Device, DevicePort
from fieldlink.pakbus.emulator.station import Station

__all__ = [
    "DEFAULT_PORT",
    "EmulatorProcess",
    "LoggerEmulator",
    "parse_listen",
    "spawn_logger_emulator",
]

log = logging.getLogger("fieldlink.pakbus.emulator")

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
#: PakBus framing bytes: a corruption fault never produces them, so that a damaged
#: frame stays one damaged frame (as bit errors on a real line mostly do).
_FRAMING_BYTES = b"\xbc\xbd"


class _LoggerPort(BasePort):
    """One link to the logger, as the kit's host sees it: PakBus frames in, frames out."""

    def __init__(self, emulator: LoggerEmulator, number: int, *, pty: bool) -> None:
        self.emulator = emulator
        self.number = number
        self.link = DevicePort(emulator.device, client=number)
        self._pty = pty
        self._last_hello = float("-inf")

    @property
    def in_unit(self) -> bool:
        return self.link.decoder.in_frame

    def frames(self, data: bytes) -> Sequence[bytes]:
        return self.link.frames(data)

    def answer(self, unit: bytes) -> Sequence[Outgoing]:
        return [Outgoing(out.to_wire(), out.delay) for out in self.link.answer(unit)]

    def _hello(self) -> Sequence[Outgoing]:
        return [Outgoing(self.link.hello_request().to_wire(), HELLO_REQUEST_DELAY)]

    def opened(self) -> Sequence[Outgoing]:
        """Like a CR1000 behind an NL1xx: a broadcast Hello Request after each TCP accept."""
        if self._pty or not self.emulator.hello_on_connect:
            return ()
        return self._hello()

    def woken(self, data: bytes, now: float) -> Sequence[Outgoing]:
        """A burst of sync bytes on the serial line (see :data:`WAKE_HELLO_INTERVAL`)."""
        if (
            not self.emulator.hello_on_connect
            or now - self._last_hello < WAKE_HELLO_INTERVAL
            or len(data) < 2
            or data.count(b"\xbd") != len(data)
        ):
            return ()
        log.debug("line woken by sync bytes: answering with a Hello Request")
        self._last_hello = now
        return self._hello()

    def closed(self) -> None:
        self.emulator.station.forget_uploads(self.number)  # File Sends it left unfinished

    def summary(self) -> str:
        stats = self.link.decoder.stats
        parts = []
        if stats.dropped:
            parts.append(f"{stats.dropped} damaged frames dropped")
        if self.link.failures:
            parts.append(f"{self.link.failures} delivery failures sent")
        if self.link.ignored:
            parts.append(f"{self.link.ignored} frames for other nodes ignored")
        return ", ".join(parts)


class LoggerEmulator(EmulatorHost):
    """A virtual logger: one :class:`Station`, served to many clients by the kit's host.

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
        self.hello_on_connect = hello_on_connect
        super().__init__(
            self,
            listen=listen,
            pty=pty,
            baud=baud,
            faults=faults,
            seed=seed,
            keep_clear=_FRAMING_BYTES,
            name="logger",
        )

    # --- the kit's DeviceModel ----------------------------------------------------------

    def open_port(self, number: int) -> _LoggerPort:
        return _LoggerPort(self, number, pty=self.use_pty)

    def describe(self) -> str:
        s = self.station
        tables = ", ".join(spec.name for spec in s.data_table_specs()) or "no data tables"
        extras = [f"program {s.program.name}", tables]
        if s.security[0]:
            extras.append("security code set")
        text = f"emulated {s.model.name} node {s.node} '{s.station_name}' ({'; '.join(extras)})"
        for node, child in sorted(s.neighbours.items()):
            text += f", routing to {child.model.name} node {node} '{child.station_name}'"
        return text


def spawn_logger_emulator(
    *args: str,
    python: str = sys.executable,
    timeout: float = 20.0,
    stderr: int | None = None,
    env: dict[str, str] | None = None,
    verbose: int = 0,
) -> EmulatorProcess:
    """Start ``python -m fieldlink [-v...] emulate logger ARGS...`` and read its URL.

    ``--listen 127.0.0.1:0`` is added unless ``--listen`` or ``--pty`` is among
    ``args``, so parallel tests never clash.
    """
    argv = list(args)
    if "--listen" not in argv and "--pty" not in argv:
        argv += ["--listen", "127.0.0.1:0"]
    return spawn_emulator(
        "logger", *argv, python=python, timeout=timeout, stderr=stderr, env=env, verbose=verbose
    )
