"""Link URL parsing: every accepted form, canonical round-trips, only LinkURLError on garbage."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.errors import FieldlinkError, LinkURLError, UsageError
from fieldlink.link import PYSERIAL_SCHEMES, LinkURL, parse_framing, parse_url

# (text as typed, expected fields, canonical form)
ACCEPTED: list[tuple[str, dict[str, object], str]] = [
    (
        "tcp:192.168.1.10:6785",
        {"scheme": "tcp", "host": "192.168.1.10", "port": 6785},
        "tcp:192.168.1.10:6785",
    ),
    (
        "tcp://192.168.1.10:6785",
        {"scheme": "tcp", "host": "192.168.1.10", "port": 6785},
        "tcp:192.168.1.10:6785",
    ),
    (
        "TCP:Logger.Example.org:6785",
        {"scheme": "tcp", "host": "logger.example.org", "port": 6785},
        "tcp:logger.example.org:6785",
    ),
    ("tcp:[::1]:6785", {"scheme": "tcp", "host": "::1", "port": 6785}, "tcp:[::1]:6785"),
    ("tcp://[0:0:0:0:0:0:0:1]:1", {"scheme": "tcp", "host": "::1", "port": 1}, "tcp:[::1]:1"),
    (
        "tcp:localhost:65535",
        {"scheme": "tcp", "host": "localhost", "port": 65535},
        "tcp:localhost:65535",
    ),
    ("  tcp:host:80  ", {"scheme": "tcp", "host": "host", "port": 80}, "tcp:host:80"),
    ("udp:10.0.0.2:6785", {"scheme": "udp", "host": "10.0.0.2", "port": 6785}, "udp:10.0.0.2:6785"),
    (
        "udp://[fe80::1]:6785",
        {"scheme": "udp", "host": "fe80::1", "port": 6785},
        "udp:[fe80::1]:6785",
    ),
    # PyCampbellCR1000 users' serial forms
    (
        "serial:/dev/ttyUSB0:38400",
        {
            "scheme": "serial",
            "device": "/dev/ttyUSB0",
            "baud": 38400,
            "bytesize": 8,
            "parity": "N",
            "stopbits": 1.0,
        },
        "serial:/dev/ttyUSB0:38400",
    ),
    (
        "serial:/COM1:19200:8N1",
        {
            "scheme": "serial",
            "device": "COM1",
            "baud": 19200,
            "bytesize": 8,
            "parity": "N",
            "stopbits": 1.0,
        },
        "serial:COM1:19200",
    ),
    (
        "serial:COM1:9600",
        {
            "scheme": "serial",
            "device": "COM1",
            "baud": 9600,
            "bytesize": 8,
            "parity": "N",
            "stopbits": 1.0,
        },
        "serial:COM1:9600",
    ),
    ("serial:/com12:9600", {"device": "com12"}, "serial:com12:9600"),
    (
        "serial:/dev/ttyS0:9600:7E1",
        {"device": "/dev/ttyS0", "baud": 9600, "bytesize": 7, "parity": "E", "stopbits": 1.0},
        "serial:/dev/ttyS0:9600:7E1",
    ),
    (
        "serial:/dev/ttyS0:57600:8n2",
        {"device": "/dev/ttyS0", "baud": 57600, "bytesize": 8, "parity": "N", "stopbits": 2.0},
        "serial:/dev/ttyS0:57600:8N2",
    ),
    (
        "serial:/dev/ttyS0:1200:5O1.5",
        {"bytesize": 5, "parity": "O", "stopbits": 1.5},
        "serial:/dev/ttyS0:1200:5O1.5",
    ),
    # by-path device names contain colons; baud and framing are taken from the right
    (
        "serial:/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0:115200",
        {"device": "/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0", "baud": 115200},
        "serial:/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0:115200",
    ),
    (
        "serial:/dev/pts/3:115200",
        {"device": "/dev/pts/3", "baud": 115200},
        "serial:/dev/pts/3:115200",
    ),
    # a pyserial URL as the device, to give it a baud rate and framing
    (
        "serial:loop://:9600:8E1",
        {"device": "loop://", "baud": 9600, "parity": "E"},
        "serial:loop://:9600:8E1",
    ),
    # pyserial's own URL handlers, passed through untouched
    (
        "socket://localhost:7000",
        {
            "scheme": "socket",
            "host": "localhost",
            "port": 7000,
            "device": "socket://localhost:7000",
        },
        "socket://localhost:7000",
    ),
    (
        "rfc2217://[::1]:2217?ign_set_control",
        {
            "scheme": "rfc2217",
            "host": "::1",
            "port": 2217,
            "device": "rfc2217://[::1]:2217?ign_set_control",
        },
        "rfc2217://[::1]:2217?ign_set_control",
    ),
    ("loop://", {"scheme": "loop", "device": "loop://", "host": None, "baud": None}, "loop://"),
    (
        "LOOP://?logging=debug",
        {"scheme": "loop", "device": "loop://?logging=debug"},
        "loop://?logging=debug",
    ),
    (
        "spy:///dev/ttyUSB0?file=log.txt",
        {"scheme": "spy", "device": "spy:///dev/ttyUSB0?file=log.txt"},
        "spy:///dev/ttyUSB0?file=log.txt",
    ),
    ("hwgrep://0403:6001", {"scheme": "hwgrep"}, "hwgrep://0403:6001"),
]


@pytest.mark.parametrize(("text", "fields", "canonical"), ACCEPTED)
def test_accepted_forms(text: str, fields: dict[str, object], canonical: str) -> None:
    url = parse_url(text)
    for name, value in fields.items():
        assert getattr(url, name) == value, name
    assert url.raw == text
    assert str(url) == canonical


@pytest.mark.parametrize(("text", "fields", "canonical"), ACCEPTED)
def test_canonical_form_round_trips(text: str, fields: dict[str, object], canonical: str) -> None:
    url = parse_url(text)
    again = parse_url(str(url))
    assert again == url
    assert str(again) == canonical


def test_kind_says_which_transport_opens_it() -> None:
    assert parse_url("tcp:h:1").kind == "tcp"
    assert parse_url("udp:h:1").kind == "udp"
    assert parse_url("serial:COM1:9600").kind == "serial"
    assert parse_url("socket://h:1").kind == "serial"  # pyserial opens it
    assert parse_url("loop://").kind == "serial"


def test_address_brackets_ipv6() -> None:
    assert parse_url("tcp:[::1]:6785").address == "[::1]:6785"
    assert parse_url("tcp:1.2.3.4:6785").address == "1.2.3.4:6785"
    assert parse_url("serial:/dev/ttyS0:9600").address == "/dev/ttyS0"


def test_url_is_immutable_and_raw_does_not_affect_equality() -> None:
    a, b = parse_url("tcp://H:1"), parse_url("tcp:h:1")
    assert a == b and hash(a) == hash(b)
    assert a.raw != b.raw
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.port = 2  # type: ignore[misc]


REJECTED: list[tuple[str, str]] = [
    ("", "empty"),
    ("   ", "empty"),
    ("tcp:", "expected tcp:HOST:PORT"),
    ("tcp:host", "missing port"),
    ("tcp:host:", "missing port"),
    ("tcp::6785", "missing host"),
    ("tcp:host:0", "1 to 65535"),
    ("tcp:host:65536", "1 to 65535"),
    ("tcp:host:-1", "bad port"),
    ("tcp:host:http", "bad port"),
    ("tcp:host:６７", "bad port"),  # full-width digits are not a port
    ("tcp:::1:6785", "brackets"),
    ("tcp:[::1]", "missing port"),
    ("tcp:[::1:6785", "unclosed"),
    ("tcp:[not-ipv6]:6785", "bad IPv6"),
    ("tcp:bad host:1", "bad host name"),
    ("tcp:ho/st:1", "bad host name"),
    ("udp:host", "expected udp:HOST:PORT"),
    ("serial:/dev/ttyUSB0", "missing baud rate"),
    ("serial:/dev/ttyUSB0:fast", "bad baud rate"),
    ("serial:/dev/ttyUSB0:0", "bad baud rate"),
    ("serial:/dev/ttyUSB0:99999999", "bad baud rate"),
    ("serial::9600", "missing serial device"),
    ("serial:COM1:8N1", "bad baud rate"),
    ("serial:COM1:9600:9N1", "bad serial framing"),
    ("serial:COM1:9600:8X1", "bad serial framing"),
    ("serial:COM1:9600:8N3", "bad serial framing"),
    ("serial:foo://x:9600", "unknown pyserial scheme"),
    ("serial://dev/ttyUSB0:9600", "expected serial:DEVICE:BAUD"),
    ("http://example.org", "unknown link scheme"),
    ("ftp:host:21", "unknown link scheme"),
    ("/dev/ttyUSB0", "serial:/dev/ttyUSB0:BAUD"),
    ("COM3", "serial:COM3:BAUD"),
    ("loop:", "loop://"),
    ("socket://", "expected socket://HOST:PORT"),
    ("socket://host", "expected socket://HOST:PORT"),
    ("rfc2217://host:99999", "1 to 65535"),
    ("spy://", "spy://"),
    ("tcp:host\x00:1", "control characters"),
]


@pytest.mark.parametrize(("text", "hint"), REJECTED)
def test_rejected_with_actionable_message(text: str, hint: str) -> None:
    with pytest.raises(LinkURLError) as info:
        parse_url(text)
    assert hint in str(info.value)


def test_link_url_error_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        parse_url("nope")


def test_non_string_is_a_link_url_error() -> None:
    with pytest.raises(LinkURLError, match="must be a string"):
        parse_url(6785)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8N1", (8, "N", 1.0)),
        ("7E1", (7, "E", 1.0)),
        ("8N2", (8, "N", 2.0)),
        ("7o2", (7, "O", 2.0)),
        ("6M1.5", (6, "M", 1.5)),
        ("5S1", (5, "S", 1.0)),
    ],
)
def test_parse_framing(text: str, expected: tuple[int, str, float]) -> None:
    assert parse_framing(text) == expected


@pytest.mark.parametrize("text", ["", "8N", "N81", "4N1", "9N1", "8Q1", "8N1.0", "8N3", "88N1"])
def test_parse_framing_rejects(text: str) -> None:
    with pytest.raises(LinkURLError, match="8N1"):
        parse_framing(text)


# --- properties -------------------------------------------------------------------------------

_PREFIXES = [
    "",
    "tcp:",
    "udp:",
    "tcp://",
    "serial:",
    "serial:/dev/x:",
    "serial:COM1:9600:",
    "socket://",
    "rfc2217://",
    "loop://",
    "spy://",
    "tcp:[",
    "serial:loop://:",
]
_garbage = st.one_of(
    st.text(),
    st.tuples(st.sampled_from(_PREFIXES), st.text()).map("".join),
    st.tuples(
        st.sampled_from(_PREFIXES), st.text(alphabet=":/[]0123456789abcNE.%?", max_size=30)
    ).map("".join),
)


@given(_garbage)
def test_garbage_raises_only_link_url_error(text: str) -> None:
    try:
        url = parse_url(text)
    except LinkURLError:
        return
    except FieldlinkError as exc:  # pragma: no cover - would be a bug
        pytest.fail(f"wrong error type {type(exc).__name__} for {text!r}")
    # whatever was accepted must survive its own canonical form
    assert parse_url(str(url)) == url


_hosts = st.one_of(
    st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
)
_ports = st.integers(1, 65535)


@given(st.sampled_from(["tcp", "udp"]), _hosts, _ports)
def test_network_urls_round_trip(scheme: str, host: str, port: int) -> None:
    shown = f"[{host}]" if ":" in host else host
    url = parse_url(f"{scheme}:{shown}:{port}")
    assert url.scheme == scheme and url.port == port
    if ":" in host:
        assert ipaddress.IPv6Address(url.host or "") == ipaddress.IPv6Address(host)
    else:
        assert url.host == host
    assert parse_url(str(url)) == url


@given(
    st.from_regex(r"/dev/[A-Za-z0-9_/:.-]{1,30}", fullmatch=True),
    st.integers(50, 12_000_000),
    st.sampled_from([5, 6, 7, 8]),
    st.sampled_from("NEOMS"),
    st.sampled_from([1.0, 1.5, 2.0]),
)
def test_serial_urls_round_trip(
    device: str, baud: int, bytesize: int, parity: str, stopbits: float
) -> None:
    stop = "1.5" if stopbits == 1.5 else str(int(stopbits))
    url = parse_url(f"serial:{device}:{baud}:{bytesize}{parity}{stop}")
    assert (url.device, url.baud, url.bytesize, url.parity, url.stopbits) == (
        device,
        baud,
        bytesize,
        parity,
        stopbits,
    )
    assert parse_url(str(url)) == url


def test_pyserial_schemes_match_pyserials_own_handlers() -> None:
    import pkgutil

    import serial.urlhandler

    found = {
        m.name.removeprefix("protocol_")
        for m in pkgutil.iter_modules(serial.urlhandler.__path__)
        if m.name.startswith("protocol_")
    }
    assert found == PYSERIAL_SCHEMES


def test_endpoint_of_a_device_is_an_error() -> None:
    assert parse_url("tcp:h:7").endpoint() == ("h", 7)
    with pytest.raises(LinkURLError):
        LinkURL("serial", device="COM1", baud=9600).endpoint()
