"""One open sink per place, shared by every station that writes there.

Twenty stations usually share one SQLite database: opening it once keeps one
connection (the sinks serialise their own writes) instead of twenty competing
for the file lock.  Sinks open lazily, inside a station's cycle, so a folder
that cannot be created fails that station with a clear error rather than
stopping the collector before it starts.

MQTT sinks publish, they do not store: a table's MQTT sinks ride on its first
storing sink (:class:`~fieldlink.store.tee.PublishingSink`), so what is published
is what was stored and a broker that is down holds up nothing.  Only a station
with no storing sink for a table has its MQTT sink stand alone.

A PostgreSQL sink with ``fleet = true`` makes the station a fleet station: its
cycles run under a lease (:meth:`SinkPool.fleet_for`, :mod:`fieldlink.collect.fleet`)
and the store refuses writes from a collector that does not hold it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from fieldlink.collect.config import NETWORK_SINK_KEYS, SinkSpec, StationConfig
from fieldlink.store import Sink, open_sink
from fieldlink.store.opened import Closes

if TYPE_CHECKING:
    from fieldlink.collect.fleet import Fleet

#: Opens a sink of a kind (``"sqlite"``, ``"toa5"``, ``"csv"``) at a path.
OpenSink = Callable[[str, Path], Sink]


def _key(spec: SinkSpec) -> tuple[str, str]:
    if spec.kind in NETWORK_SINK_KEYS:
        return (spec.kind, json.dumps(dict(spec.options), sort_keys=True, default=str))
    return (spec.kind, os.path.abspath(spec.path))


def is_fleet(spec: SinkSpec) -> bool:
    return spec.kind == "postgresql" and bool(spec.options.get("fleet"))


class SinkPool(Closes):
    """Lazily opened sinks keyed by (kind, path); close them all with :meth:`close`.

    ``collector`` names this collector in fleet leases (default
    :func:`~fieldlink.collect.fleet.default_collector`).
    """

    def __init__(self, opener: OpenSink = open_sink, *, collector: str | None = None) -> None:
        self._opener = opener
        self._sinks: dict[tuple[str, str], Sink] = {}
        self._fleets: dict[tuple[str, str], Fleet] = {}
        self._collector = collector

    @property
    def collector(self) -> str:
        if self._collector is None:
            from fieldlink.collect.fleet import default_collector

            self._collector = default_collector()
        return self._collector

    def get(self, spec: SinkSpec) -> Sink:
        key = _key(spec)
        sink = self._sinks.get(key)
        if sink is None:
            if spec.kind in NETWORK_SINK_KEYS:
                holder = self.collector if is_fleet(spec) else None
                sink = open_sink(spec.kind, options=spec.options, holder=holder)
            else:
                sink = self._opener(spec.kind, spec.path)
            self._sinks[key] = sink
        return sink

    def for_table(self, station: StationConfig, table: str) -> list[Sink]:
        """The sinks ``table`` of ``station`` goes to (opening them if needed)."""
        specs = station.sinks_for(table)
        storing = [self.get(s) for s in specs if s.kind != "mqtt"]
        publishing = [self.get(s) for s in specs if s.kind == "mqtt"]
        if not publishing or not storing:
            return storing + publishing
        from fieldlink.store.mqtt import MqttSink
        from fieldlink.store.tee import PublishingSink

        publishers = [p for p in publishing if isinstance(p, MqttSink)]
        return [PublishingSink(storing[0], publishers), *storing[1:]]

    def for_station(self, station: StationConfig) -> list[Sink]:
        """Every sink already open for ``station`` (for its collection log lines)."""
        out = []
        for spec in station.sinks:
            sink = self._sinks.get(_key(spec))
            if sink is not None and sink not in out:
                out.append(sink)
        return out

    def fleet_for(self, station: StationConfig) -> Fleet | None:
        """The fleet ``station`` is collected in (its first ``fleet = true`` sink), if any."""
        spec = next((s for s in station.sinks if is_fleet(s)), None)
        if spec is None:
            return None
        key = _key(spec)
        fleet = self._fleets.get(key)
        if fleet is None:
            from fieldlink.collect.fleet import DEFAULT_LEASE, Fleet
            from fieldlink.store.secrets import resolve_dsn

            dsn, name = resolve_dsn(spec.options)
            lease = float(spec.options.get("lease", DEFAULT_LEASE))
            fleet = Fleet(dsn, name=name, collector=self.collector, lease=lease)
            self._fleets[key] = fleet
        return fleet

    def close(self) -> None:
        sinks, self._sinks = list(self._sinks.values()), {}
        fleets, self._fleets = list(self._fleets.values()), {}
        for fleet in fleets:
            fleet.close()
        for sink in sinks:
            sink.close()


__all__ = ["SinkPool"]
