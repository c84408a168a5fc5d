"""Run ``fieldlink emulate KIND`` as a child process, exactly as a user runs it.

Tests that must see the command itself (its URL line, its signals, its exit status)
spawn it; the URL lines are read from its stdout with a deadline, so a child that
fails to start is an error, not a hang.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from typing import TypedDict, Unpack

from fieldlink.errors import LinkError

__all__ = ["EmulatorProcess", "SpawnOptions", "spawn_emulator"]


class EmulatorProcess:
    """``fieldlink emulate KIND`` running as a child process.

    ``url`` is the first line it printed; ``urls`` every line read at start (one per
    unit for emulators that serve several, such as Batlab's ``--units``).
    """

    def __init__(self, process: subprocess.Popen[bytes], urls: list[str]) -> None:
        self.process = process
        self.urls = urls
        self.url = urls[0]

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait, and return the exit status (it should be 0)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class SpawnOptions(TypedDict, total=False):
    """How to run the child; every key may be left out (its default in brackets).
    A family's own spawn helper takes ``**options: Unpack[SpawnOptions]`` and passes them on."""

    python: str  # the interpreter [sys.executable]
    timeout: float  # seconds to wait for the URL lines [20.0]
    stderr: int | None  # where the child's stderr goes, as for subprocess [inherited]
    env: dict[str, str] | None  # the child's environment [this one's]
    verbose: int  # how many -v (more log on stderr) [0]


def spawn_emulator(
    kind: str, *args: str, lines: int = 1, **options: Unpack[SpawnOptions]
) -> EmulatorProcess:
    """Start ``python -m fieldlink [-v...] emulate KIND ARGS...`` and read its URL lines.

    ``lines`` is how many URL lines to wait for (one per unit served).
    """
    python = options.get("python", sys.executable)
    verbose = ["-v"] * options.get("verbose", 0)
    process = subprocess.Popen(
        [python, "-m", "fieldlink", *verbose, "emulate", kind, *args],
        stdout=subprocess.PIPE,
        stderr=options.get("stderr"),
        env=options.get("env"),
    )
    assert process.stdout is not None
    deadline = time.monotonic() + options.get("timeout", 20.0)
    text = b""
    fd = process.stdout.fileno()
    while text.count(b"\n") < lines:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            if process.poll() is None:
                process.kill()
                process.wait()
            raise LinkError(
                f"the {kind} emulator did not print its URL (exit status {process.returncode})"
            )
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.2))
        if ready:
            chunk = os.read(fd, 1)
            if chunk:
                text += chunk
    return EmulatorProcess(process, text.decode().split())
