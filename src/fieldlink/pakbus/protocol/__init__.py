"""The PakBus codec, without I/O: bytes in, typed messages out, and back.

Layers, bottom up: ``signature`` (the CSI check value), ``framing`` (0xBD sync,
quoting, the incremental frame decoder), ``packet`` (the 4- and 8-byte headers),
``linkstate`` (the serial link states), ``messages`` with ``pakctrl`` and
``bmp5`` (every message, both directions), ``codes`` (documented response codes),
``types`` (the data types), ``tabledef``/``directory`` (``.TDF`` and ``.DIR``),
``records`` (compiled record layouts, collect payloads and fragments) and
``model`` (table definitions and records as plain values).  The client and the
emulator both speak through these modules, so each rule is written once.
"""
