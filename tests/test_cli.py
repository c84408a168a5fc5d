"""The root command: help, version, and how errors reach the user."""

from __future__ import annotations

import subprocess
import sys

import fieldlink


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fieldlink", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_families() -> None:
    r = run("--help")
    assert r.returncode == 0
    assert "logger" in r.stdout and "emulate" in r.stdout


def test_root_help_text_names_every_command_and_emulator() -> None:
    """The overview above "Commands:" is written by hand: it must not forget one."""
    from fieldlink.cli import _mount, cli, emulate

    _mount()
    r = run("--help")
    overview = r.stdout.split("Commands:")[0]
    for name in cli.commands:
        if name == "emulate":
            continue
        assert f"fieldlink {name} " in overview, name
    for name in emulate.commands:
        assert f"fieldlink emulate {name} " in overview, name


def test_version_matches_package() -> None:
    r = run("--version")
    assert r.returncode == 0
    assert fieldlink.__version__ in r.stdout


def test_unknown_command_is_usage_error() -> None:
    r = run("no-such-command")
    assert r.returncode == 2
    assert "no-such-command" in r.stderr
