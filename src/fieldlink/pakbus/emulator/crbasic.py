"""A loose CRBasic reader: just enough of a program to know its Public variables and tables.

A real logger compiles the CRBasic program it is sent and its tables follow from the
``DataTable`` blocks.  The emulator does the same for the parts that decide what a
client sees -- names, types, array sizes, units, intervals, table sizes -- and ignores
everything else (measurement instructions, logic).  Understood, case-insensitively:

- ``Const NAME = value``: numbers and ``+ - * /`` of numbers and earlier constants,
  usable wherever a number is (sizes, intervals, Reps); text constants are skipped;
- ``Public``/``Dim`` declarations: ``Name``, ``Name(3)``, ``Name(2,3)``, with
  ``As Float|Long|Boolean|Double|String * N`` (Float is the default, strings 24 chars);
- ``Units Name = text``;
- ``DataTable(Name, Trigger, Size)`` ... ``EndTable``, with ``DataInterval(TintoInt,
  Interval, Units, Lapses)`` (units uSec, mSec, Sec, Min, Hr, Day); a table without a
  DataInterval is an event table, which the emulator fills every 10 minutes;
- output instructions ``Sample``, ``Average``, ``Maximum``, ``Minimum``, ``Totalize``,
  ``StdDev`` as ``(Reps, Source, DataType, ...)`` with DataType FP2, IEEE4, Long, UINT2,
  UINT4, Boolean, String, NSEC, Bool8 or IEEE8; each makes one field named
  ``Source_Avg``, ``Source_Max`` ... (``Source`` for Sample), an array when Reps > 1
  (Reps from the element ``Source(i)`` on must stay inside the array); ``Maximum`` and
  ``Minimum`` with their Time argument true add ``Source_TMx``/``Source_TMn`` (NSEC,
  INFERRED: the manual names the fields but not their wire type);
- ``FieldNames("name:description")`` renaming the previous output instruction's field;
- ``Scan(Interval, Units, ...)`` for the Public table's update rate;
- ``BeginProg`` and ``EndProg``, which must both be there.

Anything malformed raises :class:`CompileError` with the line number, which the
emulator reports as the compile result, as a logger does.  :func:`render_program`
writes a program that reads back to the same tables, so the emulator can offer its
running program for download and a client can send it back unchanged.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from fieldlink.pakbus.emulator.spec import (
    NS_PER_S,
    PROCESSING_SUFFIXES,
    FieldSpec,
    ProgramSpec,
    TableSpec,
)
from fieldlink.pakbus.protocol.types import DataType

__all__ = [
    "AUTO_TABLE_SIZE",
    "EVENT_EVERY_NS",
    "OUTPUT_TYPES",
    "PUBLIC_TYPES",
    "CompileError",
    "parse_program",
    "render_program",
    "variable_type",
]

#: Records allocated for ``DataTable(Name, Trigger, -1)`` (auto-allocate).
AUTO_TABLE_SIZE = 10_000
#: How often the emulator stores a record in an event table (no DataInterval).
EVENT_EVERY_NS = 600 * NS_PER_S
DEFAULT_STRING_LENGTH = 24

_UNITS_NS = {
    "usec": 1_000,
    "msec": 1_000_000,
    "sec": NS_PER_S,
    "min": 60 * NS_PER_S,
    "hr": 3_600 * NS_PER_S,
    "day": 86_400 * NS_PER_S,
}
_UNIT_SPELLING = {
    "usec": "uSec",
    "msec": "mSec",
    "sec": "Sec",
    "min": "Min",
    "hr": "Hr",
    "day": "Day",
}

#: CRBasic output DataType keyword -> wire type code.
OUTPUT_TYPES: dict[str, int] = {
    "fp2": DataType.FP2,
    "ieee4": DataType.IEEE4,
    "long": DataType.INT4,
    "uint2": DataType.UINT2,
    "uint4": DataType.UINT4,
    "boolean": DataType.BOOL4,
    "string": DataType.ASCII,
    "nsec": DataType.NSEC,
    "bool8": DataType.BOOL8,
    "ieee8": DataType.IEEE8,
}
_OUTPUT_NAMES: dict[int, str] = {code: name for name, code in OUTPUT_TYPES.items()}
_OUTPUT_SPELLING = {
    "fp2": "FP2",
    "ieee4": "IEEE4",
    "long": "Long",
    "uint2": "UINT2",
    "uint4": "UINT4",
    "boolean": "Boolean",
    "string": "String",
    "nsec": "NSEC",
    "bool8": "Bool8",
    "ieee8": "IEEE8",
}

#: CRBasic variable type keyword -> wire type code of the Public table field.
PUBLIC_TYPES: dict[str, int] = {
    "float": DataType.IEEE4,
    "long": DataType.INT4,
    "boolean": DataType.BOOL4,
    "double": DataType.IEEE8,
    "string": DataType.ASCII,
}
_PUBLIC_SPELLING: dict[int, str] = {
    DataType.INT4: "Long",
    DataType.BOOL4: "Boolean",
    DataType.IEEE8: "Double",
    DataType.ASCII: "String",
}

_INSTRUCTIONS = {
    "sample": "Smp",
    "average": "Avg",
    "maximum": "Max",
    "minimum": "Min",
    "totalize": "Tot",
    "stddev": "Std",
}
_INSTRUCTION_NAMES = {
    "Smp": "Sample",
    "Avg": "Average",
    "Max": "Maximum",
    "Min": "Minimum",
    "Tot": "Totalize",
    "Std": "StdDev",
}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*\Z", re.S)
_DECLARATOR = re.compile(
    r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(([^)]*)\))?\s*"
    r"(?:as\s+([A-Za-z0-9_]+)\s*(?:\*\s*([A-Za-z0-9_]+))?)?\s*\Z",
    re.I,
)
#: Maximum/Minimum with Time true add a field with the time of the extreme.
_TIME_OF = {"Max": "TMx", "Min": "TMn"}


class CompileError(Exception):
    """The program does not compile; ``line`` is 1-based (0: the program as a whole)."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass
class _Variable:
    name: str
    type_code: int
    dims: tuple[int, ...]
    public: bool
    units: str = ""


@dataclass
class _Table:
    name: str
    size: int
    line: int
    interval_ns: int = 0
    time_into_ns: int = 0
    fields: list[FieldSpec] = field(default_factory=list)


def _strip_comment(line: str) -> str:
    in_string = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_string = not in_string
        elif ch == "'" and not in_string:
            return line[:i]
    return line


def _split_args(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    args: list[str] = []
    depth = 0
    in_string = False
    current: list[str] = []
    for ch in text:
        if ch == '"':
            in_string = not in_string
        elif not in_string and ch == "(":
            depth += 1
        elif not in_string and ch == ")":
            depth -= 1
        if ch == "," and depth == 0 and not in_string:
            args.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    args.append("".join(current).strip())
    return args


_ARITHMETIC: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _evaluate(text: str, constants: dict[str, float], line: int, what: str) -> float:
    """A number, a ``Const`` name or simple arithmetic of them (``60 * SCAN_SEC``)."""
    source = text.strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        raise CompileError(line, f"{what} must be a number, not {source!r}") from None

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return float(node.value)  # type: ignore[arg-type]
        if isinstance(node, ast.Name):
            found = constants.get(node.id.lower())
            if found is None:
                raise CompileError(line, f"{what} must be a number or a Const, not {node.id!r}")
            return found
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = value(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.Div) and right == 0:
                raise CompileError(line, f"{what}: division by zero")
            return _ARITHMETIC[type(node.op)](left, right)
        raise CompileError(line, f"{what} must be a number, not {source!r}")

    result = value(tree.body)
    if not math.isfinite(result):
        raise CompileError(line, f"{what} must be a finite number, not {source!r}")
    return result


class _Compiler:
    def __init__(self) -> None:
        self.variables: dict[str, _Variable] = {}
        self.tables: list[_Table] = []
        self.table: _Table | None = None
        self.scan_ns = NS_PER_S
        self.begin = self.end = False
        self.last_output: tuple[_Table, int] | None = None
        self.constants: dict[str, float] = {}

    def number(self, text: str, line: int, what: str) -> float:
        return _evaluate(text, self.constants, line, what)

    def whole(self, text: str, line: int, what: str) -> int:
        number = self.number(text, line, what)
        if number != int(number):
            raise CompileError(line, f"{what} must be a whole number, not {text.strip()!r}")
        return int(number)

    def duration(self, amount: str, unit: str, line: int) -> int:
        scale = _UNITS_NS.get(unit.strip().lower())
        if scale is None:
            raise CompileError(line, f"unknown time unit {unit.strip()!r}")
        return round(self.number(amount, line, "interval") * scale)

    def constant(self, text: str, line: int) -> None:
        """``Const NAME = value``: numbers (and arithmetic of earlier constants); text
        constants are accepted and ignored, as nothing the emulator reads uses them."""
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise CompileError(line, f"cannot read the constant {text.strip()!r}")
        if name.lower() in self.constants or name.lower() in self.variables:
            raise CompileError(line, f"{name} is declared twice")
        if value.strip().startswith('"'):
            return
        self.constants[name.lower()] = self.number(value, line, f"Const {name}")

    def declare(self, text: str, public: bool, line: int) -> None:
        for decl in _split_args(text):
            if not decl:
                continue
            m = _DECLARATOR.match(decl)
            if m is None:
                raise CompileError(line, f"cannot read the declaration {decl!r}")
            name, dims_text, type_text, length_text = m.groups()
            type_code = PUBLIC_TYPES.get((type_text or "float").lower())
            if type_code is None:
                raise CompileError(line, f"unknown variable type {type_text!r}")
            dims = (
                tuple(self.whole(d, line, "array size") for d in dims_text.split(","))
                if dims_text
                else ()
            )
            if any(d < 1 for d in dims):
                raise CompileError(line, f"array {name} needs positive dimensions")
            if type_code == DataType.ASCII:
                length = (
                    self.whole(length_text, line, "string size")
                    if length_text
                    else (DEFAULT_STRING_LENGTH)
                )
                if length < 1:
                    raise CompileError(line, f"string {name} needs a positive size")
                dims = (*dims, length)
            key = name.lower()
            if key in self.variables:
                raise CompileError(line, f"variable {name} is declared twice")
            self.variables[key] = _Variable(name, type_code, dims, public)

    def units(self, text: str, line: int) -> None:
        name, sep, units = text.partition("=")
        var = self.variables.get(name.strip().lower())
        if not sep or var is None:
            raise CompileError(line, f"Units names an undeclared variable: {name.strip()!r}")
        var.units = units.strip()

    def data_table(self, args: list[str], line: int) -> None:
        if self.table is not None:
            raise CompileError(line, f"DataTable inside table {self.table.name}")
        if len(args) < 3:
            raise CompileError(line, "DataTable needs (Name, TrigVar, Size)")
        name = args[0]
        if not _NAME.match(name):
            raise CompileError(line, f"invalid table name {name!r}")
        if name.lower() in ("status", "public") or any(
            t.name.lower() == name.lower() for t in self.tables
        ):
            raise CompileError(line, f"table name {name} is already used")
        size = self.whole(args[2], line, "table size")
        self.table = _Table(name, size if size > 0 else AUTO_TABLE_SIZE, line)

    def data_interval(self, args: list[str], line: int) -> None:
        if self.table is None:
            raise CompileError(line, "DataInterval outside a DataTable")
        if len(args) < 3:
            raise CompileError(line, "DataInterval needs (TintoInt, Interval, Units, Lapses)")
        interval = self.duration(args[1], args[2], line)
        if interval <= 0:
            raise CompileError(line, "DataInterval needs a positive interval")
        self.table.interval_ns = interval
        self.table.time_into_ns = self.duration(args[0], args[2], line) % interval

    def output(self, processing: str, args: list[str], line: int) -> None:
        table = self.table
        if table is None:
            raise CompileError(line, "output instruction outside a DataTable")
        if len(args) < 3:
            raise CompileError(line, "output instructions need (Reps, Source, DataType)")
        reps = self.whole(args[0], line, "Reps")
        if reps < 1:
            raise CompileError(line, "Reps must be at least 1")
        source, _, index_text = args[1].partition("(")
        source = source.strip()
        var = self.variables.get(source.lower())
        if var is None:
            raise CompileError(line, f"variable {source} is not declared")
        type_code = OUTPUT_TYPES.get(args[2].strip().lower())
        if type_code is None:
            raise CompileError(line, f"unknown output data type {args[2].strip()!r}")
        is_string = var.type_code == DataType.ASCII
        if is_string != (type_code == DataType.ASCII):
            raise CompileError(line, f"{var.name}: string variables are stored as String only")
        if is_string and processing != "Smp":
            raise CompileError(line, f"{var.name}: only Sample can store a string")
        if is_string:
            dims: tuple[int, ...] = (reps, var.dims[-1]) if reps > 1 else (var.dims[-1],)
        else:
            dims = (reps,) if reps > 1 else ()
        start = 1
        index_text = index_text.rstrip().removesuffix(")").strip()
        if index_text and "," not in index_text:
            start = self.whole(index_text, line, "array index")
        if start < 1 or start - 1 + reps > _count(var.dims, var.type_code):
            raise CompileError(line, f"{reps} repetitions of {args[1].strip()} pass the end of it")
        name = var.name + PROCESSING_SUFFIXES[processing]
        table.fields.append(
            FieldSpec(
                name=name,
                type_code=type_code,
                processing=processing,
                units=var.units,
                description=processing,
                dims=dims,
                read_only=True,
                source=var.name,
            )
        )
        self.last_output = (table, len(table.fields) - 1)
        timed = _TIME_OF.get(processing)
        if timed and len(args) >= 5 and args[4].strip().lower() not in ("false", "0"):
            table.fields.append(
                FieldSpec(
                    name=f"{var.name}_{timed}",
                    type_code=DataType.NSEC,
                    processing=timed,
                    description=timed,
                    dims=(reps,) if reps > 1 else (),
                    read_only=True,
                    source=var.name,
                )
            )

    def field_names(self, args: list[str], line: int) -> None:
        if self.last_output is None or self.last_output[0] is not self.table:
            raise CompileError(line, "FieldNames must follow an output instruction")
        text = args[0].strip().strip('"')
        first = text.split(",")[0]
        name, colon, description = first.partition(":")
        if not _NAME.match(name.strip()):
            raise CompileError(line, f"invalid field name {name.strip()!r}")
        table, index = self.last_output
        old = table.fields[index]
        table.fields[index] = replace(
            old,
            name=name.strip(),
            description=description.strip() if colon else old.description,
        )

    def end_table(self, line: int) -> None:
        if self.table is None:
            raise CompileError(line, "EndTable without DataTable")
        if not self.table.fields:
            raise CompileError(line, f"table {self.table.name} has no fields")
        names = [f.name.lower() for f in self.table.fields]
        if len(set(names)) != len(names):
            raise CompileError(line, f"table {self.table.name} has two fields of the same name")
        self.tables.append(self.table)
        self.table = None

    def statement(self, text: str, line: int) -> None:
        word = text.split(None, 1)[0].lower() if text.split() else ""
        rest = text[len(word) :].strip()
        if word in ("public", "dim"):
            self.declare(rest, word == "public", line)
            return
        if word == "units":
            self.units(rest, line)
            return
        if word == "const":
            self.constant(rest, line)
            return
        lowered = text.lower()
        if lowered == "endtable":
            self.end_table(line)
            return
        if lowered == "beginprog":
            self.begin = True
            return
        if lowered == "endprog":
            self.end = True
            return
        m = _CALL.match(text)
        if m is None:
            return
        call = m.group(1).lower()
        args = _split_args(m.group(2))
        if call == "datatable":
            self.data_table(args, line)
        elif call == "datainterval":
            self.data_interval(args, line)
        elif call in _INSTRUCTIONS:
            self.output(_INSTRUCTIONS[call], args, line)
        elif call == "fieldnames":
            self.field_names(args, line)
        elif call == "scan" and len(args) >= 2:
            self.scan_ns = max(self.duration(args[0], args[1], line), 1_000_000)

    def finish(self, last_line: int) -> ProgramSpec:
        if self.table is not None:
            raise CompileError(self.table.line, f"DataTable {self.table.name} has no EndTable")
        if not self.begin or not self.end:
            raise CompileError(last_line, "BeginProg ... EndProg not found")
        public = tuple(
            FieldSpec(
                name=v.name,
                type_code=v.type_code,
                units=v.units,
                dims=v.dims,
                read_only=False,
                source=v.name,
            )
            for v in self.variables.values()
            if v.public
        )
        tables = tuple(
            TableSpec(
                name=t.name,
                interval_ns=t.interval_ns,
                size=t.size,
                fields=tuple(t.fields),
                time_into_ns=t.time_into_ns,
                every_ns=0 if t.interval_ns else EVENT_EVERY_NS,
            )
            for t in self.tables
        )
        return ProgramSpec(public=public, tables=tables, scan_ns=self.scan_ns)


def parse_program(text: str) -> ProgramSpec:
    """Compile ``text`` (loosely) into the Public variables and tables it declares."""
    compiler = _Compiler()
    lines = text.splitlines()
    for number, raw in enumerate(lines, start=1):
        statement = _strip_comment(raw).strip()
        if statement:
            compiler.statement(statement, number)
    return compiler.finish(len(lines))


# --- rendering ----------------------------------------------------------------------------


def _best_unit(*durations: int) -> tuple[str, int]:
    for unit in ("day", "hr", "min", "sec", "msec", "usec"):
        scale = _UNITS_NS[unit]
        if all(d % scale == 0 for d in durations):
            return _UNIT_SPELLING[unit], scale
    return "uSec", 1_000


def _declaration(name: str, type_code: int, dims: tuple[int, ...]) -> str:
    if type_code == DataType.ASCII:
        array, length = dims[:-1], dims[-1] if dims else DEFAULT_STRING_LENGTH
        head = f"{name}({','.join(map(str, array))})" if array else name
        return f"{head} As String * {length}"
    head = f"{name}({','.join(map(str, dims))})" if dims else name
    spelling = _PUBLIC_SPELLING.get(type_code)
    return f"{head} As {spelling}" if spelling else head


def variable_type(type_code: int) -> int:
    """The CRBasic variable type (as a wire type code) a field of ``type_code`` is stored from."""
    if type_code == DataType.ASCII:
        return DataType.ASCII
    if type_code in (DataType.INT4, DataType.UINT2, DataType.UINT4, DataType.BOOL8):
        return DataType.INT4
    if type_code == DataType.BOOL4:
        return DataType.BOOL4
    if type_code == DataType.IEEE8:
        return DataType.IEEE8
    return DataType.IEEE4


def render_program(program: ProgramSpec, *, title: str = "fieldlink emulated station") -> str:
    """CRBasic text that :func:`parse_program` reads back to ``program``'s tables."""
    out = [f"'{title}", "'Written by the fieldlink logger emulator.", ""]
    declared: dict[str, tuple[int, tuple[int, ...]]] = {}
    units: dict[str, str] = {}
    for f in program.public:
        declared[f.variable.lower()] = (f.type_code, f.dims)
        out.append(f"Public {_declaration(f.variable, f.type_code, f.dims)}")
        if f.units:
            units[f.variable] = f.units
    hidden: dict[str, tuple[int, tuple[int, ...]]] = {}
    for table in program.tables:
        for f in table.fields:
            key = f.variable.lower()
            if f.units and f.variable not in units:
                units[f.variable] = f.units
            if key in declared:
                continue
            var_type = variable_type(f.type_code)
            count = f.element_count
            dims: tuple[int, ...] = (f.string_length,) if var_type == DataType.ASCII else ()
            if count > 1:
                dims = (count, *dims)
            previous = hidden.get(f.variable)
            if previous is None or _count(previous[1], var_type) < count:
                hidden[f.variable] = (var_type, dims)
    for name, (type_code, dims) in hidden.items():
        declared[name.lower()] = (type_code, dims)
        out.append(f"Dim {_declaration(name, type_code, dims)}")
    for name, text in units.items():
        out.append(f"Units {name} = {text}")
    for table in program.tables:
        out.append("")
        out.append(f"DataTable({table.name}, True, {table.size})")
        if not table.is_event:
            unit, scale = _best_unit(table.interval_ns, table.time_into_ns)
            out.append(
                f"  DataInterval({table.time_into_ns // scale}, {table.interval_ns // scale}, "
                f"{unit}, 10)"
            )
        fields = list(table.fields)
        for i, f in enumerate(fields):
            if f.processing in _TIME_OF.values():
                continue  # written by the Maximum/Minimum before it
            following = fields[i + 1] if i + 1 < len(fields) else None
            timed = (
                following is not None
                and following.processing == _TIME_OF.get(f.processing)
                and following.variable == f.variable
            )
            out.extend(_output_lines(f, timed=timed))
        out.append("EndTable")
    unit, scale = _best_unit(program.scan_ns)
    out += ["", "BeginProg", f"  Scan({program.scan_ns // scale}, {unit}, 0, 0)"]
    out += [f"    CallTable {table.name}" for table in program.tables]
    out += ["  NextScan", "EndProg", ""]
    return "\r\n".join(out)


def _count(dims: tuple[int, ...], type_code: int) -> int:
    if type_code == DataType.ASCII:
        dims = dims[:-1]
    n = 1
    for d in dims:
        n *= d
    return n


def _output_lines(f: FieldSpec, *, timed: bool = False) -> list[str]:
    instruction = _INSTRUCTION_NAMES.get(f.processing, "Sample")
    processing = f.processing if f.processing in _INSTRUCTION_NAMES else "Smp"
    type_name = _OUTPUT_SPELLING[_OUTPUT_NAMES.get(f.type_code, "ieee4")]
    reps = f.element_count
    source = f"{f.variable}()" if reps > 1 else f.variable
    args = [str(reps), source, type_name]
    if processing != "Smp":
        args.append("False")
    if processing in _TIME_OF:
        args.append("True" if timed else "False")
    lines = [f"  {instruction}({', '.join(args)})"]
    default_name = f.variable + PROCESSING_SUFFIXES[processing]
    if f.name != default_name or f.description != processing:
        lines.append(f'  FieldNames("{f.name}:{f.description}")')
    return lines
