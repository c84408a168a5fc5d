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


def check_response(code: int, what: str) -> None:
    """Turn a BMP5 RespCode into the matching error; 0 (and 0x15, applied) pass."""
    if code in (Bmp5ResponseCode.OK, Bmp5ResponseCode.REBOOT_NEEDED):
        return
    meaning = bmp5_meaning(code)
    if code == Bmp5ResponseCode.PERMISSION_DENIED:
        raise PermissionDenied(
            f"{what}: permission denied -- the logger wants a (different) security code",
            code=code,
            meaning=meaning,
        )
    if code in (Bmp5ResponseCode.INVALID_FILE_NAME, Bmp5ResponseCode.INVALID_TABLE_OR_FIELD):
        raise NotFound(f"{what}: {meaning}", code=code, meaning=meaning)
    if code == Bmp5ResponseCode.UNSUPPORTED_FILE_COMMAND:
        raise Unsupported(f"{what}: {meaning}", code=code, meaning=meaning)
    raise DeviceError(f"{what}: {meaning} (response code 0x{code:02X})", code=code, meaning=meaning)
