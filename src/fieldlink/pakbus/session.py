"""The client side of a PakBus link, without I/O (in the manner of h11).

A :class:`ClientSession` turns messages into wire bytes and wire bytes into the
messages meant for us, answering the logger's own link chatter (Hello commands,
bare Rings) by itself.  An :class:`Exchange` is one request awaiting its answer: it
knows which response matches (HiProtoCode, MsgType | 0x80, TranNbr, source node),
honours Please Wait, recognises the delivery failure that refers to it, and decides
when to resend.  Nothing here reads a clock: the driver passes ``now`` in, so the
same objects serve the blocking and the asyncio drivers
(:mod:`fieldlink.kit.drive`) and can be tested with bytes alone.

A conversation with a logger (an *operation*) is a generator of :data:`Step`:

- :class:`Request` -- send this message, send me back the matching response;
- :class:`Now` -- send me back the current :class:`Instant` (round trips, clock sync);
- :class:`Pause` -- wait this long (a File Control HoldOff) while still answering
  the logger's Hellos;
- :class:`Emit` -- hand these items to whoever iterates over the operation (records
  of a collection, streamed as they arrive so memory stays flat);
- :class:`Send` (a Request), :class:`Take`, :class:`Drop` -- several requests in
  flight, each its own transaction (distinct TranNbrs): the session hands every
  answer to the exchange it belongs to, whichever one the bytes were fed to.

Operations compose with ``yield from`` and the helpers :func:`call`, :func:`expect`,
:func:`now`, :func:`pause` and :func:`emit`.  Errors raised by an exchange (timeout,
delivery failure, malformed response) are thrown *into* the operation, so one that
knows better (a ping falling back to Hello) can catch them.

When to resend
--------------
A fixed timeout makes every lost frame cost the whole timeout: on a link that drops
one answer in ten, a collection spent most of its time waiting.  So the session
learns the link's round trip the way TCP does (RFC 6298, :class:`RoundTripEstimator`):

- each answered exchange that was sent once (never a resent one: its answer might
  belong to either try -- Karn's rule), got no Please Wait and is not a slow command
  gives a sample R; ``SRTT`` and ``RTTVAR`` are smoothed with gains 1/8 and 1/4;
- a try's resend deadline is ``clamp(2 × (SRTT + 4·RTTVAR), 1 s, timeout)``; the
  factor 2 is headroom for answers larger than those measured (a 1 000-byte collect
  answer takes a second longer than a 14-byte Hello on a 9600 baud line), and a frame
  that has begun to arrive gets :data:`MID_FRAME_GRACE` again while bytes keep coming;
- until the first sample the configured ``timeout`` (``first_timeout`` before the
  logger has been heard) applies unchanged, so first contact over a cell modem is as
  patient as before;
- each timeout doubles the deadline (capped at ``timeout``) until the next sample, so
  a link that has gone slow is not hammered;
- a Please Wait replaces the deadline with WaitSec + margin (pakbus.md §6.1);
- commands that are slow on the logger side or must not run twice by accident (File
  Control -- compile, run, format --, Table Control, DevConfig control) and requests
  that may not be resent (``retries=0``) keep the configured timeout;
- an exchange gives up after the same total wait as a fixed timeout would have:
  ``(retries + 1) × timeout`` since its first try (a Please Wait extends it) -- the
  adaptive deadline decides *when* to resend, never *how long* to persevere;
- a logger that has never answered while another node has spoken on the link
  (its Hello Request on connect names it) fails at the first timeout, naming that node:
  the usual cause is a wrong ``--dest``.

:attr:`ClientSession.stats` counts exchanges, resends, timeouts and the seconds spent
waiting them out, so a caller can see what a link costs.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fieldlink.errors import DeliveryFailure, FieldlinkError, LinkTimeout, ProtocolError
from fieldlink.kit.converse import (
    Drop,
    Emit,
    Instant,
    Now,
    Pause,
    Send,
    Take,
    drop,
    emit,
    now,
    pause,
    send,
)
from fieldlink.kit.rtt import (
    MIN_RETRY_TIMEOUT,
    RETRY_TIMEOUT_FACTOR,
    ExchangeStats,
    RoundTripEstimator,
)
from fieldlink.pakbus.defaults import MAX_IN_FLIGHT
from fieldlink.pakbus.protocol import bmp5, pakctrl
from fieldlink.pakbus.protocol.codes import delivery_failure_meaning
from fieldlink.pakbus.protocol.framing import FrameDecoder
from fieldlink.pakbus.protocol.messages import Message, decode_message, describe_type
from fieldlink.pakbus.protocol.packet import BROADCAST, ExpMore, HiProto, LinkState, Packet

log = logging.getLogger("fieldlink.pakbus.frames")

T = TypeVar("T")
M = TypeVar("M", bound=Message)

#: Extra time allowed after a Please Wait, on top of the logger's WaitSec (pakbus.md §6.1).
PLEASE_WAIT_MARGIN = 2.0
#: Extra time for file operations after a Please Wait (Campbell adds 10 s).
PLEASE_WAIT_FILE_MARGIN = 10.0
#: A deadline that passes while half a frame has arrived is extended by this much (again
#: while bytes keep coming): a slow serial line may still be delivering the answer
#: (pakbus.md pitfall 4).
MID_FRAME_GRACE = 2.0
#: At most this many grace periods per try, so a trickle of garbage cannot wait forever.
MAX_GRACES = 10
#: Sync bytes sent before the very first frame, to wake a serial logger (pakbus.md §2.1).
WAKE_BURST = b"\xbd" * 6

_FILE_MSG_TYPES = frozenset({0x1C, 0x1D, 0x1E})
_BMP5_PLEASE_WAIT = 0xA1
#: (HiProtoCode, MsgType) of commands that keep the configured timeout: slow on the logger
#: side (compile, format) or harmful if a spurious resend ran them twice.
_SLOW_COMMANDS = frozenset(
    {
        (HiProto.BMP5, bmp5.FileControlCommand.MSG_TYPE),
        (HiProto.BMP5, bmp5.TableControlCommand.MSG_TYPE),
        (HiProto.PAKCTRL, pakctrl.DevConfigControlCommand.MSG_TYPE),
    }
)


# --- steps ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """Send ``message`` and await its answer.

    ``message.tran`` is ignored: the session numbers transactions.  ``same_transaction``
    keeps the TranNbr of the operation's previous request, which file swaths and send
    fragments require (pakbus.md §7.1-7.2).  ``timeout`` is the longest wait per try
    (None: the session's); the session resends sooner once it knows the link's round
    trip (see the module docstring).  ``retries`` sets the patience: the exchange gives
    up ``(retries + 1) × timeout`` after its first try.  0 never resends -- a clock
    *set* must use it (the manual says re-read before retrying).  ``one_way`` messages
    (Bye) expect no answer.
    ``accept`` can reject a response that matches by transaction but is stale, such
    as a duplicate swath of a file after a resend; the exchange then keeps waiting.
    """

    message: Message
    timeout: float | None = None
    retries: int = 2
    same_transaction: bool = False
    one_way: bool = False
    link_state: int | None = None
    accept: Callable[[Message], bool] | None = None


#: What an operation may yield.
Step = Request | Now | Pause | Emit[Any] | Send | Take | Drop
#: What the driver sends back: the response to a Request (None for one-way), an Instant
#: for Now, None for Pause and Emit.
Sent = Message | Instant | None
#: A conversation: yields Steps, is sent the answers, returns a result.
Operation = Generator[Step, Sent, T]
#: A conversation whose result is a stream of items delivered with :class:`Emit`.
Stream = Generator[Step, Sent, None]


def call(request: Request) -> Generator[Step, Sent, Message]:
    """Perform one request and return the response (``yield from call(...)``)."""
    return _message((yield request))


def _message(reply: Sent) -> Message:
    if not isinstance(reply, Message):
        raise TypeError(f"driver answered a Request with {type(reply).__name__}")
    return reply


def _of_kind(reply: Message, kind: type[M]) -> M:
    if not isinstance(reply, kind):
        raise ProtocolError(
            f"expected a {kind.what()}, got a {reply.describe()}",
            message_type=kind.what(),
        )
    return reply


def expect(request: Request, kind: type[M]) -> Generator[Step, Sent, M]:
    """Perform one request and return its response, which must be a ``kind``."""
    return _of_kind((yield from call(request)), kind)


def take_expected(kind: type[M]) -> Generator[Step, Sent, M]:
    """The answer to the oldest request in flight (:class:`Take`), which must be a ``kind``."""
    return _of_kind(_message((yield Take())), kind)


def send_one_way(request: Request) -> Generator[Step, Sent, None]:
    """Send a message that has no answer (``request.one_way`` is forced)."""
    yield dataclasses.replace(request, one_way=True)


# --- session ----------------------------------------------------------------------------------


@dataclass
class ClientSession:
    """Addressing, transaction numbers, timeouts and framing for one client and one logger.

    ``node`` is the logger's PakBus address (the final destination); ``address`` the
    physical address of the next hop, which differs from ``node`` only when a
    router sits between us (pakbus.md §2.5, pitfall 3).  ``src`` is our own node
    address and ``src_address`` our physical address (normally the same); 4000..4094
    are software addresses that loggers' neighbour filters never block.

    ``timeout`` is the longest per-try deadline; until the logger has been heard from
    once, ``first_timeout`` (when larger) replaces it, because a cellular modem may
    take half a minute to bring a link up and is then quick.  Once answers have been
    timed, tries are resent sooner (:attr:`rtt`; the rule is in the module docstring).
    """

    node: int = 1
    src: int = 4094
    address: int | None = None
    src_address: int | None = None
    timeout: float = 10.0
    first_timeout: float | None = None
    #: Seconds added to every deadline for the route (1.25 × hop time, pakbus.md §12).
    route_time: float = 0.0
    decoder: FrameDecoder = field(default_factory=FrameDecoder)
    outbox: bytearray = field(default_factory=bytearray)
    #: True once any frame from the logger (or the router in front of it) has arrived.
    contacted: bool = False
    #: The link's round trip, learned from answers.
    rtt: RoundTripEstimator = field(default_factory=RoundTripEstimator)
    stats: ExchangeStats = field(default_factory=ExchangeStats)
    #: Other PakBus nodes that have spoken to us or broadcast on this link, in order heard
    #: (a logger's Hello Request on connect names it): the hint for a wrong ``node``.
    other_nodes: list[int] = field(default_factory=list)
    #: Bytes fed so far (a deadline's grace lasts while this keeps growing).
    bytes_heard: int = 0
    _tran: int = field(default_factory=lambda: random.randint(1, 255))
    _woken: bool = False
    #: Open transactions by TranNbr, oldest first: where each answer is handed.
    _open: dict[int, Exchange] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, value in (("node", self.node), ("src", self.src)):
            if not 1 <= value <= 4094:
                raise ValueError(f"PakBus {name} address must be 1..4094, not {value}")
        for name, opt in (("address", self.address), ("src_address", self.src_address)):
            if opt is not None and not 1 <= opt <= 4094:
                raise ValueError(f"PakBus {name} must be 1..4094, not {opt}")

    @property
    def phy(self) -> int:
        """Physical address of the next hop towards the logger."""
        return self.node if self.address is None else self.address

    @property
    def src_phy(self) -> int:
        return self.src if self.src_address is None else self.src_address

    #: Requests that may be in flight at once (see :data:`MAX_IN_FLIGHT`).
    max_in_flight: int = field(default=MAX_IN_FLIGHT, init=False)

    def next_tran(self) -> int:
        """Transaction numbers 1..255, never 0 (reserved for one-way messages), and
        never one still open (Campbell: unique per destination among open transactions)."""
        for _ in range(255):
            self._tran = self._tran % 255 + 1
            if self._tran not in self._open:
                break
        return self._tran

    def try_timeout(self, requested: float | None) -> float:
        """Seconds to wait for one try of a request that asked for ``requested``."""
        base = self.timeout if requested is None else requested
        if not self.contacted and self.first_timeout is not None:
            base = max(base, self.first_timeout)
        return base + self.route_time

    def retry_timeout(self, request: Request) -> float:
        """Seconds before resending ``request``: adaptive unless it must keep the configured."""
        ceiling = self.try_timeout(request.timeout)
        if not adaptive(request):
            return ceiling
        return self.rtt.timeout(ceiling)

    def packet_for(self, message: Message, *, link_state: int | None = None) -> Packet:
        if link_state is None:
            link_state = LinkState.READY if self.contacted else LinkState.RING
        return Packet(
            link_state=link_state,
            dst_phy=self.phy,
            src_phy=self.src_phy,
            exp_more=ExpMore.NEUTRAL,
            hi_proto=message.HI_PROTO,
            dst_node=self.node,
            src_node=self.src,
            body=message.encode(),
        )

    def encode(self, message: Message, *, link_state: int | None = None) -> bytes:
        """Wire bytes for ``message`` addressed to the logger.

        The first frame of a session is preceded by a burst of sync bytes, which wakes a
        serial logger and is harmless on TCP (PyCampbellCR1000 does the same).
        """
        packet = self.packet_for(message, link_state=link_state)
        wire = packet.to_wire()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("-> %s  %s", _hex(packet.encode(), message), _describe(message))
        if not self._woken:
            self._woken = True
            wire = WAKE_BURST + wire
        return wire

    def _from_logger_side(self, packet: Packet) -> bool:
        if packet.is_link_only:
            return packet.src_phy == self.phy
        return packet.src_node == self.node or packet.src_phy == self.phy

    def receive(self, data: bytes, now: float | None = None) -> list[Received]:
        """Feed received bytes; return what arrived for us, decoded where possible.

        The logger's Hello commands and bare Rings are answered here (the answers go to
        :attr:`outbox`), because a logger that gets no answer keeps asking and may drop
        us as a neighbour.  Frames for other nodes are ignored; a message that fails to
        decode is returned with its error so that a waiting exchange can report it.
        Each answer is also handed to the open exchange it belongs to (:meth:`_route`),
        whichever exchange's bytes these were: with several requests in flight, one
        chunk holds answers to several.  ``now`` times those answers (None: a pause,
        whose answers are not timed).
        """
        self.bytes_heard += len(data)
        out = self._decode(data)
        if self._open:
            for item in out:
                self._route(item, now)
        return out

    def _decode(self, data: bytes) -> list[Received]:
        out: list[Received] = []
        for raw in self.decoder.feed(data):
            try:
                packet = Packet.decode(raw)
            except ProtocolError as exc:
                log.debug("<- %s  dropped: %s", _hex(raw), exc)
                continue
            if packet.is_link_only:
                if packet.dst_phy not in (self.src_phy, BROADCAST):
                    continue
            elif packet.dst_node not in (self.src, BROADCAST):
                continue
            if self._from_logger_side(packet):
                self.contacted = True
            else:
                self._heard(packet.src_phy if packet.is_link_only else packet.src_node)
            if packet.is_link_only:
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("<- %s  link state 0x%X", _hex(raw), packet.link_state)
                if packet.link_state == LinkState.RING and packet.dst_phy == self.src_phy:
                    answer = Packet.link_only(LinkState.READY, dst=packet.src_phy, src=self.src_phy)
                    self.outbox += answer.to_wire()
                out.append(Received(packet, None, None))
                continue
            try:
                message = decode_message(packet.hi_proto or 0, packet.body)
            except ProtocolError as exc:
                log.warning("malformed message from node %d: %s", packet.src_node, exc)
                out.append(Received(packet, None, exc))
                continue
            if log.isEnabledFor(logging.DEBUG):
                log.debug("<- %s  %s", _hex(raw, message), _describe(message))
            if isinstance(message, pakctrl.HelloCommand) and packet.dst_node == self.src:
                reply = pakctrl.HelloResponse(
                    message.tran, 0, message.hop_metric, message.verify_interval
                )
                answer = packet.reply(reply.encode(), address=self.src)
                if self.src_address is not None:
                    answer = dataclasses.replace(answer, src_phy=self.src_address)
                self.outbox += answer.to_wire()
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("-> %s  %s (automatic)", _hex(answer.encode()), _describe(reply))
            out.append(Received(packet, message, None))
        return out

    def _route(self, item: Received, now: float | None) -> None:
        """Hand ``item`` to the open exchange it answers (or fails, for a delivery failure)."""
        packet, message = item.packet, item.message
        if packet.is_link_only:
            return
        if isinstance(message, pakctrl.DeliveryFailureMessage):
            for each in list(self._open.values()):
                each.failed(packet, message)
            return
        if packet.src_node != self.node or packet.tran_nbr is None:
            return
        ex = self._open.get(packet.tran_nbr)
        if ex is not None and packet.hi_proto == ex.message.HI_PROTO:
            ex.offer(item, now)

    def closed(self, exchange: Exchange, now: float | None) -> None:
        """``exchange`` is answered, failed or abandoned: it is no longer open.

        When it was the oldest open one, the next oldest is timed from now on: the
        logger answers in order, so until now that one was waiting its turn, not lost
        (a retransmission timer on the oldest outstanding request, as in TCP).
        """
        if self._open.get(exchange.tran) is not exchange:
            return
        oldest = next(iter(self._open)) == exchange.tran
        del self._open[exchange.tran]
        if oldest and self._open and now is not None:
            next(iter(self._open.values())).waited_its_turn(now)

    def queued_behind(self, exchange: Exchange) -> bool:
        """Whether a request sent before ``exchange`` is still open."""
        return exchange.tran in self._open and next(iter(self._open)) != exchange.tran

    def opened(self, exchange: Exchange) -> None:
        self._open.pop(exchange.tran, None)  # a file's next swath reuses the number
        self._open[exchange.tran] = exchange

    def _heard(self, node: int) -> None:
        if node not in (self.src, self.src_phy, BROADCAST) and node not in self.other_nodes:
            self.other_nodes.append(node)

    def take_outbox(self) -> bytes:
        data = bytes(self.outbox)
        self.outbox.clear()
        return data

    def exchange(
        self, request: Request, now: float, previous_tran: Exchange | int | None = None
    ) -> Exchange:
        """Start waiting for ``request``'s answer.

        ``previous_tran`` is the operation's previous exchange (as the kit's drivers pass
        it) or its TranNbr, reused when ``request.same_transaction`` is set.
        """
        if isinstance(previous_tran, Exchange):
            previous_tran = previous_tran.tran
        if request.one_way:
            tran = 0
        elif request.same_transaction and previous_tran:
            tran = previous_tran
        else:
            tran = self.next_tran()
        return Exchange(self, request, tran, now)


@dataclass(frozen=True, slots=True)
class Received:
    """A packet for us, its decoded message (None for link-only frames or on error)."""

    packet: Packet
    message: Message | None
    error: ProtocolError | None


class Exchange:
    """One request and the wait for its answer.

    Drivers call :meth:`start` and write the bytes, then :meth:`receive` with every
    chunk read and :meth:`on_timeout` when :attr:`deadline` passes, until
    :meth:`receive` returns the response (or an error is raised).
    """

    def __init__(self, session: ClientSession, request: Request, tran: int, now: float) -> None:
        self.session = session
        self.request = request
        self.tran = tran
        self.message: Message = dataclasses.replace(request.message, tran=tran)  # type: ignore[type-var]
        self.tries = 0
        self.deadline = now
        self.result: Message | None = None
        #: When the current try was sent, and the first.
        self.sent_at = now
        self.first_sent_at = now
        #: No more tries once this passes: the patience of a fixed timeout.
        self.give_up_at = now
        self._ceiling = 0.0
        #: The current try's wait (its deadline is counted from when it is sent).
        self._wait = 0.0
        self._pleaded = False
        self._graces = 0
        self._heard_at_grace = 0
        self._deferred = False
        #: An error that arrived for this request (raised by :meth:`receive`).
        self.error: FieldlinkError | None = None
        self._want_type = self.message.MSG_TYPE | 0x80
        if not request.one_way:
            session.opened(self)

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def one_way(self) -> bool:
        return self.request.one_way

    def start(self, now: float) -> bytes:
        """Bytes to send for the (next) try, and the deadline armed for it."""
        session, request = self.session, self.request
        self.tries += 1
        self._graces = 0
        self._deferred = False
        self._heard_at_grace = session.bytes_heard
        self._ceiling = session.try_timeout(request.timeout)
        if self.tries == 1:
            self.first_sent_at = now
            self.give_up_at = now + (max(request.retries, 0) + 1) * self._ceiling
            if not request.one_way:
                session.stats.exchanges += 1
        else:
            session.stats.resends += 1
        wait = session.retry_timeout(request)
        if now + wait > self.give_up_at:
            # The last try: up to the end of the patience, but never shorter than the
            # floor (a resend that cannot be answered in time is pointless).
            wait = max(self.give_up_at - now, min(MIN_RETRY_TIMEOUT, self._ceiling))
            self.give_up_at = max(self.give_up_at, now + wait)
        self.sent_at = now
        self._wait = wait
        self.deadline = now + wait
        return session.encode(self.message, link_state=request.link_state)

    def on_timeout(self, now: float) -> bytes:
        """The deadline passed: bytes to resend (maybe none), or LinkTimeout when out of time."""
        session = self.session
        if (
            session.decoder.in_frame
            and self._graces < MAX_GRACES
            and (self._graces == 0 or session.bytes_heard > self._heard_at_grace)
        ):
            self._graces += 1
            self._heard_at_grace = session.bytes_heard
            self.deadline = now + MID_FRAME_GRACE
            return b""
        if not self._deferred and session.queued_behind(self):
            # An older request in flight is unanswered: the logger answers in order, so
            # this one is likely waiting its turn (resending it would fetch it twice).
            # Once per try: it is timed afresh when the older ones are answered
            # (waited_its_turn), and resent if it is still unanswered after one more wait
            # (it may be lost too, or the older one's operation is not reading).
            self._deferred = True
            self.deadline = now + session.retry_timeout(self.request)
            return b""
        session.stats.timeouts += 1
        session.stats.waited_out += max(now - self.sent_at, 0.0)
        session.rtt.timed_out()
        if not session.contacted and session.other_nodes:
            raise LinkTimeout(self._no_answer(now) + self._wrong_node_hint())
        if now >= self.give_up_at:
            session.closed(self, None)
            raise LinkTimeout(self._no_answer(now))
        log.info("no answer to %s, resending", _describe(self.message))
        return self.start(now)

    def cancel(self) -> None:
        """No longer awaited: a late answer is ignored, and the TranNbr may be reused."""
        self.session.closed(self, None)

    def waited_its_turn(self, now: float) -> None:
        """Every request sent before this one has been answered: time it from ``now``.

        Its deadline starts again, its patience and its round-trip sample move by the
        time it spent queued behind them, so a window of requests is not resent for
        waiting in line.
        """
        shift = now - self.sent_at
        if shift > 0:
            self.sent_at = now
            self.deadline = now + self._wait
            self.give_up_at += shift
            self._deferred = False

    def _no_answer(self, now: float) -> str:
        tries = f"{self.tries} {'try' if self.tries == 1 else 'tries'}"
        return (
            f"PakBus node {self.session.node} did not answer "
            f"({_describe(self.message)}, {tries} in {now - self.first_sent_at:.3g} s)"
        )

    def _wrong_node_hint(self) -> str:
        """The node(s) heard instead, and what to do: the usual cause is a wrong --dest."""
        nodes = self.session.other_nodes
        first = nodes[0]
        who = (
            f"a logger at PakBus node {first} is"
            if len(nodes) == 1
            else f"PakBus nodes {', '.join(map(str, nodes))} are"
        )
        return (
            f"; {who} on this link; use --dest {first} (node={first} in Python), "
            f"or --dest_addr {first} if it routes to node {self.session.node}"
        )

    def receive(self, data: bytes, now: float) -> Message | None:
        """Feed bytes; return the matching response once it has arrived.

        The session hands each answer to its exchange (:meth:`ClientSession.receive`),
        so an answer that came in bytes fed to another exchange is returned here too,
        even by ``receive(b"", now)``; so is an error that arrived for this request.
        """
        if data:
            self.session.receive(data, now)
        if self.error is not None:
            raise self.error
        return self.result

    def offer(self, item: Received, now: float | None) -> None:
        """A message from the logger with this exchange's TranNbr and protocol."""
        packet, message = item.packet, item.message
        if packet.msg_type == self._want_type:
            if item.error is not None:
                self._fail(item.error, now)
                return
            assert message is not None
            if self.request.accept is not None and not self.request.accept(message):
                log.debug("ignored stale %s", _describe(message))
                return
            if now is not None:
                self._answered(now)
            self.result = message
            self.session.closed(self, now)
        elif (
            packet.msg_type == _BMP5_PLEASE_WAIT
            and self.message.HI_PROTO == HiProto.BMP5
            and now is not None  # (not during a pause: then it is simply resent)
        ):
            self._please_wait(message, now)

    def failed(self, packet: Packet, failure: pakctrl.DeliveryFailureMessage) -> None:
        """A delivery failure arrived: this exchange fails if it refers to it."""
        if self._refers_to_us(failure):
            meaning = delivery_failure_meaning(failure.err_code)
            error = DeliveryFailure(
                f"PakBus node {self.session.node} could not be reached "
                f"(delivery failure from node {packet.src_node}: {meaning})",
                code=failure.err_code,
                meaning=meaning,
            )
            self._fail(error, None)

    def _fail(self, error: FieldlinkError, now: float | None) -> None:
        self.error = error
        self.session.closed(self, now)

    def _answered(self, now: float) -> None:
        """Karn's rule: only an answer to a request sent once times the link."""
        stats = self.session.stats
        stats.answered += 1
        if self.tries == 1 and not self._pleaded and not _slow(self.message):
            self.session.rtt.sample(now - self.sent_at)
            stats.rtt_samples += 1

    def _please_wait(self, message: Message | None, now: float) -> None:
        wait = getattr(message, "wait_seconds", None)
        if not isinstance(wait, int):
            return
        margin = (
            PLEASE_WAIT_FILE_MARGIN
            if self.message.MSG_TYPE in _FILE_MSG_TYPES
            else PLEASE_WAIT_MARGIN
        )
        self._pleaded = True
        self.deadline = max(self.deadline, now + wait + margin + self.session.route_time)
        # The logger is alive and busy: the patience for resends starts after its wait.
        patience = max(self.request.retries, 0) * self._ceiling
        self.give_up_at = max(self.give_up_at, self.deadline + patience)
        log.info("PakBus node %d asks to wait %d s", self.session.node, wait)

    def _refers_to_us(self, failure: pakctrl.DeliveryFailureMessage) -> bool:
        if failure.dst_node not in (self.session.node, BROADCAST):
            return False
        if failure.original_msg_type is not None and failure.original_tran is not None:
            return (
                failure.original_msg_type == self.message.MSG_TYPE
                and failure.original_tran == self.tran
                and failure.hi_proto_of_original == self.message.HI_PROTO
            )
        return True


def _slow(message: Message) -> bool:
    return (message.HI_PROTO, message.MSG_TYPE) in _SLOW_COMMANDS


def adaptive(request: Request) -> bool:
    """Whether ``request`` may be resent on the learned round trip (module docstring)."""
    return request.retries > 0 and not request.one_way and not _slow(request.message)


#: Where a command's SecurityCode sits in an unquoted packet: after the 8-byte header,
#: MsgType and TranNbr (every BMP5 and PakCtrl command that has one puts it first).
_CODE_AT = 10


def _hex(data: bytes, message: Message | None = None) -> str:
    """The bytes in hex, with a command's security code written as ``00 00`` (issue 13).

    The code still goes to the logger; only the dump hides it, and stays hex, so a
    frame can still be pasted into a decoder.  Should a message put its code anywhere
    else, everything after TranNbr is zeroed rather than risk it.  :func:`_describe`
    says so next to the dump.
    """
    code = getattr(message, "security_code", None)
    if isinstance(code, int):
        masked = bytearray(data)
        at = _CODE_AT
        end = at + 2 if data[at : at + 2] == code.to_bytes(2, "big") else len(data)
        masked[at:end] = bytes(len(masked[at:end]))
        data = bytes(masked)
    return data.hex(" ").upper()


def _describe(message: Message) -> str:
    what = f"{describe_type(message.HI_PROTO, message.MSG_TYPE, message.NAME)} tran {message.tran}"
    if isinstance(getattr(message, "security_code", None), int):
        what += " (security code hidden: shown as 00 00)"
    return what


__all__ = [
    "MAX_GRACES",
    "MAX_IN_FLIGHT",
    "MID_FRAME_GRACE",
    "MIN_RETRY_TIMEOUT",
    "PLEASE_WAIT_FILE_MARGIN",
    "PLEASE_WAIT_MARGIN",
    "RETRY_TIMEOUT_FACTOR",
    "WAKE_BURST",
    "ClientSession",
    "Drop",
    "Emit",
    "Exchange",
    "ExchangeStats",
    "Instant",
    "Now",
    "Operation",
    "Pause",
    "Received",
    "Request",
    "RoundTripEstimator",
    "Send",
    "Sent",
    "Step",
    "Stream",
    "Take",
    "adaptive",
    "call",
    "drop",
    "emit",
    "expect",
    "now",
    "pause",
    "send",
    "send_one_way",
    "take_expected",
]
