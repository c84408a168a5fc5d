"""When to resend: the link's round trip learned as TCP learns it (RFC 6298).

A fixed timeout makes every lost frame cost the whole timeout; a session that times
its answers can resend after about one round trip instead.  Every family's session
keeps one :class:`RoundTripEstimator` and one :class:`ExchangeStats`; the rules for
which answers may be timed (Karn's rule: never an answer to a resent request) are
the session's, since only it knows which answer belongs to which try.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MIN_RETRY_TIMEOUT", "RETRY_TIMEOUT_FACTOR", "ExchangeStats", "RoundTripEstimator"]

#: The shortest adaptive resend deadline: an instrument that needs longer says so
#: (PakBus' Please Wait) or is given the configured timeout for that command.
MIN_RETRY_TIMEOUT = 1.0
#: Headroom over SRTT + 4·RTTVAR for answers larger than those the estimate learned from.
RETRY_TIMEOUT_FACTOR = 2.0
#: Backoff stops doubling here (2**16 × anything is beyond any configured timeout).
_MAX_BACKOFF = 16


@dataclass
class RoundTripEstimator:
    """The link's smoothed round trip and its variation, as RFC 6298 keeps them for TCP.

    Fed only unambiguous samples (see the module docstring); :meth:`timeout` turns them
    into a resend deadline and :meth:`timed_out` backs it off until the next sample.
    """

    #: Smoothed round-trip time in seconds (None until the first sample).
    srtt: float | None = None
    #: Smoothed mean deviation of the round trip, seconds.
    rttvar: float = 0.0
    #: Consecutive timeouts since the last sample: the deadline is doubled this often.
    backoff: int = 0
    samples: int = 0

    def sample(self, rtt: float) -> None:
        """Learn from one answer to a request that was sent once (RFC 6298 §2.2-2.3)."""
        rtt = max(rtt, 0.0)
        if self.srtt is None:
            self.srtt = rtt
            self.rttvar = rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt
        self.samples += 1
        self.backoff = 0

    def timed_out(self) -> None:
        """A deadline passed: the next ones are twice as long until a fresh sample (§5.5)."""
        self.backoff = min(self.backoff + 1, _MAX_BACKOFF)

    def timeout(self, ceiling: float) -> float:
        """Seconds to wait before resending, never more than ``ceiling`` (the configured one).

        Without a sample yet the ceiling itself: nothing is known about the link.
        """
        if self.srtt is None:
            return ceiling
        floor = min(MIN_RETRY_TIMEOUT, ceiling)
        base = max(floor, RETRY_TIMEOUT_FACTOR * (self.srtt + 4 * self.rttvar))
        return min(ceiling, base * (1 << self.backoff))


@dataclass
class ExchangeStats:
    """What the link cost so far: counted by the session, read by whoever is curious."""

    #: Requests that awaited an answer.
    exchanges: int = 0
    answered: int = 0
    #: Frames sent again after a timeout.
    resends: int = 0
    #: Deadlines that passed with no answer (each one led to a resend or to giving up).
    timeouts: int = 0
    #: Seconds spent waiting out those deadlines: what lost frames cost.
    waited_out: float = 0.0
    #: Answers used to estimate the round trip.
    rtt_samples: int = 0
