"""A Tracer charge controller as a collector source (``kind = "tracer"``).

The controller keeps no records, so the collector samples it every ``interval``
(:mod:`fieldlink.collect.sampled`).  Tables:

- ``Tracer`` (Modbus): every real-time value, the charging stage, the load switch,
  day/night and the decoded status fields a station keeper looks at first;
- ``TracerStats`` (Modbus, ``statistics = true``): the energy counters and today's
  extremes;
- ``TracerMT5`` (MT-5): every field of the 0xA0 reply.

``options`` in stations.toml: ``protocol`` ("modbus" | "mt5"), ``unit`` (1–247),
``framing`` ("rtu" | "tcp"), ``controller_id`` (MT-5, 0–255), ``statistics`` (bool).
``fieldlink tracer log`` writes the same tables, so a file logged by hand and one
collected by the scheduler line up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from fieldlink.collect.sampled import InstrumentInfo, table_def
from fieldlink.errors import ConfigError
from fieldlink.pakbus.protocol.model import TableDef, Value
from fieldlink.tracer import operations as ops
from fieldlink.tracer.client import AsyncTracer, Options
from fieldlink.tracer.modbus import registers as regs
from fieldlink.tracer.modbus import values
from fieldlink.tracer.mt5 import messages as mt5

if TYPE_CHECKING:
    from fieldlink.collect.config import StationConfig

#: Status fields sampled beside the measurements (decoded, as text or flags).
STATUS_FIELDS: tuple[tuple[str, str], ...] = (
    ("charging_stage", "str"),
    ("load_switch", "bool"),
    ("night", "bool"),
    ("battery_voltage_status", "str"),
    ("battery_temperature_status", "str"),
    ("charging_fault", "bool"),
    ("input_voltage_status", "str"),
    ("load_level", "str"),
    ("discharging_fault", "bool"),
)


def _units(registers: Sequence[regs.Register]) -> dict[str, str]:
    return {r.name: r.unit for r in registers}


def _kind(value_type: Any) -> str:
    return "int" if value_type in (int, "int") else "float"


def _group_fields(cls: type[Any], units: Mapping[str, str]) -> list[tuple[str, str, str]]:
    return [(f.name, _kind(f.type), units.get(f.name, "")) for f in fields(cls)]


TRACER_TABLE = table_def(
    "Tracer",
    [
        *_group_fields(values.RealTime, _units(regs.REALTIME)),
        *((name, kind, "") for name, kind in STATUS_FIELDS),
    ],
)
STATS_TABLE = table_def(
    "TracerStats", _group_fields(values.Statistics, _units(regs.STATISTICS)), number=2
)
MT5_TABLE = table_def(
    "TracerMT5",
    [
        (
            f.name,
            "bool" if f.type in (bool, "bool") else _kind(f.type),
            mt5.RealTimeData.UNITS.get(f.name, ""),
        )
        for f in fields(mt5.RealTimeData)
        if not f.name.startswith("reserved")
    ],
    number=3,
)


def snapshot_values(snap: ops.Snapshot) -> dict[str, Value]:
    """One ``Tracer`` row from a Modbus snapshot."""
    st = snap.status
    row: dict[str, Value] = dict(snap.realtime.as_dict())
    row.update(
        charging_stage=st.stage,
        load_switch=snap.load_on,
        night=snap.night,
        battery_voltage_status=str(st.battery["voltage"]),
        battery_temperature_status=str(st.battery["temperature"]),
        charging_fault=bool(st.charging["fault"]),
        input_voltage_status=str(st.charging["input_voltage"]),
        load_level=str(st.discharging["load_level"]),
        discharging_fault=bool(st.discharging["fault"]),
    )
    return row


def mt5_values(data: mt5.RealTimeData) -> dict[str, Value]:
    return dict(data.measurements())


@dataclass(frozen=True, slots=True)
class SourceOptions:
    protocol: str = "modbus"
    unit: int = 1
    framing: str = "rtu"
    controller_id: int = mt5.DEFAULT_ID
    statistics: bool = True

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> SourceOptions:
        known = {f.name for f in fields(cls)}
        for key in options:
            if key not in known:
                raise ConfigError(
                    f"options.{key}: unknown tracer option (known: {', '.join(sorted(known))})"
                )
        out = cls(**options)
        if out.protocol not in ("modbus", "mt5"):
            raise ConfigError(f"options.protocol: expected modbus or mt5, got {out.protocol!r}")
        if out.framing not in ("rtu", "tcp"):
            raise ConfigError(f"options.framing: expected rtu or tcp, got {out.framing!r}")
        if not isinstance(out.unit, int) or not 1 <= out.unit <= 247:
            raise ConfigError(f"options.unit: expected a Modbus unit id 1–247, got {out.unit!r}")
        if not isinstance(out.controller_id, int) or not 0 <= out.controller_id <= 255:
            raise ConfigError(f"options.controller_id: expected 0–255, got {out.controller_id!r}")
        if not isinstance(out.statistics, bool):
            raise ConfigError(f"options.statistics: expected true or false, got {out.statistics!r}")
        return out

    def client_options(self, timeout: float) -> Options:
        """What the client needs of these options, with the link's ``timeout``."""
        return Options(
            protocol=self.protocol,
            unit=self.unit,
            framing=self.framing,
            controller_id=self.controller_id,
            timeout=timeout,
        )

    def tables(self) -> list[TableDef]:
        if self.protocol == "mt5":
            return [MT5_TABLE]
        return [TRACER_TABLE, STATS_TABLE] if self.statistics else [TRACER_TABLE]


class TracerSampler:
    """Samples one controller through an open :class:`AsyncTracer`."""

    def __init__(self, tracer: AsyncTracer, options: SourceOptions) -> None:
        self.tracer = tracer
        self.options = options

    async def info(self) -> InstrumentInfo:
        if self.options.protocol == "mt5":
            return InstrumentInfo("Tracer (MT-5)")
        info = await self.tracer.info()
        return InstrumentInfo(info.product, info.serial_number, info.revision)

    def tables(self) -> Sequence[TableDef]:
        return self.options.tables()

    async def sample(self) -> Mapping[str, Mapping[str, Value]]:
        return await sample_tracer(self.tracer, self.options)


async def sample_tracer(
    tracer: AsyncTracer, options: SourceOptions
) -> dict[str, Mapping[str, Value]]:
    status = await tracer.status()
    if isinstance(status, mt5.RealTimeData):
        return {MT5_TABLE.name: mt5_values(status)}
    out: dict[str, Mapping[str, Value]] = {TRACER_TABLE.name: snapshot_values(status)}
    if options.statistics:
        out[STATS_TABLE.name] = (await tracer.stats()).as_dict()
    return out


@asynccontextmanager
async def open_sampler(station: StationConfig) -> AsyncIterator[TracerSampler]:
    """The collector's entry point (see :data:`fieldlink.collect.sampled.SAMPLER_MODULES`)."""
    options = SourceOptions.parse(station.options)
    async with AsyncTracer.from_url(
        station.url, **options.client_options(station.timeout)
    ) as tracer:
        yield TracerSampler(tracer, options)
