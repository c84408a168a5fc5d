"""Files a sink creates, replaces or appends to never follow a symlink out of its folder.

A sink folder may be shared, or writable by someone else; a symlink planted there as
``collection.log``, a ``.tmp`` or ``.part`` file, a data file or a database would make
fieldlink overwrite or append to whatever it points at (issue 13).  So:

- a file fieldlink creates is created exclusively (``O_EXCL``, which never follows a
  link) -- a temporary file by :func:`tempfile.mkstemp` in the target's folder;
- a file fieldlink appends to is opened with ``O_NOFOLLOW``: a link there is refused;
- an existing data file or database may be a link only to a file inside the sink
  folder (someone's tidy-up); a link out of it is refused with a clear StoreError.

Linux and macOS have ``O_NOFOLLOW``; elsewhere the flag is 0 and the explicit
``is_symlink`` checks still refuse what is planted beforehand.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from fieldlink.errors import StoreError

O_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
O_CLOEXEC: int = getattr(os, "O_CLOEXEC", 0)
O_BINARY: int = getattr(os, "O_BINARY", 0)


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def _link_refused(path: Path, what: str = "") -> StoreError:
    return StoreError(
        f"{path} is a symbolic link{what}; fieldlink does not write through links "
        "out of its folder — remove it"
    )


def open_append(path: Path) -> int:
    """A descriptor for reading and appending ``path`` (created if missing), never a link."""
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_BINARY
    if path.is_symlink():
        raise _link_refused(path)
    try:
        return os.open(path, flags, 0o644)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _link_refused(path) from e
        raise StoreError(f"cannot write {path}: {_reason(e)}") from e


def create_new(path: Path) -> int:
    """A write descriptor for a fresh ``path``: what was there (file or link) is removed
    first, and the new file is created exclusively, so a link planted meanwhile fails."""
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_BINARY, 0o644
        )
    except OSError as e:
        raise StoreError(f"cannot write {path}: {_reason(e)}") from e


def temp_beside(path: Path) -> tuple[int, Path]:
    """A new temporary file in ``path``'s folder (``mkstemp``: exclusive, unguessable)."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise StoreError(f"cannot write {path}: {_reason(e)}") from e
    return fd, Path(name)


def inside(path: Path, folder: Path) -> Path:
    """``path`` itself, or where its link points if that is inside ``folder``.

    A symlink to anywhere outside ``folder`` (resolved, so ``..`` and links of links
    count) is a StoreError.  The returned path is not a link and may be opened with
    ``O_NOFOLLOW``, which closes the race of a link swapped in after this check.
    """
    if not path.is_symlink():
        return path
    real = Path(os.path.realpath(path))
    home = Path(os.path.realpath(folder))
    if real != home and home not in real.parents:
        raise _link_refused(path, f" to {real}, outside {home}")
    return real


def open_existing(path: Path, folder: Path) -> int:
    """A read-write descriptor for an existing data file of the sink folder ``folder``."""
    real = inside(path, folder)
    try:
        return os.open(real, os.O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_BINARY)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _link_refused(path) from e
        raise StoreError(f"cannot open {path}: {_reason(e)}") from e


class TornWrite(Exception):
    """An append that failed: ``cause`` why, ``undo`` why the file could not be cut back
    to where it ended (None when it was)."""

    def __init__(self, cause: OSError, undo: OSError | None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.undo = undo


def append_at(file: BinaryIO, end: int, data: bytes) -> int:
    """Write ``data`` at ``end`` of ``file`` and fsync it; return the new end.

    Nothing half-written stays: on failure the file is cut back to ``end`` and
    :class:`TornWrite` raised, so a data file always ends with whole records and its
    tail recovery never meets a torn line written by us.
    """
    try:
        file.seek(end)
        view = memoryview(data)
        while view:
            n = file.write(view)
            if not n:
                raise OSError(0, "write returned no progress")
            view = view[n:]
        os.fsync(file.fileno())
    except OSError as e:
        try:
            file.truncate(end)
        except OSError as undo:
            raise TornWrite(e, undo) from e
        raise TornWrite(e, None) from e
    return end + len(data)


__all__ = [
    "TornWrite",
    "append_at",
    "create_new",
    "inside",
    "open_append",
    "open_existing",
    "temp_beside",
]
