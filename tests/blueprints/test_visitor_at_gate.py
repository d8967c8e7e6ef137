"""Test the visitor blueprint: ask the guards, open the lane's barrier on "let in"."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, ServiceCall
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.gate_helpers import ENTRY_LANE, gate_entity
from tests.simulator_harness import SimulatorProcess
from tests.test_gate_simulator import arrive

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
    mock_actions,
)

BLUEPRINT: Final = "visitor_at_gate.yaml"
EAST: Final = "东门入口"
WEST: Final = "西门入口"
EAST_PLATES: Final = "event.dong_men_ru_kou_plate_read"
WEST_PLATES: Final = "event.xi_men_ru_kou_plate_read"
EAST_BARRIER: Final = "cover.dong_men_ru_kou_barrier"
WEST_BARRIER: Final = "cover.xi_men_ru_kou_barrier"
NOTIFICATION_ACTION: Final = "mobile_app_notification_action"
OPEN_COVER: Final = "cover.open_cover"


@dataclass
class Gate:
    """Two lanes, two guards' phones and the barriers opened."""

    guards: list[Phone]
    opened: list[ServiceCall]


@pytest.fixture
def gate(hass: HomeAssistant) -> Gate:
    """Register the east and west entry lanes with their plate events and barriers."""
    entry = add_community(hass)
    for name, plates, barrier in (
        (EAST, EAST_PLATES, EAST_BARRIER),
        (WEST, WEST_PLATES, WEST_BARRIER),
    ):
        device_id = add_device(hass, entry, name)
        add_entity(
            hass,
            entry,
            plates,
            "unknown",
            device_id=device_id,
            event_types=["plate_read"],
        )
        add_entity(hass, entry, barrier, "closed", device_id=device_id)
    guards = [add_phone(hass, "Gate Guard 1"), add_phone(hass, "门岗二")]
    return Gate(guards, mock_actions(hass, OPEN_COVER)[OPEN_COVER])


def inputs(gate: Gate, **changes: Any) -> dict[str, Any]:
    """Return the inputs serving both lanes."""
    return {
        "plate_events": [EAST_PLATES, WEST_PLATES],
        "managers": [guard.device_id for guard in gate.guards],
        **changes,
    }


async def read_plate(
    hass: HomeAssistant,
    entity_id: str,
    plate: str | None = "粤B12345",
    verdict: str = "unknown",
    *,
    opened: bool = False,
) -> None:
    """Have a lane report a plate read with its verdict."""
    await async_fire_event_entity(
        hass,
        entity_id,
        "plate_read",
        plate=plate,
        verdict=verdict,
        opened=opened,
        direction="entry",
        confidence=0.97,
    )


def actions_of(guard: Phone, index: int = 0) -> dict[str, str]:
    """Return the button IDs of a question a guard got, by their order."""
    buttons = guard.notifications[index].data["data"]["actions"]
    return {"let_in": buttons[0]["action"], "ignore": buttons[1]["action"]}


async def answer(hass: HomeAssistant, action: str) -> None:
    """Press a button of a notification, as the app reports it."""
    hass.bus.async_fire(NOTIFICATION_ACTION, {"action": action})
    await async_settle(hass)


def questions(guard: Phone) -> list[ServiceCall]:
    """Return the questions a guard was sent, leaving out the clearing commands."""
    return [
        call
        for call in guard.notifications
        if call.data["message"] != "clear_notification"
    ]


def cleared(guard: Phone) -> list[str]:
    """Return the tags a guard's phone was told to clear."""
    return [
        call.data["data"]["tag"]
        for call in guard.notifications
        if call.data["message"] == "clear_notification"
    ]


async def test_blueprint_loads_through_home_assistant(hass: HomeAssistant) -> None:
    """The blueprint passes Home Assistant's schema and the project's rules."""
    blueprint = await async_load_blueprint(hass, BLUEPRINT)
    assert_house_rules(blueprint, BLUEPRINT)
    assert_filtered_to(
        blueprint, "plate_events", integration="smart_community", domain="event"
    )
    assert blueprint.inputs["verdicts"]["default"] == ["unknown"]


async def test_let_in_opens_the_lane_once(hass: HomeAssistant, gate: Gate) -> None:
    """Both guards are asked; the first "let in" opens the east barrier, once."""
    await async_create_automation(hass, BLUEPRINT, inputs(gate))
    await read_plate(hass, EAST_PLATES)

    for guard in gate.guards:
        [question] = guard.notifications
        assert "粤B12345" in question.data["message"]
        assert EAST in question.data["message"]
    buttons = actions_of(gate.guards[0])
    assert buttons == actions_of(gate.guards[1])
    assert buttons["let_in"] != buttons["ignore"]
    assert not gate.opened

    await answer(hass, buttons["let_in"])
    [opened] = gate.opened
    assert opened.data["entity_id"] == [EAST_BARRIER]
    tag = gate.guards[0].notifications[0].data["data"]["tag"]
    for guard in gate.guards:
        assert cleared(guard) == [tag]

    await answer(hass, buttons["let_in"])
    assert len(gate.opened) == 1


async def test_each_car_gets_its_own_buttons(hass: HomeAssistant, gate: Gate) -> None:
    """Cars at two lanes are asked about together; each answer opens its own lane."""
    await async_create_automation(hass, BLUEPRINT, inputs(gate))
    await read_plate(hass, EAST_PLATES, "粤B11111")
    await read_plate(hass, WEST_PLATES, "粤B22222")
    guard = gate.guards[0]
    east, west = actions_of(guard, 0), actions_of(guard, 1)
    assert len({*east.values(), *west.values()}) == 4

    await answer(hass, west["let_in"])
    assert [call.data["entity_id"] for call in gate.opened] == [[WEST_BARRIER]]
    await answer(hass, east["let_in"])
    assert [call.data["entity_id"] for call in gate.opened] == [
        [WEST_BARRIER],
        [EAST_BARRIER],
    ]


async def test_ignore_opens_nothing(hass: HomeAssistant, gate: Gate) -> None:
    """Ignoring ends the question without opening; a later "let in" is too late."""
    await async_create_automation(hass, BLUEPRINT, inputs(gate))
    await read_plate(hass, EAST_PLATES)
    buttons = actions_of(gate.guards[1])

    await answer(hass, buttons["ignore"])
    await answer(hass, buttons["let_in"])
    assert not gate.opened
    assert all(len(cleared(guard)) == 1 for guard in gate.guards)


async def test_no_answer_in_time_opens_nothing(
    hass: HomeAssistant, gate: Gate, freezer: FrozenDateTimeFactory
) -> None:
    """Without an answer within the time, nothing opens, even if one comes later."""
    await async_create_automation(hass, BLUEPRINT, inputs(gate, answer_within=3))
    await read_plate(hass, EAST_PLATES)
    buttons = actions_of(gate.guards[0])

    await async_advance(hass, freezer, timedelta(minutes=3, seconds=1))
    assert all(len(cleared(guard)) == 1 for guard in gate.guards)
    await answer(hass, buttons["let_in"])
    assert not gate.opened


async def test_known_or_opened_cars_are_not_asked_about(
    hass: HomeAssistant, gate: Gate, freezer: FrozenDateTimeFactory
) -> None:
    """Residents, cars let in, a lane coming back or renamed: no question."""
    await async_create_automation(hass, BLUEPRINT, inputs(gate))
    await read_plate(hass, EAST_PLATES, "粤B88888", "resident", opened=True)
    await async_advance(hass, freezer, timedelta(seconds=5))
    await read_plate(hass, EAST_PLATES, "粤B77777", "visitor", opened=True)
    await async_advance(hass, freezer, timedelta(seconds=5))
    await read_plate(hass, EAST_PLATES, "粤B66666", "unknown", opened=True)
    await async_advance(hass, freezer, timedelta(seconds=5))
    await read_plate(hass, EAST_PLATES, None, "no_plate")
    await async_advance(hass, freezer, timedelta(seconds=5))
    await read_plate(hass, EAST_PLATES, "粤B55555", "expired_pass")
    assert all(not guard.notifications for guard in gate.guards)

    await async_advance(hass, freezer, timedelta(seconds=5))
    await read_plate(hass, EAST_PLATES, "粤B44444")
    last = hass.states.get(EAST_PLATES)
    assert last is not None
    await async_set_state(hass, EAST_PLATES, STATE_UNAVAILABLE)
    await async_set_state(hass, EAST_PLATES, last.state, **last.attributes)
    await async_set_state(
        hass, EAST_PLATES, last.state, **last.attributes, friendly_name="东门"
    )
    assert all(len(questions(guard)) == 1 for guard in gate.guards)


async def test_other_verdicts_when_chosen(
    hass: HomeAssistant, gate: Gate, freezer: FrozenDateTimeFactory
) -> None:
    """A car with no plate is asked about when chosen, and let in on "let in"."""
    await async_create_automation(
        hass, BLUEPRINT, inputs(gate, verdicts=["unknown", "no_plate"])
    )
    await read_plate(hass, WEST_PLATES, None, "no_plate")
    [question] = questions(gate.guards[0])
    assert "no plate" in question.data["message"]
    await answer(hass, actions_of(gate.guards[0])["let_in"])
    [opened] = gate.opened
    assert opened.data["entity_id"] == [WEST_BARRIER]


async def test_with_a_real_camera_let_in_fires_the_relay(
    hass: HomeAssistant, lanes: tuple[MockConfigEntry, SimulatorProcess]
) -> None:
    """Against the simulated LPR camera: a stranger is asked about, "let in" opens.

    The camera pushes AlarmInfoPlate and gets no opening; the guard's answer opens
    the integration's barrier, which the camera's relay carries out on its poll.
    """
    _entry, sim = lanes
    guard = add_phone(hass, "Gate Guard 1")
    plates = gate_entity(hass, "event", ENTRY_LANE, "plate")
    await async_create_automation(
        hass,
        BLUEPRINT,
        {"plate_events": [plates], "managers": [guard.device_id]},
    )
    # A resident's car opens by itself: nobody is asked.
    assert (await arrive(sim, "lpr-in", "京A12345"))["relay_fired"] is True
    await async_settle(hass)
    assert not guard.notifications

    stranger = await arrive(sim, "lpr-in", "浙A99999")
    assert stranger["relay_fired"] is False
    await async_settle(hass)
    [question] = questions(guard)
    assert "浙A99999" in question.data["message"]
    relays = (await sim.snapshot("lpr-in"))["state"]["relay_count"]

    await answer(hass, actions_of(guard)["let_in"])

    async def fired() -> bool:
        state = (await sim.snapshot("lpr-in"))["state"]
        return bool(state["relay_count"] != relays)

    await async_settle_until(hass, fired, 10)
    assert (await sim.snapshot("lpr-in"))["state"]["relay_count"] == relays + 1
