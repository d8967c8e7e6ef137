"""Read a camera stream with PyAV and always hand out its newest frame.

One daemon thread per reader connects, demuxes and decodes without pause and
keeps only the latest decoded frame (a one-slot mailbox): consumers slower
than the camera get the newest frame, never a backlog. Frames that are
superseded before anyone takes them are counted as dropped.

Colour conversion is lazy. A decoded frame stays in the decoder's YUV until
somebody takes it, so frames that are dropped are never converted: measured
on MJPEG, the conversion to RGB adds about 15 % to decoding at 720p
(0.3 ms to 1.8 ms) and 30 % at 1080p (1.2 ms to 4.3 ms). When a task is
already waiting in ``next_frame`` the decode thread converts the frame
itself, since it is going to be taken anyway and the event loop should not
do the work.

Sources are whatever FFmpeg opens: ``rtsp://`` cameras (over TCP by
default), ``http(s)://`` MJPEG (multipart/x-mixed-replace, which FFmpeg's
``mpjpeg`` demuxer recognises by itself), and local files in any container.
A file can be paced by its timestamps so that it behaves like a camera, and
can loop for demonstrations. Network failures never end the reader: it
retries with exponential backoff and jitter until ``stop()``.

URLs may carry credentials. Nothing this module logs, names or reports
contains them: see ``redact_url``.
"""

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
import errno
import logging
import math
import random
import socket
import threading
import time
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import av
import av.error
import numpy as np
import numpy.typing as npt

from .imaging import rgb_view

_LOGGER = logging.getLogger(__name__)

# Decoding errors in a row after which the data is taken to be undecodable
# (a wrong codec, a broken encoder) rather than a few damaged frames.
MAX_CORRUPT_IN_A_ROW: Final = 50
# A paced file more than this many seconds behind its schedule (a slow
# machine, a debugger) starts a new schedule instead of rushing to catch up.
_MAX_PACING_LAG: Final = 1.0
# The frame duration assumed when a file gives no timestamps or rate.
_DEFAULT_FRAME_SECONDS: Final = 1 / 25
# What stop() allows the decode thread beyond its own timeouts to wind up.
_JOIN_SLACK: Final = 2.0
# Each retry waits between this share of its exponential step and all of it,
# so that cameras that failed together do not reconnect in lockstep.
_JITTER_LOW: Final = 0.8
# Query parameters that some cameras take credentials in (Foscam's usr/pwd,
# tokens of cloud relays); their values are redacted like user:pass@.
_SECRET_QUERY_WORDS: Final = (
    "pass",
    "pwd",
    "token",
    "secret",
    "key",
    "auth",
    "sig",
    "user",
    "usr",
    "login",
)
# Schemes that name local files, which end rather than fail.
_FILE_SCHEMES: Final = frozenset({"file"})

type RgbImage = npt.NDArray[np.uint8]


class StreamState(StrEnum):
    """Name what a reader is doing."""

    CONNECTING = "connecting"
    STREAMING = "streaming"
    RETRYING = "retrying"
    STOPPED = "stopped"


class StreamStoppedError(Exception):
    """Tell a waiting consumer that the reader has stopped."""


@dataclass(frozen=True, slots=True)
class Frame:
    """Hold one decoded frame.

    ``image`` is H x W x 3, uint8 and RGB: the RGB view of an RGBX buffer
    (``imaging.rgb_view``), with pixels four bytes apart, so not
    C-contiguous. It is read-only, because every consumer that takes the
    same frame gets the same array: copy it to draw on it. ``sequence``
    counts the frames a reader decoded, from 1, and keeps increasing across
    reconnects and file loops.
    ``received_at`` is the ``time.monotonic()`` at which it was decoded (for
    a paced file: at which it came due).
    """

    sequence: int
    image: RgbImage
    received_at: float


@dataclass(frozen=True, slots=True)
class StreamStats:
    """Count what a reader did since it started.

    ``frames_dropped`` are frames decoded but superseded before anyone took
    them; ``frames_taken`` are frames handed out at least once. Together
    with the frame in the mailbox, if nobody took it yet, they make up
    ``frames_decoded``. ``frames_corrupt`` are packets or frames the decoder
    rejected or flagged as damaged, which were skipped. ``reconnects`` counts
    connection attempts after a failure; ``bytes_received`` the video
    packets' bytes.
    """

    frames_decoded: int
    frames_taken: int
    frames_dropped: int
    frames_corrupt: int
    reconnects: int
    bytes_received: int


def redact_url(url: str) -> str:
    """Return the URL without its credentials, fit for logs and messages.

    ``user:pass@`` becomes ``***@``, and query values whose names suggest a
    user name, password or token become ``***``. Local paths come back as
    they are.
    """
    parts = urlsplit(url)
    if not _is_network(url):
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = (
        "&".join(_redact_query_item(item) for item in parts.query.split("&"))
        if parts.query
        else ""
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_query_item(item: str) -> str:
    """Redact one name=value query item if its name suggests a secret."""
    name, sep, _value = item.partition("=")
    if sep and any(word in name.lower() for word in _SECRET_QUERY_WORDS):
        return f"{name}=***"
    return item


def _is_network(url: str) -> bool:
    """Tell whether the URL names a network stream rather than a local file."""
    scheme = urlsplit(url).scheme.lower()
    # One letter is a Windows drive ("C:\\video.mp4"), not a scheme.
    return len(scheme) > 1 and scheme not in _FILE_SCHEMES


def default_options(url: str, read_timeout: float) -> dict[str, str]:
    """Return the FFmpeg options the reader opens a URL with by default.

    RTSP goes over TCP (UDP loses packets, and with them whole frames, on
    busy networks and through NAT) with a socket timeout, so that a camera
    that stops answering cannot hold the thread; audio tracks are not set up.
    FFmpeg 5 renamed the RTSP socket timeout from ``stimeout`` to
    ``timeout``, which older versions read as a listen timeout.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme in {"rtsp", "rtsps"}:
        microseconds = str(round(read_timeout * 1_000_000))
        timeout_name = "timeout" if _libavformat_major() >= 59 else "stimeout"
        return {
            "rtsp_transport": "tcp",
            timeout_name: microseconds,
            "allowed_media_types": "video",
        }
    return {}


def _libavformat_major() -> int:
    """Return the major version of the libavformat PyAV runs on."""
    version: tuple[int, int, int] = av.library_versions["libavformat"]
    return version[0]


def to_rgb(video: av.VideoFrame) -> RgbImage:
    """Convert a decoded frame to a read-only RGB array over an RGBX buffer.

    swscale writes four bytes a pixel as fast as three (about 0.5 ms at
    1080p either way, ``benchmarks.bench_vision``), and Pillow, which keeps
    RGB at four bytes a pixel, then reads the frame in place instead of
    copying 6 MB for each model input (see ``imaging.as_pillow``).
    """
    rgbx = np.ascontiguousarray(video.to_ndarray(format="rgba"), dtype=np.uint8)
    rgbx.flags.writeable = False
    return rgb_view(rgbx)


class _Slot:
    """Hold the newest decoded frame and convert it to RGB once, on demand."""

    __slots__ = ("_frame", "_lock", "_video", "received_at", "sequence", "taken")

    def __init__(
        self,
        sequence: int,
        received_at: float,
        video: av.VideoFrame,
        image: RgbImage | None,
    ) -> None:
        """Keep a frame, converted already or still in the decoder's format."""
        self.sequence = sequence
        self.received_at = received_at
        self.taken = False
        self._lock = threading.Lock()
        self._video: av.VideoFrame | None = None
        self._frame: Frame | None = None
        if image is None:
            self._video = video
        else:
            self._frame = Frame(sequence, image, received_at)

    @property
    def converted(self) -> bool:
        """Tell whether the RGB image exists already."""
        return self._frame is not None

    def frame(self) -> Frame:
        """Return the frame, converting it first if nobody has yet."""
        with self._lock:
            if self._frame is None:
                assert self._video is not None  # noqa: S101 - one of the two is set
                self._frame = Frame(
                    self.sequence, to_rgb(self._video), self.received_at
                )
                # The decoder's buffer can go back to its pool.
                self._video = None
            return self._frame


class _SourceError(Exception):
    """Carry why a connection failed, in words fit for ``last_error``."""


class _Pacer:
    """Hold frames of a file back until their timestamps come due."""

    def __init__(self) -> None:
        """Start without a schedule; the first frame sets it."""
        self._clock_origin: float | None = None
        self._media_origin: float | None = None
        self._last_due = 0.0

    def due(self, media_time: float) -> float:
        """Return the monotonic time at which a frame should be handed out."""
        now = time.monotonic()
        if self._media_origin is None:
            self._media_origin = media_time
            if self._clock_origin is None:
                self._clock_origin = now
        assert self._clock_origin is not None  # noqa: S101 - set just above
        due = self._clock_origin + (media_time - self._media_origin)
        # Far behind, or timestamps that went back: start a new schedule now.
        if due < now - _MAX_PACING_LAG or media_time < self._media_origin:
            self._clock_origin, self._media_origin, due = now, media_time, now
        self._last_due = due
        return due

    def restart(self, gap: float) -> None:
        """Start a new schedule ``gap`` seconds after the last frame (a loop)."""
        self._clock_origin = self._last_due + gap
        self._media_origin = None

    def reset(self) -> None:
        """Forget the schedule; the next frame starts a new one (a reconnect)."""
        self._clock_origin = None
        self._media_origin = None


class StreamReader:
    """Decode one camera stream on a daemon thread, keeping the newest frame.

    ``on_state(state, reason)`` is called on every change of state, and
    again when the reason for retrying changes. It is called from the
    decode thread (or from ``stop()`` if the reader never started), so it
    must not block and must not touch an event loop directly: the Home
    Assistant glue hops to its loop with ``loop.call_soon_threadsafe``.
    A reader starts in CONNECTING. RETRYING comes with what failed
    ("Connection refused", "no data for 10 s"), which ``last_error`` keeps
    until frames flow again; STOPPED with "stopped" or "end of file";
    STREAMING with None.

    A reader runs once: it cannot start again after ``stop()``.
    """

    def __init__(
        self,
        url: str,
        *,
        options: Mapping[str, str] | None = None,
        open_timeout: float = 10.0,
        read_timeout: float = 10.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        realtime_files: bool = True,
        loop_files: bool = False,
        on_state: Callable[[StreamState, str | None], None] | None = None,
    ) -> None:
        """Prepare to read ``url``; nothing happens before ``start()``.

        ``options`` are FFmpeg options that override ``default_options``.
        ``open_timeout`` bounds connecting and reading the header,
        ``read_timeout`` each later read. Retries wait from
        ``backoff_initial`` doubling up to ``backoff_max`` seconds; the
        wait starts over once a frame arrives.
        """
        for name, value in (
            ("open_timeout", open_timeout),
            ("read_timeout", read_timeout),
            ("backoff_initial", backoff_initial),
            ("backoff_max", backoff_max),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value}")
        if backoff_max < backoff_initial:
            raise ValueError("backoff_max must not be less than backoff_initial")
        self._url = url
        self._shown_url = redact_url(url)
        self._is_file = not _is_network(url)
        self._options = default_options(url, read_timeout) | dict(options or {})
        self._open_timeout = open_timeout
        self._read_timeout = read_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._realtime_files = realtime_files
        self._loop_files = loop_files
        self._on_state = on_state

        self.state = StreamState.CONNECTING
        self.last_error: str | None = None
        self._reason: str | None = None

        # _lock guards the mailbox, the waiters and the counters; _state_lock
        # orders state changes with their callbacks (re-entrant, so that a
        # callback may call stop()).
        self._lock = threading.Lock()
        self._state_lock = threading.RLock()
        self._stopping = threading.Event()
        self._ended = False
        self._thread: threading.Thread | None = None
        self._slot: _Slot | None = None
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._sequence = 0
        self._taken = 0
        self._dropped = 0
        self._corrupt = 0
        self._reconnects = 0
        self._bytes = 0

    @property
    def url(self) -> str:
        """Return the URL with its credentials redacted."""
        return self._shown_url

    @property
    def stats(self) -> StreamStats:
        """Return a snapshot of the reader's counters."""
        with self._lock:
            return StreamStats(
                frames_decoded=self._sequence,
                frames_taken=self._taken,
                frames_dropped=self._dropped,
                frames_corrupt=self._corrupt,
                reconnects=self._reconnects,
                bytes_received=self._bytes,
            )

    @property
    def running(self) -> bool:
        """Tell whether the decode thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the decode thread; calling it again does nothing."""
        with self._lock:
            if self._stopping.is_set():
                raise RuntimeError("a stopped stream reader cannot start again")
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name=f"stream {self._shown_url}", daemon=True
            )
            self._thread.start()

    def stop(self, *, wait: bool = True) -> None:
        """Stop reading and wake every waiting ``next_frame`` with an error.

        With ``wait`` it joins the decode thread, which takes at most about
        ``max(open_timeout, read_timeout)`` (a connection attempt or a read
        FFmpeg is blocked in); it blocks, so from an event loop run it in an
        executor or pass ``wait=False``. Calling it again does nothing more.
        """
        with self._lock:
            self._stopping.set()
            thread = self._thread
        self._wake_waiters()
        if thread is None:
            self._set_state(StreamState.STOPPED, "stopped")
            return
        if wait and thread is not threading.current_thread():
            thread.join(max(self._open_timeout, self._read_timeout) + _JOIN_SLACK)
            if thread.is_alive():
                _LOGGER.warning(
                    "The reader of %s did not stop in time; it will stop on its own",
                    self._shown_url,
                )

    def latest(self, after: int = 0) -> Frame | None:
        """Return the newest frame if its sequence is above ``after``; never wait.

        It may convert the frame to RGB in the calling thread (about a
        millisecond at 1080p), so call it from an executor rather than an
        event loop.
        """
        with self._lock:
            slot = self._slot
            if slot is None or slot.sequence <= after:
                return None
            self._mark_taken(slot)
        return slot.frame()

    async def next_frame(self, after: int = 0) -> Frame:
        """Wait for a frame with a sequence above ``after`` and return it.

        Waiting blocks no thread: the decode thread wakes the waiters through
        their own loops. Any number of tasks, on any loops, may wait at once.
        Raises ``StreamStoppedError`` once ``stop()`` was called, and once a
        file has ended and its last frame was taken.
        """
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                slot = self._slot
                if self._stopping.is_set():
                    raise StreamStoppedError(f"the reader of {self._shown_url} stopped")
                if slot is not None and slot.sequence > after:
                    self._mark_taken(slot)
                    break
                if self._ended:
                    raise StreamStoppedError(f"{self._shown_url} ended")
                waiter = (loop, loop.create_future())
                self._waiters.append(waiter)
            try:
                await waiter[1]
            finally:
                with self._lock:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
        if not slot.converted:
            return await loop.run_in_executor(None, slot.frame)
        return slot.frame()

    def _mark_taken(self, slot: _Slot) -> None:
        """Count a frame as taken the first time anyone takes it (lock held)."""
        if not slot.taken:
            slot.taken = True
            self._taken += 1

    def _wake_waiters(self) -> None:
        """Wake every waiting ``next_frame`` on its own loop to look again."""
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:
                # Its loop is closed: nobody is left to wake.
                continue

    def _set_state(self, state: StreamState, reason: str | None) -> None:
        """Change the state and tell ``on_state``, unless nothing changed."""
        with self._state_lock:
            if self.state is StreamState.STOPPED:
                return
            if state is self.state and (
                state is not StreamState.RETRYING or reason == self._reason
            ):
                return
            self.state = state
            self._reason = reason
            if state is StreamState.RETRYING:
                self.last_error = reason
            elif state is StreamState.STREAMING:
                self.last_error = None
            _LOGGER.debug("%s: %s (%s)", self._shown_url, state, reason)
            if self._on_state is not None:
                try:
                    self._on_state(state, reason)
                except Exception:
                    _LOGGER.exception("The stream state callback failed")

    def _run(self) -> None:
        """Connect, decode and reconnect until stopped; the thread's body."""
        failures = 0
        pacer = _Pacer()
        try:
            while not self._stopping.is_set():
                decoded_before = self._sequence
                try:
                    self._read_once(pacer)
                except _SourceError as failure:
                    reason = str(failure)
                    pacer.reset()
                else:
                    if self._stopping.is_set():
                        break
                    if not self._is_file:
                        reason = "the stream ended"
                    elif self._sequence == decoded_before:
                        reason = "the file has no frames"
                    elif self._loop_files:
                        failures = 0
                        continue
                    else:
                        self._end("end of file")
                        return
                if self._stopping.is_set():
                    break
                if self._sequence > decoded_before:
                    failures = 0
                delay = self._backoff(failures)
                failures += 1
                self._set_state(StreamState.RETRYING, reason)
                if self._stopping.wait(delay):
                    break
                with self._lock:
                    self._reconnects += 1
        except Exception:
            # A bug here must not leave waiters hanging on a dead thread.
            _LOGGER.exception("The reader of %s failed", self._shown_url)
            self._end("failed")
            return
        self._end("stopped")

    def _end(self, reason: str) -> None:
        """Enter STOPPED for good and wake the waiters."""
        with self._lock:
            self._ended = True
        self._set_state(StreamState.STOPPED, reason)
        self._wake_waiters()

    def _backoff(self, failures: int) -> float:
        """Return how long to wait before the next attempt, with jitter."""
        step = min(self._backoff_max, self._backoff_initial * 2.0 ** min(failures, 32))
        # Jitter needs no cryptographic randomness.
        return step * random.uniform(_JITTER_LOW, 1.0)  # noqa: S311

    def _read_once(self, pacer: _Pacer) -> None:
        """Open the source once and decode it until it ends or fails."""
        started = time.monotonic()
        try:
            container = av.open(
                self._url,
                mode="r",
                options=dict(self._options),
                timeout=(self._open_timeout, self._read_timeout),
            )
        except Exception as err:
            elapsed = time.monotonic() - started
            if elapsed >= self._open_timeout * 0.95:
                raise _SourceError(
                    f"no answer within {self._open_timeout:g} s"
                ) from err
            if (
                isinstance(err, av.error.FFmpegError)
                and err.errno == errno.EIO
                and (host := urlsplit(self._url).hostname)
                and not _resolves(host)
            ):
                # FFmpeg reports a name it cannot resolve as a bare I/O error.
                raise _SourceError(f"cannot resolve host {host}") from err
            if isinstance(err, av.error.EOFError) and not self._is_file:
                raise _SourceError(
                    "the connection closed before the stream began"
                ) from err
            raise _SourceError(self._describe(err)) from err
        with container:
            if not container.streams.video:
                raise _SourceError("no video in the stream")
            stream = container.streams.video[0]
            codec = stream.codec_context
            codec.thread_type = "AUTO"
            if codec.name == "mjpeg":
                # Each JPEG stands alone, so rejecting a damaged one loses
                # nothing; concealing it would hand out half a picture.
                codec.options = {"err_detect": "explode"}
            rate = stream.average_rate or stream.guessed_rate
            frame_seconds = float(1 / rate) if rate else _DEFAULT_FRAME_SECONDS
            packets = container.demux(stream)
            corrupt_in_a_row = 0
            media_time = 0.0
            while not self._stopping.is_set():
                asked = time.monotonic()
                try:
                    packet = next(packets, None)
                except Exception as err:
                    # FFmpeg reports an interrupted read as an exit request or,
                    # from some demuxers (RTSP), as invalid data.
                    waited = time.monotonic() - asked
                    if isinstance(err, av.error.ExitError) or (
                        waited >= self._read_timeout * 0.95
                    ):
                        raise _SourceError(
                            f"no data for {self._read_timeout:g} s"
                        ) from err
                    raise _SourceError(f"stream lost: {self._describe(err)}") from err
                if packet is None:
                    pacer.restart(frame_seconds)
                    return
                with self._lock:
                    self._bytes += packet.size
                try:
                    frames = codec.decode(packet)
                except av.error.FFmpegError as err:
                    corrupt_in_a_row += 1
                    with self._lock:
                        self._corrupt += 1
                    if corrupt_in_a_row >= MAX_CORRUPT_IN_A_ROW:
                        raise _SourceError(
                            f"undecodable data: {self._describe(err)}"
                        ) from err
                    continue
                for video in frames:
                    if video.is_corrupt:
                        # Not a sign of a broken source: after a lost packet
                        # frames stay damaged until the next keyframe.
                        with self._lock:
                            self._corrupt += 1
                        continue
                    corrupt_in_a_row = 0
                    media_time = (
                        video.time
                        if video.time is not None
                        else media_time + frame_seconds
                    )
                    if self._is_file and self._realtime_files:
                        wait = pacer.due(media_time) - time.monotonic()
                        if wait > 0 and self._stopping.wait(wait):
                            return
                    self._publish(video)

    def _publish(self, video: av.VideoFrame) -> None:
        """Put a decoded frame in the mailbox and wake the waiters."""
        received_at = time.monotonic()
        with self._lock:
            someone_waits = bool(self._waiters)
        image = to_rgb(video) if someone_waits else None
        with self._lock:
            self._sequence += 1
            previous = self._slot
            if previous is not None and not previous.taken:
                self._dropped += 1
            self._slot = _Slot(self._sequence, received_at, video, image)
        self._set_state(StreamState.STREAMING, None)
        self._wake_waiters()

    def _describe(self, err: Exception) -> str:
        """Say what went wrong in a few words, without the URL's credentials."""
        if isinstance(err, av.error.FFmpegError):
            text = err.strerror or type(err).__name__
            if err.errno == errno.ETIMEDOUT:
                text = "no answer (connection timed out)"
        else:
            text = str(err) or type(err).__name__
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        """Remove the URL and its credentials from a message, to be safe."""
        text = text.replace(self._url, self._shown_url)
        userinfo = urlsplit(self._url).netloc.rpartition("@")[0]
        if userinfo:
            text = text.replace(userinfo, "***")
        return text


def _resolves(host: str) -> bool:
    """Tell whether a host name resolves to an address."""
    try:
        socket.getaddrinfo(host, None)
    except OSError:
        return False
    return True


def _resolve(future: asyncio.Future[None]) -> None:
    """Wake a waiting ``next_frame`` (runs on the waiter's own loop)."""
    if not future.done():
        future.set_result(None)
