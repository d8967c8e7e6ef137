"""Test the car park and gate lane subentry flows."""

from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
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
    SUBENTRY_TYPE_PARKING_LOT,
    SUBENTRY_TYPE_PLATE_CAMERA,
)
from custom_components.smart_community.gate import PUSH_PATH

from .gate_helpers import ENTRY_LANE, ENTRY_SECRET, LOT_ID, gate_entry


async def start(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_type: str
) -> dict[str, Any]:
    """Open a subentry flow of a community."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, subentry_type), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    return dict(result)


async def submit(
    hass: HomeAssistant, result: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any]:
    """Submit a form of a subentry flow."""
    return dict(
        await hass.config_entries.subentries.async_configure(result["flow_id"], data)
    )


LANE_FORM = {
    CONF_NAME: "北门 入口",
    CONF_DIRECTION: "entry",
    CONF_UNKNOWN_VEHICLES: "deny",
    CONF_VISITORS_ALLOWED: True,
    CONF_TOLERANCE: 1,
    CONF_RELAY_OUTPUT: "none",
    CONF_VOICE: True,
    CONF_DISPLAY: False,
    CONF_COMET_HOLD: 5,
}


async def test_add_parking_lot(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A car park needs a name not yet used; its spaces become the capacity."""
    entry = init_integration
    result = await start(hass, entry, SUBENTRY_TYPE_PARKING_LOT)
    result = await submit(hass, result, {CONF_NAME: " ", CONF_CAPACITY: 10})
    assert result["errors"] == {CONF_NAME: "name_required"}
    result = await submit(hass, result, {CONF_NAME: "地下停车场", CONF_CAPACITY: 120})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_CAPACITY: 120}
    await hass.async_block_till_done()

    result = await start(hass, entry, SUBENTRY_TYPE_PARKING_LOT)
    result = await submit(hass, result, {CONF_NAME: "地下停车场", CONF_CAPACITY: 5})
    assert result["errors"] == {CONF_NAME: "lot_exists"}


async def test_reconfigure_parking_lot(hass: HomeAssistant) -> None:
    """A car park's capacity changes; its own name does not count as taken."""
    entry = gate_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = dict(await entry.start_subentry_reconfigure_flow(hass, LOT_ID))
    result = await submit(hass, result, {CONF_NAME: "地下停车场", CONF_CAPACITY: 80})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.runtime_data.parking_lots[LOT_ID].capacity == 80


async def test_add_lane_shows_its_push_address(hass: HomeAssistant) -> None:
    """A lane gets a secret push address, shown before it is saved."""
    entry = gate_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await start(hass, entry, SUBENTRY_TYPE_PLATE_CAMERA)
    result = await submit(hass, result, LANE_FORM | {CONF_NAME: "正门 入口"})
    assert result["errors"] == {CONF_NAME: "lane_exists"}
    result = await submit(hass, result, LANE_FORM | {CONF_NAME: " "})
    assert result["errors"] == {CONF_NAME: "name_required"}
    result = await submit(
        hass,
        result,
        LANE_FORM
        | {
            CONF_ALLOWED_SOURCES: "192.168.1.300",
            "resident_text": "欢迎 {name}",
        },
    )
    assert result["errors"] == {
        CONF_ALLOWED_SOURCES: "invalid_sources",
        "resident_text": "invalid_text",
    }
    result = await submit(
        hass,
        result,
        LANE_FORM
        | {
            CONF_PARKING_LOT: LOT_ID,
            CONF_ALLOWED_SOURCES: "192.168.1.20, 10.0.5.0/24",
            "resident_text": "欢迎 {plate}",
        },
    )
    assert result["step_id"] == "push_url"
    url = result["description_placeholders"]["push_url"]
    assert PUSH_PATH in url
    result = await submit(hass, result, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = result["data"]
    assert url.endswith(data[CONF_PUSH_SECRET])
    assert len(data[CONF_PUSH_SECRET]) >= 32
    assert data[CONF_ALLOWED_SOURCES] == ["192.168.1.20/32", "10.0.5.0/24"]
    assert data["resident_text"] == "欢迎 {plate}"
    assert data[CONF_PARKING_LOT] == LOT_ID
    await hass.async_block_till_done()
    lane = next(
        lane
        for lane in entry.runtime_data.lanes.values()
        if lane.config.name == "北门 入口"
    )
    assert lane.config.policy.wording.resident == "欢迎 {plate}"
    assert lane.lot is entry.runtime_data.parking_lots[LOT_ID]


async def test_reconfigure_lane_keeps_or_renews_the_address(
    hass: HomeAssistant,
) -> None:
    """Reconfiguring keeps the push address unless a new one is asked for."""
    entry = gate_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = dict(await entry.start_subentry_reconfigure_flow(hass, ENTRY_LANE))
    assert result["description_placeholders"]["push_url"].endswith(ENTRY_SECRET)
    result = await submit(
        hass, result, LANE_FORM | {CONF_NAME: "正门 入口", "new_push_url": False}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries[ENTRY_LANE].data[CONF_PUSH_SECRET] == ENTRY_SECRET
    assert entry.subentries[ENTRY_LANE].data[CONF_PARKING_LOT] is None

    result = dict(await entry.start_subentry_reconfigure_flow(hass, ENTRY_LANE))
    result = await submit(
        hass, result, LANE_FORM | {CONF_NAME: "正门 入口", "new_push_url": True}
    )
    assert result["step_id"] == "push_url"
    result = await submit(hass, result, {})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    renewed = entry.subentries[ENTRY_LANE].data[CONF_PUSH_SECRET]
    assert renewed != ENTRY_SECRET
