"""What a CR1000-family logger answers to each PakBus packet, without any I/O.

:class:`Device` takes a decoded :class:`~fieldlink.pakbus.protocol.packet.Packet` and returns
the packets the logger sends back, each with the delay after which it goes out (a
Please Wait goes at once, the answer it announced when the compile is done).  It
dispatches on (HiProtoCode, MsgType), checks the security code, routes packets for
the loggers behind this one and answers everything else with the documented
delivery failure.  :class:`DevicePort` adds one link's worth of framing and link
state: bytes in, wire bytes out.  Every byte is built by the shared codec
(:mod:`~fieldlink.pakbus.protocol.pakctrl`, :mod:`~fieldlink.pakbus.protocol.bmp5`,
:mod:`~fieldlink.pakbus.protocol.records` ...), the same modules the client decodes with.

Readings taken where the reference leaves a choice (all in ``pakbus.md``):

- A response message (MsgType ... end) is at most min(Max Packet Size, 1000) bytes;
  collect responses, file swaths and settings pages are cut to fit it.
- A Hello is answered with IsRouter (1 when loggers are configured behind this one),
  the command's own HopMetric and VerifyIntv, as the CR1000 of V3.2 did.
- Unknown or unimplemented commands get delivery failure 4, malformed ones 5, other
  high-level protocols (datagram, encrypted) 2; responses and failures are never
  answered, and nothing is answered once the hop count reaches 15.
- A File Control that compiles answers at once (HoldOff 0); while the compile runs,
  every BMP5 command gets a Please Wait and its answer when the logger is free.  A
  format is announced with a Please Wait itself.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.emulator.settings import CATALOGUE_MAJOR, CATALOGUE_MINOR, GET_PREFIX
from fieldlink.pakbus.emulator.station import Need, Station
from fieldlink.pakbus.protocol import bmp5, pakctrl
from fieldlink.pakbus.protocol.codes import (
    BMP5_MEANINGS,
    DELIVERY_FAILURE_MEANINGS,
    FILE_COMMAND_MEANINGS,
    Bmp5ResponseCode,
    CollectMode,
    DeliveryFailureCode,
    DevConfigGetFragmentOutcome,
    DevConfigGetOutcome,
    DevConfigSetFragmentOutcome,
    DevConfigSetOutcome,
    FileCommand,
    StringSettingsCode,
    TableControlOption,
    describe_code,
)
from fieldlink.pakbus.protocol.framing import FrameDecoder
from fieldlink.pakbus.protocol.linkstate import LinkStateMachine
from fieldlink.pakbus.protocol.messages import (
    Message,
    UnknownMessage,
    decode_message,
    describe_type,
)
from fieldlink.pakbus.protocol.packet import (
    BROADCAST,
    MAX_BODY,
    MAX_HOP_COUNT,
    ExpMore,
    HiProto,
    LinkState,
    Packet,
    Priority,
)
from fieldlink.pakbus.protocol.records import layout_for, pack_collect_payload
from fieldlink.pakbus.protocol.wire import NSec

__all__ = ["Device", "DevicePort", "Outgoing", "hello_request_packet"]

log = logging.getLogger("fieldlink.pakbus.emulator")

R = Bmp5ResponseCode
F = DeliveryFailureCode
#: Most records computed for one response; a packet never holds more than this.
_MAX_RECORDS_PER_RESPONSE = 4_000
#: Please Wait's WaitSec is at most this (§6.1).
_MAX_WAIT = 30
#: MsgType, TranNbr and RespCode before the payload of a BMP5 response.
_RESPONSE_HEAD = 3


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A packet the logger sends, ``delay`` seconds after the request that caused it."""

    packet: Packet
    delay: float = 0.0

    def to_wire(self) -> bytes:
        return self.packet.to_wire()


def hello_request_packet(node: int) -> Packet:
    """The unsolicited broadcast Hello Request a CR1000 sends on a TCP connect (V4).

    ``node`` 1 gives exactly ``EF FF 10 01 0F FF 00 01 0E 00`` + nullifier.
    """
    return Packet(
        link_state=LinkState.CAPABILITIES,
        dst_phy=BROADCAST,
        src_phy=node,
        exp_more=ExpMore.LAST,
        priority=Priority.NORMAL,
        hi_proto=HiProto.PAKCTRL,
        dst_node=BROADCAST,
        src_node=node,
        body=pakctrl.HelloRequest().encode(),
    )


class Device:
    """A logger (and the loggers behind it) answering packets.

    ``station`` holds the state.  Loggers configured behind it (the station's
    ``neighbours``) get their own Device and are reached by routing: packets for their
    node ids are passed on with the hop count raised, and their answers come back the
    same way.
    """

    def __init__(self, station: Station) -> None:
        self.station = station
        self.neighbours = {node: Device(st) for node, st in station.neighbours.items()}
        #: Destination node -> the neighbour it is reached through, learned on first use.
        self._routes: dict[int, Device] = {}
        self._tran = 0
        self._list_version = 1
        self._handlers: dict[type[Message], Callable[[Packet, Any, Hashable], list[Outgoing]]] = {
            pakctrl.HelloCommand: self._hello,
            pakctrl.HelloRequest: self._hello_request,
            pakctrl.HelloResponse: self._ignore,
            pakctrl.Bye: self._ignore,
            pakctrl.ResetRoutes: self._ignore,
            pakctrl.DeliveryFailureMessage: self._ignore,
            pakctrl.EchoCommand: self._echo,
            pakctrl.GetStringSettingsCommand: self._get_string_settings,
            pakctrl.SetStringSettingsCommand: self._set_string_settings,
            pakctrl.DevConfigGetSettingsCommand: self._get_settings,
            pakctrl.DevConfigSetSettingsCommand: self._set_settings,
            pakctrl.DevConfigGetFragmentCommand: self._get_fragment,
            pakctrl.DevConfigSetFragmentCommand: self._set_fragment,
            pakctrl.DevConfigControlCommand: self._control,
            pakctrl.GetNeighbourListCommand: self._get_neighbours,
            pakctrl.SendNeighbourListCommand: self._send_neighbours,
            bmp5.ClockCommand: self._clock,
            bmp5.ProgStatsCommand: self._prog_stats,
            bmp5.FileSendCommand: self._file_send,
            bmp5.FileReceiveCommand: self._file_receive,
            bmp5.FileControlCommand: self._file_control,
            bmp5.CollectDataCommand: self._collect,
            bmp5.TableControlCommand: self._table_control,
            bmp5.GetValuesCommand: self._get_values,
            bmp5.SetValuesCommand: self._set_values,
            bmp5.CheckAccessCommand: self._check_access,
            bmp5.OneWayData: self._ignore,
            bmp5.OneWayTableDef: self._ignore,
        }

    @property
    def node(self) -> int:
        return self.station.node

    def reaches(self, node: int) -> bool:
        """Whether ``node`` is this logger or one behind it."""
        return node == self.node or (bool(self.neighbours) and self._route(node) is not None)

    def budget(self) -> int:
        """Largest response message (MsgType ... end) this logger sends."""
        return max(32, min(self.station.max_packet_size, MAX_BODY))

    # --- entry point --------------------------------------------------------------------

    def handle(self, packet: Packet, client: Hashable = None) -> list[Outgoing]:
        """The logger's answers to one packet from ``client`` (any hashable connection id)."""
        if packet.is_link_only:
            return []
        own = self.node
        if packet.dst_phy not in (own, BROADCAST):
            return []  # on a shared line, for someone else
        if packet.dst_node in (own, BROADCAST):
            with self.station.lock:
                return self._local(packet, client, own)
        child = self._route(packet.dst_node)
        if child is not None:
            return self._forward(child, packet, client)
        return self._failure(packet, F.UNREACHABLE_DESTINATION, own)

    def _route(self, node: int) -> Device | None:
        """The neighbour that reaches ``node``, by lookup: a router in front of a fleet
        must not scan every logger for every packet.  A learned route is checked against
        the neighbour (cheap: its own subtree) because a logger's address is a setting
        that can change; on a miss the neighbours are searched once."""
        child = self._routes.get(node)
        if child is not None and child.reaches(node):
            return child
        for candidate in self.neighbours.values():
            if candidate.reaches(node):
                self._routes[node] = candidate
                return candidate
        self._routes.pop(node, None)
        return None

    def _forward(self, child: Device, packet: Packet, client: Hashable) -> list[Outgoing]:
        if packet.hop_count + 1 > MAX_HOP_COUNT:
            return []
        onward = dataclasses.replace(
            packet, dst_phy=child.node, src_phy=self.node, hop_count=packet.hop_count + 1
        )
        back = []
        for out in child.handle(onward, client):
            hops = min(MAX_HOP_COUNT, out.packet.hop_count + 1)
            returned = dataclasses.replace(
                out.packet, dst_phy=packet.src_phy, src_phy=self.node, hop_count=hops
            )
            back.append(Outgoing(returned, out.delay))
        return back

    def _local(self, packet: Packet, client: Hashable, own: int) -> list[Outgoing]:
        hi = packet.hi_proto
        if hi not in (HiProto.PAKCTRL, HiProto.BMP5):
            return self._failure(packet, F.UNREACHABLE_PROTOCOL, own)
        try:
            message = decode_message(hi, packet.body)
        except ProtocolError as exc:
            log.debug(
                "connection %s: malformed message from node %d: %s", client, packet.src_node, exc
            )
            return self._failure(packet, F.MALFORMED_MESSAGE, own)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "connection %s: <- %s tran %d from node %d",
                client,
                message.describe(),
                message.tran,
                packet.src_node,
            )
        handler = self._handlers.get(type(message))
        if handler is None:
            if not isinstance(message, UnknownMessage) and message.is_response:
                return []
            log.debug(
                "connection %s: unsupported %s from node %d",
                client,
                message.describe(),
                packet.src_node,
            )
            return self._failure(packet, F.UNSUPPORTED_MESSAGE_TYPE, own)
        if hi == HiProto.BMP5 and self.station.busy_remaining() > 0 and not message.is_response:
            return self._after_busy(packet, message, handler, client)
        return handler(packet, message, client)

    def _after_busy(
        self,
        packet: Packet,
        message: Message,
        handler: Callable[[Packet, Any, Hashable], list[Outgoing]],
        client: Hashable,
    ) -> list[Outgoing]:
        """Please Wait now; the answer when the compile or format is done."""
        remaining = self.station.busy_remaining()
        wait = bmp5.PleaseWait(message.tran, message.msg_type, _wait_seconds(remaining))
        answers = handler(packet, message, client)
        return [self._reply(packet, wait)] + [
            Outgoing(a.packet, a.delay + remaining) for a in answers
        ]

    def _reply(self, packet: Packet, message: Message, delay: float = 0.0) -> Outgoing:
        return Outgoing(
            packet.reply(message.encode(), hi_proto=message.HI_PROTO, address=self.node), delay
        )

    def _failure(self, packet: Packet, code: int, own: int) -> list[Outgoing]:
        """A delivery failure back to the sender, unless §3 says to stay silent."""
        body = packet.body
        if (
            packet.dst_node == BROADCAST
            or packet.hop_count >= MAX_HOP_COUNT
            or not body
            or body[0] & 0x80
        ):
            return []
        failure = pakctrl.DeliveryFailureMessage(
            err_code=code,
            dst_node=packet.dst_node,
            hi_proto_of_original=packet.hi_proto or 0,
            src_node=packet.src_node,
            hop_count=packet.hop_count,
            original=body[: pakctrl.MAX_QUOTED],
        )
        reply = packet.reply(failure.encode(), hi_proto=HiProto.PAKCTRL, address=own)
        return [Outgoing(dataclasses.replace(reply, priority=Priority.EXTRA_HIGH))]

    def _next_tran(self) -> int:
        self._tran = self._tran % 255 + 1
        return self._tran

    # --- PakCtrl ------------------------------------------------------------------------

    def _ignore(self, packet: Packet, message: Message, client: Hashable) -> list[Outgoing]:
        return []

    def _hello(self, packet: Packet, cmd: pakctrl.HelloCommand, client: Hashable) -> list[Outgoing]:
        answer = pakctrl.HelloResponse(
            tran=cmd.tran,
            is_router=1 if self.station.is_router else 0,
            hop_metric=cmd.hop_metric,
            verify_interval=cmd.verify_interval,
        )
        return [self._reply(packet, answer)]

    def _hello_request(
        self, packet: Packet, cmd: pakctrl.HelloRequest, client: Hashable
    ) -> list[Outgoing]:
        """Answer a hello request with a Hello command of our own (§4.3)."""
        if packet.src_node in (0, BROADCAST):
            return []
        hello = pakctrl.HelloCommand(
            tran=self._next_tran(),
            is_router=1 if self.station.is_router else 0,
            hop_metric=2,
            verify_interval=0xFFFF,
        )
        return [
            Outgoing(
                Packet.message(
                    HiProto.PAKCTRL,
                    hello.encode(),
                    dst=packet.src_node,
                    src=self.node,
                    dst_phy=packet.src_phy,
                    exp_more=ExpMore.LAST,
                )
            )
        ]

    def _echo(self, packet: Packet, cmd: pakctrl.EchoCommand, client: Hashable) -> list[Outgoing]:
        now = NSec.from_total_ns(self.station.now_ns())
        return [self._reply(packet, pakctrl.EchoResponse(cmd.tran, now, cmd.payload))]

    def _string_settings(self) -> dict[str, str]:
        s = self.station
        return {
            "Model": s.model.name,
            "OSVersion": s.model.os_version,
            "SerialNbr": s.serial_number,
            "StationName": s.station_name,
            "PakBusAddress": str(s.node),
            "MaxPktSize": str(s.max_packet_size),
        }

    def _get_string_settings(
        self, packet: Packet, cmd: pakctrl.GetStringSettingsCommand, client: Hashable
    ) -> list[Outgoing]:
        known = self._string_settings()
        names = [n for n in cmd.names.split(";") if n] or list(known)
        text = "".join(f"{n}={known[n]};" for n in names if n in known)
        return [self._reply(packet, pakctrl.GetStringSettingsResponse(cmd.tran, text))]

    def _set_string_settings(
        self, packet: Packet, cmd: pakctrl.SetStringSettingsCommand, client: Hashable
    ) -> list[Outgoing]:
        """Only StationName is writable this way; the first other name stops the set."""
        known = self._string_settings()
        pos = 0
        for entry in cmd.settings.split(";"):
            if entry:
                name, eq, value = entry.partition("=")
                if not eq or name not in known:
                    code = StringSettingsCode.SYNTAX_ERROR
                elif name != "StationName" or not 0 < len(value) <= 63:
                    code = StringSettingsCode.READ_ONLY
                else:
                    code = StringSettingsCode.COMPLETE
                if code != StringSettingsCode.COMPLETE:
                    answer = pakctrl.SetStringSettingsResponse(cmd.tran, code, pos)
                    return [self._reply(packet, answer)]
                self.station.settings.set_committed(2, value.encode("latin-1") + b"\x00")
            pos += len(entry) + 1
        answer = pakctrl.SetStringSettingsResponse(cmd.tran, StringSettingsCode.COMPLETE)
        return [self._reply(packet, answer)]

    def _devconfig_allowed(self, code: int | None) -> bool:
        return self.station.allowed(code, Need.ADMIN)

    def _owner(self, packet: Packet, client: Hashable) -> Hashable:
        return (client, packet.src_node)

    def _get_settings(
        self, packet: Packet, cmd: pakctrl.DevConfigGetSettingsCommand, client: Hashable
    ) -> list[Outgoing]:
        s = self.station
        if not self._devconfig_allowed(cmd.security_code):
            answer = pakctrl.DevConfigGetSettingsResponse(cmd.tran, DevConfigGetOutcome.SECURITY)
            return [self._reply(packet, answer)]
        s.settings.touch(self._owner(packet, client), s.host_time())
        page = s.settings.page(cmd.begin_id, cmd.end_id, self.budget() - GET_PREFIX)
        answer = pakctrl.DevConfigGetSettingsResponse(
            cmd.tran,
            DevConfigGetOutcome.OK,
            device_type=s.model.device_type,
            major=CATALOGUE_MAJOR,
            minor=CATALOGUE_MINOR,
            more=page.more,
            settings=tuple(
                pakctrl.SettingValue(setting.id, sent, setting.read_only, large)
                for setting, sent, large in page.entries
            ),
        )
        return [self._reply(packet, answer)]

    def _set_settings(
        self, packet: Packet, cmd: pakctrl.DevConfigSetSettingsCommand, client: Hashable
    ) -> list[Outgoing]:
        s = self.station
        if not self._devconfig_allowed(cmd.security_code):
            answer = pakctrl.DevConfigSetSettingsResponse(cmd.tran, DevConfigSetOutcome.SECURITY)
            return [self._reply(packet, answer)]
        outcome, results = s.settings.stage(
            self._owner(packet, client),
            s.host_time(),
            [(c.id, c.value, c.more_fragments) for c in cmd.settings],
        )
        answer = pakctrl.DevConfigSetSettingsResponse(
            cmd.tran, outcome, tuple(pakctrl.SettingResult(i, o) for i, o in results)
        )
        return [self._reply(packet, answer)]

    def _get_fragment(
        self, packet: Packet, cmd: pakctrl.DevConfigGetFragmentCommand, client: Hashable
    ) -> list[Outgoing]:
        s = self.station
        if not self._devconfig_allowed(cmd.security_code):
            outcome = DevConfigGetFragmentOutcome.SECURITY
            return [self._reply(packet, pakctrl.DevConfigGetFragmentResponse(cmd.tran, outcome))]
        s.settings.touch(self._owner(packet, client), s.host_time())
        found = s.settings.fragment(cmd.setting_id, cmd.offset, self.budget() - 5)
        if found is None:
            outcome = DevConfigGetFragmentOutcome.NOT_SUPPORTED
            return [self._reply(packet, pakctrl.DevConfigGetFragmentResponse(cmd.tran, outcome))]
        data, more = found
        answer = pakctrl.DevConfigGetFragmentResponse(
            cmd.tran, DevConfigGetFragmentOutcome.OK, more_fragments=more, data=data
        )
        return [self._reply(packet, answer)]

    def _set_fragment(
        self, packet: Packet, cmd: pakctrl.DevConfigSetFragmentCommand, client: Hashable
    ) -> list[Outgoing]:
        s = self.station
        if not self._devconfig_allowed(cmd.security_code):
            outcome: int = DevConfigSetFragmentOutcome.SECURITY
        else:
            outcome = s.settings.stage_fragment(
                self._owner(packet, client),
                s.host_time(),
                cmd.setting_id,
                cmd.offset,
                cmd.more_fragments,
                cmd.data,
            )
        return [self._reply(packet, pakctrl.DevConfigSetFragmentResponse(cmd.tran, outcome))]

    def _control(
        self, packet: Packet, cmd: pakctrl.DevConfigControlCommand, client: Hashable
    ) -> list[Outgoing]:
        s = self.station
        if not self._devconfig_allowed(cmd.security_code):
            return [self._reply(packet, pakctrl.DevConfigControlResponse(cmd.tran, 2))]
        reply_from = self.node
        outcome, changed = s.settings.control(
            self._owner(packet, client), s.host_time(), cmd.action
        )
        if changed:
            log.info("DevConfig commit changed settings %s", sorted(changed))
        answer = pakctrl.DevConfigControlResponse(cmd.tran, outcome)
        return [
            Outgoing(packet.reply(answer.encode(), hi_proto=HiProto.PAKCTRL, address=reply_from))
        ]

    def _get_neighbours(
        self, packet: Packet, cmd: pakctrl.GetNeighbourListCommand, client: Hashable
    ) -> list[Outgoing]:
        entries = tuple(
            pakctrl.Neighbour(d.node, hop_metric=2, is_router=bool(d.neighbours))
            for d in self.neighbours.values()
        )
        answer = pakctrl.GetNeighbourListResponse(cmd.tran, self._list_version, entries)
        return [self._reply(packet, answer)]

    def _send_neighbours(
        self, packet: Packet, cmd: pakctrl.SendNeighbourListCommand, client: Hashable
    ) -> list[Outgoing]:
        return [self._reply(packet, pakctrl.SendNeighbourListResponse(cmd.tran))]

    # --- BMP5 ---------------------------------------------------------------------------

    def _clock(self, packet: Packet, cmd: bmp5.ClockCommand, client: Hashable) -> list[Outgoing]:
        s = self.station
        adjustment = cmd.adjustment.seconds * 1_000_000_000 + cmd.adjustment.nanoseconds
        need = Need.WRITE if adjustment else Need.READ
        if not s.allowed(cmd.security_code, need):
            return [self._reply(packet, bmp5.ClockResponse(cmd.tran, R.PERMISSION_DENIED))]
        old = s.adjust_clock(adjustment)
        if adjustment:
            log.info("clock adjusted by %+.3f s", adjustment / 1e9)
        return [self._reply(packet, bmp5.ClockResponse(cmd.tran, R.OK, NSec.from_total_ns(old)))]

    def _prog_stats(
        self, packet: Packet, cmd: bmp5.ProgStatsCommand, client: Hashable
    ) -> list[Outgoing]:
        s = self.station
        if not s.allowed(cmd.security_code, Need.READ):
            return [self._reply(packet, bmp5.ProgStatsResponse(cmd.tran, R.PERMISSION_DENIED))]
        p = s.program
        extended = s.model.extended_prog_stats
        answer = bmp5.ProgStatsResponse(
            cmd.tran,
            R.OK,
            os_version=s.model.os_version,
            os_sig=s.model.os_sig,
            serial_number=s.serial_number,
            power_up_program=p.power_up,
            compile_state=p.state,
            program_name=p.name,
            program_sig=p.signature,
            compile_time=NSec.from_total_ns(p.compile_time_ns),
            compile_result=p.result,
            model=s.model.name if extended else None,
            station_name=s.station_name if extended else None,
        )
        return [self._reply(packet, answer)]

    def _file_send(
        self, packet: Packet, cmd: bmp5.FileSendCommand, client: Hashable
    ) -> list[Outgoing]:
        s = self.station
        space: int | None = None
        code: int
        if not s.allowed(cmd.security_code, Need.ADMIN):
            code = R.PERMISSION_DENIED
        else:
            code, space = s.receive_fragment(
                self._owner(packet, client),
                cmd.file_name,
                cmd.offset,
                bool(cmd.close_flag),
                cmd.data,
            )
        answer = bmp5.FileSendResponse(
            cmd.tran, code, cmd.offset, space if s.model.extended_prog_stats else None
        )
        return [self._reply(packet, answer)]

    def _file_receive(
        self, packet: Packet, cmd: bmp5.FileReceiveCommand, client: Hashable
    ) -> list[Outgoing]:
        s = self.station
        generated = cmd.file_name.upper() in (".TDF", ".DIR")
        if not s.allowed(cmd.security_code, Need.READ if generated else Need.ADMIN):
            answer = bmp5.FileReceiveResponse(cmd.tran, R.PERMISSION_DENIED, cmd.offset)
            return [self._reply(packet, answer)]
        data = s.file_bytes(cmd.file_name)
        if data is None:
            answer = bmp5.FileReceiveResponse(cmd.tran, R.INVALID_FILE_NAME, cmd.offset)
            return [self._reply(packet, answer)]
        room = self.budget() - 7
        chunk = data[cmd.offset : cmd.offset + max(0, min(cmd.swath, room))]
        return [self._reply(packet, bmp5.FileReceiveResponse(cmd.tran, R.OK, cmd.offset, chunk))]

    def _file_control(
        self, packet: Packet, cmd: bmp5.FileControlCommand, client: Hashable
    ) -> list[Outgoing]:
        s = self.station
        if not s.allowed(cmd.security_code, Need.ADMIN):
            answer = bmp5.FileControlResponse(cmd.tran, R.PERMISSION_DENIED, 0)
            return [self._reply(packet, answer)]
        before = s.program.compile_time_ns
        code = s.file_control(cmd.file_name, cmd.command, cmd.file_name2)
        log.info(
            "file control on %r: %s -> %s",
            cmd.file_name,
            describe_code(FILE_COMMAND_MEANINGS, cmd.command),
            describe_code(BMP5_MEANINGS, code),
        )
        if s.program.compile_time_ns != before:
            log.info("%s", " ".join(s.program.result.split()))
        answer = bmp5.FileControlResponse(cmd.tran, code, 0)
        if cmd.command == FileCommand.FORMAT and code == R.OK:
            slow = s.busy_remaining()
            wait = bmp5.PleaseWait(cmd.tran, cmd.msg_type, _wait_seconds(slow))
            return [self._reply(packet, wait), self._reply(packet, answer, slow)]
        return [self._reply(packet, answer)]

    def _table_control(
        self, packet: Packet, cmd: bmp5.TableControlCommand, client: Hashable
    ) -> list[Outgoing]:
        s = self.station
        if not s.allowed(cmd.security_code, Need.ADMIN):
            code: int = R.PERMISSION_DENIED
        elif cmd.option == TableControlOption.RESET:
            code = s.reset_table(cmd.table_name)
        elif cmd.option == TableControlOption.ROLL_OVER_FILE:
            names = {d.name for d in s.table_defs()}
            code = (
                R.OPTION_NOT_APPLICABLE if cmd.table_name in names else (R.INVALID_TABLE_OR_FIELD)
            )
        else:
            code = R.OPTION_NOT_APPLICABLE
        return [self._reply(packet, bmp5.TableControlResponse(cmd.tran, code))]

    def _get_values(
        self, packet: Packet, cmd: bmp5.GetValuesCommand, client: Hashable
    ) -> list[Outgoing]:
        s = self.station
        if not s.allowed(cmd.security_code, Need.READ):
            return [self._reply(packet, bmp5.GetValuesResponse(cmd.tran, R.PERMISSION_DENIED))]
        code, data = s.get_values(cmd.table_name, cmd.field_name, cmd.type_code, cmd.swath)
        if code == R.OK and len(data) > self.budget() - _RESPONSE_HEAD:
            code, data = R.MEMORY_BOUNDS_VIOLATION, b""
        return [self._reply(packet, bmp5.GetValuesResponse(cmd.tran, code, data))]

    def _set_values(
        self, packet: Packet, cmd: bmp5.SetValuesCommand, client: Hashable
    ) -> list[Outgoing]:
        s = self.station
        need = s.value_access(cmd.table_name, cmd.field_name)
        if not s.allowed(cmd.security_code, need):
            code: int = R.PERMISSION_DENIED
        else:
            code = s.set_values(cmd.table_name, cmd.field_name, cmd.type_code, cmd.swath, cmd.data)
        return [self._reply(packet, bmp5.SetValuesResponse(cmd.tran, code))]

    def _check_access(
        self, packet: Packet, cmd: bmp5.CheckAccessCommand, client: Hashable
    ) -> list[Outgoing]:
        level = self.station.access_level(cmd.security_code)
        return [self._reply(packet, bmp5.CheckAccessResponse(cmd.tran, level))]

    # --- collect data -------------------------------------------------------------------

    def _collect(
        self, packet: Packet, cmd: bmp5.CollectDataCommand, client: Hashable
    ) -> list[Outgoing]:
        s = self.station
        if not s.allowed(cmd.security_code, Need.READ):
            return [self._reply(packet, bmp5.CollectDataResponse(cmd.tran, R.PERMISSION_DENIED))]
        defs = {d.number: d for d in s.table_defs()}
        for req in cmd.requests:
            tdef = defs.get(req.table_nbr)
            if (
                tdef is None
                or req.signature != tdef.signature
                or any(not 1 <= f <= len(tdef.fields) for f in req.fields)
                or len(set(req.fields)) != len(req.fields)
            ):
                answer = bmp5.CollectDataResponse(cmd.tran, R.INVALID_TABLE_DEFINITION)
                return [self._reply(packet, answer)]
        room = self.budget() - _RESPONSE_HEAD
        payload = bytearray()
        more = False
        for req in cmd.requests:
            tdef = defs[req.table_nbr]
            numbers, fragment_offset = self._select(cmd.mode, tdef.name, req)
            if not numbers:
                continue
            if room < 13:
                more = True
                break
            layout = layout_for(tdef, req.fields or None)
            per_record = (layout.size or 1) + layout.stamp_size // 2
            cap = min(_MAX_RECORDS_PER_RESPONSE, room // max(1, per_record) + 2)
            chosen = numbers[:cap]
            try:
                packed = pack_collect_payload(
                    tdef,
                    s.stored_rows(tdef.name, chosen, layout),
                    room,
                    field_numbers=req.fields or None,
                    fragment_offset=fragment_offset,
                )
            except ValueError as exc:  # e.g. a mode-8 offset beyond the record
                log.info("collect from %s: %s", tdef.name, exc)
                continue
            payload += packed.data[:-1]
            room -= len(packed.data) - 1
            if packed.more or len(numbers) > len(chosen):
                more = True
                break
        payload.append(1 if more else 0)
        return [self._reply(packet, bmp5.CollectDataResponse(cmd.tran, R.OK, bytes(payload)))]

    def _select(
        self, mode: int, name: str, req: bmp5.TableRequest
    ) -> tuple[list[int] | range, int | None]:
        """The record numbers a request selects, and the fragment offset (mode 8)."""
        table = self.station.table_state(name)
        held = range(table.oldest, table.next_record)
        p1, p2 = req.p1, req.p2
        if mode == CollectMode.ALL:
            return held, None
        if mode == CollectMode.FROM_RECORD and isinstance(p1, int):
            if p1 == table.next_record:
                return range(0), None
            return (range(p1, held.stop) if p1 in held else held), None
        if mode == CollectMode.NEWEST and isinstance(p1, int):
            return range(max(held.start, held.stop - p1), held.stop), None
        if mode == CollectMode.RECORD_RANGE and isinstance(p1, int) and isinstance(p2, int):
            return range(max(p1, held.start), min(p2, held.stop)), None
        if mode == CollectMode.TIME_RANGE and isinstance(p1, NSec) and isinstance(p2, NSec):
            # One more than a response holds, so the caller still sees there is more.
            limit = _MAX_RECORDS_PER_RESPONSE + 1
            return table.numbers_in_time(p1.total_ns, p2.total_ns, limit), None
        if mode == CollectMode.PARTIAL_RECORD and isinstance(p1, int) and isinstance(p2, int):
            known = table.holds(p1) or (table.size == 1 and table.can_describe(p1))
            return ([p1] if known else []), p2
        return range(0), None


def _describe(out: Outgoing) -> str:
    """An outgoing packet as the debug log names it."""
    packet = out.packet
    later = f" in {out.delay:.1f} s" if out.delay else ""
    if packet.is_link_only:
        return f"link state 0x{packet.link_state:X} to {packet.dst_phy}{later}"
    try:
        message = decode_message(packet.hi_proto or 0, packet.body)
        what = f"{message.describe()} tran {message.tran}"
    except ProtocolError:
        what = f"{len(packet.body)} bytes"
    return f"{what} to node {packet.dst_node}{later}"


def _wait_seconds(remaining: float) -> int:
    return max(1, min(_MAX_WAIT, math.ceil(remaining)))


class DevicePort:
    """One link to a Device (a TCP connection, a serial line): wire bytes in and out.

    Splits the byte stream into frames, keeps the link state of each neighbour on the
    link (answering a bare Ring with Ready, Finished with Off-line ...) and passes
    messages to the device.  Malformed frames are counted and dropped by the frame
    decoder; a packet that still fails is logged and dropped, never raised.

    Logging stays per connection, not per frame, at the default level: the first
    delivery failure this port sends and the first frame for a node that is not here
    get one INFO line each (they are what a user with a misconfigured client needs to
    see); every message in and out is logged at DEBUG.
    """

    def __init__(self, device: Device, client: Hashable = None) -> None:
        self.device = device
        self.client = client
        self.decoder = FrameDecoder()
        self._links: dict[int, LinkStateMachine] = {}
        #: Delivery failures sent back on this link (malformed, unsupported, unreachable).
        self.failures = 0
        #: Frames answered; frames ignored because they were addressed to another node.
        self.answered = 0
        self.ignored = 0
        self._wrong_nodes: set[int] = set()

    def hello_request(self) -> Outgoing:
        return Outgoing(hello_request_packet(self.device.node))

    def receive(self, data: bytes) -> list[Outgoing]:
        """Feed bytes from the link; return what the logger sends back."""
        out: list[Outgoing] = []
        for raw in self.frames(data):
            out.extend(self.answer(raw))
        return out

    def frames(self, data: bytes) -> list[bytes]:
        """The checked frames ``data`` completes (see FrameDecoder), not yet answered.

        With :meth:`answer` this lets a server answer one frame at a time and let
        other links run in between, instead of answering a whole read at once.
        """
        return self.decoder.feed(data)

    def answer(self, raw: bytes) -> list[Outgoing]:
        """What the logger sends back for one frame from :meth:`frames`; never raises."""
        try:
            out = self._packet(raw)
        except ProtocolError as exc:
            log.debug("%s: dropped frame %s: %s", self._who(), raw[:16].hex(" "), exc)
            return []
        except Exception:  # a bug must not take the emulator down with it
            log.exception("%s: error answering frame %s", self._who(), raw[:32].hex(" "))
            return []
        for item in out:
            self._note_failure(item.packet)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s: -> %s", self._who(), _describe(item))
        if out:
            self.answered += 1
        return out

    def _who(self) -> str:
        return f"connection {self.client}"

    def _note_failure(self, packet: Packet) -> None:
        body = packet.body
        if packet.hi_proto != HiProto.PAKCTRL or body[:1] != b"\x81" or len(body) < 7:
            return
        self.failures += 1
        if self.failures > 1:
            return
        code = body[2]
        quoted = body[7:9]
        what = (
            describe_type(int.from_bytes(body[3:5], "big") >> 12, quoted[0])
            if quoted
            else "a message"
        )
        meaning = DELIVERY_FAILURE_MEANINGS.get(code, "unknown")
        log.info(
            "%s: answered %s for node %d with delivery failure %d (%s)%s",
            self._who(),
            what,
            int.from_bytes(body[3:5], "big") & 0xFFF,
            code,
            meaning,
            "; -v shows each message" if not log.isEnabledFor(logging.DEBUG) else "",
        )

    def _packet(self, raw: bytes) -> list[Outgoing]:
        packet = Packet.decode(raw)
        node = self.device.node
        if packet.dst_phy not in (node, BROADCAST):
            self.ignored += 1
            if packet.dst_phy not in self._wrong_nodes and len(self._wrong_nodes) < 16:
                self._wrong_nodes.add(packet.dst_phy)
                log.info(
                    "%s: ignoring frames for node %d: this logger is node %d "
                    "(a client needs --dest %d, or --dest_addr %d to route through it)",
                    self._who(),
                    packet.dst_phy,
                    node,
                    node,
                    node,
                )
            return []
        out: list[Outgoing] = []
        if packet.dst_phy != BROADCAST:
            link = self._links.get(packet.src_phy)
            if link is None:
                link = self._links[packet.src_phy] = LinkStateMachine(node, packet.src_phy)
            link.address = node
            answer = link.on_receive(packet)
            if answer is not None:
                out.append(Outgoing(answer))
        if not packet.is_link_only:
            out.extend(self.device.handle(packet, self.client))
        return out
