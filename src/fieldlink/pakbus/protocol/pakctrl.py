"""PakCtrl messages (HiProtoCode 0): the network's own services.

Hello, bye, delivery failures, echo, neighbour lists and the two ways a logger
exposes its settings (string settings and DevConfig).  Layouts are ``pakbus.md``
§4; each class docstring cites its subsection and says where the reference is
UNCERTAIN and which reading we took.

Response and outcome codes stay plain ``int``; :mod:`fieldlink.pakbus.protocol.codes`
names them.  Setting values stay raw ``bytes``: their encoding depends on the
setting, which only the device's catalogue knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self

from fieldlink.pakbus.protocol.codes import DevConfigGetFragmentOutcome, DevConfigGetOutcome
from fieldlink.pakbus.protocol.messages import PAKCTRL, FieldWriter, Message, register
from fieldlink.pakbus.protocol.wire import NSec, Reader

#: Largest DevConfig setting length (14 bits) in a get-settings response.
MAX_SETTING_LEN = 0x3FFF
#: Largest length (15 bits) in set-settings entries and setting fragments.
MAX_FRAGMENT_LEN = 0x7FFF
#: A delivery failure quotes at most this many bytes of the undelivered message.
MAX_QUOTED = 16
#: What LoggerNet puts in an echo command's time field: nothing yet.
ZERO_TIME = NSec(0, 0)


class _PakCtrl(Message):
    __slots__ = ()
    HI_PROTO: ClassVar[int] = PAKCTRL


# --- delivery failure (§4.1) ------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class DeliveryFailureMessage(_PakCtrl):
    """A node could not deliver a message (§4.1); one-way, TranNbr 0.

    ``original`` holds the first ≤ 16 bytes of the undelivered message from its MsgType
    on; :attr:`original_msg_type`/:attr:`original_tran` match it to a transaction.
    Decoding keeps a longer quote whole rather than reject the failure report.
    """

    MSG_TYPE: ClassVar[int] = 0x81
    NAME: ClassVar[str] = "delivery failure"

    err_code: int
    dst_node: int
    hi_proto_of_original: int
    src_node: int
    hop_count: int
    original: bytes = b""
    tran: int = field(default=0, kw_only=True)

    @property
    def original_msg_type(self) -> int | None:
        return self.original[0] if self.original else None

    @property
    def original_tran(self) -> int | None:
        return self.original[1] if len(self.original) >= 2 else None

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u8(self.err_code, "ErrCode")
        out.require(0 <= self.hi_proto_of_original <= 0xF, "HiProtoCode", "must be 0..15")
        out.require(0 <= self.dst_node <= 0xFFF, "DstNodeId", "must be 0..4095")
        out.require(0 <= self.hop_count <= 0xF, "HopCnt", "must be 0..15")
        out.require(0 <= self.src_node <= 0xFFF, "SrcNodeId", "must be 0..4095")
        out.u16((self.hi_proto_of_original << 12) | self.dst_node, "HiProtoCode/DstNodeId")
        out.u16((self.hop_count << 12) | self.src_node, "HopCnt/SrcNodeId")
        out.raw(self.original, "original message", max_len=MAX_QUOTED)

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        err = r.u8("ErrCode")
        dst = r.u16("HiProtoCode/DstNodeId")
        src = r.u16("HopCnt/SrcNodeId")
        return cls(err, dst & 0xFFF, dst >> 12, src & 0xFFF, src >> 12, r.rest(), tran=tran)


# --- hello (§4.2), hello request (§4.3), bye (§4.4), reset routes (§4.7) ----------------------


def _write_hello(out: FieldWriter, is_router: int, hop_metric: int, interval: int) -> None:
    out.u8(is_router, "IsRouter")
    out.u8(hop_metric, "HopMetric")
    out.u16(interval, "VerifyIntv")


def _read_hello(r: Reader) -> tuple[int, int, int]:
    return r.u8("IsRouter"), r.u8("HopMetric"), r.u16("VerifyIntv")


@register
@dataclass(frozen=True, slots=True)
class HelloCommand(_PakCtrl):
    """Hello (§4.2): verifies two-way communication; either side may send it.

    ``is_router`` stays the wire byte (0 no, 1 yes) so odd values survive a round trip;
    ``hop_metric`` is codes.HopMetric, ``verify_interval`` seconds.
    """

    MSG_TYPE: ClassVar[int] = 0x09
    NAME: ClassVar[str] = "hello command"

    tran: int
    is_router: int
    hop_metric: int
    verify_interval: int

    def _encode_fields(self, out: FieldWriter) -> None:
        _write_hello(out, self.is_router, self.hop_metric, self.verify_interval)

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, *_read_hello(r))


@register
@dataclass(frozen=True, slots=True)
class HelloResponse(_PakCtrl):
    """Hello response (§4.2): copy the command's TranNbr and HopMetric.

    The manual says VerifyIntv = the command's / 2.5 (UNCERTAIN); CR1000s were seen
    echoing the command's value or sending 65535.  Fields as in :class:`HelloCommand`.
    """

    MSG_TYPE: ClassVar[int] = 0x89
    NAME: ClassVar[str] = "hello response"

    tran: int
    is_router: int
    hop_metric: int
    verify_interval: int

    def _encode_fields(self, out: FieldWriter) -> None:
        _write_hello(out, self.is_router, self.hop_metric, self.verify_interval)

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, *_read_hello(r))


@register
@dataclass(frozen=True, slots=True)
class HelloRequest(_PakCtrl):
    """Hello request (§4.3): one-way "start a hello with me"; no fields."""

    MSG_TYPE: ClassVar[int] = 0x0E
    NAME: ClassVar[str] = "hello request"

    tran: int = field(default=0, kw_only=True)

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran=tran)


@register
@dataclass(frozen=True, slots=True)
class Bye(_PakCtrl):
    """Bye / goodbye (§4.4): one-way, the link is shutting down; no fields."""

    MSG_TYPE: ClassVar[int] = 0x0D
    NAME: ClassVar[str] = "bye"

    tran: int = field(default=0, kw_only=True)

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran=tran)


@register
@dataclass(frozen=True, slots=True)
class ResetRoutes(_PakCtrl):
    """Reset routes (§4.7): one-way; ``reset_type`` None (absent) or 0 is destructive."""

    MSG_TYPE: ClassVar[int] = 0x0C
    NAME: ClassVar[str] = "reset routes"

    reset_type: int | None = None
    tran: int = field(default=0, kw_only=True)

    def _encode_fields(self, out: FieldWriter) -> None:
        if self.reset_type is not None:
            out.u8(self.reset_type, "ResetType")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(None if r.at_end() else r.u8("ResetType"), tran=tran)


# --- echo (§4.8) ------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class EchoCommand(_PakCtrl):
    """Echo / ping (§4.8).  ``time`` is an 8-byte placeholder (LoggerNet sends zeros)."""

    MSG_TYPE: ClassVar[int] = 0x05
    NAME: ClassVar[str] = "echo command"

    tran: int
    time: NSec = ZERO_TIME
    payload: bytes = b""

    def _encode_fields(self, out: FieldWriter) -> None:
        out.nsec(self.time, "placeholder time")
        out.raw(self.payload, "payload")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, r.nsec("placeholder time"), r.rest())


@register
@dataclass(frozen=True, slots=True)
class EchoResponse(_PakCtrl):
    """Echo response (§4.8): responder's clock, then the command's payload echoed."""

    MSG_TYPE: ClassVar[int] = 0x85
    NAME: ClassVar[str] = "echo response"

    tran: int
    time: NSec
    payload: bytes = b""

    def _encode_fields(self, out: FieldWriter) -> None:
        out.nsec(self.time, "Time")
        out.raw(self.payload, "payload")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, r.nsec("Time"), r.rest())


# --- string settings (§4.9) -------------------------------------------------------------------


def parse_settings_string(text: str) -> dict[str, str]:
    """``"Model=CR200;PakBusAddress=1;"`` → ``{"Model": "CR200", "PakBusAddress": "1"}``.

    An entry without ``=`` maps to the empty string; empty entries are skipped.
    """
    out: dict[str, str] = {}
    for entry in text.split(";"):
        if entry:
            name, _, value = entry.partition("=")
            out[name] = value
    return out


@register
@dataclass(frozen=True, slots=True)
class GetStringSettingsCommand(_PakCtrl):
    """Get string settings (§4.9): names separated by ``;``; empty asks for all."""

    MSG_TYPE: ClassVar[int] = 0x07
    NAME: ClassVar[str] = "get string settings command"

    tran: int
    names: str = ""

    def _encode_fields(self, out: FieldWriter) -> None:
        out.text(self.names, "NameList")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, r.text("NameList"))


@register
@dataclass(frozen=True, slots=True)
class GetStringSettingsResponse(_PakCtrl):
    """Get string settings response (§4.9): ``name=value`` pairs separated by ``;``."""

    MSG_TYPE: ClassVar[int] = 0x87
    NAME: ClassVar[str] = "get string settings response"

    tran: int
    settings: str

    def as_dict(self) -> dict[str, str]:
        return parse_settings_string(self.settings)

    def _encode_fields(self, out: FieldWriter) -> None:
        out.text(self.settings, "Settings")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, r.text("Settings"))


@register
@dataclass(frozen=True, slots=True)
class SetStringSettingsCommand(_PakCtrl):
    """Set string settings (§4.9): ``name=value;`` pairs, applied in order."""

    MSG_TYPE: ClassVar[int] = 0x08
    NAME: ClassVar[str] = "set string settings command"

    tran: int
    settings: str

    def _encode_fields(self, out: FieldWriter) -> None:
        out.text(self.settings, "Settings")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, r.text("Settings"))


@register
@dataclass(frozen=True, slots=True)
class SetStringSettingsResponse(_PakCtrl):
    """Set string settings response (§4.9).

    ``fail_offset`` (offset into the settings string of the first rejected one) is
    present on failure; jPakBus omits it for codes 0 and 4, so it is None when absent.
    """

    MSG_TYPE: ClassVar[int] = 0x88
    NAME: ClassVar[str] = "set string settings response"

    tran: int
    resp_code: int
    fail_offset: int | None = None

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u8(self.resp_code, "RespCode")
        if self.fail_offset is not None:
            out.u16(self.fail_offset, "FailOffset")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        code = r.u8("RespCode")
        return cls(tran, code, None if r.at_end() else r.u16("FailOffset"))


# --- DevConfig (§4.10) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettingValue:
    """One setting in a DevConfig get-settings response.

    ``large_value``: ``value`` is only the first fragment; fetch the rest with
    :class:`DevConfigGetFragmentCommand` from offset ``len(value)``.
    """

    id: int
    value: bytes
    read_only: bool = False
    large_value: bool = False


@dataclass(frozen=True, slots=True)
class SettingChange:
    """One setting in a DevConfig set-settings command.

    ``more_fragments`` (bit 15 of SettingLen): ``value`` is the first fragment of a
    long value, the rest follows with set-fragment commands (INFERRED from CSI code).
    """

    id: int
    value: bytes
    more_fragments: bool = False


@dataclass(frozen=True, slots=True)
class SettingResult:
    """Per-setting outcome in a DevConfig set-settings response (codes.SettingOutcome)."""

    id: int
    outcome: int


@register
@dataclass(frozen=True, slots=True)
class DevConfigGetSettingsCommand(_PakCtrl):
    """DevConfig get settings (§4.10).

    Every field is optional on the wire and only a prefix may be present:
    ``security_code`` None sends no SecurityCode at all (PyCampbellCR1000's
    ``0F 02``, which a CR1000 answers, vectors V1.3/V12).  To continue after
    MoreSettings, Campbell sends ``begin_id = 0x8000 | last id received``.
    ``end_id`` is inclusive (UNCERTAIN: CSI's emulation treats it as exclusive).
    """

    MSG_TYPE: ClassVar[int] = 0x0F
    NAME: ClassVar[str] = "DevConfig get settings command"

    tran: int
    security_code: int | None = None
    begin_id: int | None = None
    end_id: int | None = None

    def _encode_fields(self, out: FieldWriter) -> None:
        present = [
            (self.security_code, "SecurityCode"),
            (self.begin_id, "BeginSettingId"),
            (self.end_id, "EndSettingId"),
        ]
        absent_before: str | None = None
        for value, name in present:
            if value is None:
                absent_before = absent_before or name
                continue
            out.require(absent_before is None, name, f"cannot be sent without {absent_before}")
            out.u16(value, name)

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        sec = None if r.at_end() else r.u16("SecurityCode")
        begin = None if r.at_end() else r.u16("BeginSettingId")
        end = None if r.at_end() else r.u16("EndSettingId")
        return cls(tran, sec, begin, end)


@register
@dataclass(frozen=True, slots=True)
class DevConfigGetSettingsResponse(_PakCtrl):
    """DevConfig get settings response (§4.10, vectors V12).

    Everything after ``outcome`` is sent when the outcome is 1 (ok).  On another
    outcome it is decoded if present and otherwise left at its defaults; it is
    encoded only when it differs from them.  Settings come in the device's own
    order, not by id.
    """

    MSG_TYPE: ClassVar[int] = 0x8F
    NAME: ClassVar[str] = "DevConfig get settings response"

    tran: int
    outcome: int
    device_type: int = 0
    major: int = 0
    minor: int = 0
    more: bool = False
    settings: tuple[SettingValue, ...] = ()

    def _has_body(self) -> bool:
        return self.outcome == DevConfigGetOutcome.OK or (
            self.device_type,
            self.major,
            self.minor,
            self.more,
            self.settings,
        ) != (0, 0, 0, False, ())

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u8(self.outcome, "Outcome")
        if not self._has_body():
            return
        out.u16(self.device_type, "DeviceType")
        out.u8(self.major, "MajorVersion")
        out.u8(self.minor, "MinorVersion")
        out.flag(self.more, "MoreSettings")
        for s in self.settings:
            name = f"setting {s.id}"
            out.u16(s.id, f"{name} id")
            out.require(
                len(s.value) <= MAX_SETTING_LEN, name, f"value longer than {MAX_SETTING_LEN}"
            )
            flags = (0x8000 if s.large_value else 0) | (0x4000 if s.read_only else 0)
            out.u16(flags | len(s.value), f"{name} length")
            out.raw(s.value, f"{name} value")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        outcome = r.u8("Outcome")
        if outcome != DevConfigGetOutcome.OK and r.at_end():
            return cls(tran, outcome)
        device_type = r.u16("DeviceType")
        major = r.u8("MajorVersion")
        minor = r.u8("MinorVersion")
        more = r.u8("MoreSettings") != 0
        settings: list[SettingValue] = []
        while not r.at_end():
            sid = r.u16("SettingId")
            flags = r.u16(f"setting {sid} length")
            value = r.take(flags & MAX_SETTING_LEN, f"setting {sid} value")
            settings.append(SettingValue(sid, value, bool(flags & 0x4000), bool(flags & 0x8000)))
        return cls(tran, outcome, device_type, major, minor, more, tuple(settings))


@register
@dataclass(frozen=True, slots=True)
class DevConfigSetSettingsCommand(_PakCtrl):
    """DevConfig set settings (§4.10): staged until a control "commit"."""

    MSG_TYPE: ClassVar[int] = 0x10
    NAME: ClassVar[str] = "DevConfig set settings command"

    tran: int
    security_code: int
    settings: tuple[SettingChange, ...] = ()

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u16(self.security_code, "SecurityCode")
        for s in self.settings:
            name = f"setting {s.id}"
            out.u16(s.id, f"{name} id")
            out.require(
                len(s.value) <= MAX_FRAGMENT_LEN, name, f"value longer than {MAX_FRAGMENT_LEN}"
            )
            out.u16((0x8000 if s.more_fragments else 0) | len(s.value), f"{name} length")
            out.raw(s.value, f"{name} value")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        sec = r.u16("SecurityCode")
        settings: list[SettingChange] = []
        while not r.at_end():
            sid = r.u16("SettingId")
            word = r.u16(f"setting {sid} length")
            value = r.take(word & MAX_FRAGMENT_LEN, f"setting {sid} value")
            settings.append(SettingChange(sid, value, bool(word & 0x8000)))
        return cls(tran, sec, tuple(settings))


@register
@dataclass(frozen=True, slots=True)
class DevConfigSetSettingsResponse(_PakCtrl):
    """DevConfig set settings response (§4.10): overall outcome, then one per setting."""

    MSG_TYPE: ClassVar[int] = 0x90
    NAME: ClassVar[str] = "DevConfig set settings response"

    tran: int
    outcome: int
    setting_outcomes: tuple[SettingResult, ...] = ()

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u8(self.outcome, "Outcome")
        for s in self.setting_outcomes:
            out.u16(s.id, "SettingId")
            out.u8(s.outcome, f"setting {s.id} outcome")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        outcome = r.u8("Outcome")
        results: list[SettingResult] = []
        while not r.at_end():
            sid = r.u16("SettingId")
            results.append(SettingResult(sid, r.u8(f"setting {sid} outcome")))
        return cls(tran, outcome, tuple(results))


@register
@dataclass(frozen=True, slots=True)
class DevConfigGetFragmentCommand(_PakCtrl):
    """DevConfig get setting fragment (§4.10): the rest of a LargeValue setting."""

    MSG_TYPE: ClassVar[int] = 0x11
    NAME: ClassVar[str] = "DevConfig get setting fragment command"

    tran: int
    security_code: int
    setting_id: int
    offset: int

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u16(self.security_code, "SecurityCode")
        out.u16(self.setting_id, "SettingId")
        out.u32(self.offset, "Offset")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, r.u16("SecurityCode"), r.u16("SettingId"), r.u32("Offset"))


@register
@dataclass(frozen=True, slots=True)
class DevConfigGetFragmentResponse(_PakCtrl):
    """DevConfig get setting fragment response (§4.10).

    The fragment follows only when ``outcome`` is 1; otherwise it is decoded if
    present and encoded only if non-empty.
    """

    MSG_TYPE: ClassVar[int] = 0x91
    NAME: ClassVar[str] = "DevConfig get setting fragment response"

    tran: int
    outcome: int
    more_fragments: bool = False
    data: bytes = b""

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u8(self.outcome, "Outcome")
        if self.outcome == DevConfigGetFragmentOutcome.OK or self.more_fragments or self.data:
            out.require(len(self.data) <= MAX_FRAGMENT_LEN, "FragmentData", "too long")
            out.u16((0x8000 if self.more_fragments else 0) | len(self.data), "FragmentSize")
            out.raw(self.data, "FragmentData")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        outcome = r.u8("Outcome")
        if outcome != DevConfigGetFragmentOutcome.OK and r.at_end():
            return cls(tran, outcome)
        word = r.u16("FragmentSize")
        return cls(tran, outcome, bool(word & 0x8000), r.take(word & 0x7FFF, "FragmentData"))


@register
@dataclass(frozen=True, slots=True)
class DevConfigSetFragmentCommand(_PakCtrl):
    """DevConfig set setting fragment (§4.10): the rest of a long value."""

    MSG_TYPE: ClassVar[int] = 0x12
    NAME: ClassVar[str] = "DevConfig set setting fragment command"

    tran: int
    security_code: int
    setting_id: int
    offset: int
    more_fragments: bool
    data: bytes

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u16(self.security_code, "SecurityCode")
        out.u16(self.setting_id, "SettingId")
        out.u32(self.offset, "FragmentOffset")
        out.require(len(self.data) <= MAX_FRAGMENT_LEN, "FragmentData", "too long")
        out.u16((0x8000 if self.more_fragments else 0) | len(self.data), "FragmentLen")
        out.raw(self.data, "FragmentData")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        sec = r.u16("SecurityCode")
        sid = r.u16("SettingId")
        offset = r.u32("FragmentOffset")
        word = r.u16("FragmentLen")
        data = r.take(word & 0x7FFF, "FragmentData")
        return cls(tran, sec, sid, offset, bool(word & 0x8000), data)


@register
@dataclass(frozen=True, slots=True)
class DevConfigSetFragmentResponse(_PakCtrl):
    """DevConfig set setting fragment response (§4.10; codes.DevConfigSetFragmentOutcome)."""

    MSG_TYPE: ClassVar[int] = 0x92
    NAME: ClassVar[str] = "DevConfig set setting fragment response"

    tran: int
    outcome: int

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u8(self.outcome, "Outcome")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, r.u8("Outcome"))


@register
@dataclass(frozen=True, slots=True)
class DevConfigControlCommand(_PakCtrl):
    """DevConfig control (§4.10): commit, cancel, revert… (codes.DevConfigAction)."""

    MSG_TYPE: ClassVar[int] = 0x13
    NAME: ClassVar[str] = "DevConfig control command"

    tran: int
    security_code: int
    action: int

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u16(self.security_code, "SecurityCode")
        out.u8(self.action, "Action")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, r.u16("SecurityCode"), r.u8("Action"))


@register
@dataclass(frozen=True, slots=True)
class DevConfigControlResponse(_PakCtrl):
    """DevConfig control response (§4.10; codes.DevConfigControlOutcome)."""

    MSG_TYPE: ClassVar[int] = 0x93
    NAME: ClassVar[str] = "DevConfig control response"

    tran: int
    outcome: int

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u8(self.outcome, "Outcome")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, r.u8("Outcome"))


# --- neighbour lists (§4.6) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One neighbour-list entry: bit 15 IsRouter, bits 14..12 HopMetric, 11..0 address."""

    address: int
    hop_metric: int = 2
    is_router: bool = False

    def word(self, out: FieldWriter) -> int:
        out.require(0 <= self.address <= 0xFFF, "neighbour address", "must be 0..4095")
        out.require(0 <= self.hop_metric <= 7, "neighbour hop metric", "must be 0..7")
        return (0x8000 if self.is_router else 0) | (self.hop_metric << 12) | self.address

    @classmethod
    def from_word(cls, word: int) -> Neighbour:
        return cls(word & 0xFFF, (word >> 12) & 0x7, bool(word & 0x8000))


def _write_neighbours(out: FieldWriter, neighbours: tuple[Neighbour, ...]) -> None:
    for n in neighbours:
        out.u16(n.word(out), "neighbour entry")


def _read_neighbours(r: Reader) -> tuple[Neighbour, ...]:
    entries: list[Neighbour] = []
    while not r.at_end():
        entries.append(Neighbour.from_word(r.u16("neighbour entry")))
    return tuple(entries)


@register
@dataclass(frozen=True, slots=True)
class SendNeighbourListCommand(_PakCtrl):
    """Send neighbour list (§4.6): router to router (codes.NeighbourChange)."""

    MSG_TYPE: ClassVar[int] = 0x0A
    NAME: ClassVar[str] = "send neighbour list command"

    tran: int
    change_code: int
    list_version: int
    neighbours: tuple[Neighbour, ...] = ()

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u8(self.change_code, "ChangeCode")
        out.u8(self.list_version, "ListVersion")
        _write_neighbours(out, self.neighbours)

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        change = r.u8("ChangeCode")
        version = r.u8("ListVersion")
        return cls(tran, change, version, _read_neighbours(r))


@register
@dataclass(frozen=True, slots=True)
class SendNeighbourListResponse(_PakCtrl):
    """Send neighbour list acknowledgement (§4.6): no fields."""

    MSG_TYPE: ClassVar[int] = 0x8A
    NAME: ClassVar[str] = "send neighbour list response"

    tran: int

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran)


@register
@dataclass(frozen=True, slots=True)
class GetNeighbourListCommand(_PakCtrl):
    """Get neighbour list (§4.6): no fields."""

    MSG_TYPE: ClassVar[int] = 0x0B
    NAME: ClassVar[str] = "get neighbour list command"

    tran: int

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran)


@register
@dataclass(frozen=True, slots=True)
class GetNeighbourListResponse(_PakCtrl):
    """Get neighbour list response (§4.6): neighbours whose hello completed."""

    MSG_TYPE: ClassVar[int] = 0x8B
    NAME: ClassVar[str] = "get neighbour list response"

    tran: int
    list_version: int
    neighbours: tuple[Neighbour, ...] = ()

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u8(self.list_version, "ListVersion")
        _write_neighbours(out, self.neighbours)

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        version = r.u8("ListVersion")
        return cls(tran, version, _read_neighbours(r))


# --- router services (§4.11) ------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class RemoteEchoCommand(_PakCtrl):
    """Remote echo (§4.11): ask a router to ping ``remote_address``."""

    MSG_TYPE: ClassVar[int] = 0x14
    NAME: ClassVar[str] = "remote echo command"

    tran: int
    remote_address: int
    packet_size: int

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u16(self.remote_address, "RemoteAddress")
        out.u16(self.packet_size, "PacketSize")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, r.u16("RemoteAddress"), r.u16("PacketSize"))


@register
@dataclass(frozen=True, slots=True)
class RemoteEchoResponse(_PakCtrl):
    """Remote echo response (§4.11): on outcome 0 the round trip in ms follows."""

    MSG_TYPE: ClassVar[int] = 0x94
    NAME: ClassVar[str] = "remote echo response"

    tran: int
    outcome: int
    round_trip_ms: int | None = None

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u8(self.outcome, "Outcome")
        if self.round_trip_ms is not None:
            out.u32(self.round_trip_ms, "round trip")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        outcome = r.u8("Outcome")
        return cls(tran, outcome, None if r.at_end() else r.u32("round trip"))


@register
@dataclass(frozen=True, slots=True)
class ListPortNamesCommand(_PakCtrl):
    """List port names (§4.11): no fields."""

    MSG_TYPE: ClassVar[int] = 0x15
    NAME: ClassVar[str] = "list port names command"

    tran: int

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran)


@register
@dataclass(frozen=True, slots=True)
class ListPortNamesResponse(_PakCtrl):
    """List port names response (§4.11): one ASCIIZ name per port, to the end."""

    MSG_TYPE: ClassVar[int] = 0x95
    NAME: ClassVar[str] = "list port names response"

    tran: int
    port_names: tuple[str, ...] = ()

    def _encode_fields(self, out: FieldWriter) -> None:
        for name in self.port_names:
            out.text(name, "PortName")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        names: list[str] = []
        while not r.at_end():
            names.append(r.text("PortName"))
        return cls(tran, tuple(names))


@register
@dataclass(frozen=True, slots=True)
class RemoteHelloRequestCommand(_PakCtrl):
    """Remote hello request (§4.11): a router broadcasts a hello request on a port."""

    MSG_TYPE: ClassVar[int] = 0x16
    NAME: ClassVar[str] = "remote hello request command"

    tran: int
    port_name: str

    def _encode_fields(self, out: FieldWriter) -> None:
        out.text(self.port_name, "PortName")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, r.text("PortName"))


@register
@dataclass(frozen=True, slots=True)
class RemoteHelloRequestResponse(_PakCtrl):
    """Remote hello request response (§4.11): 0 ok, 1 no such port."""

    MSG_TYPE: ClassVar[int] = 0x96
    NAME: ClassVar[str] = "remote hello request response"

    tran: int
    outcome: int

    def _encode_fields(self, out: FieldWriter) -> None:
        out.u8(self.outcome, "Outcome")

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        return cls(tran, r.u8("Outcome"))


__all__ = [
    "MAX_FRAGMENT_LEN",
    "MAX_QUOTED",
    "MAX_SETTING_LEN",
    "Bye",
    "DeliveryFailureMessage",
    "DevConfigControlCommand",
    "DevConfigControlResponse",
    "DevConfigGetFragmentCommand",
    "DevConfigGetFragmentResponse",
    "DevConfigGetSettingsCommand",
    "DevConfigGetSettingsResponse",
    "DevConfigSetFragmentCommand",
    "DevConfigSetFragmentResponse",
    "DevConfigSetSettingsCommand",
    "DevConfigSetSettingsResponse",
    "EchoCommand",
    "EchoResponse",
    "GetNeighbourListCommand",
    "GetNeighbourListResponse",
    "GetStringSettingsCommand",
    "GetStringSettingsResponse",
    "HelloCommand",
    "HelloRequest",
    "HelloResponse",
    "ListPortNamesCommand",
    "ListPortNamesResponse",
    "Neighbour",
    "RemoteEchoCommand",
    "RemoteEchoResponse",
    "RemoteHelloRequestCommand",
    "RemoteHelloRequestResponse",
    "ResetRoutes",
    "SendNeighbourListCommand",
    "SendNeighbourListResponse",
    "SetStringSettingsCommand",
    "SetStringSettingsResponse",
    "SettingChange",
    "SettingResult",
    "SettingValue",
    "parse_settings_string",
]
