"""The emulated logger's drives (CPU:, USR:, CRD:) and the files on them.

Files are bytes with a modification time and a few attributes; a drive has a fixed
capacity so that File Send can run out of space (RespCode 2).  The ``.DIR`` listing
is built from this state on demand (:mod:`fieldlink.pakbus.protocol.directory` writes the
bytes); which file runs, or runs on power-up, is the program state's business and is
passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from fieldlink.pakbus.protocol.directory import DirEntry

__all__ = ["MAX_NAME", "FileStore", "StoredFile", "split_device"]

#: Longest file name, device included (BMP5 §7.1: ASCIIZ [0..64]).
MAX_NAME = 64

_ATTR_RUNNING = 1
_ATTR_POWER_UP = 2
_ATTR_READ_ONLY = 3
_ATTR_HIDDEN = 4
_ATTR_PAUSED = 5


@dataclass(slots=True)
class StoredFile:
    name: str
    data: bytes
    #: Last change, as the logger prints it: ``YYYY-MM-DD HH:MM:SS``.
    modified: str
    hidden: bool = False
    read_only: bool = False


def split_device(name: str) -> tuple[str, str] | None:
    """``"CPU:prog.CR1"`` -> ``("CPU:", "prog.CR1")``; None if there is no device prefix."""
    head, colon, rest = name.partition(":")
    if not colon or not head or not head.isalnum():
        return None
    return head.upper() + ":", rest


class FileStore:
    """Drives with capacities, and the files on them (names keep their case)."""

    def __init__(self, drives: dict[str, int]) -> None:
        self.drives = dict(drives)
        self.files: dict[str, StoredFile] = {}

    def normalise(self, name: str) -> str | None:
        """The canonical name (device upper-case), or None if no such drive/invalid name."""
        parts = split_device(name)
        if parts is None or parts[0] not in self.drives or not parts[1]:
            return None
        full = parts[0] + parts[1]
        if len(full) > MAX_NAME or "\x00" in full or "/" in parts[1] or "\\" in parts[1]:
            return None
        return full

    def used(self, drive: str) -> int:
        return sum(len(f.data) for n, f in self.files.items() if n.startswith(drive))

    def free(self, drive: str) -> int:
        return max(0, self.drives.get(drive, 0) - self.used(drive))

    def get(self, name: str) -> StoredFile | None:
        full = self.normalise(name)
        return None if full is None else self.files.get(full)

    def fits(self, name: str, size: int) -> bool:
        """Whether a file of ``size`` bytes can be stored as ``name`` (replacing it)."""
        full = self.normalise(name)
        if full is None:
            return False
        drive = full.split(":", 1)[0] + ":"
        old = self.files.get(full)
        return size <= self.free(drive) + (len(old.data) if old else 0)

    def write(self, name: str, data: bytes, modified: str) -> StoredFile:
        full = self.normalise(name)
        if full is None:
            raise KeyError(name)
        stored = StoredFile(full, bytes(data), modified)
        self.files[full] = stored
        return stored

    def delete(self, name: str) -> bool:
        full = self.normalise(name)
        return full is not None and self.files.pop(full, None) is not None

    def format(self, drive: str) -> None:
        for name in [n for n in self.files if n.startswith(drive)]:
            del self.files[name]

    def entries(
        self, *, running: str = "", power_up: str = "", paused: bool = False
    ) -> list[DirEntry]:
        """The ``.DIR`` listing: each drive (its free bytes) followed by its visible files."""
        out: list[DirEntry] = []
        for drive in self.drives:
            out.append(DirEntry(drive, self.free(drive)))
            for name, f in self.files.items():
                if not name.startswith(drive) or f.hidden:
                    continue
                attributes = []
                if name == running:
                    attributes.append(_ATTR_PAUSED if paused else _ATTR_RUNNING)
                if name == power_up:
                    attributes.append(_ATTR_POWER_UP)
                if f.read_only:
                    attributes.append(_ATTR_READ_ONLY)
                out.append(DirEntry(name, len(f.data), f.modified, tuple(attributes)))
        return out
