"""The client against the emulator over a pseudo-terminal (a real serial device path):
every command, the 8-channel sweep, each error code, an abort, the CRC-variant lock,
corrupted replies retried, and a sweep that keeps going past a failing channel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from fieldlink.errors import LinkTimeout, ProtocolError, UsageError
from fieldlink.kit import reply
from fieldlink.kit.reply import Ask
from fieldlink.link import open_async_link
from fieldlink.tdr100 import analysis
from fieldlink.tdr100 import operations as ops
from fieldlink.tdr100.client import TDR100, AsyncTDR100
from fieldlink.tdr100.emulator import DEFAULT_SOILS, Probe, Scene, Soil, TDR100Emulator, Timing
from fieldlink.tdr100.emulator.model import VERSIONS
from fieldlink.tdr100.protocol import (
    Ack,
    Command,
    MuxPath,
    ReplyDecoder,
    TDR100Error,
    Values,
    checksum,
)
from fieldlink.tdr100.protocol.crc import KERMIT, XMODEM
from fieldlink.tdr100.session import ACQUISITION_PER_SAMPLE, TDR100Session
from fieldlink.tdr100.settings import Settings

#: Acquisitions take 20 ms: tests stay fast, and nothing asserts on time.
FAST = Timing(overhead=0.02, per_sample=1e-7, power_up=0.01)
SCENE = Scene(timing=FAST, short_distance=4.5)


@pytest.fixture
def emulator() -> Iterator[TDR100Emulator]:
    with TDR100Emulator(SCENE, pty=True).running() as emu:
        yield emu


@pytest.fixture
def tdr(emulator: TDR100Emulator) -> Iterator[TDR100]:
    assert emulator.url is not None and emulator.url.startswith("serial:/dev/")
    with TDR100.from_url(emulator.url, timeout=2.0) as client:
        yield client


def test_settings_and_every_setter(tdr: TDR100, emulator: TDR100Emulator) -> None:
    s = tdr.settings()
    assert s == emulator.device.settings
    assert tdr.set_vp(0.95) == 0.95
    assert tdr.set_averages(8) == 8
    assert tdr.set_points(300) == 300
    assert tdr.set_distance(3.0) == 3.0
    assert tdr.set_window(5.0) == 5.0
    assert tdr.set_probe_length(0.2) == 0.2
    assert tdr.set_probe_offset(0.05) == 0.05
    assert tdr.set_cell_constant(2.5) == 2.5
    assert tdr.set_smooth(4) == 4
    assert tdr.settings() == Settings(0.95, 8, 300, 3.0, 5.0, 0.2, 0.05, 2.5, 4.0)
    tdr.set_display(1.0, -1.0)
    assert emulator.device.display == (1.0, -1.0)
    assert tdr.session.points == 300


def test_out_of_range_is_refused_before_sending(tdr: TDR100, emulator: TDR100Emulator) -> None:
    before = emulator.device.counters.commands
    with pytest.raises(UsageError, match="range 20 to 2048, not 5000"):
        tdr.set_points(5000)
    with pytest.raises(UsageError, match="unknown setting"):
        tdr.set("colour", 1)
    assert emulator.device.counters.commands == before  # nothing went out


def test_apply_save_and_restore(tdr: TDR100) -> None:
    original = tdr.settings()
    tdr.save_setup()
    changed = tdr.apply(original.replace(vp=0.8, points=500))
    assert (changed.vp, changed.points) == (0.8, 500)
    assert tdr.restore_setup() == original


def test_waveforms_and_derivatives(tdr: TDR100) -> None:
    w = tdr.waveform("1.3")
    assert len(w.values) == 251 and w.path == MuxPath.parse("1.3") and w.calibrated
    assert w.la_l() == pytest.approx(DEFAULT_SOILS[2].permittivity ** 0.5, rel=0.03)
    assert tdr.last_waveform().values == pytest.approx(w.values)
    last = tdr.derivative(new=False)
    assert len(last) == 246
    assert last[0] == pytest.approx((w.values[5] - w.values[0]) / 5, abs=1e-6)
    assert len(tdr.derivative("1.3")) == 246
    raw = tdr.waveform(calibrated=False)
    assert not raw.calibrated and len(raw.values) == 251
    tdr.acquire("1.1")
    tdr.acquire(calibrated=False)
    assert len(tdr.last_waveform().values) == 251


def test_measurements(tdr: TDR100, emulator: TDR100Emulator) -> None:
    soil = DEFAULT_SOILS[4]
    ratio = tdr.la_l("1.5")
    assert ratio == pytest.approx(soil.permittivity**0.5, rel=0.03)
    edges = tdr.variables()
    s = tdr.settings()
    assert analysis.la_l(edges.start, edges.end, points=s.points, window=s.window, vp=s.vp,
                         probe_length=s.probe_length, probe_offset=s.probe_offset) == pytest.approx(
        ratio, rel=1e-5)  # fmt: skip
    assert tdr.conductivity() == pytest.approx(soil.conductivity, rel=0.05)
    assert tdr.calibration_voltage() == pytest.approx(2.048, abs=0.01)
    m = tdr.measure("1.5", temperature=30.0)
    assert m.ok and m.water_content == pytest.approx(soil.water_content, abs=0.02)
    assert m.ec25 == pytest.approx(m.ec / 1.1)
    assert tdr.distance_to_short() == pytest.approx(4.5)
    tdr.set_reference_length()
    assert tdr.reference_length() == pytest.approx(3.0 / 0.8)


def test_cell_constant_timing_versions_power_abort(tdr: TDR100, emulator: TDR100Emulator) -> None:
    water = analysis.water_permittivity(20.0)
    channels = {MuxPath(): DEFAULT_SOILS[0], MuxPath.parse("1.1"): Soil("water", water, 0.0)}
    emulator.device.scene = Scene(timing=FAST, channels=channels)
    kp = tdr.cell_constant(20.0, "1.1")
    assert kp.cell_constant == pytest.approx(Probe().cell_constant, rel=0.01)
    t = tdr.timing()
    assert t.acquisition > 0 and t.extra == ()
    v = tdr.versions()
    assert (v.boot_version, v.boot_signature, v.os_version, v.os_signature) == (
        VERSIONS[0], 0x1234, VERSIONS[2], 0x5678)  # fmt: skip
    tdr.power_off()
    assert not emulator.device.powered
    tdr.abort()
    tdr.select("1.2/2.3")
    assert emulator.device.path == MuxPath.parse("1.2/2.3")


def test_eight_channel_sweep_matches_the_soils(tdr: TDR100) -> None:
    results = list(tdr.sweep("1.1-1.8"))
    assert [str(m.path) for m in results] == [f"1.{i}" for i in range(1, 9)]
    for m, soil in zip(results, DEFAULT_SOILS, strict=True):
        assert m.ok, m.error
        assert m.water_content == pytest.approx(soil.water_content, abs=0.02), soil
        assert m.ec == pytest.approx(soil.conductivity, rel=0.05, abs=2e-4), soil


def test_sweep_keeps_the_channels_around_a_failing_one(tdr: TDR100) -> None:
    results = list(tdr.sweep("1.1-1.2,1.1/2.4,1.3"))
    assert [m.ok for m in results] == [True, True, False, True]
    assert "16" in (results[2].error or "") and "bad moisture" in (results[2].error or "")
    assert results[3].water_content == pytest.approx(DEFAULT_SOILS[2].water_content, abs=0.02)


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (Command("S_VP", 5), 10),
        (Command("SMUX", 19), 18),
        (Command("SMUX", 41), 18),
        (Command("GRLN"), 9),
        (Command("GVAR"), 15),
        (Command("GLWF"), 15),
        (Command("CCCC", 99), 10),
    ],
)
def test_device_errors_through_the_client(tdr: TDR100, command: Command, code: int) -> None:
    with pytest.raises(TDR100Error) as info:
        tdr.run(reply.ask(command))
    assert info.value.code == code and command.mnemonic in str(info.value)


def test_state_dependent_errors(tdr: TDR100, emulator: TDR100Emulator) -> None:
    emulator.device.scene = Scene(timing=FAST)  # no short
    with pytest.raises(TDR100Error) as info:
        tdr.distance_to_short()
    assert info.value.code == 11
    with pytest.raises(TDR100Error) as info:
        tdr.la_l("1.1/2.4")  # nothing connected there
    assert info.value.code == 16 and info.value.meaning == "bad moisture calculation"
    with pytest.raises(TDR100Error) as info:
        tdr.cell_constant(20.0)
    assert info.value.code == 7


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b":GWAV36\r", 1),
        (b":GW\r", 2),
        (b":g\x01av" + checksum(b"g\x01av") + b"\r", 3),
        (b":S_VP" + checksum(b"S_VP") + b"\r", 4),
        (b":HELP" + checksum(b"HELP") + b"\r", 5),
        (b":SPNT 1e3" + checksum(b"SPNT 1e3") + b"\r", 13),
    ],
)
def test_frame_errors_over_the_pty(tdr: TDR100, frame: bytes, code: int) -> None:
    tdr.link.write(frame)
    decoder = ReplyDecoder(XMODEM, detect=False)
    got: list[object] = []
    for _ in range(50):
        got += decoder.feed(tdr.link.read(64, timeout=2.0))
        if got:
            break
    assert len(got) == 1 and getattr(got[0], "code", None) == code


def test_abort_mid_acquisition(emulator: TDR100Emulator) -> None:
    # An acquisition that would take a minute: it cannot finish during the test.
    emulator.device.scene = Scene(timing=Timing(overhead=60.0))
    assert emulator.url is not None
    with TDR100.from_url(emulator.url, timeout=2.0) as tdr:
        tdr.link.write(Command("GWAV").encode())  # started, never waited for
        tdr.abort()  # ABRT arrives while it runs: acknowledged, and GWAV is dropped
        with pytest.raises(TDR100Error) as info:
            tdr.last_waveform()  # the aborted acquisition stored nothing
        assert info.value.code == 15
    port = emulator.connections[0].port
    assert port.aborted == ["GWAV"]  # type: ignore[attr-defined]
    assert emulator.device.counters.aborts == 1


def test_crc_variant_lock(caplog: pytest.LogCaptureFixture) -> None:
    with TDR100Emulator(SCENE, pty=True, crc=KERMIT).running() as emu:
        assert emu.url is not None
        with TDR100.from_url(emu.url, timeout=2.0) as tdr:
            assert tdr.crc is None
            with caplog.at_level(logging.INFO, logger="fieldlink.tdr100"):
                first = tdr.settings()
            assert tdr.crc is KERMIT
            assert "device uses CRC variant CRC-16/KERMIT" in caplog.text
            assert tdr.settings() == first
            assert [m.ok for m in tdr.sweep("1.1-1.2")] == [True, True]


def test_no_detection_means_a_wrong_variant_fails() -> None:
    with TDR100Emulator(SCENE, pty=True, crc=KERMIT).running() as emu:
        assert emu.url is not None
        link_client = TDR100.from_url(emu.url, timeout=0.5, detect_crc=False)
        with link_client as tdr, pytest.raises(ProtocolError, match="CRC"):
            tdr.settings()


def test_corrupted_replies_are_retried_never_returned() -> None:
    with TDR100Emulator(SCENE, pty=True, faults="corrupt=0.2", seed=5).running() as emu:
        assert emu.url is not None
        with TDR100.from_url(emu.url, timeout=2.0) as tdr:
            expected = emu.device.settings
            got = [tdr.settings() for _ in range(25)]
            assert got == [expected] * 25
            corrupted = sum("corrupted" in h for h in emu.fault_history[1])
            assert corrupted > 0
            assert tdr.session.stats.resends >= corrupted


def test_a_silent_device_times_out_with_a_clear_message() -> None:
    with TDR100Emulator(SCENE, pty=True, faults="drop=1").running() as emu:
        assert emu.url is not None
        with (
            TDR100.from_url(emu.url, timeout=0.3) as tdr,
            pytest.raises(LinkTimeout, match="no answer to TDR100 command DUMP"),
        ):
            tdr.settings()


def test_timeouts_grow_with_averages_and_points() -> None:
    small = ops.acquisition_timeout(Settings(averages=1, points=20), 5.0)
    large = ops.acquisition_timeout(Settings(averages=128, points=2048), 5.0)
    assert large - small == pytest.approx((128 * 2048 - 20) * ACQUISITION_PER_SAMPLE)
    assert large > 15 > small > 5


def test_the_session_applies_them_from_what_the_device_reported() -> None:
    session = TDR100Session(timeout=3.0)
    unknown = session.timeout_for(Ask(Command("GWAV")))
    dump = Values("DUMP", (1.0, 4.0, 251.0, 0.0, 5.0, 0.3, 0.0, 1.0, 0.0))
    session.check(Command("DUMP"), dump)
    assert session.timeout_for(Ask(Command("GWAV"))) == pytest.approx(
        ops.acquisition_timeout(Settings(averages=4, points=251), 3.0)
    )
    session.check(Command("SNAV", 128), Ack("SNAV"))
    session.check(Command("SPNT", 2048), Ack("SPNT"))
    assert session.timeout_for(Ask(Command("GMOS"))) == pytest.approx(unknown)
    assert session.timeout_for(Ask(Command("DUMP"))) == 3.0  # no acquisition: the plain wait
    assert session.timeout_for(Ask(Command("GWAV"), timeout=1.0)) == 1.0


def test_async_client_over_tcp() -> None:
    with TDR100Emulator(SCENE).running() as emu:
        assert emu.url is not None and emu.url.startswith("tcp:")
        url = emu.url

        async def main() -> tuple[Settings, list[float]]:
            async with AsyncTDR100.from_url(url, timeout=2.0) as tdr:
                s = await tdr.settings()
                await tdr.set_points(251)
                thetas = [m.water_content async for m in tdr.sweep(["1.1", "1.8"])]
                assert (await tdr.versions()).os_signature == 0x5678
                assert len((await tdr.waveform("1.2")).values) == 251
                other = await AsyncTDR100.from_url(url, timeout=2.0)
                try:
                    assert await other.la_l("1.2") > 1
                finally:
                    await other.close()
                return s, thetas

        settings, thetas = asyncio.run(main())
        assert settings == emu.device.settings
        assert thetas == pytest.approx(
            [DEFAULT_SOILS[0].water_content, DEFAULT_SOILS[7].water_content], abs=0.02
        )
    assert open_async_link  # the same link layer the collector uses
