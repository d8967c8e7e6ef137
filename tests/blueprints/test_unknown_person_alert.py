"""Test the unknown person blueprint: alert on N unknown faces within M minutes."""

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest

from custom_components.smart_community.community import cameras
from tests.simulator_harness import StartSimulator
from tests.test_recognition import (
    RECOGNITION_SECONDS,
    EventLog,
    camera_entity,
    camera_entry,
    camera_scenario,
    camera_subentry,
    resident_and_stranger,
    set_up,
    show,
    stream_url,
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
    async_fire_event_entity,
    async_load_blueprint,
    async_set_state,
    async_settle,
    async_settle_until,
    async_turn_off_automations,
)

BLUEPRINT: Final = "unknown_person_alert.yaml"
CAMERA_NAME: Final = "北门 人行通道摄像头"
EVENT: Final = "event.north_gate_camera_recognition"
IMAGE: Final = "image.north_gate_camera_last_match"
CAMERA: Final = "camera.north_gate_camera"
EVENT_TYPES: Final = ["face_recognized", "face_unknown", "plate_read", "ebike_detected"]
APART: Final = timedelta(seconds=40)


@pytest.fixture
def phone(hass: HomeAssistant) -> Phone:
    """Register the camera's event, last-match image and camera, and a phone."""
    entry = add_community(hass)
    device_id = add_device(hass, entry, CAMERA_NAME)
    add_entity(
        hass, entry, EVENT, "unknown", device_id=device_id, event_types=EVENT_TYPES
    )
    add_entity(hass, entry, IMAGE, "unknown", device_id=device_id)
    add_entity(hass, entry, CAMERA, "streaming", device_id=device_id)
    return add_phone(hass, "Security Desk iPad")


def inputs(phone: Phone, **changes: Any) -> dict[str, Any]:
    """Return the inputs: 3 unknown faces within 5 minutes, 10 minutes' cooldown."""
    return {
        "recognition_event": EVENT,
        "unknown_faces": 3,
        "window": 5,
        "cooldown": 10,
        "managers": [phone.device_id],
        **changes,
    }


async def unknown_face(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, after: timedelta = APART
) -> None:
    """Let time pass, then have the camera report an unknown face."""
    await async_advance(hass, freezer, after)
    await async_fire_event_entity(
        hass, EVENT, "face_unknown", confidence=0.92, distance=1.21
    )


async def test_blueprint_loads_through_home_assistant(hass: HomeAssistant) -> None:
    """The blueprint passes Home Assistant's schema and the project's rules."""
    blueprint = await async_load_blueprint(hass, BLUEPRINT)
    assert_house_rules(blueprint, BLUEPRINT)
    assert_filtered_to(
        blueprint, "recognition_event", integration="smart_community", domain="event"
    )


async def test_alert_at_the_threshold_with_the_last_match(
    hass: HomeAssistant, phone: Phone, freezer: FrozenDateTimeFactory
) -> None:
    """Two unknown faces do nothing; the third within the window alerts."""
    await async_create_automation(hass, BLUEPRINT, inputs(phone))
    await unknown_face(hass, freezer)
    await unknown_face(hass, freezer)
    assert not phone.notifications

    await unknown_face(hass, freezer)
    [alert] = phone.notifications
    assert CAMERA_NAME in alert.data["message"]
    assert "3 unknown faces" in alert.data["message"]
    assert alert.data["data"]["image"] == f"/api/image_proxy/{IMAGE}"


async def test_faces_outside_the_window_do_not_count(
    hass: HomeAssistant, phone: Phone, freezer: FrozenDateTimeFactory
) -> None:
    """The window slides: faces three minutes apart never make three in five."""
    await async_create_automation(hass, BLUEPRINT, inputs(phone))
    for _ in range(5):
        await unknown_face(hass, freezer, timedelta(minutes=3))
    assert not phone.notifications

    # With the faces at 12:00 and 15:00, one at 15:40 makes three in five minutes.
    await unknown_face(hass, freezer)
    assert len(phone.notifications) == 1


async def comes_back_renamed(hass: HomeAssistant, name: str) -> None:
    """Make the event entity unavailable, bring it back, then rename it."""
    last = hass.states.get(EVENT)
    assert last is not None
    await async_set_state(hass, EVENT, STATE_UNAVAILABLE)
    await async_set_state(hass, EVENT, last.state, **last.attributes)
    renamed = {**last.attributes, "friendly_name": name}
    await async_set_state(hass, EVENT, last.state, **renamed)


async def test_other_events_and_restored_states_do_not_count(
    hass: HomeAssistant, phone: Phone, freezer: FrozenDateTimeFactory
) -> None:
    """Residents, e-bikes, the entity coming back or renamed: no unknown faces."""
    await async_create_automation(hass, BLUEPRINT, inputs(phone))
    await async_fire_event_entity(hass, EVENT, "face_recognized", resident="张三")
    await async_advance(hass, freezer, APART)
    await async_fire_event_entity(hass, EVENT, "ebike_detected", label="e-bike")
    # While a count runs, and again when none does.
    await unknown_face(hass, freezer)
    await comes_back_renamed(hass, "北门 识别")
    await unknown_face(hass, freezer)
    await async_advance(hass, freezer, timedelta(minutes=10))
    await comes_back_renamed(hass, "北门 人脸识别")
    await unknown_face(hass, freezer)
    await unknown_face(hass, freezer)
    assert not phone.notifications

    await unknown_face(hass, freezer)
    assert len(phone.notifications) == 1


async def test_quiet_during_the_cooldown(
    hass: HomeAssistant, phone: Phone, freezer: FrozenDateTimeFactory
) -> None:
    """After an alert, faces in the cooldown are ignored; then counting starts over."""
    await async_create_automation(hass, BLUEPRINT, inputs(phone))
    for _ in range(3):
        await unknown_face(hass, freezer)
    for _ in range(6):
        await unknown_face(hass, freezer)
    assert len(phone.notifications) == 1

    await async_advance(hass, freezer, timedelta(minutes=10))
    await unknown_face(hass, freezer)
    await unknown_face(hass, freezer)
    assert len(phone.notifications) == 1
    await unknown_face(hass, freezer)
    assert len(phone.notifications) == 2


async def test_threshold_of_one_alerts_at_once(
    hass: HomeAssistant, phone: Phone, freezer: FrozenDateTimeFactory
) -> None:
    """With a threshold of one, the first unknown face alerts."""
    await async_create_automation(
        hass, BLUEPRINT, inputs(phone, unknown_faces=1, cooldown=0)
    )
    await unknown_face(hass, freezer)
    await unknown_face(hass, freezer)
    assert len(phone.notifications) == 2


async def test_with_a_real_camera_a_stranger_seen_twice_alerts(
    hass: HomeAssistant,
    start_simulator: StartSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Against the simulated camera: a stranger on its stream twice alerts at two.

    The integration recognises faces on the camera's MJPEG stream with its LiteRT
    models; an unknown face counts again after a quiet spell, shortened here.
    """
    monkeypatch.setattr(cameras, "UNKNOWN_QUIET_SECONDS", 0.5)
    _resident, stranger = resident_and_stranger()
    sim = start_simulator(str(camera_scenario(tmp_path, "door")))
    await show(sim, None)
    await set_up(hass, camera_entry(camera_subentry(stream_url(sim), "door")))
    phone = add_phone(hass, "Security Desk iPad")
    event = camera_entity(hass, "event", "recognition")
    await async_create_automation(
        hass,
        BLUEPRINT,
        {"recognition_event": event, "unknown_faces": 2, "managers": [phone.device_id]},
    )
    log = EventLog(hass)
    for seen in (1, 2):
        await show(sim, stranger[0])
        await async_settle_until(
            hass,
            lambda seen=seen: len(log.of("face_unknown")) >= seen,
            RECOGNITION_SECONDS,
        )
        if seen == 1:
            assert not phone.notifications
            await show(sim, None)
            await asyncio.sleep(1)
    log.close()
    await async_settle(hass)
    [alert] = phone.notifications
    assert "2 unknown faces" in alert.data["message"]
    image = camera_entity(hass, "image", "last_match")
    assert alert.data["data"]["image"] == f"/api/image_proxy/{image}"
    await async_turn_off_automations(hass)
