"""The TDR100's ``!NN`` error codes and the exception that carries them (tdr100.md §4)."""

from __future__ import annotations

from fieldlink.errors import DeviceError

__all__ = ["ERROR_CODES", "TDR100Error", "meaning"]

#: Code -> documented meaning, SDK Appendix B (§4).
ERROR_CODES: dict[int, str] = {
    1: "bad checksum",
    2: "illegal command format / not defined",
    3: "no valid letters or numbers",
    4: "could not be parsed",
    5: "command not identified",
    6: "command not recognised",
    7: "calibration unsuccessful",
    8: "extra period (terminal mode)",
    9: "no reference cable length",
    10: "value out of range",
    11: "timeout - cable short not found",
    12: "timeout waiting for data",
    13: "exponent not defined",
    14: "no command defined for output",
    15: "bad data",
    16: "bad moisture calculation",
    17: "could not detect liquid level",
    18: "incorrect mux address or channel",
    19: "unable to locate pulse",
    20: "could not measure baseline",
    21: "could not measure top of pulse",
    22: "unknown internal error",
    69: "command decode error",
    70: "unknown error",
    71: "device write not accepted",
    72: "unknown error",
    73: "IOPOLL timeout",
    74: "WRITE: data not written",
    75: "WRITE: address not accepted",
    76: "WRITE: write not accepted",
    77: "unknown error",
    78: "READ: read not accepted",
    79: "READ: address not accepted",
    80: "unknown error",
}


def meaning(code: int) -> str:
    """The documented meaning of ``code``, or a plain "undocumented" for any other."""
    return ERROR_CODES.get(code, "undocumented error code")


class TDR100Error(DeviceError):
    """The TDR100 answered ``!NN``: it understood the frame and refused or failed it.

    ``code`` is NN and ``meaning`` its text from §4; ``command`` the mnemonic it
    answered, when known.
    """

    def __init__(self, code: int, command: str | None = None) -> None:
        self.command = command
        what = f" to {command}" if command else ""
        super().__init__(
            f"TDR100 error {code:02d}{what}: {meaning(code)}", code=code, meaning=meaning(code)
        )
