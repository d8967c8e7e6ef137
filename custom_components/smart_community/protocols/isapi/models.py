"""Define the typed records the ISAPI client returns and sends."""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from enum import IntEnum, StrEnum
from typing import Any, Final, Self

from .errors import IsapiInvalidResponseError
from .payloads import (
    JsonObject,
    as_int,
    as_list,
    as_object,
    as_str,
    local_name,
    parse_xml,
    xml_text,
)

# Hikvision writes validity windows as local wall-clock times with this format.
_LOCAL_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S"
_DEFAULT_VALID_BEGIN: Final = datetime(2000, 1, 1)
_DEFAULT_VALID_END: Final = datetime(2037, 12, 31, 23, 59, 59)


class EventKind(StrEnum):
    """Name what an access-control event means for the integration."""

    FACE_RECOGNIZED = "face_recognized"
    FACE_FAILED = "face_failed"
    STRANGER = "stranger"
    LOCK_OPENED = "lock_opened"
    LOCK_CLOSED = "lock_closed"
    DOOR_OPENED = "door_opened"
    DOOR_CLOSED = "door_closed"
    DOOR_FORCED = "door_forced"
    REMOTE_OPEN = "remote_open"
    HEARTBEAT = "heartbeat"
    OTHER = "other"


MAJOR_ALARM: Final = 0x1
MAJOR_EXCEPTION: Final = 0x2
MAJOR_OPERATION: Final = 0x3
MAJOR_EVENT: Final = 0x5

# Hikvision access-control (major, minor) codes and what they mean here. The
# values are the HCNetSDK MAJOR_*/MINOR_* constants, read from the tables in
# Supergiovane/node-red-contrib-hikvision-ultimate (MIT),
# nodes/utils/AccessControlEvents/MAJOR_EVENT-0x5.json and MAJOR_OPERATION-0x3.json,
# and cross-checked against HCNetSDK constant files (CHCNetSDK.cs and
# HCNetSDK.java copies) found by searching for MINOR_FACE_VERIFY_PASS and
# MINOR_DOOR_OPEN_ABNORMAL. Major 1 (alarm) only has zone, tamper and fire-input
# codes there; a door forced open is the event 5/0x1b, not an alarm.
EVENT_KINDS: Final[Mapping[tuple[int, int], EventKind]] = {
    (MAJOR_EVENT, 0x4B): EventKind.FACE_RECOGNIZED,  # MINOR_FACE_VERIFY_PASS
    (
        MAJOR_EVENT,
        0x4D,
    ): EventKind.FACE_RECOGNIZED,  # MINOR_EMPLOYEENO_AND_FACE_VERIFY_PASS
    (MAJOR_EVENT, 0x4C): EventKind.FACE_FAILED,  # MINOR_FACE_VERIFY_FAIL
    (MAJOR_EVENT, 0x4E): EventKind.FACE_FAILED,  # MINOR_EMPLOYEENO_AND_FACE_VERIFY_FAIL
    (MAJOR_EVENT, 0x50): EventKind.STRANGER,  # MINOR_FACE_RECOGNIZE_FAIL
    (MAJOR_EVENT, 0x15): EventKind.LOCK_OPENED,  # MINOR_LOCK_OPEN
    (MAJOR_EVENT, 0x16): EventKind.LOCK_CLOSED,  # MINOR_LOCK_CLOSE
    (MAJOR_EVENT, 0x19): EventKind.DOOR_OPENED,  # MINOR_DOOR_OPEN_NORMAL (contact)
    (MAJOR_EVENT, 0x1A): EventKind.DOOR_CLOSED,  # MINOR_DOOR_CLOSE_NORMAL (contact)
    (MAJOR_EVENT, 0x1B): EventKind.DOOR_FORCED,  # MINOR_DOOR_OPEN_ABNORMAL (contact)
    (MAJOR_OPERATION, 0x400): EventKind.REMOTE_OPEN,  # MINOR_REMOTE_OPEN_DOOR
}


def event_kind(major: int, minor: int) -> EventKind:
    """Return what a Hikvision (major, minor) event code means."""
    return EVENT_KINDS.get((major, minor), EventKind.OTHER)


class DoorCommand(StrEnum):
    """Name the commands of RemoteControl/door."""

    OPEN = "open"
    CLOSE = "close"
    ALWAYS_OPEN = "alwaysOpen"
    ALWAYS_CLOSE = "alwaysClose"


class LockState(IntEnum):
    """Give the relay state of AcsWorkStatus ``doorLockStatus``."""

    LOCKED = 0  # relay normally closed
    UNLOCKED = 1  # relay open
    SHORT_CIRCUIT = 2
    BROKEN_CIRCUIT = 3
    FAULT = 4


class ContactState(IntEnum):
    """Give the door contact state of AcsWorkStatus ``magneticStatus``."""

    CLOSED = 0
    OPEN = 1
    SHORT_CIRCUIT = 2
    BROKEN_CIRCUIT = 3
    FAULT = 4


class DoorMode(IntEnum):
    """Give the door control mode of AcsWorkStatus ``doorStatus``."""

    SLEEP = 1
    ALWAYS_OPEN = 2
    ALWAYS_CLOSED = 3
    NORMAL = 4


def _enum_or_none[E: IntEnum](enum: type[E], value: object) -> E | None:
    """Return the member of an IntEnum for a value, or None if it has none."""
    number = as_int(value)
    try:
        return enum(number) if number is not None else None
    except ValueError:
        return None


def _parse_time(text: str | None, default_tz: tzinfo | None) -> datetime | None:
    """Parse an ISAPI time; a time without offset gets default_tz."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None and default_tz is not None:
        moment = moment.replace(tzinfo=default_tz)
    return moment


def format_time(moment: datetime) -> str:
    """Format an aware datetime as ISAPI expects: seconds and a UTC offset."""
    if moment.tzinfo is None:
        raise ValueError("ISAPI search times must be timezone-aware")
    return moment.isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    """Describe a device as /ISAPI/System/deviceInfo reports it."""

    model: str
    serial_number: str
    mac_address: str
    firmware_version: str
    device_name: str | None = None
    device_type: str | None = None

    @classmethod
    def from_xml(cls, body: bytes) -> Self:
        """Parse a DeviceInfo XML document."""
        root = parse_xml(body)
        if local_name(root.tag) != "DeviceInfo":
            raise IsapiInvalidResponseError(
                f"Expected DeviceInfo, the device sent {local_name(root.tag)}"
            )
        serial = xml_text(root, "serialNumber")
        if not serial:
            raise IsapiInvalidResponseError("DeviceInfo has no serialNumber")
        firmware = xml_text(root, "firmwareVersion") or ""
        if build := xml_text(root, "firmwareReleasedDate"):
            firmware = f"{firmware} {build}".strip()
        return cls(
            model=xml_text(root, "model") or "",
            serial_number=serial,
            mac_address=(xml_text(root, "macAddress") or "").lower(),
            firmware_version=firmware,
            device_name=xml_text(root, "deviceName") or None,
            device_type=xml_text(root, "deviceType") or None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DoorStatus:
    """Give the lock, contact and mode of one door (numbered from 1).

    A field is None when the device does not report it or reports a value
    outside the documented ones.
    """

    door: int
    lock: LockState | None
    contact: ContactState | None
    mode: DoorMode | None

    @property
    def is_locked(self) -> bool | None:
        """Tell whether the lock relay is locked, or None if unknown or faulty."""
        if self.lock is LockState.LOCKED:
            return True
        if self.lock is LockState.UNLOCKED:
            return False
        return None

    @property
    def is_open(self) -> bool | None:
        """Tell whether the door contact reports open, or None if unknown or faulty."""
        if self.contact is ContactState.OPEN:
            return True
        if self.contact is ContactState.CLOSED:
            return False
        return None

    @classmethod
    def list_from_json(cls, data: JsonObject) -> list[Self]:
        """Parse AcsWorkStatus JSON into one status per door."""
        status = as_object(data.get("AcsWorkStatus"))
        if not status:
            raise IsapiInvalidResponseError("The answer has no AcsWorkStatus")
        locks = as_list(status.get("doorLockStatus"))
        contacts = as_list(status.get("magneticStatus"))
        modes = as_list(status.get("doorStatus"))
        count = max(len(locks), len(contacts), len(modes))

        def at(values: list[Any], index: int) -> object:
            """Return values[index], or None past its end."""
            return values[index] if index < len(values) else None

        return [
            cls(
                door=index + 1,
                lock=_enum_or_none(LockState, at(locks, index)),
                contact=_enum_or_none(ContactState, at(contacts, index)),
                mode=_enum_or_none(DoorMode, at(modes, index)),
            )
            for index in range(count)
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """Describe a person enrolled on a terminal (UserInfo).

    Validity times are the terminal's local wall-clock time and must be naive;
    None means no limit. ``door_right`` lists the doors the person may open.
    ``num_of_face`` and ``face_url`` are read from the terminal and never sent.
    """

    employee_no: str
    name: str
    user_type: str = "normal"
    valid_begin: datetime | None = None
    valid_end: datetime | None = None
    door_right: tuple[int, ...] = (1,)
    num_of_face: int = 0
    face_url: str | None = None

    def __post_init__(self) -> None:
        """Refuse values the terminal cannot store."""
        if not self.employee_no or len(self.employee_no) > 32:
            raise ValueError("employee_no must have 1 to 32 characters")
        for moment in (self.valid_begin, self.valid_end):
            if moment is not None and moment.tzinfo is not None:
                raise ValueError(
                    "validity times are the terminal's local time and must be naive"
                )
        if not self.door_right or any(door < 1 for door in self.door_right):
            raise ValueError("door_right must list door numbers from 1")

    def to_json(self) -> JsonObject:
        """Return the UserInfo body for Record and Modify."""
        limited = self.valid_begin is not None or self.valid_end is not None
        begin = self.valid_begin or _DEFAULT_VALID_BEGIN
        end = self.valid_end or _DEFAULT_VALID_END
        return {
            "UserInfo": {
                "employeeNo": self.employee_no,
                "name": self.name,
                "userType": self.user_type,
                "Valid": {
                    "enable": limited,
                    "beginTime": begin.strftime(_LOCAL_TIME_FORMAT),
                    "endTime": end.strftime(_LOCAL_TIME_FORMAT),
                    "timeType": "local",
                },
                "doorRight": ",".join(str(door) for door in self.door_right),
                "RightPlan": [
                    {"doorNo": door, "planTemplateNo": "1"} for door in self.door_right
                ],
            }
        }

    @classmethod
    def from_json(cls, data: JsonObject) -> Self:
        """Parse one UserInfo object of a search answer."""
        employee_no = as_str(data.get("employeeNo"))
        if employee_no is None:
            raise IsapiInvalidResponseError("A UserInfo has no employeeNo")
        valid = as_object(data.get("Valid"))
        begin = end = None
        if valid.get("enable") is True:
            begin = _parse_time(as_str(valid.get("beginTime")), None)
            end = _parse_time(as_str(valid.get("endTime")), None)
        doors = tuple(
            door
            for part in (as_str(data.get("doorRight")) or "").split(",")
            if (door := as_int(part)) is not None and door >= 1
        )
        return cls(
            employee_no=employee_no,
            name=as_str(data.get("name")) or "",
            user_type=as_str(data.get("userType")) or "normal",
            # Some firmware writes the window with an offset: keep the wall clock.
            valid_begin=begin.replace(tzinfo=None) if begin else None,
            valid_end=end.replace(tzinfo=None) if end else None,
            door_right=doors or (1,),
            num_of_face=as_int(data.get("numOfFace")) or 0,
            face_url=as_str(data.get("faceURL")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessEvent:
    """Describe one access-control event from the alert stream or the event log.

    ``live`` is True only for events the stream flags ``currentEvent: true``;
    replayed history and log searches are never live. ``reconciled`` marks
    events that were missed while disconnected and recovered from the log
    (see EventSubscription). Heartbeats have kind HEARTBEAT and no serial.
    """

    kind: EventKind
    major: int = 0
    minor: int = 0
    time: datetime | None = None
    serial_no: int | None = None
    employee_no: str | None = None
    name: str | None = None
    door_no: int | None = None
    card_reader_no: int | None = None
    verify_mode: str | None = None
    user_type: str | None = None
    picture_url: str | None = None
    live: bool = False
    reconciled: bool = False

    def as_reconciled(self) -> Self:
        """Return a copy flagged as recovered from history, never live."""
        return replace(self, live=False, reconciled=True)

    @classmethod
    def heartbeat(cls, time: datetime | None = None) -> Self:
        """Return a heartbeat."""
        return cls(kind=EventKind.HEARTBEAT, time=time)

    @classmethod
    def _from_fields(
        cls,
        fields: JsonObject,
        *,
        major_key: str,
        minor_key: str,
        time: datetime | None,
        live: bool,
    ) -> Self:
        """Build an event from the fields the stream and the log share."""
        major = as_int(fields.get(major_key)) or 0
        minor = as_int(fields.get(minor_key)) or 0
        return cls(
            kind=event_kind(major, minor),
            major=major,
            minor=minor,
            time=time,
            serial_no=as_int(fields.get("serialNo")),
            # Older firmware has only the numeric employeeNo.
            employee_no=as_str(fields.get("employeeNoString"))
            or as_str(fields.get("employeeNo")),
            name=as_str(fields.get("name")),
            door_no=as_int(fields.get("doorNo")),
            card_reader_no=as_int(fields.get("cardReaderNo")),
            verify_mode=as_str(fields.get("currentVerifyMode")),
            user_type=as_str(fields.get("userType")),
            picture_url=as_str(fields.get("pictureURL")),
            live=live,
        )

    @classmethod
    def from_stream_json(cls, data: JsonObject, default_tz: tzinfo | None) -> Self:
        """Parse one JSON part of the alert stream."""
        time = _parse_time(as_str(data.get("dateTime")), default_tz)
        event_type = (as_str(data.get("eventType")) or "").lower()
        state = (as_str(data.get("eventState")) or "").lower()
        # Terminals send heartBeat parts; cameras send videoloss while inactive.
        if event_type == "heartbeat" or (
            event_type == "videoloss" and state == "inactive"
        ):
            return cls.heartbeat(time)
        fields = as_object(data.get("AccessControllerEvent"))
        if not fields:
            return cls(kind=EventKind.OTHER, time=time)
        return cls._from_fields(
            fields,
            major_key="majorEventType",
            minor_key="subEventType",
            time=time,
            live=fields.get("currentEvent") is True,
        )

    @classmethod
    def from_stream_xml(cls, body: bytes, default_tz: tzinfo | None) -> Self:
        """Parse one XML part of the alert stream (an EventNotificationAlert)."""
        root = parse_xml(body)
        time = _parse_time(xml_text(root, "dateTime"), default_tz)
        event_type = (xml_text(root, "eventType") or "").lower()
        state = (xml_text(root, "eventState") or "").lower()
        if event_type == "heartbeat" or (
            event_type == "videoloss" and state == "inactive"
        ):
            return cls.heartbeat(time)
        return cls(kind=EventKind.OTHER, time=time)

    @classmethod
    def from_log_json(cls, data: JsonObject, default_tz: tzinfo | None) -> Self:
        """Parse one InfoList entry of an AcsEvent search."""
        return cls._from_fields(
            data,
            major_key="major",
            minor_key="minor",
            time=_parse_time(as_str(data.get("time")), default_tz),
            live=False,
        )
