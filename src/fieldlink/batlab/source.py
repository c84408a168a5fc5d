"""A Batlab as a collector source: the four cells sampled every ``interval``.

stations.toml::

    [[instrument]]
    kind = "batlab"
    name = "lab-tester-1"
    url = "/dev/ttyACM0"          # or serial:/dev/ttyACM0:38400, or an emulator's URL
    interval = 60
    sinks = ["sqlite:lab.sqlite"]
    options = { cells = [0, 1, 2, 3], handshake = false }

Options: ``cells`` (which cells, default all four); ``handshake`` (default false:
the collector only reads, it does not put cells to IDLE as the official connect
sequence does, so sampling never disturbs a test another program is running).
One table, ``Cells``, with per-cell fields ``c<N>_voltage`` ... ``c<N>_mode``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fieldlink.batlab import operations as ops
from fieldlink.batlab.client import AsyncBatlab
from fieldlink.batlab.registers import CELLS, CellRegister, UnitRegister
from fieldlink.collect.config import StationConfig
from fieldlink.collect.sampled import InstrumentInfo, table_def
from fieldlink.errors import ConfigError, FieldlinkError
from fieldlink.pakbus.protocol.model import TableDef, Value

__all__ = ["BatlabSampler", "open_sampler"]

_FIELDS = (
    ("voltage", "float", "V"),
    ("current", "float", "A"),
    ("temperature", "float", "degC"),
    ("charge", "float", "C"),
    ("mode", "str", ""),
    ("error", "int", ""),
)
_KNOWN_OPTIONS = {"cells", "handshake"}


def _cells(options: Mapping[str, Any]) -> tuple[int, ...]:
    unknown = set(options) - _KNOWN_OPTIONS
    if unknown:
        raise ConfigError(f"batlab options: unknown key {sorted(unknown)[0]!r}")
    cells = options.get("cells", list(range(CELLS)))
    if not isinstance(cells, list | tuple) or not cells:
        raise ConfigError("batlab option cells: a list of cell numbers 0-3")
    for c in cells:
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < CELLS:
            raise ConfigError(f"batlab option cells: {c!r} is not a cell number 0-3")
    return tuple(sorted(set(cells)))


class BatlabSampler:
    """Samples the chosen cells of one unit."""

    def __init__(self, unit: AsyncBatlab, cells: Sequence[int]) -> None:
        self.unit = unit
        self.cells = tuple(cells)
        fields = [
            (f"c{c}_{name}", kind, units) for c in self.cells for name, kind, units in _FIELDS
        ]
        self._table = table_def("Cells", fields)
        self._cal: dict[int, tuple[int, int]] = {}

    async def info(self) -> InstrumentInfo:
        if not self.unit.info.serial:
            low = await self.unit.read(4, UnitRegister.SERIAL_NUM)
            high = await self.unit.read(4, UnitRegister.DEVICE_ID)
            version = await self.unit.read(4, UnitRegister.FIRMWARE_VER)
            self.unit.info = ops.UnitInfo(low + 65536 * high, version, False)
        i = self.unit.info
        return InstrumentInfo(
            "Batlab V1.0", serial_number=str(i.serial), os_version=str(i.firmware)
        )

    def tables(self) -> Sequence[TableDef]:
        return [self._table]

    async def _calibration(self, cell: int) -> tuple[int, int]:
        if cell not in self._cal:
            r = await self.unit.read(cell, CellRegister.TEMP_CALIB_R)
            b = await self.unit.read(cell, CellRegister.TEMP_CALIB_B)
            self._cal[cell] = (r, b)
        return self._cal[cell]

    async def sample(self) -> Mapping[str, Mapping[str, Value]]:
        values: dict[str, Value] = {}
        for cell in self.cells:
            r, b = await self._calibration(cell)
            try:
                s = await self.unit.run(ops.cell_snapshot(cell, r, b))
            except FieldlinkError:
                continue  # the fields stay NaN/absent for this cell; the others are kept
            values[f"c{cell}_voltage"] = s.voltage
            values[f"c{cell}_current"] = s.current
            values[f"c{cell}_temperature"] = (
                float("nan") if s.temperature is None else s.temperature
            )
            values[f"c{cell}_charge"] = s.charge
            values[f"c{cell}_mode"] = s.mode_name
            values[f"c{cell}_error"] = int(s.error)
        return {"Cells": values}


def open_sampler(station: StationConfig) -> AbstractAsyncContextManager[BatlabSampler]:
    """The collector's entry point (see :mod:`fieldlink.collect.sampled`)."""
    cells = _cells(station.options)
    handshake = station.options.get("handshake", False)
    if not isinstance(handshake, bool):
        raise ConfigError("batlab option handshake: true or false")

    @asynccontextmanager
    async def opened() -> AsyncIterator[BatlabSampler]:
        unit = await AsyncBatlab.open(station.url, timeout=station.timeout, handshake=handshake)
        try:
            yield BatlabSampler(unit, cells)
        finally:
            await unit.close()

    return opened()
