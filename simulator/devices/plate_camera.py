"""Play a licence-plate camera (Vzenith 臻识 "IVS"-like) that pushes over HTTP.

Chinese car-park cameras are HTTP *clients* (shared/notes/protocols.md §2.1): they
POST each recognised plate as ``AlarmInfoPlate`` JSON, IO-input changes as
``AlarmGioIn``, and heartbeats as multipart forms to one server, and the server's
reply bodies are their only command channel: open the barrier, speak, show text on
the LED display, recognise again, upload a snapshot. The camera listens on no port.

What the simulated camera reproduces:

- Comet polling: the next poll leaves as soon as the previous reply arrives, so a
  server can hold a poll open and answer it with a command when it wants one. A
  poll that gets no answer within ``http_timeout_seconds`` counts as failed.
- Offline records: a result that cannot be delivered (no link, refused, timed
  out, non-2xx) is kept and re-pushed later with ``isoffline: 1``, one at a time.
  A record counts as received only when the reply's ``ContinuePushOffline`` names
  its plateid; the next one follows only if that reply said ``continue: 1``. The
  backlog resumes when the link comes back, when the server answers again after
  failures, and after each delivered live result, which always goes first.
- Bodies in UTF-8 or GBK, the latter under a bare ``application/json`` header.
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
import logging
import random
import time
from typing import Final, override

import aiohttp
from aiohttp import hdrs
from yarl import URL

from simulator.devices.base import (
    ActionError,
    PortInfo,
    SimulatedDevice,
    UnknownActionError,
    register_kind,
)
from simulator.devices.lpr.messages import (
    DEFAULT_PLATE_TYPES,
    MAX_DIRECTION,
    MAX_IO_SOURCE,
    MAX_PLATE_TYPE,
    CameraIdentity,
    PlateColor,
    Recognition,
    Sighting,
    TriggerType,
    default_color,
    encode_json,
    heartbeat_form,
    io_input_body,
    plate_result_body,
    snapshot_body,
)
from simulator.devices.lpr.options import (
    HeartbeatMode,
    LprReader,
    PlateCameraOptions,
    TrafficOptions,
)
from simulator.devices.lpr.pictures import plate_fragment, scene_picture
from simulator.devices.lpr.replies import Commands, SnapshotRequest, read_reply
from simulator.jsonvalue import JSONObject, JSONValue
from simulator.kinds import DeviceKind
from simulator.scenario import DeviceSpec, Scenario

_LOGGER: Final = logging.getLogger(__name__)

_PROTOCOL: Final = "vzenith-http-push"
# The control API shows this many of the latest interactions.
_MAX_RECORDS: Final = 200
# The spec's offline store holds about 9000 records; the oldest go first.
_MAX_OFFLINE: Final = 9000
# What a manual trigger reports when no vehicle was seen yet (spec §2.1.2).
_NO_PLATE: Final = Sighting("_无_", PlateColor.UNKNOWN, 0, confidence=0)
# Demo traffic: the share of arrivals drawn from the residents' plates.
_RESIDENT_SHARE: Final = 0.8
_DISCONNECTED: Final = "the camera is disconnected"
_NO_PUSH_URL: Final = "no push_url is configured"


@dataclass(frozen=True, slots=True)
class _Exchange:
    """Hold one HTTP round trip: the answer, or why there was none."""

    status: int | None
    body: bytes
    latency_ms: float
    # Set when nothing usable came back: no link, refused, timed out, non-2xx.
    error: str | None = None


@register_kind(DeviceKind.PLATE_CAMERA)
class PlateCamera(SimulatedDevice):
    """Push plate results, IO inputs and heartbeats to a server; obey its replies."""

    def __init__(self, spec: DeviceSpec, scenario: Scenario) -> None:
        """Read the options and set up the camera's memory."""
        super().__init__(spec, scenario)
        self.options = self.read_options(
            lambda: PlateCameraOptions.from_spec(spec), PlateCameraOptions
        )
        self._session: aiohttp.ClientSession | None = None
        self._connected = True
        # False after a failed exchange; the next success resumes the backlog.
        self._reachable = True
        self._next_plate_id = 1
        self._offline: deque[Recognition] = deque(maxlen=_MAX_OFFLINE)
        self._records: deque[JSONObject] = deque(maxlen=_MAX_RECORDS)
        # One push at a time, as firmware does; comet polls use their own link.
        self._push_lock = asyncio.Lock()
        # Live results waiting or on the wire; the backlog yields to them.
        self._live_pushes = 0
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._backlog_task: asyncio.Task[None] | None = None
        self._traffic_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._last_sighting: Sighting | None = None
        # Not security: repeatable demo traffic per device.
        self._random = random.Random(spec.id)  # noqa: S311
        self.heartbeats_sent = 0
        self.heartbeat_failures = 0
        self.relay_count = 0
        self.offline_pushed = 0
        self.last_error: str | None = None

    # --- lifecycle -------------------------------------------------------------

    @override
    async def start(self, host: str) -> PortInfo:
        """Open the HTTP client and start heartbeats and demo traffic."""
        self.raise_option_error()
        self._session = self._new_session()
        await self._restart_heartbeat()
        if self.options.traffic is not None:
            self._traffic_task = asyncio.create_task(
                self._traffic_loop(self.options.traffic), name=f"{self.id}-traffic"
            )
        return PortInfo(
            host, None, _PROTOCOL, {"serial_number": self.options.serial_number}
        )

    @override
    async def stop(self) -> None:
        """Stop every loop and close the HTTP client."""
        for task in (
            self._heartbeat_task,
            self._backlog_task,
            self._traffic_task,
            *self._background,
        ):
            await _cancel(task)
        self._heartbeat_task = self._backlog_task = self._traffic_task = None
        await self._close_session()

    def _new_session(self) -> aiohttp.ClientSession:
        """Return an HTTP client that gives up after ``http_timeout_seconds``."""
        return aiohttp.ClientSession(
            # The threaded resolver starts no helper thread for IP addresses.
            connector=aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver()),
            timeout=aiohttp.ClientTimeout(total=self.options.http_timeout_seconds),
        )

    async def _close_session(self) -> None:
        """Close the HTTP client, cutting any request in flight."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    @property
    def identity(self) -> CameraIdentity:
        """Return what every message says about the camera."""
        return CameraIdentity(
            device_name=self.options.device_name,
            ip_address=self.options.ip_address,
            serial_number=self.options.serial_number,
        )

    def _push_blocker(self) -> str | None:
        """Say why nothing can be pushed now, or None when the way is open."""
        if not self._connected:
            return _DISCONNECTED
        if self.options.push_url is None:
            return _NO_PUSH_URL
        return None

    def _spawn(self, job: Callable[[], Awaitable[None]], name: str) -> None:
        """Run a follow-up job (a reply's command) beside the exchange that caused it."""
        task = asyncio.create_task(self._guarded(job, name), name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _guarded(self, job: Callable[[], Awaitable[None]], name: str) -> None:
        """Run a background job, logging instead of losing its failure."""
        # The job's coroutine is made here, so a task cancelled before it ran
        # leaves no coroutine that was never awaited.
        try:
            await job()
        except Exception:
            _LOGGER.exception("%s: %s failed", self.id, name)

    # --- HTTP ------------------------------------------------------------------

    async def _post(
        self, url: str, data: bytes | aiohttp.FormData, content_type: str | None
    ) -> _Exchange:
        """POST one message and read the whole reply; never raise for the network."""
        session = self._session
        if not self._connected or session is None:
            return _Exchange(None, b"", 0.0, _DISCONNECTED)
        headers = {hdrs.CONTENT_TYPE: content_type} if content_type else None
        started = time.monotonic()
        status: int | None = None
        body = b""
        error: str | None = None
        try:
            async with session.post(url, data=data, headers=headers) as response:
                status = response.status
                body = await response.read()
        except TimeoutError:
            error = (
                f"no answer from {url} within {self.options.http_timeout_seconds:g} s"
            )
        except (aiohttp.ClientError, OSError) as failure:
            if session.closed:
                # disconnect closed the client under this request.
                error = _DISCONNECTED
            else:
                error = f"cannot reach {url}: {failure or type(failure).__name__}"
        latency_ms = round((time.monotonic() - started) * 1000, 1)
        if error is None and status is not None and not 200 <= status < 300:
            error = f"the server answered HTTP {status}"
        return _Exchange(status, body, latency_ms, error)

    async def _post_json(self, url: str, body: JSONObject) -> _Exchange:
        """POST a JSON body in the camera's encoding."""
        data, content_type = encode_json(
            body, self.options.encoding, declare_charset=self.options.declare_charset
        )
        return await self._post(url, data, content_type)

    def _mark_unreachable(self, error: str) -> None:
        """Note a failed exchange; log only the first of a run of failures."""
        if self._reachable:
            _LOGGER.warning("%s: lost the server: %s", self.id, error)
        self._reachable = False
        self.last_error = error

    def _mark_reachable(self) -> None:
        """Note a delivered exchange; after failures, resume the offline backlog."""
        if self._reachable:
            return
        self._reachable = True
        _LOGGER.info("%s: the server answers again", self.id)
        self._resume_backlog()

    def _obey(self, commands: Commands) -> None:
        """Carry out the commands of a reply."""
        if commands.relay_fired:
            self.relay_count += 1
            _LOGGER.info("%s: relay fired (barrier opens)", self.id)
        if commands.voice is not None:
            _LOGGER.info("%s: says %r", self.id, commands.voice)
        for text in commands.serial_texts:
            _LOGGER.info("%s: LED display shows %r", self.id, text)
        if commands.manual_trigger:
            self._spawn(self._manual_trigger, f"{self.id}-manual-trigger")
        if (snapshot := commands.snapshot) is not None:
            self._spawn(partial(self._upload_snapshot, snapshot), f"{self.id}-snapshot")

    def _record(
        self,
        kind: str,
        exchange: _Exchange,
        commands: Commands | None,
        extra: JSONObject | None = None,
    ) -> JSONObject:
        """Remember one interaction for the control API and return it."""
        error = exchange.error or (commands.error if commands else None)
        serial_texts: list[JSONValue] = list(commands.serial_texts if commands else [])
        entry: JSONObject = {
            "kind": kind,
            **(extra or {}),
            "status": exchange.status,
            "reply": commands.reply if commands else None,
            "relay_fired": bool(commands and commands.relay_fired),
            "voice": commands.voice if commands else None,
            "serial_texts": serial_texts,
            "error": error,
            "at": time.time(),
        }
        if error is not None:
            self.last_error = error
        self._records.append(entry)
        return entry

    # --- plate results and the offline backlog -----------------------------------

    def _recognition(self, sighting: Sighting) -> Recognition:
        """Give a sighting its plate id and draw its pictures."""
        plate_id = self._next_plate_id
        self._next_plate_id += 1
        seed = f"{self.id}:{plate_id}"
        options = self.options
        fragment = (
            plate_fragment(sighting.plate, sighting.color, seed)
            if options.images
            else None
        )
        full_image = (
            scene_picture(sighting.plate, sighting.color, seed, options.image_bytes)
            if options.image_bytes > 0
            else None
        )
        return Recognition(plate_id, sighting, time.time(), fragment, full_image)

    async def recognise(self, sighting: Sighting) -> JSONObject:
        """Push a newly recognised plate and wait for the reply (``arrive``)."""
        recognition = self._recognition(sighting)
        self._last_sighting = sighting
        plate: JSONObject = {
            "plate": sighting.plate,
            "plate_id": recognition.plate_id,
        }
        url = self.options.push_url
        if (blocker := self._push_blocker()) is not None or url is None:
            return self._keep_offline(recognition, blocker or _NO_PUSH_URL)
        body = plate_result_body(self.identity, recognition, offline=False)
        # A new result goes before the backlog, even one already on the wire.
        self._live_pushes += 1
        try:
            await self._pause_backlog()
            async with self._push_lock:
                exchange = await self._post_json(url, body)
        finally:
            self._live_pushes -= 1
        if (error := exchange.error) is not None:
            self._record("plate", exchange, None, plate)
            self._mark_unreachable(error)
            return self._keep_offline(recognition, error)
        commands = read_reply(exchange.body)
        self._obey(commands)
        entry = self._record("plate", exchange, commands, plate)
        self._mark_reachable()
        self._resume_backlog()
        _LOGGER.info(
            "%s: pushed %s (plate id %d): HTTP %s",
            self.id,
            sighting.plate,
            recognition.plate_id,
            exchange.status,
        )
        return {
            "plate_id": recognition.plate_id,
            "offline": False,
            "status": exchange.status,
            "reply": commands.reply,
            "relay_fired": commands.relay_fired,
            "voice": commands.voice,
            "serial_texts": entry["serial_texts"],
            "latency_ms": exchange.latency_ms,
            "error": entry["error"],
        }

    def _keep_offline(self, recognition: Recognition, reason: str) -> JSONObject:
        """Store an undelivered result for a later re-push."""
        if len(self._offline) == self._offline.maxlen:
            _LOGGER.warning("%s: offline store full, dropping the oldest", self.id)
        self._offline.append(recognition)
        _LOGGER.info(
            "%s: kept %s (plate id %d) offline: %s",
            self.id,
            recognition.sighting.plate,
            recognition.plate_id,
            reason,
        )
        return {"plate_id": recognition.plate_id, "offline": True, "error": reason}

    async def _pause_backlog(self) -> None:
        """Stop re-pushing offline records; the one on the wire stays queued."""
        task, self._backlog_task = self._backlog_task, None
        await _cancel(task)

    def _resume_backlog(self) -> None:
        """Start re-pushing offline records unless already at it or unable to."""
        if not self._offline or self._live_pushes or self._push_blocker() is not None:
            return
        if self._backlog_task is not None and not self._backlog_task.done():
            return
        self._backlog_task = asyncio.create_task(
            self._push_backlog(), name=f"{self.id}-offline"
        )

    async def _push_backlog(self) -> None:
        """Re-push offline records oldest first while the server says continue."""
        while self._offline and (url := self.options.push_url) is not None:
            if not self._connected or self._live_pushes:
                # A live result's delivery resumes the backlog.
                return
            recognition = self._offline[0]
            extra: JSONObject = {
                "plate": recognition.sighting.plate,
                "plate_id": recognition.plate_id,
            }
            body = plate_result_body(self.identity, recognition, offline=True)
            try:
                async with self._push_lock:
                    exchange = await self._post_json(url, body)
            except UnicodeEncodeError as error:
                # The encoding changed since: this record can never be sent.
                self._offline.popleft()
                self.last_error = (
                    f"dropped offline plate id {recognition.plate_id}: {error}"
                )
                continue
            if (failure := exchange.error) is not None:
                self._record("offline_plate", exchange, None, extra)
                self._mark_unreachable(failure)
                return
            commands = read_reply(exchange.body)
            self._obey(commands)
            self._record("offline_plate", exchange, commands, extra)
            self._mark_reachable()
            ack = commands.offline_ack
            if ack is None or ack.plate_id != recognition.plate_id:
                # Not acknowledged: it stays first in line for the next resume.
                return
            if self._offline and self._offline[0] is recognition:
                self._offline.popleft()
            self.offline_pushed += 1
            if not ack.proceed:
                return

    async def _manual_trigger(self) -> None:
        """Recognise again on the server's request (``manualTrigger``)."""
        sighting = self._last_sighting or _NO_PLATE
        await self.recognise(replace(sighting, trigger_type=TriggerType.SOFTWARE))

    async def _upload_snapshot(self, request: SnapshotRequest) -> None:
        """Upload a snapshot where a ``TriggerImage`` command says."""
        base = self.options.push_url
        if request.absolute_url is not None:
            target = URL(request.absolute_url)
        elif base is not None and request.relative_url is not None:
            target = URL(base).join(URL(request.relative_url))
            if request.port is not None:
                target = target.with_port(request.port)
        else:
            return
        sighting = self._last_sighting or _NO_PLATE
        picture = scene_picture(
            sighting.plate, sighting.color, f"{self.id}:snap:{time.time()}", 0
        )
        exchange = await self._post_json(
            str(target), snapshot_body(self.identity, picture)
        )
        self._record("snapshot", exchange, None, {"url": str(target)})

    # --- IO inputs ---------------------------------------------------------------

    async def _io_input(self, source: int, value: int) -> JSONObject:
        """Push an IO-input change and wait for the reply."""
        extra: JSONObject = {"source": source, "value": value}
        url = self.options.push_url
        if (blocker := self._push_blocker()) is not None or url is None:
            return {
                "status": None,
                "reply": None,
                "relay_fired": False,
                "error": blocker or _NO_PUSH_URL,
            }
        async with self._push_lock:
            exchange = await self._post_json(
                url, io_input_body(self.identity, source, value)
            )
        commands: Commands | None = None
        if (error := exchange.error) is not None:
            self._mark_unreachable(error)
        else:
            commands = read_reply(exchange.body)
            self._obey(commands)
            self._mark_reachable()
        entry = self._record("io", exchange, commands, extra)
        return {
            "status": exchange.status,
            "reply": entry["reply"],
            "relay_fired": entry["relay_fired"],
            "error": entry["error"],
        }

    # --- heartbeats --------------------------------------------------------------

    async def _restart_heartbeat(self) -> None:
        """Stop the heartbeat loop and start it again with the current settings."""
        task, self._heartbeat_task = self._heartbeat_task, None
        await _cancel(task)
        options = self.options
        if (
            self._connected
            and options.push_url is not None
            and options.heartbeat_mode is not HeartbeatMode.OFF
        ):
            self._heartbeat_task = asyncio.create_task(
                self._heartbeat_loop(options.push_url, options.heartbeat_mode),
                name=f"{self.id}-heartbeat",
            )

    async def _heartbeat_loop(self, url: str, mode: HeartbeatMode) -> None:
        """Send heartbeats (normal) or back-to-back polls (comet) until cancelled."""
        while True:
            exchange = await self._post(url, heartbeat_form(self.identity), None)
            self.heartbeats_sent += 1
            if (error := exchange.error) is not None:
                self.heartbeat_failures += 1
                self._mark_unreachable(error)
                await asyncio.sleep(self.options.heartbeat_seconds)
                continue
            self._mark_reachable()
            if mode is HeartbeatMode.NORMAL:
                # A plain heartbeat's reply is not acted on.
                await asyncio.sleep(self.options.heartbeat_seconds)
                continue
            self._obey_poll_reply(exchange)
            await asyncio.sleep(self.options.comet_min_gap_seconds)

    def _obey_poll_reply(self, exchange: _Exchange) -> None:
        """Obey a comet poll's reply; record it if it asked for or broke something."""
        # An empty body is a server with nothing to say (a long poll run out).
        if not exchange.body.strip():
            return
        commands = read_reply(exchange.body)
        self._obey(commands)
        if commands.has_command or commands.problems:
            self._record("comet", exchange, commands)

    # --- demo traffic ------------------------------------------------------------

    async def _traffic_loop(self, traffic: TrafficOptions) -> None:
        """See a random plate every interval (jittered) while a server is known."""
        while True:
            await asyncio.sleep(
                traffic.interval_seconds * self._random.uniform(0.5, 1.5)
            )
            if self.options.push_url is None:
                continue
            residents, visitors = traffic.plates, traffic.visitor_plates
            if residents and (not visitors or self._random.random() < _RESIDENT_SHARE):
                plate = self._random.choice(residents)
            else:
                plate = self._random.choice(visitors)
            try:
                await self.recognise(_sighting(plate))
            except UnicodeEncodeError as error:
                _LOGGER.warning("%s: cannot send %s: %s", self.id, plate, error)

    # --- control API -------------------------------------------------------------

    @override
    def state(self) -> JSONObject:
        """Return the link, counters, offline queue and latest interactions."""
        options = self.options
        queue: list[JSONValue] = [
            {"plate_id": record.plate_id, "plate": record.sighting.plate}
            for record in self._offline
        ]
        records: list[JSONValue] = list(self._records)
        return {
            "push_url": options.push_url,
            "heartbeat_mode": str(options.heartbeat_mode),
            "heartbeat_seconds": options.heartbeat_seconds,
            "encoding": str(options.encoding),
            "declare_charset": options.declare_charset,
            "connected": self._connected,
            "heartbeats_sent": self.heartbeats_sent,
            "heartbeat_failures": self.heartbeat_failures,
            "relay_count": self.relay_count,
            "offline_queue": queue,
            "offline_pushed": self.offline_pushed,
            "records": records,
            "last_error": self.last_error,
        }

    @override
    async def handle_action(self, action: str, params: JSONObject) -> JSONObject:
        """Drive the camera: plates, IO inputs, settings and network outages."""
        match action:
            case "state":
                return self.state()
            case "snapshot":
                return self.snapshot()
            case "configure":
                return await self._configure(params)
            case "arrive":
                return await self.recognise(self._sighting_param(params))
            case "io_input":
                reader = self._params(params)
                try:
                    source = reader.required_integer(
                        "source", minimum=0, maximum=MAX_IO_SOURCE
                    )
                    value = reader.required_integer("value", minimum=0, maximum=1)
                    reader.reject_unknown()
                except ValueError as error:
                    raise ActionError(str(error)) from None
                return await self._io_input(source, value)
            case "disconnect":
                self._no_params(params)
                await self._disconnect()
                return self.state()
            case "reconnect":
                self._no_params(params)
                await self._reconnect()
                return self.state()
            case "clear":
                self._no_params(params)
                self._clear()
                return self.state()
        raise UnknownActionError(self.id, action)

    def _params(self, params: JSONObject) -> LprReader:
        """Return a reader of action parameters that names this device."""
        return LprReader(self.id, params, noun="parameter")

    def _no_params(self, params: JSONObject) -> None:
        """Refuse parameters for an action that takes none."""
        try:
            self._params(params).reject_unknown()
        except ValueError as error:
            raise ActionError(str(error)) from None

    def _sighting_param(self, params: JSONObject) -> Sighting:
        """Read ``arrive``'s parameters into a sighting."""
        reader = self._params(params)
        try:
            plate = reader.plate("plate")
            color = reader.code("color", default_color(plate), list(PlateColor))
            sighting = Sighting(
                plate=plate,
                color=color,
                plate_type=reader.integer(
                    "plate_type",
                    DEFAULT_PLATE_TYPES[PlateColor(color)],
                    minimum=0,
                    maximum=MAX_PLATE_TYPE,
                ),
                confidence=reader.integer("confidence", 95, minimum=1, maximum=100),
                trigger_type=reader.code(
                    "trigger_type", TriggerType.AUTO, list(TriggerType)
                ),
                direction=reader.integer(
                    "direction", 0, minimum=0, maximum=MAX_DIRECTION
                ),
            )
            reader.reject_unknown()
        except ValueError as error:
            raise ActionError(str(error)) from None
        try:
            plate.encode(self.options.encoding)
        except UnicodeEncodeError:
            raise ActionError(
                f"plate {plate!r} cannot be encoded in {self.options.encoding}"
            ) from None
        return sighting

    async def _configure(self, params: JSONObject) -> JSONObject:
        """Change where and how the camera pushes; restart heartbeats if needed."""
        reader = self._params(params)
        old = options = self.options
        try:
            if "push_url" in params:
                options = replace(options, push_url=reader.push_url("push_url"))
            if "heartbeat_mode" in params:
                options = replace(
                    options,
                    heartbeat_mode=reader.heartbeat_mode(
                        "heartbeat_mode", old.heartbeat_mode
                    ),
                )
            if "heartbeat_seconds" in params:
                options = replace(
                    options,
                    heartbeat_seconds=reader.seconds(
                        "heartbeat_seconds", old.heartbeat_seconds, minimum=0.01
                    ),
                )
            if "encoding" in params:
                options = replace(
                    options, encoding=reader.encoding("encoding", old.encoding)
                )
            if "declare_charset" in params:
                options = replace(
                    options,
                    declare_charset=reader.flag("declare_charset", old.declare_charset),
                )
            reader.reject_unknown()
        except ValueError as error:
            raise ActionError(str(error)) from None
        self.options = options
        if (
            options.push_url != old.push_url
            or options.heartbeat_mode is not old.heartbeat_mode
            or options.heartbeat_seconds != old.heartbeat_seconds
        ):
            await self._restart_heartbeat()
        if options.push_url != old.push_url:
            # A new server: try the backlog on it straight away.
            await self._pause_backlog()
            self._reachable = True
            self._resume_backlog()
        return self.state()

    async def _disconnect(self) -> None:
        """Pull the network cable: stop sending and cut what is in flight."""
        if not self._connected:
            return
        self._connected = False
        await self._restart_heartbeat()
        await self._pause_backlog()
        await self._close_session()
        _LOGGER.info("%s: network disconnected", self.id)

    async def _reconnect(self) -> None:
        """Plug the cable back in: heartbeats resume, then the backlog."""
        if self._connected:
            return
        self._session = self._new_session()
        self._connected = True
        self._reachable = True
        await self._restart_heartbeat()
        self._resume_backlog()
        _LOGGER.info("%s: network reconnected", self.id)

    def _clear(self) -> None:
        """Forget recorded interactions and counters; keep the offline queue."""
        self._records.clear()
        self.heartbeats_sent = self.heartbeat_failures = 0
        self.relay_count = self.offline_pushed = 0
        self.last_error = None


def _sighting(plate: str) -> Sighting:
    """Return a sighting of ``plate`` with the colour and type it most likely has."""
    color = default_color(plate)
    return Sighting(plate, color, DEFAULT_PLATE_TYPES[color])


async def _cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a task and wait until it has ended (never the calling task)."""
    if task is None or task.done() or task is asyncio.current_task():
        return
    task.cancel()
    # wait() neither raises the task's CancelledError nor swallows our own.
    await asyncio.wait([task])
