"""The ``fieldlink`` command: a root group that mounts each instrument family.

Every family contributes a command group (``fieldlink logger ...``) and an
emulator command (``fieldlink emulate logger``).  Errors that fieldlink raises on
purpose -- and click's own usage errors -- become one line on stderr and a non-zero
exit status (2 for usage, 1 for device and link faults); anything else is a bug and
keeps its traceback.  A command may add notes to an error on its way out (what it
kept of a partial download); they are printed on the same line.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from fieldlink import __version__
from fieldlink.errors import FieldlinkError


class LazyGroup(click.Group):
    """A group whose families' commands are imported only when one of them is used.

    ``fieldlink --help`` lists every command from :data:`FAMILIES` without
    importing any family (start-up stays at click's own cost); ``fieldlink logger ...``
    imports the PakBus family only, not the collector, asyncio servers or rich.
    """

    def __init__(self, *args: Any, emulators: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.emulators = emulators  # the ``emulate`` group: mounts a family's emulator
        self._lazy: dict[str, str] | None = None

    @property
    def lazy(self) -> dict[str, str]:
        """Command name -> its one-line help, for commands a mount adds on first use."""
        if self._lazy is None:
            self._lazy = _lazy_commands(emulators=self.emulators)
        return self._lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            _mount(cmd_name, emulators=self.emulators)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click lists commands, but from the one-line helps of those not loaded."""
        names = [
            n for n in self.list_commands(ctx) if not getattr(self.commands.get(n), "hidden", False)
        ]
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            # a command not loaded is shortened as click would shorten its help
            command = self.commands.get(name) or click.Command(name, help=self.lazy[name])
            rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="fieldlink")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
def cli(verbose: int) -> None:
    """Talk to the instruments of a field station, or emulate them.

    \b
    Try it first:
      fieldlink demo                    collect an emulated station into TOA5 and SQLite
    Instruments:
      fieldlink logger COMMAND URL ...  Campbell PakBus dataloggers (CR1000, CR800, CR6 ...)
      fieldlink tdr100 COMMAND URL ...  Campbell TDR100 reflectometer: soil water, EC
      fieldlink tracer COMMAND URL ...  EPsolar/EPEVER Tracer solar charge controllers
      fieldlink batlab COMMAND ...      Lexcelon Batlab battery testers
    Collection:
      fieldlink collect STATIONS.toml   keep many stations' data on disk, resumably
      fieldlink fleet status STATIONS   several collectors sharing one PostgreSQL database
    Emulators (no hardware needed):
      fieldlink emulate logger          a virtual CR1000-family datalogger
      fieldlink emulate tdr100          a TDR100 with soil probes behind multiplexers
      fieldlink emulate tracer          a Tracer charge controller, panel and battery
      fieldlink emulate batlab          Batlab testers with four cells each

    Run "fieldlink COMMAND --help" for the options of each.
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@cli.group(cls=LazyGroup, emulators=True)
def emulate() -> None:
    """Run a virtual instrument until interrupted.

    The first line printed on stdout is the URL a client uses to reach it; logs
    go to stderr.
    """


#: The instrument families: package -> (the command its ``cli.mount(root, emulate)``
#: adds to the root and to ``emulate``, the one-line help of each).  ``fieldlink --help``
#: lists them from here without importing any family; a family is imported when its
#: command is used.  A family not in this build yet is left out.
FAMILIES: dict[str, tuple[str, str, str]] = {
    "pakbus": (
        "logger",
        "Campbell Scientific PakBus dataloggers (CR1000, CR800, CR3000, CR6 ...).",
        "Emulate a Campbell Scientific CR1000-family datalogger (PakBus).",
    ),
    "tdr100": (
        "tdr100",
        "Campbell Scientific TDR100 time-domain reflectometer (+ SDMX50 multiplexers).",
        "Emulate a TDR100 with SDMX50 multiplexers and soil probes.",
    ),
    "tracer": (
        "tracer",
        "EPsolar/EPEVER Tracer MPPT charge controllers (MT-5 and Modbus generations).",
        "An emulated EPsolar/EPEVER Tracer charge controller.",
    ),
    "batlab": (
        "batlab",
        "Lexcelon Batlab battery testers: registers, cells, test workflows, firmware.",
        "Emulate Batlab battery testers: one port per unit, its path/URL on its own line.",
    ),
}
#: Commands of the root that are not a family's.
_OTHERS = {
    "collect": "Collect every station in STATIONS.toml, concurrently and resumably.",
    "fleet": "Collectors sharing one PostgreSQL database (stations file sinks with fleet = true).",
    "demo": "Collect an emulated field station into TOA5 files and a SQLite database.",
}


def _present(family: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(f"fieldlink.{family}") is not None


def _lazy_commands(emulators: bool) -> dict[str, str]:
    """Command name -> one-line help of what the root (or ``emulate``) mounts on use."""
    out = {} if emulators else dict(_OTHERS)
    for family, (name, help_text, emulator_help) in FAMILIES.items():
        if _present(family):
            out[name] = emulator_help if emulators else help_text
    return out


def _mount(name: str | None = None, *, emulators: bool = True) -> None:
    """Attach what provides command ``name`` (of ``emulate`` too when ``emulators``),
    importing only that family; everything when ``name`` is None.  Import errors here
    are bugs, not user errors."""
    import importlib

    for family, (command, _, _) in FAMILIES.items():
        if name in (None, command) and _present(family):
            family_cli = importlib.import_module(f"fieldlink.{family}.cli")
            family_cli.mount(cli, emulate if emulators else None)
    if name in (None, "collect"):
        from fieldlink.collect.cli import collect_command

        cli.add_command(collect_command)
    if name in (None, "fleet"):
        from fieldlink.collect.fleet_cli import fleet_group

        cli.add_command(fleet_group)
    if name in (None, "demo"):
        from fieldlink.demo import demo_command

        cli.add_command(demo_command)


def hoist_verbose(argv: list[str]) -> list[str]:
    """``fieldlink logger gettime URL -v`` as ``fieldlink -v logger gettime URL``.

    ``-v``/``-vv``/``--verbose`` belong to the root command, but people type them
    after the subcommand too; no subcommand has a ``-v`` of its own, so they are moved
    to the front (never after a ``--``, where everything is an argument).
    """
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a == "--verbose" or (len(a) > 1 and a.strip("-v") == ""
             and a.startswith("-v"))]  # fmt: skip
    if not flags:
        return argv
    rest = [a for a in argv[:end] if a not in flags]
    return [*flags, *rest, *argv[end:]]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = hoist_verbose(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=args, prog_name="fieldlink", standalone_mode=False)
    except click.exceptions.Abort as exc:
        # Ctrl-C reaches us as click's Abort; the notes (what was kept) are on its cause.
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KeyboardInterrupt):
            click.echo(f"fieldlink: interrupted{_notes(cause)}", err=True)
        else:
            click.echo("fieldlink: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        if _is_help_request(exc):
            exc.show()  # a bare group: its help, as click shows it
        else:
            click.echo(f"fieldlink: error: {usage_message(exc)}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"fieldlink: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except FieldlinkError as exc:
        click.echo(f"fieldlink: error: {error_message(exc)}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        click.echo(f"fieldlink: interrupted{_notes(exc)}", err=True)
        sys.exit(130)
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(0)


def error_message(exc: BaseException) -> str:
    """The error on one line, with the notes a command added on its way out (what was kept)."""
    return " ".join(str(exc).split()) + _notes(exc)


def _notes(exc: BaseException) -> str:
    notes = [" ".join(str(n).split()) for n in getattr(exc, "__notes__", ())]
    notes = [n for n in notes if n]
    return f" ({'; '.join(notes)})" if notes else ""


def usage_message(exc: click.UsageError) -> str:
    """Click's usage error on one line, pointing at the command's help."""
    text = " ".join(exc.format_message().split())
    if exc.ctx is not None:
        text += f" (see '{exc.ctx.command_path} --help')"
    return text


def _is_help_request(exc: click.UsageError) -> bool:
    """A group called without a command: click (8.2+) answers with the group's help."""
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", None)
    return no_args is not None and isinstance(exc, no_args)


def _quiet_stdout() -> None:
    """The reader of our stdout went away (``| head``): drop what is still buffered
    instead of failing again when Python flushes it at exit."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
