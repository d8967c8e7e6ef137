"""Test the eldercare SOS blueprint against the integration itself.

王奶奶's BLE button is linked in the integration; its presses are advertisements
injected into Home Assistant's bluetooth manager, as Home Assistant's own tests
do, so the SOS event the blueprint follows is the integration's. The building's
broadcast goes to a speaker zone played by the simulator.
"""

from dataclasses import dataclass
from typing import Any, Final

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest

from custom_components.smart_community.protocols.ble import BTHOME_SERVICE_UUID
from tests.test_activity import advertise, resident_entity

from .community import Community
from .helpers import (
    Phone,
    add_phone,
    assert_filtered_to,
    assert_house_rules,
    async_create_automation,
    async_load_blueprint,
    async_set_state,
    async_settle,
)

BLUEPRINT: Final = "eldercare_sos.yaml"
GRANDMA: Final = "王奶奶"
HOME: Final = "1-2-301"
BUTTON: Final = "3C:2E:F5:AA:BB:CC"
HALL_BUTTON: Final = "event.hall_button"
PANIC: Final = "binary_sensor.room_1201_panic_button"


@dataclass
class Setting:
    """王奶奶 with her button, other buttons, and the phones told."""

    community: Community
    resident_id: str
    sos: str
    grid_worker: Phone
    son: Phone
    manager: Phone


@pytest.fixture
async def setting(
    hass: HomeAssistant, mock_bluetooth: None, community: Community
) -> Setting:
    """Link 王奶奶's BLE button; add a hall button and a panic button of others."""
    assert await async_setup_component(hass, "bluetooth", {})
    await hass.async_block_till_done()
    resident_id = await community.async_add_elder(hass, GRANDMA, ble_button=BUTTON)
    # Buttons of other integrations: an event entity and a wired contact.
    hass.states.async_set(
        HALL_BUTTON,
        "2026-11-21T08:00:00.000+00:00",
        {"event_types": ["press"], "event_type": "press", "friendly_name": "大堂按钮"},
    )
    hass.states.async_set(PANIC, STATE_OFF, {"friendly_name": "1201 紧急按钮"})
    return Setting(
        community,
        resident_id,
        resident_entity(hass, "event", resident_id, "sos"),
        add_phone(hass, "Grid Worker Li"),
        add_phone(hass, "儿子 iPhone"),
        add_phone(hass, "Manager Zhao"),
    )


def inputs(setting: Setting, **changes: Any) -> dict[str, Any]:
    """Every kind of button, two contacts, the building's broadcast on."""
    return {
        "sos_events": [setting.sos, HALL_BUTTON],
        "panic_buttons": [PANIC],
        "grid_worker_phone": setting.grid_worker.device_id,
        "contact_phones": [setting.son.device_id, setting.manager.device_id],
        "broadcast": True,
    } | changes


async def async_press(hass: HomeAssistant, packet: int) -> None:
    """Press 王奶奶's button once: a BTHome v2 packet with a button press."""
    data = bytes([0x44, 0x00, packet, 0x3A, 0x01])
    for _ in range(3):  # one press is advertised several times
        advertise(BUTTON, service_data={BTHOME_SERVICE_UUID: data})
    await async_settle(hass)


def phones(setting: Setting) -> list[Phone]:
    """Return the phones that are told of every call."""
    return [setting.grid_worker, setting.son, setting.manager]


async def test_blueprint_metadata(hass: HomeAssistant) -> None:
    """The blueprint validates; its inputs offer what they should."""
    blueprint = await async_load_blueprint(hass, BLUEPRINT)
    assert_house_rules(blueprint, BLUEPRINT)
    assert_filtered_to(blueprint, "sos_events", domain="event")
    assert_filtered_to(blueprint, "panic_buttons", domain="binary_sensor")
    assert_filtered_to(blueprint, "grid_worker_phone", integration="mobile_app")
    community = blueprint.inputs["community"]["selector"]["config_entry"]
    assert community["integration"] == "smart_community"


async def test_ble_button_calls_everyone_and_the_building_hears_it(
    hass: HomeAssistant, setting: Setting
) -> None:
    """A press: critical pushes naming her and her flat, a notification, a broadcast."""
    await async_create_automation(hass, BLUEPRINT, inputs(setting))
    await async_press(hass, 0x10)
    await setting.community.async_heard(hass)

    for phone in phones(setting):
        assert len(phone.notifications) == 1
        push = phone.notifications[0].data
        assert push["title"] == f"紧急求救 SOS: {GRANDMA}"
        assert f"{GRANDMA}（{HOME}）" in push["message"]  # noqa: RUF001
        assert push["data"]["push"]["interruption-level"] == "critical"
        assert push["data"]["tag"] == f"smart_community_sos_{setting.sos}"
    notification = setting.community.notifications[f"smart_community_sos_{setting.sos}"]
    assert HOME in notification["message"]

    # The same press heard again is no new call; a second press is.
    await async_press(hass, 0x10)
    assert len(setting.son.notifications) == 1
    await async_press(hass, 0x11)
    assert len(setting.son.notifications) == 2
    await setting.community.async_heard(hass, count=2)


async def test_other_buttons_call_without_a_broadcast_unless_told_where(
    hass: HomeAssistant, setting: Setting
) -> None:
    """Another integration's buttons say no building: pushes only, or the set one."""
    await async_create_automation(hass, BLUEPRINT, inputs(setting))
    await async_set_state(
        hass,
        HALL_BUTTON,
        "2026-11-21T09:15:00.000+00:00",
        event_types=["press"],
        event_type="press",
        friendly_name="大堂按钮",
    )
    await async_set_state(hass, PANIC, STATE_ON, friendly_name="1201 紧急按钮")
    for phone in phones(setting):
        titles = [call.data["title"] for call in phone.notifications]
        assert titles == ["紧急求救 SOS: 大堂按钮", "紧急求救 SOS: 1201 紧急按钮"]
    assert await setting.community.async_announcements() == 0


async def test_set_building_broadcasts_for_other_buttons(
    hass: HomeAssistant, setting: Setting
) -> None:
    """With a community and a building set, a panic button is broadcast there."""
    await async_create_automation(
        hass,
        BLUEPRINT,
        inputs(setting, community=setting.community.entry.entry_id, building="1"),
    )
    await async_set_state(hass, PANIC, STATE_ON, friendly_name="1201 紧急按钮")
    await setting.community.async_heard(hass)
    assert len(setting.manager.notifications) == 1


async def test_no_call_without_a_press(hass: HomeAssistant, setting: Setting) -> None:
    """Buttons that go away, come back or are released call nobody; so does no press."""
    await async_create_automation(hass, BLUEPRINT, inputs(setting, broadcast=False))
    # A packet without a press, the panic button released or unavailable.
    advertise(BUTTON, service_data={BTHOME_SERVICE_UUID: bytes([0x44, 0x00, 0x20])})
    await async_settle(hass)
    await async_set_state(hass, PANIC, STATE_UNAVAILABLE)
    await async_set_state(hass, PANIC, STATE_ON)
    await async_set_state(hass, PANIC, STATE_OFF)
    # The hall button's integration going away and coming back with its event.
    hall = hass.states.get(HALL_BUTTON)
    await async_set_state(hass, HALL_BUTTON, STATE_UNAVAILABLE)
    await async_set_state(hass, HALL_BUTTON, hall.state, **hall.attributes)
    # The integration reloaded: her SOS entity comes back with its last state.
    assert await hass.config_entries.async_reload(setting.community.entry.entry_id)
    await hass.async_block_till_done()
    for phone in phones(setting):
        assert not phone.notifications
    assert not setting.community.notifications
