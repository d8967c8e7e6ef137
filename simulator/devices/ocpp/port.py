"""Model one port (OCPP connector) of an e-bike charging pile.

A port has an energy register that only grows, a temperature sensor in its
socket, a status derived from what is plugged in and what went wrong, and at
most one open transaction with a battery behind it.
"""

from dataclasses import dataclass
import math
import random
from typing import Final

from simulator.devices.ocpp.battery import Battery, Profile
from simulator.jsonvalue import JSONObject

NO_ERROR: Final = "NoError"
# The sensor of an overheating socket gives up rising here.
OVERHEAT_CEILING_C: Final = 90.0
# How many degrees an overheating socket gains per meter interval.
OVERHEAT_STEP_C: Final = 2.0
# Socket warming: degrees per watt drawn, at most this much above ambient.
_WARMING_C_PER_W: Final = 0.01
_MAX_WARMING_C: Final = 25.0
# How quickly (simulated seconds) a socket's temperature follows its load.
_THERMAL_TIME_CONSTANT: Final = 120.0
# Integration steps: at most this many simulated seconds, at most this many steps.
_MAX_STEP_SECONDS: Final = 30.0
_MAX_STEPS: Final = 2000
_AMBIENT_C: Final = (26.0, 32.0)
_VOLTAGE_SPREAD: Final = 1.5


@dataclass(frozen=True, slots=True)
class Sample:
    """Hold one meter reading of a port, in the units MeterValues reports."""

    energy_wh: float
    power_w: float
    current_a: float
    voltage_v: float
    temperature_c: float


class Port:
    """Hold one connector's meter, temperature, status and transaction."""

    def __init__(self, number: int, rng: random.Random, voltage: float) -> None:
        """Start idle, with years of energy on the register already."""
        self.number = number
        # A pile in service has counted a few kWh per port already.
        self.energy_wh = round(rng.uniform(2_000.0, 9_000.0), 1)
        self.ambient_c = round(rng.uniform(*_AMBIENT_C), 1)
        self.temperature_c = self.ambient_c
        self.voltage_v = round(
            voltage + rng.uniform(-_VOLTAGE_SPREAD, _VOLTAGE_SPREAD), 1
        )
        self.battery: Battery | None = None
        self.transaction_id: int | None = None
        self.id_tag: str | None = None
        self.error_code = NO_ERROR
        self.vendor_error_code: str | None = None
        # ChangeAvailability: Operative or not, and "Inoperative once the
        # transaction ends" (Scheduled).
        self.operative = True
        self.unavailable_scheduled = False
        # Plugged in, not (yet) authorised: Preparing.
        self.preparing = False
        # Transaction stopped remotely, plug still in: Finishing.
        self.finishing = False
        self.power_override: float | None = None
        self.temperature_override: float | None = None

    # --- status ------------------------------------------------------------------

    @property
    def faulted(self) -> bool:
        """Say whether the port reports a fault."""
        return self.error_code != NO_ERROR

    @property
    def status(self) -> str:
        """Return the OCPP ChargePointStatus the port reports."""
        if self.faulted:
            return "Faulted"
        if self.transaction_id is not None:
            return "Charging"
        if not self.operative:
            return "Unavailable"
        if self.finishing:
            return "Finishing"
        if self.preparing:
            return "Preparing"
        return "Available"

    @property
    def free(self) -> bool:
        """Say whether a session may start here (remotely or by plugging in)."""
        return (
            self.transaction_id is None
            and not self.faulted
            and self.operative
            and not self.finishing
        )

    def begin(self, transaction_id: int, id_tag: str, battery: Battery) -> None:
        """Open a transaction with a battery behind it."""
        self.transaction_id = transaction_id
        self.id_tag = id_tag
        self.battery = battery
        self.preparing = self.finishing = False

    def end(self, *, finishing: bool) -> None:
        """Close the transaction; the plug stays in (Finishing) or is out."""
        self.transaction_id = None
        self.id_tag = None
        self.battery = None
        self.preparing = False
        self.finishing = finishing
        if self.unavailable_scheduled:
            self.operative = False
            self.unavailable_scheduled = False

    # --- physics -----------------------------------------------------------------

    def power_w(self) -> float:
        """Return the power drawn now: 0 when faulted or idle, else the profile's."""
        if self.faulted:
            return 0.0
        if self.power_override is not None:
            return self.power_override
        if self.battery is None or self.transaction_id is None:
            return 0.0
        return self.battery.power()

    def advance(self, seconds: float, meter_interval: float) -> None:
        """Let ``seconds`` of simulated time pass: count energy, charge, warm up."""
        if seconds <= 0:
            return
        steps = min(max(math.ceil(seconds / _MAX_STEP_SECONDS), 1), _MAX_STEPS)
        step = seconds / steps
        # "2 °C per meter interval"; without periodic meter values, per 10 s.
        overheat_rate = OVERHEAT_STEP_C / (meter_interval or 10.0)
        for _ in range(steps):
            watts = self.power_w()
            self.energy_wh += watts * step / 3600.0
            battery = self.battery
            if battery is not None and self.transaction_id is not None:
                battery.charge(watts, step)
            self._warm(watts, step, overheat_rate)

    def _warm(self, watts: float, seconds: float, overheat_rate: float) -> None:
        """Move the socket temperature for one step."""
        if self.temperature_override is not None:
            self.temperature_c = self.temperature_override
            return
        battery = self.battery
        if (
            battery is not None
            and battery.profile is Profile.OVERHEAT
            and self.transaction_id is not None
            and not self.faulted
        ):
            if self.temperature_c < OVERHEAT_CEILING_C:
                self.temperature_c = min(
                    self.temperature_c + overheat_rate * seconds, OVERHEAT_CEILING_C
                )
            return
        target = self.ambient_c + min(watts * _WARMING_C_PER_W, _MAX_WARMING_C)
        share = 1.0 - math.exp(-seconds / _THERMAL_TIME_CONSTANT)
        self.temperature_c += (target - self.temperature_c) * share

    def sample(self) -> Sample:
        """Return the meter reading now."""
        power = self.power_w()
        return Sample(
            energy_wh=self.energy_wh,
            power_w=power,
            current_a=power / self.voltage_v,
            voltage_v=self.voltage_v,
            temperature_c=self.temperature_c,
        )

    def to_json(self) -> JSONObject:
        """Return the port's live state for the control API."""
        battery = self.battery
        return {
            "port": self.number,
            "status": self.status,
            "error_code": self.error_code,
            "vendor_error_code": self.vendor_error_code,
            "transaction_id": self.transaction_id,
            "id_tag": self.id_tag,
            "profile": str(battery.profile) if battery else None,
            "power_w": round(self.power_w(), 1),
            "energy_wh": round(self.energy_wh, 1),
            "temperature_c": round(self.temperature_c, 1),
            "soc": round(battery.soc, 4) if battery else None,
            "available": self.operative,
            "unavailable_scheduled": self.unavailable_scheduled,
            "power_override": self.power_override,
            "temperature_override": self.temperature_override,
        }
