"""Calibration records: the 49-integer recovery file of the official library (batlab.md §7.6).

The emulator starts from a real record (unit 262222) so its registers look like a
real unit's; the same parser reads a user's own recovery file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from fieldlink.batlab.registers import CELLS, CellRegister, UnitRegister
from fieldlink.errors import ConfigError

__all__ = ["CELL_FIELDS", "REFERENCE", "UNIT_FIELDS", "Calibration"]

#: Per-cell values in file order.
CELL_FIELDS: Final = (
    CellRegister.CURRENT_CALIB_OFF,
    CellRegister.CURRENT_CALIB_SCA,
    CellRegister.CURR_LOWV_OFF,
    CellRegister.CURR_LOWV_SCA,
    CellRegister.CURR_LOWV_OFF_SCA,
    CellRegister.TEMP_CALIB_R,
    CellRegister.TEMP_CALIB_B,
    CellRegister.CURRENT_CALIB_PP,
    CellRegister.VOLTAGE_CALIB_PP,
    CellRegister.CURR_CALIB_PP_OFF,
    CellRegister.VOLT_CALIB_PP_OFF,
)
#: Unit values after the four cells.
UNIT_FIELDS: Final = (
    UnitRegister.VOLT_CH_CALIB_OFF,
    UnitRegister.VOLT_CH_CALIB_SCA,
    UnitRegister.VOLT_DC_CALIB_OFF,
    UnitRegister.VOLT_DC_CALIB_SCA,
)
_LENGTH: Final = 1 + CELLS * len(CELL_FIELDS) + len(UNIT_FIELDS)


@dataclass(frozen=True, slots=True)
class Calibration:
    """A unit's serial and EEPROM calibration words."""

    serial: int
    cells: tuple[tuple[int, ...], ...]
    unit: tuple[int, ...]

    def cell_value(self, cell: int, register: CellRegister) -> int:
        return self.cells[cell][CELL_FIELDS.index(register)]

    def unit_value(self, register: UnitRegister) -> int:
        return self.unit[UNIT_FIELDS.index(register)]

    def with_serial(self, serial: int) -> Calibration:
        return Calibration(serial, self.cells, self.unit)

    def with_cell_value(self, register: CellRegister, value: int) -> Calibration:
        """The same record with ``register`` set to ``value`` in every cell."""
        i = CELL_FIELDS.index(register)
        cells = tuple((*c[:i], value, *c[i + 1 :]) for c in self.cells)
        return Calibration(self.serial, cells, self.unit)

    @classmethod
    def from_values(cls, values: Sequence[int]) -> Calibration:
        if len(values) != _LENGTH:
            raise ConfigError(f"calibration record has {len(values)} values, expected {_LENGTH}")
        if any(not 0 <= v <= 0xFFFF for v in values[1:]) or values[0] < 0:
            raise ConfigError("calibration values must be 16-bit words (0..65535)")
        n = len(CELL_FIELDS)
        cells = tuple(tuple(values[1 + c * n : 1 + (c + 1) * n]) for c in range(CELLS))
        return cls(values[0], cells, tuple(values[1 + CELLS * n :]))

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> Calibration:
        """Parse the official recovery file (one integer per line)."""
        try:
            values = [int(line) for line in lines if line.strip()]
        except ValueError as exc:
            raise ConfigError(f"calibration file: not an integer: {exc}") from exc
        return cls.from_values(values)

    def to_lines(self) -> list[str]:
        values = [self.serial, *(v for cell in self.cells for v in cell), *self.unit]
        return [str(v) for v in values]


#: The real record of unit 262222 (instrument-vectors.md §1.6).
REFERENCE: Final = Calibration.from_values(
    [
        262222,
        *(65499, 16618, 15452, 10289, 15660, 1606, 3380, 16858, 26706, 21, 0),
        *(65493, 16577, 14553, 12576, 5968, 1686, 3380, 16758, 26645, 25, 0),
        *(65440, 16390, 14462, 10001, 4739, 1763, 3380, 16483, 26756, 51, 0),
        *(65457, 16651, 14443, 9921, 8359, 1715, 3380, 16913, 26702, 14, 0),
        *(65522, 16370, 65499, 16380),
    ]
)
