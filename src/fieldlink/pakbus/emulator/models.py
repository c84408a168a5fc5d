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

__all__ = ["MODELS", "LoggerModel", "logger_model", "status_fields"]


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
    memory_size: int
    cpu_drive_size: int
    card_size: int
    #: Newer operating systems append ModelNo and StationName to programming statistics.
    extended_prog_stats: bool
    #: ``.DIR`` format version (2 on newer operating systems, §7.3).
    dir_version: int
    lithium_volts: float


MODELS: dict[str, LoggerModel] = {
    m.name: m
    for m in (
        LoggerModel(
            name="CR1000",
            device_type=DeviceType.CR1000,
            os_version="CR1000.Std.24",
            os_sig=12288,
            os_date="11/18/11",
            serial_number="E4668",
            program_extension=".CR1",
            rev_board="std.04",
            memory_size=4_194_304,
            cpu_drive_size=524_288,
            card_size=2_000_000_000,
            extended_prog_stats=False,
            dir_version=1,
            lithium_volts=3.21,
        ),
        LoggerModel(
            name="CR800",
            device_type=DeviceType.CR800,
            os_version="CR800.Std.24",
            os_sig=28341,
            os_date="11/18/11",
            serial_number="E7421",
            program_extension=".CR8",
            rev_board="std.03",
            memory_size=4_194_304,
            cpu_drive_size=524_288,
            card_size=0,
            extended_prog_stats=False,
            dir_version=1,
            lithium_volts=3.18,
        ),
        LoggerModel(
            name="CR3000",
            device_type=DeviceType.CR3000,
            os_version="CR3000.Std.24",
            os_sig=47811,
            os_date="11/18/11",
            serial_number="E2210",
            program_extension=".CR3",
            rev_board="std.02",
            memory_size=4_194_304,
            cpu_drive_size=524_288,
            card_size=2_000_000_000,
            extended_prog_stats=False,
            dir_version=1,
            lithium_volts=3.24,
        ),
        LoggerModel(
            name="CR6",
            device_type=DeviceType.CR6,
            os_version="CR6.Std.07.02",
            os_sig=5702,
            os_date="20190719",
            serial_number="3195",
            program_extension=".CR6",
            rev_board="001.003",
            memory_size=134_217_728,
            cpu_drive_size=1_048_576,
            card_size=16_000_000_000 // 8,
            extended_prog_stats=True,
            dir_version=2,
            lithium_volts=3.30,
        ),
        LoggerModel(
            name="CR1000X",
            device_type=DeviceType.CR1000X,
            os_version="CR1000X.Std.04.02",
            os_sig=62150,
            os_date="20200914",
            serial_number="8473",
            program_extension=".CR1X",
            rev_board="001.004",
            memory_size=134_217_728,
            cpu_drive_size=1_048_576,
            card_size=16_000_000_000 // 8,
            extended_prog_stats=True,
            dir_version=2,
            lithium_volts=3.28,
        ),
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


@cache
def status_fields() -> tuple[FieldDef, ...]:
    """The Status table's fields, exactly as a CR1000 declares them (vectors V11)."""
    text = resources.files("fieldlink.pakbus.emulator").joinpath("data/cr1000_status_fields.txt")
    fields = []
    for line in text.read_text(encoding="ascii").splitlines():
        if not line or line.startswith("#"):
            continue
        name, code, ro, processing, units, begin, piece, dims = line.split()
        fields.append(
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
        )
    return tuple(fields)
