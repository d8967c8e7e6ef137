"""Play an IP camera that serves MJPEG over HTTP, its scenes composed from stills.

The camera looks at a scene (a door, the car gate, a lift car, a yard): the scene's
background from the media folder fills the frame, and stills from the folder
(faces, cars with plates, object photos) are pasted onto it one after another, each
for ``segment_seconds``, with the empty scene for ``gap_seconds`` between them, so
faces and plates appear and leave as they would in front of a real camera.

HTTP, as cheap IP cameras serve it (HTTP Basic auth when credentials are set):

- ``GET /mjpeg``: ``multipart/x-mixed-replace`` JPEG parts at ``fps``, to any number
  of clients. A client that reads slowly gets the newest frame when it is ready
  again, not a backlog: nothing is queued per client, and the socket's send buffer
  is kept small.
- ``GET /snapshot.jpg``: the current frame.

Each distinct frame is composed and encoded once, off the event loop, and kept;
streaming then only writes the kept bytes.
"""

import asyncio
import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
import hashlib
import hmac
import logging
import socket
from typing import Final, override

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware
from PIL import Image

from simulator.devices.base import (
    ActionError,
    PortInfo,
    SimulatedDevice,
    UnknownActionError,
    register_kind,
)
from simulator.devices.http_site import listen
from simulator.devices.mjpeg.composer import (
    Frame,
    FrameCache,
    FrameComposer,
    draw_background,
    open_picture,
)
from simulator.devices.mjpeg.media import (
    Category,
    MediaError,
    MediaIndex,
    MediaItem,
    load_index,
    media_file,
)
from simulator.devices.mjpeg.options import (
    CameraOptions,
    CameraReader,
    Placement,
)
from simulator.devices.mjpeg.stream import STREAM_CONTENT_TYPE
from simulator.jsonvalue import JSONObject, JSONValue
from simulator.kinds import DeviceKind
from simulator.scenario import DeviceSpec, Scenario

_LOGGER: Final = logging.getLogger(__name__)

_PROTOCOL: Final = "mjpeg-http"
# Streams are cut at stop; handlers still running then get this long.
_SHUTDOWN_GRACE: Final = 0.5
# Kernel send buffer per stream (Linux doubles it): a frame or two of 1280x720,
# so a client that stops reading holds up little and then gets the newest frame.
_SEND_BUFFER_BYTES: Final = 128 * 1024
# Encoded frames kept per camera: every still of a long loop stays encoded.
_CACHE_BYTES: Final = 96 * 1024 * 1024
_BLANK_KEY: Final = "blank"
_UPLOADED: Final = "uploaded"


@dataclass(eq=False, slots=True)
class _Stream:
    """Hold one client's open ``/mjpeg`` request (requests are not hashable)."""

    request: web.Request


class _Mode:
    """Name what drives the picture: the loop, or an action holding one frame."""

    PLAYING: Final = "playing"
    HELD: Final = "held"


@register_kind(DeviceKind.CAMERA)
class Camera(SimulatedDevice):
    """Serve an MJPEG stream and snapshots of a scene that stills pass through."""

    def __init__(self, spec: DeviceSpec, scenario: Scenario) -> None:
        """Read the options; media is read and the port opened at start."""
        super().__init__(spec, scenario)
        self.options = self.read_options(
            lambda: CameraOptions.from_spec(spec, scenario), CameraOptions
        )
        self._index: MediaIndex | None = None
        self._background_file: str | None = None
        self.playlist: tuple[MediaItem, ...] = ()
        self._composer: FrameComposer | None = None
        self._cache = FrameCache(_CACHE_BYTES)
        # One composition at a time, so a frame wanted twice is encoded once.
        self._compose_lock = asyncio.Lock()
        # The empty scene: kept apart from the cache, which may drop frames.
        self._blank = Frame(b"", b"")
        self._frame = self._blank
        self._still: str | None = None
        self._mode = _Mode.PLAYING
        # The playlist entry the loop shows (or resumes with after a hold).
        self._position = 0
        self._player: asyncio.Task[None] | None = None
        self._unplayable: set[str] = set()
        self._runner: web.AppRunner | None = None
        self._host = ""
        self._port = spec.port
        self._streams: set[_Stream] = set()
        self.frames_served = 0
        self.snapshots_served = 0
        self.frames_encoded = 0

    # --- lifecycle -------------------------------------------------------------

    @override
    async def start(self, host: str) -> PortInfo:
        """Read the media, encode the empty scene, serve HTTP and start the loop."""
        self.raise_option_error()
        options = self.options
        try:
            self._index = load_index(options.media_root)
        except MediaError as error:
            raise ValueError(f"camera {self.id}: {error}") from None
        if self._index is None:
            _LOGGER.warning(
                "Camera %s: no index.json in %s; showing a drawn scene with no stills",
                self.id,
                options.media_root,
            )
        self.playlist = self._read_playlist()
        background = await asyncio.to_thread(self._load_background)
        self._composer = await asyncio.to_thread(
            FrameComposer, options.width, options.height, background
        )
        self._blank = await self._frame_for(_BLANK_KEY, lambda: None, Placement.FILL)
        self._frame = self._blank
        self._host = host
        await self._serve()
        self._start_player()
        base = self.base_url
        return PortInfo(
            host,
            self._port,
            _PROTOCOL,
            {
                "mjpeg_url": f"{base}/mjpeg",
                "snapshot_url": f"{base}/snapshot.jpg",
                "scene": str(options.scene),
                "auth": "basic" if options.requires_auth else "none",
            },
        )

    @override
    async def stop(self) -> None:
        """Stop the loop and close the port, cutting every stream at once."""
        await _cancel(self._player)
        self._player = None
        runner, self._runner = self._runner, None
        for stream in list(self._streams):
            if (transport := stream.request.transport) is not None:
                transport.abort()
        if runner is not None:
            await runner.cleanup()

    @property
    def base_url(self) -> str:
        """Return the camera's HTTP base URL."""
        url_host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{url_host}:{self._port}"

    def _read_playlist(self) -> tuple[MediaItem, ...]:
        """Return the stills to loop: the ``media`` option's, or the scene's default."""
        options, index = self.options, self._index or MediaIndex()
        if options.media is not None:
            items: list[MediaItem] = []
            for file in options.media:
                try:
                    media_file(options.media_root, file)
                except MediaError as error:
                    raise ValueError(f"option 'media' of {self.id}: {error}") from None
                # A file outside the index's folders fills the frame like a photo.
                items.append(
                    MediaItem(file, index.category_of(file) or Category.OBJECT)
                )
            return tuple(items)
        present = []
        for item in index.default_selection(options.scene):
            if (options.media_root / item.file).is_file():
                present.append(item)
            else:
                _LOGGER.warning("Camera %s: indexed %s is missing", self.id, item.file)
                self._unplayable.add(item.file)
        return tuple(present)

    def _load_background(self) -> Image.Image:
        """Return the scene's background picture, or a drawn one if there is none."""
        options = self.options
        if self._index is not None and (
            file := self._index.background_for(options.scene)
        ):
            try:
                picture = open_picture(media_file(options.media_root, file))
            except MediaError as error:
                _LOGGER.warning("Camera %s: background %s: %s", self.id, file, error)
                self._unplayable.add(file)
            else:
                self._background_file = file
                return picture
        return draw_background(options.scene, options.width, options.height)

    # --- frames ----------------------------------------------------------------

    async def _frame_for(
        self,
        key: str,
        load: Callable[[], Image.Image | None],
        placement: Placement,
    ) -> Frame:
        """Return the frame kept under ``key``, composing it off the loop if new."""
        async with self._compose_lock:
            if (frame := self._cache.get(key)) is not None:
                return frame
            composer = self._composer
            if composer is None:
                raise RuntimeError(f"camera {self.id} has not started")

            def compose() -> Frame:
                """Decode the still and compose the frame (in a worker thread)."""
                return composer.compose(load(), placement)

            frame = await asyncio.to_thread(compose)
            self._cache.put(key, frame)
            self.frames_encoded += 1
            return frame

    async def _file_frame(self, file: str, placement: Placement) -> Frame:
        """Return the frame showing a media file, or raise ``MediaError``."""
        path = media_file(self.options.media_root, file)

        def load() -> Image.Image:
            """Decode the media file."""
            return open_picture(path)

        return await self._frame_for(f"{placement}:{file}", load, placement)

    async def _upload_frame(self, picture: bytes, placement: Placement) -> Frame:
        """Return the frame showing an uploaded picture, or raise ``MediaError``."""
        digest = hashlib.sha256(picture).hexdigest()

        def load() -> Image.Image:
            """Decode the uploaded picture."""
            return open_picture(picture)

        return await self._frame_for(f"{placement}:upload:{digest}", load, placement)

    def _show(self, frame: Frame, still: str | None) -> None:
        """Make ``frame`` the one every stream and snapshot sends from now on."""
        self._frame = frame
        self._still = still

    # --- the loop --------------------------------------------------------------

    def _start_player(self) -> None:
        """Start looping through the playlist from the current position."""
        self._mode = _Mode.PLAYING
        self._player = asyncio.create_task(self._play(), name=f"{self.id}-player")
        self._player.add_done_callback(self._player_ended)

    def _player_ended(self, task: asyncio.Task[None]) -> None:
        """Log a loop that died of an error instead of losing the error."""
        if not task.cancelled() and (error := task.exception()) is not None:
            _LOGGER.error("Camera %s: the loop failed", self.id, exc_info=error)

    async def _play(self) -> None:
        """Show each still for a segment, the empty scene for a gap, forever."""
        options, blank = self.options, self._blank
        failures_in_a_row = 0
        while self.playlist and failures_in_a_row < len(self.playlist):
            self._position %= len(self.playlist)
            item = self.playlist[self._position]
            if item.file in self._unplayable:
                failures_in_a_row += 1
                self._position += 1
                continue
            try:
                frame = await self._file_frame(item.file, item.category.placement)
            except MediaError as error:
                _LOGGER.warning("Camera %s: skipping %s: %s", self.id, item.file, error)
                self._unplayable.add(item.file)
                failures_in_a_row += 1
                self._position += 1
                continue
            failures_in_a_row = 0
            self._show(frame, item.file)
            await asyncio.sleep(options.segment_seconds)
            # The next still is chosen before the gap: a hold during the gap
            # resumes with it, not with the one already seen.
            self._position += 1
            if options.gap_seconds > 0:
                self._show(blank, None)
                await asyncio.sleep(options.gap_seconds)
        self._show(blank, None)

    async def _hold(self, frame: Frame, still: str | None) -> None:
        """Stop the loop and keep showing ``frame`` until ``play``."""
        await _cancel(self._player)
        self._player = None
        self._mode = _Mode.HELD
        self._show(frame, still)

    # --- HTTP ------------------------------------------------------------------

    async def _serve(self) -> None:
        """Build the web application and listen on the camera's port."""
        app = web.Application(middlewares=[self._make_auth_gate()])
        app.router.add_get("/mjpeg", self._mjpeg, allow_head=False)
        app.router.add_get("/snapshot.jpg", self._snapshot)
        runner = web.AppRunner(
            app,
            access_log=None,
            # A stream handler learns of a vanished client by being cancelled.
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_GRACE,
        )
        self._port = await listen(runner, self._host, self._port)
        self._runner = runner

    def _make_auth_gate(self) -> Middleware:
        """Return the middleware that asks for HTTP Basic credentials when set."""
        options = self.options
        realm = f"camera {self.id}"

        @web.middleware
        async def auth_gate(
            request: web.Request, handler: Handler
        ) -> web.StreamResponse:
            """Answer 401 unless the request carries the camera's credentials."""
            if (
                options.username is not None
                and options.password is not None
                and not _basic_auth_matches(
                    request.headers.get(hdrs.AUTHORIZATION),
                    options.username,
                    options.password,
                )
            ):
                return web.Response(
                    status=401,
                    text="401: Unauthorized\n",
                    headers={
                        hdrs.WWW_AUTHENTICATE: f'Basic realm="{realm}", charset="UTF-8"'
                    },
                )
            return await handler(request)

        return auth_gate

    async def _snapshot(self, request: web.Request) -> web.Response:
        """Answer ``GET /snapshot.jpg`` with the current frame."""
        self.snapshots_served += 1
        return web.Response(
            body=self._frame.jpeg,
            content_type="image/jpeg",
            headers={hdrs.CACHE_CONTROL: "no-cache, no-store"},
        )

    async def _mjpeg(self, request: web.Request) -> web.StreamResponse:
        """Stream the current frame ``fps`` times a second until the client leaves."""
        response = web.StreamResponse(
            headers={
                hdrs.CONTENT_TYPE: STREAM_CONTENT_TYPE,
                hdrs.CACHE_CONTROL: "no-cache, no-store",
                hdrs.PRAGMA: "no-cache",
            }
        )
        await response.prepare(request)
        _limit_send_buffer(request)
        stream = _Stream(request)
        self._streams.add(stream)
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.options.fps
        due = loop.time()
        try:
            while True:
                # The frame is read when the socket can take it: a client that
                # was slow gets the newest frame, never the ones it missed.
                await response.write(self._frame.part)
                self.frames_served += 1
                # Late (slow client or busy loop): carry on from now, no burst.
                due = max(due + interval, loop.time())
                await asyncio.sleep(due - loop.time())
        except ConnectionError:
            _LOGGER.debug("Camera %s: a stream client went away", self.id)
        finally:
            self._streams.discard(stream)
        return response

    # --- control API -----------------------------------------------------------

    @override
    def state(self) -> JSONObject:
        """Return what is shown, how, and how much was served and encoded."""
        options = self.options
        playlist: list[JSONValue] = [item.file for item in self.playlist]
        unplayable: list[JSONValue] = [*sorted(self._unplayable)]
        return {
            "scene": str(options.scene),
            "mode": self._mode,
            "still": self._still,
            "frames_served": self.frames_served,
            "snapshots_served": self.snapshots_served,
            "clients": len(self._streams),
            "frames_encoded": self.frames_encoded,
            "frames_cached": len(self._cache),
            "playlist": playlist,
            "unplayable": unplayable,
            "media_root": str(options.media_root),
            "media_index": self._index is not None,
            "background": self._background_file,
        }

    @override
    async def handle_action(self, action: str, params: JSONObject) -> JSONObject:
        """Hold a still, an uploaded picture or the empty scene; resume the loop."""
        match action:
            case "state":
                self._no_params(params)
                return self.state()
            case "show":
                await self._show_action(params)
                return self.state()
            case "blank":
                self._no_params(params)
                if self._composer is None:
                    raise ActionError(f"camera {self.id} has not started")
                await self._hold(self._blank, None)
                return self.state()
            case "play":
                self._no_params(params)
                if self._mode != _Mode.PLAYING:
                    self._start_player()
                return self.state()
        raise UnknownActionError(self.id, action)

    def _params(self, params: JSONObject) -> CameraReader:
        """Return a reader of action parameters that names this camera."""
        return CameraReader(self.id, params, noun="parameter")

    def _no_params(self, params: JSONObject) -> None:
        """Refuse parameters for an action that takes none."""
        try:
            self._params(params).reject_unknown()
        except ValueError as error:
            raise ActionError(str(error)) from None

    async def _show_action(self, params: JSONObject) -> None:
        """Hold a media file (``file``) or an uploaded picture (``jpeg_base64``)."""
        if self._composer is None:
            raise ActionError(f"camera {self.id} has not started")
        if ("file" in params) == ("jpeg_base64" in params):
            raise ActionError(
                f"show on {self.id} takes either 'file' (a media file) or "
                "'jpeg_base64' (a picture), not both or neither"
            )
        reader = self._params(params)
        try:
            file = reader.media_path("file") if "file" in params else None
            encoded = reader.optional_text("jpeg_base64")
            placement: Placement | None = None
            if "placement" in params:
                placement = reader.placement("placement", Placement.FILL)
            reader.reject_unknown()
        except ValueError as error:
            raise ActionError(str(error)) from None
        if file is not None:
            if placement is None:
                category = (self._index or MediaIndex()).category_of(file)
                placement = category.placement if category else Placement.FILL
            try:
                frame = await self._file_frame(file, placement)
            except MediaError as error:
                raise ActionError(f"cannot show {file!r}: {error}") from None
            await self._hold(frame, file)
            return
        picture = _decode_base64(encoded or "")
        try:
            frame = await self._upload_frame(picture, placement or Placement.FILL)
        except MediaError as error:
            raise ActionError(f"cannot show the uploaded picture: {error}") from None
        await self._hold(frame, _UPLOADED)


def _decode_base64(text: str) -> bytes:
    """Return the bytes of a base64 text (line breaks allowed), or raise ``ActionError``."""
    try:
        picture = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ActionError(f"'jpeg_base64' is not valid base64: {error}") from None
    if not picture:
        raise ActionError("'jpeg_base64' holds no picture")
    return picture


def _basic_auth_matches(header: str | None, username: str, password: str) -> bool:
    """Say whether an ``Authorization`` header carries these Basic credentials."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        offered = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error, ValueError:
        return False
    # The challenge says charset="UTF-8" (RFC 7617), which FFmpeg and browsers
    # send anyway; compared in constant time, as a real device should.
    return hmac.compare_digest(offered, f"{username}:{password}".encode())


def _limit_send_buffer(request: web.Request) -> None:
    """Keep a stream's kernel send buffer small, so frames do not pile up there."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER_BYTES)


async def _cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a task and wait until it has ended (never the calling task)."""
    if task is None or task.done() or task is asyncio.current_task():
        return
    task.cancel()
    # wait() neither raises the task's CancelledError nor swallows our own.
    await asyncio.wait([task])
