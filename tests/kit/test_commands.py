"""kit.commands option helpers: what a command receives, and what --help shows."""

from __future__ import annotations

import click
from click.testing import CliRunner

from fieldlink.kit.commands import value_option


def test_a_value_option_is_none_unless_given_and_then_typed() -> None:
    seen: list[object] = []

    @click.command()
    @value_option("--temperature", "DEGC", "Soil temperature.", type=float)
    @value_option("--channel", "PATH", "Multiplexer path.")
    def command(temperature: float | None, channel: str | None) -> None:
        seen.append((temperature, channel))

    runner = CliRunner()
    assert runner.invoke(command, []).exit_code == 0
    assert runner.invoke(command, ["--temperature", "21.5", "--channel", "1.3"]).exit_code == 0
    assert seen == [(None, None), (21.5, "1.3")]
    shown = runner.invoke(command, ["--help"]).output
    assert "--temperature DEGC  Soil temperature." in shown
    assert "--channel PATH" in shown and "default" not in shown
    assert runner.invoke(command, ["--temperature", "warm"]).exit_code == 2
