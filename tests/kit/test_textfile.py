"""kit.textfile: every way a user's JSON or TOML file can be wrong is one ConfigError."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.errors import ConfigError
from fieldlink.kit.textfile import parse_json, parse_toml, read_text, read_toml


def test_a_toml_file_is_read_and_parsed(tmp_path: Path) -> None:
    f = tmp_path / "scene.toml"
    f.write_text('[cable]\nlength = 3.5\nname = "é"\n', encoding="utf-8")
    assert read_toml(f, "the scene") == {"cable": {"length": 3.5, "name": "é"}}


def test_bad_toml_names_the_file_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^s\.toml, line 2, column 5: not valid TOML: "):
        parse_toml("a = 1\nb = \n", "s.toml")
    f = tmp_path / "s.toml"
    f.write_text("a = = 1\n")
    with pytest.raises(ConfigError, match=r"s\.toml, line 1, column 5: not valid TOML"):
        read_toml(f, "the scene")


def test_bad_json_names_the_file_line_and_column() -> None:
    assert parse_json('{"a": [1, 2]}', "x.json") == {"a": [1, 2]}
    with pytest.raises(ConfigError, match=r"^x\.json, line 2, column 1: not valid JSON: "):
        parse_json('{"a": 1,\n}', "x.json")


def test_a_missing_or_binary_file_names_what_it_was_for(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"none\.toml: cannot read the scene"):
        read_toml(tmp_path / "none.toml", "the scene")
    f = tmp_path / "b.json"
    f.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ConfigError, match="settings is not UTF-8 text"):
        read_text(f, "settings")


@given(st.text(max_size=200))
def test_any_text_parses_or_is_a_config_error(text: str) -> None:
    for parse in (parse_json, parse_toml):
        with contextlib.suppress(ConfigError):
            parse(text, "t")


def test_nesting_too_deep_for_the_parser_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_json("[" * 100_000, "deep.json")
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_toml("a = " + "[" * 100_000, "deep.toml")
