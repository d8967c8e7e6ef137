"""Binary sensors: door contacts, lane cameras, fire panels and their components."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .activity_entities import InactiveBinarySensor, async_add_resident_entities
from .camera_entities import async_add_camera_binary_sensors
from .charging_entities import async_add_charging_binary_sensors
from .community.fire import FireComponent, FirePanel
from .const import (
    SUBENTRY_TYPE_FACE_TERMINAL,
    SUBENTRY_TYPE_FIRE_PANEL,
    SUBENTRY_TYPE_PLATE_CAMERA,
)
from .entity import (
    FireComponentEntity,
    FirePanelEntity,
    LaneEntity,
    TerminalEntity,
    panel_device_id,
)
from .protocols.gb26875 import is_gas_detector, is_heat_detector, is_smoke_detector
from .runtime import SmartCommunityConfigEntry

# States come from the terminal's events; nothing is polled.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add door contacts, lane connectivity, and fire panels' sensors.

    A fire panel's components get their sensors as they first report.
    """
    async_add_charging_binary_sensors(hass, entry, async_add_entities)
    async_add_resident_entities(hass, entry, async_add_entities, InactiveBinarySensor)
    async_add_camera_binary_sensors(hass, entry, async_add_entities)
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_FACE_TERMINAL):
        hub = entry.runtime_data.terminals[subentry.subentry_id]
        async_add_entities(
            (TerminalDoorContact(hass, entry, subentry, door) for door in hub.doors),
            config_subentry_id=subentry.subentry_id,
        )
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_PLATE_CAMERA):
        async_add_entities(
            [LaneCameraConnected(hass, entry, subentry)],
            config_subentry_id=subentry.subentry_id,
        )
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_FIRE_PANEL):
        panel = entry.runtime_data.fire_panels[subentry.subentry_id]
        async_add_entities(
            (
                FirePanelBinarySensor(hass, entry, subentry, description)
                for description in FIRE_PANEL_SENSORS
            ),
            config_subentry_id=subentry.subentry_id,
        )
        add_component = _component_adder(
            panel,
            panel_device_id(hass, entry, panel),
            async_add_entities,
            subentry.subentry_id,
        )
        for component_id in panel.components:
            add_component(component_id)
        entry.async_on_unload(panel.component_added.add(add_component))


def _component_adder(
    panel: FirePanel,
    device_id: str,
    async_add_entities: AddConfigEntryEntitiesCallback,
    subentry_id: str,
) -> Callable[[str], None]:
    """Return what adds the fire and fault sensors of a panel's component."""

    @callback
    def add_component(component_id: str) -> None:
        component = panel.components[component_id]
        async_add_entities(
            [
                ComponentFireAlarm(panel, device_id, component),
                ComponentFault(panel, device_id, component),
            ],
            config_subentry_id=subentry_id,
        )

    return add_component


class TerminalDoorContact(TerminalEntity, BinarySensorEntity):
    """Whether a door stands open, from the terminal's magnetic contact."""

    _attr_translation_key = "door_contact"
    _attr_device_class = BinarySensorDeviceClass.DOOR

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        door: int,
    ) -> None:
        """Create the contact of one door."""
        super().__init__(hass, entry, subentry, f"door_{door}_contact")
        self.door = door
        self._attr_translation_placeholders = {"door": str(door)}

    @property
    @override
    def is_on(self) -> bool | None:
        """Tell whether the door is open."""
        return self.hub.doors[self.door].open


class LaneCameraConnected(LaneEntity, BinarySensorEntity):
    """Whether a lane's camera pushed or polled recently."""

    _attr_translation_key = "camera_connected"
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Create the connectivity sensor of a lane."""
        super().__init__(hass, entry, subentry, "camera_connected")

    @property
    @override
    def available(self) -> bool:
        """Stay available: it reports the camera being away."""
        return True

    @property
    @override
    def is_on(self) -> bool:
        """Tell whether the camera is in touch."""
        return self.lane.connected


@dataclass(frozen=True, kw_only=True)
class FirePanelBinarySensorEntityDescription(BinarySensorEntityDescription):
    """Describes a state of a fire-alarm transmission device."""

    is_on_fn: Callable[[FirePanel], bool]


FIRE_PANEL_SENSORS: tuple[FirePanelBinarySensorEntityDescription, ...] = (
    FirePanelBinarySensorEntityDescription(
        key="connected",
        translation_key="transmitter_connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda panel: panel.connected,
    ),
    FirePanelBinarySensorEntityDescription(
        key="fire_alarm",
        translation_key="panel_fire_alarm",
        device_class=BinarySensorDeviceClass.SAFETY,
        is_on_fn=lambda panel: panel.fire_alarm,
    ),
    FirePanelBinarySensorEntityDescription(
        key="main_power_fault",
        translation_key="main_power_fault",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda panel: panel.main_power_fault,
    ),
    FirePanelBinarySensorEntityDescription(
        key="backup_power_fault",
        translation_key="backup_power_fault",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda panel: panel.backup_power_fault,
    ),
)


class FirePanelBinarySensor(FirePanelEntity, BinarySensorEntity):
    """A state of a transmission device: link, fire, power."""

    entity_description: FirePanelBinarySensorEntityDescription

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        description: FirePanelBinarySensorEntityDescription,
    ) -> None:
        """Create one of the device's sensors."""
        super().__init__(hass, entry, subentry, description.key)
        self.entity_description = description

    @property
    @override
    def available(self) -> bool:
        """Stay available: the connectivity sensor reports the link being down."""
        return self.entity_description.key == "connected" or self.panel.connected

    @property
    @override
    def is_on(self) -> bool:
        """Tell whether the state holds."""
        return self.entity_description.is_on_fn(self.panel)


def fire_device_class(component_type: int) -> BinarySensorDeviceClass:
    """Say what a component's fire alarm means: smoke, heat, gas, or just unsafe."""
    if is_smoke_detector(component_type):
        return BinarySensorDeviceClass.SMOKE
    if is_heat_detector(component_type):
        return BinarySensorDeviceClass.HEAT
    if is_gas_detector(component_type):
        return BinarySensorDeviceClass.GAS
    return BinarySensorDeviceClass.SAFETY


class ComponentFireAlarm(FireComponentEntity, BinarySensorEntity):
    """Whether a detector, call point or other component is in fire alarm."""

    _attr_translation_key = "fire_alarm"

    def __init__(
        self, panel: FirePanel, device_id: str, component: FireComponent
    ) -> None:
        """Create the fire sensor of a component."""
        super().__init__(panel, device_id, component, "fire_alarm")
        self._attr_device_class = fire_device_class(component.component_type)

    @property
    @override
    def is_on(self) -> bool:
        """Tell whether the component reports fire."""
        return self.component.fire_alarm


class ComponentFault(FireComponentEntity, BinarySensorEntity):
    """Whether a component reports a fault."""

    _attr_translation_key = "component_fault"
    _attr_device_class = BinarySensorDeviceClass.PROBLEM

    def __init__(
        self, panel: FirePanel, device_id: str, component: FireComponent
    ) -> None:
        """Create the fault sensor of a component."""
        super().__init__(panel, device_id, component, "fault")

    @property
    @override
    def is_on(self) -> bool:
        """Tell whether the component reports a fault."""
        return self.component.fault
