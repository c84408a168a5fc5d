"""Reading a user's text file (settings, a scene): one error for every way it can fail.

A file that is missing, unreadable or not UTF-8 is a :class:`ConfigError` naming the
file and what it was for; a document that is not valid JSON or TOML is one naming the
file, line and column as the stations file does (``stations.toml, line 3, column 7:``).
The CLI then prints one line instead of a traceback.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, Final

from fieldlink.errors import ConfigError

__all__ = ["parse_json", "parse_toml", "read_text", "read_toml"]

#: Where tomllib puts the position in its message: "Invalid value (at line 3, column 7)".
_TOML_POSITION: Final = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$")


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of ``path``, ``what`` naming it in the error (``"settings"``)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {what} is not UTF-8 text (byte {exc.start})") from exc


def parse_json(text: str, source: str | Path) -> Any:
    """The JSON document ``text``; ``source`` (a file name) starts the error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ConfigError(f"{source}, {where}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid JSON: nested too deeply") from None


def parse_toml(text: str, source: str | Path) -> dict[str, Any]:
    """The TOML document ``text``; ``source`` (a file name) starts the error."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        if m := _TOML_POSITION.match(message):
            where = f"line {m.group(2)}, column {m.group(3)}"
            raise ConfigError(f"{source}, {where}: not valid TOML: {m.group(1)}") from None
        raise ConfigError(f"{source}: not valid TOML: {message}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid TOML: nested too deeply") from None


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The TOML file ``path`` (:func:`read_text`, then :func:`parse_toml`)."""
    return parse_toml(read_text(path, what), path)
