"""The official library's CSV log layout (batlab.md §7.8), so users' scripts keep working.

The layout is odd -- a "Timestamp (s)" column holding local date-time text, phase
summaries in the "Test Type" column, three unlabelled trailing fields on periodic
lines -- and it is reproduced exactly: the ``format_*`` functions build the lines
(pure), :class:`OfficialCsvLog` appends them to the official file names.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fieldlink.batlab.settings import TestSettings
from fieldlink.batlab.workflow import PhaseSummary
from fieldlink.errors import StoreError

__all__ = [
    "HEADER",
    "OfficialCsvLog",
    "PeriodicRow",
    "SummaryRow",
    "format_periodic",
    "format_settings_preamble",
    "format_summary",
    "format_timestamp",
]

#: The 20-column header, exactly as the official library writes it.
HEADER: Final = (
    "Cell Name,Batlab SN,Channel,Timestamp (s),Voltage (V),Current (A),Temperature (C),"
    "Impedance (Ohm),Energy (J),Charge (Coulombs),Test State,Test Type,"
    "Charge Capacity (Coulombs),Energy Capacity (J),Avg Impedance (Ohm),"
    "delta Temperature (C),Avg Current (A),Avg Voltage,Runtime (s),VCC (V)"
)


def format_timestamp(when: dt.datetime) -> str:
    """Python's ``str(datetime)``: ``YYYY-MM-DD HH:MM:SS.ffffff`` (no fraction when 0)."""
    return str(when.replace(tzinfo=None))


def _f4(value: float) -> str:
    return f"{value:.4f}"


@dataclass(frozen=True, slots=True)
class PeriodicRow:
    """One periodic measurement line (23 fields)."""

    cell_name: str
    serial: str
    cell: int
    when: dt.datetime
    voltage: float
    current: float
    temperature: float
    impedance: float | None
    energy: float
    charge: float
    state: str
    vcc: float
    setpoint_raw: int
    software_setpoint_raw: int
    duty: int


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One phase-end summary line (20 fields, the last empty): a cell's phase summary."""

    cell_name: str
    serial: str
    cell: int
    summary: PhaseSummary


def format_periodic(row: PeriodicRow) -> str:
    z = "" if row.impedance is None else _f4(row.impedance)
    head = [
        row.cell_name,
        row.serial,
        str(row.cell),
        format_timestamp(row.when),
        _f4(row.voltage),
        _f4(row.current),
        _f4(row.temperature),
        z,
        _f4(row.energy),
        _f4(row.charge),
        row.state,
    ]
    tail = [_f4(row.vcc), str(row.setpoint_raw), str(row.software_setpoint_raw), str(row.duty)]
    return ",".join([*head, *([""] * 8), *tail])


def format_summary(row: SummaryRow) -> str:
    p = row.summary
    values = (p.charge, p.energy, p.impedance, p.delta_temperature)
    fields = [
        row.cell_name,
        row.serial,
        str(row.cell),
        format_timestamp(p.wall),
        *([""] * 7),
        p.phase.value,
        *(_f4(v) for v in values),
        _f4(p.current),
        _f4(p.voltage),
        str(float(p.runtime)),
        "",
    ]
    return ",".join(fields)


def format_settings_preamble(settings_text: str) -> str:
    """The settings file as one quoted CSV field (``"`` doubled, newlines kept) + 19 commas."""
    return '"' + settings_text.replace('"', '""') + '"' + "," * 19


class OfficialCsvLog:
    """Appends lines to the official files in ``directory`` (default: the current one).

    With ``individualCellLogs`` periodic lines go to one file per cell (which gets the
    header when its test starts); summaries always go to the main file.
    """

    def __init__(self, settings: TestSettings, directory: str | Path = ".") -> None:
        self.settings = settings
        self.directory = Path(directory)
        self.main = self.directory / settings.log_name
        self._lock = threading.Lock()  # units log from their own threads into one file

    def start_playlist(self, settings_text: str) -> None:
        """What ``batlabutil load settings`` writes: the settings preamble, then the header."""
        self._append(self.main, [format_settings_preamble(settings_text), HEADER])

    def start_cell(self, cell_name: str) -> None:
        if self.settings.individual_cell_logs:
            self._append(self.cell_file(cell_name), [HEADER])

    def cell_file(self, cell_name: str) -> Path:
        return self.directory / self.settings.cell_log_name(cell_name)

    def periodic(self, row: PeriodicRow) -> None:
        target = self.cell_file(row.cell_name) if self.settings.individual_cell_logs else self.main
        self._append(target, [format_periodic(row)])

    def summary(self, row: SummaryRow) -> None:
        self._append(self.main, [format_summary(row)])

    def _append(self, path: Path, lines: list[str]) -> None:
        try:
            with self._lock, path.open("a", encoding="utf-8", newline="") as handle:
                handle.write("".join(line + "\n" for line in lines))
        except OSError as exc:
            raise StoreError(f"{path}: cannot write the CSV log: {exc.strerror or exc}") from exc
