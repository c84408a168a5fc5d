"""``TDR100Emulator``: the TDR100 device model served by the kit's emulator host."""

from __future__ import annotations

import dataclasses
from typing import Any

from fieldlink.kit.host import EmulatorHost
from fieldlink.tdr100.emulator.model import TDR100Model
from fieldlink.tdr100.emulator.scene import Scene
from fieldlink.tdr100.protocol.crc import XMODEM, CrcVariant
from fieldlink.tdr100.settings import Settings

__all__ = ["TDR100Emulator"]


class TDR100Emulator(EmulatorHost):
    """An emulated TDR100 on TCP or a pty (all of :class:`EmulatorHost`'s options).

    ``scene`` is what it measures (default: eight channels, dry sand to wet clay);
    ``crc`` the CRC-16 variant its replies carry; ``seed`` seeds the faults and, unless
    the scene sets its own, the measurement noise.  ``device`` is the model, for tests.
    """

    def __init__(
        self,
        scene: Scene | None = None,
        *,
        crc: CrcVariant = XMODEM,
        settings: Settings | None = None,
        seed: int = 0,
        **host: Any,
    ) -> None:
        scene = scene or Scene()
        if seed and not scene.seed:
            scene = dataclasses.replace(scene, seed=seed)
        self.device = TDR100Model(scene, crc=crc, settings=settings)
        # ':' and CR frame every reply: a corrupted byte never becomes one, so a damaged
        # reply stays one frame that fails its CRC, as on a noisy serial line.
        host.setdefault("keep_clear", b":\r")
        host.setdefault("name", "tdr100")
        super().__init__(self.device, seed=seed, **host)
