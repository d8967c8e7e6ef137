"""Build the messages a plate camera pushes: plate results, IO inputs, heartbeats.

Field names and code tables follow the Vzenith HTTP interface (V1.9.7) §2 and §3;
Qianyi 芊熠 and other OEM firmware send the same JSON.
"""

import base64
from dataclasses import dataclass
from enum import IntEnum
import json
import time
from typing import Final

import aiohttp

from simulator.devices.lpr.options import BodyEncoding
from simulator.jsonvalue import JSONObject, JSONValue

# Heartbeat fields the camera fills from its web settings, not from the scenario.
WEB_PORT: Final = "80"
WEB_USERNAME: Final = "admin"
WEB_PASSWORD: Final = "admin"
CHANNEL_COUNT: Final = "1"
# The frame the plate rectangle lies in (1080p main stream).
FRAME_WIDTH: Final = 1920
FRAME_HEIGHT: Final = 1080
# Eight characters: a new-energy plate (GA 36-2018), green by default.
NEW_ENERGY_LENGTH: Final = 8


class PlateColor(IntEnum):
    """Encode ``colorType`` (spec §3.3)."""

    UNKNOWN = 0
    BLUE = 1
    YELLOW = 2
    WHITE = 3
    BLACK = 4
    GREEN = 5
    YELLOW_GREEN = 6


class TriggerType(IntEnum):
    """Encode ``triggerType`` (spec §3.1)."""

    AUTO = 1
    IO_INPUT = 2
    SOFTWARE = 4
    VIRTUAL_LOOP = 8
    VEHICLE_STAYING = 64
    VEHICLE_STAY_ENDED = 65
    VEHICLE_TURNED_BACK = 66


# Spec §3.2 numbers plate types 0..31 (with gaps); anything else is not a type.
MAX_PLATE_TYPE: Final = 31
# The plate type a colour usually means (spec §3.2): blue small car, single-row
# yellow, police, black small car, new-energy small, new-energy large.
DEFAULT_PLATE_TYPES: Final = {
    PlateColor.UNKNOWN: 0,
    PlateColor.BLUE: 1,
    PlateColor.YELLOW: 3,
    PlateColor.WHITE: 5,
    PlateColor.BLACK: 2,
    PlateColor.GREEN: 19,
    PlateColor.YELLOW_GREEN: 20,
}
# Spec §3.5: 0 unknown, 1 left, 2 right, 3 up, 4 down.
MAX_DIRECTION: Final = 4
# AlarmGioIn sources (spec §2.2): IO inputs 1-4, then the TCP trigger input.
MAX_IO_SOURCE: Final = 4


def default_color(plate: str) -> PlateColor:
    """Return the colour a plate of this length most likely has."""
    return PlateColor.GREEN if len(plate) == NEW_ENERGY_LENGTH else PlateColor.BLUE


@dataclass(frozen=True, slots=True)
class CameraIdentity:
    """Hold what every message repeats about the camera."""

    device_name: str
    ip_address: str
    serial_number: str


@dataclass(frozen=True, slots=True)
class Sighting:
    """Describe one vehicle the camera recognised."""

    plate: str
    color: int
    plate_type: int
    confidence: int = 95
    trigger_type: int = TriggerType.AUTO
    direction: int = 0


@dataclass(frozen=True, slots=True)
class Recognition:
    """Hold one recognition result: what was seen, when, and its pictures."""

    plate_id: int
    sighting: Sighting
    # Unix time of the frame; an offline re-push keeps it.
    seen_at: float
    # The plate crop (imageFragmentFile) and the full scene (imageFile), JPEG.
    fragment: bytes | None = None
    full_image: bytes | None = None


def timeval(moment: float) -> JSONObject:
    """Return the ``Timeval`` object of a frame time (the camera's local time)."""
    seconds = int(moment)
    local = time.localtime(seconds)
    return {
        "sec": seconds,
        "usec": int((moment - seconds) * 1_000_000),
        "decyear": local.tm_year,
        "decmon": local.tm_mon,
        "decday": local.tm_mday,
        "dechour": local.tm_hour,
        "decmin": local.tm_min,
        "decsec": local.tm_sec,
    }


def plate_rect(recognition: Recognition) -> JSONObject:
    """Return a plausible, varying plate rectangle in the 1080p frame."""
    plate_id = recognition.plate_id
    width = 300 if len(recognition.sighting.plate) >= NEW_ENERGY_LENGTH else 260
    left = 700 + plate_id * 37 % 400
    top = 520 + plate_id * 53 % 260
    return {"left": left, "top": top, "right": left + width, "bottom": top + 90}


def _picture_fields(name: str, picture: bytes | None) -> JSONObject:
    """Return a picture field and its length field; empty when not sent."""
    if picture is None:
        return {}
    return {
        name: base64.b64encode(picture).decode("ascii"),
        # The length of the picture, not of its base64 text (spec §2.4).
        f"{name}Len": len(picture),
    }


def plate_result_body(
    identity: CameraIdentity, recognition: Recognition, *, offline: bool
) -> JSONObject:
    """Return the ``AlarmInfoPlate`` body of a recognition (spec §2.1)."""
    sighting = recognition.sighting
    gioouts: list[JSONValue] = [{"ionum": 0, "ctrltype": 0}]
    result: JSONObject = {
        "license": sighting.plate,
        "colorType": sighting.color,
        "type": sighting.plate_type,
        "confidence": sighting.confidence,
        "direction": sighting.direction,
        "triggerType": sighting.trigger_type,
        "plateid": recognition.plate_id,
        "isoffline": int(offline),
        "bright": 0,
        "carBright": 0,
        "carColor": 255,
        "is_fake_plate": 0,
        "timeUsed": 42,
        "timeStamp": {"Timeval": timeval(recognition.seen_at)},
        "location": {"RECT": plate_rect(recognition)},
        "gioouts": gioouts,
    }
    result |= _picture_fields("imageFile", recognition.full_image)
    result |= _picture_fields("imageFragmentFile", recognition.fragment)
    return {
        "AlarmInfoPlate": {
            "channel": 0,
            "deviceName": identity.device_name,
            "ipaddr": identity.ip_address,
            "serialno": identity.serial_number,
            "result": {"PlateResult": result},
            "user_data": "",
        }
    }


def io_input_body(identity: CameraIdentity, source: int, value: int) -> JSONObject:
    """Return the ``AlarmGioIn`` body of an IO-input change (spec §2.2)."""
    return {
        "AlarmGioIn": {
            "deviceName": identity.device_name,
            "ipaddr": identity.ip_address,
            "serialno": identity.serial_number,
            "result": {"TriggerResult": {"source": source, "value": value}},
        }
    }


def snapshot_body(identity: CameraIdentity, picture: bytes) -> JSONObject:
    """Return the ``TriggerImage`` upload a snapshot command asks for (spec §2.4)."""
    return {
        "ipaddr": identity.ip_address,
        "serialno": identity.serial_number,
        "TriggerImage": _picture_fields("imageFile", picture),
    }


def heartbeat_form(identity: CameraIdentity) -> aiohttp.FormData:
    """Return the multipart/form-data body of a heartbeat or comet poll (§2.5)."""
    # default_to_multipart: text-only fields would otherwise be urlencoded.
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in (
        ("device_name", identity.device_name),
        ("ipaddr", identity.ip_address),
        ("port", WEB_PORT),
        ("user_name", WEB_USERNAME),
        ("pass_wd", WEB_PASSWORD),
        ("serialno", identity.serial_number),
        ("channel_num", CHANNEL_COUNT),
    ):
        form.add_field(name, value)
    return form


def encode_json(
    body: JSONObject, encoding: BodyEncoding, *, declare_charset: bool
) -> tuple[bytes, str]:
    """Return a JSON body in the camera's encoding and its Content-Type.

    Raise ``UnicodeEncodeError`` if the body has a character the encoding lacks.
    """
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(encoding)
    if not declare_charset:
        # Firmware sends GBK under a bare application/json: servers must cope.
        return data, "application/json"
    charset = "gb2312" if encoding is BodyEncoding.GBK else "utf-8"
    return data, f"application/json; charset={charset}"
