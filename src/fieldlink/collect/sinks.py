"""One open sink per place, shared by every station that writes there.

Twenty stations usually share one SQLite database: opening it once keeps one
connection (the sinks serialise their own writes) instead of twenty competing
for the file lock.  Sinks open lazily, inside a station's cycle, so a folder
that cannot be created fails that station with a clear error rather than
stopping the collector before it starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from fieldlink.collect.config import SinkSpec, StationConfig
from fieldlink.store import Sink, open_sink

#: Opens a sink of a kind (``"sqlite"``, ``"toa5"``, ``"csv"``) at a path.
OpenSink = Callable[[str, Path], Sink]


class SinkPool:
    """Lazily opened sinks keyed by (kind, path); close them all with :meth:`close`."""

    def __init__(self, opener: OpenSink = open_sink) -> None:
        self._opener = opener
        self._sinks: dict[tuple[str, str], Sink] = {}

    def get(self, spec: SinkSpec) -> Sink:
        key = (spec.kind, os.path.abspath(spec.path))
        sink = self._sinks.get(key)
        if sink is None:
            sink = self._opener(spec.kind, spec.path)
            self._sinks[key] = sink
        return sink

    def for_table(self, station: StationConfig, table: str) -> list[Sink]:
        """The sinks ``table`` of ``station`` goes to (opening them if needed)."""
        return [self.get(spec) for spec in station.sinks_for(table)]

    def for_station(self, station: StationConfig) -> list[Sink]:
        """Every sink already open for ``station`` (for its collection log lines)."""
        out = []
        for spec in station.sinks:
            sink = self._sinks.get((spec.kind, os.path.abspath(spec.path)))
            if sink is not None and sink not in out:
                out.append(sink)
        return out

    def close(self) -> None:
        sinks, self._sinks = list(self._sinks.values()), {}
        for sink in sinks:
            sink.close()

    def __enter__(self) -> SinkPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["SinkPool"]
