"""``fieldlink batlab shell``: an interactive prompt in the spirit of the official batlabutil.

Built on the standard :mod:`cmd` module: ``help`` lists the commands and explains
each, Tab completes commands, namespaces and register names.  The pool watches for
units being plugged and unplugged meanwhile and the prompt reports it.
"""

from __future__ import annotations

import cmd
import shlex
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from fieldlink.batlab import convert
from fieldlink.batlab.client import Batlab
from fieldlink.batlab.labrun import UnitResult, run_on_units
from fieldlink.batlab.names import (
    NAMESPACE_NAMES,
    describe_value,
    parse_namespace,
    parse_register,
    parse_value,
    register_names,
)
from fieldlink.batlab.pool import Pool
from fieldlink.batlab.registers import CELLS, Mode
from fieldlink.batlab.settings import read_settings
from fieldlink.batlab.testrun import EventKind, TestEvent, TestRun
from fieldlink.batlab.workflow import Finished, LogPeriodic, PhaseEnded, TestKind
from fieldlink.errors import FieldlinkError, UsageError

__all__ = ["BatlabShell"]


class BatlabShell(cmd.Cmd):
    intro = "Batlab shell: 'help' lists commands, Tab completes, 'quit' leaves."
    prompt = "batlab> "

    def __init__(
        self, pool: Pool, stdin: IO[str] | None = None, stdout: IO[str] | None = None
    ) -> None:
        super().__init__(stdin=stdin, stdout=stdout)
        if stdin is not None:
            self.use_rawinput = False
        self.pool = pool
        self._test: threading.Thread | None = None
        self._runs: list[TestRun] = []
        self._results: list[UnitResult] = []
        self._latest: dict[int, str] = {}

    # --- plumbing ---------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.stdout.write(text + "\n")

    def preloop(self) -> None:
        self._report()

    def precmd(self, line: str) -> str:
        self._report()
        return line

    def _report(self) -> None:
        for event in self.pool.events():
            self.say(str(event))

    def onecmd(self, line: str) -> bool:
        try:
            return super().onecmd(line)
        except FieldlinkError as exc:
            self.say(f"error: {exc}")
        except ValueError as exc:
            self.say(f"error: {exc}")
        return False

    def emptyline(self) -> bool:
        return False

    def default(self, line: str) -> None:
        self.say(f"unknown command {line.split()[0]!r}; 'help' lists the commands")

    def _unit(self) -> Batlab:
        unit = self.pool.active
        if unit is None:
            raise UsageError("no Batlab connected (plug one in, or start the shell with --port)")
        return unit

    @staticmethod
    def _args(line: str, count: int, usage: str) -> list[str]:
        args = shlex.split(line)
        if len(args) < count:
            raise UsageError(f"usage: {usage}")
        return args

    @staticmethod
    def _cell(text: str) -> int:
        try:
            cell = int(text)
        except ValueError:
            raise UsageError(f"cell {text!r} is not 0-3") from None
        if not 0 <= cell < CELLS:
            raise UsageError(f"cell {cell} out of range 0..3")
        return cell

    # --- commands ---------------------------------------------------------------------------

    def do_list(self, line: str) -> None:
        """list -- connected units (the active one marked *)."""
        active = self.pool.active
        units = self.pool.units
        if not units:
            self.say("no Batlab connected")
        for port, unit in sorted(units.items()):
            mark = "*" if unit is active else " "
            self.say(f"{mark} SN {unit.serial}  firmware {unit.info.firmware}  {port}")

    def do_use(self, line: str) -> None:
        """use SERIAL|PORT -- make a unit the active one."""
        (which,) = self._args(line, 1, "use SERIAL|PORT")[:1]
        unit = self.pool.select(which)
        self.say(f"active: SN {unit.serial} on {unit.port}")

    def do_read(self, line: str) -> None:
        """read NAMESPACE REGISTER -- e.g. 'read 0 VOLTAGE', 'read unit FIRMWARE_VER'."""
        ns_text, reg_text = self._args(line, 2, "read NAMESPACE REGISTER")[:2]
        ns = parse_namespace(ns_text)
        address = parse_register(ns, reg_text)
        unit = self._unit()
        raw = unit.read(ns, address)
        r, b = _cal(unit, ns)
        self.say(f"{raw}  {describe_value(ns, address, raw, r, b)}".rstrip())

    def do_write(self, line: str) -> None:
        """write NAMESPACE REGISTER VALUE -- VALUE an integer, mode name or 4.2V / 1.5A / 45C."""
        ns_text, reg_text, value = self._args(line, 3, "write NAMESPACE REGISTER VALUE")[:3]
        ns = parse_namespace(ns_text)
        address = parse_register(ns, reg_text)
        unit = self._unit()
        raw = parse_value(ns, address, value, *_cal(unit, ns))
        unit.write(ns, address, raw)
        self.say(f"ok ({raw})")

    def do_measure(self, line: str) -> None:
        """measure [CELL] -- voltage, current, temperature, charge and mode of cells."""
        args = shlex.split(line)
        unit = self._unit()
        cells = [self._cell(args[0])] if args else list(range(CELLS))
        for cell in cells:
            s = unit.snapshot(cell)
            t = "  n/a" if s.temperature is None else f"{s.temperature:5.1f}"
            self.say(
                f"cell {cell}: {s.mode_name:<9} {s.voltage:6.3f} V {s.current:6.3f} A "
                f"{t} °C {s.charge:9.2f} C  error {describe_value(0, 1, int(s.error))}"
            )

    def _mode(self, line: str, mode: Mode, usage: str) -> None:
        args = self._args(line, 1, usage)
        cell = self._cell(args[0])
        unit = self._unit()
        if len(args) > 1:
            unit.set_current(cell, _amps(args[1]))
        unit.set_mode(cell, mode)
        self.say(f"cell {cell}: {mode.name}")

    def do_charge(self, line: str) -> None:
        """charge CELL [AMPS] -- start charging (the firmware stops at the voltage limit)."""
        self._mode(line, Mode.CHARGE, "charge CELL [AMPS]")

    def do_discharge(self, line: str) -> None:
        """discharge CELL [AMPS] -- start discharging."""
        self._mode(line, Mode.DISCHARGE, "discharge CELL [AMPS]")

    def do_stop(self, line: str) -> None:
        """stop CELL -- stop a cell (MODE = STOPPED)."""
        self._mode(line, Mode.STOPPED, "stop CELL")

    def do_idle(self, line: str) -> None:
        """idle CELL -- return a cell to IDLE (clears its latched errors)."""
        self._mode(line, Mode.IDLE, "idle CELL")

    def do_impedance(self, line: str) -> None:
        """impedance CELL [SECONDS] -- measure a cell's impedance (settles 2 s by default)."""
        args = self._args(line, 1, "impedance CELL [SECONDS]")
        cell = self._cell(args[0])
        try:
            settle = float(args[1]) if len(args) > 1 else 2.0
        except ValueError:
            raise UsageError(f"{args[1]!r} is not a number of seconds") from None
        if not 0 <= settle <= 60:
            raise UsageError("settle time must be 0..60 s")
        self.say(f"{self._unit().impedance(cell, settle=settle):.5f} ohm")

    def do_firmware(self, line: str) -> None:
        """firmware [FILE] -- show the version, or flash a local image file.

        Checking for new firmware online is not offered: fieldlink does not reach the
        network; download the image and give its file."""
        args = shlex.split(line)
        unit = self._unit()
        if not args:
            self.say(f"firmware version {unit.firmware_version()}")
            return

        def progress(p: object) -> None:
            done = getattr(p, "done", 0)
            if done % 3072 == 0 or done == getattr(p, "total", -1):
                self.say(f"{done} bytes")

        self.say(f"firmware version {unit.bootload(args[0], progress=progress)}")

    def do_test(self, line: str) -> None:
        """test SETTINGS.json [cycle|discharge|charge] [CELL ...] -- run a test in the background.

        The official CSV log goes to the current directory; 'status' shows progress,
        'abort' stops every cell of the test."""
        args = self._args(line, 1, "test SETTINGS.json [cycle|discharge|charge] [CELL ...]")
        if self._test is not None and self._test.is_alive():
            raise UsageError("a test is already running ('status', 'abort')")
        settings, text = read_settings(args[0])
        rest = args[1:]
        kind = TestKind.CYCLE
        if rest and not rest[0].isdigit():
            try:
                kind = TestKind(rest.pop(0).lower())
            except ValueError:
                raise UsageError("test kind must be cycle, discharge or charge") from None
        cells = [self._cell(c) for c in rest] or None
        unit = self._unit()
        self._latest.clear()

        def work() -> None:
            def on_event(u: Batlab, event: TestEvent) -> None:
                self._latest[event.cell] = _progress_text(event)

            results = run_on_units(
                [unit], settings, kind, cells=cells, output=Path("."), settings_text=text,
                on_event=on_event, runs=self._runs,
            )  # fmt: skip
            self._results = results

        self._runs.clear()
        self._results = []
        self._test = threading.Thread(target=work, name="batlab-shell-test", daemon=True)
        self._test.start()
        self.say(f"{kind.value} test started on SN {unit.serial}; 'status' shows progress")

    def do_status(self, line: str) -> None:
        """status -- progress of the background test."""
        if self._test is None:
            self.say("no test started")
            return
        for cell in sorted(self._latest):
            self.say(f"cell {cell}: {self._latest[cell]}")
        if not self._test.is_alive():
            for r in self._results:
                error = f" ({r.error})" if r.error else ""
                for cell, s in sorted(r.run.summaries().items()):
                    cap = "-" if s.capacity_mah is None else f"{s.capacity_mah:.1f} mAh"
                    self.say(f"cell {cell}: done, {s.fault or 'ok'}, capacity {cap}{error}")

    def do_abort(self, line: str) -> None:
        """abort -- stop the background test (every cell STOPPED, measurements kept)."""
        if self._test is None or not self._test.is_alive():
            self.say("no test running")
            return
        for run in self._runs:
            run.request_stop("aborted from the shell")
        self._test.join(timeout=30)
        self.say("test stopped")

    def do_watchdog(self, line: str) -> None:
        """watchdog -- kick the unit's watchdog (keeps running cells going 25.5 s more)."""
        self._unit().kick_watchdog()
        self.say("kicked")

    def do_quit(self, line: str) -> bool:
        """quit -- leave the shell (a running test is stopped first)."""
        if self._test is not None and self._test.is_alive():
            self.do_abort("")
        return True

    do_exit = do_quit
    do_EOF = do_quit

    # --- completion -------------------------------------------------------------------------

    def _complete_register(self, text: str, line: str) -> list[str]:
        words = shlex.split(line[: len(line) - len(text)] if text else line)
        if len(words) <= 1:
            return [n for n in NAMESPACE_NAMES if n.startswith(text.lower())]
        try:
            ns = parse_namespace(words[1])
        except UsageError:
            return []
        if len(words) == 2:
            return [n for n in register_names(ns) if n.startswith(text.upper())]
        if len(words) == 3 and words[2].upper() == "MODE":
            return [m.name for m in Mode if m.name.startswith(text.upper())]
        return []

    def complete_read(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        return self._complete_register(text, line[:endidx])

    complete_write: Callable[..., list[str]] = complete_read

    def complete_use(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        keys = [str(u.serial) for u in self.pool.units.values()] + list(self.pool.units)
        return [k for k in keys if k.startswith(text)]


def _cal(unit: Batlab, ns: int) -> tuple[int, int]:
    if ns < CELLS and unit.info.temp_r:
        return unit.info.temp_r[ns], unit.info.temp_b[ns]
    return 1500, 3380


def _amps(text: str) -> float:
    try:
        amps = float(text.rstrip("aA"))
    except ValueError:
        raise UsageError(f"{text!r} is not a current in A") from None
    convert.setpoint_to_raw(amps)
    return amps


def _progress_text(event: TestEvent) -> str:
    a = event.action
    if event.kind is EventKind.SAMPLE and isinstance(a, LogPeriodic):
        r = a.reading
        return f"{a.state.value} {r.voltage:.3f} V {r.current:.3f} A {r.charge:.1f} C"
    if event.kind is EventKind.PHASE and isinstance(a, PhaseEnded):
        p = a.summary
        return f"{p.phase.value} done: {p.charge:.1f} C ({p.capacity_mah:.1f} mAh)"
    if isinstance(a, Finished):
        return "finished" + (f": {a.fault}" if a.fault else "")
    return event.kind.value
