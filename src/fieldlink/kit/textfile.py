"""Reading a user's text file (settings, a scene): one error for every way it can fail.

A file that is missing, unreadable or not UTF-8 is a :class:`ConfigError` naming the
file and what it was for, so the CLI prints one line instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path

from fieldlink.errors import ConfigError

__all__ = ["read_text"]


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of ``path``, ``what`` naming it in the error (``"settings"``)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {what} is not UTF-8 text (byte {exc.start})") from exc
