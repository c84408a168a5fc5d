"""The Modbus front of the emulated controller: a kit Port built on pymodbus.

pymodbus' RTU or socket (Modbus/TCP) framer splits the stream, its request PDUs
run against a pymodbus simulator datastore whose present addresses are the
Tracer2215BN profile (§B2.2: a read touching an absent register answers exception
02), and whose access hook reads the live model and hands writes to it (a settings
write breaking a range or rule A–E answers exception 03 and changes nothing,
§B5.1).  All of it through :mod:`fieldlink.tracer.modbus.adapter`.
"""

from __future__ import annotations

from collections.abc import Sequence

from fieldlink.kit.device import BasePort, Outgoing
from fieldlink.tracer.emulator.model import COILS, DISCRETES, TracerModel
from fieldlink.tracer.modbus import registers as regs
from fieldlink.tracer.modbus.adapter import Framing, Profile, ServerCodec

#: The default present-register profile (Tracer2215BN plus the documented registers).
TRACER_2215BN = Profile(
    coils=COILS, discretes=DISCRETES, holding=regs.PRESENT_HOLDING, input=regs.PRESENT_INPUT
)

#: Seconds before a reply (a real unit answers within a few ms at 115200 Bd).
REPLY_DELAY = 0.005


class ModbusPort(BasePort):
    """One client link to the Modbus front (RTU framing, or Modbus/TCP with ``socket``)."""

    def __init__(
        self,
        model: TracerModel,
        *,
        unit: int = 1,
        framing: Framing = "rtu",
        profile: Profile = TRACER_2215BN,
        delay: float = REPLY_DELAY,
    ) -> None:
        self.model = model
        self.delay = delay
        self.codec = ServerCodec(
            profile, model.read, model.write, identity=model.identity, unit=unit, framing=framing
        )

    def frames(self, data: bytes) -> Sequence[bytes]:
        return self.codec.frames(data)

    def answer(self, unit: bytes) -> Sequence[Outgoing]:
        reply = self.codec.answer(unit)
        return () if reply is None else (Outgoing(reply, self.delay),)

    @property
    def in_unit(self) -> bool:
        return self.codec.pending > 0

    def summary(self) -> str:
        return (
            f"{self.codec.requests} Modbus requests, {self.codec.exceptions} exception "
            f"replies, {self.codec.noise} bytes of noise"
        )
