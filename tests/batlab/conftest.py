from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from batlab_support import MemoryDriver

from fieldlink.batlab.emulator import BatlabUnit, ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def unit(clock: ManualClock) -> BatlabUnit:
    return BatlabUnit(clock=clock)


@pytest.fixture
def drv(unit: BatlabUnit, clock: ManualClock) -> MemoryDriver:
    return MemoryDriver(unit, clock)
