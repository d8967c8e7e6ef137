"""Serve GB/T 26875.3 transmission devices over TCP, as the monitoring centre.

A user information transmission device (用户信息传输装置) watches a building's
fire-alarm panel and connects to the monitoring centre as a TCP client. It
sends its data in SEND_DATA frames and sends each again until the centre
acknowledges it. The centre acknowledges only what it has taken in: a frame
with a bad checksum or data it cannot read gets no ack, so that the device
retransmits it.

The server asks its handler, synchronously on the event loop, which checksum
mode each transmitter uses (None: not one of ours) and tells it about frames,
connections and problems. Each connection has its own reader and task;
nothing a peer sends ends its loop or touches another connection.
"""

import asyncio
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
import hashlib
import logging
from typing import Final, Protocol

from .errors import ChecksumMismatchError, MalformedFrameError, UnknownObjectTypeError
from .frame import (
    DEFAULT_VERSION,
    MAX_SERIAL,
    Action,
    ChecksumMode,
    Frame,
    ack_for,
    decode_frame_unchecked,
    encode_frame,
    format_address,
    verify_checksum,
)
from .objects import ApplicationData, decode_application_data
from .reader import (
    DEFAULT_MAX_DATA_LENGTH,
    GARBAGE,
    TRUNCATED,
    FrameReader,
    StreamProblem,
)

_LOGGER = logging.getLogger(__name__)

READ_SIZE: Final = 4096
DEFAULT_IDLE_TIMEOUT: Final = 300.0
DEFAULT_MAX_CONNECTIONS: Final = 64
DEFAULT_WRITE_TIMEOUT: Final = 10.0
# How many frames per transmitter are remembered to spot retransmissions.
RECENT_FRAMES: Final = 64

# Actions a device sends in answer to the centre's own frames.
_ANSWERS: Final = frozenset((Action.ACK, Action.RESPONSE, Action.REJECT))


class Problem(StrEnum):
    """Name what went wrong with a peer or the handler."""

    MALFORMED = "malformed"
    BAD_CHECKSUM = "bad_checksum"
    UNKNOWN_OBJECT_TYPE = "unknown_object_type"
    UNKNOWN_TRANSMITTER = "unknown_transmitter"
    UNEXPECTED_ACTION = "unexpected_action"
    GARBAGE = "garbage"
    TRUNCATED = "truncated"
    IDLE = "idle"
    HANDLER_FAILED = "handler_failed"
    TOO_MANY_CONNECTIONS = "too_many_connections"


class FrameHandler(Protocol):
    """Take what the server receives; every method is synchronous, on the event loop."""

    def checksum_mode(self, address: int) -> ChecksumMode | None:
        """Return a transmitter's checksum mode, or None if it is not configured.

        Frames from a transmitter that is not configured are not acknowledged.
        """

    def frame_received(
        self, address: int, frame: Frame, data: ApplicationData | None
    ) -> None:
        """Take a new SEND_DATA frame; ``data`` is None when it carries none.

        Raising refuses the frame: it is not acknowledged, so the device sends
        it again.
        """

    def connection_changed(self, address: int, connected: bool, peer: str) -> None:
        """Hear that a transmitter connected or disconnected.

        Connected: its first valid frame on a connection; disconnected: its last
        connection closed.
        """

    def problem(
        self, problem: Problem, peer: str, address: int | None, detail: str
    ) -> None:
        """Hear about a problem; ``address`` is None when no frame named a sender."""


@dataclass(slots=True)
class ServerStats:
    """Count what the server has seen.

    ``frames`` counts frames with a right checksum from known transmitters;
    ``acknowledged`` the acks written; ``duplicates`` the retransmissions
    acknowledged again without being passed on.
    """

    frames: int = 0
    acknowledged: int = 0
    duplicates: int = 0
    connections_total: int = 0
    open_connections: int = 0
    problems: Counter[Problem] = field(default_factory=Counter)


@dataclass(eq=False, slots=True)
class _Connection:
    """Hold one device connection's state."""

    peer: str
    writer: asyncio.StreamWriter
    reader: FrameReader
    task: asyncio.Task[None] | None
    addresses: set[int] = field(default_factory=set)


def _peer_name(writer: asyncio.StreamWriter) -> str:
    """Name the other end of a connection as host:port."""
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = peer[0], peer[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peer)


class Gb26875Server:
    """Accept transmission devices' connections, acknowledge and pass on their frames."""

    def __init__(
        self,
        handler: FrameHandler,
        *,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        clock: Callable[[], datetime] = datetime.now,
        write_timeout: float = DEFAULT_WRITE_TIMEOUT,
        max_data_length: int = DEFAULT_MAX_DATA_LENGTH,
    ) -> None:
        """Set the handler and the limits; ``clock`` gives the local time for acks."""
        self._handler = handler
        self._idle_timeout = idle_timeout
        self._max_connections = max_connections
        self._clock = clock
        self._write_timeout = write_timeout
        self._max_data_length = max_data_length
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._by_address: dict[int, list[_Connection]] = {}
        # Per transmitter: the centre address it sends to, its protocol version,
        # and digests of its last frames.
        self._centre_address: dict[int, int] = {}
        self._versions: dict[int, tuple[int, int]] = {}
        self._recent: dict[int, deque[bytes]] = {}
        self._serial = 0
        self._logged_failures: set[tuple[str, type[BaseException]]] = set()
        self._stats = ServerStats()

    @property
    def stats(self) -> ServerStats:
        """Return the counters."""
        return self._stats

    async def start(self, host: str | None, port: int) -> int:
        """Listen on a host (None: every interface) and port; return the bound port.

        Port 0 picks a free port.
        """
        if self._server is not None:
            raise RuntimeError("The server is already started")
        self._server = await asyncio.start_server(self._serve, host, port)
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def stop(self) -> None:
        """Stop listening, close every connection and wait for their tasks."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        current = asyncio.current_task()
        tasks = [
            connection.task
            for connection in self._connections
            if connection.task is not None and connection.task is not current
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    def is_connected(self, address: int) -> bool:
        """Tell whether a transmitter has a connection open."""
        return address in self._by_address

    async def send(self, address: int, action: Action, data: bytes = b"") -> bool:
        """Send a frame to a transmitter on its newest connection.

        Return False if it has none, is no longer configured, or the write
        fails. Each frame gets the next serial number.
        """
        connections = self._by_address.get(address)
        if not connections:
            return False
        connection = connections[-1]
        try:
            mode = self._handler.checksum_mode(address)
        except Exception as err:  # the handler's bug must not end the caller
            self._handler_failed("checksum_mode", err, connection.peer, address)
            return False
        if mode is None:
            return False
        self._serial = self._serial % MAX_SERIAL + 1
        frame = Frame(
            serial=self._serial,
            version=self._versions.get(address, DEFAULT_VERSION),
            time=self._clock().replace(microsecond=0),
            source=self._centre_address.get(address, 0),
            destination=address,
            action=action,
            data=data,
        )
        return await self._write(connection, encode_frame(frame, mode))

    # ---- connections ----

    async def _serve(
        self, stream: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one connection until it closes, goes idle or the server stops."""
        if self._server is None:
            # Accepted just before stop(), which would otherwise wait for it.
            writer.close()
            return
        peer = _peer_name(writer)
        if len(self._connections) >= self._max_connections:
            self._report(
                Problem.TOO_MANY_CONNECTIONS,
                peer,
                None,
                f"{len(self._connections)} connections are open, the most allowed;"
                " this one is closed",
            )
            writer.close()
            return
        connection = _Connection(
            peer, writer, FrameReader(self._max_data_length), asyncio.current_task()
        )
        self._connections.add(connection)
        self._stats.connections_total += 1
        self._stats.open_connections = len(self._connections)
        try:
            await self._read_loop(connection, stream)
            for item in connection.reader.finish():
                self._stream_problem(connection, item)
        finally:
            self._close(connection)

    async def _read_loop(
        self, connection: _Connection, stream: asyncio.StreamReader
    ) -> None:
        """Read and handle frames until the peer closes or stays silent too long."""
        while True:
            try:
                async with asyncio.timeout(self._idle_timeout):
                    data = await stream.read(READ_SIZE)
            except TimeoutError:
                self._report(
                    Problem.IDLE,
                    connection.peer,
                    None,
                    f"Nothing received for {self._idle_timeout:g} s; the connection is closed",
                )
                return
            except OSError as err:
                _LOGGER.debug("Reading from %s failed: %s", connection.peer, err)
                return
            if not data:
                return
            for item in connection.reader.feed(data):
                if isinstance(item, StreamProblem):
                    self._stream_problem(connection, item)
                else:
                    await self._handle_frame(connection, item)

    def _close(self, connection: _Connection) -> None:
        """Forget a connection, close it, and tell who lost their last connection."""
        self._connections.discard(connection)
        self._stats.open_connections = len(self._connections)
        transport = connection.writer.transport
        if transport.get_write_buffer_size():
            # A peer that stopped reading would hold a graceful close open.
            transport.abort()
        else:
            connection.writer.close()
        for address in sorted(connection.addresses):
            connections = self._by_address[address]
            connections.remove(connection)
            if not connections:
                del self._by_address[address]
                self._notify_connection(address, False, connection.peer)

    async def _write(self, connection: _Connection, data: bytes) -> bool:
        """Write to a connection; a peer that does not take it in time is dropped."""
        writer = connection.writer
        if writer.is_closing():
            return False
        writer.write(data)
        try:
            async with asyncio.timeout(self._write_timeout):
                await writer.drain()
        except TimeoutError:
            _LOGGER.warning(
                "%s took nothing for %g s; its connection is closed",
                connection.peer,
                self._write_timeout,
            )
            writer.transport.abort()
            return False
        except OSError as err:
            _LOGGER.debug("Writing to %s failed: %s", connection.peer, err)
            return False
        return True

    # ---- frames ----

    async def _handle_frame(self, connection: _Connection, raw: bytes) -> None:
        """Handle one frame; an error in this module costs the frame, not the connection."""
        try:
            await self._process(connection, raw)
        except Exception as err:  # keep serving whatever the frame was
            _LOGGER.exception("Handling a frame from %s failed", connection.peer)
            self._report(
                Problem.MALFORMED,
                connection.peer,
                None,
                f"The frame could not be handled: {type(err).__name__}: {err}",
            )

    async def _process(self, connection: _Connection, raw: bytes) -> None:
        """Check a frame's sender and checksum, then act on its action."""
        frame, _ = decode_frame_unchecked(raw)
        address = frame.source
        try:
            mode = self._handler.checksum_mode(address)
        except Exception as err:  # a handler bug costs the frame only
            self._handler_failed("checksum_mode", err, connection.peer, address)
            return
        if mode is None:
            self._report(
                Problem.UNKNOWN_TRANSMITTER,
                connection.peer,
                address,
                f"Transmitter {format_address(address)} is not configured;"
                " its frames are not acknowledged",
            )
            return
        try:
            verify_checksum(raw, mode)
        except ChecksumMismatchError as err:
            self._report(
                Problem.BAD_CHECKSUM,
                connection.peer,
                address,
                f"{err} (checksum mode {mode}); the frame is not acknowledged",
            )
            return
        self._stats.frames += 1
        self._attach(connection, frame)
        if frame.action == Action.SEND_DATA:
            await self._receive(connection, frame, raw, mode)
        elif frame.action not in _ANSWERS:
            self._report(
                Problem.UNEXPECTED_ACTION,
                connection.peer,
                address,
                f"A device sent action {frame.action}, which only the centre sends;"
                " it is not acknowledged",
            )

    def _attach(self, connection: _Connection, frame: Frame) -> None:
        """Note which connection a transmitter uses and how it addresses the centre."""
        address = frame.source
        self._centre_address[address] = frame.destination
        self._versions[address] = frame.version
        if address in connection.addresses:
            return
        connection.addresses.add(address)
        self._by_address.setdefault(address, []).append(connection)
        self._notify_connection(address, True, connection.peer)

    async def _receive(
        self, connection: _Connection, frame: Frame, raw: bytes, mode: ChecksumMode
    ) -> None:
        """Pass on new data and acknowledge it; acknowledge retransmissions only."""
        address = frame.source
        recent = self._recent.setdefault(address, deque(maxlen=RECENT_FRAMES))
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        if digest in recent:
            self._stats.duplicates += 1
            await self._acknowledge(connection, frame, mode)
            return
        data: ApplicationData | None = None
        if frame.data:
            try:
                data = decode_application_data(frame.data)
            except UnknownObjectTypeError as err:
                # Sending it again cannot make it readable: take it and say so.
                self._report(
                    Problem.UNKNOWN_OBJECT_TYPE,
                    connection.peer,
                    address,
                    f"{err}; the frame is acknowledged and dropped",
                )
                recent.append(digest)
                await self._acknowledge(connection, frame, mode)
                return
            except MalformedFrameError as err:
                self._report(
                    Problem.MALFORMED,
                    connection.peer,
                    address,
                    f"{err}; the frame is not acknowledged",
                )
                return
        try:
            self._handler.frame_received(address, frame, data)
        except Exception as err:  # refuse the frame, keep serving
            self._handler_failed("frame_received", err, connection.peer, address)
            return
        recent.append(digest)
        await self._acknowledge(connection, frame, mode)

    async def _acknowledge(
        self, connection: _Connection, frame: Frame, mode: ChecksumMode
    ) -> None:
        """Write the ack of a frame."""
        ack = encode_frame(ack_for(frame, self._clock()), mode)
        if await self._write(connection, ack):
            self._stats.acknowledged += 1

    # ---- reporting ----

    def _stream_problem(self, connection: _Connection, item: StreamProblem) -> None:
        """Report bytes the reader skipped."""
        if item.kind == GARBAGE:
            problem = Problem.GARBAGE
        elif item.kind == TRUNCATED:
            problem = Problem.TRUNCATED
        else:
            problem = Problem.MALFORMED
        self._report(
            problem,
            connection.peer,
            None,
            f"{item.detail}; {item.skipped} bytes skipped",
        )

    def _notify_connection(self, address: int, connected: bool, peer: str) -> None:
        """Tell the handler a transmitter connected or disconnected."""
        try:
            self._handler.connection_changed(address, connected, peer)
        except Exception as err:  # a handler bug costs the notice only
            self._handler_failed("connection_changed", err, peer, address)

    def _handler_failed(
        self, method: str, err: Exception, peer: str, address: int | None
    ) -> None:
        """Log a handler failure, with its traceback the first time, and report it."""
        self._log_failure(method, err)
        self._report(
            Problem.HANDLER_FAILED,
            peer,
            address,
            f"The handler's {method} raised {type(err).__name__}: {err}",
        )

    def _log_failure(self, method: str, err: Exception) -> None:
        """Log a handler failure: the traceback once per method and error type."""
        key = (method, type(err))
        if key in self._logged_failures:
            _LOGGER.debug("The handler's %s raised again: %r", method, err)
            return
        self._logged_failures.add(key)
        _LOGGER.error(
            "The GB/T 26875 handler's %s raised; the same error again is logged"
            " at debug level only",
            method,
            exc_info=err,
        )

    def _report(
        self, problem: Problem, peer: str, address: int | None, detail: str
    ) -> None:
        """Count a problem and tell the handler."""
        self._stats.problems[problem] += 1
        _LOGGER.debug("%s from %s: %s", problem, peer, detail)
        try:
            self._handler.problem(problem, peer, address, detail)
        except Exception as err:  # a handler bug costs the report only
            self._log_failure("problem", err)
