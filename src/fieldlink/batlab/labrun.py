"""Running a test on several units at once, each in its own thread, recording everything.

What the CLI's ``charge``/``discharge``/``cycle``/``impedance``/``test`` commands and
the shell share: a unit runs its cells' schedules (:meth:`Batlab.iter_test`), each
event is recorded (sinks opened in the unit's thread, the official CSV) and passed
on for display; an error of one unit -- unplugged, watchdog -- ends that unit's run
only, with its measurements kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fieldlink.batlab.client import Batlab
from fieldlink.batlab.csvlog import OfficialCsvLog
from fieldlink.batlab.recorder import TestRecorder
from fieldlink.batlab.settings import TestSettings
from fieldlink.batlab.testrun import TestEvent, TestRun
from fieldlink.batlab.workflow import TestKind
from fieldlink.errors import FieldlinkError
from fieldlink.store import open_sink
from fieldlink.store.base import Sink

__all__ = ["UnitResult", "run_on_units"]


@dataclass
class UnitResult:
    unit: Batlab
    run: TestRun
    error: FieldlinkError | None = None


def run_on_units(
    units: Sequence[Batlab],
    settings: TestSettings,
    kind: TestKind,
    *,
    cells: Sequence[int] | None = None,
    output: Path | None = None,
    settings_text: str | None = None,
    sinks: Sequence[tuple[str, str]] = (),
    on_event: Callable[[Batlab, TestEvent], None] | None = None,
    poll: float | None = None,
    runs: list[TestRun] | None = None,
) -> list[UnitResult]:
    """Run ``kind`` on ``cells`` (default all four) of every unit; results in unit order.

    ``runs``, if given, receives each unit's :class:`TestRun` as soon as it exists, so
    another thread can follow it or :meth:`~TestRun.request_stop` it.
    """
    csv = OfficialCsvLog(settings, output) if output is not None else None
    if csv is not None:
        output.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        if settings_text is not None:
            csv.start_playlist(settings_text)
    chosen = dict.fromkeys(cells, kind) if cells is not None else None
    results = [UnitResult(u, u.start_test(settings, kind, chosen)) for u in units]
    if runs is not None:
        runs.extend(r.run for r in results)
    threads = [
        threading.Thread(
            target=_one, args=(r, csv, sinks, on_event, poll), name=f"batlab-{r.unit.serial}"
        )
        for r in results
    ]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:  # Ctrl-C: stop every cell before leaving, keep the data
        for r in results:
            r.run.request_stop("interrupted by the user")
        for t in threads:
            t.join()
        raise
    return results


def _one(
    result: UnitResult,
    csv: OfficialCsvLog | None,
    sink_specs: Sequence[tuple[str, str]],
    on_event: Callable[[Batlab, TestEvent], None] | None,
    poll: float | None,
) -> None:
    unit = result.unit
    opened: list[Sink] = []
    recorder: TestRecorder | None = None
    try:
        opened = [open_sink(kind, path) for kind, path in sink_specs]
        recorder = TestRecorder(unit.serial, sinks=opened, csv=csv)
        for event in unit.iter_test(result.run, poll=poll):
            recorder.event(event)
            if on_event is not None:
                on_event(unit, event)
    except FieldlinkError as exc:
        result.error = exc
    finally:
        if recorder is not None:
            recorder.close()
        for sink in opened:
            sink.close()
