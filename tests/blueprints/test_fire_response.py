"""Test the fire response blueprint: evacuate a building, then restore it."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)

from .helpers import (
    Phone,
    add_community,
    add_device,
    add_entity,
    add_phone,
    assert_filtered_to,
    assert_house_rules,
    async_advance,
    async_create_automation,
    async_load_blueprint,
    async_set_state,
    data_without,
    mock_actions,
)

BLUEPRINT: Final = "fire_response.yaml"
PANEL: Final = "消防控制室 用户信息传输装置"
DETECTOR: Final = "3号楼 12层 电梯前室 烟感"
CALL_POINT: Final = "3号楼 1层 大堂 手报"
SMOKE: Final = "binary_sensor.building_3_f12_smoke_fire_alarm"
CALL: Final = "binary_sensor.building_3_f1_call_point_fire_alarm"
PANEL_FIRE: Final = "binary_sensor.fire_panel_fire_alarm"
DOORS: Final = ["lock.building_3_lobby_door_1", "lock.building_3_garage_door_1"]
GATES: Final = ["cover.east_gate_barrier"]
ACTIONS: Final = (
    "smart_community.broadcast",
    "smart_community.hold_open",
    "smart_community.release_hold",
    "smart_community.stop_charging",
    "smart_community.resume_charging",
    "cover.open_cover",
)


@dataclass
class Building:
    """Building 3's fire sensors, the managers' phones and the recorded actions."""

    entry: MockConfigEntry
    phones: list[Phone]
    calls: dict[str, list[ServiceCall]]

    def count(self, action: str) -> int:
        """Count the calls of an action."""
        return len(self.calls[action])


@pytest.fixture
def building(hass: HomeAssistant) -> Building:
    """Register building 3's detectors (clear) below the panel, and two phones."""
    entry = add_community(hass)
    panel = add_device(hass, entry, PANEL)
    add_entity(hass, entry, PANEL_FIRE, STATE_OFF, device_id=panel)
    for entity_id, name in ((SMOKE, DETECTOR), (CALL, CALL_POINT)):
        device_id = add_device(hass, entry, name, via_device_id=panel)
        add_entity(hass, entry, entity_id, STATE_OFF, device_id=device_id)
    phones = [add_phone(hass, "Zhang San iPhone"), add_phone(hass, "李四的手机")]
    return Building(entry, phones, mock_actions(hass, *ACTIONS))


def inputs(building: Building, **changes: Any) -> dict[str, Any]:
    """Return the inputs of building 3's automation."""
    return {
        "building": "3",
        "fire_alarms": [PANEL_FIRE, SMOKE, CALL],
        "doors": DOORS,
        "gates": GATES,
        "managers": [phone.device_id for phone in building.phones],
        **changes,
    }


async def test_blueprint_loads_through_home_assistant(hass: HomeAssistant) -> None:
    """The blueprint passes Home Assistant's schema and the project's rules."""
    blueprint = await async_load_blueprint(hass, BLUEPRINT)
    assert_house_rules(blueprint, BLUEPRINT)
    assert_filtered_to(
        blueprint, "fire_alarms", integration="smart_community", domain="binary_sensor"
    )
    assert_filtered_to(blueprint, "doors", integration="smart_community", domain="lock")
    assert blueprint.inputs["confirmation_delay"]["default"] == 0


async def test_alarm_evacuates_the_building(
    hass: HomeAssistant, building: Building
) -> None:
    """A detector's alarm starts every part of the response at once."""
    await async_create_automation(hass, BLUEPRINT, inputs(building))
    await async_set_state(hass, SMOKE, STATE_ON)

    [broadcast] = building.calls["smart_community.broadcast"]
    assert "3号楼发生火警" in broadcast.data["message"]
    assert data_without(broadcast, "message") == {
        "config_entry_id": building.entry.entry_id,
        "building": "3",
        "repeat": 3,
        "priority": "evacuation",
        "wait": False,
    }
    [hold] = building.calls["smart_community.hold_open"]
    assert hold.data["entity_id"] == DOORS
    [gates] = building.calls["cover.open_cover"]
    assert gates.data["entity_id"] == GATES
    [stop] = building.calls["smart_community.stop_charging"]
    assert stop.data == {
        "config_entry_id": building.entry.entry_id,
        "building": "3",
        "block": True,
    }
    # The app names each phone's action after the phone, Chinese names too.
    assert [phone.notify_action for phone in building.phones] == [
        "notify.mobile_app_zhang_san_iphone",
        "notify.mobile_app_li_si_de_shou_ji",
    ]
    for phone in building.phones:
        [push] = phone.notifications
        assert DETECTOR in push.data["message"]
        assert "3号楼" in push.data["title"]
        assert push.data["data"]["push"]["interruption-level"] == "critical"
        assert push.data["data"]["priority"] == "high"
    assert building.count("smart_community.release_hold") == 0
    assert building.count("smart_community.resume_charging") == 0


async def test_a_failing_part_does_not_stop_the_others(
    hass: HomeAssistant, building: Building, freezer: FrozenDateTimeFactory
) -> None:
    """A building without speaker zones still gets the rest, restore included."""
    async_mock_service(
        hass,
        "smart_community",
        "broadcast",
        raise_exception=ServiceValidationError("no zones in building 3"),
    )
    await async_create_automation(hass, BLUEPRINT, inputs(building))
    await async_set_state(hass, SMOKE, STATE_ON)
    assert building.count("smart_community.hold_open") == 1
    assert building.count("cover.open_cover") == 1
    assert building.count("smart_community.stop_charging") == 1
    assert all(len(phone.notifications) == 1 for phone in building.phones)

    await async_set_state(hass, SMOKE, STATE_OFF)
    await async_advance(hass, freezer, timedelta(minutes=10, seconds=1))
    assert building.count("smart_community.release_hold") == 1


async def test_message_names_the_location(
    hass: HomeAssistant, building: Building
) -> None:
    """A message of one's own may say where the alarm is."""
    await async_create_automation(
        hass,
        BLUEPRINT,
        inputs(building, message="{{ location }} 报火警 请疏散", repeat=5),
    )
    await async_set_state(hass, CALL, STATE_ON)
    [broadcast] = building.calls["smart_community.broadcast"]
    assert broadcast.data["message"] == f"{CALL_POINT} 报火警 请疏散"
    assert broadcast.data["repeat"] == 5


async def test_restore_waits_until_every_alarm_stays_clear(
    hass: HomeAssistant, building: Building, freezer: FrozenDateTimeFactory
) -> None:
    """Doors and charging come back only after all sensors stay off long enough."""
    await async_create_automation(hass, BLUEPRINT, inputs(building))
    await async_set_state(hass, SMOKE, STATE_ON)
    await async_set_state(hass, SMOKE, STATE_OFF)
    await async_set_state(hass, PANEL_FIRE, STATE_ON)
    await async_advance(hass, freezer, timedelta(minutes=30))
    assert building.count("smart_community.release_hold") == 0

    await async_set_state(hass, PANEL_FIRE, STATE_OFF)
    await async_advance(hass, freezer, timedelta(minutes=9))
    assert building.count("smart_community.release_hold") == 0

    await async_set_state(hass, PANEL_FIRE, STATE_UNAVAILABLE)
    await async_advance(hass, freezer, timedelta(minutes=30))
    assert building.count("smart_community.release_hold") == 0

    await async_set_state(hass, PANEL_FIRE, STATE_OFF)
    await async_advance(hass, freezer, timedelta(minutes=10, seconds=1))
    [release] = building.calls["smart_community.release_hold"]
    assert release.data["entity_id"] == DOORS
    [resume] = building.calls["smart_community.resume_charging"]
    assert resume.data == {
        "config_entry_id": building.entry.entry_id,
        "building": "3",
    }
    for phone in building.phones:
        assert len(phone.notifications) == 3
        assert "All clear" in phone.notifications[-1].data["title"]
    assert building.count("smart_community.broadcast") == 2

    await async_advance(hass, freezer, timedelta(hours=1))
    assert building.count("smart_community.release_hold") == 1


async def test_confirmation_delay_ignores_a_short_alarm(
    hass: HomeAssistant, building: Building, freezer: FrozenDateTimeFactory
) -> None:
    """With a delay, an alarm that clears in time does nothing at all."""
    await async_create_automation(
        hass, BLUEPRINT, inputs(building, confirmation_delay=30)
    )
    await async_set_state(hass, CALL, STATE_ON)
    assert building.count("smart_community.broadcast") == 0
    await async_set_state(hass, CALL, STATE_OFF)
    await async_advance(hass, freezer, timedelta(minutes=30))
    assert all(not calls for calls in building.calls.values())
    assert all(not phone.notifications for phone in building.phones)

    await async_set_state(hass, CALL, STATE_ON)
    await async_advance(hass, freezer, timedelta(seconds=31))
    assert building.count("smart_community.broadcast") == 1
    assert building.count("smart_community.hold_open") == 1


async def test_only_the_chosen_parts(
    hass: HomeAssistant, building: Building, freezer: FrozenDateTimeFactory
) -> None:
    """Without doors, gates, phones, charging or restore, only the broadcast runs."""
    await async_create_automation(
        hass,
        BLUEPRINT,
        {
            "building": "3",
            "fire_alarms": [SMOKE],
            "stop_charging": False,
            "auto_restore": False,
        },
    )
    await async_set_state(hass, SMOKE, STATE_ON)
    await async_set_state(hass, SMOKE, STATE_OFF)
    await async_advance(hass, freezer, timedelta(hours=1))
    assert {action: len(calls) for action, calls in building.calls.items()} == {
        action: int(action == "smart_community.broadcast") for action in ACTIONS
    }
    assert all(not phone.notifications for phone in building.phones)


async def test_other_alarms_are_ignored(
    hass: HomeAssistant, building: Building, freezer: FrozenDateTimeFactory
) -> None:
    """A sensor that is not chosen, or one that only comes back clear, does nothing."""
    await async_create_automation(
        hass, BLUEPRINT, inputs(building, fire_alarms=[SMOKE])
    )
    await async_set_state(hass, CALL, STATE_ON)
    await async_set_state(hass, SMOKE, STATE_UNAVAILABLE)
    await async_set_state(hass, SMOKE, STATE_OFF)
    await async_advance(hass, freezer, timedelta(hours=1))
    assert all(not calls for calls in building.calls.values())
    assert all(not phone.notifications for phone in building.phones)
