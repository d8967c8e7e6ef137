"""Benchmark charging stations: 40 stations x 10 ports sending MeterValues every 10 s.

Run by scripts/bench with pytest: ``pytest benchmarks/bench_charging.py``.

The charge points are played in this process by a small OCPP 1.6J client
written here on aiohttp's websocket client: it builds the JSON frames itself
(nothing from the integration's protocols/ package), so what is measured is
Home Assistant's side only, and the frame write can be timed exactly. The
simulator (one subprocess playing 40 piles with the ``ocpp`` library) would add
its own scheduling to the figures and make the frame write impossible to time
from here. The charge points run on their own event loop in their own thread,
so the CPU time of Home Assistant's event loop thread can be told apart from
the charge points' (``time.thread_time`` in each thread); the process's CPU
time, all threads together, is reported too.

Steps: set up a community with 40 stations of 10 ports (about 5,000 entities,
timed: ``setup_s``); the 40 charge points connect, boot, report every port and
start a session on each (timed: ``connect_and_start_s``); then for
SC_BENCH_CHARGING_SECONDS (60) each port sends MeterValues (energy register,
power, current, voltage, temperature) every 10 s, the 400 ports spread evenly
over the 10 s: 40 messages a second. For each message the time from writing
the frame to the port's power sensor changing to the value sent is measured
with ``time.perf_counter`` and a state_changed listener. Idle CPU (connected,
sessions open, no messages) is measured over a few seconds before the load for
comparison. Figures go to the JSON file named by SC_BENCH_OUTPUT.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import threading
import time
from typing import Any

import aiohttp
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_NAME, CONF_PORT
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from benchmarks.registry import summary
from custom_components.smart_community.const import (
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
from tests.conftest import COMMUNITY_NAME, building_subentry
from tests.safety_helpers import free_port

STATIONS = int(os.environ.get("SC_BENCH_CHARGING_STATIONS", "40"))
PORTS = int(os.environ.get("SC_BENCH_CHARGING_PORTS", "10"))
INTERVAL_S = float(os.environ.get("SC_BENCH_CHARGING_INTERVAL", "10"))
SECONDS = float(os.environ.get("SC_BENCH_CHARGING_SECONDS", "60"))
IDLE_SECONDS = 5.0
# The card every session starts with: the operator's, always accepted.
ID_TAG = "HOMEASSISTANT"


def station_subentry(number: int, port: int) -> ConfigSubentryData:
    """Describe a charging station subentry as the flow stores it."""
    charge_point_id = f"BENCH-{number:03d}"
    return ConfigSubentryData(
        data={
            CONF_CHARGE_POINT_ID: charge_point_id,
            CONF_PORT_COUNT: PORTS,
            CONF_PORT: port,
            CONF_FULL_POWER: 10,
            CONF_FULL_MINUTES: 20,
            CONF_MAX_DURATION: 10,
            CONF_MAX_TEMPERATURE: 65,
            CONF_MAX_POWER: 1000,
        },
        subentry_id=f"station-{number:03d}",
        subentry_type=SUBENTRY_TYPE_CHARGING_STATION,
        title=f"{number}号充电棚",
        unique_id=charge_point_id,
    )


def timestamp() -> str:
    """Return the time now as a charge point writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(slots=True)
class Sent:
    """Remember one MeterValues frame until its power reaches the sensor."""

    watts: float
    written: float


@dataclass
class Load:
    """What the charge points' thread and Home Assistant's listener share."""

    # Power sensor entity ID -> the last frame written for it, not yet seen.
    waiting: dict[str, Sent] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    sent: int = 0
    answered: int = 0
    errors: list[str] = field(default_factory=list)
    thread_cpu_s: float = 0.0


class ChargePoint:
    """Play one charge point over a websocket: calls out, answers in order."""

    def __init__(self, charge_point_id: str, socket: aiohttp.ClientWebSocketResponse):
        """Wrap an open websocket."""
        self.charge_point_id = charge_point_id
        self.socket = socket
        self.serial = 0
        self.pending: dict[str, asyncio.Future[Any]] = {}
        self.reader = asyncio.create_task(self._read())
        self.transactions: dict[int, int] = {}
        self.register_wh: dict[int, float] = dict.fromkeys(range(1, PORTS + 1), 0.0)

    async def _read(self) -> None:
        """Hand each answer to its call; the central system sends no calls here."""
        async for message in self.socket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            if frame[0] in (3, 4) and (future := self.pending.pop(frame[1], None)):
                future.set_result(frame)

    def frame(self, action: str, payload: dict[str, Any]) -> tuple[str, str]:
        """Return a new call's unique ID and its text."""
        self.serial += 1
        unique_id = f"{self.serial}"
        return unique_id, json.dumps([2, unique_id, action, payload])

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a call and return the answer's payload; raise on a CALLERROR."""
        unique_id, text = self.frame(action, payload)
        return await self.send(unique_id, text)

    async def send(self, unique_id: str, text: str) -> dict[str, Any]:
        """Write a prepared call and wait for its answer."""
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[unique_id] = answer
        await self.socket.send_str(text)
        async with asyncio.timeout(10):
            frame = await answer
        if frame[0] == 4:
            raise RuntimeError(f"{self.charge_point_id}: {frame[2]} {frame[3]}")
        payload: dict[str, Any] = frame[2]
        return payload

    async def boot_and_start(self) -> None:
        """Boot, report every port, and start a session on each."""
        await self.call(
            "BootNotification",
            {"chargePointVendor": "Bench", "chargePointModel": "EB-10"},
        )
        for connector in range(PORTS + 1):
            await self.status(connector, "Available")
        for port in range(1, PORTS + 1):
            await self.status(port, "Preparing")
            answer = await self.call(
                "StartTransaction",
                {
                    "connectorId": port,
                    "idTag": ID_TAG,
                    "meterStart": 0,
                    "timestamp": timestamp(),
                },
            )
            self.transactions[port] = int(answer["transactionId"])
            await self.status(port, "Charging")

    async def status(self, connector: int, status: str) -> None:
        """Send a StatusNotification."""
        await self.call(
            "StatusNotification",
            {
                "connectorId": connector,
                "errorCode": "NoError",
                "status": status,
                "timestamp": timestamp(),
            },
        )

    def meter_values(self, port: int, watts: float) -> tuple[str, str]:
        """Return a MeterValues frame of a port, as a charging e-bike pile sends it."""
        self.register_wh[port] += watts * INTERVAL_S / 3600
        sampled = [
            ("Energy.Active.Import.Register", f"{self.register_wh[port]:.1f}", "Wh"),
            ("Power.Active.Import", f"{watts:.1f}", "W"),
            ("Current.Import", f"{watts / 220:.3f}", "A"),
            ("Voltage", "220.0", "V"),
            ("Temperature", f"{30 + watts / 50:.1f}", "Celsius"),
        ]
        return self.frame(
            "MeterValues",
            {
                "connectorId": port,
                "transactionId": self.transactions[port],
                "meterValue": [
                    {
                        "timestamp": timestamp(),
                        "sampledValue": [
                            {
                                "value": value,
                                "context": "Sample.Periodic",
                                "measurand": measurand,
                                "unit": unit,
                            }
                            for measurand, value, unit in sampled
                        ],
                    }
                ],
            },
        )

    async def close(self) -> None:
        """Hang up."""
        await self.socket.close()
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


class ChargePoints:
    """Run the charge points on their own event loop in their own thread."""

    def __init__(self, url: str, power_entities: dict[tuple[int, int], str]) -> None:
        """Prepare the thread; nothing runs until ``connect``."""
        self.url = url
        self.power_entities = power_entities
        self.load = Load()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="bench-charge-points", daemon=True
        )
        self.thread.start()
        self.session: aiohttp.ClientSession | None = None
        self.points: list[ChargePoint] = []

    async def run(self, job: Any) -> Any:
        """Run a coroutine on the charge points' loop and await it from HA's."""
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(job, self.loop)
        )

    async def connect(self) -> None:
        """Connect every charge point, boot it and start its sessions."""
        self.session = aiohttp.ClientSession()

        async def one(number: int) -> ChargePoint:
            charge_point_id = f"BENCH-{number:03d}"
            assert self.session is not None
            socket = await self.session.ws_connect(
                f"{self.url}/{charge_point_id}", protocols=("ocpp1.6",)
            )
            point = ChargePoint(charge_point_id, socket)
            await point.boot_and_start()
            return point

        self.points = list(
            await asyncio.gather(*(one(n) for n in range(1, STATIONS + 1)))
        )

    async def meter(self, seconds: float) -> None:
        """Send each port's MeterValues every interval, spread evenly, for a while."""
        load = self.load
        cpu_start = time.thread_time()
        start = time.perf_counter() + 0.1
        slot = INTERVAL_S / (STATIONS * PORTS)
        rounds = max(1, round(seconds / INTERVAL_S))

        async def station(index: int, point: ChargePoint) -> None:
            for number in range(rounds * PORTS):
                rotation, port_index = divmod(number, PORTS)
                port = port_index + 1
                due = (
                    start
                    + rotation * INTERVAL_S
                    + (port_index * STATIONS + index) * slot
                )
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                # A power that differs from the last one, so the state changes.
                watts = 150.0 + (rotation * 7 + port * 3 + index) % 100 + 0.1 * port
                unique_id, text = point.meter_values(port, watts)
                entity_id = self.power_entities[index, port]
                load.waiting[entity_id] = Sent(watts, time.perf_counter())
                try:
                    await point.send(unique_id, text)
                except (RuntimeError, TimeoutError) as error:
                    load.errors.append(f"{point.charge_point_id}/{port}: {error!r}")
                    continue
                load.sent += 1
                load.answered += 1

        await asyncio.gather(
            *(station(index, point) for index, point in enumerate(self.points))
        )
        load.thread_cpu_s = time.thread_time() - cpu_start

    async def close(self) -> None:
        """Hang up every charge point and close the session."""
        for point in self.points:
            await point.close()
        if self.session is not None:
            await self.session.close()

    def stop(self) -> None:
        """Stop the thread's loop and wait for the thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Keep asyncio's debug mode off: the test harness turns it on, and it costs CPU.

    Home Assistant runs without it; its bookkeeping would count against every message.
    """
    asyncio.get_running_loop().set_debug(False)


def _p99(values: list[float], digits: int) -> float:
    """Return the nearest-rank 99th percentile."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(0.99 * len(ordered) + 0.5) - 1))
    return round(ordered[rank], digits)


@pytest.mark.timeout(300)
async def test_meter_values_to_power_sensor(
    hass: HomeAssistant, enable_custom_integrations: None, socket_enabled: None
) -> None:
    """Time 40 stations x 10 ports of MeterValues to the port's power sensor."""
    port = free_port()
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=COMMUNITY_NAME,
        data={CONF_NAME: COMMUNITY_NAME},
        unique_id=COMMUNITY_NAME,
        subentries_data=[
            building_subentry("1", "1号楼"),
            *(station_subentry(n, port) for n in range(1, STATIONS + 1)),
        ],
    )
    entry.add_to_hass(hass)
    setup_start = time.perf_counter()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    setup_s = time.perf_counter() - setup_start

    registry = er.async_get(hass)
    entities = er.async_entries_for_config_entry(registry, entry.entry_id)
    power_entities: dict[tuple[int, int], str] = {}
    for index in range(STATIONS):
        for number in range(1, PORTS + 1):
            entity_id = registry.async_get_entity_id(
                "sensor", DOMAIN, f"station-{index + 1:03d}_port_{number}_power"
            )
            assert entity_id is not None
            power_entities[index, number] = entity_id

    points = ChargePoints(f"ws://127.0.0.1:{port}/ocpp", power_entities)
    load = points.load

    @callback
    def on_state(event: Event[EventStateChangedData]) -> None:
        """Note when a port's power sensor shows the power last sent for it."""
        seen = time.perf_counter()
        entity_id = event.data["entity_id"]
        if (sent := load.waiting.get(entity_id)) is None:
            return
        new_state = event.data["new_state"]
        try:
            watts = float(new_state.state) if new_state is not None else None
        except ValueError:
            return
        if watts is not None and abs(watts - sent.watts) < 1e-6:
            load.latencies_ms.append((seen - sent.written) * 1000)
            # Only if no newer frame was written meanwhile (it never is at 10 s).
            if load.waiting.get(entity_id) is sent:
                del load.waiting[entity_id]

    unsubscribe = hass.bus.async_listen("state_changed", on_state)
    try:
        connect_start = time.perf_counter()
        await points.run(points.connect())
        await hass.async_block_till_done()
        connect_s = time.perf_counter() - connect_start

        idle_wall, idle_loop, idle_process = (
            time.perf_counter(),
            time.thread_time(),
            time.process_time(),
        )
        await asyncio.sleep(IDLE_SECONDS)
        idle_wall = time.perf_counter() - idle_wall
        idle_loop = time.thread_time() - idle_loop
        idle_process = time.process_time() - idle_process

        wall, loop_cpu, process_cpu = (
            time.perf_counter(),
            time.thread_time(),
            time.process_time(),
        )
        await points.run(points.meter(SECONDS))
        # Every frame was answered; the state writes it caused are done by now.
        await hass.async_block_till_done()
        wall = time.perf_counter() - wall
        loop_cpu = time.thread_time() - loop_cpu
        process_cpu = time.process_time() - process_cpu
    finally:
        unsubscribe()
        await points.run(points.close())
        points.stop()

    messages = load.sent
    rate = STATIONS * PORTS / INTERVAL_S
    home_assistant_cpu = process_cpu - load.thread_cpu_s

    def per_message_ms(cpu_s: float) -> float:
        return round(1000 * cpu_s / messages, 3)

    def share_at_load(cpu_s: float) -> str:
        return f"{cpu_s / messages * rate:.2%}"

    result = {
        "stations": STATIONS,
        "ports": STATIONS * PORTS,
        "entities": len(entities),
        "entities_with_state": sum(
            1 for entity in entities if hass.states.get(entity.entity_id) is not None
        ),
        "setup_s": round(setup_s, 2),
        "connect_and_start_s": round(connect_s, 2),
        "load": {
            "interval_s": INTERVAL_S,
            "messages_per_s": rate,
            "seconds": round(wall, 1),
            "meter_values_sent": messages,
            "answered": load.answered,
            "power_never_seen": len(load.waiting),
            "errors": load.errors[:5],
        },
        "meter_values_to_power_sensor_ms": summary(load.latencies_ms, 2)
        | {"p99": _p99(load.latencies_ms, 2), "n": len(load.latencies_ms)},
        "cpu_ms_per_meter_values": {
            "process": per_message_ms(process_cpu),
            "home_assistant": per_message_ms(home_assistant_cpu),
            "home_assistant_event_loop": per_message_ms(loop_cpu),
            "charge_points": per_message_ms(load.thread_cpu_s),
        },
        "share_of_one_core_at_load": {
            "process": share_at_load(process_cpu),
            "home_assistant": share_at_load(home_assistant_cpu),
            "home_assistant_event_loop": share_at_load(loop_cpu),
            "idle_process": f"{idle_process / idle_wall:.2%}",
            "idle_event_loop": f"{idle_loop / idle_wall:.2%}",
        },
    }
    output = Path(os.environ.get("SC_BENCH_OUTPUT", "/dev/null"))
    await hass.async_add_executor_job(
        output.write_text, json.dumps(result, ensure_ascii=False)
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
