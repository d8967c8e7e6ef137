"""Test OCPP-J 1.6 framing and the schema checks of OCPP 1.6J payloads.

Every malformed frame must come out as MessageError with the error code
OCPP-J 1.6 names for it, and with the unique ID only when the frame is a CALL
whose ID could be read (only a CALL is answered with a CALLERROR).
"""

import json
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.smart_community.protocols.ocpp.errors import (
    ErrorCode,
    MessageError,
)
from custom_components.smart_community.protocols.ocpp.messages import (
    MAX_UNIQUE_ID_LENGTH,
    Call,
    CallError,
    CallResult,
    Message,
    decode_message,
    encode_message,
)
from custom_components.smart_community.protocols.ocpp.schemas import (
    CHARGE_POINT_ACTIONS,
    check_request,
    check_response,
    known_actions,
)

BOOT = {"chargePointVendor": "绿能", "chargePointModel": "EB-10"}
LONGEST_ID = "x" * MAX_UNIQUE_ID_LENGTH


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Skip Home Assistant: framing needs none."""


def refusal(text: str) -> MessageError:
    """Decode a frame that must be refused and return the error."""
    with pytest.raises(MessageError) as caught:
        decode_message(text)
    return caught.value


# ---- round trips ----


@pytest.mark.parametrize(
    ("message", "frame"),
    [
        (
            Call("19223201", "BootNotification", BOOT),
            [2, "19223201", "BootNotification", BOOT],
        ),
        (
            CallResult("19223201", {"status": "Accepted", "interval": 300}),
            [3, "19223201", {"status": "Accepted", "interval": 300}],
        ),
        (
            CallError("a1", "NotImplemented", "不支持", {"hint": 1}),
            [4, "a1", "NotImplemented", "不支持", {"hint": 1}],
        ),
        (
            CallError(LONGEST_ID, "GenericError"),
            [4, LONGEST_ID, "GenericError", "", {}],
        ),
    ],
)
def test_round_trip(message: Message, frame: list[Any]) -> None:
    """Write each message type as OCPP-J's array and read it back."""
    text = encode_message(message)
    assert json.loads(text) == frame
    assert decode_message(text) == message


def test_encoding_is_compact_and_keeps_chinese() -> None:
    """Write no padding and no Unicode escapes: idTags and descriptions may be Chinese."""
    text = encode_message(CallError("1", "GenericError", "温度过高"))
    assert text == '[4,"1","GenericError","温度过高",{}]'


def test_decoding_accepts_whitespace() -> None:
    """Read a frame written with spaces and newlines, as some charge points do."""
    text = '[ 2 ,\n "id-1" , "Heartbeat" , { } ]'
    assert decode_message(text) == Call("id-1", "Heartbeat", {})


# ---- malformed frames ----


@pytest.mark.parametrize(
    ("text", "unique_id"),
    [
        # Not JSON, not an array, or an empty one: nothing can be answered.
        pytest.param("not json", None, id="not-json"),
        pytest.param('[2, "id", "Heartbeat", {}', None, id="truncated"),
        pytest.param("", None, id="empty-text"),
        pytest.param('{"2": "id"}', None, id="object"),
        pytest.param('"[2]"', None, id="string"),
        pytest.param("[]", None, id="empty-array"),
        pytest.param("[" * 100_000 + "]" * 100_000, None, id="too-deep"),
        # A bad type ID: answered only if the frame is shaped like a CALL.
        pytest.param('[5, "id", "Heartbeat", {}]', "id", id="type-5-call-shaped"),
        pytest.param('["2", "id", "Heartbeat", {}]', "id", id="type-string"),
        pytest.param('[true, "id", "Heartbeat", {}]', "id", id="type-bool"),
        pytest.param('[2.0, "id", "Heartbeat", {}]', "id", id="type-float"),
        pytest.param('[null, "id", "Heartbeat", {}]', "id", id="type-null"),
        pytest.param('[1, "id", {}]', None, id="type-1-short"),
        pytest.param('[5, 7, "Heartbeat", {}]', None, id="type-5-bad-id"),
        pytest.param("[2]", None, id="type-only"),
        # Wrong length: answered for a CALL only.
        pytest.param('[2, "id", "Heartbeat"]', "id", id="call-short"),
        pytest.param('[2, "id", "Heartbeat", {}, {}]', "id", id="call-long"),
        pytest.param('[3, "id", {}, {}]', None, id="result-long"),
        pytest.param('[3, "id"]', None, id="result-short"),
        pytest.param('[4, "id", "GenericError", ""]', None, id="error-short"),
        pytest.param('[2, 7, "Heartbeat"]', None, id="call-short-bad-id"),
        # A unique ID that is not a string of 1 to 36 characters.
        pytest.param('[2, 17, "Heartbeat", {}]', None, id="id-number"),
        pytest.param('[2, "", "Heartbeat", {}]', None, id="id-empty"),
        pytest.param('[2, null, "Heartbeat", {}]', None, id="id-null"),
        pytest.param(
            json.dumps([2, LONGEST_ID + "y", "Heartbeat", {}]), None, id="id-37"
        ),
        pytest.param("[3, 17, {}]", None, id="result-id-number"),
        # A payload that is not an object.
        pytest.param('[2, "id", "Heartbeat", []]', "id", id="call-payload-array"),
        pytest.param('[2, "id", "Heartbeat", null]', "id", id="call-payload-null"),
        pytest.param('[3, "id", "ok"]', None, id="result-payload-string"),
        pytest.param('[4, "id", "GenericError", "", []]', None, id="error-details"),
        # An action that is not a non-empty string.
        pytest.param('[2, "id", 5, {}]', "id", id="action-number"),
        pytest.param('[2, "id", "", {}]', "id", id="action-empty"),
        pytest.param('[2, "id", null, {}]', "id", id="action-null"),
        # A CALLERROR whose code or description is not a string.
        pytest.param('[4, "id", 404, "", {}]', None, id="error-code-number"),
        pytest.param('[4, "id", "GenericError", null, {}]', None, id="error-desc-null"),
    ],
)
def test_malformed_frame(text: str, unique_id: str | None) -> None:
    """Refuse a malformed frame with FormationViolation, answerable only if a CALL."""
    error = refusal(text)
    assert error.code is ErrorCode.FORMATION_VIOLATION
    assert error.unique_id == unique_id
    assert error.detail
    assert str(error) == error.detail


def test_longest_unique_id_is_accepted() -> None:
    """Take a unique ID of exactly 36 characters."""
    assert decode_message(json.dumps([3, LONGEST_ID, {}])) == CallResult(LONGEST_ID, {})


def test_bad_type_detail_names_the_type() -> None:
    """Say which message type was wrong."""
    assert "'2'" in refusal('["2", "id", "Heartbeat", {}]').detail


# ---- schemas ----


@pytest.mark.parametrize(
    ("action", "payload", "code", "where"),
    [
        pytest.param(
            "BootNotification",
            {"chargePointVendor": "绿能"},
            ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
            "payload",
            id="missing-field",
        ),
        pytest.param(
            "BootNotification",
            {"chargePointVendor": 7, "chargePointModel": "EB-10"},
            ErrorCode.TYPE_CONSTRAINT_VIOLATION,
            "chargePointVendor",
            id="wrong-type",
        ),
        pytest.param(
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Busy"},
            ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
            "status",
            id="bad-enum",
        ),
        pytest.param(
            "Heartbeat",
            {"uptime": 12},
            ErrorCode.FORMATION_VIOLATION,
            "payload",
            id="extra-property",
        ),
        pytest.param(
            "BootNotification",
            {"chargePointVendor": "v" * 21, "chargePointModel": "EB-10"},
            ErrorCode.TYPE_CONSTRAINT_VIOLATION,
            "chargePointVendor",
            id="cistring-too-long",
        ),
        pytest.param(
            "MeterValues",
            {
                "connectorId": 1,
                "meterValue": [
                    {
                        "timestamp": "2026-05-01T08:00:00Z",
                        "sampledValue": [{"value": "1", "unit": "Parsec"}],
                    }
                ],
            },
            ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
            "meterValue/0/sampledValue/0/unit",
            id="nested-enum",
        ),
    ],
)
def test_schema_violation(
    action: str, payload: dict[str, Any], code: ErrorCode, where: str
) -> None:
    """Map each kind of schema failure to its OCPP-J 1.6 error code."""
    with pytest.raises(MessageError) as caught:
        check_request("req-1", action, payload)
    assert caught.value.code is code
    assert caught.value.unique_id == "req-1"
    assert caught.value.detail.startswith(f"{where}: ")


def test_valid_requests_pass() -> None:
    """Take valid requests of the actions a charge point sends."""
    check_request("1", "BootNotification", BOOT)
    check_request("2", "Heartbeat", {})
    check_request(
        "3",
        "StatusNotification",
        {"connectorId": 2, "errorCode": "HighTemperature", "status": "Faulted"},
    )


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ("Reset", ErrorCode.NOT_SUPPORTED),
        ("RemoteStopTransaction", ErrorCode.NOT_SUPPORTED),
        ("SecurityEventNotification", ErrorCode.NOT_SUPPORTED),
        ("Refuel", ErrorCode.NOT_IMPLEMENTED),
        ("heartbeat", ErrorCode.NOT_IMPLEMENTED),
    ],
)
def test_unserved_action(action: str, code: ErrorCode) -> None:
    """Answer an unknown action NotImplemented, a known one we do not take NotSupported."""
    with pytest.raises(MessageError) as caught:
        check_request("u-9", action, {})
    assert caught.value.code is code
    assert caught.value.unique_id == "u-9"
    assert repr(action) in caught.value.detail


def test_known_actions() -> None:
    """Know every 1.6 request (security extension included) and no response."""
    actions = known_actions()
    assert actions > CHARGE_POINT_ACTIONS
    assert {"Reset", "RemoteStartTransaction", "SignCertificate"} <= actions
    assert not any(action.endswith("Response") for action in actions)


def test_check_response() -> None:
    """Check answers to our requests; a bad one is not answerable."""
    check_response("RemoteStopTransaction", {"status": "Accepted"})
    check_response("Reset", {"status": "Rejected"})
    with pytest.raises(MessageError) as caught:
        check_response("RemoteStopTransaction", {"status": "Maybe"})
    assert caught.value.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    assert caught.value.unique_id is None
    with pytest.raises(MessageError) as caught:
        check_response("UnlockConnector", {})
    assert caught.value.code is ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION


# ---- fuzz ----

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-5, max_value=10)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
FRAME_LIKE = st.tuples(
    st.sampled_from([2, 3, 4, 1, 5, "2", True, None]),
    st.one_of(st.text(max_size=40), st.integers(), st.none()),
    st.lists(JSON_VALUES, max_size=4),
).map(lambda parts: [parts[0], parts[1], *parts[2]])
TEXTS = st.one_of(
    st.text(),
    JSON_VALUES.map(json.dumps),
    FRAME_LIKE.map(json.dumps),
    FRAME_LIKE.map(lambda frame: json.dumps(frame)[:-1]),
)


def decode_or_error(text: str) -> Message | MessageError:
    """Return the decoded message, or the MessageError; let anything else out."""
    try:
        return decode_message(text)
    except MessageError as error:
        return error


@settings(max_examples=600, deadline=None, database=None)
@given(TEXTS)
def test_fuzz_decode_raises_only_message_error(text: str) -> None:
    """Decode any text to a message or MessageError, and nothing else."""
    result = decode_or_error(text)
    if isinstance(result, MessageError):
        assert isinstance(result.code, ErrorCode)
        if result.unique_id is not None:
            # Only a CALL (or a CALL-shaped array) gets an answer, with its own ID.
            frame = json.loads(text)
            assert isinstance(frame, list)
            assert (type(frame[0]) is int and frame[0] == 2) or len(frame) == 4
            assert frame[1] == result.unique_id
        return
    # What was read writes back to the same frame.
    assert json.loads(encode_message(result)) == json.loads(text)
    assert decode_message(encode_message(result)) == result
