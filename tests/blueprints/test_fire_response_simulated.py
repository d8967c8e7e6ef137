"""Test the fire response blueprint against a whole simulated building.

Every device is played by the simulator over its real protocol: the fire panel
(GB/T 26875.3) raises the alarm, and the blueprint's actions reach a speaker zone
(RTP G.711), a face terminal's door (ISAPI), an LPR camera's barrier (its comet
poll) and a charging station (OCPP 1.6J). The unit tests beside this one cover
the blueprint's rules with recorded actions; this one shows they reach devices.
"""

from pathlib import Path
from typing import Any, Final

from homeassistant.components.lock import LockState
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant

from custom_components.smart_community.const import SUBENTRY_TYPE_FACE_TERMINAL
from tests.gate_helpers import (
    ENTRY_LANE,
    ENTRY_SECRET,
    gate_entity,
    gate_entry,
    push_path,
)
from tests.safety_helpers import (
    PANEL_ID,
    fire_subentry,
    free_port,
    safety_entity,
    scenario_with,
)
from tests.simulator_harness import StartSimulator
from tests.speech import async_setup_speech
from tests.test_broadcast import complete, zone_subentry
from tests.test_charging import (
    CARD,
    SIM_DEVICE,
    add_card_holder,
    connect as connect_station,
    entity as station_entity,
    station_device,
    station_subentry,
)
from tests.test_face_terminal import TERMINAL_DEVICE, terminal_data, wait_for
from tests.test_fire import (
    FIRE_DEVICE,
    all_reported,
    component_entity,
    components,
    connect as connect_panel,
)
from tests.test_gate_simulator import ENTRY_CAMERA, ClientFactory

from .community import SPEAKER, ZONE
from .helpers import add_phone, async_create_automation, async_settle_until

BLUEPRINT: Final = "fire_response.yaml"
DEVICES_SECONDS: Final = 30


async def test_fire_alarm_reaches_every_device(
    hass: HomeAssistant,
    start_simulator: StartSimulator,
    hass_client_no_auth: ClientFactory,
    tmp_path: Path,
) -> None:
    """A smoke detector's alarm: broadcast heard, door held open, barrier up, charging cut."""
    sim = start_simulator(
        scenario_with(
            tmp_path,
            [FIRE_DEVICE, ZONE, TERMINAL_DEVICE, ENTRY_CAMERA, station_device()],
        )
    )
    fire_port, ocpp_port = free_port(), free_port()
    entry = gate_entry(
        extra=[
            fire_subentry(fire_port),
            zone_subentry(
                "zone-1", "1号楼 广播分区", sim.device(SPEAKER)["port"], "PCMU"
            ),
            ConfigSubentryData(
                data=terminal_data(sim),
                subentry_id="terminal-1",
                subentry_type=SUBENTRY_TYPE_FACE_TERMINAL,
                title="1号楼 单元门禁",
                unique_id="face_terminal_SIM-FACE-0101",
            ),
            station_subentry(ocpp_port),
        ]
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await async_setup_speech(hass)
    client = await hass_client_no_auth()
    await sim.action(
        "lpr-in",
        "configure",
        {"push_url": str(client.make_url(push_path(ENTRY_SECRET)))},
    )
    camera_link = gate_entity(hass, "binary_sensor", ENTRY_LANE, "camera_connected")
    await wait_for(hass, lambda: hass.states.get(camera_link).state == STATE_ON)
    await connect_panel(hass, sim, fire_port)
    found = await components(sim)
    detectors = [c for c in found if c["component_type"] == 40]
    await async_settle_until(
        hass, lambda: all_reported(hass, entry, len(found)), DEVICES_SECONDS
    )
    add_card_holder(entry)
    await connect_station(hass, sim, ocpp_port)
    await sim.action(SIM_DEVICE, "plug_in", {"port": 1, "id_tag": CARD})
    charge = station_entity(hass, "switch", "charge", 1)
    await wait_for(hass, lambda: hass.states.get(charge).state == STATE_ON)

    lock = safety_entity(hass, "lock", "terminal-1_door_1_lock")
    barrier = gate_entity(hass, "cover", ENTRY_LANE, "barrier")
    phone = add_phone(hass, "Zhang San iPhone")
    detector = detectors[0]
    alarm = component_entity(hass, "binary_sensor", detector, "fire_alarm")
    relays = (await sim.snapshot("lpr-in"))["state"]["relay_count"]
    inputs: dict[str, Any] = {
        "building": "1",
        "fire_alarms": [alarm],
        "repeat": 1,
        "doors": [lock],
        "gates": [barrier],
        "managers": [phone.device_id],
        "auto_restore": False,
    }
    await async_create_automation(hass, BLUEPRINT, inputs)

    await sim.action("fire-1", "alarm", {"address": detector["address"]})

    async def everything_done() -> bool:
        terminal = (await sim.snapshot("face-1"))["state"]
        camera = (await sim.snapshot("lpr-in"))["state"]
        port = next(
            p
            for p in (await sim.snapshot(SIM_DEVICE))["state"]["ports"]
            if p["port"] == 1
        )
        return (
            await complete(sim, SPEAKER)
            and terminal["doors"][0]["mode"] == "alwaysOpen"
            and camera["relay_count"] > relays
            and port["transaction_id"] is None
            and bool(phone.notifications)
        )

    await async_settle_until(hass, everything_done, DEVICES_SECONDS)
    assert hass.states.get(lock).state == LockState.UNLOCKED
    [push] = phone.notifications
    assert detector["description"] in push.data["message"]
    assert push.data["data"]["push"]["interruption-level"] == "critical"
    panel_alarm = safety_entity(hass, "binary_sensor", f"{PANEL_ID}_fire_alarm")
    assert hass.states.get(panel_alarm).state == STATE_ON
