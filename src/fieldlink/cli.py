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

    ``fieldlink --help`` lists every command from :data:`LAZY_COMMANDS` without
    importing any family (start-up stays at click's own cost); ``fieldlink logger ...``
    imports the PakBus family only, not the collector, asyncio servers or rich.
    """

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Command name -> its one-line help, for commands a mount adds on first use.
        self.lazy = lazy if lazy is not None else {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            _mount(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            loaded = self.commands.get(name)
            if loaded is not None and loaded.hidden:
                continue
            text = loaded.get_short_help_str(formatter.width) if loaded else self.lazy[name]
            rows.append((name, text))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    lazy={
        "collect": "Collect every station in STATIONS.toml, concurrently and resumably.",
        "demo": "Collect an emulated field station into TOA5 files and a SQLite database.",
        "logger": "Campbell Scientific PakBus dataloggers (CR1000, CR800, CR3000, CR6...).",
    },
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
    Collection:
      fieldlink collect STATIONS.toml   keep many stations' data on disk, resumably
    Emulators:
      fieldlink emulate logger          a virtual CR1000-family datalogger

    Run "fieldlink COMMAND --help" for the options of each.
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@cli.group(
    cls=LazyGroup,
    lazy={"logger": "Emulate a Campbell Scientific CR1000-family datalogger (PakBus)."},
)
def emulate() -> None:
    """Run a virtual instrument until interrupted.

    The first line printed on stdout is the URL a client uses to reach it; logs
    go to stderr.
    """


def _mount(name: str | None = None) -> None:
    """Attach the family that provides command ``name`` (of the root or ``emulate``),
    importing only that family; every family when ``name`` is None.  Import errors
    here are bugs, not user errors."""
    if name in (None, "logger"):
        from fieldlink.pakbus import cli as pakbus_cli

        pakbus_cli.mount(cli, emulate)
    if name in (None, "collect"):
        from fieldlink.collect.cli import collect_command

        cli.add_command(collect_command)
    if name in (None, "demo"):
        from fieldlink.demo import demo_command

        cli.add_command(demo_command)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        cli.main(args=argv, prog_name="fieldlink", standalone_mode=False)
    except click.exceptions.Abort:
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
