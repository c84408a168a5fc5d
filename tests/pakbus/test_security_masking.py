"""A security code is never printed or logged (issue 13): config errors, reprs, --debug hex."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fieldlink.collect.config import StationConfig, parse_stations
from fieldlink.errors import ConfigError
from fieldlink.pakbus.protocol import bmp5
from fieldlink.pakbus.protocol.packet import Packet
from fieldlink.pakbus.session import ClientSession

CODE = 0xBEEF  # 48879: its bytes "BE EF" stand out in a hex dump


@pytest.mark.parametrize("value", ["99999", "-4", '"s3cr3t-4321"', "1.5", "true"])
def test_a_rejected_code_is_not_repeated(value: str, tmp_path: Path) -> None:
    text = f'[[station]]\nname = "a"\nurl = "tcp:h:1"\nsecurity_code = {value}\n'
    with pytest.raises(ConfigError) as caught:
        parse_stations(text, source="st.toml", base_dir=tmp_path)
    message = str(caught.value)
    assert "security_code" in message and "line 4" in message
    shown = value.strip('"')
    assert shown not in message


def test_a_rejected_default_code_is_not_repeated(tmp_path: Path) -> None:
    text = '[defaults]\nsecurity_code = 70000\n[[station]]\nname = "a"\nurl = "tcp:h:1"\n'
    with pytest.raises(ConfigError) as caught:
        parse_stations(text, base_dir=tmp_path)
    assert "70000" not in str(caught.value)


def test_station_config_repr_hides_the_code(tmp_path: Path) -> None:
    text = f'[[station]]\nname = "a"\nurl = "tcp:h:1"\nsecurity_code = {CODE}\n'
    (station,) = parse_stations(text, base_dir=tmp_path).stations
    assert station.security_code == CODE
    for shown in (repr(station), str(station)):
        assert str(CODE) not in shown and "security_code" in shown
    assert str(CODE) not in repr(StationConfig("b", "tcp:h:1", security_code=CODE))


def _frames(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "fieldlink.pakbus.frames"]


def test_debug_hex_dumps_mask_the_code_sent(caplog: pytest.LogCaptureFixture) -> None:
    session = ClientSession(node=1, src=4094)
    caplog.set_level(logging.DEBUG, logger="fieldlink.pakbus.frames")
    wire = session.encode(bmp5.ClockCommand(7, CODE))
    assert b"\xbe\xef" in wire  # the logger still gets the code
    (line,) = _frames(caplog)
    assert "BE EF" not in line and "clock command" in line and "code hidden" in line
    frame = bytes.fromhex(line[3:].split("  ")[0])  # still hex: the frame, code zeroed
    assert frame[8:10] == b"\x17\x07" and frame[10:12] == b"\x00\x00"
    assert frame[12:] == bytes(8)  # the rest as sent: a zero Adjustment (a clock read)


def test_debug_hex_dumps_mask_a_code_heard(caplog: pytest.LogCaptureFixture) -> None:
    """A command with a code heard on a shared link (another client's) is masked too."""
    session = ClientSession(node=1, src=4094)
    caplog.set_level(logging.DEBUG, logger="fieldlink.pakbus.frames")
    body = bmp5.ClockCommand(9, CODE).encode()
    packet = Packet(0xA, 4094, 1, hi_proto=1, dst_node=4094, src_node=1, body=body)
    session.receive(packet.to_wire())
    lines = _frames(caplog)
    assert lines and all("BE EF" not in line for line in lines)
