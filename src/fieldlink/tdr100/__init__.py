"""Campbell Scientific TDR100 time-domain reflectometer: codec, analysis, emulator, client.

The protocol (tdr100.md) is in :mod:`fieldlink.tdr100.protocol`; settings in
:mod:`fieldlink.tdr100.settings`; soil-water physics in :mod:`fieldlink.tdr100.analysis`
and :mod:`fieldlink.tdr100.waveform`; the emulator in :mod:`fieldlink.tdr100.emulator`;
the clients :class:`TDR100` and :class:`AsyncTDR100` (imported on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldlink.kit.lazy import lazy_exports
from fieldlink.tdr100.protocol import MuxPath, TDR100Error, parse_channels
from fieldlink.tdr100.results import Measurement
from fieldlink.tdr100.settings import Settings
from fieldlink.tdr100.waveform import Waveform, WaveformError

if TYPE_CHECKING:
    from fieldlink.tdr100.client import TDR100, AsyncTDR100
    from fieldlink.tdr100.emulator import TDR100Emulator

__all__ = [
    "TDR100",
    "AsyncTDR100",
    "Measurement",
    "MuxPath",
    "Settings",
    "TDR100Emulator",
    "TDR100Error",
    "Waveform",
    "WaveformError",
    "parse_channels",
]

# The clients and the emulator pull in the link layer and the host: load them late.
__getattr__ = lazy_exports(
    __name__, {"TDR100": "client", "AsyncTDR100": "client", "TDR100Emulator": "emulator"}
)
