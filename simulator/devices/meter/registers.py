"""Lay out a simulated meter's registers as the real models encode them.

The simulator keeps its own copy of each model's register map (it never
imports the integration), written from the vendors' tables: a value in SI
units is divided by the register's scale and stored as an IEEE 754 float32 in
two registers, high word first. Every register of a layout's regions answers,
the unmodelled ones with 0, so a client may read across them in one request.
"""

from collections.abc import Mapping
from dataclasses import dataclass
import struct
from typing import Final


@dataclass(frozen=True, slots=True)
class MeterRegister:
    """Place one value: its name in the meter's readings, address and scale."""

    field: str
    address: int
    # The SI value is the register's raw value times this.
    scale: float = 1.0


@dataclass(frozen=True, slots=True)
class MeterLayout:
    """Describe one meter model's registers and the ranges it answers for."""

    name: str
    # Half-open address ranges [start, end) the meter answers for.
    regions: tuple[tuple[int, int], ...]
    registers: tuple[MeterRegister, ...]

    def __post_init__(self) -> None:
        """Refuse a register outside the regions: it could never be read."""
        for register in self.registers:
            if not any(
                start <= register.address and register.address + 2 <= end
                for start, end in self.regions
            ):
                raise ValueError(
                    f"{self.name}: {register.field} at {register.address} "
                    "lies outside the answered regions"
                )

    @property
    def start(self) -> int:
        """Return the first address of the layout."""
        return min(start for start, _ in self.regions)

    @property
    def span(self) -> int:
        """Return how many addresses lie between the first and the last register."""
        return max(end for _, end in self.regions) - self.start

    def encode(self, values: Mapping[str, float]) -> list[int]:
        """Return the register image from ``start`` on, with ``values`` in raw units."""
        image = [0] * self.span
        base = self.start
        for register in self.registers:
            raw = values[register.field] / register.scale
            high, low = struct.unpack(">HH", struct.pack(">f", raw))
            image[register.address - base] = high
            image[register.address - base + 1] = low
        return image


# Chint DTSU666 (FC04, also answered on FC03): phase voltages in 0.1 V, currents
# in 0.001 A, powers in 0.1 W, power factors in 0.001, frequency in 0.01 Hz,
# energies in kWh. Energy sits at 0x4000 (import) and 0x400A (export) and again
# at 0x401E/0x4028, the "current" energy some firmware lists.
DTSU666: Final = MeterLayout(
    name="dtsu666",
    regions=((0x2000, 0x2052), (0x4000, 0x402A)),
    registers=(
        MeterRegister("voltage_l1", 0x2006, 0.1),
        MeterRegister("voltage_l2", 0x2008, 0.1),
        MeterRegister("voltage_l3", 0x200A, 0.1),
        MeterRegister("current_l1", 0x200C, 0.001),
        MeterRegister("current_l2", 0x200E, 0.001),
        MeterRegister("current_l3", 0x2010, 0.001),
        MeterRegister("power", 0x2012, 0.1),
        MeterRegister("power_l1", 0x2014, 0.1),
        MeterRegister("power_l2", 0x2016, 0.1),
        MeterRegister("power_l3", 0x2018, 0.1),
        MeterRegister("power_factor", 0x202A, 0.001),
        MeterRegister("power_factor_l1", 0x202C, 0.001),
        MeterRegister("power_factor_l2", 0x202E, 0.001),
        MeterRegister("power_factor_l3", 0x2030, 0.001),
        MeterRegister("frequency", 0x2044, 0.01),
        MeterRegister("energy_import", 0x4000),
        MeterRegister("energy_export", 0x400A),
        MeterRegister("energy_import", 0x401E),
        MeterRegister("energy_export", 0x4028),
    ),
)

# Eastron SDM630 (FC04, also answered on FC03): float32 in SI units; parameter n
# of Eastron's table is input register 3000n at address 2(n - 1).
SDM630: Final = MeterLayout(
    name="sdm630",
    regions=((0x0000, 0x0050),),
    registers=(
        MeterRegister("voltage_l1", 0),
        MeterRegister("voltage_l2", 2),
        MeterRegister("voltage_l3", 4),
        MeterRegister("current_l1", 6),
        MeterRegister("current_l2", 8),
        MeterRegister("current_l3", 10),
        MeterRegister("power_l1", 12),
        MeterRegister("power_l2", 14),
        MeterRegister("power_l3", 16),
        MeterRegister("power_factor_l1", 30),
        MeterRegister("power_factor_l2", 32),
        MeterRegister("power_factor_l3", 34),
        MeterRegister("power", 52),
        MeterRegister("power_factor", 62),
        MeterRegister("frequency", 70),
        MeterRegister("energy_import", 72),
        MeterRegister("energy_export", 74),
    ),
)

LAYOUTS: Final[Mapping[str, MeterLayout]] = {
    layout.name: layout for layout in (DTSU666, SDM630)
}
