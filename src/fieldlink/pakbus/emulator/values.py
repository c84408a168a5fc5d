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
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any, Protocol, TypeVar, cast

from fieldlink.pakbus.emulator.spec import NS_PER_S, FieldSpec
from fieldlink.pakbus.protocol.model import Scalar, Value
from fieldlink.pakbus.protocol.types import (
    DECODE_PLAN,
    ENCODE_PLAN,
    FP2_TABLE,
    DataType,
    decode_value,
    encode_value,
    fp2_to_word,
    nsec_to_datetime,
)
from fieldlink.pakbus.protocol.wire import NSec

__all__ = ["FieldValues", "ValueModel", "logger_datetime", "quantize", "unit_noise"]

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
#: unit_noise's divisor: the top 53 bits of a hash as a float in [0, 1).
_UNIT = float(1 << 53)
#: Compiled field functions a ValueModel keeps (tables x fields x resets of a station).
_COMPILED_FIELDS = 4096

#: A field's compiled value function: (record number, logger time in ns) -> value.
FieldValues = Callable[[int, int], Value]
_T = TypeVar("_T")


class BlockShare:
    """What the fields of one block of records derive from its record numbers and
    times alike -- the times in seconds; with numpy, the numbers and times as arrays
    and the day's sine wave -- worked out by the first field that needs it and reused
    by the others.  Valid for one block only (one list of numbers and times)."""

    __slots__ = ("_memo",)

    def __init__(self) -> None:
        self._memo: dict[str, Any] = {}

    def get(self, key: str, make: Callable[[], _T]) -> _T:
        """The block's ``key``, made by ``make()`` the first time it is asked for."""
        try:
            return cast(_T, self._memo[key])
        except KeyError:
            value = self._memo[key] = make()
            return value


class FieldColumn(Protocol):
    """A field's values for many records at once: (record numbers, times in ns) -> values;
    ``share`` is the block's :class:`BlockShare` when other fields of it are computed too."""

    def __call__(
        self, numbers: Sequence[int], whens: Sequence[int], share: BlockShare | None = None
    ) -> list[Value]: ...


_UNKNOWN = object()
#: emulator/bulk.py (numpy: a block of records in a few array operations), None without
#: numpy; imported when a station is made, so that importing the emulator (which every
#: ``fieldlink logger`` command does) does not import numpy.
_bulk: Any = _UNKNOWN


def _fast_path() -> Any:
    global _bulk
    if _bulk is _UNKNOWN:
        try:
            from fieldlink.pakbus.emulator import bulk
        except ImportError:  # pragma: no cover - numpy is not a dependency
            _bulk = None
        else:
            _bulk = bulk
    return _bulk


#: Blocks smaller than this are done in plain Python (numpy's per-call cost is higher).
_NUMPY_FROM = 16

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
_INT_RANGES: dict[int, tuple[int, int]] = {
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
    """splitmix64 finaliser: a cheap, well-spread integer hash (inlined in the compiled
    value functions below: keep them in step)."""
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    h = (h ^ (h >> 27)) * 0x94D049BB133111EB & _MASK64
    return h ^ (h >> 31)


def _key(part: int | str) -> int:
    return zlib.crc32(part.encode("utf-8")) if isinstance(part, str) else part & _MASK64


def _chain(h: int, parts: tuple[int | str, ...]) -> int:
    for part in parts:
        h = _mix((h + _GOLDEN + _key(part)) & _MASK64)
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
    return (h >> 11) / _UNIT


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
    """Computes field values for one emulated station (one seed).

    Collecting a big table asks for every field of every record, so a field's value
    function is *compiled* once per (table, field, generation): the hash state of the
    constant key parts, the signal kind, the NaN rule and the wire type's quantizer are
    all settled up front, and a record costs one hash step per record and element plus
    the signal itself.  The compiled functions compute exactly what the definition
    above says (tests hold them to a straightforward reading of it).
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        _fast_path()  # numpy (if any) loads with the station, not during its first answer
        self._compiled: dict[tuple[str, FieldSpec, int], FieldValues] = {}
        self._columns: dict[tuple[str, FieldSpec, int], FieldColumn] = {}

    def value(
        self, table: str, spec: FieldSpec, record: int, when_ns: int, *, generation: int = 0
    ) -> Value:
        """The value of field ``spec`` in record ``record`` stored at ``when_ns``.

        ``when_ns`` is logger time in nanoseconds since 1990; ``generation`` counts table
        resets, so a reset table does not repeat its old values under reused numbers.
        """
        return self.field(table, spec, generation)(record, when_ns)

    def field(self, table: str, spec: FieldSpec, generation: int = 0) -> FieldValues:
        """The compiled value function ``(record, when_ns) -> value`` of one field."""
        key = (table, spec, generation)
        compiled = self._compiled.get(key)
        if compiled is None:
            if len(self._compiled) >= _COMPILED_FIELDS:
                self._compiled.clear()
            compiled = self._compiled[key] = _compile_field(self.seed, table, spec, generation)
        return compiled

    def fields(
        self, table: str, specs: Iterable[FieldSpec], generation: int = 0
    ) -> list[tuple[str, FieldValues]]:
        """(name, compiled value function) of each field, in order."""
        return [(spec.name, self.field(table, spec, generation)) for spec in specs]

    def column(self, table: str, spec: FieldSpec, generation: int = 0) -> FieldColumn:
        """The compiled column function ``(records, times) -> values`` of one field:
        the same values as :meth:`field`, computed for a block of records at once."""
        key = (table, spec, generation)
        compiled = self._columns.get(key)
        if compiled is None:
            if len(self._columns) >= _COMPILED_FIELDS:
                self._columns.clear()
            compiled = _compile_column(self.seed, table, spec, generation, self.field(*key))
            self._columns[key] = compiled
        return compiled

    def columns(
        self,
        table: str,
        specs: Iterable[FieldSpec],
        numbers: Sequence[int],
        whens: Sequence[int],
        generation: int = 0,
    ) -> list[list[Value]]:
        """Every field's column for one block of records: :meth:`column` of each, the
        block's times and arrays worked out once for all of them (:class:`BlockShare`)."""
        share = BlockShare()
        return [self.column(table, spec, generation)(numbers, whens, share) for spec in specs]


def _quantizer(code: int) -> Callable[[float], Scalar]:
    """``quantize`` of one numeric wire type, with the type's codec looked up once."""
    if code == DataType.FP2:
        table = FP2_TABLE
        return lambda value: table[fp2_to_word(value)]
    fmt, decode = DECODE_PLAN[code]
    packer = struct.Struct(">" + fmt)
    encode = ENCODE_PLAN[code]
    pack, unpack = packer.pack, packer.unpack
    if code in (DataType.IEEE4, DataType.IEEE8):  # a float packs as itself: no conversion
        return lambda value: cast(float, unpack(pack(value))[0])

    def quantize_number(value: float) -> Scalar:
        (item,) = unpack(pack(encode(value)))
        return cast(Scalar, item if decode is None else decode(item))

    return quantize_number


def _record_state(base: int, record: int) -> int:
    """The hash state after ``record``, continuing from ``base`` (one ``_chain`` step)."""
    h = (base + _GOLDEN + (record & _MASK64)) & _MASK64
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    h = (h ^ (h >> 27)) * 0x94D049BB133111EB & _MASK64
    return h ^ (h >> 31)


def _element_noise(state: int, element: int) -> float:
    """unit_noise's last step: one more ``_chain`` step for ``element``, as a float."""
    h = (state + _GOLDEN + element) & _MASK64
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    h = (h ^ (h >> 27)) * 0x94D049BB133111EB & _MASK64
    return ((h ^ (h >> 31)) >> 11) / _UNIT


def _compile_field(seed: int, table: str, spec: FieldSpec, generation: int) -> FieldValues:
    """The value function of one field, with everything that does not vary folded in.

    ``unit_noise(seed, table, name, generation, record, element)`` is a hash chain over
    those parts; the state after ``generation`` is the same for every record, so it is
    computed here once and a value costs the record and element steps only.  Scalars
    get their own functions (most fields are scalars); arrays share the record step.
    """
    code = spec.type_code
    kind = _kind(spec.variable)
    count = spec.element_count
    base = _chain(_prefix(seed, table, spec.name), (generation,))

    def noises(record: int) -> list[float]:
        state = _record_state(base, record)
        return [_element_noise(state, e) for e in range(count)]

    def noise(record: int) -> float:
        """unit_noise for element 0: _record_state and _element_noise in one."""
        h = (base + _GOLDEN + (record & _MASK64)) & _MASK64
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
        h = (h ^ (h >> 27)) * 0x94D049BB133111EB & _MASK64
        h = ((h ^ (h >> 31)) + _GOLDEN) & _MASK64
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
        h = (h ^ (h >> 27)) * 0x94D049BB133111EB & _MASK64
        return ((h ^ (h >> 31)) >> 11) / _UNIT

    def same(value: Callable[[int, int], Scalar]) -> FieldValues:
        """A field whose elements all hold one value."""
        if count == 1:
            return value
        return lambda record, when_ns: (value(record, when_ns),) * count

    def each(element: Callable[[float], Scalar]) -> FieldValues:
        """A field whose elements each follow their own noise, through ``element``."""
        if count == 1:
            return lambda record, when_ns: element(noise(record))
        return lambda record, when_ns: tuple(map(element, noises(record)))

    rule = _noise_rule(spec, code, kind)
    if rule is not None:
        return each(rule)
    if spec.is_string:  # a counter
        return same(lambda record, when_ns: _as_text(spec, str(record)))
    if code in _TIMES:
        return same(lambda record, when_ns: quantize(code, logger_datetime(when_ns)))
    if code in _INT_RANGES:  # a counter
        lo, hi = _INT_RANGES[code]
        return same(lambda record, when_ns: max(lo, min(hi, record)))
    if code not in _FLOATS:
        return same(lambda record, when_ns: 0)
    signal = _SIGNALS[kind]
    quantized = _quantizer(code)

    def scalar(record: int, when_ns: int) -> Value:
        return quantized(signal(when_ns / NS_PER_S, noise(record), 0, record))

    def array(record: int, when_ns: int) -> Value:
        t = when_ns / NS_PER_S
        return tuple(quantized(signal(t, n, e, record)) for e, n in enumerate(noises(record)))

    measured = scalar if count == 1 else array
    if kind not in ("air", "humidity") or code not in _NAN_CAPABLE:
        return measured
    # unit_noise(seed, "nan", table, name, generation, record): one draw for the record
    nan_base = _chain(_prefix(seed, "nan", table, spec.name), (generation,))
    nan: Value = math.nan if count == 1 else (math.nan,) * count

    def flaky(record: int, when_ns: int) -> Value:
        sick = (_record_state(nan_base, record) >> 11) / _UNIT
        return nan if sick < NAN_SHARE else measured(record, when_ns)

    return flaky


def _as_text(spec: FieldSpec, text: str) -> Scalar:
    """``text`` as a string field of ``spec`` holds it (cut to length, through the type)."""
    length = spec.string_length
    text = text[:length]
    return text if spec.type_code == DataType.ASCIIZ else quantize(spec.type_code, text, length)


def _noise_rule(spec: FieldSpec, code: int, kind: str) -> Callable[[float], Scalar] | None:
    """How each element of a field that is not a measured number follows its noise
    (status text, flags, integer readings), or None for one that does not."""
    if spec.is_string:
        if kind == "counter":
            return None
        messages = [_as_text(spec, m) for m in _MESSAGES]
        return lambda n: messages[int(n * len(messages))]
    if code in _BOOLS:
        return lambda n: n < 0.1
    if code not in _INT_RANGES or kind == "counter":
        return None
    lo, hi = _INT_RANGES[code]
    if kind == "diagnostic":
        return lambda n: max(lo, min(hi, 1 + int(n * 700) % 7 if n < 0.02 else 0))
    return lambda n: max(lo, min(hi, int(n * 1000)))


def _hash_block(
    base: int, numbers: Sequence[int], elements: int | None, share: BlockShare | None = None
) -> list[list[float]]:
    """Noise of a block of records, the same numbers as the per-record functions.

    ``elements`` None: the record step only (``_record_state`` as a float: the NaN draw);
    otherwise one list per element e < elements of ``_element_noise(state, e)``, each
    with a value per record.  Exact either way: numpy's uint64 arithmetic wraps modulo
    2**64 as the masked Python does, and ``h >> 11`` < 2**53 converts to a float exactly.
    """
    bulk = _fast_path() if len(numbers) >= _NUMPY_FROM else None
    if bulk is not None:
        noise = bulk.hash_block(base, numbers, elements, share or BlockShare())
        return [column.tolist() for column in noise]
    states = [_record_state(base, r) for r in numbers]
    if elements is None:
        return [[(h >> 11) / _UNIT for h in states]]
    return [[_element_noise(h, e) for h in states] for e in range(elements)]


def _seconds(whens: Sequence[int]) -> list[float]:
    return [w / NS_PER_S for w in whens]


def _compile_column(
    seed: int, table: str, spec: FieldSpec, generation: int, one: FieldValues
) -> FieldColumn:
    """The column function of one field (see ValueModel.column).

    Measured numbers (the float types: most of a table) hash a whole block at once and
    evaluate the signal per record with the very expressions of the per-record function;
    counters whose every record number is in the type's range are the numbers; everything
    else applies ``one``, the per-record function, to each record.
    """
    code = spec.type_code
    kind = _kind(spec.variable)
    count = spec.element_count
    base = _chain(_prefix(seed, table, spec.name), (generation,))
    rule = _noise_rule(spec, code, kind)
    if rule is not None:

        def by_noise(
            numbers: Sequence[int], whens: Sequence[int], share: BlockShare | None = None
        ) -> list[Value]:
            noise = _hash_block(base, numbers, count, share)
            columns: list[list[Value]] = [list(map(rule, column)) for column in noise]
            return columns[0] if count == 1 else list(zip(*columns, strict=True))

        return by_noise
    if spec.is_string or code not in _FLOATS or kind == "counter":
        # An integer counter is max(lo, min(hi, record)): the record number itself
        # whenever the numbers are within the type's range.
        span = _INT_RANGES.get(code) if kind == "counter" and count == 1 else None

        def each_record(
            numbers: Sequence[int], whens: Sequence[int], share: BlockShare | None = None
        ) -> list[Value]:
            if span is not None and numbers and span[0] <= min(numbers) <= max(numbers) <= span[1]:
                return list(numbers)
            return [one(r, w) for r, w in zip(numbers, whens, strict=True)]

        return each_record
    signal = _SIGNALS[kind]
    quantized = _quantizer(code)
    flaky = kind in ("air", "humidity") and code in _NAN_CAPABLE
    nan_base = _chain(_prefix(seed, "nan", table, spec.name), (generation,))
    nan: Value = math.nan if count == 1 else (math.nan,) * count

    def measured(
        numbers: Sequence[int], whens: Sequence[int], share: BlockShare | None = None
    ) -> list[Value]:
        share = share or BlockShare()
        times = share.get("seconds", lambda: _seconds(whens))
        bulk = _fast_path() if len(numbers) >= _NUMPY_FROM else None
        if bulk is not None and (vector := bulk.vector_signal(kind)) is not None:
            return fast(numbers, times, vector, bulk, share)
        noise = _hash_block(base, numbers, count, share)
        columns: list[list[Value]] = [
            [
                quantized(signal(t, n, e, r))
                for t, n, r in zip(times, noise[e], numbers, strict=True)
            ]
            for e in range(count)
        ]
        out: list[Value] = (
            columns[0] if count == 1 else [tuple(row) for row in zip(*columns, strict=True)]
        )
        if flaky:
            (sick,) = _hash_block(nan_base, numbers, None, share)
            out = [nan if draw < NAN_SHARE else v for draw, v in zip(sick, out, strict=True)]
        return out

    def fast(
        numbers: Sequence[int], times: list[float], vector: Any, bulk: Any, share: BlockShare
    ) -> list[Value]:
        """``measured`` in array operations (emulator/bulk.py), the same values."""
        noise = bulk.hash_block(base, numbers, count, share)
        vector_quantized = bulk.vector_quantizer(code)
        columns: list[list[Scalar]] = []
        for e in range(count):
            raw = vector(times, noise[e], e, share)
            if vector_quantized is not None:
                columns.append(bulk.to_list(vector_quantized(raw), None))
            else:
                columns.append(bulk.to_list(raw, quantized))
        out: list[Value] = (
            list(columns[0]) if count == 1 else [tuple(row) for row in zip(*columns, strict=True)]
        )
        if flaky:
            sick = bulk.hash_block(nan_base, numbers, None, share)[0].tolist()
            out = [nan if draw < NAN_SHARE else v for draw, v in zip(sick, out, strict=True)]
        return out

    return measured


def _diurnal(t: float) -> float:
    day = (t % 86_400.0) / 86_400.0
    return math.sin(2 * math.pi * (day - 0.375))  # peaks mid-afternoon


def _battery(t: float, noise: float, element: int, record: int) -> float:
    return 12.5 + 0.9 * max(0.0, _diurnal(t)) + 0.1 * (noise - 0.5)


def _panel(t: float, noise: float, element: int, record: int) -> float:
    return 18.0 + 9.0 * _diurnal(t) + 0.4 * (noise - 0.5)


def _air(t: float, noise: float, element: int, record: int) -> float:
    return 15.0 + 8.0 * _diurnal(t) + 0.6 * (noise - 0.5)


def _humidity(t: float, noise: float, element: int, record: int) -> float:
    return min(100.0, max(5.0, 65.0 - 25.0 * _diurnal(t) + 6.0 * (noise - 0.5)))


def _wind(t: float, noise: float, element: int, record: int) -> float:
    gust = math.sin(2 * math.pi * t / 7_200.0 + element)
    return abs(3.0 + 2.0 * gust + 3.0 * (noise - 0.5)) + 0.1 * element


def _component(t: float, noise: float, element: int, record: int) -> float:
    return 2.0 * math.sin(2 * math.pi * t / 600.0 + element) + 1.5 * (noise - 0.5)


def _direction(t: float, noise: float, element: int, record: int) -> float:
    return (200.0 + 60.0 * math.sin(2 * math.pi * t / 20_000.0) + 40.0 * (noise - 0.5)) % 360.0


def _rain(t: float, noise: float, element: int, record: int) -> float:
    return 0.254 * (1 + int(noise * 300)) if noise < 0.03 else 0.0


def _pressure(t: float, noise: float, element: int, record: int) -> float:
    return 1013.0 + 6.0 * math.sin(2 * math.pi * t / 259_200.0) + 0.5 * (noise - 0.5)


def _solar(t: float, noise: float, element: int, record: int) -> float:
    day = (t % 86_400.0) / 86_400.0
    return max(0.0, 900.0 * math.sin(2 * math.pi * (day - 0.25))) * (0.8 + 0.2 * noise)


def _counter(t: float, noise: float, element: int, record: int) -> float:
    return float(record)


def _flat(t: float, noise: float, element: int, record: int) -> float:
    return 0.0


def _generic(t: float, noise: float, element: int, record: int) -> float:
    return 100.0 * noise


#: A plausible reading of each kind of variable at logger time ``t`` (seconds since
#: 1990), given the record's noise in [0, 1).
_SIGNALS: dict[str, Callable[[float, float, int, int], float]] = {
    "battery": _battery,
    "panel": _panel,
    "air": _air,
    "humidity": _humidity,
    "wind": _wind,
    "component": _component,
    "direction": _direction,
    "rain": _rain,
    "pressure": _pressure,
    "solar": _solar,
    "counter": _counter,
    "diagnostic": _flat,
    "generic": _generic,
}


def logger_datetime(when_ns: int) -> dt.datetime:
    """Logger-local naive datetime of a logger time in nanoseconds since 1990."""
    return nsec_to_datetime(NSec.from_total_ns(when_ns))
