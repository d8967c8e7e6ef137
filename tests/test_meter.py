"""Test power meters: Modbus TCP polling of simulated DTSU666 and SDM630 meters."""

from pathlib import Path
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_HOST,
    CONF_NAME,
    CONF_PORT,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smart_community.const import (
    CONF_BUILDING,
    CONF_CUSTOM_MAP,
    CONF_POLL_INTERVAL,
    CONF_REGISTER_MAP,
    CONF_UNIT_ID,
    DOMAIN,
    SUBENTRY_TYPE_POWER_METER,
)
from tests.simulator_harness import SimulatorProcess, StartSimulator

from .safety_helpers import (
    free_port,
    meter_subentry,
    safety_entity,
    safety_entry,
    scenario_with,
)
from .test_face_terminal import wait_for

# Short, so tests see several polls in real time.
POLL_SECONDS = 0.3

METERS = [
    {
        "id": "meter-a",
        "kind": "power_meter",
        "building": "1",
        "name": "1号楼 总电表",
        "options": {"register_map": "dtsu666", "unit_id": 1},
    },
    {
        "id": "meter-b",
        "kind": "power_meter",
        "building": "1",
        "name": "1号楼 公共照明",
        "options": {"register_map": "sdm630", "unit_id": 3},
    },
]


@pytest.fixture
async def meters(
    hass: HomeAssistant, start_simulator: StartSimulator, tmp_path: Path
) -> tuple[MockConfigEntry, SimulatorProcess]:
    """Start two simulated meters and a community polling both."""
    sim = start_simulator(scenario_with(tmp_path, METERS))
    entry = safety_entry(
        meter_subentry(
            "meter-a",
            "1号楼 总电表",
            sim.device("meter-a")["port"],
            **{CONF_POLL_INTERVAL: POLL_SECONDS},
        ),
        meter_subentry(
            "meter-b",
            "1号楼 公共照明",
            sim.device("meter-b")["port"],
            "sdm630",
            **{CONF_UNIT_ID: 3, CONF_POLL_INTERVAL: POLL_SECONDS},
        ),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    for meter in ("meter-a", "meter-b"):
        power = safety_entity(hass, "sensor", f"{meter}_power")
        await wait_for(
            hass, lambda e=power: hass.states.get(e).state != STATE_UNAVAILABLE
        )
    return entry, sim


def value(hass: HomeAssistant, meter: str, quantity: str) -> float:
    """Return a meter sensor's state as a number."""
    return float(
        hass.states.get(safety_entity(hass, "sensor", f"{meter}_{quantity}")).state
    )


async def poll(hass: HomeAssistant, entry: MockConfigEntry, meter: str) -> None:
    """Wait for a meter's next poll to finish.

    The interval is short in these tests: moving HA's clock instead would also
    fire the Modbus client's own timeouts early.
    """
    polled = entry.runtime_data.meters[meter].polls
    await wait_for(hass, lambda: entry.runtime_data.meters[meter].polls > polled)


async def test_meters_read_both_maps(
    hass: HomeAssistant, meters: tuple[MockConfigEntry, SimulatorProcess]
) -> None:
    """Both maps give voltage, current, power, power factor, frequency and energy."""
    entry, sim = meters
    for meter in ("meter-a", "meter-b"):
        await sim.action(meter, "set_load", {"watts": 30000})
    for meter in ("meter-a", "meter-b"):
        await poll(hass, entry, meter)
        await wait_for(
            hass, lambda m=meter: abs(value(hass, m, "power") - 30000) < 1500
        )
        assert 200 < value(hass, meter, "voltage_l1") < 250
        assert 0 < value(hass, meter, "current_l1") < 100
        assert 0.8 < value(hass, meter, "power_factor") <= 1
        assert 49.9 < value(hass, meter, "frequency") < 50.1
        state = hass.states.get(safety_entity(hass, "sensor", f"{meter}_energy_import"))
        assert state.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENERGY
        assert state.attributes["state_class"] == SensorStateClass.TOTAL_INCREASING
        assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == "kWh"
        snapshot = (await sim.snapshot(meter))["state"]
        assert abs(value(hass, meter, "voltage_l1") - snapshot["voltage_l1"]) < 5


async def test_energy_only_grows(
    hass: HomeAssistant, meters: tuple[MockConfigEntry, SimulatorProcess]
) -> None:
    """Energy imported never goes back between polls."""
    entry, _sim = meters
    readings = []
    for _ in range(3):
        await poll(hass, entry, "meter-a")
        readings.append(value(hass, "meter-a", "energy_import"))
    assert readings == sorted(readings)


async def test_meter_offline_and_back(
    hass: HomeAssistant,
    meters: tuple[MockConfigEntry, SimulatorProcess],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A meter that stops answering goes unavailable, logged once, and comes back."""
    entry, sim = meters
    power = safety_entity(hass, "sensor", "meter-a_power")
    await sim.action("meter-a", "offline")
    await wait_for(hass, lambda: hass.states.get(power).state == STATE_UNAVAILABLE)
    await poll(hass, entry, "meter-a")
    await poll(hass, entry, "meter-a")
    assert caplog.text.count("cannot be reached") == 1
    other = safety_entity(hass, "sensor", "meter-b_power")
    assert hass.states.get(other).state != STATE_UNAVAILABLE
    await sim.action("meter-a", "online")
    await wait_for(hass, lambda: hass.states.get(power).state != STATE_UNAVAILABLE)
    assert "answers again" in caplog.text


async def meter_flow(
    hass: HomeAssistant, entry: MockConfigEntry, user_input: dict[str, Any]
) -> Any:
    """Run the add-meter flow with one form submission."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_TYPE_POWER_METER), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"], user_input
    )


def meter_form(port: int, **changes: Any) -> dict[str, Any]:
    """Fill the meter form."""
    return {
        CONF_NAME: "3号楼 总电表",
        CONF_BUILDING: "1",
        CONF_HOST: "127.0.0.1",
        CONF_PORT: port,
        CONF_UNIT_ID: 1,
        CONF_REGISTER_MAP: "dtsu666",
        CONF_POLL_INTERVAL: 5,
        **changes,
    }


async def test_flow_adds_a_meter_that_answers(
    hass: HomeAssistant, start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """The flow reads the meter once, then adds it; errors say what is wrong."""
    sim = start_simulator(scenario_with(tmp_path, METERS[:1]))
    port = sim.device("meter-a")["port"]
    entry = safety_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)

    result = await meter_flow(hass, entry, meter_form(free_port()))
    assert result["errors"] == {"base": "cannot_connect"}
    result = await meter_flow(hass, entry, meter_form(port, **{CONF_UNIT_ID: 9}))
    assert result["errors"] in ({"base": "meter_refused"}, {"base": "cannot_connect"})
    result = await meter_flow(
        hass,
        entry,
        meter_form(
            port,
            **{CONF_REGISTER_MAP: "custom", CONF_CUSTOM_MAP: {"registers": {}}},
        ),
    )
    assert result["errors"] == {CONF_CUSTOM_MAP: "invalid_register_map"}
    result = await meter_flow(hass, entry, meter_form(port, **{CONF_NAME: " "}))
    assert result["errors"] == {CONF_NAME: "name_required"}

    result = await meter_flow(hass, entry, meter_form(port))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    power = safety_entity(
        hass,
        "sensor",
        f"{next(iter(entry.get_subentries_of_type(SUBENTRY_TYPE_POWER_METER))).subentry_id}_power",
    )
    await wait_for(hass, lambda: hass.states.get(power).state != STATE_UNAVAILABLE)

    result = await meter_flow(hass, entry, meter_form(port, **{CONF_NAME: "另一个"}))
    assert result["errors"] == {CONF_HOST: "meter_already_configured"}
    result = await meter_flow(hass, entry, meter_form(port, **{CONF_UNIT_ID: 2}))
    assert result["errors"] == {CONF_NAME: "meter_exists"}


async def test_custom_register_map(
    hass: HomeAssistant, start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """A meter described as data is read like a built-in one."""
    sim = start_simulator(scenario_with(tmp_path, METERS[1:]))
    custom = {
        "name": "sdm630_subset",
        "table": "input",
        "registers": {
            "voltage_l1": {"address": 0, "type": "float32"},
            "power": {"address": 52, "type": "float32"},
        },
    }
    entry = safety_entry(
        meter_subentry(
            "meter-c",
            "自定义电表",
            sim.device("meter-b")["port"],
            "custom",
            unit_id=3,
            **{CONF_CUSTOM_MAP: custom},
        )
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    voltage = safety_entity(hass, "sensor", "meter-c_voltage_l1")
    await wait_for(hass, lambda: hass.states.get(voltage).state != STATE_UNAVAILABLE)
    assert 200 < float(hass.states.get(voltage).state) < 250
    assert er_missing(hass, "meter-c_frequency")


def er_missing(hass: HomeAssistant, unique_id: str) -> bool:
    """Tell whether no sensor has this unique ID."""
    registry = er.async_get(hass)
    return registry.async_get_entity_id("sensor", DOMAIN, unique_id) is None


async def test_diagnostics_show_each_meter(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    meters: tuple[MockConfigEntry, SimulatorProcess],
) -> None:
    """Diagnostics show each meter's map, health, requests per poll and values."""
    entry, _sim = meters
    assert await async_setup_component(hass, "diagnostics", {})
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    dtsu666 = diagnostics["power_meters"]["1号楼 总电表"]
    assert dtsu666["register_map"] == "dtsu666"
    assert dtsu666["available"] is True
    assert dtsu666["requests_per_poll"] == 2
    assert diagnostics["power_meters"]["1号楼 公共照明"]["requests_per_poll"] == 1
    assert 200 < dtsu666["values"]["voltage_l1"] < 250
    subentry = next(
        s for s in diagnostics["subentries"] if s["subentry_type"] == "power_meter"
    )
    assert subentry["data"]["host"] == "**REDACTED**"


async def test_reconfigure_a_meter(
    hass: HomeAssistant, meters: tuple[MockConfigEntry, SimulatorProcess]
) -> None:
    """Reconfigure changes the polling interval; taking another meter's place is refused."""
    entry, sim = meters
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_TYPE_POWER_METER),
        context={"source": "reconfigure", "subentry_id": "meter-a"},
    )
    assert result["type"] is FlowResultType.FORM
    taken = meter_form(
        sim.device("meter-b")["port"],
        **{CONF_NAME: "1号楼 总电表", CONF_UNIT_ID: 3},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], taken
    )
    assert result["errors"] == {CONF_HOST: "meter_already_configured"}
    changed = meter_form(
        sim.device("meter-a")["port"],
        **{CONF_NAME: "1号楼 总电表", CONF_POLL_INTERVAL: 30},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], changed
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries["meter-a"].data[CONF_POLL_INTERVAL] == 30
