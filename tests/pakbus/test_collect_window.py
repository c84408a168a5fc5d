"""Collecting with several requests in flight (``window``): the same records as one
request at a time, in order, once each -- over TCP with faults, across a table
reset, a ring buffer that has wrapped, fragments and every kind of selection -- and
more than one request really outstanding.

The emulator's station is the ground truth, as in test_client.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldlink.errors import UsageError
from fieldlink.link import open_link
from fieldlink.pakbus.client import AsyncDatalogger, Datalogger
from fieldlink.pakbus.emulator import LoggerEmulator
from fieldlink.pakbus.emulator.station import ManualClock
from fieldlink.pakbus.operations import TableReset
from fieldlink.pakbus.operations.tables import records_per_answer
from fieldlink.pakbus.protocol import bmp5
from fieldlink.pakbus.protocol.framing import FrameDecoder
from fieldlink.pakbus.protocol.messages import decode_message
from fieldlink.pakbus.protocol.model import Record
from fieldlink.pakbus.protocol.packet import Packet

from .test_client import NOON, T0, lossy_logger, rows

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collect"))
from collect_emulators import small_station

WINDOWS = (1, 4, 16)


@pytest.fixture(scope="module")
def lossy() -> Iterator[LoggerEmulator]:
    """A still logger behind a link that drops and corrupts answers."""
    emu = lossy_logger()
    with emu.running():
        yield emu


@pytest.fixture(scope="module")
def still() -> Iterator[LoggerEmulator]:
    with LoggerEmulator(records=600, seed=7, listen="127.0.0.1:0", clock=lambda: T0).running() as e:
        yield e


def collected(url: str, table: str, window: int, **query: Any) -> list[Record]:
    with Datalogger.from_url(url, timeout=2.0) as lg:
        return list(lg.collect(table, window=window, **query))


@pytest.mark.parametrize("window", [4, 16])  # window 1: test_client.py, the same link
def test_a_window_collects_the_ground_truth_through_a_lossy_link(
    lossy: LoggerEmulator, window: int
) -> None:
    assert lossy.url is not None
    got = collected(lossy.url, "Table1", window)
    assert rows(got) == rows(lossy.station.records("Table1"))
    (faults, *_) = reversed(lossy.fault_history.values())  # this collection's connection
    assert {"dropped", "corrupted"} & set(faults), "the link did misbehave"


@pytest.mark.parametrize(
    "query",
    [
        {"newest": 1},
        {"newest": 100},
        {"newest": 577},
        {"since_record": 0},
        {"since_record": 345},
        {"start": NOON - dt.timedelta(hours=6)},
        {"start": NOON - dt.timedelta(hours=4), "stop": NOON - dt.timedelta(hours=1)},
        {"stop": NOON - dt.timedelta(hours=7)},
        {"fields": ["BattV_Min", "PTemp_C_Avg"]},
    ],
    ids=repr,
)
def test_every_selection_gives_the_same_records_with_a_window(
    still: LoggerEmulator, query: dict[str, Any]
) -> None:
    assert still.url is not None
    one = collected(still.url, "Table1", 1, **query)
    assert len(one) > 0
    for window in (4, 16):
        assert rows(collected(still.url, "Table1", window, **query)) == rows(one), window


def test_fragmented_records_are_collected_one_request_at_a_time(lossy: LoggerEmulator) -> None:
    """The Status record does not fit one packet: mode 8, whatever the window."""
    assert lossy.url is not None
    status = lossy.station.table_def("Status")
    assert records_per_answer(status) == 0
    for window in WINDOWS:
        assert rows(collected(lossy.url, "Status", window)) == rows(lossy.station.records("Status"))


def test_the_async_client_collects_the_same_with_a_window(still: LoggerEmulator) -> None:
    assert still.url is not None
    url = still.url

    async def main() -> list[Record]:
        async with AsyncDatalogger.from_url(url, timeout=2.0) as lg:
            return [r async for r in lg.collect("Fast", window=8)]

    assert rows(asyncio.run(main())) == rows(still.station.records("Fast"))


# --- more than one request outstanding --------------------------------------------------------


class Counting:
    """Wraps a link: counts Collect Data commands written and answers read, and the
    most that were outstanding at once (written but not yet read)."""

    def __init__(self, url: str) -> None:
        self.link = open_link(url, timeout=5.0)
        self.out = FrameDecoder()
        self.into = FrameDecoder()
        self.asked = 0
        self.answered = 0
        self.most = 0
        write, read = self.link.write, self.link.read

        def counted_write(data: bytes) -> None:
            self.asked += self._collects(self.out, data, bmp5.CollectDataCommand)
            self.most = max(self.most, self.asked - self.answered)
            write(data)

        def counted_read(max_bytes: int = 4096, timeout: float | None = None) -> bytes:
            data = read(max_bytes, timeout)
            self.answered += self._collects(self.into, data, bmp5.CollectDataResponse)
            return data

        self.link.write = counted_write  # type: ignore[method-assign]
        self.link.read = counted_read  # type: ignore[method-assign]

    @staticmethod
    def _collects(decoder: FrameDecoder, data: bytes, kind: type) -> int:
        count = 0
        for raw in decoder.feed(data):
            packet = Packet.decode(raw)
            if not packet.is_link_only and packet.hi_proto is not None:
                count += isinstance(decode_message(packet.hi_proto, packet.body), kind)
        return count


@pytest.mark.parametrize("window", [1, 2, 4, 16])
def test_up_to_window_requests_are_outstanding(still: LoggerEmulator, window: int) -> None:
    """Counted on the wire, not timed: with window k, the (k)th request is written
    before the first answer has been read, and never more than k are outstanding."""
    assert still.url is not None
    counting = Counting(still.url)
    with Datalogger(counting.link, timeout=5.0) as lg:
        got = list(lg.collect("Table1", window=window))
    assert rows(got) == rows(still.station.records("Table1"))
    assert counting.most == window
    assert counting.asked == counting.answered or window > 1  # the rest were abandoned


def test_each_answer_fills_a_packet(still: LoggerEmulator) -> None:
    """The ranges are sized from the record size: no answer comes back short (which
    would ask again for the rest), so 600 records take as many answers as one request
    at a time does; only the requests in flight past the newest record are extra."""
    assert still.url is not None
    table1 = still.station.table_def("Table1")
    per = records_per_answer(table1)
    assert per > 1
    counting = Counting(still.url)
    with Datalogger(counting.link, timeout=5.0) as lg:
        assert len(list(lg.collect("Table1", window=1))) == 600
        single = counting.asked
        counting.asked = counting.answered = 0
        assert len(list(lg.collect("Table1", window=3))) == 600
    answers = -(-600 // per)
    assert single == answers  # mode 3, then mode 4 until MoreRecsExist is 0
    # mode 3, then ranges; the one answered short (the newest record) ends it, and
    # at most window - 1 = 2 requests were in flight past it
    assert answers <= counting.answered <= counting.asked <= answers + 2


# --- ring buffer, table reset -----------------------------------------------------------------


def ring_logger(tmp_path: Path, *, records: int, size: int, clock: Any) -> LoggerEmulator:
    """A logger with one one-minute table, ``Small``, of ``size`` records."""
    station = small_station(tmp_path, records=records, size=size)
    return LoggerEmulator(station=station, listen="127.0.0.1:0", clock=clock, seed=5)


def test_a_wrapped_ring_buffer_gives_the_same_records(tmp_path: Path) -> None:
    """900 records logged into a 250-record ring: the oldest 650 are gone; asking for
    all, or from an overwritten record, starts at the oldest held -- with any window."""
    with ring_logger(tmp_path, records=900, size=250, clock=ManualClock(NOON)).running() as emu:
        assert emu.url is not None
        truth = emu.station.records("Small")
        assert truth[0].number == 650
        for query in ({}, {"since_record": 10}, {"since_record": 700}, {"newest": 240}):
            one = collected(emu.url, "Small", 1, **query)
            assert one and one[-1].number == 899, query
            for window in (4, 16):
                assert rows(collected(emu.url, "Small", window, **query)) == rows(one), query


def test_the_ring_overwriting_what_is_in_flight(tmp_path: Path) -> None:
    """The logger stores faster than it is collected, so ranges already asked for are
    overwritten: records still come out rising, once each, each as the logger held it,
    and the collection ends at the newest record."""
    clock = ManualClock(NOON)
    with ring_logger(tmp_path, records=600, size=200, clock=clock).running() as emu:
        assert emu.url is not None
        with Datalogger.from_url(emu.url, timeout=5.0) as lg:
            numbers: list[int] = []
            for record in lg.collect("Small", window=4):
                numbers.append(record.number)
                if len(numbers) % 20 == 0 and len(numbers) <= 200:
                    clock.advance(60 * 60)  # 60 more records, the oldest 60 overwritten
            newest = emu.station.records("Small")[-1].number
        assert numbers == sorted(set(numbers))
        assert numbers[-1] == newest
        assert numbers[0] == 400  # the oldest held when the collection began
        assert len(numbers) < newest - 400 + 1, "some were overwritten before they were asked"


@pytest.mark.parametrize("window", [1, 4])
def test_a_table_reset_with_requests_in_flight(window: int) -> None:
    """Reset between two records of the stream, with ranges in flight: the answers
    already on their way are the old run's, then TableReset -- never the new run mixed
    in, never a record twice."""
    clock = ManualClock(NOON)
    with LoggerEmulator(records=1500, seed=4, listen="127.0.0.1:0", clock=clock).running() as emu:
        assert emu.url is not None
        truth = {r.number: r for r in emu.station.records("Table1")}
        got: list[Record] = []
        with Datalogger.from_url(emu.url, timeout=5.0) as lg:
            with pytest.raises(TableReset) as info:
                for record in lg.collect("Table1", window=window):
                    got.append(record)
                    if len(got) == 40:
                        lg.reset_table("Table1")
                        clock.advance(3 * 60)
            new_run = [r.number for r in lg.collect("Table1", window=window)]
    numbers = [r.number for r in got]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert rows(got) == rows(truth[n] for n in numbers)
    assert (info.value.last, info.value.first) == (numbers[-1], 0)
    assert new_run == [0, 1, 2]


# --- bad windows ------------------------------------------------------------------------------


@pytest.mark.parametrize("window", [0, -1, 17, 1000, 2.5, True, "4"])
def test_bad_windows_are_refused_before_anything_is_sent(
    still: LoggerEmulator, window: Any
) -> None:
    assert still.url is not None
    counting = Counting(still.url)
    with Datalogger(counting.link, timeout=5.0) as lg, pytest.raises(UsageError, match="window"):
        list(lg.collect("Table1", window=window))
    assert counting.asked == 0


@pytest.mark.parametrize("window", ["0", "17", "x"])
def test_the_cli_refuses_a_bad_window(
    window: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fieldlink.cli import main

    out = str(tmp_path / "out.csv")
    with pytest.raises(SystemExit) as exit_:
        main(["logger", "getdata", "tcp:127.0.0.1:9", "Table1", out, "--window", window])
    assert exit_.value.code == 2
    assert "--window" in capsys.readouterr().err


def test_the_cli_collects_with_a_window(
    still: LoggerEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fieldlink.cli import main

    assert still.url is not None
    files = []
    for window in ("1", "8"):
        out = tmp_path / f"w{window}.csv"
        main(["logger", "getdata", still.url, "Table1", str(out), "--window", window])
        files.append(out.read_bytes())
    assert files[0] == files[1]
    assert len(files[0].splitlines()) == 600 + 1


def test_answers_smaller_than_reckoned_ask_for_the_rest(tmp_path: Path) -> None:
    """A logger whose Max Packet Size is 400 answers each range short, with
    MoreRecsExist: the rest of each range is asked for, ranges shrink to what the
    logger sends, and the records are still all there, in order, once each.

    (The table definitions are read first: the emulator also sends shorter .TDF
    swaths then, which the client takes for the end of the file -- see NOTES.)"""
    with ring_logger(tmp_path, records=400, size=1000, clock=ManualClock(NOON)).running() as emu:
        assert emu.url is not None
        counting = Counting(emu.url)
        with Datalogger(counting.link, timeout=5.0) as lg:
            lg.table_defs()
            lg.set_value("Status", "MaxPacketSize", 400)
            one = list(lg.collect("Small", window=1))
            singly = counting.asked
            counting.asked = counting.answered = 0
            four = list(lg.collect("Small", window=4))
        assert rows(one) == rows(four) == rows(emu.station.records("Small"))
        assert len(one) // singly < records_per_answer(emu.station.table_def("Small")) // 2
        # the first ranges come back short and are completed; then they fit
        assert singly < counting.asked <= singly + 12


def test_a_window_over_a_paced_serial_line() -> None:
    """A pseudo-terminal paced to 115200 baud: the same records with a window (the
    requests written while an answer is on the line; a full-duplex line)."""
    with LoggerEmulator(
        records=150, seed=5, pty=True, baud=115200, clock=lambda: T0
    ).running() as emu:
        assert emu.url is not None
        truth = rows(emu.station.records("Table1"))
        for window in (1, 4):
            assert rows(collected(emu.url, "Table1", window)) == truth, window


def test_other_calls_between_records_with_requests_in_flight(lossy: LoggerEmulator) -> None:
    """The caller asks the time between records while ranges are in flight on a lossy
    link: each answer still reaches its own exchange, and a request of the other call
    queued behind a lost range is resent after one extra wait, not forever."""
    assert lossy.url is not None
    got: list[Record] = []
    with Datalogger.from_url(lossy.url, timeout=2.0) as lg:
        for record in lg.collect("Table1", window=4):
            got.append(record)
            if len(got) % 25 == 0:
                assert lg.gettime() == dt.datetime(2024, 5, 1, 12, 0)
    assert rows(got) == rows(lossy.station.records("Table1"))


def test_a_program_change_with_requests_in_flight() -> None:
    """A new program between two records while ranges are in flight: the answers
    already on their way are the old table's records, in order; the next range gets
    RespCode 7 and TableDefinitionChanged (after the definitions were read again)."""
    from fieldlink.pakbus.operations import TableDefinitionChanged

    from .test_client import NEW_PROGRAM

    emu = LoggerEmulator(
        records=600, seed=4, listen="127.0.0.1:0", clock=lambda: T0, compile_seconds=0.05
    )
    with emu.running():
        assert emu.url is not None
        truth = {r.number: r for r in emu.station.records("Table1")}
        got: list[Record] = []
        with Datalogger.from_url(emu.url, timeout=5.0) as lg:
            with pytest.raises(TableDefinitionChanged):
                for record in lg.collect("Table1", window=4):
                    got.append(record)
                    if len(got) == 40:
                        lg.send_program("hourly.CR1", NEW_PROGRAM)
            assert "Table1" not in lg.list_tables()
    numbers = [r.number for r in got]
    assert len(numbers) > 40
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert rows(got) == rows(truth[n] for n in numbers)
