"""Read the server's reply to a push or comet poll: the camera's command channel.

The same ``{"Response_AlarmInfoPlate": {...}}`` object answers plate results and
comet polls (spec §2.6). A camera obeys every command it understands and ignores
keys it does not know (LCD and OSD settings, ``content``, ``is_pay``).
"""

import base64
import binascii
from dataclasses import dataclass, field
import json
import re
from typing import Final

from simulator.jsonvalue import JSONObject, JSONValue

RESPONSE_KEY: Final = "Response_AlarmInfoPlate"
# ivs_ioctrl: io 0..3, value 0 off / 1 on / 2 pulse, delay at most 600 s in ms.
_MAX_IO: Final = 3
_MAX_PULSE_MS: Final = 600_000
_RELAY_ON_VALUES: Final = frozenset({1, 2})
_MAX_SERIAL_CHANNEL: Final = 1
_MAX_VOLUME: Final = 100
# Some servers write voice text as JavaScript escape() output: %u6B22%u8FCE...
_JS_ESCAPE: Final = re.compile(r"%u([0-9A-Fa-f]{4})")


@dataclass(frozen=True, slots=True)
class OfflineAck:
    """Hold a ``ContinuePushOffline``: the record received, and whether to go on."""

    plate_id: int
    proceed: bool


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    """Hold a ``TriggerImage`` command: where to upload the snapshot."""

    absolute_url: str | None
    relative_url: str | None
    port: int | None


@dataclass(slots=True)
class Commands:
    """Hold what a reply asks of the camera, and what was wrong with it."""

    # The decoded JSON reply, or None when the body was not JSON.
    reply: JSONValue = None
    relay_fired: bool = False
    voice: str | None = None
    serial_texts: list[str] = field(default_factory=list)
    manual_trigger: bool = False
    snapshot: SnapshotRequest | None = None
    offline_ack: OfflineAck | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def has_command(self) -> bool:
        """Say whether the reply asked the camera to do anything."""
        return (
            self.relay_fired
            or self.voice is not None
            or bool(self.serial_texts)
            or self.manual_trigger
            or self.snapshot is not None
        )

    @property
    def error(self) -> str | None:
        """Return the problems as one text, or None when there were none."""
        return "; ".join(self.problems) if self.problems else None


def decode_text(data: bytes) -> str:
    """Decode text a server sent for the camera: UTF-8, else GB18030 (lossy)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _decode_base64(value: str) -> bytes:
    """Decode base64, forgiving missing padding and line breaks."""
    compact = "".join(value.split())
    return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)


def read_reply(body: bytes) -> Commands:
    """Read a reply body into the commands it carries."""
    commands = Commands()
    try:
        document: JSONValue = json.loads(decode_text(body))
    except ValueError, RecursionError:
        preview = body[:60].decode("utf-8", errors="replace")
        commands.problems.append(f"the reply is not JSON: {preview!r}")
        return commands
    commands.reply = document
    if isinstance(document, dict) and document.get("type") == "AVS_TRIGGER":
        # The bare manual-trigger reply of spec §2.6.4.
        commands.manual_trigger = True
        return commands
    response = document.get(RESPONSE_KEY) if isinstance(document, dict) else None
    if not isinstance(response, dict):
        commands.problems.append(f"the reply has no {RESPONSE_KEY} object")
        return commands
    _read_response(response, commands)
    return commands


def _read_response(response: JSONObject, commands: Commands) -> None:
    """Read the commands of a ``Response_AlarmInfoPlate`` object."""
    if response.get("info") == "ok":
        commands.relay_fired = True
    if "ivs_ioctrl" in response and _read_io_control(response["ivs_ioctrl"], commands):
        commands.relay_fired = True
    if "playserver_json_request" in response:
        _read_voice(response["playserver_json_request"], commands)
    if "serialData" in response:
        _read_serial_data(response["serialData"], commands)
    if response.get("manualTrigger") == "ok":
        commands.manual_trigger = True
    if "TriggerImage" in response:
        _read_snapshot(response["TriggerImage"], commands)
    if "ContinuePushOffline" in response:
        _read_offline_ack(response["ContinuePushOffline"], commands)


def _int(value: JSONValue) -> int | None:
    """Return an integer (or an integer written as text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _read_io_control(value: JSONValue, commands: Commands) -> bool:
    """Check ``ivs_ioctrl`` (an object or a list of them); say if a relay closes."""
    controls = value if isinstance(value, list) else [value]
    closes = False
    for index, control in enumerate(controls):
        where = "ivs_ioctrl" if not isinstance(value, list) else f"ivs_ioctrl[{index}]"
        if not isinstance(control, dict):
            commands.problems.append(f"{where} is not an object")
            continue
        io = _int(control.get("io", 0))
        state = _int(control.get("value"))
        delay = _int(control.get("delay", 0))
        if io is None or not 0 <= io <= _MAX_IO:
            commands.problems.append(f"{where}.io must be 0..{_MAX_IO}")
        elif state not in {0, *_RELAY_ON_VALUES}:
            commands.problems.append(f"{where}.value must be 0, 1 or 2")
        elif delay is None or not 0 <= delay <= _MAX_PULSE_MS:
            commands.problems.append(f"{where}.delay must be 0..{_MAX_PULSE_MS} ms")
        elif state in _RELAY_ON_VALUES:
            closes = True
    return closes


def _read_voice(value: JSONValue, commands: Commands) -> None:
    """Decode the text of a ``playserver_json_request`` voice announcement."""
    if not isinstance(value, dict):
        commands.problems.append("playserver_json_request is not an object")
        return
    if value.get("type") != "ps_voice_play":
        commands.problems.append(
            f"playserver_json_request.type {value.get('type')!r} is not ps_voice_play"
        )
        return
    volume = value.get("voice_volume")
    if volume is not None and not (
        (number := _int(volume)) is not None and 0 <= number <= _MAX_VOLUME
    ):
        commands.problems.append(
            f"playserver_json_request.voice_volume must be 0..{_MAX_VOLUME}"
        )
    voice = value.get("voice")
    if not isinstance(voice, str):
        commands.problems.append("playserver_json_request.voice is not a string")
        return
    try:
        text = decode_text(_decode_base64(voice))
    except binascii.Error, ValueError:
        commands.problems.append("playserver_json_request.voice is not base64")
        return
    commands.voice = _JS_ESCAPE.sub(lambda match: chr(int(match[1], 16)), text)


def _read_serial_data(value: JSONValue, commands: Commands) -> None:
    """Decode each ``serialData`` item sent on to the RS-485 LED display."""
    if not isinstance(value, list):
        commands.problems.append("serialData is not a list")
        return
    for index, item in enumerate(value):
        where = f"serialData[{index}]"
        if not isinstance(item, dict) or not isinstance(data := item.get("data"), str):
            commands.problems.append(f"{where} has no base64 'data' string")
            continue
        channel = _int(item.get("serialChannel", 0))
        if channel is None or not 0 <= channel <= _MAX_SERIAL_CHANNEL:
            commands.problems.append(
                f"{where}.serialChannel must be 0..{_MAX_SERIAL_CHANNEL}"
            )
            continue
        try:
            raw = _decode_base64(data)
        except binascii.Error, ValueError:
            commands.problems.append(f"{where}.data is not base64")
            continue
        declared = item.get("dataLen")
        if declared is not None and _int(declared) != len(raw):
            commands.problems.append(
                f"{where}.dataLen is {declared!r} but data holds {len(raw)} bytes"
            )
        commands.serial_texts.append(decode_text(raw))


def _read_snapshot(value: JSONValue, commands: Commands) -> None:
    """Read a ``TriggerImage`` snapshot request."""
    if not isinstance(value, dict):
        commands.problems.append("TriggerImage is not an object")
        return
    absolute = value.get("snapImageAbsolutelyUrl")
    relative = value.get("snapImageRelativeUrl")
    port = _int(value["port"]) if "port" in value else None
    if not isinstance(absolute, str) or not absolute:
        absolute = None
    if not isinstance(relative, str) or not relative:
        relative = None
    if absolute is None and relative is None:
        # Without a place to upload to, the camera takes no snapshot.
        return
    commands.snapshot = SnapshotRequest(absolute, relative, port)


def _read_offline_ack(value: JSONValue, commands: Commands) -> None:
    """Read ``ContinuePushOffline``: the offline record received and what next."""
    if not isinstance(value, dict):
        commands.problems.append("ContinuePushOffline is not an object")
        return
    plate_id = _int(value.get("plateid"))
    proceed = _int(value.get("continue"))
    if plate_id is None or proceed not in {0, 1}:
        commands.problems.append(
            "ContinuePushOffline needs an integer plateid and continue 0 or 1"
        )
        return
    commands.offline_ack = OfflineAck(plate_id, proceed == 1)
