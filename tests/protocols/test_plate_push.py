"""Test the plate camera push parser and the reply encoder against sample bodies."""

import base64
from collections.abc import Callable
import copy
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime
import json
from pathlib import Path
import re
from typing import Any

import pytest

from custom_components.smart_community.protocols.plate_push import (
    DEFAULT_MAX_BODY_BYTES,
    NO_PLATE,
    CameraIdentity,
    Heartbeat,
    IoInput,
    MalformedPushError,
    PlateColor,
    PlatePushError,
    PlateRead,
    PlateReply,
    PushTooLargeError,
    RelayPulse,
    SerialDataPush,
    SerialOutput,
    SnapshotPush,
    encode_reply,
    parse_push,
    serial_text,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plate_push"
JSON = "application/json"
BOUNDARY = "------------------------caa771fe4a61f3d9"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
FORM = "application/x-www-form-urlencoded"
DELETE = object()


def fixture_bytes(name: str) -> bytes:
    """Return a fixture file's bytes."""
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    """Return a UTF-8 JSON fixture as a fresh object, to change in a test."""
    document: dict[str, Any] = json.loads(fixture_bytes(name))
    return document


def to_body(document: object) -> bytes:
    """Serialise a document the way cameras do: UTF-8, Chinese unescaped."""
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def changed(name: str, path: tuple[str | int, ...], value: object) -> bytes:
    """Return a fixture's body with one field replaced, or removed for DELETE."""
    document = fixture_json(name)
    container: Any = document
    for key in path[:-1]:
        container = container[key]
    if value is DELETE:
        del container[path[-1]]
    else:
        container[path[-1]] = copy.deepcopy(value)
    return to_body(document)


def parse_plate(body: bytes, content_type: str | None = JSON) -> PlateRead:
    """Parse a body that must be a plate read."""
    message = parse_push(body, content_type)
    assert isinstance(message, PlateRead)
    return message


def parse_heartbeat(body: bytes, content_type: str | None) -> Heartbeat:
    """Parse a body that must be a heartbeat."""
    message = parse_push(body, content_type)
    assert isinstance(message, Heartbeat)
    return message


def is_jpeg(data: bytes | None) -> bool:
    """Tell whether bytes look like a whole JPEG file (SOI ... EOI)."""
    return data is not None and data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9"


# ---- plate reads ----


def test_full_plate_read() -> None:
    """Read every field of a full UTF-8 plate push, pictures included."""
    read = parse_plate(fixture_bytes("plate_utf8.json"))
    document = fixture_json("plate_utf8.json")
    sent = document["AlarmInfoPlate"]["result"]["PlateResult"]
    assert read.camera == CameraIdentity(
        serial_number="fe71e106-57263272",
        device_name="东门入口",
        ip_address="192.168.1.100",
        channel=0,
    )
    assert read.license == "粤B12345"
    assert read.has_plate
    assert read.color is PlateColor.BLUE
    assert read.color_code == 1
    assert read.plate_type == 1
    assert read.confidence == 96
    assert read.direction == 0
    assert read.trigger_type == 1
    assert read.plate_id == 21085
    assert read.offline is False
    assert read.opened_by_camera is False
    assert read.captured_at == datetime(2023, 6, 9, 8, 39, 54, 687772, tzinfo=UTC)
    assert read.rect == (1002, 565, 1263, 674)
    assert is_jpeg(read.image)
    assert is_jpeg(read.fragment)
    # The *Len fields, which the parser ignores, check the decoded sizes here.
    assert read.image is not None
    assert len(read.image) == sent["imageFileLen"]
    assert read.fragment is not None
    assert len(read.fragment) == sent["imageFragmentFileLen"]


def test_plate_read_repr_leaves_out_pictures() -> None:
    """Keep pictures out of repr, so logging a read does not log kilobytes."""
    text = repr(parse_plate(fixture_bytes("plate_utf8.json")))
    assert "粤B12345" in text
    assert "image" not in text
    assert "fragment" not in text
    assert len(text) < 600


def test_plate_read_is_frozen() -> None:
    """Refuse changes to a parsed read."""
    read = parse_plate(fixture_bytes("plate_green.json"))
    with pytest.raises(FrozenInstanceError):
        read.license = "京A00000"  # type: ignore[misc]


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        JSON,
        "text/plain",
        "application/json; charset=GBK",
        "application/json;charset=gb2312",
        'application/json; charset="GB18030"',
        "application/json; charset=cp936",
        "application/json; charset=x-gbk",
        "application/json; charset=unknown-8",
        "application/json; charset=base64",
    ],
    ids=[
        "no-content-type",
        "json-undeclared",
        "text-plain",
        "gbk",
        "gb2312",
        "gb18030-quoted",
        "cp936",
        "x-gbk",
        "unknown-charset",
        "not-a-text-codec",
    ],
)
def test_gbk_body(content_type: str | None) -> None:
    """Read a GBK body whether or not its charset is declared, as the UTF-8 one."""
    utf8 = parse_plate(fixture_bytes("plate_utf8.json"))
    gbk_body = fixture_bytes("plate_gbk.json")
    # The fixture is really GBK, not UTF-8: the test is worth nothing otherwise.
    with pytest.raises(UnicodeDecodeError):
        gbk_body.decode("utf-8")
    assert parse_plate(gbk_body, content_type) == utf8


@pytest.mark.parametrize("content_type", [JSON, "application/json; charset=gb18030"])
def test_gb18030_awkward_bytes(content_type: str) -> None:
    """Read characters whose GB bytes look like ASCII: backslash and digit trail bytes."""
    # 乗 and 俓 end in 0x5C ("\"); 😀 and 䶶 are four-byte GB18030 with ASCII digits.
    name = '乗"俓\\😀䶶"'
    body = changed("gio_in.json", ("AlarmGioIn", "deviceName"), name)
    encoded = body.decode("utf-8").encode("gb18030")
    # 乗 is the lead byte 0x81 and then 0x5C, which is also the ASCII backslash.
    assert b"\x81\\" in encoded
    message = parse_push(encoded, content_type)
    assert message.camera.device_name == name


def test_gbk_body_declared_utf8() -> None:
    """Trust a declared charset: a GBK body labelled UTF-8 is refused, not guessed."""
    with pytest.raises(MalformedPushError, match=r"not valid utf-8 text"):
        parse_push(fixture_bytes("plate_gbk.json"), "application/json; charset=utf-8")


@pytest.mark.parametrize(
    "content_type", [JSON, "application/json; charset=utf-8"], ids=["bare", "utf8"]
)
def test_utf8_bom(content_type: str) -> None:
    """Skip a UTF-8 byte order mark."""
    body = b"\xef\xbb\xbf" + fixture_bytes("plate_green.json")
    assert parse_plate(body, content_type).license == "粤BD12345"


def test_gb18030_bom() -> None:
    """Skip a GB18030 byte order mark."""
    body = "\ufeff".encode("gb18030") + fixture_bytes("plate_gbk.json")
    assert parse_plate(body).license == "粤B12345"


def test_offline_record() -> None:
    """Read an offline re-push: its flag, its id and the camera's own opening."""
    read = parse_plate(fixture_bytes("plate_offline.json"))
    assert read.offline is True
    assert read.plate_id == 123
    assert read.opened_by_camera is True
    assert read.license == "京A12345"
    assert read.camera.serial_number == "eff50e18-e3d3862b"
    assert read.image is None
    assert read.fragment is None


def test_no_plate() -> None:
    """Turn "_无_" into an empty licence: the camera saw a vehicle but no plate."""
    read = parse_plate(fixture_bytes("plate_no_plate.json"))
    assert NO_PLATE == "_无_"
    assert read.license == ""
    assert not read.has_plate
    assert read.color is PlateColor.UNKNOWN
    assert read.confidence == 0
    assert read.trigger_type == 4
    assert read.plate_id == 124
    assert read.captured_at == datetime(2015, 9, 9, 16, 12, 51, 672241, tzinfo=UTC)
    assert read.rect == (0, 0, 0, 0)
    assert read.image is None
    assert read.camera.device_name == "IVS"


def test_green_eight_character_plate() -> None:
    """Read an 8-character new-energy plate with its green colour."""
    read = parse_plate(fixture_bytes("plate_green.json"))
    assert read.license == "粤BD12345"
    assert len(read.license) == 8
    assert read.color is PlateColor.GREEN
    assert read.plate_type == 19
    assert read.trigger_type == 8
    assert read.confidence == 98
    assert read.captured_at is not None
    assert read.captured_at.microsecond == 5000


def test_license_is_stripped_not_normalised() -> None:
    """Strip blanks around the licence and change nothing else."""
    path = ("AlarmInfoPlate", "result", "PlateResult", "license")
    read = parse_plate(changed("plate_green.json", path, " 粤b·D12345 "))
    assert read.license == "粤b·D12345"


def test_numbers_as_strings() -> None:
    """Accept numbers sent as strings, and integral floats."""
    document = fixture_json("plate_green.json")
    message = document["AlarmInfoPlate"]
    result = message["result"]["PlateResult"]
    message["channel"] = "0"
    result |= {
        "plateid": " 123 ",
        "confidence": 96.0,
        "colorType": "5",
        "type": "+19",
        "direction": "-1",
        "triggerType": "2",
        "isoffline": "1",
        "gioouts": [{"ionum": "0", "ctrltype": "2"}],
    }
    result["timeStamp"]["Timeval"] = {"sec": "1686299994", "usec": "687772"}
    result["location"]["RECT"] = {
        "left": "1",
        "top": "2",
        "right": "3",
        "bottom": "4",
    }
    read = parse_plate(to_body(document))
    assert read.camera.channel == 0
    assert read.plate_id == 123
    assert read.confidence == 96
    assert read.color is PlateColor.GREEN
    assert read.plate_type == 19
    assert read.direction == -1
    assert read.trigger_type == 2
    assert read.offline is True
    assert read.opened_by_camera is True
    assert read.captured_at == datetime(2023, 6, 9, 8, 39, 54, 687772, tzinfo=UTC)
    assert read.rect == (1, 2, 3, 4)


@pytest.mark.parametrize(
    ("value", "offline"),
    [(True, True), (False, False), ("true", True), (" False ", False), ("", False)],
)
def test_offline_flag_spellings(value: object, offline: bool) -> None:
    """Accept the offline flag as a JSON bool or its text too."""
    path = ("AlarmInfoPlate", "result", "PlateResult", "isoffline")
    assert parse_plate(changed("plate_green.json", path, value)).offline is offline


def test_identity_numbers_become_text() -> None:
    """Accept a numeric serial number as text."""
    body = changed("gio_in.json", ("AlarmGioIn", "serialno"), 12345)
    message = parse_push(body, JSON)
    assert message.camera.serial_number == "12345"


def test_unknown_colour_code() -> None:
    """Map a colour code newer than the table to UNKNOWN, keeping the code."""
    path = ("AlarmInfoPlate", "result", "PlateResult", "colorType")
    read = parse_plate(changed("plate_green.json", path, 9))
    assert read.color is PlateColor.UNKNOWN
    assert read.color_code == 9


@pytest.mark.parametrize(
    "path",
    [
        ("colorType",),
        ("type",),
        ("direction",),
        ("triggerType",),
        ("confidence",),
        ("plateid",),
        ("isoffline",),
        ("gioouts",),
        ("timeStamp",),
        ("timeStamp", "Timeval"),
        ("timeStamp", "Timeval", "sec"),
        ("location",),
        ("location", "RECT"),
    ],
    ids=lambda path: ".".join(path),
)
def test_optional_fields_absent(path: tuple[str, ...]) -> None:
    """Read a plate whose older firmware leaves out the optional fields."""
    full = ("AlarmInfoPlate", "result", "PlateResult", *path)
    read = parse_plate(changed("plate_offline.json", full, DELETE))
    defaults: dict[str, Callable[[PlateRead], bool]] = {
        "colorType": lambda r: r.color is PlateColor.UNKNOWN and r.color_code == 0,
        "type": lambda r: r.plate_type == 0,
        "direction": lambda r: r.direction == 0,
        "triggerType": lambda r: r.trigger_type == 0,
        "confidence": lambda r: r.confidence is None,
        "plateid": lambda r: r.plate_id is None,
        "isoffline": lambda r: r.offline is False,
        "gioouts": lambda r: r.opened_by_camera is False,
        "timeStamp": lambda r: r.captured_at is None,
        "location": lambda r: r.rect is None,
    }
    assert defaults[path[0]](read)
    assert read.license == "京A12345"


def test_usec_absent() -> None:
    """Take a missing usec as zero."""
    path = ("AlarmInfoPlate", "result", "PlateResult", "timeStamp", "Timeval", "usec")
    read = parse_plate(changed("plate_utf8.json", path, DELETE))
    assert read.captured_at == datetime(2023, 6, 9, 8, 39, 54, tzinfo=UTC)


def test_wrapped_base64() -> None:
    """Accept base64 wrapped at 76 columns, as some encoders write it."""
    document = fixture_json("plate_utf8.json")
    result = document["AlarmInfoPlate"]["result"]["PlateResult"]
    text = result["imageFile"]
    result["imageFile"] = "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    read = parse_plate(to_body(document))
    assert read.image == base64.b64decode(text)
    assert is_jpeg(read.image)


# ---- the other messages ----


def test_io_input() -> None:
    """Read an IO input change."""
    message = parse_push(fixture_bytes("gio_in.json"), JSON)
    assert message == IoInput(
        camera=CameraIdentity("d85b1269-8f942256", "IVS", "192.168.109.40", None),
        source=3,
        value=1,
    )


def test_serial_data() -> None:
    """Read RS-485 data the camera received."""
    message = parse_push(fixture_bytes("serial_data.json"), JSON)
    assert message == SerialDataPush(
        camera=CameraIdentity("cead13eb-1a198cd7", "IVS", "192.168.1.100", 0),
        serial_channel=0,
        data=b"ch.com\x17",
    )


def test_snapshot() -> None:
    """Read a snapshot upload, whose address sits beside the message."""
    message = parse_push(fixture_bytes("trigger_image.json"), JSON)
    assert isinstance(message, SnapshotPush)
    assert message.camera == CameraIdentity(None, None, "192.168.1.100", None)
    assert is_jpeg(message.image)
    assert (
        len(message.image)
        == fixture_json("trigger_image.json")["TriggerImage"]["imageFileLen"]
    )
    assert "image" not in repr(message)


def test_snapshot_identity_inside() -> None:
    """Prefer identity fields inside TriggerImage to those beside it."""
    document = fixture_json("trigger_image.json")
    document["serialno"] = "outer-serial"
    document["TriggerImage"] |= {"ipaddr": "192.168.1.7", "channel": 1}
    message = parse_push(to_body(document), JSON)
    assert message.camera == CameraIdentity("outer-serial", None, "192.168.1.7", 1)


def heartbeat_expected() -> Heartbeat:
    """Return the heartbeat the sample form describes."""
    return Heartbeat(
        camera=CameraIdentity("d85b1269-8f942256", "IVS", "192.168.109.40", 1),
        port=80,
        user_name="admin",
        password="admin",
    )


def test_heartbeat_multipart() -> None:
    """Read a heartbeat form as captured, with CRLF line ends."""
    heartbeat = parse_heartbeat(fixture_bytes("heartbeat.multipart"), MULTIPART)
    assert heartbeat == heartbeat_expected()
    assert "password" not in repr(heartbeat)


@pytest.mark.parametrize(
    ("transform", "content_type"),
    [
        (lambda body: body.replace(b"\r\n", b"\n"), MULTIPART),
        (lambda body: body, f'multipart/form-data; boundary="{BOUNDARY}"'),
        (lambda body: body, "Multipart/Form-Data; charset=utf-8; boundary=" + BOUNDARY),
        (lambda body: body, "multipart/form-data"),
        (lambda body: body, "multipart/form-data; boundary="),
        (lambda body: b"preamble\r\n" + body + b"epilogue", MULTIPART),
        (
            lambda body: body.replace(
                BOUNDARY.encode() + b"\r\n", BOUNDARY.encode() + b" \r\n"
            ),
            MULTIPART,
        ),
    ],
    ids=[
        "lf-only",
        "quoted-boundary",
        "parameters-in-any-order",
        "no-boundary-parameter",
        "empty-boundary-parameter",
        "preamble-and-epilogue",
        "padding-after-delimiter",
    ],
)
def test_heartbeat_multipart_variants(
    transform: Callable[[bytes], bytes], content_type: str
) -> None:
    """Read heartbeat forms framed in the other ways multipart allows."""
    body = transform(fixture_bytes("heartbeat.multipart"))
    assert parse_heartbeat(body, content_type) == heartbeat_expected()


def multipart(
    fields: list[tuple[bytes, bytes]], boundary: bytes = b"b0undary"
) -> bytes:
    """Build a multipart/form-data body."""
    body = b"".join(
        b"--"
        + boundary
        + b"\r\nContent-Disposition: form-data; name="
        + name
        + b"\r\nContent-Type: text/plain\r\n\r\n"
        + value
        + b"\r\n"
        for name, value in fields
    )
    return body + b"--" + boundary + b"--\r\n"


def test_heartbeat_multipart_gbk_and_odd_names() -> None:
    """Read a GBK device name, a blank-padded field name, and skip nameless parts."""
    body = multipart(
        [
            (b'"device_name"', "东门".encode("gbk")),
            (b'" pass_wd"', b"secret"),
            (b"serialno", b"  abc-123  "),
            (b'""', b"nameless"),
            (b'"port"', b""),
            (b'"device_name"', b"duplicate"),
        ]
    )
    heartbeat = parse_heartbeat(body, "multipart/form-data; boundary=b0undary")
    assert heartbeat.camera == CameraIdentity("abc-123", "东门", None, None)
    assert heartbeat.password == "secret"
    assert heartbeat.port is None
    assert heartbeat.user_name is None


def test_heartbeat_urlencoded() -> None:
    """Read a heartbeat sent as an urlencoded form, GBK escapes included."""
    body = (
        b"device_name=%B6%AB%C3%C5&ipaddr=192.168.1.9&port=8080"
        b"&user_name=admin&pass_wd=p%40ss&serialno=abc&channel_num=2"
    )
    heartbeat = parse_heartbeat(body, FORM)
    assert heartbeat == Heartbeat(
        camera=CameraIdentity("abc", "东门", "192.168.1.9", 2),
        port=8080,
        user_name="admin",
        password="p@ss",
    )
    utf8 = b"device_name=%E4%B8%9C%E9%97%A8&serialno=abc"
    assert parse_heartbeat(utf8, FORM).camera.device_name == "东门"
    declared = parse_heartbeat(body, FORM + "; charset=gbk")
    assert declared.camera.device_name == "东门"


# ---- refusals ----


def test_too_large() -> None:
    """Refuse a body over the limit before reading it, with its size and the limit."""
    body = b"\xff" * 101
    with pytest.raises(PushTooLargeError) as raised:
        parse_push(body, JSON, max_bytes=100)
    assert raised.value.size == 101
    assert raised.value.limit == 100
    assert str(raised.value) == "The body is 101 bytes, over the limit of 100 bytes"
    assert isinstance(raised.value, PlatePushError)
    # A body exactly at the limit is read.
    green = fixture_bytes("plate_green.json")
    assert parse_plate(green, JSON) == parse_push(green, JSON, max_bytes=len(green))
    assert DEFAULT_MAX_BODY_BYTES == 4 * 1024 * 1024


def test_default_limit() -> None:
    """Apply the 4 MiB limit when the caller sets none."""
    with pytest.raises(PushTooLargeError):
        parse_push(b" " * (DEFAULT_MAX_BODY_BYTES + 1), JSON)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b'{"AlarmGioIn": ', JSON, r"^The body is not valid JSON: "),
        (b"", JSON, r"^The body is not valid JSON: "),
        (b"[" * 100_000, JSON, r"^The body's JSON nests too deeply$"),
        (b'{"a": 1' + b"9" * 5000 + b"}", JSON, r"^The body is not valid JSON"),
        (b"[1, 2]", JSON, r"^The body's JSON must be an object, not an array$"),
        (b'"AlarmInfoPlate"', JSON, r"must be an object, not 'AlarmInfoPlate'$"),
        (b"12", JSON, r"must be an object, not 12$"),
        (b"null", JSON, r"must be an object, not null$"),
        (b"{}", JSON, r"^The body holds no known message \(top-level keys: none\)"),
        (
            b'{"Alarm": {}, "ipaddr": "1.2.3.4"}',
            JSON,
            r"no known message \(top-level keys: 'Alarm', 'ipaddr'\); expected one of "
            r"AlarmInfoPlate, AlarmGioIn, SerialData, TriggerImage$",
        ),
        (
            b'{"AlarmGioIn": {}, "SerialData": {}}',
            JSON,
            r"^The body holds several messages \(AlarmGioIn, SerialData\)",
        ),
        (b'{"AlarmGioIn": []}', JSON, r"^AlarmGioIn must be an object, not an array$"),
        (b'{"a": "\xff"}', None, r"^The body is neither UTF-8 nor GB18030 text"),
        (b'{"a": "\xff"}', "application/json; charset=gbk", r"not valid gbk text"),
        (
            b"device_name=%FF",
            FORM,
            r"percent-escaped text is not valid UTF-8 or GB18030",
        ),
        (
            b"port=%FF",
            FORM + "; charset=utf-8",
            r"percent-escaped text is not valid utf-8",
        ),
        (b"a=1&" * 100, FORM, r"^The form body is not a heartbeat: "),
        (
            b"port=eighty",
            FORM,
            r"^heartbeat field port must be an integer, not 'eighty'$",
        ),
        (
            b"channel_num=1.5",
            FORM,
            r"^heartbeat field channel_num must be an integer, not '1.5'$",
        ),
        (
            b"name=device_name\r\n\r\nIVS",
            "multipart/form-data",
            r"names none and the body does not start with a '--' line",
        ),
        (b"no parts at all", MULTIPART, r"never uses its boundary"),
        (
            multipart([(b"port", b"80")])[: -len(b"--\r\n")] + b"\r\nmore",
            "multipart/form-data; boundary=b0undary",
            r"^A multipart/form-data part's headers never end$",
        ),
        (
            multipart([(b"port", b"80")]).removesuffix(b"--b0undary--\r\n"),
            "multipart/form-data; boundary=b0undary",
            r"ends without its closing boundary --b0undary--$",
        ),
        (
            multipart([(b"port", b"80")]).removesuffix(b"--\r\n"),
            "multipart/form-data; boundary=b0undary",
            r"ends without its closing boundary",
        ),
        (
            multipart([(b"device_name", b"\xff")]),
            "multipart/form-data; boundary=b0undary",
            r"^heartbeat field device_name is neither UTF-8 nor GB18030 text",
        ),
    ],
    ids=[
        "truncated-json",
        "empty-body",
        "deep-nesting",
        "huge-number",
        "array",
        "string",
        "number",
        "null",
        "empty-object",
        "unknown-key",
        "two-messages",
        "message-not-object",
        "neither-charset",
        "declared-gbk-invalid",
        "form-bad-escape",
        "form-bad-declared-escape",
        "form-too-many-fields",
        "form-port-not-int",
        "form-channel-not-int",
        "multipart-no-boundary",
        "multipart-boundary-unused",
        "multipart-headers-never-end",
        "multipart-unclosed",
        "multipart-cut-on-delimiter",
        "multipart-undecodable-field",
    ],
)
def test_malformed_bodies(body: bytes, content_type: str | None, message: str) -> None:
    """Refuse bodies that are no push, with a message saying why."""
    with pytest.raises(MalformedPushError, match=message) as raised:
        parse_push(body, content_type)
    assert isinstance(raised.value, PlatePushError)


PLATE = ("AlarmInfoPlate", "result", "PlateResult")
PLATE_NAME = "AlarmInfoPlate.result.PlateResult"


@pytest.mark.parametrize(
    ("name", "path", "value", "message"),
    [
        (
            "plate_utf8.json",
            ("AlarmInfoPlate", "result"),
            DELETE,
            "AlarmInfoPlate.result is missing",
        ),
        (
            "plate_utf8.json",
            ("AlarmInfoPlate", "result"),
            [],
            "AlarmInfoPlate.result must be an object, not an array",
        ),
        (
            "plate_utf8.json",
            (*PLATE[:2], "PlateResult"),
            DELETE,
            f"{PLATE_NAME} is missing",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "license"),
            DELETE,
            f"{PLATE_NAME}.license is missing",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "license"),
            None,
            f"{PLATE_NAME}.license is missing",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "license"),
            12345,
            f"{PLATE_NAME}.license must be a string, not 12345",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "confidence"),
            "high",
            f"{PLATE_NAME}.confidence must be an integer, not 'high'",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "colorType"),
            True,
            f"{PLATE_NAME}.colorType must be an integer, not true",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "type"),
            {},
            f"{PLATE_NAME}.type must be an integer, not an object",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "plateid"),
            1.5,
            f"{PLATE_NAME}.plateid must be an integer, not 1.5",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "plateid"),
            "1_000",
            f"{PLATE_NAME}.plateid must be an integer, not '1_000'",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "plateid"),
            "\uff11\uff12",  # fullwidth digits: int() takes them, cameras never send them
            f"{PLATE_NAME}.plateid must be an integer, not '\uff11\uff12'",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "plateid"),
            "7" * 5000,
            f"{PLATE_NAME}.plateid must be an integer, not '{'7' * 40}…'",
        ),
        ("plate_utf8.json", (*PLATE, "triggerType"), None, None),
        (
            "plate_utf8.json",
            (*PLATE, "isoffline"),
            "maybe",
            f"{PLATE_NAME}.isoffline must be 0 or 1, not 'maybe'",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "timeStamp"),
            5,
            f"{PLATE_NAME}.timeStamp must be an object, not 5",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "timeStamp", "Timeval", "sec"),
            "soon",
            f"{PLATE_NAME}.timeStamp.Timeval.sec must be an integer, not 'soon'",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "timeStamp", "Timeval", "usec"),
            1_000_000,
            f"{PLATE_NAME}.timeStamp.Timeval.usec must be 0 to 999999 microseconds, not 1000000",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "timeStamp", "Timeval", "usec"),
            -1,
            f"{PLATE_NAME}.timeStamp.Timeval.usec must be 0 to 999999 microseconds, not -1",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "timeStamp", "Timeval", "sec"),
            10**20,
            f"{PLATE_NAME}.timeStamp.Timeval.sec 100000000000000000000 is not a time a calendar can hold",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "location"),
            "x",
            f"{PLATE_NAME}.location must be an object, not 'x'",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "location", "RECT", "left"),
            DELETE,
            f"{PLATE_NAME}.location.RECT.left is missing",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "location", "RECT", "bottom"),
            "low",
            f"{PLATE_NAME}.location.RECT.bottom must be an integer, not 'low'",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "imageFile"),
            5,
            f"{PLATE_NAME}.imageFile must be base64 text, not 5",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "imageFile"),
            "not base64!",
            f"{PLATE_NAME}.imageFile is not valid base64: ",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "imageFragmentFile"),
            "QUJD=",
            f"{PLATE_NAME}.imageFragmentFile is not valid base64: ",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "imageFragmentFile"),
            "QUJD\nRA",
            f"{PLATE_NAME}.imageFragmentFile is not valid base64: ",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "imageFile"),
            "QUJDé",
            f"{PLATE_NAME}.imageFile is not valid base64: ",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "gioouts"),
            {},
            f"{PLATE_NAME}.gioouts must be an array, not an object",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "gioouts", 1),
            1,
            f"{PLATE_NAME}.gioouts[1] must be an object, not 1",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "gioouts", 2),
            None,
            f"{PLATE_NAME}.gioouts[2] must be an object, not null",
        ),
        (
            "plate_utf8.json",
            (*PLATE, "gioouts", 0, "ctrltype"),
            "x",
            f"{PLATE_NAME}.gioouts[0].ctrltype must be an integer, not 'x'",
        ),
        (
            "plate_utf8.json",
            ("AlarmInfoPlate", "serialno"),
            [],
            "AlarmInfoPlate.serialno must be a string, not an array",
        ),
        (
            "plate_utf8.json",
            ("AlarmInfoPlate", "deviceName"),
            False,
            "AlarmInfoPlate.deviceName must be a string, not false",
        ),
        (
            "plate_utf8.json",
            ("AlarmInfoPlate", "channel"),
            "A",
            "AlarmInfoPlate.channel must be an integer, not 'A'",
        ),
        (
            "gio_in.json",
            ("AlarmGioIn", "result"),
            DELETE,
            "AlarmGioIn.result is missing",
        ),
        (
            "gio_in.json",
            ("AlarmGioIn", "result", "TriggerResult"),
            "x",
            "AlarmGioIn.result.TriggerResult must be an object, not 'x'",
        ),
        (
            "gio_in.json",
            ("AlarmGioIn", "result", "TriggerResult", "source"),
            DELETE,
            "AlarmGioIn.result.TriggerResult.source is missing",
        ),
        (
            "gio_in.json",
            ("AlarmGioIn", "result", "TriggerResult", "value"),
            "on",
            "AlarmGioIn.result.TriggerResult.value must be an integer, not 'on'",
        ),
        (
            "serial_data.json",
            ("SerialData", "serialChannel"),
            DELETE,
            "SerialData.serialChannel is missing",
        ),
        (
            "serial_data.json",
            ("SerialData", "data"),
            DELETE,
            "SerialData.data is missing",
        ),
        ("serial_data.json", ("SerialData", "data"), "", "SerialData.data is missing"),
        (
            "serial_data.json",
            ("SerialData", "data"),
            "%%%",
            "SerialData.data is not valid base64: ",
        ),
        (
            "trigger_image.json",
            ("TriggerImage",),
            "x",
            "TriggerImage must be an object, not 'x'",
        ),
        (
            "trigger_image.json",
            ("TriggerImage", "imageFile"),
            DELETE,
            "TriggerImage.imageFile is missing",
        ),
        (
            "trigger_image.json",
            ("ipaddr",),
            {},
            "ipaddr must be a string, not an object",
        ),
    ],
)
def test_bad_fields(
    name: str, path: tuple[str | int, ...], value: object, message: str | None
) -> None:
    """Name the field at fault for missing and ill-typed fields."""
    body = changed(name, path, value)
    if message is None:
        # A null optional field reads as absent.
        parse_push(body, JSON)
        return
    with pytest.raises(MalformedPushError) as raised:
        parse_push(body, JSON)
    assert str(raised.value).startswith(message)


# ---- replies ----


def decode_reply(reply: PlateReply) -> dict[str, Any]:
    """Encode a reply, check the envelope, and return what is inside it."""
    body = encode_reply(reply)
    document = json.loads(body.decode("utf-8"))
    assert list(document) == ["Response_AlarmInfoPlate"]
    inner: dict[str, Any] = document["Response_AlarmInfoPlate"]
    return inner


def test_empty_reply() -> None:
    """Encode a reply with nothing set as an empty response object."""
    assert encode_reply(PlateReply()) == b'{"Response_AlarmInfoPlate":{}}'


def test_open_reply() -> None:
    """Open the gate, echo the plate id and pass the content, compact UTF-8."""
    reply = PlateReply(open_gate=True, plate_id=21085, content="欢迎光临 粤B12345")
    body = encode_reply(reply)
    assert b" " not in body.replace(" 粤".encode(), b"")
    assert "欢迎光临".encode() in body
    assert json.loads(body) == {
        "Response_AlarmInfoPlate": {
            "info": "ok",
            "plateid": 21085,
            "content": "欢迎光临 粤B12345",
            "is_pay": "true",
        }
    }


def test_closed_reply_sends_no_info() -> None:
    """Send neither info nor is_pay when the gate stays shut."""
    inner = decode_reply(PlateReply(plate_id=5, content=""))
    assert inner == {"plateid": 5, "content": ""}


def test_voice_reply() -> None:
    """Send voice as base64 of UTF-8 text, with the volume."""
    inner = decode_reply(PlateReply(voice="欢迎光临", voice_volume=60))
    request = inner["playserver_json_request"]
    assert request["type"] == "ps_voice_play"
    assert request["voice_volume"] == 60
    assert (
        base64.b64decode(request["voice"], validate=True).decode("utf-8") == "欢迎光临"
    )
    # The spec's own example, 欢迎光临 in UTF-8.
    assert request["voice"] == "5qyi6L+O5YWJ5Li0"
    assert "info" not in inner


def test_relay_serial_trigger_reply() -> None:
    """Encode a relay pulse, serial data for two ports and a manual trigger."""
    reply = PlateReply(
        relay=RelayPulse(io=1, value=2, delay_ms=1500),
        serial=(serial_text("粤B12345 请通行"), SerialOutput(1, b"\x00\x01\xff")),
        manual_trigger=True,
    )
    inner = decode_reply(reply)
    assert inner["ivs_ioctrl"] == {"io": 1, "value": 2, "delay": 1500}
    assert inner["manualTrigger"] == "ok"
    first, second = inner["serialData"]
    text = "粤B12345 请通行".encode("gb2312")
    assert first == {
        "serialChannel": 0,
        "data": base64.b64encode(text).decode(),
        "dataLen": len(text),
    }
    assert base64.b64decode(second["data"]) == b"\x00\x01\xff"
    assert second["serialChannel"] == 1
    assert second["dataLen"] == 3


@pytest.mark.parametrize(("pushing", "flag"), [(True, 1), (False, 0)])
def test_continue_offline_reply(pushing: bool, flag: int) -> None:
    """Acknowledge an offline record and say whether to send the next."""
    inner = decode_reply(PlateReply(continue_offline=123, continue_pushing=pushing))
    assert inner == {"ContinuePushOffline": {"plateid": 123, "continue": flag}}


def test_reply_round_trip_from_read() -> None:
    """Answer a parsed read: the reply echoes what the camera sent."""
    read = parse_plate(fixture_bytes("plate_offline.json"))
    inner = decode_reply(PlateReply(continue_offline=read.plate_id))
    assert inner["ContinuePushOffline"]["plateid"] == 123
    online = parse_plate(fixture_bytes("plate_utf8.json"))
    inner = decode_reply(
        PlateReply(open_gate=True, plate_id=online.plate_id, relay=RelayPulse())
    )
    assert inner["plateid"] == 21085
    assert inner["ivs_ioctrl"] == {"io": 0, "value": 2, "delay": 500}


def test_serial_text() -> None:
    """Encode display text as GB2312-family bytes, on the port asked for."""
    output = serial_text("京A12345 欢迎", channel=1)
    assert output == SerialOutput(1, "京A12345 欢迎".encode("gb2312"))
    assert serial_text("A").channel == 0


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: RelayPulse(io=4), "io must be 0 to 3, not 4"),
        (lambda: RelayPulse(io=-1), "io must be 0 to 3, not -1"),
        (
            lambda: RelayPulse(value=3),
            "value must be 0 (off), 1 (on) or 2 (pulse), not 3",
        ),
        (
            lambda: RelayPulse(value=-1),
            "value must be 0 (off), 1 (on) or 2 (pulse), not -1",
        ),
        (
            lambda: RelayPulse(delay_ms=600_001),
            "delay_ms must be 0 to 600000, not 600001",
        ),
        (lambda: RelayPulse(delay_ms=-1), "delay_ms must be 0 to 600000, not -1"),
        (lambda: PlateReply(voice_volume=0), "voice_volume must be 1 to 100, not 0"),
        (
            lambda: PlateReply(voice_volume=101),
            "voice_volume must be 1 to 100, not 101",
        ),
        (lambda: SerialOutput(-1, b""), "channel must not be negative, not -1"),
    ],
)
def test_reply_validation(factory: Callable[[], object], message: str) -> None:
    """Refuse values the camera does not accept."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        factory()


@pytest.mark.parametrize(
    "relay",
    [
        RelayPulse(io=0, value=0, delay_ms=0),
        RelayPulse(io=3, value=1),
        RelayPulse(delay_ms=600_000),
    ],
)
def test_relay_limits_accepted(relay: RelayPulse) -> None:
    """Accept the ends of each range."""
    assert decode_reply(PlateReply(relay=relay))["ivs_ioctrl"]["io"] == relay.io


def test_volume_limits_accepted() -> None:
    """Accept volume 1 and 100."""
    for volume in (1, 100):
        inner = decode_reply(PlateReply(voice="", voice_volume=volume))
        assert inner["playserver_json_request"]["voice_volume"] == volume
        assert inner["playserver_json_request"]["voice"] == ""
