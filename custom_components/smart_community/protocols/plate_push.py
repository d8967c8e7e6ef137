"""Parse the HTTP pushes of Vzenith-style plate cameras and encode our replies.

Vzenith (臻识) LPR cameras, and the Qianyi (芊熠) and other cameras that copy
their interface, POST each event to a configured URL: a plate read
(``AlarmInfoPlate``), an IO input change (``AlarmGioIn``), RS-485 data
(``SerialData``) or a snapshot (``TriggerImage``) as JSON, and heartbeats and
comet polls as ``multipart/form-data``. The HTTP reply to a plate read or a
comet poll is the only way to command the camera: open the gate, drive a
relay, speak, write to the LED display over RS-485, ask for offline records.

Pure and synchronous, with no I/O: the caller reads the body, calls
:func:`parse_push`, and answers with the bytes of :func:`encode_reply`.
Source: the Vzenith R3/R5/RX "HTTP interface" document, V1.9.7.
"""

import base64
import binascii
import codecs
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
import json
from typing import Any, Final
from urllib.parse import parse_qsl

DEFAULT_MAX_BODY_BYTES: Final = 4 * 1024 * 1024
NO_PLATE: Final = "_无_"

# Heartbeats carry seven fields; a form with many more is not a heartbeat, and
# parse_qsl would otherwise build a list as long as the body allows.
_MAX_FORM_FIELDS: Final = 64
# Longer than this in an error message, a value is cut: messages go to logs.
_MAX_SHOWN: Final = 40
# Charset names of the GB2312 family. GB18030 is a superset of GB2312 and GBK
# (cp936), so decoding as GB18030 also reads the characters a camera's "GB2312"
# firmware takes from GBK, as many do. Some names are unknown to Python's codecs.
_GB_FAMILY: Final = frozenset(
    {
        "gb2312",
        "gbk",
        "gb18030",
        "cp936",
        "ms936",
        "x-gbk",
        "windows-936",
        "csgb2312",
        "gb_2312-80",
        "euc-cn",
    }
)

# gioouts ctrltype (spec §3.7): 0 not opened, 1 opened by the server's reply,
# 2 opened by the camera from its offline allow list.
_CTRLTYPE_OFFLINE_ALLOW_LIST: Final = 2

type JsonObject = dict[str, Any]


class PlateColor(IntEnum):
    """Give the plate colour codes of ``colorType``."""

    UNKNOWN = 0
    BLUE = 1
    YELLOW = 2
    WHITE = 3
    BLACK = 4
    GREEN = 5  # new-energy vehicles
    YELLOW_GREEN = 6  # large new-energy vehicles


class PlatePushError(Exception):
    """Signal a push body that cannot be turned into a message."""


class PushTooLargeError(PlatePushError):
    """Report a body larger than the caller allows (answer 413)."""

    def __init__(self, size: int, limit: int) -> None:
        """Keep the body's size and the limit it went over."""
        super().__init__(f"The body is {size} bytes, over the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class MalformedPushError(PlatePushError):
    """Report a body that is not a push this module knows (answer 400).

    Bad JSON, wrong types, missing fields, bad base64, undecodable text and
    unknown messages all raise it; the message names the field at fault.
    """


@dataclass(frozen=True, slots=True)
class CameraIdentity:
    """Say which camera sent a push, as far as the push tells.

    ``serial_number`` (``serialno``) is the stable key; the name and the IP
    address can change, and a snapshot push carries only the address.
    """

    serial_number: str | None
    device_name: str | None
    ip_address: str | None
    channel: int | None


@dataclass(frozen=True, slots=True)
class PlateRead:
    """Hold one plate result (``AlarmInfoPlate``).

    ``license`` is the plate as the camera read it, stripped, and "" when it
    read none (``_无_``); nothing else is normalised. ``color`` is UNKNOWN for
    codes this module does not know; ``color_code`` keeps the code sent.
    ``plate_type``, ``direction`` and ``trigger_type`` are the camera's codes,
    0 when absent (0 is "unknown" in each of the spec's tables; triggers:
    1 auto, 2 IO input, 4 software, 8 virtual loop, 64/65/66 vehicle-stay
    events). ``plate_id`` must be echoed in the reply to an online read, and
    acknowledged with ``ContinuePushOffline`` for an ``offline`` one.
    ``rect`` is (left, top, right, bottom) in image pixels.
    ``opened_by_camera`` says the camera opened the gate itself, from its
    offline allow list (a ``gioouts`` entry with ctrltype 2): the car went
    through although nobody answered the push.
    """

    camera: CameraIdentity
    license: str
    color: PlateColor
    color_code: int
    plate_type: int
    confidence: int | None
    direction: int
    trigger_type: int
    plate_id: int | None
    offline: bool
    captured_at: datetime | None
    rect: tuple[int, int, int, int] | None
    image: bytes | None = field(default=None, repr=False)
    fragment: bytes | None = field(default=None, repr=False)
    opened_by_camera: bool = False

    @property
    def has_plate(self) -> bool:
        """Tell whether the camera read a plate at all."""
        return bool(self.license)


@dataclass(frozen=True, slots=True)
class IoInput:
    """Hold an IO input change (``AlarmGioIn``).

    ``source`` 0-3 is IO input 1-4 and 4 a TCP trigger; ``value`` is the
    input's state at the trigger.
    """

    camera: CameraIdentity
    source: int
    value: int


@dataclass(frozen=True, slots=True)
class SerialDataPush:
    """Hold bytes the camera received on a serial port (``SerialData``).

    ``serial_channel`` 0 is the first RS-485 port; 1 is the second RS-485 port
    or the RS-232 port, depending on a jumper.
    """

    camera: CameraIdentity
    serial_channel: int
    data: bytes


@dataclass(frozen=True, slots=True)
class SnapshotPush:
    """Hold a snapshot the camera took because a reply asked for one."""

    camera: CameraIdentity
    image: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Hold a heartbeat or comet poll (device registration form).

    In comet mode the reply to it may carry commands, as a plate reply does.
    """

    camera: CameraIdentity
    port: int | None
    user_name: str | None
    password: str | None = field(default=None, repr=False)


type PushMessage = PlateRead | IoInput | SerialDataPush | SnapshotPush | Heartbeat


# ---- reading JSON fields ----


def _describe(value: object) -> str:
    """Name a JSON value for an error message, cut short if long."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str) and len(value) > _MAX_SHOWN:
        return repr(value[:_MAX_SHOWN] + "…")
    return repr(value)


def _join(where: str, key: str) -> str:
    """Name a field by its path from the top of the document."""
    return f"{where}.{key}" if where else key


def _to_int(value: object) -> int | None:
    """Return a JSON value as an int: an integer, an integral float, or a decimal string.

    Cameras send some numbers as strings ("ionum": "0"); int() alone would
    also take "1_000" and non-ASCII digits, which no camera means.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text.startswith(("+", "-")) else text
        if digits.isascii() and digits.isdigit():
            try:
                return int(text)
            except ValueError:  # longer than Python converts (4300 digits)
                return None
    return None


def _as_object(value: object, name: str) -> JsonObject:
    """Return a value that must be a JSON object."""
    if not isinstance(value, dict):
        raise MalformedPushError(f"{name} must be an object, not {_describe(value)}")
    return value


def _object(container: JsonObject, key: str, where: str) -> JsonObject:
    """Return a field that must be present and a JSON object."""
    value = container.get(key)
    if value is None:
        raise MalformedPushError(f"{_join(where, key)} is missing")
    return _as_object(value, _join(where, key))


def _opt_object(container: JsonObject, key: str, where: str) -> JsonObject | None:
    """Return a field that must be a JSON object if present; None when absent."""
    value = container.get(key)
    return None if value is None else _as_object(value, _join(where, key))


def _opt_int(container: JsonObject, key: str, where: str) -> int | None:
    """Return an integer field, None when absent, null or ""."""
    value = container.get(key)
    if value is None or value == "":
        return None
    number = _to_int(value)
    if number is None:
        raise MalformedPushError(
            f"{_join(where, key)} must be an integer, not {_describe(value)}"
        )
    return number


def _int(container: JsonObject, key: str, where: str) -> int:
    """Return an integer field that must be present."""
    number = _opt_int(container, key, where)
    if number is None:
        raise MalformedPushError(f"{_join(where, key)} is missing")
    return number


def _int_or_zero(container: JsonObject, key: str, where: str) -> int:
    """Return a code field, 0 ("unknown" in the spec's tables) when absent."""
    number = _opt_int(container, key, where)
    return 0 if number is None else number


def _opt_str(container: JsonObject, key: str, where: str) -> str | None:
    """Return a text field stripped, None when absent or blank; numbers become text."""
    value = container.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise MalformedPushError(
        f"{_join(where, key)} must be a string, not {_describe(value)}"
    )


def _flag(container: JsonObject, key: str, where: str) -> bool:
    """Return a 0/1 (or true/false) field as a bool, False when absent."""
    value = container.get(key)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    number = _to_int(value)
    if number is None:
        raise MalformedPushError(
            f"{_join(where, key)} must be 0 or 1, not {_describe(value)}"
        )
    return number != 0


def _decode_base64(text: str, name: str) -> bytes:
    """Decode base64 strictly: anything but the alphabet and padding is an error."""
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except ValueError as err:  # binascii.Error, or non-ASCII text
        error = err
    # Some encoders wrap base64 at 76 columns; line breaks are not data. Only
    # now, on the slow path, is the text scanned for them.
    compact = "".join(text.split())
    if len(compact) != len(text):
        try:
            return binascii.a2b_base64(compact, strict_mode=True)
        except ValueError as err:
            error = err
    raise MalformedPushError(f"{name} is not valid base64: {error}") from error


def _opt_base64(container: JsonObject, key: str, where: str) -> bytes | None:
    """Return a base64 field decoded, None when absent or empty."""
    value = container.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedPushError(
            f"{_join(where, key)} must be base64 text, not {_describe(value)}"
        )
    return _decode_base64(value, _join(where, key))


def _base64(container: JsonObject, key: str, where: str) -> bytes:
    """Return a base64 field decoded; it must be present and not empty."""
    data = _opt_base64(container, key, where)
    if data is None:
        raise MalformedPushError(f"{_join(where, key)} is missing")
    return data


# ---- the JSON messages ----


def _camera(message: JsonObject, where: str) -> CameraIdentity:
    """Read the camera's identity from the fields every JSON message shares."""
    return CameraIdentity(
        serial_number=_opt_str(message, "serialno", where),
        device_name=_opt_str(message, "deviceName", where),
        ip_address=_opt_str(message, "ipaddr", where),
        channel=_opt_int(message, "channel", where),
    )


def _captured_at(plate: JsonObject, where: str) -> datetime | None:
    """Read ``timeStamp.Timeval`` sec and usec as an aware UTC time.

    The dec* fields beside them are the camera's local wall clock, in a time
    zone the push does not name, so only the epoch seconds are used.
    """
    stamp = _opt_object(plate, "timeStamp", where)
    if stamp is None:
        return None
    where = _join(where, "timeStamp")
    timeval = _opt_object(stamp, "Timeval", where)
    if timeval is None:
        return None
    where = _join(where, "Timeval")
    seconds = _opt_int(timeval, "sec", where)
    if seconds is None:
        return None
    micros = _opt_int(timeval, "usec", where) or 0
    if not 0 <= micros < 1_000_000:
        raise MalformedPushError(
            f"{where}.usec must be 0 to 999999 microseconds, not {micros}"
        )
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)
    except (OverflowError, OSError, ValueError) as err:
        raise MalformedPushError(
            f"{where}.sec {seconds} is not a time a calendar can hold"
        ) from err


def _rect(plate: JsonObject, where: str) -> tuple[int, int, int, int] | None:
    """Read ``location.RECT`` as (left, top, right, bottom)."""
    location = _opt_object(plate, "location", where)
    if location is None:
        return None
    where = _join(where, "location")
    box = _opt_object(location, "RECT", where)
    if box is None:
        return None
    where = _join(where, "RECT")
    return (
        _int(box, "left", where),
        _int(box, "top", where),
        _int(box, "right", where),
        _int(box, "bottom", where),
    )


def _opened_by_camera(plate: JsonObject, where: str) -> bool:
    """Tell whether a ``gioouts`` entry says the camera opened by its allow list."""
    outputs = plate.get("gioouts")
    if outputs is None:
        return False
    where = _join(where, "gioouts")
    if not isinstance(outputs, list):
        raise MalformedPushError(f"{where} must be an array, not {_describe(outputs)}")
    return any(
        _opt_int(
            _as_object(output, f"{where}[{index}]"), "ctrltype", f"{where}[{index}]"
        )
        == _CTRLTYPE_OFFLINE_ALLOW_LIST
        for index, output in enumerate(outputs)
    )


def _plate_color(code: int) -> PlateColor:
    """Return the colour for a code; codes newer than this module are UNKNOWN."""
    try:
        return PlateColor(code)
    except ValueError:
        return PlateColor.UNKNOWN


def _parse_plate(document: JsonObject, message: JsonObject) -> PlateRead:
    """Read an ``AlarmInfoPlate`` message."""
    where = "AlarmInfoPlate"
    result = _object(message, "result", where)
    plate_where = f"{where}.result.PlateResult"
    plate = _object(result, "PlateResult", f"{where}.result")
    license_text = plate.get("license")
    if license_text is None:
        raise MalformedPushError(f"{plate_where}.license is missing")
    if not isinstance(license_text, str):
        raise MalformedPushError(
            f"{plate_where}.license must be a string, not {_describe(license_text)}"
        )
    license_text = license_text.strip()
    color_code = _int_or_zero(plate, "colorType", plate_where)
    return PlateRead(
        camera=_camera(message, where),
        license="" if license_text == NO_PLATE else license_text,
        color=_plate_color(color_code),
        color_code=color_code,
        plate_type=_int_or_zero(plate, "type", plate_where),
        confidence=_opt_int(plate, "confidence", plate_where),
        direction=_int_or_zero(plate, "direction", plate_where),
        trigger_type=_int_or_zero(plate, "triggerType", plate_where),
        plate_id=_opt_int(plate, "plateid", plate_where),
        offline=_flag(plate, "isoffline", plate_where),
        captured_at=_captured_at(plate, plate_where),
        rect=_rect(plate, plate_where),
        # The *Len fields are not checked: the spec's own example sends an
        # empty imageFile with imageFileLen 0 and a length for the other.
        image=_opt_base64(plate, "imageFile", plate_where),
        fragment=_opt_base64(plate, "imageFragmentFile", plate_where),
        opened_by_camera=_opened_by_camera(plate, plate_where),
    )


def _parse_io_input(document: JsonObject, message: JsonObject) -> IoInput:
    """Read an ``AlarmGioIn`` message."""
    where = "AlarmGioIn"
    result = _object(message, "result", where)
    trigger = _object(result, "TriggerResult", f"{where}.result")
    trigger_where = f"{where}.result.TriggerResult"
    return IoInput(
        camera=_camera(message, where),
        source=_int(trigger, "source", trigger_where),
        value=_int(trigger, "value", trigger_where),
    )


def _parse_serial_data(document: JsonObject, message: JsonObject) -> SerialDataPush:
    """Read a ``SerialData`` message."""
    where = "SerialData"
    return SerialDataPush(
        camera=_camera(message, where),
        serial_channel=_int(message, "serialChannel", where),
        data=_base64(message, "data", where),
    )


def _parse_snapshot(document: JsonObject, message: JsonObject) -> SnapshotPush:
    """Read a ``TriggerImage`` message; its ``ipaddr`` sits beside it, at the top."""
    where = "TriggerImage"
    inner = _camera(message, where)
    outer = _camera(document, "")
    return SnapshotPush(
        camera=CameraIdentity(
            serial_number=inner.serial_number or outer.serial_number,
            device_name=inner.device_name or outer.device_name,
            ip_address=inner.ip_address or outer.ip_address,
            channel=inner.channel if inner.channel is not None else outer.channel,
        ),
        image=_base64(message, "imageFile", where),
    )


_MESSAGES: Final[Mapping[str, Callable[[JsonObject, JsonObject], PushMessage]]] = {
    "AlarmInfoPlate": _parse_plate,
    "AlarmGioIn": _parse_io_input,
    "SerialData": _parse_serial_data,
    "TriggerImage": _parse_snapshot,
}


def _parse_json_message(text: str) -> PushMessage:
    """Parse a JSON body and dispatch on the message key it holds."""
    try:
        document = json.loads(text)
    except RecursionError as err:
        raise MalformedPushError("The body's JSON nests too deeply") from err
    except ValueError as err:
        raise MalformedPushError(f"The body is not valid JSON: {err}") from err
    if not isinstance(document, dict):
        raise MalformedPushError(
            f"The body's JSON must be an object, not {_describe(document)}"
        )
    # Keys beside the message are allowed: a snapshot has "ipaddr" there.
    kinds = [key for key in document if key in _MESSAGES]
    if len(kinds) > 1:
        raise MalformedPushError(
            f"The body holds several messages ({', '.join(kinds)}); a push carries one"
        )
    if not kinds:
        keys = ", ".join(_describe(key) for key in list(document)[:5]) or "none"
        raise MalformedPushError(
            f"The body holds no known message (top-level keys: {keys}); "
            f"expected one of {', '.join(_MESSAGES)}"
        )
    kind = kinds[0]
    message = _object(document, kind, "")
    return _MESSAGES[kind](document, message)


# ---- text, forms and heartbeats ----


def _codec(charset: str | None) -> str | None:
    """Return the codec for a declared charset, or None when it names none we know."""
    if not charset:
        return None
    name = charset.strip().lower()
    try:
        name = codecs.lookup(name).name
    except LookupError:
        return "gb18030" if name in _GB_FAMILY else None
    if name in _GB_FAMILY:
        return "gb18030"
    # A BOM is not text even when UTF-8 is declared; "utf-8-sig" drops it.
    return "utf-8-sig" if name == "utf-8" else name


def _decode_gb18030(data: bytes) -> str:
    """Decode GB18030, fast when most of the text is ASCII, as base64 pictures are.

    Python's GB18030 codec is slow even on ASCII: half a millisecond for a
    100 KB picture. A '"' byte is never part of a multibyte character (trail
    bytes are 0x30-0x39 or 0x40-0xFE), so the text can be cut at quotes and
    only the pieces with high bytes need the codec.
    """
    if data.isascii():
        return data.decode("ascii")
    try:
        return '"'.join(
            piece.decode("ascii") if piece.isascii() else piece.decode("gb18030")
            for piece in data.split(b'"')
        )
    except UnicodeDecodeError:
        # Decode it whole to report where the error is in the body, not the piece.
        return data.decode("gb18030")


def _decode_with(data: bytes, codec: str) -> str:
    """Decode text with a codec, taking the fast path for GB18030."""
    return _decode_gb18030(data) if codec == "gb18030" else data.decode(codec)


def _decode_text(data: bytes, charset: str | None, what: str) -> str:
    """Decode text: the declared charset if usable, else UTF-8, else GB18030.

    A charset Python does not know is treated as none declared: the body is
    still worth reading, and the UTF-8 then GB18030 guess covers the cameras
    this module serves.
    """
    codec = _codec(charset)
    if codec is not None:
        try:
            return _decode_with(data, codec).removeprefix("\ufeff")
        except UnicodeDecodeError as err:
            raise MalformedPushError(
                f"{what} is not valid {charset} text: {err.reason} at byte {err.start}"
            ) from err
        except LookupError:
            # A codec that is not a text encoding, such as "base64".
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return _decode_gb18030(data).removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise MalformedPushError(
            f"{what} is neither UTF-8 nor GB18030 text (byte {err.start})"
        ) from err


def _unquote(value: str) -> str:
    """Strip blanks and one pair of double quotes around a parameter value."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split a header value into its lower-cased first item and its parameters."""
    first, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for item in rest.split(";"):
        key, equals, param = item.partition("=")
        if equals:
            params[key.strip().lower()] = _unquote(param)
    return first.strip().lower(), params


def _sniff_boundary(body: bytes) -> str | None:
    """Return the boundary from a body whose first line is a delimiter."""
    line = body[:512].partition(b"\n")[0].strip()
    if line.startswith(b"--") and len(line) > 2:
        return line[2:].decode("latin-1")
    return None


def _multipart_fields(body: bytes, boundary: str | None) -> dict[str, bytes]:
    """Return the named fields of a multipart/form-data body, CRLF or bare LF."""
    if not boundary:
        # Declared multipart without a boundary parameter: firmware that
        # forgets it still starts the body with the delimiter line.
        boundary = _sniff_boundary(body)
        if boundary is None:
            raise MalformedPushError(
                "The multipart/form-data body has no boundary: the Content-Type "
                "names none and the body does not start with a '--' line"
            )
    # A delimiter counts only at the start of a line; the leading newline lets
    # a body that opens with one match too.
    delimiter = b"\n--" + boundary.encode("latin-1")
    chunks = (b"\n" + body).split(delimiter)
    if len(chunks) < 2:
        raise MalformedPushError(
            f"The multipart/form-data body never uses its boundary {boundary!r}"
        )
    fields: dict[str, bytes] = {}
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            return fields
        # Skip the rest of the delimiter line: its line end, or padding.
        position = chunk.find(b"\n") + 1
        if position == 0:
            break
        name = None
        while True:
            end = chunk.find(b"\n", position)
            if end < 0:
                raise MalformedPushError(
                    "A multipart/form-data part's headers never end"
                )
            line = chunk[position:end].rstrip(b"\r")
            position = end + 1
            if not line:
                break
            header, colon, value = line.partition(b":")
            if colon and header.strip().lower() == b"content-disposition":
                name = _header_params(value.decode("latin-1"))[1].get("name")
        # The split took the newline before the next delimiter; drop its CR.
        content = chunk[position:]
        if content.endswith(b"\r"):
            content = content[:-1]
        if name:
            # The spec's sample shows name=" pass_wd": blanks are not the name.
            fields.setdefault(name.strip(), content)
    raise MalformedPushError(
        f"The multipart/form-data body ends without its closing boundary --{boundary}--"
    )


def _urlencoded_fields(body: bytes, charset: str | None) -> dict[str, str]:
    """Return the fields of an application/x-www-form-urlencoded body."""
    text = _decode_text(body, charset, "The form body")
    codec = _codec(charset)
    # Percent escapes hide the charset too: try the declared one, else UTF-8
    # then GB18030, as for the body.
    for encoding in (codec,) if codec else ("utf-8", "gb18030"):
        try:
            pairs = parse_qsl(
                text,
                keep_blank_values=True,
                encoding=encoding,
                errors="strict",
                max_num_fields=_MAX_FORM_FIELDS,
            )
        except UnicodeDecodeError:
            continue
        except ValueError as err:
            raise MalformedPushError(
                f"The form body is not a heartbeat: {err}"
            ) from err
        fields: dict[str, str] = {}
        for key, value in pairs:
            fields.setdefault(key.strip(), value)
        return fields
    raise MalformedPushError(
        "The form body's percent-escaped text is not valid "
        + (charset or "UTF-8 or GB18030")
    )


def _form_text(fields: Mapping[str, str], key: str) -> str | None:
    """Return a heartbeat field stripped, None when absent or blank."""
    value = fields.get(key)
    return (value.strip() or None) if value is not None else None


def _form_int(fields: Mapping[str, str], key: str) -> int | None:
    """Return a heartbeat field as an int, None when absent or blank."""
    value = _form_text(fields, key)
    if value is None:
        return None
    number = _to_int(value)
    if number is None:
        raise MalformedPushError(
            f"heartbeat field {key} must be an integer, not {_describe(value)}"
        )
    return number


def _heartbeat(fields: Mapping[str, str]) -> Heartbeat:
    """Build a heartbeat from the device registration form."""
    return Heartbeat(
        camera=CameraIdentity(
            serial_number=_form_text(fields, "serialno"),
            device_name=_form_text(fields, "device_name"),
            ip_address=_form_text(fields, "ipaddr"),
            channel=_form_int(fields, "channel_num"),
        ),
        port=_form_int(fields, "port"),
        user_name=_form_text(fields, "user_name"),
        password=_form_text(fields, "pass_wd"),
    )


def parse_push(
    body: bytes,
    content_type: str | None,
    *,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> PushMessage:
    """Turn the body of a camera's POST into a message.

    ``content_type`` is the request's Content-Type header, if it had one.
    multipart/form-data and application/x-www-form-urlencoded bodies are
    heartbeats; any other body is read as JSON and dispatched on its message
    key. Text is decoded with a declared charset, else as UTF-8 (with or
    without a BOM), else as GB18030, which covers GB2312 and GBK.

    Raise PushTooLargeError for a body over ``max_bytes``, before looking at
    it, and MalformedPushError for anything else that is wrong.
    """
    if len(body) > max_bytes:
        raise PushTooLargeError(len(body), max_bytes)
    media_type, params = _header_params(content_type or "")
    charset = params.get("charset")
    if media_type.startswith("multipart/"):
        fields = _multipart_fields(body, params.get("boundary"))
        return _heartbeat(
            {
                name: _decode_text(value, charset, f"heartbeat field {name}")
                for name, value in fields.items()
            }
        )
    if media_type == "application/x-www-form-urlencoded":
        return _heartbeat(_urlencoded_fields(body, charset))
    return _parse_json_message(_decode_text(body, charset, "The body"))


# ---- replies ----


@dataclass(frozen=True, slots=True)
class RelayPulse:
    """Drive an IO output (``ivs_ioctrl``).

    ``value`` 0 opens the contact, 1 closes it, 2 closes it for ``delay_ms``
    and opens it again (a pulse; the spec caps the delay at 600 000 ms).
    ``io`` is the output's index, 0-3; cameras have one to four outputs.
    """

    io: int = 0
    value: int = 2
    delay_ms: int = 500

    def __post_init__(self) -> None:
        """Refuse values the camera does not accept."""
        if not 0 <= self.io <= 3:
            raise ValueError(f"io must be 0 to 3, not {self.io}")
        if not 0 <= self.value <= 2:
            raise ValueError(
                f"value must be 0 (off), 1 (on) or 2 (pulse), not {self.value}"
            )
        if not 0 <= self.delay_ms <= 600_000:
            raise ValueError(f"delay_ms must be 0 to 600000, not {self.delay_ms}")


@dataclass(frozen=True, slots=True)
class SerialOutput:
    """Bytes for the camera to send out of a serial port (RS-485 passthrough)."""

    channel: int
    data: bytes

    def __post_init__(self) -> None:
        """Refuse a negative port number."""
        if self.channel < 0:
            raise ValueError(f"channel must not be negative, not {self.channel}")


def serial_text(text: str, channel: int = 0) -> SerialOutput:
    """Return display text as GB2312-family bytes for an LED screen on RS-485.

    Display controllers differ: many take a framed protocol of their own with
    addresses, commands and checksums, which belongs to that controller, not
    here. This is plain text for the controllers that show what they receive.
    It is encoded as GB18030, which is GB2312 for the characters GB2312 has;
    characters beyond it (rare names, emoji) become 4-byte sequences that
    older controllers show as garbage.
    """
    return SerialOutput(channel, text.encode("gb18030"))


@dataclass(frozen=True, slots=True)
class PlateReply:
    """Say what the camera should do, in the reply to a plate read or a poll.

    ``plate_id`` should echo the read's ``plate_id`` for an online read (the
    spec asks for it). For an offline read, set ``continue_offline`` to its
    ``plate_id`` to acknowledge it; the camera sends the next offline record
    only if ``continue_pushing`` is also true. ``voice`` is spoken at
    ``voice_volume`` (1-100); ``content`` is passed on as the spec's
    ``content`` field, whose use varies by firmware.
    """

    open_gate: bool = False
    plate_id: int | None = None
    content: str | None = None
    voice: str | None = None
    voice_volume: int = 100
    relay: RelayPulse | None = None
    serial: tuple[SerialOutput, ...] = ()
    continue_offline: int | None = None
    continue_pushing: bool = True
    manual_trigger: bool = False

    def __post_init__(self) -> None:
        """Refuse a volume the camera does not accept."""
        if not 1 <= self.voice_volume <= 100:
            raise ValueError(f"voice_volume must be 1 to 100, not {self.voice_volume}")


def _base64_text(data: bytes) -> str:
    """Return bytes as base64 text."""
    return base64.b64encode(data).decode("ascii")


def encode_reply(reply: PlateReply) -> bytes:
    """Return the reply body: compact UTF-8 JSON, with only the fields set.

    Opening the gate sends ``"info": "ok"`` with ``"is_pay": "true"``. Only
    ``info`` opens the gate (spec §2.6.1), but the spec's FAQ answer on how to
    open it sends both, and firmware written from that answer may look for
    ``is_pay`` too; it is never sent without ``info``. An empty reply is
    ``{"Response_AlarmInfoPlate": {}}``, which the camera takes as "noted".
    """
    response: JsonObject = {}
    if reply.open_gate:
        response["info"] = "ok"
    if reply.plate_id is not None:
        response["plateid"] = reply.plate_id
    if reply.content is not None:
        response["content"] = reply.content
    if reply.open_gate:
        response["is_pay"] = "true"
    if reply.voice is not None:
        response["playserver_json_request"] = {
            "type": "ps_voice_play",
            # The spec's sample voice is base64 of UTF-8 text (欢迎光临).
            "voice": _base64_text(reply.voice.encode("utf-8")),
            "voice_volume": reply.voice_volume,
        }
    if reply.relay is not None:
        response["ivs_ioctrl"] = {
            "io": reply.relay.io,
            "value": reply.relay.value,
            "delay": reply.relay.delay_ms,
        }
    if reply.serial:
        response["serialData"] = [
            {
                "serialChannel": output.channel,
                "data": _base64_text(output.data),
                "dataLen": len(output.data),
            }
            for output in reply.serial
        ]
    if reply.manual_trigger:
        response["manualTrigger"] = "ok"
    if reply.continue_offline is not None:
        response["ContinuePushOffline"] = {
            "plateid": reply.continue_offline,
            "continue": 1 if reply.continue_pushing else 0,
        }
    return json.dumps(
        {"Response_AlarmInfoPlate": response},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
