"""Covers: the barrier of each gate lane.

The camera raises the barrier only in reply to its own requests, so opening it
from Home Assistant queues the command for the camera's next heartbeat; the
``open_command`` attribute says whether it is waiting, delivered or expired.
Barriers close by themselves behind the vehicle, and nothing reports their
position, so the state is assumed.
"""

from typing import Any, override

from homeassistant.components.cover import (
    CoverDeviceClass,
    CoverEntity,
    CoverEntityFeature,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .community.gates import OpenCommand
from .const import SUBENTRY_TYPE_PLATE_CAMERA
from .entity import LaneEntity
from .runtime import SmartCommunityConfigEntry

# Opening only queues a command; nothing waits on the camera.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a barrier per gate lane."""
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_PLATE_CAMERA):
        async_add_entities(
            [LaneBarrier(hass, entry, subentry)],
            config_subentry_id=subentry.subentry_id,
        )


class LaneBarrier(LaneEntity, CoverEntity):
    """The barrier of a lane, opened by the camera that reads the plates."""

    _attr_translation_key = "barrier"
    _attr_device_class = CoverDeviceClass.GATE
    _attr_supported_features = CoverEntityFeature.OPEN
    _attr_assumed_state = True

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Create the barrier of a lane."""
        super().__init__(hass, entry, subentry, "barrier")

    @property
    @override
    def is_closed(self) -> bool:
        """Tell whether the barrier is down, as far as anyone knows."""
        return not self.lane.gate_open

    @property
    @override
    def is_opening(self) -> bool:
        """Show an open that waits for the camera as opening."""
        return self.lane.open_command is OpenCommand.QUEUED

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Say where the last manual open stands."""
        command = self.lane.open_command
        return {"open_command": command.value if command is not None else None}

    @override
    async def async_open_cover(self, **kwargs: Any) -> None:
        """Queue an open for the camera's next heartbeat."""
        self.lane.request_open()
