"""The Batlab emulator: battery cells, the unit's firmware behaviour, a kit device model."""

from fieldlink.batlab.emulator.battery import LIION_OCV, Battery
from fieldlink.batlab.emulator.calibration import REFERENCE, Calibration
from fieldlink.batlab.emulator.host import BatlabEmulator, make_units
from fieldlink.batlab.emulator.port import BatlabPort
from fieldlink.batlab.emulator.unit import LATCH_PERIOD, TICK, BatlabUnit, Phase
from fieldlink.kit.clock import ManualClock

__all__ = [
    "LATCH_PERIOD",
    "LIION_OCV",
    "REFERENCE",
    "TICK",
    "BatlabEmulator",
    "BatlabPort",
    "BatlabUnit",
    "Battery",
    "Calibration",
    "ManualClock",
    "Phase",
    "make_units",
]
