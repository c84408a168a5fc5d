"""The Modbus generation of Tracer controllers (``tracer.md`` Part B).

:mod:`.registers` is the EPEVER register map as data, :mod:`.values` the typed
objects decoded from it, :mod:`.settings` the battery settings block and its
rules, :mod:`.sparse` the proprietary FC 0x43 read, and :mod:`.adapter` the one
module that touches pymodbus.
"""

from __future__ import annotations
