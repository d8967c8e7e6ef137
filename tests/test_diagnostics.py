"""Tests of the diagnostics of a community."""

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from .conftest import call


async def test_diagnostics_redact_personal_data(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """Counts and structure are there; names, phones, plates and cards are not."""
    entry = init_integration
    resident = await call(
        hass,
        "add_resident",
        entry,
        name="张三",
        building="1",
        unit="1",
        room="101",
        phone="13800138000",
        tags=["elderly_living_alone"],
        notify_targets=["notify.mobile_app_zhang_san"],
    )
    assert resident is not None
    await call(
        hass,
        "add_vehicle",
        entry,
        resident_id=resident["resident_id"],
        plate="粤B12345",
    )
    await call(
        hass,
        "add_card",
        entry,
        resident_id=resident["resident_id"],
        card="04A1B2C3D4",
        label="充电卡",
    )
    await call(
        hass,
        "add_visitor_pass",
        entry,
        visitor_name="李四",
        host_resident_id=resident["resident_id"],
        valid_until="2099-01-01 00:00:00",
        plate="粤B54321",
    )
    await call(
        hass,
        "link_activity_sources",
        entry,
        resident_id=resident["resident_id"],
        ble_tag="C3:00:00:12:34:56",
        ble_button="3C:2E:F5:AA:BB:CC",
        inactive_after={"minutes": 30},
    )
    await call(hass, "record_activity", entry, resident_id=resident["resident_id"])

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics, ensure_ascii=False)
    for secret in (
        "C3:00:00:12:34:56",
        "3C:2E:F5:AA:BB:CC",
        "张三",
        "13800138000",
        "粤B12345",
        "粤B54321",
        "李四",
        "mobile_app_zhang_san",
        "04A1B2C3D4",
        "充电卡",
    ):
        assert secret not in text
    assert diagnostics["counts"] == {
        "residents": 1,
        "households": 1,
        "elderly_living_alone": 1,
        "vehicles": 1,
        "cards": 1,
        "visitor_passes": 1,
        "active_visitor_passes": 1,
        "blocked_plates": 0,
    }
    assert diagnostics["tags"] == {"elderly_living_alone": 1}
    assert [s["unique_id"] for s in diagnostics["subentries"]] == [
        "building_1",
        "building_2",
    ]
    assert diagnostics["sample"]["residents"][0]["name"] == "**REDACTED**"
    assert diagnostics["sample"]["residents"][0]["cards"] == [
        {"card": "**REDACTED**", "label": "**REDACTED**"}
    ]
    activity = diagnostics["activity"]
    assert (activity["watched"], activity["inactive"]) == (1, 0)
    links = activity["log"]["links"][resident["resident_id"]]
    assert links["ble_tag"] == links["ble_button"] == "**REDACTED**"
    assert links["inactive_after_minutes"] == 30
    last = activity["log"]["last"][resident["resident_id"]]
    assert last["source"] == "check_in"
