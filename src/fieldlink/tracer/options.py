"""The command-line options that say which controller: shared by the client commands
(``fieldlink tracer ...``) and the emulator (``fieldlink emulate tracer``), so that
both sides of a link are spelled the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from fieldlink.kit.commands import choice_option

__all__ = ["controller_options"]

F = TypeVar("F", bound=Callable[..., Any])


def controller_options(command: F) -> F:
    """Add ``--protocol modbus|mt5``, ``--framing rtu|tcp`` and ``--unit ID``."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


_OPTIONS = (
    choice_option(
        "--protocol",
        ["modbus", "mt5"],
        "Controller generation: Modbus RTU (Tracer A/B/AN/BN) or MT-5.",
    ),
    choice_option(
        "--framing",
        ["rtu", "tcp"],
        "Modbus on TCP: RTU frames (as a serial server passes them) or Modbus/TCP.",
    ),
    click.option(
        "--unit",
        type=click.IntRange(1, 247),
        default=1,
        show_default=True,
        help="Modbus unit (slave) id.",
    ),
)
