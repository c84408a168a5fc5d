"""Binary messages declared once: one layout, from which encoding and decoding both follow.

A message written by hand as an ``encode`` and a ``decode`` says its layout twice, and
the two drift apart: a field added to one and not the other, a length checked on the
way out but not on the way in.  Here a class declares its wire fields once, in wire
order, as a tuple (in the spirit of ``construct``)::

    @dataclass(frozen=True, slots=True)
    class Reading(Binary):
        LAYOUT: ClassVar[Layout] = (u8("channel"), u16le("raw", "RawValue"), optional(u8("flags")))
        channel: int
        raw: int
        flags: int | None = None

and :class:`Codec` turns the layout into an encoder and a decoder *once per class*:
consecutive fixed-width fields become one precompiled :class:`struct.Struct` and the
glue is generated Python, so a message costs one ``pack``/``unpack_from`` per fixed
run rather than one call per field.  A layout of fixed fields only (a packet polled
off a stream) goes further: one straight-line function each way, the value built by
a single call (positional, for a dataclass), no intermediate dict.

What the two directions promise:

- decoding bytes from a device raises only :class:`~fieldlink.errors.ProtocolError`
  (never ``IndexError`` or ``struct.error``); its message names what was decoded and
  the field, and ``offset`` says where.  No count or length read from the wire makes
  the decoder allocate more than the bytes it was given;
- encoding refuses a value that does not fit its field with
  :class:`~fieldlink.errors.UsageError` naming the message and the field, instead of
  masking it into a different valid message.

Fields (each takes the attribute ``name`` and an optional wire ``label`` for errors):

- integers ``u8 u16 u32 u64 i8 i16 i32 i64`` (big-endian) and ``u16le``… ``i64le``,
  floats ``f32 f64 f32le f64le``, ``flag`` (one byte, 0 false; ``strict``: 0 or 1
  only), ``const``;
- ``bits``: one word cut into named parts (``part``), most significant first;
- ``packed``: one attribute spread over several fixed parts (e.g. a seconds/nanoseconds time);
- ``scaled``: a number sent as a scaled, offset integer (volts × 100, °C + 30, tens of
  Ah), optionally pinned at the ends of its range;
- ``choice``: an integer code that decodes to a member of an ``IntEnum``;
- ``asciiz`` (NUL-terminated text), ``fixed_bytes``, ``rest`` (bytes to the end),
  ``prefixed`` (length-prefixed bytes, the length word optionally carrying flag bits);
- ``optional`` (a trailing field that may be absent), ``tail`` (a group that is sent
  when another field says so, and tolerated when it is not), ``repeat`` (a list: to
  the end or with a count prefix) of a scalar field or a ``record``, ``ignore_rest``.

Absent values come from the dataclass defaults, so they too are said once.
Nothing here knows any instrument family.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Callable, Collection, Mapping, Sequence
from operator import attrgetter
from typing import Any, ClassVar, Final, Generic, Self, TypeVar

from fieldlink.errors import ProtocolError, UsageError

T = TypeVar("T")

#: Sentinel for "no default": such a field can be neither optional nor in a tail.
MISSING: Final = dataclasses.MISSING

# struct code -> (python type name for errors, low, high); floats have no range.
_RANGES: Final[dict[str, tuple[int, int]]] = {
    "b": (-(2**7), 2**7 - 1),
    "B": (0, 2**8 - 1),
    "h": (-(2**15), 2**15 - 1),
    "H": (0, 2**16 - 1),
    "i": (-(2**31), 2**31 - 1),
    "I": (0, 2**32 - 1),
    "q": (-(2**63), 2**63 - 1),
    "Q": (0, 2**64 - 1),
}
_ENCODING_NAMES: Final = {"latin-1": "Latin-1", "ascii": "ASCII", "utf-8": "UTF-8"}


# --- internal errors: translated to ProtocolError/UsageError by Codec, with the message name ---


class _Bad(Exception):
    """A value that cannot be encoded: ``label`` (the field) and ``problem``."""

    def __init__(self, label: str, problem: str) -> None:
        super().__init__(label, problem)
        self.label = label
        self.problem = problem


class _Fault(Exception):
    """Bytes that cannot be decoded; ``template`` may hold ``{field}`` for ``label``."""

    def __init__(self, template: str, offset: int, label: str = "") -> None:
        super().__init__(template, offset, label)
        self.template = template
        self.offset = offset
        self.label = label

    @property
    def reason(self) -> str:
        return self.template.replace("{field}", self.label)


def number_problem(value: object, code: str) -> str | None:
    """Why ``value`` cannot be packed as struct ``code`` (``"must be 0..255, got 300"``)."""
    if value is None:
        return "is required"
    if code in "fd":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return None
        return f"must be a number, not {type(value).__name__}"
    if code == "?":
        return None
    if not isinstance(value, int):
        return f"must be an integer, not {type(value).__name__}"
    lo, hi = _RANGES[code]
    if not lo <= value <= hi:
        return f"must be {lo}..{hi}, got {value}"
    return None


# --- field declarations -----------------------------------------------------------------------


class Field:
    """One wire field.  ``names`` are the attributes it reads and writes (in order)."""

    __slots__ = ("label", "min_size", "names")

    def __init__(self, names: tuple[str, ...], label: str, min_size: int = 0) -> None:
        for name in names:
            if not name.isidentifier():
                raise ValueError(f"field name {name!r} is not an identifier")
        self.names = names
        self.label = label
        #: Fewest bytes the field can occupy (a count prefix is bounded with it).
        self.min_size = min_size


class Fixed(Field):
    """A field of fixed width, packed with ``struct`` code(s) ``code``.

    ``endian`` is ``">"`` or ``"<"``, or ``""`` for one-byte fields, which join either.
    Subclasses say how the attribute(s) become struct values and back, as source
    snippets the codec compiles (``{o}`` the object, ``{f}`` this field, ``{t}`` temps).
    """

    __slots__ = ("code", "endian", "size")

    def __init__(self, names: tuple[str, ...], label: str, code: str, endian: str) -> None:
        self.size = struct.calcsize("<" + code)
        super().__init__(names, label, self.size)
        self.code = code
        self.endian = "" if self.size == 1 else endian

    @property
    def parts(self) -> int:
        """How many struct values the field packs to."""
        return len(struct.unpack("<" + self.code, bytes(self.size)))

    def encode_expr(self, obj: str, me: str) -> str:
        """Source for the struct value(s), e.g. ``o.tran`` or ``*f3.split(o)``."""
        return f"{obj}.{self.names[0]}"

    def decode_items(self, temps: Sequence[str], me: str, at: str) -> list[tuple[str | None, str]]:
        """Source for the unpacked ``temps``: ``(attribute, expression)`` pairs, and
        ``(None, statement)`` for a check; ``at`` is the field's offset."""
        return [(self.names[0], temps[0])]

    def problem(self, obj: object) -> tuple[str, str] | None:
        """Why ``obj``'s value(s) cannot be packed: ``(label, problem)``, or None."""
        return None


class Number(Fixed):
    """An integer, float or one-byte flag (``code`` one of ``bBhHiIqQfd?``)."""

    __slots__ = ()

    def __init__(self, name: str, label: str, code: str, endian: str) -> None:
        super().__init__((name,), label, code, endian)

    def problem(self, obj: object) -> tuple[str, str] | None:
        why = number_problem(getattr(obj, self.names[0]), self.code)
        return None if why is None else (self.label, why)


class StrictFlag(Number):
    """One byte that must be 0 (False) or 1 (True); anything else is a ProtocolError.

    For a state a device reports, where a 2 means the bytes are not what we think.
    """

    __slots__ = ()

    def __init__(self, name: str, label: str) -> None:
        super().__init__(name, label, "B", "")

    def encode_expr(self, obj: str, me: str) -> str:
        return f"(1 if {obj}.{self.names[0]} else 0)"

    def decode_items(self, temps: Sequence[str], me: str, at: str) -> list[tuple[str | None, str]]:
        t = temps[0]
        return [(None, f"if {t} > 1: {me}.not_boolean({t}, {at})"), (self.names[0], f"{t} == 1")]

    def not_boolean(self, got: int, offset: int) -> None:
        raise _Fault(f"{{field}} is {got}, expected 0 or 1", offset, self.label)

    def problem(self, obj: object) -> tuple[str, str] | None:
        return None


class Const(Fixed):
    """A fixed value with no attribute (a message type, a sync byte)."""

    __slots__ = ("value",)

    def __init__(self, label: str, value: int, code: str, endian: str) -> None:
        super().__init__((), label, code, endian)
        self.value = value

    def encode_expr(self, obj: str, me: str) -> str:
        return f"{me}.value"

    def decode_items(self, temps: Sequence[str], me: str, at: str) -> list[tuple[str | None, str]]:
        return [(None, f"if {temps[0]} != {me}.value: {me}.mismatch({temps[0]}, {at})")]

    def mismatch(self, got: int, offset: int) -> None:
        width = 2 * self.size
        raise _Fault(
            f"{{field}} is 0x{got:0{width}X}, expected 0x{self.value:0{width}X}", offset, self.label
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Part:
    """One named slice of a :func:`bits` word; ``flag`` parts (1 bit) decode as bool."""

    name: str
    width: int
    label: str
    flag: bool = False


class Bits(Fixed):
    """One unsigned word cut into parts, most significant first, filling it exactly.

    Both directions are generated as straight-line code (no loop over the parts):
    a flag byte over an address is a hot path in some families.  A part that is not
    a plain in-range ``int`` falls back to :meth:`join`, which names the problem.
    """

    __slots__ = ("_layout", "fast_join")

    def __init__(self, label: str, code: str, endian: str, parts: Sequence[Part]) -> None:
        super().__init__(tuple(p.name for p in parts), label, code, endian)
        total = sum(p.width for p in parts)
        if total != 8 * self.size:
            raise ValueError(f"{label}: parts are {total} bits, the word {8 * self.size}")
        layout: list[tuple[Part, int, int]] = []
        shift = total
        for p in parts:
            shift -= p.width
            layout.append((p, shift, (1 << p.width) - 1))
        self._layout = tuple(layout)
        self.fast_join: Callable[[object], int] = self._compile_join()

    def _compile_join(self) -> Callable[[object], int]:
        checks: list[str] = []
        terms: list[str] = []
        for k, (p, shift, mask) in enumerate(self._layout):
            if p.flag:
                terms.append(f"({1 << shift} if o.{p.name} else 0)")
                continue
            checks.append(f"    p{k} = o.{p.name}")
            checks.append(f"    if p{k}.__class__ is not int or not 0 <= p{k} <= {mask}:")
            checks.append("        return slow(o)")
            terms.append(f"(p{k} << {shift})" if shift else f"p{k}")
        src = "\n".join(["def join(o):", *checks, f"    return {' | '.join(terms)}"])
        ns: dict[str, Any] = {"slow": self.join}
        exec(src, ns)  # our own source, from the part names (identifiers) and numbers
        join: Callable[[object], int] = ns["join"]
        return join

    def encode_expr(self, obj: str, me: str) -> str:
        return f"{me}.fast_join({obj})"

    def decode_items(self, temps: Sequence[str], me: str, at: str) -> list[tuple[str | None, str]]:
        t = temps[0]
        items: list[tuple[str | None, str]] = []
        for p, shift, mask in self._layout:
            expr = f"({t} >> {shift}) & {mask}" if shift else f"{t} & {mask}"
            items.append((p.name, f"bool({expr})" if p.flag else expr))
        return items

    def join(self, obj: object) -> int:
        word = 0
        for p, shift, mask in self._layout:
            value = getattr(obj, p.name)
            if p.flag:
                value = 1 if value else 0
            elif value is None:
                raise _Bad(p.label, "is required")
            elif not isinstance(value, int):
                raise _Bad(p.label, f"must be an integer, not {type(value).__name__}")
            elif not 0 <= value <= mask:
                raise _Bad(p.label, f"must be 0..{mask}, got {value}")
            word |= value << shift
        return word

    def split(self, word: int, v: dict[str, Any]) -> None:
        for p, shift, mask in self._layout:
            value = (word >> shift) & mask
            v[p.name] = bool(value) if p.flag else value


class Packed(Fixed):
    """One attribute of type ``kind`` spread over several struct values.

    ``split`` turns the value into the parts (default: its dataclass fields in order),
    ``kind(*parts)`` builds it back; ``part_labels`` name the parts in errors.
    """

    __slots__ = ("_split", "kind", "part_labels")

    def __init__(
        self,
        name: str,
        label: str,
        code: str,
        endian: str,
        kind: type[Any],
        split: Callable[[Any], tuple[Any, ...]],
        part_labels: Sequence[str],
    ) -> None:
        super().__init__((name,), label, code, endian)
        self.kind = kind
        self._split = split
        self.part_labels = tuple(part_labels)

    def encode_expr(self, obj: str, me: str) -> str:
        return f"*{me}.split({obj}.{self.names[0]})"

    def decode_items(self, temps: Sequence[str], me: str, at: str) -> list[tuple[str | None, str]]:
        return [(self.names[0], f"{me}.kind({', '.join(temps)})")]

    def split(self, value: Any) -> tuple[Any, ...]:
        if value is None:
            raise _Bad(self.label, "is required")
        if not isinstance(value, self.kind):
            raise _Bad(self.label, f"must be {_a(self.kind.__name__)}, not {type(value).__name__}")
        return self._split(value)

    def problem(self, obj: object) -> tuple[str, str] | None:
        value = getattr(obj, self.names[0])
        if value is None:
            return (self.label, "is required")
        parts = self.split(value)
        for code, part, part_label in zip(self.code, parts, self.part_labels, strict=True):
            why = number_problem(part, code)
            if why is not None:
                return (self.label, f"{part_label} {why}")
        return None


class Scaled(Number):
    """A number sent as an integer ``round((value + offset) * scale)`` (e.g. volts × 100).

    Decodes to ``wire / scale - offset`` (a float), or ``wire - offset`` (an int) when
    ``scale`` is 1, as for a temperature sent as °C + 30 in one byte.

    ``step`` (with ``scale`` 1) is for a coarse integer unit: the wire counts steps of
    that size (a capacity in tens of Ah is ``step=10``) and decodes to ``wire * step -
    offset``; encoding refuses a value between steps rather than round it away.

    ``clamp`` sends a value beyond the wire range as the nearest end of it instead of
    refusing it: for a device (or an emulator) reporting a reading, where pinning at
    full scale is what an instrument does.  Not for commands, where it would change
    what is asked for.
    """

    __slots__ = ("clamp", "offset", "scale", "step")

    def __init__(
        self,
        name: str,
        label: str,
        code: str,
        endian: str,
        scale: int,
        offset: int,
        step: int = 1,
        clamp: bool = False,
    ) -> None:
        super().__init__(name, label, code, endian)
        if code not in _RANGES:
            raise ValueError(f"{label}: a scaled value needs an integer code, not {code!r}")
        if step < 1 or scale < 1 or (step != 1 and scale != 1):
            raise ValueError(f"{label}: scale and step are positive, and not both above 1")
        self.scale = scale
        self.offset = offset
        self.step = step
        self.clamp = clamp

    def encode_expr(self, obj: str, me: str) -> str:
        return f"{me}.to_wire({obj}.{self.names[0]})"

    def decode_items(self, temps: Sequence[str], me: str, at: str) -> list[tuple[str | None, str]]:
        # Inline arithmetic, not a method call: scaled readings are decoded in hot loops.
        t = temps[0]
        expr = f"{t} / {self.scale!r}" if self.scale != 1 else t
        expr = f"{expr} * {self.step!r}" if self.step != 1 else expr
        expr = f"{expr} - {self.offset!r}" if self.offset else expr
        return [(self.names[0], expr)]

    def to_wire(self, value: float) -> int:
        why = number_problem(value, "d")
        if why is not None:
            raise _Bad(self.label, why)
        if not math.isfinite(value):
            raise _Bad(self.label, f"must be a finite number, got {value}")
        lo, hi = _RANGES[self.code]
        if self.step != 1:
            if not isinstance(value, int):
                raise _Bad(self.label, f"must be an integer, not {type(value).__name__}")
            wire, extra = divmod(value + self.offset, self.step)
            if extra:
                raise _Bad(self.label, f"must be a whole number of {self.step}s, got {value}")
        else:
            wire = round((value + self.offset) * self.scale)
        if lo <= wire <= hi:
            return wire
        if self.clamp:
            return lo if wire < lo else hi
        low, high = self.from_wire(lo), self.from_wire(hi)
        raise _Bad(self.label, f"must be {low:g}..{high:g}, got {value}")

    def from_wire(self, wire: int) -> float:
        if self.scale == 1:
            return wire * self.step - self.offset
        return wire / self.scale - self.offset

    def problem(self, obj: object) -> tuple[str, str] | None:
        try:
            self.to_wire(getattr(obj, self.names[0]))
        except _Bad as bad:
            return (bad.label, bad.problem)
        return None


class Choice(Number):
    """An integer that must be a member of the :class:`enum.IntEnum` ``kind``.

    Decodes to the member, so a code the enum does not know is a ProtocolError naming
    the field (not a ``ValueError`` from the class); encoding refuses a non-member.
    """

    __slots__ = ("_members", "kind")

    def __init__(self, name: str, label: str, code: str, endian: str, kind: type[Any]) -> None:
        super().__init__(name, label, code, endian)
        self.kind = kind
        self._members: dict[int, Any] = {int(m): m for m in kind}

    def encode_expr(self, obj: str, me: str) -> str:
        return f"{me}.to_wire({obj}.{self.names[0]})"

    def decode_items(self, temps: Sequence[str], me: str, at: str) -> list[tuple[str | None, str]]:
        return [(self.names[0], f"{me}.member({temps[0]}, {at})")]

    def _listing(self) -> str:
        return ", ".join(f"{int(m)} {m.name}" for m in self._members.values())

    def to_wire(self, value: object) -> int:
        if isinstance(value, int) and value in self._members:
            return int(value)
        if value is None:
            raise _Bad(self.label, "is required")
        why = f"must be {_a(self.kind.__name__)} ({self._listing()}), got {value!r}"
        raise _Bad(self.label, why)

    def member(self, wire: int, offset: int) -> Any:
        found = self._members.get(wire)
        if found is None:
            raise _Fault(
                f"{{field}} {wire} is not {_a(self.kind.__name__)} ({self._listing()})",
                offset,
                self.label,
            )
        return found

    def problem(self, obj: object) -> tuple[str, str] | None:
        try:
            self.to_wire(getattr(obj, self.names[0]))
        except _Bad as bad:
            return (bad.label, bad.problem)
        return super().problem(obj)


def _a(noun: str) -> str:
    return ("an " if noun[:1].upper() in "AEIOU" else "a ") + noun


class Variable(Field):
    """A field whose width depends on its value or on the bytes."""

    __slots__ = ()

    def compile(self, defaults: Mapping[str, Any]) -> tuple[_Enc, _Dec]:
        """The encoder ``(obj, out) -> None`` and decoder ``(data, pos, v) -> pos``."""
        raise NotImplementedError


_Enc = Callable[[Any, bytearray], None]
_Dec = Callable[[bytes, int, dict[str, Any]], int]


def _short(label: str, need: int, data: bytes, pos: int) -> _Fault:
    return _Fault(
        f"message ends inside {{field}} ({need} bytes needed, {len(data) - pos} left)", pos, label
    )


class Text(Variable):
    """A NUL-terminated string in ``encoding`` (the NUL is not part of the value)."""

    __slots__ = ("encoding",)

    def __init__(self, name: str, label: str, encoding: str) -> None:
        super().__init__((name,), label, 1)
        self.encoding = encoding

    def compile(self, defaults: Mapping[str, Any]) -> tuple[_Enc, _Dec]:
        get = attrgetter(self.names[0])
        name, label, encoding = self.names[0], self.label, self.encoding
        shown = _ENCODING_NAMES.get(encoding, encoding)

        def enc(obj: Any, out: bytearray) -> None:
            value = get(obj)
            if not isinstance(value, str):
                why = (
                    "is required" if value is None else f"must be a str, not {type(value).__name__}"
                )
                raise _Bad(label, why)
            try:
                raw = value.encode(encoding)
            except UnicodeEncodeError:
                raise _Bad(label, f"has a character {shown} cannot encode: {value!r}") from None
            if b"\x00" in raw:
                raise _Bad(label, f"cannot contain a NUL character: {value!r}")
            out += raw
            out.append(0)

        def dec(data: bytes, pos: int, v: dict[str, Any]) -> int:
            end = data.find(b"\x00", pos)
            if end < 0:
                raise _Fault("{field} is not NUL-terminated", pos, label)
            try:
                v[name] = data[pos:end].decode(encoding)
            except UnicodeDecodeError:
                raise _Fault(f"{{field}} is not valid {shown}", pos, label) from None
            return end + 1

        return enc, dec


def _check_bytes(value: object, label: str) -> bytes | bytearray | memoryview:
    if isinstance(value, bytes | bytearray | memoryview):
        return value
    raise _Bad(
        label, "is required" if value is None else f"must be bytes, not {type(value).__name__}"
    )


class Raw(Variable):
    """Raw bytes: exactly ``size`` of them, or (``size`` None) every byte to the end.

    Encoding refuses a wrong size rather than pad, and more than ``max_len``; decoding
    keeps whatever came (a longer quote is still worth reading).
    """

    __slots__ = ("max_len", "size")

    def __init__(self, name: str, label: str, size: int | None, max_len: int | None) -> None:
        super().__init__((name,), label, size or 0)
        self.size = size
        self.max_len = max_len

    def compile(self, defaults: Mapping[str, Any]) -> tuple[_Enc, _Dec]:
        get = attrgetter(self.names[0])
        name, label, size, max_len = self.names[0], self.label, self.size, self.max_len

        def enc(obj: Any, out: bytearray) -> None:
            value = _check_bytes(get(obj), label)
            if size is not None and len(value) != size:
                raise _Bad(label, f"is {len(value)} bytes; it must be {size}")
            if max_len is not None and len(value) > max_len:
                raise _Bad(label, f"is {len(value)} bytes; at most {max_len} fit")
            out += value

        def dec(data: bytes, pos: int, v: dict[str, Any]) -> int:
            end = len(data) if size is None else pos + size
            if end > len(data):
                raise _short(label, end - pos, data, pos)
            v[name] = data[pos:end]
            return end

        return enc, dec


class Prefixed(Variable):
    """Bytes after an unsigned length word whose top bits may be flags.

    ``flags`` maps attribute names to bit numbers; the length is the bits below the
    lowest flag, which bounds what can be encoded.
    """

    __slots__ = ("_struct", "flags", "max_len")

    def __init__(
        self, name: str, label: str, code: str, endian: str, flags: Sequence[tuple[str, int]]
    ) -> None:
        self._struct = struct.Struct(endian + code)
        super().__init__((name, *(f for f, _ in flags)), label, self._struct.size)
        self.flags = tuple(flags)
        bits = 8 * self._struct.size
        low = min((bit for _, bit in flags), default=bits)
        if low > bits or any(bit >= bits for _, bit in flags):
            raise ValueError(f"{label}: flag bits outside the {bits}-bit length word")
        self.max_len = (1 << low) - 1

    def compile(self, defaults: Mapping[str, Any]) -> tuple[_Enc, _Dec]:
        get = attrgetter(self.names[0])
        name, label, max_len, flags = self.names[0], self.label, self.max_len, self.flags
        pack, unpack_from, width = self._struct.pack, self._struct.unpack_from, self._struct.size
        length_label = f"{label} length"

        def enc(obj: Any, out: bytearray) -> None:
            value = _check_bytes(get(obj), label)
            if len(value) > max_len:
                raise _Bad(label, f"is {len(value)} bytes; at most {max_len} fit")
            word = len(value)
            for attr, bit in flags:
                if getattr(obj, attr):
                    word |= 1 << bit
            out += pack(word)
            out += value

        def dec(data: bytes, pos: int, v: dict[str, Any]) -> int:
            if pos + width > len(data):
                raise _short(length_label, width, data, pos)
            (word,) = unpack_from(data, pos)
            pos += width
            n: int = word & max_len
            if pos + n > len(data):
                raise _short(label, n, data, pos)
            for attr, bit in flags:
                v[attr] = bool(word >> bit & 1)
            v[name] = data[pos : pos + n]
            return pos + n

        return enc, dec


class Optional(Variable):
    """A trailing field that may be missing: decoded only if bytes remain.

    Absent means the attribute's default (None, usually); an absent value is left off
    the wire unless ``write_absent`` (then it is always sent, e.g. a hold-off of 0).
    Only further optionals may follow one, and none of them may be sent without it.
    """

    __slots__ = ("before", "inner", "write_absent")

    def __init__(self, inner: Field, write_absent: bool) -> None:
        super().__init__(inner.names, inner.label)
        self.inner = inner
        self.write_absent = write_absent
        self.before: tuple[Optional, ...] = ()

    def compile(self, defaults: Mapping[str, Any]) -> tuple[_Enc, _Dec]:
        absent = _defaults_of(self, defaults)
        inner_enc, inner_dec, _, _ = _compile([self.inner], defaults)
        get, absent_value = _probe(self, defaults)
        earlier = [(o.label, *_probe(o, defaults)) for o in self.before]
        write_absent, label, names = self.write_absent, self.label, self.names

        def enc(obj: Any, out: bytearray) -> None:
            if not write_absent and get(obj) == absent_value:
                return
            for other, other_get, other_absent in earlier:
                if other_get(obj) == other_absent:
                    raise _Bad(label, f"cannot be sent without {other}")
            inner_enc(obj, out)

        def dec(data: bytes, pos: int, v: dict[str, Any]) -> int:
            if pos >= len(data):
                v.update(zip(names, absent, strict=True))
                return pos
            return inner_dec(data, pos, v)

        return enc, dec


class Tail(Variable):
    """A group sent when attribute ``key`` is one of ``values`` (e.g. a response code of OK).

    Otherwise it is tolerated: decoded if bytes remain (some devices send it anyway)
    and defaulted if not; encoded only when some field differs from its default.
    Inside the group a field left at None is an error ("is required").
    """

    __slots__ = ("fields", "key", "values")

    def __init__(self, fields: Sequence[Field], key: str, values: Collection[Any]) -> None:
        names = tuple(n for f in fields for n in f.names)
        super().__init__(names, "/".join(f.label for f in fields))
        self.fields = tuple(fields)
        self.key = key
        self.values = frozenset(values)

    def compile(self, defaults: Mapping[str, Any]) -> tuple[_Enc, _Dec]:
        absent = _defaults_of(self, defaults)
        inner_enc, inner_dec, _, _ = _compile(self.fields, defaults)
        get_all, absent_value = _probe(self, defaults)
        key, values, names = attrgetter(self.key), self.values, self.names
        key_name = self.key

        def enc(obj: Any, out: bytearray) -> None:
            if key(obj) in values or get_all(obj) != absent_value:
                inner_enc(obj, out)

        def dec(data: bytes, pos: int, v: dict[str, Any]) -> int:
            if v[key_name] in values or pos < len(data):
                return inner_dec(data, pos, v)
            v.update(zip(names, absent, strict=True))
            return pos

        return enc, dec


class Record:
    """The element of a :func:`repeat`: a class built from its own layout (by keyword)."""

    __slots__ = ("layout", "make")

    def __init__(self, make: Callable[..., Any], layout: Sequence[Field]) -> None:
        self.make = make
        self.layout = tuple(layout)


class Repeat(Variable):
    """A tuple of ``element`` (a scalar field or a :class:`Record`).

    Without ``count`` the elements run to the end of the message; with ``count`` (a
    struct code) a count prefix says how many, and it is checked against the bytes
    left (and ``max_count``) before anything is built.
    """

    __slots__ = ("_count", "element", "max_count")

    def __init__(
        self,
        name: str,
        label: str,
        element: Field | Record,
        count: str | None,
        endian: str,
        max_count: int | None,
    ) -> None:
        super().__init__((name,), label)
        self.element = element
        self._count = None if count is None else struct.Struct(endian + count)
        self.max_count = max_count

    def compile(self, defaults: Mapping[str, Any]) -> tuple[_Enc, _Dec]:
        element = self.element
        scalar = not isinstance(element, Record)
        if isinstance(element, Record):
            layout, make, only = element.layout, element.make, ""
            elem_defaults = _dataclass_defaults(make)
            shown = getattr(make, "__name__", "record")
            if dataclasses.is_dataclass(make):
                _check_names(layout, make, f"{self.label} {shown}")
        else:
            layout, make, elem_defaults = (element,), tuple, {}
            (only,) = element.names
            shown = element.label
        box = _box_class(only or "_")
        kind = make if not scalar and isinstance(make, type) else None
        elem_enc, elem_dec, min_size, _ = _compile(layout, elem_defaults)
        get, name, label = attrgetter(self.names[0]), self.names[0], self.label
        counter, max_count = self._count, self.max_count
        if counter is None and min_size == 0:
            raise ValueError(f"{label}: an element that can be empty cannot repeat to the end")
        limit = max_count
        if counter is not None:
            top = (1 << (8 * counter.size)) - 1
            limit = top if limit is None else min(limit, top)

        def enc(obj: Any, out: bytearray) -> None:
            items = get(obj)
            if not isinstance(items, tuple | list):
                why = (
                    "is required"
                    if items is None
                    else f"must be a tuple, not {type(items).__name__}"
                )
                raise _Bad(label, why)
            if limit is not None and len(items) > limit:
                raise _Bad(label, f"has {len(items)} entries; at most {limit} fit")
            if counter is not None:
                out += counter.pack(len(items))
            for i, item in enumerate(items):
                if kind is not None and not isinstance(item, kind):
                    why = f"must be {_a(shown)}, not {type(item).__name__}"
                    raise _Bad(f"{label}[{i}]", why)
                try:
                    elem_enc(box(item) if scalar else item, out)
                except _Bad as bad:
                    raise _Bad(f"{label}[{i}] {bad.label}", bad.problem) from None

        def dec(data: bytes, pos: int, v: dict[str, Any]) -> int:
            end = len(data)
            if counter is not None:
                if pos + counter.size > end:
                    raise _short(f"{label} count", counter.size, data, pos)
                (count,) = counter.unpack_from(data, pos)
                if limit is not None and count > limit:
                    raise _Fault(f"{{field}} count {count} exceeds {limit}", pos, label)
                pos += counter.size
                if count * min_size > end - pos:
                    raise _Fault(
                        f"{{field}} count {count} needs at least {count * min_size} bytes, "
                        f"{end - pos} left",
                        pos - counter.size,
                        label,
                    )
            else:
                count = -1
            items: list[Any] = []
            while (pos < end) if count < 0 else (len(items) < count):
                if len(items) == limit:  # only to the end: a count was checked above
                    raise _Fault(f"{{field}} has more than {limit} entries", pos, label)
                one: dict[str, Any] = {}
                try:
                    pos = elem_dec(data, pos, one)
                except _Fault as fault:
                    raise _Fault(
                        fault.template, fault.offset, f"{label}[{len(items)}] {fault.label}"
                    ) from None
                if scalar:
                    items.append(one[only])
                    continue
                try:
                    items.append(make(**one))
                except ValueError as exc:  # the record's own validation refused it
                    raise _Fault(
                        f"{{field}} is invalid: {exc}", pos, f"{label}[{len(items)}]"
                    ) from None
            v[name] = tuple(items)
            return pos

        return enc, dec


def _box_class(name: str) -> Callable[[Any], Any]:
    """A one-slot holder so a scalar element encodes like an attribute."""
    return type(
        "_Box",
        (),
        {"__slots__": (name,), "__init__": lambda self, value: setattr(self, name, value)},
    )


class IgnoreRest(Variable):
    """Whatever follows is accepted and dropped (room for a newer firmware's additions)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__((), "rest")

    def compile(self, defaults: Mapping[str, Any]) -> tuple[_Enc, _Dec]:
        def enc(obj: Any, out: bytearray) -> None:
            return None

        def dec(data: bytes, pos: int, v: dict[str, Any]) -> int:
            return len(data)

        return enc, dec


def _probe(field: Field, defaults: Mapping[str, Any]) -> tuple[Callable[[Any], Any], Any]:
    """A getter of ``field``'s attribute(s), and what it returns when they are absent."""
    absent = _defaults_of(field, defaults)
    if len(field.names) == 1:
        return attrgetter(field.names[0]), absent[0]
    return attrgetter(*field.names), absent


def _defaults_of(field: Field, defaults: Mapping[str, Any]) -> tuple[Any, ...]:
    out = []
    for name in field.names:
        value = defaults.get(name, MISSING)
        if value is MISSING:
            raise ValueError(f"{field.label}: attribute {name!r} may be absent so needs a default")
        out.append(value)
    return tuple(out)


def _dataclass_defaults(cls: Any) -> dict[str, Any]:
    if not dataclasses.is_dataclass(cls):
        return {}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:
            out[f.name] = f.default_factory()
    return out


# --- the compiler -----------------------------------------------------------------------------


def _runs(layout: Sequence[Field]) -> list[list[Fixed] | Variable]:
    """Consecutive fixed fields of one byte order, and each variable field alone."""
    out: list[list[Fixed] | Variable] = []
    run: list[Fixed] = []
    order = ""
    for f in layout:
        if isinstance(f, Fixed) and (not f.endian or not order or f.endian == order):
            run.append(f)
            order = order or f.endian
            continue
        if run:
            out.append(run)
            run, order = [], ""
        if isinstance(f, Fixed):
            run, order = [f], f.endian
        elif isinstance(f, Variable):
            out.append(f)
        else:
            raise TypeError(f"not a field: {f!r}")
    if run:
        out.append(run)
    return out


def _check_order(layout: Sequence[Field]) -> None:
    """Optionals trail; nothing follows a to-the-end field; a tail's key comes first."""
    seen_optional: list[Optional] = []
    for i, f in enumerate(layout):
        later = layout[i + 1 :]
        to_end = (isinstance(f, Raw) and f.size is None) or isinstance(f, IgnoreRest)
        to_end = to_end or (isinstance(f, Repeat) and f._count is None)
        if to_end and later and not all(isinstance(x, IgnoreRest) for x in later):
            raise ValueError(f"{f.label} runs to the end, so nothing may follow it")
        if isinstance(f, Tail) and f.key not in {n for x in layout[:i] for n in x.names}:
            raise ValueError(f"{f.label} depends on {f.key!r}, which must come before it")
        if isinstance(f, Optional):
            f.before = tuple(seen_optional)
            seen_optional.append(f)
        elif seen_optional and not isinstance(f, IgnoreRest):
            raise ValueError(f"{f.label} follows optional {seen_optional[-1].label}")


def _run_source(
    k: int, run: Sequence[Fixed], ns: dict[str, Any], base: str = "pos"
) -> tuple[struct.Struct, list[str], list[tuple[str | None, str]], list[str]]:
    """One fixed run's Struct, encode expressions, decode items and temporaries.

    Puts the Struct (``S{k}``), the run (``R{k}``) and each field (``F{k}_{j}``) in
    ``ns``; ``base`` is the source of the run's offset, for decode errors.
    """
    s = struct.Struct(
        (next((f.endian for f in run if f.endian), ">")) + "".join(f.code for f in run)
    )
    ns[f"S{k}"], ns[f"R{k}"] = s, run
    exprs: list[str] = []
    items: list[tuple[str | None, str]] = []
    temps: list[str] = []
    offset = 0
    for j, f in enumerate(run):
        me = f"F{k}_{j}"
        ns[me] = f
        exprs.append(f.encode_expr("o", me))
        mine = [f"t{k}_{len(temps) + x}" for x in range(f.parts)]
        temps.extend(mine)
        items.extend(f.decode_items(mine, me, f"{base} + {offset}"))
        offset += f.size
    return s, exprs, items, temps


def _positional_order(make: Callable[..., Any], names: Sequence[str]) -> list[str] | None:
    """``names`` in ``make``'s parameter order if it is a dataclass taking exactly them.

    A positional call builds a dataclass noticeably faster than keywords do.
    """
    if not (isinstance(make, type) and dataclasses.is_dataclass(make)):
        return None
    params = [f.name for f in dataclasses.fields(make) if f.init]
    kw_only = any(f.kw_only for f in dataclasses.fields(make) if f.init)
    return params if not kw_only and sorted(params) == sorted(names) else None


def _namespace() -> dict[str, Any]:
    return {"_Bad": _Bad, "_fixed_problem": _fixed_problem, "_fixed_short": _fixed_short}


def _compile(
    layout: Sequence[Field], defaults: Mapping[str, Any]
) -> tuple[_Enc, _Dec, int, int | None]:
    """Encoder, decoder, minimum size and fixed size (None if variable) of ``layout``."""
    _check_order(layout)
    ns = _namespace()
    enc_src = ["def enc(o, out):"]
    dec_src = ["def dec(data, pos, v):", "    n = len(data)"]
    min_size = 0
    fixed: int | None = 0
    for k, item in enumerate(_runs(layout)):
        if isinstance(item, list):
            s, exprs, items, temps = _run_source(k, item, ns)
            enc_src += [
                "    try:",
                f"        out += S{k}.pack({', '.join(exprs)})",
                "    except _Bad:",
                "        raise",
                "    except Exception:",
                f"        _fixed_problem(R{k}, o)",
            ]
            dec_src += [
                f"    if pos + {s.size} > n:",
                f"        _fixed_short(R{k}, data, pos)",
                f"    ({', '.join(temps)},) = S{k}.unpack_from(data, pos)",
                *(
                    f"    {src}" if name is None else f"    v[{name!r}] = {src}"
                    for name, src in items
                ),
                f"    pos += {s.size}",
            ]
            min_size += s.size
            if fixed is not None:
                fixed += s.size
        else:
            ns[f"E{k}"], ns[f"D{k}"] = item.compile(defaults)
            enc_src.append(f"    E{k}(o, out)")
            dec_src.append(f"    pos = D{k}(data, pos, v)")
            min_size += item.min_size
            fixed = None
    enc_src.append("    return None")
    dec_src.append("    return pos")
    exec("\n".join(enc_src) + "\n" + "\n".join(dec_src), ns)  # our own source
    return ns["enc"], ns["dec"], min_size, fixed


_Pack = Callable[[Any], bytes]
_Unpack = Callable[[bytes, int], tuple[Any, int]]


def _compile_fixed(
    layout: Sequence[Field], make: Callable[..., Any]
) -> tuple[_Pack, _Unpack] | None:
    """Straight-line ``pack(obj) -> bytes`` and ``unpack(data, pos) -> (value, end)``.

    Only for a layout of fixed fields (None otherwise): one function each way, the
    value built by one keyword call of ``make`` -- no dict, no per-field calls --
    since fixed packets are what families decode in hot loops.  Errors are the same
    ``_Bad``/``_Fault`` as the general path; ``make``'s ValueError propagates.
    """
    runs = _runs(layout)
    if not all(isinstance(run, list) for run in runs):
        return None
    ns = _namespace()
    ns["make"] = make
    packs: list[str] = []
    unpack: list[str] = []
    args: list[str] = []
    every: list[Fixed] = []
    at = 0
    for k, run in enumerate(runs):
        assert isinstance(run, list)
        every.extend(run)
        s, exprs, items, temps = _run_source(k, run, ns, f"pos + {at}" if at else "pos")
        packs.append(f"S{k}.pack({', '.join(exprs)})")
        unpack.append(f"    ({', '.join(temps)},) = S{k}.unpack_from(data, pos + {at})")
        for name, code in items:
            if name is None:
                unpack.append(f"    {code}")
            else:
                unpack.append(f"    a_{name} = {code}")
                args.append(name)
        at += s.size
    ns["ALL"] = every
    packed = " + ".join(packs) or 'b""'  # an empty layout packs to nothing
    order = _positional_order(make, args)
    call = ", ".join(f"a_{n}" for n in order) if order else ", ".join(f"{n}=a_{n}" for n in args)
    src = [
        "def pack(o):",
        "    try:",
        f"        return {packed}",
        "    except _Bad:",
        "        raise",
        "    except Exception:",
        "        _fixed_problem(ALL, o)",
        "def unpack(data, pos):",
        f"    if pos + {at} > len(data):",
        "        _fixed_short(ALL, data, pos)",
        *unpack,
        f"    return make({call}), pos + {at}",
    ]
    exec("\n".join(src), ns)  # our own source
    return ns["pack"], ns["unpack"]


def _fixed_problem(run: Sequence[Fixed], obj: object) -> None:
    """Name the field of a fixed run that ``struct`` refused (only on the error path)."""
    for f in run:
        try:
            found = f.problem(obj)
        except AttributeError as exc:
            raise _Bad(f.label, f"is missing: {exc}") from None
        if found is not None:
            raise _Bad(*found)
    raise _Bad("/".join(f.label for f in run), "cannot be encoded")


def _fixed_short(run: Sequence[Fixed], data: bytes, pos: int) -> None:
    """Name the field a too-short message ends in (checking constants before it)."""
    for f in run:
        if pos + f.size > len(data):
            raise _short(f.label, f.size, data, pos)
        if isinstance(f, Const):
            (got,) = struct.unpack_from((f.endian or ">") + f.code, data, pos)
            if got != f.value:
                f.mismatch(got, pos)
        pos += f.size
    raise AssertionError("fixed run was not short")  # pragma: no cover


# --- the codec --------------------------------------------------------------------------------


class Codec(Generic[T]):
    """Encoder and decoder compiled from one layout; build it once per class.

    ``make`` builds the decoded value from keyword arguments (the attribute names);
    ``what`` names it in errors; ``defaults`` are the values of absent optional and
    tail fields (taken from ``make`` when it is a dataclass).

    ``lazy=True`` compiles the layout on first use instead of now: a protocol module
    that declares dozens of message classes at import, of which a command uses a few,
    imports faster (compiling all of PakBus' cost a one-shot command some 30 ms).  The
    field order and the names are still checked now; what only compiling finds (a
    nested field's mistakes) waits for :meth:`compile` -- so a lazy declaration needs a
    test that compiles it.
    """

    __slots__ = (
        "_compiled",
        "_dec",
        "_defaults",
        "_enc",
        "_layout",
        "_make",
        "_min_size",
        "_pack",
        "_size",
        "_unpack",
        "what",
    )

    def __init__(
        self,
        layout: Sequence[Field],
        *,
        make: Callable[..., T],
        what: str,
        defaults: Mapping[str, Any] | None = None,
        lazy: bool = False,
    ) -> None:
        self.what = what
        self._defaults = defaults
        self._make = make
        self._layout = tuple(layout)
        self._compiled = False
        _check_order(self._layout)
        if dataclasses.is_dataclass(make):
            _check_names(self._layout, make, what)
        if not lazy:
            self.compile()

    def compile(self) -> Self:
        """Compile the layout, if not done yet; a bad declaration raises ValueError/TypeError."""
        if self._compiled:
            return self
        layout, make = self._layout, self._make
        known = _dataclass_defaults(make) if self._defaults is None else dict(self._defaults)
        self._enc, self._dec, self._min_size, self._size = _compile(layout, known)
        fast = _compile_fixed(layout, make)
        self._pack: _Pack | None = None if fast is None else fast[0]
        self._unpack: _Unpack | None = None if fast is None else fast[1]
        self._compiled = True
        return self

    @property
    def min_size(self) -> int:
        """Fewest bytes an encoded value takes."""
        return self.compile()._min_size

    @property
    def size(self) -> int | None:
        """Bytes every encoded value takes, or None when the layout's size varies."""
        return self.compile()._size

    def encode(self, obj: T) -> bytes:
        """The bytes of ``obj``; UsageError names the field whose value does not fit."""
        if not self._compiled:
            self.compile()
        try:
            if self._pack is not None:
                packed: bytes = self._pack(obj)
                return packed
            out = bytearray()
            self._enc(obj, out)
        except _Bad as bad:
            raise UsageError(f"cannot encode {self.what}: {bad.label} {bad.problem}") from None
        return bytes(out)

    def decode(self, data: bytes | bytearray | memoryview) -> T:
        """Exactly one value from all of ``data``; anything else is a ProtocolError."""
        value, end = self.decode_from(data, 0)
        if end != len(data):
            raise ProtocolError(
                f"{len(data) - end} unexpected trailing bytes", message_type=self.what, offset=end
            )
        return value

    def decode_from(self, data: bytes | bytearray | memoryview, pos: int = 0) -> tuple[T, int]:
        """One value starting at ``pos``, and the offset just after it (for streams)."""
        if not self._compiled:
            self.compile()
        raw = data if isinstance(data, bytes) else bytes(data)
        try:
            if self._unpack is not None:
                found: tuple[T, int] = self._unpack(raw, pos)
                return found
            v: dict[str, Any] = {}
            end = self._dec(raw, pos, v)
            return self._make(**v), end
        except _Fault as fault:
            raise ProtocolError(fault.reason, message_type=self.what, offset=fault.offset) from None
        except ValueError as exc:  # the class's own validation refused the values
            raise ProtocolError(
                f"invalid values: {exc}", message_type=self.what, offset=pos
            ) from None


def _check_names(layout: Sequence[Field], cls: Any, what: str) -> None:
    """Every attribute the layout names exists, and every required one is named."""
    declared = {n for f in layout for n in f.names}
    attrs = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = declared - set(attrs)
    if unknown:
        raise TypeError(f"{what}: layout names unknown attributes {sorted(unknown)}")
    missing = {
        n
        for n, f in attrs.items()
        if n not in declared and f.default is MISSING and f.default_factory is MISSING
    }
    if missing:
        raise TypeError(f"{what}: layout leaves out required attributes {sorted(missing)}")


class Binary:
    """Mixin for a dataclass with a ``LAYOUT``: ``encode()`` and ``decode()`` from it.

    The codec is compiled the first time the class is used and kept on the class.
    Errors name the message by ``WHAT`` (e.g. ``"MT-5 0xA0 reply"``), or by the
    class name when it is empty.
    """

    __slots__ = ()

    LAYOUT: ClassVar[Sequence[Field]]
    WHAT: ClassVar[str] = ""

    @classmethod
    def codec(cls) -> Codec[Self]:
        found = cls.__dict__.get("_fields_codec")
        if found is None:
            found = Codec(cls.LAYOUT, make=cls, what=cls.WHAT or cls.__name__)
            type.__setattr__(cls, "_fields_codec", found)
        return found

    def encode(self) -> bytes:
        return self.codec().encode(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        return cls.codec().decode(data)


# --- declaration helpers ----------------------------------------------------------------------

Layout = tuple[Field, ...]


class NumberType:
    """A kind of number field: ``u16("verify_interval", "VerifyIntv")`` declares one."""

    __slots__ = ("code", "endian")

    def __init__(self, code: str, endian: str) -> None:
        self.code = code
        self.endian = endian

    def __call__(self, name: str, label: str | None = None) -> Number:
        return Number(name, label or name, self.code, self.endian)

    def __repr__(self) -> str:
        return f"NumberType({self.code!r}, {self.endian!r})"


u8, i8 = NumberType("B", ""), NumberType("b", "")
u16, u32, u64 = NumberType("H", ">"), NumberType("I", ">"), NumberType("Q", ">")
i16, i32, i64 = NumberType("h", ">"), NumberType("i", ">"), NumberType("q", ">")
u16le, u32le, u64le = NumberType("H", "<"), NumberType("I", "<"), NumberType("Q", "<")
i16le, i32le, i64le = NumberType("h", "<"), NumberType("i", "<"), NumberType("q", "<")
f32, f64 = NumberType("f", ">"), NumberType("d", ">")
f32le, f64le = NumberType("f", "<"), NumberType("d", "<")


def flag(name: str, label: str | None = None, *, strict: bool = False) -> Number:
    """One byte: any non-zero value decodes as True; True encodes as 1.

    ``strict``: only 0 and 1 decode; any other byte is a ProtocolError.
    """
    if strict:
        return StrictFlag(name, label or name)
    return Number(name, label or name, "?", "")


def const(label: str, value: int, code: str = "B", endian: str = ">") -> Const:
    """A fixed value that must be there (decoding anything else is a ProtocolError)."""
    return Const(label, value, code, endian)


def part(name: str, width: int, label: str | None = None, *, flag: bool = False) -> Part:
    return Part(name, width, label or name, flag)


def bits(label: str, *parts: Part, code: str = "H", endian: str = ">") -> Bits:
    """An unsigned word (``code`` B/H/I/Q) cut into ``parts``, most significant first."""
    return Bits(label, code, endian, parts)


def scaled(
    name: str,
    label: str | None = None,
    *,
    code: str = "H",
    endian: str = ">",
    scale: int = 1,
    offset: int = 0,
    step: int = 1,
    clamp: bool = False,
) -> Scaled:
    """An integer field carrying ``(value + offset) * scale``: ``scaled("volts", scale=100)``.

    ``step=10`` sends a whole number of tens (``scale`` stays 1); ``clamp`` pins an
    out-of-range value at the nearest end of the wire range instead of refusing it.
    """
    return Scaled(name, label or name, code, endian, scale, offset, step, clamp)


def choice(
    name: str, kind: type[Any], label: str | None = None, *, code: str = "B", endian: str = ">"
) -> Choice:
    """An integer code decoded to a member of the IntEnum ``kind`` (others are refused)."""
    return Choice(name, label or name, code, endian, kind)


def packed(
    name: str,
    label: str,
    code: str,
    kind: type[Any],
    *,
    split: Callable[[Any], tuple[Any, ...]] | None = None,
    part_labels: Sequence[str] = (),
    endian: str = ">",
) -> Packed:
    """One attribute of type ``kind`` as several struct values (``kind(*parts)`` rebuilds it)."""
    if split is None:
        names = [f.name for f in dataclasses.fields(kind)]
        split = attrgetter(*names)
        part_labels = part_labels or names
    return Packed(name, label, code, endian, kind, split, part_labels or [label] * len(code))


def asciiz(name: str, label: str | None = None, *, encoding: str = "latin-1") -> Text:
    return Text(name, label or name, encoding)


def rest(name: str, label: str | None = None, *, max_len: int | None = None) -> Raw:
    """Every byte to the end of the message (``max_len`` bounds encoding only)."""
    return Raw(name, label or name, None, max_len)


def fixed_bytes(name: str, size: int, label: str | None = None) -> Raw:
    """Exactly ``size`` bytes."""
    return Raw(name, label or name, size, None)


def prefixed(
    name: str,
    label: str | None = None,
    *,
    code: str = "H",
    endian: str = ">",
    flags: Sequence[tuple[str, int]] = (),
) -> Prefixed:
    """Length-prefixed bytes; ``flags`` are ``(attribute, bit)`` pairs in the length word."""
    return Prefixed(name, label or name, code, endian, flags)


def optional(inner: Field, *, write_absent: bool = False) -> Optional:
    return Optional(inner, write_absent)


def tail(*fields: Field, key: str, values: Collection[Any]) -> Tail:
    return Tail(fields, key, values)


def record(make: Callable[..., Any], *layout: Field) -> Record:
    return Record(make, layout)


def repeat(
    name: str,
    element: Field | Record,
    label: str | None = None,
    *,
    count: str | None = None,
    endian: str = ">",
    max_count: int | None = None,
) -> Repeat:
    return Repeat(name, label or name, element, count, endian, max_count)


def ignore_rest() -> IgnoreRest:
    return IgnoreRest()


__all__ = [
    "Binary",
    "Bits",
    "Choice",
    "Codec",
    "Const",
    "Field",
    "Fixed",
    "Layout",
    "Number",
    "NumberType",
    "Optional",
    "Packed",
    "Part",
    "Prefixed",
    "Raw",
    "Record",
    "Repeat",
    "Scaled",
    "StrictFlag",
    "Tail",
    "Text",
    "Variable",
    "asciiz",
    "bits",
    "choice",
    "const",
    "f32",
    "f32le",
    "f64",
    "f64le",
    "fixed_bytes",
    "flag",
    "i8",
    "i16",
    "i16le",
    "i32",
    "i32le",
    "i64",
    "i64le",
    "ignore_rest",
    "number_problem",
    "optional",
    "packed",
    "part",
    "prefixed",
    "record",
    "repeat",
    "rest",
    "scaled",
    "tail",
    "u8",
    "u16",
    "u16le",
    "u32",
    "u32le",
    "u64",
    "u64le",
]
