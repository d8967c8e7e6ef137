"""Test the simulator: scenario files, control API, lifecycle and isolation."""

import ast
import asyncio
from collections import Counter
import json
from pathlib import Path
import signal
import subprocess
import sys
from typing import Any, override

import aiohttp
import pytest

from simulator.community import DeviceStartError, SimulatedCommunity
from simulator.control import ControlServer
from simulator.devices import (
    DEVICE_KINDS,
    ActionError,
    PlaceholderDevice,
    PortInfo,
    SimulatedDevice,
    device_class_for,
    load_device_kinds,
    register_kind,
)
from simulator.jsonvalue import JSONObject
from simulator.kinds import DeviceKind
from simulator.scenario import (
    SCENARIO_DIR,
    ScenarioError,
    load_scenario,
    parse_scenario,
)
from tests.simulator_harness import (
    REPO_ROOT,
    SimulatorProcess,
    SimulatorRequestError,
    SimulatorStartError,
    StartSimulator,
)

DEMO_KIND_COUNTS = {
    DeviceKind.FACE_TERMINAL: 4,
    DeviceKind.PLATE_CAMERA: 2,
    DeviceKind.POWER_METER: 4,
    DeviceKind.FIRE_PANEL: 1,
    DeviceKind.SPEAKER_ZONE: 4,
    DeviceKind.CHARGING_STATION: 2,
    DeviceKind.CAMERA: 2,
    DeviceKind.PHONE: 2,
}
FORBIDDEN_PACKAGES = frozenset({"custom_components", "homeassistant"})
# An action no device kind will ever offer.
UNKNOWN_ACTION = "no-such-action"


def test_demo_scenario_json(simulator: SimulatorProcess) -> None:
    """The printed JSON lists the community, its 4 buildings and every device."""
    info = simulator.info
    assert info["scenario"] == "demo"
    assert info["control_url"].startswith("http://127.0.0.1:")
    assert info["community"]["name"] == "荣悦台"
    assert info["community"]["name_en"]
    assert [building["id"] for building in info["buildings"]] == ["1", "2", "3", "4"]
    assert [building["name"] for building in info["buildings"]] == [
        "1号楼",
        "2号楼",
        "3号楼",
        "4号楼",
    ]

    building_ids = {building["id"] for building in info["buildings"]}
    devices = info["devices"]
    assert Counter(device["kind"] for device in devices) == DEMO_KIND_COUNTS
    assert len({device["id"] for device in devices}) == len(devices)
    for device in devices:
        assert {"id", "kind", "building", "name", "host", "port", "implemented"} <= set(
            device
        )
        assert device["building"] is None or device["building"] in building_ids
        if device["implemented"]:
            assert device["host"] == "127.0.0.1"
        else:
            # A placeholder must not pretend to listen.
            assert device["port"] is None
    # One face terminal, power meter and speaker zone per building.
    for kind in ("face_terminal", "power_meter", "speaker_zone"):
        assert {d["building"] for d in simulator.devices(kind)} == building_ids
    assert {d["options"]["lane"] for d in simulator.devices("plate_camera")} == {
        "entry",
        "exit",
    }
    assert simulator.device("fire-1")["kind"] == "fire_panel"
    with pytest.raises(LookupError, match="no device 'nope'"):
        simulator.device("nope")


async def test_control_api(simulator: SimulatorProcess) -> None:
    """The control API serves health, the scenario, snapshots and JSON 404s."""
    health = await simulator.get("/health")
    assert health["status"] == "ok"
    assert health["devices"] == len(simulator.info["devices"])
    assert health["running"] == health["devices"]

    assert await simulator.get("/scenario") == simulator.info
    assert await simulator.get("/devices") == simulator.info["devices"]

    snapshot = await simulator.snapshot("face-1")
    assert snapshot["id"] == "face-1"
    assert snapshot["kind"] == "face_terminal"
    assert snapshot["building"] == "1"
    assert snapshot["running"] is True
    assert isinstance(snapshot["state"], dict)

    status, body = await simulator.request("GET", "/devices/nope")
    assert (status, body) == (404, {"error": "unknown device 'nope'"})
    status, body = await simulator.request("POST", "/devices/nope/actions/open")
    assert (status, body) == (404, {"error": "unknown device 'nope'"})
    status, body = await simulator.request("GET", "/no/such/route")
    assert status == 404
    assert "error" in body
    status, body = await simulator.request("POST", "/devices/face-1/actions/x", [1])
    assert status == 400
    assert "JSON object" in body["error"]

    with pytest.raises(SimulatorRequestError) as raised:
        await simulator.action("face-1", UNKNOWN_ACTION, {"door": 1})
    assert raised.value.status == 404
    assert UNKNOWN_ACTION in raised.value.body["error"]
    with pytest.raises(SimulatorRequestError) as raised:
        await simulator.snapshot("nope")
    assert raised.value.status == 404


def _demo_document() -> dict[str, Any]:
    """Return a fresh copy of the demo scenario document."""
    document: dict[str, Any] = json.loads(
        (SCENARIO_DIR / "demo.json").read_text(encoding="utf-8")
    )
    return document


def _with_unknown_kind(document: dict[str, Any]) -> None:
    """Add a device of a kind the simulator does not know."""
    document["devices"].append(
        {"id": "toaster-1", "kind": "toaster", "building": "1", "name": "烤面包机"}
    )


def _with_duplicate_id(document: dict[str, Any]) -> None:
    """Add a second device with an existing id."""
    document["devices"].append(
        {"id": "face-1", "kind": "face_terminal", "building": "2", "name": "重复"}
    )


def _with_unknown_building(document: dict[str, Any]) -> None:
    """Add a device in a building the community does not have."""
    document["devices"].append(
        {"id": "meter-9", "kind": "power_meter", "building": "9", "name": "9号楼 电表"}
    )


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (
            _with_unknown_kind,
            "devices[21] (id 'toaster-1'): unknown kind 'toaster'",
        ),
        (
            _with_duplicate_id,
            "devices[21] (id 'face-1'): duplicate device id 'face-1' (also devices[0])",
        ),
        (
            _with_unknown_building,
            "devices[21] (id 'meter-9'): unknown building '9' (buildings: 1, 2, 3, 4)",
        ),
    ],
    ids=["unknown-kind", "duplicate-id", "unknown-building"],
)
def test_bad_scenario_file_exits_2(
    start_simulator: StartSimulator,
    tmp_path: Path,
    spoil: Any,
    expected: str,
) -> None:
    """A broken scenario file stops the simulator with code 2, naming file and item."""
    document = _demo_document()
    spoil(document)
    scenario_file = tmp_path / "broken.json"
    scenario_file.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    with pytest.raises(SimulatorStartError) as raised:
        start_simulator(scenario_file)

    assert raised.value.returncode == 2
    assert str(scenario_file) in raised.value.stderr
    assert expected in raised.value.stderr
    assert "Traceback" not in raised.value.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "the scenario: must be a JSON object, not an array"),
    ],
)
def test_unreadable_scenario_file_exits_2(
    start_simulator: StartSimulator, tmp_path: Path, content: str, expected: str
) -> None:
    """A file that is not a scenario object is rejected with code 2."""
    scenario_file = tmp_path / "garbage.json"
    scenario_file.write_text(content, encoding="utf-8")
    with pytest.raises(SimulatorStartError) as raised:
        start_simulator(scenario_file)
    assert raised.value.returncode == 2
    assert expected in raised.value.stderr


def test_unknown_builtin_scenario_exits_2(start_simulator: StartSimulator) -> None:
    """An unknown scenario name lists the built-in ones."""
    with pytest.raises(SimulatorStartError) as raised:
        start_simulator("atlantis")
    assert raised.value.returncode == 2
    assert "no built-in scenario named 'atlantis'" in raised.value.stderr
    assert "demo" in raised.value.stderr


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly(
    start_simulator: StartSimulator, stop_signal: signal.Signals
) -> None:
    """SIGINT and SIGTERM stop every device and exit with code 0."""
    simulator = start_simulator("demo")
    assert simulator.returncode is None

    assert simulator.stop(stop_signal) == 0
    stderr = simulator.stderr
    assert "simulator: stopped" in stderr
    # The human-readable summary names every device.
    for device in simulator.info["devices"]:
        assert device["id"] in stderr
    assert "Traceback" not in stderr


def test_stdin_close_stops_cleanly(start_simulator: StartSimulator) -> None:
    """The simulator exits 0 when the process that started it goes away."""
    simulator = start_simulator("minimal")
    assert simulator.process.stdin is not None
    simulator.process.stdin.close()
    assert simulator.process.wait(5) == 0


def test_minimal_scenario_has_every_kind(start_simulator: StartSimulator) -> None:
    """The minimal scenario holds one device of each kind in one building."""
    simulator = start_simulator("minimal")
    assert len(simulator.info["buildings"]) == 1
    assert sorted(d["kind"] for d in simulator.info["devices"]) == sorted(DeviceKind)


def test_simulator_source_never_imports_the_integration() -> None:
    """No module under simulator/ imports custom_components or homeassistant."""
    sources = sorted((REPO_ROOT / "simulator").rglob("*.py"))
    assert sources
    offenders: list[str] = []
    for source in sources:
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
        for node in ast.walk(tree):
            match node:
                case ast.Import(names=aliases):
                    modules = [alias.name for alias in aliases]
                case ast.ImportFrom(module=str(module), level=0):
                    modules = [module]
                case ast.Call(
                    func=ast.Attribute(attr="import_module")
                    | ast.Name(id="__import__"),
                    args=[ast.Constant(value=str(module)), *_],
                ):
                    modules = [module]
                case _:
                    continue
            offenders.extend(
                f"{source.relative_to(REPO_ROOT)}:{node.lineno} imports {module}"
                for module in modules
                if module.partition(".")[0] in FORBIDDEN_PACKAGES
            )
    assert offenders == []


def test_simulator_runtime_loads_nothing_from_the_integration() -> None:
    """Importing the simulator and every device kind pulls in neither package."""
    probe = (
        "import sys\n"
        "import simulator.cli\n"
        "from simulator.devices import load_device_kinds\n"
        "load_device_kinds()\n"
        "print(sorted({m.partition('.')[0] for m in sys.modules}))\n"
    )
    completed = subprocess.run(  # noqa: S603 - fixed command, our own interpreter
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    loaded = set(json.loads(completed.stdout.replace("'", '"')))
    assert not loaded & FORBIDDEN_PACKAGES


def test_scenario_validation_reports_every_problem() -> None:
    """parse_scenario names each bad item instead of stopping at the first."""
    document = {
        "community": {"name": ""},
        "buildings": [
            {
                "id": "1",
                "name": "1号楼",
                "units": 0,
                "floors": True,
                "rooms_per_floor": 2,
            },
            {
                "id": "1",
                "name": "又一个1号楼",
                "units": 1,
                "floors": 1,
                "rooms_per_floor": 1,
            },
        ],
        "devices": [
            {"id": "Bad Id", "kind": "camera", "name": "x"},
            {"id": "cam", "kind": "camera", "name": "x", "port": 70000, "options": []},
            {"id": "cam2", "kind": "camera", "building": 1, "name": "x", "extra": 1},
            "not an object",
        ],
        "residents": [],
    }
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(document, name="t", source=Path("t.json"))
    problems = raised.value.problems
    assert problems == (
        "the scenario: unknown key 'residents' (known keys: buildings, community, devices)",
        "community: 'name' must be a non-empty string, not ''",
        "buildings[0] (id '1'): 'units' must be an integer >= 1, not 0",
        "buildings[0] (id '1'): 'floors' must be an integer >= 1, not True",
        "buildings[1] (id '1'): duplicate building id '1' (also buildings[0])",
        "devices[0] (id 'Bad Id'): device id 'Bad Id' must be lowercase letters, "
        "digits, '-' and '_', starting with a letter or digit",
        "devices[1] (id 'cam'): 'port' must be an integer 0..65535, not 70000",
        "devices[1] (id 'cam'): 'options' must be a JSON object, not an array",
        "devices[2] (id 'cam2'): unknown key 'extra' (known keys: building, id, kind, "
        "name, options, port)",
        "devices[2] (id 'cam2'): 'building' must be a building id or null, not 1",
        "devices[3]: must be a JSON object, not a string",
    )
    assert str(raised.value).startswith("invalid scenario t.json:\n  - the scenario:")


def test_builtin_scenarios_load() -> None:
    """Every shipped scenario file is valid."""
    for scenario_file in sorted(SCENARIO_DIR.glob("*.json")):
        scenario = load_scenario(scenario_file.stem)
        assert scenario.devices
        assert scenario.source == scenario_file


class GreeterCamera(SimulatedDevice):
    """Greet TCP clients and count pings: a stand-in for a real device kind."""

    def __init__(self, *args: Any) -> None:
        """Start with no server and no pings."""
        super().__init__(*args)
        self.server: asyncio.Server | None = None
        self.pings = 0

    @override
    async def start(self, host: str) -> PortInfo:
        """Listen on a free port and say so."""
        self.server = await asyncio.start_server(self._greet, host, self.spec.port)
        port = self.server.sockets[0].getsockname()[1]
        return PortInfo(host, port, "greeter", {"banner": "hello"})

    async def _greet(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Send the banner and hang up."""
        writer.write(b"hello\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    @override
    async def stop(self) -> None:
        """Close the server."""
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @override
    def state(self) -> JSONObject:
        """Report the ping count."""
        return {"pings": self.pings}

    @override
    async def handle_action(self, action: str, params: JSONObject) -> JSONObject:
        """Answer ping, refuse politely or fail, as the test asks."""
        match action:
            case "ping":
                self.pings += 1
                return {"pong": params.get("n")}
            case "refuse":
                raise ActionError("the greeter refuses")
            case "crash":
                raise RuntimeError("the greeter crashed")
        return await super().handle_action(action, params)


async def _call(method: str, url: str, data: str | None = None) -> tuple[int, Any]:
    """Send one control-API request and decode its JSON answer."""
    connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.request(method, url, data=data) as response,
    ):
        return response.status, await response.json(content_type=None)


@pytest.mark.usefixtures("socket_enabled")
async def test_registered_kind_is_started_and_driven(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A registered kind replaces the placeholder: it listens, snapshots and acts."""
    load_device_kinds()
    monkeypatch.setitem(DEVICE_KINDS, DeviceKind.CAMERA, GreeterCamera)
    community = SimulatedCommunity(load_scenario("minimal"), "127.0.0.1")
    control = ControlServer(community)
    camera = community.devices["camera-lift-1"]
    assert isinstance(camera, GreeterCamera)

    await community.start()
    try:
        url = await control.start("127.0.0.1", 0)
        description = community.describe(url)["devices"]
        assert isinstance(description, list)
        listed = next(
            d for d in description if isinstance(d, dict) and d["id"] == "camera-lift-1"
        )
        assert listed["implemented"] is True
        assert listed["protocol"] == "greeter"
        assert listed["banner"] == "hello"
        port = listed["port"]
        assert isinstance(port, int)

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await reader.readline() == b"hello\n"
        writer.close()
        await writer.wait_closed()

        base = f"{url}/devices/camera-lift-1"
        assert await _call("POST", f"{base}/actions/ping", '{"n": 7}') == (
            200,
            {"pong": 7},
        )
        assert await _call("POST", f"{base}/actions/ping") == (200, {"pong": None})
        status, snapshot = await _call("GET", base)
        assert status == 200
        assert snapshot["state"] == {"pings": 2}
        assert await _call("POST", f"{base}/actions/refuse") == (
            400,
            {"error": "the greeter refuses"},
        )
        assert await _call("POST", f"{base}/actions/crash") == (
            500,
            {"error": "action 'crash' of device 'camera-lift-1' failed"},
        )
        status, body = await _call("POST", f"{base}/actions/ping", "{broken")
        assert status == 400
        assert "not valid JSON" in body["error"]
        status, health = await _call("GET", f"{url}/health")
        # One device per kind in the minimal scenario, the camera patched in.
        assert health["implemented"] == len(DEVICE_KINDS)
    finally:
        await control.stop()
        failed = await community.stop()

    assert failed == []
    assert not camera.running
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


class BrokenMeter(PlaceholderDevice):
    """Fail to start, like a device whose port is taken."""

    implemented = True

    @override
    async def start(self, host: str) -> PortInfo:
        """Fail."""
        raise OSError(98, "Address already in use")


@pytest.mark.usefixtures("socket_enabled")
async def test_failed_start_stops_the_devices_already_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A device that cannot start is named, and those started before it stop."""
    load_device_kinds()
    monkeypatch.setitem(DEVICE_KINDS, DeviceKind.FACE_TERMINAL, GreeterCamera)
    monkeypatch.setitem(DEVICE_KINDS, DeviceKind.POWER_METER, BrokenMeter)
    community = SimulatedCommunity(load_scenario("minimal"), "127.0.0.1")

    with pytest.raises(
        DeviceStartError,
        match=r"device 'meter-1' \(power_meter\) could not start: OSError: .*in use",
    ):
        await community.start()

    assert not any(device.running for device in community.devices.values())
    greeter = community.devices["face-1"]
    assert isinstance(greeter, GreeterCamera)
    assert greeter.server is not None
    assert not greeter.server.is_serving()


def test_registry_refuses_a_second_implementation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two modules cannot both claim a kind; unclaimed kinds get the placeholder."""
    load_device_kinds()
    monkeypatch.setitem(DEVICE_KINDS, DeviceKind.CAMERA, GreeterCamera)
    assert device_class_for(DeviceKind.CAMERA) is GreeterCamera
    assert register_kind(DeviceKind.CAMERA)(GreeterCamera) is GreeterCamera

    class OtherCamera(GreeterCamera):
        """Claim the camera kind a second time."""

    with pytest.raises(ValueError, match="already implemented by"):
        register_kind(DeviceKind.CAMERA)(OtherCamera)

    monkeypatch.delitem(DEVICE_KINDS, DeviceKind.CAMERA)
    assert device_class_for(DeviceKind.CAMERA) is PlaceholderDevice
    assert PlaceholderDevice.implemented is False
