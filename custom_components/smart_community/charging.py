"""Charging stations of a community: the OCPP central system's servers and store."""

from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .community.charging import ChargingStation, CutoffPolicy
from .community.charging_centre import ChargingCentre
from .community.registry import ResidentsRegistry
from .const import (
    CHARGING_CHECK_SECONDS,
    CHARGING_SAVE_DELAY_SECONDS,
    CONF_BUILDING,
    CONF_CHARGE_POINT_ID,
    CONF_FULL_MINUTES,
    CONF_FULL_POWER,
    CONF_MAX_DURATION,
    CONF_MAX_POWER,
    CONF_MAX_TEMPERATURE,
    CONF_PORT_COUNT,
    DOMAIN,
    LOGGER,
    SUBENTRY_TYPE_CHARGING_STATION,
)
from .protocols.ocpp.schemas import load_schemas
from .protocols.ocpp.server import CentralSystemServer
from .runtime import SmartCommunityConfigEntry

CHARGING_STORAGE_VERSION = 1


def _threshold(data: dict[str, Any], key: str) -> float | None:
    """Read a cut-off threshold; 0 (or nothing) turns the rule off."""
    value = float(data.get(key) or 0)
    return value if value > 0 else None


def station_of(subentry: ConfigSubentry) -> ChargingStation:
    """Create the runtime of one charging station subentry."""
    data = dict(subentry.data)
    defaults = CutoffPolicy()
    return ChargingStation(
        station_id=subentry.subentry_id,
        charge_point_id=data[CONF_CHARGE_POINT_ID],
        name=subentry.title,
        building=data.get(CONF_BUILDING),
        port_count=int(data[CONF_PORT_COUNT]),
        password=data.get(CONF_PASSWORD) or None,
        policy=CutoffPolicy(
            full_power_w=_threshold(data, CONF_FULL_POWER),
            full_minutes=float(data.get(CONF_FULL_MINUTES, defaults.full_minutes)),
            max_duration_hours=_threshold(data, CONF_MAX_DURATION),
            max_temperature_c=_threshold(data, CONF_MAX_TEMPERATURE),
            max_power_w=_threshold(data, CONF_MAX_POWER),
        ),
    )


def identify_card(registry: ResidentsRegistry, id_tag: str) -> str | None:
    """Return the resident who owns a card, or None."""
    card = registry.card_for(id_tag)
    return None if card is None else card.resident_id


def charging_centre_of(entry: SmartCommunityConfigEntry) -> ChargingCentre:
    """Return the community's central system, which exists once a station is set up."""
    centre = entry.runtime_data.charging
    if centre is None:  # pragma: no cover - set up before the platforms
        raise RuntimeError("the charging stations are not set up")
    return centre


def port_issue_id(entry_id: str, port: int) -> str:
    """Name the repair issue of a port the central system cannot listen on."""
    return f"charging_port_unavailable_{entry_id}_{port}"


def port_device_identifier(station: ChargingStation, port: int) -> str:
    """Name a port's device among the community's devices."""
    return f"{station.station_id}_port_{port}"


async def async_start_charging(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> None:
    """Create the stations, restore their sessions and start the servers."""
    community = entry.runtime_data
    subentries = entry.get_subentries_of_type(SUBENTRY_TYPE_CHARGING_STATION)
    if not subentries:
        return
    # The schemas are files; reading them in the event loop would block it.
    await hass.async_add_executor_job(load_schemas)
    registry = community.registry
    centre = ChargingCentre(
        lambda id_tag: identify_card(registry, id_tag), clock=dt_util.utcnow
    )
    community.charging = centre
    devices = dr.async_get(hass)
    community_device = devices.async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    ports: set[int] = set()
    for subentry in subentries:
        station = station_of(subentry)
        centre.add_station(station)
        ports.add(int(subentry.data[CONF_PORT]))
        # Ports hang below the station, so its device must exist before them.
        devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            config_subentry_id=subentry.subentry_id,
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            via_device_id=None if community_device is None else community_device.id,
        )

    store: Store[dict[str, Any]] = Store(
        hass, CHARGING_STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.charging"
    )
    if isinstance(saved := await store.async_load(), dict):
        centre.restore(saved)

    @callback
    def async_schedule_save() -> None:
        """Save after a burst of changes; sessions must outlive a restart."""
        store.async_delay_save(centre.to_storage, CHARGING_SAVE_DELAY_SECONDS)

    async def async_save_now() -> None:
        """Write at once (the community is unloading)."""
        await store.async_save(centre.to_storage())

    entry.async_on_unload(centre.changed.add(async_schedule_save))
    entry.async_on_unload(async_save_now)
    entry.async_on_unload(centre.close)

    for port in sorted(ports):
        server = CentralSystemServer(centre, None, port)
        issue_id = port_issue_id(entry.entry_id, port)
        try:
            await server.start()
        except OSError as err:
            LOGGER.error(
                "The charging central system cannot listen on port %s: %s", port, err
            )
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="charging_port_unavailable",
                translation_placeholders={"port": str(port), "error": str(err)},
            )
            continue
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        centre.servers[port] = server
        entry.async_on_unload(server.stop)

    @callback
    def async_check(_now: Any) -> None:
        """Judge open sessions by the clock."""
        centre.check_cutoffs()

    entry.async_on_unload(
        async_track_time_interval(
            hass,
            async_check,
            timedelta(seconds=CHARGING_CHECK_SECONDS),
            name="smart_community charging cut-offs",
            cancel_on_shutdown=True,
        )
    )


async def async_remove_charging_store(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the sessions of a removed community."""
    await Store[dict[str, Any]](
        hass, CHARGING_STORAGE_VERSION, f"{DOMAIN}.{entry_id}.charging"
    ).async_remove()
