"""The ``window`` station option: read from stations.toml, checked, handed to the
client, and ``fieldlink logger update --window`` stores what window 1 stores."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from collect_emulators import emulator, running

from fieldlink.cli import main
from fieldlink.collect.config import MAX_WINDOW, StationConfig, parse_stations
from fieldlink.collect.connect import connect_client
from fieldlink.errors import ConfigError
from fieldlink.pakbus.client import AsyncDatalogger
from fieldlink.pakbus.session import MAX_IN_FLIGHT

STATION = '[[station]]\nname = "a"\nurl = "tcp:h:1"\n'


def test_window_is_a_station_option_defaulting_to_one(tmp_path: Path) -> None:
    (plain,) = parse_stations(STATION, base_dir=tmp_path).stations
    (wide,) = parse_stations(STATION + "window = 8\n", base_dir=tmp_path).stations
    (dflt,) = parse_stations("[defaults]\nwindow = 3\n" + STATION, base_dir=tmp_path).stations
    assert (plain.window, wide.window, dflt.window) == (1, 8, 3)


@pytest.mark.parametrize("bad", ["0", "17", "-1", '"4"', "2.5", "true"])
def test_a_bad_window_names_its_key(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_stations(STATION + f"window = {bad}\n", source="stations.toml")
    assert "station[1].window" in str(info.value)


def test_the_bound_is_the_clients() -> None:
    assert MAX_WINDOW == MAX_IN_FLIGHT


def test_the_client_gets_the_stations_window(tmp_path: Path) -> None:
    with running([emulator(tmp_path, records=20)]) as (url,):

        async def window_of(station: StationConfig) -> int:
            async with connect_client(station) as logger:
                assert isinstance(logger, AsyncDatalogger)
                return logger.window

        for window in (1, 5):
            station = StationConfig(name="a", url=url, timeout=5.0, window=window)
            assert asyncio.run(window_of(station)) == window


def test_update_with_a_window_stores_what_window_one_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldlink.pakbus import operations

    asked: list[int] = []
    collect = operations.collect

    def spy(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["window"])
        return collect(*args, **kwargs)

    monkeypatch.setattr(operations, "collect", spy)
    with running([emulator(tmp_path, records=300)]) as (url,):
        stored = []
        for window in ("1", "6"):
            db = tmp_path / f"w{window}.sqlite"
            main(["logger", "update", url, "Small", str(db), "--window", window, "--progress=none"])
            with sqlite3.connect(db) as con:
                stored.append(con.execute(f'SELECT * FROM "w{window}_Small" ORDER BY 1').fetchall())
    assert len(stored[0]) == 300
    assert stored[0] == stored[1]
    assert set(asked) == {1, 6}, "update's --window reached the collection"
