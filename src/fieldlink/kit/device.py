"""What an emulator's device model offers the emulator host (:mod:`fieldlink.kit.host`).

A device model is sans-I/O: bytes in, bytes out, never a socket, a thread or a sleep.
The host opens one :class:`Port` per client link (a TCP connection, the pty) and owns
everything else -- accepting, pacing, faults, back-pressure, the URL line, signals.

A port splits what a client sends into *units* (a PakBus frame, a TDR100 command
line, a Modbus ADU, a Batlab packet) with :meth:`Port.frames`, and the host answers
them one at a time with :meth:`Port.answer`, letting other links run in between.
Each answer is a list of :class:`Outgoing`: bytes and the delay after which they go
out (a busy instrument answers later; a Please Wait goes at once).  Faults apply per
outgoing unit, so ``drop=0.1`` loses one answer in ten, as a noisy line does.
Unsolicited output (PakBus' Hello Request after a TCP accept, Batlab's stream packets)
comes from :meth:`Port.opened` and, every :attr:`Port.tick_interval` seconds, from
:meth:`Port.tick`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["BasePort", "DeviceModel", "Outgoing", "Port"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Bytes a device sends, ``delay`` seconds after the unit that caused them."""

    data: bytes
    delay: float = 0.0


class Port(Protocol):
    """One client link's view of a device model."""

    #: Seconds between calls of :meth:`tick` (None: the device never speaks unasked).
    tick_interval: float | None
    #: What a unit is called in the host's log ("frames", "commands", "packets").
    unit_name: str

    def frames(self, data: bytes) -> Sequence[bytes]:
        """The complete units ``data`` finishes (partial ones are kept for next time)."""
        ...

    def answer(self, unit: bytes) -> Sequence[Outgoing]:
        """What the device sends back for one unit.  Never raises: a bad unit is
        answered as the device answers it (an error reply) or counted and dropped."""
        ...

    def opened(self) -> Sequence[Outgoing]:
        """Unsolicited output when a client connects (TCP) or the host starts (pty)."""
        ...

    def woken(self, data: bytes, now: float) -> Sequence[Outgoing]:
        """Unsolicited output for bytes that complete no unit (a wake-up burst)."""
        ...

    def tick(self, now: float) -> Sequence[Outgoing]:
        """Unsolicited output due at ``now`` (monotonic seconds)."""
        ...

    def closed(self) -> None:
        """The link is gone: forget what it left unfinished."""
        ...

    def summary(self) -> str:
        """How the link went, for the one log line when it closes."""
        ...

    @property
    def in_unit(self) -> bool:
        """True while part of a unit has arrived (the host does not wake the line then)."""
        ...


class DeviceModel(Protocol):
    """A device the host serves: one shared state, one :class:`Port` per link."""

    def open_port(self, number: int) -> Port:
        """A port for client link ``number`` (1, 2, ... in the order they connect)."""
        ...

    def describe(self) -> str:
        """One line for the log: what is being served."""
        ...


class BasePort:
    """Defaults for the optional parts of :class:`Port`: a port that only answers."""

    tick_interval: float | None = None
    unit_name: str = "frames"

    def opened(self) -> Sequence[Outgoing]:
        return ()

    def woken(self, data: bytes, now: float) -> Sequence[Outgoing]:
        return ()

    def tick(self, now: float) -> Sequence[Outgoing]:
        return ()

    def closed(self) -> None:
        return None

    def summary(self) -> str:
        return ""

    @property
    def in_unit(self) -> bool:
        return False
