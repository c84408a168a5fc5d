"""Lexcelon Batlab V1.0 battery testers (protocol reference: shared/protocols/batlab.md).

``registers``, ``convert`` and ``codec`` are the sans-I/O codec; ``emulator`` the
virtual unit; ``workflow`` the test schedules (sans-I/O); ``session`` and
``operations`` the client's conversations; ``client`` the user's API (``Batlab``,
``AsyncBatlab``); ``pool`` discovery and hot-plug; ``cli`` and ``shell`` the
commands; ``source`` the collector sampler.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fieldlink.batlab.client import AsyncBatlab, Batlab
    from fieldlink.batlab.emulator import BatlabEmulator, BatlabUnit
    from fieldlink.batlab.pool import Pool
    from fieldlink.batlab.settings import TestSettings, load_settings
    from fieldlink.batlab.workflow import TestKind

__all__ = [
    "AsyncBatlab",
    "Batlab",
    "BatlabEmulator",
    "BatlabUnit",
    "Pool",
    "TestKind",
    "TestSettings",
    "load_settings",
]

_HOMES = {
    "AsyncBatlab": "client",
    "Batlab": "client",
    "BatlabEmulator": "emulator",
    "BatlabUnit": "emulator",
    "Pool": "pool",
    "TestKind": "workflow",
    "TestSettings": "settings",
    "load_settings": "settings",
}


def __getattr__(name: str) -> Any:
    # Lazy, so that importing the codec does not load the client, the kit or pyserial.
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"fieldlink.batlab.{home}"), name)
