"""Read fields of ISAPI JSON request bodies, refusing bad ones as firmware does."""

from datetime import datetime, tzinfo
import json

from simulator.devices.isapi.status import IsapiError, StatusCode
from simulator.jsonvalue import JSONValue

type JSONFields = dict[str, JSONValue]


def bad_field(field: str) -> IsapiError:
    """Return the error for a missing or malformed field."""
    return IsapiError(StatusCode.INVALID_CONTENT, "badParameters", f"bad {field}")


def decode_json(body: bytes) -> object:
    """Decode a request body as JSON; raise the terminal's format error if it is not."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError, ValueError:
        raise IsapiError(
            StatusCode.INVALID_FORMAT, "badJsonFormat", "the body is not JSON"
        ) from None


def require_object(document: object, key: str) -> JSONFields:
    """Return ``document[key]`` when the body is ``{key: {...}}``, else raise."""
    if not isinstance(document, dict):
        raise bad_field(key)
    inner: object = document.get(key)
    if not isinstance(inner, dict):
        raise bad_field(key)
    return inner


def int_field(fields: JSONFields, key: str, *, default: int) -> int:
    """Return a non-negative integer field, or ``default`` when absent."""
    value = fields.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise bad_field(key)
    return value


def optional_text(fields: JSONFields, key: str) -> str | None:
    """Return a string field, or None when it is absent or empty."""
    value = fields.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_field(key)
    return value


def required_text(fields: JSONFields, key: str) -> str:
    """Return a non-empty string field, raising when it is absent."""
    if (value := optional_text(fields, key)) is None:
        raise bad_field(key)
    return value


def time_field(fields: JSONFields, key: str, local_zone: tzinfo) -> datetime | None:
    """Return an ISO 8601 time field; a time without offset is in ``local_zone``."""
    value = optional_text(fields, key)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise bad_field(key) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=local_zone)


def employee_numbers(fields: JSONFields, key: str = "EmployeeNoList") -> list[str]:
    """Return the ``employeeNo`` values of a ``[{"employeeNo": "1001"}, ...]`` list."""
    items = fields.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise bad_field(key)
    numbers: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            raise bad_field(key)
        numbers.append(required_text(item, "employeeNo"))
    return numbers
