"""BMP5 messages (HiProtoCode 1): what a client asks a datalogger to do.

Clock, programming statistics, files, data collection, values, terminal and
access level.  Layouts are ``pakbus.md`` §5–§9; class docstrings cite their
subsection and state the UNCERTAIN readings we took.

Record data, table definitions and variable values stay raw ``bytes`` here: only
the table definitions (:mod:`fieldlink.pakbus.protocol.tabledef`,
:mod:`fieldlink.pakbus.protocol.records`) say how to cut them.  Response codes stay ``int``
(:class:`fieldlink.pakbus.protocol.codes.Bmp5ResponseCode` names them).

Fields documented as "present only if RespCode = 0" are read when the code is 0,
and otherwise read if the bytes are there anyway (some loggers send them, vectors
V8); they are Optional or default-valued so an error response can omit them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Final, Self

from fieldlink.kit.fields import (
    Field,
    Layout,
    Tail,
    asciiz,
    flag,
    ignore_rest,
    optional,
    rest,
    tail,
    u8,
    u16,
    u32,
)
from fieldlink.pakbus.protocol.codes import Bmp5ResponseCode, CollectMode
from fieldlink.pakbus.protocol.messages import BMP5, FieldWriter, Message, message, nsec
from fieldlink.pakbus.protocol.wire import NSec, Reader

_OK: Final = Bmp5ResponseCode.OK
_NS_PER_S: Final = 1_000_000_000
#: A clock adjustment of nothing: the clock command then only reads.
NO_ADJUSTMENT: Final = NSec(0, 0)


class _Bmp5(Message):
    __slots__ = ()
    HI_PROTO: ClassVar[int] = BMP5


#: Every response starts with RespCode; most commands with a SecurityCode.
_RESP_CODE = u8("resp_code", "RespCode")
_SECURITY = u16("security_code", "SecurityCode")
_FILE_NAME = asciiz("file_name", "FileName")
_FILE_OFFSET = u32("offset", "FileOffset")
#: Where get values and set values point: a table, a type and a field, ``swath`` values.
_VALUES_ADDRESS: Layout = (
    _SECURITY,
    asciiz("table_name", "TableName"),
    u8("type_code", "TypeCode"),
    asciiz("field_name", "FieldName"),
    u16("swath", "Swath"),
)


@dataclass(frozen=True, slots=True)
class _CodeAndData(_Bmp5):
    """Responses that are RespCode, then bytes only a later layer can cut (``data``)."""

    tran: int
    resp_code: int
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class _SecurityOnly(_Bmp5):
    """Commands that carry only a SecurityCode."""

    LAYOUT = (_SECURITY,)

    tran: int
    security_code: int = 0


def _if_ok(*fields: Field) -> Tail:
    """Fields "present only if RespCode = 0": always then, otherwise if bytes remain.

    Encoded when RespCode is 0 or any of them differs from its default.
    """
    return tail(*fields, key="resp_code", values=(_OK,))


# --- please wait (§6.1) -----------------------------------------------------------------------


@message(0xA1, "please wait")
class PleaseWait(_Bmp5):
    """Please wait (§6.1): the answer to command ``cmd_msg_type`` needs ``wait_seconds`` more.

    Carries the waiting command's TranNbr; a client resets that transaction's deadline.
    """

    LAYOUT = (u8("cmd_msg_type", "CmdMsgType"), u16("wait_seconds", "WaitSec"))

    tran: int
    cmd_msg_type: int
    wait_seconds: int


# --- clock (§6.2) -----------------------------------------------------------------------------


@message(0x17, "clock command")
class ClockCommand(_Bmp5):
    """Clock check/set (§6.2): ``adjustment`` is *added* to the logger clock; (0, 0) reads.

    Both parts are signed Int4 on the wire (a negative adjustment carries the sign in
    seconds and nanoseconds, as PyPak builds it — INFERRED).
    """

    LAYOUT = (_SECURITY, nsec("adjustment", "Adjustment", signed_ns=True))

    tran: int
    security_code: int = 0
    adjustment: NSec = NO_ADJUSTMENT


@message(0x97, "clock response")
class ClockResponse(_Bmp5):
    """Clock response (§6.2): the logger time *before* any adjustment.

    ``old_time`` keeps the wire values verbatim, so a nanosecond field ≥ 10^9 (the
    manual's CR200 example, vectors V16.2, has 0xC8000000) decodes without error and
    re-encodes byte-exactly.  Use :attr:`checked_old_time` for a usable time: it drops
    such impossible nanoseconds to 0 (the seconds are still right).
    """

    LAYOUT = (_RESP_CODE, _if_ok(nsec("old_time", "OldTime")))

    tran: int
    resp_code: int
    old_time: NSec | None = None

    @property
    def checked_old_time(self) -> NSec | None:
        """``old_time`` with nanoseconds outside 0..999 999 999 replaced by 0."""
        t = self.old_time
        if t is None or 0 <= t.nanoseconds < _NS_PER_S:
            return t
        return NSec(t.seconds, 0)


# --- programming statistics (§6.3) ------------------------------------------------------------


@message(0x18, "programming statistics command")
class ProgStatsCommand(_SecurityOnly):
    """Get programming statistics (§6.3); expect a Please Wait after a compile."""


@message(0x98, "programming statistics response")
class ProgStatsResponse(_Bmp5):
    """Programming statistics response (§6.3, vectors V6).

    Every field after ``resp_code`` is None when the logger refused (RespCode ≠ 0).
    ``model`` and ``station_name`` are sent only by newer OS versions (CR1000 OS 24
    sends neither); bytes after ``station_name`` are ignored, so a still newer OS that
    appends more does not break collection.
    """

    LAYOUT = (
        _RESP_CODE,
        _if_ok(
            asciiz("os_version", "OSVer"),
            u16("os_sig", "OSSig"),
            asciiz("serial_number", "SerialNbr"),
            asciiz("power_up_program", "PowUpProg"),
            u8("compile_state", "CompState"),
            asciiz("program_name", "ProgName"),
            u16("program_sig", "ProgSig"),
            nsec("compile_time", "CompTime"),
            asciiz("compile_result", "CompResult"),
            optional(asciiz("model", "ModelNo")),
            optional(asciiz("station_name", "StationName")),
            ignore_rest(),
        ),
    )

    tran: int
    resp_code: int
    os_version: str | None = None
    os_sig: int | None = None
    serial_number: str | None = None
    power_up_program: str | None = None
    compile_state: int | None = None
    program_name: str | None = None
    program_sig: int | None = None
    compile_time: NSec | None = None
    compile_result: str | None = None
    model: str | None = None
    station_name: str | None = None


# --- files (§7) -------------------------------------------------------------------------------


@message(0x1C, "file send command")
class FileSendCommand(_Bmp5):
    """File send, "download" to the logger (§7.1): one fragment at ``offset``.

    All fragments of one file share a TranNbr; ``close_flag`` marks the last one.
    Campbell leaves ``file_name`` empty after the first fragment.
    """

    LAYOUT = (
        _SECURITY,
        _FILE_NAME,
        u8("attribute", "Attribute"),
        flag("close_flag", "CloseFlag"),
        _FILE_OFFSET,
        rest("data", "FileData"),
    )

    tran: int
    security_code: int
    file_name: str
    attribute: int
    close_flag: bool
    offset: int
    data: bytes


@message(0x9C, "file send response")
class FileSendResponse(_Bmp5):
    """File send response (§7.1): the echoed offset, and free space on newer OS.

    ``space_left`` is None when absent (UNCERTAIN which OS adds it).  ``offset`` is 0
    when an error response omits it.
    """

    LAYOUT = (
        _RESP_CODE,
        _if_ok(_FILE_OFFSET, optional(u32("space_left", "SpaceLeft"))),
    )

    tran: int
    resp_code: int
    offset: int = 0
    space_left: int | None = None


@message(0x1D, "file receive command")
class FileReceiveCommand(_Bmp5):
    """File receive, "upload" from the logger (§7.2): ``swath`` bytes from ``offset``.

    Keep one TranNbr for every swath of a file (required by OS ≥ 17).  The file
    ``.TDF`` holds the table definitions, ``.DIR`` the directory.
    """

    LAYOUT = (
        _SECURITY,
        _FILE_NAME,
        flag("close_flag", "CloseFlag"),
        _FILE_OFFSET,
        u16("swath", "Swath"),
    )

    tran: int
    security_code: int
    file_name: str
    close_flag: bool
    offset: int
    swath: int


@message(0x9D, "file receive response")
class FileReceiveResponse(_Bmp5):
    """File receive response (§7.2): ``data`` is at most the swath asked for.

    Error responses also carry the 4 offset bytes in the one capture we have (vectors
    V8: RespCode 0x0D then ``00 00 00 6C``, meaning of 0x6C UNCERTAIN); they decode
    into ``offset`` and re-encode unchanged.  An error response without them gives
    offset 0.
    """

    LAYOUT = (_RESP_CODE, _if_ok(_FILE_OFFSET, rest("data", "FileData")))

    tran: int
    resp_code: int
    offset: int = 0
    data: bytes = b""


@message(0x1E, "file control command")
class FileControlCommand(_Bmp5):
    """File control (§7.4): run, stop, delete, format… (codes.FileCommand).

    ``file_name2`` is only meaningful for commands 15–20; Campbell's client always
    appends it (empty when unused) while the 2008 manual omits it.  None leaves it
    off the wire; an absent FileName2 decodes as None.
    """

    LAYOUT = (
        _SECURITY,
        _FILE_NAME,
        u8("command", "FileCmd"),
        optional(asciiz("file_name2", "FileName2")),
    )

    tran: int
    security_code: int
    file_name: str
    command: int
    file_name2: str | None = None


@message(0x9E, "file control response")
class FileControlResponse(_Bmp5):
    """File control response (§7.4): wait ``hold_off`` seconds before the next transaction.

    HoldOff is always encoded (PyPak and jPakBus always read it); a response without
    it decodes as 0 (Campbell reads it only if present).
    """

    LAYOUT = (_RESP_CODE, optional(u16("hold_off", "HoldOff"), write_absent=True))

    tran: int
    resp_code: int
    hold_off: int = 0


# --- data collection (§8.3) -------------------------------------------------------------------

#: What P1 and P2 are in each collect mode: "u32", "nsec" or None (absent).
COLLECT_PARAMS: Final[dict[int, tuple[str | None, str | None]]] = {
    CollectMode.ALL: (None, None),
    CollectMode.FROM_RECORD: ("u32", None),
    CollectMode.NEWEST: ("u32", None),
    CollectMode.RECORD_RANGE: ("u32", "u32"),
    CollectMode.TIME_RANGE: ("nsec", "nsec"),
    CollectMode.PARTIAL_RECORD: ("u32", "u32"),
}


@dataclass(frozen=True, slots=True)
class TableRequest:
    """One table block of a collect-data command.

    ``p1``/``p2`` per mode (codes.CollectMode): 3 none; 4 ``p1`` first record;
    5 ``p1`` how many newest; 6 ``p1`` ≤ record < ``p2``; 7 ``p1`` ≤ time < ``p2``
    (NSec); 8 ``p1`` record, ``p2`` byte offset.  ``fields`` are 1-based field
    numbers; empty means all.
    """

    table_nbr: int
    signature: int
    p1: int | NSec | None = None
    p2: int | NSec | None = None
    fields: tuple[int, ...] = ()


def _write_param(out: FieldWriter, kind: str | None, value: int | NSec | None, name: str) -> None:
    if kind is None:
        out.require(value is None, name, "is not used in this collect mode")
    elif kind == "nsec":
        if not isinstance(value, NSec):
            raise out.error(name, "must be an NSec in this collect mode")
        out.nsec(value, name)
    else:
        if not isinstance(value, int):
            raise out.error(name, "must be an int in this collect mode")
        out.u32(value, name)


def _read_param(r: Reader, kind: str | None, name: str) -> int | NSec | None:
    if kind is None:
        return None
    return r.nsec(name) if kind == "nsec" else r.u32(name)


def _read_field_list(r: Reader) -> tuple[int, ...]:
    """Field numbers up to the 0x0000 terminator, tolerating the senders §8.3 lists:
    end of message ends the list, and a lone trailing 0x00 (weatherd) is a terminator."""
    fields: list[int] = []
    while not r.at_end():
        if r.remaining == 1:
            if r.u8("field-list terminator") != 0:
                raise r.error("odd byte where the field-list terminator belongs", r.pos - 1)
            break
        number = r.u16("FieldNbr")
        if number == 0:
            break
        fields.append(number)
    return tuple(fields)


@message(0x09, "collect data command")
class CollectDataCommand(_Bmp5):
    """Collect data (§8.3, vectors V1.4/V14/V18): one or more table blocks, one mode.

    Decoding is tolerant, as §8.3 asks of a logger: the field list may end at the
    end of the message or with weatherd's single 0x00; further blocks are read while
    ≥ 4 bytes remain and the next would-be TableNbr is not 0 (no table 0 exists, so
    that is where jPakBus's surplus P2 bytes end up; they are ignored).  Encoding
    always writes the 0x0000 terminator.  Modes other than 3–8 raise ProtocolError
    (the P1/P2 layout is unknown).

    Why its codec is written by hand, not declared as ``LAYOUT``: the *type* of P1 and
    P2 (absent, UInt4 or NSec) depends on CollectMode, which comes before them, and
    the decoder must look ahead (is the next would-be TableNbr zero?) and accept
    three different ends of a field list.  A declarative spec that could say that
    would be a small programming language; this is one message.
    """

    tran: int
    security_code: int
    mode: int
    requests: tuple[TableRequest, ...]

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u16(self.security_code, "SecurityCode")
        out.u8(self.mode, "CollectMode")
        kinds = COLLECT_PARAMS.get(self.mode)
        if kinds is None:
            raise out.error("CollectMode", f"must be 3..8, got {self.mode}")
        out.require(bool(self.requests), "requests", "must name at least one table")
        for req in self.requests:
            out.u16(req.table_nbr, "TableNbr")
            out.u16(req.signature, "TableDefSig")
            _write_param(out, kinds[0], req.p1, "P1")
            _write_param(out, kinds[1], req.p2, "P2")
            for number in req.fields:
                out.require(number != 0, "FieldNbr", "must be 1..65535 (0 ends the list)")
                out.u16(number, "FieldNbr")
            out.u16(0, "field-list terminator")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        sec = r.u16("SecurityCode")
        mode = r.u8("CollectMode")
        kinds = COLLECT_PARAMS.get(mode)
        if kinds is None:
            raise r.error(f"unknown collect mode {mode}", r.pos - 1)
        requests: list[TableRequest] = []
        while not requests or (r.remaining >= 4 and r.data[r.pos : r.pos + 2] != b"\0\0"):
            table = r.u16("TableNbr")
            sig = r.u16("TableDefSig")
            p1 = _read_param(r, kinds[0], "P1")
            p2 = _read_param(r, kinds[1], "P2")
            requests.append(TableRequest(table, sig, p1, p2, _read_field_list(r)))
        r.rest()
        return cls(tran, sec, mode, tuple(requests))


@message(0x89, "collect data response")
class CollectDataResponse(_CodeAndData):
    """Collect data response (§8.3): ``data`` is everything after RespCode.

    Record blocks, fragments and the final MoreRecsExist byte can only be cut with
    the table definitions, so :mod:`fieldlink.pakbus.protocol.records` parses ``data``.
    """

    LAYOUT = (_RESP_CODE, rest("data", "record data"))


# --- table control (§8.5) ---------------------------------------------------------------------


@message(0x19, "table control command")
class TableControlCommand(_Bmp5):
    """Table control (§8.5): reset a table or roll over its file (codes.TableControlOption).

    UNCERTAIN: the manual's command has no table name although RespCode 0x10 is
    "invalid table name".  Recommended reading, taken here: clients append
    ``table_name`` after CtrlOption; None leaves it off (PbCdlComm's 3-byte form).
    """

    LAYOUT = (
        _SECURITY,
        u8("option", "CtrlOption"),
        optional(asciiz("table_name", "TableName")),
    )

    tran: int
    security_code: int
    option: int
    table_name: str | None = None


@message(0x99, "table control response")
class TableControlResponse(_Bmp5):
    """Table control response (§8.5)."""

    LAYOUT = (_RESP_CODE,)

    tran: int
    resp_code: int


# --- values (§9.1) ----------------------------------------------------------------------------


@message(0x1A, "get values command")
class GetValuesCommand(_Bmp5):
    """Get values (§9.1): ``swath`` values of ``type_code`` from ``field_name`` on.

    ``field_name`` may carry subscripts, e.g. ``Temp(3)``.
    """

    LAYOUT = _VALUES_ADDRESS

    tran: int
    security_code: int
    table_name: str
    type_code: int
    field_name: str
    swath: int = 1


@message(0x9A, "get values response")
class GetValuesResponse(_CodeAndData):
    """Get values response (§9.1): ``data`` is the raw values (the types module decodes)."""

    LAYOUT = (_RESP_CODE, rest("data", "values"))


@message(0x1B, "set values command")
class SetValuesCommand(_Bmp5):
    """Set values (§9.1, vectors V21): ``data`` holds ``swath`` values of ``type_code``.

    Campbell sets a string as type 16 (ASCIIZ) with swath = string length.
    """

    LAYOUT = (*_VALUES_ADDRESS, rest("data", "values"))

    tran: int
    security_code: int
    table_name: str
    type_code: int
    field_name: str
    swath: int
    data: bytes


@message(0x9B, "set values response")
class SetValuesResponse(_Bmp5):
    """Set values response (§9.1).

    With RespCode 0x15 (done, reboot needed) a UInt2 reboot interval in seconds
    follows; ``reboot_interval`` is None when absent.
    """

    LAYOUT = (_RESP_CODE, optional(u16("reboot_interval", "reboot interval")))

    tran: int
    resp_code: int
    reboot_interval: int | None = None


# --- one-way messages (§8.4) ------------------------------------------------------------------


@message(0x20, "one-way table definition")
class OneWayTableDef(_Bmp5):
    """One-way table definition (§8.4): ``definition`` is one table in ``.TDF`` layout.

    Sent by a logger program unasked; TranNbr 0, no response.  The manual's table
    omits TblInterval (UNCERTAIN; the table definition parser reads it).
    """

    LAYOUT = (
        u16("table_nbr", "TableNbr"),
        rest("definition", "table definition"),
    )

    table_nbr: int
    definition: bytes
    tran: int = field(default=0, kw_only=True)


@message(0x14, "one-way data")
class OneWayData(_Bmp5):
    """One-way data (§8.4): TableNbr, TableDefSig, RecNbr, … kept raw in ``payload``.

    Its record layout matches a collect-data block minus MoreRecsExist; the records
    module parses it with the table definition.
    """

    LAYOUT = (rest("payload"),)

    payload: bytes
    tran: int = field(default=0, kw_only=True)


# --- terminal (§9.4) and access level (§9.5) --------------------------------------------------


@message(0x0B, "user I/O command")
class UserIOCommand(_Bmp5):
    """User I/O / terminal (§9.4): ``data`` is what the user typed (≤ 996 bytes)."""

    LAYOUT = (_SECURITY, rest("data", "terminal input"))

    tran: int
    security_code: int
    data: bytes = b""


@message(0x8B, "user I/O notification")
class UserIONotification(_CodeAndData):
    """User I/O notification (§9.4): RespCode (0 ok), then what the terminal prints."""

    LAYOUT = (_RESP_CODE, rest("data", "terminal output"))


@message(0x28, "check access level command")
class CheckAccessCommand(_SecurityOnly):
    """Check access level (§9.5); older OS answer with delivery failure 4."""


@message(0xA8, "check access level response")
class CheckAccessResponse(_Bmp5):
    """Check access level response (§9.5; codes.AccessLevel)."""

    LAYOUT = (u8("access_level", "AccessLevel"),)

    tran: int
    access_level: int


__all__ = [
    "COLLECT_PARAMS",
    "CheckAccessCommand",
    "CheckAccessResponse",
    "ClockCommand",
    "ClockResponse",
    "CollectDataCommand",
    "CollectDataResponse",
    "FileControlCommand",
    "FileControlResponse",
    "FileReceiveCommand",
    "FileReceiveResponse",
    "FileSendCommand",
    "FileSendResponse",
    "GetValuesCommand",
    "GetValuesResponse",
    "OneWayData",
    "OneWayTableDef",
    "PleaseWait",
    "ProgStatsCommand",
    "ProgStatsResponse",
    "SetValuesCommand",
    "SetValuesResponse",
    "TableControlCommand",
    "TableControlResponse",
    "TableRequest",
    "UserIOCommand",
    "UserIONotification",
]
