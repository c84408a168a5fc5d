"""The instrument families' reply decoders as fuzz targets: bytes a device sends.

Each target feeds the bytes to the family's client session in two pieces (split at
the first byte's value, so the fuzzer also explores frames cut across reads), which
runs the incremental framer, the checksum or CRC and the typed decoding -- exactly
what a client does with a reply.  Damaged replies come back as ProtocolError values;
anything raised other than a FieldlinkError is a bug.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fieldlink.fuzz import Target


def _pieces(data: bytes) -> tuple[bytes, bytes]:
    cut = data[0] % (len(data) + 1) if data else 0
    return data[:cut], data[cut:]


def _feed(feed: Callable[[bytes], Sequence[object]], data: bytes) -> None:
    for piece in _pieces(data):
        feed(piece)


def tdr100_replies(data: bytes) -> None:
    """TDR100 replies (``$`` acks, ``#`` values, ``!NN`` errors) with CRC-variant detection."""
    from fieldlink.tdr100.session import TDR100Session

    _feed(TDR100Session(detect=True).feed, data)


def tracer_mt5(data: bytes) -> None:
    """MT-5 frames: sync bytes, controller id, command, CRC, end byte; resync after garbage."""
    from fieldlink.tracer.session import Mt5Session

    _feed(Mt5Session().feed, data)


def tracer_modbus_rtu(data: bytes) -> None:
    """Modbus RTU replies through our adapter around pymodbus (CRC, exception replies)."""
    from fieldlink.tracer.session import ModbusSession

    _feed(ModbusSession(framing="rtu").feed, data)


def tracer_modbus_tcp(data: bytes) -> None:
    """Modbus/TCP replies through our adapter around pymodbus (MBAP header, lengths)."""
    from fieldlink.tracer.session import ModbusSession

    _feed(ModbusSession(framing="socket").feed, data)


def batlab_packets(data: bytes) -> None:
    """Batlab 5-byte responses and 13-byte stream packets, framed blindly as the device does."""
    from fieldlink.batlab.session import BatlabSession

    _feed(BatlabSession().feed, data)


TARGETS = (
    Target("tdr100-replies", tdr100_replies, tdr100_replies.__doc__ or "", (b"$\r#1.5,2.5*\r",)),
    Target("tracer-mt5", tracer_mt5, tracer_mt5.__doc__ or "", (b"\xeb\x90\xeb\x90\xeb\x90",)),
    Target(
        "tracer-modbus-rtu",
        tracer_modbus_rtu,
        tracer_modbus_rtu.__doc__ or "",
        (bytes.fromhex("0104020000b930"),),
    ),
    Target("tracer-modbus-tcp", tracer_modbus_tcp, tracer_modbus_tcp.__doc__ or "", ()),
    Target(
        "batlab-packets",
        batlab_packets,
        batlab_packets.__doc__ or "",
        (bytes.fromhex("aa00010400") + bytes.fromhex("af0100") + bytes(10),),
    ),
)
