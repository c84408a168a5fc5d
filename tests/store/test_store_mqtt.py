"""MQTT sink against a real, throwaway mosquitto broker (never a mock).

A paho subscriber with a persistent session (QoS 1) stands for Grafana or Node-RED.
Without mosquitto the tests skip with the reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

mqtt = pytest.importorskip("paho.mqtt.client", reason="paho-mqtt (fieldlink[mqtt]) not installed")

from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from fieldlink.collect.config import parse_stations  # noqa: E402
from fieldlink.errors import ConfigError, UsageError  # noqa: E402
from fieldlink.store import SqliteSink, StationInfo, open_sink  # noqa: E402
from fieldlink.store.base import Hole  # noqa: E402
from fieldlink.store.mqtt import MqttSink, record_message  # noqa: E402
from fieldlink.store.tee import PublishingSink  # noqa: E402
from fieldlink.store.throwaway import (  # noqa: E402
    MosquittoServer,
    Unavailable,
    shared_mosquitto,
)


@pytest.fixture(scope="session")
def broker() -> MosquittoServer:
    try:
        return shared_mosquitto()
    except Unavailable as exc:
        pytest.skip(f"no MQTT broker can be started here: {exc}")


@pytest.fixture
def own_broker(broker: MosquittoServer) -> Iterator[MosquittoServer]:
    """A broker of the test's own, to stop and restart."""
    server = MosquittoServer()
    yield server
    server.destroy()


class Subscriber:
    """Collects every message under a topic filter; a persistent QoS 1 session."""

    def __init__(self, port: int, topic: str) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.ready = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:8]}",
                             clean_session=False)  # fmt: skip
        client.reconnect_delay_set(0.2, 1)

        def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any = None) -> None:
            c.subscribe(topic, qos=1)

        def on_subscribe(c: Any, u: Any, mid: Any, rcs: Any, p: Any = None) -> None:
            self.ready.set()

        def on_message(c: Any, u: Any, msg: Any) -> None:
            with self._lock:
                self.messages.append((msg.topic, msg.payload, bool(msg.retain)))

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        client.connect("127.0.0.1", port)
        client.loop_start()
        self.client = client
        assert self.ready.wait(10), "subscriber never subscribed"

    def received(self, prefix: str = "") -> list[tuple[str, Any, bool]]:
        with self._lock:
            return [(t, json.loads(p), r) for t, p, r in self.messages if t.startswith(prefix)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def prefix() -> str:
    return f"test/{uuid.uuid4().hex[:8]}"


def numbers(sub: Subscriber, topic: str) -> set[int]:
    return {m["data"][0]["no"] for t, m, _ in sub.received(topic)}


def test_records_status_and_discovery(
    smp: SimpleNamespace, broker: MosquittoServer, station: StationInfo
) -> None:
    top = prefix()
    sub = Subscriber(broker.port, "#")
    sink = MqttSink("127.0.0.1", broker.port, prefix=top, homeassistant=True,
                    discovery_prefix=f"{top}/ha")  # fmt: skip
    try:
        table = smp.mixed_table()
        with sink.open_table(station, table) as w:
            w.append([smp.mixed_record(0), smp.mixed_record(1)])
            assert w.position is not None and w.position.record == 1
            w.append([smp.mixed_record(1), smp.mixed_record(2)])  # 1 again: not republished
        assert sink.flush(10)
        data = f"{top}/data/Ridge/Mixed"
        assert wait_for(lambda: numbers(sub, data) == {0, 1, 2})
        assert len(sub.received(data)) == 3
        first = next(m for t, m, _ in sub.received(data) if m["data"][0]["no"] == 0)
        assert first == json.loads(json.dumps(record_message(station, table, smp.mixed_record(0))))
        assert first["head"]["environment"]["station_name"] == "Ridge"
        vals = first["data"][0]["vals"]
        assert vals[:3] == [12.5, 20.25, 1.5] and vals[4] is None  # NaN -> null
        assert first["data"][0]["time"] == "2024-05-01T12:00:00"
        assert wait_for(lambda: bool(sub.received(f"{top}/state/Ridge")))
        state = sub.received(f"{top}/state/Ridge")[-1][1]
        assert state["tables"]["Mixed"]["record"] == 2
        assert state["battery_v"] == pytest.approx(12.52)  # BattV_Min of the newest record
        configs = {t: m for t, m, _ in sub.received(f"{top}/ha/sensor/")}
        batt = configs[f"{top}/ha/sensor/Ridge_Mixed/BattV_Min/config"]
        assert batt["state_topic"] == data and batt["unit_of_measurement"] == "Volts"
        assert batt["value_template"] == "{{ value_json.data[0].vals[0] }}"
        assert f"{top}/ha/sensor/Ridge_Mixed/Note/config" not in configs  # text: no sensor
    finally:
        sink.close()
        sub.close()
    # Retained: a late subscriber still gets the station's status.
    late = Subscriber(broker.port, f"{top}/state/#")
    try:
        assert wait_for(lambda: bool(late.received()))
        assert late.received()[0][2] is True
    finally:
        late.close()


def test_publishes_what_the_store_newly_stored(
    smp: SimpleNamespace, broker: MosquittoServer, station: StationInfo, tmp_path: Path
) -> None:
    top = prefix()
    sub = Subscriber(broker.port, f"{top}/#")
    mq = MqttSink("127.0.0.1", broker.port, prefix=top)
    try:
        with SqliteSink(tmp_path / "d.sqlite") as store:
            tee = PublishingSink(store, [mq])
            table = smp.numeric_table()
            with tee.open_table(station, table) as w:
                w.append([smp.numeric_record(n) for n in range(5)])
            with tee.open_table(station, table) as w:
                assert w.position is not None and w.position.record == 4  # the store's
                w.append([smp.numeric_record(n) for n in range(8)])  # 0..4 stored already
            tee.log("Ridge", "cycle failed", "LinkTimeout: no answer")
        assert mq.flush(10)
        data = f"{top}/data/Ridge/Hourly"
        assert wait_for(lambda: len(sub.received(data)) == 8)
        assert sorted(m["data"][0]["no"] for _, m, _ in sub.received(data)) == list(range(8))
        assert wait_for(lambda: sub.received(f"{top}/state/Ridge")[-1][1]["state"] == "failed")
        assert sub.received(f"{top}/state/Ridge")[-1][1]["error"] == "LinkTimeout: no answer"
    finally:
        mq.close()
        sub.close()


def test_broker_down_never_holds_up_storing(
    smp: SimpleNamespace, own_broker: MosquittoServer, station: StationInfo, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Nothing listens at first: storing goes on, the records wait in the queue; when the
    broker comes up the publisher reconnects (backoff) and delivers them."""
    own_broker.stop()
    top = prefix()
    caplog.set_level(logging.WARNING, logger="fieldlink.store.mqtt")
    mq = MqttSink("127.0.0.1", own_broker.port, prefix=top)
    try:
        with (
            SqliteSink(tmp_path / "d.sqlite") as store,
            PublishingSink(store, [mq]).open_table(station, smp.numeric_table()) as w,
        ):
            w.append([smp.numeric_record(n) for n in range(50)])
            assert w.position is not None and w.position.record == 49
        assert wait_for(lambda: "unreachable" in caplog.text or "refused" in caplog.text, 10)
        assert f"MQTT store mqtt://127.0.0.1:{own_broker.port}" in caplog.text
        own_broker.start()
        sub = Subscriber(own_broker.port, f"{top}/#")
        try:
            assert mq.connected.wait(20), "the publisher never reconnected"
            assert wait_for(lambda: numbers(sub, f"{top}/data/Ridge/Hourly") == set(range(50)))
        finally:
            sub.close()
    finally:
        mq.close()


def test_broker_restart_mid_publish_loses_nothing(
    smp: SimpleNamespace, own_broker: MosquittoServer, station: StationInfo
) -> None:
    top = prefix()
    data = f"{top}/data/Ridge/Hourly"
    sub = Subscriber(own_broker.port, f"{top}/#")  # persistent session, survives the restart
    mq = MqttSink("127.0.0.1", own_broker.port, prefix=top)
    try:
        assert mq.connected.wait(10)
        table = smp.numeric_table()
        with mq.open_table(station, table) as w:
            w.append([smp.numeric_record(n) for n in range(0, 100)])
            own_broker.stop()  # some of these may still be in flight
            w.append([smp.numeric_record(n) for n in range(100, 200)])  # queued
            own_broker.start()
            w.append([smp.numeric_record(n) for n in range(200, 300)])
        assert mq.flush(30), "the publisher did not get every message acknowledged"
        assert wait_for(lambda: numbers(sub, data) == set(range(300)), 30), sorted(
            set(range(300)) - numbers(sub, data)
        )[:20]
    finally:
        mq.close()
        sub.close()


def test_collect_config_and_pool_hang_mqtt_behind_the_store(
    broker: MosquittoServer, tmp_path: Path
) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collect"))
    from collect_emulators import emulator, running

    from fieldlink.collect.connect import connect_client
    from fieldlink.collect.engine import run_cycle
    from fieldlink.collect.sinks import SinkPool

    top = prefix()
    emu = emulator(tmp_path, "ridge", records=40)
    sub = Subscriber(broker.port, f"{top}/#")
    with running([emu]) as (url,):
        config = parse_stations(
            f'[[station]]\nname = "ridge"\nurl = "{url}"\ntables = ["Small"]\nclock = false\n'
            'sinks = [{ kind = "sqlite", path = "d.sqlite" }, '
            f'{{ kind = "mqtt", url = "mqtt://127.0.0.1:{broker.port}", prefix = "{top}" }}]\n',
            base_dir=tmp_path,
        ).stations[0]
        assert str(config.sinks[1]) == f"mqtt:mqtt://127.0.0.1:{broker.port}"
        with SinkPool() as pool:
            sinks = pool.for_table(config, "Small")
            assert len(sinks) == 1 and isinstance(sinks[0], PublishingSink)
            for _ in range(2):  # the second cycle has nothing new: nothing published again
                result = asyncio.run(run_cycle(config, connect_client, pool.for_table))
                assert result.ok, result.error
    try:
        got = f"{top}/data/ridge/Small"
        assert wait_for(lambda: len(sub.received(got)) == 40)
        truth = emu.station.records("Small")
        by_no = {m["data"][0]["no"]: m["data"][0] for _, m, _ in sub.received(got)}
        for record in truth:
            vals = by_no[record.number]["vals"]
            want = [None if isinstance(v, float) and math.isnan(v) else v for v in record.flat()]
            assert vals == want
        time.sleep(0.3)
        assert len(sub.received(got)) == 40
    finally:
        sub.close()


def test_hole_of_another_table_is_refused(
    smp: SimpleNamespace, broker: MosquittoServer, station: StationInfo
) -> None:
    """The standalone writer ignores holes (it keeps no hole list) but, like every
    writer, refuses one of another table, and then publishes nothing."""
    sink = MqttSink("127.0.0.1", broker.port, prefix=prefix())
    try:
        with sink.open_table(station, smp.mixed_table()) as w:
            with pytest.raises(UsageError, match="not 'Mixed'"):
                w.append([smp.mixed_record(0)], [Hole("Other", 1, 2)])
            assert w.position is None
    finally:
        sink.close()


def test_bad_mqtt_configuration(tmp_path: Path) -> None:
    base = '[[station]]\nname = "r"\nurl = "tcp:127.0.0.1:1"\nsinks = [{ kind = "mqtt", %s }]\n'
    with pytest.raises(ConfigError, match="password in clear"):
        parse_stations(base % 'url = "mqtt://u:secret@broker"')
    with pytest.raises(ConfigError, match="expected mqtt://HOST"):
        parse_stations(base % 'url = "http://broker"')
    with pytest.raises(ConfigError, match="unknown key 'path'"):
        parse_stations(base % 'url = "mqtt://broker", path = "x"')
    with pytest.raises(ConfigError, match="needs 'url'"):
        parse_stations(base % 'prefix = "x"')
    spec = parse_stations(base % 'url = "mqtt://broker:1884", homeassistant = true').stations[0]
    assert spec.sinks[0].options == {"url": "mqtt://broker:1884", "homeassistant": True}
    from fieldlink.errors import StoreError

    with pytest.raises(StoreError, match="MQTT_TEST_UNSET is not set"):
        open_sink("mqtt", options={"url": "mqtt://broker", "password_env": "MQTT_TEST_UNSET"})
