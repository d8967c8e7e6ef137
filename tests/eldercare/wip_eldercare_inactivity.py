"""Test the eldercare_inactivity blueprint against the integration's real entities.

Not collected yet (the file name keeps pytest away): the blueprint loads and
validates, but the template trigger does not fire when the tests move the
frozen clock with async_fire_time_changed at an arbitrary second; it re-renders
on whole minutes. The automation must also be unloaded at the end, or its
minute timer lingers. See the closing note of issue 9.
"""

from datetime import timedelta
from pathlib import Path
import shutil
from typing import Final

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)

from ..conftest import add_resident, call
from ..test_activity import resident_entity

BLUEPRINT: Final = "smart_community/eldercare_inactivity.yaml"
SOURCE: Final = Path(__file__).parents[2] / "blueprints" / "automation" / BLUEPRINT


async def set_up_blueprint(hass: HomeAssistant, last_activity: str) -> None:
    """Install the blueprint and create an automation from it (0.5 h, always on)."""
    target = Path(hass.config.path("blueprints", "automation", BLUEPRINT))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE, target)
    blueprint = await async_get_blueprints(hass).async_get_blueprint(BLUEPRINT)
    assert blueprint.metadata["source_url"].endswith("eldercare_inactivity.yaml")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "eldercare",
                "use_blueprint": {
                    "path": BLUEPRINT,
                    "input": {
                        "last_activity": last_activity,
                        "inactive_hours": 0.5,
                        "window_start": "00:00:00",
                        "window_end": "23:59:59",
                        "resident_notify": "notify.mobile_app_grandma",
                        "grid_worker_notify": "notify.mobile_app_grid_worker",
                        "escalation_notify": ["notify.mobile_app_daughter"],
                        "wait_minutes": 10,
                    },
                },
            }
        },
    )
    await hass.async_block_till_done()


async def test_quiet_resident_is_asked_and_im_ok_resets(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """No activity for 30 minutes asks; "I'm OK" records a check-in; no escalation."""
    entry = init_integration
    resident_id = await add_resident(
        hass, entry, name="王奶奶", tags=["elderly_living_alone"]
    )
    await call(
        hass,
        "link_activity_sources",
        entry,
        resident_id=resident_id,
        inactive_after={"minutes": 30},
    )
    await hass.async_block_till_done()
    last = resident_entity(hass, "sensor", resident_id, "last_activity")
    inactive = resident_entity(hass, "binary_sensor", resident_id, "inactive")
    grandma = async_mock_service(hass, "notify", "mobile_app_grandma")
    worker = async_mock_service(hass, "notify", "mobile_app_grid_worker")
    daughter = async_mock_service(hass, "notify", "mobile_app_daughter")
    await set_up_blueprint(hass, last)

    freezer.tick(timedelta(minutes=20))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert not grandma  # not yet quiet for half an hour

    freezer.tick(timedelta(minutes=11))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len(grandma) == 1
    assert len(worker) == 1
    actions = grandma[0].data["data"]["actions"]
    ok_action = actions[0]["action"]
    assert ok_action.startswith("SC_OK_")
    assert hass.states.get(inactive).state == STATE_ON

    hass.bus.async_fire("mobile_app_notification_action", {"action": ok_action})
    await hass.async_block_till_done()
    assert hass.states.get(inactive).state == STATE_OFF
    assert hass.states.get(last).attributes["source"] == "check_in"
    freezer.tick(timedelta(minutes=15))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert not daughter
    assert len(worker) == 1


async def test_no_answer_escalates(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """No answer within the wait notifies everyone and leaves a persistent notification."""
    entry = init_integration
    resident_id = await add_resident(
        hass, entry, name="李爷爷", tags=["elderly_living_alone"]
    )
    await hass.async_block_till_done()
    last = resident_entity(hass, "sensor", resident_id, "last_activity")
    grandma = async_mock_service(hass, "notify", "mobile_app_grandma")
    worker = async_mock_service(hass, "notify", "mobile_app_grid_worker")
    daughter = async_mock_service(hass, "notify", "mobile_app_daughter")
    await set_up_blueprint(hass, last)

    freezer.tick(timedelta(minutes=31))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len(grandma) == 1
    freezer.tick(timedelta(minutes=11))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len(daughter) == 1
    assert "李爷爷" in daughter[0].data["message"]
    assert len(worker) == 2
    notifications = hass.states.async_all("persistent_notification")
    assert notifications or hass.data.get("persistent_notification") is not None
