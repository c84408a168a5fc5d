"""Passwords for network stores: from an environment variable or a file, never the stations file.

A stations file is copied between hosts, checked into git and pasted into bug
reports; a password written in it leaks with it.  So a DSN or broker URL that
carries a password is refused (:func:`clear_password`), and the password comes
from ``password_env`` (the name of an environment variable) or ``password_file``
(a file holding it on its first line, readable only by the collector's user),
or from what libpq itself reads (``PGPASSWORD``, ``~/.pgpass``) when neither is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from fieldlink.errors import ConfigError, StoreError

_KEYWORD_PASSWORD = re.compile(r"(?:^|\s)password\s*=", re.IGNORECASE)


def clear_password(dsn: str) -> bool:
    """Whether ``dsn`` (a URL or a libpq ``key=value`` string) spells out a password."""
    text = dsn.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.password:
            return True
        return any(k.lower() == "password" for k, _ in parse_qsl(parts.query))
    return bool(_KEYWORD_PASSWORD.search(text))


def redact(dsn: str) -> str:
    """The DSN with any password replaced by ``***``: fit for messages and logs."""
    text = dsn.strip()
    if "://" in text:
        parts = urlsplit(text)
        netloc = parts.netloc
        if parts.password is not None:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.split(':', 1)[0]}:***@{host}"
        query = re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", parts.query, flags=re.IGNORECASE)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return re.sub(r"(password\s*=\s*)(\S+)", r"\1***", text, flags=re.IGNORECASE)


def read_password(
    password_env: str | None, password_file: str | os.PathLike[str] | None, store: str
) -> str | None:
    """The password named by ``password_env`` or ``password_file``; None if neither is set.

    A variable that is not set or a file that cannot be read is a
    :class:`~fieldlink.errors.StoreError` naming ``store`` (the collector reports it
    as that station's failure, in one line).
    """
    if password_env:
        value = os.environ.get(password_env)
        if value is None:
            raise StoreError(f"{store}: environment variable {password_env} is not set")
        return value
    if password_file:
        path = Path(password_file).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise StoreError(
                f"{store}: cannot read password file {path}: {exc.strerror or exc}"
            ) from None
        lines = text.splitlines()
        return lines[0] if lines else ""
    return None


def with_password(dsn: str, password: str | None) -> str:
    """``dsn`` with ``password`` added (URL or keyword form); unchanged if None."""
    if password is None:
        return dsn
    text = dsn.strip()
    if "://" in text:
        parts = urlsplit(text)
        query = parts.query + ("&" if parts.query else "") + "password=" + quote(password, safe="")
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
    escaped = password.replace("\\", "\\\\").replace("'", "\\'")
    return f"{text} password='{escaped}'"


def resolve_dsn(options: Mapping[str, Any]) -> tuple[str, str]:
    """A PostgreSQL sink's DSN with its password, and its name for messages."""
    dsn = str(options.get("dsn", ""))
    name = f"PostgreSQL store {redact(dsn)}"
    password = read_password(options.get("password_env"), options.get("password_file"), name)
    return with_password(dsn, password), name


def check_no_clear_password(dsn: str, what: str) -> None:
    """Refuse a password written into the stations file (a :class:`ConfigError`)."""
    if clear_password(dsn):
        raise ConfigError(
            f"{what} {redact(dsn)} holds a password in clear: remove it and set "
            "password_env (an environment variable's name) or password_file instead"
        )


__all__ = [
    "check_no_clear_password",
    "clear_password",
    "read_password",
    "redact",
    "resolve_dsn",
    "with_password",
]
