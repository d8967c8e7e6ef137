"""Test the ISAPI client's requests against the fake terminal over loopback."""

from datetime import UTC, datetime, timedelta
import json
import socket
import ssl

import aiohttp
from aiohttp import web
import pytest

from custom_components.smart_community.protocols.isapi import (
    ContactState,
    DoorCommand,
    EventKind,
    IsapiAlreadyExistsError,
    IsapiAuthError,
    IsapiCapacityError,
    IsapiClient,
    IsapiConnectionError,
    IsapiConnectionTimeoutError,
    IsapiFaceRejectedError,
    IsapiInvalidResponseError,
    IsapiLockedError,
    IsapiNotFoundError,
    IsapiNotSupportedError,
    IsapiResponseError,
    LockState,
    Person,
)

from .conftest import (
    PASSWORD,
    USERNAME,
    FakeTerminal,
    RunningTerminal,
    fixture_bytes,
)

JPEG = b"\xff\xd8\xff\xe0face\xff\xd9"


def make_client(
    running: RunningTerminal,
    session: aiohttp.ClientSession | None,
    *,
    password: str = PASSWORD,
    **kwargs: object,
) -> IsapiClient:
    """Return a client for the fake terminal."""
    return IsapiClient(
        host="127.0.0.1",
        port=running.port,
        username=USERNAME,
        password=password,
        session=session,
        delete_poll_interval=0,
        **kwargs,  # type: ignore[arg-type]
    )


def person(number: int | str, name: str = "住户") -> Person:
    """Return a person with an employee number."""
    return Person(employee_no=str(number), name=f"{name}{number}")


# ---- Digest ----


async def test_digest_survives_nonce_limit(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Reuse a nonce until the device refuses it, then answer the new one."""
    for _ in range(7):
        await client.get_device_info()
    # One unauthenticated try, then two uses per nonce: every third call retries once.
    assert terminal.attempts == 1 + 7 + 3
    assert len(terminal.requests) == 7
    counts = [
        request.authorization.split("nc=")[1][:8]
        for request in terminal.requests
        if request.authorization
    ]
    assert counts == ["00000001", "00000002"] * 3 + ["00000001"]
    assert not terminal.basic_seen


@pytest.mark.parametrize(
    ("algorithm", "qop"), [("MD5-sess", "auth"), (None, "auth"), (None, None)]
)
async def test_digest_variants(
    client: IsapiClient, terminal: FakeTerminal, algorithm: str | None, qop: str | None
) -> None:
    """Answer MD5-sess, unnamed-algorithm and RFC 2069 challenges."""
    terminal.algorithm = algorithm
    terminal.qop = qop
    assert (await client.get_device_info()).model == "DS-K1T341AMF"
    assert (await client.get_device_info()).model == "DS-K1T341AMF"


async def test_never_basic(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Refuse to log in when the device offers only Basic."""
    terminal.offer_digest = False
    with pytest.raises(IsapiAuthError, match="Basic is never used") as caught:
        await client.get_device_info()
    assert caught.value.attempts_left == 5
    assert terminal.attempts == 1
    assert not terminal.basic_seen


async def test_wrong_password_counts_one_failure_per_call(
    running: RunningTerminal, session: aiohttp.ClientSession
) -> None:
    """Report a wrong password with the attempts left, one failed login per call."""
    terminal = running.terminal
    client = make_client(running, session, password="wrong")
    with pytest.raises(IsapiAuthError) as caught:
        await client.get_device_info()
    assert type(caught.value) is IsapiAuthError
    assert caught.value.attempts_left == 4
    with pytest.raises(IsapiAuthError) as caught:
        await client.get_door_status()
    assert caught.value.attempts_left == 3
    assert terminal.failures == 2
    assert terminal.attempts == 4


async def test_wrong_password_with_a_cached_nonce(
    running: RunningTerminal, session: aiohttp.ClientSession, terminal: FakeTerminal
) -> None:
    """Stop at once when the device refuses an answer to the nonce it just gave."""
    client = make_client(running, session)
    await client.get_device_info()
    terminal.password = "changed on the device"
    before = terminal.attempts
    # The device keeps the nonce this time (no new challenge): one try only.
    terminal_nonce = next(iter(terminal.nonces))
    terminal.nonces = {terminal_nonce: terminal.nonces[terminal_nonce]}
    original = terminal._new_nonce
    terminal._new_nonce = lambda: terminal_nonce  # type: ignore[method-assign]
    with pytest.raises(IsapiAuthError):
        await client.get_device_info()
    terminal._new_nonce = original  # type: ignore[method-assign]
    assert terminal.attempts == before + 1


@pytest.mark.parametrize("json_body", [False, True])
async def test_lockout_is_never_retried(
    running: RunningTerminal,
    session: aiohttp.ClientSession,
    terminal: FakeTerminal,
    json_body: bool,
) -> None:
    """Raise the lockout with its unlock time and send nothing more."""
    terminal.lock_body_json = json_body
    client = make_client(running, session, password="wrong")
    for _ in range(4):
        with pytest.raises(IsapiAuthError):
            await client.get_device_info()
    with pytest.raises(IsapiLockedError) as caught:
        await client.get_device_info()
    expected = timedelta(seconds=600 if json_body else 1800)
    assert caught.value.unlock_in == expected
    assert terminal.locked
    before = terminal.attempts
    # Even the right password meets the lockout, after a single request.
    right = make_client(running, session)
    with pytest.raises(IsapiLockedError):
        await right.get_device_info()
    assert terminal.attempts == before + 1


async def test_lockout_on_another_status(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Recognise a lockout body on a 403 too."""
    terminal.inject_fixture(
        "GET", "/ISAPI/System/deviceInfo", "user_check_locked.xml", status=403
    )
    with pytest.raises(IsapiLockedError):
        await client.get_device_info()


# ---- transport ----


async def test_connection_refused(session: aiohttp.ClientSession) -> None:
    """Report a closed port as a connection error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = IsapiClient(
        host="127.0.0.1",
        port=port,
        username=USERNAME,
        password=PASSWORD,
        session=session,
    )
    with pytest.raises(IsapiConnectionError) as caught:
        await client.get_device_info()
    assert isinstance(caught.value.__cause__, aiohttp.ClientError)


async def test_timeout(
    running: RunningTerminal, session: aiohttp.ClientSession
) -> None:
    """Report a device that does not answer in time."""
    running.terminal.delay = 1
    client = make_client(running, session, request_timeout=0.1)
    with pytest.raises(IsapiConnectionTimeoutError):
        await client.get_device_info()


async def test_own_session(running: RunningTerminal) -> None:
    """Create a session when none is given and close it on exit."""
    async with make_client(running, None) as client:
        assert (await client.get_device_info()).model == "DS-K1T341AMF"
        own = client.session
        assert own is not None
    assert own.closed
    assert client.session is None
    await client.close()


async def test_shared_session_stays_open(
    client: IsapiClient, session: aiohttp.ClientSession
) -> None:
    """Leave a given session open."""
    await client.get_device_info()
    await client.close()
    assert not session.closed
    assert client.session is session


def test_repr_and_url() -> None:
    """Keep the password out of repr; build the base URL."""
    client = IsapiClient(
        host="192.0.2.10", username="admin", password="secret", https=True
    )
    assert "secret" not in repr(client)
    assert str(client.base_url) == "https://192.0.2.10"
    assert str(
        IsapiClient(host="::1", port=8080, username="a", password="b").base_url
    ) == ("http://[::1]:8080")


async def test_https_self_signed(
    running_tls: RunningTerminal, session: aiohttp.ClientSession
) -> None:
    """Accept a self-signed certificate only when told not to verify."""
    relaxed = make_client(running_tls, session, https=True, verify_tls=False)
    assert (await relaxed.get_device_info()).model == "DS-K1T341AMF"
    strict = make_client(running_tls, session, https=True)
    with pytest.raises(IsapiConnectionError) as caught:
        await strict.get_device_info()
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorCertificateError)
    assert isinstance(
        caught.value.__cause__.certificate_error, ssl.SSLCertVerificationError
    )


# ---- errors ----


async def test_server_error(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Report an HTTP error without a ResponseStatus."""
    terminal.inject(
        "GET", "/ISAPI/System/deviceInfo", web.Response(status=500, text="boom")
    )
    with pytest.raises(IsapiResponseError) as caught:
        await client.get_device_info()
    assert type(caught.value) is IsapiResponseError
    assert caught.value.http_status == 500


async def test_refusal_with_http_200(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Report a ResponseStatus error even when the HTTP status says 200."""
    terminal.inject(
        "PUT",
        "/ISAPI/AccessControl/RemoteControl/door/1",
        web.Response(
            body=fixture_bytes("error_not_support.xml"), content_type="application/xml"
        ),
    )
    with pytest.raises(IsapiNotSupportedError) as caught:
        await client.control_door(1, DoorCommand.OPEN)
    assert caught.value.status_code == 4
    assert caught.value.http_status == 200


async def test_unreadable_answers(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Report bodies that are not the JSON asked for."""
    path = "/ISAPI/AccessControl/AcsWorkStatus"
    terminal.inject(
        "GET", path, web.Response(text="{oops", content_type="application/json")
    )
    with pytest.raises(IsapiInvalidResponseError, match="invalid JSON"):
        await client.get_door_status()
    terminal.inject(
        "GET",
        path,
        web.Response(
            body=fixture_bytes("device_info.xml"), content_type="application/json"
        ),
    )
    with pytest.raises(IsapiInvalidResponseError, match="did not answer JSON"):
        await client.get_door_status()
    terminal.inject("GET", path, web.Response(status=200))
    with pytest.raises(IsapiInvalidResponseError, match="no AcsWorkStatus"):
        await client.get_door_status()


# ---- doors ----


@pytest.mark.parametrize("command", list(DoorCommand))
async def test_control_door(
    client: IsapiClient, terminal: FakeTerminal, command: DoorCommand
) -> None:
    """Send RemoteControlDoor with the command, namespaced, to the door's path."""
    await client.control_door(2, command)
    [request] = terminal.requests
    assert request.method == "PUT"
    assert request.path == "/ISAPI/AccessControl/RemoteControl/door/2"
    assert f"<cmd>{command.value}</cmd>".encode() in request.body
    assert request.content_type == "application/xml"


async def test_control_door_number(client: IsapiClient) -> None:
    """Refuse door numbers below 1."""
    with pytest.raises(ValueError, match="from 1"):
        await client.control_door(0, DoorCommand.OPEN)


async def test_door_status(client: IsapiClient) -> None:
    """Read the door states."""
    first, second = await client.get_door_status()
    assert first.lock is LockState.LOCKED
    assert second.contact is ContactState.OPEN


# ---- persons ----


async def test_add_modify_and_search(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Enrol, refuse a duplicate, change and find persons."""
    zhang = Person(
        employee_no="1001",
        name="张三",
        valid_begin=datetime(2026, 1, 1),
        valid_end=datetime(2027, 1, 1),
    )
    await client.add_person(zhang)
    sent = json.loads(terminal.requests[-1].body)
    assert sent == zhang.to_json()
    assert "张三".encode() in terminal.requests[-1].body
    assert terminal.requests[-1].query == {"format": "json"}
    with pytest.raises(IsapiAlreadyExistsError) as caught:
        await client.add_person(zhang)
    assert caught.value.sub_status_code == "employeeNoAlreadyExist"
    await client.modify_person(
        Person(employee_no="1001", name="张三丰", door_right=(1, 2))
    )
    assert terminal.persons["1001"]["name"] == "张三丰"
    [found] = await client.search_persons(["1001"])
    assert found.name == "张三丰"
    assert found.door_right == (1, 2)
    assert found.valid_begin is None
    with pytest.raises(IsapiNotFoundError):
        await client.modify_person(person(9999))
    assert await client.search_persons(["404"]) == []
    assert await client.search_persons([]) == []


async def test_xml_answer_to_a_json_request(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Accept an XML ResponseStatus OK where JSON was asked for."""
    terminal.inject(
        "POST",
        "/ISAPI/AccessControl/UserInfo/Record",
        web.Response(
            body=fixture_bytes("response_ok.xml"), content_type="application/json"
        ),
    )
    await client.add_person(person(1))


async def test_capacity(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Report a full terminal."""
    terminal.capacity = 1
    await client.add_person(person(1))
    with pytest.raises(IsapiCapacityError):
        await client.add_person(person(2))


async def test_search_pages(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Page through all persons, 30 at a time, and search long number lists in chunks."""
    for number in range(1000, 1065):
        terminal.persons[str(number)] = person(number).to_json()["UserInfo"]
    everyone = await client.search_persons()
    assert [p.employee_no for p in everyone] == [str(n) for n in range(1000, 1065)]
    searches = [json.loads(r.body)["UserInfoSearchCond"] for r in terminal.requests]
    assert [s["searchResultPosition"] for s in searches] == [0, 30, 60]
    assert len({s["searchID"] for s in searches}) == 1
    assert all(s["maxResults"] == 30 for s in searches)
    terminal.requests.clear()
    wanted = [str(n) for n in range(1010, 1050)] + ["1010"]
    found = await client.search_persons(wanted)
    assert {p.employee_no for p in found} == set(wanted)
    assert len(found) == 40
    lists = [
        len(json.loads(r.body)["UserInfoSearchCond"]["EmployeeNoList"])
        for r in terminal.requests
    ]
    assert lists == [30, 10]


async def test_search_that_never_ends(
    client: IsapiClient, terminal: FakeTerminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stop a search whose device keeps saying MORE."""
    monkeypatch.setattr(
        "custom_components.smart_community.protocols.isapi.client.MAX_PAGES", 3
    )
    for _ in range(3):
        terminal.inject(
            "POST",
            "/ISAPI/AccessControl/UserInfo/Search",
            web.json_response(
                {
                    "UserInfoSearch": {
                        "responseStatusStrg": "MORE",
                        "numOfMatches": 1,
                        "UserInfo": [{"employeeNo": "1"}],
                    }
                }
            ),
        )
    with pytest.raises(IsapiInvalidResponseError, match="never stopped"):
        await client.search_persons()


async def test_delete_in_background(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Delete with UserInfoDetail/Delete and poll until the device reports success."""
    terminal.delete_polls = 2
    for number in range(1, 36):
        terminal.persons[str(number)] = person(number).to_json()["UserInfo"]
    terminal.faces["1"] = JPEG
    await client.delete_persons([str(n) for n in range(1, 36)] + ["1"])
    assert terminal.persons == {}
    assert terminal.faces == {}
    paths = [r.path.rsplit("/", 1)[-1] for r in terminal.requests]
    assert paths == ["Delete", "DeleteProcess", "DeleteProcess", "DeleteProcess"] * 2
    await client.delete_persons([])
    assert len(terminal.requests) == 8


async def test_delete_falls_back_to_legacy(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Use UserInfo/Delete on older firmware and remember it."""
    terminal.delete_variant = "legacy"
    terminal.persons = {"1": {}, "2": {}}
    await client.delete_persons(["1"])
    await client.delete_persons(["2"])
    assert terminal.persons == {}
    paths = [r.path for r in terminal.requests]
    assert paths == [
        "/ISAPI/AccessControl/UserInfoDetail/Delete",
        "/ISAPI/AccessControl/UserInfo/Delete",
        "/ISAPI/AccessControl/UserInfo/Delete",
    ]
    assert json.loads(terminal.requests[-1].body) == {
        "UserInfoDelCond": {"EmployeeNoList": [{"employeeNo": "2"}]}
    }


async def test_delete_remembers_the_new_variant(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Keep using the background delete once it worked, and say so when it stops."""
    await client.delete_persons(["1"])
    terminal.delete_variant = "legacy"
    with pytest.raises(IsapiNotSupportedError):
        await client.delete_persons(["2"])


async def test_delete_without_progress_endpoint(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Treat a missing DeleteProcess as a synchronous delete."""
    terminal.delete_process_supported = False
    terminal.persons = {"1": {}}
    await client.delete_persons(["1"])
    assert terminal.persons == {}


async def test_delete_failed_or_stuck(
    running: RunningTerminal, session: aiohttp.ClientSession, terminal: FakeTerminal
) -> None:
    """Report a delete the device failed or never finished."""
    client = make_client(running, session, delete_poll_limit=3)
    terminal.inject(
        "GET",
        "/ISAPI/AccessControl/UserInfoDetail/DeleteProcess",
        web.json_response({"UserInfoDetailDeleteProcess": {"status": "failed"}}),
    )
    with pytest.raises(IsapiResponseError, match="failed to delete"):
        await client.delete_persons(["1"])
    terminal.delete_polls = 10
    with pytest.raises(IsapiResponseError, match="after 3 checks"):
        await client.delete_persons(["1"])


# ---- faces ----


async def test_faces(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Upload, refuse a second upload, replace and delete a face."""
    await client.add_person(person(1001))
    await client.upload_face("1001", JPEG)
    assert terminal.faces["1001"] == JPEG
    upload = terminal.requests[-1]
    assert upload.method == "POST"
    assert upload.path == "/ISAPI/Intelligent/FDLib/FaceDataRecord"
    assert upload.query == {"format": "json"}
    assert upload.content_type.startswith("multipart/form-data; boundary=")
    [found] = await client.search_persons(["1001"])
    assert found.num_of_face == 1
    with pytest.raises(IsapiAlreadyExistsError):
        await client.upload_face("1001", JPEG)
    await client.upload_face("1001", JPEG + b"\xff\xd9", replace=True)
    assert terminal.requests[-1].path == "/ISAPI/Intelligent/FDLib/FDSetUp"
    assert terminal.faces["1001"] == JPEG + b"\xff\xd9"
    await client.delete_face("1001")
    assert terminal.faces == {}
    assert json.loads(terminal.requests[-1].body) == {"FPID": [{"value": "1001"}]}


async def test_face_refusals(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Report a face the device rejects; refuse what is not a JPEG."""
    await client.add_person(person(7))
    with pytest.raises(IsapiFaceRejectedError) as caught:
        await client.upload_face("7", b"\xff\xd8 cut short")
    assert caught.value.sub_status_code == "faceQualityLow"
    with pytest.raises(IsapiNotFoundError):
        await client.upload_face("8", JPEG)
    with pytest.raises(ValueError, match="JPEG"):
        await client.upload_face("7", b"\x89PNG")
    assert "7" not in terminal.faces


# ---- event log ----


async def test_search_events(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Page through the log between two times, after a serial, in serial order."""
    for index in range(70):
        terminal.record_event(
            5, 75 if index % 2 else 21, employee_no="1001", name="张三"
        )
    start = datetime(2026, 3, 2, tzinfo=UTC)
    end = start + timedelta(days=1)
    events = await client.search_events(start, end)
    assert [e.serial_no for e in events] == list(range(1, 71))
    assert events[1].kind is EventKind.FACE_RECOGNIZED
    assert events[1].picture_url is not None
    assert not any(e.live for e in events)
    conditions = [json.loads(r.body)["AcsEventCond"] for r in terminal.requests]
    assert [c["searchResultPosition"] for c in conditions] == [0, 30, 60]
    assert conditions[0]["startTime"] == "2026-03-02T00:00:00+00:00"
    later = await client.search_events(start, end, after_serial=65)
    assert [e.serial_no for e in later] == [66, 67, 68, 69, 70]
    assert await client.search_events(end, end + timedelta(hours=1)) == []
    with pytest.raises(ValueError, match="aware"):
        await client.search_events(datetime(2026, 3, 2), end)


async def test_search_events_order(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Sort what the device returns by serial, entries without one last."""
    terminal.inject(
        "POST",
        "/ISAPI/AccessControl/AcsEvent",
        web.json_response(
            {
                "AcsEvent": {
                    "responseStatusStrg": "OK",
                    "numOfMatches": 3,
                    "InfoList": [
                        {"major": 5, "minor": 22, "serialNo": 9},
                        {"major": 5, "minor": 21},
                        {"major": 5, "minor": 21, "serialNo": 8},
                        "junk",
                    ],
                }
            }
        ),
    )
    start = datetime(2026, 3, 2, tzinfo=UTC)
    events = await client.search_events(start, start)
    assert [e.serial_no for e in events] == [8, 9, None]


# ---- pictures ----


async def test_snapshot_and_pictures(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Fetch the camera picture and an event picture from this device only."""
    assert await client.snapshot() == terminal.picture
    picture = await client.download_picture(
        "https://198.51.100.7/LOCALS/pic/acsLinkCap/202603_00/311.jpeg@WEB000000000311?x=1"
    )
    assert picture == terminal.picture
    request = terminal.requests[-1]
    assert request.path == "/LOCALS/pic/acsLinkCap/202603_00/311.jpeg@WEB000000000311"
    assert request.query == {"x": "1"}
    await client.download_picture("/LOCALS/pic/enrlFace/0/1.jpg")
    assert terminal.requests[-1].query == {}


async def test_snapshot_refusals(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Report a refusal or a body that is no picture."""
    path = "/ISAPI/Streaming/channels/101/picture"
    terminal.inject("GET", path, web.Response(text="<html/>", content_type="text/html"))
    with pytest.raises(IsapiResponseError, match="No picture"):
        await client.snapshot()
    terminal.inject("GET", path, web.Response(text="hello", content_type="text/plain"))
    with pytest.raises(IsapiInvalidResponseError, match="text/plain"):
        await client.snapshot()
    terminal.inject("GET", path, web.Response(body=b"\xff\xd8raw", content_type=""))
    assert await client.snapshot() == b"\xff\xd8raw"
    with pytest.raises(IsapiNotSupportedError):
        await client.snapshot(channel=2)
