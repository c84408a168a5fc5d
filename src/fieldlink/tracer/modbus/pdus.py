"""Modbus requests and replies as our own plain values (no pymodbus types leak out).

The client session, operations and tests speak these; :mod:`.adapter` turns them
into pymodbus PDUs and back.  Function codes are the standard ones plus EPEVER's
FC 0x43 sparse read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fieldlink.tracer.modbus.registers import Table

READ_COILS = 0x01
READ_DISCRETE = 0x02
READ_HOLDING = 0x03
READ_INPUT = 0x04
WRITE_COIL = 0x05
WRITE_REGISTER = 0x06
WRITE_REGISTERS = 0x10
DEVICE_ID = 0x2B
SPARSE_READ = 0x43

READ_FUNCTION: dict[Table, int] = {
    Table.COIL: READ_COILS,
    Table.DISCRETE: READ_DISCRETE,
    Table.HOLDING: READ_HOLDING,
    Table.INPUT: READ_INPUT,
}


@dataclass(frozen=True, slots=True)
class _Read:
    """A read of ``count`` items of ``table`` from ``start``; the table picks the function."""

    table: Table
    start: int
    count: int

    @property
    def function(self) -> int:
        return READ_FUNCTION[self.table]


@dataclass(frozen=True, slots=True)
class ReadRegisters(_Read):
    """Holding or input registers (FC 0x03, 0x04)."""


@dataclass(frozen=True, slots=True)
class ReadBits(_Read):
    """Coils or discrete inputs (FC 0x01, 0x02)."""


@dataclass(frozen=True, slots=True)
class WriteRegisters:
    start: int
    values: tuple[int, ...]
    function: int = WRITE_REGISTERS


@dataclass(frozen=True, slots=True)
class WriteCoil:
    address: int
    on: bool
    function: int = WRITE_COIL


@dataclass(frozen=True, slots=True)
class ReadDeviceId:
    """FC 0x2B / MEI 0x0E; code 1 basic (vendor, product, revision), 2 regular (serial)."""

    code: int = 1
    object_id: int = 0
    function: int = DEVICE_ID


@dataclass(frozen=True, slots=True)
class SparseRead:
    start: int
    count: int
    function: int = SPARSE_READ


Request = ReadRegisters | ReadBits | WriteRegisters | WriteCoil | ReadDeviceId | SparseRead


@dataclass(frozen=True, slots=True)
class Registers:
    function: int
    values: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Bits:
    function: int
    values: tuple[bool, ...]


@dataclass(frozen=True, slots=True)
class Written:
    """Echo of a write: FC 0x05/0x06 (address, value) or FC 0x10 (address, count)."""

    function: int
    address: int
    count: int


@dataclass(frozen=True, slots=True)
class DeviceObjects:
    function: int
    objects: dict[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Sparse:
    """FC 0x43 reply: offset from the start -> word, only for registers that exist."""

    function: int
    count: int
    present: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExceptionReply:
    function: int
    code: int


Reply = Registers | Bits | Written | DeviceObjects | Sparse | ExceptionReply
