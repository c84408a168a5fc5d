"""One Tracer charge controller, shared by the MT-5 and the Modbus front.

The model steps through simulated time (at most a minute a step) whenever a front
asks it something: the sun (:mod:`.solar`) lights the panel, the MPPT tracker takes
the panel's maximum power point, and the charger drives the battery
(:mod:`.battery`) through the stages

    not charging → bulk → boost (or equalize, when due) → float

bulk: all the current the panel gives (up to the rated charging current) until the
terminal reaches the boost (equalization) voltage; boost/equalize: hold that
voltage for the boost (equalize) duration of 0x906C (0x906B); float: hold the float
voltage until the battery sags below the boost reconnect voltage (back to bulk) or
the sun goes.  Equalization is due every 0x9016 days (never on gel batteries).
The Modbus status word has no bulk code: EPEVER reports bulk and absorption both as
"boost" (0x3201 D3–D2 = 2), and so does the model.

The load draws a fixed power while on; more than the rated load current cuts it
(overload) until it is switched again, the low-voltage disconnect cuts it below
0x900D and reconnects above 0x900A.  Energy counters accumulate and reset at
midnight, on the 1st and on 1 January of the controller's clock.  Everything is
deterministic for a seed (the clouds are the only randomness).  Simplifications:
no temperature compensation and no day/night detection delays.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from fieldlink.tracer.emulator.battery import Battery
from fieldlink.tracer.emulator.clock import SimClock
from fieldlink.tracer.emulator.solar import Panel, irradiance
from fieldlink.tracer.modbus import registers as regs
from fieldlink.tracer.modbus import settings, values
from fieldlink.tracer.modbus.registers import Table
from fieldlink.tracer.modbus.values import DeviceInfo
from fieldlink.tracer.mt5 import messages as mt5

#: Modbus exception codes the model answers writes with.
ILLEGAL_ADDRESS = 0x02
ILLEGAL_VALUE = 0x03


class Stage(enum.Enum):
    NONE = "not charging"
    BULK = "bulk"
    BOOST = "boost"
    FLOAT = "float"
    EQUALIZE = "equalize"


#: 0x3201 D3–D2 for each stage (bulk has no code of its own).
STAGE_CODE: dict[Stage, str] = {
    Stage.NONE: "not charging",
    Stage.BULK: "boost",
    Stage.BOOST: "boost",
    Stage.FLOAT: "float",
    Stage.EQUALIZE: "equalization",
}

#: Holding registers of a real Tracer2215BN, 12 V system (tracer.md §B8).
DEFAULT_HOLDING: dict[int, int] = {
    0x9000: 1,
    0x9001: 100,
    0x9002: 300,
    0x9003: 1600,
    0x9004: 1500,
    0x9005: 1500,
    0x9006: 1460,
    0x9007: 1440,
    0x9008: 1380,
    0x9009: 1320,
    0x900A: 1260,
    0x900B: 1220,
    0x900C: 1200,
    0x900D: 1110,
    0x900E: 1060,
    0x9016: 30,
    0x9017: 6500,
    0x9018: 0xF060,
    0x9019: 8500,
    0x901A: 7500,
    0x901B: 8500,
    0x901C: 7500,
    0x901D: 0,
    0x901E: 500,
    0x901F: 10,
    0x9020: 600,
    0x9021: 10,
    0x903D: 0,
    0x903E: 0x0100,
    0x903F: 0x0100,
    0x9042: 0,
    0x9043: 0,
    0x9044: 19,
    0x9045: 0,
    0x9046: 0,
    0x9047: 6,
    0x9048: 0,
    0x9049: 0,
    0x904A: 19,
    0x904B: 0,
    0x904C: 0,
    0x904D: 6,
    0x9063: 60,
    0x9065: 0x0A00,
    0x9067: 0,
    0x9069: 0,
    0x906A: 1,
    0x906B: 120,
    0x906C: 120,
    0x906D: 30,
    0x906E: 100,
    0x906F: 100,
    0x9070: 0,
}

DEFAULT_IDENTITY = DeviceInfo(
    "EPsolar Tech co., Ltd", "Tracer2215BN", "V02.05+V07.12", "0002201301200045"
)

#: Modbus battery type (0x9000) for each MT-5 battery type, and back.
MT5_TO_MODBUS_TYPE = {mt5.BatteryType.GEL: 2, mt5.BatteryType.SEALED: 1, mt5.BatteryType.FLOODED: 3}

COILS = frozenset(range(0x0000, 0x000F))
DISCRETES = frozenset(range(0x2000, 0x200D))


@dataclass(frozen=True)
class ControllerConfig:
    """What the emulated controller and its surroundings are."""

    latitude: float = 45.0
    clouds: bool = False
    seed: int = 0
    start: dt.datetime = dt.datetime(2026, 6, 21, 0, 0, 0)
    speed: float = 1.0
    panel: Panel = field(default_factory=Panel)
    capacity_ah: float = 100.0
    soc: float = 0.7
    load_watts: float = 15.0
    rated_charging_current: float = 20.0
    rated_load_current: float = 20.0
    system_voltage: int = 12
    #: Reject settings writes that break a range or rule A–E (§B5.1; switchable).
    check_settings: bool = True
    identity: DeviceInfo = DEFAULT_IDENTITY
    #: Largest simulated step, seconds.
    max_step: float = 60.0


@dataclass
class Counters:
    """Statistics the controller keeps (kWh and today's extremes)."""

    generated: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("today", "month", "year", "total"), 0.0)
    )
    consumed: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("today", "month", "year", "total"), 0.0)
    )
    pv_max: float = 0.0
    pv_min: float = math.inf
    battery_max: float = 0.0
    battery_min: float = math.inf

    def reset(self, period: str) -> None:
        self.generated[period] = self.consumed[period] = 0.0
        if period == "today":
            self.pv_max = self.battery_max = 0.0
            self.pv_min = self.battery_min = math.inf


class TracerModel:
    """The controller's state and physics; both fronts read and write it."""

    def __init__(
        self,
        config: ControllerConfig | None = None,
        *,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.config = config = config or ControllerConfig()
        kwargs = {"monotonic": monotonic} if monotonic is not None else {}
        self.clock = SimClock(config.start, speed=config.speed, **kwargs)
        self.time = config.start
        self.holding: dict[int, int] = dict(DEFAULT_HOLDING)
        self.holding.update(values_for_clock(config.start))
        self.holding[0x9001] = round(config.capacity_ah)
        self.coils: dict[int, bool] = dict.fromkeys(COILS, False)
        self.coils.update({0x0000: True, 0x0002: True, 0x0003: True})
        self.battery = Battery(config.capacity_ah, cells=config.system_voltage // 2, soc=config.soc)
        self.mt5_parameters = mt5.ControlParameters()
        self.counters = Counters()
        self.stage = Stage.NONE
        self.stage_since = config.start
        #: Recent stage changes (for tests and the log), bounded for long runs.
        self.stage_log: deque[tuple[dt.datetime, Stage]] = deque([(config.start, Stage.NONE)], 1000)
        # Due at once, so the first sunny day shows the equalize stage.
        self.last_equalize = config.start.date() - dt.timedelta(days=self.holding[0x9016])
        self.load_overload = False
        self.load_short = False
        self.low_voltage_cut = False
        self.load_demand_watts = config.load_watts
        self.g = 0.0
        self.pv_voltage = 0.0
        self.pv_current = 0.0
        self.charge_current = 0.0
        self.load_current = 0.0
        self.battery_voltage = self.battery.ocv()
        self.net_current = 0.0
        self.steps = 0
        self._update_extremes()

    # --- time ---------------------------------------------------------------------------------

    def sync(self) -> None:
        """Catch up with the clock (called by the fronts before every answer)."""
        self.advance(self.clock.now())

    def advance(self, to: dt.datetime) -> None:
        while self.time < to:
            seconds = min(self.config.max_step, (to - self.time).total_seconds())
            self._step(seconds)

    def set_clock(self, when: dt.datetime) -> None:
        """The RTC was written: jump without integrating over the gap."""
        self.clock.set(when)
        self.time = when
        self.holding.update(values_for_clock(when))

    # --- physics ------------------------------------------------------------------------------

    def _setpoint(self, address: int) -> float:
        return self.holding[address] / 100 * self.config.system_voltage / 12

    def _step(self, seconds: float) -> None:
        self.steps += 1
        before = self.time
        self.time = before + dt.timedelta(seconds=seconds)
        self._roll_periods(before, self.time)
        cfg = self.config
        self.g = irradiance(self.time, cfg.latitude, clouds=cfg.clouds, seed=cfg.seed)
        v_mp, i_mp = cfg.panel.max_power_point(self.g)
        ocv = cfg.panel.open_voltage(self.g)
        bat = self.battery
        available = 0.0
        if self.coils[0x0000] and v_mp > bat.ocv() + 0.5:
            available = min(v_mp * i_mp * 0.97 / max(bat.ocv(), 1.0), cfg.rated_charging_current)
        self._load()
        self._charge(available)
        self.net_current = self.charge_current - self.load_current
        self.battery_voltage = bat.terminal_voltage(self.net_current)
        if self.charge_current > 0 and v_mp > 0:
            self.pv_voltage = v_mp
            self.pv_current = self.charge_current * self.battery_voltage / 0.97 / v_mp
        else:
            self.pv_voltage, self.pv_current = ocv, 0.0
        bat.step(self.net_current, seconds)
        kwh_in = self.battery_voltage * self.charge_current * seconds / 3.6e6
        kwh_out = self.battery_voltage * self.load_current * seconds / 3.6e6
        for period in self.counters.generated:
            self.counters.generated[period] += kwh_in
            self.counters.consumed[period] += kwh_out
        self._update_extremes()

    def _charge(self, available: float) -> None:
        bat = self.battery
        if available <= 0:
            self._enter(Stage.NONE)
            self.charge_current = 0.0
            return
        if self.stage is Stage.NONE:
            self._enter(Stage.BULK)  # every charging day starts with bulk
        due = (
            self.holding[0x9000] != 2
            and self.holding[0x9016] > 0
            and (self.time.date() - self.last_equalize).days >= self.holding[0x9016]
        )
        if self.stage is Stage.BULK:
            target = self._setpoint(0x9006 if due else 0x9007)
            if bat.terminal_voltage(available - self.load_current) >= target:
                self._enter(Stage.EQUALIZE if due else Stage.BOOST)
            else:
                self.charge_current = available
                return
        if self.stage in (Stage.BOOST, Stage.EQUALIZE):
            equalize = self.stage is Stage.EQUALIZE
            minutes = self.holding[0x906B if equalize else 0x906C]
            if (self.time - self.stage_since).total_seconds() >= minutes * 60:
                if equalize:
                    self.last_equalize = self.time.date()
                self._enter(Stage.FLOAT)
            else:
                target = self._setpoint(0x9006 if equalize else 0x9007)
                self.charge_current = self._hold(available, target)
                return
        # float: back to bulk when the panel cannot hold the battery above boost reconnect
        self.charge_current = self._hold(available, self._setpoint(0x9008))
        if bat.terminal_voltage(self.charge_current - self.load_current) < self._setpoint(0x9009):
            self._enter(Stage.BULK)
            self.charge_current = available

    def _hold(self, available: float, target: float) -> float:
        """Output current that holds the battery at ``target`` while feeding the load."""
        return min(available, self.battery.current_for(target) + self.load_current)

    def _enter(self, stage: Stage) -> None:
        if stage is not self.stage:
            self.stage = stage
            self.stage_since = self.time
            self.stage_log.append((self.time, stage))

    def _load(self) -> None:
        v = self.battery.terminal_voltage(self.charge_current - self.load_current)
        if self.low_voltage_cut and v > self._setpoint(0x900A):
            self.low_voltage_cut = False
        elif not self.low_voltage_cut and v < self._setpoint(0x900D):
            self.low_voltage_cut = True
        if not self.load_wanted() or self.low_voltage_cut or self.load_overload or self.load_short:
            self.load_current = 0.0
            return
        current = self.load_demand_watts / max(v, 1.0)
        if current > self.config.rated_load_current * 1.05:
            self.load_overload = True
            self.load_current = 0.0
            return
        self.load_current = current

    def load_wanted(self) -> bool:
        """Whether the load control (coils, mode 0x903D) asks for the load to be on."""
        if self.coils[0x0006]:
            return True
        mode = self.holding.get(0x903D, 0)
        if mode == 1:
            return self.is_night()
        return self.coils[0x0002]

    def is_night(self) -> bool:
        return self.pv_voltage < self._setpoint(0x901E)

    def _roll_periods(self, before: dt.datetime, after: dt.datetime) -> None:
        if after.date() != before.date():
            self.counters.reset("today")
            if (after.year, after.month) != (before.year, before.month):
                self.counters.reset("month")
            if after.year != before.year:
                self.counters.reset("year")
        self.holding.update(values_for_clock(after))

    def _update_extremes(self) -> None:
        c = self.counters
        c.pv_max, c.pv_min = max(c.pv_max, self.pv_voltage), min(c.pv_min, self.pv_voltage)
        c.battery_max = max(c.battery_max, self.battery_voltage)
        c.battery_min = min(c.battery_min, self.battery_voltage)

    # --- control (both fronts) ----------------------------------------------------------------

    def switch_load(self, on: bool) -> None:
        """Manual load switch (coil 2, MT-5 0xAA); switching clears an overload trip."""
        self.coils[0x0002] = on
        self.load_overload = False
        self._load()

    def set_load_demand(self, watts: float) -> None:
        """What the connected load draws (tests overload the controller with this)."""
        self.load_demand_watts = watts
        self._load()

    def short_load(self, shorted: bool = True) -> None:
        self.load_short = shorted
        self._load()

    # --- Modbus register image ----------------------------------------------------------------

    def input_words(self) -> dict[int, int]:
        """Every input register, raw, from the present state."""
        v: dict[str, float] = {
            "pv_rated_voltage": 150.0,
            "pv_rated_current": self.config.rated_charging_current,
            "pv_rated_power": 520.0,
            "battery_rated_voltage": 24.0,
            "rated_charging_current": self.config.rated_charging_current,
            "rated_charging_power": 500.0,
            "charging_mode": 2,
            "rated_load_current": self.config.rated_load_current,
            "pv_voltage": self.pv_voltage,
            "pv_current": self.pv_current,
            "pv_power": self.pv_voltage * self.pv_current,
            "battery_voltage": self.battery_voltage,
            "battery_charging_current": self.charge_current,
            "battery_charging_power": self.battery_voltage * self.charge_current,
            "load_voltage": self.battery_voltage if self.load_current else 0.0,
            "load_current": self.load_current,
            "load_power": self.battery_voltage * self.load_current,
            "battery_temperature": 25.0,
            "case_temperature": 25.0 + 0.2 * self.charge_current,
            "component_temperature": 25.0 + 0.3 * self.charge_current,
            "undocumented_3113": 25.0,
            "battery_soc": round(self.battery.soc * 100),
            "remote_battery_temperature": 25.0,
            "system_voltage": self.config.system_voltage,
            "max_pv_voltage_today": self.counters.pv_max,
            "min_pv_voltage_today": _finite(self.counters.pv_min),
            "max_battery_voltage_today": self.counters.battery_max,
            "min_battery_voltage_today": _finite(self.counters.battery_min),
            "co2_reduction": self.counters.generated["total"] * 0.997 / 1000,
            "net_battery_current": self.net_current,
            "ambient_temperature": 25.0,
        }
        for period, kwh in self.counters.generated.items():
            v[f"generated_{period}"] = kwh
        for period, kwh in self.counters.consumed.items():
            v[f"consumed_{period}"] = kwh
        words: dict[int, int] = {}
        groups = regs.RATED + regs.REALTIME + regs.STATISTICS + regs.UNDOCUMENTED[:-1]
        for reg in groups:
            if reg.name.startswith("mirror_"):
                continue
            words.update(zip(reg.addresses, _fit(reg, v[reg.name]), strict=True))
        for offset in range(4):  # 0x3108–0x310B mirror the load registers (§B2.2)
            words[0x3108 + offset] = words[0x310C + offset]
        words.update(zip((0x3200, 0x3201, 0x3202), self.status_words(), strict=True))
        return words

    def status_words(self) -> tuple[int, int, int]:
        v = self.battery_voltage
        voltage = (
            "over-voltage"
            if v > self._setpoint(0x9003)
            else "low-voltage disconnect"
            if self.low_voltage_cut
            else "under-voltage"
            if v < self._setpoint(0x900C)
            else "normal"
        )
        battery = values.encode_bits({"voltage": voltage}, values.BATTERY_STATUS)
        charging = values.encode_bits(
            {
                "running": self.coils[0x0000],
                "stage": STAGE_CODE[self.stage],
                "input_voltage": "no input power" if self.pv_voltage < 1 else "normal",
                "load_short": self.load_short,
                "load_over_current": self.load_overload,
            },
            values.CHARGING_STATUS,
        )
        ratio = self.load_current / self.config.rated_load_current
        level = (
            "overload"
            if self.load_overload
            else "light"
            if ratio < 0.3
            else "moderate"
            if ratio < 0.7
            else "rated"
        )
        discharging = values.encode_bits(
            {
                "running": self.load_current > 0,
                "short": self.load_short,
                "load_level": level,
                "fault": self.load_short or self.load_overload,
            },
            values.DISCHARGING_STATUS,
        )
        return battery, charging, discharging

    def read(self, table: Table, address: int, count: int) -> list[int]:
        """Raw words or bits (0/1) of ``count`` addresses from ``address``; absent ones read 0."""
        self.sync()
        if table is Table.INPUT:
            image = self.input_words()
        elif table is Table.HOLDING:
            image = self.holding
        elif table is Table.COIL:
            image = {a: int(b) for a, b in self.coils.items()}
        else:
            image = {0x2000: 0, 0x200C: int(self.is_night())}
        return [image.get(a, 0) for a in range(address, address + count)]

    def write(self, table: Table, address: int, data: Sequence[int]) -> int | None:
        """Apply a Modbus write; the exception code instead when it is refused (§B5.1)."""
        self.sync()
        if table is Table.COIL:
            for offset, bit in enumerate(data):
                self._write_coil(address + offset, bool(bit))
            return None
        if table is not Table.HOLDING:
            return ILLEGAL_ADDRESS
        after = dict(self.holding)
        after.update({address + k: int(w) for k, w in enumerate(data)})
        if self.config.check_settings and settings.check(after) is not None:
            return ILLEGAL_VALUE
        clock_touched = any(0x9013 <= address + k <= 0x9015 for k in range(len(data)))
        if clock_touched:
            try:
                when = values.decode_clock(after)
            except Exception:
                return ILLEGAL_VALUE
        self.holding = after
        if clock_touched:
            self.set_clock(when)
        self.battery.capacity_ah = max(1.0, float(self.holding[0x9001]))
        return None

    def _write_coil(self, address: int, on: bool) -> None:
        if address == 0x0002:
            self.switch_load(on)
        elif address == 0x000D and on:
            clock = {a: self.holding[a] for a in (0x9013, 0x9014, 0x9015)}
            self.holding = {**DEFAULT_HOLDING, **clock}
        elif address == 0x000E and on:
            self.counters = Counters()
            self._update_extremes()
        else:
            self.coils[address] = on
            self._load()

    # --- MT-5 view ----------------------------------------------------------------------------

    def mt5_realtime(self) -> mt5.RealTimeData:
        self.sync()
        v = self.battery_voltage
        return mt5.RealTimeData(
            battery_voltage=round(v, 2),
            pv_voltage=round(self.pv_voltage, 2),
            load_current=round(self.load_current, 2),
            over_discharge_voltage=self._setpoint(0x900D),
            battery_full_voltage=self._setpoint(0x9007),
            load_on=self.load_current > 0,
            load_overload=self.load_overload,
            load_short=self.load_short,
            battery_overvoltage=v > self._setpoint(0x9003),
            over_discharge=self.low_voltage_cut,
            battery_full=self.stage is Stage.FLOAT,
            charging=self.charge_current > 0,
            battery_temperature=25,
            charge_current=round(self.charge_current, 2),
        )

    def mt5_switch_load(self, on: bool) -> bool:
        self.sync()
        self.switch_load(on)
        return self.coils[0x0002]

    def mt5_set_parameters(self, params: mt5.ControlParameters) -> None:
        self.sync()
        self.mt5_parameters = params
        self.holding[0x9000] = MT5_TO_MODBUS_TYPE[mt5.BatteryType(params.battery_type)]
        if params.capacity_ah:
            self.holding[0x9001] = params.capacity_ah
            self.battery.capacity_ah = float(params.capacity_ah)
        self.holding[0x9002] = min(params.temperature_compensation, 9) * 100

    def identity(self) -> Mapping[int, bytes]:
        return self.config.identity.objects()

    def describe(self) -> str:
        return (
            f"Tracer charge controller ({self.config.identity.product}, "
            f"{self.config.system_voltage} V, {self.battery.capacity_ah:.0f} Ah, "
            f"latitude {self.config.latitude}, speed ×{self.config.speed:g})"
        )


def values_for_clock(when: dt.datetime) -> dict[int, int]:
    return dict(zip((0x9013, 0x9014, 0x9015), values.encode_clock(when), strict=True))


def _finite(x: float) -> float:
    return 0.0 if math.isinf(x) else x


def _fit(reg: regs.Register, value: float) -> list[int]:
    bits = 16 * reg.words
    raw = round(value * reg.scale)
    if reg.signed:
        raw = max(-(1 << (bits - 1)), min((1 << (bits - 1)) - 1, raw)) & ((1 << bits) - 1)
    else:
        raw = max(0, min((1 << bits) - 1, raw))
    return [(raw >> (16 * i)) & 0xFFFF for i in range(reg.words)]


__all__ = ["ControllerConfig", "Stage", "TracerModel"]
