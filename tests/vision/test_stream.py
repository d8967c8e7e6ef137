"""Test the camera stream reader against real peers: files, HTTP MJPEG and RTSP.

Every peer is real. Files are written with PyAV into ``tmp_path``; the MJPEG
camera is a small aiohttp server on 127.0.0.1 that serves
multipart/x-mixed-replace as IP cameras do; the RTSP camera answers RTSP
(RFC 2326) itself and streams H.264 (RFC 6184) interleaved over TCP, and
refuses UDP. Each frame shows its number as a pattern of white cells, so a
test can tell which frame it got after lossy coding.

Nothing here asserts that something was fast. The pacing tests check lower
bounds the contract promises (a file frame is never handed out before its
timestamp comes due); the waits have a generous deadline only so that a
broken reader fails the test instead of hanging it.
"""

import asyncio
import base64
from collections.abc import AsyncIterator, Callable, Iterable
import contextlib
from dataclasses import dataclass, field
from fractions import Fraction
import io
import itertools
import logging
from pathlib import Path
import re
import socket
import struct
import threading
import time
from typing import Any, Final

from aiohttp import web
import av
import numpy as np
import numpy.typing as npt
from PIL import Image
import pytest
from pytest_homeassistant_custom_component import plugins as ha_plugins

from custom_components.smart_community.vision.imaging import as_pillow
from custom_components.smart_community.vision.stream import (
    Frame,
    StreamReader,
    StreamState,
    StreamStoppedError,
    default_options,
    redact_url,
)

WIDTH: Final = 64
HEIGHT: Final = 48
# The number is drawn as 16 cells, 8 across and 2 down, white for a set bit.
CELLS_ACROSS: Final = 8
BITS: Final = 16
BOUNDARY: Final = "camera-frame"
# How long a test waits for something that should take well under a second;
# reaching it fails the test rather than hanging it.
PATIENCE: Final = 20.0
# Small backoffs keep reconnection tests short.
QUICK: Final[dict[str, Any]] = {
    "open_timeout": 2.0,
    "read_timeout": 2.0,
    "backoff_initial": 0.05,
    "backoff_max": 0.2,
}
USER: Final = "admin"
PASSWORD: Final = "Cam-s3cret!"
# An RTP payload type from the dynamic range (RFC 3551) for H.264.
H264_PAYLOAD_TYPE: Final = 96


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Skip Home Assistant: the reader needs none."""


def numbered_image(number: int) -> npt.NDArray[np.uint8]:
    """Draw a frame that shows ``number`` (16 bits) as white cells on black."""
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    cell_width, cell_height = WIDTH // CELLS_ACROSS, HEIGHT // 2
    for bit in range(BITS):
        if number >> bit & 1:
            row, column = divmod(bit, CELLS_ACROSS)
            image[
                row * cell_height : (row + 1) * cell_height,
                column * cell_width : (column + 1) * cell_width,
            ] = 255
    return image


def read_number(image: npt.NDArray[np.uint8]) -> int:
    """Read back the number a frame shows, from the middle of each cell."""
    cell_width, cell_height = WIDTH // CELLS_ACROSS, HEIGHT // 2
    number = 0
    for bit in range(BITS):
        row, column = divmod(bit, CELLS_ACROSS)
        middle = image[
            row * cell_height + 4 : (row + 1) * cell_height - 4,
            column * cell_width + 2 : (column + 1) * cell_width - 2,
        ]
        if middle.mean() > 127:
            number |= 1 << bit
    return number


def jpeg(number: int) -> bytes:
    """Encode a numbered frame as a JPEG."""
    buffer = io.BytesIO()
    Image.fromarray(numbered_image(number)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def write_video(
    path: Path,
    numbers: Iterable[int],
    *,
    codec: str = "mjpeg",
    rate: int | Fraction = 25,
) -> Path:
    """Write numbered frames into a video file at ``rate`` frames a second."""
    with av.open(str(path), "w") as container:
        stream: Any = container.add_stream(codec, rate=rate)
        stream.width, stream.height = WIDTH, HEIGHT
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for number in numbers:
            frame = av.VideoFrame.from_ndarray(numbered_image(number), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def silence() -> av.AudioFrame:
    """Return a tenth of a second of 8 kHz mono silence."""
    samples = av.AudioFrame.from_ndarray(
        np.zeros((1, 800), np.int16), format="s16", layout="mono"
    )
    samples.sample_rate = 8000
    return samples


def free_port() -> int:
    """Return a loopback port that nothing listens on (right now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition`` holds; fail the test if it never does."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)


@dataclass
class StateLog:
    """Record what ``on_state`` was told, and from which threads."""

    calls: list[tuple[StreamState, str | None]] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)

    def __call__(self, state: StreamState, reason: str | None) -> None:
        """Take one call from the reader."""
        self.calls.append((state, reason))
        self.threads.add(threading.current_thread().name)

    @property
    def states(self) -> list[StreamState]:
        """Return the states in the order they were reported."""
        return [state for state, _ in self.calls]

    def runs(self) -> list[StreamState]:
        """Return the states with repeats in a row (new reasons) folded."""
        runs: list[StreamState] = []
        for state in self.states:
            if not runs or runs[-1] is not state:
                runs.append(state)
        return runs

    def reasons(self, state: StreamState) -> list[str | None]:
        """Return the reasons given with one state."""
        return [reason for seen, reason in self.calls if seen is state]


type MakeReader = Callable[..., StreamReader]


@pytest.fixture
async def make_reader() -> AsyncIterator[MakeReader]:
    """Build readers that are stopped, and their threads joined, after the test."""
    readers: list[StreamReader] = []

    def make(url: str, **kwargs: Any) -> StreamReader:
        reader = StreamReader(url, **kwargs)
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        await asyncio.to_thread(reader.stop)
        assert not reader.running


async def take_until_stopped(reader: StreamReader) -> list[Frame]:
    """Take frames with ``next_frame`` until the reader says it stopped."""
    frames: list[Frame] = []
    after = 0
    while True:
        try:
            frame = await asyncio.wait_for(reader.next_frame(after), PATIENCE)
        except StreamStoppedError:
            return frames
        frames.append(frame)
        after = frame.sequence


# --- the MJPEG camera -------------------------------------------------------


@dataclass
class MjpegCamera:
    """Serve numbered JPEGs as multipart/x-mixed-replace over loopback.

    Frame numbers count on across connections. ``damaged`` picks the numbers
    sent broken: every other one as garbage, the rest cut short. With
    ``stall_after``, each connection goes silent after that many frames but
    stays open.
    """

    fps: float = 50.0
    credentials: tuple[str, str] | None = None
    damaged: Callable[[int], bool] = lambda number: False
    stall_after: int | None = None
    port: int = 0
    next_number: int = 0
    connections: int = 0
    _runner: web.AppRunner | None = None
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, *, userinfo: str = "", path: str = "/mjpeg") -> str:
        """Return the stream's URL, with ``user:password@`` if given."""
        return f"http://{userinfo}127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        """Listen (again on the same port once it has one)."""
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_get("/mjpeg", self._stream)
        app.router.add_get("/snapshot.jpg", self._snapshot)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        if not self.port:
            self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop listening and end every stream."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _body(self, number: int) -> bytes:
        """Return a part's JPEG, broken if the test wants this one broken."""
        body = jpeg(number)
        if not self.damaged(number):
            return body
        if number % 2:
            # Cut inside the entropy-coded data, past the tables: a decoder
            # left to conceal errors would make a picture of it.
            return body[:-60]
        return b"\xff\xd8 this is not a picture " * 8

    async def _snapshot(self, request: web.Request) -> web.Response:
        """Answer with one still picture, the next number."""
        number, self.next_number = self.next_number, self.next_number + 1
        return web.Response(body=jpeg(number), content_type="image/jpeg")

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        """Stream numbered frames until stopped, as a camera's /mjpeg does."""
        if self.credentials is not None:
            expected = "Basic " + base64.b64encode(
                ":".join(self.credentials).encode()
            ).decode("ascii")
            if request.headers.get("Authorization") != expected:
                return web.Response(
                    status=401, headers={"WWW-Authenticate": 'Basic realm="camera"'}
                )
        response = web.StreamResponse(
            headers={"Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}"}
        )
        await response.prepare(request)
        self.connections += 1
        sent = 0
        try:
            while not self._closing.is_set():
                if self.stall_after is not None and sent >= self.stall_after:
                    await self._closing.wait()
                    break
                number, self.next_number = self.next_number, self.next_number + 1
                body = self._body(number)
                await response.write(
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                    + b"\r\n"
                )
                sent += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), 1 / self.fps)
        except ConnectionResetError:
            pass
        return response


@pytest.fixture
async def camera(socket_enabled: None) -> AsyncIterator[MjpegCamera]:
    """Run an MJPEG camera for the test."""
    server = MjpegCamera()
    await server.start()
    yield server
    await server.stop()


@dataclass
class SilentServer:
    """Accept TCP connections and never answer, as a hung camera does.

    With ``hang_up`` it closes each connection at once instead.
    """

    port: int = 0
    hang_up: bool = False
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Drop every connection and stop listening."""
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def _hold(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Read whatever comes and say nothing."""
        self._writers.append(writer)
        self.connected.set()
        if self.hang_up:
            # Read the request first: closing with it unread would reset.
            await reader.readuntil(b"\r\n\r\n")
            writer.close()
            return
        try:
            while await reader.read(4096):
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()


@pytest.fixture
async def silent(socket_enabled: None) -> AsyncIterator[SilentServer]:
    """Run a server that accepts and never answers."""
    server = SilentServer()
    await server.start()
    yield server
    await server.stop()


# --- the RTSP camera --------------------------------------------------------


def split_nal_units(data: bytes) -> list[bytes]:
    """Split an Annex B H.264 byte stream into NAL units."""
    return [unit for unit in re.split(b"\x00\x00\x00\x01|\x00\x00\x01", data) if unit]


def h264_access_units(count: int) -> list[list[bytes]]:
    """Encode ``count`` numbered frames with x264; one NAL unit list per frame."""
    encoder: Any = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    encoder.time_base = Fraction(1, 25)
    encoder.framerate = Fraction(25)
    encoder.gop_size = 10
    encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "bf": "0"}
    units: list[list[bytes]] = []
    for number in range(count):
        frame = av.VideoFrame.from_ndarray(numbered_image(number), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = number
        units.extend(split_nal_units(bytes(packet)) for packet in encoder.encode(frame))
    units.extend(split_nal_units(bytes(packet)) for packet in encoder.encode(None))
    return units


@dataclass
class RtspCamera:
    """Play an RTSP camera that streams H.264 interleaved over TCP, and only so.

    It answers OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER and TEARDOWN,
    with HTTP Basic authentication when it has credentials, and answers a
    SETUP for any other transport with 461 Unsupported Transport. The frames
    loop; each shows its index in the loop.
    """

    credentials: tuple[str, str] | None = None
    fps: float = 25.0
    loop_frames: int = 40
    port: int = 0
    transports: list[str] = field(default_factory=list)
    _units: list[list[bytes]] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    def url(self, *, userinfo: str = "") -> str:
        """Return the stream's URL, with ``user:password@`` if given."""
        return f"rtsp://{userinfo}127.0.0.1:{self.port}/live"

    async def start(self) -> None:
        """Encode the loop and listen on a free loopback port."""
        self._units = h264_access_units(self.loop_frames)
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Drop every session and stop listening."""
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    def _sdp(self) -> bytes:
        """Describe the one H.264 video track (RFC 4566, RFC 6184)."""
        return (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=camera\r\nc=IN IP4 0.0.0.0\r\n"
            f"t=0 0\r\nm=video 0 RTP/AVP {H264_PAYLOAD_TYPE}\r\n"
            f"a=rtpmap:{H264_PAYLOAD_TYPE} H264/90000\r\n"
            f"a=fmtp:{H264_PAYLOAD_TYPE} packetization-mode=1\r\n"
            "a=control:track1\r\n"
        ).encode()

    def _authorised(self, headers: dict[str, str]) -> bool:
        """Check a request's Basic credentials, if the camera wants any."""
        if self.credentials is None:
            return True
        expected = "Basic " + base64.b64encode(
            ":".join(self.credentials).encode()
        ).decode("ascii")
        return headers.get("authorization") == expected

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Answer one client's requests; stream once it says PLAY."""
        self._writers.append(writer)
        playing: asyncio.Task[None] | None = None
        try:
            while True:
                first = await reader.readexactly(1)
                if first == b"$":
                    # Interleaved RTCP from the client: skip it.
                    header = await reader.readexactly(3)
                    await reader.readexactly(struct.unpack("!H", header[1:])[0])
                    continue
                head = (first + await reader.readuntil(b"\r\n\r\n")).decode()
                request_line, *lines = head.split("\r\n")
                method, uri, _version = request_line.split(" ", 2)
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines)
                    if name
                }
                if length := int(headers.get("content-length", "0")):
                    await reader.readexactly(length)
                cseq = headers.get("cseq", "0")
                if method != "OPTIONS" and not self._authorised(headers):
                    self._reply(
                        writer,
                        cseq,
                        "401 Unauthorized",
                        {"WWW-Authenticate": 'Basic realm="camera"'},
                    )
                elif method == "DESCRIBE":
                    self._reply(
                        writer,
                        cseq,
                        "200 OK",
                        {"Content-Base": uri + "/", "Content-Type": "application/sdp"},
                        self._sdp(),
                    )
                elif method == "SETUP":
                    transport = headers.get("transport", "")
                    self.transports.append(transport)
                    if "RTP/AVP/TCP" not in transport.upper():
                        self._reply(writer, cseq, "461 Unsupported Transport")
                        continue
                    self._reply(
                        writer,
                        cseq,
                        "200 OK",
                        {
                            "Transport": "RTP/AVP/TCP;unicast;interleaved=0-1",
                            "Session": "4242;timeout=60",
                        },
                    )
                elif method == "PLAY":
                    self._reply(writer, cseq, "200 OK", {"Session": "4242"})
                    if playing is None:
                        playing = asyncio.create_task(self._play(writer))
                elif method == "TEARDOWN":
                    self._reply(writer, cseq, "200 OK", {"Session": "4242"})
                    break
                else:
                    self._reply(
                        writer,
                        cseq,
                        "200 OK",
                        {"Public": "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"},
                    )
        except asyncio.IncompleteReadError, ConnectionError:
            pass
        finally:
            if playing is not None:
                playing.cancel()
            writer.close()

    @staticmethod
    def _reply(
        writer: asyncio.StreamWriter,
        cseq: str,
        status: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """Write one RTSP response."""
        lines = [f"RTSP/1.0 {status}", f"CSeq: {cseq}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    async def _play(self, writer: asyncio.StreamWriter) -> None:
        """Send the frames as RTP on interleaved channel 0, one NAL unit a packet."""
        sequence = 0
        index = 0
        try:
            while True:
                units = self._units[index % len(self._units)]
                timestamp = round(index * 90000 / self.fps) & 0xFFFFFFFF
                for position, unit in enumerate(units):
                    marker = 0x80 if position == len(units) - 1 else 0
                    rtp = (
                        struct.pack(
                            "!BBHII",
                            0x80,
                            marker | H264_PAYLOAD_TYPE,
                            sequence & 0xFFFF,
                            timestamp,
                            0x5EC0_0001,
                        )
                        + unit
                    )
                    writer.write(b"$\x00" + struct.pack("!H", len(rtp)) + rtp)
                    sequence += 1
                await writer.drain()
                index += 1
                await asyncio.sleep(1 / self.fps)
        except ConnectionError:
            pass


@pytest.fixture
async def rtsp_camera(socket_enabled: None) -> AsyncIterator[RtspCamera]:
    """Run an RTSP camera for the test."""
    server = RtspCamera()
    await server.start()
    yield server
    await server.stop()


# --- pure helpers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "rtsp://admin:hunter2@10.0.0.5:554/Streaming/Channels/101",
            "rtsp://***@10.0.0.5:554/Streaming/Channels/101",
        ),
        ("rtsp://admin@10.0.0.5/live", "rtsp://***@10.0.0.5/live"),
        ("http://u:p@ss@cam.local/mjpeg", "http://***@cam.local/mjpeg"),
        (
            "http://cam.local/videostream.cgi?user=admin&pwd=hunter2&rate=0",
            "http://cam.local/videostream.cgi?user=***&pwd=***&rate=0",
        ),
        (
            "https://cam.local/mjpeg?token=abc&fps",
            "https://cam.local/mjpeg?token=***&fps",
        ),
        ("http://10.0.0.5/mjpeg", "http://10.0.0.5/mjpeg"),
        ("/media/demo.mp4", "/media/demo.mp4"),
        ("file:///media/demo.mp4", "file:///media/demo.mp4"),
        ("C:\\media\\demo.mp4", "C:\\media\\demo.mp4"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    """Credentials in the user info and in the query are redacted."""
    assert redact_url(url) == shown


def test_default_options() -> None:
    """RTSP goes over TCP with a socket timeout; other sources need nothing."""
    assert default_options("rtsp://cam/live", 2.5) == {
        "rtsp_transport": "tcp",
        "timeout": "2500000",
        "allowed_media_types": "video",
    }
    assert default_options("RTSPS://cam/live", 1)["rtsp_transport"] == "tcp"
    assert default_options("http://cam/mjpeg", 2.5) == {}
    assert default_options("/media/demo.mp4", 2.5) == {}


@pytest.mark.parametrize(
    "arguments",
    [
        {"open_timeout": 0},
        {"read_timeout": -1},
        {"backoff_initial": float("nan")},
        {"backoff_max": float("inf")},
        {"backoff_initial": 5, "backoff_max": 1},
    ],
)
def test_bad_arguments(arguments: dict[str, float]) -> None:
    """Timeouts and backoffs must be positive, finite and in order."""
    with pytest.raises(ValueError, match=r"backoff|timeout"):
        StreamReader("/media/demo.mp4", **arguments)


# --- files ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "suffix"), [("mjpeg", "avi"), ("mpeg4", "mp4"), ("libx264", "mkv")]
)
async def test_file_plays_to_its_end(
    tmp_path: Path, make_reader: MakeReader, codec: str, suffix: str
) -> None:
    """A file is decoded in order and ends in STOPPED, its last frame kept."""
    path = write_video(tmp_path / f"clip.{suffix}", range(12), codec=codec)
    log = StateLog()
    reader = make_reader(str(path), realtime_files=False, on_state=log)
    assert reader.state is StreamState.CONNECTING
    reader.start()
    reader.start()

    frames = await take_until_stopped(reader)

    numbers = [read_number(frame.image) for frame in frames]
    assert numbers == sorted(set(numbers))
    assert numbers[-1] == 11
    assert [frame.sequence for frame in frames] == [n + 1 for n in numbers]
    assert log.calls == [
        (StreamState.STREAMING, None),
        (StreamState.STOPPED, "end of file"),
    ]
    assert log.threads == {f"stream {path}"}
    assert reader.state is StreamState.STOPPED
    assert reader.last_error is None
    stats = reader.stats
    assert stats.frames_decoded == 12
    assert stats.frames_taken == len(frames)
    assert stats.frames_taken + stats.frames_dropped == 12
    assert stats.reconnects == 0
    assert stats.bytes_received > 0
    last = reader.latest()
    assert last is frames[-1]
    assert reader.latest(after=last.sequence) is None
    with pytest.raises(StreamStoppedError):
        await reader.next_frame(last.sequence)


async def test_frames_are_rgb_read_only_and_wrapped_without_a_copy(
    tmp_path: Path, make_reader: MakeReader
) -> None:
    """The image is H x W x 3 uint8 RGB, read-only, and Pillow reads it in place."""
    path = tmp_path / "red.avi"
    with av.open(str(path), "w") as container:
        stream: Any = container.add_stream("mjpeg", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuvj420p"
        picture = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        picture[..., 0] = 230
        red = av.VideoFrame.from_ndarray(picture, format="rgb24")
        container.mux(stream.encode(red))
        container.mux(stream.encode(None))
    reader = make_reader(str(path), realtime_files=False)
    reader.start()

    frame = await reader.next_frame()

    image = frame.image
    assert image.shape == (HEIGHT, WIDTH, 3)
    assert image.dtype == np.uint8
    assert not image.flags.writeable
    # The RGB view of an RGBX buffer, which Pillow maps (read-only) instead
    # of copying.
    assert as_pillow(image).readonly
    red, green, blue = (int(image[..., channel].mean()) for channel in range(3))
    assert red > 200
    assert green < 40
    assert blue < 40


async def test_realtime_file_is_paced_by_its_timestamps(
    tmp_path: Path, make_reader: MakeReader
) -> None:
    """No frame of a paced file comes before its timestamp, counted from start()."""
    rate = 20
    path = write_video(tmp_path / "clip.avi", range(8), rate=rate)
    reader = make_reader(str(path))
    started = time.monotonic()
    reader.start()

    frames = await take_until_stopped(reader)

    assert read_number(frames[-1].image) == 7
    for frame in frames:
        due = read_number(frame.image) / rate
        assert frame.received_at - started >= due - 1e-3


async def test_looping_file_starts_again(
    tmp_path: Path, make_reader: MakeReader
) -> None:
    """A looping file wraps around without a reconnect, its schedule continuing."""
    rate = 50
    path = write_video(tmp_path / "clip.avi", range(4), rate=rate)
    log = StateLog()
    reader = make_reader(str(path), loop_files=True, on_state=log)
    started = time.monotonic()
    reader.start()

    frames: list[Frame] = []
    while not frames or frames[-1].sequence < 14:
        after = frames[-1].sequence if frames else 0
        frames.append(await asyncio.wait_for(reader.next_frame(after), PATIENCE))

    numbers = [read_number(frame.image) for frame in frames]
    assert any(later < earlier for earlier, later in itertools.pairwise(numbers))
    for frame in frames:
        # The n-th frame in all (whatever the loop) is due n - 1 frames in.
        assert frame.received_at - started >= (frame.sequence - 1) / rate - 1e-3
        assert read_number(frame.image) == (frame.sequence - 1) % 4
    assert reader.state is StreamState.STREAMING
    assert reader.stats.reconnects == 0
    await asyncio.to_thread(reader.stop)
    assert log.calls == [
        (StreamState.STREAMING, None),
        (StreamState.STOPPED, "stopped"),
    ]


async def test_paced_file_that_falls_behind_is_not_rushed(
    tmp_path: Path, make_reader: MakeReader
) -> None:
    """Over a second behind, the schedule starts over rather than bursting.

    The state callback runs on the decode thread; blocking it once stands
    in for a machine too busy to decode in time. The frame after the stall
    goes out at once and starts a new schedule the later frames keep to.
    """
    rate = 10
    path = write_video(tmp_path / "clip.avi", range(6), rate=rate)

    def stall_once(state: StreamState, reason: str | None) -> None:
        if state is StreamState.STREAMING:
            time.sleep(1.3)

    reader = make_reader(str(path), on_state=stall_once)
    started = time.monotonic()
    reader.start()

    frames = {
        read_number(frame.image): frame for frame in await take_until_stopped(reader)
    }

    restart = frames[1].received_at
    assert restart - started >= 1.3
    for number, frame in frames.items():
        if number > 1:
            assert frame.received_at - restart >= (number - 1) / rate - 1e-3


async def test_waiter_on_a_closed_loop_is_skipped(
    tmp_path: Path, make_reader: MakeReader
) -> None:
    """A waiter whose event loop was closed under it does not stop the others."""
    path = write_video(tmp_path / "clip.avi", range(5), rate=50)
    reader = make_reader(str(path))
    # Drive next_frame by hand up to its wait, on a loop that is then closed
    # with the waiter still registered.
    orphan = reader.next_frame()

    async def begin() -> object:
        return orphan.send(None)

    def wait_on_a_loop_then_close_it() -> None:
        other_loop = asyncio.new_event_loop()
        other_loop.run_until_complete(begin())
        other_loop.close()

    await asyncio.to_thread(wait_on_a_loop_then_close_it)
    reader.start()

    frames = await take_until_stopped(reader)

    assert read_number(frames[-1].image) == 4
    orphan.close()


async def test_missing_file_is_retried(tmp_path: Path, make_reader: MakeReader) -> None:
    """A file that is not there is a failure to retry, not the end."""
    log = StateLog()
    reader = make_reader(str(tmp_path / "nowhere.mp4"), on_state=log, **QUICK)
    reader.start()

    await eventually(lambda: reader.stats.reconnects >= 2, "two retries")

    assert log.calls[0] == (StreamState.RETRYING, "No such file or directory")
    assert reader.last_error == "No such file or directory"


async def test_file_without_video_is_retried(
    tmp_path: Path, make_reader: MakeReader
) -> None:
    """A file with only sound has nothing to read."""
    path = tmp_path / "sound.wav"
    with av.open(str(path), "w") as container:
        stream: Any = container.add_stream("pcm_s16le", rate=8000)
        container.mux(stream.encode(silence()))
        container.mux(stream.encode(None))
    log = StateLog()
    reader = make_reader(str(path), on_state=log, **QUICK)
    reader.start()

    await eventually(lambda: bool(log.calls), "a state change")

    assert log.calls[0] == (StreamState.RETRYING, "no video in the stream")


@pytest.mark.parametrize("loop_files", [False, True])
async def test_file_without_frames_is_retried(
    tmp_path: Path, make_reader: MakeReader, loop_files: bool
) -> None:
    """A video track without frames does not spin, looping or not."""
    # A video track and some sound: a file with nothing at all does not open.
    path = tmp_path / "empty.mkv"
    with av.open(str(path), "w") as container:
        video: Any = container.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        sound: Any = container.add_stream("pcm_s16le", rate=8000)
        container.mux(sound.encode(silence()))
        container.mux(sound.encode(None))
    log = StateLog()
    reader = make_reader(str(path), loop_files=loop_files, on_state=log, **QUICK)
    reader.start()

    await eventually(lambda: reader.stats.reconnects >= 1, "a retry")

    assert log.calls[0] == (StreamState.RETRYING, "the file has no frames")
    assert reader.stats.frames_decoded == 0


async def test_stop_while_pacing_a_file(
    tmp_path: Path, make_reader: MakeReader
) -> None:
    """stop() ends the wait for a slow file's next frame at once.

    The frames are five seconds apart and stop() gives the thread only its
    timeouts plus two seconds, so a thread still sleeping would be alive
    after it.
    """
    path = write_video(tmp_path / "slow.avi", range(3), rate=Fraction(1, 5))
    reader = make_reader(str(path), open_timeout=0.5, read_timeout=0.5)
    reader.start()
    first = await reader.next_frame()
    waiting = asyncio.create_task(reader.next_frame(first.sequence))
    await asyncio.sleep(0.05)

    await asyncio.to_thread(reader.stop)

    assert not reader.running
    with pytest.raises(StreamStoppedError):
        await waiting
    assert reader.state is StreamState.STOPPED


# --- HTTP MJPEG ---------------------------------------------------------------


async def test_mjpeg_slow_consumer_gets_the_newest_frame_only(
    camera: MjpegCamera, make_reader: MakeReader
) -> None:
    """A consumer slower than the camera skips frames; nothing queues up."""
    log = StateLog()
    reader = make_reader(camera.url(), on_state=log, **QUICK)
    reader.start()
    first = await asyncio.wait_for(reader.next_frame(), PATIENCE)

    taken = [first]
    for _ in range(3):
        previous = taken[-1]
        await eventually(
            lambda previous=previous: (
                reader.stats.frames_decoded >= previous.sequence + 3
            ),
            "three more frames",
        )
        newest = reader.latest(previous.sequence)
        assert newest is not None
        taken.append(newest)

    for earlier, later in itertools.pairwise(taken):
        assert later.sequence >= earlier.sequence + 3
        assert read_number(later.image) >= read_number(earlier.image) + 3
    stats = reader.stats
    assert stats.frames_taken == 4
    assert stats.frames_dropped >= 2 * 3
    assert log.calls == [(StreamState.STREAMING, None)]
    assert reader.url == camera.url()


async def test_mjpeg_waiters_on_several_tasks_and_loops(
    camera: MjpegCamera, make_reader: MakeReader
) -> None:
    """Several tasks, one of them on another thread's loop, all get woken."""
    reader = make_reader(camera.url(), **QUICK)
    reader.start()
    first = await asyncio.wait_for(reader.next_frame(), PATIENCE)

    def on_another_loop() -> Frame:
        return asyncio.run(
            asyncio.wait_for(reader.next_frame(first.sequence), PATIENCE)
        )

    frames = await asyncio.gather(
        *(reader.next_frame(first.sequence) for _ in range(3)),
        asyncio.to_thread(on_another_loop),
    )

    for frame in frames:
        assert frame.sequence > first.sequence
        assert read_number(frame.image) == frame.sequence - 1


async def test_mjpeg_cancelled_waiter_does_not_disturb_others(
    camera: MjpegCamera, make_reader: MakeReader
) -> None:
    """A cancelled next_frame leaves quietly; the others still get frames."""
    reader = make_reader(camera.url(), **QUICK)
    camera.fps = 2
    reader.start()
    first = await asyncio.wait_for(reader.next_frame(), PATIENCE)
    # A loaded machine may decode two frames at once: wait from the newest,
    # or the task to cancel could find a frame at once and never wait.
    while (newer := reader.latest(first.sequence)) is not None:
        first = newer
    cancelled = asyncio.create_task(reader.next_frame(first.sequence))
    kept = asyncio.create_task(reader.next_frame(first.sequence))
    await asyncio.sleep(0)

    cancelled.cancel()

    with pytest.raises(asyncio.CancelledError):
        await cancelled
    frame = await asyncio.wait_for(kept, PATIENCE)
    assert frame.sequence > first.sequence


async def test_mjpeg_reconnects_after_the_camera_comes_back(
    camera: MjpegCamera, make_reader: MakeReader
) -> None:
    """The camera going away is RETRYING; its return is STREAMING again."""
    log = StateLog()
    reader = make_reader(camera.url(), on_state=log, **QUICK)
    reader.start()
    before = await asyncio.wait_for(reader.next_frame(), PATIENCE)

    await camera.stop()
    await eventually(lambda: reader.state is StreamState.RETRYING, "RETRYING")
    await eventually(lambda: reader.stats.reconnects >= 2, "two retries")
    await camera.start()
    after = await asyncio.wait_for(reader.next_frame(before.sequence), PATIENCE)
    await eventually(lambda: reader.state is StreamState.STREAMING, "STREAMING")

    assert after.sequence > before.sequence
    assert read_number(after.image) > read_number(before.image)
    assert log.runs() == [
        StreamState.STREAMING,
        StreamState.RETRYING,
        StreamState.STREAMING,
    ]
    # Each call tells something new: a new state or a new reason to retry.
    assert all(a != b for a, b in itertools.pairwise(log.calls))
    reasons = log.reasons(StreamState.RETRYING)
    assert "Connection refused" in reasons
    assert all(reason for reason in reasons)
    assert reader.last_error is None
    assert camera.connections == 2


@pytest.mark.parametrize(
    ("userinfo", "secret"), [(f"{USER}:wrong-Pa55@", "wrong-Pa55"), ("", None)]
)
async def test_mjpeg_unauthorised_is_retried_without_credentials_shown(
    camera: MjpegCamera,
    make_reader: MakeReader,
    caplog: pytest.LogCaptureFixture,
    userinfo: str,
    secret: str | None,
) -> None:
    """401 reads as an authorisation failure and never shows the password."""
    caplog.set_level(logging.DEBUG)
    camera.credentials = (USER, PASSWORD)
    log = StateLog()
    reader = make_reader(camera.url(userinfo=userinfo), on_state=log, **QUICK)
    reader.start()

    await eventually(lambda: reader.stats.reconnects >= 1, "a retry")

    state, reason = log.calls[0]
    assert state is StreamState.RETRYING
    assert reason is not None
    assert "401" in reason
    assert reader.last_error == reason
    if secret is not None:
        for text in (reason, reader.url, caplog.text, *log.threads):
            assert secret not in text
            assert USER not in text
    assert camera.connections == 0


async def test_mjpeg_with_the_right_credentials_streams(
    camera: MjpegCamera, make_reader: MakeReader, caplog: pytest.LogCaptureFixture
) -> None:
    """FFmpeg answers the camera's Basic challenge with the URL's credentials."""
    caplog.set_level(logging.DEBUG)
    camera.credentials = (USER, PASSWORD)
    log = StateLog()
    reader = make_reader(camera.url(userinfo=f"{USER}:{PASSWORD}@"), on_state=log)
    reader.start()

    await asyncio.wait_for(reader.next_frame(), PATIENCE)
    await asyncio.to_thread(reader.stop)

    assert log.calls == [
        (StreamState.STREAMING, None),
        (StreamState.STOPPED, "stopped"),
    ]
    assert PASSWORD not in caplog.text
    assert log.threads == {f"stream http://***@127.0.0.1:{camera.port}/mjpeg"}


async def test_http_source_that_ends_is_fetched_again(
    camera: MjpegCamera, make_reader: MakeReader
) -> None:
    """A network source that simply ends (one still picture) is retried."""
    log = StateLog()
    reader = make_reader(camera.url(path="/snapshot.jpg"), on_state=log, **QUICK)
    reader.start()

    first = await asyncio.wait_for(reader.next_frame(), PATIENCE)
    second = await asyncio.wait_for(reader.next_frame(first.sequence), PATIENCE)

    assert read_number(second.image) > read_number(first.image)
    assert "the stream ended" in log.reasons(StreamState.RETRYING)
    assert reader.stats.reconnects >= 1


async def test_mjpeg_wrong_path_and_refused_port(
    camera: MjpegCamera, make_reader: MakeReader
) -> None:
    """A wrong path and a closed port are RETRYING with what the peer said."""
    not_found = StateLog()
    refused = StateLog()
    make_reader(camera.url(path="/nothing"), on_state=not_found, **QUICK).start()
    make_reader(
        f"http://127.0.0.1:{free_port()}/mjpeg", on_state=refused, **QUICK
    ).start()

    await eventually(lambda: bool(not_found.calls and refused.calls), "both to fail")

    assert not_found.calls[0][0] is StreamState.RETRYING
    assert "404" in str(not_found.calls[0][1])
    assert refused.calls[0] == (StreamState.RETRYING, "Connection refused")


@pytest.mark.usefixtures("socket_enabled")
async def test_unknown_host_is_named(
    make_reader: MakeReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host name that does not resolve is said so, not as an I/O error.

    ``.invalid`` never resolves (RFC 6761). The test harness turns Python's
    name lookups off; FFmpeg's own are real, so the reader's must be too.
    """
    monkeypatch.setattr(socket, "getaddrinfo", ha_plugins._real_getaddrinfo)
    log = StateLog()
    reader = make_reader("http://camera.invalid/mjpeg", on_state=log, **QUICK)
    reader.start()

    await eventually(lambda: bool(log.calls), "a state change")

    assert log.calls[0] == (StreamState.RETRYING, "cannot resolve host camera.invalid")


@pytest.mark.usefixtures("socket_enabled")
async def test_unexpected_error_ends_the_reader(
    make_reader: MakeReader, caplog: pytest.LogCaptureFixture
) -> None:
    """An error nobody planned for ends the reader, logged, and wakes waiters.

    The test harness's refusal to look names up (a RuntimeError from
    ``socket.getaddrinfo``) stands in for such an error.
    """
    log = StateLog()
    reader = make_reader("http://camera.invalid/mjpeg", on_state=log, **QUICK)
    waiting = asyncio.create_task(reader.next_frame())
    await asyncio.sleep(0)
    reader.start()

    with pytest.raises(StreamStoppedError):
        await asyncio.wait_for(waiting, PATIENCE)

    assert log.calls == [(StreamState.STOPPED, "failed")]
    assert "The reader of http://camera.invalid/mjpeg failed" in caplog.text
    await eventually(lambda: not reader.running, "the thread to end")


async def test_mjpeg_damaged_parts_are_skipped(
    camera: MjpegCamera, make_reader: MakeReader
) -> None:
    """Garbage and cut-short JPEGs are counted and skipped; the stream goes on.

    Once the reader has stopped, its last frame tells how far it read: every
    intact part up to there is a frame, and no damaged one is, not even a
    half picture the decoder could have patched up.
    """

    def is_damaged(number: int) -> bool:
        return number % 3 == 1

    camera.damaged = is_damaged
    log = StateLog()
    reader = make_reader(camera.url(), on_state=log, **QUICK)
    reader.start()

    frames: list[Frame] = []
    while len(frames) < 8:
        after = frames[-1].sequence if frames else 0
        frames.append(await asyncio.wait_for(reader.next_frame(after), PATIENCE))
    await asyncio.to_thread(reader.stop)

    numbers = [read_number(frame.image) for frame in frames]
    assert not any(is_damaged(number) for number in numbers)
    assert numbers == sorted(set(numbers))
    last = reader.latest()
    assert last is not None
    read = range(read_number(last.image) + 1)
    stats = reader.stats
    assert stats.frames_decoded == sum(not is_damaged(n) for n in read)
    damaged = sum(is_damaged(n) for n in read)
    assert damaged >= 4
    assert stats.frames_corrupt in {damaged, damaged + 1}
    assert log.states == [StreamState.STREAMING, StreamState.STOPPED]


async def test_mjpeg_only_damaged_parts_is_a_failure(
    camera: MjpegCamera, make_reader: MakeReader
) -> None:
    """A stream that stops decoding altogether is retried."""
    camera.fps = 200
    camera.damaged = lambda number: number >= 2
    log = StateLog()
    reader = make_reader(camera.url(), on_state=log, **QUICK)
    reader.start()

    await eventually(lambda: StreamState.RETRYING in log.states, "RETRYING")

    reason = log.reasons(StreamState.RETRYING)[0]
    assert reason is not None
    assert reason.startswith("undecodable data: ")
    assert log.states[0] is StreamState.STREAMING


async def test_mjpeg_stalled_stream_times_out(
    camera: MjpegCamera, make_reader: MakeReader
) -> None:
    """A camera that stops sending but keeps the connection is retried."""
    camera.stall_after = 3
    log = StateLog()
    reader = make_reader(
        camera.url(),
        on_state=log,
        open_timeout=2,
        read_timeout=0.5,
        backoff_initial=0.05,
        backoff_max=0.1,
    )
    reader.start()

    await eventually(lambda: StreamState.RETRYING in log.states, "RETRYING")

    assert log.calls[:2] == [
        (StreamState.STREAMING, None),
        (StreamState.RETRYING, "no data for 0.5 s"),
    ]


# --- hung peers and stopping --------------------------------------------------


async def test_silent_server_is_a_timeout(
    silent: SilentServer, make_reader: MakeReader
) -> None:
    """A peer that accepts and never answers cannot hold the reader."""
    log = StateLog()
    reader = make_reader(
        f"http://127.0.0.1:{silent.port}/mjpeg",
        on_state=log,
        open_timeout=0.3,
        backoff_initial=0.05,
        backoff_max=0.1,
    )
    reader.start()

    await eventually(lambda: bool(log.calls), "a state change")

    assert log.calls[0] == (StreamState.RETRYING, "no answer within 0.3 s")


async def test_peer_that_hangs_up_at_once(
    silent: SilentServer, make_reader: MakeReader
) -> None:
    """A peer that closes the connection unanswered is a failure to retry."""
    silent.hang_up = True
    log = StateLog()
    reader = make_reader(f"http://127.0.0.1:{silent.port}/mjpeg", on_state=log, **QUICK)
    reader.start()

    await eventually(lambda: bool(log.calls), "a state change")

    assert log.calls[0] == (
        StreamState.RETRYING,
        "the connection closed before the stream began",
    )


async def test_socket_timeout_option_is_passed_to_ffmpeg(
    silent: SilentServer, make_reader: MakeReader
) -> None:
    """Options reach FFmpeg: its own socket timeout fires before ours."""
    log = StateLog()
    reader = make_reader(
        f"http://127.0.0.1:{silent.port}/mjpeg",
        options={"rw_timeout": "200000"},
        on_state=log,
        open_timeout=5,
        backoff_initial=0.05,
        backoff_max=0.1,
    )
    reader.start()

    await eventually(lambda: bool(log.calls), "a state change")

    assert log.calls[0] == (StreamState.RETRYING, "no answer (connection timed out)")


async def test_stop_while_connecting(
    silent: SilentServer, make_reader: MakeReader
) -> None:
    """stop() wakes waiters at once and the thread ends once FFmpeg gives up."""
    log = StateLog()
    reader = make_reader(
        f"http://127.0.0.1:{silent.port}/mjpeg", on_state=log, open_timeout=1
    )
    reader.start()
    waiting = asyncio.create_task(reader.next_frame())
    await asyncio.wait_for(silent.connected.wait(), PATIENCE)

    reader.stop(wait=False)

    with pytest.raises(StreamStoppedError):
        await waiting
    await asyncio.to_thread(reader.stop)
    assert not reader.running
    assert log.calls == [(StreamState.STOPPED, "stopped")]
    with pytest.raises(StreamStoppedError):
        await reader.next_frame()
    with pytest.raises(RuntimeError, match="cannot start again"):
        reader.start()


async def test_stop_while_streaming(
    camera: MjpegCamera, make_reader: MakeReader
) -> None:
    """stop() while frames flow ends the thread and every waiter."""
    reader = make_reader(camera.url(), **QUICK)
    reader.start()
    first = await asyncio.wait_for(reader.next_frame(), PATIENCE)
    waiters = [asyncio.create_task(reader.next_frame(10**9)) for _ in range(2)]
    await asyncio.sleep(0.05)

    await asyncio.to_thread(reader.stop)

    assert not reader.running
    for waiter in waiters:
        with pytest.raises(StreamStoppedError):
            await waiter
    assert reader.state is StreamState.STOPPED
    newest = reader.latest()
    assert newest is not None
    assert newest.sequence >= first.sequence


@pytest.mark.usefixtures("socket_enabled")
async def test_stop_while_waiting_to_retry(make_reader: MakeReader) -> None:
    """stop() cuts a long backoff short.

    The backoff is 30 s and stop() gives the thread 3 s, so a thread still
    waiting out the backoff would be alive afterwards.
    """
    log = StateLog()
    reader = make_reader(
        f"http://127.0.0.1:{free_port()}/mjpeg",
        on_state=log,
        open_timeout=1,
        read_timeout=1,
        backoff_initial=30,
        backoff_max=30,
    )
    reader.start()
    await eventually(lambda: reader.state is StreamState.RETRYING, "RETRYING")
    waiting = asyncio.create_task(reader.next_frame())
    await asyncio.sleep(0.05)

    await asyncio.to_thread(reader.stop)

    assert not reader.running
    with pytest.raises(StreamStoppedError):
        await waiting
    assert log.states == [StreamState.RETRYING, StreamState.STOPPED]
    assert reader.last_error == "Connection refused"


def test_stop_before_start() -> None:
    """A reader stopped before it started reports STOPPED and never starts."""
    log = StateLog()
    reader = StreamReader("/media/demo.mp4", on_state=log)

    reader.stop()
    reader.stop()

    assert log.calls == [(StreamState.STOPPED, "stopped")]
    assert not reader.running
    assert reader.latest() is None
    with pytest.raises(RuntimeError):
        reader.start()


async def test_failing_state_callback_is_logged(
    tmp_path: Path, make_reader: MakeReader, caplog: pytest.LogCaptureFixture
) -> None:
    """A callback that raises is logged and the reader carries on."""
    path = write_video(tmp_path / "clip.avi", range(3))

    def broken(state: StreamState, reason: str | None) -> None:
        raise ValueError("the glue is broken")

    reader = make_reader(str(path), realtime_files=False, on_state=broken)
    reader.start()

    frames = await take_until_stopped(reader)

    assert read_number(frames[-1].image) == 2
    assert reader.state is StreamState.STOPPED
    assert "The stream state callback failed" in caplog.text


async def test_callback_may_stop_the_reader(
    tmp_path: Path, make_reader: MakeReader
) -> None:
    """on_state may call stop() from the decode thread without a deadlock."""
    path = write_video(tmp_path / "clip.avi", range(50))
    log = StateLog()

    def stop_on_first_frame(state: StreamState, reason: str | None) -> None:
        log(state, reason)
        if state is StreamState.STREAMING:
            reader.stop()

    reader = make_reader(str(path), on_state=stop_on_first_frame)
    reader.start()

    await eventually(lambda: not reader.running, "the thread to end")

    assert log.calls == [
        (StreamState.STREAMING, None),
        (StreamState.STOPPED, "stopped"),
    ]
    assert reader.stats.frames_decoded < 50


# --- RTSP -----------------------------------------------------------------------


async def test_rtsp_streams_over_tcp(
    rtsp_camera: RtspCamera, make_reader: MakeReader
) -> None:
    """An RTSP camera that only speaks TCP streams H.264 to the reader."""
    log = StateLog()
    reader = make_reader(rtsp_camera.url(), on_state=log, **QUICK)
    reader.start()

    frames: list[Frame] = []
    while len(frames) < 5:
        after = frames[-1].sequence if frames else 0
        frames.append(await asyncio.wait_for(reader.next_frame(after), PATIENCE))

    assert all(read_number(frame.image) < rtsp_camera.loop_frames for frame in frames)
    assert rtsp_camera.transports
    assert all("RTP/AVP/TCP" in transport for transport in rtsp_camera.transports)
    assert log.calls == [(StreamState.STREAMING, None)]


async def test_rtsp_unauthorised_hides_credentials(
    rtsp_camera: RtspCamera, make_reader: MakeReader, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused RTSP login is RETRYING with a 401 and no password in sight."""
    caplog.set_level(logging.DEBUG)
    rtsp_camera.credentials = (USER, PASSWORD)
    log = StateLog()
    reader = make_reader(
        rtsp_camera.url(userinfo=f"{USER}:wrong-Pa55@"), on_state=log, **QUICK
    )
    reader.start()

    await eventually(lambda: bool(log.calls), "a state change")

    state, reason = log.calls[0]
    assert state is StreamState.RETRYING
    assert reason is not None
    assert "401" in reason
    for text in (reason, reader.url, caplog.text, *log.threads):
        assert "wrong-Pa55" not in text


async def test_rtsp_with_the_right_credentials_streams(
    rtsp_camera: RtspCamera, make_reader: MakeReader
) -> None:
    """FFmpeg logs in to the RTSP camera with the URL's credentials."""
    rtsp_camera.credentials = (USER, PASSWORD)
    reader = make_reader(rtsp_camera.url(userinfo=f"{USER}:{PASSWORD}@"), **QUICK)
    reader.start()

    frame = await asyncio.wait_for(reader.next_frame(), PATIENCE)

    assert read_number(frame.image) < rtsp_camera.loop_frames
