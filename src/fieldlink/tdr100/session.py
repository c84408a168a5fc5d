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
  resend would abort it (SDK App. A), so it waits its whole (longer) timeout.
"""

from __future__ import annotations

import logging

from fieldlink.errors import ProtocolError
from fieldlink.kit.reply import ReplySession
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

__all__ = ["TDR100Session"]

log = logging.getLogger("fieldlink.tdr100")
frames_log = logging.getLogger("fieldlink.tdr100.frames")


class TDR100Session(ReplySession[Command, TDR100Reply]):
    """Encodes :class:`Command` s and decodes, matches and checks the TDR100's replies.

    ``crc`` is the variant expected; ``detect`` (default) lets the session lock onto
    another candidate if the device uses one (§3.3).
    """

    def __init__(
        self, *, timeout: float = 5.0, crc: CrcVariant = XMODEM, detect: bool = True
    ) -> None:
        super().__init__(timeout=timeout)
        self.decoder = ReplyDecoder(crc, detect=detect)
        #: The points setting as last seen (DUMP, SPNT), for the §2.4 count check.
        self.points: int | None = None

    @property
    def crc(self) -> CrcVariant | None:
        """The CRC variant the device was found to use (None until its first good reply)."""
        return self.decoder.locked

    def encode(self, request: Command) -> bytes:
        frame = request.encode()
        if frames_log.isEnabledFor(logging.DEBUG):
            frames_log.debug("-> %s", frame.hex(" "))
        return frame

    def feed(self, data: bytes) -> list[TDR100Reply | ProtocolError]:
        if frames_log.isEnabledFor(logging.DEBUG):
            frames_log.debug("<- %s", data.hex(" "))
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
        elif request.mnemonic == "RSET":
            self.points = None
        return reply

    def _count(self, request: Command, reply: Values) -> None:
        if request.mnemonic == "DUMP" and len(reply.values) >= 3:
            self.points = round(reply.values[2])
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
