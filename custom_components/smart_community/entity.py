"""Base entities of the Smart Community integration."""

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from .community.community import Community
from .const import DOMAIN
from .runtime import SmartCommunityConfigEntry, building_from_subentry


class SmartCommunityEntity(Entity):
    """An entity of a community; it is told about changes, never polls."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: SmartCommunityConfigEntry, key: str) -> None:
        """Attach the entity to the community's own device."""
        self.community: Community = entry.runtime_data
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            entry_type=DeviceEntryType.SERVICE,
        )


class BuildingEntity(Entity):
    """An entity of one building of a community."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        key: str,
    ) -> None:
        """Attach the entity to its building's device, under the community's."""
        self.community: Community = entry.runtime_data
        self.building_id = building_from_subentry(subentry).building_id
        self._attr_unique_id = f"{subentry.subentry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            via_device_id=dr.async_get_device_id_by_identifier(
                hass, (DOMAIN, entry.entry_id), config_entry_id=entry.entry_id
            ),
            entry_type=DeviceEntryType.SERVICE,
        )
