"""Carry a transmission device's frames to the monitoring centre over TCP.

The device is the TCP client. Every send-data frame gets the next serial and
waits for the centre's acknowledgement (action 3, same serial); up to ``window``
frames are unacknowledged at once (1: strict stop-and-wait), and frames leave in
serial order. A frame not acknowledged within the timeout is written again, with
the same serial and bytes, up to ``retries`` times, then counted as lost.

When the connection drops, the link dials again with a backoff that doubles
from ``reconnect_min_seconds`` to ``reconnect_max_seconds`` (back to the minimum
after a connection that got an acknowledgement). Unacknowledged frames go back
to the front of the queue and are written again on the next connection.

With ``split_frames`` each frame is written in 2-3 chunks a few milliseconds
apart, and now and then two queued frames leave in one write; the second of
such a pair may go one beyond the window. The centre's controls (action 1) are
acknowledged and its requests (action 4) denied (action 6).
"""

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import logging
import random
import time
from typing import Final

from simulator.devices.gb26875.frame import (
    MAX_SERIAL,
    Action,
    ChecksumMode,
    Frame,
    FrameReader,
    ReceivedFrame,
)

_LOGGER: Final = logging.getLogger(__name__)

# Frames waiting for a link beyond this are dropped, oldest first, as lost.
MAX_QUEUED: Final = 10_000
# With split_frames: how often two queued frames leave in one write.
_MERGE_SHARE: Final = 0.3
# With split_frames: the pause between the chunks of one frame, in seconds.
_CHUNK_PAUSE: Final = (0.002, 0.008)
_READ_SIZE: Final = 4096


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Say where the link dials and how it behaves on the wire."""

    host: str
    port: int
    checksum: ChecksumMode = ChecksumMode.SUM
    heartbeat_seconds: float = 30.0
    ack_timeout_seconds: float = 5.0
    retries: int = 3
    window: int = 1
    split_frames: bool = False
    reconnect_min_seconds: float = 1.0
    reconnect_max_seconds: float = 30.0

    @property
    def centre(self) -> str:
        """Return the centre as ``host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(slots=True)
class _Outgoing:
    """Hold one encoded send-data frame until it is acknowledged or lost."""

    serial: int
    data: bytes
    # Set once the frame has been written on some connection.
    written: bool = False
    retransmissions: int = 0
    deadline: float = 0.0


class NotConnectedError(Exception):
    """Say that the link has no open connection to write to."""


class Uplink:
    """Dial the centre, send queued frames in order, and collect the acks."""

    def __init__(
        self,
        name: str,
        source: int,
        destination: int,
        *,
        rng: random.Random,
        on_connected: Callable[[], None],
        heartbeat: Callable[[], bytes],
    ) -> None:
        """Prepare a link from ``source`` to ``destination`` (6-byte addresses).

        ``on_connected`` runs after each connection is made, to queue the state
        report; ``heartbeat`` returns the app data of a heartbeat frame.
        """
        self.name = name
        self.source = source
        self.destination = destination
        self.settings: LinkSettings | None = None
        self._random = rng
        self._on_connected = on_connected
        self._heartbeat = heartbeat
        self._next_serial = 1
        self._queue: deque[_Outgoing] = deque()
        self._in_flight: dict[int, _Outgoing] = {}
        self._kick = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._writer: asyncio.StreamWriter | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._attempted = asyncio.Event()
        self._last_write = 0.0
        self.connected = False
        self.connections = 0
        self.frames_sent = 0
        self.frames_acknowledged = 0
        self.retransmissions = 0
        self.lost = 0
        self.bad_acks = 0
        self.stray_acks = 0
        self.commands_received = 0
        self.heartbeats_sent = 0
        # split_frames: frames written in chunks, and writes of two frames at once.
        self.split_writes = 0
        self.merged_writes = 0
        self.last_acknowledged_serial: int | None = None
        self.last_error: str | None = None

    # --- lifecycle -------------------------------------------------------------

    @property
    def wanted(self) -> bool:
        """Say whether the link should be up (between ``open`` and ``close``)."""
        return self._run_task is not None

    async def open(self, settings: LinkSettings, *, wait: float) -> None:
        """Start dialling ``settings``; return after the first attempt (or ``wait``)."""
        await self.close()
        self.settings = settings
        self._attempted.clear()
        self._run_task = asyncio.create_task(self._run(settings), name=self.name)
        try:
            async with asyncio.timeout(wait):
                await self._attempted.wait()
        except TimeoutError:
            pass

    async def close(self) -> None:
        """Hang up for good: stop dialling and forget every frame not yet acked."""
        task, self._run_task = self._run_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        self._queue.clear()
        self._in_flight.clear()
        self.connected = False

    # --- sending ---------------------------------------------------------------

    def send(self, app_data: bytes, *, when: datetime | None = None) -> int | None:
        """Queue a send-data frame; return its serial, or None if the link is off."""
        if not self.wanted or self.settings is None:
            return None
        serial = self._take_serial()
        frame = Frame(
            serial=serial,
            action=Action.SEND_DATA,
            source=self.source,
            destination=self.destination,
            time=when or datetime.now(),
            app_data=app_data,
        )
        if len(self._queue) >= MAX_QUEUED:
            self._queue.popleft()
            self.lost += 1
        self._queue.append(_Outgoing(serial, frame.encode(self.settings.checksum)))
        self._kick.set()
        return serial

    def _take_serial(self) -> int:
        """Return the next serial, wrapping after 65535."""
        serial = self._next_serial
        self._next_serial = serial + 1 if serial < MAX_SERIAL else 0
        return serial

    def encode_unsent(self, app_data: bytes) -> tuple[int, bytes]:
        """Encode a send-data frame that is written by hand, never queued."""
        if self.settings is None:
            raise NotConnectedError("the link was never opened")
        serial = self._take_serial()
        frame = Frame(
            serial=serial,
            action=Action.SEND_DATA,
            source=self.source,
            destination=self.destination,
            time=datetime.now(),
            app_data=app_data,
        )
        return serial, frame.encode(self.settings.checksum)

    @property
    def pending(self) -> int:
        """Count frames written but not yet acknowledged."""
        return len(self._in_flight)

    @property
    def queued(self) -> int:
        """Count frames waiting to be written for the first time (or again)."""
        return len(self._queue)

    async def write_raw(
        self,
        data: bytes,
        chunks: list[int],
        *,
        pause: float,
        close_after: bool,
        half_close: bool = False,
    ) -> None:
        """Write exact bytes in chunks of the given sizes, then maybe hang up.

        Chunks must not add up to more than ``data``; what they leave over is
        written last. ``half_close`` ends the stream with a FIN right after the
        bytes (then drops the socket), as a device that loses power mid-frame.
        """
        writer = self._writer
        if writer is None or not self.connected:
            raise NotConnectedError("the device is not connected to a centre")
        pieces: list[bytes] = []
        offset = 0
        for size in chunks:
            pieces.append(data[offset : offset + size])
            offset += size
        if offset < len(data):
            pieces.append(data[offset:])
        async with self._write_lock:
            for index, piece in enumerate(pieces):
                if index:
                    await asyncio.sleep(pause)
                writer.write(piece)
                await writer.drain()
            self._last_write = time.monotonic()
            if half_close:
                writer.write_eof()
                await writer.drain()
                writer.transport.abort()
            elif close_after:
                writer.close()

    # --- the connection loop ---------------------------------------------------

    async def _run(self, settings: LinkSettings) -> None:
        """Dial, serve, and dial again with backoff, until cancelled."""
        delay = settings.reconnect_min_seconds
        while True:
            try:
                reader, writer = await asyncio.open_connection(
                    settings.host, settings.port
                )
            except OSError as error:
                self.last_error = (
                    f"cannot reach {settings.centre}: "
                    f"{error.strerror or type(error).__name__}"
                )
                self._attempted.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, settings.reconnect_max_seconds)
                continue
            acknowledged_before = self.frames_acknowledged
            try:
                await self._serve(settings, reader, writer)
            finally:
                self.connected = False
                self._writer = None
                writer.transport.abort()
                self._requeue_in_flight()
            if self.frames_acknowledged > acknowledged_before:
                delay = settings.reconnect_min_seconds
            _LOGGER.info(
                "%s: connection to %s ended; dialling again in %g s",
                self.name,
                settings.centre,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, settings.reconnect_max_seconds)

    async def _serve(
        self,
        settings: LinkSettings,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """Run one connection: report the state, send, read acks, beat the heart."""
        self._writer = writer
        self.connected = True
        self.connections += 1
        self.last_error = None
        self._last_write = time.monotonic()
        _LOGGER.info("%s: connected to %s", self.name, settings.centre)
        self._on_connected()
        self._attempted.set()
        tasks = [
            asyncio.create_task(self._read_loop(settings, reader, writer)),
            asyncio.create_task(self._pump(settings, writer)),
            asyncio.create_task(self._heartbeat_loop(settings)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
        for task in tasks:
            if not task.cancelled() and (error := task.exception()) is not None:
                self.last_error = f"connection to {settings.centre} failed: {error}"

    def _requeue_in_flight(self) -> None:
        """Put unacknowledged frames back at the front of the queue, in order."""
        # The dict keeps the order the frames were first written in.
        waiting = list(self._in_flight.values())
        self._in_flight.clear()
        self._queue.extendleft(reversed(waiting))

    async def _read_loop(
        self,
        settings: LinkSettings,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """Read the centre's frames until it hangs up."""
        frames = FrameReader(settings.checksum)
        while True:
            try:
                data = await reader.read(_READ_SIZE)
            except OSError:
                return
            if not data:
                return
            for frame in frames.feed(data):
                await self._received(frame, writer)

    async def _received(
        self, frame: ReceivedFrame, writer: asyncio.StreamWriter
    ) -> None:
        """Act on one frame from the centre."""
        if not frame.checksum_ok:
            self.bad_acks += 1
            _LOGGER.debug("%s: ignored a frame with a bad checksum", self.name)
            return
        match frame.action:
            case Action.ACK:
                if (
                    frame.destination != self.source
                    or self._in_flight.pop(frame.serial, None) is None
                ):
                    self.stray_acks += 1
                    return
                self.frames_acknowledged += 1
                self.last_acknowledged_serial = frame.serial
                self._kick.set()
            case Action.CONTROL | Action.REQUEST:
                # Controls are confirmed; requests are not served, so denied.
                self.commands_received += 1
                reply = Action.ACK if frame.action == Action.CONTROL else Action.DENY
                await self._reply(frame, reply, writer)
            case _:
                self.commands_received += 1

    async def _reply(
        self, frame: ReceivedFrame, action: Action, writer: asyncio.StreamWriter
    ) -> None:
        """Answer a centre's frame with an empty frame of the same serial."""
        settings = self.settings
        if settings is None:
            return
        answer = Frame(
            serial=frame.serial,
            action=action,
            source=self.source,
            destination=frame.source,
            time=datetime.now(),
        ).encode(settings.checksum)
        async with self._write_lock:
            writer.write(answer)
            await writer.drain()

    async def _pump(self, settings: LinkSettings, writer: asyncio.StreamWriter) -> None:
        """Write queued frames within the window; retransmit or lose late ones."""
        while True:
            self._kick.clear()
            await self._resend_overdue(settings, writer)
            while self._queue and len(self._in_flight) < settings.window:
                batch = [self._queue.popleft()]
                if (
                    settings.split_frames
                    and self._queue
                    and self._random.random() < _MERGE_SHARE
                ):
                    # Two frames in one write, as a device flushing its buffer.
                    batch.append(self._queue.popleft())
                for item in batch:
                    if item.written:
                        # Back from a dropped connection: this is a repeat.
                        item.retransmissions += 1
                        self.retransmissions += 1
                    else:
                        item.written = True
                        self.frames_sent += 1
                    self._in_flight[item.serial] = item
                await self._write_frames(settings, writer, [i.data for i in batch])
                deadline = time.monotonic() + settings.ack_timeout_seconds
                for item in batch:
                    item.deadline = deadline
            timeout = None
            if self._in_flight:
                earliest = min(item.deadline for item in self._in_flight.values())
                timeout = max(earliest - time.monotonic(), 0.0)
            try:
                async with asyncio.timeout(timeout):
                    await self._kick.wait()
            except TimeoutError:
                pass

    async def _resend_overdue(
        self, settings: LinkSettings, writer: asyncio.StreamWriter
    ) -> None:
        """Write overdue frames again, or give up on them after ``retries``."""
        for item in list(self._in_flight.values()):
            if item.deadline > time.monotonic() or item.serial not in self._in_flight:
                continue
            if item.retransmissions >= settings.retries:
                del self._in_flight[item.serial]
                self.lost += 1
                _LOGGER.warning(
                    "%s: frame %d was never acknowledged; lost",
                    self.name,
                    item.serial,
                )
                continue
            item.retransmissions += 1
            self.retransmissions += 1
            await self._write_frames(settings, writer, [item.data])
            item.deadline = time.monotonic() + settings.ack_timeout_seconds

    async def _write_frames(
        self, settings: LinkSettings, writer: asyncio.StreamWriter, frames: list[bytes]
    ) -> None:
        """Write frames: at once, or with split_frames cut into 2-3 timed chunks."""
        async with self._write_lock:
            if len(frames) > 1 or not settings.split_frames:
                writer.write(b"".join(frames))
                await writer.drain()
                if len(frames) > 1:
                    self.merged_writes += 1
            else:
                self.split_writes += 1
                (data,) = frames
                count = self._random.choice((1, 2)) if len(data) > 2 else 0
                cuts = sorted(self._random.sample(range(1, len(data)), count))
                for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
                    if start:
                        await asyncio.sleep(self._random.uniform(*_CHUNK_PAUSE))
                    writer.write(data[start:end])
                    await writer.drain()
            self._last_write = time.monotonic()

    async def _heartbeat_loop(self, settings: LinkSettings) -> None:
        """Queue a heartbeat whenever nothing was written for heartbeat_seconds."""
        while True:
            idle = time.monotonic() - self._last_write
            if idle < settings.heartbeat_seconds:
                await asyncio.sleep(settings.heartbeat_seconds - idle)
                continue
            if not self._queue and not self._in_flight:
                self.send(self._heartbeat())
                self.heartbeats_sent += 1
            # Count the wait from now, even if the link is busy.
            self._last_write = time.monotonic()
