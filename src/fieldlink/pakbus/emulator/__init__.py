"""A virtual CR1000-family datalogger that speaks PakBus through the shared codec.

``station`` and its helpers model the logger's state (tables filling as time
passes, files, programs, settings, security); ``device`` answers each message
without I/O; ``server`` serves a device over TCP or a pseudo-terminal with
faults and baud pacing; ``cli`` is ``fieldlink emulate logger``.  The names are
imported on first use (PEP 562), so that ``fieldlink emulate logger --help`` does
not load the server, asyncio and the codec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldlink.kit.faults import Faults
from fieldlink.kit.lazy import lazy_exports
from fieldlink.pakbus.defaults import DEFAULT_PORT

if TYPE_CHECKING:
    from fieldlink.pakbus.emulator.server import (
        EmulatorProcess,
        LoggerEmulator,
        parse_listen,
        spawn_logger_emulator,
    )

__all__ = [
    "DEFAULT_PORT",
    "EmulatorProcess",
    "Faults",
    "LoggerEmulator",
    "parse_listen",
    "spawn_logger_emulator",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "EmulatorProcess": "server",
        "LoggerEmulator": "server",
        "parse_listen": "server",
        "spawn_logger_emulator": "server",
    },
)
