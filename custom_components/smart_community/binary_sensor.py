"""Binary sensors: terminals' door contacts; whether each lane's camera is in touch."""

from typing import override

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import SUBENTRY_TYPE_FACE_TERMINAL, SUBENTRY_TYPE_PLATE_CAMERA
from .entity import LaneEntity, TerminalEntity
from .runtime import SmartCommunityConfigEntry

# States come from the terminal's events; nothing is polled.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a door contact per terminal door and a connectivity sensor per lane."""
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
