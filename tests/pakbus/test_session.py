"""The client session and one exchange, with bytes alone (no link, no clock)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlink.errors import DeliveryFailure, LinkTimeout, ProtocolError
from fieldlink.pakbus.protocol import bmp5, pakctrl
from fieldlink.pakbus.protocol.framing import FrameDecoder, encode_frame, quote
from fieldlink.pakbus.protocol.messages import Message
from fieldlink.pakbus.protocol.packet import LinkState, Packet
from fieldlink.pakbus.protocol.wire import NSec
from fieldlink.pakbus.session import (
    MAX_GRACES,
    MID_FRAME_GRACE,
    WAKE_BURST,
    ClientSession,
    Exchange,
    Request,
    RoundTripEstimator,
)


def wire(hex_text: str) -> bytes:
    """A captured frame given as unquoted bytes (nullifier included) -> bytes on the wire."""
    return b"\xbd" + quote(bytes.fromhex(hex_text)) + b"\xbd"


def frames_sent(data: bytes) -> list[Packet]:
    return [Packet.decode(f) for f in FrameDecoder().feed(data)]


def reply_frame(
    message: Message, *, src: int = 1, dst: int = 4094, phy: int | None = None
) -> bytes:
    packet = Packet.message(message.HI_PROTO, message.encode(), dst=dst, src=src, src_phy=phy)
    return packet.to_wire()


def contacted(session: ClientSession) -> ClientSession:
    session.contacted = True
    session._woken = True
    return session


# --- encoding ---------------------------------------------------------------------------------


def test_first_frame_wakes_the_line_and_rings() -> None:
    session = ClientSession(node=1, src=4094)
    ex = session.exchange(Request(bmp5.ClockCommand(0)), now=0.0)
    data = ex.start(0.0)
    assert data.startswith(WAKE_BURST + b"\xbd")
    (packet,) = frames_sent(data)
    assert packet.link_state == LinkState.RING
    assert (packet.dst_phy, packet.dst_node, packet.src_node) == (1, 1, 4094)
    second = session.exchange(Request(bmp5.ClockCommand(0)), now=0.0).start(0.0)
    assert not second.startswith(WAKE_BURST)


def test_clock_command_matches_pycampbellcr1000_frame_v1_5() -> None:
    # V1.5: Clock read, TranNbr 4, from node 0x802 to node 1, Ready, ExpMore 2, Priority 1.
    session = contacted(ClientSession(node=1, src=0x802))
    session._tran = 3
    data = session.exchange(Request(bmp5.ClockCommand(0)), now=0.0).start(0.0)
    assert data == bytes.fromhex(
        "BD A0 01 98 02 10 01 08 02 17 04 00 00 00 00 00 00 00 00 00 00 58 27 BD"
    )


def test_set_values_frame_is_quoted_v21_1() -> None:
    session = contacted(ClientSession(node=1, src=4094))
    session._tran = 0x29
    command = bmp5.SetValuesCommand(0, 0, "Public", 9, "Setpt", 1, bytes.fromhex("BDCCCCCD"))
    data = session.exchange(Request(command), now=0.0).start(0.0)
    assert data == bytes.fromhex(
        "BD A0 01 9F FE 10 01 0F FE 1B 2A 00 00 50 75 62 6C 69 63 00 09 53 65 74 70 74 00 00 01"
        " BC DD CC CC CD EF 40 BD"
    )


def test_router_addressing_uses_physical_next_hop() -> None:
    session = contacted(ClientSession(node=7, src=4094, address=50, src_address=4000))
    (packet,) = frames_sent(session.exchange(Request(bmp5.ClockCommand(0)), 0.0).start(0.0))
    assert (packet.dst_phy, packet.dst_node) == (50, 7)
    assert (packet.src_phy, packet.src_node) == (4000, 4094)


def test_transaction_numbers_skip_zero_and_continuations_reuse() -> None:
    session = ClientSession()
    session._tran = 254
    assert [session.next_tran() for _ in range(3)] == [255, 1, 2]
    first = session.exchange(Request(bmp5.ClockCommand(0)), 0.0)
    again = session.exchange(
        Request(bmp5.ClockCommand(0), same_transaction=True), 0.0, previous_tran=first.tran
    )
    assert again.tran == first.tran
    fresh = session.exchange(Request(bmp5.ClockCommand(0)), 0.0, previous_tran=first.tran)
    assert fresh.tran != first.tran
    assert session.exchange(Request(pakctrl.Bye(), one_way=True), 0.0).tran == 0


@pytest.mark.parametrize("bad", [{"node": 0}, {"src": 4095}, {"address": 5000}])
def test_addresses_out_of_range_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ClientSession(**bad)


# --- matching ---------------------------------------------------------------------------------

#: V7: a captured CR1000 clock response, TranNbr 5, logger 1 -> client 0x802.
V7 = "A8 02 10 01 18 02 00 01 97 05 00 2A 72 73 0A 3B 02 33 80 8D 6D"
#: V4: the unsolicited broadcast Hello Request a CR1000 sends on TCP connect.
V4 = "EF FF 10 01 0F FF 00 01 0E 00 DD F0"


def clock_exchange(tran: int = 5, src: int = 0x802) -> tuple[ClientSession, Exchange]:
    session = contacted(ClientSession(node=1, src=src))
    session._tran = tran - 1
    ex = session.exchange(Request(bmp5.ClockCommand(0), timeout=5.0, retries=1), now=0.0)
    ex.start(0.0)
    return session, ex


def test_captured_clock_response_completes_the_exchange_v7() -> None:
    _, ex = clock_exchange()
    result = ex.receive(wire(V4) + wire(V7), now=1.0)
    assert isinstance(result, bmp5.ClockResponse)
    assert result.old_time == NSec(712143626, 990000000)
    assert ex.done


def test_response_split_over_many_reads() -> None:
    _, ex = clock_exchange()
    data = wire(V7)
    assert all(ex.receive(data[i : i + 1], now=1.0) is None for i in range(len(data) - 1))
    assert isinstance(ex.receive(data[-1:], now=1.0), bmp5.ClockResponse)


def test_other_transactions_nodes_and_types_are_ignored() -> None:
    _, ex = clock_exchange(tran=6)  # V7 carries TranNbr 5
    assert ex.receive(wire(V7), now=1.0) is None
    answer = bmp5.ClockResponse(6, 0, NSec(1, 0))
    assert ex.receive(reply_frame(answer, src=9, dst=0x802), now=1.0) is None
    wrong_type = bmp5.ProgStatsResponse(6, 1)
    assert ex.receive(reply_frame(wrong_type, dst=0x802), now=1.0) is None
    for_someone_else = bmp5.ClockResponse(6, 0, NSec(1, 0))
    assert ex.receive(reply_frame(for_someone_else, dst=0x803), now=1.0) is None
    assert ex.receive(reply_frame(answer, dst=0x802), now=1.0) == answer


def test_logger_hello_is_answered_with_its_transaction_number() -> None:
    session, ex = clock_exchange()
    hello = pakctrl.HelloCommand(0x42, 0, 1, 600)
    assert ex.receive(reply_frame(hello, dst=0x802), now=1.0) is None
    (packet,) = frames_sent(session.take_outbox())
    answer = pakctrl.HelloResponse.decode(packet.body)
    assert answer.tran == 0x42 and answer.hop_metric == 1 and answer.verify_interval == 600
    assert (packet.dst_node, packet.src_node) == (1, 0x802)
    assert session.take_outbox() == b""


def test_logger_ring_is_answered_ready() -> None:
    session = ClientSession(node=1, src=4094)
    ring = Packet.link_only(LinkState.RING, dst=4094, src=1).to_wire()
    session.receive(ring)
    (packet,) = frames_sent(session.take_outbox())
    assert packet.is_link_only and packet.link_state == LinkState.READY
    assert (packet.dst_phy, packet.src_phy) == (1, 4094)
    assert session.contacted


def test_please_wait_extends_the_deadline() -> None:
    _, ex = clock_exchange(tran=9)
    assert ex.deadline == 5.0
    wait = bmp5.PleaseWait(9, 0x17, 20)
    assert ex.receive(reply_frame(wait, dst=0x802), now=4.0) is None
    assert ex.deadline >= 24.0
    other = bmp5.PleaseWait(10, 0x17, 100)
    ex.receive(reply_frame(other, dst=0x802), now=4.0)
    assert ex.deadline < 100.0


def test_delivery_failure_for_this_exchange_raises() -> None:
    _, ex = clock_exchange(tran=9)
    unrelated = pakctrl.DeliveryFailureMessage(4, 1, 1, 0x802, 0, bytes([0x18, 9]))
    assert ex.receive(reply_frame(unrelated, dst=0x802), now=1.0) is None
    ours = pakctrl.DeliveryFailureMessage(1, 1, 1, 0x802, 0, bytes([0x17, 9, 0, 0]))
    with pytest.raises(DeliveryFailure) as info:
        # Reported by a router (node 50), not by the logger itself.
        ex.receive(reply_frame(ours, src=50, dst=0x802), now=1.0)
    assert info.value.code == 1
    assert "unreachable" in str(info.value)


def test_malformed_response_to_this_exchange_is_a_protocol_error() -> None:
    _, ex = clock_exchange(tran=9)
    body = bytes([0x97, 9, 0, 1, 2])  # RespCode 0 but a truncated time
    frame = Packet.message(1, body, dst=0x802, src=1).to_wire()
    with pytest.raises(ProtocolError):
        ex.receive(frame, now=1.0)


def test_accept_can_reject_a_stale_duplicate() -> None:
    session = contacted(ClientSession(node=1, src=4094))
    request = Request(
        bmp5.FileReceiveCommand(0, 0, ".TDF", False, 512, 512),
        accept=lambda m: isinstance(m, bmp5.FileReceiveResponse) and m.offset == 512,
    )
    ex = session.exchange(request, 0.0)
    ex.start(0.0)
    stale = bmp5.FileReceiveResponse(ex.tran, 0, 0, b"x" * 512)
    fresh = bmp5.FileReceiveResponse(ex.tran, 0, 512, b"y" * 10)
    assert ex.receive(reply_frame(stale), now=1.0) is None
    assert ex.receive(reply_frame(fresh), now=1.0) == fresh


# --- timeouts ---------------------------------------------------------------------------------


def test_timeouts_resend_then_name_the_node() -> None:
    session = contacted(ClientSession(node=3, src=4094))
    ex = session.exchange(Request(bmp5.ClockCommand(0), timeout=2.0, retries=2), 0.0)
    first = ex.start(0.0)
    assert ex.on_timeout(2.0) == first
    assert ex.on_timeout(4.0) == first
    assert ex.deadline == 6.0
    with pytest.raises(LinkTimeout, match="node 3 did not answer"):
        ex.on_timeout(6.0)


def test_a_frame_half_received_gets_a_grace_period() -> None:
    _, ex = clock_exchange()
    ex.receive(wire(V7)[:10], now=4.9)
    assert ex.on_timeout(5.0) == b""
    assert ex.deadline == 5.0 + MID_FRAME_GRACE
    assert isinstance(ex.receive(wire(V7)[10:], now=5.5), bmp5.ClockResponse)


def test_first_contact_timeout_applies_until_the_logger_is_heard() -> None:
    session = ClientSession(node=1, src=0x802, timeout=2.0, first_timeout=30.0)
    ex = session.exchange(Request(bmp5.ClockCommand(0)), 0.0)
    ex.start(0.0)
    assert ex.deadline == 30.0
    session.receive(wire(V4))
    assert session.contacted
    later = session.exchange(Request(bmp5.ClockCommand(0)), 100.0)
    later.start(100.0)
    assert later.deadline == 102.0


def test_route_time_is_added() -> None:
    session = contacted(ClientSession(timeout=1.0, route_time=6.25))
    ex = session.exchange(Request(bmp5.ClockCommand(0)), 0.0)
    ex.start(0.0)
    assert ex.deadline == 7.25


# --- adaptive resend deadlines (RFC 6298), on a fake clock ------------------------------------


def clock_reply(ex: Exchange) -> bytes:
    return reply_frame(bmp5.ClockResponse(ex.tran, 0, NSec(1, 0)), src=ex.session.node)


def answered(
    session: ClientSession, sent: float, rtt: float, request: Request | None = None
) -> Exchange:
    """One exchange sent at ``sent`` and answered ``rtt`` seconds later, at the first try."""
    ex = session.exchange(request or Request(bmp5.ClockCommand(0)), sent)
    ex.start(sent)
    assert ex.receive(clock_reply(ex), now=sent + rtt) is not None
    return ex


def next_deadline(session: ClientSession, now: float, request: Request | None = None) -> float:
    ex = session.exchange(request or Request(bmp5.ClockCommand(0)), now)
    ex.start(now)
    return ex.deadline - now


def test_round_trip_estimate_follows_rfc_6298_by_hand() -> None:
    rtt = RoundTripEstimator()
    assert rtt.timeout(10.0) == 10.0  # nothing known yet: the configured timeout
    rtt.sample(0.4)
    assert (rtt.srtt, rtt.rttvar) == pytest.approx((0.4, 0.2))
    rtt.sample(0.8)
    # RTTVAR = 3/4 * 0.2 + 1/4 * |0.4 - 0.8| = 0.25;  SRTT = 7/8 * 0.4 + 1/8 * 0.8 = 0.45
    assert (rtt.srtt, rtt.rttvar) == pytest.approx((0.45, 0.25))
    # 2 x (SRTT + 4 RTTVAR) = 2 x 1.45
    assert rtt.timeout(10.0) == pytest.approx(2.9)
    assert rtt.timeout(2.0) == 2.0  # never above the configured timeout


def test_the_first_exchange_waits_the_configured_timeout_then_the_link_is_learned() -> None:
    session = contacted(ClientSession(node=1, src=4094, timeout=10.0))
    assert next_deadline(session, 0.0) == 10.0
    answered(session, 20.0, 0.2)
    # SRTT 0.2, RTTVAR 0.1: 2 x (0.2 + 0.4) = 1.2 s instead of 10 s.
    assert next_deadline(session, 30.0) == pytest.approx(1.2)
    assert session.stats.rtt_samples == 1 and session.stats.answered == 1


def test_deadline_bounds_are_one_second_and_the_configured_timeout() -> None:
    fast = contacted(ClientSession(timeout=10.0))
    answered(fast, 0.0, 0.002)
    assert next_deadline(fast, 1.0) == pytest.approx(1.0)
    slow = contacted(ClientSession(timeout=10.0))
    answered(slow, 0.0, 8.0)
    assert next_deadline(slow, 10.0) == pytest.approx(10.0)
    # A configured timeout below the floor wins over it.
    impatient = contacted(ClientSession(timeout=0.5))
    answered(impatient, 0.0, 0.002)
    assert next_deadline(impatient, 1.0) == pytest.approx(0.5)


def test_karn_rule_an_answer_after_a_resend_is_not_a_sample() -> None:
    session = contacted(ClientSession(timeout=10.0))
    answered(session, 0.0, 0.1)
    before = (session.rtt.srtt, session.rtt.rttvar)
    ex = session.exchange(Request(bmp5.ClockCommand(0)), 10.0)
    ex.start(10.0)
    ex.on_timeout(ex.deadline)  # resent
    # The answer may be to either try: 5 s would be a wild sample if it were believed.
    assert ex.receive(clock_reply(ex), now=15.0) is not None
    assert (session.rtt.srtt, session.rtt.rttvar) == before
    assert session.stats.rtt_samples == 1
    # ... and the backed-off deadline stays until an unambiguous answer.
    assert next_deadline(session, 20.0) == pytest.approx(2 * 1.0)


def test_consecutive_timeouts_double_the_deadline_up_to_the_timeout() -> None:
    session = contacted(ClientSession(node=3, timeout=10.0))
    answered(session, 0.0, 0.01)  # a fast link: 1 s deadlines
    ex = session.exchange(Request(bmp5.ClockCommand(0), retries=2), 100.0)
    first = ex.start(100.0)
    deadlines = [ex.deadline]
    with pytest.raises(LinkTimeout, match="node 3 did not answer") as info:
        while True:
            assert ex.on_timeout(ex.deadline) == first  # the same frame, resent
            deadlines.append(ex.deadline)
    # 1, 2, 4, 8, then capped at 10, and no more than (retries + 1) x 10 s in all.
    assert deadlines == pytest.approx([101.0, 103.0, 107.0, 115.0, 125.0, 130.0])
    assert "6 tries in 30 s" in str(info.value)
    stats = session.stats
    assert (stats.timeouts, stats.resends) == (6, 5)
    assert stats.waited_out == pytest.approx(30.0)
    # The next exchange starts backed off, and one clean answer resets it.
    assert next_deadline(session, 200.0) == pytest.approx(10.0)
    answered(session, 300.0, 0.01)
    assert next_deadline(session, 400.0) == pytest.approx(1.0)


def test_please_wait_replaces_an_adaptive_deadline_and_is_not_a_sample() -> None:
    session = contacted(ClientSession(node=1, src=4094, timeout=10.0))
    answered(session, 0.0, 0.01)
    srtt = session.rtt.srtt
    ex = session.exchange(Request(bmp5.ProgStatsCommand(0)), 10.0)
    ex.start(10.0)
    assert ex.deadline == pytest.approx(11.0)
    wait = bmp5.PleaseWait(ex.tran, 0x18, 20)
    assert ex.receive(reply_frame(wait), now=10.5) is None
    assert ex.deadline >= 30.5  # WaitSec from the Please Wait, plus a margin
    assert ex.give_up_at >= ex.deadline + 2 * 10.0  # the resend patience starts after it
    done = bmp5.ProgStatsResponse(ex.tran, 1)
    assert ex.receive(reply_frame(done), now=29.0) == done
    assert session.rtt.srtt == srtt and session.stats.rtt_samples == 1


@pytest.mark.parametrize(
    "request_",
    [
        Request(bmp5.FileControlCommand(0, 0, "CPU:prog.CR1", 1, "")),
        Request(bmp5.TableControlCommand(0, 0, 1, "Table1")),
        Request(pakctrl.DevConfigControlCommand(0, 0, 1)),
        Request(bmp5.ClockCommand(0, 0, NSec(5, 0)), retries=0),
    ],
    ids=["file-control", "table-control", "devconfig-control", "no-retries"],
)
def test_slow_or_unrepeatable_commands_keep_the_configured_timeout(request_: Request) -> None:
    session = contacted(ClientSession(timeout=10.0))
    answered(session, 0.0, 0.01)
    assert next_deadline(session, 1.0) == pytest.approx(1.0)
    assert next_deadline(session, 5.0, request_) == pytest.approx(10.0)


def test_a_frame_still_arriving_keeps_earning_grace_but_silence_does_not() -> None:
    _, ex = clock_exchange()
    data = wire(V7)
    ex.receive(data[:3], now=4.9)
    assert ex.on_timeout(5.0) == b""
    ex.receive(data[3:6], now=6.0)  # progress: another grace period
    assert ex.on_timeout(7.0) == b""
    assert ex.deadline == 7.0 + MID_FRAME_GRACE
    assert ex.on_timeout(9.0) != b""  # no byte since: resent
    assert ex.session.stats.timeouts == 1


def test_grace_periods_are_bounded() -> None:
    _, ex = clock_exchange()
    ex.receive(b"\xbd\x01", now=0.0)
    graces = 0
    while ex.on_timeout(0.1 * graces) == b"":  # always before the exchange gives up
        graces += 1
        ex.receive(b"\x02", now=0.1 * graces)
    assert graces == MAX_GRACES


# --- a wrong node -----------------------------------------------------------------------------


def hello_request_from(node: int) -> bytes:
    return Packet.message(0, pakctrl.HelloRequest().encode(), dst=0xFFF, src=node).to_wire()


def test_a_silent_node_with_another_one_on_the_link_fails_at_once_naming_it() -> None:
    session = ClientSession(node=1, src=4094, timeout=10.0)
    ex = session.exchange(Request(bmp5.ClockCommand(0)), 0.0)
    ex.start(0.0)
    assert ex.receive(hello_request_from(7), now=0.1) is None  # the logger's hello on connect
    assert session.other_nodes == [7] and not session.contacted
    with pytest.raises(LinkTimeout) as info:
        ex.on_timeout(10.0)
    message = str(info.value)
    assert "node 1 did not answer" in message and "1 try" in message
    assert "a logger at PakBus node 7 is on this link; use --dest 7" in message


def test_a_node_once_heard_is_retried_even_with_others_on_the_link() -> None:
    session = ClientSession(node=1, src=4094, timeout=10.0)
    session.receive(hello_request_from(1) + hello_request_from(9))
    ex = session.exchange(Request(bmp5.ClockCommand(0)), 0.0)
    first = ex.start(0.0)
    assert frames_sent(ex.on_timeout(ex.deadline)) == frames_sent(first)  # lost, not misaddressed


def test_a_router_in_front_is_not_another_node() -> None:
    session = ClientSession(node=7, address=50, src=4094, timeout=10.0)
    session.receive(hello_request_from(50))
    assert session.other_nodes == [] and session.contacted
    ex = session.exchange(Request(bmp5.ClockCommand(0)), 0.0)
    first = ex.start(0.0)
    assert frames_sent(ex.on_timeout(ex.deadline)) == frames_sent(first)


def test_without_another_node_heard_the_usual_retries_apply() -> None:
    session = ClientSession(node=1, src=4094, timeout=2.0)
    ex = session.exchange(Request(bmp5.ClockCommand(0), retries=2), 0.0)
    ex.start(0.0)
    ex.on_timeout(2.0)
    ex.on_timeout(4.0)
    with pytest.raises(LinkTimeout) as info:
        ex.on_timeout(6.0)
    assert "3 tries" in str(info.value) and "--dest" not in str(info.value)


# --- robustness -------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_receiving_garbage_never_raises(data: bytes) -> None:
    session = ClientSession()
    session.receive(data)
    session.receive(b"\xbd" + data + b"\xbd")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60))
def test_random_message_bodies_for_us_never_crash_an_exchange(body: bytes) -> None:
    _, ex = clock_exchange(tran=9)
    frame = encode_frame(Packet.message(1, body, dst=0x802, src=1).encode()) if body else b""
    with contextlib.suppress(ProtocolError, DeliveryFailure):
        ex.receive(frame, now=1.0)
