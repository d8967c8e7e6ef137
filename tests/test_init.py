"""Tests of setting up, reloading, unloading and removing a community."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import CONF_NAME, EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.storage import Store
from homeassistant.util.file import WriteError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.smart_community.const import (
    CONF_BUILDING_ID,
    DOMAIN,
    SAVE_DELAY_SECONDS,
    SAVE_RETRY_SECONDS,
    SUBENTRY_TYPE_BUILDING,
)

from .conftest import add_resident, call

STORAGE_KEY = "smart_community.{}.residents"


@contextmanager
def disk_full(error: Exception) -> Iterator[None]:
    """Make writes of the residents registry fail; other stores write as usual."""
    original = Store._async_write_data

    async def write(self: Store[Any], data: dict[str, Any]) -> None:
        if self.key.startswith(DOMAIN) and self.key.endswith(".residents"):
            raise error
        await original(self, data)

    with patch.object(Store, "_async_write_data", write):
        yield


async def test_setup_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A community loads with its runtime data and unloads cleanly."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.name == "荣悦台"
    assert set(entry.runtime_data.buildings) == {"1", "2"}

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_devices_for_community_and_buildings(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The community is a device and each building a device under it."""
    entry = init_integration
    community = device_registry.async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert community is not None
    assert community.name == "荣悦台"
    buildings = [
        device
        for device in dr.async_entries_for_config_entry(device_registry, entry.entry_id)
        if device.via_device_id == community.id
    ]
    assert sorted(device.name for device in buildings) == ["1号楼", "2号楼"]


async def test_registry_survives_restart(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Residents written to storage come back after a reload."""
    entry = init_integration
    resident_id = await add_resident(hass, entry, name="张三")
    await call(hass, "add_vehicle", entry, resident_id=resident_id, plate="粤B·12345")

    freezer.tick(SAVE_DELAY_SECONDS + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    stored = hass_storage[STORAGE_KEY.format(entry.entry_id)]
    assert stored["data"]["residents"]

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    registry = entry.runtime_data.registry
    assert registry.get_resident(resident_id).name == "张三"
    vehicle = registry.vehicle_for_plate("粤B12345")
    assert vehicle is not None
    assert vehicle.resident_id == resident_id


async def test_pending_changes_written_on_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Unloading before the debounce ends still writes the change."""
    entry = init_integration
    await add_resident(hass, entry, name="李四")
    assert STORAGE_KEY.format(entry.entry_id) not in hass_storage

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[STORAGE_KEY.format(entry.entry_id)]["data"]
    assert [resident["name"] for resident in stored["residents"]] == ["李四"]


async def test_pending_changes_written_on_shutdown(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Home Assistant's final write also flushes the registry."""
    entry = init_integration
    await add_resident(hass, entry, name="王五")
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    assert STORAGE_KEY.format(entry.entry_id) in hass_storage


async def test_write_failure_raises_repair_issue_and_retries(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
    issue_registry: ir.IssueRegistry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A full disk keeps the change, raises an issue, and a later write clears it."""
    entry = init_integration
    issue_id = f"registry_write_failed_{entry.entry_id}"
    with disk_full(WriteError("No space left on device")):
        await add_resident(hass, entry, name="赵六")
        freezer.tick(SAVE_DELAY_SECONDS + 1)
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        issue = issue_registry.async_get_issue(DOMAIN, issue_id)
        assert issue is not None
        assert issue.translation_key == "registry_write_failed"
        assert "No space left on device" in caplog.text
        # A second failed attempt does not log again.
        caplog.clear()
        freezer.tick(SAVE_RETRY_SECONDS + 1)
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        assert "Could not save" not in caplog.text

    assert STORAGE_KEY.format(entry.entry_id) not in hass_storage
    freezer.tick(SAVE_RETRY_SECONDS + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    stored = hass_storage[STORAGE_KEY.format(entry.entry_id)]["data"]
    assert [resident["name"] for resident in stored["residents"]] == ["赵六"]
    assert "works again" in caplog.text


async def test_unsaved_registry_survives_reload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
    issue_registry: ir.IssueRegistry,
) -> None:
    """A change that cannot be written at unload is kept for the next setup."""
    entry = init_integration
    with disk_full(OSError(28, "No space left on device")):
        resident_id = await add_resident(hass, entry, name="孙七")
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    assert STORAGE_KEY.format(entry.entry_id) not in hass_storage
    assert issue_registry.async_get_issue(
        DOMAIN, f"registry_write_failed_{entry.entry_id}"
    )

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.registry.get_resident(resident_id).name == "孙七"
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[STORAGE_KEY.format(entry.entry_id)]["data"]
    assert [resident["name"] for resident in stored["residents"]] == ["孙七"]


async def test_building_added_without_reload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A new building gets its sensors in place; the community is not reloaded."""
    entry = init_integration
    community = entry.runtime_data
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data={CONF_BUILDING_ID: "5", CONF_NAME: "5号楼"},
            subentry_type=SUBENTRY_TYPE_BUILDING,
            title="5号楼",
            unique_id="building_5",
        ),
    )
    await hass.async_block_till_done()
    assert entry.runtime_data is community
    assert "5" in community.buildings
    subentry_id = next(
        s.subentry_id for s in entry.subentries.values() if s.unique_id == "building_5"
    )
    entity_id = entity_registry.async_get_entity_id(
        "sensor", DOMAIN, f"{subentry_id}_residents"
    )
    assert entity_id is not None
    assert hass.states.get(entity_id) is not None


async def test_building_removed_reloads(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Removing a building removes its device and drops it from the community."""
    entry = init_integration
    subentry_id = next(
        s.subentry_id for s in entry.subentries.values() if s.unique_id == "building_2"
    )
    assert hass.config_entries.async_remove_subentry(entry, subentry_id)
    await hass.async_block_till_done()
    assert set(entry.runtime_data.buildings) == {"1"}
    assert (
        device_registry.async_get_device_by_identifier(
            (DOMAIN, subentry_id), entry.entry_id
        )
        is None
    )


async def test_remove_entry_deletes_registry(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Deleting the community deletes its residents from storage."""
    entry = init_integration
    await add_resident(hass, entry, name="周八")
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert STORAGE_KEY.format(entry.entry_id) in hass_storage

    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert STORAGE_KEY.format(entry.entry_id) not in hass_storage


async def test_damaged_storage_fails_setup_and_is_kept(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Unreadable stored residents stop the setup with a reason and stay untouched."""
    key = STORAGE_KEY.format(mock_config_entry.entry_id)
    damaged = {"version": 1, "minor_version": 1, "key": key, "data": {"version": 99}}
    hass_storage[key] = damaged
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert mock_config_entry.reason is not None
    assert "荣悦台" in mock_config_entry.reason
    assert hass_storage[key] == damaged


async def test_change_during_a_write_is_written_at_unload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A resident added while a save is under way is not lost at unload."""
    entry = init_integration
    original = Store._async_write_data
    added_during_write: list[str] = []

    async def slow_write(self: Store[Any], data: dict[str, Any]) -> None:
        if self.key.startswith(DOMAIN) and not added_during_write:
            added_during_write.append(await add_resident(hass, entry, name="后来者"))
        await original(self, data)

    with patch.object(Store, "_async_write_data", slow_write):
        await add_resident(hass, entry, name="先来者")
        freezer.tick(SAVE_DELAY_SECONDS + 1)
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        assert added_during_write
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    stored = hass_storage[STORAGE_KEY.format(entry.entry_id)]["data"]
    assert sorted(resident["name"] for resident in stored["residents"]) == [
        "先来者",
        "后来者",
    ]
