"""The emulated controller as a kit DeviceModel: the shared model and a front per link."""

from __future__ import annotations

from typing import Literal

from fieldlink.kit.device import Port
from fieldlink.tracer.emulator.modbus_port import ModbusPort
from fieldlink.tracer.emulator.model import TracerModel
from fieldlink.tracer.emulator.mt5_port import Mt5Port
from fieldlink.tracer.modbus.adapter import Framing

Protocol = Literal["mt5", "modbus"]


class TracerDevice:
    """Serves one :class:`TracerModel` over MT-5 or Modbus (RTU or Modbus/TCP framing)."""

    def __init__(
        self,
        model: TracerModel | None = None,
        *,
        protocol: Protocol = "modbus",
        framing: Framing = "rtu",
        unit: int = 1,
        wake: bool = False,
    ) -> None:
        if protocol not in ("mt5", "modbus"):
            raise ValueError(f"protocol must be mt5 or modbus, not {protocol!r}")
        self.model = model or TracerModel()
        self.protocol = protocol
        self.framing = framing
        self.unit = unit
        self.wake = wake

    def open_port(self, number: int) -> Port:
        if self.protocol == "mt5":
            return Mt5Port(self.model, wake=self.wake)
        return ModbusPort(self.model, unit=self.unit, framing=self.framing)

    def describe(self) -> str:
        front = (
            "MT-5"
            if self.protocol == "mt5"
            else f"Modbus {'RTU' if self.framing == 'rtu' else 'TCP'} unit {self.unit}"
        )
        return f"{self.model.describe()}, {front}"
