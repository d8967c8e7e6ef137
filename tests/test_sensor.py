"""Tests of the community and building sensors."""

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.smart_community.const import DOMAIN

from .conftest import call


def state_of(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, unique_id: str
) -> str:
    """Read a sensor's state by its unique ID."""
    entity_id = entity_registry.async_get_entity_id("sensor", DOMAIN, unique_id)
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


def building_subentry_id(entry: MockConfigEntry, building_id: str) -> str:
    """Find the subentry of a building."""
    return next(
        s.subentry_id
        for s in entry.subentries.values()
        if s.unique_id == f"building_{building_id}"
    )


async def test_counts_follow_the_registry(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Residents, households, elderly living alone and vehicles are counted live."""
    entry = init_integration
    community = entry.entry_id
    building_1 = building_subentry_id(entry, "1")
    assert state_of(hass, entity_registry, f"{community}_residents") == "0"

    first = await call(
        hass,
        "add_resident",
        entry,
        name="张三",
        building="1",
        unit="1",
        room="101",
        tags=["elderly_living_alone"],
    )
    await call(
        hass, "add_resident", entry, name="李四", building="1", unit="1", room="102"
    )
    await call(
        hass, "add_resident", entry, name="李小四", building="1", unit="1", room="102"
    )
    await call(
        hass, "add_resident", entry, name="王五", building="2", unit="1", room="101"
    )
    assert first is not None
    await call(
        hass, "add_vehicle", entry, resident_id=first["resident_id"], plate="粤B12345"
    )

    assert state_of(hass, entity_registry, f"{community}_residents") == "4"
    assert state_of(hass, entity_registry, f"{community}_households") == "3"
    assert state_of(hass, entity_registry, f"{community}_elderly_living_alone") == "1"
    assert state_of(hass, entity_registry, f"{community}_vehicles") == "1"
    assert state_of(hass, entity_registry, f"{building_1}_residents") == "3"
    assert state_of(hass, entity_registry, f"{building_1}_households") == "2"
    assert state_of(hass, entity_registry, f"{building_1}_elderly_living_alone") == "1"

    await call(hass, "remove_resident", entry, resident_id=first["resident_id"])
    assert state_of(hass, entity_registry, f"{building_1}_residents") == "2"
    assert state_of(hass, entity_registry, f"{community}_vehicles") == "0"


async def test_names_and_units_translated(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Names come from translations; the unit is translated too."""
    entity_id = entity_registry.async_get_entity_id(
        "sensor", DOMAIN, f"{init_integration.entry_id}_residents"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.name == "荣悦台 Residents"
    assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == "residents"


async def test_active_visitor_passes_follow_the_clock(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A pass counts from its start to its end without any other change."""
    freezer.move_to("2026-11-21 10:00:00+00:00")
    entry = init_integration
    host = await call(
        hass, "add_resident", entry, name="张三", building="1", unit="1", room="101"
    )
    assert host is not None
    await call(
        hass,
        "add_visitor_pass",
        entry,
        visitor_name="访客",
        host_resident_id=host["resident_id"],
        valid_from="2026-11-21T11:00:00+00:00",
        valid_until="2026-11-21T12:00:00+00:00",
    )
    unique_id = f"{entry.entry_id}_active_visitor_passes"
    assert state_of(hass, entity_registry, unique_id) == "0"

    freezer.move_to("2026-11-21 11:00:01+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, entity_registry, unique_id) == "1"

    freezer.move_to("2026-11-21 12:00:01+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, entity_registry, unique_id) == "0"
