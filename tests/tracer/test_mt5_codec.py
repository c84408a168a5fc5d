"""MT-5 codec: CRC, frames, the incremental receiver and the payloads (tracer.md Part A)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tracer_vectors import (
    MT5_LOAD_OFF,
    MT5_LOAD_ON,
    MT5_LOAD_ON_REPLY,
    MT5_READ_00,
    MT5_READ_01,
    MT5_READ_16,
    MT5_REALTIME_REPLY,
    MT5_SET_PARAMS,
    MT5_SET_PARAMS_REPLY,
    MT5_XXV_BAD_CRC,
)

from fieldlink.errors import FieldlinkError, ProtocolError, UsageError
from fieldlink.tracer.mt5 import messages as m
from fieldlink.tracer.mt5.crc import crc16, crc_augmented, crc_bytes
from fieldlink.tracer.mt5.framing import MAX_FRAME, SYNC, Frame, Receiver

# --- CRC ----------------------------------------------------------------------------------------


def test_crc_check_value_and_worked_examples() -> None:
    assert crc16(b"123456789") == 0xAF1C
    assert crc_bytes(bytes.fromhex("16A000")) == bytes.fromhex("B1A7")
    body = MT5_REALTIME_REPLY[6:-3]
    assert crc_bytes(body) == bytes.fromhex("9A38")
    assert crc16(MT5_REALTIME_REPLY[6:-1]) == 0  # residue over body + CRC


@given(st.binary(min_size=2, max_size=64))
def test_table_crc_equals_the_manufacturers_shift_register(data: bytes) -> None:
    assert crc16(data) == crc_augmented(data)


# --- requests, byte-exact -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "wire"),
    [
        (m.read_realtime(0x16), MT5_READ_16),
        (m.read_realtime(0x01), MT5_READ_01),
        (m.read_realtime(0x00), MT5_READ_00),
        (m.load_switch(True), MT5_LOAD_ON),
        (m.load_switch(False), MT5_LOAD_OFF),
        (
            m.set_parameters(
                m.ControlParameters(
                    temperature_compensation=5,
                    battery_type=m.BatteryType.SEALED,
                    capacity_ah=100,
                    load_mode_1=0,
                    load_mode_2=18,
                )
            ),
            MT5_SET_PARAMS,
        ),
    ],
)
def test_requests_match_the_vectors(frame: Frame, wire: bytes) -> None:
    assert frame.encode() == wire


def test_seed_client_realtime_request_is_what_we_send() -> None:
    # The seed client (tracermppt.py) sends wake-up + sync + 16 A0 00 + CRC + 7F: the same bytes.
    assert m.read_realtime().encode(wake=True) == MT5_READ_16
    assert m.read_realtime().encode(wake=False) == MT5_READ_16[6:]


# --- replies --------------------------------------------------------------------------------------


def test_manufacturer_realtime_reply_decodes_to_its_documented_values() -> None:
    (frame,) = Receiver().feed(MT5_REALTIME_REPLY)
    assert isinstance(frame, Frame)
    data = m.decode_reply(frame)
    assert isinstance(data, m.RealTimeData)
    assert data.battery_voltage == 12.30
    assert data.pv_voltage == 17.00
    assert data.load_current == 10.00
    assert data.over_discharge_voltage == 11.10
    assert data.battery_full_voltage == 14.40
    assert data.load_on is True
    assert data.flags == {
        "load_on": True,
        "load_overload": False,
        "load_short": False,
        "battery_overvoltage": False,
        "over_discharge": False,
        "battery_full": False,
        "charging": False,
    }
    assert data.battery_temperature == 25
    assert data.charge_current == 10.00
    assert data.reserved_15 == 0x50
    assert data.UNITS["battery_voltage"] == "V" and data.UNITS["battery_temperature"] == "°C"
    # ... and re-encodes byte for byte.
    assert Frame(0x16, m.READ_REALTIME, data.encode()).encode(wake=False) == MT5_REALTIME_REPLY


def test_load_and_parameter_replies() -> None:
    rx = Receiver()
    (on,) = rx.feed(MT5_LOAD_ON_REPLY)
    assert isinstance(on, Frame) and m.decode_reply(on) == m.LoadState(True)
    (ok,) = rx.feed(MT5_SET_PARAMS_REPLY)
    assert isinstance(ok, Frame) and m.decode_reply(ok) == m.ParametersAccepted()


def test_zero_length_realtime_reply_is_a_protocol_error_not_a_type_error() -> None:
    # Seed defect 4: len(None) raised TypeError on an empty reply.
    with pytest.raises(ProtocolError, match="24 bytes"):
        m.decode_reply(Frame(0x16, m.READ_REALTIME, b""))


def test_malformed_replies_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError):
        m.decode_reply(Frame(0x16, m.LOAD_SWITCH, b"\x02"))
    with pytest.raises(ProtocolError):
        m.decode_reply(Frame(0x16, m.SET_PARAMETERS, b"\x00"))
    with pytest.raises(ProtocolError, match="unknown command"):
        m.decode_reply(Frame(0x16, 0x99, b""))


def test_xxv_fixture_fails_its_crc() -> None:
    (err,) = Receiver().feed(MT5_XXV_BAD_CRC)
    assert isinstance(err, ProtocolError)
    assert "995B" in str(err) and "3F3E" in str(err)


# --- receiver -------------------------------------------------------------------------------------


def test_split_reads_byte_by_byte() -> None:
    rx = Receiver()
    out: list[Frame | ProtocolError] = []
    for b in MT5_REALTIME_REPLY:
        out += rx.feed(bytes([b]))
    assert len(out) == 1 and isinstance(out[0], Frame)
    assert rx.pending == 0


def test_garbage_and_wake_bytes_before_a_frame_are_skipped() -> None:
    rx = Receiver()
    (frame,) = rx.feed(b"\x00\xff\x13garbage" + b"\xaa\x55" * 3 + MT5_REALTIME_REPLY)
    assert isinstance(frame, Frame) and frame.command == m.READ_REALTIME
    assert rx.discarded > 0


def test_sync_after_a_false_start_is_found() -> None:
    # Seed defect 3: "EB EB 90 EB 90 EB 90" was missed.
    (frame,) = Receiver().feed(b"\xeb" + MT5_LOAD_ON_REPLY)
    assert isinstance(frame, Frame) and frame.data == b"\x01"


def test_bad_end_byte_is_reported_and_the_next_frame_still_found() -> None:
    bad = MT5_LOAD_ON_REPLY[:-1] + b"\x00"
    out = Receiver().feed(bad + MT5_LOAD_ON_REPLY)
    assert isinstance(out[0], ProtocolError) and "end byte" in str(out[0])
    assert isinstance(out[-1], Frame)


def test_length_over_200_is_rejected_at_once() -> None:
    rx = Receiver()
    (err,) = rx.feed(SYNC + bytes([0x16, 0xA0, 201]))
    assert isinstance(err, ProtocolError) and "201" in str(err)


def test_a_frame_inside_a_damaged_frame_is_recovered() -> None:
    damaged = MT5_REALTIME_REPLY[:20]  # cut short: its length still claims 24 bytes
    out = Receiver().feed(damaged + MT5_LOAD_ON_REPLY + MT5_LOAD_ON_REPLY)
    frames = [x for x in out if isinstance(x, Frame)]
    assert frames and frames[-1].command == m.LOAD_SWITCH


@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=64), st.booleans())
def test_fuzz_receiver_gives_only_frames_or_protocol_errors(
    data: bytes, chunk: int, lenient: bool
) -> None:
    rx = Receiver(lenient_set_parameters=lenient)
    for i in range(0, len(data), chunk):
        for item in rx.feed(data[i : i + chunk]):
            assert isinstance(item, Frame | ProtocolError)
        assert rx.pending <= MAX_FRAME


@given(st.binary(max_size=300), st.binary(max_size=300), st.binary(max_size=24))
def test_fuzz_a_frame_between_noise_is_always_found(pre: bytes, post: bytes, data: bytes) -> None:
    frame = Frame(0x16, m.READ_REALTIME, data)
    out = Receiver().feed(pre + frame.encode() + post)
    assert frame in out


def test_control_parameters_are_validated() -> None:
    with pytest.raises(UsageError, match="tens of Ah"):
        m.ControlParameters(capacity_ah=105)
    with pytest.raises(UsageError, match="mode 2"):
        m.ControlParameters(load_mode_2=0)
    with pytest.raises(UsageError, match="compensation"):
        m.ControlParameters(temperature_compensation=11)
    with pytest.raises(FieldlinkError):
        m.ControlParameters.decode(bytes([0, 0, 5, 7, 10, 0, 18]))


def test_a_sync_run_in_the_noise_does_not_hide_the_frame_behind_it() -> None:
    """Noise ending in EB 90 EB 90 EB 90 made the receiver read the frame's wake-up bytes
    as a header announcing 170 data bytes, and wait for them for ever (found by hypothesis)."""
    frame = Frame(0x16, m.READ_REALTIME, b"")
    rx = Receiver()
    assert rx.feed(SYNC + frame.encode()) == [frame]
    assert rx.pending == 0
