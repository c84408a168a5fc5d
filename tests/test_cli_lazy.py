"""The root command imports a family only when its command is used (start-up)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

SRC = str(Path(__file__).resolve().parent.parent / "src")

#: Run ``fieldlink ARGS...`` in a fresh interpreter, then print every module it imported.
_RUN_AND_LIST = (
    "import sys\n"
    "from fieldlink.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(' '.join(sorted(sys.modules)))\n"
)


def imported(*args: str) -> set[str]:
    """The modules ``fieldlink ARGS...`` imports (the CLI entry, in its own process)."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.splitlines()[-1].split())


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


#: Modules no ``--help`` may load: each family's client and codec session, the link
#: layer, the stores, the collector's engine, asyncio and the heavy third-party
#: libraries.  A command imports what it needs when its body runs; these cost from a
#: few to a hundred milliseconds each, and together made ``fieldlink logger getdata
#: --help`` take half a second.
_NOT_FOR_HELP = (
    "asyncio",
    "rich",
    "sqlite3",
    "serial",
    "pymodbus",
    "numpy",
    "matplotlib",
    "fieldlink.store",
    "fieldlink.link.sync",
    "fieldlink.link.aio",
    "fieldlink.kit.client",
    "fieldlink.kit.host",
    "fieldlink.collect.engine",
    "fieldlink.collect.config",
    "fieldlink.pakbus.client",
    "fieldlink.pakbus.session",
    "fieldlink.pakbus.protocol.messages",
    "fieldlink.pakbus.emulator.server",
    "fieldlink.pakbus.output",
    "fieldlink.tdr100.client",
    "fieldlink.tracer.client",
    "fieldlink.tracer.session",
    "fieldlink.batlab.client",
    "fieldlink.batlab.workflow",
)


@pytest.mark.parametrize(
    "args",
    [
        "--help",
        "logger --help",
        "logger getdata --help",
        "logger update --help",
        "tdr100 --help",
        "tdr100 measure --help",
        "tracer --help",
        "tracer log --help",
        "batlab --help",
        "batlab cycle --help",
        "collect --help",
        "fleet status --help",
        "demo --help",
        "emulate logger --help",
        "emulate tdr100 --help",
        "emulate tracer --help",
        "emulate batlab --help",
    ],
)
def test_a_commands_help_imports_no_client_store_or_asyncio(args: str) -> None:
    """``fieldlink ... --help`` shows the options without loading what the command uses
    (an eager import in a family's ``cli`` module, or in a package ``__init__`` it
    reaches, fails here)."""
    loaded = imported(*args.split())
    assert "fieldlink.cli" in loaded
    heavy = sorted(m for m in loaded if m.startswith(_NOT_FOR_HELP))
    assert heavy == [], f"fieldlink {args} imported {heavy}"


#: What a blocking one-shot command has no use for: asyncio (and the asyncio links),
#: the stores and the collector, rich, statistics (only sync-clock needs it) and the
#: conversations of other commands (settings, programs).
_NOT_FOR_ONE_SHOT = (
    "asyncio",
    "rich",
    "sqlite3",
    "statistics",
    "fieldlink.link.aio",
    "fieldlink.store",
    "fieldlink.collect",
    "fieldlink.pakbus.operations.devconfig",
    "fieldlink.pakbus.operations.programs",
)


def test_a_blocking_logger_command_loads_no_asyncio_store_or_rich() -> None:
    """``fieldlink logger gettime URL``, run for real against the emulator: the
    blocking client loads its codec and link, not what the asyncio twin, the
    collector or other commands need."""
    from fieldlink.pakbus.emulator import spawn_logger_emulator

    with spawn_logger_emulator("--records", "1", stderr=subprocess.DEVNULL) as emulator:
        loaded = imported("logger", "gettime", emulator.url)
    assert {"fieldlink.pakbus.client", "fieldlink.pakbus.operations.clock"} <= loaded
    heavy = sorted(m for m in loaded if m.startswith(_NOT_FOR_ONE_SHOT))
    assert heavy == [], f"fieldlink logger gettime imported {heavy}"


@pytest.mark.parametrize("client", ["pakbus", "tdr100", "batlab"])
def test_a_blocking_client_does_not_load_asyncio(client: str) -> None:
    """The families whose link is ours: asyncio comes with the asyncio twin only."""
    code = f"import sys, fieldlink.{client}.client; print('asyncio' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "False"
