"""Captured PakBus byte vectors shared by the tests (see pakbus-vectors.md).

Each ``.hex`` file beside this module holds hex bytes; whitespace and ``#`` comment
lines are ignored.  ``tests/conftest.py`` puts ``tests/pakbus`` on the import path so
test modules can ``from vectors import ...``.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def load_hex(name: str) -> bytes:
    """The bytes of one vectors file."""
    lines = (HERE / name).read_text().splitlines()
    return bytes.fromhex(" ".join(line for line in lines if not line.lstrip().startswith("#")))


#: V11: the complete 4809-byte .TDF of a CR1000 (Status, Table1, Public).
CR1000_TDF = load_hex("cr1000_tdf.hex")
#: V12: a DevConfig Get Settings response frame, unquoted (header ... nullifier).
V12_FRAME = load_hex("cr1000_devconfig_settings.hex")
