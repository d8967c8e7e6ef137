"""Fire panels of a community: a GB/T 26875.3 server per port, components saved."""

from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.storage import Store

from .community.fire import FireCentre, FireComponent, FirePanel
from .const import (
    CONF_CHECKSUM,
    CONF_TRANSMITTER_ADDRESS,
    DOMAIN,
    FIRE_IDLE_TIMEOUT_SECONDS,
    FIRE_SAVE_DELAY_SECONDS,
    LOGGER,
    SUBENTRY_TYPE_FIRE_PANEL,
)
from .protocols.gb26875 import ChecksumMode, Gb26875Server, parse_address
from .runtime import SmartCommunityConfigEntry

FIRE_STORAGE_VERSION = 1


class FireStore:
    """Keep what each fire panel's components last reported across restarts."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the store of one community."""
        self._store: Store[dict[str, Any]] = Store(
            hass, FIRE_STORAGE_VERSION, f"{DOMAIN}.{entry_id}.fire"
        )
        self._panels: dict[str, FirePanel] = {}

    async def async_load(self, panels: dict[str, FirePanel]) -> None:
        """Give each panel back its components."""
        self._panels = panels
        stored = await self._store.async_load() or {}
        for panel_id, panel in panels.items():
            if isinstance(saved := stored.get(panel_id), dict):
                panel.restore(saved)

    @callback
    def async_schedule_save(self) -> None:
        """Save after a burst of reports has passed."""
        self._store.async_delay_save(self._data, FIRE_SAVE_DELAY_SECONDS)

    def _data(self) -> dict[str, Any]:
        """Describe every panel's components."""
        return {panel_id: panel.as_dict() for panel_id, panel in self._panels.items()}

    async def async_save_now(self) -> None:
        """Write at once (the community is unloading)."""
        await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """Delete the components of a removed community."""
        await self._store.async_remove()


def panel_of(subentry: ConfigSubentry) -> FirePanel:
    """Create the runtime of one fire panel subentry."""
    return FirePanel(
        subentry.subentry_id,
        subentry.title,
        parse_address(subentry.data[CONF_TRANSMITTER_ADDRESS]),
        ChecksumMode(subentry.data[CONF_CHECKSUM]),
    )


def port_issue_id(entry_id: str, port: int) -> str:
    """Name the repair issue of a port the centre cannot listen on."""
    return f"fire_port_unavailable_{entry_id}_{port}"


async def async_start_fire_panels(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> None:
    """Create the fire panels, restore their components and start listening."""
    community = entry.runtime_data
    devices = dr.async_get(hass)
    community_device = devices.async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_FIRE_PANEL):
        panel = panel_of(subentry)
        community.fire_panels[subentry.subentry_id] = panel
        # Components hang below the panel, so its device must exist before them.
        devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            config_subentry_id=subentry.subentry_id,
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            via_device_id=None if community_device is None else community_device.id,
        )
        port = int(subentry.data[CONF_PORT])
        community.fire_centres.setdefault(port, FireCentre(port)).add(panel)
    store = FireStore(hass, entry.entry_id)
    await store.async_load(community.fire_panels)
    for panel in community.fire_panels.values():
        entry.async_on_unload(panel.changed.add(store.async_schedule_save))
    entry.async_on_unload(store.async_save_now)

    for port, centre in community.fire_centres.items():
        server = Gb26875Server(centre, idle_timeout=FIRE_IDLE_TIMEOUT_SECONDS)
        issue_id = port_issue_id(entry.entry_id, port)
        try:
            await server.start(None, port)
        except OSError as err:
            LOGGER.error("The fire centre cannot listen on port %s: %s", port, err)
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="fire_port_unavailable",
                translation_placeholders={"port": str(port), "error": str(err)},
            )
            continue
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        centre.server = server
        entry.async_on_unload(server.stop)


def fire_component_device_id(panel: FirePanel, component: FireComponent) -> str:
    """Name a component's device among the community's devices."""
    return f"{panel.panel_id}_{component.component_id}"


def fire_component_of(
    entry: SmartCommunityConfigEntry, device: dr.DeviceEntry
) -> tuple[FirePanel, str] | None:
    """Find the panel and component a device registry entry stands for.

    It reads back the identifier ``fire_component_device_id`` made.
    """
    for domain, identifier in device.identifiers:
        if domain != DOMAIN:
            continue
        for panel_id, panel in entry.runtime_data.fire_panels.items():
            prefix = f"{panel_id}_"
            if identifier.startswith(prefix):
                return panel, identifier.removeprefix(prefix)
    return None
