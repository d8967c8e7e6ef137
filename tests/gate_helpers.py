"""Build communities with gate lanes and car parks for the gate tests."""

from collections.abc import Sequence
from typing import Any, Final

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_community.const import (
    CONF_ALLOWED_SOURCES,
    CONF_CAPACITY,
    CONF_COMET_HOLD,
    CONF_DIRECTION,
    CONF_DISPLAY,
    CONF_PARKING_LOT,
    CONF_PUSH_SECRET,
    CONF_RELAY_OUTPUT,
    CONF_TOLERANCE,
    CONF_UNKNOWN_VEHICLES,
    CONF_VISITORS_ALLOWED,
    CONF_VOICE,
    DOMAIN,
    RELAY_NONE,
    SUBENTRY_TYPE_PARKING_LOT,
    SUBENTRY_TYPE_PLATE_CAMERA,
    TEXT_KEYS,
)
from custom_components.smart_community.gate import push_url_path

from .conftest import COMMUNITY_NAME, building_subentry

ENTRY_SECRET: Final = "entry-lane-secret-0123456789abcdef"
EXIT_SECRET: Final = "exit-lane-secret-0123456789abcdef"
LOT_ID: Final = "lot-underground"
ENTRY_LANE: Final = "lane-entry"
EXIT_LANE: Final = "lane-exit"


def lane_data(secret: str, direction: str, **changes: Any) -> dict[str, Any]:
    """Return a lane's subentry data as the flow stores it."""
    return {
        CONF_DIRECTION: direction,
        CONF_PARKING_LOT: LOT_ID,
        CONF_UNKNOWN_VEHICLES: "deny" if direction == "entry" else "allow",
        CONF_VISITORS_ALLOWED: True,
        CONF_TOLERANCE: 1,
        CONF_RELAY_OUTPUT: RELAY_NONE,
        CONF_VOICE: True,
        CONF_DISPLAY: True,
        CONF_COMET_HOLD: 0.5,
        CONF_ALLOWED_SOURCES: [],
        **dict.fromkeys(TEXT_KEYS, ""),
        CONF_PUSH_SECRET: secret,
        **changes,
    }


def gate_entry(
    entry_lane: dict[str, Any] | None = None,
    capacity: int = 100,
    extra: Sequence[ConfigSubentryData] = (),
) -> MockConfigEntry:
    """Return a community with a car park, an entry lane and an exit lane."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=COMMUNITY_NAME,
        data={CONF_NAME: COMMUNITY_NAME},
        unique_id=COMMUNITY_NAME,
        subentries_data=[
            building_subentry("1", "1号楼"),
            ConfigSubentryData(
                data={CONF_CAPACITY: capacity},
                subentry_id=LOT_ID,
                subentry_type=SUBENTRY_TYPE_PARKING_LOT,
                title="地下停车场",
                unique_id=None,
            ),
            ConfigSubentryData(
                data=entry_lane or lane_data(ENTRY_SECRET, "entry"),
                subentry_id=ENTRY_LANE,
                subentry_type=SUBENTRY_TYPE_PLATE_CAMERA,
                title="正门 入口",
                unique_id=None,
            ),
            ConfigSubentryData(
                data=lane_data(EXIT_SECRET, "exit"),
                subentry_id=EXIT_LANE,
                subentry_type=SUBENTRY_TYPE_PLATE_CAMERA,
                title="正门 出口",
                unique_id=None,
            ),
            *extra,
        ],
    )


def gate_entity(hass: HomeAssistant, platform: str, subentry_id: str, key: str) -> str:
    """Find an entity of a lane or car park by its unique ID."""
    found = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{subentry_id}_{key}"
    )
    assert found is not None, (platform, subentry_id, key)
    return found


def push_path(secret: str) -> str:
    """Return the path a lane's camera pushes to."""
    return push_url_path(secret)
