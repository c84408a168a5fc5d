"""kit.lazy: a family's clients and emulator are imported on first use, not with the family."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fieldlink.kit.lazy import lazy_exports


def test_a_family_package_loads_its_client_only_when_asked() -> None:
    code = (
        "import sys, fieldlink.tracer, fieldlink.tdr100, fieldlink.batlab\n"
        "heavy = [f'fieldlink.{f}.client' for f in ('tracer', 'tdr100', 'batlab')]\n"
        "assert not [m for m in heavy if m in sys.modules], sys.modules.keys()\n"
        "from fieldlink.tracer import Tracer\n"
        "assert 'fieldlink.tracer.client' in sys.modules and Tracer.__name__ == 'Tracer'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_unknown_name_is_an_attribute_error() -> None:
    getter = lazy_exports("fieldlink.kit", {"Faults": "faults"})
    assert getter("Faults").__name__ == "Faults"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        getter("Nope")
