"""EPsolar / EPEVER Tracer MPPT solar charge controllers (protocol: ``tracer.md``).

Two unrelated protocols share the name: ``mt5`` (first-generation units, a small
binary framed protocol on a TTL meter port) and ``modbus`` (Tracer A/B/AN/BN:
Modbus RTU with the EPEVER register map, spoken through pymodbus behind
:mod:`fieldlink.tracer.modbus.adapter`).  ``emulator`` is one controller model with
a front for each protocol.
"""

from __future__ import annotations
