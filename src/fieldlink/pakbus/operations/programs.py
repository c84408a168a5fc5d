"""The running program: its statistics, and sending a new one (pakbus.md §6.3, §7.4)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from fieldlink.errors import (
    DeviceError,
)
from fieldlink.pakbus.operations.clock import nsec_datetime
from fieldlink.pakbus.operations.common import LEVEL_READ, ProgressCallback, check_response
from fieldlink.pakbus.operations.files import device_path, file_control, put_file
from fieldlink.pakbus.operations.tables import TableCatalog, table_defs
from fieldlink.pakbus.protocol import bmp5
from fieldlink.pakbus.protocol.codes import (
    COMPILE_STATE_MEANINGS,
    CompileState,
    FileCommand,
    describe_code,
)
from fieldlink.pakbus.session import (
    Operation,
    Request,
    expect,
)

# --- programming statistics -------------------------------------------------------------------

_OS_MODEL = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


def model_from_os(os_version: str) -> str:
    """The model an OS version string names (``"CR1000.Std.24"`` -> ``"CR1000"``), or ""."""
    found = _OS_MODEL.match(os_version.strip())
    return found.group(0) if found else ""


@dataclass(frozen=True, slots=True)
class ProgramStats:
    """Programming statistics (§6.3): the OS, the running program and how it compiled."""

    os_version: str
    os_signature: int
    serial_number: str
    power_up_program: str
    compile_state: int
    program_name: str
    program_signature: int
    compile_time: dt.datetime | None
    compile_result: str
    #: ModelNo and StationName as the logger sent them: newer OS versions only ("" when
    #: absent; a CR1000 on OS 24 sends neither).  Use :attr:`model` for the model.
    model_number: str = ""
    station_name: str = ""

    @property
    def model(self) -> str:
        """The logger model: ModelNo when sent, else read from the OS version.

        Every Campbell OS version names the model before its first dot
        (``"CR1000.Std.24"``, ``"CR1000X.Std.04.02"``), so loggers too old to send
        ModelNo still get a model in TOA5 headers and the store.  A CR850 runs the
        CR800 OS and so reads as ``"CR800"`` -- what LoggerNet shows for it as well.
        """
        return self.model_number or model_from_os(self.os_version)

    @property
    def compile_state_text(self) -> str:
        return describe_code(COMPILE_STATE_MEANINGS, self.compile_state)

    def as_dict(self) -> dict[str, object]:
        """The statistics under PyCampbellCR1000's key names, for display."""
        out: dict[str, object] = {
            "OSVer": self.os_version,
            "OSSig": self.os_signature,
            "SerialNbr": self.serial_number,
            "PowUpProg": self.power_up_program,
            "CompState": self.compile_state,
            "ProgName": self.program_name,
            "ProgSig": self.program_signature,
            "CompTime": self.compile_time,
            "CompResult": self.compile_result.strip("\r\n"),
        }
        if self.model_number:
            out["ModelNo"] = self.model_number
        if self.station_name:
            out["StationName"] = self.station_name
        return out


def program_stats(security_code: int = 0) -> Operation[ProgramStats]:
    """Get Programming Statistics (§6.3); a logger still compiling answers Please Wait first."""
    r = yield from expect(Request(bmp5.ProgStatsCommand(0, security_code)), bmp5.ProgStatsResponse)
    check_response(r.resp_code, "reading the programming statistics", LEVEL_READ)
    return ProgramStats(
        os_version=r.os_version or "",
        os_signature=r.os_sig or 0,
        serial_number=r.serial_number or "",
        power_up_program=r.power_up_program or "",
        compile_state=r.compile_state or 0,
        program_name=r.program_name or "",
        program_signature=r.program_sig or 0,
        compile_time=None if r.compile_time is None else nsec_datetime(r.compile_time),
        compile_result=r.compile_result or "",
        model_number=r.model or "",
        station_name=r.station_name or "",
    )


# --- programs ---------------------------------------------------------------------------------


def send_program(
    catalog: TableCatalog,
    name: str,
    data: bytes,
    security_code: int = 0,
    *,
    run: bool = True,
    power_up: bool = True,
    progress: ProgressCallback | None = None,
) -> Operation[ProgramStats]:
    """Send a CRBasic program and (by default) compile and run it (§7.4 program sequence).

    File Send, then File Control 13 (stop, delete data, run, run on power-up) or 14
    (leave the power-up program alone), wait the HoldOff, then read the programming
    statistics (Please Wait honoured) and the new table definitions.  A program that
    does not compile raises DeviceError with the logger's compile result.
    """
    path = device_path(name)
    yield from put_file(path, data, security_code, progress=progress)
    if not run:
        return (yield from program_stats(security_code))
    command = (
        FileCommand.STOP_DELETE_RUN_SET_POWER_UP
        if power_up
        else FileCommand.STOP_DELETE_RUN_LEAVE_POWER_UP
    )
    catalog.invalidate()
    yield from file_control(path, command, security_code)
    stats = yield from program_stats(security_code)
    if stats.compile_state == CompileState.COMPILE_ERROR:
        result = " ".join(stats.compile_result.split())
        raise DeviceError(
            f"{path} did not compile: {result or 'no compile result given'}",
            code=int(CompileState.COMPILE_ERROR),
            meaning=stats.compile_state_text,
        )
    yield from table_defs(catalog, security_code, refresh=True)
    return stats
