"""Serve charge points over OCPP 1.6J websockets, as the central system.

A charge point dials ``ws://host:port/<any path>/<charge point ID>`` and
offers the ``ocpp1.6`` subprotocol. Before the upgrade the server asks its
handler whether the ID is one of ours (404 otherwise) and whether the HTTP
Basic credentials are right (401 otherwise; OCPP security profile 1: the user
name is the charge point ID, the password its AuthorizationKey). A charge
point that offers no ``ocpp1.6`` is upgraded without a subprotocol and closed
at once, as OCPP-J asks. A second connection for the same ID replaces the
first: a charge point that reconnects after a network cut is not kept waiting
for the old socket to time out.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
import logging
from typing import Final, Protocol
from urllib.parse import unquote

from aiohttp import BasicAuth, WSCloseCode, WSMsgType, hdrs, web

from .connection import (
    DEFAULT_CALL_TIMEOUT,
    ChargePointConnection,
    Problem,
    RequestHandler,
)
from .errors import NotConnectedError

_LOGGER: Final = logging.getLogger(__name__)

SUBPROTOCOL: Final = "ocpp1.6"
DEFAULT_PORT: Final = 9000
# A station sends at least a Heartbeat every interval the central system gave
# it (300 s here); one silent for three of them is gone.
DEFAULT_IDLE_TIMEOUT: Final = 900.0
DEFAULT_MAX_CONNECTIONS: Final = 1024
# Queued transaction messages after an outage make the largest frames.
MAX_FRAME_BYTES: Final = 256 * 1024


class Admission(StrEnum):
    """Say whether a charge point may connect."""

    ACCEPTED = "accepted"
    UNKNOWN = "unknown"
    UNAUTHORIZED = "unauthorized"


class CentralSystemHandler(RequestHandler, Protocol):
    """Decide who may connect, answer requests, hear about sessions and problems."""

    def admission(self, charge_point_id: str, password: str | None) -> Admission:
        """Say whether a charge point may connect with this password (None: none)."""

    def connection_opened(self, connection: ChargePointConnection) -> None:
        """Hear that a charge point connected."""

    def connection_closed(self, connection: ChargePointConnection) -> None:
        """Hear that a charge point's connection ended."""

    def problem(
        self, problem: Problem, charge_point_id: str | None, peer: str, detail: str
    ) -> None:
        """Hear about a problem; the handler decides what to log."""


@dataclass(slots=True)
class ServerStats:
    """Count what the server has seen."""

    connections_total: int = 0
    open_connections: int = 0
    frames: int = 0
    refused_unknown: int = 0
    refused_unauthorized: int = 0


class _WebSocketTransport:
    """Carry a connection's frames over an aiohttp websocket."""

    def __init__(self, socket: web.WebSocketResponse) -> None:
        """Wrap the prepared websocket."""
        self._socket = socket

    async def send_text(self, text: str) -> None:
        """Send one text frame."""
        await self._socket.send_str(text)

    async def close(self) -> None:
        """Close the websocket normally."""
        await self._socket.close()


class CentralSystemServer:
    """Accept charge points on one TCP port."""

    def __init__(
        self,
        handler: CentralSystemHandler,
        host: str | None,
        port: int,
        *,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        """Configure the server; nothing listens until ``start``."""
        self.host = host
        self.port = port
        self.stats = ServerStats()
        self._handler = handler
        self._idle_timeout = idle_timeout
        self._call_timeout = call_timeout
        self._max_connections = max_connections
        self._connections: dict[str, ChargePointConnection] = {}
        self._runner: web.AppRunner | None = None

    @property
    def connections(self) -> Mapping[str, ChargePointConnection]:
        """Return the open connections by charge point ID."""
        return self._connections

    async def start(self) -> None:
        """Listen; raise OSError if the port cannot be opened."""
        app = web.Application()
        app.router.add_get("/{path:.*}", self._serve)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        if self.port == 0:
            # Tests ask for any free port; say which one was given.
            server = site._server  # noqa: SLF001 - aiohttp exposes no other way
            if server is not None and (sockets := getattr(server, "sockets", None)):
                self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        for connection in list(self._connections.values()):
            await connection.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def connection(self, charge_point_id: str) -> ChargePointConnection:
        """Return a charge point's open connection, or raise NotConnectedError."""
        if (connection := self._connections.get(charge_point_id)) is None:
            raise NotConnectedError(charge_point_id)
        return connection

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        """Admit a charge point, upgrade to a websocket and read its frames."""
        peer = request.remote or "?"
        charge_point_id = unquote(request.match_info["path"].rstrip("/")).rsplit(
            "/", 1
        )[-1]
        if self.stats.open_connections >= self._max_connections:
            self._handler.problem(
                Problem.TOO_MANY_CONNECTIONS, None, peer, charge_point_id
            )
            raise web.HTTPServiceUnavailable
        self._admit(charge_point_id, peer, request)
        socket = web.WebSocketResponse(
            protocols=(SUBPROTOCOL,),
            # OCPP Heartbeats, not websocket pings, show that a station lives:
            # every station sends them, and no timer outlives the socket.
            receive_timeout=self._idle_timeout,
            max_msg_size=MAX_FRAME_BYTES,
        )
        if not socket.can_prepare(request).ok:
            raise web.HTTPBadRequest(text="This is an OCPP 1.6J websocket endpoint")
        await socket.prepare(request)
        if socket.ws_protocol != SUBPROTOCOL:
            self._handler.problem(
                Problem.NO_SUBPROTOCOL,
                charge_point_id,
                peer,
                request.headers.get(hdrs.SEC_WEBSOCKET_PROTOCOL, "none"),
            )
            await socket.close(code=WSCloseCode.PROTOCOL_ERROR)
            return socket
        await self._session(charge_point_id, peer, socket)
        return socket

    def _admit(self, charge_point_id: str, peer: str, request: web.Request) -> None:
        """Raise the HTTP error that turns a charge point away, if any."""
        password = _basic_password(request, charge_point_id)
        admission = (
            self._handler.admission(charge_point_id, password)
            if charge_point_id
            else Admission.UNKNOWN
        )
        match admission:
            case Admission.UNKNOWN:
                self.stats.refused_unknown += 1
                self._handler.problem(
                    Problem.UNKNOWN_CHARGE_POINT, None, peer, charge_point_id
                )
                raise web.HTTPNotFound
            case Admission.UNAUTHORIZED:
                self.stats.refused_unauthorized += 1
                self._handler.problem(
                    Problem.AUTH_FAILED,
                    charge_point_id,
                    peer,
                    "no password" if password is None else "wrong password",
                )
                raise web.HTTPUnauthorized(
                    headers={hdrs.WWW_AUTHENTICATE: 'Basic realm="OCPP"'}
                )

    async def _session(
        self, charge_point_id: str, peer: str, socket: web.WebSocketResponse
    ) -> None:
        """Run one connection until either side closes it."""
        connection = ChargePointConnection(
            charge_point_id,
            peer,
            _WebSocketTransport(socket),
            self._handler,
            self._handler.problem,
            call_timeout=self._call_timeout,
        )
        previous = self._connections.get(charge_point_id)
        # Take the slot before closing the old socket: its session ends while
        # we wait, and must then find that it no longer owns the ID.
        self._connections[charge_point_id] = connection
        if previous is not None:
            self._handler.problem(
                Problem.REPLACED, charge_point_id, peer, previous.peer
            )
            await previous.close()
        self.stats.connections_total += 1
        self.stats.open_connections += 1
        self._handler.connection_opened(connection)
        try:
            await self._read(connection, socket)
        except TimeoutError:
            self._handler.problem(
                Problem.IDLE,
                charge_point_id,
                peer,
                f"nothing received for {self._idle_timeout:g} s",
            )
        finally:
            self.stats.open_connections -= 1
            await connection.close()
            # A replaced connection must not unregister its successor.
            if self._connections.get(charge_point_id) is connection:
                del self._connections[charge_point_id]
                self._handler.connection_closed(connection)

    async def _read(
        self, connection: ChargePointConnection, socket: web.WebSocketResponse
    ) -> None:
        """Pass each text frame to the connection until the socket closes."""
        async for frame in socket:
            if frame.type is WSMsgType.TEXT:
                self.stats.frames += 1
                try:
                    await connection.receive(frame.data)
                except NotConnectedError:
                    return
            elif frame.type is WSMsgType.BINARY:
                # OCPP-J is text only, and a binary frame has no ID to answer.
                self._handler.problem(
                    Problem.BINARY_FRAME,
                    connection.charge_point_id,
                    connection.peer,
                    f"{len(frame.data)} bytes",
                )
            elif frame.type is WSMsgType.ERROR:
                self._handler.problem(
                    Problem.CONNECTION_ERROR,
                    connection.charge_point_id,
                    connection.peer,
                    str(socket.exception()),
                )


def _basic_password(request: web.Request, charge_point_id: str) -> str | None:
    """Return the Basic password if the user name is the charge point's ID.

    A missing, unreadable or foreign Authorization header counts as no password.
    """
    if (header := request.headers.get(hdrs.AUTHORIZATION)) is None:
        return None
    try:
        credentials = BasicAuth.decode(header)
    except ValueError:
        return None
    return credentials.password if credentials.login == charge_point_id else None
