"""Turn the operating system's and pyserial's failures into messages a person can act on.

``[Errno 111] Connection refused`` does not say *which* address refused, and
``could not open port`` does not say what to check.  Both the blocking and the
asyncio links open the same kinds of connection, so the wording lives here once.
"""

from __future__ import annotations

import errno
import socket

from fieldlink.errors import LinkError, LinkTimeout
from fieldlink.link.url import LinkURL


def connect_failure(url: LinkURL, exc: BaseException, timeout: float) -> LinkError:
    """Explain why a TCP connect (or UDP set-up) to ``url`` failed."""
    address = url.address
    if isinstance(exc, socket.gaierror):
        return LinkError(f"cannot resolve host {url.host!r} ({url}): {_reason(exc)}")
    if isinstance(exc, TimeoutError):
        return LinkTimeout(f"no answer from {address} within {timeout:g} s connecting ({url})")
    if isinstance(exc, ConnectionRefusedError):
        return LinkError(
            f"connection refused by {address} ({url}): nothing is listening on that port, "
            "or a firewall rejects it"
        )
    return LinkError(f"cannot connect to {address} ({url}): {_reason(exc)}")


def serial_open_failure(url: LinkURL, exc: BaseException) -> LinkError:
    """Explain why pyserial could not open ``url``'s device."""
    device = url.device or str(url)
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.ENOENT or "FileNotFoundError" in text:
        return LinkError(
            f"no such serial device {device!r} ({url}); check that the adapter is plugged in "
            "and the device name is right"
        )
    if code == errno.EACCES or "PermissionError" in text:
        return LinkError(
            f"permission denied opening serial device {device!r} ({url}); on Linux, add your "
            "user to the group that owns it (often 'dialout') and log in again"
        )
    if code == errno.EBUSY:
        return LinkError(f"serial device {device!r} is busy: another program has it open ({url})")
    return LinkError(f"cannot open {url}: {text}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
