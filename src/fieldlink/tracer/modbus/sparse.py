"""EPEVER's proprietary FC 0x43 sparse read, as pymodbus PDUs (tracer.md §B2.1).

Request: ``start(2) count(2)`` like FC 0x03/0x04; the table follows from the
address (0x9xxx holding, else input).  Reply: ``bc bitmap values`` where ``bc`` is
2·count (what a full read would carry, *not* the bytes that follow), the bitmap is
ceil(count/8) bytes read as one big-endian integer whose bit i says register
start+i exists, and one big-endian word follows per present register.  The frame
is therefore sized from the bitmap, never from ``bc``.

pymodbus registers a custom PDU class for both directions at once, so the server
decoder gets :class:`SparseReadRequest` and the client decoder
:class:`SparseReadResponse` (see :mod:`.adapter`).
"""

from __future__ import annotations

import struct
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.pdu import ExceptionResponse, ModbusPDU

FUNCTION = 0x43
MAX_COUNT = 125


def table_function(address: int) -> int:
    """FC of the table an address lives in: 3 (holding, 0x9xxx) or 4 (input)."""
    return 3 if 0x9000 <= address <= 0x9FFF else 4


def bitmap_bytes(count: int) -> int:
    return (count + 7) // 8


class SparseReadRequest(ModbusPDU):
    """FC 0x43 request: ``address`` and ``count``."""

    function_code = FUNCTION
    rtu_frame_size = 8

    def encode(self) -> bytes:
        return struct.pack(">HH", self.address, self.count)

    def decode(self, data: bytes) -> None:
        self.address, self.count = struct.unpack(">HH", data[:4])

    async def datastore_update(self, context: Any, device_id: int) -> ModbusPDU:
        if not 1 <= self.count <= MAX_COUNT or self.address + self.count > 0x10000:
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_VALUE)
        fc = table_function(self.address)
        values: dict[int, int] = {}
        for i in range(self.count):
            got = await context.async_getValues(device_id, fc, self.address + i, 1)
            if not isinstance(got, ExcCodes):
                values[i] = int(got[0])
        if not values:
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_ADDRESS)
        return SparseReadResponse(
            count=self.count, present=values, dev_id=device_id, transaction_id=self.transaction_id
        )


class SparseReadResponse(ModbusPDU):
    """FC 0x43 reply: ``present`` maps offset from the start to the register's word."""

    function_code = FUNCTION

    def __init__(
        self,
        count: int = 0,
        present: dict[int, int] | None = None,
        dev_id: int = 0,
        transaction_id: int = 0,
    ) -> None:
        super().__init__(dev_id=dev_id, transaction_id=transaction_id, count=count)
        self.present: dict[int, int] = dict(present or {})

    @classmethod
    def calculateRtuFrameSize(cls, data: bytes) -> int:
        # id fc bc bitmap... : the size needs the whole bitmap; 0 = "read more".
        if len(data) < 3:
            return 0
        nb = bitmap_bytes(data[2] // 2)
        if len(data) < 3 + nb:
            return 0
        ones = bin(int.from_bytes(data[3 : 3 + nb], "big")).count("1")
        return 3 + nb + 2 * ones + 2

    def encode(self) -> bytes:
        nb = bitmap_bytes(self.count)
        bitmap = sum(1 << i for i in self.present)
        words = b"".join(struct.pack(">H", self.present[i]) for i in sorted(self.present))
        return bytes((2 * self.count & 0xFF,)) + bitmap.to_bytes(nb, "big") + words

    def decode(self, data: bytes) -> None:
        self.count = data[0] // 2
        nb = bitmap_bytes(self.count)
        if len(data) < 1 + nb:
            raise ValueError("FC 0x43 reply shorter than its bitmap")
        bitmap = int.from_bytes(data[1 : 1 + nb], "big")
        offsets = [i for i in range(8 * nb) if bitmap >> i & 1]
        words = data[1 + nb :]
        if len(words) != 2 * len(offsets):
            raise ValueError(
                f"FC 0x43 bitmap names {len(offsets)} registers, {len(words) // 2} follow"
            )
        self.present = {
            off: int.from_bytes(words[2 * k : 2 * k + 2], "big") for k, off in enumerate(offsets)
        }
