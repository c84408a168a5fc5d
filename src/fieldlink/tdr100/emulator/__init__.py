"""The TDR100 emulator's device model (sans-I/O): scene, physics, state and port."""

from fieldlink.tdr100.emulator.model import HANDLERS, TDR100Model, TDR100Port, default_settings
from fieldlink.tdr100.emulator.scene import (
    DEFAULT_SOILS,
    Cable,
    Probe,
    Scene,
    Soil,
    Timing,
    load_scene,
)

__all__ = [
    "DEFAULT_SOILS",
    "HANDLERS",
    "Cable",
    "Probe",
    "Scene",
    "Soil",
    "TDR100Model",
    "TDR100Port",
    "Timing",
    "default_settings",
    "load_scene",
]

from fieldlink.tdr100.emulator.host import TDR100Emulator

__all__ += ["TDR100Emulator"]
