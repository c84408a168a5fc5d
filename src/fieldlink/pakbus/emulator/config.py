"""The emulated station's description: the built-in default, or a ``--station`` TOML file.

The default station is a small weather station: ``Table1`` every minute (battery,
panel and air temperature, humidity, a four-sensor wind-speed array, a status
string, a counter and rain, in FP2, IEEE4, Long and ASCII), ``Fast`` at 10 Hz (a
sonic anemometer) and the Public variables behind them.

A TOML file can change the identity, describe other tables, point at a CRBasic
program, and put more loggers behind this one.  Every key is optional::

    station_name = "RIDGE"          # also: model, serial_number, program_name
    records = 500                   # history in the first data table at start
    security_code = 1234            # level 1; or security = [l1, l2, l3]
    usr_drive_size = 65536          # bytes of the USR: drive
    program = "ridge.CR1"           # a CRBasic program (relative to this file) ...

    [[tables]]                      # ... or the tables themselves
    name = "Hourly"
    interval = 3600                 # seconds, or "1 hr", "100 ms"; 0 = event table
    every = 600                     # event tables: store a record this often
    size = 1000                     # ring size in records
    [[tables.fields]]
    name = "BattV_Min"
    type = "FP2"                    # FP2 IEEE4 Long UINT2 UINT4 Boolean String NSEC Bool8 IEEE8
    processing = "Min"              # Smp Avg Max Min Tot Std
    units = "Volts"
    dims = [4]                      # optional array shape
    length = 16                     # strings only

    [[public]]                      # Public variables (default: the tables' sources)
    name = "Setpoint"
    type = "Float"                  # Float Long Boolean Double String

    [[neighbours]]                  # loggers reached through this one (PakBus routing)
    node = 2
    model = "CR800"
    station = "behind.toml"         # optional; or any of the keys above, inline

``examples/station.toml`` (with its program ``examples/ridge.CR1``) is a commented
example.  Mistakes raise :class:`~fieldlink.errors.ConfigError` naming the file and
key; :func:`check_addresses` refuses loggers that share a PakBus address.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fieldlink.errors import ConfigError
from fieldlink.pakbus.emulator.crbasic import (
    DEFAULT_STRING_LENGTH,
    EVENT_EVERY_NS,
    OUTPUT_TYPES,
    PUBLIC_TYPES,
    CompileError,
    parse_program,
    variable_type,
)
from fieldlink.pakbus.emulator.models import MODELS
from fieldlink.pakbus.emulator.spec import (
    NS_PER_S,
    PROCESSING_SUFFIXES,
    FieldSpec,
    ProgramSpec,
    TableSpec,
)
from fieldlink.pakbus.protocol.types import DataType

__all__ = [
    "DEFAULT_RECORDS",
    "NeighbourConfig",
    "StationConfig",
    "check_addresses",
    "default_program",
    "load_station",
    "parse_station",
    "public_for",
]

_T = TypeVar("_T")

#: History in ``Table1`` when nothing says otherwise.
DEFAULT_RECORDS = 10_000

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DURATION = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*\Z")
_DURATION_UNITS = {
    "": NS_PER_S,
    "s": NS_PER_S,
    "sec": NS_PER_S,
    "ms": 1_000_000,
    "msec": 1_000_000,
    "us": 1_000,
    "usec": 1_000,
    "min": 60 * NS_PER_S,
    "m": 60 * NS_PER_S,
    "h": 3_600 * NS_PER_S,
    "hr": 3_600 * NS_PER_S,
    "day": 86_400 * NS_PER_S,
    "d": 86_400 * NS_PER_S,
}
_FIELD_TYPES = {
    **OUTPUT_TYPES,
    "ascii": DataType.ASCII,
    "int4": DataType.INT4,
    "bool4": DataType.BOOL4,
}
_VAR_TYPES = {
    **PUBLIC_TYPES,
    "ieee4": DataType.IEEE4,
    "int4": DataType.INT4,
    "ascii": DataType.ASCII,
    "bool4": DataType.BOOL4,
    "ieee8": DataType.IEEE8,
}
_FIELD_TYPE_NAMES = "FP2, IEEE4, Long, UINT2, UINT4, Boolean, String, NSEC, Bool8, IEEE8"
_PROCESSING = {p.lower(): p for p in PROCESSING_SUFFIXES}

_STATION_KEYS = {
    "station_name",
    "model",
    "serial_number",
    "program_name",
    "records",
    "security_code",
    "security",
    "usr_drive_size",
    "program",
    "scan",
    "public",
    "tables",
    "neighbours",
}


@dataclass(frozen=True, slots=True)
class NeighbourConfig:
    """A logger behind this one, reached through it by PakBus routing."""

    node: int
    station: StationConfig
    #: Where the neighbour is described, for messages: ``"site.toml: neighbours[0]"``.
    origin: str = "a neighbour"


@dataclass(frozen=True, slots=True)
class StationConfig:
    """Everything a station description may say; None means "the default"."""

    program: ProgramSpec | None = None
    #: CRBasic source of ``program`` when it came from a program file.
    program_text: str | None = None
    program_name: str | None = None
    station_name: str | None = None
    serial_number: str | None = None
    model: str | None = None
    records: int | None = None
    security: tuple[int, int, int] | None = None
    usr_drive_size: int | None = None
    neighbours: tuple[NeighbourConfig, ...] = ()
    source: str = "built-in default station"


def default_program(records: int = DEFAULT_RECORDS) -> ProgramSpec:
    """The default station's program: Table1 (1 min), Fast (10 Hz) and their Public values."""

    def var(
        name: str, units: str = "", code: int = DataType.IEEE4, dims: tuple[int, ...] = ()
    ) -> FieldSpec:
        return FieldSpec(name, code, units=units, dims=dims, read_only=False, source=name)

    def out(
        source: str, processing: str, code: int, units: str = "", dims: tuple[int, ...] = ()
    ) -> FieldSpec:
        return FieldSpec(
            name=source + PROCESSING_SUFFIXES[processing],
            type_code=code,
            processing=processing,
            units=units,
            description=processing,
            dims=dims,
            source=source,
        )

    public = (
        var("BattV", "Volts"),
        var("PTemp_C", "Deg C"),
        var("AirTC", "Deg C"),
        var("RH", "%"),
        var("WS_ms", "meters/second", dims=(4,)),
        var("Rain_mm", "mm"),
        var("Status_Msg", code=DataType.ASCII, dims=(24,)),
        var("Counter", code=DataType.INT4),
        var("Ux", "m/s"),
        var("Uy", "m/s"),
        var("Uz", "m/s"),
        var("Ts", "Deg C"),
        var("diag", code=DataType.INT4),
        var("Setpoint", "Deg C"),
        var("Flag", code=DataType.BOOL4),
    )
    table1 = TableSpec(
        name="Table1",
        interval_ns=60 * NS_PER_S,
        size=max(records, DEFAULT_RECORDS) + 10_080,
        fields=(
            out("BattV", "Min", DataType.FP2, "Volts"),
            out("PTemp_C", "Avg", DataType.FP2, "Deg C"),
            out("AirTC", "Avg", DataType.IEEE4, "Deg C"),
            out("RH", "Smp", DataType.FP2, "%"),
            out("WS_ms", "Avg", DataType.IEEE4, "meters/second", dims=(4,)),
            out("Status_Msg", "Smp", DataType.ASCII, dims=(24,)),
            out("Counter", "Smp", DataType.INT4),
            out("Rain_mm", "Tot", DataType.FP2, "mm"),
        ),
    )
    fast = TableSpec(
        name="Fast",
        interval_ns=100_000_000,
        size=6_000,
        fields=(
            out("Ux", "Smp", DataType.IEEE4, "m/s"),
            out("Uy", "Smp", DataType.IEEE4, "m/s"),
            out("Uz", "Smp", DataType.IEEE4, "m/s"),
            out("Ts", "Smp", DataType.IEEE4, "Deg C"),
            out("diag", "Smp", DataType.INT4),
        ),
    )
    return ProgramSpec(public=public, tables=(table1, fast), scan_ns=100_000_000)


def public_for(tables: tuple[TableSpec, ...]) -> tuple[FieldSpec, ...]:
    """Public variables for tables given without any: one per distinct source variable."""
    seen: dict[str, FieldSpec] = {}
    for table in tables:
        for f in table.fields:
            name = f.variable
            code = variable_type(f.type_code)
            dims = (f.string_length,) if code == DataType.ASCII else ()
            if f.element_count > 1:
                dims = (f.element_count, *dims)
            old = seen.get(name.lower())
            if old is None or old.element_count < f.element_count:
                seen[name.lower()] = FieldSpec(
                    name, code, units=f.units, dims=dims, read_only=False, source=name
                )
    return tuple(seen.values())


# --- TOML -------------------------------------------------------------------------------------


class _Where:
    """Names the file and key path in error messages."""

    def __init__(self, source: str, path: str = "") -> None:
        self.source = source
        self.path = path

    def at(self, key: str | int) -> _Where:
        step = f"[{key}]" if isinstance(key, int) else (f".{key}" if self.path else key)
        return _Where(self.source, self.path + step)

    def error(self, message: str) -> ConfigError:
        where = f"{self.source}: {self.path}: " if self.path else f"{self.source}: "
        return ConfigError(where + message)


def _table(value: object, where: _Where) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.error("must be a table")
    return value


def _list_of_tables(value: object, where: _Where) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise where.error("must be an array of tables ([[...]])")
    return [_table(item, where.at(i)) for i, item in enumerate(value)]


def _each(
    data: dict[str, Any], key: str, where: _Where, parse: Callable[[dict[str, Any], _Where], _T]
) -> tuple[_T, ...]:
    """Every table of the array ``key`` (none if absent), each read by ``parse``."""
    at = where.at(key)
    return tuple(
        parse(item, at.at(i)) for i, item in enumerate(_list_of_tables(data.get(key, []), at))
    )


def _distinct(keys: Sequence[Hashable], where: _Where, message: str) -> None:
    if len(set(keys)) != len(keys):
        raise where.error(message)


def _known_keys(data: dict[str, Any], allowed: set[str], where: _Where) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise where.error(f"unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")


def _str(data: dict[str, Any], key: str, where: _Where, default: str | None = None) -> str | None:
    value = data.get(key, default)
    if value is not None and not isinstance(value, str):
        raise where.at(key).error("must be a string")
    return value


def _int(data: dict[str, Any], key: str, where: _Where, lo: int, hi: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise where.at(key).error(f"must be a whole number {lo}..{hi}")
    return value


def _name(data: dict[str, Any], where: _Where) -> str:
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise where.at("name").error("must be a name of letters, digits and _ (not first)")
    return name


def _duration(value: object, where: _Where) -> int:
    if isinstance(value, bool):
        raise where.error("must be a number of seconds or a text like '100 ms'")
    if isinstance(value, int | float):
        if value < 0:
            raise where.error("must not be negative")
        return round(value * NS_PER_S)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m and m.group(2).lower() in _DURATION_UNITS:
            return round(float(m.group(1)) * _DURATION_UNITS[m.group(2).lower()])
    raise where.error(f"cannot read {value!r} as a duration (e.g. 60, '1 min', '100 ms')")


def _type(
    data: dict[str, Any], where: _Where, types: dict[str, int], default: str, names: str
) -> int:
    """The type code of ``data["type"]`` (``default`` if absent); ``names`` lists the choices."""
    type_name = _str(data, "type", where, default) or default
    code = types.get(type_name.lower())
    if code is None:
        raise where.at("type").error(f"unknown type {type_name!r}; use one of {names}")
    return code


def _dims(data: dict[str, Any], where: _Where) -> tuple[int, ...]:
    dims = data.get("dims", [])
    if not isinstance(dims, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 100_000 for d in dims
    ):
        raise where.at("dims").error("must be a list of positive whole numbers")
    return tuple(dims)


def _string_dims(data: dict[str, Any], where: _Where, dims: tuple[int, ...]) -> tuple[int, ...]:
    length = _int(data, "length", where, 1, 65_535)
    return (*dims, length or DEFAULT_STRING_LENGTH)


def _field(data: dict[str, Any], where: _Where) -> FieldSpec:
    _known_keys(
        data,
        {"name", "type", "processing", "units", "description", "dims", "length", "source"},
        where,
    )
    name = _name(data, where)
    code = _type(data, where, _FIELD_TYPES, "IEEE4", _FIELD_TYPE_NAMES)
    processing_name = _str(data, "processing", where, "Smp") or "Smp"
    processing = _PROCESSING.get(processing_name.lower())
    if processing is None:
        raise where.at("processing").error(
            f"unknown processing {processing_name!r}; use one of {', '.join(PROCESSING_SUFFIXES)}"
        )
    dims = _dims(data, where)
    if code == DataType.ASCII:
        if processing != "Smp":
            raise where.at("processing").error("strings can only be sampled (Smp)")
        dims = _string_dims(data, where, dims)
    elif "length" in data:
        raise where.at("length").error("only String fields have a length")
    source = _str(data, "source", where)
    if source is not None and not _NAME.match(source):
        raise where.at("source").error("must be a variable name")
    return FieldSpec(
        name=name,
        type_code=code,
        processing=processing,
        units=_str(data, "units", where, "") or "",
        description=_str(data, "description", where, processing) or "",
        dims=dims,
        read_only=True,
        source=source or "",
    )


def _data_table(data: dict[str, Any], where: _Where) -> TableSpec:
    _known_keys(data, {"name", "interval", "time_into", "every", "size", "fields"}, where)
    name = _name(data, where)
    if name.lower() in ("status", "public"):
        raise where.at("name").error(f"{name} is a system table name")
    interval = _duration(data.get("interval", 0), where.at("interval"))
    every = _duration(data["every"], where.at("every")) if "every" in data else 0
    if interval and every:
        raise where.at("every").error("only event tables (interval 0) take 'every'")
    if not interval and not every:
        every = EVENT_EVERY_NS
    if not 0 <= interval <= 86_400 * NS_PER_S or (interval and interval < 1_000_000):
        raise where.at("interval").error("must be between 1 ms and 1 day, or 0")
    if every and every < 1_000_000:
        raise where.at("every").error("must be at least 1 ms")
    time_into = _duration(data.get("time_into", 0), where.at("time_into"))
    size = _int(data, "size", where, 1, 100_000_000) or 1_000
    if not data.get("fields"):
        raise where.at("fields").error("a table needs at least one field")
    fields = _each(data, "fields", where, _field)
    _distinct([f.name.lower() for f in fields], where.at("fields"), "two fields have the same name")
    return TableSpec(
        name=name,
        interval_ns=interval,
        size=size,
        fields=fields,
        time_into_ns=time_into % interval if interval else 0,
        every_ns=every,
    )


def _public_var(data: dict[str, Any], where: _Where) -> FieldSpec:
    _known_keys(data, {"name", "type", "units", "dims", "length"}, where)
    name = _name(data, where)
    code = _type(data, where, _VAR_TYPES, "Float", "Float, Long, Boolean, Double, String")
    dims = _dims(data, where)
    if code == DataType.ASCII:
        dims = _string_dims(data, where, dims)
    return FieldSpec(
        name,
        code,
        units=_str(data, "units", where, "") or "",
        dims=dims,
        read_only=False,
        source=name,
    )


def _security(data: dict[str, Any], where: _Where) -> tuple[int, int, int] | None:
    if "security" in data and "security_code" in data:
        raise where.at("security").error("give security or security_code, not both")
    if "security_code" in data:
        code = _int(data, "security_code", where, 0, 65_535) or 0
        return (code, 0, 0)
    if "security" not in data:
        return None
    value = data["security"]
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 65_535 for v in value
        )
    ):
        raise where.at("security").error("must be three codes 0..65535 [level1, level2, level3]")
    l1, l2, l3 = value
    if (l2 and not l1) or (l3 and not l2):
        raise where.at("security").error("level 1 must be set before 2, and 2 before 3")
    return (l1, l2, l3)


def _read_program(path_text: str, base: Path, where: _Where) -> tuple[ProgramSpec, str, str]:
    path = base / path_text
    try:
        text = path.read_bytes().decode("latin-1")
    except OSError as exc:
        raise where.error(f"cannot read program {path}: {exc.strerror or exc}") from None
    try:
        return parse_program(text), text, path.name
    except CompileError as exc:
        raise where.error(f"program {path.name} does not compile: {exc}") from None


def parse_station(
    data: dict[str, Any], *, source: str, base: Path, depth: int = 0, path: str = ""
) -> StationConfig:
    """Build a StationConfig from parsed TOML ``data`` (``source`` names it in errors,
    ``path`` is the key path of an inline neighbour's table inside it)."""
    where = _Where(source, path)
    _known_keys(data, _STATION_KEYS, where)
    model = _str(data, "model", where)
    if model is not None and model.upper() not in MODELS:
        raise where.at("model").error(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    station_name = _str(data, "station_name", where)
    if station_name is not None and not 0 < len(station_name) <= 63:
        raise where.at("station_name").error("must be 1..63 characters")
    serial = _str(data, "serial_number", where)
    if serial is not None and not re.fullmatch(r"[A-Za-z]?[0-9]{1,7}", serial):
        raise where.at("serial_number").error("must be digits, optionally after one letter")
    program_name = _str(data, "program_name", where)
    if program_name is not None and not re.fullmatch(r"(CPU|USR|CRD):[^\x00]{1,60}", program_name):
        raise where.at("program_name").error("must be like 'CPU:MyProgram.CR1'")
    program: ProgramSpec | None = None
    program_text: str | None = None
    if "program" in data:
        if "tables" in data or "public" in data:
            raise where.at("program").error("give a program file or tables, not both")
        path_text = _str(data, "program", where) or ""
        program, program_text, file_name = _read_program(path_text, base, where.at("program"))
        program_name = program_name or f"CPU:{file_name}"
    elif "tables" in data or "public" in data:
        tables = _each(data, "tables", where, _data_table)
        _distinct(
            [t.name.lower() for t in tables], where.at("tables"), "two tables have the same name"
        )
        public = (
            _each(data, "public", where, _public_var) if "public" in data else public_for(tables)
        )
        scan = _duration(data.get("scan", 1), where.at("scan"))
        if scan < 1_000_000:
            raise where.at("scan").error("must be at least 1 ms")
        program = ProgramSpec(public=public, tables=tables, scan_ns=scan)
    elif "scan" in data:
        raise where.at("scan").error("only stations that list their tables take 'scan'")
    if "neighbours" in data and depth >= 8:
        raise where.at("neighbours").error("neighbours nest too deep (8 levels at most)")
    neighbours = _each(data, "neighbours", where, lambda n, at: _neighbour(n, at, base, depth))
    _distinct(
        [n.node for n in neighbours], where.at("neighbours"), "two neighbours have the same node"
    )
    return StationConfig(
        program=program,
        program_text=program_text,
        program_name=program_name,
        station_name=station_name,
        serial_number=serial,
        model=model.upper() if model else None,
        records=_int(data, "records", where, 0, 10_000_000),
        security=_security(data, where),
        usr_drive_size=_int(data, "usr_drive_size", where, 0, 2**31 - 1),
        neighbours=neighbours,
        source=f"{source}: {path}" if path else source,
    )


def _neighbour(data: dict[str, Any], where: _Where, base: Path, depth: int) -> NeighbourConfig:
    _known_keys(data, _STATION_KEYS | {"node", "station"}, where)
    node = data.get("node")
    if isinstance(node, bool) or not isinstance(node, int) or not 1 <= node <= 4094:
        raise where.at("node").error("must be a PakBus address 1..4094")
    inline = {k: v for k, v in data.items() if k not in ("node", "station")}
    if "station" in data:
        path_text = _str(data, "station", where) or ""
        path = base / path_text
        merged = {**_read_toml(path, str(path), where.at("station")), **inline}
        station = parse_station(merged, source=str(path), base=path.parent, depth=depth + 1)
    else:
        station = parse_station(
            inline, source=where.source, base=base, depth=depth + 1, path=where.path
        )
    return NeighbourConfig(node=node, station=station, origin=f"{where.source}: {where.path}")


def check_addresses(config: StationConfig, node: int) -> None:
    """Refuse a station whose loggers share a PakBus address: packets to it could not be
    routed.  ``node`` is the address the emulated logger itself has (``--node``)."""
    seen = {node: "this logger (--node)"}

    def walk(station: StationConfig) -> None:
        for n in station.neighbours:
            if n.node in seen:
                raise ConfigError(
                    f"{n.origin}.node: {n.node} is already the address of {seen[n.node]}"
                )
            seen[n.node] = n.origin
            walk(n.station)

    walk(config)


def _read_toml(path: Path, source: str, where: _Where | None = None) -> dict[str, Any]:
    """The TOML file at ``path``; ``where`` is the key that names it, if a file does."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        if where is not None:
            raise where.error(f"cannot read {path}: {exc.strerror or exc}") from None
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None


def load_station(path: str | Path) -> StationConfig:
    """Read a ``--station`` TOML file."""
    p = Path(path)
    return parse_station(_read_toml(p, str(p)), source=str(p), base=p.parent)
