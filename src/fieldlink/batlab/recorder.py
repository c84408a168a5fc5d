"""Where a running test's measurements go: the collection sinks and the official CSV.

Every sample and every phase end becomes a record of two tables per unit --
``Samples`` and ``Phases`` -- in any of fieldlink's sinks (SQLite, TOA5, CSV), with
record numbers continuing from what the sink already holds, so a rerun never
overwrites an earlier test.  The same events are also written in the official
library's CSV layout (batlab.md §7.8) when asked, for existing analysis scripts.
Each record is durable when :meth:`TestRecorder.event` returns: a test that ends in
an error has lost nothing it measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

from fieldlink.batlab.csvlog import OfficialCsvLog, PeriodicRow, SummaryRow
from fieldlink.batlab.testrun import EventKind, TestEvent
from fieldlink.batlab.workflow import LogPeriodic, PhaseEnded
from fieldlink.collect.sampled import append_next, table_def
from fieldlink.pakbus.protocol.model import TableDef, Value
from fieldlink.store.base import Sink, StationInfo, TableWriter

__all__ = ["PHASES", "SAMPLES", "TestRecorder"]

#: The columns that say which cell a row of either table is about.
_CELL: Final = [("cell", "int", ""), ("cell_name", "str", "")]
#: One row per periodic reading.
SAMPLES: Final[TableDef] = table_def(
    "Samples",
    [
        *_CELL,
        ("state", "str", ""),
        ("voltage", "float", "V"),
        ("current", "float", "A"),
        ("temperature", "float", "degC"),
        ("impedance", "float", "ohm"),
        ("energy", "float", "J"),
        ("charge", "float", "C"),
        ("vcc", "float", "V"),
        ("setpoint_raw", "int", ""),
        ("duty", "int", ""),
    ],
)
#: One row per phase end ("level 2" summary).
PHASES: Final[TableDef] = table_def(
    "Phases",
    [
        *_CELL,
        ("phase", "str", ""),
        ("cycle", "int", ""),
        ("charge", "float", "C"),
        ("capacity", "float", "mAh"),
        ("energy", "float", "J"),
        ("impedance", "float", "ohm"),
        ("delta_temperature", "float", "degC"),
        ("current", "float", "A"),
        ("voltage", "float", "V"),
        ("runtime", "float", "s"),
    ],
)


class TestRecorder:
    """Writes a unit's test events to ``sinks`` and, if given, the official CSV log."""

    __test__ = False

    def __init__(
        self,
        serial: int,
        *,
        sinks: Sequence[Sink] = (),
        csv: OfficialCsvLog | None = None,
        cell_names: Mapping[int, str] | None = None,
        station: str | None = None,
    ) -> None:
        self.serial = serial
        self.csv = csv
        self.cell_names = dict(cell_names or {})
        info = StationInfo(
            name=station or f"batlab{serial}",
            model="Batlab V1.0",
            serial_number=str(serial),
            timezone=None,
        )
        self._writers: list[tuple[TableWriter, TableWriter]] = [
            (sink.open_table(info, SAMPLES), sink.open_table(info, PHASES)) for sink in sinks
        ]
        self._started: set[int] = set()

    def name(self, cell: int) -> str:
        return self.cell_names.get(cell, f"{self.serial}-{cell}")

    def _cell(self, cell: int) -> dict[str, Value]:
        """The :data:`_CELL` columns of a row about ``cell``."""
        return {"cell": cell, "cell_name": self.name(cell)}

    def event(self, event: TestEvent) -> None:
        cell = event.cell
        if self.csv is not None and cell not in self._started:
            self._started.add(cell)
            self.csv.start_cell(self.name(cell))
        action = event.action
        if event.kind is EventKind.SAMPLE and isinstance(action, LogPeriodic):
            self._sample(cell, action)
        elif event.kind is EventKind.PHASE and isinstance(action, PhaseEnded):
            self._phase(cell, action)

    def _sample(self, cell: int, a: LogPeriodic) -> None:
        r = a.reading
        values: dict[str, Value] = {
            **self._cell(cell),
            "state": a.state.value,
            "voltage": r.voltage,
            "current": r.current,
            "temperature": r.temperature,
            "impedance": math.nan if r.impedance is None else r.impedance,
            "energy": a.energy,
            "charge": r.charge,
            "vcc": r.vcc,
            "setpoint_raw": r.setpoint,
            "duty": r.duty,
        }
        for samples, _ in self._writers:
            append_next(samples, r.wall, values)
        if self.csv is not None:
            self.csv.periodic(
                PeriodicRow(
                    self.name(cell), str(self.serial), cell, r.wall, r.voltage, r.current,
                    r.temperature, r.impedance, a.energy, r.charge, a.state.value, r.vcc,
                    r.setpoint, a.software_setpoint, r.duty,
                )
            )  # fmt: skip

    def _phase(self, cell: int, a: PhaseEnded) -> None:
        p = a.summary
        values: dict[str, Value] = {
            **self._cell(cell),
            "phase": p.phase.value,
            "cycle": p.cycle,
            "charge": p.charge,
            "capacity": p.capacity_mah,
            "energy": p.energy,
            "impedance": p.impedance,
            "delta_temperature": p.delta_temperature,
            "current": p.current,
            "voltage": p.voltage,
            "runtime": p.runtime,
        }
        for _, phases in self._writers:
            append_next(phases, p.wall, values)
        if self.csv is not None:
            self.csv.summary(SummaryRow(self.name(cell), str(self.serial), cell, p))

    def close(self) -> None:
        for samples, phases in self._writers:
            samples.close()
            phases.close()
        self._writers = []
