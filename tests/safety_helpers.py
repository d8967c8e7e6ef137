"""Build communities with power meters and fire panels, and scenarios to match."""

import json
from pathlib import Path
import socket
from typing import Any, Final

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_community.const import (
    CONF_BUILDING,
    CONF_CHECKSUM,
    CONF_POLL_INTERVAL,
    CONF_REGISTER_MAP,
    CONF_TRANSMITTER_ADDRESS,
    CONF_UNIT_ID,
    DOMAIN,
    SUBENTRY_TYPE_FIRE_PANEL,
    SUBENTRY_TYPE_POWER_METER,
)
from simulator.scenario import SCENARIO_DIR

from .conftest import COMMUNITY_NAME, building_subentry

PANEL_ID: Final = "fire-panel"
PANEL_ADDRESS: Final = "000000000001"


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def meter_subentry(
    subentry_id: str,
    title: str,
    port: int,
    register_map: str = "dtsu666",
    **changes: Any,
) -> ConfigSubentryData:
    """Describe a power meter subentry as the flow stores it."""
    data = {
        CONF_BUILDING: "1",
        CONF_HOST: "127.0.0.1",
        CONF_PORT: port,
        CONF_UNIT_ID: 1,
        CONF_REGISTER_MAP: register_map,
        CONF_POLL_INTERVAL: 10.0,
        **changes,
    }
    return ConfigSubentryData(
        data=data,
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_TYPE_POWER_METER,
        title=title,
        unique_id=f"127.0.0.1:{port}:{data[CONF_UNIT_ID]}",
    )


def fire_subentry(
    port: int, address: str = PANEL_ADDRESS, checksum: str = "sum"
) -> ConfigSubentryData:
    """Describe a fire panel subentry as the flow stores it."""
    return ConfigSubentryData(
        data={
            CONF_TRANSMITTER_ADDRESS: address,
            CONF_CHECKSUM: checksum,
            CONF_PORT: port,
        },
        subentry_id=PANEL_ID,
        subentry_type=SUBENTRY_TYPE_FIRE_PANEL,
        title="消防控制室",
        unique_id=address,
    )


def safety_entry(*subentries: ConfigSubentryData) -> MockConfigEntry:
    """Return a community with one building and the given devices."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=COMMUNITY_NAME,
        data={CONF_NAME: COMMUNITY_NAME},
        unique_id=COMMUNITY_NAME,
        subentries_data=[building_subentry("1", "1号楼"), *subentries],
    )


def scenario_with(folder: Path, devices: list[dict[str, Any]]) -> Path:
    """Write the minimal scenario with only the given devices."""
    document = json.loads((SCENARIO_DIR / "minimal.json").read_text(encoding="utf-8"))
    document["devices"] = devices
    path = folder / "safety.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def safety_entity(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """Find an entity by its unique ID."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, (platform, unique_id)
    return found
