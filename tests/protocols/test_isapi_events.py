"""Test the alert stream and exactly-once delivery across reconnects, over loopback."""

import asyncio
from collections.abc import Callable
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
import json
import logging

import aiohttp
from aiohttp import web
import pytest

from custom_components.smart_community.protocols.isapi import (
    AccessEvent,
    EventKind,
    EventSubscription,
    IsapiAuthError,
    IsapiClient,
    IsapiError,
    IsapiInvalidResponseError,
    IsapiLockedError,
    IsapiResponseError,
    IsapiStreamBusyError,
    IsapiStreamClosedError,
)
from custom_components.smart_community.protocols.isapi.subscription import (
    _RecentSerials,
)

from .conftest import (
    BOUNDARY,
    USERNAME,
    FakeTerminal,
    RunningTerminal,
    SleepRecorder,
    StreamPlan,
)

ALERT_STREAM = "/ISAPI/Event/notification/alertStream"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def wait_for(predicate: Callable[[], bool], what: str) -> None:
    """Wait until a condition holds, failing after a few seconds."""
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110 - polling state the peer changes
            await asyncio.sleep(0.005)
    assert predicate(), what


def log_searches(terminal: FakeTerminal) -> int:
    """Count the event log searches the terminal answered."""
    return sum(r.path == "/ISAPI/AccessControl/AcsEvent" for r in terminal.requests)


def summary(events: list[AccessEvent]) -> list[tuple[int | None, bool, bool]]:
    """Sum up events as (serial, live, reconciled)."""
    return [(event.serial_no, event.live, event.reconciled) for event in events]


# ---- the raw stream ----


async def test_stream_replays_then_goes_live(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Yield replayed history as not live, then live events and heartbeats."""
    terminal.record_event(5, 75, employee_no="1001", name="张三")
    terminal.record_event(5, 21)
    async with aclosing(client.stream_events()) as events:
        replayed = [await anext(events), await anext(events)]
        assert summary(replayed) == [(1, False, False), (2, False, False)]
        assert replayed[0].kind is EventKind.FACE_RECOGNIZED
        assert replayed[0].name == "张三"
        terminal.occur(5, 25)
        live = await anext(events)
        assert (live.serial_no, live.live, live.kind) == (
            3,
            True,
            EventKind.DOOR_OPENED,
        )
        assert live.time == datetime(2026, 3, 2, 8, 0, 3, tzinfo=UTC)
        terminal.push("heartbeat")
        assert (await anext(events)).kind is EventKind.HEARTBEAT
    await wait_for(lambda: terminal.connections[-1].closed.is_set(), "server saw close")


@pytest.mark.parametrize(
    "plan",
    [
        StreamPlan(chunk_size=3, line_end=b"\n", content_length=False),
        StreamPlan(chunk_size=50, line_end=b"\r\n", content_length=True),
        StreamPlan(line_end=b"\n", content_length=True),
    ],
    ids=[
        "lf-no-length-3-byte-writes",
        "crlf-length-50-byte-writes",
        "lf-length-merged",
    ],
)
async def test_stream_framing(
    client: IsapiClient, terminal: FakeTerminal, plan: StreamPlan
) -> None:
    """Decode parts split across writes or merged into one, with either line end."""
    for minor in (75, 21, 25, 26, 22):
        terminal.record_event(5, minor, employee_no="1001" if minor == 75 else None)
    terminal.stream_plans.append(plan)
    seen: list[AccessEvent] = []
    async with aclosing(client.stream_events()) as events:
        async for event in events:
            if len(seen) == 0:
                # Without Content-Length a part ends only when the next begins.
                terminal.push("heartbeat")
            seen.append(event)
            if len(seen) == 5:
                break
    assert [event.serial_no for event in seen] == [1, 2, 3, 4, 5]
    assert [event.kind for event in seen] == [
        EventKind.FACE_RECOGNIZED,
        EventKind.LOCK_OPENED,
        EventKind.DOOR_OPENED,
        EventKind.DOOR_CLOSED,
        EventKind.LOCK_CLOSED,
    ]


async def test_stream_skips_pictures(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Skip an image part between events without choking on its bytes."""
    terminal.stream_plans.append(StreamPlan(replay=False))
    async with aclosing(client.stream_events()) as events:
        waiting = asyncio.ensure_future(anext(events))
        await wait_for(lambda: bool(terminal.connections), "stream open")
        picture = b"\xff\xd8\r\n--MIME_bound\r\n\x00\xff\xd9"
        terminal.push(
            "raw",
            b"--" + BOUNDARY.encode() + b"\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: "
            + str(len(picture)).encode()
            + b"\r\n\r\n"
            + picture
            + b"\r\n",
        )
        terminal.occur(5, 75, employee_no="1001")
        event = await waiting
    assert event.serial_no == 1


async def test_stream_cut_mid_part(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Drop a part the connection breaks inside, and raise IsapiStreamClosedError."""
    terminal.stream_plans.append(StreamPlan(replay=False))
    async with aclosing(client.stream_events()) as events:
        waiting = asyncio.ensure_future(anext(events))
        await wait_for(lambda: bool(terminal.connections), "stream open")
        terminal.push("cut", terminal.record_event(5, 22))
        with pytest.raises(IsapiStreamClosedError, match=r"broke|inside a part"):
            await waiting


async def test_stream_cut_after_event(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Deliver complete parts, then raise when the stream breaks inside the next."""
    terminal.record_event(5, 21)
    async with aclosing(client.stream_events()) as events:
        first = await anext(events)
        terminal.push("cut", terminal.record_event(5, 22))
        with pytest.raises(IsapiStreamClosedError):
            await anext(events)
    assert first.serial_no == 1


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b'--MIME_boundary\r\nContent-Length: 99\r\n\r\n{"half', "inside a part"),
        (b"--MIME_boundary--\r\n", "closed the alert stream$"),
        (b"", "closed the alert stream$"),
    ],
)
async def test_stream_ends(
    client: IsapiClient, terminal: FakeTerminal, tail: bytes, message: str
) -> None:
    """Raise IsapiStreamClosedError on a clean end, with or without a cut part."""
    terminal.record_event(5, 21)
    async with aclosing(client.stream_events()) as events:
        first = await anext(events)
        terminal.push("end", tail)
        with pytest.raises(IsapiStreamClosedError, match=message):
            await anext(events)
    assert first.serial_no == 1


async def test_stream_busy(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Raise IsapiStreamBusyError while the device still holds the previous slot."""
    terminal.stream_plans.append(StreamPlan(busy=True))
    with pytest.raises(IsapiStreamBusyError):
        async with aclosing(client.stream_events()) as events:
            await anext(events)


@pytest.mark.parametrize(
    ("response", "error", "match"),
    [
        (web.Response(text="hello"), IsapiInvalidResponseError, "not multipart"),
        (
            web.Response(text="x", headers={"Content-Type": "multipart/mixed"}),
            IsapiInvalidResponseError,
            "not multipart",
        ),
        (
            web.json_response(
                {"statusCode": 4, "subStatusCode": "invalidOperation"}, status=403
            ),
            IsapiResponseError,
            "invalidOperation",
        ),
        (
            web.Response(status=302, headers={"Location": "/elsewhere"}),
            IsapiResponseError,
            "HTTP 302",
        ),
    ],
)
async def test_stream_refusals(
    client: IsapiClient,
    terminal: FakeTerminal,
    response: web.Response,
    error: type[IsapiError],
    match: str,
) -> None:
    """Report an alert stream answer that is no multipart stream."""
    terminal.inject("GET", ALERT_STREAM, response)
    with pytest.raises(error, match=match):
        async with client.alert_stream():
            pass  # pragma: no cover - opening fails


async def test_stream_idle_timeout(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Close a stream that sends nothing for too long."""
    terminal.stream_plans.append(StreamPlan(replay=False))
    with pytest.raises(IsapiStreamClosedError, match="nothing for too long"):
        async with aclosing(client.stream_events(idle_timeout=0.2)) as events:
            await anext(events)


# ---- exactly-once delivery ----


def subscription(
    client: IsapiClient, received: list[AccessEvent], **kwargs: object
) -> EventSubscription:
    """Return a subscription with a fake sleep and a fixed clock."""
    options: dict[str, object] = {"sleep": SleepRecorder(), "now": lambda: NOW}
    options |= kwargs
    return EventSubscription(
        client=client,
        callback=received.append,
        **options,  # type: ignore[arg-type]
    )


async def stop(task: asyncio.Task[object]) -> None:
    """Cancel a listening task and wait for it."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_reconnect_reconciles_without_loss_or_doubles(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Deliver live events, then the missed ones in order after a cut and a busy slot."""
    for minor in (75, 21, 22):
        terminal.record_event(5, minor)
    received: list[AccessEvent] = []
    states: list[str] = []
    sleep = SleepRecorder()
    sub = subscription(
        client,
        received,
        last_serial=3,
        sleep=sleep,
        on_connect=lambda: states.append("up"),
        on_disconnect=lambda error: states.append(type(error).__name__),
    )
    task = asyncio.create_task(sub.run())
    # Once the device has answered the log search, new events can only come live.
    await wait_for(lambda: log_searches(terminal) == 1, "first reconciliation")
    terminal.occur(5, 75, employee_no="1001", name="张三")
    await wait_for(lambda: len(received) == 1, "the live face event")
    # The next event breaks mid-part; one more happens while disconnected;
    # the device then keeps the old slot for one more attempt.
    cut = terminal.record_event(5, 21)
    missed = terminal.record_event(5, 25)
    terminal.stream_plans.extend([StreamPlan(busy=True), StreamPlan()])
    terminal.push("cut", cut)
    await wait_for(lambda: len(terminal.connections) == 2, "reconnected")
    await wait_for(lambda: len(received) == 3, "reconciled events")
    terminal.push("event", missed)  # the device sends it again, live: a double
    terminal.push("heartbeat")
    terminal.occur(5, 26)
    await wait_for(lambda: len(received) == 4, "the next live event")
    await stop(task)
    assert summary(received) == [
        (4, True, False),
        (5, False, True),
        (6, False, True),
        (7, True, False),
    ]
    assert received[0].name == "张三"
    assert [event.kind for event in received[1:]] == [
        EventKind.LOCK_OPENED,
        EventKind.DOOR_OPENED,
        EventKind.DOOR_CLOSED,
    ]
    assert sleep.delays == [1.0, 2.0]
    assert states == ["up", "IsapiStreamClosedError", "up"]
    assert sub.last_serial == 7
    assert sub.last_time == datetime(2026, 3, 2, 8, 0, 7, tzinfo=UTC)
    searches = [
        json.loads(r.body)["AcsEventCond"]
        for r in terminal.requests
        if r.path == "/ISAPI/AccessControl/AcsEvent"
    ]
    assert len(searches) == 2
    # The second search starts a little before the last delivered event.
    assert datetime.fromisoformat(searches[1]["startTime"]) == datetime(
        2026, 3, 2, 7, 55, 4, tzinfo=UTC
    )


async def test_first_connect_takes_replay_as_start(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Deliver nothing old without a last serial; reconcile from the replay's end."""
    for minor in (21, 22, 25):
        terminal.record_event(5, minor)
    received: list[AccessEvent] = []
    # The subscription starts just after the third event.
    sub = subscription(
        client, received, now=lambda: datetime(2026, 3, 2, 8, 0, 3, tzinfo=UTC)
    )
    task = asyncio.create_task(sub.run())
    await wait_for(lambda: sub.last_serial == 3, "replay read")
    terminal.stream_plans.append(StreamPlan())
    missed = terminal.record_event(5, 26)
    terminal.push("cut", missed)
    await wait_for(lambda: len(received) == 1, "the missed event")
    await stop(task)
    assert summary(received) == [(4, False, True)]
    searches = [
        r for r in terminal.requests if r.path == "/ISAPI/AccessControl/AcsEvent"
    ]
    # One search finds the start on the first connect, one reconciles after the cut;
    # a search refused for a used-up nonce is sent again with the same body.
    search_ids = {
        json.loads(request.body)["AcsEventCond"]["searchID"] for request in searches
    }
    assert len(search_ids) == 2


async def test_replay_fills_what_the_log_search_missed(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Deliver replayed events past the last serial as reconciled, old ones skipped."""
    terminal.record_event(5, 21)
    terminal.record_event(5, 22, time=NOW - timedelta(days=3))  # too old to matter
    terminal.record_event(5, 25)
    terminal.inject(
        "POST",
        "/ISAPI/AccessControl/AcsEvent",
        web.json_response(
            {"AcsEvent": {"responseStatusStrg": "NO MATCH", "numOfMatches": 0}}
        ),
    )
    received: list[AccessEvent] = []
    sub = subscription(client, received, last_serial=1)
    task = asyncio.create_task(sub.run())
    await wait_for(lambda: sub.last_serial == 3, "replay read")
    await stop(task)
    assert summary(received) == [(3, False, True)]


async def test_device_log_reset(client: IsapiClient, terminal: FakeTerminal) -> None:
    """Accept live events again when the device's serials start over."""
    terminal.record_event(5, 21)
    received: list[AccessEvent] = []
    sub = subscription(client, received, last_serial=500)
    task = asyncio.create_task(sub.run())
    await wait_for(
        lambda: bool(terminal.connections) and bool(sub.connected), "connected"
    )
    terminal.occur(5, 75, employee_no="1001")
    terminal.occur(5, 21)
    await wait_for(lambda: len(received) == 2, "live events after the reset")
    await stop(task)
    assert summary(received) == [(2, True, False), (3, True, False)]
    assert sub.last_serial == 3


async def test_log_search_unsupported(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Skip reconciliation on a device without AcsEvent search."""
    terminal.inject("POST", "/ISAPI/AccessControl/AcsEvent", web.Response(status=404))
    received: list[AccessEvent] = []
    sub = subscription(client, received, last_serial=0)
    task = asyncio.create_task(sub.run())
    await wait_for(lambda: bool(terminal.connections), "connected")
    terminal.occur(5, 75)
    await wait_for(lambda: len(received) == 1, "live event")
    await stop(task)
    assert summary(received) == [(1, True, False)]


async def test_backoff_grows_and_resets(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Double the delay up to the cap while the slot is busy; report the state once."""
    terminal.stream_plans.extend([StreamPlan(busy=True)] * 8 + [StreamPlan()])
    received: list[AccessEvent] = []
    states: list[str] = []
    sleep = SleepRecorder()
    sub = subscription(
        client,
        received,
        sleep=sleep,
        on_connect=lambda: states.append("up"),
        on_disconnect=lambda error: states.append(type(error).__name__),
    )
    task = asyncio.create_task(sub.run())
    await wait_for(lambda: bool(sub.connected), "connected at last")
    await stop(task)
    assert sleep.delays == [1, 2, 4, 8, 16, 32, 60, 60]
    assert states == ["IsapiStreamBusyError", "up"]


async def test_reconcile_failure_backs_off(
    client: IsapiClient, terminal: FakeTerminal
) -> None:
    """Treat a failed log search like a broken connection."""
    terminal.inject(
        "POST", "/ISAPI/AccessControl/AcsEvent", web.Response(status=500, text="busy")
    )
    received: list[AccessEvent] = []
    sleep = SleepRecorder()
    sub = subscription(client, received, last_serial=0, sleep=sleep)
    task = asyncio.create_task(sub.run())
    await wait_for(lambda: len(terminal.connections) == 2, "second connection")
    await stop(task)
    assert sleep.delays == [1]


async def test_wrong_password_ends_listening(
    running: RunningTerminal, session: aiohttp.ClientSession
) -> None:
    """Raise refused credentials to the caller instead of retrying for ever."""
    client = IsapiClient(
        host="127.0.0.1",
        port=running.port,
        username=USERNAME,
        password="wrong",
        session=session,
    )
    errors: list[IsapiError] = []
    with pytest.raises(IsapiAuthError):
        await client.listen(lambda event: None, on_disconnect=errors.append)
    assert len(errors) == 1
    running.terminal.locked = True
    with pytest.raises(IsapiLockedError):
        await client.listen(lambda event: None)


async def test_heartbeats_serial_less_events_and_bad_callbacks(
    client: IsapiClient, terminal: FakeTerminal, caplog: pytest.LogCaptureFixture
) -> None:
    """Pass heartbeats on request, live events without serial, and survive callback errors."""
    received: list[AccessEvent] = []

    def callback(event: AccessEvent) -> None:
        """Record events; fail on the first heartbeat."""
        received.append(event)
        if len(received) == 1:
            raise RuntimeError("entity bug")

    terminal.stream_plans.append(StreamPlan(replay=False))
    sub = EventSubscription(
        client=client, callback=callback, heartbeats=True, now=lambda: NOW
    )
    task = asyncio.create_task(sub.run())
    await wait_for(lambda: bool(terminal.connections), "connected")
    terminal.push("heartbeat")
    for live in (False, True):
        body = json.dumps(
            {
                "eventType": "AccessControllerEvent",
                "AccessControllerEvent": {
                    "majorEventType": 5,
                    "subEventType": 37,
                    "currentEvent": live,
                },
            }
        ).encode()
        terminal.push("raw", FakeTerminal.part(body, StreamPlan()))
    terminal.occur(5, 21)
    with caplog.at_level(logging.ERROR):
        await wait_for(lambda: len(received) == 3, "three deliveries")
    await stop(task)
    assert [event.kind for event in received] == [
        EventKind.HEARTBEAT,
        EventKind.OTHER,
        EventKind.LOCK_OPENED,
    ]
    assert received[1].serial_no is None
    assert "callback failed" in caplog.text


def test_recent_serials_forget_the_oldest() -> None:
    """Keep a bounded memory of delivered serials."""
    recent = _RecentSerials(limit=3)
    for serial in (1, 2, 2, 3, 4):
        recent.add(serial)
    assert 1 not in recent
    assert all(serial in recent for serial in (2, 3, 4))


def test_history_already_delivered_is_skipped() -> None:
    """Skip a replayed event that was already delivered before a log reset."""
    received: list[AccessEvent] = []
    sub = EventSubscription(
        client=IsapiClient(host="192.0.2.10", username="a", password="b"),
        callback=received.append,
        last_serial=10,
        now=lambda: NOW,
    )
    sub._default_floor = NOW - timedelta(days=1)
    live = AccessEvent(kind=EventKind.LOCK_OPENED, serial_no=11, live=True, time=NOW)
    sub._handle(live)
    # The device's log starts over, then replays a serial already delivered.
    sub._handle(AccessEvent(kind=EventKind.LOCK_CLOSED, serial_no=2, live=True))
    sub._handle(AccessEvent(kind=EventKind.LOCK_CLOSED, serial_no=11, time=NOW))
    assert summary(received) == [(11, True, False), (2, True, False)]
    assert sub.last_serial == 2


async def test_reconcile_ignores_entries_without_serial() -> None:
    """Skip log entries without a serial number: they cannot be deduplicated."""
    client = IsapiClient(host="192.0.2.10", username="a", password="b")

    async def search_events(
        start: datetime, end: datetime, *, after_serial: int | None = None
    ) -> list[AccessEvent]:
        """Return one entry without a serial and one with."""
        return [
            AccessEvent(kind=EventKind.OTHER, time=NOW),
            AccessEvent(kind=EventKind.LOCK_OPENED, serial_no=5, time=NOW),
        ]

    client.search_events = search_events  # type: ignore[method-assign]
    received: list[AccessEvent] = []
    sub = EventSubscription(
        client=client, callback=received.append, last_serial=4, now=lambda: NOW
    )
    sub._default_floor = NOW - timedelta(hours=1)
    await sub._reconcile()
    assert summary(received) == [(5, False, True)]
