"""Shared test support for the Batlab family (a unique module name: tests of other
families have their own ``conftest``/``test_codec`` modules).

:class:`MemoryDriver` runs Batlab conversations against an emulated unit in memory,
on a manual clock.

Every request goes through the real bytes: the command is encoded, the unit answers
the 5 bytes, the answer is decoded by the client-side decoder.  Pauses move the
manual clock (and let the unit run), so a test of minutes of device time takes
milliseconds and never depends on the machine's speed.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from fieldlink.batlab.codec import Command, PacketDecoder, Response, StreamPacket
from fieldlink.batlab.emulator import REFERENCE, BatlabUnit, Battery, ManualClock
from fieldlink.batlab.registers import CellRegister, UnitRegister
from fieldlink.errors import LinkError, LinkTimeout
from fieldlink.kit.converse import Emit, Instant, Now, Pause

WALL0 = 1_780_000_000.0


class MemoryDriver:
    def __init__(self, unit: BatlabUnit, clock: ManualClock, *, latency: float = 0.002) -> None:
        self.unit = unit
        self.clock = clock
        self.latency = latency
        self.decoder = PacketDecoder()
        self.sent: list[bytes] = []
        self.received: list[bytes] = []
        self.stream: list[StreamPacket] = []
        self.emitted: list[Any] = []

    def request(self, command: Command) -> Response:
        data = command.encode()
        self.sent.append(data)
        self.clock.advance(self.latency)
        reply = self.unit.handle(data)
        for packet in self.unit.take_stream():
            for item in self.decoder.feed(packet):
                assert isinstance(item, StreamPacket)
                self.stream.append(item)
        if reply is None:
            raise LinkTimeout(f"no answer to {data.hex(' ')}")
        self.received.append(reply)
        (item,) = self.decoder.feed(reply)
        assert isinstance(item, Response)
        return item

    def run(self, op: Generator[Any, Any, Any]) -> Any:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = op.throw(error) if error is not None else op.send(value)
            except StopIteration as stop:
                return stop.value
            error, value = None, None
            request = getattr(step, "request", step)
            if isinstance(request, Command):
                try:
                    value = self.request(request)
                except LinkError as exc:
                    error = exc
            elif isinstance(step, Now):
                t = self.clock()
                value = Instant(t, WALL0 + t)
            elif isinstance(step, Pause):
                self.clock.advance(step.seconds)
                self.unit.advance()
            elif isinstance(step, Emit):
                self.emitted.extend(step.items)
            else:
                raise TypeError(f"unexpected step {step!r}")


#: The emulator configuration that produced instrument-vectors.md §1.1.
VECTOR_CAL = REFERENCE.with_cell_value(CellRegister.TEMP_CALIB_R, 10000).with_serial(135732)


def vector_unit(clock: ManualClock, **kw: Any) -> BatlabUnit:
    """A unit answering exactly the §1.1/§1.3 vectors (cells at 3.6999 V, R = 10 kΩ)."""
    flat = ((0.0, 3.69995), (1.0, 3.69995))
    cells: list[Battery | None] = [Battery(ocv_table=flat) for _ in range(4)]
    return BatlabUnit(clock=clock, calibration=VECTOR_CAL, cells=cells, **kw)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# instrument-vectors.md §1.1, host -> device, in order (cells expanded).
CONNECT_REQUESTS = [
    ("AA 05 01 00 00", Command.read(5, 1)),
    ("AA 04 91 FF 00", Command.write_value(4, UnitRegister.WATCHDOG_TIMER, 255)),
    *[(f"AA 0{n} 80 02 00", Command.write_value(n, CellRegister.MODE, 2)) for n in range(4)],
    *[(f"AA 0{n} 16 00 00", Command.read(n, CellRegister.TEMP_CALIB_R)) for n in range(4)],
    *[(f"AA 0{n} 17 00 00", Command.read(n, CellRegister.TEMP_CALIB_B)) for n in range(4)],
    *[(f"AA 0{n} 03 00 00", Command.read(n, CellRegister.CURRENT_SETPOINT)) for n in range(4)],
    ("AA 04 00 00 00", Command.read(4, UnitRegister.SERIAL_NUM)),
    ("AA 04 01 00 00", Command.read(4, UnitRegister.DEVICE_ID)),
    ("AA 04 02 00 00", Command.read(4, UnitRegister.FIRMWARE_VER)),
    ("AA 04 86 04 00", Command.write_value(4, UnitRegister.SETTINGS, 4)),
    ("AA 04 06 00 00", Command.read(4, UnitRegister.SETTINGS)),
    ("AA 04 91 FF 00", Command.write_value(4, UnitRegister.WATCHDOG_TIMER, 255)),
]
