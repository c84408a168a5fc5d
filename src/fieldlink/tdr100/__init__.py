"""Campbell Scientific TDR100 time-domain reflectometer: codec, analysis, emulator, client.

The protocol (tdr100.md) is in :mod:`fieldlink.tdr100.protocol`; settings in
:mod:`fieldlink.tdr100.settings`; soil-water physics in :mod:`fieldlink.tdr100.analysis`
and :mod:`fieldlink.tdr100.waveform`; the emulator's device model in
:mod:`fieldlink.tdr100.emulator`.
"""

from fieldlink.tdr100.protocol import MuxPath, TDR100Error, parse_channels
from fieldlink.tdr100.settings import Settings
from fieldlink.tdr100.waveform import Waveform, WaveformError

__all__ = ["MuxPath", "Settings", "TDR100Error", "Waveform", "WaveformError", "parse_channels"]
