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


def test_verbose_works_after_the_subcommand_too() -> None:
    from fieldlink.cli import hoist_verbose

    assert hoist_verbose(["logger", "gettime", "tcp:h:1", "-vv"]) == [
        "-vv", "logger", "gettime", "tcp:h:1",
    ]  # fmt: skip
    assert hoist_verbose(["-v", "logger", "ping", "--verbose", "U"]) == [
        "-v", "--verbose", "logger", "ping", "U",
    ]  # fmt: skip
    assert hoist_verbose(["logger", "setvalue", "U", "P", "X", "--", "-v"])[-1] == "-v"
    assert hoist_verbose(["logger", "gettime", "-vx"]) == ["logger", "gettime", "-vx"]
    # Run for real: the debug log of the link shows, which only -vv turns on.
    from fieldlink.pakbus.emulator import LoggerEmulator

    with LoggerEmulator(records=5, listen="127.0.0.1:0").running() as emu:
        quiet = run("logger", "gettime", emu.url or "")
        loud = run("logger", "gettime", emu.url or "", "-vv")
    assert quiet.returncode == loud.returncode == 0, loud.stderr
    assert quiet.stderr == "" and " DEBUG fieldlink." in loud.stderr


def test_shell_completion_as_documented() -> None:
    """The README's completion line: eval "$(_FIELDLINK_COMPLETE=bash_source fieldlink)"."""
    import os

    env = {**os.environ, "_FIELDLINK_COMPLETE": "bash_source"}
    source = subprocess.run(
        [sys.executable, "-m", "fieldlink"], env=env, capture_output=True, text=True, timeout=60
    )
    assert source.returncode == 0 and "_fieldlink_completion()" in source.stdout
    env |= {"_FIELDLINK_COMPLETE": "bash_complete", "COMP_WORDS": "fieldlink logger sync",
            "COMP_CWORD": "2"}  # fmt: skip
    words = subprocess.run(
        [sys.executable, "-m", "fieldlink"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "plain,sync-clock" in words.stdout.splitlines()
