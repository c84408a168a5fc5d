"""The link-state machine: automatic answers (device side), the nibble for outgoing
frames (client side), ringing retries and watchdogs expressed as data.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.pakbus.protocol.framing import FrameDecoder
from fieldlink.pakbus.protocol.linkstate import (
    FINISHED_WATCHDOG_SECONDS,
    RING_RETRIES,
    RING_RETRY_INTERVAL,
    WATCHDOG_SECONDS,
    LinkPhase,
    LinkStateMachine,
    TimeoutAction,
)
from fieldlink.pakbus.protocol.packet import (
    BROADCAST,
    ExpMore,
    HiProto,
    LinkState,
    Packet,
    Priority,
)


def _hex(text: str) -> bytes:
    return bytes.fromhex(text)


def _from_peer(
    state: int, *, body: bytes = b"", exp_more: int = ExpMore.NEUTRAL, full: bool = False
) -> Packet:
    """A packet from client 4094 to logger 1."""
    if body or full:
        return Packet.message(
            HiProto.BMP5, body, dst=1, src=4094, link_state=state, exp_more=exp_more
        )
    return Packet.link_only(state, dst=1, src=4094, exp_more=exp_more)


def _phase(machine: LinkStateMachine) -> LinkPhase:
    """The machine's state, read through a call so that mypy does not narrow it."""
    return machine.state


def _device() -> LinkStateMachine:
    return LinkStateMachine(address=1)


def _client() -> LinkStateMachine:
    return LinkStateMachine(address=4094, neighbour=1)


def test_constants_match_the_document() -> None:
    assert RING_RETRY_INTERVAL == 0.6
    assert RING_RETRIES == 4
    assert WATCHDOG_SECONDS == 40.0
    assert FINISHED_WATCHDOG_SECONDS == 5.0


# --- device side: automatic answers ---------------------------------------------------------------


def test_ring_is_answered_with_the_manuals_ready_frame() -> None:
    # V15: the manual's Ring 4094 -> 1 gets Ready 1 -> 4094, byte for byte.
    device = _device()
    ring = Packet.decode(FrameDecoder().feed(_hex("BD 90 01 0F FE 71 D2 BD"))[0])
    answer = device.on_receive(ring)
    assert answer is not None
    assert answer.to_wire() == _hex("BD AF FE 00 01 5A 89 BD")
    assert _phase(device) is LinkPhase.READY
    assert device.neighbour == 4094


def test_eight_byte_ring_gets_an_eight_byte_ready() -> None:
    answer = _device().on_receive(_from_peer(LinkState.RING, full=True))
    assert answer is not None
    assert answer.link_state == LinkState.READY and not answer.is_link_only
    assert answer.body == b""
    assert (answer.dst_node, answer.src_node) == (4094, 1)


def test_ring_carrying_a_message_needs_no_separate_answer() -> None:
    # V1.1/V2: PyCampbellCR1000's Hello sent with link state Ring.
    device = _device()
    hello = Packet.decode(_hex("90 01 58 02 00 01 08 02 09 01 00 02 07 08"))
    assert device.on_receive(hello) is None
    assert _phase(device) is LinkPhase.READY
    assert device.neighbour == 0x802


def test_bare_finished_is_answered_off_line() -> None:
    device = _device()
    device.on_receive(_from_peer(LinkState.READY, body=b"\x17\x01"))
    answer = device.on_receive(_from_peer(LinkState.FINISHED))
    assert answer is not None
    assert answer.is_link_only
    assert (answer.link_state, answer.dst_phy, answer.src_phy) == (LinkState.OFF_LINE, 4094, 1)
    assert _phase(device) is LinkPhase.OFFLINE


def test_eight_byte_bare_finished_is_answered_in_kind() -> None:
    answer = _device().on_receive(_from_peer(LinkState.FINISHED, full=True))
    assert answer is not None
    assert answer.link_state == LinkState.OFF_LINE and not answer.is_link_only


def test_finished_with_a_message_is_answered_by_the_message() -> None:
    # V1.8: PyCampbellCR1000's Bye goes with Finished.
    device = _device()
    bye = Packet.decode(_hex("B0 01 18 02 00 01 08 02 0D 00"))
    assert device.on_receive(bye) is None
    assert _phase(device) is LinkPhase.READY


def test_pause_is_answered_finished() -> None:
    device = _device()
    device.on_receive(_from_peer(LinkState.READY, body=b"\x17\x01"))
    answer = device.on_receive(_from_peer(LinkState.PAUSE, exp_more=ExpMore.LAST))
    assert answer is not None
    assert (answer.link_state, answer.dst_phy, answer.src_phy) == (LinkState.FINISHED, 4094, 1)
    assert _phase(device) is LinkPhase.FINISHED


@pytest.mark.parametrize("state", [LinkState.READY, LinkState.CAPABILITIES])
def test_ready_and_capabilities_mark_the_link_ready(state: LinkState) -> None:
    device = _device()
    assert device.on_receive(_from_peer(state)) is None
    assert _phase(device) is LinkPhase.READY


def test_off_line_takes_the_link_down() -> None:
    device = _device()
    device.on_receive(_from_peer(LinkState.READY))
    assert device.on_receive(_from_peer(LinkState.OFF_LINE)) is None
    assert _phase(device) is LinkPhase.OFFLINE


def test_broadcasts_leave_the_link_alone() -> None:
    # V4: the CR1000's broadcast Hello Request, and an Off-line broadcast beacon.
    client = _client()
    client.outgoing_link_state(more=True)
    assert client.on_receive(Packet.decode(_hex("EF FF 10 01 0F FF 00 01 0E 00"))) is None
    beacon = Packet.message(
        HiProto.PAKCTRL, b"\x0e\x00", dst=BROADCAST, src=1, link_state=LinkState.OFF_LINE
    )
    assert client.on_receive(beacon) is None
    assert _phase(client) is LinkPhase.RINGING


@pytest.mark.parametrize("nibble", [0x0, 0x7, 0xD, 0xF])
def test_invalid_and_reserved_nibbles_are_ignored(nibble: int) -> None:
    device = _device()
    packet = Packet(nibble, 1, 4094)
    assert device.on_receive(packet) is None
    assert _phase(device) is LinkPhase.OFFLINE
    assert device.neighbour is None


def test_automatic_answers_keep_the_senders_priority() -> None:
    ring = Packet.link_only(LinkState.RING, dst=1, src=4094, priority=Priority.EXTRA_HIGH)
    answer = _device().on_receive(ring)
    assert answer is not None and answer.priority == Priority.EXTRA_HIGH


# --- client side: outgoing link state ---------------------------------------------------------


def test_first_frame_rings_then_ready_then_finished() -> None:
    client = _client()
    assert _phase(client) is LinkPhase.OFFLINE
    assert client.timeout is None
    assert client.outgoing_link_state(more=True) is LinkState.RING
    assert _phase(client) is LinkPhase.RINGING
    # Still no answer: the next frame rings too.
    assert client.outgoing_link_state(more=True) is LinkState.RING
    # V3.2: the logger's Ready response (ExpMore LAST).
    client.on_receive(Packet.decode(_hex("A8 02 10 01 08 02 00 01 89 01 00 02 07 08")))
    assert _phase(client) is LinkPhase.READY
    assert client.outgoing_link_state(more=True) is LinkState.READY
    assert client.outgoing_link_state(more=False) is LinkState.FINISHED
    assert _phase(client) is LinkPhase.FINISHED
    assert client.timeout == FINISHED_WATCHDOG_SECONDS
    # The logger's Off-line closes it.
    client.on_receive(Packet.link_only(LinkState.OFF_LINE, dst=4094, src=1))
    assert _phase(client) is LinkPhase.OFFLINE


def test_more_traffic_after_finished_reopens_with_ready() -> None:
    client = _client()
    client.on_receive(Packet.link_only(LinkState.READY, dst=4094, src=1))
    assert client.outgoing_link_state(more=False) is LinkState.FINISHED
    assert client.outgoing_link_state(more=True) is LinkState.READY
    assert _phase(client) is LinkPhase.READY


@pytest.mark.parametrize("exp_more", [ExpMore.MORE, ExpMore.REVERSE])
def test_open_expect_more_session_keeps_the_link_ready(exp_more: ExpMore) -> None:
    client = _client()
    client.on_receive(Packet.link_only(LinkState.READY, dst=4094, src=1, exp_more=exp_more))
    assert client.session_open
    assert client.outgoing_link_state(more=False) is LinkState.READY
    # Neutral changes nothing, LAST ends the session.
    client.on_receive(Packet.link_only(LinkState.READY, dst=4094, src=1, exp_more=ExpMore.NEUTRAL))
    assert client.outgoing_link_state(more=False) is LinkState.READY
    client.on_receive(Packet.link_only(LinkState.READY, dst=4094, src=1, exp_more=ExpMore.LAST))
    assert not client.session_open
    assert client.outgoing_link_state(more=False) is LinkState.FINISHED


def test_capabilities_frames_do_not_touch_the_session() -> None:
    client = _client()
    client.on_receive(Packet.link_only(LinkState.READY, dst=4094, src=1, exp_more=ExpMore.MORE))
    client.on_receive(Packet.link_only(LinkState.CAPABILITIES, dst=4094, src=1))  # ExpMore 0 bits
    assert client.session_open


def test_ring_packet_is_the_manuals_ring() -> None:
    client = _client()
    assert client.ring().to_wire() == _hex("BD 90 01 0F FE 71 D2 BD")  # V15.1
    assert _phase(client) is LinkPhase.RINGING
    assert client.timeout == RING_RETRY_INTERVAL


def test_finish_packet_and_state() -> None:
    client = _client()
    client.on_receive(Packet.link_only(LinkState.READY, dst=4094, src=1, exp_more=ExpMore.MORE))
    finished = client.finish()
    assert finished.is_link_only
    assert (finished.link_state, finished.dst_phy, finished.src_phy) == (
        LinkState.FINISHED,
        1,
        4094,
    )
    assert _phase(client) is LinkPhase.FINISHED and not client.session_open


def test_ring_and_finish_need_a_known_neighbour() -> None:
    device = _device()
    with pytest.raises(ValueError):
        device.ring()
    with pytest.raises(ValueError):
        device.finish()


# --- time as data ---------------------------------------------------------------------------------


def test_ringing_retries_four_times_then_gives_up() -> None:
    client = _client()
    client.ring()
    for _ in range(RING_RETRIES):
        assert client.on_timeout() is TimeoutAction.RING_AGAIN
        client.ring()
    assert client.on_timeout() is TimeoutAction.GIVE_UP
    assert _phase(client) is LinkPhase.OFFLINE
    assert client.timeout is None
    assert client.on_timeout() is None


def test_an_answer_stops_ringing_and_resets_the_retry_count() -> None:
    client = _client()
    client.ring()
    client.on_timeout()
    client.ring()
    client.on_receive(Packet.link_only(LinkState.READY, dst=4094, src=1))
    assert _phase(client) is LinkPhase.READY
    assert client.timeout == WATCHDOG_SECONDS
    # A later outage gets the full number of retries again.
    assert client.on_timeout() is TimeoutAction.LINK_DOWN
    client.ring()
    for _ in range(RING_RETRIES):
        assert client.on_timeout() is TimeoutAction.RING_AGAIN
        client.ring()
    assert client.on_timeout() is TimeoutAction.GIVE_UP


def test_watchdog_takes_the_link_down_and_the_next_frame_rings() -> None:
    device = _device()
    device.on_receive(_from_peer(LinkState.READY, exp_more=ExpMore.MORE))
    assert device.on_timeout() is TimeoutAction.LINK_DOWN
    assert _phase(device) is LinkPhase.OFFLINE and not device.session_open
    assert device.outgoing_link_state(more=True) is LinkState.RING


def test_finished_watchdog_is_short() -> None:
    client = _client()
    client.on_receive(Packet.link_only(LinkState.READY, dst=4094, src=1))
    client.finish()
    assert client.timeout == FINISHED_WATCHDOG_SECONDS
    assert client.on_timeout() is TimeoutAction.LINK_DOWN
    assert _phase(client) is LinkPhase.OFFLINE


def test_configurable_intervals() -> None:
    machine = LinkStateMachine(4094, 1, ring_retry_interval=2.5, ring_retries=1, watchdog_seconds=9)
    machine.ring()
    assert machine.timeout == 2.5
    assert machine.on_timeout() is TimeoutAction.RING_AGAIN
    machine.ring()
    assert machine.on_timeout() is TimeoutAction.GIVE_UP
    machine.on_receive(Packet.link_only(LinkState.READY, dst=4094, src=1))
    assert machine.timeout == 9


# --- both sides over the wire ---------------------------------------------------------------------


def test_client_and_device_wake_and_release_a_link_over_bytes() -> None:
    client, device = _client(), _device()
    to_device, to_client = FrameDecoder(), FrameDecoder()

    # Client wakes the link with a bare Ring; the device answers Ready.
    wire = client.ring().to_wire()
    (frame,) = to_device.feed(wire)
    answer = device.on_receive(Packet.decode(frame))
    assert answer is not None
    (frame,) = to_client.feed(answer.to_wire())
    assert client.on_receive(Packet.decode(frame)) is None
    assert _phase(client) is _phase(device) is LinkPhase.READY

    # Client sends its last request with Finished; device answers with Ready + data.
    state = client.outgoing_link_state(more=False)
    assert state is LinkState.FINISHED
    request = Packet.message(HiProto.BMP5, b"\x17\x07", dst=1, src=4094, link_state=state)
    (frame,) = to_device.feed(request.to_wire())
    received = Packet.decode(frame)
    assert device.on_receive(received) is None
    response = received.reply(b"\x97\x07", link_state=device.outgoing_link_state(more=True))
    (frame,) = to_client.feed(response.to_wire())
    client.on_receive(Packet.decode(frame))

    # Client releases the link; the device answers Off-line and both are offline.
    (frame,) = to_device.feed(client.finish().to_wire())
    answer = device.on_receive(Packet.decode(frame))
    assert answer is not None
    (frame,) = to_client.feed(answer.to_wire())
    client.on_receive(Packet.decode(frame))
    assert _phase(client) is _phase(device) is LinkPhase.OFFLINE


# --- robustness ----------------------------------------------------------------------------------

_incoming = st.builds(
    Packet,
    link_state=st.integers(0, 15),
    dst_phy=st.sampled_from([1, BROADCAST]),
    src_phy=st.just(4094),
    exp_more=st.integers(0, 3),
    priority=st.integers(0, 3),
    hi_proto=st.one_of(st.none(), st.just(HiProto.BMP5)),
    dst_node=st.just(0),
    src_node=st.just(0),
    body=st.just(b""),
)


@given(st.lists(st.one_of(_incoming, st.sampled_from(["send", "done", "timeout"])), max_size=40))
def test_any_sequence_of_events_gives_sane_answers(events: list[Packet | str]) -> None:
    device = _device()
    for event in events:
        if event == "send":
            device.outgoing_link_state(more=True)
        elif event == "done":
            device.outgoing_link_state(more=False)
        elif event == "timeout":
            device.on_timeout()
        else:
            assert isinstance(event, Packet)
            answer = device.on_receive(event)
            if answer is not None:
                assert answer.body == b""
                assert answer.dst_phy == 4094 and answer.src_phy == 1
                assert answer.link_state in (
                    LinkState.READY,
                    LinkState.OFF_LINE,
                    LinkState.FINISHED,
                )
                answer.encode()  # always a valid packet
        assert isinstance(device.state, LinkPhase)
        timeout = device.timeout
        assert timeout is None or timeout > 0
