"""Shared test data for the tracer family (``from tracer_vectors import ...``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
