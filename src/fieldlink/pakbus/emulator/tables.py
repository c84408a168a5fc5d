"""Which records a ring-buffer table holds, and when each was stored, as logger time passes.

A logger stores a record at every interval boundary while its program runs and keeps
the newest ``size`` of them, overwriting the oldest.  Nothing is stored ahead of
time here: a table is a handful of integers (the next record number, the next
boundary, the time of each run of records) and any record number's time stamp is
computed on demand, so a table of millions of 10 Hz records costs nothing.

A *segment* is a run of records at consecutive boundaries.  A new one starts when
the clock is set (a real logger neither back-fills the boundaries it jumped over nor
refuses to store when set back, so time stamps may repeat) or when a paused program
resumes.  Record numbers start at 0 and only a reset (Table Control, a recompile)
starts them again.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, InitVar, dataclass, field

from fieldlink.pakbus.emulator.values import unit_noise

__all__ = ["LoggedTable"]

#: Segments kept below the oldest held record, so a just-overwritten record's time
#: stamp can still be computed (mode-8 requests for the one-record Status table).
_SPARE_SEGMENTS = 4


@dataclass(slots=True)
class _Segment:
    first: int
    time_ns: int


@dataclass(eq=False)
class LoggedTable:
    """Record numbering and time stamps of one table.

    ``cadence_ns`` is how often a record is stored; ``event`` tables get a time stamp
    jittered inside each period (deterministic per ``seed``), as if an event had
    triggered the record.  The first boundary at or after ``start_ns`` is the first
    record's, and records are stored up to ``now_ns``.  All times are logger time in ns
    since 1990.  A table is mutable state: two are equal only if they are one.
    """

    name: str
    _: KW_ONLY
    cadence_ns: int
    size: int
    start_ns: InitVar[int]
    now_ns: InitVar[int]
    time_into_ns: int = 0
    event: bool = False
    seed: int = 0
    generation: int = field(default=0, init=False)
    running: bool = field(default=True, init=False)
    next_record: int = field(default=0, init=False)
    next_time: int = field(init=False)
    _segments: list[_Segment] = field(init=False, repr=False)

    def __post_init__(self, start_ns: int, now_ns: int) -> None:
        if self.cadence_ns <= 0:
            raise ValueError("a table needs a positive cadence")
        if self.size < 1:
            raise ValueError("a table holds at least one record")
        self.time_into_ns %= self.cadence_ns
        self.next_time = self.boundary_at_or_after(start_ns)
        self._segments = [_Segment(0, self.next_time)]
        self.advance(now_ns)

    # --- boundaries -----------------------------------------------------------------------

    def boundary_at_or_after(self, t: int) -> int:
        c = self.cadence_ns
        return self.time_into_ns + -(-(t - self.time_into_ns) // c) * c

    def boundary_after(self, t: int) -> int:
        return self.boundary_at_or_after(t + 1)

    def boundary_at_or_before(self, t: int) -> int:
        c = self.cadence_ns
        return self.time_into_ns + ((t - self.time_into_ns) // c) * c

    # --- time passing ---------------------------------------------------------------------

    def advance(self, now_ns: int) -> None:
        """Store the records of every boundary up to ``now_ns``."""
        if not self.running or self.next_time > now_ns:
            return
        n = (now_ns - self.next_time) // self.cadence_ns + 1
        self.next_record += n
        self.next_time += n * self.cadence_ns
        self._prune()

    def realign(self, now_ns: int) -> None:
        """The clock jumped (or the program resumed): continue at the next boundary."""
        boundary = self.boundary_after(now_ns)
        if boundary == self.next_time:
            return
        last = self._segments[-1]
        if last.first == self.next_record:
            last.time_ns = boundary
        else:
            self._segments.append(_Segment(self.next_record, boundary))
        self.next_time = boundary

    def reset(self, now_ns: int) -> None:
        """Discard every record; numbering starts again at 0 from the next boundary."""
        self.generation += 1
        self.next_record = 0
        self.next_time = self.boundary_after(now_ns)
        self._segments = [_Segment(0, self.next_time)]

    def stop(self) -> None:
        self.running = False

    def resume(self, now_ns: int) -> None:
        if not self.running:
            self.running = True
            self.realign(now_ns)

    def _prune(self) -> None:
        oldest = self.oldest
        keep = 0
        for i, seg in enumerate(self._segments):
            if seg.first <= oldest:
                keep = i
        keep = max(0, keep - _SPARE_SEGMENTS)
        if keep:
            del self._segments[:keep]

    # --- what is held ---------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Records held now (at most ``size``)."""
        return min(self.next_record, self.size)

    @property
    def oldest(self) -> int:
        """Number of the oldest held record (== next_record when empty)."""
        return max(0, self.next_record - self.size)

    @property
    def newest(self) -> int | None:
        return self.next_record - 1 if self.next_record else None

    def holds(self, number: int) -> bool:
        return self.oldest <= number < self.next_record

    def can_describe(self, number: int) -> bool:
        """Whether ``number``'s time stamp is still known (held, or just overwritten)."""
        return self._segments[0].first <= number < self.next_record

    def time_of(self, number: int) -> int:
        """Time stamp of record ``number`` (ns since 1990)."""
        seg = self._segments[0]
        for candidate in self._segments:
            if candidate.first <= number:
                seg = candidate
            else:
                break
        boundary = seg.time_ns + (number - seg.first) * self.cadence_ns
        if not self.event:
            return boundary
        jitter = unit_noise(self.seed, "event", self.name, self.generation, number)
        return boundary + int(jitter * self.cadence_ns * 0.8) // 1_000_000 * 1_000_000

    def times_of(self, numbers: list[int] | range) -> list[int]:
        """:meth:`time_of` of each number: for a run of an interval table inside one
        clock segment (every forward collection), one ``range`` of boundaries."""
        if self.event or not isinstance(numbers, range) or numbers.step != 1 or not numbers:
            return [self.time_of(n) for n in numbers]
        first, last = numbers[0], numbers[-1]
        later = [seg.first for seg in self._segments if seg.first > first]
        if later and later[0] <= last:  # the clock was set within the run
            return [self.time_of(n) for n in numbers]
        start = self.time_of(first)
        return list(range(start, start + len(numbers) * self.cadence_ns, self.cadence_ns))

    def numbers_in_time(
        self, start_ns: int, end_ns: int, limit: int | None = None
    ) -> range | list[int]:
        """Held record numbers whose time stamp t has start <= t < end, ascending.

        At most ``limit`` of them (the first ones), if given.  Within a segment time
        stamps strictly increase with the record number -- an event record's jitter is
        in [0, 0.8 cadence), below the gap to the next boundary -- so each segment's
        answer is one run of numbers found from its ends in O(1): no record is looked
        at one by one.  Segments are ascending and disjoint in record numbers, so one
        run is returned as a ``range`` (whatever its size) and several are joined,
        which builds at most ``limit`` numbers.
        """
        runs: list[range] = []
        oldest, stop = self.oldest, self.next_record
        c = self.cadence_ns
        for i, seg in enumerate(self._segments):
            seg_end = self._segments[i + 1].first if i + 1 < len(self._segments) else stop
            lo, hi = max(seg.first, oldest), min(seg_end, stop)
            if lo >= hi:
                continue
            # Boundaries of `first`.. are >= start; those of ..`last` - 1 are < end.
            first = seg.first + _ceil_div(start_ns - seg.time_ns, c)
            last = seg.first + _ceil_div(end_ns - seg.time_ns, c)
            a, b = max(lo, first), min(hi, last)
            if self.event:
                # The jitter can lift the record before `first` into the range and
                # push the last one out of it; it moves nothing else across an end.
                if lo <= first - 1 < hi and start_ns <= self.time_of(first - 1) < end_ns:
                    a = first - 1
                if a < b and self.time_of(b - 1) >= end_ns:
                    b -= 1
            if a < b:
                runs.append(range(a, b))
        if len(runs) == 1:
            return runs[0] if limit is None else runs[0][:limit]
        out: list[int] = []
        for run in runs:
            if limit is not None:
                run = run[: limit - len(out)]
            out.extend(run)
        return out


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)
