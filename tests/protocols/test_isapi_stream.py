"""Test the alertStream multipart parser without sockets."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from custom_components.smart_community.protocols.isapi import (
    EventKind,
    IsapiInvalidResponseError,
    MultipartParser,
    parse_alert_stream,
)
from custom_components.smart_community.protocols.isapi.stream import (
    RawPart,
    boundary_from_content_type,
    decode_part,
    sniff_boundary,
)

from .conftest import fixture_bytes

CST = timezone(timedelta(hours=8))
EXPECTED_KINDS = [
    (EventKind.FACE_RECOGNIZED, False, 41),
    (EventKind.HEARTBEAT, False, None),
    (EventKind.FACE_RECOGNIZED, True, 42),
    (None, False, None),  # the picture
    (EventKind.DOOR_OPENED, True, 43),
    (EventKind.HEARTBEAT, False, None),  # camera-style videoloss inactive, XML
]


def summary(
    data: bytes, boundary: str | None = "MIME_boundary"
) -> list[tuple[EventKind | None, bool, int | None]]:
    """Parse a capture and sum up each part as (kind, live, serial)."""
    return [
        (
            part.event.kind if part.event else None,
            part.event.live if part.event else False,
            part.event.serial_no if part.event else None,
        )
        for part in parse_alert_stream(data, boundary)
    ]


@pytest.mark.parametrize("name", ["alert_stream_crlf.mime", "alert_stream_lf.mime"])
def test_capture_line_ends(name: str) -> None:
    """Read CRLF and bare LF captures alike, with and without Content-Length."""
    parts = parse_alert_stream(fixture_bytes(name))
    assert [(p.event.kind if p.event else None) for p in parts] == [
        kind for kind, _, _ in EXPECTED_KINDS
    ]
    assert summary(fixture_bytes(name)) == EXPECTED_KINDS
    face = parts[2].event
    assert face is not None
    assert face.employee_no == "1001"
    assert face.name == "张三"
    assert face.verify_mode == "cardOrFace"
    assert face.card_reader_no == 1
    assert face.user_type == "normal"
    assert face.time == datetime(2026, 3, 2, 8, 15, 1, tzinfo=CST)
    assert (face.major, face.minor) == (5, 75)
    # The picture keeps its bytes, although they hold a boundary-like line.
    picture = parts[3]
    assert picture.event is None
    assert picture.part.content_type == "image/jpeg"
    assert picture.part.body.startswith(b"\xff\xd8")
    assert picture.part.body.endswith(b"\xff\xd9")
    assert picture.error == "no event in a image/jpeg part"
    assert parts[4].event is not None
    assert parts[4].event.door_no == 1
    assert not any(part.truncated for part in parts)


def test_capture_boundary_sniffed() -> None:
    """Find the boundary in a capture when none is given."""
    data = fixture_bytes("alert_stream_crlf.mime")
    assert sniff_boundary(data) == "MIME_boundary"
    assert summary(data, None) == EXPECTED_KINDS
    assert parse_alert_stream(b"no multipart here") == []
    assert sniff_boundary(b"--MIME_boundary--\r\n") == "MIME_boundary"


def test_truncated_capture() -> None:
    """Report a part the capture ends inside as truncated, without raising."""
    parts = parse_alert_stream(fixture_bytes("alert_stream_truncated.mime"))
    assert summary(fixture_bytes("alert_stream_truncated.mime"))[:-1] == EXPECTED_KINDS
    last = parts[-1]
    assert last.truncated
    assert last.event is None
    assert last.error == "the stream ended inside this part"
    assert last.part.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("name", ["alert_stream_crlf.mime", "alert_stream_lf.mime"])
def test_split_reads(name: str) -> None:
    """Give the same parts whether the bytes come one at a time or all at once."""
    data = fixture_bytes(name)
    whole = MultipartParser("MIME_boundary").feed(data)
    parser = MultipartParser("MIME_boundary")
    pieces: list[RawPart] = []
    for index in range(len(data)):
        pieces += parser.feed(data[index : index + 1])
    assert pieces == whole
    assert parser.done
    assert parser.finish() is None
    # Odd-sized reads that split headers, bodies and boundaries anywhere.
    parser = MultipartParser("MIME_boundary")
    pieces = []
    for start in range(0, len(data), 7):
        pieces += parser.feed(data[start : start + 7])
    assert pieces == whole


def test_merged_reads() -> None:
    """Return several parts from one read and keep the rest for later."""
    data = fixture_bytes("alert_stream_crlf.mime")
    parser = MultipartParser("MIME_boundary")
    first = parser.feed(data[: len(data) // 2])
    second = parser.feed(data[len(data) // 2 :])
    assert len(first) >= 2
    assert len(first) + len(second) == 6


def test_preamble_epilogue_and_odd_headers() -> None:
    """Skip a preamble and an epilogue; ignore header lines without a colon."""
    data = (
        b"junk before\r\n--b\r\nX-Odd\r\nContent-Length: x\r\n\r\n"
        b'{"eventType":"heartBeat"}\r\n--b--\r\nepilogue'
    )
    parser = MultipartParser("b")
    [part] = parser.feed(data)
    assert part.body == b'{"eventType":"heartBeat"}'
    assert part.headers == {"content-length": "x"}
    assert parser.feed(b"more epilogue") == []
    assert parser.done


def test_part_right_after_body_without_newline() -> None:
    """Accept a delimiter that follows a Content-Length body with no line end."""
    body = b'{"eventType":"heartBeat"}'
    data = (
        b"--b\nContent-Length: "
        + str(len(body)).encode()
        + b"\n\n"
        + body
        + b"--b\nContent-Length: 2\n\n{}\n--b--\n"
    )
    parts = MultipartParser("b").feed(data)
    assert [part.body for part in parts] == [body, b"{}"]


def test_unfinished_headers_are_truncated() -> None:
    """Report a part cut inside its headers as truncated."""
    parser = MultipartParser("b")
    assert parser.feed(b"--b\r\nContent-Type: applic") == []
    last = parser.finish()
    assert last is not None
    assert last.truncated
    assert parser.finish() is None


def test_limits() -> None:
    """Stop on a part or a line that never ends instead of buffering for ever."""
    parser = MultipartParser("b", max_part_size=100)
    parser.feed(b"--b\r\n\r\n")
    with pytest.raises(IsapiInvalidResponseError, match="larger than 100"):
        parser.feed(b"x" * 200)
    parser = MultipartParser("b")
    assert parser.feed(b"--b  ") == []
    with pytest.raises(IsapiInvalidResponseError, match="boundary line"):
        parser.feed(b"--b" + b" " * 2000)
    parser = MultipartParser("b")
    with pytest.raises(IsapiInvalidResponseError, match="headers never end"):
        parser.feed(b"--b\r\n" + b"h" * 70000)
    with pytest.raises(ValueError, match="boundary"):
        MultipartParser("")
    # A long preamble is dropped as it comes, keeping only a possible delimiter start.
    parser = MultipartParser("b")
    assert parser.feed(b"x" * 100_000 + b"\n-") == []
    assert parser.feed(b"-b\n\n{}\n--b--") == [RawPart({}, b"{}")]


def test_decode_part_variants() -> None:
    """Decode JSON whatever its label, XML, non-access events and bad bodies."""
    heartbeat = decode_part(
        RawPart({"content-type": "text/plain"}, b'{"eventType":"heartBeat"}')
    )
    assert heartbeat.event is not None
    assert heartbeat.event.kind is EventKind.HEARTBEAT
    assert heartbeat.event.time is None
    other = decode_part(
        RawPart(
            {},
            b'{"eventType":"videoloss","eventState":"active","dateTime":"2026-03-02T08:00:00"}',
        ),
        CST,
    )
    assert other.event is not None
    assert other.event.kind is EventKind.OTHER
    assert other.event.time == datetime(2026, 3, 2, 8, 0, tzinfo=CST)
    xml_other = decode_part(
        RawPart(
            {},
            b"<EventNotificationAlert><eventType>IO</eventType><eventState>active</eventState></EventNotificationAlert>",
        )
    )
    assert xml_other.event is not None
    assert xml_other.event.kind is EventKind.OTHER
    broken = decode_part(RawPart({"content-type": "application/json"}, b"{not json"))
    assert broken.event is None
    assert broken.error is not None
    assert "invalid JSON" in broken.error
    empty = decode_part(RawPart({}, b""))
    assert empty.error == "no event in a untyped part"
    bad_xml = decode_part(RawPart({}, b"<a><b></a>"))
    assert bad_xml.event is None
    image_json = decode_part(RawPart({"content-type": "image/jpeg"}, b"{}"))
    assert image_json.event is None


def test_boundary_from_content_type() -> None:
    """Read quoted and bare boundary parameters."""
    assert (
        boundary_from_content_type("multipart/mixed; boundary=MIME_boundary")
        == "MIME_boundary"
    )
    assert (
        boundary_from_content_type('multipart/mixed; boundary="a b"; charset=x')
        == "a b"
    )
    assert boundary_from_content_type("multipart/mixed") is None


def test_utc_default_for_offsetless_times() -> None:
    """Attach the given zone to device times without an offset."""
    [part] = parse_alert_stream(
        b'--b\n\n{"eventType":"heartBeat","dateTime":"2026-03-02T08:00:00"}\n--b--\n',
        default_tz=UTC,
    )
    assert part.event is not None
    assert part.event.time == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
