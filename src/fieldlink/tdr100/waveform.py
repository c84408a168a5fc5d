"""A reflection waveform as a small typed object, and the search for the probe in it.

Values are reflection coefficients ρ at N points spaced evenly from the window start
D over the window W: x_i = D + i·W/(N-1) (tdr100.md §7.1).  The probe's start and
end are found the way the TDR100's own algorithm does (MAN §9.2, our reading):

1. the first derivative by the device's 5-sample rule (§7.1: d_k = (ρ_{k+5} - ρ_k)/5,
   belonging to index k + 2.5), the same N - 5 values ``GNDR`` returns;
2. the probe start: the first derivative value above the threshold
   a·max(d) + b·mean + c·sd of the 10 values before it (defaults a=0, b=1, c=2, MAN
   p. 34), and at least a quarter of the largest rise (so noise on the cable cannot
   trip it), climbed to its local maximum; the start is where the tangent there
   crosses the mean level of the 10 points before the rise;
3. the probe end: the steepest rise after the start edge has passed, its tangent
   crossing the horizontal line through the level just before that rise (the
   classic dual-tangent construction).

Both edges are located the same way, so a blur of the reflection shifts them alike
and the probe offset absorbs what remains (PRB A.3.2).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fieldlink.errors import FieldlinkError, UsageError
from fieldlink.tdr100 import analysis
from fieldlink.tdr100.protocol.mux import MuxPath
from fieldlink.tdr100.settings import Settings

__all__ = ["DERIVATIVE_SPAN", "ProbeEdges", "Waveform", "WaveformError", "derivative", "find_probe"]

#: Samples the derivative spans (§7.1): N values give N - 5 derivative values.
DERIVATIVE_SPAN = 5
#: Points before a rise that set its threshold and baseline (MAN p. 34).
BASELINE_POINTS = 10
#: Fewest points a baseline may have (the probe may start close to the window's start).
MIN_BASELINE = 3
#: A rise begins where its derivative is this share of its steepest value.
ONSET_SHARE = 0.1
#: A rise smaller than this share of the largest one is not the probe start ...
MIN_RISE_SHARE = 0.1
#: ... nor is one that climbs less than this (ρ over the derivative's span): noise.
MIN_RISE = 0.05


class WaveformError(FieldlinkError):
    """A waveform does not show a probe (no start or end reflection could be found)."""


def derivative(values: Sequence[float]) -> list[float]:
    """The 5-sample derivative (§7.1): N - 5 values, value k at index k + 2.5."""
    n = DERIVATIVE_SPAN
    return [(values[k + n] - values[k]) / n for k in range(len(values) - n)]


@dataclass(frozen=True)
class ProbeEdges:
    """Fractional indices of the probe's start and end, and the noise RMS before it."""

    start: float
    end: float
    rms: float


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    m = analysis.mean(values)
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / len(values))


def _value_at(values: Sequence[float], index: float) -> float:
    lo = max(0, min(len(values) - 2, math.floor(index)))
    frac = index - lo
    return values[lo] * (1 - frac) + values[lo + 1] * frac


def _steepest(d: Sequence[float], first: int, floor: float) -> int:
    """The steepest point of the rise that begins at ``first`` (it lasts while d >= floor);
    a maximum over the whole rise, so noise on its flank cannot stop the search early."""
    end = first
    while end + 1 < len(d) and d[end + 1] >= floor:
        end += 1
    return max(range(first, end + 1), key=d.__getitem__)


def _tangent_crossing(values: Sequence[float], d: Sequence[float], k: int, level: float) -> float:
    centre = k + DERIVATIVE_SPAN / 2
    return centre - (_value_at(values, centre) - level) / d[k]


def _onset(d: Sequence[float], peak: int, floor: int) -> int:
    """Walk back from a rise's steepest point to where it began (a tenth of its slope)."""
    k = peak
    while k > floor and d[k - 1] > ONSET_SHARE * d[peak]:
        k -= 1
    return k


def _passed(d: Sequence[float], peak: int) -> int:
    """The first index after a rise's steepest point where it has died down (to a tenth)."""
    k = peak
    while k < len(d) and d[k] > ONSET_SHARE * d[peak]:
        k += 1
    return k


def find_probe(values: Sequence[float]) -> ProbeEdges:
    """The probe's start and end indices in ``values`` (see the module docstring)."""
    if any(not math.isfinite(v) for v in values):
        raise WaveformError("waveform holds values that are not finite")
    d = derivative(values)
    if len(d) < MIN_BASELINE + 4:
        raise WaveformError(f"waveform of {len(values)} points is too short to find a probe")
    biggest = max(d)
    if biggest <= 0:
        raise WaveformError("no rising reflection in the waveform: no probe start")
    significant = MIN_RISE_SHARE * biggest
    k = MIN_BASELINE
    while True:
        first = next((j for j in range(k, len(d)) if d[j] >= significant), None)
        if first is None:
            raise WaveformError("no rise of the probe start in the waveform")
        peak_k = _steepest(d, first, significant / 2)
        onset = _onset(d, first, MIN_BASELINE)
        k = _passed(d, peak_k)
        if max(values[onset : k + DERIVATIVE_SPAN + 1]) - values[onset] >= MIN_RISE:
            break
    before = values[max(0, onset - BASELINE_POINTS + 1) : onset + 1]
    base = analysis.mean(before)
    noise = analysis.rms([x - base for x in before])
    start = _tangent_crossing(values, d, peak_k, base)
    rest = range(k, len(d))
    if len(rest) < 2:
        raise WaveformError(
            "the waveform ends at the probe start: no probe end (window too short?)"
        )
    end_k = max(rest, key=d.__getitem__)
    if d[end_k] <= significant / 2:
        raise WaveformError("no rise after the probe start: no probe end")
    onset = _onset(d, end_k, k)
    level = analysis.mean(values[max(0, onset - 1) : onset + 2])
    end = _tangent_crossing(values, d, end_k, level)
    if not start < end:
        raise WaveformError("probe end found before its start")
    return ProbeEdges(start, end, noise)


@dataclass(frozen=True)
class Waveform:
    """ρ at N evenly spaced points, with the settings it was taken with.

    ``path`` is the multiplexer path it came from; ``calibrated`` False for one taken
    with ``GNWA``/``ANWA``.
    """

    values: tuple[float, ...]
    settings: Settings = field(default_factory=Settings)
    path: MuxPath | None = None
    calibrated: bool = True

    def __post_init__(self) -> None:
        if len(self.values) < 2:
            raise UsageError("a waveform needs at least 2 points")

    @property
    def step(self) -> float:
        """Distance between neighbouring points, m: W/(N-1)."""
        return self.settings.window / (len(self.values) - 1)

    @property
    def distances(self) -> tuple[float, ...]:
        """Apparent distance of each point from the front panel, m (§7.1)."""
        d0, step = self.settings.distance, self.step
        return tuple(d0 + i * step for i in range(len(self.values)))

    def derivative(self) -> list[float]:
        return derivative(self.values)

    def edges(self) -> ProbeEdges:
        """The probe's start and end (indices) and the RMS noise before it."""
        return find_probe(self.values)

    def la_l(self, edges: ProbeEdges | None = None) -> float:
        """La/L from this waveform's probe edges and its settings (PRB eq. A1)."""
        e = edges or self.edges()
        s = self.settings
        return analysis.la_l(
            e.start,
            e.end,
            points=len(self.values),
            window=s.window,
            vp=s.vp,
            probe_length=s.probe_length,
            probe_offset=s.probe_offset,
        )

    def water_content(self, method: analysis.Method = "topp") -> float:
        return analysis.water_content(self.la_l(), method)

    def rho_inf(self, tail: int = 10) -> float:
        """The settled reflection coefficient: the mean of the last ``tail`` points.

        Only meaningful when the window reaches well past the probe end (§7.3).
        """
        return analysis.mean(self.values[-tail:])

    # --- files -------------------------------------------------------------------------

    def to_csv(self, target: str | Path | io.TextIOBase | None = None) -> str:
        """CSV of index, distance and ρ, preceded by ``#`` lines with the settings.

        Written to ``target`` (a path or a text stream) when given; returned as text.
        """
        out = io.StringIO()
        for s, value in self.settings.items():
            out.write(f"# {s.name}={value}\n")
        if self.path is not None:
            out.write(f"# path={self.path}\n")
        out.write(f"# calibrated={self.calibrated}\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["index", "distance_m", "rho"])
        for i, (x, v) in enumerate(zip(self.distances, self.values, strict=True)):
            writer.writerow([i, f"{x:.6f}", f"{v:.7g}"])
        text = out.getvalue()
        if isinstance(target, str | Path):
            Path(target).write_text(text, encoding="utf-8")
        elif target is not None:
            target.write(text)
        return text

    @classmethod
    def from_csv(cls, source: str | Path) -> Waveform:
        """Read what :meth:`to_csv` wrote (``source`` is a path)."""
        try:
            lines = Path(source).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UsageError(f"cannot read waveform {source}: {exc.strerror}") from None
        meta: dict[str, str] = {}
        rows = []
        for line in lines:
            if line.startswith("#"):
                key, _, value = line[1:].strip().partition("=")
                meta[key] = value
            elif line and not line.startswith("index"):
                rows.append(line.split(","))
        try:
            values = tuple(float(r[2]) for r in rows)
            settings = Settings(**{s.name: float(meta[s.name]) for s, _ in Settings().items()})  # type: ignore[arg-type]
        except (KeyError, IndexError, ValueError) as exc:
            raise UsageError(f"{source} is not a fieldlink waveform CSV ({exc})") from None
        path = MuxPath.parse(meta["path"]) if "path" in meta else None
        return cls(values, settings, path, meta.get("calibrated", "True") == "True")

    def plot(self, target: str | Path, *, title: str | None = None) -> Path:
        """A PNG of ρ against distance with the probe start and end marked.

        Needs matplotlib (``pip install 'fieldlink[plot]'``).
        """
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise UsageError(
                "plotting a waveform needs matplotlib: pip install 'fieldlink[plot]'"
            ) from None
        fig, ax = plt.subplots(figsize=(8, 4.5))
        try:
            ax.plot(self.distances, self.values, color="tab:blue", lw=1.2, label="waveform")
            try:
                e = self.edges()
            except WaveformError:
                e = None
            if e is not None:
                d0 = self.settings.distance
                for idx, name, colour in (
                    (e.start, "start", "tab:green"),
                    (e.end, "end", "tab:red"),
                ):
                    x = d0 + idx * self.step
                    ax.axvline(x, color=colour, ls="--", lw=1)
                    ax.annotate(
                        f"{name} {x:.3f} m",
                        (x, 0.95),
                        xycoords=("data", "axes fraction"),
                        color=colour,
                        ha="left",
                        fontsize=8,
                    )
            ax.set_xlabel("apparent distance (m)")
            ax.set_ylabel("reflection coefficient ρ")
            where = f" — channel {self.path}" if self.path is not None else ""
            ax.set_title(title or f"TDR100 waveform{where}")
            ax.grid(True, alpha=0.3)
            out = Path(target)
            fig.savefig(out, format="png", dpi=100)
        finally:
            plt.close(fig)
        return out
