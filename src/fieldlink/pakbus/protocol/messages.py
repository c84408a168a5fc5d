"""The common shape of every PakCtrl and BMP5 message, and decoding by type.

A message is the body of a PakBus packet from ``MsgType`` on (the 8-byte header is
the framing layer's business).  Each message type is a frozen dataclass, so the
client and the emulator build, compare and log the same values; each knows its own
``(HiProtoCode, MsgType)`` and turns itself into bytes and back.

Why dispatch lives here: the same MsgType means different things in PakCtrl and BMP5
(0x09 is Hello *or* Collect Data), so nothing may look a type up by MsgType alone.
:func:`decode_message` never fails on a type it does not know: it returns an
:class:`UnknownMessage`, because a receiver must still see the TranNbr to answer
with a delivery failure (§3).

Each class is declared with :func:`message` and states its wire layout once, as
``LAYOUT`` (the fields after TranNbr, see :mod:`fieldlink.kit.fields`); the MsgType and
TranNbr header is put in front and the whole compiled into the class's encoder and
decoder.  A layout that is not regular keeps a hand-written ``_encode_fields``/
``_decode_fields`` and says why.

Encoding validates every value against its wire field and raises
:class:`~fieldlink.errors.UsageError` naming the message and the field, rather than
silently truncating a number (the byte writers mask).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar, Self, TypeVar, cast, dataclass_transform

from fieldlink.errors import ProtocolError, UsageError
from fieldlink.kit.fields import Codec, Layout, Packed, const, number_problem, packed, u8
from fieldlink.pakbus.protocol.wire import NSec, Reader, Writer

#: HiProtoCode of PakCtrl (network control) messages.
PAKCTRL = 0
#: HiProtoCode of BMP5 (application) messages.
BMP5 = 1

_PROTOCOL_NAMES = {0: "PakCtrl", 1: "BMP5", 2: "datagram", 3: "encrypted"}

#: Command types that expect no answer, per protocol (§3, §4.3, §4.4, §4.7, §8.4).
_ONE_WAY = {PAKCTRL: frozenset({0x0C, 0x0D, 0x0E}), BMP5: frozenset({0x14, 0x20})}


_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def nsec(name: str, label: str, *, signed_ns: bool = False) -> Packed:
    """An NSec field: Int4 seconds, then nanoseconds (UInt4 in time stamps, Int4 in adjustments)."""
    return packed(name, label, "ii" if signed_ns else "iI", NSec)


def protocol_name(hi_proto: int) -> str:
    """``"PakCtrl"``, ``"BMP5"``… for a HiProtoCode (``"HiProto 7"`` if unknown)."""
    return _PROTOCOL_NAMES.get(hi_proto, f"HiProto {hi_proto}")


def describe_type(hi_proto: int, msg_type: int, name: str = "message") -> str:
    """How errors and logs name a message type, e.g. ``"BMP5 0x89 collect data response"``."""
    return f"{protocol_name(hi_proto)} 0x{msg_type:02X} {name}"


#: :func:`describe_type` of the message classes, formatted once each (there are a few dozen).
_what_of = lru_cache(maxsize=1024)(describe_type)


class FieldWriter:
    """A :class:`~fieldlink.pakbus.protocol.wire.Writer` that refuses values that do not fit.

    Only for the hand-written codecs (collect data command, unknown messages); the
    declared ones get the same checks from :mod:`fieldlink.kit.fields`.

    The wire writer masks integers to their width, which would turn a caller's bug
    (a security code of 70000, a NUL inside a file name) into a different, valid
    message.  Every method here names the field so the error says what to fix.
    """

    __slots__ = ("_w", "what")

    def __init__(self, what: str) -> None:
        self._w = Writer()
        self.what = what

    def error(self, name: str, problem: str) -> UsageError:
        """The error for a value that cannot be encoded, naming message and field."""
        return UsageError(f"cannot encode {self.what}: {name} {problem}")

    def _number(self, value: int, code: str, name: str) -> int:
        why = number_problem(value, code)
        if why is not None:
            raise self.error(name, why)
        return value

    def u8(self, value: int, name: str) -> None:
        self._w.u8(self._number(value, "B", name))

    def u16(self, value: int, name: str) -> None:
        self._w.u16(self._number(value, "H", name))

    def u32(self, value: int, name: str) -> None:
        self._w.u32(self._number(value, "I", name))

    def nsec(self, value: NSec, name: str) -> None:
        """An NSec time stamp (UInt4 nanoseconds)."""
        if not isinstance(value, NSec):
            raise self.error(name, f"must be an NSec, not {type(value).__name__}")
        self._number(value.seconds, "i", f"{name} seconds")
        self._number(value.nanoseconds, "I", f"{name} nanoseconds")
        self._w.nsec(value)

    def raw(self, value: bytes, name: str) -> None:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise self.error(name, f"must be bytes, not {type(value).__name__}")
        self._w.raw(bytes(value))

    def require(self, condition: bool, name: str, problem: str) -> None:
        """Raise the usual encode error unless ``condition`` (for cross-field rules)."""
        if not condition:
            raise self.error(name, problem)

    def bytes(self) -> bytes:
        return self._w.bytes()


class Message:
    """Base of every typed PakCtrl/BMP5 message.

    Subclasses are ``@dataclass(frozen=True, slots=True)`` with a ``tran`` field and
    set ``HI_PROTO``, ``MSG_TYPE``, ``NAME`` and ``LAYOUT`` (everything after TranNbr).
    A class whose layout cannot be declared leaves ``LAYOUT`` None and implements
    ``_encode_fields`` and ``_decode_fields`` instead.  :meth:`decode` rejects
    trailing bytes unless the layout consumes them on purpose.
    """

    __slots__ = ()

    HI_PROTO: ClassVar[int]
    MSG_TYPE: ClassVar[int]
    #: Lower-case human name, e.g. ``"collect data response"``.
    NAME: ClassVar[str]
    #: The wire fields after TranNbr, declared once; None for a hand-written codec.
    LAYOUT: ClassVar[Layout | None] = None
    #: Compiled from ``LAYOUT`` (with the header) by :func:`register`, once per class.
    _CODEC: ClassVar[Codec[Any] | None] = None

    tran: int

    @property
    def hi_proto(self) -> int:
        return self.HI_PROTO

    @property
    def msg_type(self) -> int:
        return self.MSG_TYPE

    @property
    def is_response(self) -> bool:
        """True for answers and notifications from the far end (MsgType bit 7 set).

        §3: a node must never answer such a message with a delivery failure.
        """
        return bool(self.msg_type & 0x80)

    @classmethod
    def what(cls) -> str:
        """This type as errors name it, e.g. ``"BMP5 0x89 collect data response"``.

        Formatted once per class: every hand-written decode and encode names its type
        up front (for the errors it may raise), so this runs once per message.
        """
        return _what_of(cls.HI_PROTO, cls.MSG_TYPE, cls.NAME)

    def describe(self) -> str:
        """This message's type as errors and logs name it."""
        return self.what()

    def encode(self) -> bytes:
        """The message body, from MsgType on."""
        codec = self._CODEC
        if codec is not None:
            return codec.encode(self)
        out = FieldWriter(self.describe())
        out.u8(self.msg_type, "MsgType")
        out.u8(self.tran, "TranNbr")
        self._encode_fields(out)
        return out.bytes()

    @classmethod
    def decode(cls, body: bytes | bytearray | memoryview) -> Self:
        """Parse a body of exactly this type; ProtocolError names the type and offset."""
        codec = cls._CODEC
        if codec is not None:
            return cast(Self, codec.decode(body))
        r = Reader(bytes(body), what=cls.what())
        msg_type = r.u8("MsgType")
        if msg_type != cls.MSG_TYPE:
            raise r.error(f"MsgType is 0x{msg_type:02X}, expected 0x{cls.MSG_TYPE:02X}", 0)
        tran = r.u8("TranNbr")
        message = cls._decode_fields(r, tran)
        r.expect_end()
        return message

    def _encode_fields(self, out: FieldWriter) -> None:
        """Write everything after TranNbr (nothing, for bare messages)."""

    @classmethod
    def _decode_fields(cls, r: Reader, tran: int) -> Self:
        raise NotImplementedError(f"{cls.__name__} does not decode")


@dataclass(frozen=True, slots=True)
class UnknownMessage(Message):
    """A message whose (HiProtoCode, MsgType) no class is registered for.

    Kept whole, so a router can pass it on, a logger can answer it with delivery
    failure 4 (unsupported message type) and a log can show it.
    """

    hi_proto: int = field()
    msg_type: int = field()
    tran: int = field()
    payload: bytes = b""

    NAME: ClassVar[str] = "message"

    # Callers holding a ``Message`` may read the class-level names; give them this
    # instance's values instead of an AttributeError.
    @property
    def HI_PROTO(self) -> int:  # type: ignore[override]
        return self.hi_proto

    @property
    def MSG_TYPE(self) -> int:  # type: ignore[override]
        return self.msg_type

    def describe(self) -> str:
        return describe_type(self.hi_proto, self.msg_type, "unknown message")

    def _encode_fields(self, out: FieldWriter) -> None:
        out.raw(self.payload, "payload")

    @classmethod
    def decode(cls, body: bytes | bytearray | memoryview) -> Self:
        raise UsageError("UnknownMessage needs its HiProtoCode: use decode_message()")

    @classmethod
    def from_body(cls, hi_proto: int, body: bytes | bytearray | memoryview) -> UnknownMessage:
        data = bytes(body)
        r = Reader(data, what=f"{protocol_name(hi_proto)} message")
        msg_type = r.u8("MsgType")
        tran = r.u8("TranNbr")
        return cls(hi_proto, msg_type, tran, r.rest())


# --- registry and dispatch --------------------------------------------------------------------

_REGISTRY: dict[tuple[int, int], type[Message]] = {}

_M = TypeVar("_M", bound=type[Message])


def register(cls: _M) -> _M:
    """Class decorator: make :func:`decode_message` map ``cls``'s type pair to ``cls``.

    Also declares the codec of ``cls.LAYOUT`` (if any) behind the MsgType/TranNbr
    header, compiled the first time a message of the class is encoded or decoded (a
    command uses a few of the fifty: compiling all at import slowed every start-up);
    a test compiles every one.  Apply it *outside* ``@dataclass`` (``slots=True``
    builds a new class, and the defaults must be known).
    """
    if cls.LAYOUT is not None:
        header = (const("MsgType", cls.MSG_TYPE), u8("tran", "TranNbr"))
        cls._CODEC = Codec((*header, *cls.LAYOUT), make=cls, what=cls.what(), lazy=True)
    key = (cls.HI_PROTO, cls.MSG_TYPE)
    other = _REGISTRY.get(key)
    # Same name again is the same class re-imported (e.g. a module reload), not a clash.
    if other is not None and other.__qualname__ != cls.__qualname__:
        raise RuntimeError(
            f"{describe_type(*key)} registered twice: {other.__name__}, {cls.__name__}"
        )
    _REGISTRY[key] = cls
    return cls


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def message(msg_type: int, name: str) -> Callable[[_M], _M]:
    r"""Declare a message class: ``@message(0x89, "hello response")``.

    Sets ``MSG_TYPE`` and ``NAME``, makes the class a frozen, slotted dataclass and
    :func:`register`\ s it (compiling its ``LAYOUT``): what every message class would
    otherwise spell out again.
    """

    def declare(cls: _M) -> _M:
        cls.MSG_TYPE = msg_type
        cls.NAME = name
        return register(cast(_M, dataclass(frozen=True, slots=True)(cls)))

    return declare


_loaded = False


def _load_message_modules() -> None:
    # The concrete classes register themselves on import; they import this module,
    # so load them lazily instead of at the top -- once: an import statement costs
    # about 1 % of an emulator's answer when run for every message decoded.
    global _loaded
    if not _loaded:
        from fieldlink.pakbus.protocol import bmp5, pakctrl  # noqa: F401

        _loaded = True


def message_class(hi_proto: int, msg_type: int) -> type[Message] | None:
    """The registered class for a (HiProtoCode, MsgType) pair, or None."""
    _load_message_modules()
    return _REGISTRY.get((hi_proto, msg_type))


def registered_messages() -> tuple[type[Message], ...]:
    """Every registered message class, PakCtrl first, then by MsgType."""
    _load_message_modules()
    return tuple(_REGISTRY[k] for k in sorted(_REGISTRY))


def decode_message(hi_proto: int, body: bytes | bytearray | memoryview) -> Message:
    """Decode a packet body by its (HiProtoCode, MsgType).

    An unknown pair gives an :class:`UnknownMessage`; a body without MsgType and
    TranNbr, or a known type with malformed fields, raises ProtocolError.
    """
    data = bytes(body)
    if len(data) < 2:
        raise ProtocolError(
            f"message is {len(data)} bytes; MsgType and TranNbr need 2",
            message_type=f"{protocol_name(hi_proto)} message",
            offset=len(data),
        )
    cls = message_class(hi_proto, data[0])
    if cls is None:
        return UnknownMessage.from_body(hi_proto, data)
    return cls.decode(data)


def response_type(hi_proto: int, msg_type: int) -> int:
    """MsgType of the answer to a command: ``msg_type | 0x80`` (§3).

    Raises UsageError for a type that is itself an answer or a one-way message,
    since waiting for its "response" would wait forever.
    """
    if not 0 <= msg_type < 0x80:
        raise UsageError(f"{describe_type(hi_proto, msg_type)} is not a command")
    if msg_type in _ONE_WAY.get(hi_proto, frozenset()):
        raise UsageError(f"{describe_type(hi_proto, msg_type)} is one-way: it has no response")
    return msg_type | 0x80


__all__ = [
    "BMP5",
    "PAKCTRL",
    "FieldWriter",
    "Message",
    "UnknownMessage",
    "decode_message",
    "describe_type",
    "message",
    "message_class",
    "nsec",
    "protocol_name",
    "register",
    "registered_messages",
    "response_type",
]
