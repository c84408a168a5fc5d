"""Lexcelon Batlab V1.0 battery testers (protocol reference: shared/protocols/batlab.md).

``registers``, ``convert`` and ``codec`` are the sans-I/O codec; ``emulator`` the
virtual unit; ``workflow`` the test schedules (sans-I/O); ``session`` and
``operations`` the client's conversations; ``client`` the user's API (``Batlab``,
``AsyncBatlab``); ``pool`` discovery and hot-plug; ``cli`` and ``shell`` the
commands; ``source`` the collector sampler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldlink.kit.lazy import lazy_exports

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


# Lazy, so that importing the codec does not load the client, the kit or pyserial.
__getattr__ = lazy_exports(__name__, _HOMES)
