"""Model the components a fire-alarm transmission device reports, and make them.

Generated component addresses follow ``building * 10000 + floor * 100 + n``
(building = its position in the scenario, from 1; site-wide components use
building 0), so they are unique, stable across runs, and two detectors on the
same floor share ``address // 100``.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from simulator.devices.gb26875.objects import (
    ParameterType,
    StateFlag,
    fit_description,
)
from simulator.jsonvalue import JSONObject, JSONValue
from simulator.scenario import Building

# A stand-in when the scenario has no buildings.
DEFAULT_BUILDING: Final = Building("1", "1号楼", units=1, floors=6, rooms_per_floor=2)
# Generated numbers on a floor: at most this many components per floor.
MAX_PER_FLOOR: Final = 99
MAX_FLOORS: Final = 99
# Base readings of the generated sensors (drift moves around them).
HYDRANT_PRESSURE_KPA: Final = 350.0
TANK_LEVEL_M: Final = 4.20


class SystemType(IntEnum):
    """Name the system types (系统类型) the simulator uses."""

    FIRE_ALARM = 1
    HYDRANT = 11
    SPRINKLER = 12


class ComponentType(IntEnum):
    """Name the component types (部件类型) the simulator uses."""

    MANUAL_CALL_POINT = 23
    HEAT_DETECTOR = 30
    SMOKE_DETECTOR = 40
    FIRE_PUMP = 91
    WATER_TANK = 92
    PRESSURE_SWITCH = 99


DETECTOR_TYPES: Final = frozenset(
    {ComponentType.SMOKE_DETECTOR, ComponentType.HEAT_DETECTOR}
)

# Names of the state bits above bit 0, as the control API lists them.
STATE_BIT_NAMES: Final = (
    (StateFlag.FIRE_ALARM, "fire_alarm"),
    (StateFlag.FAULT, "fault"),
    (StateFlag.DISABLED, "disabled"),
    (StateFlag.SUPERVISORY, "supervisory"),
    (StateFlag.STARTED, "started"),
    (StateFlag.FEEDBACK, "feedback"),
    (StateFlag.DELAYED, "delayed"),
    (StateFlag.POWER_FAULT, "power_fault"),
)
# What a reset clears: events, not configuration (disabled, test).
EVENT_BITS: Final = (
    StateFlag.FIRE_ALARM
    | StateFlag.FAULT
    | StateFlag.SUPERVISORY
    | StateFlag.STARTED
    | StateFlag.FEEDBACK
    | StateFlag.DELAYED
    | StateFlag.POWER_FAULT
)


def state_bit_names(state: int) -> list[JSONValue]:
    """Name the bits of a component state: "normal" or "test", then the rest."""
    names: list[JSONValue] = ["normal" if state & StateFlag.NORMAL else "test"]
    names.extend(name for flag, name in STATE_BIT_NAMES if state & flag)
    return names


@dataclass(slots=True)
class Component:
    """Hold one component: where it sits in which system, and its live state."""

    address: int
    description: str
    component_type: int = ComponentType.SMOKE_DETECTOR
    system_type: int = SystemType.FIRE_ALARM
    system_address: int = 1
    state: StateFlag = StateFlag.NORMAL
    parameter_type: ParameterType | None = None
    # The reading in the parameter's unit, and the level drift moves around.
    value: float | None = None
    base_value: float | None = None

    @property
    def system(self) -> tuple[int, int]:
        """Return the system it belongs to: (system type, system address)."""
        return self.system_type, self.system_address

    @property
    def floor_group(self) -> int:
        """Return what components on the same floor share (``address // 100``)."""
        return self.address // 100

    def to_json(self) -> JSONObject:
        """Return the component as the control API lists it."""
        entry: JSONObject = {
            "address": self.address,
            "system_type": self.system_type,
            "system_address": self.system_address,
            "component_type": self.component_type,
            "description": self.description,
            "state": int(self.state),
            "bits": state_bit_names(self.state),
        }
        if self.parameter_type is not None:
            entry["parameter_type"] = int(self.parameter_type)
            entry["value"] = self.value
            entry["unit"] = self.parameter_type.unit.name
        return entry


def _controller(index: int, controllers: int) -> int:
    """Return the controller (system address) that serves building ``index``."""
    return (index - 1) % controllers + 1


def _address(building: int, floor: int, number: int) -> int:
    """Return the address of component ``number`` on a floor of a building."""
    return building * 10_000 + floor * 100 + number


def detector_floors(floors: int) -> list[int]:
    """Return the floors that get corridor detectors: 1, 2, every 3rd and the top."""
    chosen = {1, 2, floors, *range(3, floors + 1, 3)}
    return sorted(floor for floor in chosen if 1 <= floor <= floors)


def default_components(
    buildings: Sequence[Building], controllers: int
) -> list[Component]:
    """Return a community's usual components, building by building.

    Every building gets two smoke detectors (corridor and lift lobby) on the
    floors of ``detector_floors``, a manual call point in the ground-floor
    lobby, a hydrant-main pressure sensor (kPa) and a roof tank level (m);
    the site gets one fire pump.
    """
    components = [
        Component(
            address=_address(0, 0, 1),
            description="消防泵房1号消火栓泵",
            component_type=ComponentType.FIRE_PUMP,
            system_type=SystemType.HYDRANT,
        )
    ]
    for index, building in enumerate(buildings or [DEFAULT_BUILDING], start=1):
        controller = _controller(index, controllers)
        floors = min(building.floors, MAX_FLOORS)
        name = building.name
        for floor in detector_floors(floors):
            for number, place in ((1, "走廊"), (2, "前室")):
                components.append(
                    Component(
                        address=_address(index, floor, number),
                        description=fit_description(f"{name}{floor}层{place}烟感"),
                        system_address=controller,
                    )
                )
        components.append(
            Component(
                address=_address(index, 1, 10),
                description=fit_description(f"{name}1层大堂手报"),
                component_type=ComponentType.MANUAL_CALL_POINT,
                system_address=controller,
            )
        )
        # A little spread between buildings makes the readings tell them apart.
        pressure = HYDRANT_PRESSURE_KPA + 5.0 * (index % 4)
        components.append(
            Component(
                address=_address(index, 1, 20),
                description=fit_description(f"{name}消火栓管网压力"),
                component_type=ComponentType.PRESSURE_SWITCH,
                system_type=SystemType.HYDRANT,
                system_address=controller,
                parameter_type=ParameterType.PRESSURE_KPA,
                value=pressure,
                base_value=pressure,
            )
        )
        level = round(TANK_LEVEL_M - 0.05 * (index % 3), 2)
        components.append(
            Component(
                address=_address(index, floors, 30),
                description=fit_description(f"{name}屋顶消防水箱液位"),
                component_type=ComponentType.WATER_TANK,
                system_type=SystemType.HYDRANT,
                system_address=controller,
                parameter_type=ParameterType.HEIGHT,
                value=level,
                base_value=level,
            )
        )
    return components


def generated_detectors(
    buildings: Sequence[Building], count: int, controllers: int
) -> list[Component]:
    """Return exactly ``count`` smoke detectors spread over the buildings.

    They are dealt to the buildings in turn and, within a building, to its
    floors in turn, so floors fill evenly; raise ``ValueError`` if a floor
    would need more than MAX_PER_FLOOR of them.
    """
    chosen = list(buildings or [DEFAULT_BUILDING])
    components: list[Component] = []
    for serial in range(count):
        index = serial % len(chosen) + 1
        building = chosen[index - 1]
        floors = min(building.floors, MAX_FLOORS)
        slot = serial // len(chosen)
        floor = slot % floors + 1
        number = slot // floors + 1
        if number > MAX_PER_FLOOR:
            raise ValueError(
                f"{count} detectors need more than {MAX_PER_FLOOR} per floor "
                "in this scenario's buildings"
            )
        components.append(
            Component(
                address=_address(index, floor, number),
                description=fit_description(f"{building.name}{floor}层{number}号烟感"),
                system_address=_controller(index, controllers),
            )
        )
    return components


def default_alarm_target(components: Iterable[Component]) -> Component | None:
    """Return a smoke detector on a middle floor of the first building."""
    detectors = [
        c for c in components if c.component_type == ComponentType.SMOKE_DETECTOR
    ]
    if not detectors:
        return None
    first_building = min(c.address // 10_000 for c in detectors)
    mine = sorted(
        (c for c in detectors if c.address // 10_000 == first_building),
        key=lambda c: c.address,
    )
    floors = sorted({c.floor_group for c in mine})
    middle = floors[len(floors) // 2]
    return next(c for c in mine if c.floor_group == middle)


def neighbour_of(
    target: Component, components: Iterable[Component]
) -> Component | None:
    """Return the nearest other detector on the same floor as ``target``, if any."""
    same_floor = [
        c
        for c in components
        if c is not target
        and c.floor_group == target.floor_group
        and c.component_type in DETECTOR_TYPES
    ]
    if not same_floor:
        return None
    return min(same_floor, key=lambda c: (abs(c.address - target.address), c.address))
