"""Test charging stations: simulated OCPP 1.6J charge points dial Home Assistant.

The simulator plays the charge points with the ``ocpp`` library's ChargePoint
over a websockets client; Home Assistant is the central system. Nothing of our
OCPP code runs on the charge-point side.
"""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import (
    CONF_NAME,
    CONF_PASSWORD,
    CONF_PORT,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smart_community.community.charging_centre import (
    ChargingCentre,
)
from custom_components.smart_community.const import (
    CONF_BUILDING,
    CONF_CHARGE_POINT_ID,
    CONF_FULL_MINUTES,
    CONF_FULL_POWER,
    CONF_MAX_DURATION,
    CONF_MAX_POWER,
    CONF_MAX_TEMPERATURE,
    CONF_PORT_COUNT,
    DOMAIN,
    SUBENTRY_TYPE_CHARGING_STATION,
)
from custom_components.smart_community.protocols.ocpp.connection import Problem
from tests.simulator_harness import (
    SimulatorProcess,
    SimulatorRequestError,
    StartSimulator,
)

from .safety_helpers import free_port, safety_entity, safety_entry, scenario_with
from .test_face_terminal import wait_for
from .test_gate_simulator import wait_until

STATION_ID: Final = "station-1"
CHARGE_POINT_ID: Final = "RYT-EB-01"
CARD: Final = "A1B2C3D4"
SIM_DEVICE: Final = "charger-1"


def station_subentry(port: int, **changes: Any) -> ConfigSubentryData:
    """Describe a charging station subentry as the flow stores it."""
    data: dict[str, Any] = {
        CONF_BUILDING: "1",
        CONF_CHARGE_POINT_ID: CHARGE_POINT_ID,
        CONF_PORT_COUNT: 3,
        CONF_PORT: port,
        CONF_FULL_POWER: 10.0,
        CONF_FULL_MINUTES: 20.0,
        CONF_MAX_DURATION: 10.0,
        CONF_MAX_TEMPERATURE: 65.0,
        CONF_MAX_POWER: 1000.0,
        **changes,
    }
    return ConfigSubentryData(
        data=data,
        subentry_id=STATION_ID,
        subentry_type=SUBENTRY_TYPE_CHARGING_STATION,
        title="北区充电棚",
        unique_id=data[CONF_CHARGE_POINT_ID],
    )


def station_device(**options: Any) -> dict[str, Any]:
    """Describe the simulated three-port station, which reconnects quickly."""
    return {
        "id": SIM_DEVICE,
        "kind": "charging_station",
        "building": None,
        "name": "北区 电动自行车充电棚",
        "options": {
            "charge_point_id": CHARGE_POINT_ID,
            "ports": 3,
            "vendor": "SimCharge",
            "model": "EB-3",
            "meter_interval_seconds": 0,
            "reconnect_min_seconds": 0.2,
            "reconnect_max_seconds": 0.5,
            **options,
        },
    }


def station_scenario(folder: Path, **options: Any) -> Path:
    """Write a scenario with the station alone."""
    return scenario_with(folder, [station_device(**options)])


def add_card_holder(entry: MockConfigEntry) -> None:
    """Register 王阿姨 of 1-1-101 with the charging card the tests plug in."""
    registry = entry.runtime_data.registry
    resident = registry.add_resident(
        name="王阿姨", household="1-1-101", resident_id="r1"
    )
    registry.add_card(resident.resident_id, CARD)


def entity(
    hass: HomeAssistant, platform: str, key: str, port: int | None = None
) -> str:
    """Find a station's (or one of its ports') entity by its key."""
    prefix = STATION_ID if port is None else f"{STATION_ID}_port_{port}"
    return safety_entity(hass, platform, f"{prefix}_{key}")


def state(hass: HomeAssistant, platform: str, key: str, port: int | None = None) -> str:
    """Return the state of a station's or port's entity."""
    found = hass.states.get(entity(hass, platform, key, port))
    assert found is not None
    return found.state


def centre_of(entry: MockConfigEntry) -> ChargingCentre:
    """Return the community's central system."""
    centre = entry.runtime_data.charging
    assert centre is not None
    return centre


async def received(sim: SimulatorProcess, action: str) -> list[dict[str, Any]]:
    """Return the payloads of the requests of one kind the station received."""
    snapshot = await sim.snapshot(SIM_DEVICE)
    return [
        r["payload"] for r in snapshot["state"]["received"] if r["action"] == action
    ]


async def sim_port(sim: SimulatorProcess, port: int) -> dict[str, Any]:
    """Return what the simulated station says about one of its ports."""
    snapshot = await sim.snapshot(SIM_DEVICE)
    found: dict[str, Any] = next(
        p for p in snapshot["state"]["ports"] if p["port"] == port
    )
    return found


def charging_events(hass: HomeAssistant) -> list[tuple[str, dict[str, Any]]]:
    """Collect the (entity, attributes) of every charging event state change."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def collect(event: Event[Any]) -> None:
        new = event.data["new_state"]
        if (
            new is not None
            and event.data["entity_id"].endswith("_charging")
            and (new.attributes.get("event_type") is not None)
        ):
            seen.append((event.data["entity_id"], dict(new.attributes)))

    hass.bus.async_listen("state_changed", collect)
    return seen


async def connect(hass: HomeAssistant, sim: SimulatorProcess, port: int) -> None:
    """Make the station dial HA and wait until HA sees it and its ports."""
    outcome = await sim.action(
        SIM_DEVICE, "connect", {"url": f"ws://127.0.0.1:{port}/ocpp"}
    )
    assert outcome["connected"] is True, outcome
    await wait_for(hass, lambda: state(hass, "binary_sensor", "connected") == STATE_ON)
    await wait_for(hass, lambda: state(hass, "sensor", "status", 3) == "available")


type Setup = Callable[..., Awaitable[tuple[MockConfigEntry, SimulatorProcess, int]]]


@pytest.fixture
def charging(
    hass: HomeAssistant,
    start_simulator: StartSimulator,
    tmp_path: Path,
    socket_enabled: None,
) -> Setup:
    """Return a function that sets up a station (with changes) and connects it."""

    async def setup(
        subentry_changes: dict[str, Any] | None = None, **sim_options: Any
    ) -> tuple[MockConfigEntry, SimulatorProcess, int]:
        port = free_port()
        entry = safety_entry(station_subentry(port, **(subentry_changes or {})))
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        add_card_holder(entry)
        sim = start_simulator(station_scenario(tmp_path, **sim_options))
        await connect(hass, sim, port)
        return entry, sim, port

    return setup


async def test_boot_and_statuses(hass: HomeAssistant, charging: Setup) -> None:
    """A station that boots names itself; its ports report their status."""
    entry, _sim, _port = await charging()
    devices = dr.async_get(hass)
    device = devices.async_get_device_by_identifier(
        (DOMAIN, STATION_ID), entry.entry_id
    )
    assert device is not None
    assert device.manufacturer == "SimCharge"
    assert device.model == "EB-3"
    port_device = devices.async_get_device_by_identifier(
        (DOMAIN, f"{STATION_ID}_port_2"), entry.entry_id
    )
    assert port_device is not None
    assert port_device.via_device_id == device.id
    assert state(hass, "switch", "charge", 1) == STATE_OFF
    assert state(hass, "binary_sensor", "fault", 1) == STATE_OFF
    assert state(hass, "sensor", "error_code", 1) == "no_error"
    assert centre_of(entry).stations[STATION_ID].boot is not None


async def test_charge_with_a_resident_card(
    hass: HomeAssistant, charging: Setup
) -> None:
    """A resident's card starts a session; readings and energy follow."""
    _entry, sim, _port = await charging()
    events = charging_events(hass)
    result = await sim.action(SIM_DEVICE, "plug_in", {"port": 1, "id_tag": CARD})
    assert result["authorized"] == "Accepted"
    await wait_for(hass, lambda: state(hass, "switch", "charge", 1) == STATE_ON)
    assert events[-1][1]["event_type"] == "session_started"
    assert events[-1][1]["resident_id"] == "r1"
    first = await sim.action(SIM_DEVICE, "meter_now", {"port": 1})
    assert first["sent"] == 1
    await wait_for(hass, lambda: state(hass, "sensor", "power", 1) not in ("unknown",))
    reported = await sim_port(sim, 1)
    assert float(state(hass, "sensor", "power", 1)) == pytest.approx(
        reported["power_w"], abs=0.5
    )
    assert float(state(hass, "sensor", "energy", 1)) == pytest.approx(
        reported["energy_wh"] / 1000, abs=0.01
    )
    assert state(hass, "sensor", "status", 1) == "charging"


async def test_unknown_card_is_refused(hass: HomeAssistant, charging: Setup) -> None:
    """A card that is nobody's does not start a session."""
    _entry, sim, _port = await charging()
    result = await sim.action(SIM_DEVICE, "plug_in", {"port": 2, "id_tag": "STRANGER"})
    assert result["authorized"] == "Invalid"
    assert result["transaction_id"] is None
    assert state(hass, "switch", "charge", 2) == STATE_OFF


async def test_full_battery_is_cut_off(hass: HomeAssistant, charging: Setup) -> None:
    """A battery that only trickles is stopped after the full time, once."""
    # 0.02 minutes: the rule is the same as with 20, the test just waits less.
    _entry, sim, _port = await charging({CONF_FULL_MINUTES: 0.02})
    events = charging_events(hass)
    await sim.action(
        SIM_DEVICE, "plug_in", {"port": 1, "id_tag": CARD, "profile": "full"}
    )
    await wait_for(hass, lambda: state(hass, "switch", "charge", 1) == STATE_ON)

    async def stopped() -> bool:
        await sim.action(SIM_DEVICE, "meter_now", {"port": 1})
        return state(hass, "switch", "charge", 1) == STATE_OFF

    await wait_until(hass, stopped)
    kinds = [attributes["event_type"] for _, attributes in events]
    assert kinds.count("cutoff") == 1
    cutoff = next(a for _, a in events if a["event_type"] == "cutoff")
    assert cutoff["reason"] == "full"
    finished = next(a for _, a in events if a["event_type"] == "session_finished")
    assert finished["reason"] == "full"
    assert len(await received(sim, "RemoteStopTransaction")) == 1


async def test_overheating_port_is_cut_off(
    hass: HomeAssistant, charging: Setup
) -> None:
    """A port that gets too hot is stopped and shows as overheating."""
    _entry, sim, _port = await charging()
    events = charging_events(hass)
    await sim.action(SIM_DEVICE, "plug_in", {"port": 2, "id_tag": CARD})
    await wait_for(hass, lambda: state(hass, "switch", "charge", 2) == STATE_ON)
    await sim.action(SIM_DEVICE, "set_temperature", {"port": 2, "celsius": 80})
    await sim.action(SIM_DEVICE, "meter_now", {"port": 2})
    await wait_for(hass, lambda: state(hass, "switch", "charge", 2) == STATE_OFF)
    assert state(hass, "binary_sensor", "overheat", 2) == STATE_ON
    cutoff = next(a for _, a in events if a["event_type"] == "cutoff")
    assert cutoff["reason"] == "over_temperature"
    assert cutoff["temperature_c"] == pytest.approx(80)


async def test_over_power_and_fault(hass: HomeAssistant, charging: Setup) -> None:
    """A charger drawing too much is stopped; a fault shows on the port."""
    _entry, sim, _port = await charging()
    events = charging_events(hass)
    await sim.action(
        SIM_DEVICE, "plug_in", {"port": 3, "id_tag": CARD, "profile": "overpower"}
    )
    await sim.action(SIM_DEVICE, "meter_now", {"port": 3})
    await wait_for(
        hass, lambda: any(a.get("reason") == "over_power" for _, a in events)
    )
    await sim.action(SIM_DEVICE, "fault", {"port": 3, "error_code": "GroundFailure"})
    await wait_for(hass, lambda: state(hass, "binary_sensor", "fault", 3) == STATE_ON)
    assert state(hass, "sensor", "error_code", 3) == "ground_failure"
    assert state(hass, "sensor", "status", 3) == "faulted"


async def test_remote_start_and_stop(hass: HomeAssistant, charging: Setup) -> None:
    """The charge switch starts and stops sessions on the station."""
    _entry, sim, _port = await charging()
    events = charging_events(hass)
    charge = entity(hass, "switch", "charge", 2)
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": charge}, blocking=True
    )
    await wait_for(hass, lambda: state(hass, "switch", "charge", 2) == STATE_ON)
    assert (await received(sim, "RemoteStartTransaction"))[0]["connectorId"] == 2
    await sim.action(SIM_DEVICE, "meter_now", {"port": 2})
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": charge}, blocking=True
    )
    await wait_for(hass, lambda: state(hass, "switch", "charge", 2) == STATE_OFF)
    finished = next(a for _, a in events if a["event_type"] == "session_finished")
    assert finished["reason"] == "Remote"
    # Stations send readings only during sessions: no session, no power.
    assert float(state(hass, "sensor", "power", 2)) == 0
    # The plug is still in, so the station refuses to start again.
    await wait_for(hass, lambda: state(hass, "sensor", "status", 2) == "finishing")
    with pytest.raises(HomeAssistantError) as refused:
        await hass.services.async_call(
            "switch", "turn_on", {"entity_id": charge}, blocking=True
        )
    assert refused.value.translation_key == "station_refused"


async def test_restart_mid_session_keeps_the_session(
    hass: HomeAssistant, charging: Setup
) -> None:
    """A session survives a restart of HA, and its energy is counted once."""
    entry, sim, port = await charging()
    events = charging_events(hass)
    await sim.action(SIM_DEVICE, "plug_in", {"port": 1, "id_tag": CARD})
    await sim.action(SIM_DEVICE, "meter_now", {"port": 1})
    start = (await sim_port(sim, 1))["energy_wh"]
    await wait_for(hass, lambda: state(hass, "switch", "charge", 1) == STATE_ON)

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    # The station reconnects by itself and does not boot again.
    await wait_for(hass, lambda: state(hass, "binary_sensor", "connected") == STATE_ON)
    assert state(hass, "switch", "charge", 1) == STATE_ON
    snapshot = await sim.snapshot(SIM_DEVICE)
    assert snapshot["state"]["connections"] == 2
    await sim.action(SIM_DEVICE, "set_power", {"port": 1, "watts": 600})
    await sim.action(SIM_DEVICE, "meter_now", {"port": 1})
    await sim.action(SIM_DEVICE, "unplug", {"port": 1})
    await wait_for(hass, lambda: state(hass, "switch", "charge", 1) == STATE_OFF)
    final = (await sim_port(sim, 1))["energy_wh"]
    finished = [a for _, a in events if a["event_type"] == "session_finished"]
    assert len(finished) == 1
    assert finished[0]["energy_kwh"] == pytest.approx((final - start) / 1000, abs=0.002)
    assert float(state(hass, "sensor", "session_energy", 1)) == pytest.approx(
        (final - start) / 1000, abs=0.002
    )
    # The finished session stays on the port, for its sensors and diagnostics.
    centre = centre_of(entry)
    before = centre.stations[STATION_ID].ports[1].last_session
    assert before is not None
    assert port > 0


async def test_stop_and_resume_charging_in_a_building(
    hass: HomeAssistant, charging: Setup
) -> None:
    """The emergency stop cuts every session and blocks new ones until resumed."""
    entry, sim, _port = await charging()
    await sim.action(SIM_DEVICE, "plug_in", {"port": 1, "id_tag": CARD})
    await sim.action(SIM_DEVICE, "plug_in", {"port": 2, "id_tag": CARD})
    await wait_for(hass, lambda: state(hass, "switch", "charge", 2) == STATE_ON)
    response = await hass.services.async_call(
        DOMAIN,
        "stop_charging",
        {"config_entry_id": entry.entry_id, "building": "1", "block": True},
        blocking=True,
        return_response=True,
    )
    assert response == {"stations": 1, "sessions_stopped": 2, "unreachable": []}
    await wait_for(hass, lambda: state(hass, "switch", "charge", 1) == STATE_OFF)
    await wait_for(hass, lambda: state(hass, "switch", "charge", 2) == STATE_OFF)
    assert state(hass, "binary_sensor", "blocked") == STATE_ON
    changes = await received(sim, "ChangeAvailability")
    assert changes[-1] == {"connectorId": 0, "type": "Inoperative"}
    await wait_for(hass, lambda: state(hass, "sensor", "status", 3) == "unavailable")
    with pytest.raises(SimulatorRequestError):
        await sim.action(SIM_DEVICE, "plug_in", {"port": 3, "id_tag": CARD})
    await hass.services.async_call(
        DOMAIN,
        "resume_charging",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert state(hass, "binary_sensor", "blocked") == STATE_OFF
    assert (await received(sim, "ChangeAvailability"))[-1]["type"] == "Operative"
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN,
            "stop_charging",
            {"config_entry_id": entry.entry_id, "building": "9"},
            blocking=True,
            return_response=True,
        )


async def test_wrong_station_password_and_unknown_station(
    hass: HomeAssistant, charging: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong password gets 401 and an unknown station 404, each logged once."""
    entry, sim, port = await charging({CONF_PASSWORD: "s3cret"}, password="s3cret")
    url = f"ws://127.0.0.1:{port}/ocpp"
    await sim.action(SIM_DEVICE, "disconnect")
    await wait_for(hass, lambda: state(hass, "binary_sensor", "connected") == STATE_OFF)
    assert state(hass, "switch", "charge", 1) == STATE_UNAVAILABLE
    wrong = await sim.action(SIM_DEVICE, "connect", {"url": url, "password": "nope"})
    assert wrong["connected"] is False
    assert wrong["status"] == 401
    await sim.action(SIM_DEVICE, "disconnect")
    unknown = await sim.action(
        SIM_DEVICE, "connect", {"url": url, "charge_point_id": "NOBODY"}
    )
    assert unknown["status"] == 404
    await sim.action(SIM_DEVICE, "disconnect")
    centre = centre_of(entry)
    assert centre.problems[Problem.AUTH_FAILED] >= 1
    assert centre.problems[Problem.UNKNOWN_CHARGE_POINT] >= 1
    assert caplog.text.count("unknown charge point") == 1
    right = await sim.action(SIM_DEVICE, "connect", {"url": url, "password": "s3cret"})
    assert right["connected"] is True


async def test_invalid_messages_get_the_right_call_error(
    hass: HomeAssistant, charging: Setup
) -> None:
    """Schema-invalid requests are answered with the OCPP-J 1.6 error code."""
    entry, sim, _port = await charging()
    cases = {
        '[2,"m1","StatusNotification",{"connectorId":1,"status":"Available"}]': (
            "OccurenceConstraintViolation"
        ),
        '[2,"m2","StatusNotification",{"connectorId":"1","errorCode":"NoError",'
        '"status":"Available"}]': "TypeConstraintViolation",
        '[2,"m3","StatusNotification",{"connectorId":1,"errorCode":"NoError",'
        '"status":"Sleeping"}]': "PropertyConstraintViolation",
        '[2,"m4","Heartbeat",{"extra":1}]': "FormationViolation",
        '[2,"m5","Launch",{}]': "NotImplemented",
        '[2,"m6","Reset",{"type":"Soft"}]': "NotSupported",
        '[2,"m7","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"soon",'
        '"sampledValue":[{"value":"1"}]}]}]': "TypeConstraintViolation",
        '[2,"m8"]': "FormationViolation",
    }
    for text, code in cases.items():
        answer = await sim.action(SIM_DEVICE, "send_raw", {"text": text})
        assert answer["reply"][0] == 4, text
        assert answer["reply"][2] == code, text
    silent = await sim.action(SIM_DEVICE, "send_raw", {"text": "not json"})
    assert silent["reply"] is None
    vendor = await sim.action(
        SIM_DEVICE, "call", {"action": "DataTransfer", "payload": {"vendorId": "X"}}
    )
    assert vendor["status"] == "UnknownVendorId"
    # The link survived all of it.
    assert state(hass, "binary_sensor", "connected") == STATE_ON
    assert centre_of(entry).problems[Problem.SCHEMA_VIOLATION] >= 4


async def test_port_in_use_raises_a_repair_issue(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """A port HA cannot listen on raises a repair issue; the rest still loads."""
    blocker = await hass.loop.create_server(asyncio.Protocol, None, 0)
    port = blocker.sockets[0].getsockname()[1]
    try:
        entry = safety_entry(station_subentry(port))
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        issue = ir.async_get(hass).async_get_issue(
            DOMAIN, f"charging_port_unavailable_{entry.entry_id}_{port}"
        )
        assert issue is not None
        assert state(hass, "binary_sensor", "connected") == STATE_OFF
    finally:
        blocker.close()


async def test_flow_adds_and_changes_a_station(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """The subentry flow checks the ID, duplicates and the port."""
    port = free_port()
    entry = safety_entry(station_subentry(port))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    form = {
        CONF_NAME: "南区充电棚",
        CONF_CHARGE_POINT_ID: "RYT EB 02",
        CONF_PORT_COUNT: 10,
        CONF_PORT: port,
        CONF_FULL_POWER: 10,
        CONF_FULL_MINUTES: 20,
        CONF_MAX_DURATION: 8,
        CONF_MAX_TEMPERATURE: 65,
        CONF_MAX_POWER: 1000,
    }
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_TYPE_CHARGING_STATION), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], form
    )
    assert result["errors"] == {CONF_CHARGE_POINT_ID: "invalid_charge_point_id"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], form | {CONF_CHARGE_POINT_ID: CHARGE_POINT_ID}
    )
    assert result["errors"] == {CONF_CHARGE_POINT_ID: "station_already_configured"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        form | {CONF_CHARGE_POINT_ID: "RYT-EB-02", CONF_NAME: "北区充电棚"},
    )
    assert result["errors"] == {CONF_NAME: "station_exists"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], form | {CONF_CHARGE_POINT_ID: "RYT-EB-02", CONF_PASSWORD: ""}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    added = next(s for s in entry.subentries.values() if s.unique_id == "RYT-EB-02")
    assert CONF_PASSWORD not in added.data
    assert added.data[CONF_PORT_COUNT] == 10

    result = await entry.start_subentry_reconfigure_flow(hass, added.subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        form | {CONF_CHARGE_POINT_ID: "RYT-EB-02", CONF_PORT_COUNT: 12},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries[added.subentry_id].data[CONF_PORT_COUNT] == 12


async def test_diagnostics_show_stations_without_secrets(
    hass: HomeAssistant, charging: Setup, hass_client: ClientSessionGenerator
) -> None:
    """Diagnostics describe the stations and sessions; cards and passwords are hidden."""
    entry, sim, _port = await charging({CONF_PASSWORD: "s3cret"}, password="s3cret")
    await sim.action(SIM_DEVICE, "plug_in", {"port": 1, "id_tag": CARD})
    await wait_for(hass, lambda: state(hass, "switch", "charge", 1) == STATE_ON)
    found = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    station = found["charging"]["stations"]["北区充电棚"]
    assert station["connected"] is True
    assert station["password_set"] is True
    assert station["ports"]["1"]["transaction"]["id_tag"] == "**REDACTED**"
    assert "s3cret" not in str(found)
    assert CARD not in str(found)
