"""One error hierarchy for everything fieldlink raises on purpose.

A user of the library catches :class:`FieldlinkError`; the CLI turns any of
them into one line on stderr.  The three families follow where the fault
lies: the link (bytes did not arrive), the protocol (bytes arrived but do not
make sense) and the device (the instrument understood and said no).
"""

from __future__ import annotations


class FieldlinkError(Exception):
    """Root of every error fieldlink raises deliberately."""

    #: Process exit status the CLI uses for this error.
    exit_code: int = 1


class UsageError(FieldlinkError):
    """The caller asked for something malformed: a bad date, option or argument."""

    exit_code = 2


class ConfigError(UsageError):
    """A configuration file (stations, emulator station) is invalid.

    The message names the file, and where possible the line and key.
    """


# --- link -------------------------------------------------------------------------------------


class LinkError(FieldlinkError):
    """The byte stream could not be opened, or broke."""


class LinkURLError(LinkError, UsageError):
    """A link URL is malformed or names an unknown scheme."""

    exit_code = 2


class LinkTimeout(LinkError):
    """Nothing (or not enough) arrived before the deadline."""


class LinkClosed(LinkError):
    """The peer closed the stream, or it was closed under us."""


# --- protocol ---------------------------------------------------------------------------------


class ProtocolError(FieldlinkError):
    """Bytes arrived but do not form a valid message.

    ``message_type`` names what was being decoded (e.g. ``"BMP5 0x89 collect data
    response"``) and ``offset`` is the byte offset into that message where decoding
    failed, when known.
    """

    def __init__(
        self, reason: str, *, message_type: str | None = None, offset: int | None = None
    ) -> None:
        self.reason = reason
        self.message_type = message_type
        self.offset = offset
        parts = []
        if message_type:
            parts.append(message_type)
        if offset is not None:
            parts.append(f"at offset {offset}")
        where = f" ({', '.join(parts)})" if parts else ""
        super().__init__(f"{reason}{where}")


# --- device -----------------------------------------------------------------------------------


class DeviceError(FieldlinkError):
    """The device understood the request and refused or failed it.

    ``code`` is the device's own response code and ``meaning`` its documented meaning.
    """

    def __init__(self, message: str, *, code: int | None = None, meaning: str | None = None):
        self.code = code
        self.meaning = meaning
        super().__init__(message)


class PermissionDenied(DeviceError):
    """The device wants a (different) security code."""


class NotFound(DeviceError):
    """A table, field, file or setting the caller named does not exist on the device."""

    exit_code = 1


class DeliveryFailure(DeviceError):
    """A PakBus node reported that a message could not be delivered."""


class Unsupported(DeviceError):
    """The device does not implement the requested operation."""


# --- storage ----------------------------------------------------------------------------------


class StoreError(FieldlinkError):
    """A sink could not write (permissions, disk full, schema mismatch)."""


# --- installation -----------------------------------------------------------------------------


class MissingExtra(FieldlinkError):
    """An optional dependency is not installed; the message names the extra to install."""


__all__ = [
    "ConfigError",
    "DeliveryFailure",
    "DeviceError",
    "FieldlinkError",
    "LinkClosed",
    "LinkError",
    "LinkTimeout",
    "LinkURLError",
    "MissingExtra",
    "NotFound",
    "PermissionDenied",
    "ProtocolError",
    "StoreError",
    "Unsupported",
    "UsageError",
]
