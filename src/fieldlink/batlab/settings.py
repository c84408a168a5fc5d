"""Test settings: the official library's settings JSON as a typed object (batlab.md §7.5).

Users already have these files ("cell playlists"), so the keys, the defaults and
the safety ranges are the official ones, declared once with each attribute.  The official
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


def _official(key: str, default: Any, low: float | None = None, high: float | None = None) -> Any:
    """A setting's JSON key, official default (whose type is the setting's) and safety range,
    declared with its attribute."""
    return dataclasses.field(default=default, metadata={"setting": (key, low, high)})


@dataclass(frozen=True)
class TestSettings:
    """A cell playlist's settings, with the official defaults (amps, volts, °C, seconds)."""

    __test__ = False  # not a pytest class

    acceptable_impedance_threshold: float = _official("acceptableImpedanceThreshold", 1.0)
    file_version: str = _official("batlabCellPlaylistFileVersion", "0.0.1")
    playlist_name: str = _official("cellPlaylistName", "DefaultPlaylist")
    charge_current_cutoff: float = _official("chargeCurrentSafetyCutoff", 4.096, 0, 4.096)
    charge_rate: float = _official("chargeRate", 2.0, 0, 4.0)
    precharge_rate: float = _official("prechargeRate", 2.0, 0, 4.0)
    charge_temperature_cutoff: float = _official("chargeTemperatureCutoff", 50.0, -60, 80)
    discharge_current_cutoff: float = _official("dischargeCurrentSafetyCutoff", 4.096, 0, 4.096)
    discharge_rate: float = _official("dischargeRate", 2.0, 0, 4.0)
    discharge_temperature_cutoff: float = _official("dischargeTemperatureCutoff", 80.0, -60, 80)
    high_voltage_cutoff: float = _official("highVoltageCutoff", 4.2, 3.0, 4.3)
    impedance_period: float = _official("impedanceReportingPeriod", 60.0)
    low_voltage_cutoff: float = _official("lowVoltageCutoff", 2.5, 2.4324, 4.25)
    measurement_cycles: int = _official("numMeasurementCycles", 1)
    warmup_cycles: int = _official("numWarmupCycles", 0)
    reporting_period: float = _official("reportingPeriod", 1.0)
    rest_period: float = _official("restPeriod", 60.0)
    sine_frequency: float = _official("sineWaveFrequency", 10000.0 / 256.0, 39.0625, 1054.6875)
    sine_magnitude: float = _official("sineWaveMagnitude", 2.0, 0, 2)
    storage_discharge: bool = _official("storageDischarge", False)
    storage_discharge_voltage: float = _official("storageDischargeVoltage", 3.8, 2.5, 4.3)
    trickle_enable: bool = _official("trickleEnable", False)
    pulse_enable: bool = _official("pulseEnable", False)
    constant_voltage_enable: bool = _official("constantVoltageEnable", False)
    constant_voltage_discharge_enable: bool = _official("constantVoltageDischargeEnable", False)
    trickle_discharge_engage_voltage: float = _official("trickleDischrgEngageVoltage", 4.1)
    trickle_charge_engage_voltage: float = _official("trickleChrgEngageVoltage", 2.8)
    trickle_charge_rate: float = _official("trickleChrgRate", 0.5)
    trickle_discharge_rate: float = _official("trickleDischrgRate", 0.5)
    pulse_discharge_off_time: float = _official("pulseDischrgOffTime", 10.0)
    pulse_discharge_on_time: float = _official("pulseDischrgOnTime", 60.0)
    pulse_charge_on_time: float = _official("pulseChrgOnTime", 60.0)
    pulse_charge_off_time: float = _official("pulseChrgOffTime", 10.0)
    pulse_discharge_off_rate: float = _official("pulseDischrgOffRate", 0.0)
    individual_cell_logs: bool = _official("individualCellLogs", False)
    constant_voltage_stepsize: int = _official("constantVoltageStepsize", 8)
    constant_voltage_sensitivity: float = _official("constantVoltageSensitivity", 1.0)
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


#: The official keys, in the official order (batlab.md §7.5), from the declarations above.
SETTING_KEYS: Final[tuple[SettingKey, ...]] = tuple(
    SettingKey(f.metadata["setting"][0], f.name, type(f.default), *f.metadata["setting"][1:])
    for f in fields(TestSettings)
    if "setting" in f.metadata
)
_BY_KEY: Final = {k.key: k for k in SETTING_KEYS}


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
