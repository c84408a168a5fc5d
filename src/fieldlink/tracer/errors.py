"""Errors a Tracer controller gives, in the shared hierarchy (fieldlink.errors)."""

from __future__ import annotations

from fieldlink.errors import DeviceError, UsageError

#: Modbus exception codes (Modbus Application Protocol §7) and what they mean on a Tracer.
EXCEPTION_MEANINGS: dict[int, str] = {
    0x01: "illegal function (the controller does not implement this function code)",
    0x02: "illegal data address (a register in the range does not exist on this model)",
    0x03: "illegal data value (a value is out of range or breaks the EPEVER setting rules)",
    0x04: "slave device failure",
    0x05: "acknowledge",
    0x06: "slave device busy",
    0x0A: "gateway path unavailable",
    0x0B: "gateway target device failed to respond",
}


class TracerError(DeviceError):
    """A Tracer controller understood the request and refused or failed it."""


class ModbusExceptionError(TracerError):
    """The controller answered with a Modbus exception reply."""

    def __init__(self, function: int, code: int, what: str) -> None:
        meaning = EXCEPTION_MEANINGS.get(code, "unknown exception code")
        self.function = function
        super().__init__(
            f"{what}: controller answered exception {code:#04x} to function {function:#04x} "
            f"({meaning})",
            code=code,
            meaning=meaning,
        )


class WriteRejected(ModbusExceptionError):
    """The controller refused a write (exception reply to FC 0x05, 0x06 or 0x10)."""


class PartialWrite(TracerError):
    """Part of a settings block was written before a later request failed.

    The message names what was written and what was not, so nobody believes a
    half-applied block is either the old one or the new one.
    """


class SettingsError(UsageError):
    """A setting or block of settings breaks a range or an EPEVER rule (A–E of §B5.1).

    Raised before anything is written; ``rule`` names the rule ("A".."E") or the
    register whose range was broken.
    """

    def __init__(self, message: str, *, rule: str) -> None:
        self.rule = rule
        super().__init__(message)


__all__ = [
    "EXCEPTION_MEANINGS",
    "ModbusExceptionError",
    "PartialWrite",
    "SettingsError",
    "TracerError",
    "WriteRejected",
]
