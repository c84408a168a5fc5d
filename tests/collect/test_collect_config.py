"""The stations file: what it accepts, and that every mistake names file, line and key."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.collect.config import (
    ClockPolicy,
    FirstCollection,
    RetryPolicy,
    SinkSpec,
    load_stations,
    parse_stations,
)
from fieldlink.collect.durations import format_duration, parse_duration
from fieldlink.collect.tomlpos import KeyLocator
from fieldlink.errors import ConfigError

FULL = """\
# a comment
[defaults]
interval = "15m"
timezone = "UTC-7"
first_collection = "newest 100"
sinks = [{kind = "sqlite", path = "db/all.sqlite"},
         {kind = "toa5", path = "toa5/{station}"}]

[defaults.retry]
primary_retries = 2
primary_interval = "45s"

[defaults.clock]
allowed_deviation = "5s"
set = true

[[station]]
name = "ridge"
url = "tcp:10.0.0.5:6785"
node = 12
security_code = 1111
tables = ["Table1", "Hourly"]

[station.retry]
secondary_interval = "2h"

[[station]]
name = "valley"
url = "serial:/dev/ttyUSB0:9600"
interval = 300
timezone = "Europe/Paris"
clock = false
first_collection = "all"

[[station.sinks]]
kind = "csv"
path = "csv"
tables = ["Daily"]
"""


def test_full_example_with_defaults_and_overrides(tmp_path: Path) -> None:
    cfg = parse_stations(FULL, source="st.toml", base_dir=tmp_path)
    ridge, valley = cfg.stations
    assert ridge.name == "ridge" and ridge.node == 12 and ridge.security_code == 1111
    assert ridge.interval == 900 and valley.interval == 300
    assert ridge.tables == ("Table1", "Hourly") and valley.tables is None
    assert ridge.timezone == dt.timezone(dt.timedelta(hours=-7))
    assert str(valley.timezone) == "Europe/Paris"
    assert ridge.first_collection == FirstCollection(100)
    assert valley.first_collection == FirstCollection(None)
    # retry merges key by key: defaults' primary settings, station's secondary
    assert ridge.retry == RetryPolicy(2, 45.0, 7200.0)
    assert valley.retry == RetryPolicy(2, 45.0, 3600.0)
    assert ridge.clock == ClockPolicy(5.0, True)
    assert valley.clock is None
    assert ridge.sinks == (
        SinkSpec("sqlite", tmp_path / "db/all.sqlite"),
        SinkSpec("toa5", tmp_path / "toa5/ridge"),
    )
    assert valley.sinks == (SinkSpec("csv", tmp_path / "csv", frozenset({"Daily"})),)
    assert valley.sinks_for("Daily") and not valley.sinks_for("Table1")


def test_minimal_station_gets_documented_defaults(tmp_path: Path) -> None:
    cfg = parse_stations('[[station]]\nname = "a"\nurl = "tcp:h:1"\n', base_dir=tmp_path)
    (a,) = cfg.stations
    assert (a.node, a.src, a.security_code, a.interval, a.batch_size) == (1, 4094, 0, 3600, 250)
    assert a.sinks == (SinkSpec("sqlite", tmp_path / "fieldlink.sqlite"),)
    assert a.retry == RetryPolicy() and a.clock == ClockPolicy()
    assert a.timezone == dt.UTC


def test_client_options_are_the_stations_own_addressing(tmp_path: Path) -> None:
    """What ``connect_client`` opens the logger with: every keyword of ``from_url``,
    taken from the station (defaults included), nothing else."""
    import inspect

    from fieldlink.pakbus.client import AsyncDatalogger, ClientOptions

    ridge = parse_stations(FULL, source="st.toml", base_dir=tmp_path).stations[0]
    assert ridge.client_options() == {
        "node": 12,
        "address": None,
        "src": 4094,
        "src_address": None,
        "security_code": 1111,
        "timeout": 10.0,
        "first_timeout": None,
    }
    # from_url passes them to the constructor: every keyword it takes, no other
    keywords = set(inspect.signature(AsyncDatalogger.__init__).parameters) - {"self", "link"}
    assert set(ridge.client_options()) == keywords == set(ClientOptions.__annotations__)


def test_load_stations_resolves_paths_against_the_file(tmp_path: Path) -> None:
    f = tmp_path / "conf" / "stations.toml"
    f.parent.mkdir()
    f.write_text(
        '[[station]]\nname = "a"\nurl = "tcp:h:1"\n'
        '[[station.sinks]]\nkind = "toa5"\npath = "../data/{station}"\n'
    )
    (a,) = load_stations(f).stations
    assert a.sinks[0].path == tmp_path / "conf" / "../data/a"


def error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_stations(text, source="stations.toml")
    assert info.value.exit_code == 2
    return str(info.value)


def test_syntax_error_names_line_and_column() -> None:
    msg = error('[[station]]\nname = "a"\nurl = tcp:h:1\n')
    assert msg.startswith("stations.toml, line 3, column 7:")


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        (
            '[[station]]\nname = "a"\nurl = "tcp:h:1"\ninterval = "5 minutes"\n',
            4,
            "station[1].interval",
            "duration",
        ),
        (
            '[[station]]\nname = "a"\nurl = "tcp:h:1"\n\n[[station]]\nname = "b"\n'
            'url = "tcp:h:2"\nnode = 5000\n',
            8,
            "station[2].node",
            "1 to 4094",
        ),
        (
            '[[station]]\nname = "a"\nurl = "tcp:h:1"\n[station.retry]\nprimary_retries = 2\n'
            'primary_interval = "soon"\n',
            6,
            "station[1].retry.primary_interval",
            "duration",
        ),
        (
            '[defaults]\nintervall = "5m"\n[[station]]\nname = "a"\nurl = "tcp:h:1"\n',
            2,
            "defaults.intervall",
            "unknown key",
        ),
        ('[[station]]\nname = "a"\nurl = "tcp:nohost"\n', 3, "station[1].url", "tcp:HOST:PORT"),
        (
            '[[station]]\nname = "a"\nurl = "tcp:h:1"\ntimezone = "Mars/Olympus"\n',
            4,
            "station[1].timezone",
            "unknown time zone",
        ),
        (
            '[[station]]\nname = "a"\nurl = "tcp:h:1"\nfirst_collection = "newest"\n',
            4,
            "station[1].first_collection",
            '"newest N"',
        ),
        (
            '[[station]]\nname = "a"\nurl = "tcp:h:1"\n[[station.sinks]]\nkind = "parquet"\n'
            'path = "x"\n',
            5,
            "station[1].sinks[1].kind",
            "toa5, csv, sqlite",
        ),
        (
            '[[station]]\nname = "a"\nurl = "tcp:h:1"\n[[station.sinks]]\nkind = "toa5"\n',
            4,
            "station[1].sinks[1]",
            "both 'kind' and 'path'",
        ),
        (
            '[[station]]\nname = "a"\nurl = "tcp:h:1"\n[[station.sinks]]\nkind = "toa5"\n'
            'path = "x/{table}"\n',
            6,
            "station[1].sinks[1].path",
            "{station}",
        ),
        (
            '[[station]]\nname = "a"\nurl = "tcp:h:1"\n[[station]]\nname = "a"\nurl = "tcp:h:2"\n',
            5,
            "station[2].name",
            "already used",
        ),
        ('[[station]]\nname = "a/b"\nurl = "tcp:h:1"\n', 2, "station[1].name", "letters"),
        ('[[station]]\nname = "a"\n', 1, "station[1]", "no 'url'"),
        (
            '[[station]]\nname = "a"\nurl = "tcp:h:1"\nclock = {allowed_deviation = -3}\n',
            4,
            "station[1].clock.allowed_deviation",
            "not negative",
        ),
        (
            '[[station]]\nname = "a"\nurl = "tcp:h:1"\ntables = "Table1"\n',
            4,
            "station[1].tables",
            '"all" or a list',
        ),
        (
            '[defaults]\nurl = "tcp:h:1"\n[[station]]\nname = "a"\n',
            2,
            "defaults.url",
            "each [[station]]",
        ),
        (
            '[[station]]\nname = "a"\nurl = "tcp:h:1"\nsecurity_code = true\n',
            4,
            "station[1].security_code",
            "integer",
        ),
        (
            '[[station]]\nname = "a"\nurl = "tcp:h:1"\nretry = false\n',
            4,
            "station[1].retry",
            "primary_retries = 0",
        ),
    ],
)
def test_bad_values_name_file_line_and_key(text: str, line: int, key: str, words: str) -> None:
    msg = error(text)
    assert msg.startswith(f"stations.toml, line {line}, key {key}:"), msg
    assert words in msg


def test_no_stations_is_an_error() -> None:
    assert "no stations" in error("[defaults]\ninterval = 60\n")


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such stations file"):
        load_stations(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe[[station]]")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_stations(bad)


def test_locator_counts_array_tables_and_nested_arrays() -> None:
    text = (
        '[[station]]\nname = "a"\n[[station.sinks]]\nkind = "x"\n[[station.sinks]]\n'
        'kind = "y"\n[[station]]\nname = "b"\n[station.retry]\n"quoted key" = 1\n'
        "a.b = 2\n"
    )
    loc = KeyLocator(text)
    assert loc.line(("station", 0, "sinks", 1, "kind")) == 6
    assert loc.line(("station", 0, "sinks", 0, "kind")) == 4
    assert loc.line(("station", 1, "name")) == 8
    assert loc.line(("station", 1, "retry", "quoted key")) == 10
    assert loc.line(("station", 1, "retry", "a", "b")) == 11
    assert loc.line(("station", 1, "retry", "missing")) == 9
    assert loc.line(("nowhere",)) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (30, 30.0),
        (1.5, 1.5),
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h30m", 5400.0),
        ("2d", 172800.0),
        ("500ms", 0.5),
        ("1H 5M", 3900.0),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5", "m", "5 minutes", "-5s", True, None, [], float("nan")])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@given(st.integers(min_value=1, max_value=10**7))
def test_format_duration_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.text(max_size=200))
def test_arbitrary_text_gives_config_error_or_a_file(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_stations(text)


def test_the_documented_example_parses() -> None:
    from fieldlink.collect import config

    example = Path(config.__file__).with_name("example_stations.toml")
    cfg = load_stations(example)
    ridge, valley = cfg.stations
    assert ridge.clock == ClockPolicy(5.0, True) and valley.clock == ClockPolicy(5.0, False)
    assert valley.retry == RetryPolicy(3, 30.0, 6 * 3600.0)
    assert valley.first_collection == FirstCollection(500)
    assert [s.kind for s in ridge.sinks] == ["sqlite", "toa5"]
    assert ridge.sinks[1].path == example.parent / "data/toa5/ridge"


def test_clock_max_step_is_a_duration_and_defaults_to_five_minutes() -> None:
    base = '[[station]]\nname = "a"\nurl = "tcp:h:1"\n'
    assert parse_stations(base).stations[0].clock == ClockPolicy(max_step=300.0)
    cfg = parse_stations(base + 'clock = {set = true, max_step = "2m"}\n')
    assert cfg.stations[0].clock == ClockPolicy(set_clock=True, max_step=120.0)
    assert parse_stations(base + "clock = {max_step = 0}\n").stations[0].clock == ClockPolicy(
        max_step=0.0
    )
    with pytest.raises(ConfigError, match="max_step"):
        parse_stations(base + 'clock = {max_step = "soon"}\n')
