"""DevConfig settings over PakCtrl: read all, change one and commit (pakbus.md §4.10)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from fieldlink.errors import (
    DeviceError,
    LinkError,
    NotFound,
    PermissionDenied,
    ProtocolError,
    Unsupported,
    UsageError,
)
from fieldlink.pakbus.operations.common import LEVEL_ADMIN, permission_message
from fieldlink.pakbus.protocol import pakctrl
from fieldlink.pakbus.protocol.codes import (
    DEVCONFIG_CONTROL_MEANINGS,
    DEVCONFIG_SET_FRAGMENT_MEANINGS,
    DEVCONFIG_SET_MEANINGS,
    SETTING_OUTCOME_MEANINGS,
    DevConfigAction,
    DevConfigControlOutcome,
    DevConfigGetFragmentOutcome,
    DevConfigGetOutcome,
    DevConfigSetOutcome,
    SettingOutcome,
    describe_code,
    device_type_name,
)
from fieldlink.pakbus.protocol.types import DataType, encode_value
from fieldlink.pakbus.session import (
    Operation,
    Request,
    expect,
)

#: Largest DevConfig value (or fragment) sent in one message (pakbus.md §2.4: 988; 980 as
#: Campbell's SettingsManager uses).
SETTING_CHUNK = 980


# --- DevConfig settings -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setting:
    """One DevConfig setting: its id, raw value bytes and whether it is read-only.

    Value encodings depend on the setting (§4.10); :attr:`text` and :attr:`number` are
    readings that hold for the common cases (NUL-terminated strings, big-endian
    integers).
    """

    id: int
    value: bytes
    read_only: bool = False

    @property
    def text(self) -> str | None:
        """The value as a string when it is one NUL-terminated printable text, else None.

        A lone NUL byte reads as the number 0, not as an empty string: one-byte
        settings (flags) are far more common than empty one-byte strings.  Only
        printable ASCII counts as text: a four-byte number ending in a zero byte, such
        as an auto-baud rate of -38400 (``FF FF 6A 00``), would otherwise read as
        Latin-1 garbage ("ÿÿj").
        """
        v = self.value
        if len(v) < 2 or not v.endswith(b"\x00") or b"\x00" in v[:-1]:
            return None
        s = v[:-1].decode("latin-1")
        return s if s.isascii() and s.isprintable() else None

    @property
    def number(self) -> int | None:
        """A 1, 2 or 4-byte value as a big-endian signed integer, else None."""
        if len(self.value) not in (1, 2, 4):
            return None
        return int.from_bytes(self.value, "big", signed=True)

    def display(self) -> str:
        """How a person reads it: the text, the number, or hex bytes."""
        if self.text is not None:
            return self.text
        if self.number is not None:
            return str(self.number)
        return self.value.hex(" ")


#: Names of a CR1000's settings, catalogue major 5 (pakbus.md §4.10 after BMP5 App. C).
#: Only the ids the OBSERVED OS 24 catalogue (vectors V12) holds with the values App. C
#: describes are named: ids 50..55 moved between OS versions, so they stay unnamed.
CR1000_SETTING_NAMES: dict[int, str] = {
    0: "OS Version",
    1: "Serial Number",
    2: "Station Name",
    3: "PakBus Address",
    4: "Security",
    5: "Is Router",
    6: "PakBus Nodes Allocation",
    7: "RS-232 Baud Rate",
    8: "ME Baud Rate",
    9: "COM310 Baud Rate",
    10: "SDC7 Baud Rate",
    11: "SDC8 Baud Rate",
    12: "COM1 Baud Rate",
    13: "COM2 Baud Rate",
    14: "COM3 Baud Rate",
    15: "COM4 Baud Rate",
    17: "RS-232 Beacon Interval",
    18: "ME Beacon Interval",
    20: "SDC7 Beacon Interval",
    21: "SDC8 Beacon Interval",
    22: "COM1 Beacon Interval",
    23: "COM2 Beacon Interval",
    24: "COM3 Beacon Interval",
    25: "COM4 Beacon Interval",
    26: "Ethernet Beacon Interval",
    **{n: "Verify Interval" for n in range(27, 37)},
    49: "Max Packet Size",
}
_CR1000_CATALOGUE = (12, 5)  # DeviceType CR1000, catalogue major 5
_BAUD_SETTINGS = frozenset(range(7, 16))


def decode_serial(value: bytes) -> str | None:
    """A serial-number setting: UInt4, top byte an ASCII country letter if not 0 (§4.10)."""
    if len(value) != 4:
        return None
    letter, number = value[0], int.from_bytes(value[1:], "big")
    if letter == 0:
        return str(number)
    return f"{chr(letter)}{number}" if 0x41 <= letter <= 0x5A else None


@dataclass(frozen=True, slots=True)
class DeviceSettings:
    """A device's DevConfig settings, in the device's own order (§4.10)."""

    device_type: int
    major: int
    minor: int
    settings: tuple[Setting, ...]

    @property
    def model(self) -> str:
        return device_type_name(self.device_type)

    def __iter__(self) -> Iterator[Setting]:
        return iter(self.settings)

    def __len__(self) -> int:
        return len(self.settings)

    def get(self, setting_id: int) -> Setting | None:
        return next((s for s in self.settings if s.id == setting_id), None)

    def name(self, setting_id: int) -> str:
        """The setting's name where the reference gives it for this device, else ""."""
        if (self.device_type, self.major) != _CR1000_CATALOGUE:
            return ""
        return CR1000_SETTING_NAMES.get(setting_id, "")

    def decoded(self, setting: Setting) -> str:
        """The value as a person reads it, by the setting's documented encoding (§4.10):
        serial numbers with their letter, the three security levels, auto-baud rates;
        others as :meth:`Setting.display`."""
        if self.name(setting.id):
            v = setting.value
            if setting.id == 1:
                serial = decode_serial(v)
                if serial is not None:
                    return serial
            elif setting.id == 4 and len(v) == 6:
                levels = struct.unpack(">3H", v)
                return ", ".join(f"level {i} {code}" for i, code in enumerate(levels, 1))
            elif setting.id == 5 and len(v) == 1:
                return "yes" if v[0] else "no"
            elif setting.id in _BAUD_SETTINGS and setting.number is not None:
                if setting.number < 0:
                    return f"auto (from {-setting.number})"
                return "off" if setting.number == 0 else str(setting.number)
        return setting.display()


def _devconfig_denied(what: str) -> PermissionDenied:
    # DevConfig guards settings like programs and files (pakbus.md §5, INFERRED).
    return PermissionDenied(
        permission_message(what, LEVEL_ADMIN), code=2, meaning="security code invalid"
    )


#: Most bytes of one setting value read in fragments.  The longest real settings (route
#: tables, network configurations) take a few kilobytes; this bounds a device whose
#: fragments never end (issue 13).
MAX_SETTING_SIZE = 1 << 20


def _setting_fragments(setting_id: int, first: bytes, security_code: int) -> Operation[bytes]:
    value = bytearray(first)
    while True:
        r = yield from expect(
            Request(pakctrl.DevConfigGetFragmentCommand(0, security_code, setting_id, len(value))),
            pakctrl.DevConfigGetFragmentResponse,
        )
        if r.outcome == DevConfigGetFragmentOutcome.SECURITY:
            raise _devconfig_denied(f"reading setting {setting_id}")
        if r.outcome == DevConfigGetFragmentOutcome.NOT_SUPPORTED:
            raise Unsupported(f"the device cannot send the rest of setting {setting_id}")
        if r.outcome != DevConfigGetFragmentOutcome.OK:
            raise DeviceError(f"reading setting {setting_id}: outcome {r.outcome}", code=r.outcome)
        if len(value) + len(r.data) > MAX_SETTING_SIZE:
            raise ProtocolError(
                f"setting {setting_id}: fragments go on past {MAX_SETTING_SIZE} bytes, "
                "more than any setting holds",
                message_type=r.what(),
            )
        value += r.data
        if not r.more_fragments:
            return bytes(value)
        if not r.data:
            raise ProtocolError(
                f"setting {setting_id}: empty fragment while more are announced",
                message_type=r.what(),
            )


def get_settings(security_code: int = 0) -> Operation[DeviceSettings]:
    """All DevConfig settings (§4.10), following MoreSettings and LargeValue fragments.

    Continuation asks for BeginSettingId = 0x8000 | the last id received ("after this
    one, in the device's order"), as Campbell's DevConfig does.
    """
    begin: int | None = None
    settings: list[Setting] = []
    seen: set[int] = set()
    while True:
        r = yield from expect(
            Request(pakctrl.DevConfigGetSettingsCommand(0, security_code, begin)),
            pakctrl.DevConfigGetSettingsResponse,
        )
        if r.outcome == DevConfigGetOutcome.SECURITY:
            raise _devconfig_denied("reading the settings")
        if r.outcome != DevConfigGetOutcome.OK:
            raise DeviceError(f"reading the settings: outcome {r.outcome}", code=r.outcome)
        known = len(seen)
        for s in r.settings:
            value = s.value
            if s.large_value:
                value = yield from _setting_fragments(s.id, value, security_code)
            if s.id not in seen:
                seen.add(s.id)
                settings.append(Setting(s.id, value, s.read_only))
        if not r.more:
            return DeviceSettings(r.device_type, r.major, r.minor, tuple(settings))
        if not r.settings:
            raise ProtocolError(
                "the device announces more settings but sent none", message_type=r.what()
            )
        if len(seen) == known:  # asking again would bring the same: it never ends
            raise ProtocolError(
                "the device announces more settings but sent no new setting",
                message_type=r.what(),
            )
        begin = 0x8000 | r.settings[-1].id


def encode_setting(value: bytes | str | int | float | bool, current: bytes | None) -> bytes:
    """Setting bytes for ``value``, shaped like the setting's ``current`` value.

    Bytes pass as they are; text becomes NUL-terminated Latin-1; integers take the
    current value's width (1, 2 or 4 bytes, big-endian); floats 4 or 8-byte IEEE.
    """
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return encode_value(DataType.ASCIIZ, value)
        except ValueError as exc:
            raise UsageError(f"setting text: {exc}") from None
    width = None if current is None else len(current)
    if isinstance(value, bool):
        return b"\x01" if value else b"\x00"
    if isinstance(value, int):
        if width not in (1, 2, 4):
            raise UsageError(
                f"cannot tell how to encode the number {value}: the setting holds "
                f"{width if width is not None else 'an unknown number of'} bytes; "
                "give the value as hex bytes"
            )
        try:
            return value.to_bytes(width, "big", signed=value < 0)
        except OverflowError:
            raise UsageError(f"{value} does not fit the setting's {width} bytes") from None
    if width == 8:
        return struct.pack(">d", value)
    if width == 4:
        return struct.pack(">f", value)
    raise UsageError("a decimal number fits only 4- or 8-byte settings; give hex bytes")


def _setting_outcome_error(setting_id: int, outcome: int) -> DeviceError:
    meaning = describe_code(SETTING_OUTCOME_MEANINGS, outcome)
    text = f"setting {setting_id}: {meaning}"
    if outcome == SettingOutcome.UNKNOWN_ID:
        return NotFound(f"the device has no setting {setting_id}", code=outcome, meaning=meaning)
    if outcome == SettingOutcome.READ_ONLY:
        return PermissionDenied(f"setting {setting_id} is read-only", code=outcome, meaning=meaning)
    return DeviceError(text, code=outcome, meaning=meaning)


def set_setting(
    setting_id: int, value: bytes | str | int | float | bool, security_code: int = 0
) -> Operation[None]:
    """Change one DevConfig setting and commit (§4.10).

    A number is encoded in the width of the setting's current value, which is read
    first.  Values longer than one message go as a first part with "more fragments"
    set, then Set Setting Fragment messages (INFERRED from Campbell's code).  If the
    device refuses, the DevConfig session is cancelled so nothing stays staged.
    """
    if isinstance(value, bytes | str):
        raw = encode_setting(value, None)
    else:
        current = (yield from get_settings(security_code)).get(setting_id)
        if current is None:
            raise NotFound(f"the device has no setting {setting_id}")
        raw = encode_setting(value, current.value)
    first = raw[:SETTING_CHUNK]
    change = pakctrl.SettingChange(setting_id, first, more_fragments=len(raw) > SETTING_CHUNK)
    r = yield from expect(
        Request(pakctrl.DevConfigSetSettingsCommand(0, security_code, (change,))),
        pakctrl.DevConfigSetSettingsResponse,
    )
    if r.outcome == DevConfigSetOutcome.SECURITY:
        raise _devconfig_denied(f"changing setting {setting_id}")
    if r.outcome != DevConfigSetOutcome.OK:
        meaning = describe_code(DEVCONFIG_SET_MEANINGS, r.outcome)
        raise DeviceError(f"changing setting {setting_id}: {meaning}", code=r.outcome)
    try:
        for result in r.setting_outcomes:
            if result.id == setting_id and result.outcome != SettingOutcome.TAGGED:
                raise _setting_outcome_error(setting_id, result.outcome)
        offset = len(first)
        while offset < len(raw):
            part = raw[offset : offset + SETTING_CHUNK]
            more = offset + len(part) < len(raw)
            f = yield from expect(
                Request(
                    pakctrl.DevConfigSetFragmentCommand(
                        0, security_code, setting_id, offset, more, part
                    )
                ),
                pakctrl.DevConfigSetFragmentResponse,
            )
            if f.outcome != 1:
                meaning = describe_code(DEVCONFIG_SET_FRAGMENT_MEANINGS, f.outcome)
                raise DeviceError(f"setting {setting_id}: {meaning}", code=f.outcome)
            offset += len(part)
    except DeviceError:
        yield from _devconfig_control(DevConfigAction.CANCEL, security_code, check=False)
        raise
    yield from _devconfig_control(DevConfigAction.COMMIT, security_code)


def _devconfig_control(action: int, security_code: int, *, check: bool = True) -> Operation[int]:
    try:
        r = yield from expect(
            Request(pakctrl.DevConfigControlCommand(0, security_code, action)),
            pakctrl.DevConfigControlResponse,
        )
    except LinkError:
        if check:
            raise
        return 0
    committed = r.outcome == DevConfigControlOutcome.COMMITTED
    if check and action == DevConfigAction.COMMIT and not committed:
        if r.outcome == DevConfigControlOutcome.SECURITY:
            raise _devconfig_denied("committing the settings")
        meaning = describe_code(DEVCONFIG_CONTROL_MEANINGS, r.outcome)
        raise DeviceError(f"committing the settings: {meaning}", code=r.outcome, meaning=meaning)
    return r.outcome
