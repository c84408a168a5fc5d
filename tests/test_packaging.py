"""pyproject.toml: what the package declares for building, running and testing."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_hatchling_lower_bound_is_one_that_builds() -> None:
    """1.18 fails to build this project (PEP 639 license-files arrived in 1.26)."""
    (requirement,) = project()["build-system"]["requires"]  # type: ignore[index]
    m = re.fullmatch(r"hatchling>=(\d+)\.(\d+)", requirement)
    assert m is not None and (int(m[1]), int(m[2])) >= (1, 26), requirement


def test_tzdata_is_declared_for_systems_without_a_zone_database() -> None:
    deps = project()["project"]["dependencies"]  # type: ignore[index]
    assert any(re.match(r"tzdata\b", d) for d in deps), deps


def test_the_linters_the_suite_runs_are_pinned_to_the_versions_installed() -> None:
    """A new ruff or mypy release must not turn CI red: the test extra pins them."""
    test_extra = project()["project"]["optional-dependencies"]["test"]  # type: ignore[index]
    pins = dict(d.split("==") for d in test_extra if "==" in d)
    assert set(pins) >= {"ruff", "mypy"}, test_extra
    for name in ("ruff", "mypy"):
        assert importlib.metadata.version(name) == pins[name], name


def test_the_example_stations_file_is_inside_the_package() -> None:
    """The wheel holds src/fieldlink only: `fieldlink collect --example` reads it there."""
    assert (ROOT / "src/fieldlink/collect/example_stations.toml").is_file()
    assert project()["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [  # type: ignore[index]
        "src/fieldlink"
    ]
