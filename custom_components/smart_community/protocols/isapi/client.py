"""Talk to a Hikvision access terminal over ISAPI: the IsapiClient."""

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import Enum, auto
from itertools import batched
import json
import logging
import ssl
from types import TracebackType
from typing import Any, Final, NoReturn, Self
from uuid import uuid4

import aiohttp
from aiohttp import hdrs
from yarl import URL

from .digest import DigestAuth, parse_challenges, select_digest
from .errors import (
    IsapiAuthError,
    IsapiConnectionError,
    IsapiConnectionTimeoutError,
    IsapiError,
    IsapiInvalidResponseError,
    IsapiLockedError,
    IsapiNotSupportedError,
    IsapiResponseError,
    IsapiStreamBusyError,
    IsapiStreamClosedError,
)
from .models import (
    AccessEvent,
    DeviceInfo,
    DoorCommand,
    DoorStatus,
    Person,
    format_time,
)
from .payloads import (
    ISAPI_NAMESPACE,
    JsonObject,
    as_int,
    as_list,
    as_object,
    as_str,
    auth_error,
    looks_like_json,
    looks_like_xml,
    parse_json,
    parse_response_status,
    parse_user_check,
    response_error,
)
from .stream import MultipartParser, boundary_from_content_type, decode_part
from .subscription import EventCallback, EventSubscription

_LOGGER = logging.getLogger(__name__)

DEVICE_INFO_PATH: Final = "/ISAPI/System/deviceInfo"
REMOTE_CONTROL_DOOR_PATH: Final = "/ISAPI/AccessControl/RemoteControl/door/{door}"
WORK_STATUS_PATH: Final = "/ISAPI/AccessControl/AcsWorkStatus"
USER_RECORD_PATH: Final = "/ISAPI/AccessControl/UserInfo/Record"
USER_MODIFY_PATH: Final = "/ISAPI/AccessControl/UserInfo/Modify"
USER_SEARCH_PATH: Final = "/ISAPI/AccessControl/UserInfo/Search"
USER_DELETE_PATH: Final = "/ISAPI/AccessControl/UserInfo/Delete"
USER_DETAIL_DELETE_PATH: Final = "/ISAPI/AccessControl/UserInfoDetail/Delete"
USER_DETAIL_PROCESS_PATH: Final = "/ISAPI/AccessControl/UserInfoDetail/DeleteProcess"
FACE_RECORD_PATH: Final = "/ISAPI/Intelligent/FDLib/FaceDataRecord"
FACE_SETUP_PATH: Final = "/ISAPI/Intelligent/FDLib/FDSetUp"
FACE_DELETE_PATH: Final = "/ISAPI/Intelligent/FDLib/FDSearch/Delete"
ACS_EVENT_PATH: Final = "/ISAPI/AccessControl/AcsEvent"
PICTURE_PATH: Final = "/ISAPI/Streaming/channels/{channel}/picture"
ALERT_STREAM_PATH: Final = "/ISAPI/Event/notification/alertStream"

JSON_QUERY: Final = {"format": "json"}
# Terminals answer at most 30 records per search page.
PAGE_SIZE: Final = 30
# A search that keeps saying MORE past this many pages is treated as broken.
MAX_PAGES: Final = 10_000
# The face library every access terminal has: list "blackFD", library "1".
FACE_LIB_TYPE: Final = "blackFD"
FACE_LIB_ID: Final = "1"
JPEG_MAGIC: Final = b"\xff\xd8"


class _DeleteVariant(Enum):
    """Name the person-delete endpoint a device answered to."""

    DETAIL = auto()  # UserInfoDetail/Delete plus DeleteProcess (newer firmware)
    LEGACY = auto()  # UserInfo/Delete (older firmware)


@dataclass(frozen=True, slots=True)
class _Reply:
    """Hold a finished HTTP exchange."""

    status: int
    content_type: str
    body: bytes


@contextmanager
def _connection_errors() -> Iterator[None]:
    """Turn aiohttp and timeout errors into ISAPI connection errors."""
    try:
        yield
    except TimeoutError as err:
        raise IsapiConnectionTimeoutError("The device did not answer in time") from err
    except aiohttp.ClientError as err:
        raise IsapiConnectionError(f"Cannot talk to the device: {err}") from err


def _raise_for_reply(reply: _Reply, what: str) -> None:
    """Raise the matching error if a reply reports a failure."""
    if reply.status >= 400:
        check = parse_user_check(reply.body)
        if check is not None and check.locked:
            raise IsapiLockedError(check.unlock_in)
        raise response_error(
            parse_response_status(reply.body), reply.status, f"{what} failed"
        )
    status = parse_response_status(reply.body)
    if status is not None and not status.ok:
        raise response_error(status, reply.status, f"{what} failed")


def _json_body(data: Mapping[str, Any]) -> bytes:
    """Encode a JSON request body, keeping Chinese names readable on the wire."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class AlertStream:
    """Read events from one open alertStream connection.

    Iterate it for events, heartbeats included. Iteration ends only by
    raising: IsapiStreamClosedError when the device or the network closes the
    stream (a part cut short is dropped, never yielded).
    """

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        boundary: str,
        default_tz: tzinfo,
    ) -> None:
        """Wrap a response whose headers said multipart with this boundary."""
        self._response = response
        self._boundary = boundary
        self._default_tz = default_tz

    def __aiter__(self) -> AsyncGenerator[AccessEvent]:
        """Return the events as they arrive."""
        return self._events()

    async def _events(self) -> AsyncGenerator[AccessEvent]:
        """Yield the event of every complete part; raise when the stream ends."""
        parser = MultipartParser(self._boundary)
        try:
            async for chunk in self._response.content.iter_any():
                for part in parser.feed(chunk):
                    parsed = decode_part(part, self._default_tz)
                    if parsed.event is not None:
                        yield parsed.event
                    else:
                        _LOGGER.debug("Skipped an alert stream part: %s", parsed.error)
                if parser.done:
                    break
        except TimeoutError as err:
            raise IsapiStreamClosedError(
                "The alert stream sent nothing for too long"
            ) from err
        except aiohttp.ClientError as err:
            raise IsapiStreamClosedError(f"The alert stream broke: {err}") from err
        cut = parser.finish()
        raise IsapiStreamClosedError(
            "The device closed the alert stream"
            + (" inside a part, which was dropped" if cut is not None else "")
        )


@dataclass(kw_only=True)
class IsapiClient:
    """Talk to one Hikvision access terminal over ISAPI with HTTP Digest auth.

    Give it an aiohttp session to share (Home Assistant's); without one it
    creates its own and closes it in ``close``. ``time_zone`` is attached to
    device times that carry no UTC offset: pass the terminal's zone.
    Credentials only ever go out as Digest answers: Basic is never used, even
    when a device offers it.
    """

    host: str
    username: str
    password: str = field(repr=False)
    port: int | None = None
    https: bool = False
    verify_tls: bool = True
    session: aiohttp.ClientSession | None = None
    request_timeout: float = 10.0
    time_zone: tzinfo = UTC
    delete_poll_interval: float = 0.5
    delete_poll_limit: int = 60
    _close_session: bool = field(default=False, init=False, repr=False)
    _digest: DigestAuth = field(init=False, repr=False)
    _ssl: ssl.SSLContext | bool = field(init=False, repr=False)
    _base_url: URL = field(init=False, repr=False)
    _delete_variant: _DeleteVariant | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        """Prepare the Digest state, the TLS context and the base URL."""
        self._digest = DigestAuth(self.username, self.password)
        self._base_url = URL.build(
            scheme="https" if self.https else "http", host=self.host, port=self.port
        )
        if self.https and not self.verify_tls:
            # Terminals ship self-signed certificates; this context accepts
            # any certificate and needs no CA file, so it is cheap to build.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self._ssl = context
        else:
            self._ssl = True

    @property
    def base_url(self) -> URL:
        """Return the device's base URL."""
        return self._base_url

    async def close(self) -> None:
        """Close the session if this client created it."""
        if self.session is not None and self._close_session:
            await self.session.close()
            self.session = None
            self._close_session = False

    async def __aenter__(self) -> Self:
        """Return the client."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the session if this client created it."""
        await self.close()

    def _session(self) -> aiohttp.ClientSession:
        """Return the session, creating one on first use if none was given."""
        if self.session is None:
            self.session = aiohttp.ClientSession()
            self._close_session = True
        return self.session

    @asynccontextmanager
    async def _open(
        self,
        method: str,
        url: URL,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        client_timeout: aiohttp.ClientTimeout,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send a request, answering Digest challenges; yield the response.

        A 401 that brings a new nonce (the old one went stale, or none was
        sent yet) is answered once more; a 401 for a nonce just answered means
        the credentials are wrong. A lockout is raised at once, because every
        further attempt lengthens it.
        """
        session = self._session()
        retried = False
        while True:
            headers = {hdrs.CONTENT_TYPE: content_type} if content_type else {}
            sent = self._digest.authorization(method, url.raw_path_qs)
            sent_nonce = None
            if sent is not None and self._digest.challenge is not None:
                headers[hdrs.AUTHORIZATION] = sent
                sent_nonce = self._digest.challenge.params["nonce"]
            with _connection_errors():
                response = await session.request(
                    method,
                    url,
                    data=body,
                    headers=headers,
                    timeout=client_timeout,
                    ssl=self._ssl,
                    allow_redirects=False,
                )
            if response.status != 401:
                break
            with _connection_errors():
                refusal = await response.read()
            response.release()
            check = parse_user_check(refusal)
            if check is not None and check.locked:
                raise IsapiLockedError(check.unlock_in)
            challenge = select_digest(
                challenge
                for header in response.headers.getall(hdrs.WWW_AUTHENTICATE, [])
                for challenge in parse_challenges(header)
            )
            if challenge is None:
                raise IsapiAuthError(
                    "The device offers no Digest challenge this client can answer "
                    "(Basic is never used)",
                    attempts_left=check.attempts_left if check else None,
                )
            # Compare with the nonce this request answered: another request may
            # have adopted a newer challenge meanwhile.
            fresh = (
                sent_nonce is None
                or challenge.stale
                or challenge.params["nonce"] != sent_nonce
            )
            self._digest.update(challenge)
            if retried or not fresh:
                # The answer to a fresh nonce was refused: wrong credentials.
                # The next call starts without credentials, so a wrong
                # password costs one failed login per call, not two.
                self._digest.forget()
                raise auth_error(refusal)
            retried = True
        try:
            yield response
        finally:
            response.release()

    def _url(self, path: str, query: Mapping[str, str] | None = None) -> URL:
        """Return the URL of a path on the device."""
        url = self._base_url.with_path(path)
        return url.with_query(query) if query else url

    async def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        url: URL | None = None,
    ) -> _Reply:
        """Run one request and return its reply, or raise the matching error."""
        async with self._open(
            method,
            url or self._url(path, query),
            body=body,
            content_type=content_type,
            client_timeout=aiohttp.ClientTimeout(total=self.request_timeout),
        ) as response:
            with _connection_errors():
                reply = _Reply(
                    response.status, response.content_type, await response.read()
                )
        _raise_for_reply(reply, what)
        return reply

    async def _call_json(
        self,
        method: str,
        path: str,
        what: str,
        data: Mapping[str, Any] | None = None,
        *,
        query: Mapping[str, str] = JSON_QUERY,
    ) -> JsonObject:
        """Run one JSON request and return the decoded JSON answer."""
        reply = await self._call(
            method,
            path,
            what,
            query=query,
            body=_json_body(data) if data is not None else None,
            content_type="application/json" if data is not None else None,
        )
        if not looks_like_json(reply.body):
            # Some firmware answers a JSON request with an XML ResponseStatus,
            # which _call has already judged; an empty answer means done too.
            if not reply.body.strip() or parse_response_status(reply.body):
                return {}
            raise IsapiInvalidResponseError(f"{what}: the device did not answer JSON")
        return parse_json(reply.body)

    async def get_device_info(self) -> DeviceInfo:
        """Return the device's model, serial number, MAC address and firmware."""
        reply = await self._call("GET", DEVICE_INFO_PATH, "Reading the device info")
        return DeviceInfo.from_xml(reply.body)

    async def control_door(self, door: int, command: DoorCommand) -> None:
        """Open, close, hold open or hold closed a door (numbered from 1)."""
        if door < 1:
            raise ValueError("doors are numbered from 1")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<RemoteControlDoor version="2.0" xmlns="{ISAPI_NAMESPACE}">'
            f"<cmd>{DoorCommand(command).value}</cmd></RemoteControlDoor>"
        )
        await self._call(
            "PUT",
            REMOTE_CONTROL_DOOR_PATH.format(door=door),
            f"Door {door} {command}",
            body=body.encode(),
            content_type="application/xml",
        )

    async def get_door_status(self) -> list[DoorStatus]:
        """Return the lock, contact and mode of every door."""
        data = await self._call_json("GET", WORK_STATUS_PATH, "Reading the door status")
        return DoorStatus.list_from_json(data)

    async def add_person(self, person: Person) -> None:
        """Enrol a person; IsapiAlreadyExistsError if the number is taken."""
        await self._call_json(
            "POST",
            USER_RECORD_PATH,
            f"Adding person {person.employee_no}",
            person.to_json(),
        )

    async def modify_person(self, person: Person) -> None:
        """Change an enrolled person; IsapiNotFoundError if there is none."""
        await self._call_json(
            "PUT",
            USER_MODIFY_PATH,
            f"Changing person {person.employee_no}",
            person.to_json(),
        )

    async def search_persons(
        self, employee_nos: Iterable[str] | None = None
    ) -> list[Person]:
        """Return the enrolled persons, all of them or those with these numbers."""
        if employee_nos is None:
            return await self._search_person_pages(None)
        numbers = list(dict.fromkeys(employee_nos))
        persons: list[Person] = []
        for chunk in batched(numbers, PAGE_SIZE, strict=False):
            persons += await self._search_person_pages(chunk)
        return persons

    async def _search_person_pages(
        self, employee_nos: tuple[str, ...] | None
    ) -> list[Person]:
        """Page through one UserInfo search."""
        condition: JsonObject = {
            "searchID": uuid4().hex,
            "searchResultPosition": 0,
            "maxResults": PAGE_SIZE,
        }
        if employee_nos is not None:
            condition["EmployeeNoList"] = [
                {"employeeNo": number} for number in employee_nos
            ]
        persons: list[Person] = []
        async for page in self._pages(
            USER_SEARCH_PATH,
            "Searching persons",
            "UserInfoSearchCond",
            "UserInfoSearch",
            condition,
        ):
            persons += (
                Person.from_json(item)
                for item in as_list(page.get("UserInfo"))
                if isinstance(item, dict)
            )
        return persons

    async def _pages(
        self,
        path: str,
        what: str,
        condition_key: str,
        answer_key: str,
        condition: JsonObject,
    ) -> AsyncIterator[JsonObject]:
        """Yield the answer object of every page of a paged ISAPI search."""
        position = 0
        for _ in range(MAX_PAGES):
            condition["searchResultPosition"] = position
            data = await self._call_json("POST", path, what, {condition_key: condition})
            page = as_object(data.get(answer_key))
            yield page
            matches = as_int(page.get("numOfMatches")) or 0
            total = as_int(page.get("totalMatches"))
            position += matches
            if (
                (as_str(page.get("responseStatusStrg")) or "").upper() != "MORE"
                or matches <= 0
                or (total is not None and position >= total)
            ):
                return
        raise IsapiInvalidResponseError(f"{what}: the device never stopped saying MORE")

    async def delete_persons(self, employee_nos: Iterable[str]) -> None:
        """Remove persons (and their faces and cards) by employee number.

        Newer firmware deletes in the background (UserInfoDetail/Delete, then
        DeleteProcess is polled); older firmware only has UserInfo/Delete. The
        variant that works is remembered.
        """
        numbers = list(dict.fromkeys(employee_nos))
        for chunk in batched(numbers, PAGE_SIZE, strict=False):
            if self._delete_variant is not _DeleteVariant.LEGACY:
                try:
                    await self._delete_in_background(chunk)
                except IsapiNotSupportedError:
                    if self._delete_variant is _DeleteVariant.DETAIL:
                        raise
                    _LOGGER.debug(
                        "UserInfoDetail/Delete unsupported; using UserInfo/Delete"
                    )
                    self._delete_variant = _DeleteVariant.LEGACY
                else:
                    self._delete_variant = _DeleteVariant.DETAIL
                    continue
            await self._call_json(
                "PUT",
                USER_DELETE_PATH,
                "Deleting persons",
                {
                    "UserInfoDelCond": {
                        "EmployeeNoList": [{"employeeNo": number} for number in chunk]
                    }
                },
            )

    async def _delete_in_background(self, employee_nos: tuple[str, ...]) -> None:
        """Start a UserInfoDetail delete and wait until the device reports it done."""
        await self._call_json(
            "PUT",
            USER_DETAIL_DELETE_PATH,
            "Deleting persons",
            {
                "UserInfoDetail": {
                    "mode": "byEmployeeNo",
                    "EmployeeNoList": [
                        {"employeeNo": number} for number in employee_nos
                    ],
                }
            },
        )
        for _ in range(self.delete_poll_limit):
            try:
                data = await self._call_json(
                    "GET", USER_DETAIL_PROCESS_PATH, "Reading the delete progress"
                )
            except IsapiNotSupportedError:
                # Firmware without a progress endpoint deletes synchronously.
                return
            progress = as_object(data.get("UserInfoDetailDeleteProcess"))
            status = (as_str(progress.get("status")) or "").lower()
            if status == "success":
                return
            if status == "failed":
                raise IsapiResponseError("The device failed to delete the persons")
            await asyncio.sleep(self.delete_poll_interval)
        raise IsapiResponseError(
            f"The device did not finish deleting persons after {self.delete_poll_limit} checks"
        )

    async def upload_face(
        self, employee_no: str, jpeg: bytes, *, replace: bool = False
    ) -> None:
        """Store an enrolled person's face picture (a JPEG).

        With ``replace`` the upsert endpoint (FDSetUp) is used, so an existing
        face is overwritten instead of refused with IsapiAlreadyExistsError.
        """
        if not jpeg.startswith(JPEG_MAGIC):
            raise ValueError("the face picture must be a JPEG")
        boundary = f"isapi-{uuid4().hex}"
        record = _json_body(
            {"faceLibType": FACE_LIB_TYPE, "FDID": FACE_LIB_ID, "FPID": employee_no}
        )
        body = b"".join(
            (
                f"--{boundary}\r\n".encode(),
                b'Content-Disposition: form-data; name="FaceDataRecord"\r\n',
                b"Content-Type: application/json\r\n",
                f"Content-Length: {len(record)}\r\n\r\n".encode(),
                record,
                f"\r\n--{boundary}\r\n".encode(),
                b'Content-Disposition: form-data; name="FaceImage"; filename="face.jpg"\r\n',
                b"Content-Type: image/jpeg\r\n",
                f"Content-Length: {len(jpeg)}\r\n\r\n".encode(),
                jpeg,
                f"\r\n--{boundary}--\r\n".encode(),
            )
        )
        await self._call(
            "PUT" if replace else "POST",
            FACE_SETUP_PATH if replace else FACE_RECORD_PATH,
            f"Uploading the face of {employee_no}",
            query=JSON_QUERY,
            body=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )

    async def delete_face(self, employee_no: str) -> None:
        """Remove a person's face picture, keeping the person."""
        await self._call_json(
            "PUT",
            FACE_DELETE_PATH,
            f"Deleting the face of {employee_no}",
            {"FPID": [{"value": employee_no}]},
            query={**JSON_QUERY, "FDID": FACE_LIB_ID, "faceLibType": FACE_LIB_TYPE},
        )

    async def search_events(
        self,
        start: datetime,
        end: datetime,
        *,
        after_serial: int | None = None,
    ) -> list[AccessEvent]:
        """Return the logged events between two aware times, oldest serial first.

        With ``after_serial`` only events with a larger serial number are
        returned. Logged events are never live.
        """
        condition: JsonObject = {
            "searchID": uuid4().hex,
            "searchResultPosition": 0,
            "maxResults": PAGE_SIZE,
            "major": 0,
            "minor": 0,
            "startTime": format_time(start),
            "endTime": format_time(end),
        }
        events: list[AccessEvent] = []
        async for page in self._pages(
            ACS_EVENT_PATH, "Searching events", "AcsEventCond", "AcsEvent", condition
        ):
            events += (
                AccessEvent.from_log_json(item, self.time_zone)
                for item in as_list(page.get("InfoList"))
                if isinstance(item, dict)
            )
        if after_serial is not None:
            events = [
                event
                for event in events
                if event.serial_no is not None and event.serial_no > after_serial
            ]
        return sorted(
            events,
            key=lambda event: (event.serial_no is None, event.serial_no or 0),
        )

    async def snapshot(self, channel: int = 101) -> bytes:
        """Return a JPEG from the terminal's camera (channel 101 is the main one)."""
        reply = await self._call(
            "GET", PICTURE_PATH.format(channel=channel), "Taking a snapshot"
        )
        return self._picture(reply)

    async def download_picture(self, picture_url: str) -> bytes:
        """Return the picture an event or person points to (pictureURL, faceURL).

        Only the path is taken from the URL: the request goes to this device,
        so credentials never go to a host named inside a payload.
        """
        target = URL(picture_url)
        url = self._base_url.with_path(target.raw_path, encoded=True)
        if target.raw_query_string:
            url = url.with_query(target.raw_query_string)
        reply = await self._call("GET", "", "Downloading a picture", url=url)
        return self._picture(reply)

    @staticmethod
    def _picture(reply: _Reply) -> bytes:
        """Return a reply's picture, or raise if it is not one."""
        if reply.content_type.startswith("image/") or reply.body.startswith(JPEG_MAGIC):
            return reply.body
        if looks_like_xml(reply.body) or looks_like_json(reply.body):
            raise response_error(
                parse_response_status(reply.body), reply.status, "No picture"
            )
        raise IsapiInvalidResponseError(
            f"Expected a picture, the device sent {reply.content_type or 'no type'}"
        )

    @asynccontextmanager
    async def alert_stream(
        self, *, idle_timeout: float | None = None
    ) -> AsyncIterator[AlertStream]:
        """Open the alert stream; iterate what this yields for events.

        Raises IsapiStreamBusyError when the device answers 404, which it does
        while it still holds the previous connection's slot. ``idle_timeout``
        closes the stream after that many seconds without data.
        """
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.request_timeout, sock_read=idle_timeout
        )
        async with self._open(
            "GET", self._url(ALERT_STREAM_PATH), client_timeout=timeout
        ) as response:
            if response.status == 404:
                raise IsapiStreamBusyError(
                    "The device answered 404: the previous alert stream still holds its slot"
                )
            if response.status >= 300:
                with _connection_errors():
                    body = await response.read()
                _raise_for_reply(
                    _Reply(response.status, response.content_type, body),
                    "Opening the alert stream",
                )
                # A redirect: terminals never send one, and the stream is not followed.
                raise IsapiResponseError(
                    "Opening the alert stream failed", http_status=response.status
                )
            content_type = response.headers.get(hdrs.CONTENT_TYPE, "")
            boundary = boundary_from_content_type(content_type)
            if not content_type.lower().startswith("multipart/") or boundary is None:
                raise IsapiInvalidResponseError(
                    f"The alert stream is not multipart: {content_type or 'no type'}"
                )
            try:
                yield AlertStream(response, boundary, self.time_zone)
            finally:
                # Close rather than release: the device frees the stream slot
                # only when the connection goes away.
                response.close()

    async def stream_events(
        self, *, idle_timeout: float | None = None
    ) -> AsyncGenerator[AccessEvent]:
        """Yield alert stream events, heartbeats and replayed history included.

        Replayed history comes first with ``live`` False. The iteration ends
        by raising IsapiStreamClosedError (or IsapiStreamBusyError on connect).
        Close the iterator (``contextlib.aclosing``) to drop the connection.
        """
        async with self.alert_stream(idle_timeout=idle_timeout) as stream:
            async for event in stream:
                yield event

    async def listen(
        self,
        callback: EventCallback,
        *,
        last_serial: int | None = None,
        last_time: datetime | None = None,
        on_connect: Callable[[], None] | None = None,
        on_disconnect: Callable[[IsapiError], None] | None = None,
    ) -> NoReturn:
        """Deliver every access event once, reconnecting for ever; see EventSubscription."""
        subscription = EventSubscription(
            client=self,
            callback=callback,
            last_serial=last_serial,
            last_time=last_time,
            on_connect=on_connect,
            on_disconnect=on_disconnect,
        )
        await subscription.run()
