"""Model the battery an e-bike charger fills: its power curve and state of charge.

E-bike chargers (48-60 V lithium-ion or lead-acid packs) draw a roughly constant
150-250 W from the mains while the pack is below about 80 % (the constant-current
phase), then taper as the voltage reaches its limit (constant voltage) down to a
trickle of a few watts once the pack is full. The taper is linear in the state of
charge, which keeps the last 20 % at about two hours at real speed, as on real
chargers.
"""

from dataclasses import dataclass
from enum import StrEnum
import random
from typing import Final, Self


class Profile(StrEnum):
    """Name how a plugged-in e-bike charges."""

    # Constant power to 80 %, then tapering to a trickle at 100 %.
    CHARGING = "charging"
    # Already full: a trickle of a few watts only.
    FULL = "full"
    # Charges normally, while the port temperature climbs towards 90 °C.
    OVERHEAT = "overheat"
    # A modified or faulty charger drawing about 1.5 kW.
    OVERPOWER = "overpower"


# Where the constant-current phase ends and the taper starts.
CV_START_SOC: Final = 0.8
_CONSTANT_WATTS: Final = (150.0, 250.0)
_TRICKLE_WATTS: Final = (3.0, 8.0)
_OVERPOWER_WATTS: Final = (1450.0, 1550.0)
# Charger and pack losses: the mains energy that does not end up in the pack.
_EFFICIENCY: Final = 0.85
_SECONDS_PER_HOUR: Final = 3600.0


@dataclass(slots=True)
class Battery:
    """Hold one plugged-in pack: its charge and the power its charger draws."""

    profile: Profile
    soc: float
    capacity_wh: float
    constant_watts: float
    trickle_watts: float

    @classmethod
    def plugged(
        cls, profile: Profile, soc: float, capacity_wh: float, rng: random.Random
    ) -> Self:
        """Return a pack just plugged in; the charger's powers vary per session."""
        constant = rng.uniform(*_CONSTANT_WATTS)
        if profile is Profile.OVERPOWER:
            constant = rng.uniform(*_OVERPOWER_WATTS)
        return cls(
            profile=profile,
            soc=1.0 if profile is Profile.FULL else min(max(soc, 0.0), 1.0),
            capacity_wh=capacity_wh,
            constant_watts=round(constant, 1),
            trickle_watts=round(rng.uniform(*_TRICKLE_WATTS), 1),
        )

    def power(self) -> float:
        """Return the mains power the charger draws now, in W."""
        if self.profile is Profile.OVERPOWER:
            return self.constant_watts
        if self.soc >= 1.0:
            return self.trickle_watts
        if self.soc < CV_START_SOC:
            return self.constant_watts
        remaining = (1.0 - self.soc) / (1.0 - CV_START_SOC)
        return self.trickle_watts + (self.constant_watts - self.trickle_watts) * min(
            remaining, 1.0
        )

    def charge(self, watts: float, seconds: float) -> None:
        """Store what ``watts`` from the mains put into the pack in ``seconds``."""
        stored = watts * seconds * _EFFICIENCY / _SECONDS_PER_HOUR
        self.soc = min(self.soc + stored / self.capacity_wh, 1.0)
