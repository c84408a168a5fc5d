"""Durations as people write them in a stations file.

Collection intervals and retry delays read best as ``"15m"`` or ``"1h30m"``.
The parser raises :class:`ValueError` saying what was expected; the config
loader adds the file, line and key.
"""

from __future__ import annotations

import re

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)", re.IGNORECASE)
_WHOLE = re.compile(r"\s*(?:\d+(?:\.\d+)?\s*(?:ms|d|h|m|s)\s*)+", re.IGNORECASE)

DURATION_HINT = 'a duration such as 30 (seconds), "90s", "15m", "1h30m" or "1d"'


def parse_duration(value: object) -> float:
    """Seconds from a number of seconds or a string of ``<number><unit>`` parts."""
    if isinstance(value, bool):
        raise ValueError(f"expected {DURATION_HINT}, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _WHOLE.fullmatch(value):
        seconds = sum(float(n) * _UNITS[u.lower()] for n, u in _PART.findall(value))
    else:
        raise ValueError(f"expected {DURATION_HINT}, got {value!r}")
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        raise ValueError(f"expected {DURATION_HINT} (not negative), got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """The inverse of :func:`parse_duration`, for messages and the status table."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms" if seconds else "0s"
    whole = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)
