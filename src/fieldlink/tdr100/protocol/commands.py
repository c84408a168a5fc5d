"""Host -> TDR100 command frames and the table of every command (tdr100.md §2).

A command is ``:`` + a 4-character mnemonic (+ one space and a decimal number for
Type 1) + two upper-case hex digits of an 8-bit sum + CR.  The sum covers everything
between the colon and the checksum, space and digits included (§2).  The table
:data:`COMMANDS` is the one place that says, per mnemonic, its type, what the device
answers and how many floats a value reply carries (§2.4); the client, the emulator
and the checks all read it.

The same module parses frames on the device side (for the emulator): a frame the
device rejects raises :class:`CommandRejected` with the ``!NN`` code the emulator
answers (our mapping, §4 "Emulator mapping").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum

from fieldlink.errors import ProtocolError, UsageError

__all__ = [
    "COMMANDS",
    "Command",
    "CommandRejected",
    "CommandSpec",
    "Reply",
    "checksum",
    "expected_count",
    "format_value",
    "parse_command",
    "spec",
]

START = b":"
END = b"\r"


class Reply(Enum):
    """What a command is answered with when it succeeds."""

    ACK = "$"
    VALUES = "#"


@dataclass(frozen=True)
class CommandSpec:
    """One row of §2.1: mnemonic, frame type, reply and the float count of a value reply.

    The count is ``fixed + per_point * N`` with N the points setting (§2.4), so a
    waveform is (0, 1) and a derivative (-5, 1).  ``also`` is a second count the
    reference admits (GTIM: 3, possibly 4).  ``acquires`` marks commands that take a
    new waveform (they last long and can be aborted, §1).
    """

    mnemonic: str
    type: int
    reply: Reply
    summary: str
    fixed: int = 0
    per_point: int = 0
    also: int | None = None
    acquires: bool = False


def _ack(m: str, t: int, s: str, acquires: bool = False) -> CommandSpec:
    return CommandSpec(m, t, Reply.ACK, s, acquires=acquires)


def _val(m: str, t: int, s: str, fixed: int, per_point: int = 0, **kw: object) -> CommandSpec:
    return CommandSpec(m, t, Reply.VALUES, s, fixed, per_point, **kw)  # type: ignore[arg-type]


#: Every command of SDK Appendix A (§2.1), keyed by mnemonic.
COMMANDS: dict[str, CommandSpec] = {
    c.mnemonic: c
    for c in (
        # Type 1: set a value (acknowledged), and CCCC which answers values.
        _ack("S_VP", 1, "set relative propagation velocity Vp"),
        _ack("SDIS", 1, "set distance to the start of the waveform, m"),
        _ack("SWLN", 1, "set window length, m"),
        _ack("SPNT", 1, "set number of waveform points"),
        _ack("SNAV", 1, "set number of waveforms averaged"),
        _ack("SPRL", 1, "set probe rod length, m"),
        _ack("SPRO", 1, "set probe offset, m"),
        _ack("SPCC", 1, "set probe cell constant Kp, 1/m"),
        _ack("SMUX", 1, "select an SDMX50 level and channel"),
        _ack("SMAX", 1, "set display maximum"),
        _ack("SMIN", 1, "set display minimum"),
        _ack("SSMO", 1, "set smoothing factor"),
        _val("CCCC", 1, "compute the cell constant in de-ionised water at t degC", 2),
        # Type 2: get values.
        _val("GCAL", 2, "calibration voltage", 1),
        _val("GCON", 2, "bulk electrical conductivity, S/m", 1, acquires=True),
        _val("GDTS", 2, "distance to short, m", 1, acquires=True),
        _val("GLDR", 2, "last derivative waveform", -5, 1),
        _val("GLWF", 2, "last waveform", 0, 1),
        _val("GMOS", 2, "La/L corrected for probe offset", 1, acquires=True),
        _val("GNDR", 2, "acquire a waveform and return its derivative", -5, 1, acquires=True),
        _val("GNWA", 2, "acquire a waveform without calibration", 0, 1, acquires=True),
        _val("GRLN", 2, "cable reference length, m", 1),
        _val("GTIM", 2, "timing values", 3, also=4),
        _val("GVAR", 2, "start index, end index, RMS", 3),
        _val("GVER", 2, "boot version, boot signature, OS version, OS signature", 4),
        _val("GWAV", 2, "acquire a waveform with calibration", 0, 1, acquires=True),
        _val("DUMP", 2, "current settings", 9),
        # Type 3: actions (acknowledged).
        _ack("ABRT", 3, "abort the running command"),
        # The SDK's Appendix A says "with calibration"; its API name (AcqWFnocal) and GNWA
        # say without: UNCERTAIN, the reference's reading (without) is taken.
        _ack("ANWA", 3, "acquire a waveform without calibration", acquires=True),
        _ack("AWAV", 3, "acquire a waveform with calibration", acquires=True),
        _ack("RSET", 3, "retrieve the saved setup"),
        _ack("SSET", 3, "save the current setup"),
        _ack("SOFF", 3, "switch the analog section to low power"),
        _ack("SRLN", 3, "set the cable reference length", acquires=True),
    )
}


def spec(mnemonic: str) -> CommandSpec:
    """The table row for ``mnemonic`` (UsageError for one the TDR100 does not know)."""
    try:
        return COMMANDS[mnemonic]
    except KeyError:
        raise UsageError(f"unknown TDR100 command {mnemonic!r}") from None


def expected_count(mnemonic: str, points: int) -> tuple[int, ...]:
    """The float counts §2.4 allows in a value reply to ``mnemonic`` (empty for an ack)."""
    row = COMMANDS.get(mnemonic)
    if row is None or row.reply is not Reply.VALUES:
        return ()
    first = row.fixed + row.per_point * points
    return (first,) if row.also is None else (first, row.also)


def checksum(text: bytes) -> bytes:
    """Two upper-case hex digits of the 8-bit sum of ``text`` (carries discarded)."""
    return b"%02X" % (sum(text) & 0xFF)


def format_value(value: float | int | str) -> str:
    """A Type-1 value as the manual writes it: plain decimal, never an exponent.

    An int is written as an int (``SNAV 1``), a float in its shortest round-trip form
    (``S_VP 0.99``, ``SPNT 251.0``: M5 sends both shapes, §4.1 vectors); a string is
    taken as written once it is checked to be a decimal number.
    """
    if isinstance(value, bool):
        raise UsageError("a TDR100 value must be a number, not a bool")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UsageError(f"a TDR100 value must be finite, not {value}")
        text = repr(value)
        if "e" in text or "E" in text:
            text = f"{value:.10f}".rstrip("0")
            text = text + "0" if text.endswith(".") else text
        return text
    if _NUMBER.fullmatch(value) is None:
        raise UsageError(f"{value!r} is not a decimal number")
    return value


@dataclass(frozen=True)
class Command:
    """One command to send: a mnemonic and, for Type 1, its value."""

    mnemonic: str
    value: float | int | str | None = None

    def __post_init__(self) -> None:
        row = spec(self.mnemonic)
        if (row.type == 1) != (self.value is not None):
            need = "needs a value" if row.type == 1 else "takes no value"
            raise UsageError(f"TDR100 command {self.mnemonic} {need}")

    @property
    def spec(self) -> CommandSpec:
        return COMMANDS[self.mnemonic]

    def text(self) -> bytes:
        """The bytes the checksum covers: mnemonic, and a space and the value for Type 1."""
        if self.value is None:
            return self.mnemonic.encode("ascii")
        return f"{self.mnemonic} {format_value(self.value)}".encode("ascii")

    def encode(self) -> bytes:
        """The whole frame: ``:`` + text + checksum + CR."""
        text = self.text()
        return START + text + checksum(text) + END

    def __str__(self) -> str:
        return self.text().decode("ascii")


# --- device side ---------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_EXPONENT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+")
_MNEMONIC = re.compile(rb"[A-Z0-9_]{4}")
_HEX = re.compile(rb"[0-9A-Fa-f]{2}")


class CommandRejected(ProtocolError):
    """The device side refuses a command frame; ``code`` is the ``!NN`` it answers."""

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        super().__init__(reason, message_type="TDR100 command frame")


def parse_command(unit: bytes) -> Command:
    """Parse what a device received between ``:`` and CR (either may be included).

    Raises :class:`CommandRejected` with the code the emulator answers: short or
    shapeless frame 02, bad checksum 01, non-alphanumeric mnemonic 03, unknown
    mnemonic 05, missing/extra value or an unparsable number 04, an exponent 13.
    """
    text = unit.removeprefix(START).removesuffix(END)
    if len(text) < 6:
        raise CommandRejected(2, f"frame too short ({len(text)} bytes)")
    body, given = text[:-2], text[-2:]
    if _HEX.fullmatch(given) is None or int(given, 16) != sum(body) & 0xFF:
        raise CommandRejected(1, f"checksum {given!r} does not match {checksum(body)!r}")
    mnemonic = body[:4]
    if _MNEMONIC.fullmatch(mnemonic) is None:
        raise CommandRejected(3, f"mnemonic {mnemonic!r} is not letters and digits")
    name = mnemonic.decode("ascii")
    row = COMMANDS.get(name)
    if row is None:
        raise CommandRejected(5, f"unknown command {name}")
    rest = body[4:]
    if row.type != 1:
        if rest:
            raise CommandRejected(4, f"{name} takes no value")
        return Command(name)
    if not rest.startswith(b" ") or len(rest) < 2:
        raise CommandRejected(4, f"{name} needs a space and a number")
    number = rest[1:].decode("ascii", "replace")
    if _EXPONENT.fullmatch(number):
        raise CommandRejected(13, f"exponent in {number!r}")
    if _NUMBER.fullmatch(number) is None:
        raise CommandRejected(4, f"{number!r} is not a number")
    return Command(name, number)
