"""Binary sensors: the door contact of each door of a face terminal."""

from typing import override

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import SUBENTRY_TYPE_FACE_TERMINAL
from .entity import TerminalEntity
from .runtime import SmartCommunityConfigEntry

# States come from the terminal's events; nothing is polled.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a door contact per door of every face terminal."""
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_FACE_TERMINAL):
        hub = entry.runtime_data.terminals[subentry.subentry_id]
        async_add_entities(
            (TerminalDoorContact(hass, entry, subentry, door) for door in hub.doors),
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
