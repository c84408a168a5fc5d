"""Settings shared by the whole suite.

Hypothesis's default 200 ms deadline per example, and its "data generation is too
slow" health check, time the test on the machine that runs it: on a loaded 2-core CI
runner a pause in the scheduler fails them although nothing is wrong.  Speed is
measured in benchmarks/, never asserted here, so neither applies.  The examples stay
random (a failure found by a new example is a real bug, and Hypothesis prints how to
reproduce it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# Shared test data (``from vectors import ...``): see tests/pakbus/vectors/__init__.py.
sys.path.insert(0, str(Path(__file__).parent / "pakbus"))

settings.register_profile("fieldlink", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("fieldlink")
