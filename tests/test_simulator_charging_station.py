"""Test the simulated OCPP 1.6J charging pile by playing its central system.

The simulator runs as a subprocess (``start_simulator``) from a scenario written
into ``tmp_path``. The pile dials out, so the test runs the central system
itself: a ``websockets`` server on 127.0.0.1 whose connections are served by the
``ocpp`` library's own ``ChargePoint`` class, the way a central system uses it.
Frames are recorded raw (camelCase JSON, as on the wire) so assertions do not
depend on the simulator's side of the library.
"""

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
import json
from pathlib import Path
import random
import time
from typing import Any, Final, cast

from ocpp.routing import on as ocpp_on  # type: ignore[import-untyped, unused-ignore]
from ocpp.v16 import (  # type: ignore[import-untyped, unused-ignore]
    ChargePoint,
    call,
    call_result,
)
from ocpp.v16.enums import Action  # type: ignore[import-untyped, unused-ignore]
import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from simulator.devices.ocpp.battery import Battery, Profile
from simulator.devices.ocpp.options import ChargingStationOptions
from simulator.kinds import DeviceKind
from simulator.scenario import SCENARIO_DIR, DeviceSpec, load_scenario
from tests.simulator_harness import (
    SimulatorProcess,
    SimulatorRequestError,
    StartSimulator,
)

PILE: Final = "charger-1"
CHARGE_POINT_ID: Final = "SIM-EB-01"
WAIT_TIMEOUT: Final = 10.0
MEASURANDS: Final = {
    "Energy.Active.Import.Register": "Wh",
    "Power.Active.Import": "W",
    "Current.Import": "A",
    "Voltage": "V",
    "Temperature": "Celsius",
}
# Quick timings; periodic meter values only where a test asks for them.
FAST: Final = {
    "charge_point_id": CHARGE_POINT_ID,
    "ports": 4,
    "vendor": "SimCharge",
    "model": "EB-4",
    "meter_interval_seconds": 0,
    "reconnect_min_seconds": 0.2,
    "reconnect_max_seconds": 0.4,
    "call_timeout_seconds": 3,
}


def on[Handler: Callable[..., Any]](action: str) -> Callable[[Handler], Handler]:
    """Route a request to the decorated method (the untyped ``ocpp.routing.on``)."""
    return cast(Callable[[Handler], Handler], ocpp_on(action))


def _now() -> str:
    """Return the time now as the central system writes it."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- the central system -------------------------------------------------------------


@dataclass
class Connection:
    """Hold one connection the pile made and every frame it sent."""

    path: str
    headers: Headers
    subprotocol: str | None
    point: CentralPoint | None = None
    frames: list[list[Any]] = field(default_factory=list)
    garbage: list[str] = field(default_factory=list)

    def calls(self, action: str) -> list[dict[str, Any]]:
        """Return the payloads of the pile's calls of one action, in order."""
        return [f[3] for f in self.frames if f[0] == 2 and f[2] == action]


class CentralPoint(ChargePoint):  # type: ignore[misc]
    """Serve one charge point as a central system does, with the ocpp library."""

    def __init__(
        self, connection: Connection, websocket: ServerConnection, central: Central
    ) -> None:
        """Serve ``websocket``, recording into ``connection``."""
        super().__init__(connection.path.rsplit("/", 1)[-1], websocket)
        self.record = connection
        self.central = central

    async def route_message(self, raw_msg: str) -> None:
        """Record every frame, then let the library answer it."""
        try:
            self.record.frames.append(json.loads(raw_msg))
        except ValueError:
            self.record.garbage.append(raw_msg)
            return
        await super().route_message(raw_msg)

    @on(Action.boot_notification)
    def on_boot(self, **_: Any) -> Any:
        """Accept (or not) the boot."""
        return call_result.BootNotification(
            current_time=_now(),
            interval=self.central.heartbeat_interval,
            status=self.central.boot_status,
        )

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        """Answer with the time."""
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def on_status(self, **_: Any) -> Any:
        """Acknowledge a status."""
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str, **_: Any) -> Any:
        """Accept every tag but the rejected ones."""
        status = "Invalid" if id_tag in self.central.rejected_tags else "Accepted"
        return call_result.Authorize(id_tag_info={"status": status})

    @on(Action.start_transaction)
    def on_start(self, **_: Any) -> Any:
        """Give transactions ids from 101 on."""
        self.central.next_transaction += 1
        return call_result.StartTransaction(
            transaction_id=self.central.next_transaction,
            id_tag_info={"status": "Accepted"},
        )

    @on(Action.stop_transaction)
    def on_stop(self, **_: Any) -> Any:
        """Acknowledge a stop."""
        return call_result.StopTransaction()

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> Any:
        """Acknowledge meter values."""
        return call_result.MeterValues()


class Central:
    """Play the central system: accept the pile on any path, check its password."""

    def __init__(self) -> None:
        """Accept every boot and every tag until told otherwise."""
        self.connections: list[Connection] = []
        self.password: str | None = None
        self.boot_status = "Accepted"
        self.heartbeat_interval = 60
        self.rejected_tags: set[str] = set()
        self.next_transaction = 100
        self.port = 0
        self._server: Server | None = None

    @property
    def url(self) -> str:
        """Return the URL the pile is told to dial (its id is appended)."""
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1."""
        self._server = await serve(
            self._serve,
            "127.0.0.1",
            port,
            subprotocols=[Subprotocol("ocpp1.6")],
            process_request=self._check,
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _check(self, websocket: ServerConnection, request: Request) -> Response | None:
        """Refuse a wrong or missing password with 401."""
        if self.password is None:
            return None
        expected = base64.b64encode(
            f"{request.path.rsplit('/', 1)[-1]}:{self.password}".encode()
        ).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return websocket.respond(HTTPStatus.UNAUTHORIZED, "wrong password\n")
        return None

    async def _serve(self, websocket: ServerConnection) -> None:
        """Serve one connection until it closes."""
        assert websocket.request is not None
        record = Connection(
            websocket.request.path, websocket.request.headers, websocket.subprotocol
        )
        self.connections.append(record)
        point = CentralPoint(record, websocket, self)
        record.point = point
        with contextlib.suppress(ConnectionClosed):
            await point.start()

    @property
    def last(self) -> Connection:
        """Return the latest connection."""
        return self.connections[-1]

    @property
    def point(self) -> CentralPoint:
        """Return the latest connection's library object."""
        assert self.last.point is not None
        return self.last.point

    def calls(self, action: str) -> list[dict[str, Any]]:
        """Return the payloads of one action over every connection."""
        return [p for c in self.connections for p in c.calls(action)]

    def statuses(self, connector: int) -> list[str]:
        """Return the statuses reported for a connector, in order."""
        return [
            p["status"]
            for p in self.calls("StatusNotification")
            if p["connectorId"] == connector
        ]


class Pile:
    """Drive the simulated pile through the control API."""

    def __init__(self, sim: SimulatorProcess, central: Central) -> None:
        """Aim at the pile of a running simulator."""
        self.sim = sim
        self.central = central

    async def act(self, action: str, /, **params: Any) -> dict[str, Any]:
        """Run an action and return its result."""
        return await self.sim.action(PILE, action, params)

    async def refused(self, action: str, /, **params: Any) -> int:
        """Run an action that must fail; return its status."""
        with pytest.raises(SimulatorRequestError) as raised:
            await self.act(action, **params)
        return raised.value.status

    async def state(self) -> dict[str, Any]:
        """Return the live state."""
        return dict((await self.sim.snapshot(PILE))["state"])

    async def port(self, number: int) -> dict[str, Any]:
        """Return one port's live state."""
        return dict((await self.state())["ports"][number - 1])

    async def connect(self, **params: Any) -> dict[str, Any]:
        """Connect to the test's central system and wait for the boot to settle."""
        outcome = await self.act("connect", url=self.central.url, **params)
        if outcome.get("connected"):
            await wait_until(lambda: len(self.central.statuses(4)) >= 1)
        return outcome


async def wait_until(predicate: Callable[[], Awaitable[bool] | bool]) -> None:
    """Poll a predicate (sync or async) until it holds, within WAIT_TIMEOUT."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    while True:
        outcome = predicate()
        if not isinstance(outcome, bool):
            outcome = await outcome
        if outcome:
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def write_scenario(tmp_path: Path, options: dict[str, Any]) -> Path:
    """Write minimal.json with only the charging pile, given these options."""
    document = json.loads((SCENARIO_DIR / "minimal.json").read_text(encoding="utf-8"))
    pile = next(d for d in document["devices"] if d["kind"] == "charging_station")
    pile["options"] = options
    document["devices"] = [pile]
    path = tmp_path / "charger.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def readings(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return a MeterValues payload's sampled values by measurand."""
    (meter_value,) = payload["meterValue"]
    return {v["measurand"]: v for v in meter_value["sampledValue"]}


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture
async def central(socket_enabled: None) -> AsyncIterator[Central]:
    """Run the central system the pile dials."""
    server = Central()
    await server.start()
    yield server
    await server.stop()


type Launch = Callable[..., Pile]


@pytest.fixture
def launch(
    central: Central, start_simulator: StartSimulator, tmp_path: Path
) -> Iterator[Launch]:
    """Start a simulator whose only device is the pile, with FAST options."""
    started: list[SimulatorProcess] = []

    def start(**options: Any) -> Pile:
        """Start the pile with FAST options plus ``options``."""
        sim = start_simulator(write_scenario(tmp_path, {**FAST, **options}))
        started.append(sim)
        return Pile(sim, central)

    yield start
    for sim in started:
        assert sim.stop() == 0
        for trouble in (" ERROR ", "Traceback", "Unclosed", "never retrieved"):
            assert trouble not in sim.stderr


# --- tests ---------------------------------------------------------------------------


async def test_boot_statuses_and_basic_auth(launch: Launch, central: Central) -> None:
    """The pile dials <url>/<id> with ocpp1.6 and Basic auth, boots and reports."""
    pile = launch(password="right", firmware_version="2.0.1")
    assert (await pile.state())["connected"] is False
    central.password = "right"

    assert await pile.act("connect", url=central.url, password="wrong") == {
        "connected": False,
        "status": 401,
    }
    outcome = await pile.connect()
    assert outcome["connected"] is True
    assert outcome["booted"] is True

    connection = central.last
    assert connection.path == f"/ocpp/{CHARGE_POINT_ID}"
    assert connection.subprotocol == "ocpp1.6"
    assert connection.headers["Authorization"].startswith("Basic ")
    (boot,) = connection.calls("BootNotification")
    assert boot == {
        "chargePointVendor": "SimCharge",
        "chargePointModel": "EB-4",
        "chargePointSerialNumber": f"SIM-{CHARGE_POINT_ID}",
        "firmwareVersion": "2.0.1",
    }
    # Connector 0 and every port, after the boot.
    first = [p["connectorId"] for p in connection.calls("StatusNotification")]
    assert first[:5] == [0, 1, 2, 3, 4]
    assert all(
        p["errorCode"] == "NoError" for p in connection.calls("StatusNotification")
    )
    state = await pile.state()
    assert state["booted"] is True
    assert state["boot_status"] == "Accepted"
    assert state["heartbeat_interval"] == 60
    assert state["connections"] == 1
    assert state["failed_connections"][0] == {"connected": False, "status": 401}
    assert [p["status"] for p in state["ports"]] == ["Available"] * 4
    assert all(p["energy_wh"] > 0 for p in state["ports"])

    await pile.act("disconnect")
    await wait_until(lambda: len(central.connections) == 1)
    assert (await pile.state())["connected"] is False


async def test_pending_boot_is_retried(launch: Launch, central: Central) -> None:
    """A Pending boot is sent again after its interval; nothing else until Accepted."""
    pile = launch()
    central.boot_status = "Pending"
    central.heartbeat_interval = 1
    outcome = await pile.act("connect", url=central.url)
    assert outcome["booted"] is False
    assert outcome["boot_status"] == "Pending"
    central.boot_status = "Accepted"
    await wait_until(lambda: len(central.calls("BootNotification")) == 2)
    await wait_until(lambda: len(central.statuses(4)) == 1)
    assert (await pile.state())["booted"] is True
    assert await pile.act("call", action="Heartbeat", payload={}) != {}


async def test_sessions_and_meter_values(launch: Launch, central: Central) -> None:
    """Plug-ins authorise, start, report five measurands and stop on unplug."""
    pile = launch(meter_interval_seconds=0.25, time_scale=20)
    assert await pile.refused("plug_in", port=1, id_tag="TAG-1") == 409
    await pile.connect()
    central.rejected_tags.add("BAD-TAG")

    started = await pile.act("plug_in", port=1, id_tag="TAG-1", soc=0.3)
    assert started == {
        "authorized": "Accepted",
        "transaction_id": 101,
        "status": "Charging",
    }
    hot = await pile.act("plug_in", port=3, id_tag="TAG-3", profile="overheat")
    assert hot["transaction_id"] == 102
    refused = await pile.act("plug_in", port=2, id_tag="BAD-TAG")
    assert refused == {
        "authorized": "Invalid",
        "transaction_id": None,
        "status": "Preparing",
    }
    assert await pile.refused("plug_in", port=1, id_tag="TAG-9") == 409

    assert [p["idTag"] for p in central.calls("Authorize")] == [
        "TAG-1",
        "TAG-3",
        "BAD-TAG",
    ]
    start = central.calls("StartTransaction")[0]
    assert start["connectorId"] == 1
    assert start["idTag"] == "TAG-1"
    assert isinstance(start["meterStart"], int)
    assert central.statuses(1)[-2:] == ["Preparing", "Charging"]
    assert central.statuses(2)[-1] == "Preparing"

    def periodic(transaction: int) -> list[dict[str, Any]]:
        return [
            p
            for p in central.calls("MeterValues")
            if p.get("transactionId") == transaction
        ]

    await wait_until(lambda: len(periodic(101)) >= 4 and len(periodic(102)) >= 4)
    assert not [p for p in central.calls("MeterValues") if p["connectorId"] == 2]
    samples = [readings(p) for p in periodic(101)]
    for sample in samples:
        assert {m: v["unit"] for m, v in sample.items()} == MEASURANDS
        assert all(isinstance(v["value"], str) for v in sample.values())
        assert all(v["context"] == "Sample.Periodic" for v in sample.values())
        assert sample["Temperature"]["location"] == "Body"
        assert 150 <= float(sample["Power.Active.Import"]["value"]) <= 250
        assert float(sample["Voltage"]["value"]) == pytest.approx(220, abs=2)
    registers = [float(s["Energy.Active.Import.Register"]["value"]) for s in samples]
    assert registers == sorted(registers)
    assert registers[-1] > registers[0] >= start["meterStart"]
    temperatures = [float(readings(p)["Temperature"]["value"]) for p in periodic(102)]
    # About 2 °C per interval (times time_scale), up to a ceiling of 90 °C.
    assert temperatures == sorted(temperatures)
    assert temperatures[0] < temperatures[-1] <= 90

    sent = await pile.act("meter_now", port=1)
    assert sent == {"sent": 1}
    assert (await pile.act("meter_now"))["sent"] == 2

    stopped = await pile.act("unplug", port=1)
    assert stopped["transaction_id"] == 101
    (stop,) = central.calls("StopTransaction")
    assert stop["transactionId"] == 101
    assert stop["reason"] == "EVDisconnected"
    assert stop["meterStop"] >= start["meterStart"]
    (final,) = stop["transactionData"]
    assert {v["measurand"] for v in final["sampledValue"]} == set(MEASURANDS)
    assert central.statuses(1)[-1] == "Available"
    port = await pile.port(1)
    assert (port["status"], port["transaction_id"], port["power_w"]) == (
        "Available",
        None,
        0,
    )


async def test_time_scale_profiles_and_overrides(
    launch: Launch, central: Central
) -> None:
    """At high speed a pack tapers to a trickle; overheat and overpower show."""
    pile = launch(time_scale=5000)
    await pile.connect()
    await pile.act("plug_in", port=1, id_tag="T1", soc=0.9, capacity_wh=500)
    await pile.act("plug_in", port=2, id_tag="T2", profile="overheat")
    await pile.act("plug_in", port=3, id_tag="T3", profile="overpower")
    await pile.act("plug_in", port=4, id_tag="T4", profile="full")

    async def full() -> bool:
        port = await pile.port(1)
        return bool(port["soc"] == 1.0)

    await wait_until(full)
    ports = (await pile.state())["ports"]
    assert 3 <= ports[0]["power_w"] <= 8
    assert ports[1]["temperature_c"] == 90
    assert 1400 <= ports[2]["power_w"] <= 1600
    assert (ports[3]["soc"], 3 <= ports[3]["power_w"] <= 8) == (1.0, True)
    assert all(25 <= p["temperature_c"] <= 60 for p in (ports[0], ports[3]))

    await pile.act("set_power", port=4, watts=123.5)
    await pile.act("set_temperature", port=4, celsius=70)
    await pile.act("meter_now", port=4)
    values = readings(central.calls("MeterValues")[-1])
    assert values["Power.Active.Import"]["value"] == "123.5"
    assert values["Temperature"]["value"] == "70.0"
    await pile.act("set_power", port=4, watts=None)
    assert (await pile.port(4))["power_w"] <= 8
    assert await pile.refused("set_power", port=4, watts="lots") == 400
    assert await pile.refused("set_power", port=9, watts=1) == 400


async def test_requests_from_the_central_system(
    launch: Launch, central: Central
) -> None:
    """Remote start/stop, availability, unlock, configuration, triggers, faults."""
    pile = launch()
    await pile.connect()
    point = central.point

    answer = await point.call(
        call.RemoteStartTransaction(id_tag="REMOTE", connector_id=2)
    )
    assert answer.status == "Accepted"
    await wait_until(lambda: len(central.calls("StartTransaction")) == 1)
    assert central.calls("Authorize") == []
    await wait_until(lambda: central.statuses(2)[-1] == "Charging")

    answer = await point.call(call.RemoteStopTransaction(transaction_id=999))
    assert answer.status == "Rejected"
    answer = await point.call(call.RemoteStopTransaction(transaction_id=101))
    assert answer.status == "Accepted"
    await wait_until(lambda: central.statuses(2)[-1] == "Finishing")
    (stop,) = central.calls("StopTransaction")
    assert (stop["transactionId"], stop["reason"]) == (101, "Remote")
    await pile.act("unplug", port=2)
    await wait_until(lambda: central.statuses(2)[-1] == "Available")

    await pile.act(
        "fault", port=4, error_code="HighTemperature", vendor_error_code="T85"
    )
    await wait_until(lambda: central.statuses(4)[-1] == "Faulted")
    faulted = [p for p in central.calls("StatusNotification") if p["connectorId"] == 4][
        -1
    ]
    assert (faulted["errorCode"], faulted["vendorErrorCode"]) == (
        "HighTemperature",
        "T85",
    )
    answer = await point.call(call.RemoteStartTransaction(id_tag="R", connector_id=4))
    assert answer.status == "Rejected"
    await pile.act("clear_fault", port=4)
    await wait_until(lambda: central.statuses(4)[-1] == "Available")
    assert await pile.refused("fault", port=4, error_code="Melted") == 400

    # Inoperative: now for a free port, Scheduled for a charging one.
    await pile.act("plug_in", port=1, id_tag="T1")
    answer = await point.call(
        call.ChangeAvailability(connector_id=3, type="Inoperative")
    )
    assert answer.status == "Accepted"
    await wait_until(lambda: central.statuses(3)[-1] == "Unavailable")
    answer = await point.call(
        call.ChangeAvailability(connector_id=1, type="Inoperative")
    )
    assert answer.status == "Scheduled"
    answer = await point.call(call.UnlockConnector(connector_id=1))
    assert answer.status == "Unlocked"
    await wait_until(lambda: len(central.calls("StopTransaction")) == 2)
    assert central.calls("StopTransaction")[-1]["reason"] == "UnlockCommand"
    await wait_until(lambda: central.statuses(1)[-1] == "Unavailable")
    answer = await point.call(call.ChangeAvailability(connector_id=0, type="Operative"))
    assert answer.status == "Accepted"
    await wait_until(lambda: central.statuses(3)[-1] == "Available")
    assert (await pile.port(1))["available"] is True

    answer = await point.call(call.GetConfiguration())
    keys = {k["key"]: k["value"] for k in answer.configuration_key}
    assert keys["NumberOfConnectors"] == "4"
    assert keys["MeterValueSampleInterval"] == "0"
    answer = await point.call(
        call.ChangeConfiguration(key="MeterValueSampleInterval", value="30")
    )
    assert answer.status == "Accepted"
    answer = await point.call(
        call.ChangeConfiguration(key="HeartbeatInterval", value="30")
    )
    assert answer.status == "NotSupported"
    answer = await point.call(call.DataTransfer(vendor_id="acme"))
    assert answer.status == "UnknownVendorId"
    answer = await point.call(call.TriggerMessage(requested_message="Heartbeat"))
    assert answer.status == "Accepted"
    await wait_until(lambda: len(central.calls("Heartbeat")) == 1)

    state = await pile.state()
    assert state["meter_interval_seconds"] == 30
    actions = [r["action"] for r in state["received"]]
    assert actions[:2] == ["RemoteStartTransaction", "RemoteStopTransaction"]
    assert actions[-1] == "TriggerMessage"
    assert state["received"][0]["payload"] == {"idTag": "REMOTE", "connectorId": 2}


async def test_reset_reboots(launch: Launch, central: Central) -> None:
    """A reset stops transactions, closes, reconnects and boots again."""
    pile = launch(
        sessions=[{"port": 1, "id_tag": "DEMO-1", "soc": 0.5}],
        faults=[{"port": 3, "error_code": "GroundFailure"}],
    )
    await pile.connect()
    # The scenario's session starts after the first boot; the fault is there at once.
    await wait_until(lambda: central.statuses(1)[-1:] == ["Charging"])
    assert central.calls("StartTransaction")[0]["idTag"] == "DEMO-1"
    assert central.statuses(3) == ["Faulted"]
    answer = await central.point.call(call.Reset(type="Soft"))
    assert answer.status == "Accepted"
    await wait_until(lambda: len(central.calls("BootNotification")) == 2)
    assert len(central.connections) == 2
    (stop,) = central.calls("StopTransaction")
    assert stop["reason"] == "SoftReset"
    assert central.connections[0].calls("StopTransaction") == [stop]
    await wait_until(lambda: len(central.last.calls("StatusNotification")) >= 5)
    assert (await pile.port(1))["status"] == "Available"
    # Sessions of the scenario start once per power-up of the simulator only.
    assert len(central.calls("StartTransaction")) == 1
    assert central.statuses(3)[-1] == "Faulted"


async def test_reconnect_without_reboot_and_queue(
    launch: Launch, central: Central
) -> None:
    """A dropped or restarted central system is redialled; queued stops follow."""
    pile = launch()
    await pile.connect()
    await pile.act("plug_in", port=1, id_tag="T1")

    await pile.act("drop")
    await wait_until(lambda: len(central.connections) == 2)
    await wait_until(lambda: len(central.last.calls("StatusNotification")) >= 5)
    assert central.last.calls("BootNotification") == []
    assert (await pile.state())["connections"] == 2

    # The central system goes away: the stop waits in the queue.
    port = central.port
    await central.stop()
    await wait_until(lambda: _not_connected(pile))
    assert await pile.refused("drop") == 409
    assert await pile.refused("meter_now") == 409
    stopped = await pile.act("unplug", port=1)
    assert stopped["transaction_id"] == 101
    assert (await pile.state())["queued"] == 1
    await central.start(port)
    await wait_until(lambda: len(central.connections) == 3)
    await wait_until(lambda: len(central.last.calls("StopTransaction")) == 1)
    assert central.last.calls("BootNotification") == []
    assert central.last.calls("StopTransaction")[0]["transactionId"] == 101
    await wait_until(lambda: _queue_empty(pile))


async def _not_connected(pile: Pile) -> bool:
    """Say whether the pile has noticed the link is gone."""
    return not (await pile.state())["connected"]


async def _queue_empty(pile: Pile) -> bool:
    """Say whether every queued message was delivered."""
    return bool((await pile.state())["queued"] == 0)


async def test_raw_frames_calls_and_bad_actions(
    launch: Launch, central: Central
) -> None:
    """send_raw returns the CALLERROR; call returns answers; bad actions are refused."""
    pile = launch()
    assert await pile.refused("send_raw", text="[]") == 409
    await pile.connect()

    result = await pile.act("send_raw", text='[2,"raw-1","BootNotification",{}]')
    reply = result["reply"]
    assert reply[:2] == [4, "raw-1"]
    assert isinstance(reply[2], str)
    errors = (await pile.state())["call_errors"]
    assert errors[-1]["unique_id"] == "raw-1"
    assert (await pile.act("send_raw", text="not json")) == {"reply": None}
    assert central.last.garbage == ["not json"]

    answer = await pile.act("call", action="Heartbeat", payload={})
    assert "currentTime" in answer
    answer = await pile.act("call", action="DataTransfer", payload={"vendorId": "x"})
    assert answer["code"] == "NotImplemented"

    booted = await pile.act("boot")
    assert booted == {"status": "Accepted", "interval": 60}
    # The raw, empty BootNotification above is on the wire too.
    boots = [p for p in central.calls("BootNotification") if p]
    assert len(boots) == 2

    assert await pile.refused("explode") == 404
    assert await pile.refused("plug_in", port=1) == 400
    assert await pile.refused("plug_in", port=1, id_tag="T", profile="turbo") == 400
    assert await pile.refused("unplug", port=1, extra=1) == 400
    assert await pile.refused("connect", url="http://nowhere") == 400


# --- options and the charging curve, without a subprocess ------------------------


def test_options_and_the_demo() -> None:
    """The demo's piles are valid and have ports in several states; bad options fail."""
    scenario = load_scenario("demo")
    piles = [d for d in scenario.devices if d.kind == DeviceKind.CHARGING_STATION]
    assert {p.id for p in piles} >= {"charger-1", "charger-2"}
    profiles: set[Profile] = set()
    for spec in piles:
        options = ChargingStationOptions.from_spec(spec)
        assert options.ports == 10
        profiles |= {s.profile for s in options.sessions}
        assert options.faults
    assert profiles == set(Profile)

    def spec_with(**options: Any) -> DeviceSpec:
        return DeviceSpec(PILE, DeviceKind.CHARGING_STATION, "pile", options=options)

    assert ChargingStationOptions.from_spec(spec_with(charge_point_id="X")).ports == 10
    for bad, message in (
        ({}, "'charge_point_id' of charger-1 is required"),
        ({"charge_point_id": "a/b"}, "letters, digits"),
        ({"charge_point_id": "X", "ports": 0}, "'ports'"),
        ({"charge_point_id": "X", "time_scale": -1}, "'time_scale'"),
        ({"charge_point_id": "X", "colour": "red"}, "unknown options"),
        (
            {"charge_point_id": "X", "sessions": [{"port": 11, "id_tag": "T"}]},
            "an integer 1..10",
        ),
        (
            {"charge_point_id": "X", "faults": [{"port": 1, "error_code": "Oops"}]},
            "HighTemperature",
        ),
        (
            {
                "charge_point_id": "X",
                "reconnect_min_seconds": 5,
                "reconnect_max_seconds": 1,
            },
            "must not be below",
        ),
    ):
        with pytest.raises(ValueError, match=message):
            ChargingStationOptions.from_spec(spec_with(**bad))


def test_charging_curve() -> None:
    """Constant power to 80 %, a taper to a trickle, and the other profiles."""
    rng = random.Random(1)
    pack = Battery.plugged(Profile.CHARGING, 0.2, 600, rng)
    assert 150 <= pack.power() <= 250
    constant = pack.power()
    pack.soc = 0.9
    assert pack.trickle_watts < pack.power() < constant
    pack.soc = 0.999
    assert pack.power() < 10
    pack.charge(pack.power(), 3600)
    assert pack.soc == 1.0
    assert 3 <= pack.power() <= 8
    full = Battery.plugged(Profile.FULL, 0.2, 600, rng)
    assert (full.soc, 3 <= full.power() <= 8) == (1.0, True)
    assert 1400 <= Battery.plugged(Profile.OVERPOWER, 0.5, 600, rng).power() <= 1600
