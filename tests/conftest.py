"""Fixtures shared by the Smart Community tests."""

from collections.abc import AsyncGenerator, Generator
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_community.const import (
    CONF_BUILDING_ID,
    DOMAIN,
    SUBENTRY_TYPE_BUILDING,
)

pytest_plugins = ["tests.simulator_harness"]

COMMUNITY_NAME = "荣悦台"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/ in every test."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Enable every entity, including those disabled by default."""
    with patch.object(Entity, "entity_registry_enabled_default", new=True, create=True):
        yield


def building_subentry(building_id: str, name: str) -> ConfigSubentryData:
    """Describe a building subentry as the subentry flow stores it."""
    return ConfigSubentryData(
        data={CONF_BUILDING_ID: building_id, CONF_NAME: name},
        subentry_type=SUBENTRY_TYPE_BUILDING,
        title=name,
        unique_id=f"{SUBENTRY_TYPE_BUILDING}_{building_id}",
    )


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """Return a community entry with two buildings."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=COMMUNITY_NAME,
        data={CONF_NAME: COMMUNITY_NAME},
        unique_id=COMMUNITY_NAME,
        subentries_data=[
            building_subentry("1", "1号楼"),
            building_subentry("2", "2号楼"),
        ],
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> AsyncGenerator[MockConfigEntry]:
    """Set up the community entry."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


async def call(
    hass: HomeAssistant,
    service: str,
    entry: MockConfigEntry,
    **data: Any,
) -> dict[str, Any] | None:
    """Call one of the integration's actions on a community and return its answer."""
    needs_response = hass.services.supports_response(DOMAIN, service) != "none"
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=needs_response,
    )


async def add_resident(hass: HomeAssistant, entry: MockConfigEntry, **data: Any) -> str:
    """Add a resident (张三 of 1-2-301 unless told otherwise) and return their ID."""
    fields = {"name": "张三", "building": "1", "unit": "2", "room": "301"} | data
    answer = await call(hass, "add_resident", entry, **fields)
    assert answer is not None
    return str(answer["resident_id"])
