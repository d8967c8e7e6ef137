"""Test the simulated licence-plate camera by playing the server it pushes to.

The simulator runs as a subprocess (``start_simulator``) from a scenario written
into ``tmp_path``. The camera is an HTTP client, so the test runs the server side
(Home Assistant's role) itself: a small aiohttp application on 127.0.0.1 that
records every request and decides every reply. Multipart heartbeats are parsed
with the standard library's email parser, not aiohttp's, so a codec bug on one
side cannot cancel out on the other.
"""

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import email.parser
import email.policy
import io
import json
from pathlib import Path
import socket
import time
from typing import Any, Final

from aiohttp import hdrs, web
from PIL import Image
import pytest

from simulator.scenario import SCENARIO_DIR
from tests.simulator_harness import (
    SimulatorProcess,
    SimulatorRequestError,
    SimulatorStartError,
    StartSimulator,
)

CAMERA: Final = "plate-gate-in"
GBK_CAMERA: Final = "plate-gate-out"
WAIT_TIMEOUT: Final = 5.0
# Long enough to be sure nothing more is coming when checking that it did not.
SETTLE_SECONDS: Final = 0.3
# How long the server holds a comet poll when it has no command to give.
COMET_HOLD_SECONDS: Final = 0.3
CAMERA_OPTIONS: Final = {
    "gate": "main",
    "lane": "entry",
    "serial_number": "SIM-LPR-0101",
    "heartbeat_mode": "off",
    "heartbeat_seconds": 0.2,
    "http_timeout_seconds": 1.0,
}
GBK_OPTIONS: Final = {
    "gate": "main",
    "lane": "exit",
    "serial_number": "SIM-LPR-0102",
    "device_name": "IVS-OUT",
    "ip_address": "192.168.1.101",
    "heartbeat_mode": "off",
    "encoding": "gbk",
    "images": False,
    "image_bytes": 30_000,
}

type Reply = Callable[["Received"], Awaitable[web.StreamResponse]]


@dataclass
class Received:
    """Hold one request the camera sent: its kind, headers and decoded body."""

    kind: str
    path: str
    content_type: str
    body: bytes
    document: Any = None
    form: dict[str, str] = field(default_factory=dict)

    @property
    def plate(self) -> dict[str, Any]:
        """Return the ``PlateResult`` of a plate push."""
        return dict(self.document["AlarmInfoPlate"]["result"]["PlateResult"])


def respond(document: Any) -> web.Response:
    """Answer with a JSON document."""
    return web.json_response(document)


def command(**fields: Any) -> dict[str, Any]:
    """Return a ``Response_AlarmInfoPlate`` reply."""
    return {"Response_AlarmInfoPlate": fields}


def b64(data: bytes) -> str:
    """Encode bytes as base64 text."""
    return base64.b64encode(data).decode("ascii")


def parse_form(content_type: str, body: bytes) -> dict[str, str]:
    """Parse a multipart/form-data body with the standard library."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    assert message.is_multipart()
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        assert part.get_content_disposition() == "form-data"
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        fields[name] = payload.decode("utf-8")
    return fields


def decode_body(body: bytes, content_type: str) -> Any:
    """Decode a JSON body: UTF-8 unless the camera declared GB2312."""
    encoding = "gbk" if "gb2312" in content_type.lower() else "utf-8"
    try:
        return json.loads(body.decode(encoding))
    except UnicodeDecodeError:
        # Undeclared GBK, as firmware sends it.
        return json.loads(body.decode("gbk"))


class FakeServer:
    """Play the server a plate camera pushes to: record requests, choose replies."""

    def __init__(self) -> None:
        """Set the default replies; nothing listens until ``start``."""
        self.received: list[Received] = []
        self.replies: dict[str, Reply] = {
            "plate": self.acknowledge_plate,
            "io": self.empty_reply,
            "heartbeat": self.comet_reply,
            "snapshot": self.empty_reply,
        }
        # Commands handed to the next comet poll, which waits for one a while.
        self.comet_commands: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.url = ""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)

    async def start(self) -> None:
        """Listen on a free loopback port."""
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/devicemanagement/plateresult"

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Record a request, classify it and answer with the current reply."""
        content_type = request.headers.get(hdrs.CONTENT_TYPE, "")
        body = await request.read()
        received = Received("other", request.path, content_type, body)
        if content_type.startswith("multipart/form-data"):
            received.kind = "heartbeat"
            received.form = parse_form(content_type, body)
        else:
            received.document = decode_body(body, content_type)
            for key, kind in (
                ("AlarmInfoPlate", "plate"),
                ("AlarmGioIn", "io"),
                ("TriggerImage", "snapshot"),
            ):
                if key in received.document:
                    received.kind = kind
        self.received.append(received)
        return await self.replies[received.kind](received)

    def of_kind(self, kind: str) -> list[Received]:
        """Return the requests of one kind, in arrival order."""
        return [received for received in self.received if received.kind == kind]

    def plates(self, *, offline: int | None = None) -> list[dict[str, Any]]:
        """Return the pushed plate results, optionally only live or offline ones."""
        return [
            received.plate
            for received in self.of_kind("plate")
            if offline is None or received.plate["isoffline"] == offline
        ]

    @staticmethod
    async def acknowledge_plate(received: Received) -> web.Response:
        """Echo a live result's plateid; let offline records keep coming."""
        result = received.plate
        if result["isoffline"]:
            return respond(
                command(
                    ContinuePushOffline={"plateid": result["plateid"], "continue": 1}
                )
            )
        return respond(command(plateid=result["plateid"]))

    @staticmethod
    async def empty_reply(received: Received) -> web.Response:
        """Answer with no command."""
        return respond(command())

    async def comet_reply(self, received: Received) -> web.Response:
        """Hold a poll until a command is queued or a short while has passed."""
        try:
            async with asyncio.timeout(COMET_HOLD_SECONDS):
                return respond(await self.comet_commands.get())
        except TimeoutError:
            # A long poll with nothing to say answers with an empty body.
            return web.Response(status=200)


class Camera:
    """Drive one simulated camera through the control API."""

    def __init__(self, sim: SimulatorProcess, device_id: str) -> None:
        """Aim at a device of the running simulator."""
        self.sim = sim
        self.device_id = device_id

    async def act(self, action: str, **params: Any) -> dict[str, Any]:
        """Run an action and return its result."""
        return await self.sim.action(self.device_id, action, params)

    async def refused(self, action: str, **params: Any) -> tuple[int, str]:
        """Run an action that must fail; return its status and error message."""
        with pytest.raises(SimulatorRequestError) as raised:
            await self.act(action, **params)
        return raised.value.status, str(raised.value.body["error"])

    async def state(self) -> dict[str, Any]:
        """Return the camera's live state."""
        snapshot = await self.sim.snapshot(self.device_id)
        return dict(snapshot["state"])

    async def backlog_empty(self) -> bool:
        """Say whether every offline record has been taken by the server."""
        return not (await self.state())["offline_queue"]


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


def write_scenario(
    tmp_path: Path, options: dict[str, Any], *extra: dict[str, Any]
) -> Path:
    """Write minimal.json with only the plate camera (and ``extra`` devices)."""
    document = json.loads((SCENARIO_DIR / "minimal.json").read_text(encoding="utf-8"))
    camera = next(d for d in document["devices"] if d["kind"] == "plate_camera")
    camera["options"] = options
    document["devices"] = [camera, *extra]
    path = tmp_path / "plates.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def dead_url() -> str:
    """Return a loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/push"


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Decode a JPEG fully and return its size."""
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.format == "JPEG"
        picture.load()
        return picture.size


# --- fixtures ------------------------------------------------------------------


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[FakeServer]:
    """Run the server the cameras push to."""
    fake = FakeServer()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def sim(
    server: FakeServer, start_simulator: StartSimulator, tmp_path: Path
) -> Iterator[SimulatorProcess]:
    """Run a UTF-8 camera and a GBK one, neither told where to push yet."""
    gbk_camera = {
        "id": GBK_CAMERA,
        "kind": "plate_camera",
        "building": None,
        "name": "大门 出口车道",
        "options": GBK_OPTIONS,
    }
    process = start_simulator(write_scenario(tmp_path, CAMERA_OPTIONS, gbk_camera))
    yield process
    # Stopped here, while the server still answers: a clean exit, nothing leaked.
    assert process.stop() == 0
    for trouble in (" ERROR ", "Traceback", "Unclosed", "never retrieved", "destroyed"):
        assert trouble not in process.stderr


@pytest.fixture
async def camera(sim: SimulatorProcess, server: FakeServer) -> Camera:
    """Return the UTF-8 camera, pushing to the test's server."""
    driver = Camera(sim, CAMERA)
    await driver.act("configure", push_url=server.url)
    return driver


@pytest.fixture
async def gbk_camera(sim: SimulatorProcess, server: FakeServer) -> Camera:
    """Return the GBK camera, pushing to the test's server."""
    driver = Camera(sim, GBK_CAMERA)
    await driver.act("configure", push_url=server.url)
    return driver


# --- plate results -----------------------------------------------------------


async def test_plate_push_carries_the_documented_json(
    camera: Camera, server: FakeServer, sim: SimulatorProcess
) -> None:
    """A plate push is the spec's AlarmInfoPlate JSON, with a plate-crop JPEG."""
    described = sim.device(CAMERA)
    assert described["implemented"] is True
    assert described["port"] is None
    assert described["serial_number"] == "SIM-LPR-0101"

    before = time.time()
    result = await camera.act("arrive", plate="京AD12345")
    assert result["offline"] is False
    assert result["status"] == 200
    assert result["reply"] == command(plateid=result["plate_id"])
    assert result["relay_fired"] is False
    assert result["voice"] is None
    assert result["serial_texts"] == []
    assert result["error"] is None
    assert result["latency_ms"] >= 0

    (received,) = server.of_kind("plate")
    assert received.path == "/devicemanagement/plateresult"
    assert received.content_type == "application/json"
    assert json.loads(received.body.decode("utf-8")) == received.document
    alarm = received.document["AlarmInfoPlate"]
    assert alarm["channel"] == 0
    assert alarm["deviceName"] == "IVS"
    assert alarm["ipaddr"] == "192.168.1.100"
    assert alarm["serialno"] == "SIM-LPR-0101"
    plate = received.plate
    assert plate["license"] == "京AD12345"
    # An eight-character plate is a green new-energy plate (type 19).
    assert (plate["colorType"], plate["type"]) == (5, 19)
    assert plate["confidence"] == 95
    assert plate["triggerType"] == 1
    assert plate["direction"] == 0
    assert plate["plateid"] == result["plate_id"]
    assert plate["isoffline"] == 0
    assert plate["gioouts"] == [{"ionum": 0, "ctrltype": 0}]
    rect = plate["location"]["RECT"]
    assert 0 <= rect["left"] < rect["right"] <= 1920
    assert 0 <= rect["top"] < rect["bottom"] <= 1080

    timeval = plate["timeStamp"]["Timeval"]
    assert before - 1 <= timeval["sec"] <= time.time() + 1
    assert 0 <= timeval["usec"] < 1_000_000
    # The dec* fields are the same instant in the camera's local time.
    local = datetime(
        timeval["decyear"],
        timeval["decmon"],
        timeval["decday"],
        timeval["dechour"],
        timeval["decmin"],
        timeval["decsec"],
    )
    offset = local - datetime.fromtimestamp(timeval["sec"], UTC).replace(tzinfo=None)
    assert abs(offset) <= timedelta(hours=14)
    assert offset.total_seconds() % 900 == 0

    fragment = base64.b64decode(plate["imageFragmentFile"], validate=True)
    assert plate["imageFragmentFileLen"] == len(fragment)
    assert jpeg_size(fragment)[0] > jpeg_size(fragment)[1]
    # image_bytes is 0: no full picture.
    assert "imageFile" not in plate

    second = await camera.act("arrive", plate="京A12345", confidence=88)
    assert second["plate_id"] == result["plate_id"] + 1
    later = server.plates()[-1]
    assert (later["license"], later["colorType"], later["type"]) == ("京A12345", 1, 1)
    assert later["confidence"] == 88
    # Every result draws its own picture.
    assert later["imageFragmentFile"] != plate["imageFragmentFile"]

    state = await camera.state()
    assert [record["plate_id"] for record in state["records"]] == [
        result["plate_id"],
        second["plate_id"],
    ]
    assert state["records"][0]["kind"] == "plate"
    assert state["records"][0]["plate"] == "京AD12345"
    assert state["records"][0]["status"] == 200
    assert state["relay_count"] == 0
    assert state["offline_queue"] == []


async def test_reply_commands_are_obeyed(camera: Camera, server: FakeServer) -> None:
    """Info ok fires the relay; voice and LED texts are decoded; bad replies are not."""
    voice = "欢迎光临 京A12345"
    led = "京A12345 月租车".encode("gbk")

    async def open_gate(received: Received) -> web.Response:
        """Open, greet and show the plate on the LED display."""
        return respond(
            command(
                info="ok",
                plateid=received.plate["plateid"],
                content="欢迎",
                is_pay="true",
                playserver_json_request={
                    "type": "ps_voice_play",
                    "voice": b64(voice.encode()),
                    "voice_volume": 100,
                },
                serialData=[
                    {"serialChannel": 0, "data": b64(led), "dataLen": len(led)},
                    {"serialChannel": 0, "data": b64(b"Hello"), "dataLen": 5},
                ],
            )
        )

    server.replies["plate"] = open_gate
    result = await camera.act("arrive", plate="京A12345")
    assert result["relay_fired"] is True
    assert result["voice"] == voice
    assert result["serial_texts"] == ["京A12345 月租车", "Hello"]
    assert result["error"] is None
    assert (await camera.state())["relay_count"] == 1

    pulses = iter([2, 1, 0])

    async def io_control(received: Received) -> web.Response:
        """Drive the relay with ivs_ioctrl: pulse, on, then off."""
        return respond(
            command(ivs_ioctrl={"io": 0, "value": next(pulses), "delay": 500})
        )

    server.replies["plate"] = io_control
    fired = [
        (await camera.act("arrive", plate="沪B54321"))["relay_fired"] for _ in range(3)
    ]
    assert fired == [True, True, False]

    async def not_json(received: Received) -> web.Response:
        """Answer like a misconfigured server."""
        return web.Response(text="OK")

    server.replies["plate"] = not_json
    result = await camera.act("arrive", plate="沪B54321")
    # The server took it (200), so it is not offline; but nothing was obeyed.
    assert result["offline"] is False
    assert result["relay_fired"] is False
    assert result["reply"] is None
    assert "not JSON" in result["error"]

    async def bare_info(received: Received) -> web.Response:
        """Forget the Response_AlarmInfoPlate wrapper."""
        return respond({"info": "ok"})

    server.replies["plate"] = bare_info
    result = await camera.act("arrive", plate="沪B54321")
    assert result["relay_fired"] is False
    assert result["reply"] == {"info": "ok"}
    assert "Response_AlarmInfoPlate" in result["error"]

    state = await camera.state()
    assert state["relay_count"] == 3
    assert "Response_AlarmInfoPlate" in state["last_error"]
    assert [record["relay_fired"] for record in state["records"]] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert state["records"][0]["voice"] == voice
    assert state["records"][0]["serial_texts"] == ["京A12345 月租车", "Hello"]
    assert "not JSON" in state["records"][4]["error"]


async def test_gbk_camera_sends_gbk_bytes_and_a_full_picture(
    gbk_camera: Camera, server: FakeServer
) -> None:
    """GBK bodies go under a bare application/json unless told to declare them."""
    result = await gbk_camera.act("arrive", plate="粤B12345", color=2)
    assert result["offline"] is False
    received = server.of_kind("plate")[-1]
    assert received.content_type == "application/json"
    with pytest.raises(UnicodeDecodeError):
        received.body.decode("utf-8")
    assert "粤B12345".encode("gbk") in received.body
    alarm = received.document["AlarmInfoPlate"]
    assert (alarm["deviceName"], alarm["ipaddr"]) == ("IVS-OUT", "192.168.1.101")
    plate = received.plate
    assert (plate["license"], plate["colorType"], plate["type"]) == ("粤B12345", 2, 3)
    assert "imageFragmentFile" not in plate
    picture = base64.b64decode(plate["imageFile"], validate=True)
    assert plate["imageFileLen"] == len(picture)
    assert abs(len(picture) - 30_000) <= 4
    assert jpeg_size(picture) == (480, 270)

    state = await gbk_camera.act("configure", declare_charset=True)
    assert (state["encoding"], state["declare_charset"]) == ("gbk", True)
    await gbk_camera.act("arrive", plate="粤B12345")
    received = server.of_kind("plate")[-1]
    assert received.content_type == "application/json; charset=gb2312"
    assert received.plate["license"] == "粤B12345"

    await gbk_camera.act("configure", encoding="utf-8", declare_charset=False)
    await gbk_camera.act("arrive", plate="粤B12345")
    received = server.of_kind("plate")[-1]
    assert received.content_type == "application/json"
    assert json.loads(received.body.decode("utf-8"))["AlarmInfoPlate"]


# --- heartbeats ----------------------------------------------------------------


async def test_comet_poll_obeys_a_held_reply(
    camera: Camera, server: FakeServer
) -> None:
    """Comet polls carry the form fields; a held reply's commands are obeyed."""
    state = await camera.act("configure", heartbeat_mode="comet")
    assert state["heartbeat_mode"] == "comet"
    await wait_until(lambda: len(server.of_kind("heartbeat")) >= 2)
    assert server.of_kind("heartbeat")[0].form == {
        "device_name": "IVS",
        "ipaddr": "192.168.1.100",
        "port": "80",
        "user_name": "admin",
        "pass_wd": "admin",
        "serialno": "SIM-LPR-0101",
        "channel_num": "1",
    }
    # Idle polls (empty answers) are counted, not recorded.
    state = await camera.state()
    assert state["heartbeats_sent"] >= 1
    assert state["records"] == []

    greeting = "请通行"
    await server.comet_commands.put(
        command(
            info="ok",
            playserver_json_request={
                "type": "ps_voice_play",
                "voice": b64(greeting.encode("gbk")),
            },
        )
    )

    async def relay_fired() -> bool:
        """Say whether the held poll's command opened the barrier."""
        return bool((await camera.state())["relay_count"] == 1)

    await wait_until(relay_fired)
    (record,) = (await camera.state())["records"]
    assert record["kind"] == "comet"
    assert record["relay_fired"] is True
    # GBK voice text decodes through the GB18030 fallback.
    assert record["voice"] == greeting
    assert record["status"] == 200

    # A manual trigger recognises again (software trigger); a snapshot is uploaded.
    await camera.act("arrive", plate="京A12345")
    snapshot_url = server.url.replace("plateresult", "snapshot")
    await server.comet_commands.put(
        command(
            manualTrigger="ok",
            TriggerImage={"snapImageAbsolutelyUrl": snapshot_url},
        )
    )
    await wait_until(lambda: len(server.plates()) == 2)
    await wait_until(lambda: len(server.of_kind("snapshot")) == 1)
    again = server.plates()[-1]
    assert (again["license"], again["triggerType"]) == ("京A12345", 4)
    upload = server.of_kind("snapshot")[0]
    assert upload.path.endswith("/snapshot")
    image = upload.document["TriggerImage"]
    picture = base64.b64decode(image["imageFile"], validate=True)
    assert image["imageFileLen"] == len(picture)
    jpeg_size(picture)

    # Turning heartbeats off stops the polls.
    await camera.act("configure", heartbeat_mode="off")
    sent = len(server.of_kind("heartbeat"))
    await asyncio.sleep(SETTLE_SECONDS)
    assert len(server.of_kind("heartbeat")) == sent


async def test_normal_heartbeat_ignores_commands_and_counts_failures(
    camera: Camera, server: FakeServer
) -> None:
    """Normal heartbeats come every heartbeat_seconds and their replies do nothing."""

    async def open_gate(received: Received) -> web.Response:
        """Answer every heartbeat with an open command."""
        return respond(command(info="ok"))

    server.replies["heartbeat"] = open_gate
    await camera.act("configure", heartbeat_mode="normal")
    await wait_until(lambda: len(server.of_kind("heartbeat")) >= 3)
    assert server.of_kind("heartbeat")[-1].form["serialno"] == "SIM-LPR-0101"
    state = await camera.state()
    assert state["heartbeats_sent"] >= 3
    assert state["heartbeat_failures"] == 0
    assert state["relay_count"] == 0
    assert state["records"] == []

    await camera.act("configure", push_url=dead_url())

    async def failing() -> bool:
        """Say whether heartbeats to the dead URL are failing."""
        return bool((await camera.state())["heartbeat_failures"] >= 2)

    await wait_until(failing)
    state = await camera.state()
    assert "cannot reach" in state["last_error"]
    assert state["relay_count"] == 0


async def test_normal_heartbeats_and_traffic_from_the_scenario(
    server: FakeServer, start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """A scenario push_url starts heartbeats and the demo traffic at once."""
    options = {
        **CAMERA_OPTIONS,
        "push_url": server.url,
        "heartbeat_mode": "normal",
        "traffic": {
            "plates": ["京A11111", "京AD22222"],
            "visitor_plates": ["沪C33333"],
            "interval_seconds": 0.1,
        },
    }
    sim = start_simulator(write_scenario(tmp_path, options))
    await wait_until(lambda: len(server.plates()) >= 5)
    await wait_until(lambda: len(server.of_kind("heartbeat")) >= 2)
    seen = {plate["license"] for plate in server.plates()}
    assert seen <= {"京A11111", "京AD22222", "沪C33333"}
    state = (await sim.snapshot(CAMERA))["state"]
    assert state["push_url"] == server.url
    assert state["heartbeat_mode"] == "normal"


# --- offline records -------------------------------------------------------------


async def test_offline_records_are_repushed_while_the_server_says_continue(
    camera: Camera, server: FakeServer
) -> None:
    """Offline records go one by one, in order, only while continue is 1."""
    state = await camera.act("disconnect")
    assert state["connected"] is False
    first = await camera.act("arrive", plate="京A00001")
    second = await camera.act("arrive", plate="京A00002")
    assert first == {
        "plate_id": first["plate_id"],
        "offline": True,
        "error": "the camera is disconnected",
    }
    assert second["offline"] is True
    assert server.received == []
    state = await camera.state()
    assert state["offline_queue"] == [
        {"plate_id": first["plate_id"], "plate": "京A00001"},
        {"plate_id": second["plate_id"], "plate": "京A00002"},
    ]
    # An IO input cannot be sent either, and is not kept.
    assert (await camera.act("io_input", source=0, value=1))["error"] == (
        "the camera is disconnected"
    )

    reconnected = time.time()
    state = await camera.act("reconnect")
    assert state["connected"] is True

    await wait_until(camera.backlog_empty)
    repushed = server.plates(offline=1)
    assert [(plate["license"], plate["plateid"]) for plate in repushed] == [
        ("京A00001", first["plate_id"]),
        ("京A00002", second["plate_id"]),
    ]
    # They keep the time they were seen, not the time they were sent.
    assert all(
        plate["timeStamp"]["Timeval"]["sec"] <= reconnected for plate in repushed
    )
    state = await camera.state()
    assert state["offline_pushed"] == 2
    assert [record["kind"] for record in state["records"]] == [
        "offline_plate",
        "offline_plate",
    ]


async def test_offline_backlog_stops_on_continue_0_or_no_answer(
    camera: Camera, server: FakeServer
) -> None:
    """A reply of continue 0 takes the record and stops; no reply keeps it."""
    await camera.act("disconnect")
    ids = [
        (await camera.act("arrive", plate=plate))["plate_id"]
        for plate in ("京B00001", "京B00002", "京B00003")
    ]

    async def enough(received: Received) -> web.Response:
        """Take the record but ask for no more."""
        plateid = received.plate["plateid"]
        return respond(command(ContinuePushOffline={"plateid": plateid, "continue": 0}))

    server.replies["plate"] = enough
    await camera.act("reconnect")

    async def queue_ids() -> list[int]:
        """Return the plate ids still waiting offline."""
        return [item["plate_id"] for item in (await camera.state())["offline_queue"]]

    async def first_taken() -> bool:
        """Say whether the first record was taken."""
        return await queue_ids() == ids[1:]

    await wait_until(first_taken)
    await asyncio.sleep(SETTLE_SECONDS)
    assert [plate["plateid"] for plate in server.plates()] == ids[:1]
    assert (await camera.state())["offline_pushed"] == 1

    async def silent(received: Received) -> web.Response:
        """Take live results; answer offline ones without ContinuePushOffline."""
        return respond(command(plateid=received.plate["plateid"]))

    server.replies["plate"] = silent
    # A delivered live result goes first, then the backlog resumes.
    live = await camera.act("arrive", plate="京B00009")
    assert live["offline"] is False
    await wait_until(lambda: len(server.plates(offline=1)) == 2)
    await asyncio.sleep(SETTLE_SECONDS)
    assert [plate["plateid"] for plate in server.plates()] == [
        ids[0],
        live["plate_id"],
        ids[1],
    ]
    assert await queue_ids() == ids[1:]

    server.replies["plate"] = FakeServer.acknowledge_plate
    await camera.act("disconnect")
    await camera.act("reconnect")

    async def all_taken() -> bool:
        """Say whether the backlog is empty."""
        return await queue_ids() == []

    await wait_until(all_taken)
    assert [plate["plateid"] for plate in server.plates(offline=1)] == [
        ids[0],
        ids[1],
        ids[1],
        ids[2],
    ]
    assert (await camera.state())["offline_pushed"] == 3


async def test_a_live_result_preempts_the_offline_record_on_the_wire(
    camera: Camera, server: FakeServer
) -> None:
    """A new result cuts in before the backlog, which then starts that record again."""
    await camera.act("disconnect")
    ids = [
        (await camera.act("arrive", plate=plate))["plate_id"]
        for plate in ("京D00001", "京D00002")
    ]
    release = asyncio.Event()
    held: list[int] = []

    async def hold_first_offline(received: Received) -> web.StreamResponse:
        """Keep the first offline record waiting; acknowledge everything else."""
        if received.plate["isoffline"] and not held:
            held.append(received.plate["plateid"])
            async with asyncio.timeout(3):
                await release.wait()
        return await FakeServer.acknowledge_plate(received)

    server.replies["plate"] = hold_first_offline
    await camera.act("reconnect")
    await wait_until(lambda: held == ids[:1])
    live = await camera.act("arrive", plate="京D00009")
    assert live["offline"] is False

    try:
        await wait_until(camera.backlog_empty)
    finally:
        release.set()
    # The cut-off record is sent again after the live one; servers filter by id.
    assert [(plate["plateid"], plate["isoffline"]) for plate in server.plates()] == [
        (ids[0], 1),
        (live["plate_id"], 0),
        (ids[0], 1),
        (ids[1], 1),
    ]
    assert (await camera.state())["offline_pushed"] == 2


async def test_undelivered_results_go_offline_and_follow_the_next_live_one(
    camera: Camera, server: FakeServer
) -> None:
    """Refused, non-2xx and timed-out pushes are kept and re-pushed later."""
    await camera.act("configure", push_url=dead_url())
    refused = await camera.act("arrive", plate="京C00001")
    assert refused["offline"] is True
    assert "cannot reach" in refused["error"]
    # Back on the real server: the backlog is tried straight away.
    await camera.act("configure", push_url=server.url)
    await wait_until(lambda: len(server.plates(offline=1)) == 1)
    assert server.plates()[0]["plateid"] == refused["plate_id"]

    async def broken(received: Received) -> web.Response:
        """Fail like a server with a bug."""
        return web.Response(status=500, text="boom")

    server.replies["plate"] = broken
    failed = await camera.act("arrive", plate="京C00002")
    assert failed["offline"] is True
    assert failed["error"] == "the server answered HTTP 500"

    async def slow(received: Received) -> web.Response:
        """Answer after the camera has given up."""
        await asyncio.sleep(1.5)
        return respond(command())

    server.replies["plate"] = slow
    timed_out = await camera.act("arrive", plate="京C00003")
    assert timed_out["offline"] is True
    assert "no answer" in timed_out["error"]
    state = await camera.state()
    assert [item["plate"] for item in state["offline_queue"]] == [
        "京C00002",
        "京C00003",
    ]
    assert [record["kind"] for record in state["records"][-2:]] == ["plate", "plate"]
    assert state["records"][-2]["status"] == 500

    server.replies["plate"] = FakeServer.acknowledge_plate
    live = await camera.act("arrive", plate="京C00004")
    assert live["offline"] is False

    await wait_until(camera.backlog_empty)
    order = [(plate["license"], plate["isoffline"]) for plate in server.plates()]
    assert order[-3:] == [("京C00004", 0), ("京C00002", 1), ("京C00003", 1)]


# --- IO inputs, actions and options -----------------------------------------------


async def test_io_input_push(camera: Camera, server: FakeServer) -> None:
    """An IO-input change is pushed as AlarmGioIn; its reply is obeyed."""

    async def open_gate(received: Received) -> web.Response:
        """Open on an IO input."""
        return respond(command(info="ok"))

    server.replies["io"] = open_gate
    result = await camera.act("io_input", source=1, value=1)
    assert result == {
        "status": 200,
        "reply": command(info="ok"),
        "relay_fired": True,
        "error": None,
    }
    (received,) = server.of_kind("io")
    assert received.document == {
        "AlarmGioIn": {
            "deviceName": "IVS",
            "ipaddr": "192.168.1.100",
            "serialno": "SIM-LPR-0101",
            "result": {"TriggerResult": {"source": 1, "value": 1}},
        }
    }
    state = await camera.state()
    assert state["relay_count"] == 1
    assert state["records"][-1]["kind"] == "io"
    assert state["records"][-1]["source"] == 1


async def test_actions_validate_their_parameters(
    camera: Camera, server: FakeServer
) -> None:
    """Bad parameters answer 400 with a clear message; unknown actions 404."""
    status, message = await camera.refused("arrive")
    assert status == 400
    assert "parameter 'plate' of plate-gate-in is required" in message
    status, message = await camera.refused("arrive", plate="京A12345", color=9)
    assert status == 400
    assert message.startswith("parameter 'color' of plate-gate-in must be one of 0, 1")
    status, message = await camera.refused("arrive", plate="京A12345", lane="x")
    assert status == 400
    assert "unknown parameters of plate-gate-in: lane" in message
    status, message = await camera.refused("arrive", plate="京A12345", trigger_type=3)
    assert "must be one of 1, 2, 4, 8, 64, 65, 66" in message
    status, message = await camera.refused("io_input", source=9, value=1)
    assert "parameter 'source' of plate-gate-in must be an integer 0..4" in message
    status, message = await camera.refused("io_input", source=0)
    assert "parameter 'value' of plate-gate-in is required" in message
    status, message = await camera.refused("configure", heartbeat_mode="often")
    assert "must be one of comet, normal, off" in message
    status, message = await camera.refused("configure", push_url="ftp://x/y")
    assert "an http:// or https:// URL" in message
    status, message = await camera.refused("disconnect", now=True)
    assert status == 400
    status, message = await camera.refused("open_sesame")
    assert status == 404
    assert "open_sesame" in message
    assert server.received == []

    # clear forgets the history but not the offline queue.
    await camera.act("arrive", plate="京A12345")
    await camera.act("disconnect")
    await camera.act("arrive", plate="京A54321")
    state = await camera.act("clear")
    assert state["records"] == []
    assert [item["plate"] for item in state["offline_queue"]] == ["京A54321"]
    # A cleared push_url keeps results offline even when connected.
    await camera.act("reconnect")
    await camera.act("configure", push_url=None)
    result = await camera.act("arrive", plate="京A99999")
    assert result["offline"] is True
    assert "push_url" in result["error"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"serial_number": "SIM-LPR-1", "heartbeat_mode": "often"},
            "option 'heartbeat_mode' of plate-gate-in must be one of comet, "
            "normal, off, not 'often'",
        ),
        (
            {"lane": "entry"},
            "option 'serial_number' of plate-gate-in is required",
        ),
        (
            {
                "serial_number": "SIM-LPR-1",
                "traffic": {"plates": ["京A12345"], "every": 3},
            },
            "unknown options of plate-gate-in: traffic.every",
        ),
        (
            {"serial_number": "SIM-LPR-1", "push_url": "127.0.0.1:8123"},
            "option 'push_url' of plate-gate-in must be an http:// or https:// URL",
        ),
    ],
)
def test_bad_options_stop_the_simulator(
    start_simulator: StartSimulator,
    tmp_path: Path,
    options: dict[str, Any],
    expected: str,
) -> None:
    """A bad option stops the simulator, naming the device and the option."""
    with pytest.raises(SimulatorStartError) as raised:
        start_simulator(write_scenario(tmp_path, options))
    assert raised.value.returncode == 1
    assert "device 'plate-gate-in' (plate_camera) could not start" in (
        raised.value.stderr
    )
    assert expected in raised.value.stderr
