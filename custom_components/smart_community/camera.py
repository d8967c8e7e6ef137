"""Cameras: the snapshot of each face terminal, and the recognising cameras."""

from typing import override

from homeassistant.components.camera import Camera
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .camera_entities import async_add_camera_cameras
from .const import DOMAIN, SUBENTRY_TYPE_FACE_TERMINAL
from .entity import TerminalEntity
from .protocols.isapi import IsapiError
from .runtime import SmartCommunityConfigEntry

# One snapshot at a time per terminal: they are slow to encode.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a snapshot camera per face terminal and each recognising camera."""
    async_add_camera_cameras(hass, entry, async_add_entities)
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_FACE_TERMINAL):
        async_add_entities(
            [TerminalSnapshotCamera(hass, entry, subentry)],
            config_subentry_id=subentry.subentry_id,
        )


class TerminalSnapshotCamera(TerminalEntity, Camera):
    """What a face terminal's camera sees, as a still image on request."""

    _attr_translation_key = "snapshot"

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Create the snapshot camera of a terminal."""
        TerminalEntity.__init__(self, hass, entry, subentry, "snapshot")
        Camera.__init__(self)

    @override
    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Fetch a JPEG from the terminal."""
        try:
            return await self.hub.client.snapshot()
        except IsapiError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="snapshot_failed",
                translation_placeholders={
                    "terminal": self.hub.config.name,
                    "error": str(err),
                },
            ) from err
