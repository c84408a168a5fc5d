"""Link-level conversations: Hello, Bye and a ping (pakbus.md §4.2, §4.4, §4.8)."""

from __future__ import annotations

from fieldlink.errors import (
    DeliveryFailure,
    ProtocolError,
)
from fieldlink.pakbus.protocol import pakctrl
from fieldlink.pakbus.protocol.packet import LinkState
from fieldlink.pakbus.protocol.signature import nullifier, signature
from fieldlink.pakbus.protocol.wire import NSec
from fieldlink.pakbus.session import (
    Operation,
    Request,
    expect,
    now,
    send_one_way,
)

# --- link: hello, bye, ping -------------------------------------------------------------------


def hello(*, hop_metric: int = 2, verify_interval: int = 1800) -> Operation[pakctrl.HelloResponse]:
    """Hello (§4.2): make the logger our neighbour; returns its answer.

    HopMetric 2 (≤ 5 s) and a 30-minute verify interval are what PyCampbellCR1000 sends
    and a CR1000 accepts (vectors V1.1/V3.2).
    """
    command = pakctrl.HelloCommand(0, 0, hop_metric, verify_interval)
    return (yield from expect(Request(command), pakctrl.HelloResponse))


def bye() -> Operation[None]:
    """Bye (§4.4): one-way, with link state Finished as PyCampbellCR1000 sends it (V1.8)."""
    yield from send_one_way(Request(pakctrl.Bye(), link_state=LinkState.FINISHED))


def echo_payload(size: int) -> bytes:
    """A ping payload of ``size`` bytes whose CSI signature is 0, as LoggerNet sends.

    The pattern is fixed (a counter) rather than random so that runs are repeatable.
    """
    if size < 2:
        return b""
    body = bytes(i & 0xFF for i in range(size - 2))
    return body + nullifier(signature(body))


def ping(*, size: int = 16) -> Operation[float]:
    """Round-trip time in seconds of an Echo (§4.8), or of a Hello if Echo is refused.

    The echoed payload must come back intact.  Some leaf devices answer Echo with
    delivery failure 4 (unsupported); a Hello round trip measures the same link.
    """
    payload = echo_payload(size)
    start = yield from now()
    try:
        reply = yield from expect(
            Request(pakctrl.EchoCommand(0, NSec(0, 0), payload)), pakctrl.EchoResponse
        )
    except DeliveryFailure as exc:
        if exc.code != 4:
            raise
        start = yield from now()
        yield from hello()
    else:
        if reply.payload != payload:
            raise ProtocolError(
                f"echo came back with {len(reply.payload)} different bytes ({len(payload)} sent)",
                message_type=pakctrl.EchoResponse.what(),
            )
    end = yield from now()
    return end.monotonic - start.monotonic
