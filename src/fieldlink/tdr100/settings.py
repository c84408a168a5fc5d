"""All TDR100 measurement settings as one typed object, with the manual's ranges as data.

``DUMP`` returns nine floats in a fixed order (tdr100.md §2.3); each has a ``S...``
command that sets it and a range from the manual's Instruction 119 (§2.1).  The table
:data:`SETTINGS` holds all of that once: the client validates with it before anything
is encoded (a :class:`~fieldlink.errors.UsageError` that names the valid range), the
emulator answers ``!10`` with the same check, and the CLI takes its names and units
from it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from fieldlink.errors import ProtocolError, UsageError

__all__ = ["SETTINGS", "Setting", "Settings", "setting"]


@dataclass(frozen=True)
class Setting:
    """One setting: its field, wire command, kind, range and units.

    ``low``/``high`` bound the value (None: unbounded); ``low_open`` makes the lower
    bound exclusive (the manual's "> 0").
    """

    name: str
    command: str
    label: str
    units: str
    integer: bool
    low: float | None
    high: float | None
    low_open: bool = False
    aliases: tuple[str, ...] = ()

    def range_text(self) -> str:
        unit = f" {self.units}" if self.units else ""
        if self.high is None:
            op = ">" if self.low_open else ">="
            return f"{op} {_num(self.low)}{unit}"
        return f"{_num(self.low)} to {_num(self.high)}{unit}"

    def check(self, value: float) -> float | int:
        """``value`` as this setting's type, or UsageError naming the valid range."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"{self.name} must be a number, not {value!r}")
        if not math.isfinite(value):
            raise UsageError(f"{self.name} must be finite ({self.range_text()})")
        if self.integer:
            if value != int(value):
                raise UsageError(f"{self.name} must be a whole number ({self.range_text()})")
            value = int(value)
        if not self.contains(value):
            raise UsageError(
                f"{self.label} must be {self.range_text()}, not {_num(value)}"
                if self.high is None
                else f"{self.label} must be in the range {self.range_text()}, not {_num(value)}"
            )
        return value

    def contains(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or value <= self.high

    def parse(self, text: str) -> float | int:
        """A value typed by a person (the CLI's ``set NAME VALUE``)."""
        try:
            value = float(text)
        except ValueError:
            raise UsageError(
                f"{self.name}: {text!r} is not a number ({self.range_text()})"
            ) from None
        return self.check(value)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


#: In DUMP order (§2.3).  ``smooth``'s range is not documented (UNCERTAIN): 0-100 chosen.
SETTINGS: tuple[Setting, ...] = (
    Setting("vp", "S_VP", "relative propagation velocity Vp", "", False, 0.1, 1.0),
    Setting("averages", "SNAV", "waveform averaging", "", True, 1, 128, aliases=("avg",)),
    Setting("points", "SPNT", "waveform points", "", True, 20, 2048),
    # The manual says 0-2100 m; a real capture shows -2.0 accepted (UNCERTAIN), so -2.
    Setting(
        "distance",
        "SDIS",
        "distance to waveform start",
        "m",
        False,
        -2.0,
        2100.0,
        aliases=("cable_length",),
    ),
    Setting("window", "SWLN", "window length", "m", False, 0.1, 700.0, aliases=("window_length",)),
    Setting("probe_length", "SPRL", "probe rod length", "m", False, 0.0, None, low_open=True),
    Setting("probe_offset", "SPRO", "probe offset", "m", False, 0.0, 1.0),
    Setting(
        "cell_constant",
        "SPCC",
        "probe cell constant Kp",
        "1/m",
        False,
        0.0,
        None,
        low_open=True,
        aliases=("kp",),
    ),
    Setting(
        "smooth", "SSMO", "smoothing factor", "", False, 0.0, 100.0, aliases=("smooth_factor",)
    ),
)

_BY_NAME = {name: s for s in SETTINGS for name in (s.name, *s.aliases)}


def setting(name: str) -> Setting:
    """The setting called ``name`` (``probe-length`` and ``probe_length`` both work)."""
    key = name.strip().lower().replace("-", "_")
    try:
        return _BY_NAME[key]
    except KeyError:
        names = ", ".join(s.name.replace("_", "-") for s in SETTINGS)
        raise UsageError(f"unknown setting {name!r}; choose one of {names}") from None


@dataclass(frozen=True)
class Settings:
    """The nine values of ``DUMP`` (§2.3).  Defaults are the emulator's PC-TDR-like ones
    (§8, UNCERTAIN): a real device reports its own."""

    vp: float = 1.0
    averages: int = 4
    points: int = 251
    distance: float = 0.0
    window: float = 5.0
    probe_length: float = 0.15
    probe_offset: float = 0.0
    cell_constant: float = 1.0
    smooth: float = 0.0

    def __post_init__(self) -> None:
        for s in SETTINGS:
            object.__setattr__(self, s.name, s.check(getattr(self, s.name)))

    @classmethod
    def from_dump(cls, values: Sequence[float]) -> Settings:
        """Settings from the floats of a ``#DUMP`` reply (float32, so rounded to 7 digits)."""
        if len(values) < len(SETTINGS):
            raise ProtocolError(
                f"DUMP returned {len(values)} values, not {len(SETTINGS)}",
                message_type="TDR100 DUMP",
            )
        fields = {}
        for s, raw in zip(SETTINGS, values, strict=False):
            value: float = float(f"{raw:.7g}")
            if s.integer:
                value = round(value)
            fields[s.name] = value
        try:
            return cls(**fields)  # type: ignore[arg-type]
        except UsageError as exc:
            raise ProtocolError(
                f"DUMP holds an impossible setting: {exc}", message_type="TDR100 DUMP"
            ) from None

    def dump(self) -> tuple[float, ...]:
        """The nine floats in DUMP order."""
        return tuple(float(getattr(self, s.name)) for s in SETTINGS)

    def replace(self, **changes: float) -> Settings:
        """A copy with ``changes`` (validated; names as in :func:`setting`)."""
        return dataclasses.replace(self, **{setting(k).name: v for k, v in changes.items()})  # type: ignore[arg-type]

    def items(self) -> list[tuple[Setting, float | int]]:
        return [(s, getattr(self, s.name)) for s in SETTINGS]
