"""Numbers the PakBus client, the emulator and their command options share.

Kept apart, importing nothing, so that ``fieldlink logger COMMAND --help`` can show
them without loading the client or the emulator (a tenth of a second of imports each).
"""

from __future__ import annotations

#: PakBus/TCP's port (pakbus.md §2.7): where ``fieldlink emulate logger`` listens.
DEFAULT_PORT = 6785

#: The source address fieldlink uses unless told otherwise: LoggerNet's, in the
#: 4000..4094 range that loggers' neighbour filters never block (pakbus.md §2.5).
DEFAULT_SRC = 4094

#: The most requests in flight at once (``ClientSession.max_in_flight``).  255
#: transaction numbers could tell more apart; a logger's queue may not hold them.
MAX_IN_FLIGHT = 16

__all__ = ["DEFAULT_PORT", "DEFAULT_SRC", "MAX_IN_FLIGHT"]
