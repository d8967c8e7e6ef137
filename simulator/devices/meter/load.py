"""Model a building's three-phase electrical load, step by step.

The total active power follows a residential day (a night trough, a morning
bump, an evening peak) times a slow random walk, unless a fixed target is set.
Phases share it unevenly, voltages, power factors and the frequency wander
within their usual bands, currents follow from P = V x I x PF, and the energy
registers integrate the power (import while it is positive, export while
negative), so they never go down.
"""

from dataclasses import dataclass
import math
import random
from typing import Final

PHASES: Final = 3
SECONDS_PER_HOUR: Final = 3600.0
WATT_SECONDS_PER_KWH: Final = 3_600_000.0

VOLTAGE_BAND: Final = (225.0, 235.0)
POWER_FACTOR_BAND: Final = (0.85, 0.98)
FREQUENCY_BAND: Final = (49.95, 50.05)

# The day's shape relative to the base load: (peak hour, width in hours, height).
_DAY_SHAPE: Final = ((7.5, 1.5, 0.3), (13.0, 3.0, 0.2), (20.0, 2.5, 0.6))
_NIGHT_LEVEL: Final = 0.4
# The load's random walk: spread and memory (seconds), and its hard limit.
_LOAD_SPREAD: Final = 0.08
_LOAD_MEMORY: Final = 300.0
_LOAD_LIMIT: Final = 0.3
# How unevenly the phases share the load: fixed skew plus a wandering part.
_PHASE_SKEW: Final = 0.06
_PHASE_SPREAD: Final = 0.02
_PHASE_MEMORY: Final = 120.0


def daily_profile(hour: float) -> float:
    """Return the load at ``hour`` (0-24, local) relative to the base load."""
    level = _NIGHT_LEVEL
    for peak, width, height in _DAY_SHAPE:
        # Distance on the 24-hour circle, so the evening peak reaches past midnight.
        distance = abs(hour - peak) % 24.0
        distance = min(distance, 24.0 - distance)
        level += height * math.exp(-((distance / width) ** 2))
    return level


@dataclass(slots=True)
class _Walk:
    """Wander around a mean (Ornstein-Uhlenbeck), never leaving [low, high]."""

    mean: float
    spread: float
    memory: float
    low: float
    high: float
    value: float

    def step(self, seconds: float, rng: random.Random) -> float:
        """Move the walk on by ``seconds`` and return its new value."""
        if seconds > 0:
            keep = math.exp(-seconds / self.memory)
            noise = self.spread * math.sqrt(1.0 - keep * keep)
            moved = self.mean + (self.value - self.mean) * keep + rng.gauss(0.0, noise)
            self.value = min(max(moved, self.low), self.high)
        return self.value


def _band_walk(
    band: tuple[float, float], spread: float, memory: float, rng: random.Random
) -> _Walk:
    """Return a walk around the middle of ``band``, starting somewhere near it."""
    low, high = band
    mean = (low + high) / 2
    start = min(max(rng.gauss(mean, spread), low), high)
    return _Walk(mean, spread, memory, low, high, start)


@dataclass(frozen=True, slots=True)
class MeterValues:
    """Hold what the meter measures now, in SI units (V, A, W, Hz, kWh)."""

    voltage: tuple[float, float, float]
    current: tuple[float, float, float]
    phase_power: tuple[float, float, float]
    phase_power_factor: tuple[float, float, float]
    power: float
    power_factor: float
    frequency: float
    energy_import: float
    energy_export: float

    def fields(self) -> dict[str, float]:
        """Return the values by register field name (``voltage_l1``, ``power``...)."""
        values: dict[str, float] = {
            "power": self.power,
            "power_factor": self.power_factor,
            "frequency": self.frequency,
            "energy_import": self.energy_import,
            "energy_export": self.energy_export,
        }
        for phase in range(PHASES):
            suffix = f"_l{phase + 1}"
            values["voltage" + suffix] = self.voltage[phase]
            values["current" + suffix] = self.current[phase]
            values["power" + suffix] = self.phase_power[phase]
            values["power_factor" + suffix] = self.phase_power_factor[phase]
        return values


class LoadModel:
    """Advance a building's load in time and report the meter's values."""

    def __init__(
        self,
        base_load_watts: float,
        energy_import_kwh: float,
        rng: random.Random,
        *,
        hour: float,
    ) -> None:
        """Start at ``hour``'s load with ``energy_import_kwh`` already counted."""
        self.base_load_watts = base_load_watts
        # A fixed total power (W) set by the control API; None follows the day.
        self.target_watts: float | None = None
        self._rng = rng
        start = min(max(rng.gauss(0.0, _LOAD_SPREAD), -_LOAD_LIMIT), _LOAD_LIMIT)
        self._load = _Walk(
            0.0, _LOAD_SPREAD, _LOAD_MEMORY, -_LOAD_LIMIT, _LOAD_LIMIT, start
        )
        self._skew = tuple(
            1.0 + rng.uniform(-_PHASE_SKEW, _PHASE_SKEW) for _ in range(PHASES)
        )
        self._phase = tuple(
            _Walk(0.0, _PHASE_SPREAD, _PHASE_MEMORY, -0.1, 0.1, 0.0)
            for _ in range(PHASES)
        )
        self._voltage = tuple(
            _band_walk(VOLTAGE_BAND, 1.5, 60.0, rng) for _ in range(PHASES)
        )
        self._power_factor = tuple(
            _band_walk(POWER_FACTOR_BAND, 0.02, 300.0, rng) for _ in range(PHASES)
        )
        self._frequency = _band_walk(FREQUENCY_BAND, 0.015, 20.0, rng)
        self._energy_import = energy_import_kwh
        self._energy_export = 0.0
        self._power = 0.0
        self.values = self.step(0.0, hour=hour)

    def step(self, seconds: float, *, hour: float) -> MeterValues:
        """Count ``seconds`` of energy at the last power, then move every value on."""
        if self._power >= 0:
            self._energy_import += self._power * seconds / WATT_SECONDS_PER_KWH
        else:
            self._energy_export -= self._power * seconds / WATT_SECONDS_PER_KWH
        rng = self._rng
        walk = self._load.step(seconds, rng)
        if self.target_watts is None:
            total = self.base_load_watts * daily_profile(hour) * (1.0 + walk)
        else:
            total = self.target_watts
        weights = [
            skew * (1.0 + phase.step(seconds, rng))
            for skew, phase in zip(self._skew, self._phase, strict=True)
        ]
        scale = total / sum(weights)
        phase_power = tuple(weight * scale for weight in weights)
        voltage = tuple(walk_.step(seconds, rng) for walk_ in self._voltage)
        power_factor = tuple(walk_.step(seconds, rng) for walk_ in self._power_factor)
        current = tuple(
            abs(power) / (volts * factor)
            for power, volts, factor in zip(
                phase_power, voltage, power_factor, strict=True
            )
        )
        apparent = sum(
            abs(power) / factor
            for power, factor in zip(phase_power, power_factor, strict=True)
        )
        total_factor = (
            abs(total) / apparent if apparent > 0 else sum(power_factor) / PHASES
        )
        self._power = total
        self.values = MeterValues(
            voltage=_three(voltage),
            current=_three(current),
            phase_power=_three(phase_power),
            phase_power_factor=_three(power_factor),
            power=total,
            power_factor=total_factor,
            frequency=self._frequency.step(seconds, rng),
            energy_import=self._energy_import,
            energy_export=self._energy_export,
        )
        return self.values


def _three(values: tuple[float, ...]) -> tuple[float, float, float]:
    """Return a per-phase tuple as a typed triple."""
    first, second, third = values
    return (first, second, third)
