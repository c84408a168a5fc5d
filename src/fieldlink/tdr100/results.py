"""What TDR100 conversations return: small frozen records, no behaviour beyond display."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fieldlink.tdr100.protocol.mux import MuxPath

__all__ = ["CellConstant", "Measurement", "Timing", "Versions"]


@dataclass(frozen=True)
class Measurement:
    """One probe's reading: La/L (GMOS), what it means, and bulk EC (GCON).

    ``error`` is set (and the numbers NaN) for a channel that failed in a sweep;
    ``ec25`` is present when a soil temperature was given.
    """

    path: MuxPath
    la_l: float
    permittivity: float
    water_content: float
    ec: float
    ec25: float | None = None
    error: str | None = None

    @classmethod
    def failed(cls, path: MuxPath, error: BaseException | str) -> Measurement:
        nan = math.nan
        return cls(path, nan, nan, nan, nan, None, str(error))

    @property
    def ok(self) -> bool:
        return self.error is None

    def row(self) -> dict[str, object]:
        """The record a table or CSV line shows (EC in dS/m, as soil scientists write it)."""
        return {
            "channel": str(self.path),
            "la_l": None if not self.ok else round(self.la_l, 4),
            "ka": None if not self.ok else round(self.permittivity, 3),
            "water_content": None if not self.ok else round(self.water_content, 4),
            "ec_dS_m": None if not self.ok else round(self.ec * 10, 5),
            "ec25_dS_m": None if self.ec25 is None else round(self.ec25 * 10, 5),
            "error": self.error or "",
        }


@dataclass(frozen=True)
class Versions:
    """GVER: boot code and OS, each a version and a signature."""

    boot_version: float
    boot_signature: int
    os_version: float
    os_signature: int


@dataclass(frozen=True)
class Timing:
    """GTIM's "time values" (§2.4: 3 values, possibly 4; units UNCERTAIN, seconds in the
    emulator): power delay, waveform acquisition, moisture result, and any extra."""

    power_delay: float
    acquisition: float
    moisture: float
    extra: tuple[float, ...] = ()


@dataclass(frozen=True)
class CellConstant:
    """CCCC's answer: the probe's cell constant Kp (1/m) and the smoothing factor."""

    cell_constant: float
    smooth: float
