"""The emulated Tracer: one controller model (:mod:`.model`) and a front per protocol.

:mod:`.clock`, :mod:`.solar` and :mod:`.battery` are the physics the model steps
through; :mod:`.mt5_port` and :mod:`.modbus_port` are kit Ports that turn request
bytes into reply bytes against the shared model.
"""

from __future__ import annotations
