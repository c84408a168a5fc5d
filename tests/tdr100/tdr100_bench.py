"""Shared helpers for the TDR100 tests (imported as ``tdr100_bench``)."""

from __future__ import annotations

from fieldlink.tdr100.emulator import TDR100Model, TDR100Port
from fieldlink.tdr100.protocol import Command, ReplyDecoder, TDR100Reply


class Clock:
    """A clock the test moves by hand (no sleeping, no timing in assertions)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Bench:
    """A model, one port and a decoder: send a frame, get the replies and their delays."""

    def __init__(self, model: TDR100Model, clock: Clock) -> None:
        self.model = model
        self.clock = clock
        self.port: TDR100Port = model.open_port(1)
        self.decoder = ReplyDecoder(model.crc, detect=False)
        self.delays: list[float] = []

    def raw(self, data: bytes, *, wait: bool = True) -> list[TDR100Reply]:
        replies: list[TDR100Reply] = []
        self.delays = []
        outs = []
        for unit in self.port.frames(data):
            outs += self.port.answer(unit)
            due = self.port.busy_until
            self.delays.append(0.0 if due is None else due - self.clock.now)
            if wait and due is not None:
                assert not self.port.tick(due - 1e-9)  # not a moment early
                self.clock.now = due
                outs += self.port.tick(self.clock.now)
        for out in outs:
            assert out.delay == 0.0
            for r in self.decoder.feed(out.data):
                assert not isinstance(r, Exception), r
                replies.append(r)
        return replies

    def ask(self, mnemonic: str, value: float | int | str | None = None, **kw: bool) -> TDR100Reply:
        (reply,) = self.raw(Command(mnemonic, value).encode(), **kw)
        return reply
