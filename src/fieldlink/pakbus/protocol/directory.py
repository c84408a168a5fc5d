"""The ``.DIR`` directory file a logger returns for File Receive of ``.DIR`` (reference §7.3).

Clients list files with it; the emulator builds it from its file system.  Entries whose
name ends with ``:`` are *devices* (``CPU:``, ``CRD:``, ``USR:``): in version 1 their
size field carries a UInt4 (the free bytes, INFERRED) and in version 2 an IEEE4 free
space instead.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from fieldlink.pakbus.protocol.wire import Reader, Writer

__all__ = ["ATTRIBUTE_NAMES", "DirEntry", "build_dir", "parse_dir"]

#: Attribute codes of a directory entry (BMP5 §2.3.3.3).
ATTRIBUTE_NAMES = {
    1: "running now",
    2: "run on power-up",
    3: "read-only",
    4: "hidden",
    5: "paused",
}

_IEEE4 = struct.Struct(">f")
_WHAT = ".DIR directory"


@dataclass(frozen=True, slots=True)
class DirEntry:
    """One file or device of a logger's directory.

    ``free_space`` is set only for device entries of a version-2 directory (the IEEE4 in
    place of the size; ``size`` is then 0).  ``last_update`` is the logger's own
    ``YYYY-MM-DD HH:MM:SS`` text (empty for devices), kept as text because it is
    logger-local and sometimes blank.
    """

    name: str
    size: int
    last_update: str = ""
    attributes: tuple[int, ...] = ()
    free_space: float | None = None

    @property
    def is_device(self) -> bool:
        return self.name.endswith(":")


def parse_dir(data: bytes) -> tuple[int, tuple[DirEntry, ...]]:
    """Parse a ``.DIR`` file into (DirVersion, entries).

    The list ends at the end of the data or at an empty file name (the manual allows
    both); anything after an empty name is ignored.
    """
    r = Reader(data, _WHAT)
    version = r.u8("DirVersion")
    if version not in (1, 2):
        raise r.error(f"unsupported .DIR version {version}", 0)
    entries = []
    while not r.at_end():
        name = r.text("FileName")
        if not name:
            break
        free_space: float | None = None
        if version >= 2 and name.endswith(":"):
            free_space = float(_IEEE4.unpack(r.take(4, "free space"))[0])
            size = 0
        else:
            size = r.u32("FileSize")
        last_update = r.text("LastUpdate")
        attributes = []
        while (attribute := r.u8("Attribute")) != 0:
            attributes.append(attribute)
        entries.append(DirEntry(name, size, last_update, tuple(attributes), free_space))
    return version, tuple(entries)


def build_dir(version: int, entries: Iterable[DirEntry]) -> bytes:
    """A ``.DIR`` file; the list ends at the end of the data, as a CR1000 writes it.

    For a device entry of version 2 the IEEE4 written is ``free_space`` (or ``size``
    when ``free_space`` is None).
    """
    if version not in (1, 2):
        raise ValueError(f"unsupported .DIR version {version}")
    w = Writer().u8(version)
    for e in entries:
        if not e.name:
            raise ValueError("a directory entry needs a name")
        w.asciiz(e.name)
        if version >= 2 and e.is_device:
            space = e.free_space if e.free_space is not None else float(e.size)
            try:
                w.raw(_IEEE4.pack(space))
            except OverflowError:
                raise ValueError(f"{e.name}: free space {space} does not fit an IEEE4") from None
        else:
            if not 0 <= e.size < 2**32:
                raise ValueError(f"{e.name}: size {e.size} does not fit a UInt4")
            w.u32(e.size)
        w.asciiz(e.last_update)
        for attribute in e.attributes:
            if not 1 <= attribute <= 0xFF:
                raise ValueError(f"{e.name}: attribute {attribute} is not a non-zero byte")
            w.u8(attribute)
        w.u8(0)
    return w.bytes()
