"""One emulated Batlab: four cell slots, the registers, the firmware's state machine,
the watchdog, stream packets, resets and the bootloader (batlab.md §3-§6, §10).

Sans-I/O: :meth:`BatlabUnit.handle` takes a 5-byte command and returns the response
bytes (or None: the device stays silent), :meth:`BatlabUnit.advance` brings the
device up to its clock.  Two times run here.  *Device time* is the clock itself:
the 10 Hz system timer, the watchdog, stream packets and the silence after a reset
run in real seconds so a client's keep-alives and timeouts behave as with real
hardware.  *Chemistry time* runs ``speed`` times faster: at every measurement latch
the cells carry their current for ``speed`` × the latch period, in sub-steps of at
most ``max_step`` seconds, each sub-step measuring and applying the safety limits as
the firmware's main loop does -- so a full cycle takes seconds and the charge
counter still adds up to the cell's capacity.

The hardware fuse guard is modelled on the measured current (≥ 4.092 A stops the
cell with HW_CURRENT_LIMIT); the PSU hysteresis is not (the comms PSU flag is
:attr:`BatlabUnit.psu`).

Simplifications (batlab.md §11 allows them): registers are computed from physical
values with the inverse formulas (no ADC-level calibration); the duty reaches its
setpoint at once (the firmware ramps one step per main-loop pass, well under a
millisecond); the impedance sine is modelled by its mean and peak-to-peak.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Callable, Sequence, Sized
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from fieldlink.batlab import convert
from fieldlink.batlab.codec import Command, Response, StreamPacket, decode_command
from fieldlink.batlab.emulator.battery import Battery
from fieldlink.batlab.emulator.calibration import CELL_FIELDS, REFERENCE, UNIT_FIELDS, Calibration
from fieldlink.batlab.firmware import APP_END, APP_START, IMAGE_SIZE, checksum_ok, make_image
from fieldlink.batlab.registers import (
    CELL_REGISTERS,
    CELLS,
    COMMAND_ERROR,
    COMMS_REGISTERS,
    UNIT_REGISTERS,
    Access,
    BootRegister,
    CellRegister,
    CommsRegister,
    ErrorFlag,
    LedCode,
    Mode,
    Namespace,
    SettingsFlag,
    StatusFlag,
    UnitRegister,
)
from fieldlink.errors import UsageError
from fieldlink.kit.clock import Clock, monotonic

if TYPE_CHECKING:
    from fieldlink.batlab.emulator.port import BatlabPort

__all__ = ["LATCH_PERIOD", "TICK", "BatlabUnit", "Phase"]

#: 10 Hz system timer / watchdog tick (device seconds).
TICK: Final = 0.1
#: One measurement slice; a full round is six of them (§5.2).
SLICE: Final = 0.1024
LATCH_PERIOD: Final = 6 * SLICE
#: Catch up at most this much device time in one :meth:`advance` (a suspended host).
MAX_CATCH_UP: Final = 600.0
#: Stream packets kept for a port that has not collected them.
STREAM_BACKLOG: Final = 256

_C, _U = CellRegister, UnitRegister
_OK: Final = 0x0000

#: Which STATUS bits stop a cell in each active mode (§4.1); bits equal the ERROR bits.
_TRIPS: Final[dict[Mode, int]] = {
    Mode.CHARGE: int(
        StatusFlag.VOLTAGE_LIMIT_CHG
        | StatusFlag.VOLTAGE_LIMIT_DCHG
        | StatusFlag.CURRENT_LIMIT_CHG
        | StatusFlag.TEMP_LIMIT_CHG
        | StatusFlag.NO_PSU
        | StatusFlag.LOW_VCC
    ),
    Mode.DISCHARGE: int(
        StatusFlag.VOLTAGE_LIMIT_CHG
        | StatusFlag.VOLTAGE_LIMIT_DCHG
        | StatusFlag.CURRENT_LIMIT_DCHG
        | StatusFlag.TEMP_LIMIT_DCHG
        | StatusFlag.LOW_VCC
        | StatusFlag.NO_PSU
    ),
    Mode.IMPEDANCE: int(
        StatusFlag.VOLTAGE_LIMIT_CHG
        | StatusFlag.VOLTAGE_LIMIT_DCHG
        | StatusFlag.CURRENT_LIMIT_DCHG
        | StatusFlag.TEMP_LIMIT_DCHG
        | StatusFlag.LOW_VCC
    ),
}
#: Cell LED pattern per mode (§4.5).
_LEDS: Final[dict[int, LedCode]] = {
    Mode.NO_CELL: LedCode.OFF,
    Mode.BACKWARDS: LedCode.FLASH_FAST,
    Mode.IDLE: LedCode.BLIP,
    Mode.CHARGE: LedCode.RAMP_UP,
    Mode.DISCHARGE: LedCode.RAMP_DOWN,
    Mode.IMPEDANCE: LedCode.SINE,
    Mode.STOPPED: LedCode.ON,
}
_HIRES_BITS: Final = (
    SettingsFlag.CH0_HI_RES,
    SettingsFlag.CH1_HI_RES,
    SettingsFlag.CH2_HI_RES,
    SettingsFlag.CH3_HI_RES,
)
_NO_CELL_LOW: Final = -73
_NO_CELL_HIGH: Final = 13107
_NO_CELL_OVER: Final = 32700
_LOW_VCC_RAW: Final = 31581
_CLAMP_NEGATIVE: Final = -int(4.0 * 32768 / 4.5)
#: The summed current samples saturate at 2046 of 2 x 1023: about 4.092 A.
_FUSE_AMPS: Final = 4.096 * 2046 / 2048


class Phase(enum.Enum):
    """What the measurement processor is doing."""

    APPLICATION = "application"
    BOOTLOADER = "bootloader"
    RESETTING = "resetting (silent)"


@dataclass
class _Cell:
    battery: Battery | None
    regs: list[int] = field(default_factory=lambda: [0] * len(CELL_REGISTERS))
    charge: float = 0.0  # the 32-bit accumulator, kept fractional for sub-steps
    last_stream: int = 0


class BatlabUnit:
    """An emulated Batlab V1.0 (firmware v7).  Also a kit DeviceModel (:meth:`open_port`)."""

    def __init__(
        self,
        *,
        cells: Sequence[Battery | None] | None = None,
        serial: int | None = None,
        calibration: Calibration = REFERENCE,
        clock: Clock = monotonic,
        speed: float = 1.0,
        firmware_version: int = 7,
        reset_silence: float = 0.5,
        supply_volts: float = 5.0,
        psu: bool = True,
        max_step: float = 2.0,
        name: str = "batlab",
    ) -> None:
        if speed <= 0 or not math.isfinite(speed):
            raise UsageError(f"speed {speed} must be a positive number")
        if cells is None:
            cells = [Battery(soc=0.5) for _ in range(CELLS)]
        if len(cells) != CELLS:
            raise UsageError(f"a Batlab has {CELLS} cell slots, not {len(cells)}")
        if serial is not None:
            calibration = calibration.with_serial(serial)
        self.name = name
        self.clock = clock
        self.speed = float(speed)
        self.max_step = max_step
        self.reset_silence = reset_silence
        self.supply_volts = supply_volts
        self.psu = psu
        self.firmware_version = firmware_version
        self.cells = [_Cell(b) for b in cells]
        self.unit_regs = [0] * len(UNIT_REGISTERS)
        self.comms_regs = [s.default or 0 for s in COMMS_REGISTERS.values()]
        self.eeprom: dict[tuple[int, int], int] = {}
        self._load_calibration(calibration)
        self.boot_flag = 0
        self.flash = bytearray(make_image(firmware_version))
        self.phase = Phase.APPLICATION
        self._after_reset = Phase.APPLICATION
        self._resume_at = 0.0
        self._erased = False
        self._pointer = APP_START
        self.stream: deque[bytes] = deque(maxlen=STREAM_BACKLOG)
        #: Commands answered / ignored (bootloader or reset silence), for summaries.
        self.answered = 0
        self.ignored = 0
        start = clock()
        self._last = start
        self._next_tick = start + TICK
        self._next_latch = start
        self._power_up()

    # --- configuration ----------------------------------------------------------------------

    def _load_calibration(self, cal: Calibration) -> None:
        unit = int(Namespace.UNIT)
        self.eeprom[(unit, _U.SERIAL_NUM)] = cal.serial & 0xFFFF
        self.eeprom[(unit, _U.DEVICE_ID)] = (cal.serial >> 16) & 0xFFFF
        self.eeprom[(unit, _U.ZERO_AMP_THRESH)] = 2000
        for reg in UNIT_FIELDS:
            self.eeprom[(unit, reg)] = cal.unit_value(reg)
        for c in range(CELLS):
            for creg in CELL_FIELDS:
                self.eeprom[(c, creg)] = cal.cell_value(c, creg)
            for creg in (_C.CURR_LOWV_SCA, _C.CURR_LOWV_OFF, _C.CURR_LOWV_OFF_SCA):
                self.eeprom.setdefault((c, creg), 0xFFFF)

    @property
    def serial(self) -> int:
        return self.unit_regs[_U.SERIAL_NUM] + 65536 * self.unit_regs[_U.DEVICE_ID]

    def insert(self, cell: int, battery: Battery | None) -> None:
        """Put a cell in slot ``cell`` (None empties it); the firmware notices at its next latch."""
        self.cells[Namespace.cell(cell)].battery = battery

    def describe(self) -> str:
        slots = ", ".join(self._slot_text(c) for c in self.cells)
        return f"Batlab SN {self.serial} (firmware v{self.firmware_version}; {slots})"

    @staticmethod
    def _slot_text(cell: _Cell) -> str:
        b = cell.battery
        if b is None:
            return "empty"
        return f"{b.capacity_ah:g} Ah at {b.soc:.0%}" + (" backwards" if b.reversed else "")

    def open_port(self, number: int) -> BatlabPort:
        from fieldlink.batlab.emulator.port import BatlabPort

        return BatlabPort(self, number)

    # --- power-up and resets ----------------------------------------------------------------

    def _power_up(self) -> None:
        """RAM defaults, EEPROM overlay, a first measurement (the app's settling wait)."""
        for reg, spec in UNIT_REGISTERS.items():
            self.unit_regs[reg] = spec.default or 0
        for cell_no, cell in enumerate(self.cells):
            for creg, spec in CELL_REGISTERS.items():
                cell.regs[creg] = spec.default or 0
            cell.charge = 0.0
            cell.last_stream = 0
            for (ns, addr), value in self.eeprom.items():
                if ns == cell_no:
                    cell.regs[addr] = value
        for (ns, addr), value in self.eeprom.items():
            if ns == Namespace.UNIT:
                self.unit_regs[addr] = value
        version = self._image_version()
        self.unit_regs[_U.FIRMWARE_VER] = version
        self.firmware_version = version
        self.phase = Phase.APPLICATION
        self.stream.clear()
        self._latch(list(range(CELLS)), 0.0)
        self._next_latch = self._last + LATCH_PERIOD

    def _image_version(self) -> int:
        if self.flash.startswith(b"FLFW"):
            return self.flash[4]
        return self.firmware_version

    def _reset(self) -> None:
        """The processor resets: silent for :attr:`reset_silence`, then boots."""
        for cell in self.cells:
            cell.regs[_C.MODE] = Mode.NO_CELL
            cell.regs[_C.DUTY] = 0
        self.stream.clear()
        self.phase = Phase.RESETTING
        self._resume_at = self._last + self.reset_silence

    def _boot(self) -> None:
        """End of the silent period: the bootloader decides (§6)."""
        if self.boot_flag or not checksum_ok(bytes(self.flash)):
            self.boot_flag = 0
            self.phase = Phase.BOOTLOADER
            self._erased = False
            self._pointer = APP_START
        else:
            self._power_up()

    # --- time ---------------------------------------------------------------------------------

    def advance(self) -> None:
        """Run the device up to its clock: ticks, latches, the end of a reset."""
        now = self.clock()
        if now - self._last > MAX_CATCH_UP:
            skip = now - MAX_CATCH_UP - self._last
            self._last += skip
            self._next_tick += skip
            self._next_latch += skip
        while True:
            due = min(self._next_tick, self._next_latch)
            if self.phase is Phase.RESETTING:
                due = min(due, self._resume_at)
            if due > now:
                break
            self._last = max(self._last, due)
            if self.phase is Phase.RESETTING and due >= self._resume_at:
                self._boot()
                continue
            if due == self._next_tick:
                self._next_tick += TICK
                if self.phase is Phase.APPLICATION:
                    self._tick()
            if due == self._next_latch:
                period, which = self._latch_plan()
                self._next_latch += period
                if self.phase is Phase.APPLICATION:
                    self._latch(which, period)
        self._last = max(self._last, now)

    def _latch_plan(self) -> tuple[float, list[int]]:
        settings = self.unit_regs[_U.SETTINGS]
        for n, bit in enumerate(_HIRES_BITS):
            if settings & bit:
                return SLICE, [n]
        return LATCH_PERIOD, list(range(CELLS))

    def _tick(self) -> None:
        """10 Hz: system timer, watchdog (§5.6), stream packets (§2.3)."""
        regs = self.unit_regs
        regs[_U.SYSTEM_TIMER] = (regs[_U.SYSTEM_TIMER] + 1) & 0xFFFF
        if regs[_U.SETTINGS] & SettingsFlag.WATCHDOG:
            if regs[_U.WATCHDOG_TIMER] > 0:
                regs[_U.WATCHDOG_TIMER] -= 1
            if regs[_U.WATCHDOG_TIMER] == 0:
                for cell in self.cells:
                    cell.regs[_C.MODE] = Mode.STOPPED
                    cell.regs[_C.DUTY] = 0
        timer = regs[_U.SYSTEM_TIMER]
        for n, cell in enumerate(self.cells):
            interval = cell.regs[_C.REPORT_INTERVAL]
            if interval and ((timer - cell.last_stream) & 0xFFFF) > interval:
                cell.last_stream = timer
                self.stream.append(self.stream_packet(n).encode())

    @property
    def watchdog_tripped(self) -> bool:
        regs = self.unit_regs
        return bool(regs[_U.SETTINGS] & SettingsFlag.WATCHDOG) and regs[_U.WATCHDOG_TIMER] == 0

    def stream_packet(self, n: int) -> StreamPacket:
        r = self.cells[n].regs
        return StreamPacket(
            n, 0, r[_C.MODE], r[_C.STATUS], r[_C.TEMPERATURE], r[_C.CURRENT], r[_C.VOLTAGE]
        )

    def take_stream(self) -> list[bytes]:
        """Stream packets due since the last call (oldest first)."""
        out = list(self.stream)
        self.stream.clear()
        return out

    # --- measurement --------------------------------------------------------------------------

    def _latch(self, which: list[int], period: float) -> None:
        """One measurement latch: the chemistry runs ``speed`` × ``period`` for each cell."""
        sim = period * self.speed
        steps = max(1, math.ceil(sim / self.max_step)) if sim > 0 else 1
        for n in which:
            cell = self.cells[n]
            active = cell.regs[_C.MODE] in _TRIPS
            count = steps if active else 1
            for _ in range(count):
                current = self._current(cell)
                if cell.battery is not None:
                    cell.battery.step(current, sim / count)
                self._measure(n, current, sim / count / period if period else 0.0)
                if abs(current) >= _FUSE_AMPS:  # the hardware fuse guard, in any mode (§4.1)
                    cell.regs[_C.MODE] = Mode.STOPPED
                    cell.regs[_C.ERROR] |= int(ErrorFlag.HW_CURRENT_LIMIT)
                self._set_flags(n)
        locked = self.unit_regs[_U.LOCK] != 0
        if not locked and len(which) == CELLS:
            for n in range(CELLS):
                self.cells[n].regs[_C.TEMPERATURE] = self._temperature_raw(n)
            self.unit_regs[_U.VCC] = convert.vcc_to_raw(self.supply_volts)
        for n in range(CELLS):
            self._set_flags(n)
            self.comms_regs[CommsRegister.LED0 + n] = _LEDS.get(self.cells[n].regs[_C.MODE], 0)
        self.comms_regs[CommsRegister.PSU] = int(self.psu)

    def _sine(self) -> tuple[float, float]:
        """Mean and peak-to-peak amps of the impedance sine (§5.5)."""
        shift = min(self.unit_regs[_U.SINE_MAGDIV], 15)
        pp = (255 >> shift) / 128
        return self.unit_regs[_U.SINE_OFFSET] / 128 + pp / 2, pp

    def _current(self, cell: _Cell) -> float:
        """Signed amps into the cell (positive charges)."""
        b = cell.battery
        if b is None or b.reversed:
            return 0.0
        mode, duty = cell.regs[_C.MODE], cell.regs[_C.DUTY]
        if mode == Mode.CHARGE:
            return duty / 128
        if mode == Mode.DISCHARGE:
            return -duty / 128
        if mode == Mode.IMPEDANCE:
            return -self._sine()[0]
        return 0.0

    def _measure(self, n: int, current: float, latches: float) -> None:
        cell = self.cells[n]
        regs = cell.regs
        volts = 0.0 if cell.battery is None else cell.battery.terminal_voltage(current)
        v_raw = max(-32768, min(32767, int(volts * 32768 / 4.5)))
        if v_raw < _CLAMP_NEGATIVE:
            v_raw = 0x7FFF
        regs[_C.VOLTAGE] = v_raw & 0xFFFF
        i_raw = min(32767, int(abs(current) * 32768 / 4.096))
        if i_raw < self.unit_regs[_U.ZERO_AMP_THRESH]:
            i_raw = 0
        regs[_C.CURRENT] = i_raw
        cell.charge = (cell.charge + i_raw * latches) % (1 << 32)
        q = int(cell.charge)
        regs[_C.CHARGEL], regs[_C.CHARGEH] = q & 0xFFFF, q >> 16
        if self.unit_regs[_U.LOCK] == 0:
            if regs[_C.MODE] == Mode.IMPEDANCE and cell.battery is not None:
                pp = self._sine()[1]
                regs[_C.CURRENT_PP] = min(32767, int(pp * 32768 / 4.096))
                resistance = cell.battery.resistance
                regs[_C.VOLTAGE_PP] = min(32767, int(pp * resistance * 32768 / 4.5))
            else:
                regs[_C.CURRENT_PP] = regs[_C.VOLTAGE_PP] = 0

    def _temperature_raw(self, n: int) -> int:
        cell = self.cells[n]
        celsius = cell.battery.temperature if cell.battery is not None else 25.0
        r_div, b = cell.regs[_C.TEMP_CALIB_R], cell.regs[_C.TEMP_CALIB_B]
        try:
            return convert.temperature_to_raw(max(-60.0, min(150.0, celsius)), r_div, b)
        except UsageError:
            return 0

    # --- firmware logic ---------------------------------------------------------------------

    def _status(self, n: int) -> int:
        regs = self.cells[n].regs
        unit = self.unit_regs
        v, i, t = (
            convert.int16(regs[_C.VOLTAGE]),
            convert.int16(regs[_C.CURRENT]),
            regs[_C.TEMPERATURE],
        )
        s = 0
        s |= StatusFlag.VOLTAGE_LIMIT_CHG if v > convert.int16(regs[_C.VOLTAGE_LIMIT_CHG]) else 0
        s |= StatusFlag.VOLTAGE_LIMIT_DCHG if v < convert.int16(regs[_C.VOLTAGE_LIMIT_DCHG]) else 0
        s |= StatusFlag.CURRENT_LIMIT_CHG if i > convert.int16(regs[_C.CURRENT_LIMIT_CHG]) else 0
        s |= StatusFlag.CURRENT_LIMIT_DCHG if i > convert.int16(regs[_C.CURRENT_LIMIT_DCHG]) else 0
        s |= StatusFlag.TEMP_LIMIT_CHG if t < regs[_C.TEMP_LIMIT_CHG] else 0
        s |= StatusFlag.TEMP_LIMIT_DCHG if t < regs[_C.TEMP_LIMIT_DCHG] else 0
        s |= StatusFlag.BACKWARDS if v < _NO_CELL_LOW else 0
        no_cell = _NO_CELL_LOW < v < _NO_CELL_HIGH or v > _NO_CELL_OVER
        s |= StatusFlag.NO_CELL if no_cell else 0
        s |= StatusFlag.NO_PSU if not self.comms_regs[CommsRegister.PSU] else 0
        blank = 0xFFFF in (unit[_U.SERIAL_NUM], unit[_U.DEVICE_ID])
        s |= StatusFlag.NOT_INITIALIZED if blank else 0
        uncal = 0xFFFF in (unit[_U.VOLT_CH_CALIB_SCA], regs[_C.CURRENT_CALIB_SCA])
        s |= StatusFlag.NOT_CALIBRATED if uncal else 0
        s |= StatusFlag.LOW_VCC if unit[_U.VCC] > _LOW_VCC_RAW else 0
        return int(s)

    def _set_flags(self, n: int) -> None:
        """The firmware's per-pass state machine (§4.1) and the duty it drives."""
        regs = self.cells[n].regs
        status = self._status(n)
        regs[_C.STATUS] = status
        mode = regs[_C.MODE]
        backwards = bool(status & StatusFlag.BACKWARDS)
        empty = bool(status & StatusFlag.NO_CELL)
        if mode == Mode.NO_CELL:
            mode = Mode.BACKWARDS if backwards else (Mode.NO_CELL if empty else Mode.IDLE)
        elif mode == Mode.BACKWARDS:
            mode = Mode.BACKWARDS if backwards else Mode.IDLE
        elif mode == Mode.IDLE:
            regs[_C.ERROR] = 0
            mode = Mode.BACKWARDS if backwards else (Mode.NO_CELL if empty else Mode.IDLE)
        elif mode in _TRIPS and not self.unit_regs[_U.SETTINGS] & SettingsFlag.SAFETY_DISABLE:
            trips = _TRIPS[Mode(mode)]
            settings = self.unit_regs[_U.SETTINGS]
            if mode == Mode.DISCHARGE and settings & SettingsFlag.NO_PSU_DCHG_ENABLE:
                trips &= ~int(StatusFlag.NO_PSU)
            tripped = status & trips
            if tripped:
                mode = Mode.STOPPED
                regs[_C.ERROR] |= tripped
        regs[_C.MODE] = mode
        regs[_C.DUTY] = self._duty(regs)

    def _duty(self, regs: list[int]) -> int:
        mode = regs[_C.MODE]
        if mode in (Mode.CHARGE, Mode.DISCHARGE):
            setpoint = regs[_C.CURRENT_SETPOINT]
            return 0 if setpoint > 900 else min(setpoint, convert.SETPOINT_MAX)
        if mode == Mode.IMPEDANCE:
            return min(self.unit_regs[_U.SINE_OFFSET], convert.SETPOINT_MAX)
        return 0

    # --- packets ------------------------------------------------------------------------------

    def handle(self, packet: bytes) -> bytes | None:
        """Answer one 5-byte command (None: the device says nothing)."""
        self.advance()
        command = decode_command(packet)
        ns = command.namespace
        if ns == Namespace.COMMS:
            reply: Response | bytes | None = _mapped(command, COMMS_REGISTERS, self._comms)
        elif self.phase is Phase.RESETTING:
            reply = None
        elif self.phase is Phase.BOOTLOADER:
            reply = self._bootloader(command) if ns == Namespace.BOOTLOADER else None
        elif ns < CELLS:
            reply = _mapped(command, CELL_REGISTERS, self._cell)
        elif ns == Namespace.UNIT:
            reply = _mapped(command, UNIT_REGISTERS, self._unit)
        else:
            reply = _answer(command, COMMAND_ERROR)
        if reply is None:
            self.ignored += 1
            return None
        self.answered += 1
        return reply if isinstance(reply, bytes) else reply.encode()

    def _cell(self, command: Command) -> Response:
        n, addr = command.namespace, command.address
        cell = self.cells[n]
        if not command.write:
            return _answer(command, cell.regs[addr])
        value = command.value
        if addr in (_C.CHARGEL, _C.CHARGEH):
            cell.regs[_C.CHARGEL] = cell.regs[_C.CHARGEH] = 0
            cell.regs[addr] = value
            cell.charge = float(cell.regs[_C.CHARGEL] | cell.regs[_C.CHARGEH] << 16)
        else:
            cell.regs[addr] = value
        if CELL_REGISTERS[CellRegister(addr)].access is Access.EEPROM:
            self.eeprom[(n, addr)] = value
        self._set_flags(n)
        return _answer(command, _OK)

    def _unit(self, command: Command) -> Response:
        addr = command.address
        reg = UnitRegister(addr)
        if not command.write:
            return _answer(command, self.unit_regs[addr])
        spec = UNIT_REGISTERS[reg]
        if spec.access is Access.RO:
            return _answer(command, COMMAND_ERROR)
        if spec.access is Access.SERIAL:
            debug = self.unit_regs[_U.SETTINGS] & SettingsFlag.DEBUG
            if self.unit_regs[addr] != 0xFFFF and not debug:
                return _answer(command, COMMAND_ERROR)
        if reg is _U.BOOTLOAD:
            self.boot_flag = 0xFE
            self._reset()
            return _answer(command, _OK)
        self.unit_regs[addr] = command.value
        if spec.access in (Access.EEPROM, Access.SERIAL):
            self.eeprom[(int(Namespace.UNIT), addr)] = command.value
        for n in range(CELLS):
            self._set_flags(n)
        return _answer(command, _OK)

    def _comms(self, command: Command) -> Response:
        addr = command.address
        if not command.write:
            if addr == CommsRegister.PSU:
                return _answer(command, int(self.psu))
            return _answer(command, self.comms_regs[addr])
        self.comms_regs[addr] = command.value
        return _answer(command, _OK)

    def _bootloader(self, command: Command) -> Response | bytes:
        addr = command.address
        if not command.write:
            if addr == BootRegister.BL_ADDR:
                return _answer(command, self._pointer)
            if addr == BootRegister.BL_DATA:
                return _answer(command, self._flash_byte(self._pointer))
            return _answer(command, COMMAND_ERROR)
        if addr == BootRegister.BL_ADDR:
            if command.value < APP_START:
                self._pointer = APP_START
                return _answer(command, COMMAND_ERROR)
            self._pointer = command.value
            return _answer(command, _OK)
        if addr == BootRegister.BL_DATA:
            if not self._erased:
                self.flash[:] = b"\xff" * IMAGE_SIZE
                self._erased = True
            if APP_START <= self._pointer <= APP_END:
                i = self._pointer - APP_START
                self.flash[i] &= command.value & 0xFF
            return _answer(command, _OK)
        if addr == BootRegister.BL_BOOTLOAD:
            if checksum_ok(bytes(self.flash)):
                self._reset()
                return _answer(command, _OK)
            return _answer(command, COMMAND_ERROR)
        # Any other register: the firmware answers with register byte 0x82 (sic, §6).
        return Response(command.namespace, BootRegister.BL_DATA, True, COMMAND_ERROR).encode()

    def _flash_byte(self, address: int) -> int:
        if APP_START <= address <= APP_END:
            return self.flash[address - APP_START]
        return 0xFF

    # --- introspection for tests and the shell ------------------------------------------------

    def cell_register(self, cell: int, register: CellRegister) -> int:
        return self.cells[cell].regs[register]

    def unit_register(self, register: UnitRegister) -> int:
        return self.unit_regs[register]


def _mapped(command: Command, registers: Sized, handler: Callable[[Command], Response]) -> Response:
    """``handler``'s answer, or COMMAND_ERROR for a register beyond the namespace's map."""
    if command.address >= len(registers):
        return _answer(command, COMMAND_ERROR)
    return handler(command)


def _answer(command: Command, value: int) -> Response:
    return Response(command.namespace, command.address, command.write, value & 0xFFFF)
