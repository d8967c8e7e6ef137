"""Power meters of a community: a Modbus client per meter, polled on a timer."""

from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers.event import async_track_time_interval

from .community.meters import PowerMeter
from .const import (
    CONF_CUSTOM_MAP,
    CONF_POLL_INTERVAL,
    CONF_REGISTER_MAP,
    CONF_UNIT_ID,
    REGISTER_MAP_CUSTOM,
    SUBENTRY_TYPE_POWER_METER,
)
from .protocols.modbus_meter import (
    DEFAULT_POLL_SECONDS,
    REGISTER_MAPS,
    MeterClient,
    RegisterMap,
)
from .runtime import SmartCommunityConfigEntry


def register_map_of(data: dict[str, Any]) -> RegisterMap:
    """Return a meter's register map; raise InvalidRegisterMapError if custom and bad."""
    if data[CONF_REGISTER_MAP] == REGISTER_MAP_CUSTOM:
        # Left empty, the map is refused like any other incomplete one.
        return RegisterMap.from_mapping(data.get(CONF_CUSTOM_MAP) or {})
    return REGISTER_MAPS[data[CONF_REGISTER_MAP]]


def client_for(data: dict[str, Any], register_map: RegisterMap) -> MeterClient:
    """Create the Modbus client of a meter's settings."""
    return MeterClient(
        data[CONF_HOST],
        int(data[CONF_PORT]),
        int(data[CONF_UNIT_ID]),
        register_map,
    )


def _meter(subentry: ConfigSubentry) -> PowerMeter:
    """Create the runtime of one meter subentry."""
    data = dict(subentry.data)
    register_map = register_map_of(data)
    return PowerMeter(
        subentry.subentry_id,
        subentry.title,
        register_map,
        client_for(data, register_map),
    )


async def async_start_meters(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> None:
    """Create the community's meters and poll each on its own interval."""
    community = entry.runtime_data
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_POWER_METER):
        meter = _meter(subentry)
        community.meters[subentry.subentry_id] = meter
        interval = timedelta(
            seconds=float(subentry.data.get(CONF_POLL_INTERVAL, DEFAULT_POLL_SECONDS))
        )

        async def async_poll(_now: datetime, meter: PowerMeter = meter) -> None:
            await meter.poll()

        entry.async_on_unload(
            async_track_time_interval(
                hass, async_poll, interval, name=f"poll power meter {meter.name}"
            )
        )
        entry.async_on_unload(meter.close)
        # The first reading should not wait a whole interval, nor hold up setup.
        entry.async_create_background_task(
            hass, meter.poll(), f"first poll of power meter {meter.name}"
        )
