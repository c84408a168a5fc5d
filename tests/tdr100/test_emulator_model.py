"""The emulator's device model, with bytes alone on a hand-driven clock: every command,
every error it produces, aborts, the physics coming back through the device's own
analysis, and the TOML scene."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tdr100_bench import Bench, Clock

from fieldlink.errors import ConfigError
from fieldlink.tdr100 import analysis
from fieldlink.tdr100.emulator import DEFAULT_SOILS, Scene, Soil, TDR100Model, load_scene
from fieldlink.tdr100.emulator.model import VERSIONS
from fieldlink.tdr100.emulator.scene import Probe, scene_from_mapping
from fieldlink.tdr100.protocol import (
    COMMANDS,
    Ack,
    Command,
    ErrorReply,
    MuxPath,
    Reply,
    ReplyDecoder,
    Values,
    checksum,
    expected_count,
)
from fieldlink.tdr100.protocol.crc import MODBUS
from fieldlink.tdr100.settings import SETTINGS, Settings

# A value each Type-1 command accepts.
GOOD_VALUES = {
    "S_VP": 0.99, "SDIS": 3.0, "SWLN": 4.0, "SPNT": 251, "SNAV": 8, "SPRL": 0.3,
    "SPRO": 0.085, "SPCC": 1.77, "SMUX": 13, "SMAX": 1.0, "SMIN": -1.0, "SSMO": 3,
    "CCCC": 25,
}  # fmt: skip


def _prepare(bench: Bench) -> None:
    """State for every command to succeed: a waveform, an analysis, a reference, a short."""
    bench.model.scene = Scene(short_distance=4.2)
    assert isinstance(bench.ask("GMOS"), Values)
    assert bench.ask("SRLN") == Ack("SRLN")


@pytest.mark.parametrize("mnemonic", sorted(COMMANDS))
def test_every_command_is_answered_as_the_table_says(bench: Bench, mnemonic: str) -> None:
    _prepare(bench)
    reply = bench.ask(mnemonic, GOOD_VALUES.get(mnemonic))
    row = COMMANDS[mnemonic]
    if row.reply is Reply.ACK:
        assert reply == Ack(mnemonic)
    else:
        assert isinstance(reply, Values) and reply.command == mnemonic
        points = bench.model.settings.points
        assert len(reply.values) in expected_count(mnemonic, points)


def test_dump_reports_the_settings_the_scene_needs(bench: Bench) -> None:
    reply = bench.ask("DUMP")
    assert isinstance(reply, Values)
    s = Settings.from_dump(reply.values)
    probe = Probe()
    assert s == bench.model.settings
    assert (s.probe_length, s.probe_offset) == (probe.length, probe.offset)
    assert s.cell_constant == pytest.approx(probe.cell_constant, abs=1e-4)
    assert s.distance == pytest.approx(3.0 / 0.8 - 0.5)


@pytest.mark.parametrize("rule", SETTINGS, ids=lambda s: s.command)
def test_setting_changes_dump_and_out_of_range_is_10(bench: Bench, rule: object) -> None:
    s = rule  # a Setting
    value = s.high if s.high is not None else 2.5  # type: ignore[attr-defined]
    assert bench.ask(s.command, value) == Ack(s.command)  # type: ignore[attr-defined]
    dump = bench.ask("DUMP")
    assert getattr(Settings.from_dump(dump.values), s.name) == pytest.approx(value)  # type: ignore[union-attr, attr-defined]
    too_low = (s.low - 1) if s.low is not None else -1  # type: ignore[attr-defined]
    assert bench.ask(s.command, too_low) == ErrorReply(10)  # type: ignore[attr-defined]
    assert getattr(bench.model.settings, s.name) == pytest.approx(value)  # type: ignore[attr-defined]


def test_whole_number_settings_refuse_fractions_but_take_251_0(bench: Bench) -> None:
    assert bench.ask("SPNT", 100.5) == ErrorReply(10)
    assert bench.raw(b":SPNT 251.05B\r") == [Ack("SPNT")]  # what M5 sends
    assert bench.model.settings.points == 251


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b":GWAV36\r", 1),
        (b":GW\r", 2),
        (b":g\x01av" + checksum(b"g\x01av") + b"\r", 3),
        (b":S_VP" + checksum(b"S_VP") + b"\r", 4),
        (b":HELP" + checksum(b"HELP") + b"\r", 5),
        (b":S_VP 1e-1" + checksum(b"S_VP 1e-1") + b"\r", 13),
    ],
)
def test_frame_errors(bench: Bench, frame: bytes, code: int) -> None:
    assert bench.raw(frame) == [ErrorReply(code)]
    assert bench.port.rejected == 1


@pytest.mark.parametrize("value", [19, 41, 10, 5, 100, 13.5, -11])
def test_wrong_multiplexer_address_is_18(bench: Bench, value: float) -> None:
    assert bench.ask("SMUX", value) == ErrorReply(18)


def test_mux_levels(bench: Bench) -> None:
    for v in (13, 25, 38):
        assert bench.ask("SMUX", v) == Ack("SMUX")
    assert bench.model.path == MuxPath.parse("1.3/2.5/3.8")
    bench.ask("SMUX", 22)  # re-selecting level 2 forgets level 3
    assert bench.model.path == MuxPath.parse("1.3/2.2")
    bench.ask("SMUX", 0)
    assert bench.model.path == MuxPath()


def test_state_errors(bench: Bench) -> None:
    assert bench.ask("GLWF") == ErrorReply(15)  # no waveform yet
    assert bench.ask("GLDR") == ErrorReply(15)
    assert bench.ask("GVAR") == ErrorReply(15)  # no analysis yet
    assert bench.ask("GRLN") == ErrorReply(9)  # no reference length
    assert bench.ask("GDTS") == ErrorReply(11)  # no short in the default scene
    bench.ask("SMUX", 11)
    bench.ask("SMUX", 24)  # 1.1/2.4: nothing connected there
    assert bench.ask("GMOS") == ErrorReply(16)
    assert bench.ask("CCCC", 25) == ErrorReply(7)
    assert bench.ask("CCCC", 99) == ErrorReply(10)


def test_acquisition_takes_time_growing_with_averages_and_points(bench: Bench) -> None:
    bench.ask("GWAV")
    short = bench.delays[0]
    bench.ask("SNAV", 128)
    bench.ask("SPNT", 2048)
    bench.ask("GWAV")
    timing = bench.model.scene.timing
    assert bench.delays[0] == pytest.approx(timing.overhead + 128 * 2048 * timing.per_sample)
    assert bench.delays[0] > short > 0
    assert bench.ask("DUMP") and bench.delays == [0.0]


def test_abort_mid_acquisition(bench: Bench, clock: Clock) -> None:
    first = bench.ask("GWAV")  # completes: the last waveform
    assert isinstance(first, Values)
    bench.ask("SMUX", 18)
    assert bench.raw(Command("GWAV").encode(), wait=False) == []  # busy now, no reply yet ...
    due = clock.now + bench.delays[0]
    clock.now += bench.delays[0] / 2
    assert bench.ask("ABRT") == Ack("ABRT")  # ... and aborted half-way
    assert bench.port.aborted == ["GWAV"] and bench.model.counters.aborts == 1
    clock.now = due + 1
    assert not bench.port.tick(clock.now)  # the aborted command never answers
    assert bench.ask("GLWF") == Values("GLWF", first.values)  # nor stores its waveform
    # any command aborts, not only ABRT
    assert bench.raw(Command("GMOS").encode(), wait=False) == []
    assert bench.ask("DUMP").command == "DUMP"  # type: ignore[union-attr]
    assert bench.port.aborted == ["GWAV", "GMOS"]
    assert bench.ask("GVAR") == ErrorReply(15)  # the aborted GMOS left no analysis
    # a command after the acquisition finished aborts nothing
    bench.ask("GMOS")
    assert bench.ask("GVAR").command == "GVAR"  # type: ignore[union-attr]
    assert bench.port.aborted == ["GWAV", "GMOS"]
    assert "2 aborted" in bench.port.summary()


def test_derivative_and_uncalibrated_waveforms(bench: Bench) -> None:
    wav = bench.ask("GWAV")
    last = bench.ask("GLDR")
    assert isinstance(wav, Values) and isinstance(last, Values)
    n = bench.model.settings.points
    assert len(last.values) == n - 5
    assert last.values[10] == pytest.approx((wav.values[15] - wav.values[10]) / 5, abs=1e-6)
    new = bench.ask("GNDR")
    assert isinstance(new, Values) and len(new.values) == n - 5 and new.values != last.values
    raw = bench.ask("GNWA")
    assert isinstance(raw, Values) and len(raw.values) == n
    # the window starts on the matched cable: ρ ≈ 0 calibrated, the offset error without
    assert wav.values[0] == pytest.approx(0.0, abs=0.01)
    assert raw.values[0] == pytest.approx(0.015, abs=0.01)
    assert bench.ask("ANWA") == Ack("ANWA")  # without calibration (the reference's reading)
    assert bench.ask("GLWF").values[0] == pytest.approx(0.015, abs=0.01)  # type: ignore[union-attr]
    assert bench.ask("AWAV") == Ack("AWAV")
    assert bench.ask("GLWF").values[0] == pytest.approx(0.0, abs=0.01)  # type: ignore[union-attr]


def test_save_retrieve_power_versions_and_times(bench: Bench) -> None:
    bench.ask("S_VP", 0.9)
    bench.ask("SSET")
    bench.ask("S_VP", 0.5)
    bench.ask("RSET")
    assert bench.model.settings.vp == 0.9
    assert bench.ask("GVER") == Values("GVER", VERSIONS)
    bench.ask("SOFF")
    assert not bench.model.powered
    bench.ask("GWAV")
    powered_up = bench.delays[0]
    bench.ask("GWAV")
    normal = bench.delays[0]
    assert powered_up == pytest.approx(normal + bench.model.scene.timing.power_up)
    times = bench.ask("GTIM")
    assert isinstance(times, Values) and len(times.values) == 3
    assert times.values[1] == pytest.approx(normal, rel=1e-6)


def test_eight_channel_sweep_matches_the_soils(bench: Bench) -> None:
    for channel, soil in enumerate(DEFAULT_SOILS, 1):
        bench.ask("SMUX", 10 + channel)
        mos = bench.ask("GMOS")
        con = bench.ask("GCON")
        assert isinstance(mos, Values) and isinstance(con, Values)
        theta = analysis.water_content(mos.values[0])
        assert theta == pytest.approx(soil.water_content, abs=0.02), soil
        assert mos.values[0] == pytest.approx(soil.permittivity**0.5, rel=0.03), soil
        assert con.values[0] == pytest.approx(soil.conductivity, rel=0.05, abs=2e-4), soil
        # GVAR's indices give the same La/L through the client-side formula
        gvar = bench.ask("GVAR")
        s = bench.model.settings
        assert isinstance(gvar, Values)
        start, end, _ = gvar.values
        la_l = analysis.la_l(
            start, end, points=s.points, window=s.window, vp=s.vp,
            probe_length=s.probe_length, probe_offset=s.probe_offset,
        )  # fmt: skip
        assert la_l == pytest.approx(mos.values[0], rel=1e-5)


def test_cell_constant_in_water(make_bench: Callable[..., Bench]) -> None:
    water = Soil("water 20 °C", analysis.water_permittivity(20.0), 0.0)
    bench = make_bench(scene=Scene(channels={MuxPath(): water}))
    reply = bench.ask("CCCC", 20)
    assert isinstance(reply, Values) and len(reply.values) == 2
    assert reply.values[0] == pytest.approx(Probe().cell_constant, rel=0.01)
    assert reply.values[1] == bench.model.settings.smooth


def test_crc_variant_is_a_parameter(clock: Clock) -> None:
    model = TDR100Model(crc=MODBUS, clock=clock)
    port = model.open_port(1)
    (out,) = port.answer(Command("S_VP", 0.99).encode())
    assert out.data == bytes.fromhex("3A 24 53 5F 56 50 CD 4A 0D")
    decoder = ReplyDecoder()
    assert decoder.feed(out.data) == [Ack("S_VP")] and decoder.locked is MODBUS


def test_port_framing(bench: Bench) -> None:
    port = bench.port
    assert port.frames(b"noise:GCA") == []
    assert port.in_unit
    assert port.frames(b"L17\r:DUMP36") == [b":GCAL17\r"]
    assert port.frames(b":GVER34\r") == [b":GVER34\r"]  # a new ':' dropped the partial DUMP
    (junk,) = port.frames(b":" + b"A" * 100)
    assert bench.raw(b":" + b"A" * 100) != []  # an over-long line gets an error reply
    assert all(isinstance(r, ErrorReply) for r in bench.raw(b":" + b"A" * 100))
    assert len(junk) <= 65
    port.closed()
    assert not port.in_unit


def test_scene_from_toml(tmp_path: Path) -> None:
    file = tmp_path / "scene.toml"
    file.write_text(
        """
        short_distance = 5.0
        [cable]
        length = 10
        velocity = 0.66
        [probe]
        length = 0.2
        [noise]
        rms = 0.001
        seed = 7
        [[channel]]
        path = "1.1"
        name = "sand"
        permittivity = 5
        conductivity = 0.002
        [[channel]]
        path = "1.2/2.3"
        water_content = 0.25
        """
    )
    scene = load_scene(file)
    assert scene.cable.length == 10 and scene.probe.length == 0.2 and scene.seed == 7
    assert scene.soil(MuxPath.parse("1.1")) == Soil("sand", 5.0, 0.002)
    deep = scene.soil(MuxPath.parse("1.2/2.3"))
    assert deep is not None and deep.water_content == pytest.approx(0.25)
    assert scene.soil(MuxPath()) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[cable\n", "scene.toml"),
        ("cable = 3\n", "must be a table"),
        ("[cable]\nlength = -1\n", "cable"),
        ("[probe]\ncolour = 1\n", "probe"),
        ("[[channel]]\nname = 'x'\n", "missing key 'path'"),
        ("[[channel]]\npath = '1.9'\npermittivity = 3\n", "channel #1"),
        ("[[channel]]\npath = '1.1'\npermittivity = 300\n", "permittivity"),
        ("[[channel]]\npath='1.1'\npermittivity=3\n[[channel]]\npath='1.1'\npermittivity=4\n",
         "given twice"),
    ],
)  # fmt: skip
def test_scene_errors(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "scene.toml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_scene(file)


def test_scene_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"none\.toml: cannot read the scene"):
        load_scene(tmp_path / "none.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"[cable]\n# caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_scene(latin)
    assert scene_from_mapping({}).channels[MuxPath.parse("1.8")].name == "wet clay"


def test_terminal_mode(bench: Bench) -> None:
    port = bench.port

    def typed(text: bytes) -> bytes:
        return b"".join(o.data for u in port.frames(text) for o in port.answer(u))

    assert typed(b"\r") == b"\r\n>"
    assert typed(b"gvar\r").endswith(b"\r\n>")  # runs a measurement when none was made
    la_l = float(typed(b"GMO\r").removesuffix(b"\r\n>"))
    assert la_l == pytest.approx(DEFAULT_SOILS[0].permittivity ** 0.5, rel=0.03)
    start, end, rms = (float(x) for x in typed(b"GVAR\r").removesuffix(b"\r\n>").split())
    assert start < end and rms >= 0
    assert typed(b"GVER\r") == b"boot 1 0x1234 OS 2 0x5678\r\n>"
    assert typed(b"HELLO\r") == b"?\r\n>"
    bench.ask("SMUX", 11)
    bench.ask("SMUX", 24)  # nothing connected there
    assert typed(b"gmos\r") == b"error 16: bad moisture calculation\r\n>"
    # typing and framed commands mix: ':' starts a frame and drops what was typed
    assert bench.raw(b"GV" + Command("DUMP").encode())[0].command == "DUMP"  # type: ignore[union-attr]
