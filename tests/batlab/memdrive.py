"""Run Batlab conversations against an emulated unit in memory, on a manual clock.

Every request goes through the real bytes: the command is encoded, the unit answers
the 5 bytes, the answer is decoded by the client-side decoder.  Pauses move the
manual clock (and let the unit run), so a test of minutes of device time takes
milliseconds and never depends on the machine's speed.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from fieldlink.batlab.codec import Command, PacketDecoder, Response, StreamPacket
from fieldlink.batlab.emulator import BatlabUnit, ManualClock
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
