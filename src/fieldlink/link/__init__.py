"""Byte streams from link URLs: TCP, UDP, serial ports and pyserial URLs, blocking or asyncio.

Every instrument family opens its connection here, so a user writes the same URL
(``tcp:HOST:PORT``, ``serial:/dev/ttyUSB0:38400``, ``loop://`` ...) everywhere,
and protocol code never sees a socket or a serial port.
"""

from fieldlink.errors import LinkClosed, LinkError, LinkTimeout, LinkURLError
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
