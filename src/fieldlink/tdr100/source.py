"""A TDR100 as a collector source: one record per sweep of its probes.

A station's ``[[instrument]]`` of ``kind = "tdr100"`` is sampled every ``interval``
(:mod:`fieldlink.collect.sampled`).  Each sample sweeps the channels and gives one
record: per channel its water content (m³/m³), La/L and bulk EC (dS/m) -- NaN for a
channel that failed, so the others are kept.  Options (``options = { ... }``):

- ``channels`` -- the sweep, e.g. ``"1.1-1.8"`` (default ``"1.1-1.8"``; ``"0"`` for a
  probe without multiplexer);
- ``method`` -- ``"topp"`` (default) or ``"ledieu"``; or ``calibration`` -- a list of
  polynomial coefficients c0, c1, ... in Ka (``calibration_variable = "la_l"`` for La/L);
- ``table`` -- the table name (default ``"TDR100"``);
- ``waveforms`` -- a directory: each sweep also saves every channel's waveform there
  as CSV (``<table>_<channel>_<UTC time to the microsecond>.csv``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldlink.collect.sampled import InstrumentInfo, table_def
from fieldlink.errors import (
    ConfigError,
    DeviceError,
    FieldlinkError,
    LinkTimeout,
    ProtocolError,
    UsageError,
)
from fieldlink.pakbus.protocol.model import TableDef, Value
from fieldlink.tdr100 import analysis
from fieldlink.tdr100.client import AsyncTDR100
from fieldlink.tdr100.protocol import MuxPath, parse_channels

if TYPE_CHECKING:
    from fieldlink.collect.config import StationConfig

__all__ = ["OPTIONS", "TDR100Sampler", "field_prefix", "open_sampler"]

#: Option keys this source understands.
OPTIONS = frozenset(
    {"channels", "method", "calibration", "calibration_variable", "table", "waveforms"}
)


def field_prefix(path: MuxPath) -> str:
    """A field-name-safe spelling of a channel: ``1.3`` -> ``c1_3``, ``1.2/2.5`` -> ``c1_2_2_5``."""
    if not path.hops:
        return "c0"
    return "c" + "_".join(f"{level}_{channel}" for level, channel in path.hops)


class TDR100Sampler:
    """Sweeps the configured channels once per :meth:`sample`."""

    def __init__(
        self,
        tdr: AsyncTDR100,
        channels: Sequence[MuxPath],
        *,
        method: analysis.Method = "topp",
        table: str = "TDR100",
        waveforms: Path | None = None,
    ) -> None:
        self.tdr = tdr
        self.channels = list(channels)
        self.method = method
        self.table = table
        self.waveforms = waveforms

    async def info(self) -> InstrumentInfo:
        v = await self.tdr.versions()
        return InstrumentInfo("TDR100", os_version=f"{v.os_version:g} (0x{v.os_signature:04X})")

    def tables(self) -> Sequence[TableDef]:
        fields: list[tuple[str, str, str]] = []
        for path in self.channels:
            p = field_prefix(path)
            fields += [(f"{p}_theta", "float", "m3/m3"), (f"{p}_la_l", "float", "1"),
                       (f"{p}_ec", "float", "dS/m")]  # fmt: skip
        fields.append(("failed", "int", "channels"))
        return [table_def(self.table, fields)]

    async def sample(self) -> Mapping[str, Mapping[str, Value]]:
        row: dict[str, Value] = {}
        failed = 0
        async for m in self.tdr.sweep(self.channels, method=self.method):
            p = field_prefix(m.path)
            if not m.ok:
                failed += 1
            row[f"{p}_theta"] = m.water_content
            row[f"{p}_la_l"] = m.la_l
            row[f"{p}_ec"] = m.ec * 10 if m.ok else math.nan
            if self.waveforms is not None and m.ok:
                await self._keep_waveform(m.path)
        row["failed"] = failed
        return {self.table: row}

    async def _keep_waveform(self, path: MuxPath) -> None:
        assert self.waveforms is not None
        try:
            wave = await self.tdr.last_waveform()
        except (DeviceError, ProtocolError, LinkTimeout):
            return  # the numbers are stored; a missing picture is not worth the record
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        self.waveforms.mkdir(parents=True, exist_ok=True)
        name = f"{self.table}_{field_prefix(path)}_{stamp}.csv"
        wave.to_csv(self.waveforms / name)


def _options(station: StationConfig) -> dict[str, Any]:
    options = dict(station.options)
    unknown = set(options) - OPTIONS
    if unknown:
        raise ConfigError(
            f"station {station.name}: unknown tdr100 option(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(OPTIONS))}"
        )
    out: dict[str, Any] = {}
    where = f"station {station.name}: options"
    try:
        out["channels"] = parse_channels(str(options.get("channels", "1.1-1.8")))
        if "calibration" in options:
            coefficients = options["calibration"]
            if not isinstance(coefficients, list):
                raise UsageError("calibration must be a list of numbers")
            variable = options.get("calibration_variable", "ka")
            if variable not in ("ka", "la_l"):
                raise UsageError("calibration_variable must be 'ka' or 'la_l'")
            out["method"] = analysis.Calibration(tuple(float(c) for c in coefficients), variable)
        else:
            method = options.get("method", "topp")
            if method not in ("topp", "ledieu"):
                raise UsageError(f"method must be 'topp' or 'ledieu', not {method!r}")
            out["method"] = method
        table = options.get("table", "TDR100")
        if not isinstance(table, str) or not table.isidentifier():
            raise UsageError(f"table must be a name of letters, digits and _, not {table!r}")
        out["table"] = table
        if "waveforms" in options:
            out["waveforms"] = Path(str(options["waveforms"]))
    except (FieldlinkError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return out


def open_sampler(station: StationConfig) -> AbstractAsyncContextManager[TDR100Sampler]:
    """The collector's entry point: a connected sampler for one cycle."""
    options = _options(station)

    @asynccontextmanager
    async def opened() -> AsyncIterator[TDR100Sampler]:
        tdr = await AsyncTDR100.from_url(station.url, timeout=station.timeout)
        try:
            yield TDR100Sampler(tdr, **options)
        finally:
            await tdr.close()

    return opened()
