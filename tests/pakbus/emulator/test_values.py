"""The emulator's value model (fieldlink.pakbus.emulator.values) and the station's cache
of computed records.

The value functions are compiled per field for speed; here they are held to a plain,
slow reading of the definition (``reference_value``: hash the key parts with
``unit_noise``, pick the signal by the variable's kind, pass it through the wire type),
for every wire type, kind of variable and shape, so that speeding them up can never
change a value a test or a user has seen.
"""

from __future__ import annotations

import math
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlink.pakbus.emulator.spec import NS_PER_S, FieldSpec
from fieldlink.pakbus.emulator.station import ManualClock, Station
from fieldlink.pakbus.emulator.values import (
    NAN_SHARE,
    ValueModel,
    logger_datetime,
    quantize,
    unit_noise,
)
from fieldlink.pakbus.protocol.codes import FileCommand
from fieldlink.pakbus.protocol.model import Scalar, Value
from fieldlink.pakbus.protocol.records import RecordLayout
from fieldlink.pakbus.protocol.types import DataType

MESSAGES = ("OK", "OK", "OK", "OK", "OK", "LOW BATTERY", "SENSOR CHECK", "HEATER ON", "SERVICE")
FLOATS = {
    DataType.FP2,
    DataType.FP3,
    DataType.FP4,
    DataType.FS4,
    DataType.IEEE4,
    DataType.IEEE8,
    DataType.IEEE4_LSF,
    DataType.IEEE8_LSF,
}
INT_RANGES = {
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
#: A variable name of each kind the model knows, with its kind.
VARIABLES = {
    "BattV": "battery",
    "PTemp_C": "panel",
    "AirTC": "air",
    "RH": "humidity",
    "Ux": "component",
    "WS_ms": "wind",
    "WDir": "direction",
    "Rain_mm": "rain",
    "BP_mbar": "pressure",
    "SlrW": "solar",
    "Counter": "counter",
    "Diag": "diagnostic",
    "Level": "generic",
}


def reference_signal(kind: str, t: float, noise: float, element: int, record: int) -> float:
    day = (t % 86_400.0) / 86_400.0
    diurnal = math.sin(2 * math.pi * (day - 0.375))
    wiggle = noise - 0.5
    signals = {
        "battery": lambda: 12.5 + 0.9 * max(0.0, diurnal) + 0.1 * wiggle,
        "panel": lambda: 18.0 + 9.0 * diurnal + 0.4 * wiggle,
        "air": lambda: 15.0 + 8.0 * diurnal + 0.6 * wiggle,
        "humidity": lambda: min(100.0, max(5.0, 65.0 - 25.0 * diurnal + 6.0 * wiggle)),
        "wind": lambda: (
            abs(3.0 + 2.0 * math.sin(2 * math.pi * t / 7_200.0 + element) + 3.0 * wiggle)
            + 0.1 * element
        ),
        "component": lambda: 2.0 * math.sin(2 * math.pi * t / 600.0 + element) + 1.5 * wiggle,
        "direction": lambda: (
            (200.0 + 60.0 * math.sin(2 * math.pi * t / 20_000.0) + 40.0 * wiggle) % 360.0
        ),
        "rain": lambda: 0.254 * (1 + int(noise * 300)) if noise < 0.03 else 0.0,
        "pressure": lambda: 1013.0 + 6.0 * math.sin(2 * math.pi * t / 259_200.0) + 0.5 * wiggle,
        "solar": lambda: (
            max(0.0, 900.0 * math.sin(2 * math.pi * (day - 0.25))) * (0.8 + 0.2 * noise)
        ),
        "counter": lambda: float(record),
        "diagnostic": lambda: 0.0,
        "generic": lambda: 100.0 * noise,
    }
    return signals[kind]()


def reference_value(
    seed: int, table: str, spec: FieldSpec, record: int, when_ns: int, generation: int
) -> Value:
    """The definition, element by element, with nothing precomputed."""
    kind = VARIABLES[spec.variable]
    code = spec.type_code
    out: list[Scalar] = []
    for element in range(spec.element_count):
        noise = unit_noise(seed, table, spec.name, generation, record, element)
        value: Scalar
        if spec.is_string:
            text = MESSAGES[int(noise * len(MESSAGES))] if kind != "counter" else str(record)
            text = text[: spec.string_length]
            value = text if code == DataType.ASCIIZ else quantize(code, text, spec.string_length)
        elif code in (DataType.BOOL, DataType.BOOL2, DataType.BOOL4):
            value = noise < 0.1
        elif code in (DataType.SEC, DataType.USEC, DataType.NSEC, DataType.NSEC_LSF):
            value = quantize(code, logger_datetime(when_ns))
        elif code in INT_RANGES:
            lo, hi = INT_RANGES[code]
            if kind == "counter":
                number = record
            elif kind == "diagnostic":
                number = 1 + int(noise * 700) % 7 if noise < 0.02 else 0
            else:
                number = int(noise * 1000)
            value = max(lo, min(hi, number))
        elif (
            kind in ("air", "humidity")
            and code in FLOATS - {DataType.FP4, DataType.FS4}
            and unit_noise(seed, "nan", table, spec.name, generation, record) < NAN_SHARE
        ):
            value = math.nan
        else:
            value = quantize(
                code, reference_signal(kind, when_ns / NS_PER_S, noise, element, record)
            )
        out.append(value)
    return out[0] if len(out) == 1 else tuple(out)


def same(a: object, b: object) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def specs() -> list[FieldSpec]:
    out = []
    for code in DataType:
        strings = code in (DataType.ASCII, DataType.ASCIIZ)
        for variable in VARIABLES:
            for dims in [(8,), (3, 5)] if strings else [(), (3,)]:
                name = f"{variable}_{code.name}_{len(dims)}"
                out.append(FieldSpec(name, code, dims=dims, source=variable))
    return out


#: Records spread over days (diurnal signals) and a large record number.
RECORDS = [*range(0, 3000, 100), 10**7 + 1]


@pytest.mark.parametrize(("seed", "generation"), [(0, 0), (11, 3)])
def test_every_type_kind_and_shape_matches_the_definition(seed: int, generation: int) -> None:
    model = ValueModel(seed)
    nans = 0
    for spec in specs():
        compiled = model.field("Tbl", spec, generation)
        for record in RECORDS:
            when = ((record % 50_000) * 600 + 7) * NS_PER_S + record % 3 * 250_000_000
            expected = reference_value(seed, "Tbl", spec, record, when, generation)
            assert same(compiled(record, when), expected), (spec, record)
            assert same(model.value("Tbl", spec, record, when, generation=generation), expected)
            nans += isinstance(expected, float) and math.isnan(expected)
    assert nans > 0  # the flaky-sensor rule was compared too


def test_flaky_sensors_read_nan_about_one_record_in_a_hundred() -> None:
    model = ValueModel(0)
    spec = FieldSpec("AirTC_Avg", DataType.IEEE4, source="AirTC")
    values = [model.value("T", spec, n, n * 60 * NS_PER_S) for n in range(2000)]
    nans = sum(1 for v in values if isinstance(v, float) and math.isnan(v))
    assert 5 <= nans <= 50


# --- the station's cache of recent records ------------------------------------------------


def station(records: int = 300) -> tuple[Station, ManualClock]:
    clock = ManualClock()
    return Station(records=records, seed=4, clock=clock), clock


def test_collect_side_and_ground_truth_agree_with_and_without_the_cache() -> None:
    s, _ = station()
    numbers = s.record_numbers("Table1")
    cold = s.stored_records("Table1", numbers)  # computes and caches the newest 512
    warm = s.stored_records("Table1", numbers)  # served from the cache where it can
    truth = s.records("Table1")
    assert len(cold) == len(warm) == len(truth) == 300
    for (n1, t1, v1), (n2, t2, v2), record in zip(cold, warm, truth, strict=True):
        assert n1 == n2 == record.number and t1 == t2
        assert same(tuple(v1.values()), tuple(record.values.values()))
        assert same(tuple(v2.values()), tuple(v1.values()))


def test_changing_a_ground_truth_record_does_not_change_the_station() -> None:
    s, _ = station()
    first = s.records("Table1", 0, 1)[0]
    first.values["Counter"] = -1
    assert s.records("Table1", 0, 1)[0].values["Counter"] == 0
    assert s.record("Table1", 0).values["Counter"] == 0
    assert s.stored_records("Table1", [0])[0][2]["Counter"] == 0


def test_a_reset_table_does_not_serve_old_values_from_the_cache() -> None:
    s, clock = station()
    spec = next(f for f in s.data_table_specs()[0].fields if f.name == "BattV_Min")
    s.stored_records("Table1", range(0, 3))  # cached under the first generation
    assert s.reset_table("Table1") == 0
    clock.advance(5 * 60)
    table = s.table_state("Table1")
    assert table.generation == 1 and s.record_numbers("Table1").start == 0
    model = ValueModel(4)
    for number, when, values in s.stored_records("Table1", range(0, 3)):
        expected = model.value("Table1", spec, number, when.total_ns, generation=1)  # type: ignore[union-attr]
        assert same(values["BattV_Min"], expected)
        assert same(s.record("Table1", number).values["BattV_Min"], expected)


def test_a_new_program_with_the_same_table_name_gets_its_own_values() -> None:
    s, clock = station()
    old = s.stored_records("Table1", [0])[0][2]
    program = textwrap.dedent(
        """\
        Public Level
        DataTable(Table1, True, 1000)
          DataInterval(0, 1, Min, 10)
          Sample(1, Level, FP2)
        EndTable
        BeginProg
          Scan(1, Sec, 0, 0)
            CallTable Table1
          NextScan
        EndProg
        """
    )
    s.files.write("CPU:new.CR1", program.encode(), "2024-05-01 12:00:00")
    assert s.file_control("CPU:new.CR1", FileCommand.RUN_AND_SET_POWER_UP) == 0
    clock.advance(5 * 60)
    assert s.record_numbers("Table1").start == 0  # numbering starts again: 0 is reused
    values = s.stored_records("Table1", [0])[0][2]
    assert list(values) == ["Level"] and "Counter" in old
    assert values == s.record("Table1", 0).values


@pytest.mark.parametrize("numpy", [True, False])
def test_columns_compute_what_the_per_record_functions_do(
    numpy: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of records (the emulator's bulk path, with and without numpy) hold the
    same values, bit for bit, as one record at a time: each field's column alone, and
    every field's column of a block computed together (sharing the block's times and
    arrays), with record numbers beyond an integer counter's range and within it."""
    from fieldlink.pakbus.emulator import values as values_module

    if not numpy:
        monkeypatch.setattr(values_module, "_bulk", None)
    elif values_module._fast_path() is None:
        pytest.skip("numpy is not installed")
    model = ValueModel(11)
    everything = specs()
    nans = 0
    for numbers in ([*range(0, 3000, 97), 10**7 + 1, 2**32 - 1], list(range(90, 127))):
        whens = [((n % 50_000) * 600 + 7) * NS_PER_S + n % 3 * 250_000_000 for n in numbers]
        together = model.columns("Tbl", everything, numbers, whens, 3)
        for spec, block in zip(everything, together, strict=True):
            column = model.column("Tbl", spec, 3)(numbers, whens)
            one = model.field("Tbl", spec, 3)
            for n, when, value, shared in zip(numbers, whens, column, block, strict=True):
                assert same(value, one(n, when)), (spec, n)
                assert same(shared, value), (spec, n)
                nans += isinstance(value, float) and math.isnan(value)
    assert nans > 0


#: Types of each path of a column: array signals (two float codes), noise rules, per record.
BLOCK_CODES = (DataType.FP2, DataType.IEEE8, DataType.BOOL4, DataType.INT2, DataType.ASCII)


@settings(max_examples=12, deadline=None)
@given(
    start=st.integers(0, 2**32 - 600),
    first_ns=st.integers(0, 2**62 // 1000),
    step_ns=st.sampled_from([100_000_000, 60 * NS_PER_S, 3_600 * NS_PER_S, 7 * NS_PER_S + 3]),
    count=st.integers(16, 90),
)
def test_numpy_blocks_match_one_record_at_a_time_anywhere_in_time(
    start: int, first_ns: int, step_ns: int, count: int
) -> None:
    """The array path (time parts included: every signal, with math.sin per element)
    gives each record's value bit for bit, at any time of day and any record number."""
    from fieldlink.pakbus.emulator import values as values_module

    if values_module._fast_path() is None:
        pytest.skip("numpy is not installed")
    model = ValueModel(start % 97)
    numbers = list(range(start, start + count))
    whens = [first_ns + i * step_ns for i in range(count)]
    for spec in (s for s in specs() if s.type_code in BLOCK_CODES):
        column = model.column("Tbl", spec, 1)(numbers, whens)
        one = model.field("Tbl", spec, 1)
        for n, when, value in zip(numbers, whens, column, strict=True):
            assert same(value, one(n, when)), (spec, n, when)


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.integers(0, 299), st.integers(1, 40)).map(
                lambda a: list(range(a[0], min(300, a[0] + a[1])))
            ),
            st.lists(st.integers(0, 299), min_size=1, max_size=6),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_rows_served_in_any_order_are_the_records(requests: list[list[int]]) -> None:
    """Whatever the device asks for -- forward runs, overlaps, going back, scattered or
    repeated numbers -- stored_rows gives each record's time and values in field order,
    as the ground truth has them (the station's block of rows never serves stale ones).
    Asked with a layout, it gives the same records, some as their value bytes for it
    (encoded once per block)."""
    s, _ = station()
    names = [f.name for f in s.table_def("Table1").fields]
    truth = {r.number: r for r in s.records("Table1")}
    layout = RecordLayout(s.table_def("Table1"), [2, 1])
    for numbers in requests:
        rows = s.stored_rows("Table1", numbers)
        assert [n for n, _, _ in rows] == numbers
        for n, ns, row in rows:
            assert ns == s.table_state("Table1").time_of(n)
            assert same(tuple(row), tuple(truth[n].values[name] for name in names))
        packed = s.stored_rows("Table1", numbers, layout)
        assert [(n, ns) for n, ns, _ in packed] == [(n, ns) for n, ns, _ in rows]
        for n, _, values in packed:
            want = layout.encode_row(layout.select([truth[n].values[name] for name in names]))
            got = values if isinstance(values, bytes) else layout.encode_row(layout.select(values))
            assert got == want
