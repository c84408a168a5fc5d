"""Batlab conversations, written once as generators for the blocking and asyncio drivers.

Each operation yields requests (a :class:`~fieldlink.batlab.codec.Command` through
:func:`exchange`) and kit steps (:func:`~fieldlink.kit.converse.pause`,
:func:`~fieldlink.kit.converse.now`, :func:`~fieldlink.kit.converse.emit`) and
returns a typed result.  The session matches each response to its command, so an
operation never sees stream packets or another caller's replies.

Values are validated before anything is sent (UsageError naming the range);
rejected writes raise :class:`~fieldlink.batlab.errors.RegisterRejected`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from fieldlink.batlab import convert
from fieldlink.batlab.codec import Command, Response
from fieldlink.batlab.errors import (
    BatlabError,
    BootloadError,
    CellFault,
    RegisterRejected,
)
from fieldlink.batlab.firmware import APP_START, FirmwareImage
from fieldlink.batlab.registers import (
    CELLS,
    COMMAND_ERROR,
    Access,
    BootRegister,
    CellRegister,
    ErrorFlag,
    Mode,
    Namespace,
    SettingsFlag,
    StatusFlag,
    UnitRegister,
    register_spec,
)
from fieldlink.batlab.settings import TestSettings
from fieldlink.batlab.workflow import (
    Reading,
)
from fieldlink.errors import ProtocolError, UsageError
from fieldlink.kit.converse import Operation, pause
from fieldlink.kit.reply import ask

__all__ = [
    "WATCHDOG_RESET",
    "BootProgress",
    "CellSnapshot",
    "UnitInfo",
    "apply_limits",
    "bootload",
    "cell_snapshot",
    "connect",
    "exchange",
    "firmware_version",
    "impedance",
    "kick_watchdog",
    "read_register",
    "set_current",
    "set_mode",
    "watchdog_state",
    "write_register",
    "write_verify",
]

#: The official keep-alive value (25.5 s at 10 Hz).
WATCHDOG_RESET: Final = 255
_C, _U = CellRegister, UnitRegister
_UNIT = int(Namespace.UNIT)
_BOOT = int(Namespace.BOOTLOADER)


def exchange(command: Command, *, retries: int = 2) -> Generator[Any, Any, Response]:
    """Send one command and return its response (the one place a request is yielded)."""
    reply = yield from ask(command, retries=retries)
    if not isinstance(reply, Response):
        raise TypeError(f"driver answered a Batlab command with {type(reply).__name__}")
    return reply


# --- registers ----------------------------------------------------------------------------------


def _ns(namespace: int) -> int:
    if not (0 <= namespace < CELLS or namespace in (_UNIT, _BOOT, Namespace.COMMS)):
        raise UsageError(f"namespace {namespace} is not a Batlab namespace (0-3, 4, 5, 255)")
    return int(namespace)


def read_register(namespace: int, address: int) -> Operation[int]:
    """One register word (0x0101 = 257 also answers an unknown register)."""
    reply = yield from exchange(Command.read(_ns(namespace), address))
    return reply.value


def write_register(namespace: int, address: int, value: int) -> Operation[None]:
    """Write ``value`` (−32768…65535; negatives go out as two's complement).

    A register the firmware never accepts writes for is refused here, before
    anything is sent; a write the unit rejects raises RegisterRejected.
    """
    ns = _ns(namespace)
    spec = register_spec(ns, address)
    if spec is not None and spec.access is Access.RO:
        raise UsageError(f"register {spec.name} is read-only")
    command = Command.write_value(ns, address, value)
    reply = yield from exchange(command)
    if reply.value == COMMAND_ERROR:
        name = spec.name if spec else f"0x{address:02X}"
        raise RegisterRejected(
            f"the unit rejected writing {value} to {name} (namespace {ns})",
            code=COMMAND_ERROR,
            meaning="write rejected: read-only, unknown or protected register",
        )


def write_verify(namespace: int, address: int, value: int, *, attempts: int = 3) -> Operation[None]:
    """Write, read back, compare (as the official ``write_verify``), retrying a few times."""
    want = convert.word(value)
    for _ in range(attempts):
        yield from write_register(namespace, address, value)
        got = yield from read_register(namespace, address)
        if got == want:
            return
    raise BatlabError(f"register 0x{address:02X} of namespace {namespace} did not keep {value}")


# --- unit ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitInfo:
    """What the handshake learned (batlab.md §7.1)."""

    serial: int
    firmware: int
    bootloader: bool
    temp_r: tuple[int, ...] = ()
    temp_b: tuple[int, ...] = ()
    setpoints: tuple[int, ...] = ()


def connect(*, enable_watchdog: bool = True) -> Operation[UnitInfo]:
    """The official connect sequence (§7.1): bootloader check, watchdog kick, cells IDLE,
    calibration, serial, firmware version, watchdog enabled (firmware > 3)."""
    probe = yield from read_register(_BOOT, BootRegister.BL_ADDR)
    if probe != COMMAND_ERROR:
        return UnitInfo(serial=0, firmware=0, bootloader=True)
    yield from write_register(_UNIT, _U.WATCHDOG_TIMER, WATCHDOG_RESET)
    for cell in range(CELLS):
        yield from write_register(cell, _C.MODE, Mode.IDLE)
    temp_r: list[int] = []
    temp_b: list[int] = []
    setpoints: list[int] = []
    for reg, out in ((_C.TEMP_CALIB_R, temp_r), (_C.TEMP_CALIB_B, temp_b)):
        for cell in range(CELLS):
            out.append((yield from read_register(cell, reg)))
    for cell in range(CELLS):
        setpoints.append((yield from read_register(cell, _C.CURRENT_SETPOINT)))
    low = yield from read_register(_UNIT, _U.SERIAL_NUM)
    high = yield from read_register(_UNIT, _U.DEVICE_ID)
    version = yield from read_register(_UNIT, _U.FIRMWARE_VER)
    if enable_watchdog and version > 3:
        yield from write_verify(_UNIT, _U.SETTINGS, int(SettingsFlag.WATCHDOG))
        yield from kick_watchdog()
    return UnitInfo(
        serial=low + 65536 * high,
        firmware=version,
        bootloader=False,
        temp_r=tuple(temp_r),
        temp_b=tuple(temp_b),
        setpoints=tuple(setpoints),
    )


def kick_watchdog() -> Operation[None]:
    yield from write_register(_UNIT, _U.WATCHDOG_TIMER, WATCHDOG_RESET)


def firmware_version() -> Operation[int]:
    return (yield from read_register(_UNIT, _U.FIRMWARE_VER))


def watchdog_state() -> Operation[bool]:
    """True if the watchdog has tripped (enabled and run down to 0)."""
    settings = yield from read_register(_UNIT, _U.SETTINGS)
    if not settings & SettingsFlag.WATCHDOG:
        return False
    remaining = yield from read_register(_UNIT, _U.WATCHDOG_TIMER)
    return remaining == 0


# --- cells --------------------------------------------------------------------------------------


def set_mode(cell: int, mode: Mode) -> Operation[None]:
    yield from write_register(int(Namespace.cell(cell)), _C.MODE, int(Mode(mode)))


def set_current(cell: int, amps: float) -> Operation[None]:
    """Set a cell's current setpoint (0…5 A; validated before sending)."""
    raw = convert.setpoint_to_raw(amps)
    yield from write_register(int(Namespace.cell(cell)), _C.CURRENT_SETPOINT, raw)


@dataclass(frozen=True, slots=True)
class CellSnapshot:
    """One cell, read under LOCK so temperature and the p-p values come from one latch."""

    cell: int
    mode: Mode | int
    error: ErrorFlag
    status: StatusFlag
    voltage: float
    current: float
    temperature: float | None
    charge: float
    setpoint: float
    duty: int
    current_pp: float
    voltage_pp: float
    vcc: float
    raw: Mapping[str, int] = field(default_factory=dict, compare=False)

    @property
    def mode_name(self) -> str:
        return self.mode.name if isinstance(self.mode, Mode) else f"UNKNOWN({self.mode})"

    @property
    def present(self) -> bool:
        return self.mode not in (Mode.NO_CELL, Mode.BACKWARDS)

    @property
    def impedance(self) -> float | None:
        """Ohms from the p-p values (only meaningful in IMPEDANCE mode)."""
        return self.voltage_pp / self.current_pp if self.current_pp > 1e-6 else None

    def reading(self, t: float, wall: dt.datetime, impedance: float | None = None) -> Reading:
        return Reading(
            t=t,
            wall=wall,
            mode=int(self.mode),
            error=int(self.error),
            voltage=self.voltage,
            current=self.current,
            temperature=self.temperature if self.temperature is not None else math.nan,
            charge=self.charge,
            duty=self.duty,
            setpoint=int(self.setpoint * 128),
            vcc=self.vcc,
            impedance=impedance,
        )


_SNAPSHOT_REGS: Final = (
    _C.MODE,
    _C.ERROR,
    _C.STATUS,
    _C.VOLTAGE,
    _C.CURRENT,
    _C.TEMPERATURE,
    _C.CURRENT_SETPOINT,
    _C.DUTY,
    _C.CURRENT_PP,
    _C.VOLTAGE_PP,
)


def _charge(cell: int, hires: bool) -> Operation[float]:
    """CHARGEH, CHARGEL, CHARGEH again: re-read when the low word rolled over meanwhile."""
    for _ in range(3):
        high = yield from read_register(cell, _C.CHARGEH)
        low = yield from read_register(cell, _C.CHARGEL)
        again = yield from read_register(cell, _C.CHARGEH)
        if again == high:
            return convert.charge_from_raw(low, high, hires=hires)
    return convert.charge_from_raw(low, again, hires=hires)


def cell_snapshot(cell: int, temp_r: int, temp_b: int) -> Operation[CellSnapshot]:
    """Read one cell as a typed snapshot (LOCK=1 ... LOCK=0, §5.7)."""
    ns = int(Namespace.cell(cell))
    yield from write_register(_UNIT, _U.LOCK, 1)
    try:
        raw = {}
        for reg in _SNAPSHOT_REGS:
            raw[reg.name] = yield from read_register(ns, reg)
        raw["VCC"] = yield from read_register(_UNIT, _U.VCC)
        settings = yield from read_register(_UNIT, _U.SETTINGS)
    finally:
        yield from write_register(_UNIT, _U.LOCK, 0)
    hires = bool(settings & (SettingsFlag.CH0_HI_RES << cell))
    charge = yield from _charge(ns, hires)
    try:
        temperature: float | None = convert.temperature_from_raw(raw["TEMPERATURE"], temp_r, temp_b)
    except ProtocolError:  # an open or shorted thermistor, or a blank calibration
        temperature = None
    mode_raw = raw["MODE"]
    return CellSnapshot(
        cell=cell,
        mode=Mode(mode_raw) if mode_raw in Mode._value2member_map_ else mode_raw,
        error=convert.error_from_raw(raw["ERROR"]),
        status=convert.status_from_raw(raw["STATUS"]),
        voltage=convert.voltage_from_raw(raw["VOLTAGE"]),
        current=convert.current_from_raw(raw["CURRENT"]),
        temperature=temperature,
        charge=charge,
        setpoint=convert.setpoint_from_raw(raw["CURRENT_SETPOINT"]),
        duty=raw["DUTY"],
        current_pp=convert.current_from_raw(raw["CURRENT_PP"]),
        voltage_pp=convert.voltage_from_raw(raw["VOLTAGE_PP"]),
        vcc=convert.vcc_from_raw(raw["VCC"]),
        raw=raw,
    )


def impedance(cell: int, *, settle: float = 2.0) -> Operation[float]:
    """Impedance in ohms (§7.2): IMPEDANCE mode, settle, LOCK, read the p-p pair, restore.

    Unlike the official library, the previous mode really is restored.
    """
    ns = int(Namespace.cell(cell))
    previous = yield from read_register(ns, _C.MODE)
    if previous in (Mode.NO_CELL, Mode.BACKWARDS):
        raise CellFault(
            f"cell {cell}: cannot measure impedance ({Mode(previous).name})",
            cell=cell,
            code=previous,
        )
    yield from write_register(ns, _C.MODE, Mode.IMPEDANCE)
    yield from pause(settle)
    yield from write_register(_UNIT, _U.LOCK, 1)
    try:
        i_pp = yield from read_register(ns, _C.CURRENT_PP)
        v_pp = yield from read_register(ns, _C.VOLTAGE_PP)
    finally:
        yield from write_register(_UNIT, _U.LOCK, 0)
        restore = Mode.IDLE if previous == Mode.IMPEDANCE else previous
        if restore in Mode._value2member_map_:
            yield from write_register(ns, _C.MODE, restore)
    amps = convert.current_from_raw(i_pp)
    return 0.0 if amps < 1e-6 else convert.voltage_from_raw(v_pp) / amps


def apply_limits(cell: int, settings: TestSettings, temp_r: int, temp_b: int) -> Operation[None]:
    """Write a test's limits with write-verify, as the official ``start_test`` does."""
    ns = int(Namespace.cell(cell))
    s = settings
    limits = (
        (_C.VOLTAGE_LIMIT_CHG, convert.voltage_to_raw(s.high_voltage_cutoff)),
        (_C.VOLTAGE_LIMIT_DCHG, convert.voltage_to_raw(s.low_voltage_cutoff)),
        (_C.CURRENT_LIMIT_CHG, convert.current_to_raw(s.charge_current_cutoff)),
        (_C.CURRENT_LIMIT_DCHG, convert.current_to_raw(s.discharge_current_cutoff)),
        (
            _C.TEMP_LIMIT_CHG,
            convert.temperature_to_raw(s.charge_temperature_cutoff, temp_r, temp_b),
        ),
        (
            _C.TEMP_LIMIT_DCHG,
            convert.temperature_to_raw(s.discharge_temperature_cutoff, temp_r, temp_b),
        ),
    )
    for reg, raw in limits:
        yield from write_verify(ns, reg, raw)


# --- firmware -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BootProgress:
    done: int
    total: int


def bootload(
    image: FirmwareImage,
    *,
    reset_wait: float = 2.0,
    progress: Callable[[BootProgress], None] | None = None,
    every: int = 256,
    check: bool = True,
) -> Operation[int]:
    """Flash ``image`` (§6): BOOTLOAD, per byte BL_ADDR/BL_DATA/read-back, BL_BOOTLOAD.

    Returns the firmware version the unit reports afterwards.  A unit already in its
    bootloader (a failed earlier attempt) is flashed directly.  The image's size and
    checksum are checked first (``check=False`` only to test a device's refusal).
    """
    if check:  # before anything is sent: a bad image must not leave the unit in its bootloader
        image = FirmwareImage.from_bytes(image.data, image.name)
    probe = yield from read_register(_BOOT, BootRegister.BL_ADDR)
    if probe == COMMAND_ERROR:
        yield from write_register(_UNIT, _U.BOOTLOAD, 0)
        yield from pause(reset_wait)
    data = image.data
    total = len(data)
    for k, byte in enumerate(data):
        for _ in range(5):
            yield from _boot_write(BootRegister.BL_ADDR, APP_START + k)
            yield from _boot_write(BootRegister.BL_DATA, byte)
            if (yield from read_register(_BOOT, BootRegister.BL_DATA)) == byte:
                break
        else:
            raise BootloadError(f"flash byte 0x{APP_START + k:04X} does not verify")
        if progress is not None and ((k + 1) % every == 0 or k + 1 == total):
            progress(BootProgress(k + 1, total))
    reply = yield from exchange(Command.write_value(_BOOT, BootRegister.BL_BOOTLOAD, 0))
    if reply.value == COMMAND_ERROR:
        raise BootloadError(
            "the bootloader refused the image (checksum); the unit stays in its bootloader",
            code=COMMAND_ERROR,
        )
    yield from pause(reset_wait)
    if (yield from read_register(_BOOT, BootRegister.BL_DATA)) != COMMAND_ERROR:
        raise BootloadError("the unit did not return to its application after flashing")
    return (yield from firmware_version())


def _boot_write(register: BootRegister, value: int) -> Operation[None]:
    reply = yield from exchange(Command.write_value(_BOOT, register, value))
    if reply.value == COMMAND_ERROR:
        raise BootloadError(f"bootloader rejected {register.name} = {value}", code=COMMAND_ERROR)
