"""``fieldlink logger ...`` and ``fieldlink emulate logger`` (filled in by later issues)."""

from __future__ import annotations

import click


@click.group(name="logger")
def logger_group() -> None:
    """Campbell Scientific PakBus dataloggers (CR1000 family)."""


def mount(root: click.Group, emulate: click.Group) -> None:
    root.add_command(logger_group)
