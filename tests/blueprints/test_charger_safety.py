"""Test the charger safety blueprint: stop a faulted or overheating port and report."""

import asyncio
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import ATTR_DEVICE_CLASS, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, ServiceCall
import pytest

from tests.test_charging import (
    CARD,
    SIM_DEVICE,
    Setup,
    entity as station_entity,
    received,
    sim_port,
)
from tests.test_face_terminal import wait_for

from .helpers import (
    Phone,
    add_community,
    add_device,
    add_entity,
    add_phone,
    assert_filtered_to,
    assert_house_rules,
    async_create_automation,
    async_load_blueprint,
    async_set_state,
    async_settle,
    mock_actions,
)

BLUEPRINT: Final = "charger_safety.yaml"
STATION: Final = "北区充电棚"
TURN_OFF: Final = "switch.turn_off"
HEAT: Final = {ATTR_DEVICE_CLASS: BinarySensorDeviceClass.HEAT}
PROBLEM: Final = {ATTR_DEVICE_CLASS: BinarySensorDeviceClass.PROBLEM}


def port_entity(domain: str, port: int, key: str) -> str:
    """Name an entity of a port of the station."""
    return f"{domain}.bei_qu_chong_dian_peng_port_{port}_{key}"


@dataclass
class Station:
    """The station's ports, a manager's phone and the switches turned off."""

    phone: Phone
    turned_off: list[ServiceCall]


@pytest.fixture
def station(hass: HomeAssistant) -> Station:
    """Register three ports, each with fault, overheat and two switches."""
    entry = add_community(hass)
    station_id = add_device(hass, entry, STATION)
    for port in (1, 2, 3):
        device_id = add_device(
            hass, entry, f"{STATION} port {port}", via_device_id=station_id
        )
        for key, attributes in (("fault", PROBLEM), ("overheating", HEAT)):
            entity_id = port_entity("binary_sensor", port, key)
            add_entity(
                hass, entry, entity_id, STATE_OFF, device_id=device_id, **attributes
            )
        for key in ("charging", "in_service"):
            entity_id = port_entity("switch", port, key)
            add_entity(hass, entry, entity_id, STATE_ON, device_id=device_id)
    phone = add_phone(hass, "Zhao Liu Phone")
    return Station(phone, mock_actions(hass, TURN_OFF)[TURN_OFF])


def inputs(station: Station, **changes: Any) -> dict[str, Any]:
    """Return the inputs: every port's sensors, the switches of ports 1 and 2."""
    return {
        "port_sensors": [
            port_entity("binary_sensor", port, key)
            for port in (1, 2, 3)
            for key in ("fault", "overheating")
        ],
        "charge_switches": [port_entity("switch", port, "charging") for port in (1, 2)],
        "managers": [station.phone.device_id],
        **changes,
    }


async def report(hass: HomeAssistant, port: int, key: str, state: str) -> None:
    """Set a port's fault or overheating sensor, keeping its device class."""
    entity_id = port_entity("binary_sensor", port, key)
    attributes = HEAT if key == "overheating" else PROBLEM
    await async_set_state(hass, entity_id, state, **attributes)


async def test_blueprint_loads_through_home_assistant(hass: HomeAssistant) -> None:
    """The blueprint passes Home Assistant's schema and the project's rules."""
    blueprint = await async_load_blueprint(hass, BLUEPRINT)
    assert_house_rules(blueprint, BLUEPRINT)
    assert_filtered_to(
        blueprint, "port_sensors", integration="smart_community", domain="binary_sensor"
    )
    assert_filtered_to(
        blueprint, "charge_switches", integration="smart_community", domain="switch"
    )


async def test_overheating_port_is_stopped(
    hass: HomeAssistant, station: Station
) -> None:
    """Only the overheating port's charging switch goes off; the push is critical."""
    await async_create_automation(hass, BLUEPRINT, inputs(station))
    await report(hass, 2, "overheating", STATE_ON)

    [turn_off] = station.turned_off
    assert turn_off.data["entity_id"] == [port_entity("switch", 2, "charging")]
    [push] = station.phone.notifications
    assert f"{STATION} port 2" in push.data["message"]
    assert "overheating" in push.data["title"]
    assert "charging stopped" in push.data["message"]
    assert push.data["data"]["push"]["interruption-level"] == "critical"


async def test_fault_is_reported_without_a_critical_push(
    hass: HomeAssistant, station: Station
) -> None:
    """A fault stops the port too, with an ordinary high-priority push."""
    await async_create_automation(hass, BLUEPRINT, inputs(station))
    await report(hass, 1, "fault", STATE_ON)

    [turn_off] = station.turned_off
    assert turn_off.data["entity_id"] == [port_entity("switch", 1, "charging")]
    [push] = station.phone.notifications
    assert "fault" in push.data["title"]
    assert "push" not in push.data["data"]


async def test_port_without_a_chosen_switch_is_only_reported(
    hass: HomeAssistant, station: Station
) -> None:
    """No switch is touched for port 3, whose switch was not picked."""
    await async_create_automation(hass, BLUEPRINT, inputs(station))
    await report(hass, 3, "overheating", STATE_ON)

    assert not station.turned_off
    [push] = station.phone.notifications
    assert "could not be stopped" in push.data["message"]


async def test_a_fault_while_another_port_is_stopping_is_not_lost(
    hass: HomeAssistant, station: Station
) -> None:
    """A second port faulting while the first one's stop is in progress waits its turn."""
    answered = asyncio.Event()
    stops: list[str] = []

    async def slow_turn_off(call: ServiceCall) -> None:
        """Stop a port as a station does: after it has answered."""
        stops.extend(call.data["entity_id"])
        await answered.wait()

    hass.services.async_register("switch", "turn_off", slow_turn_off)
    await async_create_automation(hass, BLUEPRINT, inputs(station))
    await report(hass, 1, "fault", STATE_ON)
    await report(hass, 2, "overheating", STATE_ON)
    assert stops == [port_entity("switch", 1, "charging")]

    answered.set()
    await async_settle(hass)
    assert stops == [
        port_entity("switch", 1, "charging"),
        port_entity("switch", 2, "charging"),
    ]
    assert len(station.phone.notifications) == 2


async def test_clearing_or_staying_on_does_nothing(
    hass: HomeAssistant, station: Station
) -> None:
    """A sensor clearing, or changing only its attributes, stops nothing."""
    await async_create_automation(hass, BLUEPRINT, inputs(station))
    await report(hass, 1, "fault", STATE_ON)
    await async_set_state(
        hass,
        port_entity("binary_sensor", 1, "fault"),
        STATE_ON,
        **PROBLEM,
        friendly_name="北区充电棚 port 1 Fault",
    )
    await report(hass, 1, "fault", STATE_OFF)
    assert len(station.turned_off) == 1
    assert len(station.phone.notifications) == 1


async def test_critical_push_can_be_turned_off(
    hass: HomeAssistant, station: Station
) -> None:
    """Without the critical option, overheating sends an ordinary push."""
    await async_create_automation(hass, BLUEPRINT, inputs(station, critical=False))
    await report(hass, 1, "overheating", STATE_ON)
    [push] = station.phone.notifications
    assert "overheating" in push.data["title"]
    assert "push" not in push.data["data"]


async def test_with_a_real_station_a_fault_stops_the_port_and_is_reported(
    hass: HomeAssistant, charging: Setup
) -> None:
    """Against the simulated OCPP station: a faulting port is stopped, managers told.

    The station plays OCPP 1.6J; the sensors and switches are the integration's,
    so the stop is a RemoteStopTransaction the station really receives.
    """
    _entry, sim, _port = await charging()
    phone = add_phone(hass, "Zhao Liu Phone")
    await async_create_automation(
        hass,
        BLUEPRINT,
        {
            "port_sensors": [
                station_entity(hass, "binary_sensor", key, port)
                for port in (1, 2, 3)
                for key in ("fault", "overheat")
            ],
            "charge_switches": [
                station_entity(hass, "switch", "charge", port) for port in (1, 2, 3)
            ],
            "managers": [phone.device_id],
        },
    )
    await sim.action(SIM_DEVICE, "plug_in", {"port": 2, "id_tag": CARD})
    charge = station_entity(hass, "switch", "charge", 2)
    await wait_for(hass, lambda: hass.states.get(charge).state == STATE_ON)
    started = (await sim_port(sim, 2))["transaction_id"]
    assert started is not None
    assert not phone.notifications

    await sim.action(SIM_DEVICE, "fault", {"port": 2, "error_code": "GroundFailure"})
    await wait_for(hass, lambda: hass.states.get(charge).state == STATE_OFF)
    await wait_for(hass, lambda: bool(phone.notifications))
    [push] = phone.notifications
    assert "fault" in push.data["title"]
    assert "port 2" in push.data["message"].lower()
    # The integration does not stop a faulted port itself: this stop is the blueprint's.
    [stop] = await received(sim, "RemoteStopTransaction")
    assert stop["transactionId"] == started
    assert (await sim_port(sim, 2))["transaction_id"] is None
