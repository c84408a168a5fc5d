"""The Batlab client session: one reader that keeps stream packets aside.

A Batlab interleaves unsolicited 13-byte stream packets with its 5-byte responses
(batlab.md §2.3).  The session decodes both; responses go to the exchange waiting
for them -- and only if they echo its namespace and register byte (write flag
included), so a late answer to an earlier try, or to another caller, is never
taken for this one -- and stream packets go to a bounded backlog the client reads
when it wants them.  Resending and giving up are the kit's (:mod:`fieldlink.kit.reply`).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Final

from fieldlink.batlab.codec import Command, PacketDecoder, Response, StreamPacket
from fieldlink.batlab.registers import register_spec
from fieldlink.errors import ProtocolError
from fieldlink.kit.reply import ReplySession

__all__ = ["STREAM_BACKLOG", "BatlabSession"]

#: Stream packets kept for the client (the oldest are dropped first).
STREAM_BACKLOG: Final = 1024


class BatlabSession(ReplySession[Command, Response]):
    """Client side of one Batlab link.

    The device answers within a few milliseconds (§11), so the default timeout per
    try is short; the official library resends after ~50 ms.
    """

    frames = logging.getLogger("fieldlink.batlab.frames")

    def __init__(self, *, timeout: float = 1.0, backlog: int = STREAM_BACKLOG) -> None:
        super().__init__(timeout=timeout)
        self.decoder = PacketDecoder()
        self.stream: deque[StreamPacket] = deque(maxlen=backlog)

    def encode(self, request: Command) -> bytes:
        return request.encode()

    def feed(self, data: bytes) -> list[Response | ProtocolError]:
        out: list[Response | ProtocolError] = []
        for packet in self.decoder.feed(data):
            if isinstance(packet, StreamPacket):
                self.stream.append(packet)
            else:
                out.append(packet)
        return out

    def matches(self, request: Command, reply: Response) -> bool:
        return request.answered_by(reply)

    def describe(self, request: Command) -> str:
        spec = register_spec(request.namespace, request.address)
        name = spec.name if spec else f"register 0x{request.address:02X}"
        verb = f"write {request.value} to" if request.write else "read of"
        return f"{verb} {name} (namespace 0x{request.namespace:02X})"

    def take_stream(self) -> list[StreamPacket]:
        """Stream packets received so far (oldest first), emptying the backlog."""
        out = list(self.stream)
        self.stream.clear()
        return out
