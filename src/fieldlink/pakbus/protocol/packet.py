"""The PakBus packet header: link state, physical and node addresses (pakbus.md §2.5).

A frame's unquoted content (what :class:`~fieldlink.pakbus.protocol.framing.FrameDecoder`
returns) is either a 4-byte *link-state* header alone (Ring, Ready, Finished ...)
or the full 8-byte header followed by one PakCtrl/BMP5 message.  :class:`Packet`
models both so that routing, link-state handling and message dispatch can look
at addresses without knowing any message format.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from fieldlink.errors import ProtocolError
from fieldlink.pakbus.protocol.framing import encode_frame


class LinkState(IntEnum):
    """The high nibble of byte 0 (pakbus.md §2.6).  0x0-0x7 and 0xF are invalid."""

    OFF_LINE = 0x8
    RING = 0x9
    READY = 0xA
    FINISHED = 0xB
    PAUSE = 0xC
    RESERVED = 0xD
    #: CSI "control capabilities"; a CR1000 sends it on its unsolicited Hello Request
    #: (V4).  Receivers treat it exactly like READY.
    CAPABILITIES = 0xE


class ExpMore(IntEnum):
    """ExpMoreCode, bits 7..6 of byte 2: whether the sender expects more traffic."""

    LAST = 0
    MORE = 1
    NEUTRAL = 2
    REVERSE = 3


class Priority(IntEnum):
    """Bits 5..4 of byte 2.  Loggers do not depend on it; CR1000s answer with NORMAL."""

    LOW = 0
    NORMAL = 1
    HIGH = 2
    EXTRA_HIGH = 3


class HiProto(IntEnum):
    """HiProtoCode, the high nibble of byte 4: which message family the body is."""

    PAKCTRL = 0
    BMP5 = 1
    #: Named in Campbell's code, never documented; treat as unsupported.
    DATAGRAM = 2
    ENCRYPTED = 3


#: The broadcast PakBus address (physical and node).
BROADCAST = 0xFFF
#: Largest message (MsgType ... end) a packet may carry (pakbus.md §2.4).
MAX_BODY = 1000
#: Largest hop count; the field is 4 bits.
MAX_HOP_COUNT = 15
#: Size of a link-state-only header and of a full PakBus header.
LINK_HEADER_LEN = 4
HEADER_LEN = 8

_WORDS2 = struct.Struct(">HH")
_WORDS4 = struct.Struct(">HHHH")


def _known(enum: type[IntEnum], value: int) -> int:
    """The enum member for ``value`` when there is one (nicer reprs), else the bare int."""
    try:
        return enum(value)
    except ValueError:
        return value


def _members(enum: type[IntEnum], bits: int) -> tuple[int, ...]:
    """:func:`_known` of every value of a ``bits``-wide field, looked up by index: every
    received packet decodes four of these, and calling an enum costs more than the rest
    of reading the header."""
    return tuple(_known(enum, value) for value in range(1 << bits))


_LINK_STATES = _members(LinkState, 4)
_EXP_MORES = _members(ExpMore, 2)
_PRIORITIES = _members(Priority, 2)
_HI_PROTOS = _members(HiProto, 4)


@dataclass(frozen=True, slots=True)
class Packet:
    """One PakBus packet: header fields and the message body.

    ``hi_proto`` None means a 4-byte link-state-only packet, which carries no node
    addresses, hop count or body.  ``body`` starts with MsgType and TranNbr.
    Fields are plain ints so that a received packet with an invalid link-state
    nibble can still be represented; :meth:`encode` checks ranges.
    """

    link_state: int
    dst_phy: int
    src_phy: int
    exp_more: int = ExpMore.NEUTRAL
    priority: int = Priority.NORMAL
    hi_proto: int | None = None
    dst_node: int = 0
    src_node: int = 0
    hop_count: int = 0
    body: bytes = b""

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def message(
        cls,
        hi_proto: int,
        body: bytes,
        *,
        dst: int,
        src: int,
        link_state: int = LinkState.READY,
        exp_more: int = ExpMore.NEUTRAL,
        priority: int = Priority.NORMAL,
        dst_phy: int | None = None,
        src_phy: int | None = None,
        hop_count: int = 0,
    ) -> Packet:
        """A message packet to node ``dst`` from node ``src``.

        The physical addresses default to the node addresses, which is right on a
        direct link; through a router pass ``dst_phy`` = the router (pakbus.md §2.5).
        """
        return cls(
            link_state=link_state,
            dst_phy=dst if dst_phy is None else dst_phy,
            src_phy=src if src_phy is None else src_phy,
            exp_more=exp_more,
            priority=priority,
            hi_proto=hi_proto,
            dst_node=dst,
            src_node=src,
            hop_count=hop_count,
            body=body,
        )

    @classmethod
    def link_only(
        cls,
        link_state: int,
        *,
        dst: int,
        src: int,
        exp_more: int = ExpMore.LAST,
        priority: int = Priority.LOW,
    ) -> Packet:
        """A 4-byte link-state packet (Ring, Ready, Finished, Off-line, Pause).

        ExpMore LAST and Priority LOW by default, as in the BMP5 manual's Ring and
        Ready examples (V15).
        """
        return cls(link_state, dst, src, exp_more=exp_more, priority=priority)

    # --- inspection -----------------------------------------------------------------------

    @property
    def is_link_only(self) -> bool:
        """True for a 4-byte link-state packet (no PakBus header, no message)."""
        return self.hi_proto is None

    @property
    def msg_type(self) -> int | None:
        """First byte of the message, or None when there is no message."""
        return msg_type_of(self.body)

    @property
    def tran_nbr(self) -> int | None:
        """Second byte of the message (the transaction number), or None if absent."""
        return tran_of(self.body)

    @property
    def is_broadcast(self) -> bool:
        """True when the destination (node, or physical for link-only) is 0xFFF."""
        dst = self.dst_phy if self.is_link_only else self.dst_node
        return dst == BROADCAST

    @property
    def capability(self) -> int | None:
        """Capability code of a CAPABILITIES (0xE) frame: bits 7..4 of byte 2.

        The CR1000's V4 frame has 1 here, which also reads as ExpMore 0 / Priority 1;
        which is meant is UNCERTAIN (pakbus.md §2.6), so nothing acts on it.
        """
        if self.link_state != LinkState.CAPABILITIES:
            return None
        return (self.exp_more << 2) | self.priority

    def is_for(self, address: int) -> bool:
        """Whether a node with ``address`` should accept this packet (pakbus.md §2.8 step 6).

        Full packets are judged by DstNodeId only, like PyCampbellCR1000 0.4 does on
        purpose so that routed replies are not rejected; link-only packets by DstPhyAddr.
        """
        dst = self.dst_phy if self.is_link_only else self.dst_node
        return dst in (address, BROADCAST)

    # --- encoding -------------------------------------------------------------------------

    def encode(self) -> bytes:
        """Unquoted header + body, without the nullifier.  ValueError on bad fields."""
        self._validate()
        w0 = (self.link_state << 12) | self.dst_phy
        w1 = (self.exp_more << 14) | (self.priority << 12) | self.src_phy
        if self.hi_proto is None:
            return _WORDS2.pack(w0, w1)
        w2 = (self.hi_proto << 12) | self.dst_node
        w3 = (self.hop_count << 12) | self.src_node
        return _WORDS4.pack(w0, w1, w2, w3) + bytes(self.body)

    def to_wire(self) -> bytes:
        """The complete frame as sent: sync bytes, quoting and nullifier included."""
        return encode_frame(self.encode())

    def _validate(self) -> None:
        _check_range("link_state", self.link_state, 0xF)
        _check_range("dst_phy", self.dst_phy, 0xFFF)
        _check_range("src_phy", self.src_phy, 0xFFF)
        _check_range("exp_more", self.exp_more, 3)
        _check_range("priority", self.priority, 3)
        if self.hi_proto is None:
            if self.body or self.dst_node or self.src_node or self.hop_count:
                raise ValueError(
                    "a link-state-only packet (hi_proto=None) has no body, node addresses "
                    "or hop count"
                )
            return
        _check_range("hi_proto", self.hi_proto, 0xF)
        _check_range("dst_node", self.dst_node, 0xFFF)
        _check_range("src_node", self.src_node, 0xFFF)
        _check_range("hop_count", self.hop_count, MAX_HOP_COUNT)
        if len(self.body) > MAX_BODY:
            raise ValueError(f"message of {len(self.body)} bytes exceeds {MAX_BODY}")

    # --- decoding -------------------------------------------------------------------------

    @classmethod
    def decode(cls, unquoted: bytes | bytearray | memoryview) -> Packet:
        """Parse a frame's content as returned by FrameDecoder (nullifier stripped).

        Any link-state nibble is accepted (the receiver decides what to do with an
        invalid one).  A message longer than MAX_BODY is accepted too: Campbell's own
        decoder takes frames up to 1024 bytes, and being strict here only loses data.
        """
        data = bytes(unquoted)
        size = len(data)
        if size != LINK_HEADER_LEN and size < HEADER_LEN:
            raise ProtocolError(
                f"{size}-byte frame: a PakBus frame has a 4-byte link-state header or an "
                "8-byte header and message",
                message_type="PakBus header",
                offset=size,
            )
        w0, w1 = _WORDS2.unpack_from(data)
        link_state = _LINK_STATES[w0 >> 12]
        dst_phy = w0 & 0xFFF
        exp_more = _EXP_MORES[w1 >> 14]
        priority = _PRIORITIES[(w1 >> 12) & 0x3]
        src_phy = w1 & 0xFFF
        if size == LINK_HEADER_LEN:
            return cls(link_state, dst_phy, src_phy, exp_more, priority)
        _, _, w2, w3 = _WORDS4.unpack_from(data)
        return cls(
            link_state,
            dst_phy,
            src_phy,
            exp_more,
            priority,
            hi_proto=_HI_PROTOS[w2 >> 12],
            dst_node=w2 & 0xFFF,
            src_node=w3 & 0xFFF,
            hop_count=w3 >> 12,
            body=data[HEADER_LEN:],
        )

    # --- answering ------------------------------------------------------------------------

    def reply(
        self,
        body: bytes,
        *,
        link_state: int = LinkState.READY,
        exp_more: int = ExpMore.LAST,
        hi_proto: int | None = None,
        priority: int = Priority.NORMAL,
        address: int | None = None,
    ) -> Packet:
        """The header for an answer to this packet, carrying ``body``.

        Addresses are swapped, so a reply through a router goes back through it.  The
        defaults (Ready, ExpMore LAST, Priority NORMAL) are what a CR1000 puts on every
        response (OBSERVED, V3-V13); loggers do not copy the request's priority (V17).
        A packet sent to the broadcast address cannot be answered from the broadcast
        address, so pass the answering node's own ``address`` for those; when given it
        replaces both source addresses.
        """
        # A link-only packet has no node addresses; its physical ones stand in for them.
        if self.is_link_only:
            peer_node, own_node = self.src_phy, self.dst_phy
        else:
            peer_node, own_node = self.src_node, self.dst_node
        src_phy = self.dst_phy if address is None else address
        src_node = own_node if address is None else address
        if BROADCAST in (src_phy, src_node):
            raise ValueError("a reply to a broadcast packet needs the answering node's address")
        proto = self.hi_proto if hi_proto is None else hi_proto
        if proto is None:
            return Packet(link_state, self.src_phy, src_phy, exp_more, priority, body=body)
        return Packet(
            link_state,
            dst_phy=self.src_phy,
            src_phy=src_phy,
            exp_more=exp_more,
            priority=priority,
            hi_proto=proto,
            dst_node=peer_node,
            src_node=src_node,
            hop_count=0,
            body=body,
        )


def _check_range(name: str, value: int, top: int) -> None:
    if not 0 <= value <= top:
        raise ValueError(f"{name} must be 0..{top}, got {value}")


def msg_type_of(message: bytes) -> int | None:
    """A message's MsgType (its first byte), or None for no message."""
    return message[0] if message else None


def tran_of(message: bytes) -> int | None:
    """A message's TranNbr (its second byte), or None if it is shorter than that."""
    return message[1] if len(message) >= 2 else None


__all__ = [
    "BROADCAST",
    "HEADER_LEN",
    "LINK_HEADER_LEN",
    "MAX_BODY",
    "MAX_HOP_COUNT",
    "ExpMore",
    "HiProto",
    "LinkState",
    "Packet",
    "Priority",
    "msg_type_of",
    "tran_of",
]
