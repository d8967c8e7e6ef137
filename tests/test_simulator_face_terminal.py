"""Test the simulated Hikvision face terminal over real HTTP, as a client sees it.

The simulator runs as a subprocess (``start_simulator``) from a scenario written
into ``tmp_path`` with short timings. Digest is computed here by a small client of
its own, so a codec bug on either side cannot cancel out.
"""

import asyncio
import base64
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
import hashlib
import io
import json
from pathlib import Path
import re
import secrets
import time
from typing import Any, Final
import xml.etree.ElementTree as ElementTree

import aiohttp
from PIL import Image
import pytest

from simulator.scenario import SCENARIO_DIR
from tests.simulator_harness import (
    SimulatorProcess,
    SimulatorStartError,
    StartSimulator,
)

USERNAME: Final = "admin"
PASSWORD: Final = "sim-face-1"
OLD_PASSWORD: Final = "sim-face-2"
NS: Final = "{http://www.isapi.org/ver20/XMLSchema}"
JSON: Final = "?format=json"
STREAM_PATH: Final = "/ISAPI/Event/notification/alertStream"
PART_TIMEOUT: Final = 3.0
WAIT_TIMEOUT: Final = 3.0
# Short timings so the quirks play out within a test.
TIMINGS: Final = {
    "nonce_uses": 2,
    "max_bad_logins": 3,
    "lock_seconds": 0.5,
    "open_seconds": 0.3,
    "heartbeat_seconds": 0.3,
    "replay_count": 3,
    "slot_hold_seconds": 0.4,
    "reboot_seconds": 0.4,
}
FACE_1_OPTIONS: Final = {
    "model": "DS-K1T671M",
    "serial_number": "SIM-FACE-0101",
    "doors": 1,
    "username": USERNAME,
    "password": PASSWORD,
    **TIMINGS,
}
# An older terminal: synchronous delete, three places, LF line endings.
FACE_2_OPTIONS: Final = {
    "model": "DS-K1T341AM",
    "serial_number": "SIM-FACE-0102",
    "username": USERNAME,
    "password": OLD_PASSWORD,
    "firmware": "old",
    "max_persons": 3,
    "line_ending": "lf",
    **TIMINGS,
}


# --- a minimal Digest client (RFC 7616, MD5, qop=auth) ---------------------------


def md5(text: str) -> str:
    """Return the hex MD5 of a string."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def parse_challenge(header: str) -> dict[str, str]:
    """Read the parameters of a ``WWW-Authenticate: Digest ...`` header."""
    assert header.startswith("Digest ")
    return {
        key.lower(): quoted or bare
        for key, quoted, bare in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', header)
    }


def digest_header(
    method: str,
    uri: str,
    challenge: dict[str, str],
    *,
    nc: int = 1,
    password: str = PASSWORD,
    username: str = USERNAME,
    cnonce: str | None = None,
) -> str:
    """Answer a challenge for one request, per RFC 7616 §3.4.1."""
    cnonce = cnonce or secrets.token_hex(8)
    ha1 = md5(f"{username}:{challenge['realm']}:{password}")
    ha2 = md5(f"{method}:{uri}")
    count = f"{nc:08x}"
    response = md5(f"{ha1}:{challenge['nonce']}:{count}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{username}", realm="{challenge["realm"]}", '
        f'nonce="{challenge["nonce"]}", uri="{uri}", algorithm=MD5, qop=auth, '
        f'nc={count}, cnonce="{cnonce}", response="{response}"'
    )


@dataclass
class Reply:
    """Hold a terminal's answer: status, headers and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """Decode the body as JSON."""
        return json.loads(self.body)

    def xml(self) -> ElementTree.Element:
        """Decode the body as XML."""
        return ElementTree.fromstring(self.body)  # noqa: S314 - our own simulator

    def xml_text(self, tag: str) -> str | None:
        """Return the text of a child element of the XML body."""
        return self.xml().findtext(NS + tag)


class Terminal:
    """Talk ISAPI to one simulated terminal, fetching a fresh challenge per request."""

    def __init__(
        self, session: aiohttp.ClientSession, device: dict[str, Any], password: str
    ) -> None:
        """Aim at a device from the scenario JSON."""
        self.session = session
        self.port = int(device["port"])
        self.base = f"http://127.0.0.1:{self.port}"
        self.password = password

    async def challenge(self) -> dict[str, str]:
        """Ask for a challenge with an unauthenticated request."""
        reply = await self.raw("GET", "/ISAPI/System/deviceInfo")
        assert reply.status == 401
        return parse_challenge(reply.headers["WWW-Authenticate"])

    async def raw(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> Reply:
        """Send one request as given and read the whole answer."""
        async with self.session.request(
            method, self.base + path, headers=headers, **kw
        ) as response:
            return Reply(response.status, dict(response.headers), await response.read())

    async def call(
        self, method: str, path: str, *, password: str | None = None, **kw: Any
    ) -> Reply:
        """Send one authenticated request (fresh nonce, nc=1)."""
        challenge = await self.challenge()
        auth = digest_header(
            method, path, challenge, password=password or self.password
        )
        return await self.raw(method, path, {"Authorization": auth}, **kw)

    async def post_json(self, path: str, body: Any, method: str = "POST") -> Reply:
        """Send a JSON body to a ``?format=json`` resource."""
        return await self.call(method, path + JSON, json=body)

    @contextlib.asynccontextmanager
    async def stream(self) -> AsyncIterator[aiohttp.ClientResponse]:
        """Open the alertStream (authenticated) and yield the held-open response."""
        challenge = await self.challenge()
        auth = digest_header("GET", STREAM_PATH, challenge, password=self.password)
        async with self.session.get(
            self.base + STREAM_PATH, headers={"Authorization": auth}
        ) as response:
            yield response


def user(employee_no: str, name: str = "张三") -> dict[str, Any]:
    """Return an add-person body."""
    return {
        "UserInfo": {
            "employeeNo": employee_no,
            "name": name,
            "userType": "normal",
            "Valid": {
                "enable": True,
                "beginTime": "2025-01-01T00:00:00",
                "endTime": "2035-12-31T23:59:59",
                "timeType": "local",
            },
            "doorRight": "1",
            "RightPlan": [{"doorNo": 1, "planTemplateNo": "1"}],
        }
    }


def search(position: int, max_results: int, **extra: Any) -> dict[str, Any]:
    """Return a person search body."""
    return {
        "UserInfoSearchCond": {
            "searchID": "t1",
            "searchResultPosition": position,
            "maxResults": max_results,
            **extra,
        }
    }


def jpeg(seed: int = 0) -> bytes:
    """Make a real JPEG face picture of a few kilobytes."""
    image = Image.new("RGB", (160, 200), (200, 160 + seed % 50, 140))
    for x in range(0, 160, 8):
        image.putpixel((x, (x * 7 + seed) % 200), (0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def face_form(employee_no: str, picture: bytes) -> aiohttp.FormData:
    """Return the multipart body of a face upload."""
    form = aiohttp.FormData()
    form.add_field(
        "FaceDataRecord",
        json.dumps({"faceLibType": "blackFD", "FDID": "1", "FPID": employee_no}),
        content_type="application/json",
    )
    form.add_field("FaceImage", picture, filename="face.jpg", content_type="image/jpeg")
    return form


class PartReader:
    """Reassemble alertStream parts from a stream, whatever the TCP chunking."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        """Read from a held-open alertStream response."""
        self.content = response.content
        self.chunks: list[bytes] = []
        self.buffer = b""

    async def _fill(self) -> None:
        """Append the next chunk as it arrived; fail at end of stream."""
        chunk = await self.content.readany()
        if not chunk:
            raise EOFError(f"stream ended with {self.buffer!r} unparsed")
        self.chunks.append(chunk)
        self.buffer += chunk

    async def part(self) -> tuple[dict[str, str], dict[str, Any]]:
        """Return the next part's headers and decoded JSON body."""
        async with asyncio.timeout(PART_TIMEOUT):
            while b"\n\n" not in self.buffer.replace(b"\r\n", b"\n"):
                await self._fill()
            head, separator = self._split_head()
            lines = head.replace(b"\r\n", b"\n").split(b"\n")
            assert lines[0] == b"--MIME_boundary", lines
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (
                    line.decode().partition(":") for line in lines[1:]
                )
            }
            length = int(headers["content-length"])
            self.buffer = self.buffer[len(head) + len(separator) :]
            while len(self.buffer) < length:
                await self._fill()
            body, self.buffer = self.buffer[:length], self.buffer[length:]
            # The line ending after the body belongs to this part.
            while not self.buffer.startswith((b"\r\n", b"\n")):
                await self._fill()
            self.buffer = self.buffer[2 if self.buffer.startswith(b"\r\n") else 1 :]
            return headers, json.loads(body)

    def _split_head(self) -> tuple[bytes, bytes]:
        """Return the header block and the blank line that ends it."""
        for separator in (b"\r\n\r\n", b"\n\n"):
            if (index := self.buffer.find(separator)) >= 0:
                return self.buffer[:index], separator
        raise AssertionError("no header block")

    async def read_to_end(self) -> None:
        """Read parts until the stream breaks (EOFError or a payload error)."""
        while True:
            await self.part()

    async def event(self) -> dict[str, Any]:
        """Return the next access-control event, skipping heartbeats."""
        while True:
            _, body = await self.part()
            if body["eventType"] == "AccessControllerEvent":
                return dict(body["AccessControllerEvent"])


# --- fixtures ------------------------------------------------------------------


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    """Write minimal.json with quick face-1 options and an old-firmware face-2."""
    document = json.loads((SCENARIO_DIR / "minimal.json").read_text(encoding="utf-8"))
    face_1 = next(d for d in document["devices"] if d["id"] == "face-1")
    face_1["options"] = FACE_1_OPTIONS
    document["devices"].append(
        {
            "id": "face-2",
            "kind": "face_terminal",
            "building": "1",
            "name": "1号楼 地库门禁",
            "options": FACE_2_OPTIONS,
        }
    )
    path = tmp_path / "faces.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def sim(start_simulator: StartSimulator, scenario_file: Path) -> SimulatorProcess:
    """Run the quick scenario."""
    return start_simulator(scenario_file)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Open an HTTP client session for the test."""
    # ThreadedResolver: loopback IPs need no resolver thread that outlives the test.
    connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=10)
    ) as client:
        yield client


@pytest.fixture
def face(sim: SimulatorProcess, session: aiohttp.ClientSession) -> Terminal:
    """Talk to face-1 (new firmware)."""
    return Terminal(session, sim.device("face-1"), PASSWORD)


@pytest.fixture
def old_face(sim: SimulatorProcess, session: aiohttp.ClientSession) -> Terminal:
    """Talk to face-2 (old firmware, room for three persons, LF line endings)."""
    return Terminal(session, sim.device("face-2"), OLD_PASSWORD)


async def wait_until(predicate: Any) -> None:
    """Poll an async predicate until it holds (within WAIT_TIMEOUT)."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def state(sim: SimulatorProcess, device_id: str = "face-1") -> dict[str, Any]:
    """Return a terminal's live state from the control API."""
    snapshot = await sim.snapshot(device_id)
    return dict(snapshot["state"])


# --- authentication --------------------------------------------------------------


def test_digest_client_matches_the_rfc_example() -> None:
    """The test's Digest answer reproduces RFC 2617 §3.5's worked example."""
    challenge = {
        "realm": "testrealm@host.com",
        "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093",
    }
    header = digest_header(
        "GET",
        "/dir/index.html",
        challenge,
        username="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    assert parse_challenge(header)["response"] == "6629fae49393a05397450978507c4ef1"


async def test_digest_challenge_basic_refused_and_nonce_reuse(
    face: Terminal, sim: SimulatorProcess
) -> None:
    """Only Digest logs in; a nonce serves two requests and the third is stale."""
    reply = await face.raw("GET", "/ISAPI/System/deviceInfo")
    assert reply.status == 401
    challenge = parse_challenge(reply.headers["WWW-Authenticate"])
    assert challenge["qop"] == "auth"
    assert challenge["realm"] == "DS-K1T671M"
    assert challenge["stale"].lower() == "false"
    assert reply.xml_text("statusString") == "Unauthorized"

    basic = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    reply = await face.raw("GET", "/ISAPI/System/deviceInfo", {"Authorization": basic})
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"].startswith("Digest ")

    path = "/ISAPI/System/deviceInfo"
    for nc in (1, 2):
        reply = await face.raw(
            "GET", path, {"Authorization": digest_header("GET", path, challenge, nc=nc)}
        )
        assert reply.status == 200
    assert reply.xml().tag == NS + "DeviceInfo"
    assert reply.xml_text("model") == "DS-K1T671M"
    assert reply.xml_text("serialNumber") == "SIM-FACE-0101"
    assert reply.xml_text("deviceType") == "ACS"
    assert re.fullmatch(
        r"([0-9a-f]{2}:){5}[0-9a-f]{2}", reply.xml_text("macAddress") or ""
    )
    assert reply.xml_text("firmwareVersion")
    assert reply.xml_text("firmwareReleasedDate")
    assert reply.xml_text("deviceName") == "1号楼 单元门禁"
    assert reply.xml_text("deviceID")

    # The third use of the nonce gets a fresh challenge marked stale, not a lock.
    reply = await face.raw(
        "GET", path, {"Authorization": digest_header("GET", path, challenge, nc=3)}
    )
    assert reply.status == 401
    fresh = parse_challenge(reply.headers["WWW-Authenticate"])
    assert fresh["stale"].lower() == "true"
    assert fresh["nonce"] != challenge["nonce"]
    reply = await face.raw(
        "GET", path, {"Authorization": digest_header("GET", path, fresh)}
    )
    assert reply.status == 200

    # A nonce the terminal never issued is stale too; a digest for another URI is
    # a bad request.
    made_up = challenge | {"nonce": "0" * 32}
    reply = await face.raw(
        "GET", path, {"Authorization": digest_header("GET", path, made_up)}
    )
    assert parse_challenge(reply.headers["WWW-Authenticate"])["stale"] == "TRUE"
    other = await face.challenge()
    reply = await face.raw(
        "GET", path, {"Authorization": digest_header("GET", "/ISAPI/x", other)}
    )
    assert reply.status == 400
    assert (await state(sim))["auth"]["bad_logins"] == 0


async def test_lockout_after_bad_logins_then_unlock(
    face: Terminal, sim: SimulatorProcess
) -> None:
    """Three wrong passwords lock the account for lock_seconds, right one or not."""
    path = "/ISAPI/System/deviceInfo"
    for attempts_left in (2, 1):
        reply = await face.call("GET", path, password="wrong")
        assert reply.status == 401
        assert reply.xml_text("lockStatus") == "unlock"
        assert reply.xml_text("retryLoginTime") == str(attempts_left)
        assert "WWW-Authenticate" in reply.headers
    reply = await face.call("GET", path, password="wrong")
    assert reply.status == 401
    assert reply.xml().tag == NS + "userCheck"
    assert reply.xml_text("statusValue") == "401"
    assert reply.xml_text("lockStatus") == "lock"
    assert reply.xml_text("unlockTime") == "1"
    assert reply.xml_text("retryLoginTime") == "0"

    reply = await face.call("GET", path)
    assert reply.status == 401
    assert reply.xml_text("lockStatus") == "lock"
    auth = (await state(sim))["auth"]
    assert auth["locked"] is True
    assert auth["unlock_seconds"] == 1

    await asyncio.sleep(0.55)
    reply = await face.call("GET", path)
    assert reply.status == 200
    assert (await state(sim))["auth"] == {
        "bad_logins": 0,
        "locked": False,
        "unlock_seconds": 0,
    }


# --- doors ---------------------------------------------------------------------------


def door_command(command: str) -> str:
    """Return a RemoteControlDoor body."""
    return (
        '<RemoteControlDoor version="2.0" '
        'xmlns="http://www.isapi.org/ver20/XMLSchema">'
        f"<cmd>{command}</cmd></RemoteControlDoor>"
    )


async def work_status(face: Terminal) -> dict[str, Any]:
    """Return AcsWorkStatus."""
    reply = await face.call("GET", "/ISAPI/AccessControl/AcsWorkStatus" + JSON)
    assert reply.status == 200
    return dict(reply.json()["AcsWorkStatus"])


async def events(face: Terminal, **cond: Any) -> dict[str, Any]:
    """Search the event log (first page unless told otherwise)."""
    body = {
        "AcsEventCond": {
            "searchID": "e1",
            "searchResultPosition": 0,
            "maxResults": 30,
            "major": 0,
            "minor": 0,
        }
        | cond
    }
    reply = await face.post_json("/ISAPI/AccessControl/AcsEvent", body)
    assert reply.status == 200, reply.body
    return dict(reply.json()["AcsEvent"])


async def test_remote_door_commands_and_work_status(face: Terminal) -> None:
    """Remote open pulses the lock; alwaysOpen/alwaysClose hold; bad doors refused."""
    door = "/ISAPI/AccessControl/RemoteControl/door/1"
    status = await work_status(face)
    assert (
        status["doorLockStatus"],
        status["doorStatus"],
        status["magneticStatus"],
    ) == (
        [0],
        [4],
        [0],
    )

    reply = await face.call("PUT", door, data=door_command("open"))
    assert reply.status == 200
    assert reply.xml().tag == NS + "ResponseStatus"
    assert reply.xml_text("statusCode") == "1"
    assert reply.xml_text("statusString") == "OK"
    assert (await work_status(face))["doorLockStatus"] == [1]

    async def relocked() -> bool:
        return bool((await work_status(face))["doorLockStatus"] == [0])

    await wait_until(relocked)
    log = await events(face)
    assert [(e["major"], e["minor"]) for e in log["InfoList"]] == [
        (3, 1024),
        (5, 21),
        (5, 22),
    ]

    await face.call("PUT", door, data=door_command("alwaysOpen"))
    status = await work_status(face)
    assert (status["doorStatus"], status["doorLockStatus"]) == ([2], [1])
    await asyncio.sleep(0.4)
    assert (await work_status(face))["doorLockStatus"] == [1]
    await face.call("PUT", door, data=door_command("alwaysClose"))
    status = await work_status(face)
    assert (status["doorStatus"], status["doorLockStatus"]) == ([3], [0])
    await face.call("PUT", door, data=door_command("close"))
    assert (await work_status(face))["doorStatus"] == [4]

    reply = await face.call(
        "PUT", "/ISAPI/AccessControl/RemoteControl/door/2", data=door_command("open")
    )
    assert reply.status == 400
    assert reply.xml_text("statusCode") == "4"
    assert reply.xml_text("statusString") == "Invalid Operation"
    reply = await face.call("PUT", door, data=door_command("explode"))
    assert (reply.status, reply.xml_text("statusCode")) == (400, "6")
    reply = await face.call("PUT", door, data="<RemoteControlDoor><cmd>")
    assert (reply.status, reply.xml_text("statusCode")) == (400, "5")


# --- persons -----------------------------------------------------------------------


USER_RECORD: Final = "/ISAPI/AccessControl/UserInfo/Record"
USER_SEARCH: Final = "/ISAPI/AccessControl/UserInfo/Search"
DETAIL_DELETE: Final = "/ISAPI/AccessControl/UserInfoDetail/Delete"
DELETE_PROCESS: Final = "/ISAPI/AccessControl/UserInfoDetail/DeleteProcess"
OLD_DELETE: Final = "/ISAPI/AccessControl/UserInfo/Delete"


async def test_persons_new_firmware(face: Terminal, sim: SimulatorProcess) -> None:
    """Add, refuse a duplicate, modify, page through 35 persons, delete async."""
    reply = await face.post_json(USER_RECORD, user("1001"))
    assert reply.status == 200
    assert reply.json()["statusCode"] == 1
    reply = await face.post_json(USER_RECORD, user("1001"))
    assert reply.status == 400
    assert reply.json()["statusCode"] == 6
    assert reply.json()["subStatusCode"] == "employeeNoAlreadyExist"
    reply = await face.post_json(USER_RECORD, {"UserInfo": {"name": "无号"}})
    assert (reply.status, reply.json()["subStatusCode"]) == (400, "badParameters")
    reply = await face.call("POST", USER_RECORD, json=user("1002"))
    assert reply.status == 400, "a JSON resource needs ?format=json"

    modify = {"UserInfo": {"employeeNo": "1001", "name": "张三丰"}}
    reply = await face.post_json("/ISAPI/AccessControl/UserInfo/Modify", modify, "PUT")
    assert reply.status == 200
    missing = {"UserInfo": {"employeeNo": "4040", "name": "无人"}}
    reply = await face.post_json("/ISAPI/AccessControl/UserInfo/Modify", missing, "PUT")
    assert reply.json()["subStatusCode"] == "employeeNoNotExist"
    for number in range(1002, 1036):
        reply = await face.post_json(
            "/ISAPI/AccessControl/UserInfo/SetUp",
            user(str(number), f"住户{number}"),
            "PUT",
        )
        assert reply.status == 200

    first = (await face.post_json(USER_SEARCH, search(0, 50))).json()["UserInfoSearch"]
    assert first["responseStatusStrg"] == "MORE"
    assert (first["numOfMatches"], first["totalMatches"]) == (30, 35)
    assert first["UserInfo"][0]["employeeNo"] == "1001"
    assert first["UserInfo"][0]["name"] == "张三丰"
    assert first["UserInfo"][0]["numOfFace"] == 0
    assert first["UserInfo"][0]["Valid"]["enable"] is True
    second = (await face.post_json(USER_SEARCH, search(30, 30))).json()[
        "UserInfoSearch"
    ]
    assert second["responseStatusStrg"] == "OK"
    assert (second["numOfMatches"], second["totalMatches"]) == (5, 35)
    assert second["UserInfo"][-1]["employeeNo"] == "1035"
    one = await face.post_json(
        USER_SEARCH, search(0, 30, EmployeeNoList=[{"employeeNo": "1007"}])
    )
    assert [u["name"] for u in one.json()["UserInfoSearch"]["UserInfo"]] == ["住户1007"]
    none = await face.post_json(
        USER_SEARCH, search(0, 30, EmployeeNoList=[{"employeeNo": "9999"}])
    )
    assert none.json()["UserInfoSearch"]["responseStatusStrg"] == "NO MATCH"
    assert none.json()["UserInfoSearch"]["numOfMatches"] == 0

    # New firmware deletes asynchronously; the old endpoint does not exist.
    reply = await face.post_json(
        OLD_DELETE,
        {"UserInfoDelCond": {"EmployeeNoList": [{"employeeNo": "1001"}]}},
        "PUT",
    )
    assert reply.status == 404
    body = {
        "UserInfoDetail": {
            "mode": "byEmployeeNo",
            "EmployeeNoList": [{"employeeNo": "1001"}, {"employeeNo": "1002"}],
        }
    }
    assert (await face.post_json(DETAIL_DELETE, body, "PUT")).status == 200
    polls: list[str] = []
    while not polls or polls[-1] != "success":
        reply = await face.call("GET", DELETE_PROCESS + JSON)
        polls.append(reply.json()["UserInfoDetailDeleteProcess"]["status"])
        assert len(polls) < 50
        await asyncio.sleep(0.05)
    assert polls[0] == "processing"
    persons = (await state(sim))["persons"]
    assert len(persons) == 33
    assert {"1001", "1002"}.isdisjoint(p["employee_no"] for p in persons)

    everyone = {"UserInfoDetail": {"mode": "all"}}
    assert (await face.post_json(DETAIL_DELETE, everyone, "PUT")).status == 200
    reply = await face.call("GET", DELETE_PROCESS + JSON)
    assert reply.json() == {"UserInfoDetailDeleteProcess": {"status": "processing"}}

    async def emptied() -> bool:
        return bool((await state(sim))["person_count"] == 0)

    await wait_until(emptied)


async def test_persons_old_firmware_and_capacity(
    old_face: Terminal, face: Terminal, sim: SimulatorProcess
) -> None:
    """Old firmware deletes synchronously; a full terminal refuses new persons."""
    for number in ("1", "2", "3"):
        assert (await old_face.post_json(USER_RECORD, user(number))).status == 200
    reply = await old_face.post_json(USER_RECORD, user("4"))
    assert reply.status == 400
    assert reply.json()["statusCode"] == 6
    assert reply.json()["subStatusCode"] == "deviceUserAlreadyFull"
    assert (await state(sim, "face-2"))["full"] is True

    reply = await old_face.post_json(
        DETAIL_DELETE, {"UserInfoDetail": {"mode": "all"}}, "PUT"
    )
    assert reply.status == 404
    assert (await old_face.call("GET", DELETE_PROCESS + JSON)).status == 404
    reply = await old_face.post_json(
        OLD_DELETE,
        {"UserInfoDelCond": {"EmployeeNoList": [{"employeeNo": "2"}]}},
        "PUT",
    )
    assert reply.status == 200
    remaining = [p["employee_no"] for p in (await state(sim, "face-2"))["persons"]]
    assert remaining == ["1", "3"]
    assert (await old_face.post_json(USER_RECORD, user("4"))).status == 200

    # set_full makes any terminal report full, until cleared.
    await sim.action("face-1", "set_full", {"full": True})
    reply = await face.post_json(USER_RECORD, user("1001"))
    assert reply.json()["subStatusCode"] == "deviceUserAlreadyFull"
    await sim.action("face-1", "set_full", {"full": False})
    assert (await face.post_json(USER_RECORD, user("1001"))).status == 200


# --- faces -------------------------------------------------------------------------


FACE_RECORD: Final = "/ISAPI/Intelligent/FDLib/FaceDataRecord" + JSON
FACE_SET_UP: Final = "/ISAPI/Intelligent/FDLib/FDSetUp" + JSON
FACE_DELETE: Final = "/ISAPI/Intelligent/FDLib/FDSearch/Delete" + JSON


async def test_face_upload_validation_and_delete(
    face: Terminal, sim: SimulatorProcess
) -> None:
    """A real JPEG is stored per person; bad pictures and strangers are refused."""
    await face.post_json(USER_RECORD, user("1001"))
    picture = jpeg(1)
    reply = await face.call("POST", FACE_RECORD, data=face_form("1001", picture))
    assert reply.status == 200, reply.body
    assert reply.json()["statusCode"] == 1
    person = (await state(sim))["persons"][0]
    assert person["has_face"] is True
    assert person["face_sha256"] == hashlib.sha256(picture).hexdigest()

    reply = await face.call("POST", FACE_RECORD, data=face_form("1001", jpeg(2)))
    assert (reply.status, reply.json()["subStatusCode"]) == (
        400,
        "deviceUserAlreadyExistFace",
    )
    replacement = jpeg(3)
    reply = await face.call("PUT", FACE_SET_UP, data=face_form("1001", replacement))
    assert reply.status == 200
    person = (await state(sim))["persons"][0]
    assert person["face_sha256"] == hashlib.sha256(replacement).hexdigest()

    for bad_picture in (
        b"GIF89a" + bytes(2000),
        b"\xff\xd8" + bytes(100),
        b"\xff\xd8" + bytes(4000),
    ):
        await face.post_json(USER_RECORD, user("1002"))
        reply = await face.call(
            "POST", FACE_RECORD, data=face_form("1002", bad_picture)
        )
        assert reply.status == 400
        assert reply.json()["statusCode"] == 6
        assert reply.json()["subStatusCode"] == "faceQualityNotGood"
    reply = await face.call("POST", FACE_RECORD, data=face_form("7777", jpeg()))
    assert reply.json()["subStatusCode"] == "employeeNoNotExist"

    listed = (await face.post_json(USER_SEARCH, search(0, 30))).json()
    first = listed["UserInfoSearch"]["UserInfo"][0]
    assert first["numOfFace"] == 1
    face_url = first["faceURL"].removeprefix(face.base)
    reply = await face.call("GET", face_url)
    assert (reply.status, reply.body) == (200, replacement)

    delete_path = FACE_DELETE + "&FDID=1&faceLibType=blackFD"
    reply = await face.call("PUT", delete_path, json={"FPID": [{"value": "1001"}]})
    assert reply.status == 200
    assert (await state(sim))["persons"][0]["has_face"] is False
    reply = await face.call(
        "PUT",
        FACE_DELETE + "&FDID=2&faceLibType=blackFD",
        json={"FPID": [{"value": "1001"}]},
    )
    assert reply.status == 400


# --- events --------------------------------------------------------------------------


async def test_present_face_and_event_search(
    face: Terminal, sim: SimulatorProcess
) -> None:
    """Face, stranger and forced-door events land in the log with real codes."""
    await face.post_json(USER_RECORD, user("1001", "李四"))
    await face.post_json(USER_RECORD, user("1002", "王五"))
    await face.call("POST", FACE_RECORD, data=face_form("1001", jpeg()))

    passed = await sim.action("face-1", "present_face", {"employee_no": "1001"})
    assert passed == {"result": "passed", "serials": [1, 2]}
    assert (await sim.action("face-1", "present_face", {"employee_no": "1002"}))[
        "result"
    ] == "failed"
    assert (await sim.action("face-1", "present_face", {"employee_no": "9"}))[
        "result"
    ] == "stranger"
    assert (await sim.action("face-1", "present_stranger"))["serials"] == [5]
    assert (await sim.action("face-1", "force_door"))["serials"] == [6]
    doors = (await state(sim))["doors"]
    assert doors[0]["contact"] == "open"

    async def settled() -> bool:
        return bool((await state(sim))["events"]["last_serial"] == 8)

    await wait_until(settled)
    log = await events(face)
    assert log["responseStatusStrg"] == "OK"
    assert log["totalMatches"] == log["numOfMatches"] == 8
    codes = [(e["major"], e["minor"]) for e in log["InfoList"]]
    assert sorted(codes) == sorted(
        [(5, 75), (5, 21), (5, 76), (5, 80), (5, 80), (5, 27), (5, 22), (5, 26)]
    )
    face_pass = log["InfoList"][0]
    assert (face_pass["major"], face_pass["minor"]) == (5, 75)
    assert face_pass["employeeNoString"] == "1001"
    assert face_pass["name"] == "李四"
    assert face_pass["serialNo"] == 1
    assert face_pass["doorNo"] == 1
    assert face_pass["currentVerifyMode"] == "face"
    assert face_pass["time"].endswith("+08:00")
    picture = await face.call("GET", face_pass["pictureURL"].removeprefix(face.base))
    assert picture.status == 200
    assert picture.body.startswith(b"\xff\xd8")

    only_faces = await events(face, minor=75)
    assert [e["serialNo"] for e in only_faces["InfoList"]] == [1]
    page = await events(face, maxResults=3, searchResultPosition=2)
    assert page["responseStatusStrg"] == "MORE"
    assert [e["serialNo"] for e in page["InfoList"]] == [3, 4, 5]
    assert (await events(face, maxResults=100))["numOfMatches"] == 8
    future = await events(face, startTime="2099-01-01T00:00:00+08:00")
    assert future["responseStatusStrg"] == "NO MATCH"
    assert "InfoList" not in future
    operations = await events(face, major=3)
    assert operations["totalMatches"] == 0

    snapshot = await face.call("GET", "/ISAPI/Streaming/channels/101/picture")
    assert snapshot.status == 200
    assert snapshot.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(snapshot.body)) as image:
        assert image.format == "JPEG"


# --- alertStream ---------------------------------------------------------------------


async def test_alert_stream_replay_live_heartbeat_and_single_slot(
    face: Terminal, sim: SimulatorProcess
) -> None:
    """Replay old events (currentEvent false), then live ones; one slot, held."""
    await sim.action("face-1", "enroll_person", {"employee_no": "1001", "name": "赵六"})
    for _ in range(4):
        await sim.action("face-1", "present_stranger")

    async with face.stream() as response:
        assert response.status == 200
        assert (
            response.headers["Content-Type"]
            == "multipart/mixed; boundary=MIME_boundary"
        )
        reader = PartReader(response)
        replayed = [await reader.event() for _ in range(3)]
        assert [e["serialNo"] for e in replayed] == [2, 3, 4]
        assert all(e["currentEvent"] is False for e in replayed)
        assert replayed[0]["subEventType"] == 80

        headers, heartbeat = await reader.part()
        assert headers["content-type"] == 'application/json; charset="UTF-8"'
        assert heartbeat["eventType"] == "videoloss"
        assert heartbeat["eventState"] == "inactive"

        second = await face.call("GET", STREAM_PATH)
        assert second.status == 404
        assert (await state(sim))["streams"] == 1

        await sim.action("face-1", "present_face", {"employee_no": "1001"})
        live = await reader.event()
        assert live["currentEvent"] is True
        assert (live["majorEventType"], live["subEventType"]) == (5, 75)
        assert live["employeeNoString"] == "1001"
        assert live["name"] == "赵六"
        assert live["serialNo"] == 5
        assert live["frontSerialNo"] == 4
        lock = await reader.event()
        assert (lock["subEventType"], lock["serialNo"]) == (21, 6)
        assert (await reader.event())["subEventType"] == 22

    # The slot stays held for slot_hold_seconds after the client leaves.
    async def released() -> bool:
        return bool((await state(sim))["streams"] == 0)

    await wait_until(released)
    assert (await face.call("GET", STREAM_PATH)).status == 404

    async def slot_free() -> bool:
        return (await state(sim))["stream_slot_held"] is False

    await wait_until(slot_free)
    async with face.stream() as response:
        assert response.status == 200


async def test_alert_stream_split_parts_lf_and_cut(
    old_face: Terminal, sim: SimulatorProcess
) -> None:
    """Parts arrive in pieces (LF framing here) and a cut leaves half a part."""
    async with old_face.stream() as response:
        reader = PartReader(response)
        for _ in range(2):
            _, body = await reader.part()
            assert body["eventType"] == "videoloss"
        await sim.action("face-2", "force_door")
        forced = await reader.event()
        assert (forced["majorEventType"], forced["subEventType"]) == (5, 27)
        assert forced["currentEvent"] is True
        raw = b"".join(reader.chunks)
        assert b"\r\n" not in raw
        assert raw.startswith(b"--MIME_boundary\nContent-Type: application/json")
        # Three parts came in at least six pieces: none arrived whole.
        assert len(reader.chunks) >= 6

        cut = asyncio.create_task(sim.action("face-2", "disconnect_streams"))
        with pytest.raises((EOFError, aiohttp.ClientPayloadError)):
            await reader.read_to_end()
        assert (await cut) == {"cut": 1}
    # The last part announced more body than it delivered.
    raw = b"".join(reader.chunks)
    head, _, partial = raw[raw.rindex(b"--MIME_boundary\n") :].partition(b"\n\n")
    announced = re.search(rb"Content-Length: (\d+)", head)
    assert announced is not None
    assert 0 < len(partial) < int(announced[1])


# --- reboot and reset ----------------------------------------------------------------


async def test_reboot_keeps_data_and_serials_reset_wipes(
    face: Terminal, sim: SimulatorProcess
) -> None:
    """A reboot drops connections and comes back on the same port with its memory."""
    await face.post_json(USER_RECORD, user("1001", "孙七"))
    await face.call("POST", FACE_RECORD, data=face_form("1001", jpeg()))
    await sim.action("face-1", "present_face", {"employee_no": "1001"})
    before = await state(sim)
    serial = before["events"]["last_serial"]
    assert serial == 2

    async with face.stream() as response:
        reader = PartReader(response)
        await reader.event()
        answer = await sim.action("face-1", "reboot")
        assert answer["port"] == face.port
        with pytest.raises((EOFError, aiohttp.ClientPayloadError)):
            await reader.read_to_end()
    assert (await state(sim))["online"] is False
    with pytest.raises(aiohttp.ClientConnectionError):
        await face.raw("GET", "/ISAPI/System/deviceInfo")
    with pytest.raises(Exception, match="rebooting"):
        await sim.action("face-1", "present_stranger")

    async def back() -> bool:
        return bool((await state(sim))["online"])

    await wait_until(back)
    after = await state(sim)
    assert after["persons"] == before["persons"]
    assert after["events"]["last_serial"] == serial
    assert after["reboots"] == 1
    assert after["streams"] == 0
    assert (await face.call("GET", "/ISAPI/System/deviceInfo")).status == 200
    stranger = await sim.action("face-1", "present_stranger")
    assert stranger["serials"] == [serial + 1]
    log = await events(face)
    assert [e["serialNo"] for e in log["InfoList"]] == [1, 2, 3]

    await sim.action("face-1", "reset")
    wiped = await state(sim)
    assert wiped["persons"] == []
    assert wiped["events"]["last_serial"] == serial + 1
    listed = (await face.post_json(USER_SEARCH, search(0, 30))).json()
    assert listed["UserInfoSearch"]["totalMatches"] == 0


def test_bad_option_names_the_device(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """A mistyped option stops the simulator, naming the device and the option."""
    document = json.loads((SCENARIO_DIR / "minimal.json").read_text(encoding="utf-8"))
    document["devices"][0]["options"] |= {"firmware": "newest", "heartbeat_secs": 1}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SimulatorStartError) as raised:
        start_simulator(path)
    assert raised.value.returncode == 1
    assert "device 'face-1' (face_terminal) could not start" in raised.value.stderr
    assert "option 'firmware' of face-1 must be one of new, old" in raised.value.stderr
