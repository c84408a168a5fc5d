"""``TracerEmulator``: the kit's emulator host around the controller model.

Serves MT-5 or Modbus on TCP (Modbus: RTU framing -- RTU-over-TCP as serial
servers do -- or Modbus/TCP with ``framing="socket"``) or on a pseudo-terminal
(RTU framing, a real serial device path).  Everything about serving, faults and
pacing is the host's; this only builds the model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fieldlink.kit.host import EmulatorHost
from fieldlink.tracer.emulator.device import Protocol, TracerDevice
from fieldlink.tracer.emulator.model import ControllerConfig, TracerModel
from fieldlink.tracer.modbus.adapter import Framing


class TracerEmulator(EmulatorHost):
    """An emulated Tracer on TCP or a pty; ``model`` is shared and inspectable."""

    def __init__(
        self,
        *,
        protocol: Protocol = "modbus",
        framing: Framing = "rtu",
        unit: int = 1,
        speed: float = 1.0,
        latitude: float = 45.0,
        clouds: bool = False,
        start: dt.datetime | None = None,
        wake: bool = False,
        check_settings: bool = True,
        soc: float = 0.7,
        model: TracerModel | None = None,
        monotonic: Callable[[], float] | None = None,
        seed: int = 0,
        **host: Any,
    ) -> None:
        if model is None:
            config = ControllerConfig(
                latitude=latitude,
                clouds=clouds,
                seed=seed,
                speed=speed,
                start=start or dt.datetime.now().replace(microsecond=0),
                check_settings=check_settings,
                soc=soc,
            )
            model = TracerModel(config, monotonic=monotonic)
        self.device = TracerDevice(model, protocol=protocol, framing=framing, unit=unit, wake=wake)
        super().__init__(self.device, seed=seed, name="tracer", **host)

    @property
    def tracer_model(self) -> TracerModel:
        return self.device.model
