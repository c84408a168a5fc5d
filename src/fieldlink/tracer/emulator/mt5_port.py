"""The MT-5 front of the emulated controller: a kit Port (tracer.md §A7).

Replies echo the request's controller ID (any ID is served, as real units ignore
it), come ~50 ms after the request (UNCERTAIN) and, by default, without the
six wake-up bytes (what real units observed by xxv/tracer do; ``wake=True`` sends
them as the manufacturer's example shows).  Damaged frames and unknown commands
get no reply, as far as anyone knows what a real unit does (UNCERTAIN, §B11.3).
A 0xAD request whose length byte says 0 (as the manufacturer's text writes it) is
also accepted when its 7 bytes, CRC and end byte line up (§A3).
"""

from __future__ import annotations

from collections.abc import Sequence

from fieldlink.errors import ProtocolError, UsageError
from fieldlink.kit.device import BasePort, Outgoing
from fieldlink.tracer.emulator.model import TracerModel
from fieldlink.tracer.mt5 import messages as m
from fieldlink.tracer.mt5.framing import SYNC, Frame, Receiver

#: Seconds between a request and its reply (UNCERTAIN: not documented).
REPLY_DELAY = 0.05


class Mt5Port(BasePort):
    """One client link to the MT-5 front."""

    def __init__(
        self, model: TracerModel, *, wake: bool = False, delay: float = REPLY_DELAY
    ) -> None:
        self.model = model
        self.wake = wake
        self.delay = delay
        self._rx = Receiver(lenient_set_parameters=True)
        self.answered = 0
        self.rejected = 0

    def frames(self, data: bytes) -> Sequence[bytes]:
        units: list[bytes] = []
        for item in self._rx.feed(data):
            if isinstance(item, ProtocolError):
                self.rejected += 1
            else:
                units.append(item.encode(wake=False))
        return units

    def answer(self, unit: bytes) -> Sequence[Outgoing]:
        body = unit[len(SYNC) : -3]
        request = Frame(body[0], body[1], body[3:])
        data = self._reply_data(request)
        if data is None:
            self.rejected += 1
            return ()
        self.answered += 1
        reply = Frame(request.controller_id, request.command, data)
        return (Outgoing(reply.encode(wake=self.wake), self.delay),)

    def _reply_data(self, request: Frame) -> bytes | None:
        if request.command == m.READ_REALTIME and not request.data:
            return self.model.mt5_realtime().encode()
        if request.command == m.LOAD_SWITCH and len(request.data) == 1 and request.data[0] <= 1:
            return b"\x01" if self.model.mt5_switch_load(request.data[0] == 1) else b"\x00"
        if request.command == m.SET_PARAMETERS:
            try:
                params = m.ControlParameters.decode(request.data)
            except (ProtocolError, UsageError):
                return None
            self.model.mt5_set_parameters(params)
            return b""
        return None

    @property
    def in_unit(self) -> bool:
        return self._rx.in_frame

    def closed(self) -> None:
        self._rx.clear()

    def summary(self) -> str:
        return (
            f"{self.answered} MT-5 requests answered, {self.rejected} rejected, "
            f"{self._rx.discarded} bytes of noise"
        )
