"""Batlab namespaces, registers, codes and bit fields, with their access rules as data.

Everything here is a fact of the firmware (batlab.md §3, §4), named once so the
codec, the client, the emulator and the shell read the same table.  A register's
:class:`Access` says what the *device* does with a write: ``RW`` stores it and
answers 0x0000, ``EEPROM`` also keeps it across resets, ``RO`` answers 0x0101
(rejected), ``SERIAL`` is writable only while blank (0xFFFF) or in DEBUG, and
``ACTION`` is a write that does something rather than store a value (BOOTLOAD).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from fieldlink.errors import UsageError

__all__ = [
    "CELLS",
    "CELL_REGISTERS",
    "COMMAND_ERROR",
    "COMMS_REGISTERS",
    "UNIT_REGISTERS",
    "Access",
    "BootRegister",
    "CellRegister",
    "CommsRegister",
    "ErrorFlag",
    "Kind",
    "LedCode",
    "Mode",
    "Namespace",
    "RegisterSpec",
    "SettingsFlag",
    "StatusFlag",
    "UnitRegister",
    "register_enum",
    "register_spec",
]

#: The value the device answers for an unknown register and for a rejected write.
COMMAND_ERROR: Final = 0x0101
#: Cells per unit.
CELLS: Final = 4


class Namespace(enum.IntEnum):
    """Byte 1 of every packet: which part of the unit a register belongs to."""

    CELL0 = 0x00
    CELL1 = 0x01
    CELL2 = 0x02
    CELL3 = 0x03
    UNIT = 0x04
    BOOTLOADER = 0x05
    COMMS = 0xFF

    @classmethod
    def cell(cls, number: int) -> Namespace:
        """The namespace of cell ``number`` (0..3); UsageError for any other number."""
        if not 0 <= number < CELLS:
            raise UsageError(f"cell {number} out of range 0..{CELLS - 1}")
        return cls(number)


class CellRegister(enum.IntEnum):
    """Registers of each cell namespace (batlab.md §3.1)."""

    MODE = 0x00
    ERROR = 0x01
    STATUS = 0x02
    CURRENT_SETPOINT = 0x03
    REPORT_INTERVAL = 0x04
    TEMPERATURE = 0x05
    CURRENT = 0x06
    VOLTAGE = 0x07
    CHARGEL = 0x08
    CHARGEH = 0x09
    VOLTAGE_LIMIT_CHG = 0x0A
    VOLTAGE_LIMIT_DCHG = 0x0B
    CURRENT_LIMIT_CHG = 0x0C
    CURRENT_LIMIT_DCHG = 0x0D
    TEMP_LIMIT_CHG = 0x0E
    TEMP_LIMIT_DCHG = 0x0F
    DUTY = 0x10
    COMPENSATION = 0x11
    CURRENT_PP = 0x12
    VOLTAGE_PP = 0x13
    CURRENT_CALIB_OFF = 0x14
    CURRENT_CALIB_SCA = 0x15
    TEMP_CALIB_R = 0x16
    TEMP_CALIB_B = 0x17
    CURRENT_CALIB_PP = 0x18
    VOLTAGE_CALIB_PP = 0x19
    CURR_CALIB_PP_OFF = 0x1A
    VOLT_CALIB_PP_OFF = 0x1B
    CURR_LOWV_SCA = 0x1C
    CURR_LOWV_OFF = 0x1D
    CURR_LOWV_OFF_SCA = 0x1E


class UnitRegister(enum.IntEnum):
    """Registers of the unit namespace 0x04 (batlab.md §3.2)."""

    SERIAL_NUM = 0x00
    DEVICE_ID = 0x01
    FIRMWARE_VER = 0x02
    VCC = 0x03
    SINE_FREQ = 0x04
    SYSTEM_TIMER = 0x05
    SETTINGS = 0x06
    SINE_OFFSET = 0x07
    SINE_MAGDIV = 0x08
    LED_MESSAGE = 0x09
    BOOTLOAD = 0x0A
    VOLT_CH_CALIB_OFF = 0x0B
    VOLT_CH_CALIB_SCA = 0x0C
    VOLT_DC_CALIB_OFF = 0x0D
    VOLT_DC_CALIB_SCA = 0x0E
    LOCK = 0x0F
    ZERO_AMP_THRESH = 0x10
    WATCHDOG_TIMER = 0x11


class BootRegister(enum.IntEnum):
    """Registers of the bootloader namespace 0x05 (batlab.md §3.3, §6)."""

    BL_BOOTLOAD = 0x00
    BL_ADDR = 0x01
    BL_DATA = 0x02


class CommsRegister(enum.IntEnum):
    """Registers the communications processor answers itself (namespace 0xFF, §3.4)."""

    LED0 = 0x00
    LED1 = 0x01
    LED2 = 0x02
    LED3 = 0x03
    PSU = 0x04
    PSU_VOLTAGE = 0x05
    PSU_CUTOFF_LOW = 0x06
    PSU_CUTOFF_HIGH = 0x07
    PSU_CUTOFF_HYST = 0x08


class Mode(enum.IntEnum):
    """Cell MODE register values (batlab.md §4.1)."""

    NO_CELL = 0
    BACKWARDS = 1
    IDLE = 2
    CHARGE = 3
    DISCHARGE = 4
    IMPEDANCE = 5
    STOPPED = 6


class ErrorFlag(enum.IntFlag):
    """Cell ERROR bits: latched safety trips (batlab.md §4.2)."""

    VOLTAGE_LIMIT_CHG = 0x0001
    VOLTAGE_LIMIT_DCHG = 0x0002
    CURRENT_LIMIT_CHG = 0x0004
    CURRENT_LIMIT_DCHG = 0x0008
    TEMP_LIMIT_CHG = 0x0010
    TEMP_LIMIT_DCHG = 0x0020
    BACKWARDS = 0x0040
    NO_CELL = 0x0080
    NO_PSU = 0x0100
    HW_CURRENT_LIMIT = 0x0200
    LOW_VCC = 0x0800


class StatusFlag(enum.IntFlag):
    """Cell STATUS bits, recomputed continuously (batlab.md §4.3)."""

    VOLTAGE_LIMIT_CHG = 0x0001
    VOLTAGE_LIMIT_DCHG = 0x0002
    CURRENT_LIMIT_CHG = 0x0004
    CURRENT_LIMIT_DCHG = 0x0008
    TEMP_LIMIT_CHG = 0x0010
    TEMP_LIMIT_DCHG = 0x0020
    BACKWARDS = 0x0040
    NO_CELL = 0x0080
    NO_PSU = 0x0100
    NOT_INITIALIZED = 0x0200
    NOT_CALIBRATED = 0x0400
    LOW_VCC = 0x0800


class SettingsFlag(enum.IntFlag):
    """UNIT.SETTINGS bits (batlab.md §4.4)."""

    TRIM_OUTPUT = 0x0001
    VCC_COMPENSATION = 0x0002
    WATCHDOG = 0x0004
    NO_PSU_DCHG_ENABLE = 0x0008
    CH0_HI_RES = 0x0010
    CH1_HI_RES = 0x0020
    CH2_HI_RES = 0x0040
    CH3_HI_RES = 0x0080
    SAFETY_DISABLE = 0x4000
    DEBUG = 0x8000


class LedCode(enum.IntEnum):
    """LED patterns for COMMS.LEDn and UNIT.LED_MESSAGE (batlab.md §4.5)."""

    OFF = 0
    BLIP = 1
    FLASH_SLOW = 2
    FLASH_FAST = 3
    ON = 4
    PWM = 5
    RAMP_UP = 6
    RAMP_DOWN = 7
    SINE = 8


class Access(enum.Enum):
    """What the device does with a write to a register."""

    RW = "rw"
    EEPROM = "rw, kept in EEPROM"
    RO = "read-only"
    SERIAL = "writable only while blank (0xFFFF) or in DEBUG"
    ACTION = "write triggers an action"

    @property
    def writable(self) -> bool:
        return self is not Access.RO


class Kind(enum.Enum):
    """How a register's 16-bit word maps to a physical value (see :mod:`.convert`)."""

    RAW = "raw"
    SIGNED = "signed"
    MODE = "mode"
    ERROR = "error"
    STATUS = "status"
    SETTINGS = "settings"
    VOLTAGE = "V"
    CURRENT = "A"
    SETPOINT = "A (setpoint)"
    TEMPERATURE = "thermistor"
    VCC = "V (supply)"
    FREQUENCY = "Hz"
    OFFSET = "A (offset)"
    MAGDIV = "A p-p"
    INTERVAL = "0.1 s"
    LED = "led"


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """One register: address, access rule, how to read its word, power-up default.

    ``default`` None means "from EEPROM" (calibration) or "measured".
    """

    name: str
    address: int
    access: Access
    kind: Kind
    default: int | None


def _spec(reg: enum.IntEnum, access: Access, kind: Kind, default: int | None) -> RegisterSpec:
    return RegisterSpec(reg.name, int(reg), access, kind, default)


_C = CellRegister
_U = UnitRegister
_RW, _E, _RO = Access.RW, Access.EEPROM, Access.RO

#: Cell registers (§3.1).  Every address below 0x1F accepts a write -- even measured
#: values, which the next latch overwrites -- so no cell register is RO.
CELL_REGISTERS: Final[dict[CellRegister, RegisterSpec]] = {
    CellRegister(s.address): s
    for s in (
        _spec(_C.MODE, _RW, Kind.MODE, 0),
        _spec(_C.ERROR, _RW, Kind.ERROR, 0),
        _spec(_C.STATUS, _RW, Kind.STATUS, 0),
        _spec(_C.CURRENT_SETPOINT, _RW, Kind.SETPOINT, 256),
        _spec(_C.REPORT_INTERVAL, _RW, Kind.INTERVAL, 0),
        _spec(_C.TEMPERATURE, _RW, Kind.TEMPERATURE, 25093),
        _spec(_C.CURRENT, _RW, Kind.CURRENT, 31999),
        _spec(_C.VOLTAGE, _RW, Kind.VOLTAGE, 20390),
        _spec(_C.CHARGEL, _RW, Kind.RAW, 0),
        _spec(_C.CHARGEH, _RW, Kind.RAW, 0),
        _spec(_C.VOLTAGE_LIMIT_CHG, _RW, Kind.VOLTAGE, 30584),
        _spec(_C.VOLTAGE_LIMIT_DCHG, _RW, Kind.VOLTAGE, 20389),
        _spec(_C.CURRENT_LIMIT_CHG, _RW, Kind.CURRENT, 32000),
        _spec(_C.CURRENT_LIMIT_DCHG, _RW, Kind.CURRENT, 32000),
        _spec(_C.TEMP_LIMIT_CHG, _RW, Kind.TEMPERATURE, 25092),
        _spec(_C.TEMP_LIMIT_DCHG, _RW, Kind.TEMPERATURE, 20825),
        _spec(_C.DUTY, _RW, Kind.RAW, 0),
        _spec(_C.COMPENSATION, _RW, Kind.SIGNED, 0),
        _spec(_C.CURRENT_PP, _RW, Kind.CURRENT, 0),
        _spec(_C.VOLTAGE_PP, _RW, Kind.VOLTAGE, 0),
        _spec(_C.CURRENT_CALIB_OFF, _E, Kind.SIGNED, None),
        _spec(_C.CURRENT_CALIB_SCA, _E, Kind.RAW, None),
        _spec(_C.TEMP_CALIB_R, _E, Kind.RAW, None),
        _spec(_C.TEMP_CALIB_B, _E, Kind.RAW, None),
        _spec(_C.CURRENT_CALIB_PP, _E, Kind.RAW, None),
        _spec(_C.VOLTAGE_CALIB_PP, _E, Kind.RAW, None),
        _spec(_C.CURR_CALIB_PP_OFF, _E, Kind.SIGNED, None),
        _spec(_C.VOLT_CALIB_PP_OFF, _E, Kind.SIGNED, None),
        _spec(_C.CURR_LOWV_SCA, _E, Kind.RAW, None),
        _spec(_C.CURR_LOWV_OFF, _E, Kind.RAW, None),
        _spec(_C.CURR_LOWV_OFF_SCA, _E, Kind.RAW, None),
    )
}

#: Unit registers (§3.2).
UNIT_REGISTERS: Final[dict[UnitRegister, RegisterSpec]] = {
    UnitRegister(s.address): s
    for s in (
        _spec(_U.SERIAL_NUM, Access.SERIAL, Kind.RAW, None),
        _spec(_U.DEVICE_ID, Access.SERIAL, Kind.RAW, None),
        _spec(_U.FIRMWARE_VER, _RO, Kind.RAW, 7),
        _spec(_U.VCC, _RO, Kind.VCC, 0),
        _spec(_U.SINE_FREQ, _RW, Kind.FREQUENCY, 1),
        _spec(_U.SYSTEM_TIMER, _RO, Kind.RAW, 0),
        _spec(_U.SETTINGS, _RW, Kind.SETTINGS, 0),
        _spec(_U.SINE_OFFSET, _RW, Kind.OFFSET, 16),
        _spec(_U.SINE_MAGDIV, _RW, Kind.MAGDIV, 2),
        _spec(_U.LED_MESSAGE, _RW, Kind.LED, 0),
        _spec(_U.BOOTLOAD, Access.ACTION, Kind.RAW, 0),
        _spec(_U.VOLT_CH_CALIB_OFF, _E, Kind.SIGNED, None),
        _spec(_U.VOLT_CH_CALIB_SCA, _E, Kind.RAW, None),
        _spec(_U.VOLT_DC_CALIB_OFF, _E, Kind.SIGNED, None),
        _spec(_U.VOLT_DC_CALIB_SCA, _E, Kind.RAW, None),
        _spec(_U.LOCK, _RW, Kind.RAW, 0),
        _spec(_U.ZERO_AMP_THRESH, _E, Kind.CURRENT, None),
        _spec(_U.WATCHDOG_TIMER, _RW, Kind.RAW, 255),
    )
}

#: Comms-processor registers (§3.4): all writable (LEDs are overridden by the unit).
COMMS_REGISTERS: Final[dict[CommsRegister, RegisterSpec]] = {
    CommsRegister(s.address): s
    for s in (
        _spec(CommsRegister.LED0, _RW, Kind.LED, 0),
        _spec(CommsRegister.LED1, _RW, Kind.LED, 0),
        _spec(CommsRegister.LED2, _RW, Kind.LED, 0),
        _spec(CommsRegister.LED3, _RW, Kind.LED, 0),
        _spec(CommsRegister.PSU, _RW, Kind.RAW, 1),
        _spec(CommsRegister.PSU_VOLTAGE, _RW, Kind.RAW, 575),
        _spec(CommsRegister.PSU_CUTOFF_LOW, _RW, Kind.RAW, 523),
        _spec(CommsRegister.PSU_CUTOFF_HIGH, _RW, Kind.RAW, 630),
        _spec(CommsRegister.PSU_CUTOFF_HYST, _RW, Kind.RAW, 5),
    )
}


#: Each namespace's register names and, where the firmware documents them, specs
#: (the bootloader's registers are actions with no spec).
_NAMESPACES: Final[dict[int, tuple[type[enum.IntEnum], Mapping[Any, RegisterSpec]]]] = {
    **dict.fromkeys(range(CELLS), (CellRegister, CELL_REGISTERS)),
    Namespace.UNIT: (UnitRegister, UNIT_REGISTERS),
    Namespace.BOOTLOADER: (BootRegister, {}),
    Namespace.COMMS: (CommsRegister, COMMS_REGISTERS),
}


def register_enum(namespace: int) -> type[enum.IntEnum]:
    """The register names of a namespace (cells 0-3, unit, bootloader, comms)."""
    if namespace not in _NAMESPACES:
        raise UsageError(f"no namespace 0x{namespace:02X} on a Batlab")
    return _NAMESPACES[namespace][0]


def register_spec(namespace: int, address: int) -> RegisterSpec | None:
    """The spec of a register, or None for an address the namespace does not have."""
    known = _NAMESPACES.get(namespace)
    return None if known is None else known[1].get(address)
