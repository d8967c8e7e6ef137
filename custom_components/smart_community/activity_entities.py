"""Entities of the watched residents: last activity, inactive, and calls for help.

Each watched resident (tagged ``elderly_living_alone``) gets a device below the
community's, named after them, with three entities. They come and go as the
tag is added and removed.
"""

from collections.abc import Callable
from datetime import datetime
from typing import override

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.event import EventEntity
from homeassistant.components.sensor import SensorEntity
from homeassistant.components.sensor.const import SensorDeviceClass
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .community.activity import Sos
from .const import DOMAIN
from .entity import PushedEntity, community_device_id
from .runtime import SmartCommunityConfigEntry

EVENT_SOS = "sos"


def resident_device_identifier(
    entry: SmartCommunityConfigEntry, resident_id: str
) -> tuple[str, str]:
    """Return the device identifier of a watched resident."""
    return (DOMAIN, f"{entry.entry_id}_resident_{resident_id}")


class ResidentEntity(PushedEntity):
    """An entity of one watched resident."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        resident_id: str,
        key: str,
    ) -> None:
        """Attach the entity to the resident's device, below the community's."""
        community = entry.runtime_data
        self.resident_id = resident_id
        self.registry = community.registry
        self.activity = community.activity
        self._attr_unique_id = f"{entry.entry_id}_resident_{resident_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={resident_device_identifier(entry, resident_id)},
            name=self.registry.get_resident(resident_id).name,
            entry_type=DeviceEntryType.SERVICE,
            via_device_id=community_device_id(hass, entry),
        )
        self._attr_extra_state_attributes = {"resident_id": resident_id}

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the resident's activity."""
        await super().async_added_to_hass()
        self.async_on_remove(self.activity.add_listener(self._async_resident_changed))

    @callback
    def _async_resident_changed(self, resident_id: str) -> None:
        """Show a change of this resident."""
        if resident_id == self.resident_id:
            self._async_refresh()
            self.async_write_ha_state()

    @callback
    def _async_refresh(self) -> None:
        """Read the state again (before it is written)."""


class LastActivitySensor(ResidentEntity, SensorEntity):
    """When the resident last showed activity, and from where."""

    _attr_translation_key = "last_activity"
    _attr_device_class = SensorDeviceClass.TIMESTAMP

    def __init__(
        self, hass: HomeAssistant, entry: SmartCommunityConfigEntry, resident_id: str
    ) -> None:
        """Create the sensor."""
        super().__init__(hass, entry, resident_id, "last_activity")
        self._async_refresh()

    @callback
    @override
    def _async_refresh(self) -> None:
        """Read the latest activity."""
        last = self.activity.last(self.resident_id)
        self._attr_native_value = None if last is None else last.at
        self._attr_extra_state_attributes = {
            "resident_id": self.resident_id,
            "source": None if last is None else last.source.value,
            "detail": None if last is None else last.detail,
            # Set before the first activity too (from when watching began), so
            # automations can count the quiet time without a state.
            "quiet_since": self.activity.quiet_since(self.resident_id),
        }


class InactiveBinarySensor(ResidentEntity, BinarySensorEntity):
    """On when the resident has shown nothing for longer than their period."""

    _attr_translation_key = "inactive"
    _attr_device_class = BinarySensorDeviceClass.PROBLEM

    def __init__(
        self, hass: HomeAssistant, entry: SmartCommunityConfigEntry, resident_id: str
    ) -> None:
        """Create the sensor."""
        super().__init__(hass, entry, resident_id, "inactive")
        self._cancel_timer: Callable[[], None] | None = None

    @override
    async def async_added_to_hass(self) -> None:
        """Compute the state and plan its next flip."""
        await super().async_added_to_hass()
        self.async_on_remove(self._cancel)
        self._async_refresh()

    @callback
    def _cancel(self) -> None:
        """Drop the planned flip."""
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None

    @callback
    @override
    def _async_refresh(self) -> None:
        """Compute whether the resident is inactive; plan when that changes."""
        self._cancel()
        now = dt_util.utcnow()
        inactive_from = self.activity.inactive_from(self.resident_id)
        self._attr_is_on = inactive_from is not None and now >= inactive_from
        self._attr_extra_state_attributes = {
            "resident_id": self.resident_id,
            "inactive_from": inactive_from,
            "inactive_after_minutes": round(
                self.activity.links(self.resident_id).inactive_after.total_seconds()
                / 60
            ),
        }
        if inactive_from is not None and now < inactive_from:
            self._cancel_timer = async_track_point_in_utc_time(
                self.hass, self._async_time_passed, inactive_from
            )

    @callback
    def _async_time_passed(self, _now: datetime) -> None:
        """Turn on when the quiet period has passed."""
        self._cancel_timer = None
        self._async_refresh()
        self.async_write_ha_state()


class SosEvent(ResidentEntity, EventEntity):
    """A call for help: the resident's BLE button was pressed."""

    _attr_translation_key = "sos"

    def __init__(
        self, hass: HomeAssistant, entry: SmartCommunityConfigEntry, resident_id: str
    ) -> None:
        """Create the event entity."""
        super().__init__(hass, entry, resident_id, "sos")
        self._attr_event_types = [EVENT_SOS]

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the resident's calls for help."""
        await super().async_added_to_hass()
        self.async_on_remove(self.activity.add_sos_listener(self._async_sos))

    @callback
    def _async_sos(self, resident_id: str, sos: Sos) -> None:
        """Fire the call for help."""
        if resident_id != self.resident_id:
            return
        # Where to go: the push and the building's broadcast name the flat.
        household = self.registry.get_resident(resident_id).household
        self._trigger_event(
            EVENT_SOS,
            {
                "resident_id": resident_id,
                "building": household.building,
                "home": str(household),
                "source": sos.source,
                "press": sos.press,
                "time": sos.at.isoformat(),
            },
        )
        self.async_write_ha_state()


def async_add_resident_entities(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    make: Callable[[HomeAssistant, SmartCommunityConfigEntry, str], Entity],
) -> None:
    """Add one entity per watched resident now, and for each resident watched later.

    Entities of residents no longer watched are removed with their device.
    """
    community = entry.runtime_data
    added: dict[str, Entity] = {}

    @callback
    def sync() -> None:
        watched = community.activity.watched
        new = [resident_id for resident_id in watched if resident_id not in added]
        entities = {resident_id: make(hass, entry, resident_id) for resident_id in new}
        added.update(entities)
        if entities:
            async_add_entities(entities.values())
        for resident_id in [rid for rid in added if rid not in watched]:
            entity = added.pop(resident_id)
            hass.async_create_task(entity.async_remove(force_remove=True))
            _remove_device(hass, entry, resident_id)

    sync()
    entry.async_on_unload(community.registry.add_listener(sync))


@callback
def _remove_device(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry, resident_id: str
) -> None:
    """Remove a resident's device once they are no longer watched."""
    registry = dr.async_get(hass)
    device = registry.async_get_device_by_identifier(
        resident_device_identifier(entry, resident_id), entry.entry_id
    )
    if device is not None:
        registry.async_update_device(device.id, remove_config_entry_id=entry.entry_id)
