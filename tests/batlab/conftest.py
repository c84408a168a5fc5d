from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from memdrive import MemoryDriver

from fieldlink.batlab.emulator import REFERENCE, BatlabUnit, Battery, ManualClock
from fieldlink.batlab.registers import CellRegister

#: The emulator configuration that produced instrument-vectors.md §1.1.
VECTOR_CAL = REFERENCE.with_cell_value(CellRegister.TEMP_CALIB_R, 10000).with_serial(135732)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def unit(clock: ManualClock) -> BatlabUnit:
    return BatlabUnit(clock=clock)


@pytest.fixture
def drv(unit: BatlabUnit, clock: ManualClock) -> MemoryDriver:
    return MemoryDriver(unit, clock)


def vector_unit(clock: ManualClock, **kw: object) -> BatlabUnit:
    flat = ((0.0, 3.69995), (1.0, 3.69995))
    cells = [Battery(ocv_table=flat) for _ in range(4)]
    return BatlabUnit(clock=clock, calibration=VECTOR_CAL, cells=cells, **kw)  # type: ignore[arg-type]
