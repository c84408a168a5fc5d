"""``fieldlink logger COMMAND URL ...``: a Campbell datalogger from the shell.

The commands, positional arguments and options are PyCampbellCR1000's
(``gettime``, ``settime``, ``getprogstat``, ``getsettings``, ``listfiles``,
``getfile``, ``listtables``, ``getdata``, ``update``; ``--timeout``, ``--src``,
``--dest``, ``--code``, ``--debug``, ``--start``, ``--stop``, ``--delim``, dates
written ``"YYYY-MM-DD HH:MM"``) so its users feel at home, plus ``--src_addr`` and
``--dest_addr`` for a logger behind a router and the commands it never had.  Two
deliberate differences: the default source address is 4094 (LoggerNet's, never
filtered by a logger) instead of 2050, and informational lines go to stderr so
that stdout carries only data.

Every command is a thin shell over :class:`~fieldlink.pakbus.client.Datalogger`;
errors are raised as :class:`~fieldlink.errors.FieldlinkError` and printed as one
line by the root command (status 2 for usage errors, 1 for device and link errors).
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from fieldlink.errors import FieldlinkError, NotFound, UsageError
from fieldlink.kit.commands import frame_log, mount_family
from fieldlink.pakbus.defaults import DEFAULT_SRC, MAX_IN_FLIGHT
from fieldlink.pakbus.progress import MODES, RecordProgress, choose_mode, record_progress

if TYPE_CHECKING:
    from fieldlink.kit.converse import Stream
    from fieldlink.pakbus.client import ClientOptions, Datalogger
    from fieldlink.pakbus.protocol.model import Record, TableDef
    from fieldlink.store.base import StationInfo

# ``fieldlink logger COMMAND --help`` must not load the client, the codec or the stores
# (a fifth of a second): the commands import them when they run.

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: Date formats accepted by ``--start``, ``--stop`` and ``settime``: PyCampbellCR1000's
#: first, then with seconds, ISO ``T`` forms and a bare date.
DATE_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d",
)


def parse_datetime(text: str, option: str, zone: dt.tzinfo | None = None) -> dt.datetime:
    """A logger-local date and time as typed on the command line.

    ``now`` is this computer's time in ``zone`` (the zone the logger keeps; None: this
    computer's own zone).  A date written with a UTC offset (``2024-05-01T06:00Z``,
    ``...+02:00``) is converted to ``zone``, which must then be given.
    """
    value = text.strip()
    if value.lower() == "now":
        if zone is None:
            return dt.datetime.now().replace(microsecond=0)
        return dt.datetime.now(zone).replace(tzinfo=None, microsecond=0)
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
    with suppress(ValueError):
        aware = dt.datetime.fromisoformat(value.replace("z", "Z"))
        if aware.tzinfo is not None:
            if zone is None:
                raise UsageError(
                    f"{option} {text!r} carries a UTC offset: say which zone the logger "
                    'keeps with --timezone (e.g. "UTC-7"), or write its local time'
                )
            return aware.astimezone(zone).replace(tzinfo=None)
    example = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    raise UsageError(f'{option}: cannot read the date {text!r}; write it like "{example}"')


def _zone(name: str | None) -> dt.tzinfo | None:
    """``--timezone``: the zone the logger clock keeps (None: this computer's)."""
    if name is None:
        return None
    from fieldlink.errors import ConfigError
    from fieldlink.store.timezones import parse_timezone

    try:
        return parse_timezone(name)
    except ConfigError as exc:
        raise UsageError(f"--timezone: {exc}") from None


def timezone_option(command: F) -> F:
    """``--timezone ZONE``, as in the stations file; passed as ``timezone``."""
    return click.option(
        "--timezone",
        "timezone",
        default=None,
        metavar="ZONE",
        help='Zone the logger clock keeps ("UTC", "UTC-7", "Europe/Paris") [this computer\'s].',
    )(command)


#: The logger ``--debug`` shows: every PakBus frame in hex.
FRAME_LOGGER = "fieldlink.pakbus.frames"


# --- connection options -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkOptions:
    """How to reach the logger, from the options every command takes.

    The connection options are declared under the client's own keywords (``--dest``
    is ``node``, ``--code`` ``security_code`` ...), so ``client`` passes straight to
    :meth:`Datalogger.from_url` and to ``update``'s station.
    """

    url: str
    client: ClientOptions
    debug: bool


_ADDRESS = click.IntRange(1, 4094)


def _address_option(name: str, keyword: str, help: str) -> Callable[[F], F]:
    """``--NAME`` as PyCampbellCR1000 spelt it (``--src_addr``) and with a dash."""
    return click.option(
        f"--{name}", f"--{name.replace('_', '-')}", keyword, default=None, type=_ADDRESS, help=help
    )


def link_options(command: F) -> F:
    """Add URL and PyCampbellCR1000's connection options; pass them as ``link``."""

    @click.option(
        "--timeout",
        default=10.0,
        show_default=True,
        type=click.FloatRange(min=0.1),
        help="Seconds to wait for each answer.",
    )
    @click.option(
        "--first-timeout",
        type=click.FloatRange(min=0.1),
        default=None,
        help="Longer wait for the very first answer (cellular modems).",
    )
    @click.option(
        "--src",
        default=DEFAULT_SRC,
        show_default=True,
        type=_ADDRESS,
        help="Our PakBus node ID.  PyCampbellCR1000 used 2050; 4094 is LoggerNet's, "
        "which loggers never filter (give --src 2050 where a logger expects it).",
    )
    @click.option(
        "--dest",
        "node",
        default=1,
        show_default=True,
        type=_ADDRESS,
        help="The logger's PakBus node ID.",
    )
    @_address_option("src_addr", "src_address", "Our physical address, if not --src.")
    @_address_option(
        "dest_addr",
        "address",
        "Physical address of the next hop (a router in front of the logger).",
    )
    @click.option(
        "--code",
        "security_code",
        default=0,
        show_default=True,
        type=click.IntRange(0, 65535),
        help="The logger's security code.",
    )
    @click.option("--debug", is_flag=True, help="Log every PakBus frame in hex on stderr.")
    @click.argument("url")
    @functools.wraps(command)
    def wrapper(url: str, debug: bool, **kwargs: Any) -> Any:
        from fieldlink.pakbus.client import ClientOptions

        client = {keyword: kwargs.pop(keyword) for keyword in ClientOptions.__optional_keys__}
        link = LinkOptions(url, cast("ClientOptions", client), debug)
        return command(link=link, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def connect(link: LinkOptions) -> Iterator[Datalogger]:
    """The logger named by the options, closed (with a goodbye) at the end."""
    from fieldlink.pakbus.client import Datalogger

    with (
        frame_log(FRAME_LOGGER, link.debug),
        Datalogger.from_url(link.url, **link.client) as logger,
    ):
        yield logger


def _ask(link: LinkOptions, question: Callable[[Datalogger], T]) -> T:
    """One question to the logger, on a connection of its own."""
    with connect(link) as logger:
        return question(logger)


def _info(text: str) -> None:
    click.echo(text, err=True)


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def _byte_progress(label: str) -> Iterator[Callable[[int, int | None], None]]:
    """A rich progress bar on stderr when it is a terminal; silence in a pipe."""
    if not _stderr_is_terminal():
        yield lambda done, total: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def delim_option(command: F) -> F:
    """``--delim CHAR`` (PyCampbellCR1000's), the CSV delimiter; passed as ``delim``."""
    return click.option(
        "--delim", default=",", show_default=True, metavar="CHAR", help="CSV delimiter."
    )(command)


def progress_option(command: F) -> F:
    """``--progress auto|bar|plain|none``; passed as ``progress``."""
    return click.option(
        "--progress",
        type=click.Choice(MODES, case_sensitive=False),
        default="auto",
        show_default=True,
        help="A bar on a terminal, PyCampbellCR1000's lines (Packet N with M records) "
        "elsewhere; or say which.",
    )(command)


def window_option(command: F) -> F:
    """``--window N``: Collect Data requests in flight at once; passed as ``window``."""
    return click.option(
        "--window",
        type=click.IntRange(1, MAX_IN_FLIGHT),
        default=1,
        show_default=True,
        help="Collect Data requests in flight at once: more pays a slow link's round trip "
        "once per N answers.  Above 1 is UNVERIFIED on real loggers (not known to queue "
        "requests); the emulator does.",
    )(command)


def collect_packets(logger: Datalogger, table: TableDef, **query: Any) -> Iterator[list[Record]]:
    """``logger.collect`` one logger answer at a time (for "Packet N with M records")."""
    from fieldlink.kit import drive
    from fieldlink.pakbus import operations as ops

    operation = ops.collect(logger.catalog, table, security_code=logger.security_code, **query)
    return drive.stream(logger.link, logger.session, per_answer(operation))


def per_answer(operation: Stream) -> Stream:
    """The same conversation, each answer's records emitted as one list."""
    from fieldlink.kit.converse import Emit

    sent: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            step = operation.send(sent) if thrown is None else operation.throw(thrown)
        except StopIteration:
            return
        sent, thrown = None, None
        try:
            if isinstance(step, Emit):
                if step.items:
                    yield Emit((list(step.items),))
            else:
                sent = yield step
        except GeneratorExit:
            operation.close()
            raise
        except BaseException as exc:  # the driver's error, for the conversation to handle
            thrown = exc


# --- the group --------------------------------------------------------------------------------


@click.group(name="logger")
def logger_group() -> None:
    """Campbell Scientific PakBus dataloggers (CR1000, CR800, CR3000, CR6 ...).

    \b
    URL is tcp:HOST:PORT (PakBus/TCP is port 6785), udp:HOST:PORT,
    serial:DEVICE:BAUD[:8N1] (serial:/COM1:19200:8N1 on Windows), or a
    pyserial URL (socket://, rfc2217://, loop://).  Dates are logger-local,
    written "YYYY-MM-DD HH:MM" (seconds optional).
    """


def _command(name: str | None = None) -> Callable[[Callable[..., Any]], click.Command]:
    """A ``fieldlink logger`` command: each takes URL and the connection options first."""

    def decorate(command: Callable[..., Any]) -> click.Command:
        return logger_group.command(name=name)(link_options(command))

    return decorate


# --- clock ------------------------------------------------------------------------------------


@_command()
def gettime(link: LinkOptions) -> None:
    """Print the current date and time of the logger."""
    click.echo(_ask(link, lambda logger: logger.gettime()))


@_command()
@click.argument("datetime")
@timezone_option
def settime(link: LinkOptions, datetime: str, timezone: str | None) -> None:
    """Set the logger clock to DATETIME ("YYYY-MM-DD HH:MM[:SS]" or "now").

    A date is the logger's local time.  "now" is this computer's time in the zone
    the logger keeps: give --timezone when that is not this computer's zone.
    """
    from fieldlink.pakbus.operations.clock import looks_like_zone_mistake, offset_text

    when = parse_datetime(datetime, "DATETIME", _zone(timezone))
    with connect(link) as logger:
        old = logger.gettime()
        new = logger.settime(when)
    click.echo(f"Old Time : {old:%Y-%m-%d %H:%M:%S}")
    click.echo(f"Current Time : {new:%Y-%m-%d %H:%M:%S}")
    moved = (new - old).total_seconds()
    if datetime.strip().lower() == "now" and looks_like_zone_mistake(moved):
        _info(
            f"the clock moved by {offset_text(moved)}: if the logger keeps another zone "
            "than this computer, set it again with --timezone"
        )


@_command(name="sync-clock")
@click.option(
    "--samples",
    default=5,
    show_default=True,
    type=click.IntRange(1, 100),
    help="Clock readings to take.",
)
@click.option(
    "--threshold",
    default=0.5,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds of offset tolerated without a step.",
)
@click.option(
    "--max-step",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Largest step in seconds (0: no limit).",
)
@timezone_option
@click.option("--utc", is_flag=True, help="The logger keeps UTC (same as --timezone UTC).")
def sync_clock(
    link: LinkOptions,
    samples: int,
    threshold: float,
    max_step: float,
    timezone: str | None,
    utc: bool,
) -> None:
    """Bring the logger clock to this computer's time, if it is off by more than --threshold.

    A step is at most --max-step: if the clock is still off after it (hours off
    usually means the logger keeps another zone: see --timezone), the command
    says so and exits with status 1.
    """
    from fieldlink.pakbus.operations.clock import offset_text, too_far_to_step

    if utc and timezone is not None:
        raise UsageError("give --utc or --timezone, not both")
    zone = dt.UTC if utc else _zone(timezone)
    result = _ask(
        link,
        lambda logger: logger.sync_clock(
            samples=samples, threshold=threshold, max_step=max_step or None, tz=zone
        ),
    )
    click.echo(f"offset      {result.offset:+.3f} s (logger minus computer)")
    click.echo(f"round trip  {result.round_trip * 1000:.1f} ms ({result.samples} samples kept)")
    if result.adjusted:
        click.echo(f"stepped     {result.step:+.3f} s; now {result.residual:+.3f} s")
    else:
        click.echo(f"not stepped (within {threshold:g} s)")
    if result.adjusted and max_step and abs(result.residual) > max(threshold, 1.0):
        shown = "UTC" if utc else timezone or "this computer's zone"
        why = too_far_to_step(result.offset, max_step, zone=shown)
        raise FieldlinkError(
            f"{why}; stepped by {offset_text(result.step)} only, still "
            f"{offset_text(result.residual)} off (rerun to step again, or --max-step 0 "
            "for one full step)"
        )


# --- status, settings -------------------------------------------------------------------------


@_command()
def ping(link: LinkOptions) -> None:
    """Check the logger answers and print the round-trip time."""
    rtt = _ask(link, lambda logger: logger.ping())
    click.echo(f"PakBus node {link.client['node']} answered in {rtt * 1000:.1f} ms")


@_command()
def getprogstat(link: LinkOptions) -> None:
    """Print the programming statistics (OS, program, compile result)."""
    stats = _ask(link, lambda logger: logger.program_stats())
    for key, value in stats.as_dict().items():
        click.echo(f"{key} : {'' if value is None else value}")


@_command()
@click.option(
    "--output",
    default="-",
    show_default=True,
    metavar="FILE",
    help="File to write the settings to (- for stdout).",
)
@delim_option
@click.option(
    "--raw",
    is_flag=True,
    help="Without names, each value as its bytes show it (text, number or hex).",
)
def getsettings(link: LinkOptions, output: str, delim: str, raw: bool) -> None:
    """Print the DevConfig settings as CSV: id, name, value, read-only.

    Names and decoded values (serial number, security levels, auto-baud) are the
    ones the protocol reference gives for a CR1000; other settings and other loggers
    show their id and the value as its bytes read.
    """
    import csv
    import io

    from fieldlink.pakbus.output import atomic_output, check_delimiter

    delimiter = check_delimiter(delim)
    with atomic_output(output) as sink:
        settings = _ask(link, lambda logger: logger.settings())
        text = io.StringIO()
        writer = csv.writer(text, delimiter=delimiter, lineterminator="\n")
        if raw:
            writer.writerow(["SettingId", "SettingValue", "ReadOnly"])
            for s in settings:
                writer.writerow([s.id, s.display(), int(s.read_only)])
        else:
            writer.writerow(["SettingId", "Name", "SettingValue", "ReadOnly"])
            for s in settings:
                writer.writerow([s.id, settings.name(s.id), settings.decoded(s), int(s.read_only)])
        sink.write(text.getvalue().encode("utf-8"))


@_command()
@click.argument("setting_id", metavar="ID", type=click.IntRange(0, 65535))
@click.argument("value")
@click.option("--hex", "as_hex", is_flag=True, help="VALUE is raw bytes in hex.")
def setsetting(link: LinkOptions, setting_id: int, value: str, as_hex: bool) -> None:
    """Change DevConfig setting ID to VALUE and commit (the logger may restart).

    VALUE is encoded like the setting's current value: text stays text, a number
    takes the current width.  --hex gives the bytes directly.
    """
    if as_hex:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise UsageError(f"VALUE {value!r} is not hex bytes (e.g. 00 01 or 0001)") from None
    with connect(link) as logger:
        if not as_hex:
            current = logger.settings().get(setting_id)
            if current is None:
                raise NotFound(f"the logger has no setting {setting_id}")
            raw = _setting_bytes(setting_id, value, current.value, current.text is not None)
        logger.set_setting(setting_id, raw)
    _info(f"setting {setting_id} changed and committed")


def _setting_bytes(setting_id: int, value: str, current: bytes, is_text: bool) -> bytes:
    """VALUE encoded like the setting's current value; an error names the setting."""
    try:
        return _encode_like(setting_id, value, current, is_text)
    except UsageError as exc:
        text = str(exc)
        if text.startswith(f"setting {setting_id} "):
            raise
        raise UsageError(f"setting {setting_id}: {text}") from None


def _encode_like(setting_id: int, value: str, current: bytes, is_text: bool) -> bytes:
    from fieldlink.pakbus.operations import encode_setting

    if is_text or not current:
        return encode_setting(value, current)
    try:
        number: int | float = int(value, 0)
    except ValueError:
        try:
            number = float(value)
        except ValueError:
            raise UsageError(
                f"setting {setting_id} holds a {len(current)}-byte number; {value!r} is not one"
            ) from None
    return encode_setting(number, current)


# --- files ------------------------------------------------------------------------------------


@_command()
@click.option("-l", "--long", "long_", is_flag=True, help="Show size, date and attributes.")
def listfiles(link: LinkOptions, long_: bool) -> None:
    """List the files (and drives) on the logger."""
    from fieldlink.pakbus.protocol.directory import ATTRIBUTE_NAMES

    entries = _ask(link, lambda logger: logger.list_files())
    for e in entries:
        if not long_:
            click.echo(e.name)
            continue
        attrs = ", ".join(ATTRIBUTE_NAMES.get(a, str(a)) for a in e.attributes)
        size = f"{e.free_space:.0f} free" if e.free_space is not None else str(e.size)
        click.echo(f"{e.name:<32} {size:>12}  {e.last_update:<19}  {attrs}".rstrip())


def _byte_size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """``1000``, ``64K``, ``16M``, ``2G`` -> bytes (powers of 1024), positive."""
    if value is None:
        return None
    text = value.strip().upper()
    scale = 1024 ** (" KMG".index(text[-1])) if text and text[-1] in "KMG" else 1
    digits = text[:-1] if scale > 1 else text
    if not digits.isascii() or not digits.isdigit() or int(digits) == 0:
        raise click.BadParameter(f"{value!r} is not a size such as 1000, 64K, 16M or 2G")
    return int(digits) * scale


@_command()
@click.argument("filename")
@click.argument("output")
@click.option(
    "--max-size",
    callback=_byte_size,
    metavar="SIZE",
    help="Stop with an error past this many bytes (e.g. 64M) [256M].",
)
def getfile(link: LinkOptions, filename: str, output: str, max_size: int | None) -> None:
    """Download FILENAME from the logger to OUTPUT (a file, or - for stdout).

    The file appears under its name only once complete; an interrupted download
    leaves nothing behind.
    """
    from fieldlink.pakbus.output import atomic_output

    with atomic_output(output) as sink:
        with connect(link) as logger, _byte_progress(filename) as progress:
            data = logger.get_file(filename, progress=progress, max_size=max_size)
        sink.write(data)
    if output != "-":
        _info(f"{filename}: {len(data)} bytes written to {output}")


@_command()
@click.argument("local", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("name")
def putfile(link: LinkOptions, local: Path, name: str) -> None:
    """Upload the file LOCAL to the logger as NAME, like CPU:data.txt or USR:notes.txt."""
    data = local.read_bytes()
    with connect(link) as logger, _byte_progress(name) as progress:
        logger.put_file(name, data, progress=progress)
    _info(f"{name}: {len(data)} bytes sent")


@_command(name="filecontrol")
@click.argument("name")
@click.argument("command")
def filecontrol(link: LinkOptions, name: str, command: str) -> None:
    """Run a file command on NAME: run, stop, delete, format, pause, resume, or a number."""
    from fieldlink.pakbus.operations import file_command

    file_command(command)
    hold_off = _ask(link, lambda logger: logger.file_control(name, command))
    _info(f"{name}: done" + (f" (logger busy for {hold_off} s)" if hold_off else ""))


@_command(name="send-program")
@click.argument(
    "program", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--name", default=None, help="Name on the logger [CPU:<file name>].")
@click.option("--no-run", is_flag=True, help="Only send it; do not compile and run it.")
@click.option("--no-power-up", is_flag=True, help="Do not make it the run-on-power-up program.")
def send_program(
    link: LinkOptions, program: Path, name: str | None, no_run: bool, no_power_up: bool
) -> None:
    """Send a CRBasic program, then compile and run it (deletes the old program's data)."""
    from fieldlink.pakbus.operations import device_path

    target = device_path(name or program.name)
    data = program.read_bytes()
    with connect(link) as logger, _byte_progress(target) as progress:
        stats = logger.send_program(
            target, data, run=not no_run, power_up=not no_power_up, progress=progress
        )
        tables = logger.list_tables() if not no_run else []
    if no_run:
        _info(f"{target}: {len(data)} bytes sent")
        return
    click.echo(f"{stats.program_name}: {stats.compile_state_text}")
    if stats.compile_result.strip():
        click.echo(stats.compile_result.strip())
    click.echo(f"tables: {', '.join(tables)}")


# --- tables and data --------------------------------------------------------------------------


@_command()
def listtables(link: LinkOptions) -> None:
    """List the tables of the running program."""
    for name in _ask(link, lambda logger: logger.list_tables()):
        click.echo(name)


@_command()
@click.argument("table")
def tabledef(link: LinkOptions, table: str) -> None:
    """Show the definition of TABLE: its fields, types, units and processing."""
    from fieldlink.pakbus.protocol.types import DataType

    t = _ask(link, lambda logger: logger.table_def(table))
    interval = t.interval.seconds + t.interval.nanoseconds / 1e9
    click.echo(
        f"table {t.name} (number {t.number}, signature {t.signature}, "
        f"{t.size} record{'' if t.size == 1 else 's'}, "
        + (f"every {interval:g} s)" if interval else "event)")
    )
    for f in t.fields:
        try:
            type_name = DataType(f.type_code).name
        except ValueError:
            type_name = str(f.type_code)
        dims = "(" + ",".join(map(str, f.dimensions)) + ")" if f.dimensions else ""
        flags = "RO" if f.read_only else "RW"
        click.echo(
            f"  {f.name + dims:<24} {type_name:<8} {flags}  {f.units:<10} {f.processing}".rstrip()
        )


def _parse_fields(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--fields names no field")
    return names


def _station_info(logger: Datalogger, station: str | None) -> StationInfo:
    """The TOA5 header's station: as ``fieldlink collect`` writes it, named by --station,
    else by the logger (its programming statistics, else Status.StationName)."""
    from fieldlink.collect.source import describe_station

    stats = logger.program_stats()
    name = station or stats.station_name
    if not name:
        try:
            value = logger.get_value("Status", "StationName")
            name = value if isinstance(value, str) else ""
        except NotFound:
            name = ""
    return describe_station(name.strip() or "station", stats)


@_command()
@click.argument("table")
@click.argument("output")
@click.option(
    "--start",
    default=None,
    metavar="DATETIME",
    help='First time stamp wanted, like "2024-05-01 00:00".',
)
@click.option("--stop", default=None, metavar="DATETIME", help="Time stamp to stop before.")
@click.option(
    "--newest", type=click.IntRange(min=1), default=None, help="Only the N newest records."
)
@click.option(
    "--since-record", type=click.IntRange(min=0), default=None, help="Records numbered N and later."
)
@click.option("--fields", default=None, metavar="NAMES", help="Comma-separated field names [all].")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "toa5"], case_sensitive=False),
    default=None,
    help="Output format [by the OUTPUT suffix: .dat is TOA5, else CSV].",
)
@delim_option
@click.option("--station", default=None, metavar="NAME", help="Station name for the TOA5 header.")
@timezone_option
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option(
    "--append",
    is_flag=True,
    help="Add only the new records to OUTPUT, as the update command does.",
)
@progress_option
@window_option
def getdata(
    link: LinkOptions,
    table: str,
    output: str,
    start: str | None,
    stop: str | None,
    newest: int | None,
    since_record: int | None,
    fields: str | None,
    fmt: str | None,
    delim: str,
    station: str | None,
    timezone: str | None,
    force: bool,
    append: bool,
    progress: str,
    window: int,
) -> None:
    """Download the records of TABLE to OUTPUT (CSV or TOA5; - for stdout).

    By default the whole table; --start/--stop select a time range (start included,
    stop excluded), --newest or --since-record a range of records.  --start/--stop
    are the logger's local time; "now", and a time written with a UTC offset
    ("2024-05-01T06:00Z"), are converted to the --timezone the logger keeps.

    An existing OUTPUT is never replaced unless --force; --append adds the records
    it does not hold yet instead (exactly as "update").  OUTPUT's directory must exist.
    """
    if append:
        if force or output == "-":
            raise UsageError("--append adds to a file: it cannot be combined with --force or -")
        if start or stop or since_record is not None or fields:
            raise UsageError(
                "--append resumes after the file's last record: it cannot be combined with "
                "--start, --stop, --since-record or --fields"
            )
        tz = timezone or "UTC"
        job = _Update(table, output, delim, fmt, station, newest, tz, progress, window=window)
        _update(link, job)
        return
    zone = _zone(timezone)
    begin = parse_datetime(start, "--start", zone) if start else None
    end = parse_datetime(stop, "--stop", zone) if stop else None
    if begin is not None and end is not None and begin >= end:
        raise UsageError(f"--start {start} is not before --stop {stop}")
    if newest is not None and (begin or end or since_record is not None):
        raise UsageError("--newest cannot be combined with --start, --stop or --since-record")
    if since_record is not None and (begin or end):
        raise UsageError("--since-record cannot be combined with --start or --stop")
    from fieldlink.pakbus.operations import TableDefinitionChanged
    from fieldlink.pakbus.output import check_delimiter, check_target, output_format

    kind = output_format(output, fmt)
    delimiter = check_delimiter(delim)
    names = _parse_fields(fields)
    if output != "-":
        check_target(Path(output), replace=force)
    mode = choose_mode(progress, data_on_stdout=output == "-")
    query = _Query(begin, end, newest, since_record, window)
    with connect(link) as logger:
        tdef = logger.table_def(table)
        info = _station_info(logger, station) if kind == "toa5" else _plain_station(station)
        for attempt in (1, 2):
            try:
                count = _download(logger, tdef, info, output, kind, delimiter, names, query, mode)
                break
            except TableDefinitionChanged:
                if attempt == 2:
                    raise
                _info(f"the definition of {tdef.name} changed on the logger; starting again")
                tdef = logger.table_def(table)
    if output != "-":
        _info(f"{count} records of {tdef.name} written to {output}")


@dataclass(frozen=True, slots=True)
class _Query:
    """What getdata asks for: the keywords of ``collect`` (besides the fields)."""

    start: dt.datetime | None
    stop: dt.datetime | None
    newest: int | None
    since_record: int | None
    window: int = 1


def _plain_station(station: str | None) -> StationInfo:
    from fieldlink.store.base import StationInfo

    return StationInfo(name=station or "station")


def _newest_number(logger: Datalogger, tdef: TableDef) -> int | None:
    """The number of the logger's newest record of ``tdef`` (one small request)."""
    for record in logger.collect(tdef, newest=1):
        return record.number
    return None


def _expected(query: _Query, newest: int | None, first: int) -> int | None:
    """Records the download will bring, once its first record (``first``) is known."""
    if query.newest is not None:
        return query.newest
    if newest is None or query.stop is not None:
        return None  # a time window's end is not a record number
    return max(0, newest - first + 1)


def _download(
    logger: Datalogger,
    tdef: TableDef,
    info: StationInfo,
    output: str,
    kind: str,
    delimiter: str,
    names: list[str] | None,
    query: _Query,
    mode: str,
) -> int:
    from fieldlink.pakbus.operations import resolve_fields
    from fieldlink.pakbus.output import RecordWriter

    selected = tdef
    if names:
        numbers = resolve_fields(tdef, names)
        selected = replace(tdef, fields=tuple(tdef.fields[n - 1] for n in numbers))
    newest = _newest_number(logger, tdef) if mode == "bar" and tdef.size > 1 else None
    writer = RecordWriter(output, selected, info, fmt=kind, delimiter=delimiter)
    #: Records received and not yet handed to the writer (taken out before writing, so
    #: a failed write is never repeated).
    pending: list[Record] = []
    try:
        with record_progress(mode, tdef.name, data_on_stdout=output == "-") as shown:
            for packet in collect_packets(logger, tdef, fields=names, **asdict(query)):
                if not writer.count and not pending and packet:
                    shown.total(_expected(query, newest, packet[0].number))
                pending.extend(packet)
                shown.packet(len(packet))
                if len(pending) >= 256:
                    records = pending[:]
                    pending.clear()
                    writer.write(records)
            records = pending[:]
            pending.clear()
            writer.write(records)
            writer.close(complete=True)
            shown.done(writer.count)
    except BaseException as exc:
        # Never a finished-looking file: what arrived stays under .part (the records
        # received but not yet written included), said on the error's own line.
        with suppress(FieldlinkError, OSError):
            writer.write(pending)
        with suppress(FieldlinkError, OSError):
            writer.close(complete=False)
        kept = writer.partial_path
        if str(kept) in str(exc):
            pass  # the error names what was kept already
        elif writer.count and kept is not None and kept.exists():
            exc.add_note(f"incomplete: {writer.count} records kept in {kept}")
        elif writer.count and kept is None:
            exc.add_note(f"incomplete: {writer.count} records written before it")
        raise
    return writer.count


def _stored_callback(shown: RecordProgress) -> Callable[[str, str, int], None]:
    """``update``'s progress callback (records stored so far) as packets for ``shown``."""
    done = 0

    def stored(_station: str, _table: str, count: int) -> None:
        nonlocal done
        shown.packet(count - done)
        done = count

    return stored


@_command()
@click.argument("table")
@click.argument("db", metavar="FILE")
@delim_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "toa5", "sqlite"], case_sensitive=False),
    default=None,
    help="File format [by FILE's suffix: .dat, .csv, .sqlite].",
)
@click.option(
    "--station",
    default=None,
    help="Station name (TOA5 header, SQLite) [an existing TOA5 file's, else FILE's].",
)
@click.option(
    "--newest",
    type=click.IntRange(min=1),
    default=None,
    help="When FILE holds no records yet: only the newest N [all].",
)
@click.option(
    "--timezone",
    "zone",
    default="UTC",
    show_default=True,
    help='Zone of the logger clock, for SQLite\'s UTC column ("UTC-7", "Europe/Paris").',
)
@progress_option
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Reconnects in a row that bring no new record before giving up (0: none).",
)
@window_option
def update(
    link: LinkOptions,
    table: str,
    db: str,
    delim: str,
    fmt: str | None,
    station: str | None,
    newest: int | None,
    zone: str,
    progress: str,
    retries: int,
    window: int,
) -> None:
    """Append the new records of TABLE to FILE, resuming by record number.

    The position is the record number on FILE's last complete line, so a rerun
    appends nothing twice and a crash loses nothing; records the logger overwrote
    meanwhile are reported as holes (and listed in FILE.holes.csv).  A program
    change that alters TABLE stops with an error rather than mixing columns.

    A CSV file that PyCampbellCR1000's update started (Datetime,RecNbr,... with
    b'name' or plain headers) is carried on in its own columns and delimiter.
    FILE's directory must exist.
    """
    _update(link, _Update(table, db, delim, fmt, station, newest, zone, progress, retries, window))


@dataclass(frozen=True, slots=True)
class _Update:
    """What update asks for (and getdata --append, which is update)."""

    table: str
    db: str
    delim: str
    fmt: str | None
    station: str | None
    newest: int | None
    zone: str
    progress: str
    retries: int = 3
    window: int = 1


def _update(link: LinkOptions, job: _Update) -> None:
    import asyncio

    from fieldlink.collect.config import FirstCollection
    from fieldlink.collect.connect import connect_client
    from fieldlink.collect.update import run_update, update_station
    from fieldlink.pakbus.output import check_delimiter, check_target

    delimiter = check_delimiter(job.delim)
    check_target(Path(job.db), replace=True)
    mode = choose_mode(job.progress)
    config = update_station(
        link.url,
        job.table,
        Path(job.db),
        station=job.station,
        **link.client,
        kind=None if job.fmt is None else job.fmt.lower(),
        timezone=job.zone,
        first=FirstCollection(job.newest),
        reconnects=job.retries,
        window=job.window,
    )
    with frame_log(FRAME_LOGGER, link.debug), record_progress(mode, job.table) as shown:
        callback = None if mode == "none" else _stored_callback(shown)
        result = asyncio.run(
            run_update(config, connect_client, delimiter=delimiter, progress=callback)
        )
        if result.error is None:
            shown.done(result.records)
    if result.error is None:
        _info(f"{job.db}: {result.summary()}")
        return
    usage = result.error_kind in ("UsageError", "ConfigError", "LinkURLError")
    error = UsageError(result.error) if usage else FieldlinkError(result.error)
    if result.records:
        error.add_note(
            f"{result.records} new records stored in {job.db} before it; rerun to resume"
        )
    raise error


# --- values -----------------------------------------------------------------------------------


@_command()
@click.argument("table")
@click.argument("field")
@click.option(
    "--swath",
    default=1,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Consecutive array elements to read.",
)
def getvalue(link: LinkOptions, table: str, field: str, swath: int) -> None:
    """Print the value of a variable: TABLE FIELD, like Public Temp or Public "Temp(2)".

    With --swath N, N consecutive elements from FIELD on, one per line.
    """
    from fieldlink.pakbus.operations import find_field
    from fieldlink.pakbus.output import value_text

    with connect(link) as logger:
        value = logger.get_value(table, field, swath)
        type_code = find_field(logger.table_def(table), field).type_code
    values = value if isinstance(value, tuple) else (value,)
    for v in values:
        click.echo(value_text(v, type_code))


@_command()
@click.argument("table")
@click.argument("field")
@click.argument("value")
def setvalue(link: LinkOptions, table: str, field: str, value: str) -> None:
    """Set a variable to VALUE (a number, true/false, or text); print what it now holds.

    TABLE FIELD as for getvalue, e.g. Public Setpoint 21.5.
    """
    from fieldlink.pakbus.operations import find_field
    from fieldlink.pakbus.output import value_text

    with connect(link) as logger:
        logger.set_value(table, field, value)
        new = logger.get_value(table, field)
        type_code = find_field(logger.table_def(table), field).type_code
    click.echo(value_text(new, type_code))


@_command()
@click.option("--table", default="Public", show_default=True, help="Table to watch.")
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between refreshes.",
)
@click.option(
    "--count",
    default=None,
    type=click.IntRange(min=1),
    help="Stop after this many refreshes [run until Ctrl-C].",
)
def monitor(link: LinkOptions, table: str, interval: float, count: int | None) -> None:
    """Watch the live values of the Public table (or --table), refreshing.

    On a terminal a live table is redrawn in place; in a pipe one line is printed
    per refresh.
    """
    try:
        _monitor(link, table, interval, count)
    except KeyboardInterrupt:
        return  # Ctrl-C is how a monitor is meant to end


def _monitor(link: LinkOptions, table: str, interval: float, count: int | None) -> None:
    from fieldlink.pakbus.output import value_text

    with connect(link) as logger:
        tdef = logger.table_def(table)
        live = sys.stdout.isatty()
        refreshes = 0
        if live:
            _monitor_live(logger, tdef, interval, count)
            return
        while count is None or refreshes < count:
            started = time.monotonic()
            for record in logger.collect(tdef, newest=1):
                types = _field_types(tdef)
                cells = [f"{k}={value_text(v, types.get(k, 0))}" for k, v in record.values.items()]
                click.echo(f"{record.timestamp} " + " ".join(cells))
            refreshes += 1
            if count is None or refreshes < count:
                time.sleep(max(0.0, interval - (time.monotonic() - started)))


def _field_types(tdef: TableDef) -> dict[str, int]:
    return {f.name: f.type_code for f in tdef.fields}


def _monitor_live(logger: Datalogger, tdef: TableDef, interval: float, count: int | None) -> None:
    from rich.live import Live
    from rich.table import Table

    from fieldlink.pakbus.output import value_text

    def render() -> Table:
        grid = Table(title=f"{tdef.name}", show_lines=False)
        grid.add_column("field")
        grid.add_column("value", justify="right")
        grid.add_column("units")
        for record in logger.collect(tdef, newest=1):
            grid.caption = f"{record.timestamp}  record {record.number}"
            units = {f.name: f.units for f in tdef.fields}
            types = _field_types(tdef)
            for name, value in record.values.items():
                grid.add_row(name, value_text(value, types.get(name, 0)), units.get(name, ""))
        return grid

    refreshes = 0
    with Live(render(), refresh_per_second=4) as live:
        refreshes += 1
        while count is None or refreshes < count:
            time.sleep(interval)
            live.update(render())
            refreshes += 1


def mount(root: click.Group, emulate: click.Group | None) -> None:
    """Attach ``fieldlink logger ...`` and ``fieldlink emulate logger``; the emulator (a
    tenth of a second to import) only when ``emulate`` asks for it."""

    def emulator() -> click.Command:
        from fieldlink.pakbus.emulator.cli import logger_command

        return logger_command

    mount_family(root, emulate, logger_group, emulator)
