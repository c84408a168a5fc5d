"""Several Batlabs on one host: discovery by USB IDs, hot-plug watching, an active unit.

A Batlab's USB identity is Microchip's generic CDC pair, VID 0x04D8 / PID 0x000A,
with no serial-number string (batlab.md §1): discovery therefore lists serial ports
with that pair through pyserial, and a unit's *serial number* is only known after
the handshake.  Explicit ports (emulators' ptys, a port the user named) are watched
the same way -- present when the device path exists -- so plugging and unplugging
an emulator looks like plugging and unplugging a unit.

The pool's view is refreshed by :meth:`Pool.refresh` (one scan), or every
``interval`` seconds by a background thread (:meth:`Pool.start`); every change is
an event, kept in a bounded queue and passed to ``on_event``.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from fieldlink.batlab.client import Batlab
from fieldlink.errors import FieldlinkError, NotFound

__all__ = ["BATLAB_PID", "BATLAB_VID", "Pool", "PoolEvent", "close_quietly", "discover_ports"]

log = logging.getLogger("fieldlink.batlab.pool")

BATLAB_VID: Final = 0x04D8
BATLAB_PID: Final = 0x000A
#: Events kept for :meth:`Pool.events` (older ones are dropped).
EVENT_BACKLOG: Final = 1000


def discover_ports() -> list[str]:
    """Device paths of attached Batlabs (pyserial's port list, filtered by VID/PID)."""
    from serial.tools import list_ports  # looked up each time: tests replace comports

    found = [
        p.device
        for p in list_ports.comports()
        if p.vid == BATLAB_VID and p.pid == BATLAB_PID and p.device
    ]
    return sorted(found)


class EventKind(enum.Enum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    ACTIVE = "active"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PoolEvent:
    kind: EventKind
    port: str
    serial: int | None = None
    detail: str = ""

    def __str__(self) -> str:
        sn = f" (SN {self.serial})" if self.serial is not None else ""
        extra = f": {self.detail}" if self.detail else ""
        return f"Batlab on {self.port}{sn} {self.kind.value}{extra}"


def _present(port: str) -> bool:
    """Whether an explicit port is there: a device path exists; a URL is assumed present."""
    if port.startswith("/"):
        return os.path.exists(port)
    if port.startswith("serial:"):
        device = port.split(":")[1]
        return not device.startswith("/") or os.path.exists(device)
    return True


class Pool:
    """The Batlabs attached to this host, by port and by serial number.

    ``ports``: watch these ports instead of USB discovery.  ``opener`` connects a
    port (the handshake runs then); a port that fails to open is reported and
    retried at the next scan.
    """

    def __init__(
        self,
        ports: Sequence[str] | None = None,
        *,
        opener: Callable[[str], Batlab] = Batlab,
        on_event: Callable[[PoolEvent], None] | None = None,
        interval: float = 0.5,
        keepalive: float | None = None,
    ) -> None:
        self.explicit = list(ports) if ports else None
        self.opener = opener
        self.on_event = on_event
        self.interval = interval
        #: Kick every unit's watchdog this often while watching (None: never), so cells
        #: started by hand (the shell) keep running, as the official pool's threads do.
        self.keepalive = keepalive
        self._units: dict[str, Batlab] = {}
        self._active: str | None = None
        self._lock = threading.RLock()
        self._events: queue.Queue[PoolEvent] = queue.Queue(maxsize=EVENT_BACKLOG)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- scanning ---------------------------------------------------------------------------

    def candidates(self) -> list[str]:
        if self.explicit is not None:
            return [p for p in self.explicit if _present(p)]
        return discover_ports()

    def refresh(self) -> list[PoolEvent]:
        """One scan: connect new ports, drop vanished ones.  Returns the events."""
        events: list[PoolEvent] = []
        present = set(self.candidates())
        with self._lock:
            for port in [p for p in self._units if p not in present]:
                unit = self._units.pop(port)
                close_quietly(unit)
                events.append(PoolEvent(EventKind.DISCONNECTED, port, unit.serial))
                if self._active == port:
                    self._active = None
            new = [p for p in sorted(present) if p not in self._units]
        for port in new:
            try:
                unit = self.opener(port)
            except FieldlinkError as exc:
                events.append(PoolEvent(EventKind.FAILED, port, detail=str(exc)))
                continue
            with self._lock:
                self._units[port] = unit
                events.append(PoolEvent(EventKind.CONNECTED, port, unit.serial))
                if self._active is None:
                    self._active = port
                    events.append(PoolEvent(EventKind.ACTIVE, port, unit.serial))
        with self._lock:
            if self._active is None and self._units:
                self._active = sorted(self._units)[0]
                unit = self._units[self._active]
                events.append(PoolEvent(EventKind.ACTIVE, self._active, unit.serial))
        for event in events:
            self._post(event)
        return events

    def _post(self, event: PoolEvent) -> None:
        log.info("%s", event)
        if self._events.full():
            with contextlib.suppress(queue.Empty):
                self._events.get_nowait()
        self._events.put_nowait(event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a listener's bug must not stop hot-plug watching
                log.exception("pool event listener failed")

    def events(self) -> list[PoolEvent]:
        """Events since the last call (oldest first)."""
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    # --- background watching ----------------------------------------------------------------

    def start(self) -> Pool:
        """Watch for plug and unplug in a daemon thread (scans every ``interval`` s)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._watch, name="batlab-pool", daemon=True)
            self._thread.start()
        return self

    def _watch(self) -> None:
        kicked = 0.0
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # keep watching whatever one scan ran into
                log.exception("batlab pool scan failed")
            now = time.monotonic()
            if self.keepalive is not None and now - kicked >= self.keepalive:
                kicked = now
                self.kick_all()
            self._stop.wait(self.interval)

    def kick_all(self) -> None:
        """Kick the watchdog of every connected unit (a unit that fails is left to the scan)."""
        for unit in self.units.values():
            try:
                unit.kick_watchdog()
            except FieldlinkError as exc:
                log.info("watchdog kick of %s failed: %s", unit.port, exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self) -> None:
        self.stop()
        with self._lock:
            for unit in self._units.values():
                close_quietly(unit)
            self._units.clear()
            self._active = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- lookup -----------------------------------------------------------------------------

    @property
    def units(self) -> dict[str, Batlab]:
        with self._lock:
            return dict(self._units)

    def by_serial(self) -> dict[int, Batlab]:
        return {u.serial: u for u in self.units.values()}

    @property
    def active(self) -> Batlab | None:
        with self._lock:
            return None if self._active is None else self._units.get(self._active)

    def select(self, which: str | int) -> Batlab:
        """Make a unit active, by serial number or port; NotFound if it is not connected."""
        with self._lock:
            for port, unit in self._units.items():
                if which in (port, unit.serial) or str(which) == str(unit.serial):
                    self._active = port
                    self._post(PoolEvent(EventKind.ACTIVE, port, unit.serial))
                    return unit
        raise NotFound(f"no connected Batlab with serial number or port {which!r}")

    def get(self, which: str | int) -> Batlab:
        for port, unit in self.units.items():
            if which in (port, unit.serial) or str(which) == str(unit.serial):
                return unit
        raise NotFound(f"no connected Batlab with serial number or port {which!r}")


def close_quietly(unit: Batlab) -> None:
    """Close ``unit``; one that is already gone (unplugged) is no error here."""
    with contextlib.suppress(OSError, FieldlinkError):
        unit.close()
