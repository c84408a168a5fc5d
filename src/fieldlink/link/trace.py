"""Hex traces of every byte a link moves, for debugging a conversation with a device.

Field problems are mostly "what did the logger actually send?", so every read and
write can be logged as hex on the ``fieldlink.link`` logger.  The check comes first
so that, with DEBUG off, a busy link pays one cached level test and no formatting.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("fieldlink.link")


def trace(direction: str, where: object, data: bytes) -> None:
    """Log ``data`` as hex; ``direction`` is ``"tx"`` or ``"rx"``."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s %s %d bytes: %s", where, direction, len(data), data.hex(" "))
