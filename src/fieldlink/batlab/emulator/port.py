"""The emulated unit as the kit's emulator host sees it: one :class:`BatlabPort` per link.

The port frames the way the firmware does (0xAA and four more bytes, no checks), asks
the unit for each answer, and on every tick hands over the stream packets that came
due.  A pty has one link; on TCP several clients share one unit and its stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fieldlink.batlab.codec import CommandFramer
from fieldlink.kit.device import BasePort, Outgoing

if TYPE_CHECKING:
    from fieldlink.batlab.emulator.unit import BatlabUnit

__all__ = ["BatlabPort"]


class BatlabPort(BasePort):
    """One client link to a :class:`~fieldlink.batlab.emulator.unit.BatlabUnit`."""

    #: Stream packets are due on the 10 Hz timer; poll twice as often.
    tick_interval: float | None = 0.05

    def __init__(self, unit: BatlabUnit, number: int = 1) -> None:
        self.unit = unit
        self.number = number
        self._framer = CommandFramer()

    def frames(self, data: bytes) -> Sequence[bytes]:
        return self._framer.feed(data)

    def answer(self, unit: bytes) -> Sequence[Outgoing]:
        reply = self.unit.handle(unit)
        return () if reply is None else (Outgoing(reply),)

    def tick(self, now: float) -> Sequence[Outgoing]:
        self.unit.advance()
        return tuple(Outgoing(p) for p in self.unit.take_stream())

    def closed(self) -> None:
        self._framer.reset()

    def summary(self) -> str:
        u = self.unit
        return (
            f"{u.answered} answered, {u.ignored} unanswered, {self._framer.discarded} stray bytes"
        )

    @property
    def in_unit(self) -> bool:
        return self._framer.pending > 0
