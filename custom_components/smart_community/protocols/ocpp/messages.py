"""Read and write OCPP-J 1.6 RPC frames: CALL, CALLRESULT and CALLERROR.

Each websocket text frame holds one JSON array:

- CALL ``[2, "<uniqueId>", "<Action>", {payload}]``
- CALLRESULT ``[3, "<uniqueId>", {payload}]``
- CALLERROR ``[4, "<uniqueId>", "<errorCode>", "<description>", {details}]``

The unique ID is a string of at most 36 characters, chosen by the caller and
echoed in the answer.
"""

from dataclasses import dataclass, field
from enum import IntEnum
import json
from typing import Any, Final

from .errors import ErrorCode, MessageError

MAX_UNIQUE_ID_LENGTH: Final = 36

type Payload = dict[str, Any]


class MessageType(IntEnum):
    """Say what an OCPP-J frame is, by its first element."""

    CALL = 2
    CALL_RESULT = 3
    CALL_ERROR = 4


@dataclass(frozen=True, slots=True)
class Call:
    """Ask the other side to perform an action."""

    unique_id: str
    action: str
    payload: Payload


@dataclass(frozen=True, slots=True)
class CallResult:
    """Answer a CALL that succeeded."""

    unique_id: str
    payload: Payload


@dataclass(frozen=True, slots=True)
class CallError:
    """Answer a CALL that could not be performed."""

    unique_id: str
    code: str
    description: str = ""
    details: Payload = field(default_factory=dict)


type Message = Call | CallResult | CallError

_LENGTHS: Final = {
    MessageType.CALL: 4,
    MessageType.CALL_RESULT: 3,
    MessageType.CALL_ERROR: 5,
}


def encode_message(message: Message) -> str:
    """Write a message as the JSON text of one websocket frame."""
    match message:
        case Call(unique_id, action, payload):
            frame: list[Any] = [MessageType.CALL, unique_id, action, payload]
        case CallResult(unique_id, payload):
            frame = [MessageType.CALL_RESULT, unique_id, payload]
        case CallError(unique_id, code, description, details):
            frame = [MessageType.CALL_ERROR, unique_id, code, description, details]
    # Compact and not ASCII-escaped: descriptions and idTags may be Chinese.
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def decode_message(text: str) -> Message:
    """Read one frame, or raise MessageError naming what breaks the format.

    The error carries the frame's unique ID when it is a CALL whose ID could be
    read, so that the caller can answer it with a CALLERROR.
    """
    try:
        frame = json.loads(text)
    except ValueError:
        raise MessageError(
            ErrorCode.FORMATION_VIOLATION, "the frame is not JSON"
        ) from None
    except RecursionError:
        # A frame within the size limit can still nest deeper than the parser.
        raise MessageError(
            ErrorCode.FORMATION_VIOLATION, "the frame nests too deeply"
        ) from None
    if not isinstance(frame, list) or not frame:
        raise MessageError(
            ErrorCode.FORMATION_VIOLATION, "the frame is not a non-empty JSON array"
        )
    kind = frame[0]
    if type(kind) is not int or kind not in _LENGTHS:
        raise MessageError(
            ErrorCode.FORMATION_VIOLATION,
            f"the message type {kind!r} is not 2, 3 or 4",
            _answerable_id(frame),
        )
    message_type = MessageType(kind)
    unique_id = _unique_id(frame)
    # Only a CALL is answered; a broken answer is reported, never answered.
    answer_to = unique_id if message_type is MessageType.CALL else None
    if len(frame) != _LENGTHS[message_type]:
        raise MessageError(
            ErrorCode.FORMATION_VIOLATION,
            f"a message of type {kind} has {_LENGTHS[message_type]} elements, "
            f"not {len(frame)}",
            answer_to,
        )
    if unique_id is None:
        raise MessageError(
            ErrorCode.FORMATION_VIOLATION,
            f"the unique ID must be a string of 1 to {MAX_UNIQUE_ID_LENGTH} characters",
        )
    match message_type:
        case MessageType.CALL:
            return _call(frame, unique_id)
        case MessageType.CALL_RESULT:
            return CallResult(unique_id, _payload(frame[2], None))
        case MessageType.CALL_ERROR:
            return _call_error(frame, unique_id)


def _unique_id(frame: list[Any]) -> str | None:
    """Return the frame's unique ID if it is a well-formed one."""
    # The ID is the second element.
    if len(frame) < 2:
        return None
    unique_id = frame[1]
    if (
        not isinstance(unique_id, str)
        or not unique_id
        or len(unique_id) > MAX_UNIQUE_ID_LENGTH
    ):
        return None
    return unique_id


def _answerable_id(frame: list[Any]) -> str | None:
    """Return the ID of a frame with a bad type if it looks like a CALL."""
    return _unique_id(frame) if len(frame) == _LENGTHS[MessageType.CALL] else None


def _payload(value: Any, unique_id: str | None) -> dict[str, Any]:
    """Return a payload, which OCPP-J always writes as a JSON object."""
    if not isinstance(value, dict):
        raise MessageError(
            ErrorCode.FORMATION_VIOLATION, "the payload is not a JSON object", unique_id
        )
    return value


def _call(frame: list[Any], unique_id: str) -> Call:
    """Read the action and payload of a CALL."""
    action = frame[2]
    if not isinstance(action, str) or not action:
        raise MessageError(
            ErrorCode.FORMATION_VIOLATION, "the action is not a string", unique_id
        )
    return Call(unique_id, action, _payload(frame[3], unique_id))


def _call_error(frame: list[Any], unique_id: str) -> CallError:
    """Read the code, description and details of a CALLERROR."""
    _, _, code, description, details = frame
    if not isinstance(code, str) or not isinstance(description, str):
        raise MessageError(
            ErrorCode.FORMATION_VIOLATION,
            "a CALLERROR's code and description must be strings",
        )
    return CallError(unique_id, code, description, _payload(details, None))
