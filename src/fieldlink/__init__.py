"""fieldlink: talk to the instruments of a remote field station.

The public API is re-exported here; everything else is an implementation detail
that may move.
"""

from fieldlink.errors import (
    ConfigError,
    DeliveryFailure,
    DeviceError,
    FieldlinkError,
    LinkClosed,
    LinkError,
    LinkTimeout,
    LinkURLError,
    NotFound,
    PermissionDenied,
    ProtocolError,
    StoreError,
    Unsupported,
    UsageError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DeliveryFailure",
    "DeviceError",
    "FieldlinkError",
    "LinkClosed",
    "LinkError",
    "LinkTimeout",
    "LinkURLError",
    "NotFound",
    "PermissionDenied",
    "ProtocolError",
    "StoreError",
    "Unsupported",
    "UsageError",
    "__version__",
]
