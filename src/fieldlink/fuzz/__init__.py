"""Fuzzing targets: every decoder of bytes from a device or a file, end to end.

A target is a function of one ``bytes`` that runs a decoder the way fieldlink uses
it -- a ``.TDF`` is parsed *and* its layouts compiled, its column names built and a
Collect Data response decoded with it into records -- and may raise nothing but a
:class:`~fieldlink.errors.FieldlinkError`.  Anything else is a bug, and so is an
input that takes unbounded time or memory.

The same targets run in three places: the hypothesis property tests of the suite
(``tests/fuzz``), the coverage-guided fuzzer (``python -m fieldlink.fuzz TARGET
--seconds N``, atheris if installed) and its fallback loop of random and mutated
bytes.  A family added beside PakBus registers its decoders in :data:`TARGETS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Target:
    """One decoder to fuzz: the function, what it covers, and seed inputs."""

    name: str
    run: Callable[[bytes], None]
    doc: str
    seeds: tuple[bytes, ...] = ()


_LOADED: dict[str, Target] = {}


def targets() -> dict[str, Target]:
    """Every target by name, importing the decoders on first use.

    Lazy so that the atheris runner can import the decoders under its coverage
    instrumentation (instrumenting everything already loaded takes a minute).
    """
    if not _LOADED:
        from fieldlink.fuzz import instruments, pakbus, store

        for module in (pakbus, store, instruments):
            for target in module.TARGETS:
                _LOADED[target.name] = target
    return _LOADED


def __getattr__(name: str) -> dict[str, Target]:
    if name == "TARGETS":  # every target by name (loaded on first access)
        return targets()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TARGETS", "Target", "targets"]
