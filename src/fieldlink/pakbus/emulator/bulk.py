"""The optional numpy fast path of the value model: a block of records in array operations.

Only used when numpy is importable (it is not a dependency) and for blocks large
enough to pay numpy's per-call cost.  It computes *exactly* what the per-record
functions of :mod:`fieldlink.pakbus.emulator.values` compute, bit for bit:

- the hash: uint64 arithmetic wraps modulo 2**64 as the masked Python does, and
  ``h >> 11`` < 2**53 converts to a float exactly;
- the signals: each is split into a part that depends on time only and a part with the
  noise; both are + - * / % abs min max floor, correctly rounded IEEE operations in
  numpy and in Python alike, evaluated in the same order, and ``math.sin`` applied to
  each element (no ``np.sin``, whose last bit may differ);
- the wire types: FP2 by the same rule as ``types.fp2_to_word`` then the same table,
  IEEE4 by a float32 round trip (what ``struct`` does); other types go through the
  per-value quantizer.

``tests/pakbus/emulator/test_values.py`` holds the columns to the per-record functions
for every type, kind and shape; a change to a signal in values.py must be made here too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fieldlink.pakbus.emulator.values import BlockShare
from fieldlink.pakbus.protocol.model import Scalar
from fieldlink.pakbus.protocol.types import FP2_TABLE, DataType

__all__ = ["hash_block", "to_list", "vector_quantizer", "vector_signal"]

_U64 = np.uint64
_C1 = _U64(0xBF58476D1CE4E5B9)
_C2 = _U64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = _U64(30), _U64(27), _U64(31), _U64(11)
_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1
_UNIT = float(1 << 53)
_FP2 = np.array(FP2_TABLE, dtype=np.float64)
_POW10 = np.array([1.0, 10.0, 100.0, 1000.0])

Array = Any  # numpy arrays (numpy is untyped enough here that Any says it honestly)


def _mix(h: Array) -> Array:
    h ^= h >> _S30
    h *= _C1
    h ^= h >> _S27
    h *= _C2
    h ^= h >> _S31
    return h


def hash_block(
    base: int, numbers: Sequence[int], elements: int | None, share: BlockShare
) -> list[Array]:
    """Noise arrays of a block of records: the record step only (``elements`` None), or
    one array per element (see values._hash_block)."""
    records = share.get("records", lambda: np.fromiter(numbers, dtype=_U64, count=len(numbers)))
    state = _mix(records + _U64((base + _GOLDEN) & _MASK64))
    if elements is None:
        return [(state >> _S11).astype(np.float64) / _UNIT]
    return [
        (_mix(state + _U64((_GOLDEN + e) & _MASK64)) >> _S11).astype(np.float64) / _UNIT
        for e in range(elements)
    ]


def _sin(x: Array) -> Array:
    """``math.sin`` of each element, in C (``map``); never ``np.sin``, whose last bit may
    differ from the per-record functions'."""
    return np.fromiter(map(math.sin, x.tolist()), dtype=np.float64, count=len(x))


def _positive(x: Array) -> Array:
    """``max(0.0, x)`` as Python gives it: ``x`` where it is > 0, else 0.0."""
    return np.where(x > 0.0, x, 0.0)


def _diurnal(t: Array) -> Array:
    day = np.remainder(t, 86_400.0) / 86_400.0
    return _sin(2 * math.pi * (day - 0.375))


class _Times:
    """A block's times (seconds) as an array, and the day's wave of them, which four
    of the signals start from: worked out once per block (in its BlockShare)."""

    __slots__ = ("_diurnal", "t")

    def __init__(self, seconds: Sequence[float]) -> None:
        self.t: Array = np.array(seconds, dtype=np.float64)
        self._diurnal: Array | None = None

    @property
    def diurnal(self) -> Array:
        if self._diurnal is None:
            self._diurnal = _diurnal(self.t)
        return self._diurnal


#: The time-only leading part of each signal (values._SIGNALS), on a block's times:
#: the same IEEE operations in the same order (np.remainder is Python's % on floats).
_TIME_PARTS: dict[str, Callable[[_Times, int], Array]] = {
    "battery": lambda c, e: 12.5 + 0.9 * _positive(c.diurnal),
    "panel": lambda c, e: 18.0 + 9.0 * c.diurnal,
    "air": lambda c, e: 15.0 + 8.0 * c.diurnal,
    "humidity": lambda c, e: 65.0 - 25.0 * c.diurnal,
    "wind": lambda c, e: 3.0 + 2.0 * _sin(2 * math.pi * c.t / 7_200.0 + e),
    "component": lambda c, e: 2.0 * _sin(2 * math.pi * c.t / 600.0 + e),
    "direction": lambda c, e: 200.0 + 60.0 * _sin(2 * math.pi * c.t / 20_000.0),
    "pressure": lambda c, e: 1013.0 + 6.0 * _sin(2 * math.pi * c.t / 259_200.0),
    "solar": lambda c, e: _positive(
        900.0 * _sin(2 * math.pi * (np.remainder(c.t, 86_400.0) / 86_400.0 - 0.25))
    ),
}

#: The rest of each signal: (time part, noise, element) -> value, on arrays.
_FINISH: dict[str, Callable[[Array, Array, int], Array]] = {
    "battery": lambda a, n, e: a + 0.1 * (n - 0.5),
    "panel": lambda a, n, e: a + 0.4 * (n - 0.5),
    "air": lambda a, n, e: a + 0.6 * (n - 0.5),
    "humidity": lambda a, n, e: np.minimum(100.0, np.maximum(5.0, a + 6.0 * (n - 0.5))),
    "wind": lambda a, n, e: np.abs(a + 3.0 * (n - 0.5)) + 0.1 * e,
    "component": lambda a, n, e: a + 1.5 * (n - 0.5),
    "direction": lambda a, n, e: np.remainder(a + 40.0 * (n - 0.5), 360.0),
    "pressure": lambda a, n, e: a + 0.5 * (n - 0.5),
    "solar": lambda a, n, e: a * (0.8 + 0.2 * n),
    "rain": lambda a, n, e: np.where(n < 0.03, 0.254 * (1.0 + np.floor(n * 300.0)), 0.0),
    "diagnostic": lambda a, n, e: np.zeros_like(n),
    "generic": lambda a, n, e: 100.0 * n,
}


def vector_signal(
    kind: str,
) -> Callable[[Sequence[float], Array, int, BlockShare], Array] | None:
    """``(times in seconds, noise array, element, share) -> signal array`` for ``kind``,
    or None."""
    finish = _FINISH.get(kind)
    if finish is None:
        return None
    timed = _TIME_PARTS.get(kind)

    def signal(times: Sequence[float], noise: Array, element: int, share: BlockShare) -> Array:
        if timed is None:
            return finish(None, noise, element)
        clock = share.get("times", lambda: _Times(times))
        return finish(timed(clock, element), noise, element)

    return signal


def _fp2(values: Array) -> Array:
    """types.fp2_to_word then FP2_TABLE, for finite values."""
    magnitude: Array = np.abs(values)
    decimals: Array = np.where(
        magnitude < 8, 3, np.where(magnitude < 80, 2, np.where(magnitude < 800, 1, 0))
    )
    magnitude = np.where(decimals == 0, np.minimum(magnitude, 7999.0), magnitude)
    mantissa = np.floor(magnitude * _POW10[decimals] + 0.5).astype(np.int64)
    words = np.where(values < 0, 0x8000, 0) | (decimals << 13) | mantissa
    return _FP2[np.where(mantissa == 0, 0, words)]


def _ieee4(values: Array) -> Array:
    return values.astype(np.float32).astype(np.float64)


def vector_quantizer(code: int) -> Callable[[Array], Array] | None:
    """``quantize`` of wire type ``code`` on an array of finite values, or None."""
    if code == DataType.FP2:
        return _fp2
    if code == DataType.IEEE4:
        return _ieee4
    if code == DataType.IEEE8:
        return lambda values: values
    return None


def to_list(values: Array, fallback: Callable[[float], Scalar] | None) -> list[Scalar]:
    """Python floats of an array; through ``fallback`` per value when given."""
    items: list[float] = values.tolist()
    if fallback is None:
        return list(items)
    return [fallback(v) for v in items]
