"""Files on the logger: download in swaths, upload in fragments, File Control (pakbus.md §7)."""

from __future__ import annotations

from typing import TypeVar

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

#: Most bytes a ``.TDF`` or ``.DIR`` may have.  A CR1000's 122-field Status table takes
#: 4 KB of ``.TDF``; a thousand tables of a hundred fields would still fit in 16 MiB.
MAX_DEFINITION_FILE_SIZE = 16 << 20
#: Most bytes of any other download when neither the directory's size nor the caller's
#: maximum is known: the whole is held in memory, so a logger that never stops
#: sending full swaths must not be followed for ever (issue 13).
DEFAULT_MAX_FILE_SIZE = 256 << 20
_DEFINITION_FILES = frozenset({".tdf", ".dir"})


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


def _download_limit(name: str, size: int | None, max_size: int | None) -> tuple[int, str]:
    """The most bytes a download of ``name`` may bring, and what set that bound."""
    bounds: list[tuple[int, str]] = []
    if size is not None:
        bounds.append((size, f"the directory announced {size} bytes"))
    if max_size is not None:
        bounds.append((max_size, f"the maximum asked for, --max-size {max_size}"))
    if name.rpartition(":")[2].lower() in _DEFINITION_FILES:
        bounds.append((MAX_DEFINITION_FILE_SIZE, "no logger writes a bigger one"))
    if not bounds:
        bounds.append((DEFAULT_MAX_FILE_SIZE, "the default maximum; raise it with --max-size"))
    return min(bounds)


#: The answer to one swath or fragment of a transfer.
_Answer = TypeVar("_Answer", bmp5.FileReceiveResponse, bmp5.FileSendResponse)


def _fragment(
    command: bmp5.FileReceiveCommand | bmp5.FileSendCommand,
    answer: type[_Answer],
    offset: int,
    *,
    same_transaction: bool,
) -> Operation[_Answer]:
    """One exchange of a transfer, at ``offset``: an answer for another offset (a late
    one to a resend) is stale, and the exchange keeps waiting for its own."""

    def current(m: object) -> bool:
        return not isinstance(m, answer) or m.resp_code != 0 or m.offset == offset

    request = Request(command, same_transaction=same_transaction, accept=current)
    return expect(request, answer)


def get_file(
    name: str,
    security_code: int = 0,
    *,
    progress: ProgressCallback | None = None,
    size: int | None = None,
    max_size: int | None = None,
    swath: int = FILE_SWATH,
) -> Operation[bytes]:
    """Download a file from the logger (File Receive, §7.2); all of it or an error.

    Swaths continue under the first swath's TranNbr (required by OS >= 17) and a
    duplicate answer for an earlier offset is ignored.  The file ends at the first
    swath shorter than asked for.

    A download always has an end, whatever the logger sends (issue 13): ``size`` (what
    the directory announced, if known; it also feeds ``progress``), ``max_size`` (the
    caller's), :data:`MAX_DEFINITION_FILE_SIZE` for ``.TDF``/``.DIR`` and otherwise
    :data:`DEFAULT_MAX_FILE_SIZE` bound it; the smallest applies, and more bytes than
    that is a ProtocolError before they are kept.
    """
    if not 1 <= swath <= FILE_SWATH:
        raise UsageError(f"swath must be 1..{FILE_SWATH}")
    for what, value in (("size", size), ("max_size", max_size)):
        if value is not None and value < 0:
            raise UsageError(f"{what} must not be negative, not {value}")
    limit, why = _download_limit(name, size, max_size)
    data = bytearray()
    while True:
        offset = len(data)
        try:
            r = yield from _fragment(
                bmp5.FileReceiveCommand(0, security_code, name, False, offset, swath),
                bmp5.FileReceiveResponse,
                offset,
                same_transaction=offset > 0,
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
        if offset + len(r.data) > limit:
            raise ProtocolError(
                f"file {name!r} has more than {limit} bytes ({why}); "
                f"download stopped after {offset} bytes",
                message_type=r.what(),
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
        try:
            r = yield from _fragment(
                bmp5.FileSendCommand(
                    0, security_code, name if first else "", 0, last, offset, chunk
                ),
                bmp5.FileSendResponse,
                offset,
                same_transaction=not first,
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
