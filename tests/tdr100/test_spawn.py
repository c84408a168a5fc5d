"""``fieldlink emulate tdr100`` as a user runs it (needs the lead's mount in the root CLI)."""

from __future__ import annotations

from fieldlink.kit.spawn import spawn_emulator
from fieldlink.tdr100.client import TDR100


def test_spawned_emulator_serves_a_pty() -> None:
    with spawn_emulator("tdr100", "--pty") as emu:
        assert emu.url.startswith("serial:/dev/")
        with TDR100.from_url(emu.url, timeout=2.0) as tdr:
            assert tdr.settings().points == 251
        assert emu.stop() == 0
