"""Which records a table holds and when (fieldlink.pakbus.emulator.tables).

Time-range selection (Collect Data mode 7) is checked against a plain reading of its
definition -- every held record whose time stamp is in [start, end) -- on small
tables with clock jumps, and for size: over a table of ten million 1 ms records it
must build nothing in proportion to the table, only to what one response can carry.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlink.pakbus.emulator.config import parse_station
from fieldlink.pakbus.emulator.device import Device
from fieldlink.pakbus.emulator.station import ManualClock, Station
from fieldlink.pakbus.emulator.tables import LoggedTable
from fieldlink.pakbus.protocol import bmp5
from fieldlink.pakbus.protocol.codes import Bmp5ResponseCode, CollectMode
from fieldlink.pakbus.protocol.messages import decode_message
from fieldlink.pakbus.protocol.packet import Packet
from fieldlink.pakbus.protocol.records import RecordLayout, parse_collect_payload
from fieldlink.pakbus.protocol.wire import NSec

MS = 1_000_000
#: What the device asks for: one more than a response can carry (4 000 records).
DEVICE_LIMIT = 4_001


def reference(table: LoggedTable, start: int, end: int) -> list[int]:
    """The definition, record by record: held numbers whose time stamp is in [start, end)."""
    return [n for n in range(table.oldest, table.next_record) if start <= table.time_of(n) < end]


def stepped(c: int, size: int, event: bool, seed: int, steps: list[tuple[str, int]]) -> LoggedTable:
    """A table of cadence ``c`` after the clock was advanced, set forward and back, and
    paused as ``steps`` say: several segments."""
    now = 20 * c
    t = LoggedTable("T", cadence_ns=c, size=size, start_ns=0, now_ns=now, event=event, seed=seed)
    for what, amount in steps:
        if what == "advance":
            now += abs(amount) * c // 3 + 1
            t.advance(now)
        elif what == "jump":
            now += amount * c // 2
            t.realign(now)
        else:
            t.stop()
            now += abs(amount) * c
            t.resume(now)
    return t


# --- the same answers as the definition ----------------------------------------------------------

_steps = st.lists(
    st.tuples(st.sampled_from(["advance", "jump", "pause"]), st.integers(-50, 50)),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(
    cadence_ms=st.sampled_from([1, 3, 10, 1000]),
    size=st.integers(1, 40),
    event=st.booleans(),
    seed=st.integers(0, 5),
    steps=_steps,
    bounds=st.lists(st.tuples(st.integers(-5, 120), st.integers(-5, 120)), min_size=1, max_size=8),
    limit=st.one_of(st.none(), st.integers(0, 30)),
)
def test_time_range_equals_the_definition(
    cadence_ms: int,
    size: int,
    event: bool,
    seed: int,
    steps: list[tuple[str, int]],
    bounds: list[tuple[int, int]],
    limit: int | None,
) -> None:
    c = cadence_ms * MS
    t = stepped(c, size, event, seed, steps)
    for a, b in bounds:
        start, end = a * c // 5, b * c // 5
        want = reference(t, start, end)
        got = t.numbers_in_time(start, end, limit)
        assert list(got) == (want if limit is None else want[:limit])
        assert list(t.numbers_in_time(start, end)) == want


@settings(max_examples=200, deadline=None)
@given(
    cadence_ms=st.sampled_from([1, 10, 1000]),
    size=st.integers(1, 40),
    event=st.booleans(),
    steps=_steps,
    runs=st.lists(st.tuples(st.integers(-3, 60), st.integers(0, 40)), min_size=1, max_size=6),
)
def test_times_of_a_run_are_the_time_of_each_record(
    cadence_ms: int,
    size: int,
    event: bool,
    steps: list[tuple[str, int]],
    runs: list[tuple[int, int]],
) -> None:
    """The shortcut for a run of numbers (one range of boundaries) gives each record's
    own time stamp, across clock segments and for event tables too."""
    t = stepped(cadence_ms * MS, size, event, 1, steps)
    for start, length in runs:
        first = t.oldest + start
        numbers = range(first, first + length)
        assert t.times_of(numbers) == [t.time_of(n) for n in numbers]
        assert t.times_of(list(numbers)) == [t.time_of(n) for n in numbers]


def test_event_jitter_moves_records_across_both_ends() -> None:
    # Records whose boundary is before the start but whose stamp is not, and the
    # reverse at the end, must be found without looking at every record.
    t = LoggedTable("E", cadence_ns=100 * MS, size=1000, start_ns=0, now_ns=10**11, event=True)
    jittered = [n for n in range(t.oldest, t.next_record) if t.time_of(n) % (100 * MS) >= 10 * MS]
    assert len(jittered) > 100  # the jitter is real
    for n in jittered[:50]:
        boundary = n * 100 * MS
        stamp = t.time_of(n)
        assert list(t.numbers_in_time(boundary + 1, stamp + 1)) == [n]  # lifted in at the start
        assert n not in t.numbers_in_time(boundary, stamp)  # pushed out at the end
        assert list(t.numbers_in_time(boundary, stamp + 1)) == reference(t, boundary, stamp + 1)


# --- a huge fast table costs what the answer costs -----------------------------------------------

TEN_MILLION = 10_000_000


def test_a_huge_interval_table_answers_with_a_range() -> None:
    t = LoggedTable("F", cadence_ns=MS, size=TEN_MILLION, start_ns=0, now_ns=TEN_MILLION * MS)
    assert t.count == TEN_MILLION
    everything = t.numbers_in_time(0, 2 * TEN_MILLION * MS)
    held = range(t.oldest, t.next_record)
    assert isinstance(everything, range) and everything == held
    some = t.numbers_in_time(0, 2 * TEN_MILLION * MS, DEVICE_LIMIT)
    assert isinstance(some, range) and some == held[:DEVICE_LIMIT]
    # Two segments (the clock was set back): a list, but only as long as the limit.
    t.realign(TEN_MILLION * MS // 2)
    t.advance(TEN_MILLION * MS)
    both = t.numbers_in_time(0, 2 * TEN_MILLION * MS, DEVICE_LIMIT)
    assert list(both) == list(range(t.oldest, t.oldest + DEVICE_LIMIT))


def test_a_huge_event_table_answers_within_the_limit() -> None:
    t = LoggedTable(
        "E", cadence_ns=MS, size=TEN_MILLION, start_ns=0, now_ns=TEN_MILLION * MS, event=True
    )
    middle = t.numbers_in_time(3_000_000 * MS, 7_000_000 * MS)
    assert isinstance(middle, range) and len(middle) == 4_000_000
    t.realign(TEN_MILLION * MS // 2)  # the clock set back: two segments
    t.advance(TEN_MILLION * MS)
    some = t.numbers_in_time(0, 2 * TEN_MILLION * MS, DEVICE_LIMIT)
    assert isinstance(some, list) and len(some) == DEVICE_LIMIT
    assert some == reference_first(t, 0, 2 * TEN_MILLION * MS, DEVICE_LIMIT)


def reference_first(table: LoggedTable, start: int, end: int, count: int) -> list[int]:
    """The first ``count`` numbers of :func:`reference` without scanning the whole table."""
    out: list[int] = []
    for n in range(table.oldest, table.next_record):
        if start <= table.time_of(n) < end:
            out.append(n)
            if len(out) == count:
                break
    return out


def test_device_mode_7_over_ten_million_records_builds_one_response() -> None:
    config = parse_station(
        {
            "records": TEN_MILLION,
            "tables": [
                {
                    "name": "Fast",
                    "interval": "1 ms",
                    "size": TEN_MILLION,
                    "fields": [{"name": "BattV", "type": "FP2"}],
                }
            ],
        },
        source="test",
        base=Path("."),
    )
    station = Station(config=config, clock=ManualClock(), seed=3)
    device = Device(station)
    table = station.table_state("Fast")
    assert table.count == TEN_MILLION
    built: list[range | list[int]] = []
    original = table.numbers_in_time

    def spy(start: int, end: int, limit: int | None = None) -> range | list[int]:
        numbers = original(start, end, limit)
        built.append(numbers)
        return numbers

    table.numbers_in_time = spy  # type: ignore[method-assign]
    handed: list[int] = []
    stored = station.stored_rows

    def stored_spy(name: str, numbers: list[int] | range, *layout: RecordLayout) -> object:
        handed.append(len(numbers))
        return stored(name, numbers, *layout)

    station.stored_rows = stored_spy  # type: ignore[assignment,method-assign]

    begin = NSec(*divmod(table.time_of(table.oldest), 1_000_000_000))
    end = NSec(begin.seconds + 3 * 86_400, 0)  # far beyond the newest record
    tdef = station.table_def("Fast")
    request = bmp5.TableRequest(tdef.number, tdef.signature, begin, end, ())
    command = bmp5.CollectDataCommand(9, 0, CollectMode.TIME_RANGE, (request,))
    packet = Packet.message(command.HI_PROTO, command.encode(), dst=1, src=4094)
    (out,) = device.handle(packet, "c")
    response = decode_message(out.packet.hi_proto or 0, out.packet.body)
    assert isinstance(response, bmp5.CollectDataResponse)
    assert response.resp_code == Bmp5ResponseCode.OK
    payload = parse_collect_payload(response.data, {tdef.number: tdef}, {tdef.number: ()})
    numbers = [r.number for r in payload.records]
    assert payload.more and numbers == list(range(table.oldest, table.oldest + len(numbers)))
    # Nothing in proportion to the table was built: a range, or at most one response.
    assert len(built) == 1
    assert isinstance(built[0], range) or len(built[0]) <= DEVICE_LIMIT
    assert handed and max(handed) <= 4_000
