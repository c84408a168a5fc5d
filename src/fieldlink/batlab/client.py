"""The Batlab client: a blocking class and its asyncio twin, each method one conversation.

Both sit on the kit's :class:`~fieldlink.kit.client.Client` / ``AsyncClient``, which
run the conversations of :mod:`fieldlink.batlab.operations` over a
:class:`BatlabSession`.  Connecting runs the official handshake (batlab.md §7.1), so
a unit that fieldlink opened is in the same state as one the official library
opened.  Every exchange holds the client's lock, so threads may share one client: a
reply is only ever taken by the exchange it answers.  A link that closes under a
conversation is reported as :class:`UnitUnplugged`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

from fieldlink.batlab import operations as ops
from fieldlink.batlab.codec import StreamPacket
from fieldlink.batlab.errors import CellFault, UnitUnplugged
from fieldlink.batlab.firmware import FirmwareImage, load_image
from fieldlink.batlab.registers import CELLS
from fieldlink.batlab.session import BatlabSession
from fieldlink.batlab.settings import TestSettings
from fieldlink.batlab.testrun import TestEvent, TestRun, run_tests
from fieldlink.batlab.workflow import CellSchedule, CellSummary, TestKind
from fieldlink.errors import FieldlinkError, LinkClosed, LinkError, UsageError
from fieldlink.kit.client import AsyncClient, AsyncOpen, Call, Client, Method
from fieldlink.kit.converse import Operation, Stream, pause
from fieldlink.link.sync import open_link
from fieldlink.link.url import parse_url

if TYPE_CHECKING:  # not at run time: the blocking client does not load asyncio
    from fieldlink.link.aio import AsyncLink

__all__ = ["OFFICIAL_BAUD", "AsyncBatlab", "Batlab", "port_url"]

T = TypeVar("T")
#: The official library opens the port at 38400 8N1 (irrelevant to USB CDC, kept for ptys).
OFFICIAL_BAUD = 38400
#: What the client knows of a unit before (or without) the handshake.
NO_INFO = ops.UnitInfo(serial=0, firmware=0, bootloader=False)


def _link_timeout(timeout: float) -> float:
    return max(timeout, 2.0)


def port_url(port: str) -> str:
    """A link URL for ``port``: a URL as given, a bare device path as a 38400-baud serial."""
    if ":" in port and not port.startswith("/") and port[1:3] != ":\\":
        try:
            parse_url(port)
            return port
        except UsageError:
            if not port.startswith("serial:"):
                raise
            return f"{port}:{OFFICIAL_BAUD}"  # serial:DEVICE without a baud rate
    return f"serial:{port}:{OFFICIAL_BAUD}"


def _schedules(
    cells: dict[int, TestKind] | None, settings: TestSettings, kind: TestKind
) -> dict[int, CellSchedule]:
    chosen = cells if cells is not None else dict.fromkeys(range(CELLS), kind)
    for cell in chosen:
        if not 0 <= cell < CELLS:
            raise UsageError(f"cell {cell} out of range 0..{CELLS - 1}")
    return {c: CellSchedule(c, settings, k) for c, k in chosen.items()}


def _faults(run: TestRun) -> None:
    summaries = run.summaries()
    bad = {c: s for c, s in summaries.items() if s.fault}
    if bad:
        error = CellFault("; ".join(s.fault or "" for s in bad.values()), cell=next(iter(bad)))
        error.run = run
        raise error


def _as_stream(operation: Operation[Any]) -> Stream:
    yield from operation


class _Unit:
    """What both clients share: the port, what the handshake learned, test set-up, and
    the methods that are one conversation each (written once for both)."""

    port: str
    info: ops.UnitInfo
    session: BatlabSession

    def _init_unit(self, port: str, handshake: bool, enable_watchdog: bool) -> None:
        self.port = port
        self.info = NO_INFO
        self._handshake = handshake
        self._watchdog = enable_watchdog

    # --- registers ----------------------------------------------------------------------------
    read = Call(ops.read_register)
    write = Call(ops.write_register)
    write_verify = Call(ops.write_verify)

    # --- cells and unit -----------------------------------------------------------------------
    set_current = Call(ops.set_current)
    set_mode = Call(ops.set_mode)
    impedance = Call(ops.impedance)
    firmware_version = Call(ops.firmware_version)
    kick_watchdog = Call(ops.kick_watchdog)

    @Method
    def snapshot(self, cell: int) -> Operation[ops.CellSnapshot]:
        return ops.cell_snapshot(cell, *self._cal(cell))

    @Method
    def bootload(
        self,
        image: FirmwareImage | str | Path,
        *,
        progress: Callable[[ops.BootProgress], None] | None = None,
        reset_wait: float = 2.0,
    ) -> Operation[int]:
        """Flash a local image (§6); returns the new firmware version.

        Checking for new firmware online is not offered: fieldlink does not reach
        the network on its own.  Download the image yourself and pass the file.
        """
        img = image if isinstance(image, FirmwareImage) else load_image(image)
        return self._reconnected(ops.bootload(img, progress=progress, reset_wait=reset_wait))

    def _reconnected(self, flashing: Operation[int]) -> Operation[int]:
        """``flashing``, then the connect sequence again (what the unit now is)."""
        version = yield from flashing
        self.info = yield from ops.connect()
        return version

    def lost(self, error: LinkClosed) -> FieldlinkError:
        if isinstance(error, UnitUnplugged):
            return error
        return UnitUnplugged(f"Batlab on {self.port} went away: {error}")

    @contextlib.contextmanager
    def _testing(self) -> Iterator[None]:
        """A test whose unit stops answering (a timeout too) ends with UnitUnplugged."""
        try:
            yield
        except UnitUnplugged:
            raise
        except LinkError as exc:
            raise UnitUnplugged(f"Batlab on {self.port} lost mid-test: {exc}") from exc

    @property
    def serial(self) -> int:
        return self.info.serial

    def _cal(self, cell: int) -> tuple[int, int]:
        if not self.info.temp_r:
            return 1500, 3380
        return self.info.temp_r[cell], self.info.temp_b[cell]

    def start_test(
        self,
        settings: TestSettings,
        kind: TestKind = TestKind.CYCLE,
        cells: dict[int, TestKind] | None = None,
    ) -> TestRun:
        """A test run to pass to ``run_test`` or ``iter_test`` (nothing sent yet)."""
        return TestRun(self.info, _schedules(cells, settings, kind))


class Batlab(_Unit, Client):
    """One Batlab on ``port`` (a device path such as /dev/ttyACM0, or a link URL).

    ``handshake`` runs the official connect sequence (cells to IDLE, watchdog on);
    the unit's serial, firmware version and calibration are then in :attr:`info`.
    """

    def __init__(
        self,
        port: str,
        *,
        timeout: float = 1.0,
        handshake: bool = True,
        enable_watchdog: bool = True,
        link_timeout: float | None = None,
    ) -> None:
        self._init_unit(port, handshake, enable_watchdog)
        self.url = port_url(port)
        link = open_link(self.url, timeout=link_timeout or _link_timeout(timeout))
        Client.__init__(self, link, BatlabSession(timeout=timeout))
        try:
            self.opened()
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(
        cls, url: str, *, timeout: float = 1.0, link_timeout: float | None = None, **kwargs: Any
    ) -> Self:
        """The same as ``Batlab(url, ...)``: ``url`` is a device path or a link URL."""
        return cls(url, timeout=timeout, link_timeout=link_timeout, **kwargs)

    def opened(self) -> None:
        if self._handshake:
            self.info = self.run(ops.connect(enable_watchdog=self._watchdog))

    def snapshots(self) -> list[ops.CellSnapshot]:
        return [self.snapshot(c) for c in range(CELLS)]

    def stream_packets(self) -> list[StreamPacket]:
        """Stream packets received so far (reading them does not wait)."""
        with self._lock:
            return self.session.take_stream()

    def listen(self, seconds: float) -> list[StreamPacket]:
        """Read the line for ``seconds`` (stream packets arrive), then return the packets."""
        self.run(pause(seconds))
        return self.stream_packets()

    # --- workflows ----------------------------------------------------------------------------

    def iter_test(self, run: TestRun, *, poll: float | None = None) -> Iterator[TestEvent]:
        """Run the test, yielding its events (samples, phase ends, finishes) as they come."""
        with self._testing():
            yield from self.stream(_as_stream(run_tests(run, poll=poll)))

    def run_test(self, run: TestRun, *, poll: float | None = None) -> dict[int, CellSummary]:
        """Run the test to its end; CellFault (with ``.run``) if a cell could not finish."""
        for _ in self.iter_test(run, poll=poll):
            pass
        _faults(run)
        return run.summaries()


class AsyncBatlab(_Unit, AsyncClient):
    """The asyncio twin of :class:`Batlab` (same conversations, same results)."""

    def __init__(
        self,
        link: AsyncLink,
        *,
        port: str,
        timeout: float = 1.0,
        handshake: bool = True,
        enable_watchdog: bool = True,
    ) -> None:
        self._init_unit(port, handshake, enable_watchdog)
        AsyncClient.__init__(self, link, BatlabSession(timeout=timeout))

    @classmethod
    def open(
        cls, url: str, *, timeout: float = 1.0, link_timeout: float | None = None, **kwargs: Any
    ) -> AsyncOpen[Self]:
        """``await AsyncBatlab.open(port)`` or ``async with AsyncBatlab.open(port) as unit``."""
        return super().open(
            port_url(url),
            link_timeout=link_timeout or _link_timeout(timeout),
            port=url,
            timeout=timeout,
            **kwargs,
        )

    async def opened(self) -> None:
        if self._handshake:
            self.info = await self.run(ops.connect(enable_watchdog=self._watchdog))

    async def iter_test(
        self, run: TestRun, *, poll: float | None = None
    ) -> AsyncIterator[TestEvent]:
        """Run the test, yielding its events as they come."""
        with self._testing():
            async for event in self.stream(_as_stream(run_tests(run, poll=poll))):
                yield event

    async def run_test(self, run: TestRun, *, poll: float | None = None) -> dict[int, CellSummary]:
        """Run the test to its end; CellFault (with ``.run``) if a cell could not finish."""
        async for _ in self.iter_test(run, poll=poll):
            pass
        _faults(run)
        return run.summaries()
