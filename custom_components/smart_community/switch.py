"""Switches: charging and availability of each charging port."""

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .charging_entities import async_add_charging_switches
from .runtime import SmartCommunityConfigEntry

# Commands go to the stations, which answer them one by one per connection.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charging ports' switches."""
    async_add_charging_switches(hass, entry, async_add_entities)
