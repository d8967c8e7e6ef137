"""Test the GB/T 26875.3 centre server over loopback, the test playing the device.

The device side is written here with plain asyncio streams and sockets; it
checks the bytes the server writes against the known-good ack.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
import logging
import socket
import struct
from typing import Any

import pytest

from custom_components.smart_community.protocols.gb26875 import (
    Action,
    ApplicationData,
    ChecksumMode,
    ComponentState,
    Frame,
    Gb26875Server,
    Problem,
    TransmitterState,
    TransmitterStateFlags,
    decode_frame,
    encode_application_data,
    encode_frame,
    encode_time_sync,
    server as server_module,
)
from custom_components.smart_community.protocols.gb26875.server import _peer_name

from .test_gb26875_frame import EXAMPLE_ACK, EXAMPLE_FRAME, EXAMPLE_TIME

WAIT = 5.0
QUIET = 0.2
T = datetime(2026, 5, 1, 8, 29)


def device_frame(
    serial: int,
    *,
    source: int = 1,
    action: int = Action.SEND_DATA,
    data: bytes | None = None,
    mode: ChecksumMode = ChecksumMode.SUM,
) -> bytes:
    """Return a frame a device sends: by default a transmitter state, normal."""
    if data is None:
        data = encode_application_data(
            [TransmitterState(TransmitterStateFlags.NORMAL, T)]
        )
    return encode_frame(Frame(serial, (1, 1), T, source, 0, action, data), mode)


def ack_of(raw: bytes, mode: ChecksumMode = ChecksumMode.SUM) -> bytes:
    """Return the ack the server must send for a frame, at EXAMPLE_TIME."""
    frame = decode_frame(raw, mode)
    return encode_frame(
        Frame(
            frame.serial,
            frame.version,
            EXAMPLE_TIME,
            frame.destination,
            frame.source,
            3,
        ),
        mode,
    )


@dataclass
class Recorder:
    """Play the HA layer: answer checksum modes and record every call."""

    modes: dict[int, ChecksumMode | None] = field(
        default_factory=lambda: {1: ChecksumMode.SUM, 2: ChecksumMode.XOR}
    )
    failing: set[str] = field(default_factory=set)
    frames: list[tuple[int, Frame, ApplicationData | None]] = field(
        default_factory=list
    )
    connections: list[tuple[int, bool, str]] = field(default_factory=list)
    problems: list[tuple[Problem, str, int | None, str]] = field(default_factory=list)

    def _maybe_fail(self, method: str) -> None:
        """Raise if the test asked this method to fail."""
        if method in self.failing:
            raise RuntimeError(f"{method} is broken")

    def checksum_mode(self, address: int) -> ChecksumMode | None:
        """Return the configured mode."""
        self._maybe_fail("checksum_mode")
        return self.modes.get(address)

    def frame_received(
        self, address: int, frame: Frame, data: ApplicationData | None
    ) -> None:
        """Record a frame."""
        self._maybe_fail("frame_received")
        self.frames.append((address, frame, data))

    def connection_changed(self, address: int, connected: bool, peer: str) -> None:
        """Record a connection change."""
        self.connections.append((address, connected, peer))
        self._maybe_fail("connection_changed")

    def problem(
        self, problem: Problem, peer: str, address: int | None, detail: str
    ) -> None:
        """Record a problem."""
        self.problems.append((problem, peer, address, detail))
        self._maybe_fail("problem")

    def kinds(self) -> list[Problem]:
        """Return the problems reported so far, in order."""
        return [problem for problem, *_ in self.problems]


async def until(condition: Callable[[], bool]) -> None:
    """Wait, generously, for something to happen."""
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110 - no event tells of the stats
            await asyncio.sleep(0.005)


@dataclass
class Device:
    """Play a transmission device: write frames, read what the centre writes."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @property
    def name(self) -> str:
        """Return host:port as the server sees this end."""
        host, port = self.writer.get_extra_info("sockname")[:2]
        return f"{host}:{port}"

    async def send(self, *chunks: bytes) -> None:
        """Write chunks, each drained before the next."""
        for chunk in chunks:
            self.writer.write(chunk)
            await self.writer.drain()

    async def receive(self, size: int = 30) -> bytes:
        """Read exactly ``size`` bytes (an ack is 30)."""
        return await asyncio.wait_for(self.reader.readexactly(size), WAIT)

    async def receive_frame(self) -> bytes:
        """Read one whole frame of any length."""
        header = await self.receive(27)
        return header + await self.receive(int.from_bytes(header[24:26], "little") + 3)

    async def nothing_arrives(self) -> None:
        """Check that the centre writes nothing for a short while."""
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(self.reader.read(1), QUIET)

    async def closed_by_centre(self) -> None:
        """Wait until the centre closes the connection."""
        try:
            rest = await asyncio.wait_for(self.reader.read(), WAIT)
        except ConnectionResetError:
            return
        assert rest == b""

    async def close(self) -> None:
        """Close this end."""
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


@dataclass
class Harness:
    """Hold a running server, its recorder and the devices connected to it."""

    server: Gb26875Server
    handler: Recorder
    port: int
    devices: list[Device] = field(default_factory=list)

    async def connect(self) -> Device:
        """Connect a new device."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        device = Device(reader, writer)
        self.devices.append(device)
        return device

    async def connected(self) -> Device:
        """Connect a device and wait until the server has taken the connection."""
        before = self.server.stats.connections_total
        device = await self.connect()
        await until(lambda: self.server.stats.connections_total > before)
        return device


type Start = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def start(socket_enabled: None) -> AsyncIterator[Start]:
    """Return a function that starts a server on 127.0.0.1; stop all after the test."""
    harnesses: list[Harness] = []

    async def _start(handler: Recorder | None = None, **options: Any) -> Harness:
        recorder = handler or Recorder()
        options.setdefault("clock", lambda: EXAMPLE_TIME)
        server = Gb26875Server(recorder, **options)
        port = await server.start("127.0.0.1", 0)
        harness = Harness(server, recorder, port)
        harnesses.append(harness)
        return harness

    yield _start
    for harness in harnesses:
        for device in harness.devices:
            await device.close()
        await harness.server.stop()


@pytest.fixture
async def harness(start: Start) -> Harness:
    """Return a server with the default options."""
    return await start()


# ---- acks ----


async def test_example_frame_is_acknowledged(harness: Harness) -> None:
    """Answer the example frame with the known-good ack, and pass its data on."""
    device = await harness.connect()
    await device.send(EXAMPLE_FRAME)
    assert await device.receive() == EXAMPLE_ACK
    [(address, frame, data)] = harness.handler.frames
    assert address == 1
    assert frame == decode_frame(EXAMPLE_FRAME)
    assert data is not None
    assert data.type_code == 2
    assert isinstance(data.objects[0], ComponentState)
    assert data.objects[0].description == "3号楼2层走廊烟感"
    assert harness.handler.connections == [(1, True, device.name)]
    assert harness.server.is_connected(1)
    assert not harness.server.is_connected(2)
    stats = harness.server.stats
    assert (stats.frames, stats.acknowledged, stats.duplicates) == (1, 1, 0)
    assert (stats.connections_total, stats.open_connections) == (1, 1)
    assert not stats.problems
    assert harness.handler.problems == []


async def test_frame_split_across_writes(harness: Harness) -> None:
    """Put a frame together from many small writes."""
    device = await harness.connect()
    for start in range(0, len(EXAMPLE_FRAME), 7):
        await device.send(EXAMPLE_FRAME[start : start + 7])
        await asyncio.sleep(0.001)
    assert await device.receive() == EXAMPLE_ACK


async def test_merged_frames_are_all_acknowledged(harness: Harness) -> None:
    """Acknowledge each of several frames sent in one write, in order."""
    device = await harness.connect()
    frames = [device_frame(serial) for serial in (10, 11, 12)]
    await device.send(b"".join(frames))
    for frame in frames:
        assert await device.receive() == ack_of(frame)
    assert [frame.serial for _, frame, _ in harness.handler.frames] == [10, 11, 12]


async def test_heartbeat_without_data(harness: Harness) -> None:
    """Acknowledge a frame without application data and pass it on with None."""
    device = await harness.connect()
    heartbeat = device_frame(5, data=b"")
    await device.send(heartbeat)
    assert await device.receive() == ack_of(heartbeat)
    assert harness.handler.frames[0][2] is None


async def test_xor_transmitter(harness: Harness) -> None:
    """Check and answer a transmitter configured for XOR checksums in XOR."""
    device = await harness.connect()
    frame = device_frame(3, source=2, mode=ChecksumMode.XOR)
    await device.send(frame)
    assert await device.receive() == ack_of(frame, ChecksumMode.XOR)
    # The same transmitter's frame in SUM is refused.
    wrong = device_frame(4, source=2)
    await device.send(wrong)
    await device.nothing_arrives()
    assert harness.handler.kinds() == [Problem.BAD_CHECKSUM]


# ---- refusals ----


async def test_bad_checksum_is_not_acknowledged(harness: Harness) -> None:
    """Give no ack for a bad checksum, so the device resends; serve the next frame."""
    device = await harness.connect()
    bad = EXAMPLE_FRAME[:-3] + b"\x00##"
    await device.send(bad)
    await device.nothing_arrives()
    [(problem, peer, address, detail)] = harness.handler.problems
    assert (problem, peer, address) == (Problem.BAD_CHECKSUM, device.name, 1)
    assert "0x00" in detail
    assert "0x38" in detail
    assert harness.handler.frames == []
    # The next bytes the device reads are the ack of the good frame.
    good = device_frame(2)
    await device.send(good)
    assert await device.receive() == ack_of(good)
    assert harness.server.stats.problems == {Problem.BAD_CHECKSUM: 1}


async def test_unknown_transmitter(harness: Harness) -> None:
    """Give no ack to a transmitter that is not configured; serve one that is."""
    device = await harness.connect()
    await device.send(device_frame(1, source=0xA1B2C3D4E5F6))
    await device.nothing_arrives()
    [(problem, _, address, detail)] = harness.handler.problems
    assert problem is Problem.UNKNOWN_TRANSMITTER
    assert address == 0xA1B2C3D4E5F6
    assert "A1B2C3D4E5F6" in detail
    assert harness.handler.connections == []
    assert not harness.server.is_connected(0xA1B2C3D4E5F6)
    good = device_frame(2)
    await device.send(good)
    assert await device.receive() == ack_of(good)


async def test_unknown_object_type_is_acknowledged(harness: Harness) -> None:
    """Acknowledge data of an unknown type (resending cannot help), but drop it."""
    device = await harness.connect()
    odd = device_frame(8, data=bytes((99, 1, 1, 2, 3)))
    await device.send(odd)
    assert await device.receive() == ack_of(odd)
    assert harness.handler.frames == []
    [(problem, _, address, detail)] = harness.handler.problems
    assert (problem, address) == (Problem.UNKNOWN_OBJECT_TYPE, 1)
    assert "99" in detail
    # Sent again, it is a duplicate: acknowledged, not reported again.
    await device.send(odd)
    assert await device.receive() == ack_of(odd)
    assert harness.handler.kinds() == [Problem.UNKNOWN_OBJECT_TYPE]
    assert harness.server.stats.duplicates == 1


async def test_malformed_application_data_is_not_acknowledged(harness: Harness) -> None:
    """Give no ack for data whose length does not fit its count."""
    device = await harness.connect()
    await device.send(device_frame(9, data=bytes((2, 1)) + bytes(45)))
    await device.nothing_arrives()
    [(problem, _, address, detail)] = harness.handler.problems
    assert (problem, address) == (Problem.MALFORMED, 1)
    assert "46 bytes" in detail
    assert harness.handler.frames == []


@pytest.mark.parametrize(
    ("action", "problems"),
    [
        (Action.ACK, []),
        (Action.RESPONSE, []),
        (Action.REJECT, []),
        (Action.CONTROL, [Problem.UNEXPECTED_ACTION]),
        (Action.REQUEST, [Problem.UNEXPECTED_ACTION]),
        (0, [Problem.UNEXPECTED_ACTION]),
        (200, [Problem.UNEXPECTED_ACTION]),
    ],
)
async def test_actions_other_than_send_data(
    harness: Harness, action: int, problems: list[Problem]
) -> None:
    """Take answers silently; report commands a device should not send; ack neither."""
    device = await harness.connect()
    await device.send(device_frame(4, action=action))
    probe = device_frame(5)
    await device.send(probe)
    assert await device.receive() == ack_of(probe)
    assert harness.handler.kinds() == problems
    assert [frame.serial for _, frame, _ in harness.handler.frames] == [5]
    assert harness.server.stats.frames == 2


async def test_garbage_and_bad_lengths_are_reported(start: Start) -> None:
    """Report garbage and oversized frames, and serve the frames around them."""
    harness = await start(max_data_length=64)
    device = await harness.connect()
    too_long = device_frame(6, data=bytes(65))
    frames = [device_frame(1), device_frame(2)]
    await device.send(b"GET / HTTP/1.0\r\n" + frames[0] + too_long + frames[1])
    for frame in frames:
        assert await device.receive() == ack_of(frame)
    assert harness.handler.kinds() == [Problem.GARBAGE, Problem.MALFORMED]
    assert "16 bytes skipped" in harness.handler.problems[0][3]
    assert "over the limit of 64" in harness.handler.problems[1][3]
    assert harness.handler.problems[1][2] is None


# ---- connections ----


async def test_truncated_frame_then_disconnect(harness: Harness) -> None:
    """Report a frame cut off by the peer closing; keep serving other connections."""
    first = await harness.connect()
    await first.send(device_frame(1))
    assert await first.receive() == ack_of(device_frame(1))
    await first.send(EXAMPLE_FRAME[:50])
    await first.close()
    await until(lambda: Problem.TRUNCATED in harness.handler.kinds())
    [(_, peer, address, detail)] = harness.handler.problems
    assert peer == first.name
    assert address is None
    assert "50 bytes into a frame" in detail
    await until(lambda: len(harness.handler.connections) == 2)
    assert harness.handler.connections[1] == (1, False, first.name)
    assert not harness.server.is_connected(1)
    second = await harness.connect()
    await second.send(EXAMPLE_FRAME)
    assert await second.receive() == EXAMPLE_ACK
    assert harness.handler.connections[2] == (1, True, second.name)


async def test_clean_disconnect_reports_nothing(harness: Harness) -> None:
    """Say only that the transmitter left when it closes between frames."""
    device = await harness.connect()
    await device.send(EXAMPLE_FRAME)
    await device.receive()
    await device.close()
    await until(lambda: harness.server.stats.open_connections == 0)
    assert harness.handler.connections == [
        (1, True, device.name),
        (1, False, device.name),
    ]
    assert harness.handler.problems == []


async def test_reset_connection(harness: Harness) -> None:
    """End a connection the peer resets, and tell that the transmitter left."""
    device = await harness.connect()
    await device.send(EXAMPLE_FRAME)
    await device.receive()
    sock = device.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await device.send(EXAMPLE_FRAME[:10])
    await device.close()
    await until(lambda: (1, False, device.name) in harness.handler.connections)
    assert harness.server.stats.open_connections == 0


async def test_two_connections_of_one_transmitter(harness: Harness) -> None:
    """Keep a transmitter connected until its last connection closes."""
    old = await harness.connect()
    await old.send(device_frame(1))
    await old.receive()
    new = await harness.connect()
    await new.send(device_frame(2))
    await new.receive()
    assert harness.handler.connections == [(1, True, old.name), (1, True, new.name)]
    await old.close()
    await until(lambda: harness.server.stats.open_connections == 1)
    assert harness.server.is_connected(1)
    assert len(harness.handler.connections) == 2
    # Commands go to the newest connection.
    assert await harness.server.send(1, Action.CONTROL, encode_time_sync(EXAMPLE_TIME))
    assert decode_frame(await new.receive_frame()).action == Action.CONTROL
    await new.close()
    await until(lambda: len(harness.handler.connections) == 3)
    assert harness.handler.connections[2] == (1, False, new.name)


async def test_one_connection_for_two_transmitters(harness: Harness) -> None:
    """Track each transmitter a connection carries, as a gateway's does."""
    device = await harness.connect()
    one, two = device_frame(1), device_frame(1, source=2, mode=ChecksumMode.XOR)
    await device.send(one + two)
    assert await device.receive() == ack_of(one)
    assert await device.receive() == ack_of(two, ChecksumMode.XOR)
    assert harness.server.is_connected(1)
    assert harness.server.is_connected(2)
    await device.close()
    await until(lambda: len(harness.handler.connections) == 4)
    assert harness.handler.connections[2:] == [
        (1, False, device.name),
        (2, False, device.name),
    ]


async def test_idle_timeout(start: Start) -> None:
    """Close a connection that stays silent, and report it."""
    harness = await start(idle_timeout=0.2)
    device = await harness.connect()
    await device.send(EXAMPLE_FRAME)
    assert await device.receive() == EXAMPLE_ACK
    await device.closed_by_centre()
    await until(lambda: harness.server.stats.open_connections == 0)
    assert harness.handler.kinds() == [Problem.IDLE]
    assert "Nothing received for 0.2 s" in harness.handler.problems[0][3]
    assert harness.handler.connections[-1] == (1, False, device.name)


async def test_idle_with_a_partial_frame(start: Start) -> None:
    """Report the partial frame of a connection closed for silence."""
    harness = await start(idle_timeout=0.2)
    device = await harness.connect()
    await device.send(b"@@\x01")
    await device.closed_by_centre()
    await until(lambda: len(harness.handler.problems) == 2)
    assert harness.handler.kinds() == [Problem.IDLE, Problem.TRUNCATED]


async def test_max_connections(start: Start) -> None:
    """Refuse connections over the limit at once; keep serving the others."""
    harness = await start(max_connections=1)
    first = await harness.connected()
    second = await harness.connect()
    await second.closed_by_centre()
    await until(lambda: Problem.TOO_MANY_CONNECTIONS in harness.handler.kinds())
    [(_, peer, address, detail)] = harness.handler.problems
    assert peer == second.name
    assert address is None
    assert "1 connections are open" in detail
    await first.send(EXAMPLE_FRAME)
    assert await first.receive() == EXAMPLE_ACK
    assert harness.server.stats.connections_total == 1
    await first.close()
    await until(lambda: harness.server.stats.open_connections == 0)
    third = await harness.connect()
    await third.send(EXAMPLE_FRAME)
    assert await third.receive() == EXAMPLE_ACK


# ---- retransmissions ----


async def test_duplicates_are_acknowledged_but_not_passed_on(harness: Harness) -> None:
    """Acknowledge a retransmission again without passing it on again."""
    device = await harness.connect()
    await device.send(EXAMPLE_FRAME)
    await device.receive()
    await device.send(EXAMPLE_FRAME)
    assert await device.receive() == EXAMPLE_ACK
    assert len(harness.handler.frames) == 1
    assert harness.server.stats.duplicates == 1
    assert harness.server.stats.acknowledged == 2
    # The same serial with other bytes is new data.
    changed = device_frame(1)
    await device.send(changed)
    await device.receive()
    assert len(harness.handler.frames) == 2
    # A retransmission on a new connection, after a reconnect, is still known.
    await device.close()
    again = await harness.connect()
    await again.send(EXAMPLE_FRAME)
    assert await again.receive() == EXAMPLE_ACK
    assert len(harness.handler.frames) == 2
    assert harness.server.stats.duplicates == 2


async def test_only_the_last_64_frames_are_remembered(harness: Harness) -> None:
    """Forget frames older than the last 64 from a transmitter."""
    device = await harness.connect()
    frames = [device_frame(serial) for serial in range(65)]
    await device.send(b"".join(frames))
    for _ in frames:
        await device.receive()
    await device.send(frames[1] + frames[0])
    await device.receive()
    await device.receive()
    assert len(harness.handler.frames) == 66
    assert harness.server.stats.duplicates == 1


# ---- a handler that fails ----


async def test_handler_that_raises(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Refuse the frame (no ack), log the traceback once, report it, keep serving."""
    harness.handler.failing.add("frame_received")
    device = await harness.connect()
    with caplog.at_level(logging.DEBUG, logger=server_module.__name__):
        await device.send(EXAMPLE_FRAME)
        await device.nothing_arrives()
        await device.send(device_frame(2))
        await device.nothing_arrives()
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert "frame_received" in errors[0].getMessage()
    assert harness.handler.kinds() == [Problem.HANDLER_FAILED] * 2
    assert "RuntimeError: frame_received is broken" in harness.handler.problems[0][3]
    assert harness.server.stats.acknowledged == 0
    # Fixed, the handler gets the frame the device sends again.
    harness.handler.failing.clear()
    await device.send(EXAMPLE_FRAME)
    assert await device.receive() == EXAMPLE_ACK
    assert len(harness.handler.frames) == 1


async def test_other_handler_methods_that_raise(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Survive failures in checksum_mode, connection_changed and problem."""
    device = await harness.connect()
    harness.handler.failing.add("checksum_mode")
    await device.send(device_frame(1))
    await device.nothing_arrives()
    assert harness.handler.kinds() == [Problem.HANDLER_FAILED]
    harness.handler.failing = {"connection_changed", "problem"}
    # The notice fails, but the frame is still handled and acknowledged.
    await device.send(device_frame(2))
    assert await device.receive() == ack_of(device_frame(2))
    assert harness.handler.connections == [(1, True, device.name)]
    assert len(harness.handler.frames) == 1
    # A failing problem() is only logged; the count still goes up.
    assert harness.server.stats.problems[Problem.HANDLER_FAILED] == 2
    harness.handler.failing = {"checksum_mode"}
    assert not await harness.server.send(1, Action.CONTROL)
    assert harness.server.stats.problems[Problem.HANDLER_FAILED] == 3
    logged = {
        record.getMessage().split("'s ")[1].split(" ")[0]
        for record in caplog.records
        if record.levelno >= logging.ERROR
    }
    assert logged == {"checksum_mode", "connection_changed", "problem"}


async def test_an_error_in_the_server_costs_one_frame(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Keep the connection when handling one frame fails unexpectedly."""
    device = await harness.connect()

    def broken(data: bytes) -> ApplicationData:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(server_module, "decode_application_data", broken)
    await device.send(device_frame(1))
    await device.nothing_arrives()
    assert harness.handler.kinds() == [Problem.MALFORMED]
    assert "ZeroDivisionError: bug" in harness.handler.problems[0][3]
    assert "Handling a frame" in caplog.text
    monkeypatch.undo()
    await device.send(device_frame(2))
    assert await device.receive() == ack_of(device_frame(2))


# ---- the centre's own frames ----


async def test_send(harness: Harness) -> None:
    """Send a command to a connected transmitter, numbered and addressed."""
    assert not await harness.server.send(1, Action.CONTROL)
    device = await harness.connect()
    frame = encode_frame(Frame(1, (1, 2), T, 1, 0xC0FFEE, Action.SEND_DATA, b""))
    await device.send(frame)
    await device.receive()
    data = encode_time_sync(datetime(2026, 5, 1, 8, 30, 5))
    assert await harness.server.send(1, Action.CONTROL, data)
    assert await harness.server.send(1, Action.REQUEST, bytes((81, 1, 0)))
    first = decode_frame(await device.receive_frame())
    second = decode_frame(await device.receive_frame())
    assert first == Frame(1, (1, 2), EXAMPLE_TIME, 0xC0FFEE, 1, Action.CONTROL, data)
    assert (second.serial, second.action, second.data) == (2, 4, bytes((81, 1, 0)))
    # A transmitter no longer configured gets nothing.
    harness.handler.modes[1] = None
    assert not await harness.server.send(1, Action.CONTROL, data)
    await device.nothing_arrives()


async def test_send_in_xor(harness: Harness) -> None:
    """Checksum the centre's frames in the transmitter's mode."""
    device = await harness.connect()
    await device.send(device_frame(1, source=2, mode=ChecksumMode.XOR))
    await device.receive()
    assert await harness.server.send(2, Action.CONTROL, encode_time_sync(T))
    frame = decode_frame(await device.receive_frame(), ChecksumMode.XOR)
    assert frame.destination == 2


async def test_serial_wraps(harness: Harness) -> None:
    """Number the centre's frames 1 to 65535, then 1 again."""
    device = await harness.connect()
    await device.send(device_frame(1))
    await device.receive()
    harness.server._serial = 0xFFFE
    for expected in (0xFFFF, 1):
        assert await harness.server.send(1, Action.CONTROL)
        assert decode_frame(await device.receive_frame()).serial == expected


# ---- slow peers ----


async def stuffed_peer(harness: Harness) -> socket.socket:
    """Connect a device that never reads, with a tiny receive buffer."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", harness.port))
    await loop.sock_sendall(sock, device_frame(1, data=b""))
    await until(lambda: harness.server.is_connected(1))
    return sock


async def test_peer_that_stops_reading(start: Start) -> None:
    """Drop a peer that takes nothing for the write timeout; others go on."""
    harness = await start(write_timeout=0.3)
    sock = await stuffed_peer(harness)
    try:
        big = bytes(60_000)
        sent = 0
        while await harness.server.send(1, Action.CONTROL, big):
            sent += 1
            assert sent < 2000, "the loopback buffers never filled"
        await until(lambda: not harness.server.is_connected(1))
        other = await harness.connect()
        await other.send(device_frame(7, source=2, mode=ChecksumMode.XOR))
        assert await other.receive() == ack_of(
            device_frame(7, source=2, mode=ChecksumMode.XOR), ChecksumMode.XOR
        )
    finally:
        sock.close()


async def test_stop_with_a_peer_that_stopped_reading(start: Start) -> None:
    """Stop at once even when a connection's writes are stuck."""
    harness = await start(write_timeout=60)
    sock = await stuffed_peer(harness)
    try:
        connection = harness.server._by_address[1][0]
        transport = connection.writer.transport

        async def flood() -> None:
            while await harness.server.send(1, Action.CONTROL, bytes(60_000)):
                pass

        sender = asyncio.create_task(flood())
        await until(lambda: transport.get_write_buffer_size() > 0)
        await harness.server.stop()
        await asyncio.wait_for(sender, WAIT)
        assert harness.handler.connections[-1][:2] == (1, False)
    finally:
        sock.close()


async def test_write_error(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Count a failed write as a failed send or ack, without ending the connection."""
    device = await harness.connect()
    await device.send(device_frame(1))
    await device.receive()

    async def reset() -> None:
        raise ConnectionResetError("reset")

    writer = harness.server._by_address[1][0].writer
    monkeypatch.setattr(writer, "drain", reset)
    assert not await harness.server.send(1, Action.CONTROL)
    await device.receive_frame()
    # An ack whose write fails is not counted.
    await device.send(device_frame(2))
    await device.receive()
    assert harness.server.stats.acknowledged == 1
    monkeypatch.undo()
    assert await harness.server.send(1, Action.CONTROL)
    await device.receive_frame()


async def test_send_on_a_closing_connection(harness: Harness) -> None:
    """Refuse to write to a connection that is closing."""
    device = await harness.connect()
    await device.send(device_frame(1))
    await device.receive()
    harness.server._by_address[1][0].writer.close()
    assert not await harness.server.send(1, Action.CONTROL)


# ---- starting and stopping ----


async def test_stop_closes_every_connection(harness: Harness) -> None:
    """Close all connections and wait for their tasks; say every transmitter left."""
    one = await harness.connect()
    two = await harness.connect()
    await one.send(device_frame(1))
    await two.send(device_frame(1, source=2, mode=ChecksumMode.XOR))
    await one.receive()
    await two.receive()
    await harness.server.stop()
    await one.closed_by_centre()
    await two.closed_by_centre()
    assert harness.server.stats.open_connections == 0
    assert not harness.server.is_connected(1)
    assert sorted(change[:2] for change in harness.handler.connections[2:]) == [
        (1, False),
        (2, False),
    ]
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", harness.port)
    # Stopping again, or a server never started, is harmless.
    await harness.server.stop()
    await Gb26875Server(Recorder()).stop()


async def test_connection_accepted_while_stopping(harness: Harness) -> None:
    """Close a connection whose task starts only after stop() began."""

    @dataclass
    class LateWriter:
        closed: bool = False

        def close(self) -> None:
            self.closed = True

    await harness.server.stop()
    writer = LateWriter()
    await harness.server._serve(asyncio.StreamReader(), writer)  # type: ignore[arg-type]
    assert writer.closed
    assert harness.server.stats.connections_total == 0


async def test_start_twice(harness: Harness) -> None:
    """Refuse to start a server that is running."""
    with pytest.raises(RuntimeError, match="already started"):
        await harness.server.start("127.0.0.1", 0)


async def test_start_on_a_given_port(socket_enabled: None) -> None:
    """Listen on the port asked for, and return it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Gb26875Server(Recorder())
    assert await server.start("127.0.0.1", port) == port
    await server.stop()


def test_peer_names() -> None:
    """Name IPv4 and IPv6 peers as host:port, and anything else as it is."""

    @dataclass
    class FakeWriter:
        peer: object

        def get_extra_info(self, name: str) -> object:
            assert name == "peername"
            return self.peer

    def name(peer: object) -> str:
        return _peer_name(FakeWriter(peer))  # type: ignore[arg-type]

    assert name(("192.0.2.1", 5000)) == "192.0.2.1:5000"
    assert name(("::1", 5000, 0, 0)) == "[::1]:5000"
    assert name(None) == "None"
    assert name("unix-socket") == "unix-socket"
