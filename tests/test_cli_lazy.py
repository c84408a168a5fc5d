"""The root command imports a family only when its command is used (start-up)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

SRC = str(Path(__file__).resolve().parent.parent / "src")


def test_the_listed_help_is_each_commands_own() -> None:
    """``fieldlink --help`` shows the one-line helps of FAMILIES without importing the
    families: they must say what the commands themselves say."""
    from fieldlink.cli import _lazy_commands, _mount, cli, emulate

    root, emulators = _lazy_commands(emulators=False), _lazy_commands(emulators=True)
    _mount()
    for group, lazy in ((cli, root), (emulate, emulators)):
        mounted = {n for n in group.commands if n != "emulate"}
        assert mounted == set(lazy), group.name
        for name, text in lazy.items():
            command = group.commands[name]
            assert command.get_short_help_str(200) == click.Command(
                name, help=text
            ).get_short_help_str(200)


def test_help_and_a_family_command_import_only_what_they_need() -> None:
    code = (
        "import sys\n"
        "from fieldlink.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "wanted = ('fieldlink.', 'rich', 'numpy')\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(wanted))))\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}

    def imported(*args: str) -> set[str]:
        r = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=60
        )
        return set(r.stdout.splitlines()[-1].split())

    bare = imported("--help")
    assert not any(
        m.startswith(("fieldlink.pakbus", "fieldlink.collect", "rich", "numpy")) for m in bare
    )
    logger = imported("logger", "--help")
    assert "fieldlink.pakbus.cli" in logger
    assert not any(
        m.startswith(("fieldlink.collect.engine", "fieldlink.tracer", "numpy")) for m in logger
    )
    # a logger command leaves the emulator alone; `emulate logger` brings it
    assert not any(m.startswith("fieldlink.pakbus.emulator") for m in logger)
    assert "fieldlink.pakbus.emulator.cli" in imported("emulate", "logger", "--help")
