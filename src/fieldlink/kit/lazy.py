"""Names a package exports but imports on first use (PEP 562).

A family's ``__init__`` lists its clients and emulator, which pull in the link
layer, the host or a third-party library; importing the family for its codec alone
should not load them.  ``__getattr__ = lazy_exports(__name__, {"Name": "module"})``
imports ``package.module`` the first time ``package.Name`` is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` finding each of ``homes`` in its submodule of ``package``."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{home}"), name)

    return __getattr__
