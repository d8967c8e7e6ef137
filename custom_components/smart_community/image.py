"""Images: the frame of each recognising camera's last event."""

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .camera_entities import async_add_camera_images
from .runtime import SmartCommunityConfigEntry

# Pictures are kept in memory; nothing is fetched from a device.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a last-match image per camera."""
    async_add_camera_images(hass, entry, async_add_entities)
