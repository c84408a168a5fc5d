"""Hostile and careless clients: the emulator logs and drops what it cannot use, answers
malformed messages with the documented delivery failure, and never lets one client
stall the others or make it hoard memory."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from fieldlink.kit.host import MAX_BACKLOG
from fieldlink.pakbus.emulator import LoggerEmulator
from fieldlink.pakbus.emulator.device import DevicePort
from fieldlink.pakbus.protocol import bmp5, pakctrl
from fieldlink.pakbus.protocol.codes import CollectMode, DeliveryFailureCode
from fieldlink.pakbus.protocol.framing import FrameDecoder, encode_frame
from fieldlink.pakbus.protocol.messages import Message, decode_message
from fieldlink.pakbus.protocol.packet import HiProto, Packet
from fieldlink.pakbus.protocol.wire import NSec

F = DeliveryFailureCode
HEADER_TO_NODE_1 = bytes.fromhex("A0 01 0F FE 10 01 0F FE")  # Ready, 4094 -> 1, BMP5


@pytest.fixture
def emulator() -> Iterator[LoggerEmulator]:
    emu = LoggerEmulator(listen="127.0.0.1:0", records=3000, seed=2, hello_on_connect=False)
    with emu.running():
        yield emu


def address(emu: LoggerEmulator) -> tuple[str, int]:
    _, host, port = (emu.url or "").split(":")
    return host, int(port)


def frame(message: Message, *, dst: int = 1, via: int | None = None) -> bytes:
    """Wire bytes of ``message`` for node ``dst``, sent to physical address ``via``."""
    packet = Packet.message(
        message.HI_PROTO, message.encode(), dst=dst, src=4094, dst_phy=dst if via is None else via
    )
    return packet.to_wire()


def answers(sock: socket.socket, wanted: int, timeout: float = 5.0) -> list[Packet]:
    """Read until ``wanted`` PakBus packets arrived (or the timeout)."""
    decoder = FrameDecoder()
    got: list[Packet] = []
    deadline = time.monotonic() + timeout
    while len(got) < wanted and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            break
        if not data:
            break
        got += [Packet.decode(raw) for raw in decoder.feed(data)]
    return got


#: How long a fresh client may wait for a clock answer while others misbehave.  A client
#: that is held up waits forever (or behind thousands of answers); an unhindered one a
#: few milliseconds, and a loaded machine stays well within this.
SERVED_PROMPTLY = 5.0


def clock_round_trip(emu: LoggerEmulator, tran: int = 1) -> float:
    """Seconds a fresh client waits for a clock answer."""
    with socket.create_connection(address(emu), timeout=10) as sock:
        start = time.monotonic()
        sock.sendall(frame(bmp5.ClockCommand(tran, 0)))
        (packet,) = answers(sock, 1, timeout=10)
        answer = decode_message(packet.hi_proto or 0, packet.body)
        assert isinstance(answer, bmp5.ClockResponse) and answer.tran == tran
        return time.monotonic() - start


def wait_until(condition: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Poll ``condition`` until it holds (True) or ``seconds`` pass (False)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def failure_for(emu: LoggerEmulator, wire: bytes) -> pakctrl.DeliveryFailureMessage:
    with socket.create_connection(address(emu), timeout=5) as sock:
        sock.sendall(wire)
        (packet,) = answers(sock, 1)
    failure = decode_message(packet.hi_proto or 0, packet.body)
    assert isinstance(failure, pakctrl.DeliveryFailureMessage)
    return failure


def test_a_client_that_never_reads_neither_stalls_others_nor_hoards_memory(
    emulator: LoggerEmulator,
) -> None:
    """Before: every request was answered at once, the answers queued without limit, and
    a second client waited behind tens of thousands of collect answers."""
    t1 = emulator.station.table_def("Table1")
    collect = bmp5.CollectDataCommand(
        1, 0, CollectMode.ALL, (bmp5.TableRequest(t1.number, t1.signature),)
    )
    burst = frame(collect) * 200  # each ~30-byte request asks for a ~1000-byte answer
    greedy = socket.create_connection(address(emulator))
    greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    greedy.settimeout(0.5)
    try:
        sent = 0
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            try:
                greedy.sendall(burst)
            except TimeoutError:
                break  # back-pressure: the emulator stopped reading us
            sent += 200
        (conn,) = emulator.connections
        assert conn.direct  # no queue: the link's own buffer is the backlog
        assert conn.backlog <= MAX_BACKLOG + 1_100  # one answer beyond the limit at most
        assert conn.port.link.decoder.stats.frames < sent  # it is not reading us any more
        assert clock_round_trip(emulator) < SERVED_PROMPTLY  # and everyone else is served
    finally:
        greedy.close()


def test_one_big_burst_of_requests_does_not_hold_up_another_client(
    emulator: LoggerEmulator,
) -> None:
    """Answers are worked out one frame at a time, with other connections in between.

    Checked by order, not by time: the other client's answer comes back while the
    burst is still being answered (it takes the emulator a good fraction of a second).
    """
    t1 = emulator.station.table_def("Table1")
    collect = bmp5.CollectDataCommand(
        1, 0, CollectMode.NEWEST, (bmp5.TableRequest(t1.number, t1.signature, 3000),)
    )
    burst = 400
    with socket.create_connection(address(emulator)) as busy:
        stop = threading.Event()

        def drain() -> None:
            busy.settimeout(0.2)
            while not stop.is_set():
                try:
                    if not busy.recv(65536):
                        return
                except TimeoutError:
                    continue

        reader = threading.Thread(target=drain)
        reader.start()
        try:
            busy.sendall(frame(collect) * burst)
            assert wait_until(lambda: len(emulator.connections) == 1)
            (conn,) = emulator.connections
            assert wait_until(lambda: conn.port.link.answered > 0), "the burst is being answered"
            clock_round_trip(emulator)
            assert conn.port.link.answered < burst, "the clock was answered before the burst ended"
        finally:
            stop.set()
            reader.join()


def test_oversized_frames_are_dropped_and_the_link_keeps_working(
    emulator: LoggerEmulator,
) -> None:
    body = bmp5.ClockCommand(1, 0).encode()
    with socket.create_connection(address(emulator), timeout=5) as sock:
        sock.sendall(encode_frame(HEADER_TO_NODE_1 + body + bytes(1990)))  # 2000-byte message
        sock.sendall(b"\xbd" * 100_000 + b"\xbc" * 5_000)
        sock.sendall(frame(bmp5.ClockCommand(9, 0)))
        (packet,) = answers(sock, 1)
    answer = decode_message(packet.hi_proto or 0, packet.body)
    assert isinstance(answer, bmp5.ClockResponse) and answer.tran == 9
    assert clock_round_trip(emulator) < SERVED_PROMPTLY


@pytest.mark.parametrize(
    ("hi_proto", "body", "code"),
    [
        (HiProto.BMP5, bytes.fromhex("17 01"), F.MALFORMED_MESSAGE),  # no security code
        (HiProto.BMP5, bytes.fromhex("09 01 00 00 05"), F.MALFORMED_MESSAGE),  # no table
        (HiProto.BMP5, bytes.fromhex("17 01 00 00") + bytes(1000), F.MALFORMED_MESSAGE),
        (HiProto.PAKCTRL, bytes.fromhex("05 01"), F.MALFORMED_MESSAGE),  # echo without time
        (HiProto.BMP5, bytes.fromhex("55 01"), F.UNSUPPORTED_MESSAGE_TYPE),
        (2, bytes.fromhex("01 02"), F.UNREACHABLE_PROTOCOL),
    ],
)
def test_valid_frames_with_malformed_messages_get_the_documented_failure(
    emulator: LoggerEmulator, hi_proto: int, body: bytes, code: int
) -> None:
    header = bytearray(HEADER_TO_NODE_1)
    header[4] = (hi_proto << 4) | (header[4] & 0x0F)
    failure = failure_for(emulator, encode_frame(bytes(header) + body))
    assert failure.err_code == code
    assert failure.original == body[:16]


def test_a_half_frame_then_silence_blocks_nobody(emulator: LoggerEmulator) -> None:
    with socket.create_connection(address(emulator)) as stuck:
        stuck.sendall(frame(bmp5.ClockCommand(1, 0))[:9])
        time.sleep(0.1)
        assert clock_round_trip(emulator) < SERVED_PROMPTLY
        stuck.sendall(b"\xbd")  # the rest never came: the next sync byte ends it
        stuck.sendall(frame(bmp5.ClockCommand(2, 0)))
        (packet,) = answers(stuck, 1)
        assert decode_message(packet.hi_proto or 0, packet.body).tran == 2


def test_many_connections_opened_and_dropped(emulator: LoggerEmulator) -> None:
    socks = [socket.create_connection(address(emulator)) for _ in range(150)]
    for i, s in enumerate(socks):
        if i % 3 == 0:
            s.sendall(frame(bmp5.ClockCommand(1, 0))[:7])
        elif i % 3 == 1:  # reset instead of a clean close
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    assert clock_round_trip(emulator) < SERVED_PROMPTLY
    wait_until(lambda: not emulator.connections)
    assert emulator.connections == []  # every handler ended


def test_frames_for_another_node_are_ignored_and_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Not answered (a real logger ignores them), but the emulator's log tells the user
    which --dest the client needs -- once, not per frame."""
    port = DevicePort(LoggerEmulator(node=7, records=1).device, client=3)
    with caplog.at_level(logging.INFO, logger="fieldlink.pakbus.emulator"):
        for tran in (1, 2, 3):
            assert port.receive(frame(bmp5.ClockCommand(tran, 0), dst=1)) == []
        assert port.receive(frame(bmp5.ClockCommand(4, 0), dst=7))
    notes = [r.getMessage() for r in caplog.records if "ignoring frames" in r.getMessage()]
    assert notes == [
        "connection 3: ignoring frames for node 1: this logger is node 7 "
        "(a client needs --dest 7, or --dest_addr 7 to route through it)"
    ]
    assert port.ignored == 3 and port.answered == 1


def test_the_first_delivery_failure_of_a_connection_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = DevicePort(LoggerEmulator(records=1).device, client=5)
    with caplog.at_level(logging.INFO, logger="fieldlink.pakbus.emulator"):
        for tran in (1, 2):
            echo = pakctrl.EchoCommand(tran, NSec(), b"")
            assert port.receive(frame(echo, dst=1)[:-5] + b"\xbd") == []  # damaged: dropped
            port.receive(frame(bmp5.ClockCommand(tran, 0), dst=9, via=1))
    failures = [r.getMessage() for r in caplog.records if "delivery failure" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].startswith(
        "connection 5: answered BMP5 0x17 message for node 9 with delivery failure 1 "
        "(unreachable destination)"
    )
    assert port.failures == 2
