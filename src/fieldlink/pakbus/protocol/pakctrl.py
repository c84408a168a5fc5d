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
from typing import ClassVar

from fieldlink.kit.fields import (
    asciiz,
    bits,
    flag,
    optional,
    part,
    prefixed,
    record,
    repeat,
    rest,
    tail,
    u8,
    u16,
    u32,
)
from fieldlink.pakbus.protocol.codes import DevConfigGetFragmentOutcome, DevConfigGetOutcome
from fieldlink.pakbus.protocol.messages import PAKCTRL, Message, message, nsec
from fieldlink.pakbus.protocol.packet import msg_type_of, tran_of
from fieldlink.pakbus.protocol.wire import NSec

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


@dataclass(frozen=True, slots=True)
class _Bare(_PakCtrl):
    """The messages that are only MsgType and TranNbr."""

    LAYOUT = ()

    tran: int


@dataclass(frozen=True, slots=True)
class _OneWayBare(_PakCtrl):
    """One-way messages with no fields (TranNbr 0 unless given)."""

    LAYOUT = ()

    tran: int = field(default=0, kw_only=True)


@dataclass(frozen=True, slots=True)
class _Outcome(_PakCtrl):
    """The responses that are one outcome byte (each class names its codes)."""

    LAYOUT = (u8("outcome", "Outcome"),)

    tran: int
    outcome: int


#: Bit 15 of a DevConfig length word: more fragments of the value follow.
_MORE_FRAGMENTS = (("more_fragments", 15),)


# --- delivery failure (§4.1) ------------------------------------------------------------------


@message(0x81, "delivery failure")
class DeliveryFailureMessage(_PakCtrl):
    """A node could not deliver a message (§4.1); one-way, TranNbr 0.

    ``original`` holds the first ≤ 16 bytes of the undelivered message from its MsgType
    on; :attr:`original_msg_type`/:attr:`original_tran` match it to a transaction.
    Decoding keeps a longer quote whole rather than reject the failure report.
    """

    LAYOUT = (
        u8("err_code", "ErrCode"),
        bits(
            "HiProtoCode/DstNodeId",
            part("hi_proto_of_original", 4, "HiProtoCode"),
            part("dst_node", 12, "DstNodeId"),
        ),
        bits("HopCnt/SrcNodeId", part("hop_count", 4, "HopCnt"), part("src_node", 12, "SrcNodeId")),
        rest("original", "original message", max_len=MAX_QUOTED),
    )

    err_code: int
    dst_node: int
    hi_proto_of_original: int
    src_node: int
    hop_count: int
    original: bytes = b""
    tran: int = field(default=0, kw_only=True)

    @property
    def original_msg_type(self) -> int | None:
        return msg_type_of(self.original)

    @property
    def original_tran(self) -> int | None:
        return tran_of(self.original)


# --- hello (§4.2), hello request (§4.3), bye (§4.4), reset routes (§4.7) ----------------------


@dataclass(frozen=True, slots=True)
class _Hello(_PakCtrl):
    """The hello command and response share one layout (§4.2).

    ``is_router`` stays the wire byte (0 no, 1 yes) so odd values survive a round trip;
    ``hop_metric`` is codes.HopMetric, ``verify_interval`` seconds.
    """

    LAYOUT = (
        u8("is_router", "IsRouter"),
        u8("hop_metric", "HopMetric"),
        u16("verify_interval", "VerifyIntv"),
    )

    tran: int
    is_router: int
    hop_metric: int
    verify_interval: int


@message(0x09, "hello command")
class HelloCommand(_Hello):
    """Hello (§4.2): verifies two-way communication; either side may send it."""


@message(0x89, "hello response")
class HelloResponse(_Hello):
    """Hello response (§4.2): copy the command's TranNbr and HopMetric.

    The manual says VerifyIntv = the command's / 2.5 (UNCERTAIN); CR1000s were seen
    echoing the command's value or sending 65535.  Fields as in :class:`HelloCommand`.
    """


@message(0x0E, "hello request")
class HelloRequest(_OneWayBare):
    """Hello request (§4.3): one-way "start a hello with me"; no fields."""


@message(0x0D, "bye")
class Bye(_OneWayBare):
    """Bye / goodbye (§4.4): one-way, the link is shutting down; no fields."""


@message(0x0C, "reset routes")
class ResetRoutes(_PakCtrl):
    """Reset routes (§4.7): one-way; ``reset_type`` None (absent) or 0 is destructive."""

    LAYOUT = (optional(u8("reset_type", "ResetType")),)

    reset_type: int | None = None
    tran: int = field(default=0, kw_only=True)


# --- echo (§4.8) ------------------------------------------------------------------------------


@message(0x05, "echo command")
class EchoCommand(_PakCtrl):
    """Echo / ping (§4.8).  ``time`` is an 8-byte placeholder (LoggerNet sends zeros)."""

    LAYOUT = (nsec("time", "placeholder time"), rest("payload"))

    tran: int
    time: NSec = ZERO_TIME
    payload: bytes = b""


@message(0x85, "echo response")
class EchoResponse(_PakCtrl):
    """Echo response (§4.8): responder's clock, then the command's payload echoed."""

    LAYOUT = (nsec("time", "Time"), rest("payload"))

    tran: int
    time: NSec
    payload: bytes = b""


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


@message(0x07, "get string settings command")
class GetStringSettingsCommand(_PakCtrl):
    """Get string settings (§4.9): names separated by ``;``; empty asks for all."""

    LAYOUT = (asciiz("names", "NameList"),)

    tran: int
    names: str = ""


@message(0x87, "get string settings response")
class GetStringSettingsResponse(_PakCtrl):
    """Get string settings response (§4.9): ``name=value`` pairs separated by ``;``."""

    LAYOUT = (asciiz("settings", "Settings"),)

    tran: int
    settings: str

    def as_dict(self) -> dict[str, str]:
        return parse_settings_string(self.settings)


@message(0x08, "set string settings command")
class SetStringSettingsCommand(_PakCtrl):
    """Set string settings (§4.9): ``name=value;`` pairs, applied in order."""

    LAYOUT = (asciiz("settings", "Settings"),)

    tran: int
    settings: str


@message(0x88, "set string settings response")
class SetStringSettingsResponse(_PakCtrl):
    """Set string settings response (§4.9).

    ``fail_offset`` (offset into the settings string of the first rejected one) is
    present on failure; jPakBus omits it for codes 0 and 4, so it is None when absent.
    """

    LAYOUT = (
        u8("resp_code", "RespCode"),
        optional(u16("fail_offset", "FailOffset")),
    )

    tran: int
    resp_code: int
    fail_offset: int | None = None


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


@message(0x0F, "DevConfig get settings command")
class DevConfigGetSettingsCommand(_PakCtrl):
    """DevConfig get settings (§4.10).

    Every field is optional on the wire and only a prefix may be present:
    ``security_code`` None sends no SecurityCode at all (PyCampbellCR1000's
    ``0F 02``, which a CR1000 answers, vectors V1.3/V12).  To continue after
    MoreSettings, Campbell sends ``begin_id = 0x8000 | last id received``.
    ``end_id`` is inclusive (UNCERTAIN: CSI's emulation treats it as exclusive).
    """

    LAYOUT = (
        optional(u16("security_code", "SecurityCode")),
        optional(u16("begin_id", "BeginSettingId")),
        optional(u16("end_id", "EndSettingId")),
    )

    tran: int
    security_code: int | None = None
    begin_id: int | None = None
    end_id: int | None = None


@message(0x8F, "DevConfig get settings response")
class DevConfigGetSettingsResponse(_PakCtrl):
    """DevConfig get settings response (§4.10, vectors V12).

    Everything after ``outcome`` is sent when the outcome is 1 (ok).  On another
    outcome it is decoded if present and otherwise left at its defaults; it is
    encoded only when it differs from them.  Settings come in the device's own
    order, not by id.
    """

    LAYOUT = (
        u8("outcome", "Outcome"),
        tail(
            u16("device_type", "DeviceType"),
            u8("major", "MajorVersion"),
            u8("minor", "MinorVersion"),
            flag("more", "MoreSettings"),
            repeat(
                "settings",
                record(
                    SettingValue,
                    u16("id", "SettingId"),
                    prefixed("value", flags=(("large_value", 15), ("read_only", 14))),
                ),
            ),
            key="outcome",
            values=(DevConfigGetOutcome.OK,),
        ),
    )

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


@message(0x10, "DevConfig set settings command")
class DevConfigSetSettingsCommand(_PakCtrl):
    """DevConfig set settings (§4.10): staged until a control "commit"."""

    LAYOUT = (
        u16("security_code", "SecurityCode"),
        repeat(
            "settings",
            record(SettingChange, u16("id", "SettingId"), prefixed("value", flags=_MORE_FRAGMENTS)),
        ),
    )

    tran: int
    security_code: int
    settings: tuple[SettingChange, ...] = ()


@message(0x90, "DevConfig set settings response")
class DevConfigSetSettingsResponse(_PakCtrl):
    """DevConfig set settings response (§4.10): overall outcome, then one per setting."""

    LAYOUT = (
        u8("outcome", "Outcome"),
        repeat(
            "setting_outcomes",
            record(SettingResult, u16("id", "SettingId"), u8("outcome", "outcome")),
        ),
    )

    tran: int
    outcome: int
    setting_outcomes: tuple[SettingResult, ...] = ()


@message(0x11, "DevConfig get setting fragment command")
class DevConfigGetFragmentCommand(_PakCtrl):
    """DevConfig get setting fragment (§4.10): the rest of a LargeValue setting."""

    LAYOUT = (
        u16("security_code", "SecurityCode"),
        u16("setting_id", "SettingId"),
        u32("offset", "Offset"),
    )

    tran: int
    security_code: int
    setting_id: int
    offset: int


@message(0x91, "DevConfig get setting fragment response")
class DevConfigGetFragmentResponse(_PakCtrl):
    """DevConfig get setting fragment response (§4.10).

    The fragment follows only when ``outcome`` is 1; otherwise it is decoded if
    present and encoded only if non-empty.
    """

    LAYOUT = (
        u8("outcome", "Outcome"),
        tail(
            prefixed("data", "FragmentData", flags=_MORE_FRAGMENTS),
            key="outcome",
            values=(DevConfigGetFragmentOutcome.OK,),
        ),
    )

    tran: int
    outcome: int
    more_fragments: bool = False
    data: bytes = b""


@message(0x12, "DevConfig set setting fragment command")
class DevConfigSetFragmentCommand(_PakCtrl):
    """DevConfig set setting fragment (§4.10): the rest of a long value."""

    LAYOUT = (
        u16("security_code", "SecurityCode"),
        u16("setting_id", "SettingId"),
        u32("offset", "FragmentOffset"),
        prefixed("data", "FragmentData", flags=_MORE_FRAGMENTS),
    )

    tran: int
    security_code: int
    setting_id: int
    offset: int
    more_fragments: bool
    data: bytes


@message(0x92, "DevConfig set setting fragment response")
class DevConfigSetFragmentResponse(_Outcome):
    """DevConfig set setting fragment response (§4.10; codes.DevConfigSetFragmentOutcome)."""


@message(0x13, "DevConfig control command")
class DevConfigControlCommand(_PakCtrl):
    """DevConfig control (§4.10): commit, cancel, revert… (codes.DevConfigAction)."""

    LAYOUT = (u16("security_code", "SecurityCode"), u8("action", "Action"))

    tran: int
    security_code: int
    action: int


@message(0x93, "DevConfig control response")
class DevConfigControlResponse(_Outcome):
    """DevConfig control response (§4.10; codes.DevConfigControlOutcome)."""


# --- neighbour lists (§4.6) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One neighbour-list entry: bit 15 IsRouter, bits 14..12 HopMetric, 11..0 address."""

    address: int
    hop_metric: int = 2
    is_router: bool = False


#: A neighbour list: entries to the end of the message.
_NEIGHBOURS = repeat(
    "neighbours",
    record(
        Neighbour,
        bits(
            "neighbour entry",
            part("is_router", 1, "router bit", flag=True),
            part("hop_metric", 3, "hop metric"),
            part("address", 12, "address"),
        ),
    ),
)


@message(0x0A, "send neighbour list command")
class SendNeighbourListCommand(_PakCtrl):
    """Send neighbour list (§4.6): router to router (codes.NeighbourChange)."""

    LAYOUT = (
        u8("change_code", "ChangeCode"),
        u8("list_version", "ListVersion"),
        _NEIGHBOURS,
    )

    tran: int
    change_code: int
    list_version: int
    neighbours: tuple[Neighbour, ...] = ()


@message(0x8A, "send neighbour list response")
class SendNeighbourListResponse(_Bare):
    """Send neighbour list acknowledgement (§4.6): no fields."""


@message(0x0B, "get neighbour list command")
class GetNeighbourListCommand(_Bare):
    """Get neighbour list (§4.6): no fields."""


@message(0x8B, "get neighbour list response")
class GetNeighbourListResponse(_PakCtrl):
    """Get neighbour list response (§4.6): neighbours whose hello completed."""

    LAYOUT = (u8("list_version", "ListVersion"), _NEIGHBOURS)

    tran: int
    list_version: int
    neighbours: tuple[Neighbour, ...] = ()


# --- router services (§4.11) ------------------------------------------------------------------


@message(0x14, "remote echo command")
class RemoteEchoCommand(_PakCtrl):
    """Remote echo (§4.11): ask a router to ping ``remote_address``."""

    LAYOUT = (
        u16("remote_address", "RemoteAddress"),
        u16("packet_size", "PacketSize"),
    )

    tran: int
    remote_address: int
    packet_size: int


@message(0x94, "remote echo response")
class RemoteEchoResponse(_PakCtrl):
    """Remote echo response (§4.11): on outcome 0 the round trip in ms follows."""

    LAYOUT = (
        u8("outcome", "Outcome"),
        optional(u32("round_trip_ms", "round trip")),
    )

    tran: int
    outcome: int
    round_trip_ms: int | None = None


@message(0x15, "list port names command")
class ListPortNamesCommand(_Bare):
    """List port names (§4.11): no fields."""


@message(0x95, "list port names response")
class ListPortNamesResponse(_PakCtrl):
    """List port names response (§4.11): one ASCIIZ name per port, to the end."""

    LAYOUT = (repeat("port_names", asciiz("port_name", "PortName")),)

    tran: int
    port_names: tuple[str, ...] = ()


@message(0x16, "remote hello request command")
class RemoteHelloRequestCommand(_PakCtrl):
    """Remote hello request (§4.11): a router broadcasts a hello request on a port."""

    LAYOUT = (asciiz("port_name", "PortName"),)

    tran: int
    port_name: str


@message(0x96, "remote hello request response")
class RemoteHelloRequestResponse(_Outcome):
    """Remote hello request response (§4.11): 0 ok, 1 no such port."""


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
