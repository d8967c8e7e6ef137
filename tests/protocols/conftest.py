"""Play a minimal Hikvision access terminal over loopback for the ISAPI client tests.

This peer is written from the documented formats only, independently of the
simulator, so that a codec bug cannot cancel out on both sides. It checks
Digest answers itself (MD5 and MD5-sess), refuses a nonce on its third use,
locks the account after repeated failures, and serves a held-open alertStream
that replays the log first and can be told to cut a part in the middle.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
import email.policy
import hashlib
import ipaddress
import json
from pathlib import Path
import secrets
import ssl
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.smart_community.protocols.isapi import IsapiClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "isapi"
USERNAME = "admin"
PASSWORD = "Pa55-word!"
BOUNDARY = "MIME_boundary"
DEVICE_TZ_OFFSET = "+08:00"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Skip Home Assistant: the protocol client needs none."""


def fixture_bytes(name: str) -> bytes:
    """Return a fixture file's bytes."""
    return (FIXTURES / name).read_bytes()


def md5(text: str) -> str:
    """Return the hex MD5 of a text."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def parse_digest_header(value: str) -> dict[str, str]:
    """Split a Digest Authorization value into its parameters (server side)."""
    params: dict[str, str] = {}
    text = value.removeprefix("Digest ")
    pos = 0
    while pos < len(text):
        eq = text.index("=", pos)
        name = text[pos:eq].strip(" ,")
        pos = eq + 1
        if text[pos] == '"':
            chars = []
            pos += 1
            while text[pos] != '"':
                if text[pos] == "\\":
                    pos += 1
                chars.append(text[pos])
                pos += 1
            params[name] = "".join(chars)
            pos += 1
        else:
            end = text.find(",", pos)
            end = len(text) if end < 0 else end
            params[name] = text[pos:end].strip()
            pos = end
        while pos < len(text) and text[pos] in ", ":
            pos += 1
    return params


@dataclass
class Recorded:
    """Remember one request the terminal received."""

    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    content_type: str
    body: bytes


@dataclass
class StreamConnection:
    """Hold what the terminal will write on one alertStream connection."""

    queue: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)
    closed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class StreamPlan:
    """Tell the terminal how to serve the next alertStream connection."""

    busy: bool = False
    line_end: bytes = b"\r\n"
    content_length: bool = True
    chunk_size: int | None = None
    replay: bool = True


@dataclass
class FakeTerminal:
    """Behave like a DS-K1T access terminal, as far as the client tests need."""

    username: str = USERNAME
    password: str = PASSWORD
    realm: str = "DS-K1T341AMF"
    algorithm: str | None = "MD5"
    qop: str | None = "auth"
    offer_basic: bool = True
    offer_digest: bool = True
    attempts: int = 0
    delay: float = 0
    nonce_limit: int = 2
    lock_after: int = 5
    unlock_seconds: int = 1800
    lock_body_json: bool = False
    delete_variant: str = "detail"
    delete_polls: int = 2
    delete_process_supported: bool = True
    capacity: int = 50
    persons: dict[str, dict[str, Any]] = field(default_factory=dict)
    faces: dict[str, bytes] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    basic_seen: bool = False
    failures: int = 0
    locked: bool = False
    nonces: dict[str, int] = field(default_factory=dict)
    last_nc: dict[str, int] = field(default_factory=dict)
    injected: dict[tuple[str, str], deque[web.StreamResponse]] = field(
        default_factory=dict
    )
    stream_plans: deque[StreamPlan] = field(default_factory=deque)
    connections: list[StreamConnection] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    picture: bytes = b"\xff\xd8\xff\xe0snapshot\xff\xd9"
    _delete_remaining: int = 0

    # ---- test controls ----

    def inject(self, method: str, path: str, response: web.StreamResponse) -> None:
        """Answer the next request to a path with a prepared response."""
        self.injected.setdefault((method, path), deque()).append(response)

    def inject_fixture(
        self, method: str, path: str, name: str, status: int = 400
    ) -> None:
        """Answer the next request to a path with a fixture file."""
        content_type = (
            "application/xml" if name.endswith(".xml") else "application/json"
        )
        self.inject(
            method,
            path,
            web.Response(
                status=status, body=fixture_bytes(name), content_type=content_type
            ),
        )

    def record_event(
        self,
        major: int,
        minor: int,
        *,
        employee_no: str | None = None,
        name: str | None = None,
        door_no: int | None = 1,
        time: datetime | None = None,
    ) -> dict[str, Any]:
        """Add an event to the log (as AcsEvent reports it) and return it."""
        serial = (self.log[-1]["serialNo"] + 1) if self.log else 1
        moment = time or datetime(2026, 3, 2, 8, 0, tzinfo=UTC) + timedelta(
            seconds=serial
        )
        entry: dict[str, Any] = {
            "major": major,
            "minor": minor,
            "time": moment.astimezone(
                datetime.fromisoformat(f"2026-01-01T00:00:00{DEVICE_TZ_OFFSET}").tzinfo
            ).isoformat(timespec="seconds"),
            "serialNo": serial,
            "currentVerifyMode": "cardOrFace" if employee_no else "invalid",
            "mask": "unknown",
        }
        if door_no is not None:
            entry["doorNo"] = door_no
        if employee_no is not None:
            entry |= {
                "employeeNoString": employee_no,
                "name": name or "",
                "userType": "normal",
                "cardReaderNo": 1,
                "pictureURL": f"https://192.0.2.10/LOCALS/pic/acsLinkCap/{serial}.jpeg@WEB{serial:012d}",
            }
        self.log.append(entry)
        return entry

    def occur(self, major: int, minor: int, **kwargs: Any) -> dict[str, Any]:
        """Log an event and send it live on the open stream, if any."""
        entry = self.record_event(major, minor, **kwargs)
        if self.connections and not self.connections[-1].closed.is_set():
            self.connections[-1].queue.put_nowait(("event", entry))
        return entry

    def push(self, action: str, payload: Any = None) -> None:
        """Queue an action on the current stream: event, raw, cut, end, heartbeat."""
        self.connections[-1].queue.put_nowait((action, payload))

    # ---- digest ----

    def _new_nonce(self) -> str:
        """Issue a nonce."""
        nonce = secrets.token_hex(16)
        self.nonces[nonce] = 0
        return nonce

    def _challenge(self, *, stale: bool = False) -> list[tuple[str, str]]:
        """Return WWW-Authenticate headers with a fresh nonce."""
        parts = [f'realm="{self.realm}"']
        if self.qop:
            parts.append(f'qop="{self.qop}"')
        parts += [f'nonce="{self._new_nonce()}"', 'opaque=""']
        if self.algorithm:
            parts.append(f"algorithm={self.algorithm}")
        parts.append(f'stale="{"TRUE" if stale else "FALSE"}"')
        headers = (
            [("WWW-Authenticate", "Digest " + ", ".join(parts))]
            if self.offer_digest
            else []
        )
        if self.offer_basic:
            headers.append(("WWW-Authenticate", f'Basic realm="{self.realm}"'))
        return headers

    def _refusal(self, *, stale: bool = False) -> web.Response:
        """Answer 401 with a challenge and the account state."""
        if self.locked:
            if self.lock_body_json:
                body = fixture_bytes("user_check_locked.json")
                content_type = "application/json"
            else:
                body = (
                    fixture_bytes("user_check_locked.xml")
                    .decode()
                    .replace("1791", str(self.unlock_seconds))
                    .encode()
                )
                content_type = "application/xml"
        else:
            left = max(self.lock_after - self.failures, 0)
            body = (
                fixture_bytes("user_check_retry.xml")
                .decode()
                .replace("<retryLoginTime>3<", f"<retryLoginTime>{left}<")
                .encode()
            )
            content_type = "application/xml"
        response = web.Response(status=401, body=body, content_type=content_type)
        for name, value in self._challenge(stale=stale):
            response.headers.add(name, value)
        return response

    def _check_auth(self, request: web.Request) -> web.Response | None:
        """Return a 401 unless the request carries a valid Digest answer."""
        header = request.headers.get("Authorization")
        if header is None:
            return self._refusal()
        if header.lower().startswith("basic"):
            self.basic_seen = True
            return self._refusal()
        if self.locked:
            return self._refusal()
        params = parse_digest_header(header)
        nonce = params.get("nonce", "")
        if nonce not in self.nonces or self.nonces[nonce] >= self.nonce_limit:
            return self._refusal(stale=True)
        self.nonces[nonce] += 1
        assert params["uri"] == request.raw_path
        assert params["realm"] == self.realm
        algorithm = params.get("algorithm", "MD5").upper()
        ha1 = md5(f"{params['username']}:{self.realm}:{self.password}")
        if algorithm == "MD5-SESS":
            ha1 = md5(f"{ha1}:{nonce}:{params['cnonce']}")
        ha2 = md5(f"{request.method}:{params['uri']}")
        if self.qop:
            nc = int(params["nc"], 16)
            assert nc > self.last_nc.get(nonce, 0), "nonce count must go up"
            self.last_nc[nonce] = nc
            expected = md5(
                f"{ha1}:{nonce}:{params['nc']}:{params['cnonce']}:{params['qop']}:{ha2}"
            )
        else:
            assert "nc" not in params
            expected = md5(f"{ha1}:{nonce}:{ha2}")
        if params["username"] != self.username or params["response"] != expected:
            self.failures += 1
            if self.failures >= self.lock_after:
                self.locked = True
            return self._refusal()
        self.failures = 0
        return None

    # ---- endpoints ----

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Authenticate, record and dispatch any request."""
        body = await request.read()
        self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if (refusal := self._check_auth(request)) is not None:
            return refusal
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.query),
                request.headers.get("Authorization"),
                request.headers.get("Content-Type", ""),
                body,
            )
        )
        if queue := self.injected.get((request.method, request.path)):
            return queue.popleft()
        handler = ROUTES.get((request.method, request.path))
        if handler is None:
            if request.method == "PUT" and request.path.startswith(
                "/ISAPI/AccessControl/RemoteControl/door/"
            ):
                return self.remote_control(request, body)
            if request.method == "GET" and request.path.startswith("/LOCALS/pic/"):
                return web.Response(body=self.picture, content_type="image/jpeg")
            return web.Response(status=404, text="Not Found")
        return await handler(self, request, body)

    def remote_control(self, request: web.Request, body: bytes) -> web.Response:
        """Accept a RemoteControlDoor command."""
        assert b'xmlns="http://www.isapi.org/ver20/XMLSchema"' in body
        assert request.headers["Content-Type"] == "application/xml"
        return web.Response(
            body=fixture_bytes("response_ok.xml"), content_type="application/xml"
        )

    async def device_info(self, request: web.Request, body: bytes) -> web.Response:
        """Answer deviceInfo."""
        return web.Response(
            body=fixture_bytes("device_info.xml"), content_type="application/xml"
        )

    async def work_status(self, request: web.Request, body: bytes) -> web.Response:
        """Answer AcsWorkStatus."""
        assert request.query["format"] == "json"
        return web.Response(
            body=fixture_bytes("acs_work_status.json"), content_type="application/json"
        )

    @staticmethod
    def ok() -> web.Response:
        """Answer a JSON ResponseStatus OK."""
        return web.Response(
            body=fixture_bytes("response_ok.json"), content_type="application/json"
        )

    @staticmethod
    def status(status: int, code: int, sub: str, message: str = "") -> web.Response:
        """Answer a JSON ResponseStatus error."""
        return web.json_response(
            {
                "statusCode": code,
                "statusString": "Invalid Content",
                "subStatusCode": sub,
                "errorMsg": message or sub,
            },
            status=status,
        )

    async def user_record(self, request: web.Request, body: bytes) -> web.Response:
        """Add a person."""
        info = json.loads(body)["UserInfo"]
        if info["employeeNo"] in self.persons:
            return self.status(400, 6, "employeeNoAlreadyExist", "checkEmployeeNo")
        if len(self.persons) >= self.capacity:
            return self.status(400, 6, "userFull")
        self.persons[info["employeeNo"]] = info
        return self.ok()

    async def user_modify(self, request: web.Request, body: bytes) -> web.Response:
        """Change a person."""
        info = json.loads(body)["UserInfo"]
        if info["employeeNo"] not in self.persons:
            return self.status(400, 6, "employeeNoNotExist")
        self.persons[info["employeeNo"]] |= info
        return self.ok()

    @staticmethod
    def page(
        answer_key: str,
        list_key: str,
        condition: dict[str, Any],
        items: list[dict[str, Any]],
    ) -> web.Response:
        """Answer one page of a search, 30 at most."""
        position = condition["searchResultPosition"]
        size = min(condition["maxResults"], 30)
        chunk = items[position : position + size]
        more = position + len(chunk) < len(items)
        answer: dict[str, Any] = {
            "searchID": condition["searchID"],
            "responseStatusStrg": "MORE" if more else ("OK" if chunk else "NO MATCH"),
            "numOfMatches": len(chunk),
            "totalMatches": len(items),
        }
        if chunk:
            answer[list_key] = chunk
        return web.json_response({answer_key: answer})

    async def user_search(self, request: web.Request, body: bytes) -> web.Response:
        """Page through persons."""
        condition = json.loads(body)["UserInfoSearchCond"]
        wanted = {item["employeeNo"] for item in condition.get("EmployeeNoList", [])}
        items = [
            info | {"numOfFace": 1 if number in self.faces else 0}
            for number, info in sorted(self.persons.items())
            if not wanted or number in wanted
        ]
        return self.page("UserInfoSearch", "UserInfo", condition, items)

    def _delete(self, numbers: list[str]) -> None:
        """Remove persons and their faces."""
        for number in numbers:
            self.persons.pop(number, None)
            self.faces.pop(number, None)

    async def user_delete(self, request: web.Request, body: bytes) -> web.Response:
        """Delete persons the old way."""
        if self.delete_variant != "legacy":
            return self.status(400, 4, "notSupport")
        condition = json.loads(body)["UserInfoDelCond"]
        self._delete([item["employeeNo"] for item in condition["EmployeeNoList"]])
        return self.ok()

    async def user_detail_delete(
        self, request: web.Request, body: bytes
    ) -> web.Response:
        """Delete persons the new, background way."""
        if self.delete_variant != "detail":
            return web.Response(
                status=400,
                body=fixture_bytes("error_not_support.xml"),
                content_type="application/xml",
            )
        detail = json.loads(body)["UserInfoDetail"]
        assert detail["mode"] == "byEmployeeNo"
        self._delete([item["employeeNo"] for item in detail["EmployeeNoList"]])
        self._delete_remaining = self.delete_polls
        return self.ok()

    async def delete_process(self, request: web.Request, body: bytes) -> web.Response:
        """Report the background delete's progress."""
        if not self.delete_process_supported:
            return web.Response(status=404)
        status = "processing" if self._delete_remaining > 0 else "success"
        self._delete_remaining -= 1
        return web.json_response({"UserInfoDetailDeleteProcess": {"status": status}})

    async def face_record(self, request: web.Request, body: bytes) -> web.Response:
        """Store a face from a multipart upload."""
        message = BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: "
            + request.headers["Content-Type"].encode()
            + b"\r\n\r\n"
            + body
        )
        record: dict[str, Any] = {}
        image = b""
        for part in message.iter_parts():
            assert isinstance(part, EmailMessage)
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            if name == "FaceDataRecord":
                record = json.loads(payload)
            elif name == "FaceImage":
                assert part.get_content_type() == "image/jpeg"
                image = payload
        assert record["faceLibType"] == "blackFD"
        assert record["FDID"] == "1"
        number = record["FPID"]
        if number not in self.persons:
            return self.status(400, 6, "employeeNoNotExist")
        if request.method == "POST" and number in self.faces:
            return self.status(400, 6, "deviceUserAlreadyExistFace")
        if not image.endswith(b"\xff\xd9"):
            return web.json_response(
                json.loads(fixture_bytes("error_face_quality.json")), status=400
            )
        self.faces[number] = image
        return web.json_response(
            {
                "statusCode": 1,
                "statusString": "OK",
                "subStatusCode": "ok",
                "FPID": number,
            }
        )

    async def face_delete(self, request: web.Request, body: bytes) -> web.Response:
        """Remove faces."""
        assert request.query["FDID"] == "1"
        assert request.query["faceLibType"] == "blackFD"
        for item in json.loads(body)["FPID"]:
            self.faces.pop(item["value"], None)
        return self.ok()

    async def acs_event(self, request: web.Request, body: bytes) -> web.Response:
        """Page through the event log."""
        condition = json.loads(body)["AcsEventCond"]
        start = datetime.fromisoformat(condition["startTime"])
        end = datetime.fromisoformat(condition["endTime"])
        items = [
            entry
            for entry in self.log
            if start <= datetime.fromisoformat(entry["time"]) <= end
        ]
        return self.page("AcsEvent", "InfoList", condition, items)

    async def snapshot(self, request: web.Request, body: bytes) -> web.Response:
        """Answer a JPEG."""
        return web.Response(body=self.picture, content_type="image/jpeg")

    # ---- alert stream ----

    @staticmethod
    def stream_json(entry: dict[str, Any], *, live: bool) -> dict[str, Any]:
        """Turn a log entry into an alertStream part's JSON."""
        fields = {
            key: value
            for key, value in entry.items()
            if key not in {"major", "minor", "time", "pictureURL"}
        }
        fields |= {
            "deviceName": "Entrance",
            "majorEventType": entry["major"],
            "subEventType": entry["minor"],
            "currentEvent": live,
            "frontSerialNo": entry["serialNo"] - 1,
        }
        return {
            "ipAddress": "192.0.2.10",
            "macAddress": "ac:cb:51:12:34:56",
            "dateTime": entry["time"],
            "activePostCount": 1,
            "eventType": "AccessControllerEvent",
            "eventState": "active",
            "eventDescription": "Access Controller Event",
            "AccessControllerEvent": fields,
        }

    @staticmethod
    def part(
        body: bytes, plan: StreamPlan, content_type: bytes = b"application/json"
    ) -> bytes:
        """Frame one multipart part."""
        n = plan.line_end
        head = b"--" + BOUNDARY.encode() + n + b"Content-Type: " + content_type + n
        if plan.content_length:
            head += b"Content-Length: " + str(len(body)).encode() + n
        return head + n + body + n

    async def alert_stream(
        self, request: web.Request, body: bytes
    ) -> web.StreamResponse:
        """Hold the stream open: replay the log, then send what the test pushes."""
        plan = self.stream_plans.popleft() if self.stream_plans else StreamPlan()
        if plan.busy:
            return web.Response(status=404, text="Not Found")
        response = web.StreamResponse(
            headers={"Content-Type": f"multipart/mixed; boundary={BOUNDARY}"}
        )
        await response.prepare(request)
        connection = StreamConnection()
        self.connections.append(connection)
        self.connected.set()

        async def write(data: bytes) -> None:
            """Write, in chunks if the plan says so."""
            size = plan.chunk_size or len(data) or 1
            for start in range(0, len(data), size):
                await response.write(data[start : start + size])
                if plan.chunk_size:
                    await asyncio.sleep(0)

        try:
            if plan.replay:
                history = b"".join(
                    self.part(
                        json.dumps(self.stream_json(entry, live=False)).encode(), plan
                    )
                    for entry in self.log
                )
                await write(history)
            while True:
                action, payload = await connection.queue.get()
                match action:
                    case "event":
                        data = json.dumps(self.stream_json(payload, live=True)).encode()
                        await write(self.part(data, plan))
                    case "heartbeat":
                        data = json.dumps(
                            {
                                "eventType": "heartBeat",
                                "dateTime": "2026-03-02T08:00:00+08:00",
                            }
                        ).encode()
                        await write(self.part(data, plan))
                    case "raw":
                        await write(payload)
                    case "cut":
                        # Half a part, then the connection drops without a final chunk.
                        data = self.part(
                            json.dumps(self.stream_json(payload, live=True)).encode(),
                            plan,
                        )
                        await write(data[: len(data) // 2])
                        assert request.transport is not None
                        request.transport.close()
                        return response
                    case "end":
                        if payload is not None:
                            await write(payload)
                        await response.write_eof()
                        return response
        finally:
            connection.closed.set()


ROUTES = {
    ("GET", "/ISAPI/System/deviceInfo"): FakeTerminal.device_info,
    ("GET", "/ISAPI/AccessControl/AcsWorkStatus"): FakeTerminal.work_status,
    ("POST", "/ISAPI/AccessControl/UserInfo/Record"): FakeTerminal.user_record,
    ("PUT", "/ISAPI/AccessControl/UserInfo/Modify"): FakeTerminal.user_modify,
    ("POST", "/ISAPI/AccessControl/UserInfo/Search"): FakeTerminal.user_search,
    ("PUT", "/ISAPI/AccessControl/UserInfo/Delete"): FakeTerminal.user_delete,
    (
        "PUT",
        "/ISAPI/AccessControl/UserInfoDetail/Delete",
    ): FakeTerminal.user_detail_delete,
    (
        "GET",
        "/ISAPI/AccessControl/UserInfoDetail/DeleteProcess",
    ): FakeTerminal.delete_process,
    ("POST", "/ISAPI/Intelligent/FDLib/FaceDataRecord"): FakeTerminal.face_record,
    ("PUT", "/ISAPI/Intelligent/FDLib/FDSetUp"): FakeTerminal.face_record,
    ("PUT", "/ISAPI/Intelligent/FDLib/FDSearch/Delete"): FakeTerminal.face_delete,
    ("POST", "/ISAPI/AccessControl/AcsEvent"): FakeTerminal.acs_event,
    ("GET", "/ISAPI/Streaming/channels/101/picture"): FakeTerminal.snapshot,
    ("GET", "/ISAPI/Event/notification/alertStream"): FakeTerminal.alert_stream,
}


@dataclass
class RunningTerminal:
    """Tie a fake terminal to the server that serves it."""

    terminal: FakeTerminal
    server: TestServer

    @property
    def port(self) -> int:
        """Return the port the server listens on."""
        assert self.server.port is not None
        return self.server.port


async def start_terminal(
    terminal: FakeTerminal, ssl_context: ssl.SSLContext | None = None
) -> RunningTerminal:
    """Serve a fake terminal on 127.0.0.1."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", terminal.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=ssl_context)
    return RunningTerminal(terminal, server)


@pytest.fixture
def terminal_state() -> FakeTerminal:
    """Return the state of the fake terminal, to set up before it starts."""
    return FakeTerminal()


@pytest.fixture
async def running(
    socket_enabled: None, terminal_state: FakeTerminal
) -> AsyncIterator[RunningTerminal]:
    """Serve the fake terminal over plain HTTP."""
    running = await start_terminal(terminal_state)
    yield running
    await running.server.close()


@pytest.fixture
def terminal(running: RunningTerminal) -> FakeTerminal:
    """Return the running fake terminal."""
    return running.terminal


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """Return a client session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(running: RunningTerminal, session: aiohttp.ClientSession) -> IsapiClient:
    """Return a client for the fake terminal, with fast delete polling."""
    return IsapiClient(
        host="127.0.0.1",
        port=running.port,
        username=USERNAME,
        password=PASSWORD,
        session=session,
        request_timeout=5,
        delete_poll_interval=0,
    )


@pytest.fixture(scope="session")
def self_signed_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key."""
    pytest.importorskip(
        "cryptography", reason="cryptography is needed to make a test certificate"
    )
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DS-K1T341AMF")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
async def running_tls(
    socket_enabled: None,
    terminal_state: FakeTerminal,
    self_signed_cert: tuple[Path, Path],
) -> AsyncIterator[RunningTerminal]:
    """Serve the fake terminal over HTTPS with a self-signed certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed_cert)
    running = await start_terminal(terminal_state, context)
    yield running
    await running.server.close()


class SleepRecorder:
    """Stand in for asyncio.sleep: record delays and yield to the loop only."""

    def __init__(self) -> None:
        """Start with no delays."""
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        """Record a delay without waiting for it."""
        self.delays.append(delay)
        await asyncio.sleep(0)
