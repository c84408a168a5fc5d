"""EPsolar / EPEVER Tracer MPPT solar charge controllers (protocol: ``tracer.md``).

Two unrelated protocols share the name: ``mt5`` (first-generation units, a small
binary framed protocol on a TTL meter port) and ``modbus`` (Tracer A/B/AN/BN:
Modbus RTU with the EPEVER register map, spoken through pymodbus behind
:mod:`fieldlink.tracer.modbus.adapter`).  ``emulator`` is one controller model with
a front for each protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldlink.kit.lazy import lazy_exports

if TYPE_CHECKING:
    from fieldlink.tracer.client import AsyncTracer, Tracer
    from fieldlink.tracer.emulator.host import TracerEmulator

__all__ = ["AsyncTracer", "Tracer", "TracerEmulator"]


# Lazy: importing the codecs (fieldlink.tracer.mt5) does not load the client or pymodbus.
__getattr__ = lazy_exports(
    __name__, {"Tracer": "client", "AsyncTracer": "client", "TracerEmulator": "emulator.host"}
)
