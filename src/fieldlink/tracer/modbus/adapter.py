"""The one module that knows pymodbus (pinned ``pymodbus>=3.7,<4``).

pymodbus keeps renaming things across 3.x releases (``unit=`` → ``slave=`` →
``device_id=``/``dev_id``, datastore classes deprecated for SimData/SimDevice), so
everything of it we use is reached through here:

- :class:`ServerCodec`: a server's RTU or Modbus/TCP (socket) framer and request
  decoder, sans-I/O: :meth:`~ServerCodec.frames` splits a byte stream into ADUs,
  :meth:`~ServerCodec.answer` runs one through pymodbus' own request PDUs against
  a pymodbus SimDevice datastore and returns the reply ADU.
- :class:`ClientCodec`: our :mod:`.pdus` requests to ADU bytes and reply bytes back
  to our replies, with pymodbus' framers and response PDUs.

pymodbus' request handlers are coroutines; against the simulator datastore (whose
``action`` hook never awaits anything real) they complete on the first step, so
:func:`_complete` runs them without an event loop.  pymodbus stays sans-I/O here:
its transports and servers are never started; the kit host does the serving.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerRTU, FramerSocket
from pymodbus.framer.base import FramerBase
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadCoilsResponse,
    ReadDiscreteInputsRequest,
    WriteSingleCoilRequest,
    WriteSingleCoilResponse,
)
from pymodbus.pdu.mei_message import ReadDeviceInformationRequest, ReadDeviceInformationResponse
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    ReadInputRegistersRequest,
    WriteMultipleRegistersRequest,
    WriteMultipleRegistersResponse,
    WriteSingleRegisterResponse,
)
from pymodbus.simulator import SimData, SimDevice
from pymodbus.simulator.simcore import SimCore
from pymodbus.simulator.simutils import DataType, SimUtils

from fieldlink.errors import ProtocolError
from fieldlink.tracer.modbus import pdus
from fieldlink.tracer.modbus.registers import Table
from fieldlink.tracer.modbus.sparse import SparseReadRequest, SparseReadResponse

# pymodbus logs every malformed frame at warning level; our receivers report those.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

Framing = Literal["rtu", "socket"]
_FRAMERS: dict[str, type[FramerBase]] = {"rtu": FramerRTU, "socket": FramerSocket}
#: An ADU is at most 256 bytes (RTU) / 260 (TCP); more unframed bytes than this are noise.
MAX_PENDING = 512


def _complete(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never really suspends; RuntimeError if it does."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("pymodbus datastore call suspended; it must complete at once")


def _set_unit(pdu: ModbusPDU, unit: int) -> None:
    # 3.0–3.6 called it slave_id, 3.7+ dev_id.
    setattr(pdu, "dev_id" if hasattr(pdu, "dev_id") else "slave_id", unit)


def _unit(pdu: ModbusPDU) -> int:
    return int(getattr(pdu, "dev_id", getattr(pdu, "slave_id", 0)))


class _Splitter:
    """A pymodbus framer over a growing buffer, hunting byte by byte and bounded.

    pymodbus' RTU decoder gives up on the whole buffer when the first plausible frame
    in it fails its CRC, which loses a good frame behind a little line noise.  Here a
    failed candidate costs one byte and the hunt goes on; only when nothing good is
    left (a damaged frame) is it reported, once, as a bad unit.  Bytes that may still
    become a frame are kept.
    """

    def __init__(self, framing: Framing, decoder: DecodePDU) -> None:
        self.framer = _FRAMERS[framing](decoder)
        self.buf = bytearray()
        self.noise = 0

    def units(self, data: bytes) -> list[tuple[bytes, int, int, bytes]]:
        """(adu, unit, transaction, pdu-bytes) for each complete ADU; pdu-bytes b"" = bad one."""
        self.buf += data
        out: list[tuple[bytes, int, int, bytes]] = []
        failed: bytes | None = None
        while self.buf:
            try:
                used, unit, tid, pdu = self.framer.decode(bytes(self.buf))
            except Exception:  # a malformed length field deep in pymodbus
                used, unit, tid, pdu = 1, 0, 0, b""
            if not used:
                if len(self.buf) > MAX_PENDING:
                    self.noise += len(self.buf)
                    self.buf.clear()
                break
            if pdu:
                out.append((bytes(self.buf[:used]), unit, tid, pdu))
                del self.buf[:used]
                failed = None  # the noise before it was just that
                continue
            failed = failed or bytes(self.buf[:32])
            del self.buf[:1]
            self.noise += 1
        if failed is not None:
            # Reported at once (the client resends at once); what is pending stays, so a
            # good frame that was still arriving behind the noise is found when complete.
            if len(self.buf) < self.framer.MIN_SIZE:
                self.noise += len(self.buf)
                self.buf.clear()
            out.append((failed, 0, 0, b""))
        return out


# --- server -----------------------------------------------------------------------------------

#: What the datastore asks the device model (all sans-I/O):
#: read(table, address, count) -> words or bits; write(table, address, values) -> exception code.
ReadHook = Callable[[Table, int, int], Sequence[int]]
WriteHook = Callable[[Table, int, Sequence[int]], int | None]

_FC_TABLE: dict[int, Table] = {
    1: Table.COIL,
    5: Table.COIL,
    15: Table.COIL,
    2: Table.DISCRETE,
    3: Table.HOLDING,
    6: Table.HOLDING,
    16: Table.HOLDING,
    23: Table.HOLDING,
    4: Table.INPUT,
}


#: Writes a unit carries out when addressed to 0 (broadcast), without replying.
_BROADCAST_WRITES = frozenset({5, 6, 15, 16})


def _runs(addresses: frozenset[int] | set[int]) -> list[tuple[int, int]]:
    ordered = sorted(addresses)
    runs: list[tuple[int, int]] = []
    for a in ordered:
        if runs and runs[-1][0] + runs[-1][1] == a:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((a, 1))
    return runs


@dataclass(frozen=True)
class Profile:
    """Which addresses exist in each table: the rest answer exception 02."""

    coils: frozenset[int]
    discretes: frozenset[int]
    holding: frozenset[int]
    input: frozenset[int]


class ServerCodec:
    """A Modbus server (slave) on one link, sans-I/O, built from pymodbus pieces."""

    def __init__(
        self,
        profile: Profile,
        read: ReadHook,
        write: WriteHook,
        *,
        identity: Callable[[], Mapping[int, bytes]],
        unit: int = 1,
        framing: Framing = "rtu",
    ) -> None:
        self.unit = unit
        self._read, self._write, self._identity = read, write, identity
        decoder = DecodePDU(True)
        decoder.register(SparseReadRequest)
        self._split = _Splitter(framing, decoder)
        self._decoder = decoder

        def bits(addresses: frozenset[int]) -> list[SimData]:
            return [
                SimData(a, count=n, values=False, datatype=DataType.BITS)
                for a, n in _runs(addresses)
            ]

        def words(addresses: frozenset[int]) -> list[SimData]:
            return [
                SimData(a, count=n, values=0, datatype=DataType.REGISTERS)
                for a, n in _runs(addresses)
            ]

        device = SimDevice(
            unit,
            simdata=(
                bits(profile.coils),
                bits(profile.discretes),
                words(profile.holding),
                words(profile.input),
            ),
            action=self._action,
        )
        self._store = SimCore([device])
        self.requests = 0
        self.exceptions = 0

    @property
    def noise(self) -> int:
        return self._split.noise

    @property
    def pending(self) -> int:
        return len(self._split.buf)

    def frames(self, data: bytes) -> list[bytes]:
        """Complete ADUs in ``data`` (partial ones kept; bad ones dropped and counted)."""
        return [adu for adu, _, _, pdu in self._split.units(data) if pdu]

    def answer(self, adu: bytes) -> bytes | None:
        """The reply ADU for one request ADU, or None (other unit, broadcast, undecodable)."""
        framer = self._split.framer
        try:
            _, request = framer.handleFrame(adu, 0, 0)
        except Exception:
            return None
        if request is None:
            return None
        unit = _unit(request)
        if unit == 0 and request.function_code in _BROADCAST_WRITES:
            self.requests += 1
            self._respond(request)  # broadcast: every unit acts, none answers
            return None
        if unit != self.unit:
            return None  # RS-485: another device's request
        self.requests += 1
        reply = self._respond(request)
        _set_unit(reply, unit)
        reply.transaction_id = request.transaction_id
        if reply.isError():
            self.exceptions += 1
        return framer.buildFrame(reply)

    def _respond(self, request: ModbusPDU) -> ModbusPDU:
        if isinstance(request, ReadDeviceInformationRequest):
            return self._device_info(request)
        try:
            store: Any = self._store  # pymodbus types the context as the deprecated class
            return _complete(request.datastore_update(store, self.unit))  # type: ignore[no-any-return]
        except Exception:
            return ExceptionResponse(request.function_code, ExcCodes.DEVICE_FAILURE)

    def _device_info(self, request: ReadDeviceInformationRequest) -> ModbusPDU:
        objects = dict(self._identity())
        wanted = {1: [0, 1, 2], 2: [3], 3: [3], 4: [request.object_id]}.get(request.read_code)
        if wanted is None:
            return ExceptionResponse(request.function_code, ExcCodes.ILLEGAL_VALUE)
        info = {oid: objects[oid] for oid in wanted if oid in objects}
        if not info:
            return ExceptionResponse(request.function_code, ExcCodes.ILLEGAL_ADDRESS)
        reply = ReadDeviceInformationResponse(read_code=request.read_code, information=info)
        reply.conformity = 0x01  # what a Tracer2215BN says (basic identification only)
        return reply

    async def _action(
        self,
        fc: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        table = _FC_TABLE.get(fc)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if values is not None:
            code = self._write(table, address, [int(v) for v in values])
            return ExcCodes(code) if code else None
        if table in (Table.COIL, Table.DISCRETE):
            first = address // 16
            for k in range(count):
                bits = self._read(table, (first + k) * 16, 16)
                registers[first - start + k] = SimUtils.bitsToRegisters([bool(b) for b in bits])[0]
        else:
            words = self._read(table, address, count)
            registers[address - start : address - start + count] = list(words)
        return None


# --- client -----------------------------------------------------------------------------------


def _request_pdu(request: pdus.Request) -> ModbusPDU:
    pdu: ModbusPDU
    if isinstance(request, pdus.ReadRegisters):
        cls = (
            ReadInputRegistersRequest
            if request.table is Table.INPUT
            else ReadHoldingRegistersRequest
        )
        pdu = cls(address=request.start, count=request.count)
    elif isinstance(request, pdus.ReadBits):
        cls2 = ReadCoilsRequest if request.table is Table.COIL else ReadDiscreteInputsRequest
        pdu = cls2(address=request.start, count=request.count)
    elif isinstance(request, pdus.WriteRegisters):
        pdu = WriteMultipleRegistersRequest(address=request.start, registers=list(request.values))
    elif isinstance(request, pdus.WriteCoil):
        pdu = WriteSingleCoilRequest(address=request.address, bits=[request.on])
    elif isinstance(request, pdus.ReadDeviceId):
        pdu = ReadDeviceInformationRequest(read_code=request.code, object_id=request.object_id)
    else:
        pdu = SparseReadRequest(address=request.start, count=request.count)
    return pdu


def _reply(pdu: ModbusPDU) -> pdus.Reply:
    fc = pdu.function_code
    if isinstance(pdu, ExceptionResponse):
        return pdus.ExceptionReply(fc & 0x7F, pdu.exception_code)
    if isinstance(pdu, ReadHoldingRegistersResponse):
        return pdus.Registers(fc, tuple(int(r) for r in pdu.registers))
    if isinstance(pdu, ReadCoilsResponse):
        return pdus.Bits(fc, tuple(bool(b) for b in pdu.bits))
    if isinstance(pdu, WriteSingleCoilResponse):
        return pdus.Written(fc, pdu.address, 1)
    if isinstance(pdu, WriteSingleRegisterResponse | WriteMultipleRegistersResponse):
        return pdus.Written(fc, pdu.address, pdu.count)
    if isinstance(pdu, ReadDeviceInformationResponse):
        objects = {
            int(k): (v if isinstance(v, bytes) else b"".join(v)) for k, v in pdu.information.items()
        }
        return pdus.DeviceObjects(fc, objects)
    if isinstance(pdu, SparseReadResponse):
        return pdus.Sparse(fc, pdu.count, dict(pdu.present))
    raise ProtocolError(
        f"unexpected Modbus reply function {fc:#04x}", message_type="Tracer Modbus reply"
    )


class ClientCodec:
    """Our requests to ADUs and reply bytes to our replies (one link, one unit)."""

    def __init__(self, *, unit: int = 1, framing: Framing = "rtu") -> None:
        self.unit = unit
        self.framing = framing
        decoder = DecodePDU(False)
        decoder.register(SparseReadResponse)
        self._split = _Splitter(framing, decoder)
        self._decoder = decoder
        self._tid = 0

    def encode(self, request: pdus.Request) -> bytes:
        pdu = _request_pdu(request)
        _set_unit(pdu, self.unit)
        self._tid = (self._tid % 0xFFFF) + 1
        pdu.transaction_id = self._tid
        try:
            return self._split.framer.buildFrame(pdu)
        except ValueError as exc:  # pymodbus' own count/address checks
            raise ProtocolError(f"cannot encode {request}: {exc}") from None

    def feed(self, data: bytes) -> list[pdus.Reply | ProtocolError]:
        out: list[pdus.Reply | ProtocolError] = []
        for adu, unit, _tid, body in self._split.units(data):
            if not body:
                out.append(
                    ProtocolError(
                        f"bad Modbus frame (CRC or length): {adu[:16].hex(' ')}",
                        message_type=f"Modbus {self.framing} reply",
                    )
                )
                continue
            if unit != self.unit:
                continue
            pdu = self._decoder.decode(body)
            if pdu is None:
                out.append(
                    ProtocolError(
                        f"undecodable Modbus reply {body[:16].hex(' ')}",
                        message_type=f"Modbus {self.framing} reply",
                    )
                )
                continue
            try:
                out.append(_reply(pdu))
            except ProtocolError as exc:
                out.append(exc)
        return out

    def clear(self) -> None:
        self._split.buf.clear()


__all__ = ["ClientCodec", "Framing", "Profile", "ServerCodec"]
