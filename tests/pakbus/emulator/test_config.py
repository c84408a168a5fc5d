"""Station files as users write them: the shipped example, and mistakes in neighbours
reported as one line naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldlink.errors import ConfigError
from fieldlink.pakbus.emulator import LoggerEmulator
from fieldlink.pakbus.emulator.config import check_addresses, load_station
from fieldlink.pakbus.emulator.station import ManualClock
from fieldlink.pakbus.protocol.types import DataType

EXAMPLES = Path(__file__).parents[3] / "examples"


def test_the_example_station_file_loads_with_its_program_and_neighbour() -> None:
    config = load_station(EXAMPLES / "station.toml")
    assert config.station_name == "RIDGE" and config.model == "CR1000"
    assert config.program_name == "CPU:ridge.CR1"
    assert config.program_text == (EXAMPLES / "ridge.CR1").read_text()
    assert config.program is not None
    tables = {t.name: t for t in config.program.tables}
    assert list(tables) == ["Ridge15", "Daily"]
    assert tables["Ridge15"].interval_ns == 15 * 60 * 1_000_000_000
    daily = {f.name: f.type_code for f in tables["Daily"].fields}
    assert daily["AirTC_TMx"] == DataType.NSEC and "RainDay_mm" in daily
    (creek,) = config.neighbours
    assert creek.node == 2 and creek.station.model == "CR800"
    assert creek.station.program is not None
    assert [t.name for t in creek.station.program.tables] == ["Hourly"]


def test_the_example_station_serves() -> None:
    emu = LoggerEmulator(
        listen="127.0.0.1:0",
        station=EXAMPLES / "station.toml",
        records=20,
        clock=ManualClock(),  # a 15-minute boundary passing mid-test would add a record
    )
    station = emu.station
    assert station.program.name == "CPU:ridge.CR1"
    assert [d.name for d in station.table_defs()] == ["Status", "Ridge15", "Daily", "Public"]
    assert station.record_numbers("Ridge15") == range(20)
    creek = station.neighbours[2]
    assert creek.station_name == "CREEK" and creek.model.name == "CR800"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[[neighbours]]\nnode = 2\nstation = 'missing.toml'\n",
            r"site\.toml: neighbours\[0\]\.station: cannot read .*missing\.toml",
        ),
        (
            "[[neighbours]]\nnode = 2\ncolour = 1\n",
            r"site\.toml: neighbours\[0\]: unknown key 'colour'; allowed: .*node.*station",
        ),
        (
            "[[neighbours]]\nnode = 2\nmodel = 'CR9'\n",
            r"site\.toml: neighbours\[0\]\.model: unknown model 'CR9'",
        ),
        (
            "[[neighbours]]\nnode = 2\n[[neighbours.neighbours]]\nnode = 3\nrecords = -1\n",
            r"site\.toml: neighbours\[0\]\.neighbours\[0\]\.records: must be a whole number",
        ),
    ],
)
def test_neighbour_mistakes_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_station(write(tmp_path, text))


def test_a_neighbour_file_with_bad_toml_is_named_itself(tmp_path: Path) -> None:
    (tmp_path / "behind.toml").write_text("station_name = 'unterminated\n")
    path = write(tmp_path, "[[neighbours]]\nnode = 2\nstation = 'behind.toml'\n")
    with pytest.raises(ConfigError, match=r"behind\.toml: invalid TOML"):
        load_station(path)


@pytest.mark.parametrize(
    ("text", "node", "message"),
    [
        ("[[neighbours]]\nnode = 1\n", 1, r"neighbours\[0\]\.node: 1 is already the address"),
        ("[[neighbours]]\nnode = 7\n", 7, "address of this logger"),
        (
            "[[neighbours]]\nnode = 2\n[[neighbours.neighbours]]\nnode = 3\n"
            "[[neighbours]]\nnode = 3\n",
            1,
            r"neighbours\[1\]\.node: 3 is already the address of "
            r".*neighbours\[0\]\.neighbours\[0\]",
        ),
    ],
)
def test_loggers_sharing_an_address_are_refused(
    tmp_path: Path, text: str, node: int, message: str
) -> None:
    path = write(tmp_path, text)
    config = load_station(path)
    with pytest.raises(ConfigError, match=message) as info:
        check_addresses(config, node)
    assert str(path) in str(info.value)
    with pytest.raises(ConfigError, match=message):
        LoggerEmulator(listen="127.0.0.1:0", node=node, station=path)


def test_an_inline_neighbours_drive_error_names_the_neighbour(tmp_path: Path) -> None:
    text = "[[neighbours]]\nnode = 2\nmodel = 'CR800'\nprogram_name = 'CRD:x.CR8'\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=r"site\.toml: neighbours\[0\]: program_name 'CRD:x"):
        LoggerEmulator(listen="127.0.0.1:0", station=path)
