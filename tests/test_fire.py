"""Test fire panels: a simulated GB/T 26875.3 transmission device dials HA.

The simulator plays the transmission device (a TCP client with its own encoder);
Home Assistant is the monitoring centre. Components appear as they first report.
"""

import asyncio
import logging
from pathlib import Path
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_NAME,
    CONF_PORT,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.smart_community.community.fire import FireCentre, FirePanel
from custom_components.smart_community.const import (
    CONF_CHECKSUM,
    CONF_TRANSMITTER_ADDRESS,
    DOMAIN,
    SUBENTRY_TYPE_FIRE_PANEL,
)
from custom_components.smart_community.protocols.gb26875 import (
    Action,
    ComponentParameter,
    ComponentState,
    ComponentStateFlags,
    Frame,
    Problem,
    encode_application_data,
    encode_frame,
)
from tests.simulator_harness import SimulatorProcess, StartSimulator

from .safety_helpers import (
    PANEL_ID,
    fire_subentry,
    free_port,
    safety_entity,
    safety_entry,
    scenario_with,
)
from .test_face_terminal import wait_for
from .test_gate_simulator import wait_until

FIRE_DEVICE = {
    "id": "fire-1",
    "kind": "fire_panel",
    "building": None,
    "name": "消防控制室 用户信息传输装置",
    "options": {
        "transmitter_address": "000000000001",
        "heartbeat_seconds": 0.5,
        "ack_timeout_seconds": 0.5,
        "retries": 2,
    },
}


def fire_scenario(folder: Path, **options: Any) -> Path:
    """Write a scenario with one transmission device."""
    device = {**FIRE_DEVICE, "options": {**FIRE_DEVICE["options"], **options}}
    return scenario_with(folder, [device])


async def connect(
    hass: HomeAssistant, sim: SimulatorProcess, port: int, **params: Any
) -> None:
    """Make the device dial HA and wait until HA sees it connected."""
    await sim.action("fire-1", "connect", {"host": "127.0.0.1", "port": port, **params})
    connected = safety_entity(hass, "binary_sensor", f"{PANEL_ID}_connected")
    await wait_for(hass, lambda: hass.states.get(connected).state == STATE_ON)


async def components(sim: SimulatorProcess) -> list[dict[str, Any]]:
    """Return the components the simulated device has."""
    return list((await sim.snapshot("fire-1"))["state"]["components"])


def component_entity(
    hass: HomeAssistant, platform: str, component: dict[str, Any], key: str
) -> str:
    """Find an entity of a component by its unique ID."""
    component_id = (
        f"{component['system_type']}-{component['system_address']}-"
        f"{component['address']}"
    )
    return safety_entity(hass, platform, f"{PANEL_ID}_{component_id}_{key}")


async def all_reported(hass: HomeAssistant, entry: MockConfigEntry, count: int) -> bool:
    """Tell whether HA knows as many components as the device has."""
    return len(entry.runtime_data.fire_panels[PANEL_ID].components) >= count


@pytest.fixture
async def fire(
    hass: HomeAssistant, start_simulator: StartSimulator, tmp_path: Path
) -> tuple[MockConfigEntry, SimulatorProcess, int]:
    """Set up a fire panel, connect the simulated device, wait for its components."""
    port = free_port()
    entry = safety_entry(fire_subentry(port))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    sim = start_simulator(fire_scenario(tmp_path))
    await connect(hass, sim, port)
    count = len(await components(sim))
    await wait_until(hass, lambda: all_reported(hass, entry, count))
    return entry, sim, port


def smoke_detectors(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pick the smoke detectors out of the device's components."""
    return [component for component in found if component["component_type"] == 40]


async def test_components_appear_with_descriptions(
    hass: HomeAssistant, fire: tuple[MockConfigEntry, SimulatorProcess, int]
) -> None:
    """Each component becomes a device named by its description, below the panel."""
    entry, sim, _port = fire
    found = await components(sim)
    detector = smoke_detectors(found)[0]
    fire_entity = component_entity(hass, "binary_sensor", detector, "fire_alarm")
    state = hass.states.get(fire_entity)
    assert state.state == STATE_OFF
    assert state.attributes[ATTR_DEVICE_CLASS] == BinarySensorDeviceClass.SMOKE
    device = dr.async_get(hass).async_get(
        er.async_get(hass).async_get(fire_entity).device_id
    )
    assert device.name == detector["description"]
    panel_device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, PANEL_ID), entry.entry_id
    )
    assert device.via_device_id == panel_device.id
    total = safety_entity(hass, "sensor", f"{PANEL_ID}_components")
    assert int(hass.states.get(total).state) == len(found)


async def test_alarm_turns_the_detector_on_and_fires_an_event(
    hass: HomeAssistant, fire: tuple[MockConfigEntry, SimulatorProcess, int]
) -> None:
    """The alarm scenario: detectors go to fire, events say where, reset restores."""
    _entry, sim, _port = fire
    detector = smoke_detectors(await components(sim))[2]
    fire_entity = component_entity(hass, "binary_sensor", detector, "fire_alarm")
    event_entity = component_entity(hass, "event", detector, "alarm")
    panel_fire = safety_entity(hass, "binary_sensor", f"{PANEL_ID}_fire_alarm")
    await sim.action("fire-1", "alarm", {"address": detector["address"]})
    await wait_for(hass, lambda: hass.states.get(fire_entity).state == STATE_ON)
    event = hass.states.get(event_entity)
    assert event.attributes["event_type"] == "fire_alarm"
    assert event.attributes["description"] == detector["description"]
    assert event.attributes["component_type"] == "smoke_detector"
    assert hass.states.get(panel_fire).state == STATE_ON
    alarms = safety_entity(hass, "sensor", f"{PANEL_ID}_fire_alarms")
    await wait_for(hass, lambda: int(hass.states.get(alarms).state) >= 2)

    await sim.action("fire-1", "reset")
    await wait_for(hass, lambda: hass.states.get(fire_entity).state == STATE_OFF)
    assert hass.states.get(event_entity).attributes["event_type"] == "restored"
    operation = safety_entity(hass, "event", f"{PANEL_ID}_operation")
    await wait_for(
        hass, lambda: hass.states.get(operation).attributes.get("event_type") == "reset"
    )


async def test_fault_and_parameters(
    hass: HomeAssistant, fire: tuple[MockConfigEntry, SimulatorProcess, int]
) -> None:
    """A fault turns the fault sensor on; pressures and levels become sensors."""
    _entry, sim, _port = fire
    found = await components(sim)
    detector = smoke_detectors(found)[0]
    fault = component_entity(hass, "binary_sensor", detector, "fault")
    await sim.action(
        "fire-1", "set_component", {"address": detector["address"], "fault": True}
    )
    await wait_for(hass, lambda: hass.states.get(fault).state == STATE_ON)
    assert (
        hass.states.get(component_entity(hass, "event", detector, "alarm")).attributes[
            "event_type"
        ]
        == "fault"
    )
    measured = [component for component in found if component.get("parameter_type")]
    assert measured
    for component in measured:
        key = {2: "level", 5: "pressure", 4: "pressure_mpa", 3: "temperature"}[
            component["parameter_type"]
        ]
        sensor = component_entity(hass, "sensor", component, key)
        state = hass.states.get(sensor)
        assert float(state.state) == pytest.approx(component["value"], rel=0.01)
        assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] in ("m", "kPa", "°C")
    pressure = next(c for c in measured if c["parameter_type"] in (4, 5))
    await sim.action(
        "fire-1", "parameter", {"address": pressure["address"], "value": 123.4}
    )
    sensor = component_entity(hass, "sensor", pressure, "pressure")
    await wait_for(hass, lambda: hass.states.get(sensor).state == "123.4")


async def test_power_faults(
    hass: HomeAssistant, fire: tuple[MockConfigEntry, SimulatorProcess, int]
) -> None:
    """Main and backup power faults of the transmission device are sensors."""
    _entry, sim, _port = fire
    main = safety_entity(hass, "binary_sensor", f"{PANEL_ID}_main_power_fault")
    backup = safety_entity(hass, "binary_sensor", f"{PANEL_ID}_backup_power_fault")
    assert hass.states.get(main).state == STATE_OFF
    await sim.action("fire-1", "power", {"main_fault": True, "backup_fault": False})
    await wait_for(hass, lambda: hass.states.get(main).state == STATE_ON)
    assert hass.states.get(backup).state == STATE_OFF
    await sim.action("fire-1", "power", {"main_fault": False, "backup_fault": True})
    await wait_for(hass, lambda: hass.states.get(backup).state == STATE_ON)
    assert hass.states.get(main).state == STATE_OFF


async def test_disconnect_makes_everything_unavailable(
    hass: HomeAssistant, fire: tuple[MockConfigEntry, SimulatorProcess, int]
) -> None:
    """Without the device, its components' states are unknown, not stale."""
    _entry, sim, port = fire
    detector = smoke_detectors(await components(sim))[0]
    fire_entity = component_entity(hass, "binary_sensor", detector, "fire_alarm")
    connected = safety_entity(hass, "binary_sensor", f"{PANEL_ID}_connected")
    await sim.action("fire-1", "disconnect")
    await wait_for(hass, lambda: hass.states.get(connected).state == STATE_OFF)
    assert hass.states.get(fire_entity).state == STATE_UNAVAILABLE
    await connect(hass, sim, port)
    await wait_for(hass, lambda: hass.states.get(fire_entity).state == STATE_OFF)


def warnings(caplog: pytest.LogCaptureFixture, text: str) -> int:
    """Count the warnings (and worse) logged that mention a text."""
    return sum(
        record.levelno >= logging.WARNING and text in record.getMessage()
        for record in caplog.records
    )


def raw_frame(
    data: bytes, *, serial: int = 4000, source: int = 1, corrupt: bool = False
) -> str:
    """Build a send-data frame as hex, optionally with a wrong checksum."""
    encoded = bytearray(
        encode_frame(
            Frame(
                serial=serial,
                version=(1, 1),
                time=None,
                source=source,
                destination=0,
                action=Action.SEND_DATA,
                data=data,
            )
        )
    )
    if corrupt:
        encoded[-3] ^= 0xFF
    return encoded.hex()


def detector_fire(address: int) -> bytes:
    """Encode one smoke detector in fire alarm."""
    return encode_application_data(
        [
            ComponentState(
                system_type=1,
                system_address=1,
                component_type=40,
                component_address=address,
                state=ComponentStateFlags.NORMAL | ComponentStateFlags.FIRE_ALARM,
                description="测试走廊烟感",
                time=None,
            )
        ]
    )


async def stray_acks(sim: SimulatorProcess) -> int:
    """Count the acks the device got for frames it did not queue (raw ones)."""
    return int((await sim.snapshot("fire-1"))["state"]["stray_acks"])


async def test_bad_frames_are_refused_and_the_link_survives(
    hass: HomeAssistant,
    fire: tuple[MockConfigEntry, SimulatorProcess, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bad checksum: no ack; unknown object type: acked, counted; all logged once."""
    entry, sim, _port = fire
    centre = next(iter(entry.runtime_data.fire_centres.values()))
    panel = entry.runtime_data.fire_panels[PANEL_ID]
    acks = await stray_acks(sim)

    bad = raw_frame(detector_fire(9901), corrupt=True)
    await sim.action("fire-1", "send_raw", {"hex": bad, "chunks": [7, 20]})
    await sim.action("fire-1", "send_raw", {"hex": bad})
    await wait_until(hass, lambda: _counted(centre, Problem.BAD_CHECKSUM, 2))
    assert "9901" not in str(list(panel.components))
    assert await stray_acks(sim) == acks
    assert warnings(caplog, "bad_checksum") == 1

    unknown = raw_frame(bytes([99, 1, 0, 0]), serial=4001)
    await sim.action("fire-1", "send_raw", {"hex": unknown})
    await wait_until(hass, lambda: _counted(centre, Problem.UNKNOWN_OBJECT_TYPE, 1))
    await wait_until(hass, lambda: _more_acks(sim, acks))

    # The same connection still carries good frames.
    good = raw_frame(detector_fire(9902), serial=4002)
    await sim.action("fire-1", "send_raw", {"hex": good, "chunks": [1, 1, 30]})
    await wait_until(hass, lambda: _known(panel, "1-1-9902"))
    fire_entity = safety_entity(
        hass, "binary_sensor", f"{PANEL_ID}_1-1-9902_fire_alarm"
    )
    await wait_for(hass, lambda: hass.states.get(fire_entity).state == STATE_ON)


async def _counted(centre: FireCentre, problem: Problem, count: int) -> bool:
    """Tell whether the centre has counted a problem often enough."""
    return centre.problems[problem] >= count


async def _more_acks(sim: SimulatorProcess, before: int) -> bool:
    """Tell whether the device got another ack for a raw frame."""
    return await stray_acks(sim) > before


async def _known(panel: FirePanel, component_id: str) -> bool:
    """Tell whether a panel knows a component."""
    return component_id in panel.components


async def test_peer_that_drops_mid_frame(
    hass: HomeAssistant, fire: tuple[MockConfigEntry, SimulatorProcess, int]
) -> None:
    """Half a frame then a hang-up is counted; the device reconnects and reports."""
    entry, sim, _port = fire
    centre = next(iter(entry.runtime_data.fire_centres.values()))
    await sim.action("fire-1", "drop_mid_frame")
    await wait_until(hass, lambda: _counted(centre, Problem.TRUNCATED, 1))
    connected = safety_entity(hass, "binary_sensor", f"{PANEL_ID}_connected")
    detector = smoke_detectors(await components(sim))[1]
    await wait_for(hass, lambda: hass.states.get(connected).state == STATE_ON)
    await sim.action("fire-1", "alarm", {"address": detector["address"]})
    fire_entity = component_entity(hass, "binary_sensor", detector, "fire_alarm")
    await wait_for(hass, lambda: hass.states.get(fire_entity).state == STATE_ON)


async def test_unknown_transmitter_is_not_acknowledged(
    hass: HomeAssistant,
    start_simulator: StartSimulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A device whose address is not configured is told nothing and logged once."""
    port = free_port()
    entry = safety_entry(fire_subentry(port, address="0000000000AA"))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    sim = start_simulator(fire_scenario(tmp_path))
    await sim.action("fire-1", "connect", {"host": "127.0.0.1", "port": port})
    centre = entry.runtime_data.fire_centres[port]
    await wait_until(hass, lambda: _counted(centre, Problem.UNKNOWN_TRANSMITTER, 3))
    state = (await sim.snapshot("fire-1"))["state"]
    assert state["frames_acknowledged"] == 0
    assert warnings(caplog, "is not configured") == 1
    assert entry.runtime_data.fire_panels[PANEL_ID].components == {}


async def test_xor_checksum_and_split_frames(
    hass: HomeAssistant, start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """A vendor's XOR checksum and frames cut across TCP writes both work."""
    port = free_port()
    entry = safety_entry(fire_subentry(port, checksum="xor"))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    sim = start_simulator(fire_scenario(tmp_path, checksum="xor", split_frames=True))
    await connect(hass, sim, port)
    count = len(await components(sim))
    await wait_until(hass, lambda: all_reported(hass, entry, count))
    state = (await sim.snapshot("fire-1"))["state"]
    assert state["split_writes"] > 0
    assert state["lost"] == 0


async def test_components_survive_a_restart(
    hass: HomeAssistant, fire: tuple[MockConfigEntry, SimulatorProcess, int]
) -> None:
    """After a reload the components and their entities are back before any report."""
    entry, sim, _port = fire
    await sim.action("fire-1", "disconnect")
    count = len(entry.runtime_data.fire_panels[PANEL_ID].components)
    detector = smoke_detectors(await components(sim))[0]
    await sim.action("fire-1", "set_component", {"address": detector["address"]})
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    panel = entry.runtime_data.fire_panels[PANEL_ID]
    assert len(panel.components) == count
    fire_entity = component_entity(hass, "binary_sensor", detector, "fire_alarm")
    assert hass.states.get(fire_entity).state == STATE_UNAVAILABLE


async def test_a_component_that_is_gone_can_be_deleted(
    hass: HomeAssistant,
    fire: tuple[MockConfigEntry, SimulatorProcess, int],
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Deleting a component's device forgets it; it returns if it reports again."""
    entry, sim, _port = fire
    assert await async_setup_component(hass, "config", {})
    detector = smoke_detectors(await components(sim))[0]
    fire_entity = component_entity(hass, "binary_sensor", detector, "fire_alarm")
    devices = dr.async_get(hass)
    device_id = er.async_get(hass).async_get(fire_entity).device_id
    client = await hass_ws_client(hass)
    response = await client.remove_device(device_id)
    assert response["success"]
    await hass.async_block_till_done()
    assert devices.async_get(device_id) is None
    panel = entry.runtime_data.fire_panels[PANEL_ID]
    component_id = f"1-1-{detector['address']}"
    assert component_id not in panel.components

    panel_device = devices.async_get_device_by_identifier(
        (DOMAIN, PANEL_ID), entry.entry_id
    )
    response = await client.remove_device(panel_device.id)
    assert not response["success"]

    await sim.action("fire-1", "alarm", {"address": detector["address"]})
    await wait_until(hass, lambda: _known(panel, component_id))
    fire_entity = component_entity(hass, "binary_sensor", detector, "fire_alarm")
    await wait_for(hass, lambda: hass.states.get(fire_entity).state == STATE_ON)


async def test_port_in_use_raises_a_repair_issue(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry, socket_enabled: None
) -> None:
    """A port the centre cannot open is a repair issue; the rest of HA carries on."""
    blocker = await asyncio.start_server(lambda _r, _w: None, port=0)
    port = blocker.sockets[0].getsockname()[1]
    try:
        entry = safety_entry(fire_subentry(port))
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        issue = issue_registry.async_get_issue(
            DOMAIN, f"fire_port_unavailable_{entry.entry_id}_{port}"
        )
        assert issue is not None
        assert issue.translation_placeholders["port"] == str(port)
    finally:
        blocker.close()
        await blocker.wait_closed()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert (
        issue_registry.async_get_issue(
            DOMAIN, f"fire_port_unavailable_{entry.entry_id}_{port}"
        )
        is None
    )


async def fire_flow(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    user_input: dict[str, Any],
    subentry_id: str | None = None,
) -> Any:
    """Run the add (or reconfigure) fire panel flow with one form submission."""
    context: dict[str, Any] = {"source": "user"}
    if subentry_id is not None:
        context = {"source": "reconfigure", "subentry_id": subentry_id}
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_TYPE_FIRE_PANEL), context=context
    )
    assert result["type"] is FlowResultType.FORM
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"], user_input
    )


def panel_form(port: int, **changes: Any) -> dict[str, Any]:
    """Fill the fire panel form."""
    return {
        CONF_NAME: "2号楼 消防主机",
        CONF_TRANSMITTER_ADDRESS: "00 00 00 00 00 2a",
        CONF_CHECKSUM: "sum",
        CONF_PORT: port,
        **changes,
    }


async def test_flow_adds_and_changes_a_fire_panel(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """The flow checks the address, duplicates and the port; reconfigure keeps it."""
    port = free_port()
    entry = safety_entry(fire_subentry(port))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)

    result = await fire_flow(
        hass, entry, panel_form(port, **{CONF_TRANSMITTER_ADDRESS: "not hex"})
    )
    assert result["errors"] == {CONF_TRANSMITTER_ADDRESS: "invalid_transmitter_address"}
    result = await fire_flow(
        hass, entry, panel_form(port, **{CONF_TRANSMITTER_ADDRESS: "1"})
    )
    assert result["errors"] == {CONF_TRANSMITTER_ADDRESS: "panel_already_configured"}
    result = await fire_flow(hass, entry, panel_form(port, **{CONF_NAME: "消防控制室"}))
    assert result["errors"] == {CONF_NAME: "panel_exists"}
    result = await fire_flow(hass, entry, panel_form(port, **{CONF_NAME: "  "}))
    assert result["errors"] == {CONF_NAME: "name_required"}
    blocker = await asyncio.start_server(lambda _r, _w: None, port=0)
    busy = blocker.sockets[0].getsockname()[1]
    try:
        result = await fire_flow(hass, entry, panel_form(busy))
    finally:
        blocker.close()
        await blocker.wait_closed()
    assert result["errors"] == {CONF_PORT: "port_unavailable"}

    # A second device on the centre's port shares the server.
    result = await fire_flow(hass, entry, panel_form(port))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_TRANSMITTER_ADDRESS] == "00000000002A"
    await hass.async_block_till_done()
    assert len(entry.runtime_data.fire_centres[port].panels) == 2

    result = await fire_flow(
        hass,
        entry,
        panel_form(port, **{CONF_NAME: "消防控制室", CONF_CHECKSUM: "xor"}),
        subentry_id=PANEL_ID,
    )
    assert result["errors"] == {CONF_TRANSMITTER_ADDRESS: "panel_already_configured"}
    result = await fire_flow(
        hass,
        entry,
        panel_form(
            port,
            **{
                CONF_NAME: "消防控制室",
                CONF_CHECKSUM: "xor",
                CONF_TRANSMITTER_ADDRESS: "000000000001",
            },
        ),
        subentry_id=PANEL_ID,
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.runtime_data.fire_panels[PANEL_ID].checksum == "xor"


async def test_diagnostics_show_the_centre_and_panels(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fire: tuple[MockConfigEntry, SimulatorProcess, int],
) -> None:
    """Diagnostics show the link, counts, problems and a sample of components."""
    entry, sim, port = fire
    bad = raw_frame(detector_fire(9903), corrupt=True)
    await sim.action("fire-1", "send_raw", {"hex": bad})
    centre = entry.runtime_data.fire_centres[port]
    await wait_until(hass, lambda: _counted(centre, Problem.BAD_CHECKSUM, 1))
    assert await async_setup_component(hass, "diagnostics", {})
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    listening = diagnostics["fire_centres"][str(port)]
    assert listening["listening"] is True
    assert listening["problems"] == {"bad_checksum": 1}
    assert listening["server"]["acknowledged"] > 0
    panel = diagnostics["fire_panels"]["消防控制室"]
    assert panel["connected"] is True
    assert panel["components"] == len(await components(sim))
    assert panel["sample"][0]["description"]


@pytest.mark.parametrize(
    ("component_type", "device_class"),
    [
        (31, BinarySensorDeviceClass.HEAT),
        (11, BinarySensorDeviceClass.GAS),
        (23, BinarySensorDeviceClass.SAFETY),
    ],
)
async def test_what_a_fire_alarm_means_follows_the_component_type(
    hass: HomeAssistant,
    fire: tuple[MockConfigEntry, SimulatorProcess, int],
    component_type: int,
    device_class: BinarySensorDeviceClass,
) -> None:
    """Heat and gas detectors say heat and gas; a call point just says unsafe."""
    entry, sim, _port = fire
    state = ComponentState(
        system_type=1,
        system_address=1,
        component_type=component_type,
        component_address=9800 + component_type,
        state=ComponentStateFlags.NORMAL,
        description="测试部件",
        time=None,
    )
    frame = raw_frame(encode_application_data([state]), serial=4100 + component_type)
    await sim.action("fire-1", "send_raw", {"hex": frame})
    component_id = f"1-1-{9800 + component_type}"
    await wait_until(
        hass, lambda: _known(entry.runtime_data.fire_panels[PANEL_ID], component_id)
    )
    await hass.async_block_till_done()
    fire_entity = safety_entity(
        hass, "binary_sensor", f"{PANEL_ID}_{component_id}_fire_alarm"
    )
    assert hass.states.get(fire_entity).attributes[ATTR_DEVICE_CLASS] == device_class


async def test_a_parameter_the_standard_does_not_list(
    hass: HomeAssistant, fire: tuple[MockConfigEntry, SimulatorProcess, int]
) -> None:
    """An unlisted parameter type still becomes a sensor, named by its number."""
    entry, sim, _port = fire
    reading = ComponentParameter.from_raw(1, 1, 99, 9700, 77, 321, None)
    frame = raw_frame(encode_application_data([reading]), serial=4200)
    await sim.action("fire-1", "send_raw", {"hex": frame})
    panel = entry.runtime_data.fire_panels[PANEL_ID]
    await wait_until(hass, lambda: _known(panel, "1-1-9700"))
    await hass.async_block_till_done()
    sensor = safety_entity(hass, "sensor", f"{PANEL_ID}_1-1-9700_parameter_77")
    state = hass.states.get(sensor)
    assert float(state.state) == 321
    assert state.name.endswith("Parameter 77")


async def test_flow_opens_a_new_port(hass: HomeAssistant, socket_enabled: None) -> None:
    """A panel on a port nobody uses is added, and the centre listens there."""
    entry = safety_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    port = free_port()
    result = await fire_flow(hass, entry, panel_form(port))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.fire_centres[port].server is not None
