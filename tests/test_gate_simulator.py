"""Test gate lanes against simulated LPR cameras over loopback.

The simulator (a separate process) plays two cameras, an entry and an exit;
they push to Home Assistant's HTTP server, obey its replies (firing their relay
or not) and report what they heard through the control API.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
import json
from pathlib import Path
from typing import Any, Final

from aiohttp.test_utils import TestClient
from homeassistant.components.cover import CoverState
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulator.scenario import SCENARIO_DIR
from tests.simulator_harness import SimulatorProcess, StartSimulator

from .conftest import add_resident, call
from .gate_helpers import (
    ENTRY_LANE,
    ENTRY_SECRET,
    EXIT_LANE,
    EXIT_SECRET,
    LOT_ID,
    gate_entity,
    gate_entry,
    push_path,
)
from .test_face_terminal import wait_for

type ClientFactory = Callable[[], Awaitable[TestClient[Any, Any]]]

CAMERA_TIMINGS = {"heartbeat_mode": "comet", "heartbeat_seconds": 0.2}


ENTRY_CAMERA: Final = {
    "id": "lpr-in",
    "kind": "plate_camera",
    "building": None,
    "name": "正门 入口",
    "options": {"serial_number": "SIM-LPR-IN", **CAMERA_TIMINGS},
}


def cameras_scenario(folder: Path) -> Path:
    """Write a scenario with an entry camera (UTF-8) and an exit camera (GBK)."""
    document = json.loads((SCENARIO_DIR / "minimal.json").read_text(encoding="utf-8"))
    document["devices"] = [
        ENTRY_CAMERA,
        {
            "id": "lpr-out",
            "kind": "plate_camera",
            "building": None,
            "name": "正门 出口",
            "options": {
                "serial_number": "SIM-LPR-OUT",
                "encoding": "gbk",
                **CAMERA_TIMINGS,
            },
        },
    ]
    path = folder / "cameras.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
async def lanes(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    start_simulator: StartSimulator,
    tmp_path: Path,
) -> tuple[MockConfigEntry, SimulatorProcess]:
    """Set up two lanes, point the simulated cameras at them, wait for contact."""
    entry = gate_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    resident = await add_resident(hass, entry)
    await call(hass, "add_vehicle", entry, resident_id=resident, plate="京A12345")
    now = dt_util.utcnow()
    await call(
        hass,
        "add_visitor_pass",
        entry,
        visitor_name="李娜",
        host_resident_id=resident,
        valid_until=(now + timedelta(hours=2)).isoformat(),
        plate="沪C54321",
    )
    await call(
        hass,
        "add_visitor_pass",
        entry,
        visitor_name="王芳",
        host_resident_id=resident,
        valid_from=(now - timedelta(days=2)).isoformat(),
        valid_until=(now - timedelta(days=1)).isoformat(),
        plate="苏E77777",
    )
    client = await hass_client_no_auth()
    sim = start_simulator(cameras_scenario(tmp_path))
    for device, secret in (("lpr-in", ENTRY_SECRET), ("lpr-out", EXIT_SECRET)):
        await sim.action(
            device, "configure", {"push_url": str(client.make_url(push_path(secret)))}
        )
    for lane in (ENTRY_LANE, EXIT_LANE):
        connected = gate_entity(hass, "binary_sensor", lane, "camera_connected")
        await wait_for(hass, lambda e=connected: hass.states.get(e).state == STATE_ON)
    return entry, sim


async def wait_until(
    hass: HomeAssistant, check: Callable[[], Awaitable[bool]], seconds: float = 10
) -> None:
    """Let Home Assistant and the simulator work until an async check holds."""
    async with asyncio.timeout(seconds):
        while not await check():
            await asyncio.sleep(0.05)
            await hass.async_block_till_done()


async def arrive(sim: SimulatorProcess, device: str, plate: str) -> dict[str, Any]:
    """Make a camera see a plate; return what it pushed and heard."""
    result: dict[str, Any] = await sim.action(device, "arrive", {"plate": plate})
    return result


async def test_who_gets_in(
    hass: HomeAssistant, lanes: tuple[MockConfigEntry, SimulatorProcess]
) -> None:
    """Residents and valid visitors open; expired passes, strangers, blocked never."""
    entry, sim = lanes
    resident = await arrive(sim, "lpr-in", "京A12345")
    assert resident["relay_fired"] is True
    assert resident["voice"] == "欢迎回家 京A12345"
    assert resident["serial_texts"] == ["欢迎回家 京A12345"]
    visitor = await arrive(sim, "lpr-in", "沪C54321")
    assert visitor["relay_fired"] is True
    assert visitor["voice"] == "欢迎光临 沪C54321"
    for plate in ("苏E77777", "浙A99999"):
        refused = await arrive(sim, "lpr-in", plate)
        assert refused["relay_fired"] is False
        assert refused["voice"] == f"未登记车辆 {plate}"
    await call(hass, "block_plate", entry, plate="京A12345")
    for device in ("lpr-in", "lpr-out"):
        blocked = await arrive(sim, device, "京A12345")
        assert blocked["relay_fired"] is False
        assert blocked["voice"] == "禁止通行 京A12345"
    # A green plate through the GBK exit camera, unknown: exits are open.
    green = await arrive(sim, "lpr-out", "粤BD12345")
    assert green["relay_fired"] is True
    await hass.async_block_till_done()
    event = hass.states.get(gate_entity(hass, "event", EXIT_LANE, "plate"))
    assert event.attributes["plate"] == "粤BD12345"
    assert event.attributes["color"] == "green"
    assert event.attributes["verdict"] == "unknown"
    inside = gate_entity(hass, "sensor", LOT_ID, "vehicles_inside")
    # The resident and the visitor came in; nobody known left.
    assert hass.states.get(inside).state == "2"


async def test_manual_open_through_comet_poll(
    hass: HomeAssistant, lanes: tuple[MockConfigEntry, SimulatorProcess]
) -> None:
    """Opening the barrier in Home Assistant fires the camera's relay on its poll."""
    _entry, sim = lanes
    before = (await sim.snapshot("lpr-in"))["state"]["relay_count"]
    barrier = gate_entity(hass, "cover", ENTRY_LANE, "barrier")
    await hass.services.async_call(
        "cover", "open_cover", {"entity_id": barrier}, blocking=True
    )

    async def fired() -> bool:
        state = (await sim.snapshot("lpr-in"))["state"]
        return bool(state["relay_count"] > before)

    await wait_until(hass, fired)
    await hass.async_block_till_done()
    state = hass.states.get(barrier)
    assert state.state == CoverState.OPEN
    assert state.attributes["open_command"] == "delivered"


async def test_offline_records_are_recorded_not_opened(
    hass: HomeAssistant, lanes: tuple[MockConfigEntry, SimulatorProcess]
) -> None:
    """Plates seen during an outage arrive afterwards, are recorded, open nothing."""
    _entry, sim = lanes
    await sim.action("lpr-in", "disconnect")
    for plate in ("京A12345", "浙A99999"):
        queued = await arrive(sim, "lpr-in", plate)
        assert queued["offline"] is True
    relay_before = (await sim.snapshot("lpr-in"))["state"]["relay_count"]
    await sim.action("lpr-in", "reconnect")

    async def backlog_empty() -> bool:
        state = (await sim.snapshot("lpr-in"))["state"]
        return not state["offline_queue"] and state["offline_pushed"] == 2

    await wait_until(hass, backlog_empty)
    state = (await sim.snapshot("lpr-in"))["state"]
    assert state["relay_count"] == relay_before
    offline = [r for r in state["records"] if r["kind"] == "offline_plate"]
    assert [r["plate"] for r in offline] == ["京A12345", "浙A99999"]
    assert all(r["relay_fired"] is False for r in offline)
    await hass.async_block_till_done()
    event = hass.states.get(gate_entity(hass, "event", ENTRY_LANE, "plate"))
    assert event.attributes["plate"] == "浙A99999"
    assert event.attributes["offline"] is True
