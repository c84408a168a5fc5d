"""Tracer conversations, written once for the blocking and the asyncio client.

Each is a generator that yields requests through :func:`fieldlink.kit.reply.ask`
(MT-5 :class:`~fieldlink.tracer.mt5.framing.Frame` s or Modbus
:mod:`~fieldlink.tracer.modbus.pdus` requests) and returns a typed value.  A
Modbus exception reply arrives here already raised by the session
(:class:`~fieldlink.tracer.errors.ModbusExceptionError`).

Settings are read, changed and validated as a whole block before the first write
(:mod:`.modbus.settings`); the block goes out in at most two FC 0x10 requests
(0x9000×15 and 0x906B×6, only those that changed).  If the second is refused after
the first was accepted, :class:`~fieldlink.tracer.errors.PartialWrite` says exactly
what the controller now holds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fieldlink.errors import ProtocolError, UsageError
from fieldlink.kit.converse import now
from fieldlink.kit.reply import ask
from fieldlink.tracer.errors import ModbusExceptionError, PartialWrite, SettingsError
from fieldlink.tracer.modbus import pdus, values
from fieldlink.tracer.modbus import registers as regs
from fieldlink.tracer.modbus.registers import Block, Register, Table
from fieldlink.tracer.modbus.settings import WRITE_GROUPS, BatterySettings, check, register_for
from fieldlink.tracer.mt5 import messages as mt5
from fieldlink.tracer.mt5.framing import Frame

Op = Generator[Any, Any, Any]

# --- Modbus ------------------------------------------------------------------------------------


def read_blocks(blocks: Iterable[Block]) -> Generator[Any, Any, dict[int, int]]:
    """Raw words of every address in ``blocks``, one request per block."""
    words: dict[int, int] = {}
    for block in blocks:
        reply = yield from ask(pdus.ReadRegisters(block.table, block.start, block.count))
        if not isinstance(reply, pdus.Registers) or len(reply.values) != block.count:
            raise ProtocolError(
                f"asked for {block.count} registers at {block.start:#06x}, got {reply}",
                message_type="Tracer Modbus reply",
            )
        words.update(zip(block.addresses, reply.values, strict=True))
    return words


def read_group(registers: tuple[Register, ...]) -> Generator[Any, Any, dict[int, int]]:
    return (yield from read_blocks(regs.blocks_for(registers)))


def realtime() -> Generator[Any, Any, values.RealTime]:
    return values.RealTime.from_words((yield from read_group(regs.REALTIME)))


def status() -> Generator[Any, Any, values.Status]:
    return values.Status.from_words((yield from read_group(regs.STATUS)))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What ``fieldlink tracer status`` shows: measurements, status bits and the load switch."""

    realtime: values.RealTime
    status: values.Status
    load_on: bool
    night: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.realtime.as_dict(),
            "charging_stage": self.status.stage,
            "load_switch": self.load_on,
            "night": self.night,
            **self.status.as_dict(),
        }


def snapshot() -> Generator[Any, Any, Snapshot]:
    rt = yield from realtime()
    st = yield from status()
    coil = yield from read_bits(Table.COIL, 0x0002, 1)
    night = yield from read_bits(Table.DISCRETE, 0x200C, 1)
    return Snapshot(rt, st, coil[0], night[0])


def read_bits(table: Table, start: int, count: int) -> Generator[Any, Any, tuple[bool, ...]]:
    reply = yield from ask(pdus.ReadBits(table, start, count))
    if not isinstance(reply, pdus.Bits) or len(reply.values) < count:
        raise ProtocolError(f"asked for {count} bits at {start:#06x}, got {reply}")
    return reply.values[:count]


def rated() -> Generator[Any, Any, values.Rated]:
    return values.Rated.from_words((yield from read_group(regs.RATED)))


def statistics() -> Generator[Any, Any, values.Statistics]:
    return values.Statistics.from_words((yield from read_group(regs.STATISTICS)))


def _battery_blocks() -> tuple[Block, ...]:
    return tuple(Block(Table.HOLDING, start, count) for start, count in WRITE_GROUPS)


def battery_settings() -> Generator[Any, Any, tuple[BatterySettings, dict[int, int]]]:
    """The battery block, and the raw words as read (0x906F included, written back as is)."""
    words = yield from read_blocks(_battery_blocks())
    return BatterySettings.from_words(words), words


def all_settings() -> Generator[Any, Any, dict[str, float | int]]:
    """Every named holding register, by name (the battery block first)."""
    words = yield from read_group(regs.SETTINGS)
    return regs.decode_all(regs.SETTINGS, words)


def write_battery_settings(changes: Mapping[str, float]) -> Generator[Any, Any, BatterySettings]:
    """Change battery settings as one validated block (SettingsError before any write)."""
    current, words = yield from battery_settings()
    wanted = current.replace(**changes).validate()
    new_words = {**words, **wanted.to_words()}
    written: list[str] = []
    for block in _battery_blocks():
        old = tuple(words[a] for a in block.addresses)
        new = tuple(new_words[a] for a in block.addresses)
        if old == new:
            continue
        try:
            yield from write_registers(block.start, new)
        except ModbusExceptionError as exc:
            if written:
                raise PartialWrite(
                    f"settings half-written: {', '.join(written)} accepted, then "
                    f"{block.start:#06x}×{block.count} refused ({exc}); the controller now "
                    f"holds the new values for the first part and the old ones for the rest",
                    code=exc.code,
                    meaning=exc.meaning,
                ) from exc
            raise
        written.append(f"{block.start:#06x}×{block.count}")
    return wanted


def write_setting(name: str, value: float) -> Generator[Any, Any, float]:
    """Write one named setting: through the battery block, or alone for the others."""
    if name in BatterySettings.names():
        block = yield from write_battery_settings({name: value})
        return float(getattr(block, name))
    reg = register_for(name)
    try:
        raw = reg.encode(value)
    except ValueError as exc:
        raise SettingsError(str(exc), rule=name) from None
    error = check({reg.address: raw[0]})
    if error is not None:
        raise error
    yield from write_registers(reg.address, tuple(raw))
    return value


def write_registers(start: int, words: tuple[int, ...]) -> Generator[Any, Any, None]:
    reply = yield from ask(pdus.WriteRegisters(start, words))
    if not isinstance(reply, pdus.Written) or (reply.address, reply.count) != (start, len(words)):
        raise ProtocolError(f"write of {len(words)} at {start:#06x} answered {reply}")


def clock() -> Generator[Any, Any, dt.datetime]:
    words = yield from read_blocks([Block(Table.HOLDING, 0x9013, 3)])
    return values.decode_clock(words)


def set_clock(when: dt.datetime) -> Generator[Any, Any, dt.datetime]:
    yield from write_registers(0x9013, tuple(values.encode_clock(when)))
    return when.replace(microsecond=0)


def sync_clock() -> Generator[Any, Any, tuple[dt.datetime, dt.datetime]]:
    """Set the controller's clock to the host's local time; (before, after)."""
    before = yield from clock()
    instant = yield from now()
    host = dt.datetime.fromtimestamp(round(instant.wall))
    after = yield from set_clock(host)
    return before, after


def switch_load(on: bool) -> Generator[Any, Any, bool]:
    """Manual load switch (coil 2); the coil's state read back."""
    reply = yield from ask(pdus.WriteCoil(0x0002, on))
    if not isinstance(reply, pdus.Written):
        raise ProtocolError(f"coil write answered {reply}")
    state = yield from read_bits(Table.COIL, 0x0002, 1)
    return state[0]


def device_info() -> Generator[Any, Any, values.DeviceInfo]:
    """FC 0x2B basic objects (vendor, product, revision), then the serial number if offered."""
    objects = yield from _device_objects(1)
    with contextlib.suppress(ModbusExceptionError):  # the serial number is optional
        objects.update((yield from _device_objects(2)))
    return values.DeviceInfo.from_objects(objects)


def _device_objects(code: int) -> Generator[Any, Any, dict[int, bytes]]:
    reply = yield from ask(pdus.ReadDeviceId(code))
    if not isinstance(reply, pdus.DeviceObjects):
        raise ProtocolError(f"device identification answered {reply}")
    return dict(reply.objects)


def sparse_read(start: int, count: int) -> Generator[Any, Any, dict[int, int]]:
    """FC 0x43: address -> word for the registers that exist in the range."""
    if not 1 <= count <= 125:
        raise UsageError("a sparse read covers 1–125 registers")
    reply = yield from ask(pdus.SparseRead(start, count))
    if not isinstance(reply, pdus.Sparse):
        raise ProtocolError(f"FC 0x43 answered {reply}")
    return {start + off: word for off, word in sorted(reply.present.items())}


# --- MT-5 --------------------------------------------------------------------------------------


def mt5_realtime(controller_id: int = mt5.DEFAULT_ID) -> Generator[Any, Any, mt5.RealTimeData]:
    reply = yield from ask(mt5.read_realtime(controller_id))
    data: mt5.RealTimeData = _typed(reply, mt5.RealTimeData)
    return data


def mt5_switch_load(on: bool, controller_id: int = mt5.DEFAULT_ID) -> Generator[Any, Any, bool]:
    reply = yield from ask(mt5.load_switch(on, controller_id))
    state: mt5.LoadState = _typed(reply, mt5.LoadState)
    return state.on


def mt5_set_parameters(
    params: mt5.ControlParameters, controller_id: int = mt5.DEFAULT_ID
) -> Generator[Any, Any, None]:
    reply = yield from ask(mt5.set_parameters(params, controller_id))
    _typed(reply, mt5.ParametersAccepted)


def _typed(reply: Any, kind: type[Any]) -> Any:
    value = mt5.decode_reply(reply) if isinstance(reply, Frame) else reply
    if not isinstance(value, kind):
        raise ProtocolError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value
