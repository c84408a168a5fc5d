"""The emulated TDR100: device state, the command table, and one port per client link.

Sans-I/O (kit.device): :class:`TDR100Model` holds what the instrument holds -- the
nine settings and the saved setup, the multiplexer selection, the last waveform and
its analysis, the cable reference length, the power state -- and answers parsed
commands through :data:`HANDLERS`, a table from mnemonic to handler.  Its physics
comes from a :class:`~fieldlink.tdr100.emulator.scene.Scene`.

Time is modelled, not slept: an acquisition lasts averages x points (§8) and keeps
the device busy until then on the model's injectable ``clock``.  A command that
arrives while the device is busy aborts the running one (SDK App. A): its results are
never stored and it gets no reply (§1, UNCERTAIN).  Because a reply handed to the
host as a delayed :class:`~fieldlink.kit.device.Outgoing` could not be withdrawn any
more, the port holds an acquisition's reply itself and releases it from
:meth:`TDR100Port.tick` when the acquisition is due; every other reply goes at once.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fieldlink.errors import UsageError
from fieldlink.kit.device import BasePort, Outgoing
from fieldlink.tdr100 import analysis
from fieldlink.tdr100.emulator import physics
from fieldlink.tdr100.emulator.scene import Scene
from fieldlink.tdr100.emulator.terminal import terminal_answer
from fieldlink.tdr100.protocol.commands import COMMANDS, Command, CommandRejected, parse_command
from fieldlink.tdr100.protocol.crc import XMODEM, CrcVariant
from fieldlink.tdr100.protocol.mux import CHANNELS, LEVELS, MuxPath
from fieldlink.tdr100.protocol.replies import Ack, ErrorReply, TDR100Reply, Values, encode_reply
from fieldlink.tdr100.settings import SETTINGS, Settings
from fieldlink.tdr100.waveform import Waveform, WaveformError, derivative

__all__ = ["HANDLERS", "VERSIONS", "Result", "TDR100Model", "TDR100Port", "default_settings"]

log = logging.getLogger("fieldlink.tdr100.emulator")

#: GVER: boot version, boot signature, OS version, OS signature (arbitrary, §8).
VERSIONS = (1.0, float(0x1234), 2.0, float(0x5678))
#: GCAL's calibration voltage, V (UNCERTAIN: any plausible constant).
CALIBRATION_VOLTAGE = 2.048
#: CCCC accepts water temperatures in this range, °C (outside: !10).
WATER_TEMPERATURES = (-5.0, 60.0)
#: La/L a moisture result must lie in (Ka from just below air's 1 to above water's 88).
MIN_LA_L, MAX_LA_L = 0.9, 9.5
#: Seconds between the port's checks for a finished acquisition.
TICK = 0.01
#: A command line longer than this is junk (the longest real one is ~25 bytes).
MAX_COMMAND = 64


@dataclass
class Result:
    """A handler's answer: the reply, how long the device is busy, what it then stores."""

    reply: TDR100Reply
    duration: float = 0.0
    commit: Callable[[], None] | None = None


def _error(code: int) -> Result:
    return Result(ErrorReply(code))


def default_settings(scene: Scene) -> Settings:
    """Settings that frame the scene's probes: start 0.5 m before the probe, a window
    long enough for the wettest channel (MAN Table 4-1's idea), the probe's own length,
    offset and cell constant."""
    start = scene.cable.apparent_length(1.0)
    wettest = max((s.permittivity for s in scene.channels.values()), default=30.0)
    probe = scene.probe
    span = 0.5 + probe.offset + probe.length * math.sqrt(wettest) + 1.5
    return Settings(
        distance=round(max(0.0, start - 0.5), 2),
        window=float(min(700, math.ceil(span))),
        probe_length=probe.length,
        probe_offset=probe.offset,
        cell_constant=round(probe.cell_constant, 4),
    )


@dataclass
class _Pending:
    """The running acquisition: its reply (held until ``due``) and what it then stores."""

    command: str
    due: float
    commit: Callable[[], None] | None
    duration: float = 0.0
    reply: bytes = b""
    owner: TDR100Port | None = None


@dataclass
class _Counters:
    commands: int = 0
    errors: int = 0
    aborts: int = 0
    acquisitions: int = 0


class TDR100Model:
    """One emulated TDR100 (a kit DeviceModel): shared by every link to it."""

    def __init__(
        self,
        scene: Scene | None = None,
        *,
        crc: CrcVariant = XMODEM,
        clock: Callable[[], float] = time.monotonic,
        settings: Settings | None = None,
    ) -> None:
        self.scene = scene or Scene()
        self.crc = crc
        self.clock = clock
        self.rng = random.Random(self.scene.seed)
        self.settings = settings or default_settings(self.scene)
        self.saved = self.settings
        self.mux: dict[int, int] = {}
        self.display = (1.0, -1.0)
        self.powered = True
        self.waveform: list[float] | None = None
        self.edges: tuple[float, float, float] | None = None
        self.reference_length: float | None = None
        self.times = (0.0, 0.0, 0.0)
        #: The acquisition running now, if any (at most one: the device is half-duplex).
        self.pending: _Pending | None = None
        self.counters = _Counters()

    # --- kit.device.DeviceModel ----------------------------------------------------------

    def open_port(self, number: int) -> TDR100Port:
        return TDR100Port(self, number)

    def describe(self) -> str:
        return (
            f"TDR100 ({len(self.scene.channels)} probe(s), cable {self.scene.cable.length:g} m, "
            f"{self.crc.name})"
        )

    # --- state ---------------------------------------------------------------------------

    @property
    def path(self) -> MuxPath:
        """The multiplexer path the SMUX commands have selected."""
        return MuxPath(tuple(sorted(self.mux.items())))

    def busy(self, now: float) -> bool:
        return self.pending is not None and now < self.pending.due

    def settle(self, now: float) -> str | None:
        """Finish or abort the running command at ``now``; the aborted mnemonic, if any."""
        pending, self.pending = self.pending, None
        if pending is None:
            return None
        if now >= pending.due:
            # Every finished acquisition powers the analog section and sets GTIM's values.
            self.powered = True
            self.times = (self.scene.timing.power_up, pending.duration, pending.duration)
            if pending.commit is not None:
                pending.commit()
            if pending.owner is not None:
                pending.owner.ready.append(pending.reply)
            return None
        self.counters.aborts += 1
        log.info("TDR100 emulator: %s aborted by a new command", pending.command)
        return pending.command

    def execute(self, command: Command, now: float, owner: TDR100Port | None = None) -> Result:
        """Carry out one parsed command (the device is idle: :meth:`settle` ran).

        A command that takes time becomes :attr:`pending`, its reply held for ``owner``.
        """
        self.counters.commands += 1
        result = HANDLERS[command.mnemonic](self, command)
        if isinstance(result.reply, ErrorReply):
            self.counters.errors += 1
        if result.duration > 0:
            reply = encode_reply(result.reply, self.crc)
            self.pending = _Pending(
                command.mnemonic,
                now + result.duration,
                result.commit,
                result.duration,
                reply,
                owner,
            )
        elif result.commit is not None:
            result.commit()
        return result

    def acquisition_time(self) -> float:
        s = self.settings
        return self.scene.timing.acquisition(s.averages, s.points, self.powered)

    def acquire(self, calibrated: bool = True) -> list[float]:
        self.counters.acquisitions += 1
        soil = self.scene.soil(self.path)
        return physics.synthesise(self.scene, soil, self.settings, self.rng, calibrated=calibrated)

    def _store(self, waveform: list[float]) -> Callable[[], None]:
        def commit() -> None:
            self.waveform = waveform

        return commit


# --- the command table ---------------------------------------------------------------------

Handler = Callable[[TDR100Model, Command], Result]
HANDLERS: dict[str, Handler] = {}


def handles(*mnemonics: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for m in mnemonics:
            HANDLERS[m] = fn
        return fn

    return register


def _number(command: Command) -> float:
    return float(command.value)  # type: ignore[arg-type]  # parse_command checked it


_SETTERS = {s.command: s for s in SETTINGS}


@handles(*_SETTERS)
def _set(device: TDR100Model, command: Command) -> Result:
    rule = _SETTERS[command.mnemonic]
    value = _number(command)
    if (
        not math.isfinite(value)
        or not rule.contains(value)
        or (rule.integer and value != int(value))
    ):
        return _error(10)
    new = device.settings.replace(**{rule.name: int(value) if rule.integer else value})
    return Result(Ack(command.mnemonic), commit=lambda: setattr(device, "settings", new))


@handles("SMUX")
def _smux(device: TDR100Model, command: Command) -> Result:
    value = _number(command)
    if value != int(value):
        return _error(18)
    number = int(value)
    if number == 0:
        return Result(Ack("SMUX"), commit=device.mux.clear)
    level, channel = divmod(number, 10)
    if level not in LEVELS or channel not in CHANNELS:
        return _error(18)

    def select() -> None:
        for deeper in [lv for lv in device.mux if lv >= level]:
            del device.mux[deeper]
        device.mux[level] = channel

    return Result(Ack("SMUX"), commit=select)


@handles("SMAX", "SMIN")
def _display(device: TDR100Model, command: Command) -> Result:
    value = _number(command)
    high, low = device.display
    new = (value, low) if command.mnemonic == "SMAX" else (high, value)
    return Result(Ack(command.mnemonic), commit=lambda: setattr(device, "display", new))


@handles("CCCC")
def _cell_constant(device: TDR100Model, command: Command) -> Result:
    temperature = _number(command)
    lo, hi = WATER_TEMPERATURES
    if not lo <= temperature <= hi:
        return _error(10)
    soil = device.scene.soil(device.path)
    if soil is None:
        return _error(7)
    sigma = device.scene.noise / math.sqrt(device.settings.averages)
    rho = device.scene.probe.section_reflection(soil.permittivity) + device.rng.gauss(0, sigma)
    kp = analysis.cell_constant_in_water(rho, temperature, device.settings.probe_length)
    return Result(Values("CCCC", (kp, device.settings.smooth)), device.acquisition_time())


@handles("GCAL")
def _gcal(device: TDR100Model, command: Command) -> Result:
    return Result(Values("GCAL", (CALIBRATION_VOLTAGE + device.rng.gauss(0, 1e-4),)))


@handles("GCON")
def _gcon(device: TDR100Model, command: Command) -> Result:
    soil = device.scene.soil(device.path)
    sigma_noise = device.scene.noise / math.sqrt(device.settings.averages)
    rho = physics.rho_inf(device.scene, soil) + device.rng.gauss(0, sigma_noise)
    rho = min(1.0, max(-0.999, rho))
    ec = max(0.0, analysis.conductivity(rho, device.settings.cell_constant))
    return Result(Values("GCON", (ec,)), device.acquisition_time())


@handles("GDTS")
def _gdts(device: TDR100Model, command: Command) -> Result:
    short = device.scene.short_distance
    if short is None:
        return Result(ErrorReply(11), device.acquisition_time())
    return Result(Values("GDTS", (short * device.settings.vp,)), device.acquisition_time())


@handles("GLWF", "GLDR")
def _last(device: TDR100Model, command: Command) -> Result:
    if device.waveform is None:
        return _error(15)
    values = device.waveform if command.mnemonic == "GLWF" else derivative(device.waveform)
    return Result(Values(command.mnemonic, tuple(values)))


@handles("GWAV", "GNWA", "GNDR", "AWAV", "ANWA")
def _acquire(device: TDR100Model, command: Command) -> Result:
    m = command.mnemonic
    waveform = device.acquire(calibrated=m not in ("GNWA", "ANWA"))
    duration = device.acquisition_time()
    reply: TDR100Reply
    if m in ("AWAV", "ANWA"):
        reply = Ack(m)
    elif m == "GNDR":
        reply = Values(m, tuple(derivative(waveform)))
    else:
        reply = Values(m, tuple(waveform))
    return Result(reply, duration, device._store(waveform))


@handles("GMOS")
def _gmos(device: TDR100Model, command: Command) -> Result:
    waveform = device.acquire()
    duration = device.acquisition_time()
    store = device._store(waveform)
    try:
        wave = Waveform(tuple(waveform), device.settings)
        e = wave.edges()
        value = wave.la_l(e)  # the client's own analysis: the two cannot drift apart
    except (WaveformError, UsageError):
        return Result(ErrorReply(16), duration, store)
    if not MIN_LA_L <= value <= MAX_LA_L:  # Ka below air's or above water's: no real probe
        return Result(ErrorReply(16), duration, store)

    def commit() -> None:
        store()
        device.edges = (e.start, e.end, e.rms)

    return Result(Values("GMOS", (value,)), duration, commit)


@handles("GVAR")
def _gvar(device: TDR100Model, command: Command) -> Result:
    if device.edges is None:
        return _error(15)
    return Result(Values("GVAR", device.edges))


@handles("SRLN")
def _srln(device: TDR100Model, command: Command) -> Result:
    length = device.scene.cable.apparent_length(device.settings.vp)
    return Result(
        Ack("SRLN"), device.acquisition_time(), lambda: setattr(device, "reference_length", length)
    )


@handles("GRLN")
def _grln(device: TDR100Model, command: Command) -> Result:
    if device.reference_length is None:
        return _error(9)
    return Result(Values("GRLN", (device.reference_length,)))


@handles("GTIM")
def _gtim(device: TDR100Model, command: Command) -> Result:
    return Result(Values("GTIM", device.times))


@handles("GVER")
def _gver(device: TDR100Model, command: Command) -> Result:
    return Result(Values("GVER", VERSIONS))


@handles("DUMP")
def _dump(device: TDR100Model, command: Command) -> Result:
    return Result(Values("DUMP", device.settings.dump()))


@handles("SSET")
def _sset(device: TDR100Model, command: Command) -> Result:
    return Result(Ack("SSET"), commit=lambda: setattr(device, "saved", device.settings))


@handles("RSET")
def _rset(device: TDR100Model, command: Command) -> Result:
    return Result(Ack("RSET"), commit=lambda: setattr(device, "settings", device.saved))


@handles("SOFF")
def _soff(device: TDR100Model, command: Command) -> Result:
    return Result(Ack("SOFF"), commit=lambda: setattr(device, "powered", False))


@handles("ABRT")
def _abrt(device: TDR100Model, command: Command) -> Result:
    return Result(Ack("ABRT"))


assert set(HANDLERS) == set(COMMANDS), set(COMMANDS) ^ set(HANDLERS)


# --- the port ------------------------------------------------------------------------------


@dataclass
class _Line:
    buffer: bytearray = field(default_factory=bytearray)
    active: bool = False
    #: What is typed outside a ``:`` frame (terminal mode, §5).
    typed: bytearray = field(default_factory=bytearray)


class TDR100Port(BasePort):
    """One client link: splits ``:`` ... CR command lines and answers each.

    Ticks every :data:`TICK` seconds to release a finished acquisition's reply.
    """

    tick_interval: float | None = TICK
    unit_name = "commands"

    def __init__(self, device: TDR100Model, number: int = 1) -> None:
        self.device = device
        self.number = number
        self._line = _Line()
        self.answered = 0
        self.rejected = 0
        #: Mnemonics of commands this link's later commands aborted, in order.
        self.aborted: list[str] = []
        #: Replies of finished acquisitions not yet sent.
        self.ready: list[bytes] = []

    def frames(self, data: bytes) -> Sequence[bytes]:
        units: list[bytes] = []
        line = self._line
        for byte in data:
            if byte == 0x3A:  # ':' always starts a fresh command (a partial one is lost)
                line.buffer = bytearray(b":")
                line.active = True
                line.typed.clear()
            elif not line.active:  # terminal mode: a person typing (or line noise)
                if byte == 0x0D:
                    units.append(bytes(line.typed) + b"\r")
                    line.typed.clear()
                elif len(line.typed) < MAX_COMMAND:
                    line.typed.append(byte)
            elif byte == 0x0D:
                units.append(bytes(line.buffer) + b"\r")
                line.buffer.clear()
                line.active = False
            else:
                line.buffer.append(byte)
                if len(line.buffer) > MAX_COMMAND:
                    units.append(bytes(line.buffer))
                    line.buffer.clear()
                    line.active = False
        return units

    @property
    def in_unit(self) -> bool:
        return self._line.active

    def answer(self, unit: bytes) -> Sequence[Outgoing]:
        device = self.device
        now = device.clock()
        aborted = device.settle(now)
        if aborted is not None:
            self.aborted.append(aborted)
        done = self._take_ready()  # a finished acquisition's reply goes before the next one
        if not unit.startswith(b":"):
            return [*done, Outgoing(terminal_answer(device, unit.removesuffix(b"\r")))]
        try:
            command = parse_command(unit)
        except CommandRejected as exc:
            self.rejected += 1
            device.counters.errors += 1
            log.debug("TDR100 emulator: %r rejected: %s", unit[:20], exc)
            return [*done, Outgoing(encode_reply(ErrorReply(exc.code), device.crc))]
        result = device.execute(command, now, self)
        self.answered += 1
        if result.duration > 0:
            return done  # this reply is held until the acquisition is done: see tick()
        return [*done, Outgoing(encode_reply(result.reply, device.crc))]

    def _take_ready(self) -> list[Outgoing]:
        ready, self.ready = self.ready, []
        return [Outgoing(data) for data in ready]

    def tick(self, now: float) -> Sequence[Outgoing]:
        pending = self.device.pending
        if pending is not None and now >= pending.due:
            self.device.settle(now)  # whichever link ticks first finishes it
        return self._take_ready()

    @property
    def busy_until(self) -> float | None:
        """When the acquisition this link started is due (None: none is running)."""
        pending = self.device.pending
        return pending.due if pending is not None and pending.owner is self else None

    def closed(self) -> None:
        self._line = _Line()  # forgets a partial command and anything typed
        pending = self.device.pending
        if pending is not None and pending.owner is self:
            pending.owner = None  # it still runs (and stores) but its reply has no one to go to

    def summary(self) -> str:
        return (
            f"{self.answered} command(s) answered, {self.rejected} rejected, "
            f"{len(self.aborted)} aborted"
        )
