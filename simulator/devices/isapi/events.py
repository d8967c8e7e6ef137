"""Keep the terminal's access-control event log and render its two wire shapes.

Event codes are Hikvision's major/minor pairs. Sources: the access-control event
tables of the HCNetSDK "Card-Based Access Control" developer guide (the
``MAJOR_EVENT`` / ``MAJOR_OPERATION`` minor types) and the same values in
node-red-contrib-hikvision-ultimate ``nodes/utils/AccessControlEvents/*.json``
(MIT), as summarised in shared/notes/protocols.md §1.1.

The alertStream calls the codes ``majorEventType``/``subEventType`` and the time
``dateTime``; the ``AcsEvent`` search calls them ``major``/``minor``/``time``.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Final, NamedTuple, TypedDict, Unpack

from simulator.devices.isapi.jsonbody import (
    bad_field,
    int_field,
    optional_text,
    require_object,
    required_text,
    time_field,
)
from simulator.jsonvalue import JSONObject

# Chinese terminals run on Beijing time and say so in every timestamp.
TERMINAL_TIMEZONE: Final = timezone(timedelta(hours=8))

MAJOR_ALARM: Final = 0x1
MAJOR_EXCEPTION: Final = 0x2
MAJOR_OPERATION: Final = 0x3
MAJOR_EVENT: Final = 0x5
_MAJORS: Final = frozenset({MAJOR_ALARM, MAJOR_EXCEPTION, MAJOR_OPERATION, MAJOR_EVENT})

# Real terminals keep 100 000+ events; this bounds the simulator's memory alike.
MAX_LOG_EVENTS: Final = 100_000
# The AcsEvent search answers at most this many events per page.
MAX_SEARCH_RESULTS: Final = 30


class EventCode(NamedTuple):
    """Identify an event kind by its major and minor type."""

    major: int
    minor: int


# MAJOR_OPERATION minor types (SDK: MINOR_REMOTE_OPEN_DOOR 0x400 and following).
REMOTE_OPEN: Final = EventCode(MAJOR_OPERATION, 0x400)
REMOTE_CLOSE: Final = EventCode(MAJOR_OPERATION, 0x401)
REMOTE_ALWAYS_OPEN: Final = EventCode(MAJOR_OPERATION, 0x402)
REMOTE_ALWAYS_CLOSE: Final = EventCode(MAJOR_OPERATION, 0x403)
# MAJOR_EVENT minor types.
REMAIN_OPEN_STARTED: Final = EventCode(MAJOR_EVENT, 0x13)  # MINOR_ALWAYS_OPEN_BEGIN
REMAIN_OPEN_ENDED: Final = EventCode(MAJOR_EVENT, 0x14)  # MINOR_ALWAYS_OPEN_END
LOCK_OPENED: Final = EventCode(MAJOR_EVENT, 0x15)  # MINOR_LOCK_OPEN
LOCK_CLOSED: Final = EventCode(MAJOR_EVENT, 0x16)  # MINOR_LOCK_CLOSE
DOOR_CLOSED: Final = EventCode(MAJOR_EVENT, 0x1A)  # MINOR_DOOR_CLOSE_NORMAL (contact)
DOOR_FORCED: Final = EventCode(MAJOR_EVENT, 0x1B)  # MINOR_DOOR_OPEN_ABNORMAL
REMAIN_CLOSED_STARTED: Final = EventCode(MAJOR_EVENT, 0x1F)  # MINOR_ALWAYS_CLOSE_BEGIN
REMAIN_CLOSED_ENDED: Final = EventCode(MAJOR_EVENT, 0x20)  # MINOR_ALWAYS_CLOSE_END
FACE_PASSED: Final = EventCode(MAJOR_EVENT, 0x4B)  # MINOR_FACE_VERIFY_PASS (75)
FACE_FAILED: Final = EventCode(MAJOR_EVENT, 0x4C)  # MINOR_FACE_VERIFY_FAIL (76)
# MINOR_FACE_RECOGNIZE_FAIL (80): a face that matches nobody, i.e. a stranger.
STRANGER: Final = EventCode(MAJOR_EVENT, 0x50)
# MINOR_DOOR_OPEN_OR_DORMANT_FAIL: verified, but the door is held closed.
DOOR_HELD_CLOSED_REFUSED: Final = EventCode(MAJOR_EVENT, 0x75)

# The verification mode the terminal reports for face events.
VERIFY_MODE_FACE: Final = "face"


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """Record one entry of the terminal's event log."""

    serial: int
    code: EventCode
    time: datetime
    door_no: int | None = None
    # Set for events about a known person.
    employee_no: str | None = None
    name: str | None = None
    user_type: str | None = None
    # Set for verification events (a face was shown at the reader).
    verify_mode: str | None = None
    card_reader_no: int | None = None
    # Set for remote operations: who sent the command.
    remote_host: str | None = None
    # Verification events carry a captured picture the client may fetch.
    has_picture: bool = False


class EventFields(TypedDict, total=False):
    """Name the optional facts of an event, as ``EventLog.record`` takes them."""

    door_no: int
    employee_no: str
    name: str
    user_type: str
    verify_mode: str
    card_reader_no: int
    remote_host: str
    has_picture: bool


def terminal_now() -> datetime:
    """Return the terminal's clock: Beijing time, whole seconds."""
    return datetime.now(TERMINAL_TIMEZONE).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class TerminalIdentity:
    """Hold the facts every alertStream part repeats about the terminal."""

    device_name: str
    ip_address: str
    port: int
    mac_address: str


def isapi_time(moment: datetime) -> str:
    """Format a time as the terminal does: seconds, with its +08:00 offset."""
    return moment.astimezone(TERMINAL_TIMEZONE).isoformat(timespec="seconds")


def stream_body(
    event: AccessEvent, identity: TerminalIdentity, *, current: bool
) -> JSONObject:
    """Return the alertStream JSON of an event; ``current`` is False in the replay."""
    detail: JSONObject = {
        "deviceName": identity.device_name,
        "majorEventType": event.code.major,
        "subEventType": event.code.minor,
    }
    detail |= _person_fields(event)
    if event.card_reader_no is not None:
        detail["cardReaderNo"] = event.card_reader_no
    if event.door_no is not None:
        detail["doorNo"] = event.door_no
    if event.verify_mode is not None:
        detail["currentVerifyMode"] = event.verify_mode
    if event.remote_host is not None:
        detail["remoteHostAddr"] = event.remote_host
    detail |= {
        "serialNo": event.serial,
        "currentEvent": current,
        "frontSerialNo": event.serial - 1,
        "mask": "no",
        # Pictures would follow as image/jpeg parts; this terminal sends none.
        "picturesNumber": 0,
    }
    return {
        "ipAddress": identity.ip_address,
        "portNo": identity.port,
        "protocol": "HTTP",
        "macAddress": identity.mac_address,
        "channelID": 1,
        "dateTime": isapi_time(event.time),
        "activePostCount": 1,
        "eventType": "AccessControllerEvent",
        "eventState": "active",
        "eventDescription": "Access Controller Event",
        "AccessControllerEvent": detail,
    }


def heartbeat_body(identity: TerminalIdentity, moment: datetime) -> JSONObject:
    """Return the alertStream keep-alive part.

    Access terminals send an inactive ``videoloss`` event as their heartbeat
    (shared/notes/protocols.md §1.2 and §7; DS-K1T captures seen in client tests).
    """
    return {
        "ipAddress": identity.ip_address,
        "portNo": identity.port,
        "protocol": "HTTP",
        "macAddress": identity.mac_address,
        "channelID": 1,
        "dateTime": isapi_time(moment),
        "activePostCount": 0,
        "eventType": "videoloss",
        "eventState": "inactive",
        "eventDescription": "videoloss alarm",
    }


def search_item(event: AccessEvent, picture_base_url: str) -> JSONObject:
    """Return an event as one ``AcsEvent.InfoList`` entry."""
    item: JSONObject = {
        "major": event.code.major,
        "minor": event.code.minor,
        "time": isapi_time(event.time),
    }
    if event.card_reader_no is not None:
        item["cardReaderNo"] = event.card_reader_no
    if event.door_no is not None:
        item["doorNo"] = event.door_no
    item |= _person_fields(event)
    if event.verify_mode is not None:
        item["currentVerifyMode"] = event.verify_mode
    if event.remote_host is not None:
        item["remoteHostAddr"] = event.remote_host
    item["serialNo"] = event.serial
    item["mask"] = "no"
    if event.has_picture:
        item["pictureURL"] = f"{picture_base_url}/{event.serial}.jpg"
    return item


def _person_fields(event: AccessEvent) -> JSONObject:
    """Return the fields naming who the event is about, if anyone."""
    fields: JSONObject = {}
    if event.name is not None:
        fields["name"] = event.name
    if event.employee_no is not None:
        fields["employeeNoString"] = event.employee_no
    if event.user_type is not None:
        fields["userType"] = event.user_type
    return fields


@dataclass(frozen=True, slots=True)
class EventSearch:
    """Hold a parsed ``AcsEventCond``."""

    search_id: str
    position: int
    max_results: int
    # 0 means any major / any minor.
    major: int
    minor: int
    start: datetime | None
    end: datetime | None
    employee_no: str | None

    @classmethod
    def from_json(cls, document: object) -> EventSearch:
        """Validate an ``{"AcsEventCond": {...}}`` body; raise ``IsapiError`` if bad."""
        cond = require_object(document, "AcsEventCond")
        major = int_field(cond, "major", default=0)
        if major != 0 and major not in _MAJORS:
            raise bad_field("major")
        return cls(
            search_id=required_text(cond, "searchID"),
            position=int_field(cond, "searchResultPosition", default=0),
            max_results=int_field(cond, "maxResults", default=MAX_SEARCH_RESULTS),
            major=major,
            minor=int_field(cond, "minor", default=0),
            start=time_field(cond, "startTime", TERMINAL_TIMEZONE),
            end=time_field(cond, "endTime", TERMINAL_TIMEZONE),
            employee_no=optional_text(cond, "employeeNoString"),
        )

    def matches(self, event: AccessEvent) -> bool:
        """Say whether an event passes the condition's filters."""
        return (
            (self.major == 0 or event.code.major == self.major)
            and (self.minor == 0 or event.code.minor == self.minor)
            and (self.start is None or event.time >= self.start)
            and (self.end is None or event.time <= self.end)
            and (self.employee_no is None or event.employee_no == self.employee_no)
        )


class EventLog:
    """Number and keep the terminal's events; serial numbers never go back."""

    def __init__(self) -> None:
        """Start empty, with serial number 1 next."""
        self.events: list[AccessEvent] = []
        self.next_serial = 1

    @property
    def last_serial(self) -> int:
        """Return the serial number of the newest event (0 before the first)."""
        return self.next_serial - 1

    def record(self, code: EventCode, **fields: Unpack[EventFields]) -> AccessEvent:
        """Append an event stamped now with the next serial number and return it."""
        event = AccessEvent(
            serial=self.next_serial, code=code, time=terminal_now(), **fields
        )
        self.next_serial += 1
        self.events.append(event)
        if len(self.events) > MAX_LOG_EVENTS:
            del self.events[: len(self.events) - MAX_LOG_EVENTS]
        return event

    def newest(self, count: int) -> list[AccessEvent]:
        """Return up to ``count`` newest events, oldest first."""
        return self.events[-count:] if count > 0 else []

    def search(self, search: EventSearch, picture_base_url: str) -> JSONObject:
        """Answer an ``AcsEvent`` search: one page of matches, oldest first."""
        matches = [event for event in self.events if search.matches(event)]
        page_size = min(search.max_results, MAX_SEARCH_RESULTS)
        page = matches[search.position : search.position + page_size]
        result: JSONObject = {
            "searchID": search.search_id,
            "totalMatches": len(matches),
            "responseStatusStrg": paging_word(
                len(matches), search.position + len(page)
            ),
            "numOfMatches": len(page),
        }
        if page:
            result["InfoList"] = [
                search_item(event, picture_base_url) for event in page
            ]
        return {"AcsEvent": result}


def paging_word(total: int, answered_up_to: int) -> str:
    """Return ``responseStatusStrg`` for a page ending at ``answered_up_to``.

    Firmware answers MORE while matches remain, OK on the last page and
    NO MATCH when nothing matched at all.
    """
    if total == 0:
        return "NO MATCH"
    return "MORE" if answered_up_to < total else "OK"
