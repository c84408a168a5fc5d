"""DevConfig settings of an emulated logger: the catalogue, paging, and the commit session.

A CR1000 exposes its configuration as numbered settings (pakbus.md §4.10).  Their ids
and order moved between operating systems, so the emulator replays the catalogue a
real CR1000 (OS 24) returned (vectors V12, kept in ``data/cr1000_devconfig.txt``)
with this station's identity written into it, and appends two settings of its own
that are too large for one packet, so that clients must use the fragment messages:

- id 120, read-only, 1536 bytes: a description of the emulated device;
- id 121, writable, 1200 bytes: free-form station notes (NUL-padded text).

Changes are staged per client and only take effect on a commit; a session that
hears nothing for 40 s is rolled back, and while one client holds uncommitted
changes the others are refused (outcome 3 / 7), as §4.10 describes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cache

from fieldlink.pakbus.emulator.models import LoggerModel, captured_rows
from fieldlink.pakbus.protocol.codes import (
    DevConfigAction,
    DevConfigControlOutcome,
    DevConfigSetFragmentOutcome,
    DevConfigSetOutcome,
    SettingOutcome,
)
from fieldlink.pakbus.protocol.pakctrl import SettingValue

__all__ = [
    "CATALOGUE_MAJOR",
    "CATALOGUE_MINOR",
    "DEVICE_NOTES",
    "DEVICE_SUMMARY",
    "SESSION_SECONDS",
    "Setting",
    "SettingsPage",
    "SettingsStore",
    "encode_serial",
    "station_catalogue",
]

#: Catalogue version of the captured CR1000 response (V12).
CATALOGUE_MAJOR = 5
CATALOGUE_MINOR = 0
#: A staged change is rolled back after this long without a DevConfig message.
SESSION_SECONDS = 40.0
#: Bytes before the settings in a get-settings response (MsgType ... MoreSettings).
GET_PREFIX = 8
#: Bytes before the data in a get-fragment response (MsgType, TranNbr, Outcome, UInt2).
FRAGMENT_PREFIX = 5

# Setting ids whose meaning the emulator relies on (V12 / BMP5 App. C).
OS_VERSION = 0
SERIAL_NUMBER = 1
STATION_NAME = 2
PAKBUS_ADDRESS = 3
SECURITY = 4
IS_ROUTER = 5
MAX_PACKET_SIZE = 49
TCP_PORT = 54
DEVICE_SUMMARY = 120
DEVICE_NOTES = 121

_U16 = struct.Struct(">H")


#: One catalogue entry as the device holds it: what a get-settings response carries for
#: it whole (id, value, read-only; never ``large_value``).
Setting = SettingValue


@dataclass(frozen=True, slots=True)
class SettingsPage:
    """The settings that fit one get-settings response.

    ``entries`` are (setting, bytes sent, large); a large setting's bytes are only its
    first fragment.  ``more`` says settings remain after the last one.
    """

    entries: tuple[tuple[Setting, bytes, bool], ...]
    more: bool


def encode_serial(serial: str) -> bytes:
    """Serial number as DevConfig stores it: country letter in the top byte, number below.

    ``"E4668"`` -> ``45 00 12 3C`` (OBSERVED, V12).
    """
    letter = serial[0] if serial[:1].isalpha() else ""
    number = int(serial[len(letter) :] or "0")
    return bytes([ord(letter.upper()) if letter else 0]) + number.to_bytes(3, "big")


@cache
def _captured() -> tuple[Setting, ...]:
    return tuple(
        Setting(int(sid), b"" if value == "-" else bytes.fromhex(value), access == "ro")
        for sid, access, value in captured_rows("cr1000_devconfig.txt")
    )


def _device_summary(model: LoggerModel) -> bytes:
    text = (
        f"fieldlink emulated {model.name} datalogger, OS {model.os_version}, "
        f"serial {model.serial_number}. This setting exists to be larger than one PakBus "
        "packet, so that a client must read it with DevConfig get-setting-fragment. "
    )
    raw = (text * 20).encode("ascii")
    return raw[:1535] + b"\x00"


def station_catalogue(
    model: LoggerModel,
    *,
    station_name: str,
    serial_number: str,
    node: int,
    security: tuple[int, int, int],
    is_router: bool,
) -> tuple[Setting, ...]:
    """The catalogue of one emulated station, in the device's own order."""
    own = {
        OS_VERSION: model.os_version.encode("ascii") + b"\x00",
        SERIAL_NUMBER: encode_serial(serial_number),
        STATION_NAME: station_name.encode("latin-1") + b"\x00",
        PAKBUS_ADDRESS: _U16.pack(node),
        SECURITY: b"".join(_U16.pack(code) for code in security),
        IS_ROUTER: bytes([1 if is_router else 0]),
    }
    settings = [Setting(s.id, own.get(s.id, s.value), s.read_only) for s in _captured()]
    settings.append(Setting(DEVICE_SUMMARY, _device_summary(model), True))
    settings.append(Setting(DEVICE_NOTES, b"Station notes:\x00".ljust(1200, b"\x00"), False))
    return tuple(settings)


def _string(value: bytes, limit: int) -> bool:
    return 1 <= len(value) <= limit and value.endswith(b"\x00") and b"\x00" not in value[:-1]


def _u16_in(lo: int, hi: int) -> Callable[[bytes], bool]:
    return lambda v: len(v) == 2 and lo <= _U16.unpack(v)[0] <= hi


def _security_ok(value: bytes) -> bool:
    if len(value) != 6:
        return False
    l1, l2, l3 = struct.unpack(">3H", value)
    return not ((l2 and not l1) or (l3 and not l2))


_VALIDATORS: dict[int, Callable[[bytes], bool]] = {
    STATION_NAME: lambda v: _string(v, 64),
    PAKBUS_ADDRESS: _u16_in(1, 4094),
    SECURITY: _security_ok,
    IS_ROUTER: lambda v: len(v) == 1 and v[0] in (0, 1),
    MAX_PACKET_SIZE: _u16_in(16, 1000),
    TCP_PORT: _u16_in(1, 65535),
    DEVICE_NOTES: lambda v: len(v) <= 4096,
}


@dataclass
class _Session:
    owner: Hashable
    last_activity: float
    staged: dict[int, bytes] = field(default_factory=dict)
    partial: dict[int, bytearray] = field(default_factory=dict)


class SettingsStore:
    """Committed values, factory defaults and at most one client's staged changes."""

    def __init__(self, catalogue: tuple[Setting, ...]) -> None:
        self._order = [s.id for s in catalogue]
        self._read_only = {s.id: s.read_only for s in catalogue}
        self._defaults = {s.id: s.value for s in catalogue}
        self._committed = dict(self._defaults)
        self._session: _Session | None = None

    # --- reading ------------------------------------------------------------------------

    def __contains__(self, setting_id: int) -> bool:
        return setting_id in self._committed

    def value(self, setting_id: int) -> bytes:
        return self._committed[setting_id]

    def setting(self, setting_id: int) -> Setting:
        return Setting(setting_id, self._committed[setting_id], self._read_only[setting_id])

    def settings(self) -> tuple[Setting, ...]:
        return tuple(self.setting(i) for i in self._order)

    def u16(self, setting_id: int) -> int:
        return int(_U16.unpack(self._committed[setting_id][:2])[0])

    def text(self, setting_id: int) -> str:
        return self._committed[setting_id].split(b"\x00", 1)[0].decode("latin-1")

    def security(self) -> tuple[int, int, int]:
        raw = self._committed[SECURITY]
        if len(raw) != 6:
            return (0, 0, 0)
        l1, l2, l3 = struct.unpack(">3H", raw)
        return int(l1), int(l2), int(l3)

    def set_committed(self, setting_id: int, value: bytes) -> None:
        """Change a value directly (a write through the Status table, or an option)."""
        self._committed[setting_id] = value

    def page(self, begin_id: int | None, end_id: int | None, room: int) -> SettingsPage:
        """The settings for one get-settings response with ``room`` bytes for entries.

        ``begin_id`` with bit 15 set continues *after* that id in device order (how
        Campbell pages, §4.10); without it, begin and end select ids numerically
        (inclusive), or begin alone starts at that id's position.
        """
        ids = self._selection(begin_id, end_id)
        entries: list[tuple[Setting, bytes, bool]] = []
        used = 0
        index = 0
        for index, sid in enumerate(ids):  # index is read after the loop
            s = self.setting(sid)
            size = 4 + len(s.value)
            if size > room:
                if not entries:  # a large value: only its first fragment, alone
                    entries.append((s, s.value[: max(0, room - 4)], True))
                    index += 1
                break
            if used + size > room:
                break
            entries.append((s, s.value, False))
            used += size
        else:
            index = len(ids)
        return SettingsPage(tuple(entries), more=index < len(ids))

    def _selection(self, begin_id: int | None, end_id: int | None) -> list[int]:
        order = self._order
        if begin_id is None:
            ids = list(order)
        elif begin_id & 0x8000:
            after = begin_id & 0x7FFF
            ids = order[order.index(after) + 1 :] if after in order else []
        elif end_id is not None:
            ids = [i for i in order if begin_id <= i]
        elif begin_id in order:
            ids = order[order.index(begin_id) :]
        else:
            ids = [i for i in order if i >= begin_id]
        if end_id is not None:
            ids = [i for i in ids if i <= end_id]
        return ids

    def fragment(self, setting_id: int, offset: int, room: int) -> tuple[bytes, bool] | None:
        """Bytes of a setting from ``offset``, at most ``room``; None for an unknown id."""
        value = self._committed.get(setting_id)
        if value is None:
            return None
        data = value[offset : offset + max(0, room)]
        return data, offset + len(data) < len(value)

    # --- the change session ---------------------------------------------------------------

    def expire(self, now: float) -> None:
        """Roll back a session that has been silent for SESSION_SECONDS."""
        if self._session is not None and now - self._session.last_activity > SESSION_SECONDS:
            self._session = None

    def _enter(self, owner: Hashable, now: float) -> _Session | None:
        """The caller's session (opening one), or None if another client holds changes."""
        self.expire(now)
        session = self._session
        if session is not None and session.owner != owner:
            if session.staged or session.partial:
                return None
            session = None
        if session is None:
            session = self._session = _Session(owner, now)
        session.last_activity = now
        return session

    def touch(self, owner: Hashable, now: float) -> None:
        """Any DevConfig message from the session's owner resets its timer."""
        self.expire(now)
        if self._session is not None and self._session.owner == owner:
            self._session.last_activity = now

    def _check(self, setting_id: int, value: bytes) -> int:
        if setting_id not in self._committed:
            return SettingOutcome.UNKNOWN_ID
        if self._read_only[setting_id]:
            return SettingOutcome.READ_ONLY
        check = _VALIDATORS.get(setting_id)
        if check is not None:
            ok = check(value)
        else:
            old = self._defaults[setting_id]
            ok = (
                _string(value, 256)
                if old.endswith(b"\x00") and len(old) > 1
                else len(value) == len(old)
            )
        return SettingOutcome.TAGGED if ok else SettingOutcome.MALFORMED

    def stage(
        self, owner: Hashable, now: float, changes: list[tuple[int, bytes, bool]]
    ) -> tuple[int, list[tuple[int, int]]]:
        """Set-settings: (message outcome, per-setting outcomes) for (id, value, more)."""
        session = self._enter(owner, now)
        if session is None:
            return DevConfigSetOutcome.LOCKED, []
        results = []
        for setting_id, value, more in changes:
            outcome: int
            if more:  # the first fragment of a large value; the rest comes with 0x12
                if setting_id not in self._committed:
                    outcome = SettingOutcome.UNKNOWN_ID
                elif self._read_only[setting_id]:
                    outcome = SettingOutcome.READ_ONLY
                else:
                    outcome = SettingOutcome.TAGGED
                    session.partial[setting_id] = bytearray(value)
            else:
                outcome = self._check(setting_id, value)
                if outcome == SettingOutcome.TAGGED:
                    session.staged[setting_id] = value
            results.append((setting_id, int(outcome)))
        return DevConfigSetOutcome.OK, results

    def stage_fragment(
        self, owner: Hashable, now: float, setting_id: int, offset: int, more: bool, data: bytes
    ) -> int:
        """Set-setting-fragment: the outcome code (codes.DevConfigSetFragmentOutcome)."""
        if setting_id not in self._committed:
            return DevConfigSetFragmentOutcome.UNKNOWN_ID
        if self._read_only[setting_id]:
            return DevConfigSetFragmentOutcome.READ_ONLY
        session = self._enter(owner, now)
        if session is None:
            return DevConfigSetFragmentOutcome.NOT_SUPPORTED
        buffer = session.partial.get(setting_id)
        if offset == 0:
            buffer = session.partial[setting_id] = bytearray()
        if buffer is None or offset != len(buffer):
            return DevConfigSetFragmentOutcome.MALFORMED
        buffer += data
        if len(buffer) > 65_536:
            del session.partial[setting_id]
            return DevConfigSetFragmentOutcome.NO_MEMORY
        if not more:
            del session.partial[setting_id]
            value = bytes(buffer)
            if self._check(setting_id, value) != SettingOutcome.TAGGED:
                return DevConfigSetFragmentOutcome.MALFORMED
            session.staged[setting_id] = value
        return DevConfigSetFragmentOutcome.ACCEPTED

    def control(self, owner: Hashable, now: float, action: int) -> tuple[int, dict[int, bytes]]:
        """DevConfig control: (outcome, the settings a commit changed)."""
        self.expire(now)
        session = self._session
        if session is not None and session.owner != owner and (session.staged or session.partial):
            return DevConfigControlOutcome.LOCKED, {}
        mine = session if session is not None and session.owner == owner else None
        if action == DevConfigAction.COMMIT:
            if mine is None or not mine.staged:
                self._session = None
                return DevConfigControlOutcome.SESSION_ENDED, {}
            changed = {k: v for k, v in mine.staged.items() if self._committed[k] != v}
            self._committed.update(mine.staged)
            self._session = None
            return DevConfigControlOutcome.COMMITTED, changed
        if action == DevConfigAction.CANCEL:
            self._session = None
            return DevConfigControlOutcome.SESSION_ENDED, {}
        if action == DevConfigAction.CANCEL_AND_REBOOT:
            self._session = None
            return DevConfigControlOutcome.DISCARDED_REBOOTING, {}
        if action == DevConfigAction.REVERT_TO_DEFAULTS:
            fresh = self._enter(owner, now)
            if fresh is None:  # pragma: no cover - excluded by the LOCKED check above
                return DevConfigControlOutcome.LOCKED, {}
            fresh.staged.update({k: v for k, v in self._defaults.items() if not self._read_only[k]})
            return DevConfigControlOutcome.REVERTED, {}
        if action == DevConfigAction.REFRESH_TIMER:
            self._enter(owner, now)
            return DevConfigControlOutcome.TIMER_RESET, {}
        return DevConfigControlOutcome.INVALID_ACTION, {}

    def staged(self, owner: Hashable) -> dict[int, bytes]:
        """The changes ``owner`` has staged (for tests and logs)."""
        s = self._session
        return dict(s.staged) if s is not None and s.owner == owner else {}
