"""MQTT, live values: each new record as JSON on a broker, for Grafana, Home Assistant, Node-RED.

Topics follow Campbell's own datalogger MQTT convention where it applies — a group
prefix (default ``cs/v1``, the loggers' default base topic), then the kind of
message, then the device — with the station name as the device::

    <prefix>/data/<station>/<table>    one message per record (QoS 1, not retained)
    <prefix>/state/<station>           the station's status (QoS 1, retained)

A record message is shaped like Campbell's CSIJSON (``head`` with the table's
environment and fields, ``data`` with one ``{"time", "no", "vals"}``); NaN and
infinities become ``null`` because strict JSON parsers (JavaScript's, so Node-RED's)
reject them.  The status message says when the station was last collected, the
newest record per table, the battery voltage when a table has a ``Batt...`` column,
and the last failure.  With ``homeassistant = true`` every numeric column is also
announced for Home Assistant's MQTT discovery
(``homeassistant/sensor/<station>_<table>/<column>/config``, retained).

The broker being down never holds up storing: publishing only queues the message
(paho-mqtt keeps QoS 1 messages until the broker acknowledges them, also across a
reconnect), reconnecting happens on paho's network thread with a backoff of 1 s
doubling to 60 s, and the queue is bounded (``max_queued``; beyond it messages are
dropped and counted, with a warning).  An MQTT sink therefore never raises from
:meth:`append`; it stores nothing the collector could resume from, which is why
the pool hangs it behind a storing sink (:class:`~fieldlink.store.tee.PublishingSink`)
whenever the station has one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fieldlink.errors import ConfigError
from fieldlink.pakbus.protocol.model import Record, TableDef
from fieldlink.store.base import (
    BOOL_TYPES,
    FLOAT4_TYPES,
    FLOAT8_TYPES,
    INT_TYPES,
    Hole,
    Position,
    StationInfo,
    columns,
    iso_time,
    record_row,
    utc_now,
)
from fieldlink.store.opened import Closes, OpenTables, WriterBase

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "cs/v1"
_NUMERIC = FLOAT4_TYPES | FLOAT8_TYPES | INT_TYPES
_TOPIC_UNSAFE = re.compile(r"[+#/\x00]")


def topic_part(name: str) -> str:
    """A station or table name as one topic level (``+ # /`` would split or wildcard it)."""
    return _TOPIC_UNSAFE.sub("_", name)


def _json_value(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def record_message(station: StationInfo, table: TableDef, record: Record) -> dict[str, Any]:
    """One record in Campbell's CSIJSON shape (``head`` + one ``data`` entry)."""
    return {
        "head": {
            "signature": table.signature,
            "environment": {
                "station_name": station.name,
                "table_name": table.name,
                "model": station.model,
                "serial_no": station.serial_number,
                "os_version": station.os_version,
                "prog_name": station.program_name,
            },
            "fields": [
                {"name": c.name, "units": c.field.units, "process": c.field.processing}
                for c in columns(table)
            ],
        },
        "data": [
            {
                "time": record.timestamp.isoformat(),
                "no": record.number,
                "vals": [_json_value(v) for v in record_row(table, record)],
            }
        ],
    }


def battery_column(table: TableDef) -> int | None:
    """Index of the table's battery voltage column (``Batt...``, numeric), if any."""
    for i, c in enumerate(columns(table)):
        if c.name.lower().startswith("batt") and c.field.type_code in _NUMERIC:
            return i
    return None


class MqttSink(Closes):
    """Publishes records and station status to one MQTT broker (QoS 1)."""

    def __init__(
        self,
        host: str,
        port: int = 1883,
        *,
        prefix: str = DEFAULT_PREFIX,
        client_id: str = "",
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        homeassistant: bool = False,
        discovery_prefix: str = "homeassistant",
        max_queued: int = 100_000,
        name: str | None = None,
    ) -> None:
        if not host:
            raise ConfigError("an MQTT sink needs a broker host")
        self.name = f"MQTT store {name or f'mqtt://{host}:{port}'}"
        self.prefix = prefix.strip("/")
        self.homeassistant = homeassistant
        self.discovery_prefix = discovery_prefix.strip("/")
        self.dropped = 0
        self._lock = threading.Lock()
        self._state: dict[str, dict[str, Any]] = {}
        self._announced: set[tuple[str, str, int]] = set()
        self._open = OpenTables(self.name)
        #: Message ids queued but not yet acknowledged by the broker (PUBACK).
        self._pending: set[int] = set()
        self._early: set[int] = set()
        self._max_queued = max_queued
        self._outage_reported = False
        self._closing = False
        self.connected = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if username is not None:
            client.username_pw_set(username, password)
        if tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=60)
        client.max_queued_messages_set(max_queued)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_publish = self._on_publish
        self._client = client
        try:
            client.connect_async(host, port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self.name}: {exc}") from None
        client.loop_start()

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, password: str | None = None) -> MqttSink:
        """The sink a stations file's ``[[station.sinks]]`` table describes."""
        url = str(options.get("url", ""))
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ConfigError(f"bad MQTT broker URL {url!r}: expected mqtt://HOST[:PORT]")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ConfigError(f"bad port in MQTT broker URL {url!r}") from None
        return cls(
            parts.hostname,
            port,
            prefix=str(options.get("prefix", DEFAULT_PREFIX)),
            client_id=str(options.get("client_id", "")),
            username=options.get("username") or parts.username,
            password=password,
            tls=tls,
            homeassistant=bool(options.get("homeassistant", False)),
            name=f"{parts.scheme}://{parts.hostname}:{port}",
        )

    # --- connection events (paho's network thread) ------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object,
                    reason: Any, properties: object = None) -> None:  # fmt: skip
        if getattr(reason, "is_failure", False):
            self._report_outage(f"refused: {reason}")
            return
        if self._outage_reported:
            log.warning("%s: connected again", self.name)
        self._outage_reported = False
        self.connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object,
                       reason: Any, properties: object = None) -> None:  # fmt: skip
        self.connected.clear()
        if not self._closing:
            self._report_outage(f"disconnected ({reason})")

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        self._report_outage("unreachable")

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int,
                    reason: Any = None, properties: object = None) -> None:  # fmt: skip
        with self._lock:
            if mid in self._pending:
                self._pending.discard(mid)
            else:  # acknowledged before publish() returned its id to us
                self._early.add(mid)

    def _report_outage(self, what: str) -> None:
        if not self._outage_reported:
            self._outage_reported = True
            log.warning("%s: %s; retrying with backoff, records are queued meanwhile "
                        "(storing goes on)", self.name, what)  # fmt: skip

    # --- publishing -------------------------------------------------------------------------

    def _publish(self, topic: str, payload: Mapping[str, Any], *, retain: bool = False) -> None:
        text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
        # Not under self._lock: paho calls on_publish holding its own locks.
        info = self._client.publish(topic, text, qos=1, retain=retain)
        with self._lock:
            if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.warning("%s: queue full (%d messages): %d dropped so far",
                                self.name, self._max_queued, self.dropped)  # fmt: skip
                return
            if info.mid in self._early:
                self._early.discard(info.mid)
            else:
                self._pending.add(info.mid)

    def data_topic(self, station: str, table: str) -> str:
        return f"{self.prefix}/data/{topic_part(station)}/{topic_part(table)}"

    def state_topic(self, station: str) -> str:
        return f"{self.prefix}/state/{topic_part(station)}"

    def publish_records(
        self, station: StationInfo, table: TableDef, version: int, records: Sequence[Record]
    ) -> None:
        """Queue one message per record and update the station's retained status.

        Never raises for the broker's sake: a full queue drops (and counts) messages.
        """
        if not records:
            return
        if self.homeassistant:
            self._announce(station, table, version)
        topic = self.data_topic(station.name, table.name)
        for record in records:
            self._publish(topic, record_message(station, table, record))
        newest = records[-1]
        state = self._state.setdefault(station.name, {"station": station.name, "tables": {}})
        state["tables"][table.name] = {
            "record": newest.number,
            "time": newest.timestamp.isoformat(),
        }
        state["last_collection_utc"] = iso_time(utc_now())
        state["state"] = "ok"
        state.pop("error", None)
        battery = battery_column(table)
        if battery is not None:
            value = _json_value(record_row(table, newest)[battery])
            state["battery_v"] = value
        self._publish(self.state_topic(station.name), state, retain=True)

    def _announce(self, station: StationInfo, table: TableDef, version: int) -> None:
        key = (station.name, table.name, version)
        if key in self._announced:
            return
        self._announced.add(key)
        node = topic_part(f"{station.name}_{table.name}").replace(" ", "_")
        device = {
            "identifiers": [f"fieldlink_{topic_part(station.name)}"],
            "name": station.name,
            "manufacturer": "Campbell Scientific",
            "model": station.model or "datalogger",
        }
        for i, c in enumerate(columns(table)):
            if c.field.type_code not in _NUMERIC | BOOL_TYPES:
                continue
            object_id = re.sub(r"[^A-Za-z0-9_-]", "_", c.name)
            config: dict[str, Any] = {
                "name": f"{table.name} {c.name}",
                "unique_id": f"fieldlink_{node}_{object_id}",
                "state_topic": self.data_topic(station.name, table.name),
                "value_template": f"{{{{ value_json.data[0].vals[{i}] }}}}",
                "device": device,
            }
            if c.field.units and c.field.type_code in _NUMERIC:
                config["unit_of_measurement"] = c.field.units
            if c.field.type_code in _NUMERIC:
                config["state_class"] = "measurement"
            topic = f"{self.discovery_prefix}/sensor/{node}/{object_id}/config"
            self._publish(topic, config, retain=True)

    # --- the Sink interface -----------------------------------------------------------------

    def open_table(
        self, station: StationInfo, table: TableDef, *, new_version: bool = False
    ) -> MqttTableWriter:
        """A writer for a station with no storing sink: its position lives in memory only."""
        with self._open.opening(station, table):
            return MqttTableWriter(self, station, table)

    def log(self, station: str, event: str, detail: str = "") -> None:
        """A failed cycle shows in the station's retained status."""
        if event != "cycle failed":
            return
        state = self._state.setdefault(station, {"station": station, "tables": {}})
        state["state"] = "failed"
        state["error"] = detail
        state["last_failure_utc"] = iso_time(utc_now())
        self._publish(self.state_topic(station), state, retain=True)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait (up to ``timeout``) until the broker acknowledged every queued message."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.02)
        return False

    def close(self, timeout: float = 2.0) -> None:
        """Give queued messages ``timeout`` seconds to reach a connected broker, then stop."""
        if self.connected.is_set():
            self.flush(timeout)
        with self._lock:
            undelivered = len(self._pending)
        if undelivered:
            log.warning("%s: closing with %d messages the broker has not acknowledged; "
                        "they are dropped (the records stay in the store)", self.name,
                        undelivered)  # fmt: skip
        self._closing = True
        self._client.disconnect()
        self._client.loop_stop()


#: Where standalone MQTT writers keep their position between cycles of one process.
_positions: dict[tuple[int, str, str], int] = {}


class MqttTableWriter(WriterBase):
    """Publishes a table of a station that has no storing sink.

    Its position is kept in memory for the life of the collector: the first cycle
    follows the station's ``first_collection`` (``"newest 1"`` suits live values),
    later cycles resume after the last record published.
    """

    def __init__(self, sink: MqttSink, station: StationInfo, table: TableDef) -> None:
        super().__init__(sink._open, station, table, 1)
        self._sink = sink
        self._key = (id(sink), station.name, table.name)

    @property
    def position(self) -> Position | None:
        last = _positions.get(self._key)
        return None if last is None else Position(self.table.signature, last, 1)

    def append(self, records: Sequence[Record], holes: Sequence[Hole] = ()) -> None:
        self._check_open(self.table.name)
        fresh = self._fresh(records, holes, self.position)
        self._sink.publish_records(self.station, self.table, self.version, fresh)
        if fresh:
            _positions[self._key] = fresh[-1].number

    def holes(self) -> list[Hole]:
        return []


__all__ = ["DEFAULT_PREFIX", "MqttSink", "MqttTableWriter", "record_message", "topic_part"]
