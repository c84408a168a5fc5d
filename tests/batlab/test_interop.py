"""The official ``batlab`` library (0.5.36, unmodified, a test-time dependency) against
our emulator on a pty: connect, registers, stream, a short test, the pool's hot-plug
and a firmware flash.

What cannot run as published and why:
- ``firmware_check``/``firmware_update`` fetch from GitHub: never called (no network).
- ``Encoder.aschargel/aschargeh`` raise TypeError on Python 3 (``&`` on a float,
  batlab.md §5.1): not exercised.
- A negative write (e.g. −37) does not raise but corrupts the register (§7.2): the
  test below *demonstrates* the corruption on the emulator, which frames blindly as
  the firmware does, next to fieldlink's correct two's complement encoding.
- The full 15360-byte flash takes about 90 s through the library's 46 080 one-at-a-
  time transactions (two fixed 2 s sleeps included), beyond the family's time budget:
  it is marked slow and runs when FIELDLINK_SOAK=full or FIELDLINK_BATLAB_FLASH=1
  (it passes: the image lands byte-exact and the library reads the new version).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("batlab")

import batlab.batlabclass as official
from batlab.constants import (
    CURRENT_CALIB_OFF,
    CURRENT_SETPOINT,
    FIRMWARE_VER,
    MODE,
    MODE_IDLE,
    REPORT_INTERVAL,
    TEMP_CALIB_R,
    TT_DISCHARGE,
    UNIT,
    VOLTAGE,
)

from fieldlink.batlab import convert
from fieldlink.batlab.emulator import BatlabEmulator, BatlabUnit, Battery, make_units
from fieldlink.batlab.firmware import make_image
from fieldlink.batlab.registers import CellRegister, Mode, UnitRegister

pytestmark = pytest.mark.interop


def path_of(url: str | None) -> str:
    assert url is not None and url.startswith("serial:")
    return url.split(":")[1]


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    """Event-ordered waiting: poll a condition with a generous does-not-hang bound."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def unit() -> BatlabUnit:
    return make_units(1, speed=1.0, reset_silence=0.2)[0]


@pytest.fixture
def lib(unit: BatlabUnit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.chdir(tmp_path)  # the library writes its logs into the working directory
    with BatlabEmulator(unit).running() as host:
        bat = official.Batlab(path_of(host.url))
        try:
            yield bat
        finally:
            bat.disconnect()


def test_connects_and_reads_registers(lib: object, unit: BatlabUnit) -> None:
    bat: official.Batlab = lib  # type: ignore[assignment]
    assert str(bat.sn) == "262222" and int(bat.ver) == 7
    assert bat.bootloader is False
    assert bat.R == [1606, 1686, 1763, 1715] and bat.B == [3380] * 4
    assert bat.read(UNIT, FIRMWARE_VER).value() == 7
    v = bat.read(0, VOLTAGE)
    assert v.asvoltage() == pytest.approx(
        convert.voltage_from_raw(unit.cell_register(0, CellRegister.VOLTAGE)), abs=0.01
    )
    assert bat.read(1, TEMP_CALIB_R).value() == 1686
    assert unit.unit_register(UnitRegister.SETTINGS) == 4  # the library enabled the watchdog


def test_writes_registers(lib: object, unit: BatlabUnit) -> None:
    bat: official.Batlab = lib  # type: ignore[assignment]
    assert bat.write(0, CURRENT_SETPOINT, 320).value() == 0
    assert unit.cell_register(0, CellRegister.CURRENT_SETPOINT) == 320
    assert bat.read(0, CURRENT_SETPOINT).value() == 320
    assert bat.write(0, MODE, MODE_IDLE).value() == 0
    assert unit.cell_register(0, CellRegister.MODE) == Mode.IDLE


def test_official_negative_write_corrupts_where_fieldlink_encodes(
    lib: object, unit: BatlabUnit
) -> None:
    """§7.2: −37 to CURRENT_CALIB_OFF ends up as 0x00AA through the library."""
    bat: official.Batlab = lib  # type: ignore[assignment]
    reply = bat.write(0, CURRENT_CALIB_OFF, -37)
    assert reply.valid is False  # no exception, an invalid packet
    assert wait_for(lambda: unit.cell_register(0, CellRegister.CURRENT_CALIB_OFF) == 0x00AA, 5)
    from fieldlink.batlab.codec import Command

    assert Command.write_value(0, CURRENT_CALIB_OFF, -37).value == 65499


def test_stream_packets_parsed_by_the_library(lib: object) -> None:
    bat: official.Batlab = lib  # type: ignore[assignment]
    bat.write(0, REPORT_INTERVAL, 2)
    assert wait_for(lambda: bat.qstream.qsize() > 0, 5)
    packet = bat.get_stream()
    mode, _status, _temp, _current, voltage = packet.value()
    assert mode == Mode.IDLE and 3.0 < convert.voltage_from_raw(voltage) < 4.3
    bat.write(0, REPORT_INTERVAL, 0)


def test_short_discharge_test_runs_to_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library's own test workflow (Channel thread, 1 s period) on a fast cell."""
    from batlab.logger.Logger import Logger
    from batlab.settings.Settings import Settings

    monkeypatch.chdir(tmp_path)
    unit = BatlabUnit(cells=[Battery(capacity_ah=0.1, soc=0.6), None, None, None], speed=50)
    settings = Settings()
    settings.rest_time = 1
    with BatlabEmulator(unit).running() as host:
        bat = official.Batlab(path_of(host.url), Logger(), settings)
        try:
            bat.channel[0].start_test("cellA", TT_DISCHARGE)
            # DISCHARGE lasts ~2 s here; a loaded machine may only see it STOPPED already.
            started = (Mode.DISCHARGE, Mode.STOPPED)
            assert wait_for(lambda: unit.cell_register(0, CellRegister.MODE) in started, 10)
            assert wait_for(lambda: not bat.channel[0].is_testing(), 40)
        finally:
            bat.disconnect()
    log = tmp_path / "batlab-log_DefaultPlaylist.csv"
    assert wait_for(lambda: log.exists() and "DISCHARGE" in log.read_text(), 5)
    lines = log.read_text().splitlines()
    summary = [line for line in lines if line.split(",")[11:12] == ["DISCHARGE"]]
    assert summary, lines
    charge = float(summary[0].split(",")[12])
    assert charge > 0.5 * 0.1 * 3600 * 0.5  # most of what was in the cell came out
    assert unit.cell_register(0, CellRegister.ERROR) & 0x0002  # stopped at the low limit


def test_pool_hot_plug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batpool finds units only through list_ports: give it our ptys with the USB IDs."""
    import serial.tools.list_ports
    from batlab.batpool.Batpool import Batpool
    from serial.tools.list_ports_common import ListPortInfo

    monkeypatch.chdir(tmp_path)
    attached: list[str] = []

    def comports() -> list[ListPortInfo]:
        ports = []
        for path in attached:
            info = ListPortInfo(path, skip_link_detection=True)
            info.vid, info.pid = 0x04D8, 0x000A
            ports.append(info)
        return ports

    monkeypatch.setattr(serial.tools.list_ports, "comports", comports)
    units = make_units(2)
    with BatlabEmulator(units[0]).running() as a, BatlabEmulator(units[1]).running() as b:
        pool = Batpool()
        try:
            attached.append(path_of(a.url))
            assert wait_for(lambda: len(pool.batpool) == 1, 20)
            attached.append(path_of(b.url))
            assert wait_for(lambda: len(pool.batpool) == 2, 20)
            sns = sorted(str(x.sn) for x in pool.batpool.values())
            assert sns == ["262222", "262223"]
            attached.remove(path_of(a.url))
            assert wait_for(lambda: len(pool.batpool) == 1, 20)
        finally:
            pool.quit()
    messages = []
    while not pool.msgqueue.empty():
        messages.append(pool.msgqueue.get_nowait())
    assert any("disconnected" in m.lower() for m in map(str, messages))


FULL = os.environ.get("FIELDLINK_SOAK", "").lower() == "full" or bool(
    os.environ.get("FIELDLINK_BATLAB_FLASH")
)


@pytest.mark.slow
@pytest.mark.skipif(
    not FULL, reason="about 90 s: set FIELDLINK_SOAK=full or FIELDLINK_BATLAB_FLASH=1"
)
def test_official_firmware_flash(lib: object, unit: BatlabUnit, tmp_path: Path) -> None:
    bat: official.Batlab = lib  # type: ignore[assignment]
    image = tmp_path / "fw.bin"
    image.write_bytes(make_image(8))
    started = dt.datetime.now()
    assert bat.firmware_bootload(str(image)) is True
    assert bytes(unit.flash) == make_image(8)
    assert bat.read(UNIT, FIRMWARE_VER).value() == 8
    assert (dt.datetime.now() - started).total_seconds() < 600
