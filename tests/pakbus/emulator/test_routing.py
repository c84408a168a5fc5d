"""Routing to loggers behind a router by lookup (emulator Device._route), for fleets."""

from __future__ import annotations

import struct
from pathlib import Path

from fieldlink.pakbus.emulator.config import parse_station
from fieldlink.pakbus.emulator.device import Device
from fieldlink.pakbus.emulator.settings import PAKBUS_ADDRESS
from fieldlink.pakbus.emulator.station import ManualClock, Station
from fieldlink.pakbus.protocol import bmp5, pakctrl
from fieldlink.pakbus.protocol.codes import DeliveryFailureCode as F
from fieldlink.pakbus.protocol.messages import decode_message
from fieldlink.pakbus.protocol.packet import Packet

CLIENT = 4094


def router(children: int) -> Device:
    config = parse_station(
        {"neighbours": [{"node": 2 + i, "model": "CR800"} for i in range(children)]},
        source="t",
        base=Path("."),
    )
    return Device(Station(config=config, clock=ManualClock(), seed=1))


def ask(device: Device, dst: int) -> tuple[Packet, object]:
    message = bmp5.ClockCommand(7, 0)
    packet = Packet.message(message.HI_PROTO, message.encode(), dst=dst, src=CLIENT, dst_phy=1)
    (out,) = device.handle(packet, "c")
    return out.packet, decode_message(out.packet.hi_proto or 0, out.packet.body)


def test_every_logger_of_a_fleet_behind_one_router_answers_itself() -> None:
    device = router(300)
    for node in (2, 150, 301, 2, 301):  # again: the learned route
        packet, reply = ask(device, node)
        assert isinstance(reply, bmp5.ClockResponse) and packet.src_node == node


def test_a_logger_whose_address_changed_is_found_under_its_new_one() -> None:
    """A learned route is checked: the address is a setting that can change."""
    device = router(3)
    assert ask(device, 3)[0].src_node == 3
    device.neighbours[3].station.settings.set_committed(PAKBUS_ADDRESS, struct.pack(">H", 42))
    packet, reply = ask(device, 42)
    assert isinstance(reply, bmp5.ClockResponse) and packet.src_node == 42
    _, failure = ask(device, 3)
    assert isinstance(failure, pakctrl.DeliveryFailureMessage)
    assert failure.err_code == F.UNREACHABLE_DESTINATION
