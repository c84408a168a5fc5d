"""The stations file: which loggers to collect, how often, and where the data go.

A stations file is TOML (see ``example_stations.toml`` beside this module, printed by
``fieldlink collect --example``, for a commented
example).  It has an optional ``[defaults]`` table and one ``[[station]]`` table
per logger; a station inherits every key it does not set from ``[defaults]``
(the ``retry`` and ``clock`` tables key by key; ``sinks`` as a whole list).

Everything is checked here, before any link is opened, so a typo fails at once
with the file, line and key instead of hours later in the middle of the night;
every problem raises :class:`~fieldlink.errors.ConfigError`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from fieldlink.collect.durations import DURATION_HINT, format_duration, parse_duration
from fieldlink.collect.tomlpos import KeyLocator, KeyPath
from fieldlink.errors import ConfigError, LinkURLError
from fieldlink.kit.textfile import parse_toml
from fieldlink.link.url import parse_url
from fieldlink.pakbus.defaults import MAX_IN_FLIGHT
from fieldlink.store.timezones import parse_timezone

if TYPE_CHECKING:
    from fieldlink.pakbus.client import ClientOptions

SINK_KINDS = ("toa5", "csv", "sqlite", "postgresql", "mqtt")
#: Sinks on a server, named by a DSN or URL instead of a path (each with its own keys).
NETWORK_SINK_KEYS = {
    "postgresql": frozenset({"dsn", "password_env", "password_file", "fleet", "lease"}),
    "mqtt": frozenset({"url", "prefix", "username", "password_env", "password_file",
                       "homeassistant", "client_id"}),
}  # fmt: skip
#: Reconnects without progress per cycle when a stations file does not say (``reconnects``).
DEFAULT_RECONNECTS = 3
#: Placeholders a sink path may contain.
PATH_FIELDS = ("station",)
_STATION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\- ]{0,63}")


@dataclass(frozen=True, slots=True)
class SinkSpec:
    """One place a station's records are written: a sink kind and its path.

    ``tables`` limits the sink to those logger tables; None means every table
    the station collects.
    """

    kind: str
    path: Path
    tables: frozenset[str] | None = None
    #: A network sink's settings (``dsn``, ``url``, ``password_env`` ...); see
    #: :data:`NETWORK_SINK_KEYS`.  Empty for file sinks.
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def covers(self, table: str) -> bool:
        return self.tables is None or table in self.tables

    @property
    def target(self) -> str:
        """Where the sink writes: its path, or its DSN/URL without any password."""
        if self.kind in NETWORK_SINK_KEYS:
            from fieldlink.store.secrets import redact

            return redact(str(self.options.get("dsn") or self.options.get("url") or ""))
        return str(self.path)

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """LoggerNet's two-level retry schedule after a failed collection.

    The first ``primary_retries`` retries come ``primary_interval`` apart; after
    that the station is retried every ``secondary_interval`` until a cycle
    succeeds, so a station that is down for days does not keep a modem busy.
    """

    primary_retries: int = 3
    primary_interval: float = 30.0
    secondary_interval: float = 3600.0

    def delay_after(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failed cycles (>= 1)."""
        if failures <= self.primary_retries:
            return self.primary_interval
        return self.secondary_interval


@dataclass(frozen=True, slots=True)
class ClockPolicy:
    """Compare the logger's clock with ours every cycle.

    A deviation beyond ``allowed_deviation`` seconds is reported, and corrected
    when ``set_clock`` is true (off by default: some sites keep the logger on a
    GPS clock and never want a PC to touch it).  A deviation beyond ``max_step``
    seconds (0: no limit) is never corrected, only reported: a clock hours off is
    far more often a wrong ``timezone`` than a wrong clock, and stepping it would
    put every later record at the wrong time.
    """

    allowed_deviation: float = 10.0
    set_clock: bool = False
    max_step: float = 300.0


@dataclass(frozen=True, slots=True)
class FirstCollection:
    """What to collect from a table the store has never seen: all, or the newest N."""

    newest: int | None = None

    def __str__(self) -> str:
        return "all" if self.newest is None else f"newest {self.newest}"


@dataclass(frozen=True, slots=True, repr=False)
class StationConfig:
    """Everything needed to collect one station; see the module docstring for the file.

    Its repr shows ``security_code=<hidden>``: a config may end up in a log or a
    traceback, and the code must not (issue 13).
    """

    name: str
    url: str
    node: int = 1
    address: int | None = None
    src: int = 4094
    #: Our physical address when it differs from ``src`` (rare).
    src_address: int | None = None
    security_code: int = 0
    timeout: float = 10.0
    #: A longer wait for the very first answer (cellular modems waking up).
    first_timeout: float | None = None
    interval: float = 3600.0
    #: Table names to collect; None means every table the logger's program defines.
    tables: tuple[str, ...] | None = None
    sinks: tuple[SinkSpec, ...] = ()
    first_collection: FirstCollection = field(default_factory=FirstCollection)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: None disables the clock check.
    clock: ClockPolicy | None = field(default_factory=ClockPolicy)
    timezone: dt.tzinfo = dt.UTC
    timezone_name: str = "UTC"
    #: Records per sink write: the most a cut link or a crash can cost in re-collection.
    batch_size: int = 250
    #: Reconnects within one cycle, after a cut link or a timeout, that may bring no new
    #: record before the cycle gives up (one that stores records resets the count).
    #: 0 ends the cycle at the first cut; a stations file defaults to
    #: :data:`DEFAULT_RECONNECTS`.
    reconnects: int = 0
    #: Collect Data requests in flight at once (1..16; PakBus only).  Above 1 is
    #: unverified on real loggers (not known to queue requests); the emulator does.
    window: int = 1
    #: What is at ``url``: "logger" (PakBus) or an instrument that is sampled every
    #: ``interval`` (see :mod:`fieldlink.collect.sampled`).
    kind: str = "logger"
    #: The instrument family's own settings (channels, protocol, unit ...), checked by it.
    options: Mapping[str, Any] = field(default_factory=dict)

    def sinks_for(self, table: str) -> tuple[SinkSpec, ...]:
        return tuple(s for s in self.sinks if s.covers(table))

    def client_options(self) -> ClientOptions:
        """How to reach the station's logger: the keywords of the PakBus client's ``from_url``,
        which the station's fields of the same names hold."""
        from fieldlink.pakbus.client import ClientOptions

        keys = ClientOptions.__optional_keys__
        return cast("ClientOptions", {key: getattr(self, key) for key in keys})

    def __repr__(self) -> str:
        shown = (
            f"{f.name}=<hidden>"
            if f.name == "security_code"
            else f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
        )
        return f"StationConfig({', '.join(shown)})"


@dataclass(frozen=True, slots=True)
class StationsFile:
    path: Path
    stations: tuple[StationConfig, ...]

    def station(self, name: str) -> StationConfig:
        for s in self.stations:
            if s.name == name:
                return s
        raise KeyError(name)


# --- loading ----------------------------------------------------------------------------------

DEFAULT_SINKS = ({"kind": "sqlite", "path": "fieldlink.sqlite"},)

#: The largest ``window``: the client's most requests in flight.
MAX_WINDOW = MAX_IN_FLIGHT

_STATION_KEYS = frozenset(
    {
        "name", "url", "node", "address", "src", "security_code", "timeout", "first_timeout",
        "interval",
        "tables", "sinks", "first_collection", "retry", "clock", "timezone", "batch_size",
        "kind", "options", "reconnects", "window",
    }
)  # fmt: skip
_ONLY_PER_STATION = frozenset({"name", "url", "kind", "options"})
_RETRY_KEYS = frozenset({"primary_retries", "primary_interval", "secondary_interval"})
_CLOCK_KEYS = frozenset({"allowed_deviation", "set", "max_step"})
_SINK_KEYS = frozenset({"kind", "path", "tables"})

T = TypeVar("T")


def load_stations(path: str | Path) -> StationsFile:
    """Read and check a stations file; relative sink paths are relative to its folder."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such stations file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
    return parse_stations(text, source=p, base_dir=p.parent)


def parse_stations(
    text: str, *, source: str | Path = "<stations>", base_dir: str | Path = "."
) -> StationsFile:
    """Parse stations TOML ``text``; ``source`` names it in error messages."""
    data = parse_toml(text, source)
    return _Loader(data, KeyLocator(text), str(source), Path(base_dir)).load()


class _Loader:
    def __init__(self, data: dict[str, Any], locator: KeyLocator, source: str, base: Path):
        self.data = data
        self.locator = locator
        self.source = source
        self.base = base

    def fail(self, path: KeyPath, message: str) -> ConfigError:
        line = self.locator.line(path)
        where = f"{self.source}, line {line}" if line is not None else self.source
        key = _dotted(path)
        return ConfigError(f"{where}, key {key}: {message}" if key else f"{where}: {message}")

    def load(self) -> StationsFile:
        self.check_keys(self.data, (), frozenset({"defaults", "station", "instrument"}))
        defaults = self.data.get("defaults", {})
        if not isinstance(defaults, dict):
            raise self.fail(("defaults",), "expected a table: [defaults]")
        for key in _ONLY_PER_STATION & defaults.keys():
            raise self.fail(("defaults", key), f"{key!r} belongs in each [[station]]")
        self.check_keys(defaults, ("defaults",), _STATION_KEYS)
        if "station" not in self.data and "instrument" not in self.data:
            raise self.fail((), "no stations: add at least one [[station]] table")
        loaded: list[StationConfig] = []
        seen: dict[str, str] = {}
        for section in ("station", "instrument"):
            entries = self.data.get(section, [])
            if not isinstance(entries, list) or not all(isinstance(s, dict) for s in entries):
                raise self.fail((section,), f"expected [[{section}]] tables")
            for index, raw in enumerate(entries):
                station = self.station(raw, index, defaults, section)
                if station.name in seen:
                    raise self.fail(
                        (section, index, "name"),
                        f"station name {station.name!r} is already used by {seen[station.name]}",
                    )
                seen[station.name] = f"{section} #{index + 1}"
                loaded.append(station)
        return StationsFile(Path(self.source), tuple(loaded))

    def check_keys(self, table: Mapping[str, Any], path: KeyPath, known: frozenset[str]) -> None:
        for key in table:
            if key not in known:
                raise self.fail(
                    (*path, key), f"unknown key {key!r}; expected one of {', '.join(sorted(known))}"
                )

    def station(
        self, raw: dict[str, Any], index: int, defaults: dict[str, Any], section: str = "station"
    ) -> StationConfig:
        """One ``[[station]]`` (or ``[[instrument]]``, the same keys: a logger by default)."""
        here: KeyPath = (section, index)
        self.check_keys(raw, here, _STATION_KEYS)

        def pick(key: str) -> tuple[Any, KeyPath] | None:
            if key in raw:
                return raw[key], (*here, key)
            if key in defaults:
                return defaults[key], ("defaults", key)
            return None

        def get(key: str, convert: Callable[[Any, KeyPath], T], default: T) -> T:
            found = pick(key)
            return default if found is None else convert(*found)

        name = self.required(raw, here, "name", self.station_name)
        url = self.required(raw, here, "url", self.url)
        tz_name = get("timezone", self.text, "UTC")
        tz_path = pick("timezone")
        kind = self.kind(raw.get("kind", "logger"), (*here, "kind"))
        clock = self.clock(raw.get("clock"), defaults.get("clock"), here)
        return StationConfig(
            name=name,
            url=url,
            node=get("node", self.integer(1, 4094), 1),
            address=get("address", self.integer(1, 4094), None),
            src=get("src", self.integer(1, 4094), 4094),
            security_code=get("security_code", self.integer(0, 65535, secret=True), 0),
            timeout=get("timeout", self.duration(positive=True), 10.0),
            first_timeout=get("first_timeout", self.duration(positive=True), None),
            interval=get("interval", self.duration(positive=True), 3600.0),
            tables=get("tables", self.tables, None),
            sinks=self.sinks(pick("sinks"), name),
            first_collection=get("first_collection", self.first_collection, FirstCollection()),
            retry=self.retry(raw.get("retry"), defaults.get("retry"), here),
            clock=clock if kind == "logger" else None,
            timezone=self.timezone(tz_name, tz_path[1] if tz_path else here),
            timezone_name=tz_name,
            batch_size=get("batch_size", self.integer(1, 100_000), 250),
            reconnects=get("reconnects", self.integer(0, 1000), DEFAULT_RECONNECTS),
            window=get("window", self.integer(1, MAX_WINDOW), 1),
            kind=kind,
            options=self.options(raw.get("options", {}), (*here, "options")),
        )

    def required(
        self, raw: dict[str, Any], here: KeyPath, key: str, convert: Callable[[Any, KeyPath], T]
    ) -> T:
        if key not in raw:
            raise self.fail(here, f"this station has no {key!r}; every [[station]] needs one")
        return convert(raw[key], (*here, key))

    # --- value converters: (value, path) -> typed value, raising fail(path, ...) ---

    def text(self, value: Any, path: KeyPath) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"expected a non-empty string, got {value!r}")
        return value.strip()

    def kind(self, value: Any, path: KeyPath) -> str:
        from fieldlink.collect.sampled import SAMPLER_MODULES

        kinds = ("logger", *SAMPLER_MODULES)
        if value not in kinds:
            raise self.fail(path, f"kind must be one of {', '.join(kinds)}, not {value!r}")
        return str(value)

    def options(self, value: Any, path: KeyPath) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a table of the instrument's options, got {value!r}")
        return dict(value)

    def station_name(self, value: Any, path: KeyPath) -> str:
        name = self.text(value, path)
        if not _STATION_NAME.fullmatch(name):
            raise self.fail(
                path,
                f"station name {name!r} must start with a letter or digit and use only "
                "letters, digits, spaces, '_', '.' and '-' (at most 64 characters): "
                "it names files and database rows",
            )
        return name

    def url(self, value: Any, path: KeyPath) -> str:
        text = self.text(value, path)
        try:
            parse_url(text)
        except LinkURLError as exc:
            raise self.fail(path, str(exc)) from None
        return text

    def integer(
        self, low: int, high: int, *, secret: bool = False
    ) -> Callable[[Any, KeyPath], int]:
        """An integer in range; a ``secret`` one (a security code) is never repeated."""

        def convert(value: Any, path: KeyPath) -> int:
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                got = "a value not shown here" if secret else repr(value)
                raise self.fail(path, f"expected an integer from {low} to {high}, got {got}")
            return value

        return convert

    def duration(self, *, positive: bool = False) -> Callable[[Any, KeyPath], float]:
        def convert(value: Any, path: KeyPath) -> float:
            try:
                seconds = parse_duration(value)
            except ValueError as exc:
                raise self.fail(path, str(exc)) from None
            if positive and seconds <= 0:
                raise self.fail(path, f"expected {DURATION_HINT} greater than zero, got {value!r}")
            return seconds

        return convert

    def boolean(self, value: Any, path: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {value!r}")
        return value

    def names(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(path, f"expected a non-empty list of table names, got {value!r}")
        out: list[str] = []
        for i, item in enumerate(value):
            name = self.text(item, (*path, i))
            if name in out:
                raise self.fail(path, f"table {name!r} is listed twice")
            out.append(name)
        return tuple(out)

    def tables(self, value: Any, path: KeyPath) -> tuple[str, ...] | None:
        if value == "all":
            return None
        if isinstance(value, str):
            raise self.fail(path, f'expected "all" or a list of table names, got {value!r}')
        return self.names(value, path)

    def first_collection(self, value: Any, path: KeyPath) -> FirstCollection:
        if value == "all":
            return FirstCollection()
        if isinstance(value, str):
            m = re.fullmatch(r"\s*newest\s+(\d+)\s*", value)
            if m and int(m.group(1)) > 0:
                return FirstCollection(newest=int(m.group(1)))
        raise self.fail(path, f'expected "all" or "newest N" (N >= 1), got {value!r}')

    def timezone(self, value: str, path: KeyPath) -> dt.tzinfo:
        try:
            return parse_timezone(value)
        except ConfigError as exc:
            raise self.fail(path, str(exc)) from None

    def sinks(self, found: tuple[Any, KeyPath] | None, station: str) -> tuple[SinkSpec, ...]:
        if found is None:
            value: Any = list(DEFAULT_SINKS)
            path: KeyPath = ("defaults", "sinks")
        else:
            value, path = found
        if not isinstance(value, list) or not value:
            raise self.fail(path, "expected one or more sinks: [[station.sinks]] tables")
        specs = []
        for i, raw in enumerate(value):
            here = (*path, i)
            if not isinstance(raw, dict):
                raise self.fail(here, f"expected a table with kind and path, got {raw!r}")
            if "kind" not in raw:
                raise self.fail(here, "a sink needs both 'kind' and 'path' (or 'dsn', 'url')")
            kind = self.text(raw["kind"], (*here, "kind")).lower()
            if kind not in SINK_KINDS:
                raise self.fail(
                    (*here, "kind"), f"unknown sink kind {kind!r}; expected one of "
                    f"{', '.join(SINK_KINDS)}"
                )  # fmt: skip
            if kind in NETWORK_SINK_KEYS:
                specs.append(self.network_sink(kind, raw, here))
                continue
            self.check_keys(raw, here, _SINK_KEYS)
            if "path" not in raw:
                raise self.fail(here, "a sink needs both 'kind' and 'path'")
            template = self.text(raw["path"], (*here, "path"))
            try:
                expanded = template.format(station=station)
            except (KeyError, IndexError, ValueError) as exc:
                raise self.fail(
                    (*here, "path"),
                    f"bad placeholder in {template!r} ({exc}); only "
                    f"{', '.join('{' + f + '}' for f in PATH_FIELDS)} may be used",
                ) from None
            tables = raw.get("tables")
            selected = None if tables is None else frozenset(self.names(tables, (*here, "tables")))
            specs.append(SinkSpec(kind, self.base / Path(expanded).expanduser(), selected))
        return tuple(specs)

    def network_sink(self, kind: str, raw: dict[str, Any], here: KeyPath) -> SinkSpec:
        """A ``postgresql`` (``dsn``) or ``mqtt`` (``url``) sink, its password kept out."""
        from fieldlink.store.secrets import check_no_clear_password

        self.check_keys(raw, here, NETWORK_SINK_KEYS[kind] | {"kind", "tables"})
        where = "dsn" if kind == "postgresql" else "url"
        if where not in raw:
            raise self.fail(here, f"a {kind} sink needs {where!r}")
        options: dict[str, Any] = {}
        for key, value in raw.items():
            if key in ("kind", "tables"):
                continue
            if key in ("fleet", "homeassistant"):
                options[key] = self.boolean(value, (*here, key))
            elif key == "lease":
                options[key] = self.duration(positive=True)(value, (*here, key))
            else:
                options[key] = self.text(value, (*here, key))
        if "password_env" in options and "password_file" in options:
            raise self.fail(here, "set password_env or password_file, not both")
        if "password_file" in options:
            options["password_file"] = str(self.base / Path(options["password_file"]).expanduser())
        try:
            check_no_clear_password(options[where], f"the {kind} {where}")
        except ConfigError as exc:
            raise self.fail((*here, where), str(exc)) from None
        if kind == "mqtt" and not str(options["url"]).startswith(("mqtt://", "mqtts://")):
            raise self.fail((*here, "url"), "expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        tables = raw.get("tables")
        selected = None if tables is None else frozenset(self.names(tables, (*here, "tables")))
        return SinkSpec(kind, Path(), selected, options)

    def subtable(
        self, raw: Any, defaults: Any, here: KeyPath, key: str, known: frozenset[str]
    ) -> tuple[dict[str, tuple[Any, KeyPath]], bool]:
        """Merge a station's sub-table over the defaults' one, key by key.

        Returns the merged values with their paths, and whether the sub-table was
        set to ``false`` (only the clock check may be switched off that way).
        """
        merged: dict[str, tuple[Any, KeyPath]] = {}
        disabled = False
        for table, path in ((defaults, ("defaults", key)), (raw, (*here, key))):
            if table is None:
                continue
            if table is False:
                disabled, merged = True, {}
                continue
            if not isinstance(table, dict):
                raise self.fail(path, f"expected a [{key}] table, got {table!r}")
            self.check_keys(table, path, known)
            disabled = False
            merged.update({k: (v, (*path, k)) for k, v in table.items()})
        return merged, disabled

    def retry(self, raw: Any, defaults: Any, here: KeyPath) -> RetryPolicy:
        merged, disabled = self.subtable(raw, defaults, here, "retry", _RETRY_KEYS)
        if disabled:
            raise self.fail((*here, "retry"), "retry cannot be false; set primary_retries = 0")
        base = RetryPolicy()
        return RetryPolicy(
            primary_retries=self.merged(merged, "primary_retries", self.integer(0, 1000),
                                        base.primary_retries),
            primary_interval=self.merged(merged, "primary_interval", self.duration(positive=True),
                                         base.primary_interval),
            secondary_interval=self.merged(merged, "secondary_interval",
                                           self.duration(positive=True), base.secondary_interval),
        )  # fmt: skip

    def clock(self, raw: Any, defaults: Any, here: KeyPath) -> ClockPolicy | None:
        merged, disabled = self.subtable(raw, defaults, here, "clock", _CLOCK_KEYS)
        if disabled:
            return None
        base = ClockPolicy()
        return ClockPolicy(
            allowed_deviation=self.merged(merged, "allowed_deviation", self.duration(),
                                          base.allowed_deviation),
            set_clock=self.merged(merged, "set", self.boolean, base.set_clock),
            max_step=self.merged(merged, "max_step", self.duration(), base.max_step),
        )  # fmt: skip

    @staticmethod
    def merged(
        merged: dict[str, tuple[Any, KeyPath]],
        key: str,
        convert: Callable[[Any, KeyPath], T],
        default: T,
    ) -> T:
        found = merged.get(key)
        return default if found is None else convert(*found)


def _dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += f".{part}" if out else part
    return out


def describe(station: StationConfig) -> str:
    """One line about a station: link, schedule, tables and sinks, for the collector's log."""
    sinks = ", ".join(
        str(s) if s.tables is None else f"{s} ({', '.join(sorted(s.tables))})"
        for s in station.sinks
    )
    where = f"node {station.node}" if station.kind == "logger" else f"({station.kind})"
    return (
        f"{station.name}: {station.url} {where}, every "
        f"{format_duration(station.interval)}, tables "
        f"{'all' if station.tables is None else ', '.join(station.tables)} -> {sinks}"
    )
