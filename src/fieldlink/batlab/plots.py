"""PNG plots of a test: voltage, current and temperature against time per cell, and the
capacity of each cycle.  matplotlib is an optional extra, imported only here, only when
a plot is asked for (MissingExtra names the extra if it is absent)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fieldlink.batlab.testrun import EventKind, TestEvent
from fieldlink.batlab.workflow import CellSummary, LogPeriodic
from fieldlink.errors import MissingExtra

__all__ = ["plot_test"]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingExtra("plots need matplotlib: pip install 'fieldlink[plot]'") from exc
    return plt


def plot_test(
    serial: int,
    events: Iterable[TestEvent],
    summaries: Mapping[int, CellSummary],
    directory: str | Path,
) -> list[Path]:
    """Write ``batlab-<serial>-cell<N>.png`` per cell and ``batlab-<serial>-capacity.png``."""
    plt = _pyplot()
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    series: dict[int, list[tuple[float, float, float, float]]] = {}
    for event in events:
        if event.kind is EventKind.SAMPLE and isinstance(event.action, LogPeriodic):
            r = event.action.reading
            series.setdefault(event.cell, []).append((r.t, r.voltage, r.current, r.temperature))
    written = []
    for cell, rows in sorted(series.items()):
        t0 = rows[0][0]
        t = [(row[0] - t0) / 60 for row in rows]
        fig, axes = plt.subplots(3, 1, sharex=True, figsize=(8, 7))
        for ax, index, label in zip(
            axes, (1, 2, 3), ("Voltage (V)", "Current (A)", "Temperature (°C)"), strict=True
        ):
            ax.plot(t, [row[index] for row in rows])
            ax.set_ylabel(label)
            ax.grid(True, alpha=0.3)
        axes[-1].set_xlabel("Time (min)")
        fig.suptitle(f"Batlab {serial} cell {cell}")
        path = out_dir / f"batlab-{serial}-cell{cell}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    caps = {c: s.discharge_capacities for c, s in summaries.items() if s.discharge_capacities}
    if caps:
        fig, ax = plt.subplots(figsize=(8, 4))
        for cell, values in sorted(caps.items()):
            ax.plot(
                range(1, len(values) + 1), [v / 3.6 for v in values], "o-", label=f"cell {cell}"
            )
        ax.set_xlabel("Cycle")
        ax.set_ylabel("Discharge capacity (mAh)")
        ax.legend()
        ax.grid(True, alpha=0.3)
        path = out_dir / f"batlab-{serial}-capacity.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
