"""The shared data model (fieldlink.pakbus.protocol.model): Record, as built by callers
and as built in bulk by the decoder, must be indistinguishable to whoever uses it."""

from __future__ import annotations

import copy
import datetime as dt
import pickle

import pytest

from fieldlink.pakbus.protocol.model import Record, Value, records_from_rows

WHEN = dt.datetime(2024, 5, 1, 12, 0)
NAMES = ("AirT", "Wind", "Msg")
ROW: tuple[Value, ...] = (21.5, (1.0, 2.5, 3.25), "OK")


def decoded(number: int = 7, row: tuple[Value, ...] = ROW) -> Record:
    """A record the way parse_collect_payload makes them: values kept as a row."""
    (record,) = records_from_rows("T", number, [WHEN], NAMES, [row])
    return record


def test_record_is_built_positionally_and_by_keyword() -> None:
    a = Record("T", 7, WHEN, {"AirT": 21.5})
    b = Record(table="T", number=7, timestamp=WHEN, values={"AirT": 21.5})
    assert (a.table, a.number, a.timestamp, a.values) == ("T", 7, WHEN, {"AirT": 21.5})
    assert a == b
    assert Record("T", 1, WHEN).values == {}
    assert Record("T", 1, WHEN).values is not Record("T", 1, WHEN).values  # no shared default


def test_a_decoded_record_equals_the_same_record_built_from_a_dict() -> None:
    eager = Record("T", 7, WHEN, dict(zip(NAMES, ROW, strict=True)))
    lazy = decoded()
    assert lazy == eager and eager == lazy
    assert lazy.values == {"AirT": 21.5, "Wind": (1.0, 2.5, 3.25), "Msg": "OK"}
    assert list(lazy.values) == list(NAMES)  # field order is kept
    assert lazy.values is lazy.values  # made once, then kept
    assert repr(lazy) == repr(eager)
    assert repr(lazy).startswith("Record(table='T', number=7, timestamp=datetime.datetime(")


@pytest.mark.parametrize(
    "other",
    [
        Record("U", 7, WHEN, dict(zip(NAMES, ROW, strict=True))),
        Record("T", 8, WHEN, dict(zip(NAMES, ROW, strict=True))),
        Record("T", 7, WHEN.replace(minute=1), dict(zip(NAMES, ROW, strict=True))),
        Record("T", 7, WHEN, {"AirT": 21.5, "Wind": (1.0, 2.5, 3.25), "Msg": "SENSOR"}),
    ],
)
def test_records_differing_in_any_field_are_not_equal(other: Record) -> None:
    assert decoded() != other


def test_records_do_not_equal_other_types_and_are_not_hashable() -> None:
    assert decoded() != ("T", 7, WHEN, dict(zip(NAMES, ROW, strict=True)))
    with pytest.raises(TypeError):
        hash(decoded())


def test_flat_expands_arrays_in_column_order_for_both_kinds() -> None:
    expected = [21.5, 1.0, 2.5, 3.25, "OK"]
    assert decoded().flat() == expected
    assert Record("T", 7, WHEN, dict(zip(NAMES, ROW, strict=True))).flat() == expected
    lazy = decoded()
    _ = lazy.values
    assert lazy.flat() == expected  # after the dict is made, too


def test_records_pickle_and_copy_as_records() -> None:
    for record in (decoded(), Record("T", 3, WHEN, {"A": 1})):
        for clone in (pickle.loads(pickle.dumps(record)), copy.copy(record), copy.deepcopy(record)):
            assert type(clone) is Record
            assert clone == record


def test_pattern_matching_sees_the_public_fields() -> None:
    match decoded():
        case Record("T", number, when, {"Msg": message}):
            assert (number, when, message) == (7, WHEN, "OK")
        case _:
            pytest.fail("a decoded record did not match its own fields")


def test_records_from_rows_numbers_consecutively_and_pairs_stamps_with_rows() -> None:
    stamps = [WHEN + dt.timedelta(minutes=k) for k in range(3)]
    rows: list[tuple[Value, ...]] = [(float(k), (k, k), str(k)) for k in range(3)]
    records = records_from_rows("T", 2**32 - 2, stamps, NAMES, rows)
    assert [r.number for r in records] == [2**32 - 2, 2**32 - 1, 2**32]
    assert [r.timestamp for r in records] == stamps
    assert [r.values["Wind"] for r in records] == [(0, 0), (1, 1), (2, 2)]
    assert records_from_rows("T", 0, [], NAMES, []) == []


def test_from_row_is_one_decoded_record() -> None:
    assert Record.from_row("T", 7, WHEN, NAMES, ROW) == decoded()
