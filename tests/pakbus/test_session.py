"""The client session and one exchange, with bytes alone (no link, no clock)."""

from __future__ import annotations

import contextlib

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
    MID_FRAME_GRACE,
    WAKE_BURST,
    ClientSession,
    Request,
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
def test_addresses_out_of_range_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        ClientSession(**bad)


# --- matching ---------------------------------------------------------------------------------

#: V7: a captured CR1000 clock response, TranNbr 5, logger 1 -> client 0x802.
V7 = "A8 02 10 01 18 02 00 01 97 05 00 2A 72 73 0A 3B 02 33 80 8D 6D"
#: V4: the unsolicited broadcast Hello Request a CR1000 sends on TCP connect.
V4 = "EF FF 10 01 0F FF 00 01 0E 00 DD F0"


def clock_exchange(tran: int = 5, src: int = 0x802):
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
