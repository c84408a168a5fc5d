"""Serial link states of one neighbour link, as a sans-I/O state machine (pakbus.md §2.6).

PakBus carries a 4-bit link state on every frame so that serial and radio links can
be woken (Ring), kept up (Ready) and released (Finished -> Off-line).  The model is
Campbell's own per-neighbour machine (offline / ringing / ready / finished), cut
down to what both a client and a device emulator need.  Time is expressed as data:
the driver arms a timer for :attr:`LinkStateMachine.timeout` seconds after each
frame it sends or receives and calls :meth:`LinkStateMachine.on_timeout` when it
fires.  Nothing here sleeps or reads a clock.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from enum import Enum

from fieldlink.pakbus.protocol.packet import BROADCAST, ExpMore, LinkState, Packet

#: Ring retry interval: Campbell retries every max(600 ms, ring timeout).
RING_RETRY_INTERVAL = 0.6
#: Rings retried after the first before giving up ("unreachable").
RING_RETRIES = 4
#: The link is considered down after this long without a received frame.
WATCHDOG_SECONDS = 40.0
#: Shorter watchdog while waiting for the peer's Off-line after our Finished.
FINISHED_WATCHDOG_SECONDS = 5.0


class LinkPhase(Enum):
    """Where one neighbour link stands, from our side."""

    OFFLINE = "offline"
    #: We sent a Ring (bare, or on a message) and have heard nothing back yet.
    RINGING = "ringing"
    READY = "ready"
    #: We sent Finished and expect the peer's Off-line.
    FINISHED = "finished"


class TimeoutAction(Enum):
    """What the driver must do when the timer of :meth:`LinkStateMachine.on_timeout` fires."""

    #: Send :meth:`LinkStateMachine.ring` again.
    RING_AGAIN = "ring again"
    #: Ringing failed: fail whatever waits on this link (the neighbour is unreachable).
    GIVE_UP = "give up"
    #: Watchdog expired: the link is now offline; nothing needs sending.
    LINK_DOWN = "link down"


@dataclass(eq=False)
class LinkStateMachine:
    """Link-state bookkeeping for one neighbour, usable by client and device alike.

    ``address`` is our own physical address, used as the source of automatic
    answers.  ``neighbour`` is the peer's physical address; when None it is learned
    from the first frame the peer sends.  The driver hands each neighbour's received
    packets to its own machine and filters out packets addressed to other nodes.
    A machine is one link's mutable state, so two are never equal unless they are one.
    """

    address: int
    neighbour: int | None = None
    _: KW_ONLY
    ring_retry_interval: float = RING_RETRY_INTERVAL
    ring_retries: int = RING_RETRIES
    watchdog_seconds: float = WATCHDOG_SECONDS
    state: LinkPhase = field(default=LinkPhase.OFFLINE, init=False)
    #: An expect-more session is open (the peer sent ExpMore MORE or REVERSE and
    #: has not since sent LAST): keep sending Ready rather than Finished.
    session_open: bool = field(default=False, init=False)
    _rings_sent: int = field(default=0, init=False, repr=False)

    # --- receiving ------------------------------------------------------------------------

    def on_receive(self, packet: Packet) -> Packet | None:
        """Update the state for a packet from the neighbour; return the link-level answer.

        - Ring without a message -> Ready (4-byte, or 8-byte for an 8-byte Ring, as
          PbCdlComm does).  A Ring carrying a message gets no separate answer: the
          message's response, sent with Ready, is the answer (PyCampbellCR1000's Hello).
        - Finished without a message -> Off-line, and the link goes offline.  (What a
          CR1000 answers is UNCERTAIN -- the manual says Off-line, PbCdlComm saw Ready;
          we send Off-line as the document recommends for emulators.)
        - Pause -> Finished.
        - Ready and Capabilities (treated exactly like Ready) mark the link ready, as
          does Finished with a message (answered by the message's response).
        - Off-line takes the link down.
        Broadcast frames (a Hello Request on TCP connect is one, with link state 0xE
        or Off-line) and invalid or reserved nibbles leave the link alone.
        """
        if packet.dst_phy == BROADCAST or packet.is_broadcast:
            return None
        state = packet.link_state
        if state not in _ACTED_ON:
            return None
        if self.neighbour is None:
            self.neighbour = packet.src_phy
        if state != LinkState.CAPABILITIES:
            self._track_session(packet.exp_more)
        self._rings_sent = 0
        bare = not packet.body
        if state == LinkState.RING:
            self.state = LinkPhase.READY
            return self._answer(packet, LinkState.READY) if bare else None
        if state == LinkState.FINISHED and bare:
            self.state = LinkPhase.OFFLINE
            self.session_open = False
            return self._answer(packet, LinkState.OFF_LINE)
        if state == LinkState.PAUSE:
            self.state = LinkPhase.FINISHED
            return self._answer(packet, LinkState.FINISHED)
        if state == LinkState.OFF_LINE:
            self.state = LinkPhase.OFFLINE
            self.session_open = False
            return None
        self.state = LinkPhase.READY  # Ready, Capabilities, Finished + message
        return None

    def _track_session(self, exp_more: int) -> None:
        # Campbell's expect-more bookkeeping (pakbus.md §2.6): MORE opens a session in
        # the peer's direction, REVERSE in ours; LAST ends it; NEUTRAL changes nothing.
        if exp_more in (ExpMore.MORE, ExpMore.REVERSE):
            self.session_open = True
        elif exp_more == ExpMore.LAST:
            self.session_open = False

    def _answer(self, packet: Packet, link_state: LinkState) -> Packet:
        """A bodiless answer in the same header size as ``packet``, keeping its priority.

        Keeping the priority reproduces the BMP5 manual's Ring/Ready pair (V15).
        """
        return packet.reply(
            b"",
            link_state=link_state,
            exp_more=ExpMore.LAST,
            priority=packet.priority,
            address=self.address,
        )

    # --- sending --------------------------------------------------------------------------

    def outgoing_link_state(self, *, more: bool) -> LinkState:
        """The link state for the frame about to be sent, and the state change it makes.

        Offline -> Ring (and ringing): a client's first frame may carry its message
        with Ring, as PyCampbellCR1000 does and a CR1000 accepts (V1.1/V2/V3); while
        still ringing every frame keeps Ring.  Otherwise Ready while ``more`` traffic is
        expected or an expect-more session is open, else Finished (LoggerNet's rule).
        A device answering requests should pass ``more=True``: a CR1000 puts Ready on
        every response (OBSERVED) and leaves ending the link to the client.
        """
        if self.state in (LinkPhase.OFFLINE, LinkPhase.RINGING):
            if self.state == LinkPhase.OFFLINE:
                self._rings_sent = 0
            self.state = LinkPhase.RINGING
            self._rings_sent += 1
            return LinkState.RING
        if more or self.session_open:
            self.state = LinkPhase.READY
            return LinkState.READY
        self.state = LinkPhase.FINISHED
        return LinkState.FINISHED

    def ring(self) -> Packet:
        """A bare 4-byte Ring to the neighbour (to wake the link or retry ringing)."""
        if self.neighbour is None:
            raise ValueError("the neighbour's address is not known yet")
        if self.state == LinkPhase.OFFLINE:
            self._rings_sent = 0
        self.state = LinkPhase.RINGING
        self._rings_sent += 1
        return Packet.link_only(LinkState.RING, dst=self.neighbour, src=self.address)

    def finish(self) -> Packet:
        """A bare 4-byte Finished to release the link; the peer should answer Off-line."""
        if self.neighbour is None:
            raise ValueError("the neighbour's address is not known yet")
        self.state = LinkPhase.FINISHED
        self.session_open = False
        return Packet.link_only(LinkState.FINISHED, dst=self.neighbour, src=self.address)

    # --- time -----------------------------------------------------------------------------

    @property
    def timeout(self) -> float | None:
        """Seconds of silence after which to call :meth:`on_timeout`; None: no timer.

        Re-arm it after every frame sent or received.
        """
        if self.state == LinkPhase.RINGING:
            return self.ring_retry_interval
        if self.state == LinkPhase.READY:
            return self.watchdog_seconds
        if self.state == LinkPhase.FINISHED:
            return min(FINISHED_WATCHDOG_SECONDS, self.watchdog_seconds)
        return None

    def on_timeout(self) -> TimeoutAction | None:
        """The timer of :attr:`timeout` fired; say what the driver must do."""
        if self.state == LinkPhase.RINGING:
            if self._rings_sent <= self.ring_retries:
                return TimeoutAction.RING_AGAIN
            self.state = LinkPhase.OFFLINE
            self._rings_sent = 0
            return TimeoutAction.GIVE_UP
        if self.state in (LinkPhase.READY, LinkPhase.FINISHED):
            self.state = LinkPhase.OFFLINE
            self.session_open = False
            return TimeoutAction.LINK_DOWN
        return None


#: Link states the machine acts on; the rest (invalid 0x0-0x7/0xF, reserved 0xD) are ignored.
_ACTED_ON = frozenset(
    {
        LinkState.OFF_LINE,
        LinkState.RING,
        LinkState.READY,
        LinkState.FINISHED,
        LinkState.PAUSE,
        LinkState.CAPABILITIES,
    }
)

__all__ = [
    "FINISHED_WATCHDOG_SECONDS",
    "RING_RETRIES",
    "RING_RETRY_INTERVAL",
    "WATCHDOG_SECONDS",
    "LinkPhase",
    "LinkStateMachine",
    "TimeoutAction",
]
