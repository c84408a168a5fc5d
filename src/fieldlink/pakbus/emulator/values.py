"""Deterministic measurements for emulated tables: same seed and record, same value.

Tests must know what each record holds without reading it back over the link, so a
value is a pure function of (seed, table, field, element, record number, record
time).  The signal follows the variable's name -- a battery charges by day, air
temperature and humidity swing with the hour, wind is gusty -- so that collected
data look like a field station's and plots of it make sense.  Air temperature and
humidity read NaN about one record in a hundred, as failing sensors do.

Every value is passed through its wire type (encode then decode with
:mod:`fieldlink.pakbus.protocol.types`), so the ground truth is exactly what a client
decodes: an FP2 battery voltage is 12.63, not 12.6317.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from functools import lru_cache

from fieldlink.pakbus.emulator.spec import NS_PER_S, FieldSpec
from fieldlink.pakbus.protocol.model import Scalar, Value
from fieldlink.pakbus.protocol.types import DataType, decode_value, encode_value, nsec_to_datetime
from fieldlink.pakbus.protocol.wire import NSec

__all__ = ["ValueModel", "logger_datetime", "quantize", "unit_noise"]

_MASK64 = (1 << 64) - 1

_FLOATS = frozenset(
    {
        DataType.FP2,
        DataType.FP3,
        DataType.FP4,
        DataType.FS4,
        DataType.IEEE4,
        DataType.IEEE8,
        DataType.IEEE4_LSF,
        DataType.IEEE8_LSF,
    }
)
_NAN_CAPABLE = _FLOATS - {DataType.FP4, DataType.FS4}
_BOOLS = frozenset({DataType.BOOL, DataType.BOOL2, DataType.BOOL4})
_TIMES = frozenset({DataType.SEC, DataType.USEC, DataType.NSEC, DataType.NSEC_LSF})
_INT_RANGES = {
    DataType.BYTE: (0, 255),
    DataType.BOOL8: (0, 255),
    DataType.UINT2: (0, 65535),
    DataType.UINT2_LSF: (0, 65535),
    DataType.UINT4: (0, 2**32 - 1),
    DataType.UINT4_LSF: (0, 2**32 - 1),
    DataType.INT1: (-128, 127),
    DataType.INT2: (-32768, 32767),
    DataType.INT2_LSF: (-32768, 32767),
    DataType.INT4: (-(2**31), 2**31 - 1),
    DataType.INT4_LSF: (-(2**31), 2**31 - 1),
}

_MESSAGES = ("OK", "OK", "OK", "OK", "OK", "LOW BATTERY", "SENSOR CHECK", "HEATER ON", "SERVICE")

#: Share of records in which flaky sensors (air temperature, humidity) read NaN.
NAN_SHARE = 0.01


def _mix(h: int) -> int:
    """splitmix64 finaliser: a cheap, well-spread integer hash."""
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    h = (h ^ (h >> 27)) * 0x94D049BB133111EB & _MASK64
    return h ^ (h >> 31)


def _key(part: int | str) -> int:
    return zlib.crc32(part.encode("utf-8")) if isinstance(part, str) else part & _MASK64


def _chain(h: int, parts: tuple[int | str, ...]) -> int:
    for part in parts:
        h = _mix((h + 0x9E3779B97F4A7C15 + _key(part)) & _MASK64)
    return h


@lru_cache(maxsize=8192)
def _prefix(seed: int, *parts: str) -> int:
    """The hash state after the seed and the textual key parts (cached: they repeat)."""
    return _chain(_mix(seed & _MASK64), parts)


def unit_noise(seed: int, *parts: int | str) -> float:
    """A reproducible number in [0, 1) for ``seed`` and the given key parts.

    Leading text parts (table and field names) are hashed once and cached.
    """
    split = 0
    while split < len(parts) and isinstance(parts[split], str):
        split += 1
    h = _chain(_prefix(seed, *parts[:split]), parts[split:])
    return (h >> 11) / float(1 << 53)


def quantize(type_code: int, value: Scalar, length: int | None = None) -> Scalar:
    """``value`` as it reads back after a trip through wire type ``type_code``."""
    raw = encode_value(type_code, value, length=length)
    decoded, _ = decode_value(type_code, raw, length=length)
    return decoded  # type: ignore[return-value]


@lru_cache(maxsize=4096)
def _kind(variable: str) -> str:
    n = variable.lower()
    if "batt" in n:
        return "battery"
    if n.startswith("ptemp") or "panel" in n:
        return "panel"
    if n.startswith("airt") or n in ("tc", "t", "ts", "temp") or n.endswith("temp"):
        return "air"
    if n.startswith("rh") or "humid" in n:
        return "humidity"
    if n in ("ux", "uy", "uz"):
        return "component"
    if n.startswith("ws") or "wind" in n or "spd" in n:
        return "wind"
    if n.startswith("wd") or "dir" in n:
        return "direction"
    if "rain" in n or "precip" in n:
        return "rain"
    if "press" in n or n.startswith("bp"):
        return "pressure"
    if "slr" in n or "solar" in n or "rad" in n:
        return "solar"
    if "count" in n or "scan" in n or n.startswith("rec"):
        return "counter"
    if "diag" in n or "err" in n:
        return "diagnostic"
    return "generic"


class ValueModel:
    """Computes field values for one emulated station (one seed)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def value(
        self, table: str, spec: FieldSpec, record: int, when_ns: int, *, generation: int = 0
    ) -> Value:
        """The value of field ``spec`` in record ``record`` stored at ``when_ns``.

        ``when_ns`` is logger time in nanoseconds since 1990; ``generation`` counts table
        resets, so a reset table does not repeat its old values under reused numbers.
        """
        count = spec.element_count
        values = tuple(
            self._element(table, spec, record, when_ns, generation, element)
            for element in range(count)
        )
        return values[0] if count == 1 else values

    def _element(
        self, table: str, spec: FieldSpec, record: int, when_ns: int, generation: int, element: int
    ) -> Scalar:
        code = spec.type_code
        noise = unit_noise(self.seed, table, spec.name, generation, record, element)
        kind = _kind(spec.variable)
        if spec.is_string:
            text = _MESSAGES[int(noise * len(_MESSAGES))] if kind != "counter" else str(record)
            text = text[: spec.string_length]
            return text if code == DataType.ASCIIZ else quantize(code, text, spec.string_length)
        if code in _BOOLS:
            return noise < 0.1
        if code in _TIMES:
            return quantize(code, nsec_to_datetime(NSec.from_total_ns(when_ns)))
        if code in _INT_RANGES:
            lo, hi = _INT_RANGES[code]  # type: ignore[index]
            if kind == "counter":
                number = record
            elif kind == "diagnostic":
                number = 1 + int(noise * 700) % 7 if noise < 0.02 else 0
            else:
                number = int(noise * 1000)
            return max(lo, min(hi, number))
        if code not in _FLOATS:
            return 0
        if kind in ("air", "humidity") and code in _NAN_CAPABLE:
            sick = unit_noise(self.seed, "nan", table, spec.name, generation, record)
            if sick < NAN_SHARE:
                return math.nan
        raw = _signal(kind, when_ns / NS_PER_S, noise, element, record)
        return quantize(code, raw)


def _signal(kind: str, t: float, noise: float, element: int, record: int) -> float:
    """A plausible reading of ``kind`` at logger time ``t`` (seconds since 1990)."""
    day = (t % 86_400.0) / 86_400.0
    diurnal = math.sin(2 * math.pi * (day - 0.375))  # peaks mid-afternoon
    wiggle = noise - 0.5
    if kind == "battery":
        return 12.5 + 0.9 * max(0.0, diurnal) + 0.1 * wiggle
    if kind == "panel":
        return 18.0 + 9.0 * diurnal + 0.4 * wiggle
    if kind == "air":
        return 15.0 + 8.0 * diurnal + 0.6 * wiggle
    if kind == "humidity":
        return min(100.0, max(5.0, 65.0 - 25.0 * diurnal + 6.0 * wiggle))
    if kind == "wind":
        gust = math.sin(2 * math.pi * t / 7_200.0 + element)
        return abs(3.0 + 2.0 * gust + 3.0 * wiggle) + 0.1 * element
    if kind == "component":
        return 2.0 * math.sin(2 * math.pi * t / 600.0 + element) + 1.5 * wiggle
    if kind == "direction":
        return (200.0 + 60.0 * math.sin(2 * math.pi * t / 20_000.0) + 40.0 * wiggle) % 360.0
    if kind == "rain":
        return 0.254 * (1 + int(noise * 300)) if noise < 0.03 else 0.0
    if kind == "pressure":
        return 1013.0 + 6.0 * math.sin(2 * math.pi * t / 259_200.0) + 0.5 * wiggle
    if kind == "solar":
        return max(0.0, 900.0 * math.sin(2 * math.pi * (day - 0.25))) * (0.8 + 0.2 * noise)
    if kind == "counter":
        return float(record)
    if kind == "diagnostic":
        return 0.0
    return 100.0 * noise


def logger_datetime(when_ns: int) -> dt.datetime:
    """Logger-local naive datetime of a logger time in nanoseconds since 1990."""
    return nsec_to_datetime(NSec.from_total_ns(when_ns))
