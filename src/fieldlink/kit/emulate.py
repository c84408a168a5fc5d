"""``fieldlink emulate KIND``: what every emulator command shares.

Each family's emulator command takes the host's options (:func:`host_options`),
builds its :class:`~fieldlink.kit.host.EmulatorHost` (or several, one per unit) and
calls :func:`serve_until_stopped`.  The contract scripts and tests rely on: the URL
(or device path) is the FIRST line on stdout, one line per unit, flushed at once;
everything else goes to stderr; SIGINT or SIGTERM stops it with status 0; a bad
option value is one line on stderr with status 2.

The host, the faults and asyncio are imported when an emulator starts, not when its
command is declared: ``fieldlink emulate KIND --help`` stays quick.
"""

from __future__ import annotations

import functools
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from fieldlink.errors import UsageError
from fieldlink.kit.commands import value_option

if TYPE_CHECKING:
    from fieldlink.kit.host import EmulatorHost

__all__ = ["HostOptions", "host_options", "serve_until_stopped", "whole"]

F = TypeVar("F", bound=Callable[..., Any])


def whole(value: str | None, option: str, lo: int, hi: int | None = None) -> int | None:
    """``value`` as a whole number within lo..hi, or a UsageError naming ``option``."""
    if value is None:
        return None
    try:
        number = int(value, 0)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a whole number") from None
    if number < lo or (hi is not None and number > hi):
        span = f"{lo}..{hi}" if hi is not None else f"{lo} or more"
        raise UsageError(f"{option} must be {span}, not {number}")
    return number


class HostOptions:
    """The host options of one emulator command, checked: pass ``**opts.host_kwargs()``."""

    def __init__(
        self, listen: str, pty: bool, baud: str | None, faults: str | None, seed: str
    ) -> None:
        from fieldlink.kit.faults import Faults
        from fieldlink.kit.host import parse_listen

        parse_listen(listen)
        self.listen = listen
        self.pty = pty
        self.baud = whole(baud, "--baud", 1, 10_000_000)
        self.faults = Faults.parse(faults) if faults else None
        self.seed = whole(seed, "--seed", -(2**63), 2**63) or 0

    def host_kwargs(self) -> dict[str, Any]:
        return {
            "listen": self.listen,
            "pty": self.pty,
            "baud": self.baud,
            "faults": self.faults,
            "seed": self.seed,
        }


def host_options(
    default_listen: str = "127.0.0.1:0", *, pty_default: bool = False
) -> Callable[[F], F]:
    """Click options --listen, --pty, --baud, --faults and --seed, gathered into one
    ``host`` parameter (a :class:`HostOptions`)."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def gathered(*args: Any, **kwargs: Any) -> Any:
            names = ("listen", "pty", "baud", "faults", "seed")
            kwargs["host"] = HostOptions(*(kwargs.pop(name) for name in names))
            return command(*args, **kwargs)

        options = [
            click.option(
                "--listen",
                default=default_listen,
                show_default=True,
                metavar="HOST:PORT",
                help="TCP address to serve on; port 0 picks a free one.",
            ),
            click.option(
                "--pty/--tcp",
                default=pty_default,
                show_default=True,
                help="Serve on a pseudo-terminal (a serial device path) or on TCP.",
            ),
            value_option("--baud", "N", "Pace the stream to this serial line rate (bits/s)."),
            value_option(
                "--faults", "SPEC", "e.g. drop=0.05,corrupt=0.01,delay=0.2,disconnect-after=50000"
            ),
            click.option(
                "--seed",
                default="0",
                show_default=True,
                metavar="N",
                help="Seed for values and faults (same seed, same data).",
            ),
        ]
        wrapped: Any = gathered
        for option in reversed(options):
            wrapped = option(wrapped)
        return wrapped  # type: ignore[no-any-return]

    return decorate


def serve_until_stopped(
    make_hosts: Callable[[], Sequence[EmulatorHost]], *, logger: str = "fieldlink"
) -> None:
    """Build the hosts, print each URL on its own stdout line, serve until a signal.

    ``make_hosts`` runs after the signal handlers are in place, so a script that
    signals at once still gets a clean exit.  At the default level the log says what
    is served and one line per connection; ``-v`` adds every message in and out.
    """
    import asyncio

    for sig in (signal.SIGINT, signal.SIGTERM):  # stopped while starting: still a clean exit
        signal.signal(sig, _stop_while_starting)
    _log_level(logger)
    hosts = make_hosts()
    asyncio.run(_serve(hosts))


def _stop_while_starting(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _log_level(name: str) -> None:
    context = click.get_current_context(silent=True)
    verbose = 0
    if context is not None:
        verbose = int(context.find_root().params.get("verbose") or 0)
    level = logging.DEBUG if verbose else logging.INFO
    for logger in {name, "fieldlink.emulator"}:
        logging.getLogger(logger).setLevel(level)


async def _serve(hosts: Sequence[EmulatorHost]) -> None:
    import asyncio

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before the URL: a script may signal at once
        loop.add_signal_handler(sig, stop.set)
    started: list[EmulatorHost] = []
    try:
        for host in hosts:
            url = await host.start()
            started.append(host)
            sys.stdout.write(url + "\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        logging.getLogger("fieldlink.emulator").info("stopping")
        for host in started:
            await host.stop()
