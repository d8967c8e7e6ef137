"""Check OCPP 1.6J payloads against the standard's JSON schemas.

The schemas are the Open Charge Alliance's, as shipped in the ``ocpp``
package (``ocpp/v16/schemas``); only its data is used. A payload that breaks
its schema is answered with the CALLERROR code OCPP-J 1.6 gives for that kind
of fault.
"""

from collections.abc import Mapping
from functools import cache
from importlib import resources
import json
from typing import Any, Final

from jsonschema import Draft4Validator
from jsonschema.exceptions import best_match

from .errors import ErrorCode, MessageError

# Requests a charge point sends to the central system (OCPP 1.6 §4).
CHARGE_POINT_ACTIONS: Final = frozenset(
    (
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
    )
)

# What each schema keyword that can fail means, in OCPP-J 1.6 error codes.
_CODES: Final[Mapping[str, ErrorCode]] = {
    "type": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    # CiString20Type and its kin are types with a length.
    "maxLength": ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    "required": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "minItems": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "maxItems": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
    "enum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "minimum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "maximum": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "multipleOf": ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
    "additionalProperties": ErrorCode.FORMATION_VIOLATION,
}


@cache
def known_actions() -> frozenset[str]:
    """Return every action OCPP 1.6 (with its security extension) defines."""
    folder = resources.files("ocpp") / "v16" / "schemas"
    return frozenset(
        name.removesuffix(".json")
        for entry in folder.iterdir()
        if (name := entry.name).endswith(".json") and not name.endswith("Response.json")
    )


@cache
def _validator(schema_name: str) -> Draft4Validator:
    """Load one schema, once."""
    text = (
        resources.files("ocpp") / "v16" / "schemas" / f"{schema_name}.json"
    ).read_text(encoding="utf-8-sig")
    return Draft4Validator(json.loads(text))


# The requests the central system sends, whose answers it checks.
CENTRAL_SYSTEM_ACTIONS: Final = frozenset(
    (
        "ChangeAvailability",
        "RemoteStartTransaction",
        "RemoteStopTransaction",
        "Reset",
        "UnlockConnector",
    )
)


def load_schemas() -> None:
    """Read every schema the central system uses; it does file I/O, so not in the loop."""
    known_actions()
    for action in CHARGE_POINT_ACTIONS:
        _validator(action)
        _validator(f"{action}Response")
    for action in CENTRAL_SYSTEM_ACTIONS:
        _validator(f"{action}Response")


def check_request(unique_id: str, action: str, payload: dict[str, Any]) -> None:
    """Raise MessageError unless a charge point may send this request.

    An action OCPP 1.6 does not define is NotImplemented; one it defines but
    a charge point does not send (or we do not serve) is NotSupported.
    """
    if action not in CHARGE_POINT_ACTIONS:
        code = (
            ErrorCode.NOT_SUPPORTED
            if action in known_actions()
            else ErrorCode.NOT_IMPLEMENTED
        )
        raise MessageError(code, f"the action {action!r} is not served here", unique_id)
    _check(_validator(action), payload, unique_id)


def check_response(action: str, payload: dict[str, Any]) -> None:
    """Raise MessageError unless a payload is a valid answer to ``action``."""
    _check(_validator(f"{action}Response"), payload, None)


def _check(
    validator: Draft4Validator, payload: dict[str, Any], unique_id: str | None
) -> None:
    """Raise MessageError for the most telling schema violation, if any."""
    if validator.is_valid(payload):
        return
    error = best_match(validator.iter_errors(payload))
    where = "/".join(str(part) for part in error.absolute_path) or "payload"
    code = _CODES.get(str(error.validator), ErrorCode.FORMATION_VIOLATION)
    raise MessageError(code, f"{where}: {error.message}", unique_id)
