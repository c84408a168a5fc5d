"""TDR100 serial protocol, sans-I/O: command frames out, reply frames in (tdr100.md §2-§4)."""

from fieldlink.tdr100.protocol.commands import (
    COMMANDS,
    Command,
    CommandRejected,
    CommandSpec,
    Reply,
    checksum,
    expected_count,
    format_value,
    parse_command,
    spec,
)
from fieldlink.tdr100.protocol.crc import CANDIDATES, XMODEM, CrcVariant, by_name
from fieldlink.tdr100.protocol.errors import ERROR_CODES, TDR100Error, meaning
from fieldlink.tdr100.protocol.mux import MuxPath, parse_channels
from fieldlink.tdr100.protocol.replies import (
    Ack,
    ErrorReply,
    ReplyDecoder,
    TDR100Reply,
    Values,
    decode_body,
    encode_body,
    encode_reply,
    quote,
    unquote,
)

__all__ = [
    "CANDIDATES",
    "COMMANDS",
    "ERROR_CODES",
    "XMODEM",
    "Ack",
    "Command",
    "CommandRejected",
    "CommandSpec",
    "CrcVariant",
    "ErrorReply",
    "MuxPath",
    "Reply",
    "ReplyDecoder",
    "TDR100Error",
    "TDR100Reply",
    "Values",
    "by_name",
    "checksum",
    "decode_body",
    "encode_body",
    "encode_reply",
    "expected_count",
    "format_value",
    "meaning",
    "parse_channels",
    "parse_command",
    "quote",
    "spec",
    "unquote",
]
