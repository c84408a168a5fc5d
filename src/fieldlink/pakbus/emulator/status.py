"""The Status table of an emulated logger: what each of its 122 fields reads.

A CR1000's Status record reports identity (OS, serial number, station name), the
running program and its compile result, memory, drives, the data tables, the
communication settings and a few health counters.  Most values follow from the
station's state; the counters that an emulator has no real source for read
plausible constants.  Fields a client wrote (Set Values on a writable Status
field) read back what was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from fieldlink.pakbus.emulator.models import status_fields
from fieldlink.pakbus.emulator.settings import TCP_PORT
from fieldlink.pakbus.emulator.spec import NS_PER_S, FieldSpec, TableSpec
from fieldlink.pakbus.emulator.variables import conform
from fieldlink.pakbus.protocol.codes import CompileState
from fieldlink.pakbus.protocol.model import Scalar, Value
from fieldlink.pakbus.protocol.types import DataType, nsec_to_datetime
from fieldlink.pakbus.protocol.wire import NSec

if TYPE_CHECKING:
    from fieldlink.pakbus.emulator.station import Station

__all__ = ["status_values"]


def status_values(
    station: Station, number: int, when: int, overrides: Mapping[str, list[Scalar]]
) -> dict[str, Value]:
    """Every Status field at logger time ``when`` (record ``number``), shaped to its type."""
    tables = station.data_table_specs()
    first = tables[0] if tables else None
    second = tables[1] if len(tables) > 1 else None
    l1, l2, l3 = station.security
    drives = station.files.drives
    stamp = nsec_to_datetime(NSec.from_total_ns(when))
    battery = FieldSpec("Battery", DataType.IEEE4, source="BattV")
    panel = FieldSpec("PanelTemp", DataType.IEEE4, source="PTemp")

    def days(t: TableSpec | None) -> float:
        return t.size * t.cadence_ns / NS_PER_S / 86_400 if t else 0.0

    known: dict[str, object] = {
        "OSVersion": station.model.os_version,
        "OSDate": station.model.os_date,
        "OSSignature": station.model.os_sig,
        "SerialNumber": station.serial_number,
        "RevBoard": station.model.rev_board,
        "StationName": station.station_name,
        "PakBusAddress": station.node,
        "ProgName": station.program.name,
        "StartTime": nsec_to_datetime(NSec.from_total_ns(station.program.compile_time_ns)),
        "RunSignature": station.program.signature,
        "ProgSignature": station.program.signature,
        "Battery": station.values.value("Status", battery, number, when),
        "PanelTemp": station.values.value("Status", panel, number, when),
        "LithiumBattery": station.model.lithium_volts,
        "CompileResults": station.program.result,
        "StartUpCode": 1,
        "ProgErrors": 1 if station.program.state == CompileState.COMPILE_ERROR else 0,
        "MemorySize": station.model.memory_size,
        "MemoryFree": max(0, station.model.memory_size - 1_200_000),
        "CPUDriveFree": station.files.free("CPU:"),
        "USRDriveFree": station.files.free("USR:") if "USR:" in drives else 0,
        "CommsMemFree": (58_000, 9_000, 180),
        "DataTableName": first.name if first else "",
        "DataRecordSize": (first.size if first else 0, second.size if second else 0),
        "SecsPerRecord": first.cadence_ns / NS_PER_S if first else 0.0,
        "DataFillDays": (days(first), days(second)),
        "CardStatus": "Card OK." if "CRD:" in drives else "No Card Present.",
        "CardBytesFree": float(station.files.free("CRD:")) if "CRD:" in drives else -1.0,
        "MeasureOps": 12,
        "MeasureTime": 1_520,
        "ProcessTime": 830,
        "MaxProcTime": 2_410,
        "MaxBuffDepth": 1,
        "LastSystemScan": stamp,
        "SystemProcTime": 310,
        "MaxSystemProcTime": 940,
        "PortConfig": ("Input",) * 8,
        "Security": tuple(-1 if level else 0 for level in (l1, l2, l3)),
        "CommActiveRS232": True,
        "BaudrateRS232": -38_400,
        "BaudrateME": -115_200,
        "IsRouter": station.is_router,
        "PakBusNodes": 50,
        "MaxPacketSize": station.max_packet_size,
        "USRDriveSize": drives.get("USR:", 0),
        "IPInfo": f"PakBus/TCP server on port {station.settings.u16(TCP_PORT)}; "
        "emulated by fieldlink",
        "TCPPort": station.settings.u16(TCP_PORT),
        "CalGain": (0.0666,) * 18,
    }
    out: dict[str, Value] = {}
    for f in status_fields():
        override = overrides.get(f.name)
        raw = override if override is not None else known.get(f.name)
        out[f.name] = conform(f, raw)
    return out
