"""Files on the logger: download in swaths, upload in fragments, File Control (pakbus.md §7)."""

from __future__ import annotations

from fieldlink.errors import (
    LinkError,
    NotFound,
    ProtocolError,
    UsageError,
)
from fieldlink.pakbus.operations.common import (
    LEVEL_ADMIN,
    LEVEL_READ,
    MAX_PAYLOAD,
    ProgressCallback,
    check_response,
)
from fieldlink.pakbus.protocol import bmp5
from fieldlink.pakbus.protocol.codes import (
    FILE_COMMAND_MEANINGS,
    Bmp5ResponseCode,
    FileCommand,
    bmp5_meaning,
    describe_code,
)
from fieldlink.pakbus.protocol.directory import DirEntry, parse_dir
from fieldlink.pakbus.session import (
    Operation,
    Request,
    expect,
    pause,
)

#: File Receive swath: Campbell's 998 - 5 (pakbus.md §7.2).
FILE_SWATH = MAX_PAYLOAD - 5


# --- files ------------------------------------------------------------------------------------


#: Files the logger makes up on request, and what they hold (for messages).
_GENERATED = {".TDF": "the table definitions (.TDF)", ".DIR": "the list of files (.DIR)"}


def _file_what(name: str) -> str:
    return _GENERATED.get(name.upper(), f"file {name!r}")


def _file_level(name: str) -> int:
    """Reading the generated files is reading (level 3); any other file is level 1's."""
    return LEVEL_READ if name.upper() in _GENERATED else LEVEL_ADMIN


def device_path(name: str) -> str:
    """``prog.CR1`` -> ``CPU:prog.CR1``: a bare file name lives on the CPU drive."""
    if not name:
        raise UsageError("empty file name")
    return name if ":" in name else f"CPU:{name}"


def get_file(
    name: str,
    security_code: int = 0,
    *,
    progress: ProgressCallback | None = None,
    size: int | None = None,
    swath: int = FILE_SWATH,
) -> Operation[bytes]:
    """Download a file from the logger (File Receive, §7.2); all of it or an error.

    Swaths continue under the first swath's TranNbr (required by OS >= 17) and a
    duplicate answer for an earlier offset is ignored.  The file ends at the first
    swath shorter than asked for.  ``size``, if known, only feeds ``progress``.
    """
    if not 1 <= swath <= FILE_SWATH:
        raise UsageError(f"swath must be 1..{FILE_SWATH}")
    data = bytearray()
    while True:
        offset = len(data)

        def current(m: object, offset: int = offset) -> bool:
            return not isinstance(m, bmp5.FileReceiveResponse) or (
                m.resp_code != 0 or m.offset == offset
            )

        try:
            r = yield from expect(
                Request(
                    bmp5.FileReceiveCommand(0, security_code, name, False, offset, swath),
                    same_transaction=offset > 0,
                    accept=current,
                ),
                bmp5.FileReceiveResponse,
            )
        except LinkError as exc:
            if offset == 0:
                raise
            raise type(exc)(f"{exc}; download of {name} incomplete after {offset} bytes") from exc
        if r.resp_code == Bmp5ResponseCode.INVALID_FILE_NAME and offset == 0:
            raise NotFound(
                f"no file {name!r} on the logger (or not a valid name)",
                code=r.resp_code,
                meaning=bmp5_meaning(r.resp_code),
            )
        where = f"reading {_file_what(name)}" + (f" at byte {offset}" if offset else "")
        check_response(r.resp_code, where, _file_level(name))
        if r.offset != offset:
            raise ProtocolError(
                f"file data for offset {r.offset} where {offset} was asked for",
                message_type=r.what(),
            )
        if len(r.data) > swath:
            raise ProtocolError(
                f"{len(r.data)} bytes of file data for a swath of {swath}", message_type=r.what()
            )
        data += r.data
        if progress is not None:
            progress(len(data), size)
        if len(r.data) < swath:
            return bytes(data)


def put_file(
    name: str,
    data: bytes,
    security_code: int = 0,
    *,
    progress: ProgressCallback | None = None,
) -> Operation[None]:
    """Upload a file to the logger (File Send, §7.1) in fragments under one TranNbr.

    The first fragment carries the name, later ones an empty name, as Campbell's
    client sends them; the last is the first one shorter than the maximum (an empty
    one if the size is an exact multiple).  A fragment whose answer is lost is resent
    as it was.
    """
    raw_name = name.encode("latin-1", errors="replace")
    offset = 0
    first = True
    while True:
        limit = MAX_PAYLOAD - 9 - (len(raw_name) if first else 0)
        chunk = data[offset : offset + limit]
        last = len(chunk) < limit

        def current(m: object, offset: int = offset) -> bool:
            return not isinstance(m, bmp5.FileSendResponse) or (
                m.resp_code != 0 or m.offset == offset
            )

        try:
            r = yield from expect(
                Request(
                    bmp5.FileSendCommand(
                        0, security_code, name if first else "", 0, last, offset, chunk
                    ),
                    same_transaction=not first,
                    accept=current,
                ),
                bmp5.FileSendResponse,
            )
        except LinkError as exc:
            raise type(exc)(f"{exc}; upload of {name} incomplete after {offset} bytes") from exc
        where = f"writing file {name!r}" + (f" at byte {offset}" if offset else "")
        check_response(r.resp_code, where, LEVEL_ADMIN)
        if r.offset != offset:
            raise ProtocolError(
                f"the logger acknowledged offset {r.offset} for a fragment at {offset}",
                message_type=r.what(),
            )
        offset += len(chunk)
        first = False
        if progress is not None:
            progress(offset, len(data))
        if last:
            return


_FILE_COMMAND_ALIASES = {
    "run": FileCommand.RUN_AND_SET_POWER_UP,
    "compile": FileCommand.RUN_AND_SET_POWER_UP,
    "power-up": FileCommand.SET_POWER_UP,
    "hide": FileCommand.HIDE,
    "delete": FileCommand.DELETE,
    "format": FileCommand.FORMAT,
    "run-keep-data": FileCommand.RUN_KEEP_DATA,
    "stop": FileCommand.STOP,
    "stop-delete-data": FileCommand.STOP_AND_DELETE_DATA,
    "run-now": FileCommand.RUN_LEAVE_POWER_UP,
    "pause": FileCommand.PAUSE,
    "resume": FileCommand.RESUME,
}


def file_command(command: int | str) -> int:
    """A File Control command code from its number, enum name or short name (``"run"``)."""
    if isinstance(command, int):
        if not 1 <= command <= 255:
            raise UsageError(f"file command must be 1..255, not {command}")
        return command
    key = command.strip().lower().replace("_", "-")
    if key in _FILE_COMMAND_ALIASES:
        return int(_FILE_COMMAND_ALIASES[key])
    try:
        return int(FileCommand[key.upper().replace("-", "_")])
    except KeyError:
        pass
    if key.isdigit():
        return file_command(int(key))
    names = ", ".join(sorted(_FILE_COMMAND_ALIASES))
    raise UsageError(f"unknown file command {command!r}: use a number or one of {names}")


def file_control(
    name: str, command: int | str, security_code: int = 0, *, name2: str = ""
) -> Operation[int]:
    """File Control (§7.4): run, stop, delete, format ...; returns the HoldOff seconds.

    The HoldOff the logger asks for is waited out before returning (while answering its
    Hellos), so the next transaction is never early.
    """
    code = file_command(command)
    r = yield from expect(
        Request(bmp5.FileControlCommand(0, security_code, name, code, name2)),
        bmp5.FileControlResponse,
    )
    what = describe_code(FILE_COMMAND_MEANINGS, code)
    check_response(r.resp_code, f"file command {code} ({what}) on {name!r}", LEVEL_ADMIN)
    yield from pause(r.hold_off)
    return r.hold_off


def list_files(security_code: int = 0) -> Operation[tuple[DirEntry, ...]]:
    """The logger's directory (``.DIR``, §7.3): devices and files."""
    raw = yield from get_file(".DIR", security_code)
    return parse_dir(raw)[1]
