"""Locks: each door of a face terminal; unlocking opens it for a moment."""

from typing import Any, override

from homeassistant.components.lock import LockEntity
from homeassistant.components.lock.const import LockEntityFeature
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN, SUBENTRY_TYPE_FACE_TERMINAL
from .entity import TerminalEntity
from .protocols.isapi import DoorCommand, IsapiError
from .runtime import SmartCommunityConfigEntry

# Door commands go to the terminal one at a time.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a lock per door of every face terminal."""
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_FACE_TERMINAL):
        hub = entry.runtime_data.terminals[subentry.subentry_id]
        async_add_entities(
            (TerminalDoorLock(hass, entry, subentry, door) for door in hub.doors),
            config_subentry_id=subentry.subentry_id,
        )


class TerminalDoorLock(TerminalEntity, LockEntity):
    """A door of a face terminal.

    Unlocking opens the door for the time the terminal is set to, as a resident's
    face does; the terminal locks it again by itself. Holding a door open (for an
    evacuation) is a separate action, so that an unlock can never leave it open.
    """

    _attr_translation_key = "door"
    _attr_supported_features = LockEntityFeature.OPEN

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        door: int,
    ) -> None:
        """Create the lock of one door."""
        super().__init__(hass, entry, subentry, f"door_{door}_lock")
        self.door = door
        self._attr_translation_placeholders = {"door": str(door)}

    @property
    @override
    def is_locked(self) -> bool | None:
        """Tell whether the door's lock is closed."""
        return self.hub.doors[self.door].locked

    @override
    async def async_unlock(self, **kwargs: Any) -> None:
        """Open the door for a moment."""
        await self._async_command(DoorCommand.OPEN)

    @override
    async def async_open(self, **kwargs: Any) -> None:
        """Open the door for a moment."""
        await self._async_command(DoorCommand.OPEN)

    @override
    async def async_lock(self, **kwargs: Any) -> None:
        """Lock the door now, ending an opening or a hold."""
        await self._async_command(DoorCommand.CLOSE)

    async def async_hold_open(self) -> None:
        """Keep the door open until released (evacuation)."""
        await self._async_command(DoorCommand.ALWAYS_OPEN)

    async def async_release_hold(self) -> None:
        """End a hold: the door works normally and locks."""
        await self._async_command(DoorCommand.CLOSE)

    async def _async_command(self, command: DoorCommand) -> None:
        """Send a door command; a failure says which terminal and why."""
        try:
            await self.hub.client.control_door(self.door, command)
        except IsapiError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="door_command_failed",
                translation_placeholders={
                    "terminal": self.hub.config.name,
                    "door": str(self.door),
                    "error": str(err),
                },
            ) from err
