"""The logger models the emulator can be: identity strings, sizes, and the Status table.

A client tells models apart by what they report: the OS version in programming
statistics and in the Status table, the DevConfig device type, the program file
extension.  The CR1000 profile replays what a real CR1000 (OS 24) reported in the
captures (pakbus-vectors.md V6, V11, V12); the other models are given plausible
strings of the same shape -- no capture of them exists (UNCERTAIN: the exact OS
strings, signatures and Status field lists of CR800, CR3000, CR6 and CR1000X are
invented; they reuse the CR1000's Status field list).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from fieldlink.errors import UsageError
from fieldlink.pakbus.protocol.codes import DeviceType
from fieldlink.pakbus.protocol.model import FieldDef

__all__ = ["MODELS", "LoggerModel", "captured_rows", "logger_model", "status_fields"]


@dataclass(frozen=True, slots=True)
class LoggerModel:
    """What makes one logger model look like itself on the wire."""

    name: str
    device_type: int
    os_version: str
    os_sig: int
    os_date: str
    #: Serial number as the logger prints it: an optional country letter and a number.
    serial_number: str
    program_extension: str
    rev_board: str
    lithium_volts: float
    card_size: int
    # What the models of one generation share (_Generation):
    memory_size: int
    cpu_drive_size: int
    #: Newer operating systems append ModelNo and StationName to programming statistics.
    extended_prog_stats: bool
    #: ``.DIR`` format version (2 on newer operating systems, §7.3).
    dir_version: int


@dataclass(frozen=True, slots=True)
class _Generation:
    """What the models of one operating-system generation share."""

    memory_size: int
    cpu_drive_size: int
    extended_prog_stats: bool
    dir_version: int

    def model(
        self,
        name: str,
        os_number: str,
        os_sig: int,
        os_date: str,
        serial_number: str,
        program_extension: str,
        rev_board: str,
        lithium_volts: float,
        card_size: int = 2_000_000_000,
    ) -> LoggerModel:
        """One model of this generation.

        Its DevConfig device type is the one of its name, and its OS version string is the
        name, ``.Std.`` and the OS number (``CR1000.Std.24``).
        """
        os_version = f"{name}.Std.{os_number}"
        own = (os_sig, os_date, serial_number, program_extension, rev_board, lithium_volts)
        shared = (self.memory_size, self.cpu_drive_size, self.extended_prog_stats, self.dir_version)
        return LoggerModel(name, DeviceType[name], os_version, *own, card_size, *shared)


#: CR1000, CR800 and CR3000 on OS 24 (2011): 4 MiB of memory, the first ``.DIR`` format.
_OS_2011 = _Generation(4_194_304, 524_288, extended_prog_stats=False, dir_version=1)
#: CR6 and CR1000X: 128 MiB of memory, extended programming statistics, ``.DIR`` version 2.
_OS_2019 = _Generation(134_217_728, 1_048_576, extended_prog_stats=True, dir_version=2)

MODELS: dict[str, LoggerModel] = {
    m.name: m
    for m in (
        # name, OS number, OS signature, OS date, serial, program extension, board, lithium V
        _OS_2011.model("CR1000", "24", 12288, "11/18/11", "E4668", ".CR1", "std.04", 3.21),
        # The CR800 has no card slot.
        _OS_2011.model("CR800", "24", 28341, "11/18/11", "E7421", ".CR8", "std.03", 3.18, 0),
        _OS_2011.model("CR3000", "24", 47811, "11/18/11", "E2210", ".CR3", "std.02", 3.24),
        _OS_2019.model("CR6", "07.02", 5702, "20190719", "3195", ".CR6", "001.003", 3.30),
        _OS_2019.model("CR1000X", "04.02", 62150, "20200914", "8473", ".CR1X", "001.004", 3.28),
    )
}


def logger_model(name: str) -> LoggerModel:
    """The profile for a model name (case-insensitive); UsageError lists the choices."""
    model = MODELS.get(name.upper())
    if model is None:
        raise UsageError(f"unknown logger model {name!r}; choose one of {', '.join(MODELS)}")
    return model


def _dash(text: str) -> str:
    return "" if text == "-" else text


def captured_rows(name: str) -> list[list[str]]:
    """The rows of a capture kept in ``data/``: words split on white space.

    Blank lines and ``#`` comments are skipped; ``-`` stands for an empty word.
    """
    text = resources.files("fieldlink.pakbus.emulator").joinpath("data", name)
    lines = text.read_text(encoding="ascii").splitlines()
    return [line.split() for line in lines if line and not line.startswith("#")]


@cache
def status_fields() -> tuple[FieldDef, ...]:
    """The Status table's fields, exactly as a CR1000 declares them (vectors V11)."""
    rows = captured_rows("cr1000_status_fields.txt")
    return tuple(
        FieldDef(
            name=name,
            type_code=int(code),
            read_only=ro == "1",
            processing=_dash(processing),
            units=_dash(units),
            begin_index=int(begin),
            piece_size=int(piece),
            dimensions=() if dims == "-" else tuple(int(d) for d in dims.split(",")),
        )
        for name, code, ro, processing, units, begin, piece, dims in rows
    )
