"""The numbers PakBus devices answer with, and what each one documentedly means.

Messages keep response and outcome codes as plain ``int`` (a logger may send a code
no document lists, and decoding must not fail on it).  This module names the codes
that are known and gives the text a person needs when one of them ends an operation:
the client turns them into :class:`~fieldlink.errors.DeviceError` messages, the
emulator uses the names to say what it answers.  Meanings follow ``pakbus.md``
(§ numbers below); an unlisted code reads ``"unknown code 0x42"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType
from typing import Final, Self, TypeVar

_V = TypeVar("_V")


def _frozen(table: dict[int, _V]) -> Mapping[int, _V]:
    return MappingProxyType(table)


def describe_code(table: Mapping[int, str], code: int) -> str:
    """The documented meaning of ``code`` in ``table``, or ``"unknown code 0x.."``."""
    meaning = table.get(code)
    return meaning if meaning is not None else f"unknown code 0x{code:02X}"


class _Code(IntEnum):
    """A code named once with its documented meaning: ``NAME = code, "meaning"``.

    The member is still the plain number (``Bmp5ResponseCode(7)``, ``== 7``); the
    meaning rides along as ``.meaning`` and builds the module's meaning tables.
    """

    meaning: str

    def __new__(cls, code: int, meaning: str) -> Self:
        member = int.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member


def _meanings(codes: type[_Code]) -> Mapping[int, str]:
    """The read-only table code -> meaning of one code enum."""
    return _frozen({int(code): code.meaning for code in codes})


# --- BMP5 response codes (§5) -----------------------------------------------------------------


class Bmp5ResponseCode(_Code):
    """RespCode of BMP5 responses; the union over all messages (§5 table)."""

    OK = 0x00, "complete"
    PERMISSION_DENIED = 0x01, "permission denied (security code)"
    INSUFFICIENT_RESOURCES = 0x02, "insufficient resources or memory full"
    INVALID_TABLE_DEFINITION = (
        0x07,
        "invalid table definition (table number or signature; re-read the .TDF)",
    )
    INVALID_FRAGMENT = 0x09, "invalid fragment number or fragment out of order"
    INVALID_FILE_NAME = 0x0D, "invalid file name"
    FILE_NOT_ACCESSIBLE = 0x0E, "file not currently accessible"
    OPTION_NOT_APPLICABLE = 0x0F, "option not applicable / invalid control option"
    INVALID_TABLE_OR_FIELD = 0x10, "invalid table or field name"
    CONVERSION_NOT_SUPPORTED = 0x11, "data type conversion not supported"
    MEMORY_BOUNDS_VIOLATION = 0x12, "memory bounds violation (swath too long)"
    UNSUPPORTED_FILE_COMMAND = 0x13, "unsupported file command"
    ROOT_DIRECTORY_FULL = 0x14, "root directory full"
    REBOOT_NEEDED = 0x15, "success, but the change needs a reboot"
    FILE_BUSY = 0x16, "cannot delete: file open or busy"
    CANNOT_FORMAT = 0x17, "cannot format: files are open"
    INCOMPATIBLE_FORMAT = 0x18, "incompatible format"


BMP5_MEANINGS: Final = _meanings(Bmp5ResponseCode)


def bmp5_meaning(code: int) -> str:
    """Documented meaning of a BMP5 RespCode."""
    return describe_code(BMP5_MEANINGS, code)


# --- PakCtrl delivery failure (§4.1) ----------------------------------------------------------


class DeliveryFailureCode(_Code):
    """ErrCode of a PakCtrl delivery failure message (0x81)."""

    UNKNOWN = 0, "unknown reason"
    UNREACHABLE_DESTINATION = 1, "unreachable destination"
    UNREACHABLE_PROTOCOL = 2, "unreachable higher-level protocol (or encryption not supported)"
    QUEUE_OVERFLOW = 3, "queue overflow, timed out or out of resources"
    UNSUPPORTED_MESSAGE_TYPE = 4, "unimplemented command or message type"
    MALFORMED_MESSAGE = 5, "malformed message"
    LINK_FAILED = 6, "link failed"
    TOO_LARGE_64 = 7, "packet larger than 64 bytes"
    TOO_LARGE_90 = 8, "packet larger than 90 bytes"
    TOO_LARGE_128 = 9, "packet larger than 128 bytes"
    TOO_LARGE_256 = 10, "packet larger than 256 bytes"
    TOO_LARGE_512 = 11, "packet larger than 512 bytes"
    BAD_CIPHER_OR_KEY = 12, "unsupported cipher or bad encryption key"
    ENCRYPTION_REQUIRED = 13, "encryption required"


DELIVERY_FAILURE_MEANINGS: Final = _meanings(DeliveryFailureCode)


def delivery_failure_meaning(code: int) -> str:
    """Documented meaning of a delivery-failure ErrCode."""
    return describe_code(DELIVERY_FAILURE_MEANINGS, code)


# --- PakCtrl string settings (§4.9) -----------------------------------------------------------


class StringSettingsCode(_Code):
    """RespCode of the PakCtrl set-string-settings response (0x88)."""

    COMPLETE = 0, "complete"
    READ_ONLY = 1, "setting is read-only"
    OUT_OF_SPACE = 2, "out of space"
    SYNTAX_ERROR = 3, "syntax error"
    ACCESS_DENIED = 4, "access denied"


STRING_SETTINGS_MEANINGS: Final = _meanings(StringSettingsCode)


# --- DevConfig (§4.10) ------------------------------------------------------------------------


class DevConfigGetOutcome(_Code):
    """Outcome of a DevConfig get-settings response (0x8F)."""

    OK = 1, "ok"
    SECURITY = 2, "security code invalid"


DEVCONFIG_GET_MEANINGS: Final = _meanings(DevConfigGetOutcome)


class DevConfigSetOutcome(_Code):
    """Outcome of a DevConfig set-settings response (0x90), for the whole message."""

    OK = 1, "ok"
    SECURITY = 2, "security code invalid or insufficient"
    LOCKED = 3, "another client has uncommitted changes"


DEVCONFIG_SET_MEANINGS: Final = _meanings(DevConfigSetOutcome)


class SettingOutcome(_Code):
    """Per-setting outcome inside a DevConfig set-settings response (0x90)."""

    TAGGED = 1, "tagged to change"
    UNKNOWN_ID = 2, "unknown setting id"
    MALFORMED = 3, "malformed or out of range"
    READ_ONLY = 4, "read-only"
    NO_MEMORY = 5, "no memory"


SETTING_OUTCOME_MEANINGS: Final = _meanings(SettingOutcome)


class DevConfigGetFragmentOutcome(_Code):
    """Outcome of a DevConfig get-setting-fragment response (0x91)."""

    OK = 1, "ok"
    SECURITY = 2, "security code invalid"
    NOT_SUPPORTED = 3, "not supported by this device"


DEVCONFIG_GET_FRAGMENT_MEANINGS: Final = _meanings(DevConfigGetFragmentOutcome)


class DevConfigSetFragmentOutcome(_Code):
    """Outcome of a DevConfig set-setting-fragment response (0x92)."""

    ACCEPTED = 1, "tagged / accepted"
    SECURITY = 2, "security code invalid"
    UNKNOWN_ID = 3, "unknown setting id"
    MALFORMED = 4, "malformed or out of range"
    READ_ONLY = 5, "read-only"
    NO_MEMORY = 6, "no memory"
    NOT_SUPPORTED = 7, "transaction not supported"


DEVCONFIG_SET_FRAGMENT_MEANINGS: Final = _meanings(DevConfigSetFragmentOutcome)


class DevConfigAction(_Code):
    """Action of a DevConfig control command (0x13)."""

    COMMIT = 1, "commit changes and exit (device applies them / reboots)"
    CANCEL = 2, "cancel changes and end the session"
    REVERT_TO_DEFAULTS = 3, "revert all settings to factory defaults (still needs a commit)"
    REFRESH_TIMER = 4, "refresh the session timer only"
    CANCEL_AND_REBOOT = 5, "cancel changes and reboot"
    START_WIFI_SCAN = 6, "start a Wi-Fi scan"


DEVCONFIG_ACTION_MEANINGS: Final = _meanings(DevConfigAction)


class DevConfigControlOutcome(_Code):
    """Outcome of a DevConfig control response (0x93)."""

    COMMITTED = 1, "committed (device will reboot)"
    SECURITY = 2, "security code invalid"
    SESSION_ENDED = 3, "nothing to commit / session ended"
    DISCARDED_REBOOTING = 4, "changes discarded, device rebooting"
    REVERTED = 5, "reverted to defaults (commit needed)"
    TIMER_RESET = 6, "session timer reset"
    LOCKED = 7, "another client holds uncommitted changes"
    SYSTEM_ERROR = 8, "system error"
    INVALID_ACTION = 9, "invalid action"
    WIFI_SCAN_STARTED = 10, "Wi-Fi scan started"


DEVCONFIG_CONTROL_MEANINGS: Final = _meanings(DevConfigControlOutcome)


class DeviceType(IntEnum):
    """DevConfig DeviceType of a get-settings response (§4.10; incomplete list)."""

    CR10X_PB = 4
    CR510_PB = 5
    CR23X_PB = 6
    CR200 = 7
    NL100 = 9
    CR1000 = 12
    RF401 = 14
    CR3000 = 15
    CR800 = 18
    CR5000_PB = 19
    CR200X = 27
    NL200 = 44
    NL240 = 51
    CR6 = 55
    CR300 = 69
    CR1000X = 78
    NL241 = 80
    CR350 = 96


#: Model names as Campbell spells them: the member's name with ``-`` for ``_``.
DEVICE_TYPE_NAMES: Final = _frozen({int(t): t.name.replace("_", "-") for t in DeviceType})


def device_type_name(code: int) -> str:
    """Model name of a DevConfig DeviceType, e.g. ``"CR1000"``."""
    return describe_code(DEVICE_TYPE_NAMES, code)


# --- files (§7.4) -----------------------------------------------------------------------------


class FileCommand(_Code):
    """FileCmd of a BMP5 file-control command (0x1E).  9 is UNCERTAIN: do not use."""

    RUN_AND_SET_POWER_UP = 1, "compile and run, and mark run-on-power-up"
    SET_POWER_UP = 2, "set the run-on-power-up attribute (empty name clears it)"
    HIDE = 3, "make the file hidden"
    DELETE = 4, "delete the file"
    FORMAT = 5, "format the device"
    RUN_KEEP_DATA = 6, "compile and run without deleting data tables"
    STOP = 7, "stop the running program"
    STOP_AND_DELETE_DATA = 8, "stop the running program and delete its data files"
    NEW_OS_OR_RESET = 9, "make the file the new OS or full memory reset (UNCERTAIN)"
    RUN_LEAVE_POWER_UP = 10, "compile and run without changing run-on-power-up"
    PAUSE = 11, "pause program execution"
    RESUME = 12, "resume program execution"
    STOP_DELETE_RUN_SET_POWER_UP = 13, "stop, delete data, run this file and set it run-on-power-up"
    STOP_DELETE_RUN_LEAVE_POWER_UP = (
        14,
        "stop, delete data, run this file, leave run-on-power-up alone",
    )
    MOVE = 15, "move the file to the second name"
    MOVE_AND_RUN_SET_POWER_UP = (
        16,
        "stop, delete data, move, run the second name, set run-on-power-up",
    )
    MOVE_AND_RUN_LEAVE_POWER_UP = (
        17,
        "stop, delete data, move, run the second name, leave run-on-power-up",
    )
    COPY = 18, "copy the file to the second name"
    COPY_AND_RUN_SET_POWER_UP = (
        19,
        "copy, stop, delete data, run the second name, set run-on-power-up",
    )
    COPY_AND_RUN_LEAVE_POWER_UP = (
        20,
        "copy, stop, delete data, run the second name, leave run-on-power-up",
    )
    COMPILE_PAUSED_FOR_RECOVERY = (
        21,
        "compile but leave paused, mark final-storage tables filled (data recovery)",
    )
    LOAD_OS_KEEP_SETTINGS = 22, "load the file as new OS, keeping program and settings if possible"


FILE_COMMAND_MEANINGS: Final = _meanings(FileCommand)


# --- tables and collection (§8.3, §8.5) -------------------------------------------------------


class CollectMode(_Code):
    """CollectMode of a BMP5 collect-data command (0x09): what P1/P2 select."""

    ALL = 3, "all records, oldest to newest"
    FROM_RECORD = 4, "from record P1 to the newest"
    NEWEST = 5, "the newest P1 records"
    RECORD_RANGE = 6, "records P1 <= number < P2"
    TIME_RANGE = 7, "records with P1 <= time stamp < P2"
    PARTIAL_RECORD = 8, "the rest of record P1 from byte offset P2"


COLLECT_MODE_MEANINGS: Final = _meanings(CollectMode)


class TableControlOption(IntEnum):
    """CtrlOption of a BMP5 table-control command (0x19)."""

    RESET = 1
    ROLL_OVER_FILE = 2


# --- programming statistics (§6.3) and access (§9.5) ------------------------------------------


class CompileState(_Code):
    """CompState of a programming-statistics response (0x98)."""

    NO_PROGRAM = 0, "no program running"
    RUNNING = 1, "running"
    COMPILE_ERROR = 2, "compile error"
    PAUSED = 3, "paused"


COMPILE_STATE_MEANINGS: Final = _meanings(CompileState)


class AccessLevel(IntEnum):
    """Answer of a BMP5 check-access-level response (0xA8)."""

    NONE = 0
    ALL = 1
    READ_WRITE = 2
    READ_ONLY = 3


# --- routing (§4.2, §4.6, §4.7, §4.11) --------------------------------------------------------


class HopMetric(IntEnum):
    """HopMetric of hello messages and neighbour entries: worst-case link response time."""

    MS_200 = 0
    S_1 = 1
    S_5 = 2
    S_10 = 3
    S_20 = 4
    MIN_1 = 5
    MIN_5 = 6
    MIN_30 = 7


#: Upper bound, in milliseconds, of each hop metric (Campbell converts back with these).
HOP_METRIC_LIMIT_MS: Final = _frozen(
    {0: 200, 1: 1_000, 2: 5_000, 3: 10_000, 4: 20_000, 5: 60_000, 6: 300_000, 7: 1_800_000}
)


def hop_metric_ms(metric: int) -> int:
    """Worst-case response time of a hop metric, ms; unknown metrics count as the slowest.

    Hop metrics sit in 3 bits, so an out-of-range value is a corrupt or future code; the
    slowest bound is the safe reading for a timeout.
    """
    return HOP_METRIC_LIMIT_MS.get(metric, HOP_METRIC_LIMIT_MS[7])


class NeighbourChange(IntEnum):
    """ChangeCode of a PakCtrl send-neighbour-list command (0x0A)."""

    COMPLETE_LIST = 0
    ADD_OR_CHANGE = 1
    REMOVE = 2


class ResetType(IntEnum):
    """ResetType of a PakCtrl reset-routes message (0x0C); absent means destructive."""

    DESTRUCTIVE = 0
    NON_DESTRUCTIVE = 1


class RemoteEchoOutcome(IntEnum):
    """Outcome of a PakCtrl remote-echo response (0x94)."""

    OK = 0
    UNREACHABLE = 1
    FAILED = 2


__all__ = [
    "BMP5_MEANINGS",
    "COLLECT_MODE_MEANINGS",
    "COMPILE_STATE_MEANINGS",
    "DELIVERY_FAILURE_MEANINGS",
    "DEVCONFIG_ACTION_MEANINGS",
    "DEVCONFIG_CONTROL_MEANINGS",
    "DEVCONFIG_GET_FRAGMENT_MEANINGS",
    "DEVCONFIG_GET_MEANINGS",
    "DEVCONFIG_SET_FRAGMENT_MEANINGS",
    "DEVCONFIG_SET_MEANINGS",
    "DEVICE_TYPE_NAMES",
    "FILE_COMMAND_MEANINGS",
    "HOP_METRIC_LIMIT_MS",
    "SETTING_OUTCOME_MEANINGS",
    "STRING_SETTINGS_MEANINGS",
    "AccessLevel",
    "Bmp5ResponseCode",
    "CollectMode",
    "CompileState",
    "DeliveryFailureCode",
    "DevConfigAction",
    "DevConfigControlOutcome",
    "DevConfigGetFragmentOutcome",
    "DevConfigGetOutcome",
    "DevConfigSetFragmentOutcome",
    "DevConfigSetOutcome",
    "DeviceType",
    "FileCommand",
    "HopMetric",
    "NeighbourChange",
    "RemoteEchoOutcome",
    "ResetType",
    "SettingOutcome",
    "StringSettingsCode",
    "TableControlOption",
    "bmp5_meaning",
    "delivery_failure_meaning",
    "describe_code",
    "device_type_name",
    "hop_metric_ms",
]
