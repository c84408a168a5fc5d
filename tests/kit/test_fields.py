"""The declarative field spec (fieldlink.kit.fields), tested on its own.

No instrument family here: the layouts are small made-up messages of the shapes the
families need (a fixed little-endian packet, a big-endian command with optional and
conditional fields, lists with and without a count).  What they pin down: both
directions come from one declaration and agree; bad input gives ProtocolError (decode)
or UsageError (encode) naming the message and the field, never another exception; no
count or length from the wire allocates beyond the bytes given.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.errors import ProtocolError, UsageError
from fieldlink.kit import fields as F
from fieldlink.kit.fields import Binary, Codec, Layout


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# --- a fixed little-endian packet (the Batlab shape) --------------------------------------------


@dataclass(frozen=True, slots=True)
class Packet(Binary):
    """5 bytes: sync 0xAA, cell, register, a little-endian value."""

    LAYOUT: ClassVar[Layout] = (
        F.const("Sync", 0xAA),
        F.u8("cell", "Cell"),
        F.u8("register", "Register"),
        F.u16le("value", "Value"),
    )

    cell: int
    register: int
    value: int


def test_fixed_little_endian_packet() -> None:
    assert Packet(1, 2, 0x1234).encode() == h("AA 01 02 34 12")
    assert Packet.decode(h("AA 01 02 34 12")) == Packet(1, 2, 0x1234)
    assert Packet.codec().size == 5
    assert Packet.codec() is Packet.codec()  # compiled once, kept on the class


def test_fixed_packets_from_a_stream() -> None:
    stream = h("AA 01 02 34 12 AA 03 04 FF FF")
    codec = Packet.codec()
    first, pos = codec.decode_from(stream, 0)
    second, end = codec.decode_from(stream, pos)
    assert (first, second, end) == (Packet(1, 2, 0x1234), Packet(3, 4, 0xFFFF), 10)


def test_const_mismatch_names_field_and_offset() -> None:
    with pytest.raises(ProtocolError, match="Sync is 0xAB, expected 0xAA") as info:
        Packet.decode(h("AB 01 02 34 12"))
    assert (info.value.message_type, info.value.offset) == ("Packet", 0)
    # Even a short packet reports the wrong sync byte before its length.
    with pytest.raises(ProtocolError, match="Sync is 0xAB"):
        Packet.decode(h("AB 01"))


def test_short_packet_names_field_and_offset() -> None:
    with pytest.raises(ProtocolError, match="ends inside Value") as info:
        Packet.decode(h("AA 01 02 34"))
    assert info.value.offset == 3
    with pytest.raises(ProtocolError, match="ends inside Sync") as info:
        Packet.decode(b"")
    assert info.value.offset == 0


def test_trailing_bytes() -> None:
    with pytest.raises(ProtocolError, match="1 unexpected trailing bytes") as info:
        Packet.decode(h("AA 01 02 34 12 00"))
    assert info.value.offset == 5


@pytest.mark.parametrize(
    ("packet", "problem"),
    [
        (Packet(256, 0, 0), "Cell must be 0..255, got 256"),
        (Packet(0, 0, -1), "Value must be 0..65535, got -1"),
        (Packet(0, 0, 1.5), "Value must be an integer, not float"),  # type: ignore[arg-type]
        (Packet(0, None, 0), "Register is required"),  # type: ignore[arg-type]
    ],
)
def test_encode_refuses_what_does_not_fit(packet: Packet, problem: str) -> None:
    with pytest.raises(UsageError, match=f"cannot encode Packet: {problem}"):
        packet.encode()


# --- every number type, both byte orders --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Numbers:
    a: int
    b: int
    c: int
    d: int
    e: int
    f: int
    g: int
    i: int
    x: float
    y: float


BIG: Layout = (
    F.u8("a"),
    F.i8("b"),
    F.u16("c"),
    F.i16("d"),
    F.u32("e"),
    F.i32("f"),
    F.u64("g"),
    F.i64("i"),
    F.f32("x"),
    F.f64("y"),
)
LITTLE: Layout = (
    F.u8("a"),
    F.i8("b"),
    F.u16le("c"),
    F.i16le("d"),
    F.u32le("e"),
    F.i32le("f"),
    F.u64le("g"),
    F.i64le("i"),
    F.f32le("x"),
    F.f64le("y"),
)
big = Codec(BIG, make=Numbers, what="big")
little = Codec(LITTLE, make=Numbers, what="little")

numbers = st.builds(
    Numbers,
    st.integers(0, 2**8 - 1),
    st.integers(-(2**7), 2**7 - 1),
    st.integers(0, 2**16 - 1),
    st.integers(-(2**15), 2**15 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(0, 2**64 - 1),
    st.integers(-(2**63), 2**63 - 1),
    st.just(1.5),
    st.floats(allow_nan=False),
)


def test_byte_orders() -> None:
    n = Numbers(1, -1, 0x0203, -2, 0x04050607, -3, 8, -4, 1.0, -2.0)
    assert big.encode(n) == h(
        "01 FF 0203 FFFE 04050607 FFFFFFFD 0000000000000008 FFFFFFFFFFFFFFFC"
        " 3F800000 C000000000000000"
    )
    assert little.encode(n) == h(
        "01 FF 0302 FEFF 07060504 FDFFFFFF 0800000000000000 FCFFFFFFFFFFFFFF"
        " 0000803F 00000000000000C0"
    )
    assert big.size == little.size == 1 + 1 + 2 + 2 + 4 + 4 + 8 + 8 + 4 + 8


@given(numbers)
def test_numbers_round_trip_both_orders(n: Numbers) -> None:
    for codec in (big, little):
        assert codec.decode(codec.encode(n)) == n
    # The same values, each field's bytes reversed (one-byte fields stay put).
    assert little.encode(n)[2:4] == big.encode(n)[2:4][::-1]


def test_mixed_byte_orders_in_one_layout() -> None:
    @dataclass(frozen=True)
    class Mixed:
        a: int
        b: int
        c: int

    codec = Codec((F.u16("a"), F.u16le("b"), F.u8("c")), make=Mixed, what="mixed")
    assert codec.encode(Mixed(0x0102, 0x0102, 3)) == h("0102 0201 03")
    assert codec.decode(h("0102 0201 03")) == Mixed(0x0102, 0x0102, 3)


# --- scaled values (the EPsolar MT-5 shape) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Charge(Binary):
    """Volts as hundredths in a little-endian UInt2, °C + 30 in one byte."""

    LAYOUT: ClassVar[Layout] = (
        F.scaled("volts", "BatteryVoltage", endian="<", scale=100),
        F.scaled("celsius", "Temperature", code="B", offset=30),
        F.flag("charging", "Charging"),
    )

    volts: float
    celsius: int
    charging: bool


def test_scaled_values() -> None:
    assert Charge(12.34, -5, True).encode() == h("D204 19 01")
    assert Charge.decode(h("D204 19 01")) == Charge(12.34, -5, True)
    assert Charge.codec().size == 4
    with pytest.raises(UsageError, match=r"BatteryVoltage must be 0\.\.655\.35, got 700"):
        Charge(700, 0, False).encode()
    with pytest.raises(UsageError, match=r"Temperature must be -30\.\.225, got 300"):
        Charge(1, 300, False).encode()
    with pytest.raises(UsageError, match="BatteryVoltage must be a number, not str"):
        Charge("1", 0, False).encode()  # type: ignore[arg-type]


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFF))
def test_scaled_round_trip_from_the_wire(volts: int, temp: int) -> None:
    wire = volts.to_bytes(2, "little") + bytes([temp, 0])
    assert Charge.decode(wire).encode() == wire


# --- coarse steps, pinned readings, enum codes, the message's own name --------------------------


class Kind(enum.IntEnum):
    GEL = 0
    SEALED = 1


@dataclass(frozen=True, slots=True)
class Settings(Binary):
    """Attributes in another order than the wire's: decoding must still match by name."""

    LAYOUT: ClassVar[Layout] = (
        F.choice("kind", Kind, "Battery"),
        F.scaled("capacity", "Capacity", code="B", step=10),
        F.scaled("level", "Level", code="B", endian="<", scale=10, clamp=True),
    )
    WHAT: ClassVar[str] = "settings request"

    capacity: int
    level: float
    kind: Kind = Kind.SEALED


def test_step_choice_and_clamp_bytes() -> None:
    assert Settings(2550, 1.5, Kind.GEL).encode() == h("00 FF 0F")
    assert Settings.decode(h("01 0A 0F")) == Settings(100, 1.5, Kind.SEALED)
    decoded = Settings.decode(h("00 00 00"))
    assert decoded.kind is Kind.GEL and isinstance(decoded.capacity, int)
    # A plain int naming a member encodes like the member.
    assert Settings(10, 0, 1).encode() == h("01 01 00")  # type: ignore[arg-type]


def test_clamp_pins_at_the_ends_of_the_wire_range() -> None:
    assert Settings(0, 99.0).encode()[2:] == h("FF")
    assert Settings(0, -3.0).encode()[2:] == h("00")
    with pytest.raises(UsageError, match="Level must be a finite number, got nan"):
        Settings(0, math.nan).encode()


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (Settings(105, 0), "Capacity must be a whole number of 10s, got 105"),
        (Settings(2560, 0), r"Capacity must be 0\.\.2550, got 2560"),
        (Settings(100.0, 0), "Capacity must be an integer, not float"),  # type: ignore[arg-type]
        (Settings(0, 0, 7), r"Battery must be a Kind \(0 GEL, 1 SEALED\), got 7"),  # type: ignore[arg-type]
        (Settings(0, 0, None), "Battery is required"),  # type: ignore[arg-type]
    ],
)
def test_step_and_choice_encode_errors(settings: Settings, problem: str) -> None:
    with pytest.raises(UsageError, match=f"cannot encode settings request: {problem}"):
        settings.encode()


def test_unknown_enum_code_is_a_protocol_error_naming_the_field() -> None:
    with pytest.raises(ProtocolError, match=r"Battery 7 is not a Kind \(0 GEL, 1 SEALED\)") as info:
        Settings.decode(h("07 00 00"))
    assert (info.value.message_type, info.value.offset) == ("settings request", 0)


def test_scaled_declaration_mistakes() -> None:
    with pytest.raises(ValueError, match="not both above 1"):
        F.scaled("x", scale=100, step=10)
    with pytest.raises(ValueError, match="integer code"):
        F.scaled("x", code="f")


# --- a variable big-endian command (the PakBus shape) ------------------------------------------


@dataclass(frozen=True)
class Stamp:
    seconds: int
    nanos: int


@dataclass(frozen=True, slots=True)
class Command(Binary):
    LAYOUT: ClassVar[Layout] = (
        F.u8("code", "Code"),
        F.bits("Word", F.part("urgent", 1, "urgent bit", flag=True), F.part("node", 15, "Node")),
        F.packed("when", "When", "iI", Stamp),
        F.asciiz("name", "Name"),
        F.flag("close", "Close"),
        F.optional(F.u16("first", "First")),
        F.optional(F.u16("last", "Last")),
    )

    code: int
    urgent: bool
    node: int
    when: Stamp
    name: str
    close: bool
    first: int | None = None
    last: int | None = None


def test_command_layout_bytes() -> None:
    cmd = Command(7, True, 0x123, Stamp(-1, 5), "ab", True, 9)
    body = cmd.encode()
    assert body == h("07 8123 FFFFFFFF 00000005 616200 01 0009")
    assert Command.decode(body) == cmd
    assert Command.decode(body[:-2]) == dataclasses.replace(cmd, first=None)
    assert Command.decode(body + h("000A")) == dataclasses.replace(cmd, last=10)
    # A flag byte of any non-zero value is true.
    assert Command.decode(body[:-3] + h("02")).close is True


def test_optional_fields_cannot_skip_one() -> None:
    with pytest.raises(UsageError, match="Last cannot be sent without First"):
        Command(7, False, 1, Stamp(0, 0), "", False, None, 5).encode()


@pytest.mark.parametrize(
    ("cmd", "problem"),
    [
        (Command(1, False, 0x8000, Stamp(0, 0), "", False), "Node must be 0..32767"),
        (Command(1, False, 1, Stamp(0, -1), "", False), "When nanos must be 0..4294967295"),
        (Command(1, False, 1, (0, 0), "", False), "When must be a Stamp, not tuple"),  # type: ignore[arg-type]
        (Command(1, False, 1, Stamp(0, 0), "a\x00", False), "Name cannot contain a NUL"),
        (Command(1, False, 1, Stamp(0, 0), "€", False), "Name has a character Latin-1"),
        (Command(1, False, 1, Stamp(0, 0), b"x", False), "Name must be a str, not bytes"),  # type: ignore[arg-type]
    ],
)
def test_command_encode_errors(cmd: Command, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        cmd.encode()


def test_text_must_end_in_nul() -> None:
    with pytest.raises(ProtocolError, match="Name is not NUL-terminated") as info:
        Command.decode(h("07 8123 00000000 00000000 6162"))
    assert info.value.offset == 11


# --- conditional tails ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer(Binary):
    """Fields present only if the code is 0 (and tolerated when it is not)."""

    LAYOUT: ClassVar[Layout] = (
        F.u8("code", "Code"),
        F.tail(
            F.u32("offset", "Offset"),
            F.optional(F.asciiz("note", "Note")),
            F.ignore_rest(),
            key="code",
            values=(0,),
        ),
    )

    code: int
    offset: int | None = None
    note: str | None = None


def test_tail_present_when_the_key_says() -> None:
    assert Answer(0, 5).encode() == h("00 00000005")
    assert Answer.decode(h("00 00000005")) == Answer(0, 5)
    assert Answer.decode(h("00 00000005 6100 ffff")) == Answer(0, 5, "a")  # rest ignored
    with pytest.raises(ProtocolError, match="ends inside Offset"):
        Answer.decode(h("00"))
    with pytest.raises(UsageError, match="Offset is required"):
        Answer(0).encode()


def test_tail_tolerated_when_not_expected() -> None:
    assert Answer(3).encode() == h("03")
    assert Answer.decode(h("03")) == Answer(3)
    # Some devices send the fields anyway: they are read, and written back.
    assert Answer.decode(h("03 00000001")) == Answer(3, 1)
    assert Answer(3, 1).encode() == h("03 00000001")


def test_optional_written_even_when_absent() -> None:
    @dataclass(frozen=True)
    class HoldOff:
        code: int
        hold: int = 0

    codec = Codec(
        (F.u8("code"), F.optional(F.u16("hold"), write_absent=True)), make=HoldOff, what="x"
    )
    assert codec.encode(HoldOff(1)) == h("01 0000")
    assert codec.decode(h("01")) == HoldOff(1)


# --- byte strings and lists ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    value: bytes
    more: bool = False


@dataclass(frozen=True, slots=True)
class Lists(Binary):
    LAYOUT: ClassVar[Layout] = (
        F.fixed_bytes("serial", 4, "Serial"),
        F.repeat("names", F.asciiz("name", "Name"), count="B", max_count=8),
        F.repeat(
            "entries",
            F.record(Entry, F.u16("id", "Id"), F.prefixed("value", "Value", flags=(("more", 15),))),
        ),
    )

    serial: bytes
    names: tuple[str, ...] = ()
    entries: tuple[Entry, ...] = ()


def test_lists_layout_bytes() -> None:
    msg = Lists(b"SN01", ("a", ""), (Entry(1, b"xy", True), Entry(2, b"")))
    body = msg.encode()
    assert body == b"SN01" + h("02 6100 00") + h("0001 8002 7879 0002 0000")
    assert Lists.decode(body) == msg
    assert Lists.decode(b"SN01\x00") == Lists(b"SN01")


def test_hostile_count_is_refused_before_building() -> None:
    # A count of 200 names with two bytes left: refused, not 200 lists built.
    with pytest.raises(ProtocolError, match="names count 9 exceeds 8"):
        Lists.decode(b"SN01" + h("09 00 00"))
    with pytest.raises(ProtocolError, match="needs at least 5 bytes, 2 left") as info:
        Lists.decode(b"SN01" + h("05 00 00"))
    assert info.value.offset == 4


def test_hostile_length_is_refused() -> None:
    with pytest.raises(ProtocolError, match=r"entries\[1\] Value") as info:
        Lists.decode(b"SN01" + h("00 0001 0000 0002 7FFF 41"))
    assert info.value.offset == 13  # where the value's bytes begin


@pytest.mark.parametrize(
    ("msg", "problem"),
    [
        (Lists(b"SN1"), "Serial is 3 bytes; it must be 4"),
        (Lists(b"SN01", ("a",) * 9), "names has 9 entries; at most 8 fit"),
        (Lists(b"SN01", ("a", "b\x00")), r"names\[1\] Name cannot contain a NUL"),
        (Lists(b"SN01", (), (Entry(1, bytes(0x8000)),)), r"entries\[0\] Value is 32768 bytes"),
        (Lists(b"SN01", (), (Entry(1, "x"),)), r"entries\[0\] Value must be bytes"),  # type: ignore[arg-type]
        (Lists(b"SN01", (), (5,)), r"entries\[0\] must be an Entry, not int"),  # type: ignore[arg-type]
        (Lists(b"SN01", None), "names is required"),  # type: ignore[arg-type]
    ],
)
def test_lists_encode_errors(msg: Lists, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        msg.encode()


def test_repeat_to_the_end_is_bounded_by_max_count() -> None:
    @dataclass(frozen=True)
    class Names:
        names: tuple[str, ...]

    codec = Codec((F.repeat("names", F.asciiz("name"), max_count=2),), make=Names, what="n")
    assert codec.decode(b"a\x00b\x00") == Names(("a", "b"))
    with pytest.raises(ProtocolError, match="names has more than 2 entries") as info:
        codec.decode(b"a\x00b\x00c\x00")
    assert info.value.offset == 4


def test_rest_max_len_applies_to_encoding_only() -> None:
    @dataclass(frozen=True)
    class Quote:
        data: bytes

    codec = Codec((F.rest("data", "Quote", max_len=2),), make=Quote, what="q")
    assert codec.decode(b"abc") == Quote(b"abc")
    with pytest.raises(UsageError, match="Quote is 3 bytes; at most 2 fit"):
        codec.encode(Quote(b"abc"))


# --- any bytes: a value or ProtocolError ---------------------------------------------------------

CODECS = [
    Packet.codec(),
    Settings.codec(),
    Charge.codec(),
    Command.codec(),
    Answer.codec(),
    Lists.codec(),
    big,
    little,
]


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.what)
@given(data=st.binary(max_size=80))
def test_any_bytes_decode_or_raise_protocol_error(codec: Codec[object], data: bytes) -> None:
    try:
        value = codec.decode(data)
    except ProtocolError as exc:
        assert exc.message_type == codec.what
        assert exc.offset is not None and 0 <= exc.offset <= len(data)
        return
    # What decoded encodes, and that decodes to the same value.
    assert codec.decode(codec.encode(value)) == value


@given(prefix=st.sampled_from([b"SN01", b"SN01\xff"]), data=st.binary(max_size=40))
def test_lists_fuzz_near_valid(prefix: bytes, data: bytes) -> None:
    try:
        value = Lists.decode(prefix + data)
    except ProtocolError:
        return
    assert len(value.names) <= 8
    assert Lists.decode(value.encode()) == value


@given(st.lists(st.builds(Entry, st.integers(0, 0xFFFF), st.binary(max_size=20), st.booleans())))
def test_entries_round_trip(entries: list[Entry]) -> None:
    msg = Lists(b"ABCD", ("x",), tuple(entries))
    assert Lists.decode(msg.encode()) == msg


# --- declaration mistakes fail when the codec is built -------------------------------------------


@dataclass(frozen=True)
class Two:
    a: int
    b: int | None = None


@pytest.mark.parametrize(
    ("layout", "error", "problem"),
    [
        ((F.optional(F.u8("b")), F.u8("a")), ValueError, "a follows optional b"),
        ((F.rest("b"), F.u8("a")), ValueError, "runs to the end"),
        ((F.u8("a"), F.u8("c")), TypeError, "unknown attributes"),
        ((F.u8("b"),), TypeError, "leaves out required attributes"),
        ((F.u8("a"), F.repeat("b", F.rest("x"))), ValueError, "can be empty"),
        ((F.tail(F.u8("a"), key="b", values=(0,)), F.u8("b")), ValueError, "must come before"),
    ],
)
def test_bad_layouts(layout: Layout, error: type[Exception], problem: str) -> None:
    with pytest.raises(error, match=problem):
        Codec(layout, make=Two, what="two")


def test_record_layout_is_checked_against_its_class() -> None:
    with pytest.raises(TypeError, match="unknown attributes"):
        Codec((F.u8("a"), F.repeat("b", F.record(Entry, F.u8("nope")))), make=Two, what="t")


@dataclass(frozen=True)
class Even:
    n: int

    def __post_init__(self) -> None:
        if self.n % 2:
            raise ValueError(f"{self.n} is odd")


def test_a_class_refusing_decoded_values_gives_protocol_error() -> None:
    codec = Codec((F.u8("n"),), make=Even, what="even")
    assert codec.decode(b"\x02") == Even(2)
    with pytest.raises(ProtocolError, match="invalid values: 3 is odd"):
        codec.decode(b"\x03")

    @dataclass(frozen=True)
    class Evens:
        items: tuple[Even, ...]

    many = Codec((F.repeat("items", F.record(Even, F.u8("n"))),), make=Evens, what="evens")
    with pytest.raises(ProtocolError, match=r"items\[1\] is invalid: 5 is odd"):
        many.decode(b"\x02\x05")


def test_optional_needs_a_default() -> None:
    with pytest.raises(ValueError, match="needs a default"):
        Codec((F.optional(F.u8("a")), F.optional(F.u8("b"))), make=Two, what="two")


def test_bits_must_fill_the_word() -> None:
    with pytest.raises(ValueError, match="parts are 12 bits"):
        F.bits("w", F.part("a", 12))


def test_family_independent() -> None:
    code = "import sys, fieldlink.kit.fields; print(any('pakbus' in m for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the fixed fast path agrees with the general one ---------------------------------------------


def _general(codec: Codec[object]) -> Codec[object]:
    """The same codec without its straight-line fixed-layout functions."""
    slow: Codec[object] = Codec.__new__(Codec)
    for name in Codec.__slots__:
        setattr(slow, name, getattr(codec, name))
    slow._pack = slow._unpack = None
    return slow


def _outcome(run: Callable[[], object]) -> object:
    try:
        return ("value", run())
    except (ProtocolError, UsageError) as exc:
        return (type(exc).__name__, str(exc), getattr(exc, "offset", None))


#: ... including two byte orders (two Structs) and a constant after them.
MIXED = Codec((F.u16("a"), F.u16le("b"), F.const("End", 0x7F)), make=Two, what="mixed")
FIXED = [Packet.codec(), Charge.codec(), Settings.codec(), big, little, MIXED]


@pytest.mark.parametrize("codec", FIXED, ids=lambda c: c.what)
@given(data=st.binary(max_size=48), pos=st.integers(0, 3))
def test_fast_fixed_decode_matches_the_general_path(
    codec: Codec[object], data: bytes, pos: int
) -> None:
    assert codec._unpack is not None  # the layout is fixed, so the fast path is in use
    slow = _general(codec)
    assert _outcome(lambda: codec.decode_from(data, pos)) == _outcome(
        lambda: slow.decode_from(data, pos)
    )
    assert _outcome(lambda: codec.decode(data)) == _outcome(lambda: slow.decode(data))


@pytest.mark.parametrize(
    "value",
    [
        Packet(1, 2, 3),
        Packet(256, 0, 0),
        Packet(0, None, 0),  # type: ignore[arg-type]
        Charge(700, 0, False),
        Charge(1.5, 3, True),
        Settings(105, 0),
        Settings(10, 1e9, Kind.GEL),
    ],
)
def test_fast_fixed_encode_matches_the_general_path(value: Binary) -> None:
    codec = type(value).codec()
    assert _outcome(lambda: codec.encode(value)) == _outcome(lambda: _general(codec).encode(value))


def test_fixed_layout_of_a_class_with_more_attributes_builds_by_keyword() -> None:
    @dataclass(frozen=True)
    class Extra:
        a: int
        note: str = "kept"

    codec = Codec((F.u8("a"),), make=Extra, what="extra")
    assert codec.decode(b"\x05") == Extra(5)


def test_bits_fast_join_falls_back_to_the_checked_path() -> None:
    class Node(enum.IntEnum):
        ONE = 1

    word = F.bits("Word", F.part("urgent", 1, flag=True), F.part("node", 15, "Node"))
    assert word.fast_join(Command(0, True, Node.ONE, Stamp(0, 0), "", False)) == 0x8001
    with pytest.raises(Exception, match="must be an integer, not str"):
        word.fast_join(Command(0, True, "1", Stamp(0, 0), "", False))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Switch(Binary):
    LAYOUT: ClassVar[Layout] = (F.flag("on", "State", strict=True),)

    on: bool


@dataclass(frozen=True, slots=True)
class Empty(Binary):
    LAYOUT: ClassVar[Layout] = ()


def test_strict_flag_takes_only_0_and_1() -> None:
    assert Switch(True).encode() == h("01") and Switch(False).encode() == h("00")
    assert Switch.decode(h("01")) == Switch(True) and Switch.decode(h("00")) == Switch(False)
    with pytest.raises(ProtocolError, match="State is 2, expected 0 or 1") as info:
        Switch.decode(h("02"))
    assert info.value.offset == 0
    # The lenient flag reads the same byte as true.
    assert Codec((F.flag("on"),), make=Switch, what="lenient").decode(h("02")) == Switch(True)


def test_empty_layout() -> None:
    assert Empty().encode() == b""
    assert Empty.decode(b"") == Empty()
    with pytest.raises(ProtocolError, match="1 unexpected trailing bytes"):
        Empty.decode(b"\x00")


@pytest.mark.parametrize("codec", [Switch.codec(), Empty.codec()], ids=lambda c: c.what)
@given(data=st.binary(max_size=4))
def test_strict_flag_and_empty_fuzz(codec: Codec[object], data: bytes) -> None:
    assert _outcome(lambda: codec.decode(data)) == _outcome(lambda: _general(codec).decode(data))
