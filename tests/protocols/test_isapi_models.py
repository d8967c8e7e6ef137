"""Test the ISAPI records, event codes and payload decoding."""

from datetime import UTC, datetime, timedelta, timezone
import json

import pytest

from custom_components.smart_community.protocols.isapi import (
    EVENT_KINDS,
    AccessEvent,
    ContactState,
    DeviceInfo,
    DoorMode,
    DoorStatus,
    EventKind,
    IsapiAlreadyExistsError,
    IsapiAuthError,
    IsapiCapacityError,
    IsapiFaceRejectedError,
    IsapiInvalidResponseError,
    IsapiLockedError,
    IsapiNotFoundError,
    IsapiNotSupportedError,
    IsapiResponseError,
    LockState,
    Person,
    event_kind,
)
from custom_components.smart_community.protocols.isapi.models import format_time
from custom_components.smart_community.protocols.isapi.payloads import (
    as_int,
    as_list,
    as_str,
    auth_error,
    parse_json,
    parse_response_status,
    parse_user_check,
    parse_xml,
    response_error,
)

from .conftest import fixture_bytes

CST = timezone(timedelta(hours=8))


def test_device_info() -> None:
    """Read the identity fields of deviceInfo."""
    info = DeviceInfo.from_xml(fixture_bytes("device_info.xml"))
    assert info == DeviceInfo(
        model="DS-K1T341AMF",
        serial_number="DS-K1T341AMF20240101V031600ENG12345678",
        mac_address="ac:cb:51:12:34:56",
        firmware_version="V3.16.1 build 240528",
        device_name="1号楼 Entrance",
        device_type="ACS",
    )


def test_device_info_refusals() -> None:
    """Refuse other documents, a missing serial, a DOCTYPE and broken XML."""
    with pytest.raises(IsapiInvalidResponseError, match="Expected DeviceInfo"):
        DeviceInfo.from_xml(fixture_bytes("response_ok.xml"))
    with pytest.raises(IsapiInvalidResponseError, match="serialNumber"):
        DeviceInfo.from_xml(b"<DeviceInfo><model>x</model></DeviceInfo>")
    with pytest.raises(IsapiInvalidResponseError, match="DOCTYPE"):
        parse_xml(b'<!DOCTYPE x [<!ENTITY a "b">]><DeviceInfo>&a;</DeviceInfo>')
    with pytest.raises(IsapiInvalidResponseError, match="invalid XML"):
        parse_xml(b"<DeviceInfo>")
    minimal = DeviceInfo.from_xml(
        b"<DeviceInfo><serialNumber>S1</serialNumber></DeviceInfo>"
    )
    assert minimal.model == ""
    assert minimal.firmware_version == ""
    assert minimal.device_name is None


def test_door_status() -> None:
    """Read one status per door from AcsWorkStatus."""
    doors = DoorStatus.list_from_json(json.loads(fixture_bytes("acs_work_status.json")))
    assert doors == [
        DoorStatus(
            door=1,
            lock=LockState.LOCKED,
            contact=ContactState.CLOSED,
            mode=DoorMode.NORMAL,
        ),
        DoorStatus(
            door=2,
            lock=LockState.UNLOCKED,
            contact=ContactState.OPEN,
            mode=DoorMode.ALWAYS_OPEN,
        ),
    ]
    assert doors[0].is_locked is True
    assert doors[0].is_open is False
    assert doors[1].is_locked is False
    assert doors[1].is_open is True


def test_door_status_gaps() -> None:
    """Leave unknown, faulty and missing values as None."""
    [door, second] = DoorStatus.list_from_json(
        {
            "AcsWorkStatus": {
                "doorLockStatus": [3, 1],
                "magneticStatus": [9],
                "doorStatus": "x",
            }
        }
    )
    assert door.lock is LockState.BROKEN_CIRCUIT
    assert door.is_locked is None
    assert door.contact is None
    assert door.is_open is None
    assert door.mode is None
    assert second.contact is None
    with pytest.raises(IsapiInvalidResponseError, match="AcsWorkStatus"):
        DoorStatus.list_from_json({})


def test_person_round_trip() -> None:
    """Write the UserInfo body and read persons back from a search answer."""
    person = Person(
        employee_no="1001",
        name="张三",
        valid_begin=datetime(2025, 1, 1),
        valid_end=datetime(2035, 12, 31, 23, 59, 59),
        door_right=(1, 2),
    )
    body = person.to_json()["UserInfo"]
    assert body["Valid"] == {
        "enable": True,
        "beginTime": "2025-01-01T00:00:00",
        "endTime": "2035-12-31T23:59:59",
        "timeType": "local",
    }
    assert body["doorRight"] == "1,2"
    assert body["RightPlan"] == [
        {"doorNo": 1, "planTemplateNo": "1"},
        {"doorNo": 2, "planTemplateNo": "1"},
    ]
    assert "numOfFace" not in body
    page = json.loads(fixture_bytes("user_info_search.json"))["UserInfoSearch"]
    first, second = (Person.from_json(item) for item in page["UserInfo"])
    assert first == Person(
        employee_no="1001",
        name="张三",
        valid_begin=datetime(2025, 1, 1),
        valid_end=datetime(2035, 12, 31, 23, 59, 59),
        num_of_face=1,
        face_url="https://192.0.2.10/LOCALS/pic/enrlFace/0/0000000001.jpg@WEB000000000001",
    )
    assert second.valid_begin is None
    assert second.user_type == "visitor"
    assert second.door_right == (1, 2)
    assert second.num_of_face == 0


def test_person_defaults_and_rules() -> None:
    """Send an open window when none is set; refuse values a terminal cannot hold."""
    body = Person(employee_no="7", name="王五").to_json()["UserInfo"]
    assert body["Valid"]["enable"] is False
    assert body["Valid"]["beginTime"] == "2000-01-01T00:00:00"
    assert body["doorRight"] == "1"
    with pytest.raises(ValueError, match="employee_no"):
        Person(employee_no="", name="x")
    with pytest.raises(ValueError, match="employee_no"):
        Person(employee_no="1" * 33, name="x")
    with pytest.raises(ValueError, match="naive"):
        Person(employee_no="1", name="x", valid_end=datetime.now(UTC))
    with pytest.raises(ValueError, match="door_right"):
        Person(employee_no="1", name="x", door_right=(0,))
    with pytest.raises(IsapiInvalidResponseError, match="employeeNo"):
        Person.from_json({"name": "x"})
    odd = Person.from_json(
        {
            "employeeNo": 42,
            "Valid": {
                "enable": True,
                "beginTime": "2025-01-01T00:00:00+08:00",
                "endTime": "bad",
            },
            "doorRight": "x,0",
        }
    )
    assert odd.employee_no == "42"
    assert odd.valid_begin == datetime(2025, 1, 1)
    assert odd.valid_end is None
    assert odd.door_right == (1,)
    assert odd.name == ""


def test_event_kind_table() -> None:
    """Map the documented Hikvision codes and nothing else."""
    assert event_kind(5, 75) is EventKind.FACE_RECOGNIZED
    assert event_kind(5, 76) is EventKind.FACE_FAILED
    assert event_kind(5, 80) is EventKind.STRANGER
    assert event_kind(5, 21) is EventKind.LOCK_OPENED
    assert event_kind(5, 22) is EventKind.LOCK_CLOSED
    assert event_kind(5, 25) is EventKind.DOOR_OPENED
    assert event_kind(5, 26) is EventKind.DOOR_CLOSED
    assert event_kind(5, 27) is EventKind.DOOR_FORCED
    assert event_kind(3, 1024) is EventKind.REMOTE_OPEN
    # Exit button (5/23, 5/24) and remote close are not door contacts.
    assert event_kind(5, 23) is EventKind.OTHER
    assert event_kind(5, 24) is EventKind.OTHER
    assert event_kind(3, 1025) is EventKind.OTHER
    assert event_kind(1, 27) is EventKind.OTHER
    assert set(EVENT_KINDS.values()) == set(EventKind) - {
        EventKind.HEARTBEAT,
        EventKind.OTHER,
    }


def test_log_events() -> None:
    """Read AcsEvent entries: never live, with picture URLs."""
    page = json.loads(fixture_bytes("acs_event_search.json"))["AcsEvent"]
    events = [AccessEvent.from_log_json(item, UTC) for item in page["InfoList"]]
    assert [event.kind for event in events] == [
        EventKind.LOCK_OPENED,
        EventKind.FACE_RECOGNIZED,
        EventKind.DOOR_OPENED,
        EventKind.REMOTE_OPEN,
    ]
    face = events[1]
    assert face.employee_no == "1001"
    assert face.picture_url is not None
    assert face.picture_url.endswith("@WEB000000000311")
    assert face.time == datetime(2026, 3, 2, 8, 15, 1, tzinfo=CST)
    assert not any(event.live or event.reconciled for event in events)
    reconciled = face.as_reconciled()
    assert reconciled.reconciled
    assert not reconciled.live
    legacy = AccessEvent.from_log_json(
        {"major": 5, "minor": 75, "employeeNo": 1001}, None
    )
    assert legacy.employee_no == "1001"
    assert legacy.time is None
    assert legacy.serial_no is None


def test_stream_event_without_fields() -> None:
    """Treat an AccessControllerEvent without its object as OTHER."""
    event = AccessEvent.from_stream_json({"eventType": "AccessControllerEvent"}, UTC)
    assert event.kind is EventKind.OTHER
    assert not event.live


def test_format_time() -> None:
    """Format aware times with their offset; refuse naive ones."""
    assert (
        format_time(datetime(2026, 3, 2, 8, 0, 0, 123, tzinfo=CST))
        == "2026-03-02T08:00:00+08:00"
    )
    with pytest.raises(ValueError, match="aware"):
        format_time(datetime(2026, 3, 2))


def test_value_helpers() -> None:
    """Coerce the loosely typed values devices send."""
    assert as_int("12") == 12
    assert as_int(" x") is None
    assert as_int(True) is None
    assert as_int(1.5) is None
    assert as_str(7) == "7"
    assert as_str("  ") is None
    assert as_str(True) is None
    assert as_str([1]) is None
    assert as_list({"a": 1}) == [{"a": 1}]
    assert as_list(None) == []
    with pytest.raises(IsapiInvalidResponseError, match="not an object"):
        parse_json(b"[1]")
    with pytest.raises(IsapiInvalidResponseError, match="invalid JSON"):
        parse_json(b"\xff")


@pytest.mark.parametrize(
    ("name", "status", "error_class", "sub"),
    [
        (
            "error_employee_exists.json",
            400,
            IsapiAlreadyExistsError,
            "employeeNoAlreadyExist",
        ),
        ("error_user_full.json", 400, IsapiCapacityError, "userFull"),
        ("error_face_quality.json", 400, IsapiFaceRejectedError, "faceQualityLow"),
        ("error_not_support.xml", 403, IsapiNotSupportedError, "notSupport"),
    ],
)
def test_response_errors(
    name: str, status: int, error_class: type[IsapiResponseError], sub: str
) -> None:
    """Sort refusals into the errors the integration tells apart."""
    error = response_error(parse_response_status(fixture_bytes(name)), status, "Doing")
    assert type(error) is error_class
    assert error.sub_status_code == sub
    assert error.http_status == status
    assert error.status_code in {4, 6}
    assert sub in str(error)


def test_response_error_fallbacks() -> None:
    """Fall back to HTTP status and a default message."""
    plain_404 = response_error(None, 404, "Reading")
    assert type(plain_404) is IsapiNotSupportedError
    assert str(plain_404) == "Reading (HTTP 404)"
    missing = response_error(
        parse_response_status(b'{"statusCode":6,"subStatusCode":"employeeNoNotExist"}'),
        400,
        "x",
    )
    assert type(missing) is IsapiNotFoundError
    assert isinstance(missing, IsapiNotFoundError)
    other = response_error(
        parse_response_status(b'{"statusCode":3,"statusString":"Device Error"}'),
        500,
        "x",
    )
    assert type(other) is IsapiResponseError
    assert other.message == "Device Error"
    assert str(response_error(None, None, "Plain")) == "Plain"


def test_response_status_parsing() -> None:
    """Read ResponseStatus in JSON, wrapped JSON and XML; ignore other bodies."""
    ok_xml = parse_response_status(fixture_bytes("response_ok.xml"))
    assert ok_xml is not None
    assert ok_xml.ok
    ok_json = parse_response_status(b'{"ResponseStatus":{"statusCode":"1"}}')
    assert ok_json is not None
    assert ok_json.ok
    by_string = parse_response_status(
        b"<ResponseStatus><statusString>OK</statusString></ResponseStatus>"
    )
    assert by_string is not None
    assert by_string.ok
    assert parse_response_status(b'{"UserInfoSearch":{}}') is None
    assert parse_response_status(b"<DeviceInfo/>") is None
    assert parse_response_status(b"{broken") is None
    assert parse_response_status(b"\xff\xd8") is None


def test_user_check() -> None:
    """Read the lockout and the attempts left, in XML and JSON."""
    locked = parse_user_check(fixture_bytes("user_check_locked.xml"))
    assert locked is not None
    assert locked.locked
    assert locked.unlock_in == timedelta(seconds=1791)
    retry = parse_user_check(fixture_bytes("user_check_retry.xml"))
    assert retry is not None
    assert not retry.locked
    assert retry.attempts_left == 3
    locked_json = auth_error(fixture_bytes("user_check_locked.json"))
    assert isinstance(locked_json, IsapiLockedError)
    assert locked_json.unlock_in == timedelta(minutes=10)
    assert "600 s" in str(locked_json)
    bare = parse_user_check(b'{"lockStatus":"lock","unlockTime":"30"}')
    assert bare is not None
    assert bare.unlock_in == timedelta(seconds=30)
    wrong = auth_error(fixture_bytes("user_check_retry.xml"))
    assert isinstance(wrong, IsapiAuthError)
    assert wrong.attempts_left == 3
    unknown = auth_error(b"")
    assert isinstance(unknown, IsapiAuthError)
    assert unknown.attempts_left is None
    assert parse_user_check(b"<html/>") is None
    assert parse_user_check(b"{}") is None
    assert parse_user_check(b"<x") is None
    assert parse_user_check(b"plain") is None
