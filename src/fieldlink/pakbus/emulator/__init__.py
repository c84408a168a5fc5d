"""A virtual CR1000-family datalogger that speaks PakBus through the shared codec.

``station`` and its helpers model the logger's state (tables filling as time
passes, files, programs, settings, security); ``device`` answers each message
without I/O; ``server`` serves a device over TCP or a pseudo-terminal with
faults and baud pacing; ``cli`` is ``fieldlink emulate logger``.
"""

from fieldlink.kit.faults import Faults
from fieldlink.pakbus.emulator.server import (
    DEFAULT_PORT,
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
