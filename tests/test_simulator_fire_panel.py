"""Test the simulated fire-alarm transmission device by playing its centre.

The encoder is checked byte for byte against the known-good frame of
shared/notes/protocols.md §3.2. Everything else runs the simulator as a
subprocess (``start_simulator``) from a scenario written into ``tmp_path``; the
device is a TCP client, so the test runs the monitoring centre itself: a small
asyncio server that buffers the stream, cuts it into frames and acknowledges
them. Frames are parsed here with a few lines of ``struct``, not with the
simulator's codec, so a codec bug cannot cancel out on both sides.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
import json
from pathlib import Path
import socket
import struct
import time
from typing import Any, Final

import pytest

from simulator.devices.gb26875.frame import (
    Action,
    ChecksumMode,
    Frame,
    FrameReader,
    checksum,
)
from simulator.devices.gb26875.objects import (
    ObjectType,
    app_data,
    component_state,
)
from simulator.devices.gb26875.options import FirePanelOptions
from simulator.kinds import DeviceKind
from simulator.scenario import SCENARIO_DIR, DeviceSpec, load_scenario
from tests.simulator_harness import (
    SimulatorProcess,
    SimulatorRequestError,
    StartSimulator,
)

PANEL: Final = "fire-1"
WAIT_TIMEOUT: Final = 5.0
# Long enough to be sure nothing more is coming when checking that it did not.
SETTLE_SECONDS: Final = 0.4
TRANSMITTER: Final = 0x0000_0000_0001
# Quick timings; heartbeats stay out of the way unless a test wants them.
FAST: Final = {
    "heartbeat_seconds": 30,
    "ack_timeout_seconds": 0.3,
    "retries": 2,
    "reconnect_min_seconds": 0.2,
    "reconnect_max_seconds": 0.4,
    "drift_seconds": 0,
}

# The documented example: smoke detector 258 of controller 1, fire + normal,
# "3号楼2层走廊烟感", at 2026-05-01 08:30:00 (protocols.md elides the NULs).
EXAMPLE_FRAME: Final = bytes.fromhex(
    "40 40 01 00 01 01 00 1e 08 01 05 1a 01 00 00 00 00 00 00 00 00 00 00 00"
    " 30 00 02 02 01 01 01 28 02 01 00 00 03 00 33 ba c5 c2 a5 32 b2 e3 d7 df"
    " c0 c8 d1 cc b8 d0" + " 00" * 15 + " 00 1e 08 01 05 1a 38 23 23"
)
EXAMPLE_ACK: Final = bytes.fromhex(
    "40 40 01 00 01 01 00 1e 08 01 05 1a 00 00 00 00 00 00 01 00 00 00 00 00"
    " 00 00 03 4d 23 23"
)

# '@@', serial, version, time, source, destination, length, action.
HEADER: Final = struct.Struct("<2sH2s6s6s6sHB")
OBJECT_SIZES: Final = {1: 10, 2: 46, 3: 16, 4: 10, 21: 7, 24: 8, 28: 6}
COMPONENT_STATE: Final = struct.Struct("<BBBIH31s6s")
COMPONENT_PARAMETER: Final = struct.Struct("<BBBIBh6s")
SYSTEM_STATE: Final = struct.Struct("<BBH6s")
SYSTEM_OPERATION: Final = struct.Struct("<BBBB6s")


# --- a test-local codec ----------------------------------------------------------


def check_byte(data: bytes, mode: str) -> int:
    """Return the checksum of ``data`` by sum or XOR."""
    if mode == "sum":
        return sum(data) % 256
    result = 0
    for byte in data:
        result ^= byte
    return result


def build_frame(
    serial: int,
    action: int,
    source: int,
    destination: int,
    app: bytes,
    mode: str,
    when: bytes = bytes(6),
) -> bytes:
    """Encode a frame the way the standard says, independently of the simulator."""
    body = struct.pack(
        "<H2B6s6s6sHB",
        serial,
        1,
        1,
        when,
        source.to_bytes(6, "little"),
        destination.to_bytes(6, "little"),
        len(app),
        action,
    )
    body += app
    return b"@@" + body + bytes([check_byte(body, mode)]) + b"##"


@dataclass(frozen=True)
class Seen:
    """Hold one frame the centre received."""

    raw: bytes

    @property
    def serial(self) -> int:
        """Return the frame's serial."""
        return int(HEADER.unpack_from(self.raw)[1])

    @property
    def source(self) -> int:
        """Return the source address."""
        return int.from_bytes(HEADER.unpack_from(self.raw)[4], "little")

    @property
    def destination(self) -> int:
        """Return the destination address."""
        return int.from_bytes(HEADER.unpack_from(self.raw)[5], "little")

    @property
    def action(self) -> int:
        """Return the command byte."""
        return int(HEADER.unpack_from(self.raw)[7])

    @property
    def app(self) -> bytes:
        """Return the app data."""
        return self.raw[HEADER.size : -3]

    @property
    def type(self) -> int:
        """Return the object type (-1 for a frame without app data)."""
        return self.app[0] if self.app else -1

    @property
    def objects(self) -> list[bytes]:
        """Return the objects, cut by the type's size."""
        size = OBJECT_SIZES[self.type]
        count = self.app[1]
        body = self.app[2:]
        assert len(body) == size * count, "object count and length disagree"
        return [body[i * size : (i + 1) * size] for i in range(count)]

    def checksum_ok(self, mode: str) -> bool:
        """Say whether the checksum byte holds under ``mode``."""
        return check_byte(self.raw[2:-3], mode) == self.raw[-3]


def take_frames(buffer: bytearray) -> list[bytes]:
    """Cut complete frames off the front of a stream buffer."""
    frames: list[bytes] = []
    while (start := buffer.find(b"@@")) >= 0:
        del buffer[:start]
        if len(buffer) < HEADER.size:
            break
        total = HEADER.size + HEADER.unpack_from(buffer)[6] + 3
        if len(buffer) < total:
            break
        frames.append(bytes(buffer[:total]))
        del buffer[:total]
    return frames


def ack_for(seen: Seen, mode: str, *, corrupt: bool = False) -> bytes:
    """Return the centre's acknowledgement of a frame (addresses swapped)."""
    ack = bytearray(
        build_frame(seen.serial, 3, seen.destination, seen.source, b"", mode)
    )
    if corrupt:
        ack[-3] ^= 0xFF
    return bytes(ack)


def component_states(frames: list[Seen]) -> list[dict[str, Any]]:
    """Decode every component state object in ``frames``."""
    states: list[dict[str, Any]] = []
    for seen in frames:
        if seen.type != 2:
            continue
        for item in seen.objects:
            sys_type, sys_addr, comp_type, address, state, text, _ = (
                COMPONENT_STATE.unpack(item)
            )
            states.append(
                {
                    "serial": seen.serial,
                    "system": (sys_type, sys_addr),
                    "component_type": comp_type,
                    "address": address,
                    "state": state,
                    "description": text.rstrip(b"\0").decode("gb18030"),
                }
            )
    return states


# --- the centre --------------------------------------------------------------------

type Policy = Callable[[Seen], bytes | None]


@dataclass
class Link:
    """Hold one connection the device made: reads, frames and whether it ended."""

    reads: list[bytes] = field(default_factory=list)
    frames: list[Seen] = field(default_factory=list)
    buffer: bytearray = field(default_factory=bytearray)
    eof: bool = False
    writer: asyncio.StreamWriter | None = None


class Centre:
    """Play the monitoring centre: accept the device, buffer, parse and ack."""

    def __init__(self) -> None:
        """Acknowledge every frame with sum checksums until told otherwise."""
        self.mode = "sum"
        self.links: list[Link] = []
        self.policy: Policy = self.acknowledge
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        for link in self.links:
            if link.writer is not None:
                link.writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def acknowledge(self, seen: Seen) -> bytes | None:
        """Acknowledge a send-data frame."""
        return ack_for(seen, self.mode) if seen.action == 2 else None

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Read one connection to its end."""
        link = Link(writer=writer)
        self.links.append(link)
        try:
            while data := await reader.read(65536):
                link.reads.append(data)
                link.buffer += data
                for raw in take_frames(link.buffer):
                    seen = Seen(raw)
                    link.frames.append(seen)
                    if (reply := self.policy(seen)) is not None:
                        writer.write(reply)
        except ConnectionError:
            pass
        link.eof = True
        writer.close()

    @property
    def frames(self) -> list[Seen]:
        """Return every frame of every connection, in arrival order."""
        return [seen for link in self.links for seen in link.frames]

    def of_type(self, object_type: int) -> list[Seen]:
        """Return the frames carrying one object type."""
        return [seen for seen in self.frames if seen.type == object_type]


class Panel:
    """Drive the simulated device through the control API."""

    def __init__(self, sim: SimulatorProcess, centre: Centre) -> None:
        """Aim at the panel of a running simulator."""
        self.sim = sim
        self.centre = centre

    async def act(self, action: str, **params: Any) -> dict[str, Any]:
        """Run an action and return its result."""
        return await self.sim.action(PANEL, action, params)

    async def refused(self, action: str, **params: Any) -> tuple[int, str]:
        """Run an action that must fail; return its status and message."""
        with pytest.raises(SimulatorRequestError) as raised:
            await self.act(action, **params)
        return raised.value.status, str(raised.value.body["error"])

    async def state(self) -> dict[str, Any]:
        """Return the live state."""
        return dict((await self.sim.snapshot(PANEL))["state"])

    async def connect(self, **params: Any) -> dict[str, Any]:
        """Connect to the test's centre."""
        return await self.act(
            "connect", host="127.0.0.1", port=self.centre.port, **params
        )

    async def settled(self) -> dict[str, Any]:
        """Wait until every frame is acknowledged; return the state."""
        state: dict[str, Any] = {}

        async def done() -> bool:
            nonlocal state
            state = await self.state()
            return bool(
                state["frames_sent"] > 0
                and state["pending"] == 0
                and state["queued"] == 0
                and state["frames_acknowledged"] + state["lost"] == state["frames_sent"]
            )

        await wait_until(done)
        return state


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
    """Write minimal.json with only the fire panel, given these options."""
    document = json.loads((SCENARIO_DIR / "minimal.json").read_text(encoding="utf-8"))
    panel = next(d for d in document["devices"] if d["kind"] == "fire_panel")
    panel["options"] = options
    document["devices"] = [panel]
    path = tmp_path / "fire.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def free_port() -> int:
    """Return a loopback port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- fixtures ----------------------------------------------------------------------


@pytest.fixture
async def centre(socket_enabled: None) -> AsyncIterator[Centre]:
    """Run the centre the device dials."""
    server = Centre()
    await server.start()
    yield server
    await server.stop()


type Launch = Callable[..., Panel]


@pytest.fixture
def launch(
    centre: Centre, start_simulator: StartSimulator, tmp_path: Path
) -> Iterator[Launch]:
    """Start a simulator whose only device is the panel, with FAST options."""
    started: list[SimulatorProcess] = []

    def start(**options: Any) -> Panel:
        """Start the panel with FAST options plus ``options``."""
        sim = start_simulator(write_scenario(tmp_path, {**FAST, **options}))
        started.append(sim)
        return Panel(sim, centre)

    yield start
    for sim in started:
        # Stopped while the centre still listens: a clean exit, nothing leaked.
        assert sim.stop() == 0
        for trouble in (" ERROR ", "Traceback", "Unclosed", "never retrieved"):
            assert trouble not in sim.stderr


# --- the codec, without a subprocess ---------------------------------------------


def test_encoder_reproduces_the_documented_frame() -> None:
    """The encoder writes protocols.md's example byte for byte; the ack parses."""
    moment = datetime(2026, 5, 1, 8, 30, 0)
    obj = component_state(1, 1, 40, 258, 0x0003, "3号楼2层走廊烟感", moment)
    assert len(obj) == 46
    frame = Frame(
        serial=1,
        action=Action.SEND_DATA,
        source=1,
        destination=0,
        time=moment,
        app_data=app_data(ObjectType.COMPONENT_STATE, [obj]),
    )
    encoded = frame.encode()
    assert encoded == EXAMPLE_FRAME
    assert encoded[-3] == 0x38
    # The test-local encoder agrees, so the two can judge each other below.
    when = bytes([0, 30, 8, 1, 5, 26])
    assert build_frame(1, 2, 1, 0, encoded[27:-3], "sum", when) == EXAMPLE_FRAME

    reader = FrameReader(ChecksumMode.SUM)
    # Garbage first, then the ack cut in three: nothing until it is whole.
    assert reader.feed(b"\x00xx@" + EXAMPLE_ACK[:1]) == []
    assert reader.feed(EXAMPLE_ACK[1:20]) == []
    (ack,) = reader.feed(EXAMPLE_ACK[20:] + EXAMPLE_FRAME[:5])
    assert (ack.serial, ack.action, ack.app_data) == (1, Action.ACK, b"")
    assert (ack.source, ack.destination, ack.checksum) == (0, 1, 0x4D)
    assert ack.checksum_ok
    # The three junk bytes, and the stray '@' that looked like a start.
    assert reader.discarded == 4
    assert reader.buffered == 5

    # XOR mode: the same bytes get a different checksum, and sum frames fail it.
    xor = frame.encode(ChecksumMode.XOR)
    assert xor[:-3] == encoded[:-3]
    assert xor[-3] == checksum(encoded[2:-3], ChecksumMode.XOR)
    assert xor[-3] != encoded[-3]
    xor_reader = FrameReader(ChecksumMode.XOR)
    (merged_a, merged_b) = xor_reader.feed(xor + encoded)
    assert merged_a.checksum_ok
    assert not merged_b.checksum_ok


def test_options_build_the_demo_components() -> None:
    """The demo's buildings yield detectors, call points, pressures and levels."""
    scenario = load_scenario("demo")
    spec = next(d for d in scenario.devices if d.kind == DeviceKind.FIRE_PANEL)
    options = FirePanelOptions.from_spec(spec, scenario)
    components = {c.address: c for c in options.components}
    assert len(components) == len(options.components)
    descriptions = {c.description for c in components.values()}
    assert "3号楼2层走廊烟感" in descriptions
    assert "3号楼11层走廊烟感" in descriptions
    assert all(len(d.encode("gb18030")) <= 31 for d in descriptions)
    for building in ("1", "2", "3", "4"):
        assert f"{building}号楼1层大堂手报" in descriptions
    pressure = components[10120]
    assert (pressure.system_type, pressure.parameter_type) == (11, 5)
    assert pressure.value is not None
    assert 300 <= pressure.value <= 400
    tank = components[11830]
    assert (tank.component_type, tank.parameter_type) == (92, 2)
    assert tank.value is not None
    assert 3.5 <= tank.value <= 4.5

    def spec_with(**options: Any) -> DeviceSpec:
        return DeviceSpec(PANEL, DeviceKind.FIRE_PANEL, "panel", options=options)

    for bad, message in (
        ({"transmitter_address": "12"}, "12 hex digits"),
        ({"checksum": "crc"}, "one of sum, xor"),
        ({"colour": "red"}, "unknown options"),
        ({"components": [], "generate_components": 3}, "exclude each other"),
        (
            {"components": [{"address": 1, "description": "很长" * 16}]},
            "at most 31 bytes",
        ),
        (
            {"components": [{"address": 1, "description": "a"}] * 2},
            "lists address 1 twice",
        ),
        ({"generate_components": 100_000}, "an integer 1..20000"),
    ):
        with pytest.raises(ValueError, match=message):
            FirePanelOptions.from_spec(spec_with(**bad), scenario)

    generated = FirePanelOptions.from_spec(
        spec_with(generate_components=500), scenario
    ).components
    assert len({c.address for c in generated}) == 500
    assert all(c.component_type == 40 for c in generated)


# --- the device on the wire ----------------------------------------------------------


async def test_connect_reports_everything_and_acks_stop_retransmission(
    launch: Launch, centre: Centre
) -> None:
    """Connect sends state, clock, systems, components and readings; then heartbeats."""
    panel = launch()
    # No dialling before connect.
    await asyncio.sleep(SETTLE_SECONDS)
    assert centre.links == []
    described = panel.sim.device(PANEL)
    assert described["implemented"] is True
    assert described["port"] is None
    assert described["protocol"] == "gb26875-tcp-client"

    result = await panel.connect()
    assert result["connected"] is True
    assert result["centre"] == f"127.0.0.1:{centre.port}"
    state = await panel.settled()
    assert state["retransmissions"] == 0
    assert state["lost"] == state["bad_acks"] == 0
    assert state["last_acknowledged_serial"] == state["frames_sent"]

    frames = centre.frames
    assert len(frames) == state["frames_sent"]
    assert [seen.serial for seen in frames] == list(range(1, len(frames) + 1))
    for seen in frames:
        assert seen.checksum_ok("sum")
        assert (seen.source, seen.destination, seen.action) == (TRANSMITTER, 0, 2)
        assert seen.raw[4:6] == b"\x01\x01"
        assert len(seen.app) <= 1024
        assert len(seen.objects) <= 20
    # Own state (normal), clock, systems, components, readings.
    assert [seen.type for seen in frames] == [21, 28, 1, 2, 3]
    assert frames[0].objects[0][0] == 0x01
    systems = [SYSTEM_STATE.unpack(o)[:3] for o in frames[2].objects]
    assert systems == [(1, 1, 1), (11, 1, 1)]

    reported = component_states(frames)
    listed = state["components"]
    assert [r["address"] for r in reported] == [c["address"] for c in listed]
    assert all(r["state"] == 0x0001 for r in reported)
    assert {r["description"] for r in reported} >= {
        "1号楼3层走廊烟感",
        "1号楼1层大堂手报",
        "消防泵房1号消火栓泵",
    }
    readings = {
        COMPONENT_PARAMETER.unpack(o)[3]: COMPONENT_PARAMETER.unpack(o)[4:6]
        for o in frames[4].objects
    }
    pressure = next(c for c in listed if c.get("unit") == "kPa")
    level = next(c for c in listed if c.get("unit") == "m")
    assert readings[pressure["address"]] == (5, round(pressure["value"] * 10))
    assert readings[level["address"]] == (2, round(level["value"] * 100))

    # Connecting again hangs up, dials anew and reports everything again; an
    # idle link then sends heartbeats, each a type 21 frame, each acknowledged.
    await panel.connect(heartbeat_seconds=0.3)
    first, second = centre.links
    await wait_until(lambda: first.eof and len(second.frames) >= 5 + 2)
    assert [seen.type for seen in second.frames[:5]] == [21, 28, 1, 2, 3]
    assert second.frames[0].serial == len(frames) + 1
    for beat in second.frames[5:]:
        assert beat.type == 21
        assert beat.objects[0][0] == 0x01
    state = await panel.settled()
    assert state["connections"] == 2
    assert state["heartbeats_sent"] >= 2
    assert state["retransmissions"] == 0


async def test_unacknowledged_frame_is_repeated_then_lost(
    launch: Launch, centre: Centre
) -> None:
    """Without an ack the same frame comes again (same bytes), then counts as lost."""
    centre.policy = lambda seen: None
    panel = launch(retries=2)
    await panel.connect()

    async def first_lost() -> bool:
        return bool((await panel.state())["lost"] >= 1)

    await wait_until(first_lost)
    first = [seen for seen in centre.frames if seen.serial == 1]
    assert len(first) == 3
    assert first[0].raw == first[1].raw == first[2].raw
    # Stop-and-wait: the next frame follows only after the last try of the first.
    arrival = [seen.serial for seen in centre.frames]
    assert 2 not in arrival[: arrival.index(1) + 3]

    centre.policy = centre.acknowledge
    state = await panel.settled()
    assert state["lost"] == 1
    assert state["retransmissions"] >= 2
    assert state["frames_acknowledged"] == state["frames_sent"] - 1


async def test_bad_checksum_ack_is_ignored(launch: Launch, centre: Centre) -> None:
    """An ack with a bad checksum does not count; the frame is sent again."""
    spoiled: list[int] = []

    def spoil_first(seen: Seen) -> bytes:
        if not spoiled:
            spoiled.append(seen.serial)
            return ack_for(seen, "sum", corrupt=True)
        return ack_for(seen, "sum")

    centre.policy = spoil_first
    panel = launch()
    await panel.connect()
    state = await panel.settled()
    assert state["bad_acks"] == 1
    assert state["retransmissions"] == 1
    assert state["lost"] == 0
    assert [seen.serial for seen in centre.frames].count(spoiled[0]) == 2


async def test_xor_checksum_mode(launch: Launch, centre: Centre) -> None:
    """In XOR mode frames carry XOR checksums and XOR acks are accepted."""
    centre.mode = "xor"
    panel = launch(checksum="xor")
    state = await panel.connect()
    assert state["checksum"] == "xor"
    state = await panel.settled()
    assert state["bad_acks"] == 0
    assert state["frames_acknowledged"] == state["frames_sent"]
    assert all(seen.checksum_ok("xor") for seen in centre.frames)
    assert not all(seen.checksum_ok("sum") for seen in centre.frames)

    # A sum ack is a bad ack to an XOR device.
    centre.mode = "sum"
    await panel.act("power", main_fault=True)

    async def rejected() -> bool:
        return bool((await panel.state())["bad_acks"] >= 1)

    await wait_until(rejected)


async def test_split_and_merged_frames_reassemble(
    launch: Launch, centre: Centre
) -> None:
    """split_frames cuts frames and merges pairs; a buffering centre reads them all."""
    panel = launch(generate_components=240)
    await panel.connect(split_frames=True)
    state = await panel.settled()
    assert state["split_writes"] >= 1
    assert state["merged_writes"] >= 1
    assert state["lost"] == state["bad_acks"] == 0
    frames = centre.frames
    assert [seen.serial for seen in frames] == list(range(1, len(frames) + 1))
    assert all(seen.checksum_ok("sum") for seen in frames)
    assert len({r["address"] for r in component_states(frames)}) == 240
    # Some read ended inside a frame: the stream really was cut.
    (link,) = centre.links
    ends = {len(b"".join(link.reads[: i + 1])) for i in range(len(link.reads))}
    boundaries = {
        len(b"".join(seen.raw for seen in frames[: i + 1])) for i in range(len(frames))
    }
    assert ends - boundaries


async def test_alarm_spreads_and_reset_clears(launch: Launch, centre: Centre) -> None:
    """A detector goes to fire, its neighbour follows, a reset ends it all."""
    panel = launch()
    await panel.connect()
    await panel.settled()
    start = len(centre.frames)

    alarm = await panel.act("alarm", spread_seconds=0.3)
    target, neighbour = alarm["address"], alarm["neighbour"]
    assert alarm["description"] == "1号楼3层走廊烟感"
    assert neighbour // 100 == target // 100
    await wait_until(
        lambda: any(
            r["address"] == neighbour for r in component_states(centre.frames[start:])
        )
    )
    news = centre.frames[start:]
    assert [seen.type for seen in news] == [2, 1, 21, 2]
    states = component_states(news)
    assert [(r["address"], r["state"]) for r in states] == [
        (target, 0x0003),
        (neighbour, 0x0003),
    ]
    assert states[0]["description"] == "1号楼3层走廊烟感"
    assert states[1]["description"] == "1号楼3层前室烟感"
    raw_text = news[0].objects[0][9:40]
    assert raw_text == "1号楼3层走廊烟感".encode("gb18030").ljust(31, b"\0")
    assert SYSTEM_STATE.unpack(news[1].objects[0])[:3] == (1, 1, 0x0003)
    assert news[2].objects[0][0] == 0x03

    state = await panel.settled()
    fired = {c["address"]: c["bits"] for c in state["components"]}
    assert fired[target] == fired[neighbour] == ["normal", "fire_alarm"]
    assert state["transmitter_state"] == 0x03

    start = len(centre.frames)
    result = await panel.act("reset")
    assert result["reset"] == 2
    await panel.settled()
    news = centre.frames[start:]
    assert [seen.type for seen in news] == [4, 2, 1, 21]
    assert SYSTEM_OPERATION.unpack(news[0].objects[0])[:3] == (1, 1, 0x01)
    assert {(r["address"], r["state"]) for r in component_states(news)} == {
        (target, 0x0001),
        (neighbour, 0x0001),
    }
    assert news[3].objects[0][0] == 0x01


async def test_power_faults_components_readings_and_operations(
    launch: Launch, centre: Centre
) -> None:
    """Power faults, component bits, readings and operations each reach the centre."""
    panel = launch()
    # Nothing to write to yet.
    assert (await panel.refused("send_raw", hex="4040"))[0] == 409
    await panel.connect()
    await panel.settled()
    start = len(centre.frames)

    assert (await panel.act("power", main_fault=True))["transmitter_state"] == 0x09
    assert (await panel.act("power", backup_fault=True))["transmitter_state"] == 0x19
    assert (await panel.act("power", main_fault=False, backup_fault=False))[
        "transmitter_state"
    ] == 0x01
    fault = await panel.act("set_component", address=10110, fault=True, test=True)
    assert fault["state"] == 0x0004
    assert fault["bits"] == ["test", "fault"]
    reading = await panel.act("parameter", address=10120, value=120.54)
    assert (reading["value"], reading["unit"]) == (120.5, "kPa")
    await panel.act("parameter", address=10630, value=3.85)
    await panel.act("operate", silence=True, operator=7)
    await panel.act("operate", system_address=1, acknowledge=True)
    await panel.settled()

    news = centre.frames[start:]
    assert [seen.type for seen in news] == [21, 21, 21, 2, 1, 3, 3, 24, 4]
    assert [seen.objects[0][0] for seen in news[:3]] == [0x09, 0x19, 0x01]
    (fault_state,) = component_states([news[3]])
    assert (fault_state["address"], fault_state["state"]) == (10110, 0x0004)
    assert SYSTEM_STATE.unpack(news[4].objects[0])[:3] == (1, 1, 0x0005)
    assert COMPONENT_PARAMETER.unpack(news[5].objects[0])[3:6] == (10120, 5, 1205)
    assert COMPONENT_PARAMETER.unpack(news[6].objects[0])[3:6] == (10630, 2, 385)
    assert news[7].objects[0][:2] == bytes([0x02, 7])
    assert SYSTEM_OPERATION.unpack(news[8].objects[0])[:4] == (1, 1, 0x20, 0)

    # The centre's control is confirmed, its request denied, same serial each.
    (link,) = centre.links
    assert link.writer is not None
    link.writer.write(build_frame(700, 1, 0, TRANSMITTER, bytes([90, 1]), "sum"))
    link.writer.write(build_frame(701, 4, 0, TRANSMITTER, bytes([61, 1]), "sum"))
    await wait_until(lambda: len(link.frames) >= len(news) + start + 2)
    answers = [(seen.serial, seen.action) for seen in link.frames[-2:]]
    assert answers == [(700, 3), (701, 6)]
    assert all(seen.app == b"" and seen.destination == 0 for seen in link.frames[-2:])
    assert (await panel.state())["commands_received"] == 2

    assert (await panel.refused("parameter", address=10101, value=1))[0] == 400
    status, message = await panel.refused("alarm", address=424242)
    assert status == 400
    assert "no component at address 424242" in message
    assert (await panel.refused("set_component", address=10101, smoke=True))[0] == 400
    assert (await panel.refused("nope"))[0] == 404


async def test_send_raw_chunks_arrive_exactly(launch: Launch, centre: Centre) -> None:
    """send_raw writes exact bytes in the given chunks; close_after hangs up."""
    panel = launch()
    await panel.connect()
    await panel.settled()
    (link,) = centre.links
    before = len(link.reads)
    # A well-framed frame with an object type nobody knows.
    data = build_frame(999, 2, TRANSMITTER, 0, bytes([0x63, 1, 9, 9, 9]), "sum")
    result = await panel.act("send_raw", hex=data.hex(" "), chunks=[7, 20])
    assert result["chunks"] == [7, 20, len(data) - 27]
    await wait_until(lambda: len(link.reads) >= before + 3)
    assert link.reads[before:] == [data[:7], data[7:27], data[27:]]
    assert link.frames[-1].raw == data

    await panel.act("send_raw", hex="40 40 01", close_after=True)
    await wait_until(lambda: link.eof and len(centre.links) == 2)
    assert link.buffer == b"@@\x01"
    state = await panel.settled()
    assert state["connections"] == 2


async def test_drop_mid_frame_then_reconnect(launch: Launch, centre: Centre) -> None:
    """Half a frame, then EOF; the device dials again and reports everything."""
    panel = launch()
    await panel.connect()
    first = await panel.settled()
    (link,) = centre.links

    dropped = await panel.act("drop_mid_frame")
    await wait_until(lambda: link.eof)
    assert len(link.buffer) == dropped["written"] == dropped["frame_length"] // 2
    assert link.buffer.startswith(b"@@")
    assert int.from_bytes(link.buffer[2:4], "little") == dropped["serial"]

    await wait_until(lambda: len(centre.links) == 2)
    state = await panel.settled()
    assert state["connections"] == 2
    again = centre.links[1].frames
    assert [seen.type for seen in again] == [21, 28, 1, 2, 3]
    assert again[0].serial == dropped["serial"] + 1
    assert state["frames_sent"] == 2 * first["frames_sent"]


async def test_generated_components_fill_the_initial_report(
    launch: Launch, centre: Centre
) -> None:
    """generate_components: 500 reports 500 distinct detectors, 20 to a frame."""
    panel = launch(generate_components=500)
    await panel.connect()
    state = await panel.settled()
    assert state["lost"] == 0
    assert len(state["components"]) == 500
    frames = centre.of_type(2)
    assert len(frames) == 25
    assert all(len(seen.objects) == 20 and len(seen.app) == 922 for seen in frames)
    reported = component_states(frames)
    assert len({r["address"] for r in reported}) == 500
    assert {r["component_type"] for r in reported} == {40}


async def test_refused_centre_is_redialled_until_disconnect(
    launch: Launch, centre: Centre
) -> None:
    """A refused dial is retried with backoff; disconnect stops for good."""
    panel = launch()
    port = free_port()
    refused = await panel.act("connect", host="127.0.0.1", port=port)
    assert refused["connected"] is False
    assert refused["centre"] == f"127.0.0.1:{port}"
    assert "cannot reach" in refused["last_error"]

    late = Centre()
    await late.start(port)
    try:
        await wait_until(lambda: len(late.links) == 1)
        await Panel(panel.sim, late).settled()
        gone = await panel.act("disconnect")
        assert gone["connected"] is False
        assert gone["centre"] is None
        await wait_until(lambda: late.links[0].eof)
        await asyncio.sleep(1.0)
        assert len(late.links) == 1
        # Events while disconnected queue nothing.
        await panel.act("alarm", spread_seconds=0)
        assert (await panel.state())["queued"] == 0
    finally:
        await late.stop()
