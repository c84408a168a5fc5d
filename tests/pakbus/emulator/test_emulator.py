"""The logger emulator as a server: TCP with many clients, a pseudo-terminal, faults,
pacing, the Python API and the ``fieldlink emulate logger`` command."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fieldlink.errors import LinkClosed, LinkError, LinkTimeout, UsageError
from fieldlink.kit.faults import Faults
from fieldlink.link import Link, open_async_link, open_link
from fieldlink.pakbus.emulator import (
    LoggerEmulator,
    parse_listen,
    spawn_logger_emulator,
)
from fieldlink.pakbus.emulator.station import ManualClock
from fieldlink.pakbus.protocol import bmp5, pakctrl
from fieldlink.pakbus.protocol.codes import Bmp5ResponseCode, CollectMode
from fieldlink.pakbus.protocol.framing import FrameDecoder
from fieldlink.pakbus.protocol.messages import Message, decode_message
from fieldlink.pakbus.protocol.packet import Packet
from fieldlink.pakbus.protocol.records import parse_collect_payload
from fieldlink.pakbus.protocol.wire import NSec

R = Bmp5ResponseCode
HELLO_REQUEST_V4 = bytes.fromhex("BD EF FF 10 01 0F FF 00 01 0E 00 DD F0 BD")


class Client:
    """A bare PakBus client over a fieldlink link: frames out, matching answers in."""

    def __init__(self, link: Link, src: int = 4094) -> None:
        self.link = link
        self.src = src
        self.decoder = FrameDecoder()
        self.tran = 0
        self.unsolicited: list[Packet] = []

    def packets(self, timeout: float) -> list[Packet]:
        data = self.link.read(4096, timeout=timeout)
        return [Packet.decode(raw) for raw in self.decoder.feed(data)]

    def request(self, message: Message, *, dst: int = 1, timeout: float = 5.0) -> Message:
        self.tran = self.tran % 255 + 1
        message = dataclasses.replace(message, tran=self.tran)  # type: ignore[type-var]
        packet = Packet.message(message.HI_PROTO, message.encode(), dst=dst, src=self.src)
        self.link.write(packet.to_wire())
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LinkTimeout("no answer")
            for p in self.packets(remaining):
                if p.is_link_only or not p.body:
                    continue
                answer = decode_message(p.hi_proto or 0, p.body)
                if answer.msg_type == message.msg_type | 0x80 and answer.tran == self.tran:
                    return answer
                self.unsolicited.append(p)


@contextlib.contextmanager
def connected(**kwargs: object) -> Iterator[tuple[LoggerEmulator, Link]]:
    """A quiet emulator (no Hello Request unless asked) and one link to it."""
    kwargs.setdefault("hello_on_connect", False)
    emu = LoggerEmulator(listen="127.0.0.1:0", records=1, **kwargs)  # type: ignore[arg-type]
    with emu.running(), open_link(emu.url or "", timeout=5) as link:
        yield emu, link


@pytest.fixture
def emulator() -> Iterator[LoggerEmulator]:
    # A clock that stands still: a minute boundary passing mid-test would add a record.
    emu = LoggerEmulator(listen="127.0.0.1:0", records=200, seed=3, clock=ManualClock())
    with emu.running():
        yield emu


def clock_of(client: Client) -> NSec:
    response = client.request(bmp5.ClockCommand(0, 0))
    assert isinstance(response, bmp5.ClockResponse) and response.old_time is not None
    return response.old_time


# --- TCP ------------------------------------------------------------------------------------


def test_hello_request_arrives_right_after_connect(emulator: LoggerEmulator) -> None:
    assert emulator.url is not None and emulator.url.startswith("tcp:127.0.0.1:")
    start = time.monotonic()
    with open_link(emulator.url, timeout=5) as link:
        data = b""
        while len(data) < len(HELLO_REQUEST_V4):
            data += link.read(64, timeout=10)
        assert data == HELLO_REQUEST_V4  # V4, exactly
        # Sent after HELLO_REQUEST_DELAY (0.1 s), unprompted: a client that never speaks
        # gets it too.  The upper bound only says "without waiting for the client" and is
        # far from a loaded machine.
        assert 0.05 <= time.monotonic() - start < 8


def test_collection_over_tcp_matches_the_ground_truth(emulator: LoggerEmulator) -> None:
    station = emulator.station
    t1 = station.table_def("Table1")
    defs = {d.number: d for d in station.table_defs()}
    got = []
    with open_link(emulator.url or "", timeout=5) as link:
        client = Client(link)
        mode, p1 = CollectMode.ALL, None
        while True:
            response = client.request(
                bmp5.CollectDataCommand(
                    0, 0, mode, (bmp5.TableRequest(t1.number, t1.signature, p1),)
                )
            )
            assert isinstance(response, bmp5.CollectDataResponse)
            payload = parse_collect_payload(response.data, defs)
            got += payload.records
            if not payload.more:
                break
            mode, p1 = CollectMode.FROM_RECORD, got[-1].number + 1
    truth = station.records("Table1", 0, 200)
    assert [r.number for r in got[:200]] == list(range(200))
    assert [r.timestamp for r in got[:200]] == [r.timestamp for r in truth]
    assert [r.values["Counter"] for r in got[:200]] == [r.values["Counter"] for r in truth]


def test_many_clients_at_once_do_not_wait_for_each_other(emulator: LoggerEmulator) -> None:
    url = emulator.url or ""
    idle = open_link(url, timeout=5)  # connected, never reads or writes
    try:

        def work(n: int) -> int:
            with open_link(url, timeout=5) as link:
                client = Client(link, src=4000 + n)
                times = [clock_of(client) for _ in range(5)]
                stats = client.request(bmp5.ProgStatsCommand(0, 0))
                assert isinstance(stats, bmp5.ProgStatsResponse)
                assert times == sorted(times)
                return len(times)

        # A client held up behind the idle one would time out (LinkTimeout) in work().
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(work, range(8))) == [5] * 8
    finally:
        idle.close()


def test_garbage_from_one_client_harms_nobody(emulator: LoggerEmulator) -> None:
    url = emulator.url or ""
    with open_link(url, timeout=5) as bad, open_link(url, timeout=5) as good:
        noisy = Client(bad)
        bad.write(os.urandom(3000))  # no sync byte at all: a runaway frame
        bad.write(b"\xbd" + os.urandom(500) + b"\xbd\xbd\xbc\x00\xbd")
        bad.write(b"\xbd\xa0\x01\x0f\xfe\x10\x01\x0f\xfe\x17\x01\x00\xbd")  # bad signature
        assert isinstance(clock_of(Client(good)), NSec)
        assert isinstance(clock_of(noisy), NSec)  # and the noisy link still works


def test_a_dropped_connection_leaves_no_unfinished_upload_behind(
    emulator: LoggerEmulator,
) -> None:
    url = emulator.url or ""
    station = emulator.station
    with open_link(url, timeout=5) as link:
        fragment = bmp5.FileSendCommand(0, 0, "CPU:half.txt", 0, False, 0, b"x" * 500)
        answer = Client(link).request(fragment)
        assert isinstance(answer, bmp5.FileSendResponse) and answer.resp_code == R.OK
        assert station.upload_bytes == 500
    deadline = time.monotonic() + 30
    while station.upload_bytes and time.monotonic() < deadline:
        time.sleep(0.01)
    assert station.upload_bytes == 0  # the connection closed mid-upload
    assert station.file_bytes("CPU:half.txt") is None


def test_async_api() -> None:
    async def main() -> tuple[str, bytes]:
        async with LoggerEmulator(listen="127.0.0.1:0", records=10) as emu:
            assert emu.url is not None
            async with await open_async_link(emu.url, timeout=5) as link:
                data = b""
                while len(data) < len(HELLO_REQUEST_V4):
                    data += await link.read(64, timeout=2)
                return emu.url, data

    url, data = asyncio.run(main())
    assert url.startswith("tcp:") and data == HELLO_REQUEST_V4


def test_a_busy_port_is_a_clear_error(emulator: LoggerEmulator) -> None:
    host, port = parse_listen((emulator.url or "").removeprefix("tcp:"))
    with (
        pytest.raises(LinkError, match=r"cannot listen on 127\.0\.0\.1"),
        LoggerEmulator(listen=f"{host}:{port}", records=1).running(),
    ):
        pass


def test_listen_parsing() -> None:
    assert parse_listen("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_listen(":7000") == ("127.0.0.1", 7000)
    assert parse_listen("[::1]:6785") == ("::1", 6785)
    with pytest.raises(UsageError):
        parse_listen("localhost:http")
    with pytest.raises(UsageError):
        parse_listen("1.2.3.4:70000")


# --- faults and pacing ----------------------------------------------------------------------


def faulty_run(seed: int, faults: str, tries: int = 12) -> tuple[list[str], int, int]:
    """Send ``tries`` echo requests through faults; return the emulator's record of what
    it did to each answer, and the good and damaged answers the client saw."""
    with connected(seed=seed, faults=faults) as (emu, link):
        client = Client(link)
        for tran in range(1, tries + 1):
            echo = pakctrl.EchoCommand(tran, NSec(), b"abc")
            link.write(Packet.message(0, echo.encode(), dst=1, src=4094).to_wire())
            time.sleep(0.01)
        good = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            history = emu.fault_history[1]
            seen = good + client.decoder.stats.dropped
            if len(history) == tries and seen == history.count("sent") + history.count("corrupted"):
                break
            try:
                good += len(client.packets(0.2))
            except LinkTimeout:
                continue
        return list(emu.fault_history[1]), good, client.decoder.stats.dropped


def test_faults_are_reproducible_with_the_seed() -> None:
    history, good, damaged = faulty_run(7, "drop=0.3,corrupt=0.3")
    assert {"sent", "dropped", "corrupted"} <= set(history)
    assert good == history.count("sent") and damaged == history.count("corrupted")
    assert faulty_run(7, "drop=0.3,corrupt=0.3")[0] == history
    assert faulty_run(8, "drop=0.3,corrupt=0.3")[0] != history


def test_disconnect_after_cuts_the_line_mid_frame() -> None:
    with connected(faults="disconnect-after=100", hello_on_connect=True) as (_, link):
        received = 0
        with pytest.raises(LinkClosed):
            for _ in range(20):
                clock = bmp5.ClockCommand(1, 0).encode()
                link.write(Packet.message(1, clock, dst=1, src=4094).to_wire())
                received += len(link.read(4096, timeout=10))
        assert received == 100


def test_delay_adds_latency() -> None:
    with connected(faults=Faults(delay=0.3)) as (_, link):
        start = time.monotonic()
        clock_of(Client(link))
        assert time.monotonic() - start >= 0.3


def test_baud_rate_paces_the_stream() -> None:
    with connected(baud=38_400) as (_, link):
        start = time.monotonic()
        swath = Client(link).request(bmp5.FileReceiveCommand(0, 0, ".TDF", False, 0, 993))
        elapsed = time.monotonic() - start
    assert isinstance(swath, bmp5.FileReceiveResponse) and len(swath.data) == 993
    assert elapsed >= 1_000 / 3_840 * 0.9  # ~1010 bytes at 3840 bytes/s


def test_fault_specs() -> None:
    assert Faults.parse("drop=0.05,corrupt=0.01,delay=0.2,disconnect-after=50000") == Faults(
        0.05, 0.01, 0.2, 50_000
    )
    assert Faults.parse("") == Faults() and not Faults().active
    for bad in ("drop=2", "explode=1", "delay=x", "disconnect-after=0", "drop"):
        with pytest.raises(UsageError):
            Faults.parse(bad)


# --- pseudo-terminal ------------------------------------------------------------------------


def test_serves_on_a_pseudo_terminal() -> None:
    with LoggerEmulator(pty=True, records=5).running() as emu:
        url = emu.url or ""
        assert url.startswith("serial:/dev/") and url.endswith(":115200")
        with open_link(url, timeout=5) as link:
            client = Client(link)
            assert isinstance(clock_of(client), NSec)
            hello = client.request(pakctrl.HelloCommand(0, 0, 2, 1800))
            assert isinstance(hello, pakctrl.HelloResponse)
        with open_link(url, timeout=5) as link:  # a second client after the first left
            assert isinstance(clock_of(Client(link)), NSec)


# --- the command ------------------------------------------------------------------------------


def test_command_prints_the_url_first_and_stops_cleanly_on_sigterm() -> None:
    with spawn_logger_emulator(
        "--records", "20", "--seed", "4", "--model", "CR6", stderr=subprocess.DEVNULL
    ) as proc:
        assert proc.url.startswith("tcp:127.0.0.1:")
        with open_link(proc.url, timeout=5) as link:
            stats = Client(link).request(bmp5.ProgStatsCommand(0, 0))
            assert isinstance(stats, bmp5.ProgStatsResponse)
            assert stats.model == "CR6" and stats.program_name == "CPU:Default.CR6"
        assert proc.stop() == 0


def test_command_stops_on_sigint_too() -> None:
    proc = spawn_logger_emulator("--records", "1", "--node", "5", stderr=subprocess.DEVNULL)
    with open_link(proc.url, timeout=5) as link:
        assert isinstance(clock_of_node(Client(link), 5), NSec)
    proc.process.send_signal(signal.SIGINT)
    assert proc.process.wait(60) == 0
    proc.stop()


def clock_of_node(client: Client, node: int) -> NSec:
    response = client.request(bmp5.ClockCommand(0, 0), dst=node)
    assert isinstance(response, bmp5.ClockResponse) and response.old_time is not None
    return response.old_time


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "CR9"], "unknown logger model 'CR9'"),
        (["--node", "0"], "--node must be 1..4094"),
        (["--faults", "drop=7"], "fault drop=7.0 must be a share"),
        (["--station", "/nonexistent/station.toml"], "cannot read"),
    ],
)
def test_command_rejects_bad_options_in_one_line(args: list[str], message: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "fieldlink", "emulate", "logger", "--listen", "127.0.0.1:0", *args]
        if "--listen" not in args
        else [sys.executable, "-m", "fieldlink", "emulate", "logger", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_command_rejects_a_bad_station_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[[tables]]\nname = 'T'\ninterval = 'soon'\n")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "fieldlink",
            "emulate",
            "logger",
            "--listen",
            "127.0.0.1:0",
            "--station",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"fieldlink: error: {path}: tables[0].interval: cannot read 'soon' as a duration "
        "(e.g. 60, '1 min', '100 ms')"
    ]


def test_threaded_emulator_stops_with_its_block() -> None:
    emu = LoggerEmulator(listen="127.0.0.1:0", records=1)
    # Threads of earlier tests may still be ending: count only the ones started here.
    before = set(threading.enumerate())
    with emu.running():
        url = emu.url
        assert url is not None
        assert set(threading.enumerate()) - before, "the emulator serves from a thread"
    assert emu.url is None
    assert not set(threading.enumerate()) - before
    with pytest.raises(LinkError):  # nothing listens any more
        open_link(url, timeout=1)
