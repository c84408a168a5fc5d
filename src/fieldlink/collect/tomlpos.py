"""Where a key sits in a TOML file, so a bad value can be reported by line.

``tomllib`` gives positions only for syntax errors; once a document parses, the
values carry no trace of where they came from.  A person fixing a stations file
needs "line 14, key ``retry.primary_interval``", so this module scans the text
once for table headers and ``key =`` lines and maps each dotted key path (array
tables counted as indices, e.g. ``("station", 2, "retry")``) to its line.

It is a locator, not a parser: multi-line strings or arrays that happen to
contain ``name =`` lines could confuse it, and then the worst outcome is a
message naming the nearest enclosing key's line instead of the exact one.
"""

from __future__ import annotations

import re

#: A key path: table and key names, with the 0-based index of an array-of-tables entry.
KeyPath = tuple[str | int, ...]

_BARE = r"[A-Za-z0-9_-]+"
_BASIC = r'"(?:[^"\\]|\\.)*"'
_LITERAL = r"'[^']*'"
_SIMPLE = rf"(?:{_BARE}|{_BASIC}|{_LITERAL})"
_DOTTED = rf"{_SIMPLE}(?:\s*\.\s*{_SIMPLE})*"
_ARRAY_HEADER = re.compile(rf"^\s*\[\[\s*({_DOTTED})\s*\]\]")
_TABLE_HEADER = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]")
_KEY_LINE = re.compile(rf"^\s*({_DOTTED})\s*=")
_PART = re.compile(_SIMPLE)


def _split_dotted(text: str) -> list[str]:
    parts = []
    for match in _PART.finditer(text):
        part = match.group(0)
        if part[0] in "\"'":
            part = part[1:-1]
        parts.append(part)
    return parts


class KeyLocator:
    """Line numbers (1-based) of the headers and keys of one TOML document."""

    def __init__(self, text: str) -> None:
        self._lines: dict[KeyPath, int] = {}
        # How many entries each array of tables has so far, keyed by its full path.
        counts: dict[KeyPath, int] = {}
        current: KeyPath = ()
        for lineno, line in enumerate(text.splitlines(), start=1):
            if m := _ARRAY_HEADER.match(line):
                names = _split_dotted(m.group(1))
                base = (*self._resolve(names[:-1], counts), names[-1])
                index = counts.get(base, 0)
                counts[base] = index + 1
                current = (*base, index)
                self._lines.setdefault(base, lineno)
                self._lines[current] = lineno
            elif m := _TABLE_HEADER.match(line):
                current = self._resolve(_split_dotted(m.group(1)), counts)
                self._lines.setdefault(current, lineno)
            elif m := _KEY_LINE.match(line):
                path: KeyPath = (*current, *_split_dotted(m.group(1)))
                self._lines.setdefault(path, lineno)

    @staticmethod
    def _resolve(names: list[str], counts: dict[KeyPath, int]) -> KeyPath:
        """Insert the current index after every prefix that names an array of tables."""
        path: KeyPath = ()
        for name in names:
            path = (*path, name)
            if path in counts:
                path = (*path, counts[path] - 1)
        return path

    def line(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest enclosing key or table; None if unknown."""
        for end in range(len(path), 0, -1):
            found = self._lines.get(path[:end])
            if found is not None:
                return found
        return None
