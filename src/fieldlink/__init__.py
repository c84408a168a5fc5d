"""fieldlink: talk to the instruments of a remote field station.

The public API is re-exported here; everything else is an implementation detail
that may move.
"""

from typing import TYPE_CHECKING, Any

from fieldlink import errors
from fieldlink.errors import *  # noqa: F403 - every error is public API, as errors.__all__ says

__version__ = "0.1.0"

if TYPE_CHECKING:
    from fieldlink.pakbus.client import AsyncDatalogger, Datalogger
    from fieldlink.pakbus.emulator import LoggerEmulator
    from fieldlink.pakbus.operations import TableDefinitionChanged, TableReset


def __getattr__(name: str) -> Any:
    # Lazy: ``import fieldlink`` for the errors should not load every instrument family.
    if name in ("AsyncDatalogger", "Datalogger"):
        from fieldlink.pakbus import client

        return getattr(client, name)
    if name == "LoggerEmulator":
        from fieldlink.pakbus.emulator import LoggerEmulator

        return LoggerEmulator
    if name in ("TableDefinitionChanged", "TableReset"):
        from fieldlink.pakbus import operations

        return getattr(operations, name)
    raise AttributeError(f"module 'fieldlink' has no attribute {name!r}")


__all__ = [
    "AsyncDatalogger",
    "Datalogger",
    "LoggerEmulator",
    "TableDefinitionChanged",
    "TableReset",
    "__version__",
]
__all__ += errors.__all__
