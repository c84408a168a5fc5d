"""The ``fieldlink`` command: a root group that mounts each instrument family.

Every family contributes a command group (``fieldlink logger ...``) and an
emulator command (``fieldlink emulate logger``).  Errors that fieldlink raises on
purpose become one line on stderr and a non-zero exit status (2 for usage, 1 for
device and link faults); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import sys

import click

from fieldlink import __version__
from fieldlink.errors import FieldlinkError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fieldlink")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
def cli(verbose: int) -> None:
    """Talk to the instruments of a field station, or emulate them.

    \b
    Families:
      logger    Campbell Scientific PakBus dataloggers (CR1000, CR800, CR3000, CR6 ...)
    Emulators:
      fieldlink emulate logger      a virtual CR1000-family datalogger
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@cli.group()
def emulate() -> None:
    """Run a virtual instrument until interrupted.

    The first line printed on stdout is the URL a client uses to reach it; logs
    go to stderr.
    """


def _mount() -> None:
    """Attach each family's commands.  Import errors here are bugs, not user errors."""
    from fieldlink.collect.cli import collect_command
    from fieldlink.demo import demo_command
    from fieldlink.pakbus import cli as pakbus_cli

    pakbus_cli.mount(cli, emulate)
    cli.add_command(collect_command)
    cli.add_command(demo_command)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    _mount()
    try:
        cli.main(args=argv, prog_name="fieldlink", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("fieldlink: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except FieldlinkError as exc:
        click.echo(f"fieldlink: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
