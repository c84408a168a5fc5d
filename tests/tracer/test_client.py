"""Every client method against the emulators (in-process hosts on 127.0.0.1 and a pty)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import pytest
from tracer_support import NOON, frozen_model

from fieldlink.errors import FieldlinkError, LinkTimeout, ProtocolError, Unsupported, UsageError
from fieldlink.tracer import operations as ops
from fieldlink.tracer.client import AsyncTracer, Tracer
from fieldlink.tracer.emulator.host import TracerEmulator
from fieldlink.tracer.emulator.model import Stage, TracerModel
from fieldlink.tracer.errors import (
    ModbusExceptionError,
    PartialWrite,
    SettingsError,
    WriteRejected,
)
from fieldlink.tracer.modbus.registers import Block, Table
from fieldlink.tracer.mt5 import messages as mt5


def frozen() -> TracerModel:
    return frozen_model(NOON + dt.timedelta(minutes=1))


@pytest.fixture
def modbus() -> Iterator[TracerEmulator]:
    with TracerEmulator(model=frozen()).running() as emu:
        yield emu


def tracer(emu: TracerEmulator, **options: object) -> Tracer:
    assert emu.url is not None
    options.setdefault("timeout", 1.0)
    return Tracer.from_url(emu.url, **options)  # type: ignore[arg-type]


def test_status_matches_the_model(modbus: TracerEmulator) -> None:
    m = modbus.tracer_model
    with tracer(modbus) as t:
        snap = t.status()
    assert isinstance(snap, ops.Snapshot)
    assert snap.realtime.battery_voltage == round(m.battery_voltage, 2)
    assert snap.realtime.pv_voltage == round(m.pv_voltage, 2)
    assert snap.realtime.battery_soc == round(m.battery.soc * 100)
    assert m.stage is Stage.EQUALIZE  # bulk since dawn, then the (due) equalization
    assert snap.status.stage == "equalization"
    assert snap.load_on is True and snap.night is False
    assert snap.as_dict()["charging_stage"] == "equalization"


def test_load_switch(modbus: TracerEmulator) -> None:
    with tracer(modbus) as t:
        assert t.load(False) is False
        assert modbus.tracer_model.coils[2] is False
        assert t.load(True) is True


def test_settings_read_and_write_as_a_block(modbus: TracerEmulator) -> None:
    with tracer(modbus) as t:
        block = t.battery_settings()
        assert block.boost_voltage == 14.40 and block.battery_type == 1
        new = t.write_settings(battery_type=0, boost_voltage=14.3, boost_duration=90)
        assert new.boost_voltage == 14.3
        assert t.battery_settings() == new
        everything = t.settings()
        assert everything["boost_duration"] == 90 and everything["night_threshold_voltage"] == 5.0
        assert t.set_setting("night_threshold_voltage", 4.5) == 4.5
        assert t.set_setting("float_voltage", 13.7) == 13.7
    assert modbus.tracer_model.holding[0x901E] == 450
    assert modbus.tracer_model.holding[0x9008] == 1370


def test_rule_violation_stops_before_anything_is_written() -> None:
    model = frozen()
    model.holding[0x9000] = 0
    before = dict(model.holding)
    writes: list[int] = []
    real_write = model.write

    def counting(table: Table, address: int, data: object) -> int | None:
        writes.append(address)
        return real_write(table, address, data)  # type: ignore[arg-type]

    model.write = counting  # type: ignore[method-assign]
    with TracerEmulator(model=model).running() as emu, tracer(emu) as t:
        with pytest.raises(SettingsError, match="rule A") as info:
            t.write_settings(float_voltage=14.5)
        assert info.value.rule == "A"
        assert isinstance(info.value, UsageError)
        with pytest.raises(SettingsError, match="boost_duration"):
            t.set_setting("boost_duration", 5)
        with pytest.raises(SettingsError, match="rule E"):
            t.write_settings(low_voltage_reconnect=13.3, under_voltage_recover=13.4)
    assert writes == []  # nothing reached the controller
    assert model.holding == before


def test_write_rejected_by_the_controller(modbus: TracerEmulator) -> None:
    modbus.tracer_model.holding[0x9000] = 0
    with tracer(modbus) as t:
        with pytest.raises(WriteRejected) as info:
            t.run(ops.write_registers(0x9008, (1450,)))  # bypasses our own check
        assert info.value.code == 3 and "illegal data value" in str(info.value)
        with pytest.raises(WriteRejected, match="illegal data address"):
            t.run(ops.write_registers(0x9066, (1,)))


def test_half_written_block_says_so() -> None:
    model = frozen()
    real_write = model.write

    def refuse_durations(table: Table, address: int, data: object) -> int | None:
        return 4 if address == 0x906B else real_write(table, address, data)  # type: ignore[arg-type]

    model.write = refuse_durations  # type: ignore[method-assign]
    with (
        TracerEmulator(model=model).running() as emu,
        tracer(emu) as t,
        pytest.raises(PartialWrite, match="half-written: 0x9000×15 accepted"),
    ):
        t.write_settings(boost_voltage=14.3, boost_duration=60)
    assert model.holding[0x9007] == 1430 and model.holding[0x906C] == 120


def test_exception_reply_to_a_read(modbus: TracerEmulator) -> None:
    with tracer(modbus) as t, pytest.raises(ModbusExceptionError) as info:
        t.run(ops.read_blocks([Block(Table.INPUT, 0x3100, 21)]))
    assert info.value.code == 2 and not isinstance(info.value, WriteRejected)


def test_clock_read_set_and_sync(modbus: TracerEmulator) -> None:
    with tracer(modbus) as t:
        assert t.clock() == NOON + dt.timedelta(minutes=1)
        when = dt.datetime(2027, 1, 2, 3, 4, 5)
        assert t.set_clock(when) == when
        assert t.clock() == when
        before, after = t.sync_clock()
        assert before == when
        assert abs((after - dt.datetime.now()).total_seconds()) < 5
        assert t.clock() == after


def test_stats_rated_info_sparse(modbus: TracerEmulator) -> None:
    with tracer(modbus) as t:
        stats = t.stats()
        rated = t.rated()
        info = t.info()
        sparse = t.sparse_read(0x3100, 27)
    assert stats.generated_today > 0 and stats.max_battery_voltage_today > 12
    assert rated.rated_charging_current == 20.0 and rated.charging_mode_name == "MPPT"
    assert info.product == "Tracer2215BN" and info.serial_number == "0002201301200045"
    assert sorted(sparse) == [*range(0x3100, 0x3114), 0x311A]


def test_modbus_tcp_framing_and_other_unit() -> None:
    with TracerEmulator(model=frozen(), framing="socket", unit=7).running() as emu:
        with tracer(emu, framing="tcp", unit=7) as t:
            assert t.rated().pv_rated_voltage == 150.0
        with tracer(emu, framing="tcp", unit=8, timeout=0.2) as t, pytest.raises(LinkTimeout):
            t.rated()


def test_rtu_over_a_pty() -> None:
    with TracerEmulator(model=frozen(), pty=True).running() as emu:
        assert emu.url is not None and emu.url.startswith("serial:/dev/")
        with tracer(emu) as t:
            assert t.info().vendor == "EPsolar Tech co., Ltd"


def test_silent_controller_times_out() -> None:
    with (
        TracerEmulator(model=frozen(), faults="drop=1").running() as emu,
        tracer(emu, timeout=0.2) as t,
        pytest.raises(LinkTimeout, match="Tracer unit 1"),
    ):
        t.rated()


def test_corrupted_replies_are_asked_again() -> None:
    with TracerEmulator(model=frozen(), faults="corrupt=0.3", seed=5).running() as emu:
        with tracer(emu) as t:
            values = [t.rated().pv_rated_voltage for _ in range(10)]
        assert values == [150.0] * 10
        assert t.session.stats.resends > 0


def test_mt5_commands() -> None:
    with TracerEmulator(model=frozen(), protocol="mt5").running() as emu:
        m = emu.tracer_model
        with tracer(emu, protocol="mt5") as t:
            data = t.status()
            assert isinstance(data, mt5.RealTimeData)
            assert data.battery_voltage == round(m.battery_voltage, 2)
            assert data.charging is True and data.battery_full_voltage == 14.40
            assert t.load(False) is False and m.coils[2] is False
            assert t.load(True) is True
            t.set_parameters(mt5.ControlParameters(battery_type=mt5.BatteryType.FLOODED))
            assert m.holding[0x9000] == 3
            with pytest.raises(Unsupported, match="MT-5 controllers have no clock"):
                t.clock()
            with pytest.raises(Unsupported):
                t.write_settings(boost_voltage=14.2)


def test_mt5_over_a_pty_with_wake_bytes_in_replies() -> None:
    with TracerEmulator(model=frozen(), protocol="mt5", pty=True, wake=True).running() as emu:
        with tracer(emu, protocol="mt5") as t:
            data = t.status()
        assert isinstance(data, mt5.RealTimeData)


def test_modbus_client_on_an_mt5_controller_fails_clearly() -> None:
    with (
        TracerEmulator(model=frozen(), protocol="mt5").running() as emu,
        tracer(emu, timeout=0.2) as t,
        pytest.raises(FieldlinkError),
    ):
        t.rated()


def test_bad_options_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="protocol"):
        Tracer.from_url("tcp:127.0.0.1:1", protocol="mt6")
    with pytest.raises(UsageError, match="unit"):
        Tracer.from_url("tcp:127.0.0.1:1", unit=0)


def test_async_twin(modbus: TracerEmulator) -> None:
    async def main() -> tuple[object, ...]:
        assert modbus.url is not None
        async with await AsyncTracer.from_url(modbus.url, timeout=1.0) as t:
            snap = await t.status()
            block = await t.write_settings(boost_duration=100)
            on = await t.load(False)
            when = await t.clock()
            return snap, block.boost_duration, on, when, (await t.info()).product

    snap, duration, on, when, product = asyncio.run(main())
    assert isinstance(snap, ops.Snapshot)
    assert duration == 100 and on is False and product == "Tracer2215BN"
    assert when == NOON + dt.timedelta(minutes=1)


def test_protocol_error_type_for_garbage_reply() -> None:
    # A reply to another function code than asked is skipped; a frame with a wrong CRC
    # surfaces (after retries) as a ProtocolError, never another exception.
    from fieldlink.tracer.session import ModbusSession

    session = ModbusSession()
    (err,) = session.feed(bytes.fromhex("01 04 02 04 CE 00 00"))
    assert isinstance(err, ProtocolError)


def test_a_day_at_speed_60_through_the_modbus_front() -> None:
    """The controller's stages as a client sees them, hour by hour, with the clock at ×60."""
    from fieldlink.kit.clock import ManualClock

    mono = ManualClock()
    with (
        TracerEmulator(
            start=dt.datetime(2026, 6, 22, 0, 0), speed=60, soc=0.5, monotonic=mono
        ).running() as emu,
        tracer(emu) as t,
    ):
        seen: list[str] = []
        for _ in range(24 * 4):
            mono.advance(15)  # 15 real seconds = 15 simulated minutes
            stage = t.run(ops.status()).stage
            if not seen or seen[-1] != stage:
                seen.append(stage)
        assert t.clock() == dt.datetime(2026, 6, 23, 0, 0)
    assert seen[:4] == ["not charging", "boost", "equalization", "float"]
    assert seen[-1] == "not charging"


class _Tamper:
    """A device model whose replies are the real emulator's, cut short or behind garbage."""

    def __init__(self, protocol: str, mode: str) -> None:
        from fieldlink.tracer.emulator.device import TracerDevice

        self.inner = TracerDevice(frozen(), protocol=protocol)  # type: ignore[arg-type]
        self.mode = mode

    def open_port(self, number: int) -> object:
        from fieldlink.kit.device import BasePort, Outgoing

        inner = self.inner.open_port(number)
        mode = self.mode

        class Port(BasePort):
            def frames(self, data: bytes) -> list[bytes]:
                return list(inner.frames(data))

            def answer(self, unit: bytes) -> list[Outgoing]:
                out = []
                for o in inner.answer(unit):
                    data = (
                        o.data[: len(o.data) // 2] if mode == "short" else b"\x55\x13\xeb" + o.data
                    )
                    out.append(Outgoing(data, o.delay))
                return out

        return Port()

    def describe(self) -> str:
        return f"tampered tracer ({self.mode})"


@pytest.mark.parametrize("protocol", ["mt5", "modbus"])
def test_short_frames_fail_clearly(protocol: str) -> None:
    """Each reply cut in half: the next one lands inside the first's declared length, so
    the checks fail and, after the retries, a ProtocolError names the frame."""
    from fieldlink.kit.host import EmulatorHost

    with EmulatorHost(_Tamper(protocol, "short"), name="tamper").running() as emu:  # type: ignore[arg-type]
        assert emu.url is not None
        with (
            Tracer.from_url(emu.url, protocol=protocol, timeout=0.2) as t,
            pytest.raises((ProtocolError, LinkTimeout)) as info,
        ):
            t.status()
    assert "frame" in str(info.value) or "no answer" in str(info.value)


@pytest.mark.parametrize("protocol", ["mt5", "modbus"])
def test_garbage_before_a_reply_is_skipped(protocol: str) -> None:
    from fieldlink.kit.host import EmulatorHost

    with EmulatorHost(_Tamper(protocol, "garbage"), name="tamper").running() as emu:  # type: ignore[arg-type]
        assert emu.url is not None
        with Tracer.from_url(emu.url, protocol=protocol, timeout=0.5) as t:
            status = t.status()
    assert isinstance(status, ops.Snapshot | mt5.RealTimeData)
