"""The record-layout cache (records.layout_for) with room for a fleet."""

from __future__ import annotations

import dataclasses

import pytest

from fieldlink.pakbus.protocol import records
from fieldlink.pakbus.protocol.model import FieldDef, TableDef
from fieldlink.pakbus.protocol.records import layout_for
from fieldlink.pakbus.protocol.tabledef import make_table
from fieldlink.pakbus.protocol.types import DataType
from fieldlink.pakbus.protocol.wire import NSec

FIELDS = (FieldDef("BattV", DataType.FP2), FieldDef("Temp", DataType.IEEE4))


def table(name: str = "Table1") -> TableDef:
    return make_table(name, 1000, DataType.NSEC, NSec(), NSec(60), FIELDS, number=2)


def test_equal_definitions_share_one_layout() -> None:
    """A thousand loggers running one program: one compiled layout, not a thousand."""
    first = table()
    copies = [dataclasses.replace(first) for _ in range(1000)]
    assert all(c is not first and c == first for c in copies)
    layout = layout_for(first)
    assert all(layout_for(c) is layout for c in copies)


def test_a_fleet_of_distinct_tables_stays_cached() -> None:
    """More distinct tables than the old cache held (256) are all still cached."""
    tables = [table(f"T{i}") for i in range(1000)]
    layouts = [layout_for(t) for t in tables]
    assert all(layout_for(t) is lay for t, lay in zip(tables, layouts, strict=True))
    assert len(records._LAYOUTS) <= records._LAYOUT_CACHE_SIZE


def test_an_unequal_table_with_the_same_signature_gets_its_own_layout() -> None:
    """Hand-built definitions may all have signature 0: equality decides, not the key."""
    a = dataclasses.replace(table(), signature=0)
    b = dataclasses.replace(a, fields=(FieldDef("BattV", DataType.IEEE4),))
    assert layout_for(a).fields != layout_for(b).fields
    assert layout_for(b).table is b


def test_the_cache_forgets_its_oldest_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "_LAYOUT_CACHE_SIZE", 8)
    monkeypatch.setattr(records, "_LAYOUTS", {})
    monkeypatch.setattr(records, "_BY_IDENTITY", {})
    tables = [table(f"F{i}") for i in range(20)]
    for t in tables:
        layout_for(t)
    assert len(records._LAYOUTS) == 8 and len(records._BY_IDENTITY) == 8
    assert layout_for(tables[-1]).table is tables[-1]
