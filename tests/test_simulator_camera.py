"""Test the simulated MJPEG camera as a client would: over HTTP, with PyAV too.

Each test writes its own small media folder (solid-coloured stills and
backgrounds, and an ``index.json`` of the shared shape) and a scenario next to it
into ``tmp_path``, and runs the simulator as a subprocess (``start_simulator``).
Streams are parsed here from the raw multipart bytes, not with the simulator's
framing code, so a framing bug cannot cancel out on both sides. The option
reader, the scene selection and the composer are pure code and are tested
in-process. One test uses the shared ``simulator/media`` folder when it is there.
"""

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
import contextlib
import io
import json
from pathlib import Path
import socket
import time
from typing import Any, Final

import aiohttp
import av
from PIL import Image
import pytest

from simulator.devices.mjpeg.composer import FrameComposer, open_picture
from simulator.devices.mjpeg.media import MediaError, load_index
from simulator.devices.mjpeg.options import (
    DEFAULT_MEDIA_ROOT,
    CameraOptions,
    Placement,
    Scene,
)
from simulator.kinds import DeviceKind
from simulator.scenario import DeviceSpec
from tests.simulator_harness import (
    SimulatorProcess,
    SimulatorRequestError,
    SimulatorStartError,
    StartSimulator,
)

WAIT_SECONDS: Final = 10.0
# JPEG moves flat colours by a few levels; stills differ by far more.
COLOUR_TOLERANCE: Final = 40
RED: Final = (220, 30, 30)
BLUE: Final = (30, 30, 220)
GREEN: Final = (30, 200, 30)
YELLOW: Final = (220, 220, 30)
MAGENTA: Final = (220, 30, 220)
BACKGROUND_COLOURS: Final = {
    "door": (100, 100, 100),
    "gate": (60, 60, 60),
    "elevator": (150, 150, 150),
}
# Stills by category: (media-relative file, colour, size, index fields).
FACES: Final = [
    ("faces/alice/1.jpg", RED, (120, 160), {"identity": "alice", "split": "tuning"}),
    ("faces/bob/1.jpg", BLUE, (120, 160), {"identity": "bob", "split": "holdout"}),
]
PLATES: Final = [
    ("plates/1.jpg", GREEN, (320, 240), {"text": "粤B12345", "color": "blue"}),
]
OBJECTS: Final = [
    ("objects/1.jpg", YELLOW, (320, 180), {"labels": ["motorcycle"]}),
]
SMALL: Final = {"width": 320, "height": 240}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Skip Home Assistant: only the simulator runs here."""


# --- media and scenarios -------------------------------------------------------------


def save_picture(
    path: Path, colour: tuple[int, int, int], size: tuple[int, int]
) -> None:
    """Write a solid-colour JPEG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, quality=95)


def make_media(root: Path, *, noisy_general: bool = False) -> Path:
    """Write stills, backgrounds and index.json into ``root``; return ``root``."""
    index: dict[str, Any] = {"faces": [], "plates": [], "objects": []}
    for key, stills in (("faces", FACES), ("plates", PLATES), ("objects", OBJECTS)):
        for file, colour, size, fields in stills:
            save_picture(root / file, colour, size)
            index[key].append({"file": file, **fields, "source": "test"})
    index["backgrounds"] = []
    for scene, colour in BACKGROUND_COLOURS.items():
        file = f"backgrounds/{scene}.jpg"
        save_picture(root / file, colour, (640, 360))
        index["backgrounds"].append({"file": file, "scene": scene, "source": "test"})
    if noisy_general:
        # Noise does not compress: big frames, as a busy real scene gives.
        noise = Image.effect_noise((1280, 720), 80).convert("RGB")
        noise.save(root / "backgrounds/general.jpg", quality=90)
        index["backgrounds"].append(
            {"file": "backgrounds/general.jpg", "scene": "general", "source": "test"}
        )
    index["sources"] = {"test": {"licence": "made by the test"}}
    (root / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return root


def write_scenario(folder: Path, cameras: dict[str, dict[str, Any]]) -> Path:
    """Write a scenario of cameras whose media folder is ``folder/media``."""
    devices = [
        {
            "id": camera_id,
            "kind": "camera",
            "name": camera_id,
            "options": {"media_root": "media", **options},
        }
        for camera_id, options in cameras.items()
    ]
    path = folder / "cameras.json"
    path.write_text(
        json.dumps({"community": {"name": "测试"}, "devices": devices}),
        encoding="utf-8",
    )
    return path


def start_cameras(
    start_simulator: StartSimulator,
    tmp_path: Path,
    cameras: dict[str, dict[str, Any]],
    *,
    noisy_general: bool = False,
) -> SimulatorProcess:
    """Make the media folder, write the scenario and start the simulator."""
    make_media(tmp_path / "media", noisy_general=noisy_general)
    return start_simulator(write_scenario(tmp_path, cameras))


def camera_url(sim: SimulatorProcess, camera_id: str, path: str) -> str:
    """Return the URL of ``path`` on a camera."""
    device = sim.device(camera_id)
    return f"http://{device['host']}:{device['port']}{path}"


def jpeg_base64(colour: tuple[int, int, int], size: tuple[int, int]) -> str:
    """Return a solid-colour JPEG as base64 text."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG", quality=95)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# --- reading pictures and streams ----------------------------------------------------


def decode(jpeg: bytes) -> Image.Image:
    """Decode a JPEG fully."""
    with Image.open(io.BytesIO(jpeg)) as picture:
        assert picture.format == "JPEG"
        return picture.convert("RGB")


def centre_colour(jpeg: bytes) -> tuple[int, int, int]:
    """Return the colour in the middle of a JPEG."""
    picture = decode(jpeg)
    pixel = picture.getpixel((picture.width // 2, picture.height // 2))
    assert isinstance(pixel, tuple)
    return pixel[0], pixel[1], pixel[2]


def near(colour: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    """Say whether two colours match within JPEG's error."""
    return all(
        abs(a - b) <= COLOUR_TOLERANCE for a, b in zip(colour, expected, strict=True)
    )


def still_box(
    picture: Image.Image, colour: tuple[int, int, int]
) -> tuple[int, int, int, int]:
    """Return the extent of ``colour`` along the middle row and column."""
    width, height = picture.size
    pixels = picture.load()
    assert pixels is not None
    columns = [x for x in range(width) if near(_rgb(pixels[x, height // 2]), colour)]
    rows = [y for y in range(height) if near(_rgb(pixels[width // 2, y]), colour)]
    assert columns, f"no pixel near {colour} on the middle row"
    return min(columns), min(rows), max(columns) + 1, max(rows) + 1


def _rgb(pixel: Any) -> tuple[int, int, int]:
    """Return a pixel as an RGB triple."""
    return int(pixel[0]), int(pixel[1]), int(pixel[2])


@contextlib.asynccontextmanager
async def open_stream(
    url: str,
    *,
    auth: str | None = None,
    receive_buffer: int | None = None,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """Open an MJPEG stream; a small ``receive_buffer`` plays a slow reader."""

    def make_socket(address: Any) -> socket.socket:
        """Create the client socket, with a small receive buffer if asked."""
        family, kind, protocol, _, _ = address
        sock = socket.socket(family, kind, protocol)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        return sock

    connector = aiohttp.TCPConnector(
        resolver=aiohttp.ThreadedResolver(), socket_factory=make_socket
    )
    timeout = aiohttp.ClientTimeout(total=None, sock_read=WAIT_SECONDS)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
        session.get(url, headers=_authorization(auth)) as response,
    ):
        yield response


def _authorization(auth: str | None) -> dict[str, str]:
    """Return the request headers that carry ``auth`` (an Authorization value)."""
    return {} if auth is None else {"Authorization": auth}


async def read_part(response: aiohttp.ClientResponse) -> tuple[dict[str, str], bytes]:
    """Read the next part of a multipart/x-mixed-replace body: headers and body."""
    content_type = response.headers["Content-Type"]
    boundary = content_type.split("boundary=", 1)[1].strip().strip('"')
    line = await response.content.readline()
    # The line break closing the previous part.
    while line in (b"\r\n", b"\n"):
        line = await response.content.readline()
    assert line.rstrip(b"\r\n") == f"--{boundary}".encode(), line[:80]
    headers: dict[str, str] = {}
    while (line := await response.content.readline()) not in (b"\r\n", b"\n", b""):
        name, value = line.decode("ascii").split(":", 1)
        headers[name.strip().lower()] = value.strip()
    body = await response.content.readexactly(int(headers["content-length"]))
    return headers, body


async def fetch(url: str, auth: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET a URL; return the status, headers and body."""
    connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(url, headers=_authorization(auth)) as response,
    ):
        return response.status, dict(response.headers), await response.read()


async def snapshot(sim: SimulatorProcess, camera_id: str) -> bytes:
    """Return a camera's current frame from ``/snapshot.jpg``."""
    status, headers, body = await fetch(camera_url(sim, camera_id, "/snapshot.jpg"))
    assert status == 200
    assert headers["Content-Type"] == "image/jpeg"
    return body


async def state(sim: SimulatorProcess, camera_id: str) -> dict[str, Any]:
    """Return a camera's live state from the control API."""
    result: dict[str, Any] = (await sim.snapshot(camera_id))["state"]
    return result


async def wait_for(check: Callable[[], Any], what: str) -> Any:
    """Poll the async ``check`` until it returns something truthy."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


# --- options, selection and composition (in-process) ---------------------------------


def spec(**options: Any) -> DeviceSpec:
    """Return a camera declaration with ``options``."""
    return DeviceSpec(id="cam", kind=DeviceKind.CAMERA, name="cam", options=options)


def test_option_defaults() -> None:
    """An undeclared option takes the documented default."""
    options = CameraOptions.from_spec(spec())
    assert (options.width, options.height, options.fps) == (1280, 720, 10)
    assert (options.segment_seconds, options.gap_seconds) == (4.0, 2.0)
    assert options.scene is Scene.GENERAL
    assert not options.requires_auth
    assert options.media is None
    assert options.media_root == DEFAULT_MEDIA_ROOT


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scene": "lobby"}, "option 'scene' of cam must be one of door, gate"),
        ({"fps": 0}, "option 'fps' of cam must be an integer 1..30"),
        ({"fps": 31}, "option 'fps' of cam must be an integer 1..30"),
        ({"fps": 2.5}, "option 'fps' of cam must be an integer 1..30"),
        ({"width": "wide"}, "option 'width' of cam must be an integer"),
        ({"height": 8}, "option 'height' of cam must be an integer"),
        ({"username": "admin"}, "'username' and 'password' of cam go together"),
        ({"password": "x"}, "'username' and 'password' of cam go together"),
        ({"segment_seconds": 0}, "option 'segment_seconds' of cam must be a number"),
        ({"gap_seconds": -1}, "option 'gap_seconds' of cam must be a number"),
        ({"media": []}, "option 'media' of cam must be a non-empty list"),
        ({"media": "faces/a.jpg"}, "option 'media' of cam must be a non-empty list"),
        (
            {"media": ["../etc/passwd"]},
            "option 'media' of cam must be a non-empty list",
        ),
        ({"media": ["/abs.jpg"]}, "option 'media' of cam must be a non-empty list"),
        (
            {"media_root": "/no/such/folder"},
            "option 'media_root' of cam must be an existing folder",
        ),
        ({"path": "/Streaming/Channels/101"}, "unknown options of cam: path"),
    ],
)
def test_bad_options_are_named(options: dict[str, Any], message: str) -> None:
    """A bad option is refused with its name and what it must be."""
    with pytest.raises(ValueError, match=message):
        CameraOptions.from_spec(spec(**options))


def test_index_and_default_selection_per_scene(tmp_path: Path) -> None:
    """Door: faces of both splits; gate: plates; lift: objects and faces; general: all."""
    index = load_index(make_media(tmp_path))
    assert index is not None
    faces = [file for file, *_ in FACES]
    plates = [file for file, *_ in PLATES]
    objects = [file for file, *_ in OBJECTS]

    def selection(scene: Scene) -> list[str]:
        """Return the files a camera of ``scene`` loops through."""
        assert index is not None
        return [item.file for item in index.default_selection(scene)]

    assert selection(Scene.DOOR) == faces
    assert selection(Scene.GATE) == plates
    # Taking turns: every kind shows up early in the loop.
    assert selection(Scene.ELEVATOR) == [objects[0], faces[0], faces[1]]
    assert selection(Scene.GENERAL) == [faces[0], plates[0], objects[0], faces[1]]
    assert index.background_for(Scene.DOOR) == "backgrounds/door.jpg"
    # No general background in this folder and none drawn from another scene.
    assert index.background_for(Scene.GENERAL) is None


def test_index_problems(tmp_path: Path) -> None:
    """A missing index is None (a drawn scene); a malformed one is an error."""
    assert load_index(tmp_path) is None
    (tmp_path / "index.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(MediaError, match="not valid JSON"):
        load_index(tmp_path)
    (tmp_path / "index.json").write_text('{"faces": [{"name": "x"}]}', encoding="utf-8")
    with pytest.raises(MediaError, match=r"faces\[0\] needs a 'file' string"):
        load_index(tmp_path)


def test_composer_sizes_faces_and_fills_with_photos() -> None:
    """A face takes ~70 % of the frame height; a photo fills as much as fits."""
    composer = FrameComposer(1280, 720, Image.new("RGB", (64, 36), (0, 0, 0)))

    face = decode(
        composer.compose(Image.new("RGB", (120, 160), RED), Placement.FACE).jpeg
    )
    assert face.size == (1280, 720)
    left, top, right, bottom = still_box(face, RED)
    assert abs((bottom - top) - 0.7 * 720) <= 4
    # Aspect ratio kept (3:4), and centred.
    assert abs((right - left) - (bottom - top) * 3 / 4) <= 4
    assert abs((left + right) / 2 - 640) <= 2
    assert abs((top + bottom) / 2 - 360) <= 2

    photo = decode(
        composer.compose(Image.new("RGB", (320, 240), GREEN), Placement.FILL).jpeg
    )
    left, top, right, bottom = still_box(photo, GREEN)
    assert (top, bottom) == (0, 720)
    assert abs((right - left) - 960) <= 4

    empty = composer.compose(None, Placement.FILL).jpeg
    assert near(centre_colour(empty), (0, 0, 0))


def test_open_picture_refuses_what_is_not_a_picture(tmp_path: Path) -> None:
    """Bytes that are no picture, and missing files, are a clear media error."""
    with pytest.raises(MediaError, match="not a picture"):
        open_picture(b"hello")
    whole = base64.b64decode(jpeg_base64(RED, (64, 48)))
    with pytest.raises(MediaError, match="the picture does not decode"):
        open_picture(whole[: len(whole) // 2])
    with pytest.raises(MediaError, match="no such file"):
        open_picture(tmp_path / "missing.jpg")


# --- the stream and the snapshot -----------------------------------------------------


async def test_stream_parts_and_snapshot(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """/mjpeg sends framed JPEG parts of the declared size; /snapshot.jpg one JPEG."""
    sim = start_cameras(
        start_simulator, tmp_path, {"cam": {"scene": "door", "fps": 20, **SMALL}}
    )
    device = sim.device("cam")
    assert device["implemented"] is True
    assert device["protocol"] == "mjpeg-http"
    assert device["mjpeg_url"] == camera_url(sim, "cam", "/mjpeg")
    assert device["snapshot_url"] == camera_url(sim, "cam", "/snapshot.jpg")

    async with open_stream(device["mjpeg_url"]) as response:
        assert response.status == 200
        content_type = response.headers["Content-Type"]
        assert content_type.startswith("multipart/x-mixed-replace;")
        assert "boundary=" in content_type
        for _ in range(6):
            headers, body = await read_part(response)
            assert headers["content-type"] == "image/jpeg"
            assert int(headers["content-length"]) == len(body)
            assert decode(body).size == (320, 240)
        assert (await state(sim, "cam"))["clients"] == 1

    picture = decode(await snapshot(sim, "cam"))
    assert picture.size == (320, 240)
    after = await wait_for(
        lambda: _state_when(sim, "cam", lambda s: s["clients"] == 0),
        "the stream client to be gone",
    )
    assert after["frames_served"] >= 6
    assert after["snapshots_served"] == 1
    # HEAD is no way to open a stream.
    status, _, _ = await _request("HEAD", device["mjpeg_url"])
    assert status == 405


async def _state_when(
    sim: SimulatorProcess, camera_id: str, condition: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    """Return the camera's state if ``condition`` holds for it, else None."""
    current = await state(sim, camera_id)
    return current if condition(current) else None


async def _request(method: str, url: str) -> tuple[int, dict[str, str], bytes]:
    """Send one request; return the status, headers and body."""
    connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.request(method, url) as response,
    ):
        return response.status, dict(response.headers), await response.read()


def test_pyav_opens_and_decodes_the_stream(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """FFmpeg (through PyAV) opens /mjpeg as an MJPEG stream and decodes frames."""
    sim = start_cameras(
        start_simulator,
        tmp_path,
        {"cam": {"scene": "gate", "width": 640, "height": 360}},
    )
    with av.open(sim.device("cam")["mjpeg_url"], timeout=WAIT_SECONDS) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "mjpeg"
        frames = []
        for frame in container.decode(stream):
            frames.append(frame.to_image())
            if len(frames) == 5:
                break
    assert [image.size for image in frames] == [(640, 360)] * 5


# --- the loop ------------------------------------------------------------------------


async def test_loop_shows_each_still_then_the_empty_scene(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """A door camera shows face 1, the empty door, face 2, the empty door, ..."""
    sim = start_cameras(
        start_simulator,
        tmp_path,
        {"cam": {"scene": "door", "segment_seconds": 0.5, "gap_seconds": 0.5, **SMALL}},
    )
    colours = {
        FACES[0][0]: RED,
        FACES[1][0]: BLUE,
        None: BACKGROUND_COLOURS["door"],
    }
    first = await state(sim, "cam")
    assert first["playlist"] == [FACES[0][0], FACES[1][0]]
    assert first["mode"] == "playing"
    assert first["background"] == "backgrounds/door.jpg"

    seen: list[str | None] = []
    checked_colours = 0
    deadline = time.monotonic() + WAIT_SECONDS
    # Two full loops: alice, gap, bob, gap, alice, gap, bob.
    while len(seen) < 8 and time.monotonic() < deadline:
        before = (await state(sim, "cam"))["still"]
        picture = await snapshot(sim, "cam")
        after = (await state(sim, "cam"))["still"]
        if before == after:
            # The snapshot was taken while this still was on.
            assert near(centre_colour(picture), colours[before]), before
            checked_colours += 1
        if not seen or seen[-1] != after:
            seen.append(after)
        await asyncio.sleep(0.05)
    assert len(seen) >= 8, seen
    # Whatever it started on, it goes round in order with a gap between stills.
    cycle = [FACES[0][0], None, FACES[1][0], None]
    offset = cycle.index(seen[1])
    assert seen[1:8] == [cycle[(offset + step) % 4] for step in range(7)]
    assert checked_colours >= 8
    # Three distinct frames (two faces and the empty door), each encoded once.
    assert (await state(sim, "cam"))["frames_encoded"] == 3


async def test_media_option_replaces_the_default_selection(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """``media`` lists the stills to loop; one that does not decode is skipped."""
    media = make_media(tmp_path / "media")
    (media / "objects" / "broken.jpg").write_bytes(b"\xff\xd8 not really a JPEG")
    listed = [OBJECTS[0][0], "objects/broken.jpg", FACES[1][0]]
    sim = start_simulator(
        write_scenario(
            tmp_path,
            {
                "cam": {
                    "scene": "gate",
                    "media": listed,
                    "segment_seconds": 0.2,
                    "gap_seconds": 0.1,
                    **SMALL,
                }
            },
        )
    )
    assert (await state(sim, "cam"))["playlist"] == listed
    # Round the loop: the broken still is reported and passed over.
    await wait_for(
        lambda: _state_when(
            sim,
            "cam",
            lambda s: (
                s["unplayable"] == ["objects/broken.jpg"] and s["still"] == FACES[1][0]
            ),
        ),
        "the loop to pass the broken still",
    )
    await wait_for(
        lambda: _state_when(sim, "cam", lambda s: s["still"] == OBJECTS[0][0]),
        "the loop to come round again",
    )

    bad = write_scenario(tmp_path, {"cam": {"media": ["faces/nobody/1.jpg"]}})
    with pytest.raises(
        SimulatorStartError, match=r"no media file 'faces/nobody/1\.jpg'"
    ) as raised:
        start_simulator(bad)
    assert raised.value.returncode == 1


async def test_bad_options_and_bad_index_stop_the_start(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """A bad option or a broken index.json names the camera and exits 1."""
    make_media(tmp_path / "media")
    with pytest.raises(
        SimulatorStartError,
        match=r"device 'cam' \(camera\) could not start: ValueError: option 'fps' of cam must be an integer 1..30",
    ) as raised:
        start_simulator(write_scenario(tmp_path, {"cam": {"fps": 60}}))
    assert raised.value.returncode == 1

    (tmp_path / "media" / "index.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(
        SimulatorStartError, match=r"index\.json must hold a JSON object"
    ):
        start_simulator(write_scenario(tmp_path, {"cam": {}}))


async def test_missing_index_plays_a_drawn_scene(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """With no index.json the camera still streams: a drawn scene, no stills."""
    (tmp_path / "media").mkdir()
    sim = start_simulator(
        write_scenario(tmp_path, {"cam": {"scene": "elevator", **SMALL}})
    )
    current = await state(sim, "cam")
    assert current["media_index"] is False
    assert current["playlist"] == []
    assert current["still"] is None
    assert decode(await snapshot(sim, "cam")).size == (320, 240)


# --- control actions -----------------------------------------------------------------


async def test_show_blank_and_play(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """``show`` holds a file or an upload, ``blank`` the empty scene, ``play`` resumes."""
    sim = start_cameras(
        start_simulator,
        tmp_path,
        {"cam": {"scene": "gate", "segment_seconds": 0.2, "gap_seconds": 0.2, **SMALL}},
    )

    held = await sim.action("cam", "show", {"file": FACES[1][0]})
    assert (held["mode"], held["still"]) == ("held", FACES[1][0])
    assert near(centre_colour(await snapshot(sim, "cam")), BLUE)
    # Longer than a whole loop of the gate's single plate: still held.
    await asyncio.sleep(1.0)
    assert (await state(sim, "cam"))["still"] == FACES[1][0]
    assert near(centre_colour(await snapshot(sim, "cam")), BLUE)

    # A picture of the test's own, placed as a face: magenta in the middle,
    # the gate's background above and below it.
    uploaded = await sim.action(
        "cam",
        "show",
        {"jpeg_base64": jpeg_base64(MAGENTA, (90, 120)), "placement": "face"},
    )
    assert (uploaded["mode"], uploaded["still"]) == ("held", "uploaded")
    picture = decode(await snapshot(sim, "cam"))
    _, top, _, bottom = still_box(picture, MAGENTA)
    assert abs((bottom - top) - 0.7 * 240) <= 4
    assert near(_rgb(picture.getpixel((160, 5))), BACKGROUND_COLOURS["gate"])

    blank = await sim.action("cam", "blank")
    assert (blank["mode"], blank["still"]) == ("held", None)
    assert near(centre_colour(await snapshot(sim, "cam")), BACKGROUND_COLOURS["gate"])

    playing = await sim.action("cam", "play")
    assert playing["mode"] == "playing"
    await wait_for(
        lambda: _state_when(sim, "cam", lambda s: s["still"] == PLATES[0][0]),
        "the loop to show the plate again",
    )


# Refused ``show`` parameters and what the answer must say.
BAD_SHOWS: Final[list[tuple[dict[str, Any], str]]] = [
    (
        {"file": "faces/nobody/1.jpg"},
        "cannot show 'faces/nobody/1.jpg': no media file",
    ),
    ({"file": "index.json"}, "cannot show 'index.json': not a picture"),
    (
        {"file": "../cameras.json"},
        "parameter 'file' of cam must be a relative path",
    ),
    (
        {"jpeg_base64": base64.b64encode(b"not a jpeg").decode()},
        "cannot show the uploaded picture: not a picture",
    ),
    ({"jpeg_base64": "%%%"}, "'jpeg_base64' is not valid base64"),
    ({}, "takes either 'file'"),
    ({"file": FACES[0][0], "jpeg_base64": "AAAA"}, "takes either 'file'"),
    (
        {"file": FACES[0][0], "placement": "sideways"},
        "parameter 'placement' of cam must be one of face, fill",
    ),
    ({"file": FACES[0][0], "colour": "red"}, "unknown parameters of cam: colour"),
]


async def test_refused_actions_say_why(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """A missing file or an undecodable picture is a 400 that says what is wrong."""
    sim = start_cameras(start_simulator, tmp_path, {"cam": {"scene": "door", **SMALL}})
    for params, message in BAD_SHOWS:
        with pytest.raises(SimulatorRequestError) as raised:
            await sim.action("cam", "show", params)
        assert raised.value.status == 400, params
        assert message in raised.value.body["error"], params
    # Refused: the loop goes on.
    assert (await state(sim, "cam"))["mode"] == "playing"
    with pytest.raises(SimulatorRequestError) as raised:
        await sim.action("cam", "blank", {"seconds": 3})
    assert raised.value.status == 400
    assert "unknown parameters of cam: seconds" in raised.value.body["error"]
    with pytest.raises(SimulatorRequestError) as raised:
        await sim.action("cam", "zoom")
    assert raised.value.status == 404


# --- HTTP Basic auth -----------------------------------------------------------------


async def test_basic_auth_is_required_when_credentials_are_set(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """With credentials: 401 and a Basic challenge without them; PyAV gets in with them."""
    sim = start_cameras(
        start_simulator,
        tmp_path,
        {
            "locked": {"username": "admin", "password": "门禁-pass", **SMALL},
            "open": SMALL,
        },
    )
    assert sim.device("locked")["auth"] == "basic"
    snapshot_url = camera_url(sim, "locked", "/snapshot.jpg")
    stream_url = camera_url(sim, "locked", "/mjpeg")

    for auth in (
        None,
        aiohttp.encode_basic_auth("admin", "wrong"),
        aiohttp.encode_basic_auth("root", "门禁-pass"),
        "Basic !!not-base64!!",
        'Digest username="admin"',
    ):
        status, headers, _ = await fetch(snapshot_url, auth)
        assert status == 401
        assert headers["WWW-Authenticate"].startswith("Basic realm=")
        status, _, _ = await fetch(stream_url, auth)
        assert status == 401

    good = aiohttp.encode_basic_auth("admin", "门禁-pass")
    status, _, body = await fetch(snapshot_url, good)
    assert status == 200
    assert decode(body).size == (320, 240)
    async with open_stream(stream_url, auth=good) as response:
        _, body = await read_part(response)
        assert decode(body).size == (320, 240)
    status, _, _ = await fetch(camera_url(sim, "open", "/snapshot.jpg"))
    assert status == 200


def test_pyav_with_credentials_in_the_url(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """FFmpeg sends Basic credentials given in the URL, as HA's camera setup does."""
    sim = start_cameras(
        start_simulator,
        tmp_path,
        {"cam": {"username": "admin", "password": "secret", **SMALL}},
    )
    device = sim.device("cam")
    url = f"http://admin:secret@{device['host']}:{device['port']}/mjpeg"
    with av.open(url, timeout=WAIT_SECONDS) as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (320, 240)


# --- many clients, slow clients, stopping --------------------------------------------


async def test_many_clients_each_get_the_stream(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """Several clients stream at once, each at the camera's frame rate."""
    sim = start_cameras(start_simulator, tmp_path, {"cam": {"fps": 10, **SMALL}})
    url = sim.device("cam")["mjpeg_url"]
    async with contextlib.AsyncExitStack() as stack:
        responses = [
            await stack.enter_async_context(open_stream(url)) for _ in range(4)
        ]
        assert (await state(sim, "cam"))["clients"] == 4
        bodies = await asyncio.gather(
            *(_read_parts(response, 3) for response in responses)
        )
        assert all(len(parts) == 3 for parts in bodies)
    await wait_for(
        lambda: _state_when(sim, "cam", lambda s: s["clients"] == 0),
        "every client to be gone",
    )


async def _read_parts(response: aiohttp.ClientResponse, count: int) -> list[bytes]:
    """Read ``count`` parts and return their bodies."""
    return [(await read_part(response))[1] for _ in range(count)]


async def test_a_slow_client_gets_the_newest_frame_not_a_backlog(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """A client that stops reading for 2 s then sees the current picture quickly.

    At 10 fps a camera that queued every frame would owe it 20 frames of the old
    picture; this one owes only what the sockets' buffers hold.
    """
    sim = start_cameras(
        start_simulator,
        tmp_path,
        {"cam": {"scene": "general", "fps": 10}},
        noisy_general=True,
    )
    await sim.action(
        "cam", "show", {"jpeg_base64": jpeg_base64(RED, (90, 120)), "placement": "face"}
    )
    pause_seconds, fps = 2.0, 10
    async with open_stream(
        sim.device("cam")["mjpeg_url"], receive_buffer=64 * 1024
    ) as response:
        _, body = await read_part(response)
        # Big frames, as a busy scene gives: a buffer holds only a few of them.
        assert len(body) > 150_000
        assert near(centre_colour(body), RED)
        await asyncio.sleep(pause_seconds)
        await sim.action(
            "cam",
            "show",
            {"jpeg_base64": jpeg_base64(BLUE, (90, 120)), "placement": "face"},
        )
        stale = 0
        for _ in range(int(pause_seconds * fps) + 10):
            _, body = await read_part(response)
            if near(centre_colour(body), BLUE):
                break
            stale += 1
        else:
            pytest.fail("the new picture never came")
    assert stale <= 5, f"{stale} old frames after the pause"


async def test_stopping_closes_every_stream(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """SIGINT ends the simulator cleanly, and open streams end with it."""
    sim = start_cameras(start_simulator, tmp_path, {"cam": SMALL})
    url = sim.device("cam")["mjpeg_url"]
    async with open_stream(url) as first, open_stream(url) as second:
        await read_part(first)
        await read_part(second)
        # Exit code 0: every device stopped within the community's time limit.
        assert await asyncio.to_thread(sim.stop) == 0
        for response in (first, second):
            with pytest.raises(STREAM_ENDED):
                await _read_until_the_end(response)


# How a client sees a stream cut off mid-body.
STREAM_ENDED: Final = (
    aiohttp.ClientPayloadError,
    aiohttp.ServerDisconnectedError,
    ConnectionError,
    asyncio.IncompleteReadError,
)


async def _read_until_the_end(response: aiohttp.ClientResponse) -> None:
    """Read parts until the stream breaks off (it never ends cleanly)."""
    for _ in range(1000):
        await read_part(response)
    pytest.fail("the stream went on after the simulator stopped")


# --- the shared media folder ---------------------------------------------------------


@pytest.mark.skipif(
    not (DEFAULT_MEDIA_ROOT / "index.json").is_file(),
    reason="simulator/media/index.json is not there yet",
)
async def test_shared_media_folder(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """Cameras with the default media folder loop through its stills by scene."""
    index = json.loads((DEFAULT_MEDIA_ROOT / "index.json").read_text(encoding="utf-8"))
    path = tmp_path / "shared.json"
    scenes = ("door", "gate", "elevator", "general")
    path.write_text(
        json.dumps(
            {
                "community": {"name": "测试"},
                "devices": [
                    {
                        "id": scene,
                        "kind": "camera",
                        "name": scene,
                        "options": {"scene": scene},
                    }
                    for scene in scenes
                ],
            }
        ),
        encoding="utf-8",
    )
    sim = start_simulator(path)
    faces = {entry["file"] for entry in index.get("faces", [])}
    plates = {entry["file"] for entry in index.get("plates", [])}
    objects = {entry["file"] for entry in index.get("objects", [])}
    expected = {
        "door": faces,
        "gate": plates,
        "elevator": faces | objects,
        "general": faces | plates | objects,
    }
    for scene in scenes:
        current = await state(sim, scene)
        assert current["media_index"] is True
        assert set(current["playlist"]) == expected[scene]
        assert current["unplayable"] == []
        assert decode(await snapshot(sim, scene)).size == (1280, 720)
    # Every still of the general camera can be shown.
    for file in sorted(expected["general"]):
        shown = await sim.action("general", "show", {"file": file})
        assert shown["still"] == file
