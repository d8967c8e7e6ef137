"""Test the OCPP 1.6J central system over loopback, the test playing the charge point.

The charge point side is a plain aiohttp websocket client that writes and
reads OCPP-J arrays itself; the handler is a small recorder written here.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
import json
import logging
import socket
from typing import Any

import aiohttp
import pytest

from custom_components.smart_community.protocols.ocpp.connection import (
    ChargePointConnection,
    Problem,
)
from custom_components.smart_community.protocols.ocpp.errors import (
    CallErrorReceivedError,
    CallRefusedError,
    CallTimeoutError,
    ErrorCode,
    InvalidResponseError,
    NotConnectedError,
)
from custom_components.smart_community.protocols.ocpp.messages import Payload
from custom_components.smart_community.protocols.ocpp.server import (
    SUBPROTOCOL,
    Admission,
    CentralSystemServer,
)

WAIT = 5.0
CP = "CP-0001"
PASSWORD = "0123456789abcdef"
BOOT = {"chargePointVendor": "绿能", "chargePointModel": "EB-10"}


@dataclass
class Recorder:
    """Play the centre: admit known IDs, answer requests, record everything."""

    passwords: dict[str, str | None] = field(
        default_factory=lambda: {CP: PASSWORD, "CP-open": None, "CP 2": None}
    )
    requests: list[tuple[str, str, Payload]] = field(default_factory=list)
    opened: list[ChargePointConnection] = field(default_factory=list)
    closed: list[ChargePointConnection] = field(default_factory=list)
    problems: list[tuple[Problem, str | None, str, str]] = field(default_factory=list)
    admissions: list[tuple[str, str | None]] = field(default_factory=list)
    # Close the charge point's connection when it causes this problem.
    drop_on: Problem | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def admission(self, charge_point_id: str, password: str | None) -> Admission:
        """Admit known IDs with their password, if they have one."""
        self.admissions.append((charge_point_id, password))
        if charge_point_id not in self.passwords:
            return Admission.UNKNOWN
        expected = self.passwords[charge_point_id]
        if expected is None or password == expected:
            return Admission.ACCEPTED
        return Admission.UNAUTHORIZED

    def handle_request(
        self, connection: ChargePointConnection, action: str, payload: Payload
    ) -> Payload:
        """Answer Heartbeat and BootNotification; refuse or fail on request."""
        self.requests.append((connection.charge_point_id, action, payload))
        match action:
            case "BootNotification":
                if payload["chargePointModel"] == "refuse":
                    raise CallRefusedError(ErrorCode.SECURITY_ERROR, "not today")
                if payload["chargePointModel"] == "crash":
                    raise RuntimeError("the handler broke")
                return {
                    "status": "Accepted",
                    "currentTime": "2026-05-01T08:00:00Z",
                    "interval": 300,
                }
            case "Heartbeat":
                return {"currentTime": "2026-05-01T08:00:00Z"}
        return {}

    def connection_opened(self, connection: ChargePointConnection) -> None:
        """Record an opened connection."""
        self.opened.append(connection)

    def connection_closed(self, connection: ChargePointConnection) -> None:
        """Record a closed connection."""
        self.closed.append(connection)

    def problem(
        self, problem: Problem, charge_point_id: str | None, peer: str, detail: str
    ) -> None:
        """Record a problem; drop the link if the test asked for it."""
        self.problems.append((problem, charge_point_id, peer, detail))
        if problem is self.drop_on:
            connection = next(
                c for c in self.opened if c.charge_point_id == charge_point_id
            )
            # Eager: the connection is marked closed before this returns.
            task = asyncio.get_running_loop().create_task(
                connection.close(), eager_start=True
            )
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def kinds(self) -> list[Problem]:
        """Return the problems reported so far, in order."""
        return [problem for problem, *_ in self.problems]


async def until(condition: Callable[[], bool]) -> None:
    """Wait, generously, for something to happen."""
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110 - the recorder has no events
            await asyncio.sleep(0.005)


@dataclass
class Harness:
    """Hold a running server, its recorder and a client session."""

    server: CentralSystemServer
    handler: Recorder
    session: aiohttp.ClientSession
    sockets: list[aiohttp.ClientWebSocketResponse] = field(default_factory=list)

    def url(self, charge_point_id: str = CP, prefix: str = "/ocpp/") -> str:
        """Return the URL a charge point dials."""
        return f"ws://127.0.0.1:{self.server.port}{prefix}{charge_point_id}"

    async def dial(
        self,
        charge_point_id: str = CP,
        *,
        password: str | None = PASSWORD,
        login: str | None = None,
        protocols: tuple[str, ...] = (SUBPROTOCOL,),
        prefix: str = "/ocpp/",
    ) -> aiohttp.ClientWebSocketResponse:
        """Open a websocket as a charge point."""
        # aiohttp 3.14 deprecates auth=BasicAuth(...); this is the same header.
        headers = (
            {}
            if password is None
            else {
                "Authorization": aiohttp.encode_basic_auth(
                    login or charge_point_id, password
                )
            }
        )
        ws = await self.session.ws_connect(
            self.url(charge_point_id, prefix), protocols=protocols, headers=headers
        )
        # Held until the test ends: a dropped client socket would close itself.
        self.sockets.append(ws)
        return ws

    async def connect(
        self, charge_point_id: str = CP, **options: Any
    ) -> tuple[aiohttp.ClientWebSocketResponse, ChargePointConnection]:
        """Dial and wait until the server has opened the connection."""
        before = len(self.handler.opened)
        socket_ = await self.dial(charge_point_id, **options)
        await until(lambda: len(self.handler.opened) > before)
        return socket_, self.handler.opened[-1]


async def send(ws: aiohttp.ClientWebSocketResponse, frame: list[Any]) -> None:
    """Write one OCPP-J array."""
    await ws.send_str(json.dumps(frame))


async def receive(ws: aiohttp.ClientWebSocketResponse) -> list[Any]:
    """Read one OCPP-J array."""
    message = await ws.receive(timeout=WAIT)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    frame = json.loads(message.data)
    assert isinstance(frame, list)
    return frame


async def ask(ws: aiohttp.ClientWebSocketResponse, frame: list[Any]) -> list[Any]:
    """Write a CALL and return the answer."""
    await send(ws, frame)
    return await receive(ws)


async def heartbeat_works(ws: aiohttp.ClientWebSocketResponse, unique_id: str) -> None:
    """Check that the link still answers, and that nothing came before the answer."""
    assert await ask(ws, [2, unique_id, "Heartbeat", {}]) == [
        3,
        unique_id,
        {"currentTime": "2026-05-01T08:00:00Z"},
    ]


type Start = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """Return a client session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def start(session: aiohttp.ClientSession) -> AsyncIterator[Start]:
    """Return a function that starts a server on 127.0.0.1; stop all after the test."""
    harnesses: list[Harness] = []

    async def _start(handler: Recorder | None = None, **options: Any) -> Harness:
        recorder = handler or Recorder()
        options.setdefault("call_timeout", WAIT)
        server = CentralSystemServer(recorder, "127.0.0.1", 0, **options)
        await server.start()
        harness = Harness(server, recorder, session)
        harnesses.append(harness)
        return harness

    yield _start
    for harness in harnesses:
        for ws in harness.sockets:
            await ws.close()
        await harness.server.stop()


@pytest.fixture
async def harness(start: Start) -> Harness:
    """Return a server with the default options."""
    return await start()


# ---- admission ----


async def test_server_reports_its_port(harness: Harness) -> None:
    """Say which port was given when asked for port 0."""
    assert harness.server.port > 0
    assert harness.server.connections == {}


@pytest.mark.parametrize("path", ["CP-unknown", ""])
async def test_unknown_charge_point_is_not_found(harness: Harness, path: str) -> None:
    """Turn an unknown (or missing) charge point ID away with 404."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await harness.dial(path, prefix="/")
    assert caught.value.status == 404
    assert harness.handler.kinds() == [Problem.UNKNOWN_CHARGE_POINT]
    assert harness.handler.problems[0][1] is None
    assert harness.handler.problems[0][3] == path
    assert harness.server.stats.refused_unknown == 1
    assert harness.handler.opened == []
    # The handler is not even asked about an empty ID.
    assert len(harness.handler.admissions) == (1 if path else 0)


@pytest.mark.parametrize(
    ("password", "login", "detail"),
    [
        ("wrong", None, "wrong password"),
        (None, None, "no password"),
        (PASSWORD, "CP-other", "no password"),
    ],
)
async def test_bad_credentials_are_unauthorized(
    harness: Harness, password: str | None, login: str | None, detail: str
) -> None:
    """Answer 401 with a Basic challenge; the user name must be the ID."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await harness.dial(password=password, login=login)
    assert caught.value.status == 401
    assert caught.value.headers is not None
    assert caught.value.headers["WWW-Authenticate"] == 'Basic realm="OCPP"'
    assert harness.handler.problems == [(Problem.AUTH_FAILED, CP, "127.0.0.1", detail)]
    assert harness.server.stats.refused_unauthorized == 1


async def test_unreadable_authorization_counts_as_none(harness: Harness) -> None:
    """Take an Authorization header that is not Basic as no password."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await harness.session.ws_connect(
            harness.url(),
            protocols=(SUBPROTOCOL,),
            headers={"Authorization": "Basic %%%not-base64"},
        )
    assert caught.value.status == 401
    assert harness.handler.admissions == [(CP, None)]


async def test_password_and_path_prefix(harness: Harness) -> None:
    """Take the ID from the last path segment, whatever comes before it."""
    _, connection = await harness.connect(prefix="/a/b/c/")
    assert connection.charge_point_id == CP
    assert connection.peer == "127.0.0.1"
    assert harness.handler.admissions == [(CP, PASSWORD)]
    assert harness.server.connection(CP) is connection
    assert dict(harness.server.connections) == {CP: connection}


async def test_quoted_id_and_trailing_slash(harness: Harness) -> None:
    """Read a percent-encoded ID, and ignore a trailing slash."""
    _, connection = await harness.connect("CP%202", prefix="/", password=None)
    assert connection.charge_point_id == "CP 2"
    _, connection = await harness.connect("CP-open/", prefix="/ocpp/", password=None)
    assert connection.charge_point_id == "CP-open"


async def test_plain_http_is_bad_request(harness: Harness) -> None:
    """Answer 400 to a known charge point that does not ask for a websocket."""
    async with harness.session.get(
        harness.url(),
        headers={"Authorization": aiohttp.encode_basic_auth(CP, PASSWORD)},
    ) as response:
        assert response.status == 400
        assert "OCPP 1.6J" in await response.text()
    assert harness.handler.opened == []


@pytest.mark.parametrize(
    ("protocols", "detail"), [((), "none"), (("ocpp2.0.1",), "ocpp2.0.1")]
)
async def test_no_ocpp16_subprotocol_is_closed(
    harness: Harness, protocols: tuple[str, ...], detail: str
) -> None:
    """Upgrade a charge point that offers no ocpp1.6 and close it at once."""
    ws = await harness.dial(protocols=protocols)
    assert ws.protocol is None
    message = await ws.receive(timeout=WAIT)
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert message.data == aiohttp.WSCloseCode.PROTOCOL_ERROR
    assert harness.handler.problems == [
        (Problem.NO_SUBPROTOCOL, CP, "127.0.0.1", detail)
    ]
    assert harness.handler.opened == []
    assert harness.server.connections == {}


async def test_too_many_connections(start: Start) -> None:
    """Answer 503 once the connection limit is reached."""
    harness = await start(max_connections=1)
    await harness.connect()
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await harness.dial("CP-open", password=None)
    assert caught.value.status == 503
    assert harness.handler.kinds() == [Problem.TOO_MANY_CONNECTIONS]
    assert harness.handler.problems[0][1] is None


async def test_port_in_use(harness: Harness, start: Start) -> None:
    """Raise OSError from start when the port is taken, and listen on nothing."""
    busy = CentralSystemServer(Recorder(), "127.0.0.1", harness.server.port)
    with pytest.raises(OSError, match=r"(?i)address already in use"):
        await busy.start()
    # Stopping a server that never started is harmless.
    await busy.stop()
    # The first server still serves.
    ws, _ = await harness.connect()
    await heartbeat_works(ws, "after")


async def test_port_taken_by_another_socket(start: Start) -> None:
    """Raise OSError when a foreign listening socket holds the port."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = CentralSystemServer(Recorder(), "127.0.0.1", port)
        with pytest.raises(OSError, match=r"(?i)address already in use"):
            await server.start()


# ---- requests from the charge point ----


async def test_call_is_answered(harness: Harness) -> None:
    """Answer a valid CALL with a CALLRESULT carrying the same ID."""
    ws, connection = await harness.connect()
    assert ws.protocol == SUBPROTOCOL
    answer = await ask(ws, [2, "boot-1", "BootNotification", BOOT])
    assert answer == [
        3,
        "boot-1",
        {"status": "Accepted", "currentTime": "2026-05-01T08:00:00Z", "interval": 300},
    ]
    assert harness.handler.requests == [(CP, "BootNotification", BOOT)]
    assert harness.handler.problems == []
    assert harness.server.stats.frames == 1
    assert harness.server.stats.connections_total == 1
    assert harness.server.stats.open_connections == 1
    assert not connection.closed


@pytest.mark.parametrize(
    ("frame", "code", "problem"),
    [
        (
            [2, "bad-1", "BootNotification", {"chargePointVendor": "绿能"}],
            ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
            Problem.SCHEMA_VIOLATION,
        ),
        (
            [2, "bad-1", "Heartbeat", {"extra": True}],
            ErrorCode.FORMATION_VIOLATION,
            Problem.SCHEMA_VIOLATION,
        ),
        (
            [2, "bad-1", "Reset", {"type": "Soft"}],
            ErrorCode.NOT_SUPPORTED,
            Problem.UNSUPPORTED_ACTION,
        ),
        (
            [2, "bad-1", "MakeCoffee", {}],
            ErrorCode.NOT_IMPLEMENTED,
            Problem.UNSUPPORTED_ACTION,
        ),
        (
            [2, "bad-1", "BootNotification", []],
            ErrorCode.FORMATION_VIOLATION,
            Problem.MALFORMED,
        ),
        (
            [2, "bad-1", "Heartbeat"],
            ErrorCode.FORMATION_VIOLATION,
            Problem.MALFORMED,
        ),
        (
            [2, "bad-1", "BootNotification", BOOT | {"chargePointModel": "refuse"}],
            ErrorCode.SECURITY_ERROR,
            Problem.REFUSED,
        ),
    ],
)
async def test_bad_call_gets_call_error(
    harness: Harness, frame: list[Any], code: ErrorCode, problem: Problem
) -> None:
    """Answer a CALL that cannot be taken with the right CALLERROR; stay connected."""
    ws, _ = await harness.connect()
    answer = await ask(ws, frame)
    assert answer[:3] == [4, "bad-1", code]
    assert isinstance(answer[3], str)
    assert answer[3]
    assert answer[4] == {}
    assert harness.handler.kinds() == [problem]
    assert harness.handler.problems[0][1:3] == (CP, "127.0.0.1")
    await heartbeat_works(ws, "after")


async def test_handler_failure_is_internal_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Answer InternalError when the handler breaks, and log its traceback."""
    ws, _ = await harness.connect()
    answer = await ask(
        ws, [2, "c-1", "BootNotification", BOOT | {"chargePointModel": "crash"}]
    )
    assert answer == [4, "c-1", "InternalError", "BootNotification failed", {}]
    assert harness.handler.kinds() == [Problem.HANDLER_FAILED]
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None
    assert "the handler broke" in str(record.exc_info[1])
    await heartbeat_works(ws, "after")


@pytest.mark.parametrize(
    "text",
    ["this is not json", "[]", '{"hello": 1}', '[2, 17, "Heartbeat", {}]'],
)
async def test_unanswerable_text_gets_no_answer(harness: Harness, text: str) -> None:
    """Report a frame with no readable ID, answer nothing, and keep the link."""
    ws, connection = await harness.connect()
    await ws.send_str(text)
    # The next frame from the server answers the heartbeat: nothing came before.
    await heartbeat_works(ws, "next")
    assert harness.handler.kinds() == [Problem.MALFORMED]
    assert not connection.closed


async def test_binary_frame_is_reported(harness: Harness) -> None:
    """Report a binary frame, answer nothing, and keep the link."""
    ws, _ = await harness.connect()
    await ws.send_bytes(b"\x02\x00\x01")
    await heartbeat_works(ws, "next")
    assert harness.handler.problems == [
        (Problem.BINARY_FRAME, CP, "127.0.0.1", "3 bytes")
    ]
    assert harness.server.stats.frames == 1


async def test_oversized_frame_is_reported(harness: Harness) -> None:
    """Report a frame over the size limit as a connection error and close."""
    ws, _ = await harness.connect()
    await ws.send_str(json.dumps([2, "big", "DataTransfer", {"data": "x" * 300_000}]))
    message = await ws.receive(timeout=WAIT)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await until(lambda: len(harness.handler.closed) == 1)
    assert Problem.CONNECTION_ERROR in harness.handler.kinds()
    assert harness.handler.requests == []


# ---- our requests ----


async def test_call_gets_answer(harness: Harness) -> None:
    """Send a request and return the charge point's answer."""
    ws, connection = await harness.connect()
    task = asyncio.create_task(connection.call("Reset", {"type": "Soft"}))
    frame = await receive(ws)
    assert frame[0] == 2
    assert frame[2:] == ["Reset", {"type": "Soft"}]
    await send(ws, [3, frame[1], {"status": "Accepted"}])
    assert await task == {"status": "Accepted"}
    assert harness.handler.problems == []


async def test_call_error_is_raised(harness: Harness) -> None:
    """Raise CallErrorReceivedError with the code the charge point sent."""
    ws, connection = await harness.connect()
    task = asyncio.create_task(connection.call("UnlockConnector", {"connectorId": 1}))
    frame = await receive(ws)
    await send(ws, [4, frame[1], "NotSupported", "no lock fitted", {}])
    with pytest.raises(CallErrorReceivedError) as caught:
        await task
    assert (caught.value.action, caught.value.code) == (
        "UnlockConnector",
        "NotSupported",
    )
    assert caught.value.description == "no lock fitted"


async def test_call_without_answer_times_out(start: Start) -> None:
    """Raise CallTimeoutError when the charge point never answers; then go on."""
    harness = await start(call_timeout=0.2)
    ws, connection = await harness.connect()
    with pytest.raises(CallTimeoutError) as caught:
        await connection.call("Reset", {"type": "Hard"})
    assert caught.value.action == "Reset"
    assert caught.value.timeout == 0.2
    ignored = await receive(ws)
    assert ignored[2] == "Reset"
    # A late answer to it is reported, not taken as the answer to the next one.
    await send(ws, [3, ignored[1], {"status": "Accepted"}])
    await until(lambda: harness.handler.kinds() == [Problem.UNEXPECTED_ANSWER])
    task = asyncio.create_task(connection.call("Reset", {"type": "Soft"}))
    frame = await receive(ws)
    assert frame[1] != ignored[1]
    await send(ws, [3, frame[1], {"status": "Rejected"}])
    assert await task == {"status": "Rejected"}


async def test_invalid_answer_is_raised(harness: Harness) -> None:
    """Raise InvalidResponseError for an answer that breaks its schema."""
    ws, connection = await harness.connect()
    task = asyncio.create_task(
        connection.call("RemoteStopTransaction", {"transactionId": 7})
    )
    frame = await receive(ws)
    await send(ws, [3, frame[1], {"status": "Perhaps"}])
    with pytest.raises(InvalidResponseError) as caught:
        await task
    assert caught.value.action == "RemoteStopTransaction"
    assert "status" in caught.value.detail
    assert harness.handler.kinds() == [Problem.INVALID_ANSWER]


async def test_answer_with_unknown_id_is_reported(harness: Harness) -> None:
    """Report an answer nobody waits for, whether a result or an error."""
    ws, _ = await harness.connect()
    await send(ws, [3, "nobody-asked", {}])
    await send(ws, [4, "nobody-asked", "GenericError", "", {}])
    await heartbeat_works(ws, "next")
    assert harness.handler.kinds() == [Problem.UNEXPECTED_ANSWER] * 2
    assert "'nobody-asked'" in harness.handler.problems[0][3]


async def test_malformed_answer_is_reported_not_answered(harness: Harness) -> None:
    """Report a CALLRESULT whose payload is not an object; do not answer it."""
    ws, connection = await harness.connect()
    task = asyncio.create_task(connection.call("Reset", {"type": "Soft"}))
    frame = await receive(ws)
    await send(ws, [3, frame[1], "Accepted"])
    await send(ws, [3, frame[1], {"status": "Accepted"}])
    assert await task == {"status": "Accepted"}
    assert harness.handler.kinds() == [Problem.MALFORMED]


async def test_calls_go_out_one_at_a_time(harness: Harness) -> None:
    """Hold the second request until the first is answered."""
    ws, connection = await harness.connect()
    first = asyncio.create_task(connection.call("Reset", {"type": "Soft"}))
    second = asyncio.create_task(connection.call("UnlockConnector", {"connectorId": 2}))
    frame = await receive(ws)
    assert frame[2] == "Reset"
    # The answer to a heartbeat is the next frame: the second call waits.
    await heartbeat_works(ws, "between")
    await send(ws, [3, frame[1], {"status": "Accepted"}])
    frame = await receive(ws)
    assert frame[2] == "UnlockConnector"
    await send(ws, [3, frame[1], {"status": "Unlocked"}])
    assert await first == {"status": "Accepted"}
    assert await second == {"status": "Unlocked"}


async def test_closing_fails_the_waiting_call(harness: Harness) -> None:
    """Raise NotConnectedError to a call whose connection closes, and to later ones."""
    ws, connection = await harness.connect()
    task = asyncio.create_task(connection.call("Reset", {"type": "Soft"}))
    await receive(ws)
    await ws.close()
    with pytest.raises(NotConnectedError):
        await task
    await until(lambda: harness.handler.closed == [connection])
    assert connection.closed
    with pytest.raises(NotConnectedError):
        await connection.call("Reset", {"type": "Soft"})
    with pytest.raises(NotConnectedError) as caught:
        harness.server.connection(CP)
    assert caught.value.charge_point_id == CP
    assert harness.server.stats.open_connections == 0


# ---- connections ----


async def test_second_connection_replaces_first(harness: Harness) -> None:
    """Close the old socket for a new one; only the current one is reported closed."""
    first_ws, first = await harness.connect()
    second_ws, second = await harness.connect()
    message = await first_ws.receive(timeout=WAIT)
    assert message.type is aiohttp.WSMsgType.CLOSE
    await until(lambda: first.closed)
    await until(lambda: harness.server.stats.open_connections == 1)
    assert harness.handler.opened == [first, second]
    assert harness.handler.closed == []
    assert harness.handler.kinds() == [Problem.REPLACED]
    assert harness.server.connection(CP) is second
    await heartbeat_works(second_ws, "still")
    await second_ws.close()
    await until(lambda: harness.handler.closed == [second])
    assert harness.server.connections == {}
    assert harness.server.stats.connections_total == 2
    assert harness.server.stats.open_connections == 0


async def test_stop_closes_every_connection(harness: Harness) -> None:
    """Close every connection on stop and tell the handler about each."""
    ws, connection = await harness.connect()
    other_ws, other = await harness.connect("CP-open", password=None)
    await harness.server.stop()
    for socket_ in (ws, other_ws):
        message = await socket_.receive(timeout=WAIT)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await until(lambda: len(harness.handler.closed) == 2)
    assert {id(c) for c in harness.handler.closed} == {id(connection), id(other)}
    assert harness.server.connections == {}


# ---- the connection on its own ----


class BrokenTransport:
    """Stand in for a socket whose writes fail, as a cut TCP link's do."""

    def __init__(self, error: Exception) -> None:
        """Fail every write with ``error``."""
        self.error = error
        self.closes = 0

    async def send_text(self, text: str) -> None:
        """Fail."""
        raise self.error

    async def close(self) -> None:
        """Count closes."""
        self.closes += 1


@pytest.mark.parametrize(
    "error", [ConnectionResetError("reset by peer"), RuntimeError("closing")]
)
async def test_failed_write_ends_the_connection(error: Exception) -> None:
    """Report a failed write, close once, and raise NotConnectedError."""
    recorder = Recorder()
    transport = BrokenTransport(error)
    connection = ChargePointConnection(
        CP, "192.0.2.7", transport, recorder, recorder.problem
    )
    with pytest.raises(NotConnectedError):
        await connection.call("Reset", {"type": "Soft"})
    assert connection.closed
    assert transport.closes == 1
    assert recorder.problems == [
        (Problem.CONNECTION_ERROR, CP, "192.0.2.7", f"sending failed: {error}")
    ]
    # Frames after the end are not answered, and closing again does nothing.
    with pytest.raises(NotConnectedError):
        await connection.receive('[2, "x", "Heartbeat", {}]')
    with pytest.raises(NotConnectedError):
        await connection.receive('[2, "y", "Heartbeat"]')
    # A frame that is not answered does not notice.
    await connection.receive("[]")
    await connection.close()
    assert transport.closes == 1


async def test_answer_after_timeout_race() -> None:
    """Ignore a second answer to the same request arriving before it is collected."""
    recorder = Recorder()
    sent: list[str] = []

    class Loopback:
        """Record what the connection writes."""

        async def send_text(self, text: str) -> None:
            """Keep the frame."""
            sent.append(text)

        async def close(self) -> None:
            """Nothing to close."""

    connection = ChargePointConnection(
        CP, "peer", Loopback(), recorder, recorder.problem
    )
    task = asyncio.create_task(connection.call("Reset", {"type": "Soft"}))
    await until(lambda: bool(sent))
    unique_id = json.loads(sent[0])[1]
    await connection.receive(json.dumps([3, unique_id, {"status": "Accepted"}]))
    await connection.receive(json.dumps([3, unique_id, {"status": "Rejected"}]))
    assert await task == {"status": "Accepted"}
    assert recorder.problems == []
    with contextlib.suppress(NotConnectedError):
        await connection.close()


async def test_handler_dropping_the_link_mid_frame(harness: Harness) -> None:
    """Stop reading when the connection is closed while a frame is handled."""
    harness.handler.drop_on = Problem.MALFORMED
    ws, connection = await harness.connect()
    # A CALL with a readable ID but no payload: reported, then answered.
    await send(ws, [2, "bad", "Heartbeat"])
    message = await ws.receive(timeout=WAIT)
    assert message.type is aiohttp.WSMsgType.CLOSE
    await until(lambda: harness.handler.closed == [connection])
    assert harness.handler.kinds() == [Problem.MALFORMED]
    assert harness.server.connections == {}


async def test_silent_charge_point_is_dropped(start: Start) -> None:
    """Close a connection that sends nothing for the idle timeout, and say why."""
    harness = await start(idle_timeout=0.2)
    ws, connection = await harness.connect()
    message = await ws.receive(timeout=WAIT)
    assert message.type is aiohttp.WSMsgType.CLOSE
    await until(lambda: harness.handler.closed == [connection])
    assert harness.handler.problems == [
        (Problem.IDLE, CP, "127.0.0.1", "nothing received for 0.2 s")
    ]
    assert harness.server.connections == {}
