"""Byte streams from link URLs: TCP, UDP, serial ports and pyserial URLs, blocking or asyncio.

Every instrument family opens its connection here, so a user writes the same URL
(``tcp:HOST:PORT``, ``serial:/dev/ttyUSB0:38400``, ``loop://`` ...) everywhere,
and protocol code never sees a socket or a serial port.

The names are imported on first use (PEP 562): reading a URL loads neither asyncio
nor pyserial, and a blocking link does not load asyncio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldlink.errors import LinkClosed, LinkError, LinkTimeout, LinkURLError
from fieldlink.kit.lazy import lazy_exports

if TYPE_CHECKING:
    from fieldlink.link.aio import AsyncLink, open_async_link
    from fieldlink.link.pty import PtyPair, open_pty
    from fieldlink.link.sync import Link, open_link
    from fieldlink.link.throttle import (
        bits_per_character,
        bytes_per_second,
        transmit_seconds,
        url_transmit_seconds,
    )
    from fieldlink.link.url import PYSERIAL_SCHEMES, LinkURL, parse_framing, parse_url

__all__ = [
    "PYSERIAL_SCHEMES",
    "AsyncLink",
    "Link",
    "LinkClosed",
    "LinkError",
    "LinkTimeout",
    "LinkURL",
    "LinkURLError",
    "PtyPair",
    "bits_per_character",
    "bytes_per_second",
    "open_async_link",
    "open_link",
    "open_pty",
    "parse_framing",
    "parse_url",
    "transmit_seconds",
    "url_transmit_seconds",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "AsyncLink": "aio",
        "open_async_link": "aio",
        "PtyPair": "pty",
        "open_pty": "pty",
        "Link": "sync",
        "open_link": "sync",
        "bits_per_character": "throttle",
        "bytes_per_second": "throttle",
        "transmit_seconds": "throttle",
        "url_transmit_seconds": "throttle",
        "PYSERIAL_SCHEMES": "url",
        "LinkURL": "url",
        "parse_framing": "url",
        "parse_url": "url",
    },
)
