"""Link URLs: one string names any byte stream fieldlink can open.

People already type PyCampbellCR1000-style URLs (``tcp:HOST:PORT``,
``serial:DEVICE:BAUD``) into scripts and config files, and pyserial users type
``socket://`` or ``rfc2217://``.  Accepting both, and turning every mistake into a
:class:`~fieldlink.errors.LinkURLError` that says what was expected, means a typo
fails at parse time with a helpful message instead of minutes later as a
mysterious timeout.  Parsing is pure (no name lookups, no device probing), so a
configuration file can be validated on a machine that has none of its devices.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal

from fieldlink.errors import LinkURLError

#: pyserial's own URL handlers (the ``serial.urlhandler.protocol_*`` modules of
#: pyserial 3.5).  A fixed list keeps parsing deterministic and independent of what
#: happens to be importable; these URLs are handed to ``serial.serial_for_url`` as is.
PYSERIAL_SCHEMES = frozenset({"socket", "rfc2217", "loop", "spy", "hwgrep", "alt", "cp2110"})

#: Parity letters pyserial understands: None, Even, Odd, Mark, Space.
PARITIES = frozenset("NEOMS")

_EXPECTED = {
    "tcp": "expected tcp:HOST:PORT, e.g. tcp:192.168.1.10:6785 or tcp:[::1]:6785",
    "udp": "expected udp:HOST:PORT, e.g. udp:192.168.1.10:6785",
    "serial": (
        "expected serial:DEVICE:BAUD[:FRAMING], e.g. serial:/dev/ttyUSB0:38400 "
        "or serial:COM1:9600:8N1"
    ),
}
_ANY = (
    "expected tcp:HOST:PORT, udp:HOST:PORT, serial:DEVICE:BAUD[:8N1], "
    "or a pyserial URL such as socket://HOST:PORT, rfc2217://HOST:PORT or loop://"
)

_FRAMING = re.compile(r"([5-8])([NEOMS])(1|1\.5|2)", re.IGNORECASE)
_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})")
_WINDOWS_COM = re.compile(r"/(COM[0-9]+)", re.IGNORECASE)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: Lowest and highest baud rates accepted: every termios rate from B50, up to the
#: 12 Mbaud of the fastest USB serial bridges.  Anything outside is a typo.
MIN_BAUD = 50
MAX_BAUD = 12_000_000

Kind = Literal["tcp", "udp", "serial"]


@dataclass(frozen=True, slots=True)
class LinkURL:
    """A parsed link URL.

    ``scheme`` is ``tcp``, ``udp``, ``serial`` or a pyserial scheme (``socket``,
    ``rfc2217``, ``loop`` ...).  For pyserial schemes ``device`` holds the URL to
    hand to ``serial.serial_for_url``; ``host``/``port`` are filled in too for
    ``socket://`` and ``rfc2217://`` so messages can name the address.  ``raw`` is
    the text as the user wrote it and takes no part in equality, so two spellings of
    the same link compare equal.
    """

    scheme: str
    host: str | None = None
    port: int | None = None
    device: str | None = None
    baud: int | None = None
    bytesize: int | None = None
    parity: str | None = None
    stopbits: float | None = None
    raw: str = field(default="", compare=False)

    @property
    def kind(self) -> Kind:
        """Which transport opens it: pyserial URLs are opened like serial ports."""
        if self.scheme == "tcp":
            return "tcp"
        if self.scheme == "udp":
            return "udp"
        return "serial"

    @property
    def address(self) -> str:
        """``HOST:PORT`` (IPv6 in brackets) for network links, else the device."""
        if self.host is not None and self.port is not None:
            return f"{_bracket(self.host)}:{self.port}"
        return self.device or self.scheme

    def endpoint(self) -> tuple[str, int]:
        """(host, port) of a network link; LinkURLError for a device."""
        if self.host is None or self.port is None:
            raise LinkURLError(f"{self} names a device, not a network host and port")
        return self.host, self.port

    @property
    def framing(self) -> str | None:
        """The framing as typed in URLs (``8N1``), or None when not a serial port."""
        if self.bytesize is None or self.parity is None or self.stopbits is None:
            return None
        return f"{self.bytesize}{self.parity}{_stopbits_text(self.stopbits)}"

    def __str__(self) -> str:
        if self.scheme in ("tcp", "udp"):
            return f"{self.scheme}:{self.address}"
        if self.scheme == "serial":
            text = f"serial:{self.device}:{self.baud}"
            framing = self.framing
            if framing is not None and framing != "8N1":
                text += f":{framing}"
            return text
        return self.device or f"{self.scheme}://"


def parse_url(text: str) -> LinkURL:
    """Parse a link URL, raising :class:`LinkURLError` with what was expected."""
    if not isinstance(text, str):
        raise LinkURLError(f"a link URL must be a string, not {type(text).__name__}; {_ANY}")
    stripped = text.strip()
    if not stripped:
        raise LinkURLError(f"empty link URL; {_ANY}")
    if _CONTROL.search(stripped):
        raise LinkURLError(f"link URL {text!r} contains control characters; {_ANY}")

    if "://" in stripped:
        scheme, _, rest = stripped.partition("://")
        if _SCHEME.fullmatch(scheme):
            scheme = scheme.lower()
            if scheme in ("tcp", "udp"):
                host, port = _host_port(rest, text, _EXPECTED[scheme])
                return LinkURL(scheme, host=host, port=port, raw=text)
            if scheme in PYSERIAL_SCHEMES:
                return _pyserial(scheme, rest, text)
            if scheme in _EXPECTED:
                raise LinkURLError(f"{scheme} links are not written with '//': {_EXPECTED[scheme]}")
            raise LinkURLError(f"unknown link scheme {scheme!r} in {text!r}; {_ANY}")

    scheme, colon, rest = stripped.partition(":")
    if not colon:
        raise LinkURLError(f"link URL {text!r} has no scheme; {_ANY}{_device_hint(stripped)}")
    lower = scheme.lower()
    if lower in ("tcp", "udp"):
        host, port = _host_port(rest, text, _EXPECTED[lower])
        return LinkURL(lower, host=host, port=port, raw=text)
    if lower == "serial":
        return _serial(rest, text)
    if lower in PYSERIAL_SCHEMES:
        raise LinkURLError(f"pyserial URLs are written {lower}://...; got {text!r}")
    raise LinkURLError(f"unknown link scheme {scheme!r} in {text!r}; {_ANY}")


def parse_framing(text: str) -> tuple[int, str, float]:
    """Parse a framing spec such as ``8N1``, ``7E1`` or ``8N2`` into (bytesize, parity, stopbits).

    Raises :class:`LinkURLError`: framing is only ever written inside a link URL or
    next to one (a CLI option), so it is the same kind of mistake.
    """
    return _framing(text, "")


def _framing(text: str, where: str) -> tuple[int, str, float]:
    match = _FRAMING.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise LinkURLError(
            f"bad serial framing {text!r}{where}: expected data bits 5-8, parity N/E/O/M/S and "
            "stop bits 1, 1.5 or 2, e.g. 8N1, 7E1 or 8N2"
        )
    bits, parity, stop = match.groups()
    return int(bits), parity.upper(), float(stop)


# --- pieces -----------------------------------------------------------------------------------


def _host_port(rest: str, raw: str, expected: str) -> tuple[str, int]:
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            raise LinkURLError(f"unclosed '[' in {raw!r}; {expected}")
        host = _ipv6(rest[1:close], raw, expected)
        after = rest[close + 1 :]
        if not after.startswith(":"):
            raise LinkURLError(f"missing port after {rest[: close + 1]} in {raw!r}; {expected}")
        port_text = after[1:]
    else:
        host, colon, port_text = rest.rpartition(":")
        if not colon:
            raise LinkURLError(f"missing port in {raw!r}; {expected}")
        if ":" in host:
            raise LinkURLError(
                f"write IPv6 addresses in brackets, as in [{host}]:PORT, in {raw!r}; {expected}"
            )
        if not host:
            raise LinkURLError(f"missing host in {raw!r}; {expected}")
        if not _HOSTNAME.fullmatch(host):
            raise LinkURLError(f"bad host name {host!r} in {raw!r}; {expected}")
        host = host.lower()
    return host, _port(port_text, raw, expected)


def _ipv6(text: str, raw: str, expected: str) -> str:
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        raise LinkURLError(f"bad IPv6 address [{text}] in {raw!r}; {expected}") from None


def _port(text: str, raw: str, expected: str) -> int:
    if not text:
        raise LinkURLError(f"missing port in {raw!r}; {expected}")
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise LinkURLError(f"bad port {text!r} in {raw!r} (a number from 1 to 65535); {expected}")
    return int(text)


def _serial(rest: str, raw: str) -> LinkURL:
    expected = _EXPECTED["serial"]
    parts = rest.split(":")
    bytesize, parity, stopbits = 8, "N", 1.0
    if len(parts) >= 3 and (_FRAMING.fullmatch(parts[-1]) or _looks_like_framing(parts)):
        bytesize, parity, stopbits = _framing(parts.pop(), f" in {raw!r}")
    if len(parts) < 2:
        raise LinkURLError(f"missing baud rate in {raw!r}; {expected}")
    baud_text = parts.pop()
    device = ":".join(parts)  # device paths such as /dev/serial/by-path/... contain ':'
    if not device:
        raise LinkURLError(f"missing serial device in {raw!r}; {expected}")
    if not (baud_text.isascii() and baud_text.isdigit()):
        raise LinkURLError(
            f"bad baud rate {baud_text!r} in {raw!r} (a whole number such as 9600); {expected}"
        )
    baud = int(baud_text)
    if not MIN_BAUD <= baud <= MAX_BAUD:
        raise LinkURLError(
            f"bad baud rate {baud} in {raw!r} (from {MIN_BAUD} to {MAX_BAUD}); {expected}"
        )
    com = _WINDOWS_COM.fullmatch(device)
    if com:  # PyCampbellCR1000 users write serial:/COM1:19200
        device = com.group(1)
    if "://" in device:
        inner = device.partition("://")[0].lower()
        if inner not in PYSERIAL_SCHEMES:
            raise LinkURLError(f"unknown pyserial scheme {inner!r} in {raw!r}; {expected}")
    return LinkURL(
        "serial",
        device=device,
        baud=baud,
        bytesize=bytesize,
        parity=parity,
        stopbits=stopbits,
        raw=raw,
    )


def _pyserial(scheme: str, rest: str, raw: str) -> LinkURL:
    device = f"{scheme}://{rest}"
    if scheme in ("socket", "rfc2217"):
        netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
        expected = f"expected {scheme}://HOST:PORT"
        if not netloc:
            raise LinkURLError(f"missing host and port in {raw!r}; {expected}")
        host, port = _host_port(netloc, raw, expected)
        return LinkURL(scheme, host=host, port=port, device=device, raw=raw)
    if scheme != "loop" and not rest:
        raise LinkURLError(f"{scheme}:// needs a port or pattern after it in {raw!r}")
    return LinkURL(scheme, device=device, raw=raw)


def _looks_like_framing(parts: list[str]) -> bool:
    """``DEVICE:9600:9N1`` is a mistyped framing, not a device named ``DEVICE:9600``."""
    last, before = parts[-1], parts[-2]
    return before.isascii() and before.isdigit() and not last.isdigit()


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _stopbits_text(stopbits: float) -> str:
    return "1.5" if stopbits == 1.5 else str(int(stopbits))


def _device_hint(text: str) -> str:
    if text.startswith("/dev/") or re.fullmatch(r"/?COM[0-9]+", text, re.IGNORECASE):
        return f" (for a serial port write serial:{text}:BAUD)"
    return ""
