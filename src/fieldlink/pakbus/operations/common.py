"""What every conversation shares: message size limits and response codes."""

from __future__ import annotations

from collections.abc import Callable

from fieldlink.errors import (
    DeviceError,
    NotFound,
    PermissionDenied,
    Unsupported,
)
from fieldlink.pakbus.protocol.codes import (
    Bmp5ResponseCode,
    bmp5_meaning,
)
from fieldlink.pakbus.protocol.packet import MAX_BODY

#: Bytes of a message after MsgType and TranNbr (pakbus.md §2.4).
MAX_PAYLOAD = MAX_BODY - 2

#: ``progress(done, total)``: bytes so far, and the total when known.
ProgressCallback = Callable[[int, int | None], None]


# --- response codes ---------------------------------------------------------------------------


#: The security level each kind of request needs (pakbus.md §5: level 1 guards programs,
#: files, settings and table control; level 2 the clock set and Public writes; level 3
#: collecting and reading).  A level's code also unlocks every higher-numbered level.
LEVEL_ADMIN, LEVEL_WRITE, LEVEL_READ = 1, 2, 3
_NEEDED = {
    LEVEL_ADMIN: "the level-1 security code",
    LEVEL_WRITE: "the level-2 (or level-1) security code",
    LEVEL_READ: "a security code (of any level)",
}


def permission_message(what: str, level: int | None) -> str:
    """``what`` was refused for want of a security code: say which one, and how to give it."""
    if level is None:
        return f"{what}: permission denied -- the logger wants a (different) security code (--code)"
    return f"{what}: permission denied -- this needs {_NEEDED[level]}; give it with --code"


def check_response(code: int, what: str, level: int | None = None) -> None:
    """Turn a BMP5 RespCode into the matching error; 0 (and 0x15, applied) pass.

    ``level`` is the security level the request needs, named in a refusal.
    """
    if code in (Bmp5ResponseCode.OK, Bmp5ResponseCode.REBOOT_NEEDED):
        return
    meaning = bmp5_meaning(code)
    if code == Bmp5ResponseCode.PERMISSION_DENIED:
        raise PermissionDenied(permission_message(what, level), code=code, meaning=meaning)
    if code in (Bmp5ResponseCode.INVALID_FILE_NAME, Bmp5ResponseCode.INVALID_TABLE_OR_FIELD):
        raise NotFound(f"{what}: {meaning}", code=code, meaning=meaning)
    if code == Bmp5ResponseCode.UNSUPPORTED_FILE_COMMAND:
        raise Unsupported(f"{what}: {meaning}", code=code, meaning=meaning)
    raise DeviceError(f"{what}: {meaning} (response code 0x{code:02X})", code=code, meaning=meaning)
