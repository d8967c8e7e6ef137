"""Benchmark face terminal events: the simulated terminal to Home Assistant's entity.

Run by scripts/bench with pytest: ``pytest benchmarks/bench_face_terminal.py``.
The simulated terminal (a separate process) is told through its control API to
see a stranger; it writes the event on its alert stream, and the time until the
Access event entity fires with that event's serial number is measured. The
control call itself is part of that time, so the figure is an upper bound of
wire -> entity; the control call's own round trip, measured alone, is the floor.
Figures go to the JSON file named by SC_BENCH_OUTPUT.
"""

import asyncio
from collections.abc import Iterator
import json
import os
from pathlib import Path
import time
from typing import Any

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest

from benchmarks.registry import summary
from benchmarks.terminal_setup import community_entry, terminals_scenario
from custom_components.smart_community.const import (
    DOMAIN,
    SUBENTRY_TYPE_FACE_TERMINAL,
)
from tests.simulator_harness import SimulatorProcess, launch_simulator

EVENTS = int(os.environ.get("SC_BENCH_EVENTS", "1000"))
TARGET_P95_MS = 50.0


@pytest.fixture
def terminal(socket_enabled: None, tmp_path: Path) -> Iterator[SimulatorProcess]:
    """Run one simulated face terminal."""
    simulator = launch_simulator(terminals_scenario(tmp_path, 1))
    yield simulator
    simulator.stop()
    simulator.close()


@pytest.mark.timeout(900)
async def test_event_latency(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    terminal: SimulatorProcess,
) -> None:
    """Time 1,000 terminal events to the event entity, one after another."""
    entry = community_entry(terminal.devices("face_terminal"))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    subentry_id = next(
        s.subentry_id
        for s in entry.subentries.values()
        if s.subentry_type == SUBENTRY_TYPE_FACE_TERMINAL
    )
    event_entity = er.async_get(hass).async_get_entity_id(
        "event", DOMAIN, f"{subentry_id}_access"
    )
    hub = entry.runtime_data.terminals[subentry_id]
    connected = asyncio.Event()
    hub.add_state_listener(lambda: connected.set() if hub.available else None)
    if hub.available:
        connected.set()
    async with asyncio.timeout(20):
        await connected.wait()
    # The first connect also reads the event log; let it settle.
    await asyncio.sleep(1)

    arrivals: dict[int, int] = {}
    waiters: dict[int, asyncio.Event] = {}

    @callback
    def on_state(event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        if event.data["entity_id"] != event_entity or new_state is None:
            return
        serial = new_state.attributes.get("serial_no")
        if isinstance(serial, int):
            arrivals[serial] = time.perf_counter_ns()
            if (waiter := waiters.get(serial)) is not None:
                waiter.set()

    hass.bus.async_listen("state_changed", on_state)

    latencies: list[float] = []
    for _ in range(EVENTS):
        start = time.perf_counter_ns()
        answer: dict[str, Any] = await terminal.action("face-1", "present_stranger", {})
        serial = answer["serials"][0]
        if serial not in arrivals:
            waiters[serial] = asyncio.Event()
            async with asyncio.timeout(5):
                await waiters[serial].wait()
        latencies.append((arrivals[serial] - start) / 1e6)

    floor: list[float] = []
    for _ in range(200):
        start = time.perf_counter_ns()
        await terminal.snapshot("face-1")
        floor.append((time.perf_counter_ns() - start) / 1e6)

    result = {
        "events": EVENTS,
        "delivered": len(latencies),
        "control_action_to_event_entity_ms": summary(latencies, 2),
        "control_round_trip_alone_ms": summary(floor, 2),
        "targets": {
            "p95_under_50_ms": summary(latencies, 2)["p95"] < TARGET_P95_MS,
        },
    }
    output = Path(os.environ.get("SC_BENCH_OUTPUT", "/dev/null"))
    await hass.async_add_executor_job(
        output.write_text, json.dumps(result, ensure_ascii=False)
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
