"""Test settings: the official library's settings JSON as a typed object (batlab.md §7.5).

Users already have these files ("cell playlists"), so the keys, the defaults and
the safety ranges are the official ones, kept here as one table.  The official
loader logs an out-of-range value and silently keeps the default; fieldlink
refuses the file instead (:class:`~fieldlink.errors.ConfigError` naming the key and
the range) unless ``lenient=True`` asks for the official behaviour.  Unknown keys
(``cellNames`` ...) are ignored as the official loader ignores them.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

from fieldlink.errors import ConfigError
from fieldlink.kit.textfile import parse_json, read_text

__all__ = ["SETTING_KEYS", "SettingKey", "TestSettings", "load_settings", "read_settings"]

log = logging.getLogger("fieldlink.batlab.settings")


@dataclass(frozen=True, slots=True)
class SettingKey:
    """One JSON key: the attribute it fills, its type and its safety range (None: any)."""

    key: str
    attr: str
    kind: type
    low: float | None = None
    high: float | None = None


_F, _I, _S, _B = float, int, str, bool

#: The official keys, in the official order (batlab.md §7.5).
SETTING_KEYS: Final[tuple[SettingKey, ...]] = (
    SettingKey("acceptableImpedanceThreshold", "acceptable_impedance_threshold", _F),
    SettingKey("batlabCellPlaylistFileVersion", "file_version", _S),
    SettingKey("cellPlaylistName", "playlist_name", _S),
    SettingKey("chargeCurrentSafetyCutoff", "charge_current_cutoff", _F, 0, 4.096),
    SettingKey("chargeRate", "charge_rate", _F, 0, 4.0),
    SettingKey("prechargeRate", "precharge_rate", _F, 0, 4.0),
    SettingKey("chargeTemperatureCutoff", "charge_temperature_cutoff", _F, -60, 80),
    SettingKey("dischargeCurrentSafetyCutoff", "discharge_current_cutoff", _F, 0, 4.096),
    SettingKey("dischargeRate", "discharge_rate", _F, 0, 4.0),
    SettingKey("dischargeTemperatureCutoff", "discharge_temperature_cutoff", _F, -60, 80),
    SettingKey("highVoltageCutoff", "high_voltage_cutoff", _F, 3.0, 4.3),
    SettingKey("impedanceReportingPeriod", "impedance_period", _F),
    SettingKey("lowVoltageCutoff", "low_voltage_cutoff", _F, 2.4324, 4.25),
    SettingKey("numMeasurementCycles", "measurement_cycles", _I),
    SettingKey("numWarmupCycles", "warmup_cycles", _I),
    SettingKey("reportingPeriod", "reporting_period", _F),
    SettingKey("restPeriod", "rest_period", _F),
    SettingKey("sineWaveFrequency", "sine_frequency", _F, 39.0625, 1054.6875),
    SettingKey("sineWaveMagnitude", "sine_magnitude", _F, 0, 2),
    SettingKey("storageDischarge", "storage_discharge", _B),
    SettingKey("storageDischargeVoltage", "storage_discharge_voltage", _F, 2.5, 4.3),
    SettingKey("trickleEnable", "trickle_enable", _B),
    SettingKey("pulseEnable", "pulse_enable", _B),
    SettingKey("constantVoltageEnable", "constant_voltage_enable", _B),
    SettingKey("constantVoltageDischargeEnable", "constant_voltage_discharge_enable", _B),
    SettingKey("trickleDischrgEngageVoltage", "trickle_discharge_engage_voltage", _F),
    SettingKey("trickleChrgEngageVoltage", "trickle_charge_engage_voltage", _F),
    SettingKey("trickleChrgRate", "trickle_charge_rate", _F),
    SettingKey("trickleDischrgRate", "trickle_discharge_rate", _F),
    SettingKey("pulseDischrgOffTime", "pulse_discharge_off_time", _F),
    SettingKey("pulseDischrgOnTime", "pulse_discharge_on_time", _F),
    SettingKey("pulseChrgOnTime", "pulse_charge_on_time", _F),
    SettingKey("pulseChrgOffTime", "pulse_charge_off_time", _F),
    SettingKey("pulseDischrgOffRate", "pulse_discharge_off_rate", _F),
    SettingKey("individualCellLogs", "individual_cell_logs", _B),
    SettingKey("constantVoltageStepsize", "constant_voltage_stepsize", _I),
    SettingKey("constantVoltageSensitivity", "constant_voltage_sensitivity", _F),
)
_BY_KEY: Final = {k.key: k for k in SETTING_KEYS}


@dataclass(frozen=True)
class TestSettings:
    """A cell playlist's settings, with the official defaults (amps, volts, °C, seconds)."""

    __test__ = False  # not a pytest class

    acceptable_impedance_threshold: float = 1.0
    file_version: str = "0.0.1"
    playlist_name: str = "DefaultPlaylist"
    charge_current_cutoff: float = 4.096
    charge_rate: float = 2.0
    precharge_rate: float = 2.0
    charge_temperature_cutoff: float = 50.0
    discharge_current_cutoff: float = 4.096
    discharge_rate: float = 2.0
    discharge_temperature_cutoff: float = 80.0
    high_voltage_cutoff: float = 4.2
    impedance_period: float = 60.0
    low_voltage_cutoff: float = 2.5
    measurement_cycles: int = 1
    warmup_cycles: int = 0
    reporting_period: float = 1.0
    rest_period: float = 60.0
    sine_frequency: float = 10000.0 / 256.0
    sine_magnitude: float = 2.0
    storage_discharge: bool = False
    storage_discharge_voltage: float = 3.8
    trickle_enable: bool = False
    pulse_enable: bool = False
    constant_voltage_enable: bool = False
    constant_voltage_discharge_enable: bool = False
    trickle_discharge_engage_voltage: float = 4.1
    trickle_charge_engage_voltage: float = 2.8
    trickle_charge_rate: float = 0.5
    trickle_discharge_rate: float = 0.5
    pulse_discharge_off_time: float = 10.0
    pulse_discharge_on_time: float = 60.0
    pulse_charge_on_time: float = 60.0
    pulse_charge_off_time: float = 10.0
    pulse_discharge_off_rate: float = 0.0
    individual_cell_logs: bool = False
    constant_voltage_stepsize: int = 8
    constant_voltage_sensitivity: float = 1.0
    #: The JSON object as loaded (unknown keys included), for the CSV preamble line.
    source: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    @property
    def cycles(self) -> int:
        """Charge/discharge cycles a cycle test runs: warm-up plus measurement."""
        return self.warmup_cycles + self.measurement_cycles

    @property
    def log_name(self) -> str:
        """The official main log file name: ``batlab-log_<cellPlaylistName>.csv``."""
        return f"batlab-log_{self.playlist_name}.csv"

    def cell_log_name(self, cell_name: str) -> str:
        """The per-cell log file name used with ``individualCellLogs``."""
        return f"batlab-log_{self.playlist_name}_{cell_name}.csv"

    def to_json(self) -> dict[str, Any]:
        """The settings under their official keys."""
        return {k.key: getattr(self, k.attr) for k in SETTING_KEYS}

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, lenient: bool = False, ignore_safety: bool = False
    ) -> TestSettings:
        """Settings from a decoded JSON object.

        ``lenient``: an out-of-range value is logged and the default kept (the official
        loader's behaviour); otherwise it is a ConfigError.  ``ignore_safety``: ranges
        are not checked at all (the official CLI's hidden "ignore safety").
        """
        if not isinstance(data, Mapping):
            raise ConfigError("settings must be a JSON object")
        values: dict[str, Any] = {}
        for key, raw in data.items():
            spec = _BY_KEY.get(key)
            if spec is None:
                continue
            value = _coerce(spec, raw)
            if not ignore_safety and not _in_range(spec, value):
                message = f"settings key {key}: {value!r} out of range {spec.low:g}..{spec.high:g}"
                if not lenient:
                    raise ConfigError(message)
                log.warning("%s; keeping the default", message)
                continue
            values[spec.attr] = value
        return cls(**values, source=dict(data))

    def check_ranges(self) -> None:
        """Raise ConfigError if a value (set in code) is outside its safety range."""
        for spec in SETTING_KEYS:
            value = getattr(self, spec.attr)
            if not _in_range(spec, value):
                raise ConfigError(
                    f"settings key {spec.key}: {value!r} out of range {spec.low:g}..{spec.high:g}"
                )

    def replace(self, **changes: Any) -> TestSettings:
        """A copy with ``changes`` applied (attribute names), range-checked."""
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        new = dataclasses.replace(self, **changes)
        new.check_ranges()
        return new


def _coerce(spec: SettingKey, raw: Any) -> Any:
    kind = spec.kind
    if kind is str:
        if not isinstance(raw, str):
            raise ConfigError(f"settings key {spec.key}: expected text, got {raw!r}")
        return raw
    if isinstance(raw, bool):
        if kind is bool:
            return raw
        raise ConfigError(f"settings key {spec.key}: expected a number, got {raw!r}")
    if not isinstance(raw, int | float) or math.isnan(raw) or math.isinf(raw):
        raise ConfigError(f"settings key {spec.key}: expected a number, got {raw!r}")
    if kind is bool:
        return bool(raw)
    if kind is int:
        if raw != int(raw) or raw < 0:
            raise ConfigError(f"settings key {spec.key}: expected a whole number, got {raw!r}")
        return int(raw)
    return float(raw)


def _in_range(spec: SettingKey, value: Any) -> bool:
    if spec.low is None or spec.high is None:
        return True
    return bool(spec.low <= value <= spec.high)


def load_settings(
    path: str | Path, *, lenient: bool = False, ignore_safety: bool = False
) -> TestSettings:
    """Read a settings JSON file (ConfigError naming the file when it is not valid)."""
    return read_settings(path, lenient=lenient, ignore_safety=ignore_safety)[0]


def read_settings(
    path: str | Path, *, lenient: bool = False, ignore_safety: bool = False
) -> tuple[TestSettings, str]:
    """:func:`load_settings`, with the file's text (the official CSV log starts with it)."""
    p = Path(path)
    text = read_text(p, "settings")
    data = parse_json(text, p)
    try:
        return TestSettings.from_mapping(data, lenient=lenient, ignore_safety=ignore_safety), text
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from exc
