"""Benchmark fire alarms: a GB/T 26875.3 frame on the wire -> smoke binary_sensor on.

Run by scripts/bench with pytest: ``pytest benchmarks/bench_fire.py``.
A transmission device is played by a TCP client in this process: it registers
500 components (smoke detectors), then sends one component-state frame at a time,
alternating fire and normal for a random detector, and the time from writing the
frame to the detector's binary_sensor changing state is measured. Figures go to
the JSON file named by SC_BENCH_OUTPUT.
"""

import asyncio
from datetime import datetime
import json
import os
from pathlib import Path
import random
import time

from homeassistant.const import STATE_ON
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from benchmarks.registry import summary
from custom_components.smart_community.const import DOMAIN
from custom_components.smart_community.protocols.gb26875 import (
    Action,
    ComponentState,
    ComponentStateFlags,
    Frame,
    TransmitterState,
    TransmitterStateFlags,
    encode_application_data,
    encode_frame,
)
from tests.safety_helpers import PANEL_ID, fire_subentry, free_port, safety_entry

COMPONENTS = int(os.environ.get("SC_BENCH_FIRE_COMPONENTS", "500"))
ALARMS = int(os.environ.get("SC_BENCH_FIRE_ALARMS", "1000"))
TARGET_P95_MS = 50.0
TRANSMITTER = 1
# A frame stays well under the standard's 1024 bytes of application data.
PER_FRAME = 20


def detector_state(address: int, fire: bool) -> ComponentState:
    """Describe a corridor smoke detector's state."""
    building, floor = divmod(address, 100)
    return ComponentState(
        system_type=1,
        system_address=1,
        component_type=40,
        component_address=address,
        state=ComponentStateFlags.NORMAL
        | (ComponentStateFlags.FIRE_ALARM if fire else ComponentStateFlags(0)),
        description=f"{building % 10 + 1}号楼{floor + 1}层走廊烟感{address}",
        time=datetime.now().replace(microsecond=0),
    )


class Transmitter:
    """Play a transmission device over one TCP connection."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Wrap an open connection."""
        self.reader = reader
        self.writer = writer
        self.serial = 0
        self.acks = 0
        self._acker = asyncio.create_task(self._count_acks())

    async def _count_acks(self) -> None:
        """Read the centre's acknowledgements (30 bytes each)."""
        while await self.reader.readexactly(30):
            self.acks += 1

    def send(self, objects: list[ComponentState] | list[TransmitterState]) -> None:
        """Write one send-data frame."""
        self.serial = (self.serial + 1) % 65536
        frame = Frame(
            serial=self.serial,
            version=(1, 1),
            time=datetime.now().replace(microsecond=0),
            source=TRANSMITTER,
            destination=0,
            action=Action.SEND_DATA,
            data=encode_application_data(objects),
        )
        self.writer.write(encode_frame(frame))

    async def close(self) -> None:
        """Hang up."""
        self._acker.cancel()
        self.writer.close()


async def test_fire_frame_to_binary_sensor(
    hass: HomeAssistant, enable_custom_integrations: None, socket_enabled: None
) -> None:
    """Time fire frames to the detector's binary_sensor with 500 components."""
    port = free_port()
    entry = safety_entry(fire_subentry(port))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    panel = entry.runtime_data.fire_panels[PANEL_ID]

    device = Transmitter(*await asyncio.open_connection("127.0.0.1", port))
    device.send([TransmitterState(TransmitterStateFlags.NORMAL, None)])
    addresses = [1000 + n for n in range(COMPONENTS)]
    register_start = time.perf_counter()
    for start in range(0, COMPONENTS, PER_FRAME):
        device.send(
            [detector_state(a, False) for a in addresses[start : start + PER_FRAME]]
        )
    all_known = asyncio.Event()
    panel.component_added.add(
        lambda _id: all_known.set() if len(panel.components) >= COMPONENTS else None
    )
    async with asyncio.timeout(60):
        await all_known.wait()
        await hass.async_block_till_done()
    registered_s = time.perf_counter() - register_start

    registry = er.async_get(hass)
    entity_of = {
        address: registry.async_get_entity_id(
            "binary_sensor", DOMAIN, f"{PANEL_ID}_1-1-{address}_fire_alarm"
        )
        for address in addresses
    }
    waiting: dict[str, tuple[str, asyncio.Future[int]]] = {}

    @callback
    def on_state(event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        wanted = waiting.get(event.data["entity_id"])
        if (
            wanted is not None
            and new_state is not None
            and new_state.state == wanted[0]
        ):
            wanted[1].set_result(time.perf_counter_ns())
            del waiting[event.data["entity_id"]]

    hass.bus.async_listen("state_changed", on_state)
    rng = random.Random(26875)
    burning: set[int] = set()
    to_on: list[float] = []
    to_off: list[float] = []
    for _ in range(ALARMS):
        address = rng.choice(addresses)
        fire = address not in burning
        entity_id = entity_of[address]
        assert entity_id is not None
        arrived: asyncio.Future[int] = hass.loop.create_future()
        waiting[entity_id] = (STATE_ON if fire else "off", arrived)
        start = time.perf_counter_ns()
        device.send([detector_state(address, fire)])
        async with asyncio.timeout(5):
            end = await arrived
        (to_on if fire else to_off).append((end - start) / 1e6)
        (burning.add if fire else burning.discard)(address)

    result = {
        "components": COMPONENTS,
        "entities": len(er.async_entries_for_config_entry(registry, entry.entry_id)),
        "register_components_s": round(registered_s, 2),
        "frame_to_binary_sensor_on_ms": summary(to_on, 2) | {"n": len(to_on)},
        "frame_to_binary_sensor_off_ms": summary(to_off, 2) | {"n": len(to_off)},
        "acknowledged": device.acks,
        "targets": {"p95_under_50_ms": summary(to_on, 2)["p95"] < TARGET_P95_MS},
    }
    await device.close()

    reload_start = time.perf_counter()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    result["reload_with_saved_components_s"] = round(
        time.perf_counter() - reload_start, 2
    )
    output = Path(os.environ.get("SC_BENCH_OUTPUT", "/dev/null"))
    await hass.async_add_executor_job(
        output.write_text, json.dumps(result, ensure_ascii=False)
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
