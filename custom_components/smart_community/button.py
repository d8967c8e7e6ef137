"""Buttons: restart a charging station, unlock a port."""

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .charging_entities import async_add_charging_buttons
from .runtime import SmartCommunityConfigEntry

# Each press is one request to one station; stations answer them one by one.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charging stations' buttons."""
    async_add_charging_buttons(hass, entry, async_add_entities)
