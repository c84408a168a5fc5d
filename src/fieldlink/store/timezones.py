"""Station time zones: parse what a user writes in a config, convert logger time to UTC.

Loggers keep naive local time and know nothing of zones, so the zone is declared per
station.  People write either an IANA name (``Europe/Paris``) or a fixed offset
(``+01:00``, ``UTC-7``, ``UTC+05:30``); most field loggers run on a fixed offset all
year, which is why fixed offsets must be easy to say.  ``UTC-7`` means seven hours
*behind* UTC, as people read it — not the inverted POSIX ``Etc/GMT+7`` sense (which
is still accepted, as the IANA name it is).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fieldlink.errors import ConfigError

_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_UTC_NAMES = frozenset({"UTC", "GMT", "Z", "UTC0", "GMT0"})


@functools.lru_cache(maxsize=64)
def parse_timezone(text: str) -> dt.tzinfo:
    """Return the zone named by ``text``; a bad name raises ConfigError saying what is accepted."""
    s = text.strip()
    if s.upper() in _UTC_NAMES:
        return dt.UTC
    m = _OFFSET.fullmatch(s)
    if m:
        sign, hours, minutes = m.group(1), int(m.group(2)), int(m.group(3) or 0)
        if hours > 14 or minutes >= 60 or (hours == 14 and minutes):
            raise ConfigError(f"time zone offset {text!r} is out of range (-14:00 .. +14:00)")
        delta = dt.timedelta(hours=hours, minutes=minutes)
        return dt.timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(s)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(
            f"unknown time zone {text!r}: give an IANA name such as 'Europe/Paris' "
            "or a UTC offset such as '+01:00' or 'UTC-7'"
        ) from None


def local_to_utc(local: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """Naive logger-local time -> naive UTC.

    A local time that occurs twice (the hour after a DST fall-back) is taken as the
    first occurrence (``fold=0``); loggers that follow DST cannot tell either.
    """
    aware = local.replace(tzinfo=zone)
    return aware.astimezone(dt.UTC).replace(tzinfo=None)
