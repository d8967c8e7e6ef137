"""Test the eldercare inactivity blueprint against the integration itself.

The community is set up for real: the resident's "Last activity" sensor is the
integration's, "I'm OK" calls its record_activity action, and the escalation's
broadcast goes to a speaker zone played by the simulator. The clock flows (so
the broadcast can stream) and jumps when a test moves it on.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Final

from freezegun import freeze_time
from freezegun.api import StepTickTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest

from tests.conftest import call
from tests.test_activity import resident_entity

from .community import Community
from .helpers import (
    Phone,
    add_phone,
    assert_filtered_to,
    assert_house_rules,
    async_create_automation,
    async_load_blueprint,
    async_settle,
)

BLUEPRINT: Final = "eldercare_inactivity.yaml"
GRANDMA: Final = "王奶奶"
DOOR: Final = "binary_sensor.home_301_door"
# A Saturday morning in the test Home Assistant's time zone, half a minute past,
# so that jumps do not land on the minute the template is rendered again.
MORNING: Final = time(9, 0, 30)


def local(day_time: time, days: int = 0) -> datetime:
    """Return a time of 21 November 2026 (or days later), local to Home Assistant."""
    moment = datetime(2026, 11, 21 + days, tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(datetime.combine(moment.date(), day_time, moment.tzinfo))


@pytest.fixture
def clock() -> Iterator[StepTickTimeFactory]:
    """Freeze the clock at 9 in the morning but let it flow; tests jump it on.

    The event loop's clock flows with it, so the broadcast can stream in real
    time, and a jump makes every timer that falls due run on the next turn.
    """
    with freeze_time(local(MORNING), tick=True) as frozen:
        yield frozen


@dataclass
class Grandma:
    """王奶奶, who lives alone, her sensors and the phones, in the community."""

    community: Community
    resident_id: str
    last_activity: str
    inactive: str
    phone: Phone
    grid_worker: Phone
    daughter: Phone


@pytest.fixture
async def grandma(
    hass: HomeAssistant, clock: StepTickTimeFactory, community: Community
) -> Grandma:
    """Watch 王奶奶, her door linked, quiet after half an hour."""
    hass.states.async_set(DOOR, STATE_OFF, {"device_class": "door"})
    resident_id = await community.async_add_elder(
        hass, GRANDMA, entities=[DOOR], inactive_after={"minutes": 30}
    )
    return Grandma(
        community,
        resident_id,
        resident_entity(hass, "sensor", resident_id, "last_activity"),
        resident_entity(hass, "binary_sensor", resident_id, "inactive"),
        add_phone(hass, "王奶奶的手机"),
        add_phone(hass, "Grid Worker Li"),
        add_phone(hass, "女儿 iPhone"),
    )


def inputs(grandma: Grandma, **changes: Any) -> dict[str, Any]:
    """Half an hour of quiet, all day, ten minutes to answer, the zone broadcast."""
    return {
        "last_activity": grandma.last_activity,
        "inactive_hours": 0.5,
        "window_start": "00:00:00",
        "window_end": "23:59:59",
        "resident_phone": grandma.phone.device_id,
        "grid_worker_phone": grandma.grid_worker.device_id,
        "escalation_phones": [grandma.daughter.device_id],
        "wait_minutes": 10,
        "broadcast_zones": [grandma.community.zone],
    } | changes


async def async_jump(
    hass: HomeAssistant, clock: StepTickTimeFactory, delta: timedelta
) -> None:
    """Jump the clock on and let what fell due run."""
    clock.tick(delta)
    await async_settle(hass)


async def async_answer(hass: HomeAssistant, phone: Phone, button: int) -> None:
    """Tap a button of the question a phone was last sent."""
    question = phone.notifications[-1].data["data"]
    action = question["actions"][button]["action"]
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await async_settle(hass)


async def test_blueprint_metadata(hass: HomeAssistant) -> None:
    """The blueprint validates and offers only the integration's timestamp sensors."""
    blueprint = await async_load_blueprint(hass, BLUEPRINT)
    assert_house_rules(blueprint, BLUEPRINT)
    assert_filtered_to(
        blueprint,
        "last_activity",
        integration="smart_community",
        domain="sensor",
        device_class="timestamp",
    )
    assert_filtered_to(blueprint, "broadcast_zones", integration="smart_community")


async def test_quiet_resident_is_asked_and_im_ok_checks_in(
    hass: HomeAssistant, grandma: Grandma, clock: StepTickTimeFactory
) -> None:
    """Half an hour of quiet asks both phones; "I'm OK" is a check-in, no escalation."""
    await async_create_automation(hass, BLUEPRINT, inputs(grandma))

    await async_jump(hass, clock, timedelta(minutes=20))
    assert not grandma.phone.notifications

    await async_jump(hass, clock, timedelta(minutes=11))
    assert len(grandma.phone.notifications) == 1
    assert len(grandma.grid_worker.notifications) == 1
    asked = grandma.phone.notifications[0].data
    assert GRANDMA in asked["message"]
    assert [button["title"] for button in asked["data"]["actions"]] == [
        "我很好 I'm OK",
        "我需要帮助 I need help",
    ]
    # The grid worker gets the same buttons, so they can answer for her.
    worker_question = grandma.grid_worker.notifications[0].data["data"]
    assert worker_question == asked["data"]
    assert hass.states.get(grandma.inactive).state == STATE_ON

    await async_answer(hass, grandma.phone, 0)
    last = hass.states.get(grandma.last_activity)
    assert last.attributes["source"] == "check_in"
    assert hass.states.get(grandma.inactive).state == STATE_OFF

    await async_jump(hass, clock, timedelta(minutes=15))
    assert not grandma.daughter.notifications
    assert len(grandma.grid_worker.notifications) == 1

    # Quiet for another half hour after the check-in: asked again.
    await async_jump(hass, clock, timedelta(minutes=16))
    assert len(grandma.phone.notifications) == 2


async def test_activity_while_waiting_ends_the_round(
    hass: HomeAssistant, grandma: Grandma, clock: StepTickTimeFactory
) -> None:
    """Her door opening while nobody has answered ends it: no escalation."""
    await async_create_automation(hass, BLUEPRINT, inputs(grandma))
    await async_jump(hass, clock, timedelta(minutes=31))
    assert len(grandma.phone.notifications) == 1

    hass.states.async_set(DOOR, STATE_ON, {"device_class": "door"})
    await async_settle(hass)
    await async_jump(hass, clock, timedelta(minutes=11))
    assert not grandma.daughter.notifications
    assert len(grandma.grid_worker.notifications) == 1
    assert hass.states.get(grandma.last_activity).attributes["source"] == "door"


async def test_no_answer_escalates_everywhere(
    hass: HomeAssistant,
    grandma: Grandma,
    clock: StepTickTimeFactory,
) -> None:
    """No answer in ten minutes: urgent pushes, a broadcast and a notification."""
    await async_create_automation(hass, BLUEPRINT, inputs(grandma))
    await async_jump(hass, clock, timedelta(minutes=31))
    assert len(grandma.phone.notifications) == 1
    assert not grandma.daughter.notifications

    await async_jump(hass, clock, timedelta(minutes=10, seconds=1))
    await grandma.community.async_heard(hass)
    assert len(grandma.daughter.notifications) == 1
    urgent = grandma.daughter.notifications[0].data
    assert GRANDMA in urgent["message"]
    assert "10 分钟未回复" in urgent["message"]
    assert urgent["data"]["push"]["interruption-level"] == "time-sensitive"
    assert len(grandma.grid_worker.notifications) == 2
    # The resident is not pushed again; she was asked.
    assert len(grandma.phone.notifications) == 1
    shown = grandma.community.notifications[
        f"smart_community_inactivity_{grandma.resident_id}"
    ]
    assert GRANDMA in shown["message"]
    assert len(grandma.community.notifications) == 1


async def test_i_need_help_escalates_at_once(
    hass: HomeAssistant,
    grandma: Grandma,
    clock: StepTickTimeFactory,
) -> None:
    """Asking for help escalates without waiting; she is not checked in."""
    await async_create_automation(hass, BLUEPRINT, inputs(grandma, broadcast_zones=[]))
    await async_jump(hass, clock, timedelta(minutes=31))
    await async_answer(hass, grandma.phone, 1)
    assert len(grandma.daughter.notifications) == 1
    assert "回复需要帮助" in grandma.daughter.notifications[0].data["message"]
    assert hass.states.get(grandma.inactive).state == STATE_ON
    assert hass.states.get(grandma.last_activity).attributes["source"] is None
    assert len(grandma.community.notifications) == 1


async def test_night_quiet_is_asked_when_the_window_opens(
    hass: HomeAssistant, grandma: Grandma, clock: StepTickTimeFactory
) -> None:
    """Quiet turns true at night: nobody is woken, she is asked at 07:00."""
    clock.move_to(local(time(20, 40, 30)))
    await call(
        hass,
        "record_activity",
        grandma.community.entry,
        resident_id=grandma.resident_id,
    )
    await async_create_automation(
        hass,
        BLUEPRINT,
        inputs(grandma, window_start="07:00:00", window_end="21:00:00"),
    )
    await async_jump(hass, clock, timedelta(minutes=31))
    assert hass.states.get(grandma.inactive).state == STATE_ON
    assert not grandma.phone.notifications

    clock.move_to(local(time(6, 59, 50), days=1))
    await async_settle(hass)
    assert not grandma.phone.notifications
    await async_jump(hass, clock, timedelta(seconds=15))
    assert len(grandma.phone.notifications) == 1


@pytest.mark.parametrize("event_type", ["homeassistant_started", "automation_reloaded"])
async def test_already_quiet_is_asked_on_start_or_when_made(
    hass: HomeAssistant, grandma: Grandma, clock: StepTickTimeFactory, event_type: str
) -> None:
    """Quiet before the automation existed: asked once Home Assistant starts or it is made.

    The template is true from the start then, so it never turns true by itself.
    """
    await async_jump(hass, clock, timedelta(minutes=45))
    await async_create_automation(hass, BLUEPRINT, inputs(grandma))
    await async_jump(hass, clock, timedelta(minutes=2))
    assert not grandma.phone.notifications

    hass.bus.async_fire(event_type)
    await async_settle(hass)
    assert len(grandma.phone.notifications) == 1
