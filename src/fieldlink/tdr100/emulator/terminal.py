"""PC-TDR's terminal mode, as far as it is known (tdr100.md §5, UNCERTAIN, optional).

A person at a terminal presses Enter until a ``>`` prompt appears and types commands
that are not case sensitive; ``GVAR`` prints start, end and RMS, ``GMO`` (or
``GMOS``) La/L, ``GVER`` the versions.  Anything else gets a ``?``.  Lines that
start with ``:`` are framed commands and never come here.  Replies are decimal text,
each followed by a fresh prompt; a measurement here runs at once (a person waits).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldlink.tdr100.protocol.commands import Command
from fieldlink.tdr100.protocol.errors import meaning
from fieldlink.tdr100.protocol.replies import ErrorReply, Values

if TYPE_CHECKING:
    from fieldlink.tdr100.emulator.model import TDR100Model

__all__ = ["PROMPT", "terminal_answer"]

PROMPT = b"\r\n>"


def _run(device: TDR100Model, mnemonic: str) -> Values | str:
    from fieldlink.tdr100.emulator.model import HANDLERS

    result = HANDLERS[mnemonic](device, Command(mnemonic))
    if result.commit is not None:
        result.commit()
    if isinstance(result.reply, ErrorReply):
        return f"error {result.reply.code:02d}: {meaning(result.reply.code)}"
    assert isinstance(result.reply, Values)
    return result.reply


def terminal_answer(device: TDR100Model, line: bytes) -> bytes:
    """What the device prints for one typed ``line`` (without its CR)."""
    word = line.strip().decode("ascii", "replace").upper()
    if not word:
        return PROMPT
    if word in ("GMO", "GMOS"):
        got = _run(device, "GMOS")
        text = got if isinstance(got, str) else f"{got.values[0]:.4f}"
    elif word == "GVAR":
        if device.edges is None:
            measured = _run(device, "GMOS")
            if isinstance(measured, str):
                return measured.encode() + PROMPT
        start, end, rms = device.edges or (0.0, 0.0, 0.0)
        text = f"{start:.2f} {end:.2f} {rms:.4f}"
    elif word == "GVER":
        bv, bs, ov, os_ = _run(device, "GVER").values  # type: ignore[union-attr]
        text = f"boot {bv:g} 0x{round(bs):04X} OS {ov:g} 0x{round(os_):04X}"
    else:
        text = "?"
    return text.encode("ascii") + PROMPT
