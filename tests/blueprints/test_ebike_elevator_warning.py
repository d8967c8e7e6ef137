"""Test the e-bike warning blueprint: warn in the elevator, then keep quiet a while."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, ServiceCall
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.safety_helpers import safety_entity, safety_entry, scenario_with
from tests.simulator_harness import StartSimulator
from tests.speech import async_setup_speech
from tests.test_broadcast import complete, zone_subentry
from tests.test_recognition import (
    RECOGNITION_SECONDS,
    camera_device,
    camera_entity,
    camera_subentry,
    media_index,
    set_up,
    show,
    stream_url,
)

from .community import SPEAKER, ZONE as ZONE_DEVICE
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
    async_settle_until,
    async_turn_off_automations,
    data_without,
    mock_actions,
)

BLUEPRINT: Final = "ebike_elevator_warning.yaml"
CAMERA_NAME: Final = "3号楼 2号电梯 轿厢摄像头"
SENSOR: Final = "binary_sensor.building_3_lift_2_camera_e_bike_in_elevator"
CAMERA: Final = "camera.building_3_lift_2_camera"
ZONE: Final = "media_player.building_3_lift_2"
BROADCAST: Final = "smart_community.broadcast"


@dataclass
class Elevator:
    """The elevator camera's entities, a manager's phone and the broadcasts."""

    entry: MockConfigEntry
    phone: Phone
    broadcasts: list[ServiceCall]


@pytest.fixture
def elevator(hass: HomeAssistant) -> Elevator:
    """Register the elevator camera with its sensor (off) and camera entity."""
    entry = add_community(hass)
    device_id = add_device(hass, entry, CAMERA_NAME)
    add_entity(hass, entry, SENSOR, STATE_OFF, device_id=device_id)
    add_entity(hass, entry, CAMERA, "streaming", device_id=device_id)
    add_entity(hass, entry, ZONE, "idle")
    calls = mock_actions(hass, BROADCAST)
    return Elevator(entry, add_phone(hass, "Wang Wu Pixel"), calls[BROADCAST])


def inputs(elevator: Elevator, **changes: Any) -> dict[str, Any]:
    """Return the inputs of the elevator's automation."""
    return {
        "ebike_sensor": SENSOR,
        "zones": [ZONE],
        "managers": [elevator.phone.device_id],
        **changes,
    }


async def test_blueprint_loads_through_home_assistant(hass: HomeAssistant) -> None:
    """The blueprint passes Home Assistant's schema and the project's rules."""
    blueprint = await async_load_blueprint(hass, BLUEPRINT)
    assert_house_rules(blueprint, BLUEPRINT)
    assert_filtered_to(
        blueprint, "ebike_sensor", integration="smart_community", domain="binary_sensor"
    )
    assert_filtered_to(
        blueprint, "zones", integration="smart_community", domain="media_player"
    )


async def test_ebike_is_warned_off_with_a_snapshot(
    hass: HomeAssistant, elevator: Elevator
) -> None:
    """The zone hears the warning and the manager sees the camera's picture."""
    await async_create_automation(hass, BLUEPRINT, inputs(elevator))
    await async_set_state(hass, SENSOR, STATE_ON)

    [broadcast] = elevator.broadcasts
    assert "电动自行车" in broadcast.data["message"]
    assert data_without(broadcast, "message") == {
        "config_entry_id": elevator.entry.entry_id,
        "zones": [ZONE],
        "repeat": 2,
        "priority": "urgent",
        "wait": False,
    }
    [push] = elevator.phone.notifications
    assert CAMERA_NAME in push.data["message"]
    assert push.data["data"]["image"] == f"/api/camera_proxy/{CAMERA}"


async def test_no_repeat_within_the_cooldown(
    hass: HomeAssistant, elevator: Elevator, freezer: FrozenDateTimeFactory
) -> None:
    """The sensor turning on again inside the cooldown is not warned about."""
    await async_create_automation(hass, BLUEPRINT, inputs(elevator, cooldown=5))
    await async_set_state(hass, SENSOR, STATE_ON)
    await async_set_state(hass, SENSOR, STATE_OFF)
    await async_advance(hass, freezer, timedelta(minutes=4))
    await async_set_state(hass, SENSOR, STATE_ON)
    assert len(elevator.broadcasts) == 1
    assert len(elevator.phone.notifications) == 1

    await async_set_state(hass, SENSOR, STATE_OFF)
    await async_advance(hass, freezer, timedelta(minutes=2))
    assert len(elevator.broadcasts) == 1
    await async_set_state(hass, SENSOR, STATE_ON)
    assert len(elevator.broadcasts) == 2
    assert len(elevator.phone.notifications) == 2


async def test_stream_coming_back_does_not_warn(
    hass: HomeAssistant, elevator: Elevator
) -> None:
    """Only a change from off counts, not the sensor becoming available again."""
    await async_create_automation(hass, BLUEPRINT, inputs(elevator))
    await async_set_state(hass, SENSOR, STATE_UNAVAILABLE)
    await async_set_state(hass, SENSOR, STATE_ON)
    assert not elevator.broadcasts
    assert not elevator.phone.notifications


async def test_snapshot_left_out_when_not_wanted(
    hass: HomeAssistant, elevator: Elevator
) -> None:
    """Without a snapshot the push carries no picture."""
    await async_create_automation(
        hass, BLUEPRINT, inputs(elevator, attach_snapshot=False)
    )
    await async_set_state(hass, SENSOR, STATE_ON)
    [push] = elevator.phone.notifications
    assert "image" not in push.data["data"]


async def test_without_managers_only_the_zone_hears(
    hass: HomeAssistant, elevator: Elevator
) -> None:
    """With no phones chosen nobody is pushed, and the warning still plays."""
    await async_create_automation(
        hass, BLUEPRINT, {"ebike_sensor": SENSOR, "zones": [ZONE]}
    )
    await async_set_state(hass, SENSOR, STATE_ON)
    assert len(elevator.broadcasts) == 1
    assert not elevator.phone.notifications


async def test_with_a_real_camera_and_zone_an_ebike_is_warned_off(
    hass: HomeAssistant, start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """Against the simulator: the camera's stream shows an e-bike, the zone hears it.

    The camera serves MJPEG and the integration recognises the e-bike with its
    LiteRT models; the warning is spoken over RTP to a simulated speaker zone.
    """
    ebike = next(
        item
        for item in media_index()["objects"]
        if {"motorcycle", "bicycle"} & set(item["labels"])
    )
    sim = start_simulator(
        scenario_with(tmp_path, [camera_device("elevator"), ZONE_DEVICE])
    )
    await show(sim, None)
    await set_up(
        hass,
        safety_entry(
            zone_subentry(
                "zone-1", "1号楼 广播分区", sim.device(SPEAKER)["port"], "PCMU"
            ),
            camera_subentry(stream_url(sim), "elevator"),
        ),
    )
    await async_setup_speech(hass)
    phone = add_phone(hass, "Wang Wu Pixel")
    sensor = camera_entity(hass, "binary_sensor", "ebike")
    await async_create_automation(
        hass,
        BLUEPRINT,
        {
            "ebike_sensor": sensor,
            "zones": [safety_entity(hass, "media_player", "zone-1_player")],
            "managers": [phone.device_id],
        },
    )

    await show(sim, ebike["file"])

    async def warned() -> bool:
        return bool(phone.notifications) and await complete(sim, SPEAKER)

    await async_settle_until(hass, warned, RECOGNITION_SECONDS)
    assert hass.states.get(sensor).state == STATE_ON
    [push] = phone.notifications
    assert "电动自行车" in push.data["message"] or "e-bike" in push.data["message"]
    await async_turn_off_automations(hass)
