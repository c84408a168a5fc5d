"""Link faults an emulator injects on purpose: dropped, corrupted, late answers, cut lines.

Collectors must survive bad links, and the only way to test that without a radio
in the rain is to make the emulator misbehave, reproducibly: each connection draws
its faults from its own random generator seeded with the emulator's ``--seed`` and
the connection's ordinal, so a rerun with the same seed and the same client
conversation meets the same faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from fieldlink.errors import UsageError

__all__ = ["FaultInjector", "Faults"]

_KEYS = ("drop", "corrupt", "delay", "disconnect-after")


@dataclass(frozen=True, slots=True)
class Faults:
    """What goes wrong with outgoing frames.

    ``drop``/``corrupt``: share (0..1) of frames dropped or sent with a damaged byte;
    ``delay``: seconds added before every frame; ``disconnect_after``: close the
    connection once this many bytes have been sent (mid-frame, as a cut line does).
    """

    drop: float = 0.0
    corrupt: float = 0.0
    delay: float = 0.0
    disconnect_after: int | None = None

    def __post_init__(self) -> None:
        for name in ("drop", "corrupt"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise UsageError(f"fault {name}={value} must be a share between 0 and 1")
        if not 0.0 <= self.delay <= 60.0:
            raise UsageError(f"fault delay={self.delay} must be 0..60 seconds")
        if self.disconnect_after is not None and self.disconnect_after < 1:
            raise UsageError("fault disconnect-after must be a positive number of bytes")

    @property
    def active(self) -> bool:
        return bool(self.drop or self.corrupt or self.delay or self.disconnect_after)

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """``"drop=0.05,corrupt=0.01,delay=0.2,disconnect-after=50000"`` (any subset)."""
        values: dict[str, float | int] = {}
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            key, eq, text = part.partition("=")
            key = key.strip().lower().replace("_", "-")
            if not eq or key not in _KEYS:
                raise UsageError(f"bad fault {part!r}: use {', '.join(k + '=...' for k in _KEYS)}")
            if key in values:
                raise UsageError(f"bad faults {spec!r}: {key} is given twice")
            try:
                values[key] = int(text) if key == "disconnect-after" else float(text)
            except ValueError:
                kind = "a whole number of bytes" if key == "disconnect-after" else "a number"
                raise UsageError(f"bad fault {part!r}: {text.strip()!r} is not {kind}") from None
        return cls(
            drop=float(values.get("drop", 0.0)),
            corrupt=float(values.get("corrupt", 0.0)),
            delay=float(values.get("delay", 0.0)),
            disconnect_after=int(values["disconnect-after"])
            if "disconnect-after" in values
            else None,
        )

    def __str__(self) -> str:
        """The spec :meth:`parse` reads back: the faults that are on (empty: none)."""
        parts = [
            f"{name}={value:g}"
            for name, value in (
                ("drop", self.drop),
                ("corrupt", self.corrupt),
                ("delay", self.delay),
            )
            if value
        ]
        if self.disconnect_after is not None:
            parts.append(f"disconnect-after={self.disconnect_after}")
        return ",".join(parts)


class FaultInjector:
    """Applies :class:`Faults` to one connection's outgoing units (frames, replies, packets)."""

    def __init__(
        self, faults: Faults, seed: int, connection: int, *, keep_clear: bytes = b""
    ) -> None:
        self.faults = faults
        #: Byte values a corruption never produces: a family's framing bytes (PakBus'
        #: 0xBC/0xBD), so that a damaged frame stays one damaged frame, as on a real line.
        self.keep_clear = frozenset(keep_clear)
        self._rng = random.Random(f"fieldlink-faults:{seed}:{connection}")
        self.sent = 0
        self.dropped = 0
        self.corrupted = 0
        #: What happened to each outgoing frame, in order: "sent", "dropped", "corrupted"
        #: (kept only while some fault is active: a fault-free link would just grow it).
        self.history: list[str] = []
        self._record = faults.active

    def apply(self, frame: bytes) -> bytes | None:
        """The frame as it goes out: None when dropped, else possibly damaged."""
        f = self.faults
        # Draw both numbers every time so one fault's share does not shift the other's.
        drop, corrupt = self._rng.random(), self._rng.random()
        if drop < f.drop:
            self.dropped += 1
            self._note("dropped")
            return None
        if corrupt < f.corrupt and len(frame) > 2:
            self.corrupted += 1
            self._note("corrupted")
            pos = self._rng.randrange(1, len(frame) - 1)
            damaged = bytearray(frame)
            value = damaged[pos] ^ (1 << self._rng.randrange(8))
            damaged[pos] = value if value not in self.keep_clear else value ^ 0x40
            return bytes(damaged)
        self._note("sent")
        return frame

    def _note(self, what: str) -> None:
        if self._record:
            self.history.append(what)

    def allowance(self, size: int) -> int:
        """How many of the next ``size`` bytes may still go before the line is cut."""
        limit = self.faults.disconnect_after
        if limit is None:
            return size
        return max(0, min(size, limit - self.sent))
