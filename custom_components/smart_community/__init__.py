"""The Smart Community integration: a residential community's operations centre."""

from homeassistant.const import CONF_NAME, EVENT_HOMEASSISTANT_FINAL_WRITE, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.typing import ConfigType

from .activity import async_start_activity
from .broadcast import async_start_broadcast
from .charging import async_remove_charging_store, async_start_charging
from .community.community import Community
from .const import DOMAIN
from .enrolling import async_start_enrolment
from .faces import FaceStore
from .fire import FireStore, async_start_fire_panels, fire_component_of
from .gate import ParkingStore, async_start_lanes
from .meter import async_start_meters
from .recognition import async_remove_gallery, async_start_recognition
from .runtime import (
    SmartCommunityConfigEntry,
    buildings_of,
    device_subentries,
    signal_subentries_added,
)
from .services import async_setup_services
from .store import ResidentsStore
from .terminal import async_start_terminals

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CAMERA,
    Platform.COVER,
    Platform.EVENT,
    Platform.IMAGE,
    Platform.LOCK,
    Platform.MEDIA_PLAYER,
    Platform.SENSOR,
    Platform.SWITCH,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions, which work on any loaded community."""
    async_setup_services(hass)
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> bool:
    """Set up a community from its config entry."""
    store = ResidentsStore(hass, entry.entry_id, entry.data[CONF_NAME])
    registry = await store.async_load()
    buildings = buildings_of(entry)
    entry.runtime_data = Community(entry.data[CONF_NAME], registry, buildings.values())
    # Buildings hang below the community's device, so it must exist before them.
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        entry_type=dr.DeviceEntryType.SERVICE,
    )

    await async_start_terminals(hass, entry)
    await async_start_enrolment(hass, entry)
    await async_start_lanes(hass, entry)
    await async_start_meters(hass, entry)
    await async_start_fire_panels(hass, entry)
    await async_start_broadcast(hass, entry)
    await async_start_charging(hass, entry)
    await async_start_recognition(hass, entry)
    await async_start_activity(hass, entry)

    entry.async_on_unload(registry.add_listener(store.async_schedule_save))
    entry.async_on_unload(store.async_close)

    async def async_write_on_shutdown(_event: Event) -> None:
        await store.async_write_pending()

    entry.async_on_unload(
        hass.bus.async_listen(EVENT_HOMEASSISTANT_FINAL_WRITE, async_write_on_shutdown)
    )

    known_buildings = dict(buildings)
    known_data = dict(entry.data)
    known_devices = device_subentries(entry)

    async def async_entry_updated(
        hass: HomeAssistant, entry: SmartCommunityConfigEntry
    ) -> None:
        """Add new buildings in place; reload for any other change."""
        current = buildings_of(entry)
        if dict(entry.data) != known_data or any(
            current.get(subentry_id) != building
            for subentry_id, building in known_buildings.items()
        ):
            hass.config_entries.async_schedule_reload(entry.entry_id)
            return
        if known_devices != device_subentries(entry):
            hass.config_entries.async_schedule_reload(entry.entry_id)
            return
        added = {
            subentry_id: building
            for subentry_id, building in current.items()
            if subentry_id not in known_buildings
        }
        if not added:
            return
        known_buildings.update(added)
        for building in added.values():
            entry.runtime_data.buildings[building.building_id] = building
        async_dispatcher_send(hass, signal_subentries_added(entry.entry_id))

    entry.async_on_unload(entry.add_update_listener(async_entry_updated))

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> bool:
    """Unload a community; its store writes pending changes as it closes."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> None:
    """Delete the residents of a community that is removed."""
    await ResidentsStore(hass, entry.entry_id, entry.title).async_remove()
    await FaceStore(hass, entry.entry_id).remove_all()
    await ParkingStore(hass, entry.entry_id).async_remove()
    await FireStore(hass, entry.entry_id).async_remove()
    await async_remove_charging_store(hass, entry.entry_id)
    await async_remove_gallery(hass, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    device_entry: dr.DeviceEntry,
) -> bool:
    """Let a fire component that is gone be deleted; other devices are subentries."""
    if (found := fire_component_of(entry, device_entry)) is None:
        return False
    panel, component_id = found
    panel.remove_component(component_id)
    return True
