"""``fieldlink emulate logger`` as users run it: what it logs, the shipped example
station with a logger behind it, listening addresses, and a pseudo-terminal woken the
way PyCampbellCR1000 wakes a serial logger."""

from __future__ import annotations

import os
import select
import subprocess
import time
from pathlib import Path

import pytest

from fieldlink.errors import DeliveryFailure, LinkError, UsageError
from fieldlink.kit.faults import Faults
from fieldlink.pakbus.client import Datalogger
from fieldlink.pakbus.emulator import LoggerEmulator, spawn_logger_emulator
from fieldlink.pakbus.protocol import bmp5
from fieldlink.pakbus.protocol.framing import FrameDecoder
from fieldlink.pakbus.protocol.packet import Packet

EXAMPLES = Path(__file__).parents[3] / "examples"
HELLO_REQUEST_V4 = bytes.fromhex("BD EF FF 10 01 0F FF 00 01 0E 00 DD F0 BD")


def read_until(fd: int, marker: bytes, seconds: float) -> bytes:
    """What a process wrote to ``fd`` up to ``marker`` (or all it wrote in ``seconds``)."""
    out = b""
    deadline = time.monotonic() + seconds
    while marker not in out and (left := deadline - time.monotonic()) > 0:
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            out += chunk
    return out


def log_of_one_clock_read(*args: str, verbose: int = 0) -> list[str]:
    """The emulator command's log lines around one client reading the clock (it is
    stopped with SIGTERM, which must give status 0).

    The stop waits for the connection's closing line: a SIGTERM sent the moment the
    client hangs up races the client's end of stream, and may be seen first."""
    proc = spawn_logger_emulator(*args, stderr=subprocess.PIPE, verbose=verbose)
    assert proc.process.stderr is not None
    head = b""
    try:
        with Datalogger.from_url(proc.url, timeout=5) as logger:
            logger.gettime()
        head = read_until(proc.process.stderr.fileno(), b" closed after ", 10.0)
    finally:
        assert proc.stop() == 0
    lines = (head + proc.process.stderr.read()).decode().splitlines()
    proc.process.stderr.close()
    return lines


def test_default_log_is_one_line_per_connection_open_and_close() -> None:
    """Before: nothing at all was logged unless -v was given."""
    lines = log_of_one_clock_read("--records", "5")
    assert len(lines) == 4, lines
    assert "emulated CR1000 node 1 'Station1' (program CPU:Default.CR1; Table1, Fast)" in lines[0]
    assert " serving on tcp:127.0.0.1:" in lines[0]
    assert " INFO " in lines[1] and "connection 1 from 127.0.0.1:" in lines[1]
    assert "connection 1 from 127.0.0.1:" in lines[2] and " closed after " in lines[2]
    assert "2 frames in" in lines[2]
    assert lines[3].endswith("stopping")


def test_verbose_log_shows_every_message() -> None:
    text = "\n".join(log_of_one_clock_read("--records", "5", verbose=1))
    assert "connection 1: <- BMP5 0x17 clock command tran" in text
    assert "connection 1: -> BMP5 0x97 clock response tran" in text


def test_example_station_routes_to_the_logger_behind_it() -> None:
    args = ("--station", str(EXAMPLES / "station.toml"), "--records", "30")
    with spawn_logger_emulator(*args, stderr=subprocess.DEVNULL) as proc:
        with Datalogger.from_url(proc.url, timeout=5) as ridge:
            assert ridge.list_tables() == ["Status", "Ridge15", "Daily", "Public"]
            assert ridge.program_stats().program_name == "CPU:ridge.CR1"
        with Datalogger.from_url(proc.url, node=2, address=1, timeout=5) as creek:
            assert creek.list_tables() == ["Status", "Hourly", "Public"]
            assert creek.get_value("Status", "StationName") == "CREEK"
            assert creek.program_stats().os_version == "CR800.Std.24"
        with (
            Datalogger.from_url(proc.url, node=3, address=1, timeout=5) as nobody,
            pytest.raises(DeliveryFailure, match="unreachable destination"),
        ):
            nobody.gettime()


def test_listening_on_every_interface_prints_a_loopback_url() -> None:
    emu = LoggerEmulator(listen="0.0.0.0:0", records=1)
    with emu.running():
        assert (emu.url or "").startswith("tcp:127.0.0.1:")
        with Datalogger.from_url(emu.url or "", timeout=5) as logger:
            logger.gettime()


def test_a_name_with_several_addresses_and_port_0_listens_once() -> None:
    emu = LoggerEmulator(listen="localhost:0", records=1)
    with emu.running():
        assert emu._server is not None and len(emu._server.sockets) == 1
        with Datalogger.from_url(emu.url or "", timeout=5) as logger:
            logger.gettime()


def test_a_port_in_use_is_one_plain_sentence() -> None:
    with LoggerEmulator(listen="127.0.0.1:0", records=1).running() as first:
        port = (first.url or "").rsplit(":", 1)[1]
        with (
            pytest.raises(LinkError) as info,
            LoggerEmulator(listen=f"127.0.0.1:{port}", records=1).running(),
        ):
            pass
    assert str(info.value) == f"cannot listen on 127.0.0.1:{port}: Address already in use"


def test_fault_specs_refuse_repeats_and_fractional_bytes() -> None:
    with pytest.raises(UsageError, match="drop is given twice"):
        Faults.parse("drop=0.1,drop=0.2")
    with pytest.raises(UsageError, match=r"'1\.5' is not a whole number of bytes"):
        Faults.parse("disconnect-after=1.5")


def read_frames(fd: int, timeout: float) -> list[bytes]:
    decoder = FrameDecoder()
    frames: list[bytes] = []
    deadline = time.monotonic() + timeout
    while not frames and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if ready:
            frames += decoder.feed(os.read(fd, 4096))
    return frames


def test_a_sync_burst_on_the_serial_line_gets_a_hello_request() -> None:
    """PyCampbellCR1000 writes 6 x 0xBD and waits for a frame before its first command;
    before, it waited out its whole timeout on every run over a serial line."""
    with LoggerEmulator(pty=True, records=1).running() as emu:
        path = (emu.url or "").split(":")[1]
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, b"\xbd" * 6)
            (raw,) = read_frames(fd, 10.0)
            assert b"\xbd" + raw + Packet.decode(raw).to_wire()[-3:] == HELLO_REQUEST_V4
            # a client that sends its burst with a frame is answered, not hello-requested
            clock = bmp5.ClockCommand(7, 0).encode()
            os.write(fd, b"\xbd" * 6 + Packet.message(1, clock, dst=1, src=4094).to_wire())
            (answer,) = read_frames(fd, 10.0)
            assert Packet.decode(answer).body[:2] == b"\x97\x07"  # nothing before it
        finally:
            os.close(fd)


@pytest.mark.parametrize(
    ("model", "os_version", "device_type", "extension"),
    [
        ("CR1000", "CR1000.Std.24", 12, ".CR1"),
        ("CR800", "CR800.Std.24", 18, ".CR8"),
        ("CR3000", "CR3000.Std.24", 15, ".CR3"),
        ("CR6", "CR6.Std.07.02", 55, ".CR6"),
        ("CR1000X", "CR1000X.Std.04.02", 78, ".CR1X"),
    ],
)
def test_each_model_reports_itself_everywhere_a_client_looks(
    model: str, os_version: str, device_type: int, extension: str
) -> None:
    """Programming statistics, DevConfig (device type and setting 0) and the Status
    table agree on the model (DeviceType codes: pakbus.md §4.10)."""
    with (
        LoggerEmulator(listen="127.0.0.1:0", model=model, records=1).running() as emu,
        Datalogger.from_url(emu.url or "", timeout=5) as logger,
    ):
        stats = logger.program_stats()
        assert stats.os_version == os_version
        assert stats.program_name == f"CPU:Default{extension}"
        settings = logger.settings()
        assert settings.device_type == device_type and settings.model == model
        os_setting = settings.get(0)
        assert os_setting is not None and os_setting.value == os_version.encode() + b"\x00"
        assert logger.get_value("Status", "OSVersion") == os_version
        assert logger.get_value("Status", "SerialNumber") == stats.serial_number


@pytest.mark.parametrize(
    "spec", ["", "drop=0.05", "corrupt=0.5,delay=0.25", "drop=1,disconnect-after=9"]
)
def test_fault_specs_print_as_they_parse(spec: str) -> None:
    faults = Faults.parse(spec)
    assert str(faults) == spec and Faults.parse(str(faults)) == faults
