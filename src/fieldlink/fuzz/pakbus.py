"""PakBus decoders as fuzz targets: framing to records, as a client meets them."""

from __future__ import annotations

import contextlib
import struct

from fieldlink.errors import ProtocolError
from fieldlink.fuzz import Target
from fieldlink.pakbus.protocol import types as t
from fieldlink.pakbus.protocol.directory import parse_dir
from fieldlink.pakbus.protocol.framing import FrameDecoder, encode_frame, unquote
from fieldlink.pakbus.protocol.messages import decode_message
from fieldlink.pakbus.protocol.model import FieldDef, TableDef
from fieldlink.pakbus.protocol.packet import Packet
from fieldlink.pakbus.protocol.records import (
    FragmentAssembler,
    RecordBlock,
    RecordLayout,
    layout_for,
    parse_collect_payload,
)
from fieldlink.pakbus.protocol.tabledef import build_tdf, make_tables, parse_tdf
from fieldlink.pakbus.protocol.wire import NSec
from fieldlink.pakbus.session import ClientSession

# --- tables the record decoders are fuzzed against ----------------------------------------

_FIELDS = (
    FieldDef("BattV", 7, processing="Min", units="Volts"),
    FieldDef("PTemp", 9, units="Deg C"),
    FieldDef("TC", 9, piece_size=3, dimensions=(3,)),
    FieldDef("Grid", 5, piece_size=4, dimensions=(2, 2)),
    FieldDef("Flag", 10),
    FieldDef("Bits", 28),
    FieldDef("Name", 11, piece_size=16, dimensions=(2, 8)),
    FieldDef("Count", 6),
    FieldDef("When", 14),
    FieldDef("Big", 18),
)
#: 1: interval table of fixed-size records; 2: event table; 3: one with an ASCIIZ field
#: (variable-size records, decoded value by value).
TABLES: tuple[TableDef, ...] = make_tables(
    [
        TableDef("Hourly", 0, 1000, 14, NSec(0, 0), NSec(3600, 0), _FIELDS, 0),
        TableDef("Events", 0, 1000, 14, NSec(0, 0), NSec(0, 0), _FIELDS[:5], 0),
        TableDef(
            "Notes", 0, 10, 13, NSec(0, 0), NSec(60, 0),
            (_FIELDS[0], FieldDef("Note", 16, piece_size=2, dimensions=(2, 16))), 0,
        ),
    ]
)  # fmt: skip
BY_NUMBER = {table.number: table for table in TABLES}


def _use_records(payload: object) -> None:
    """Build what a sink builds: Record objects, their dicts and flat rows."""
    for block in getattr(payload, "blocks", ()):
        if isinstance(block, RecordBlock):
            for record in block.records:
                _ = record.values
                record.flat()


def records(data: bytes) -> None:
    """A Collect Data response body against fixed tables; a fragment is assembled."""
    payload = parse_collect_payload(data, BY_NUMBER)
    _use_records(payload)
    fragment = payload.fragment
    if fragment is not None and fragment.table_nbr in BY_NUMBER:
        assembler = FragmentAssembler(BY_NUMBER[fragment.table_nbr], fragment.record_nbr)
        record = assembler.add(fragment)
        if record is not None:
            record.flat()


def tdf(data: bytes) -> None:
    """A ``.TDF`` end to end: parse, name columns, compile layouts, decode a response.

    The first two bytes say how much of the rest is ``.TDF`` (after FslVersion 1); the
    remainder is a Collect Data response decoded against the tables just parsed.
    """
    cut = int.from_bytes(data[:2], "big") if len(data) >= 2 else 0
    tables = parse_tdf(b"\x01" + data[2 : 2 + cut])
    usable = {}
    for table in tables:
        try:
            table.column_names()
            RecordLayout(table)
        except ProtocolError:
            continue
        usable[table.number] = table
    _use_records(parse_collect_payload(data[2 + cut :], usable))


def frames(data: bytes) -> None:
    """The frame decoder over a stream, and every frame's packet and message."""
    decoder = FrameDecoder()
    for frame in decoder.feed(data):
        try:
            packet = Packet.decode(frame)
        except ProtocolError:
            continue
        if packet.hi_proto is not None:
            try:
                decode_message(packet.hi_proto, packet.body)
            except ProtocolError:
                continue
    with contextlib.suppress(ProtocolError):
        unquote(data)


def packet(data: bytes) -> None:
    """One unquoted frame's content: header and body."""
    Packet.decode(data)


def message(data: bytes) -> None:
    """A message body: byte 0 picks PakCtrl (even) or BMP5 (odd), the rest is the body."""
    if data:
        decode_message(data[0] & 1, data[1:])


def session(data: bytes) -> None:
    """Bytes from the link into a client session, as a whole and framed as a logger would."""
    s = ClientSession(node=1, src=4094)
    s.receive(data)
    s.receive(encode_frame(data))


def directory(data: bytes) -> None:
    """A ``.DIR`` file."""
    parse_dir(data)


def values(data: bytes) -> None:
    """Values of one data type: byte 0 the type, byte 1 a count, the rest the values."""
    if len(data) < 2:
        return
    t.decode_values(data[0] & 0x1F, data[2:], data[1], length=data[1] or None)


def _seed_response() -> bytes:
    hourly = layout_for(TABLES[0])
    row = {f.name: v for f, v in zip(TABLES[0].fields, _SAMPLE, strict=True)}
    body = struct.pack(">HIH", 1, 10, 1) + hourly.encode_stamp(NSec(100, 0)) + hourly.encode(row)
    return body + b"\x00"


def _seed_tdf() -> bytes:
    body = build_tdf(TABLES)[1:]
    return len(body).to_bytes(2, "big") + body + _seed_response()


_SAMPLE = (12.5, 21.25, (1.0, 2.0, 3.0), (1, 2, 3, 4), True, False, ("ab", "cd"), 7,
           NSec(5, 0), 1.5)  # fmt: skip

TARGETS = (
    Target("pakbus-records", records, records.__doc__ or "", (_seed_response(),)),
    Target("pakbus-tdf", tdf, tdf.__doc__ or "", (_seed_tdf(),)),
    Target("pakbus-frames", frames, frames.__doc__ or ""),
    Target("pakbus-packet", packet, packet.__doc__ or ""),
    Target("pakbus-message", message, message.__doc__ or ""),
    Target("pakbus-session", session, session.__doc__ or ""),
    Target("pakbus-dir", directory, directory.__doc__ or ""),
    Target("pakbus-values", values, values.__doc__ or ""),
)
