"""Errors of the Batlab family, each a :class:`~fieldlink.errors.FieldlinkError`.

The device has one way to say no -- the value 0x0101 in a write's response -- so
most of what goes wrong is found by the client: a cell that is absent or in
backwards, a safety trip the firmware latched into ERROR, a watchdog that stopped
every cell, a firmware image that cannot be right.
"""

from __future__ import annotations

from fieldlink.errors import DeviceError, LinkClosed, UsageError

__all__ = [
    "BatlabError",
    "BootloadError",
    "CellFault",
    "FirmwareImageError",
    "RegisterRejected",
    "UnitUnplugged",
    "WatchdogTripped",
]


class BatlabError(DeviceError):
    """The Batlab refused or failed a request."""


class RegisterRejected(BatlabError):
    """A write answered 0x0101: read-only register, unknown address, protected serial."""


class CellFault(BatlabError):
    """A cell cannot run what was asked: no cell, in backwards, or a latched safety trip.

    ``cell`` is the cell number; ``code`` the ERROR register (or the MODE) that says why.
    """

    def __init__(
        self, message: str, *, cell: int, code: int | None = None, meaning: str | None = None
    ) -> None:
        self.cell = cell
        #: The test run the fault ended (measurements kept), when raised by a test.
        self.run: object | None = None
        super().__init__(message, code=code, meaning=meaning)


class WatchdogTripped(BatlabError):
    """The unit's watchdog ran out and stopped every cell (batlab.md §5.6)."""


class BootloadError(BatlabError):
    """The bootloader refused the image, or the unit did not come back."""


class FirmwareImageError(UsageError):
    """A firmware image file that cannot be flashed: wrong size or bad checksum."""


class UnitUnplugged(LinkClosed):
    """The unit went away (unplugged, port closed) in the middle of an operation."""
