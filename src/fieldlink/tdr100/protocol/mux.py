"""SDMX50 multiplexer paths: which probe a measurement is taken on (tdr100.md §6).

A path is up to three hops, one per multiplexer level, each ``level.channel``
(level 1-3, channel 1-8), written joined by ``/``: ``1.3`` is channel 3 of the
level-1 multiplexer, ``1.3/2.5`` goes on to channel 5 of the level-2 one behind it.
The empty path (``0``) means no multiplexer.  On the wire each hop is one
``SMUX LC`` (a two-digit number, §6; one command per level is the reference's
UNCERTAIN but only consistent reading), sent level 1 first.

A sweep is a comma list of paths and ranges of the last channel: ``1.1-1.8`` or
``1.1-8``, ``1.1-1.4,1.7``, ``1.2/2.1-2.8``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fieldlink.errors import UsageError

__all__ = ["CHANNELS", "LEVELS", "MuxPath", "parse_channels"]

LEVELS = range(1, 4)
CHANNELS = range(1, 9)
#: A sweep longer than this is surely a typo (3 levels x 8 channels each = 512 probes).
MAX_SWEEP = 512


@dataclass(frozen=True, order=True)
class MuxPath:
    """The hops ``((level, channel), ...)`` to one probe, levels strictly increasing."""

    hops: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        last = 0
        for level, channel in self.hops:
            if level not in LEVELS or channel not in CHANNELS:
                raise UsageError(
                    f"multiplexer hop {level}.{channel}: level must be 1-3 and channel 1-8"
                )
            if level <= last:
                raise UsageError(f"multiplexer levels must increase along a path ({self.text})")
            last = level

    @classmethod
    def parse(cls, text: str) -> MuxPath:
        """``"1.3"``, ``"1.3/2.5"``, ``"0"`` or ``""`` (no multiplexer)."""
        text = text.strip()
        if text in ("", "0", "none", "direct"):
            return cls()
        hops = []
        for part in text.split("/"):
            level, sep, channel = part.strip().partition(".")
            if not sep or not level.isdigit() or not channel.isdigit():
                raise UsageError(
                    f"multiplexer path {text!r}: write level.channel hops joined by '/', "
                    "e.g. 1.3 or 1.3/2.5"
                )
            hops.append((int(level), int(channel)))
        return cls(tuple(hops))

    @property
    def text(self) -> str:
        return "/".join(f"{level}.{channel}" for level, channel in self.hops) or "0"

    def __str__(self) -> str:
        return self.text

    def smux_values(self) -> tuple[int, ...]:
        """The ``SMUX`` numbers that select this path, level 1 first (``SMUX 0``: none)."""
        if not self.hops:
            return (0,)
        return tuple(10 * level + channel for level, channel in self.hops)


def parse_channels(spec: str) -> list[MuxPath]:
    """Every path of a sweep such as ``1.1-1.8`` (in the order written, duplicates kept once)."""
    paths: list[MuxPath] = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        first, dash, last = item.partition("-")
        start = MuxPath.parse(first)
        if not dash:
            group = [start]
        else:
            if not start.hops:
                raise UsageError(f"channel range {item!r} needs a multiplexer path before '-'")
            last = last.strip()
            end = MuxPath.parse(last) if "." in last else None
            level, low = start.hops[-1]
            if end is None:
                if not last.isdigit():
                    raise UsageError(f"channel range {item!r}: the end must be a channel or a path")
                high = int(last)
            elif (len(end.hops) > 1 and end.hops[:-1] != start.hops[:-1]) or end.hops[-1][
                0
            ] != level:
                raise UsageError(
                    f"channel range {item!r}: both ends must differ only in the last channel"
                )
            else:
                high = end.hops[-1][1]
            if high < low:
                raise UsageError(f"channel range {item!r} runs backwards")
            group = [MuxPath((*start.hops[:-1], (level, ch))) for ch in range(low, high + 1)]
        for path in group:
            if path not in paths:
                paths.append(path)
                if len(paths) > MAX_SWEEP:
                    raise UsageError(f"a sweep of more than {MAX_SWEEP} probes")
    if not paths:
        raise UsageError("no channels given")
    return paths
