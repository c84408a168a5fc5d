"""Fixtures for the TDR100 tests: an emulated device on a hand-driven clock."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tdr100_bench import Bench, Clock

from fieldlink.tdr100.emulator import TDR100Model


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bench(clock: Clock) -> Bench:
    return Bench(TDR100Model(clock=clock), clock)


@pytest.fixture
def make_bench(clock: Clock) -> Callable[..., Bench]:
    def make(**kw: object) -> Bench:
        return Bench(TDR100Model(clock=clock, **kw), clock)  # type: ignore[arg-type]

    return make
