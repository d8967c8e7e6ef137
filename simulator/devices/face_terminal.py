"""Play a Hikvision face access terminal (DS-K1T671M-like) speaking ISAPI over HTTP.

The terminal serves the ISAPI subset an integration uses (see
shared/notes/protocols.md §1.1) behind HTTP Digest, with the firmware quirks that
break naive clients: nonces that wear out, an account lock-out, a single
alertStream slot that stays held after a disconnect, a replay of old events on
connect, parts split across TCP writes, and two firmware generations that delete
persons through different endpoints. Persons, faces and the event log survive a
simulated reboot; only a factory reset wipes persons and faces.
"""

import asyncio
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
import logging
import math
import time
from typing import Final, Unpack, override
import uuid

from aiohttp import BodyPartReader, hdrs, web
from aiohttp.typedefs import Handler, Middleware

from simulator.devices.base import (
    ActionError,
    PortInfo,
    SimulatedDevice,
    UnknownActionError,
    register_kind,
)
from simulator.devices.http_site import listen
from simulator.devices.isapi import events as ev
from simulator.devices.isapi.digest import AuthOutcome, DigestGate, Verdict
from simulator.devices.isapi.events import (
    AccessEvent,
    EventCode,
    EventFields,
    EventLog,
    EventSearch,
    TerminalIdentity,
)
from simulator.devices.isapi.http import (
    error_response,
    json_body,
    json_response,
    require_json_format,
    xml_response,
)
from simulator.devices.isapi.jsonbody import (
    bad_field,
    decode_json,
    employee_numbers,
    require_object,
    required_text,
)
from simulator.devices.isapi.options import FaceTerminalOptions, Firmware
from simulator.devices.isapi.people import Face, PersonStore, parse_user_info
from simulator.devices.isapi.pictures import check_face_picture, make_snapshot
from simulator.devices.isapi.status import (
    IsapiError,
    StatusCode,
    child_text,
    json_status,
    local_name,
    parse_xml,
    xml_document,
    xml_element,
    xml_status,
)
from simulator.devices.isapi.stream import (
    STREAM_CONTENT_TYPE,
    encode_body,
    frame_part,
    split_part,
)
from simulator.jsonvalue import JSONObject, JSONValue
from simulator.kinds import DeviceKind
from simulator.scenario import DeviceSpec, Scenario

_LOGGER: Final = logging.getLogger(__name__)

# Face pictures reach 200 KB on real enrolments; leave room for the multipart frame.
_MAX_REQUEST_BYTES: Final = 4 * 1024 * 1024
# Handlers still running when the server closes (a reboot) get this long.
_SHUTDOWN_GRACE: Final = 0.5
# Pause between the TCP writes of one alertStream part, so they travel apart.
_PIECE_PAUSE: Final = 0.01
# How long disconnect_streams lets a stream write its half part before aborting it.
_CUT_GRACE: Final = 1.0
# The asynchronous person delete finishes this long after it was asked for.
_DELETE_SECONDS: Final = 0.2
_FACE_LIBRARY_TYPES: Final = frozenset({"blackFD", "staticFD"})
# Access terminals have a single face library.
_FACE_LIBRARY_ID: Final = "1"
_PICTURE_PATH: Final = "/LOCALS/pic/acsLinkCap"
_FACE_PATH: Final = "/LOCALS/pic/enrlFace/0"
_FIRMWARE_VERSIONS: Final = {
    "new": ("V3.2.30", "build 230411"),
    "old": ("V2.1.0", "build 190717"),
}


class DoorMode(StrEnum):
    """Name the door's control mode, as the remote commands set it."""

    NORMAL = "normal"
    REMAIN_OPEN = "alwaysOpen"
    REMAIN_CLOSED = "alwaysClose"


class DoorStatusCode(IntEnum):
    """Encode ``AcsWorkStatus.doorStatus``.

    The JSON carries the HCNetSDK NET_DVR_ACS_WORK_STATUS_V50 byte values (Card-Based
    Access Control developer guide): 1 sleeping, 2 remain open, 3 remain closed,
    4 normal (controlled). ``doorLockStatus`` and ``magneticStatus`` use 0 closed,
    1 open (2-4 are circuit alarms this terminal never raises).
    """

    SLEEPING = 1
    REMAIN_OPEN = 2
    REMAIN_CLOSED = 3
    NORMAL = 4


_DOOR_STATUS_CODES: Final = {
    DoorMode.NORMAL: DoorStatusCode.NORMAL,
    DoorMode.REMAIN_OPEN: DoorStatusCode.REMAIN_OPEN,
    DoorMode.REMAIN_CLOSED: DoorStatusCode.REMAIN_CLOSED,
}


@dataclass(slots=True)
class _Door:
    """Hold one door's mode, lock relay, contact and pending timers."""

    number: int
    mode: DoorMode = DoorMode.NORMAL
    unlocked: bool = False
    contact_open: bool = False
    relock: asyncio.Task[None] | None = None
    contact_close: asyncio.Task[None] | None = None

    def cancel_timers(self) -> None:
        """Cancel the pending relock and contact-close timers."""
        for task in (self.relock, self.contact_close):
            if task is not None:
                task.cancel()
        self.relock = self.contact_close = None

    def to_json(self) -> JSONObject:
        """Return the door as the control API shows it."""
        return {
            "door": self.number,
            "mode": str(self.mode),
            "lock": "unlocked" if self.unlocked else "locked",
            "contact": "open" if self.contact_open else "closed",
        }


class _Cut:
    """Tell a stream to stop mid-part and hang up (``disconnect_streams``)."""


_CUT: Final = _Cut()


@dataclass(eq=False, slots=True)
class _StreamClient:
    """Hold one held-open alertStream: its queue and its request."""

    request: web.Request
    queue: asyncio.Queue[AccessEvent | _Cut] = field(default_factory=asyncio.Queue)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class _DeleteJob:
    """Track an asynchronous ``UserInfoDetail/Delete`` until it is polled done."""

    # None deletes everybody (mode "all").
    employee_nos: list[str] | None
    polls: int = 0
    done: bool = False


@register_kind(DeviceKind.FACE_TERMINAL)
class FaceTerminal(SimulatedDevice):
    """Serve a face access terminal's ISAPI over HTTP on loopback."""

    def __init__(self, spec: DeviceSpec, scenario: Scenario) -> None:
        """Read the options and create the terminal's lasting memory."""
        super().__init__(spec, scenario)
        self.options = self.read_options(
            lambda: FaceTerminalOptions.from_spec(spec), FaceTerminalOptions
        )
        options = self.options
        self.gate = DigestGate(
            realm=options.model,
            username=options.username,
            password=options.password,
            nonce_uses=options.nonce_uses,
            max_bad_logins=options.max_bad_logins,
            lock_seconds=options.lock_seconds,
        )
        # Kept across reboots: persons, faces, events and their serial numbers.
        self.people = PersonStore(options.max_persons)
        self.log = EventLog()
        self.doors = [_Door(number) for number in range(1, options.doors + 1)]
        self._host = ""
        # The port chosen at the first start; a reboot listens on it again.
        self._port = spec.port
        self._runner: web.AppRunner | None = None
        self._streams: list[_StreamClient] = []
        # The single alertStream slot stays taken until this monotonic time.
        self._slot_free_at = 0.0
        self._parts_written = 0
        self._delete_job: _DeleteJob | None = None
        self._delete_timer: asyncio.Task[None] | None = None
        self._reboot_task: asyncio.Task[None] | None = None
        self._snapshot_jpeg = b""
        self.reboots = 0

    # --- lifecycle -------------------------------------------------------------

    @override
    async def start(self, host: str) -> PortInfo:
        """Draw the camera picture and start serving ISAPI on ``host``."""
        self.raise_option_error()
        self._host = host
        self._snapshot_jpeg = make_snapshot(f"{self.id} {self.options.model}")
        await self._serve()
        return PortInfo(
            host,
            self._port,
            "isapi-http",
            {"base_url": self.base_url, "firmware": str(self.options.firmware)},
        )

    @override
    async def stop(self) -> None:
        """Stop serving, cancel every timer and end every stream."""
        if self._reboot_task is not None:
            self._reboot_task.cancel()
            self._reboot_task = None
        self._finish_delete_now()
        for door in self.doors:
            door.cancel_timers()
        await self._unserve()

    @property
    def online(self) -> bool:
        """Say whether the terminal is serving (not stopped or rebooting)."""
        return self._runner is not None

    @property
    def base_url(self) -> str:
        """Return the terminal's HTTP base URL."""
        url_host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{url_host}:{self._port}"

    async def _serve(self) -> None:
        """Build the web application and listen on the terminal's port."""
        app = web.Application(
            middlewares=[self._make_front_door()], client_max_size=_MAX_REQUEST_BYTES
        )
        self._add_routes(app.router)
        runner = web.AppRunner(
            app,
            access_log=None,
            # A stream handler learns of a vanished client by being cancelled.
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_GRACE,
        )
        self._port = await listen(runner, self._host, self._port)
        self._runner = runner
        self._slot_free_at = 0.0

    async def _unserve(self) -> None:
        """Close the port, dropping every connection and stream."""
        runner, self._runner = self._runner, None
        for client in list(self._streams):
            if (transport := client.request.transport) is not None:
                transport.abort()
        if runner is not None:
            await runner.cleanup()

    async def _reboot(self, seconds: float) -> None:
        """Drop everything, stay silent ``seconds``, come back with the same data."""
        await self._unserve()
        self.reboots += 1
        # Volatile state: the relays fall back, nonces and the lock are forgotten.
        self._finish_delete_now()
        for door in self.doors:
            door.cancel_timers()
            door.mode, door.unlocked, door.contact_open = DoorMode.NORMAL, False, False
        self.gate.forget()
        self._reboot_task = asyncio.create_task(self._come_back(seconds))

    async def _come_back(self, seconds: float) -> None:
        """Listen again on the same port after the reboot pause."""
        await asyncio.sleep(seconds)
        try:
            await self._serve()
        except OSError:
            _LOGGER.exception(
                "Face terminal %s could not come back after reboot", self.id
            )
        finally:
            self._reboot_task = None

    # --- HTTP front door -------------------------------------------------------

    def _make_front_door(self) -> Middleware:
        """Return the middleware that checks Digest and renders ISAPI errors."""

        @web.middleware
        async def front_door(
            request: web.Request, handler: Handler
        ) -> web.StreamResponse:
            """Let authenticated requests through and turn errors into ISAPI bodies."""
            outcome = self.gate.check(
                request.method,
                request.raw_path,
                request.headers.get(hdrs.AUTHORIZATION),
            )
            if outcome.verdict is not Verdict.ACCEPTED:
                return self._refusal(request, outcome)
            try:
                return await handler(request)
            except IsapiError as error:
                return error_response(request, error)
            except web.HTTPNotFound:
                return error_response(
                    request,
                    IsapiError(
                        StatusCode.INVALID_OPERATION,
                        "notSupport",
                        "no such resource",
                        http_status=404,
                    ),
                )
            except web.HTTPMethodNotAllowed:
                return error_response(
                    request,
                    IsapiError(
                        StatusCode.INVALID_OPERATION,
                        "methodNotAllowed",
                        f"{request.method} is not allowed here",
                        http_status=405,
                    ),
                )

        return front_door

    def _refusal(self, request: web.Request, outcome: AuthOutcome) -> web.Response:
        """Answer a request whose credentials were not accepted."""
        if outcome.verdict is Verdict.MALFORMED:
            _LOGGER.info("%s: bad Digest header: %s", self.id, outcome.reason)
            return xml_response(
                xml_status(
                    request.path_qs, StatusCode.INVALID_OPERATION, "badAuthorization"
                ),
                status=400,
            )
        fields = {"statusValue": "401", "statusString": "Unauthorized"}
        match outcome.verdict:
            case Verdict.LOCKED:
                fields |= {
                    "lockStatus": "lock",
                    "unlockTime": str(outcome.unlock_seconds),
                    "retryLoginTime": "0",
                }
            case Verdict.REJECTED:
                fields |= {
                    "lockStatus": "unlock",
                    "unlockTime": "0",
                    "retryLoginTime": str(outcome.attempts_left),
                }
        response = xml_response(
            xml_document(xml_element("userCheck", fields)), status=401
        )
        response.headers[hdrs.WWW_AUTHENTICATE] = self.gate.challenge(
            stale=outcome.verdict is Verdict.STALE
        )
        return response

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the ISAPI resources this firmware generation has."""
        router.add_get("/ISAPI/System/deviceInfo", self._device_info)
        router.add_put(
            r"/ISAPI/AccessControl/RemoteControl/door/{door}", self._remote_control
        )
        router.add_get("/ISAPI/AccessControl/AcsWorkStatus", self._work_status)
        router.add_post("/ISAPI/AccessControl/UserInfo/Record", self._user_record)
        router.add_put("/ISAPI/AccessControl/UserInfo/Modify", self._user_modify)
        router.add_put("/ISAPI/AccessControl/UserInfo/SetUp", self._user_set_up)
        router.add_post("/ISAPI/AccessControl/UserInfo/Search", self._user_search)
        if self.options.firmware is Firmware.NEW:
            router.add_put(
                "/ISAPI/AccessControl/UserInfoDetail/Delete", self._user_detail_delete
            )
            router.add_get(
                "/ISAPI/AccessControl/UserInfoDetail/DeleteProcess",
                self._user_delete_process,
            )
        else:
            router.add_put("/ISAPI/AccessControl/UserInfo/Delete", self._user_delete)
        router.add_post("/ISAPI/Intelligent/FDLib/FaceDataRecord", self._face_record)
        router.add_put("/ISAPI/Intelligent/FDLib/FDSetUp", self._face_set_up)
        router.add_put("/ISAPI/Intelligent/FDLib/FDSearch/Delete", self._face_delete)
        router.add_post("/ISAPI/AccessControl/AcsEvent", self._event_search)
        router.add_get("/ISAPI/Event/notification/alertStream", self._alert_stream)
        router.add_get("/ISAPI/Streaming/channels/101/picture", self._picture)
        router.add_get(_PICTURE_PATH + "/{name}", self._event_picture)
        router.add_get(_FACE_PATH + "/{name}", self._face_picture)

    # --- system and doors ------------------------------------------------------

    async def _device_info(self, request: web.Request) -> web.Response:
        """Answer ``GET /ISAPI/System/deviceInfo`` (XML)."""
        version, released = _FIRMWARE_VERSIONS[self.options.firmware]
        info = xml_element(
            "DeviceInfo",
            {
                "deviceName": self.spec.name,
                "deviceID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sim:{self.id}")),
                "model": self.options.model,
                "serialNumber": self.options.serial_number,
                "macAddress": self.options.mac_address,
                "firmwareVersion": version,
                "firmwareReleasedDate": released,
                "deviceType": "ACS",
                "subDeviceType": "accessControlTerminal",
            },
        )
        return xml_response(xml_document(info))

    async def _remote_control(self, request: web.Request) -> web.Response:
        """Answer ``PUT .../RemoteControl/door/{n}`` with a RemoteControlDoor body."""
        door = self._door_from_path(request.match_info["door"])
        root = parse_xml(await request.read())
        command = child_text(root, "cmd")
        if local_name(root) != "RemoteControlDoor" or command is None:
            raise IsapiError(
                StatusCode.INVALID_CONTENT, "badXmlContent", "RemoteControlDoor/cmd"
            )
        remote = request.remote or "unknown"
        match command:
            case "open":
                self._emit(ev.REMOTE_OPEN, door_no=door.number, remote_host=remote)
                self._release_lock(door)
            case "close":
                self._emit(ev.REMOTE_CLOSE, door_no=door.number, remote_host=remote)
                self._set_mode(door, DoorMode.NORMAL)
            case "alwaysOpen":
                self._emit(
                    ev.REMOTE_ALWAYS_OPEN, door_no=door.number, remote_host=remote
                )
                self._set_mode(door, DoorMode.REMAIN_OPEN)
            case "alwaysClose":
                self._emit(
                    ev.REMOTE_ALWAYS_CLOSE, door_no=door.number, remote_host=remote
                )
                self._set_mode(door, DoorMode.REMAIN_CLOSED)
            case _:
                raise IsapiError(
                    StatusCode.INVALID_CONTENT, "badXmlContent", f"cmd {command!r}"
                )
        return xml_response(xml_status(request.path_qs))

    def _door_from_path(self, text: str) -> _Door:
        """Return the door a URL names; firmware answers 400 Invalid Operation else."""
        if text.isdigit() and 1 <= int(text) <= len(self.doors):
            return self.doors[int(text) - 1]
        raise IsapiError(StatusCode.INVALID_OPERATION, "notSupport", f"no door {text}")

    async def _work_status(self, request: web.Request) -> web.Response:
        """Answer ``GET /ISAPI/AccessControl/AcsWorkStatus?format=json``."""
        require_json_format(request)
        lock: list[JSONValue] = [int(door.unlocked) for door in self.doors]
        status: list[JSONValue] = [
            int(_DOOR_STATUS_CODES[door.mode]) for door in self.doors
        ]
        contact: list[JSONValue] = [int(door.contact_open) for door in self.doors]
        return json_response(
            {
                "AcsWorkStatus": {
                    "doorLockStatus": lock,
                    "doorStatus": status,
                    "magneticStatus": contact,
                    "caseStatus": [],
                    "antiSneakStatus": "close",
                    "hostAntiDismantleStatus": "close",
                    "cardReaderOnlineStatus": [1],
                    "cardReaderAntiDismantleStatus": [0],
                    "cardNum": 0,
                    "netStatus": "connected",
                }
            }
        )

    # --- persons ---------------------------------------------------------------

    async def _user_record(self, request: web.Request) -> web.Response:
        """Answer ``POST .../UserInfo/Record``: enrol a new person."""
        info = parse_user_info(await json_body(request))
        self.people.add(info)
        return json_response(json_status(request.path_qs))

    async def _user_modify(self, request: web.Request) -> web.Response:
        """Answer ``PUT .../UserInfo/Modify``: change a known person."""
        self.people.modify(parse_user_info(await json_body(request)))
        return json_response(json_status(request.path_qs))

    async def _user_set_up(self, request: web.Request) -> web.Response:
        """Answer ``PUT .../UserInfo/SetUp``: create or replace a person."""
        self.people.set_up(parse_user_info(await json_body(request)))
        return json_response(json_status(request.path_qs))

    async def _user_search(self, request: web.Request) -> web.Response:
        """Answer ``POST .../UserInfo/Search``: one page of at most 30 persons."""
        body = await json_body(request)
        return json_response(self.people.search(body, self.base_url + _FACE_PATH))

    async def _user_delete(self, request: web.Request) -> web.Response:
        """Answer the old firmware's synchronous ``PUT .../UserInfo/Delete``."""
        cond = require_object(await json_body(request), "UserInfoDelCond")
        numbers = employee_numbers(cond)
        if not numbers:
            raise bad_field("EmployeeNoList")
        self.people.delete(numbers)
        return json_response(json_status(request.path_qs))

    async def _user_detail_delete(self, request: web.Request) -> web.Response:
        """Answer the new firmware's ``PUT .../UserInfoDetail/Delete``; runs later."""
        detail = require_object(await json_body(request), "UserInfoDetail")
        mode = required_text(detail, "mode")
        numbers: list[str] | None
        if mode == "all":
            numbers = None
        elif mode == "byEmployeeNo":
            numbers = employee_numbers(detail)
            if not numbers:
                raise bad_field("EmployeeNoList")
        else:
            raise bad_field("mode")
        # One delete at a time: a new one first completes the previous one.
        self._finish_delete_now()
        self._delete_job = _DeleteJob(numbers)
        self._delete_timer = asyncio.create_task(self._finish_delete_later())
        return json_response(json_status(request.path_qs))

    async def _user_delete_process(self, request: web.Request) -> web.Response:
        """Answer ``GET .../DeleteProcess``: processing on the first poll at least."""
        require_json_format(request)
        job = self._delete_job
        status = "success"
        if job is not None:
            job.polls += 1
            if job.polls == 1 or not job.done:
                status = "processing"
        return json_response({"UserInfoDetailDeleteProcess": {"status": status}})

    async def _finish_delete_later(self) -> None:
        """Apply the pending delete after the terminal's processing time."""
        await asyncio.sleep(_DELETE_SECONDS)
        self._delete_timer = None
        self._finish_delete_now()

    def _finish_delete_now(self) -> None:
        """Apply the pending delete at once (a new delete, a reboot or a stop)."""
        if self._delete_timer is not None:
            self._delete_timer.cancel()
            self._delete_timer = None
        job = self._delete_job
        if job is None or job.done:
            return
        if job.employee_nos is None:
            self.people.delete_all()
        else:
            self.people.delete(job.employee_nos)
        job.done = True

    # --- faces -----------------------------------------------------------------

    async def _face_record(self, request: web.Request) -> web.Response:
        """Answer ``POST .../FaceDataRecord``: add a face to a person without one."""
        employee_no, face = await self._read_face_upload(request)
        self.people.set_face(employee_no, face, replace=False)
        return json_response(json_status(request.path_qs) | {"FPID": employee_no})

    async def _face_set_up(self, request: web.Request) -> web.Response:
        """Answer ``PUT .../FDSetUp``: add or replace a person's face."""
        employee_no, face = await self._read_face_upload(request)
        self.people.set_face(employee_no, face, replace=True)
        return json_response(json_status(request.path_qs))

    async def _read_face_upload(self, request: web.Request) -> tuple[str, Face]:
        """Read the multipart ``FaceDataRecord`` JSON and ``FaceImage`` JPEG parts."""
        require_json_format(request)
        if request.content_type != "multipart/form-data":
            raise IsapiError(
                StatusCode.INVALID_CONTENT,
                "badParameters",
                "expected multipart/form-data",
            )
        record: object = None
        image: bytes | None = None
        try:
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "FaceDataRecord":
                    record = decode_json(bytes(await part.read()))
                elif part.name == "FaceImage":
                    image = bytes(await part.read())
        except ValueError, AssertionError:
            # aiohttp's multipart reader asserts on some malformed framing.
            raise IsapiError(
                StatusCode.INVALID_CONTENT, "badParameters", "malformed multipart body"
            ) from None
        if not isinstance(record, dict):
            raise bad_field("FaceDataRecord")
        library_type = required_text(record, "faceLibType")
        if library_type not in _FACE_LIBRARY_TYPES:
            raise bad_field("faceLibType")
        if required_text(record, "FDID") != _FACE_LIBRARY_ID:
            raise IsapiError(
                StatusCode.INVALID_CONTENT, "faceLibraryIDError", "no such FDID"
            )
        employee_no = required_text(record, "FPID")
        if self.people.get(employee_no) is None:
            raise IsapiError(
                StatusCode.INVALID_CONTENT,
                "employeeNoNotExist",
                f"no person {employee_no}",
            )
        if image is None:
            raise bad_field("FaceImage")
        check_face_picture(image)
        return employee_no, Face(image, library_type, _FACE_LIBRARY_ID)

    async def _face_delete(self, request: web.Request) -> web.Response:
        """Answer ``PUT .../FDSearch/Delete?FDID=1&faceLibType=...``."""
        require_json_format(request)
        if request.query.get("FDID") != _FACE_LIBRARY_ID:
            raise IsapiError(
                StatusCode.INVALID_CONTENT, "faceLibraryIDError", "no such FDID"
            )
        if request.query.get("faceLibType") not in _FACE_LIBRARY_TYPES:
            raise bad_field("faceLibType")
        body = await json_body(request)
        items = body.get("FPID") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise bad_field("FPID")
        numbers = [
            required_text(item, "value") if isinstance(item, dict) else ""
            for item in items
        ]
        if "" in numbers:
            raise bad_field("FPID")
        self.people.delete_faces(numbers)
        return json_response(json_status(request.path_qs))

    # --- events ----------------------------------------------------------------

    async def _event_search(self, request: web.Request) -> web.Response:
        """Answer ``POST /ISAPI/AccessControl/AcsEvent``: one page of the log."""
        search = EventSearch.from_json(await json_body(request))
        return json_response(self.log.search(search, self.base_url + _PICTURE_PATH))

    def _identity(self) -> TerminalIdentity:
        """Return the facts alertStream parts repeat about the terminal."""
        return TerminalIdentity(
            device_name=self.spec.name,
            ip_address=self._host,
            port=self._port,
            mac_address=self.options.mac_address,
        )

    def _emit(self, code: EventCode, **fields: Unpack[EventFields]) -> AccessEvent:
        """Log an event and hand it to every open alertStream."""
        event = self.log.record(code, **fields)
        for client in self._streams:
            client.queue.put_nowait(event)
        return event

    def _stream_slot_taken(self) -> bool:
        """Say whether the single alertStream slot is in use or still held."""
        return bool(self._streams) or time.monotonic() < self._slot_free_at

    async def _alert_stream(self, request: web.Request) -> web.StreamResponse:
        """Hold ``GET .../alertStream`` open: replay, then live events, heartbeats."""
        if self._stream_slot_taken():
            # Firmware answers a busy slot exactly like an unknown resource.
            raise web.HTTPNotFound
        client = _StreamClient(request)
        # Taking the replay and subscribing with no await between loses no event.
        replay = self.log.newest(self.options.replay_count)
        self._streams.append(client)
        try:
            # Real terminals send no Cache-Control; aiohttp adds chunked framing.
            response = web.StreamResponse(
                headers={hdrs.CONTENT_TYPE: STREAM_CONTENT_TYPE}
            )
            await response.prepare(request)
            identity = self._identity()
            for event in replay:
                await self._write_part(
                    response, ev.stream_body(event, identity, current=False)
                )
            await self._stream_live(client, response, identity)
        except ConnectionError:
            _LOGGER.debug("%s: alertStream client went away", self.id)
        finally:
            self._streams.remove(client)
            self._slot_free_at = time.monotonic() + self.options.slot_hold_seconds
            client.ended.set()
        return response

    async def _stream_live(
        self,
        client: _StreamClient,
        response: web.StreamResponse,
        identity: TerminalIdentity,
    ) -> None:
        """Write live events as they come, a heartbeat when idle, until cut."""
        while True:
            try:
                async with asyncio.timeout(self.options.heartbeat_seconds):
                    item = await client.queue.get()
            except TimeoutError:
                await self._write_part(
                    response, ev.heartbeat_body(identity, ev.terminal_now())
                )
                continue
            if isinstance(item, _Cut):
                await self._cut_stream(client, response, identity)
                return
            await self._write_part(
                response, ev.stream_body(item, identity, current=True)
            )

    async def _write_part(self, response: web.StreamResponse, body: JSONObject) -> None:
        """Write one part in two or three TCP writes with short pauses between."""
        header, payload = frame_part(encode_body(body), self.options.line_ending)
        self._parts_written += 1
        pieces = 2 + self._parts_written % 2
        for index, piece in enumerate(split_part(header, payload, pieces)):
            if index:
                await asyncio.sleep(_PIECE_PAUSE)
            await response.write(piece)

    async def _cut_stream(
        self,
        client: _StreamClient,
        response: web.StreamResponse,
        identity: TerminalIdentity,
    ) -> None:
        """Write half a heartbeat part, then hang up without ending the body."""
        header, payload = frame_part(
            encode_body(ev.heartbeat_body(identity, ev.terminal_now())),
            self.options.line_ending,
        )
        await response.write(header + payload[: len(payload) // 2])
        if (transport := client.request.transport) is not None:
            transport.close()

    async def _disconnect_streams(self) -> int:
        """Cut every open alertStream mid-part; return how many were cut."""
        clients = list(self._streams)
        for client in clients:
            client.queue.put_nowait(_CUT)
        for client in clients:
            try:
                async with asyncio.timeout(_CUT_GRACE):
                    await client.ended.wait()
            except TimeoutError:
                # The client stopped reading and the write is stuck: hang up hard.
                if (transport := client.request.transport) is not None:
                    transport.abort()
                await client.ended.wait()
        return len(clients)

    # --- pictures --------------------------------------------------------------

    async def _picture(self, request: web.Request) -> web.Response:
        """Answer ``GET /ISAPI/Streaming/channels/101/picture`` with a JPEG."""
        return web.Response(body=self._snapshot_jpeg, content_type="image/jpeg")

    async def _event_picture(self, request: web.Request) -> web.Response:
        """Serve the capture of a verification event (its ``pictureURL``)."""
        serial_text = request.match_info["name"].removesuffix(".jpg")
        if not serial_text.isdigit() or not any(
            event.serial == int(serial_text) and event.has_picture
            for event in self.log.events
        ):
            raise web.HTTPNotFound
        return web.Response(body=self._snapshot_jpeg, content_type="image/jpeg")

    async def _face_picture(self, request: web.Request) -> web.Response:
        """Serve an enrolled face picture (its ``faceURL``)."""
        if (face := self.people.face_by_file_name(request.match_info["name"])) is None:
            raise web.HTTPNotFound
        return web.Response(body=face.image, content_type="image/jpeg")

    # --- door behaviour --------------------------------------------------------

    def _release_lock(self, door: _Door) -> None:
        """Open the lock for ``open_seconds`` (or extend an open), then relock."""
        if door.mode is DoorMode.REMAIN_OPEN:
            return
        if not door.unlocked:
            door.unlocked = True
            self._emit(ev.LOCK_OPENED, door_no=door.number)
        if door.relock is not None:
            door.relock.cancel()
        door.relock = asyncio.create_task(self._relock_later(door))

    async def _relock_later(self, door: _Door) -> None:
        """Close the lock once the open time has passed."""
        await asyncio.sleep(self.options.open_seconds)
        door.relock = None
        if door.unlocked and door.mode is not DoorMode.REMAIN_OPEN:
            door.unlocked = False
            self._emit(ev.LOCK_CLOSED, door_no=door.number)

    def _set_mode(self, door: _Door, mode: DoorMode) -> None:
        """Switch the door's mode, logging the hold that ends and the one starting."""
        if door.relock is not None:
            door.relock.cancel()
            door.relock = None
        previous, door.mode = door.mode, mode
        if previous is not mode:
            if previous is DoorMode.REMAIN_OPEN:
                self._emit(ev.REMAIN_OPEN_ENDED, door_no=door.number)
            elif previous is DoorMode.REMAIN_CLOSED:
                self._emit(ev.REMAIN_CLOSED_ENDED, door_no=door.number)
            if mode is DoorMode.REMAIN_OPEN:
                self._emit(ev.REMAIN_OPEN_STARTED, door_no=door.number)
            elif mode is DoorMode.REMAIN_CLOSED:
                self._emit(ev.REMAIN_CLOSED_STARTED, door_no=door.number)
        should_be_unlocked = mode is DoorMode.REMAIN_OPEN
        if door.unlocked != should_be_unlocked:
            door.unlocked = should_be_unlocked
            self._emit(
                ev.LOCK_OPENED if should_be_unlocked else ev.LOCK_CLOSED,
                door_no=door.number,
            )

    def _force_open(self, door: _Door) -> AccessEvent:
        """Open the door without the lock releasing; it swings shut later."""
        event = self._emit(ev.DOOR_FORCED, door_no=door.number)
        door.contact_open = True
        if door.contact_close is not None:
            door.contact_close.cancel()
        door.contact_close = asyncio.create_task(self._contact_close_later(door))
        return event

    async def _contact_close_later(self, door: _Door) -> None:
        """Report the forced door closed again after ``open_seconds``."""
        await asyncio.sleep(self.options.open_seconds)
        door.contact_close = None
        door.contact_open = False
        self._emit(ev.DOOR_CLOSED, door_no=door.number)

    def _present_face(self, door: _Door, employee_no: str | None) -> JSONObject:
        """Play someone showing their face at the reader of ``door``."""
        person = self.people.get(employee_no) if employee_no else None
        reader: EventFields = {
            "door_no": door.number,
            "card_reader_no": 1,
            "has_picture": True,
            "verify_mode": ev.VERIFY_MODE_FACE,
        }
        if person is None:
            event = self._emit(ev.STRANGER, **reader)
            return {"result": "stranger", "serials": [event.serial]}
        if person.face is None:
            # Nothing to match against: the face cannot be authenticated.
            event = self._emit(ev.FACE_FAILED, **reader)
            return {"result": "failed", "serials": [event.serial]}
        who: EventFields = {
            "employee_no": person.employee_no,
            "name": person.name,
            "user_type": person.user_type,
        }
        if door.mode is DoorMode.REMAIN_CLOSED:
            event = self._emit(ev.DOOR_HELD_CLOSED_REFUSED, **(who | reader))
            return {"result": "door_held_closed", "serials": [event.serial]}
        first = self.log.next_serial
        self._emit(ev.FACE_PASSED, **(who | reader))
        self._release_lock(door)
        return {"result": "passed", "serials": list(range(first, self.log.next_serial))}

    # --- control API -----------------------------------------------------------

    @override
    def state(self) -> JSONObject:
        """Return persons, doors, auth lock, event log and streams (control API)."""
        persons: list[JSONValue] = [
            {
                "employee_no": person.employee_no,
                "name": person.name,
                "has_face": person.face is not None,
                "face_sha256": person.face.sha256 if person.face else None,
            }
            for person in self.people.persons.values()
        ]
        doors: list[JSONValue] = [door.to_json() for door in self.doors]
        lock_remaining = self.gate.lock_remaining()
        return {
            "online": self.online,
            "firmware": str(self.options.firmware),
            "reboots": self.reboots,
            "persons": persons,
            "person_count": len(persons),
            "full": self.people.full,
            "doors": doors,
            "auth": {
                "bad_logins": self.gate.bad_logins,
                "locked": lock_remaining > 0,
                "unlock_seconds": math.ceil(lock_remaining),
            },
            "events": {
                "count": len(self.log.events),
                "last_serial": self.log.last_serial,
            },
            "streams": len(self._streams),
            "stream_slot_held": self._stream_slot_taken(),
        }

    @override
    async def handle_action(self, action: str, params: JSONObject) -> JSONObject:
        """Drive the terminal: faces at the reader, doors, reboots, resets."""
        match action:
            case "snapshot":
                return self.snapshot()
            case "state":
                return self.state()
        if not self.online:
            raise _RebootingError(self.id)
        match action:
            case "present_face":
                return self._present_face(
                    self._door_param(params), _text_param(params, "employee_no")
                )
            case "present_stranger":
                return self._present_face(self._door_param(params), None)
            case "open_door_by_hand" | "force_door":
                event = self._force_open(self._door_param(params))
                return {"serials": [event.serial]}
            case "enroll_person":
                return self._enroll(params)
            case "set_full":
                full = params.get("full", True)
                if not isinstance(full, bool):
                    raise ActionError("'full' must be true or false")
                self.people.forced_full = full
                return {"full": self.people.full}
            case "reset":
                self._finish_delete_now()
                removed = self.people.delete_all()
                return {"removed_persons": removed}
            case "disconnect_streams":
                return {"cut": await self._disconnect_streams()}
            case "reboot":
                seconds = params.get("seconds", self.options.reboot_seconds)
                if not isinstance(seconds, int | float) or isinstance(seconds, bool):
                    raise ActionError("'seconds' must be a number")
                pause = max(0.0, float(seconds))
                await self._reboot(pause)
                return {"rebooting": True, "back_in_seconds": pause, "port": self._port}
        raise UnknownActionError(self.id, action)

    def _door_param(self, params: JSONObject) -> _Door:
        """Return the door named by the ``door`` parameter (default 1)."""
        number = params.get("door", 1)
        if (
            not isinstance(number, int)
            or isinstance(number, bool)
            or not 1 <= number <= len(self.doors)
        ):
            raise ActionError(f"'door' must be 1..{len(self.doors)}, not {number!r}")
        return self.doors[number - 1]

    def _enroll(self, params: JSONObject) -> JSONObject:
        """Enrol a person (and a generated face) without going through ISAPI."""
        employee_no = _text_param(params, "employee_no")
        name = params.get("name", employee_no)
        with_face = params.get("face", True)
        if not isinstance(name, str) or not isinstance(with_face, bool):
            raise ActionError("'name' must be a string and 'face' true or false")
        try:
            self.people.add({"employeeNo": employee_no, "name": name})
            if with_face:
                face = Face(
                    make_snapshot(f"face {employee_no}"), "blackFD", _FACE_LIBRARY_ID
                )
                self.people.set_face(employee_no, face, replace=True)
        except IsapiError as error:
            raise ActionError(f"{error.sub_status}: {error.message}") from None
        return {"employee_no": employee_no, "has_face": with_face}


class _RebootingError(ActionError):
    """Refuse an action while the terminal is rebooting."""

    status = 409

    def __init__(self, device_id: str) -> None:
        """Name the rebooting device."""
        super().__init__(f"device {device_id!r} is rebooting")


def _text_param(params: JSONObject, key: str) -> str:
    """Return a required non-empty string action parameter."""
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise ActionError(f"{key!r} must be a non-empty string")
    return value
