"""Numbers the PakBus client and the ``fieldlink logger`` options share.

Kept apart, importing nothing, so that ``fieldlink logger COMMAND --help`` can show
them without loading the client (a fifth of a second of imports).
"""

from __future__ import annotations

#: The source address fieldlink uses unless told otherwise: LoggerNet's, in the
#: 4000..4094 range that loggers' neighbour filters never block (pakbus.md §2.5).
DEFAULT_SRC = 4094

#: The most requests in flight at once (``ClientSession.max_in_flight``).  255
#: transaction numbers could tell more apart; a logger's queue may not hold them.
MAX_IN_FLIGHT = 16

__all__ = ["DEFAULT_SRC", "MAX_IN_FLIGHT"]
