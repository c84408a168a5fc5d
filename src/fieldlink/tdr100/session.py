"""The client side of a TDR100 link: a kit ReplySession with the TDR100's rules.

What is the TDR100's own (the kit decides when to resend and how long to wait):

- a reply answers a request when it echoes its mnemonic (``$MNEM``/``#MNEM``); an
  ``!NN`` carries no echo and answers whatever is waiting, as it does on the device;
- ``!NN`` becomes :class:`~fieldlink.tdr100.protocol.TDR100Error` with its meaning;
- a value reply's float count is checked against §2.4 (a mismatch is logged, not
  fatal, as §3.2 step 6 says; conversations that need a count check it themselves);
- the CRC-16 variant: replies are checked with XMODEM and, until the first good
  frame, with every candidate of §3.3; the session locks onto the one that explains
  the device's replies and logs it (:attr:`TDR100Session.crc`);
- a command that starts an acquisition is never resent on the learned round trip: a
  resend would abort it (SDK App. A), so it waits its whole timeout, which grows with
  the averages and points the device last reported (:func:`acquisition_allowance`).
"""

from __future__ import annotations

import logging

from fieldlink.errors import ProtocolError
from fieldlink.kit.reply import Ask, ReplySession
from fieldlink.tdr100.protocol import (
    XMODEM,
    Ack,
    Command,
    CrcVariant,
    ErrorReply,
    Reply,
    ReplyDecoder,
    TDR100Reply,
    Values,
    expected_count,
)

__all__ = [
    "ACQUISITION_OVERHEAD",
    "ACQUISITION_PER_SAMPLE",
    "TDR100Session",
    "acquisition_allowance",
]

log = logging.getLogger("fieldlink.tdr100")
frames_log = logging.getLogger("fieldlink.tdr100.frames")

#: Seconds an acquisition may take beyond the per-sample time (power-up, analysis).
ACQUISITION_OVERHEAD = 2.0
#: Seconds allowed per point per averaged waveform: generous against the reference's
#: "a few µs" (§8), so a slow unit is not cut off.
ACQUISITION_PER_SAMPLE = 5e-5


def acquisition_allowance(averages: int, points: int) -> float:
    """Extra seconds to wait for a command that acquires ``averages`` x ``points``."""
    return ACQUISITION_OVERHEAD + averages * points * ACQUISITION_PER_SAMPLE


class TDR100Session(ReplySession[Command, TDR100Reply]):
    """Encodes :class:`Command` s and decodes, matches and checks the TDR100's replies.

    ``crc`` is the variant expected; ``detect`` (default) lets the session lock onto
    another candidate if the device uses one (§3.3).
    """

    frames = frames_log

    def __init__(
        self, *, timeout: float = 5.0, crc: CrcVariant = XMODEM, detect: bool = True
    ) -> None:
        super().__init__(timeout=timeout)
        self.decoder = ReplyDecoder(crc, detect=detect)
        #: The points setting as last seen (DUMP, SPNT), for the §2.4 count check.
        self.points: int | None = None
        #: The averages setting as last seen (DUMP, SNAV), for acquisition timeouts.
        self.averages: int | None = None

    @property
    def crc(self) -> CrcVariant | None:
        """The CRC variant the device was found to use (None until its first good reply)."""
        return self.decoder.locked

    def encode(self, request: Command) -> bytes:
        return request.encode()

    def feed(self, data: bytes) -> list[TDR100Reply | ProtocolError]:
        return self.decoder.feed(data)

    def matches(self, request: Command, reply: TDR100Reply) -> bool:
        if isinstance(reply, ErrorReply):
            return True
        return reply.command == request.mnemonic

    def check(self, request: Command, reply: TDR100Reply) -> TDR100Reply:
        if isinstance(reply, ErrorReply):
            raise reply.error(request.mnemonic)
        row = request.spec
        wanted = Values if row.reply is Reply.VALUES else Ack
        if not isinstance(reply, wanted):
            got = "values" if isinstance(reply, Values) else "an acknowledgement"
            raise ProtocolError(
                f"{request.mnemonic} was answered with {got}",
                message_type="TDR100 reply",
            )
        if isinstance(reply, Values):
            self._count(request, reply)
        elif request.mnemonic == "SPNT" and request.value is not None:
            self.points = round(float(request.value))
        elif request.mnemonic == "SNAV" and request.value is not None:
            self.averages = round(float(request.value))
        elif request.mnemonic == "RSET":
            self.points = self.averages = None
        return reply

    def _count(self, request: Command, reply: Values) -> None:
        if request.mnemonic == "DUMP" and len(reply.values) >= 3:
            self.averages, self.points = round(reply.values[1]), round(reply.values[2])
        row = request.spec
        if row.per_point and self.points is None:
            return
        allowed = expected_count(request.mnemonic, self.points or 0)
        if len(reply.values) not in allowed:
            log.warning(
                "TDR100 answered %s with %d values; the reference expects %s",
                request.mnemonic,
                len(reply.values),
                " or ".join(map(str, allowed)),
            )

    def describe(self, request: Command) -> str:
        return f"TDR100 command {request}"

    def adaptive(self, request: Command) -> bool:
        return not request.spec.acquires

    def timeout_for(self, ask: Ask[Command]) -> float:
        """An acquisition's wait grows with averages x points (the largest allowed
        while they are unknown); everything else waits the session's timeout."""
        if ask.timeout is not None:
            return ask.timeout
        if ask.request.spec.acquires:
            return self.timeout + acquisition_allowance(self.averages or 128, self.points or 2048)
        return self.timeout
