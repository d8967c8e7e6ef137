"""Decode ISAPI payloads: JSON or XML bodies, ResponseStatus and lockout answers."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
import json
from typing import Any, Final
from xml.etree import ElementTree as ET

from .errors import (
    IsapiAlreadyExistsError,
    IsapiAuthError,
    IsapiCapacityError,
    IsapiFaceRejectedError,
    IsapiInvalidResponseError,
    IsapiLockedError,
    IsapiNotFoundError,
    IsapiNotSupportedError,
    IsapiResponseError,
)

ISAPI_NAMESPACE: Final = "http://www.isapi.org/ver20/XMLSchema"
# statusCode 1 is OK; 7 is "reboot required", which still means the change took.
_SUCCESS_CODES: Final = frozenset({1, 7})
# Fragments of subStatusCode values, lower-cased, that sort refusals into the
# errors the integration must tell apart (for example "employeeNoAlreadyExist",
# "deviceUserAlreadyExistFace", "notSupport", "employeeNoNotExist", "userFull",
# "faceLibFull", "noMemory", "faceQualityLow", "pictureResolutionError",
# "modelingFailed"). They are tried in this order, so "faceLibFull" is a
# capacity error and "faceNotExist" a missing item.
_ALREADY_EXISTS: Final = ("alreadyexist",)
_CAPACITY: Final = ("full", "nomemory", "overmax", "exceedmax")
_FACE: Final = ("face", "picture", "pic", "image", "model", "jpg", "jpeg")
_NOT_SUPPORTED: Final = ("notsupport",)
_NOT_FOUND: Final = ("notexist", "nonexist", "nomatch")

type JsonObject = dict[str, Any]


def local_name(tag: str) -> str:
    """Return an XML tag without its namespace."""
    return tag.rpartition("}")[2]


def parse_xml(body: bytes) -> ET.Element:
    """Parse an XML body, or raise IsapiInvalidResponseError.

    Documents with a DOCTYPE are refused, so no entity is ever expanded.
    """
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise IsapiInvalidResponseError("The device sent XML with a DOCTYPE")
    try:
        # The DOCTYPE check above rules out entity expansion, and ElementTree
        # never fetches external resources.
        return ET.fromstring(body)  # noqa: S314
    except ET.ParseError as err:
        raise IsapiInvalidResponseError(f"The device sent invalid XML: {err}") from err


def xml_text(element: ET.Element, name: str) -> str | None:
    """Return the stripped text of the first descendant with a local name."""
    for child in element.iter():
        if local_name(child.tag) == name:
            return (child.text or "").strip()
    return None


def parse_json(body: bytes) -> JsonObject:
    """Parse a JSON object body, or raise IsapiInvalidResponseError."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as err:
        raise IsapiInvalidResponseError(f"The device sent invalid JSON: {err}") from err
    if not isinstance(data, dict):
        raise IsapiInvalidResponseError("The device sent JSON that is not an object")
    return data


def looks_like_json(body: bytes) -> bool:
    """Tell whether a body starts like a JSON object, whatever its Content-Type says."""
    return body.lstrip()[:1] == b"{"


def looks_like_xml(body: bytes) -> bool:
    """Tell whether a body starts like an XML document."""
    return body.lstrip()[:1] == b"<"


def as_int(value: object) -> int | None:
    """Return an int from a JSON or XML value, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def as_str(value: object) -> str | None:
    """Return a non-empty string from a JSON value (numbers allowed), or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str):
        return str(value).strip() or None
    return None


def as_object(value: object) -> JsonObject:
    """Return a JSON object, or an empty one when value is something else."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    """Return a JSON array; a lone object becomes a list of one; anything else, []."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    return []


@dataclass(frozen=True, slots=True)
class ResponseStatus:
    """Hold the fields of an ISAPI ResponseStatus (XML or JSON)."""

    status_code: int | None
    status_string: str | None
    sub_status_code: str | None
    error_msg: str | None

    @property
    def ok(self) -> bool:
        """Tell whether the status reports success."""
        if self.status_code is not None:
            return self.status_code in _SUCCESS_CODES
        return (self.status_string or "").lower() == "ok"


def _response_status_from_mapping(data: Mapping[str, Any]) -> ResponseStatus | None:
    """Return the ResponseStatus in a JSON object, or None if it has none."""
    if "ResponseStatus" in data and isinstance(data["ResponseStatus"], dict):
        data = data["ResponseStatus"]
    if "statusCode" not in data and "subStatusCode" not in data:
        return None
    return ResponseStatus(
        status_code=as_int(data.get("statusCode")),
        status_string=as_str(data.get("statusString")),
        sub_status_code=as_str(data.get("subStatusCode")),
        error_msg=as_str(data.get("errorMsg")),
    )


def parse_response_status(body: bytes) -> ResponseStatus | None:
    """Return the ResponseStatus a body carries, or None for any other body."""
    try:
        if looks_like_json(body):
            return _response_status_from_mapping(parse_json(body))
        if looks_like_xml(body):
            root = parse_xml(body)
            if local_name(root.tag) != "ResponseStatus":
                return None
            return ResponseStatus(
                status_code=as_int(xml_text(root, "statusCode")),
                status_string=xml_text(root, "statusString") or None,
                sub_status_code=xml_text(root, "subStatusCode") or None,
                error_msg=xml_text(root, "errorMsg") or None,
            )
    except IsapiInvalidResponseError:
        return None
    return None


def response_error(
    status: ResponseStatus | None, http_status: int | None, default: str
) -> IsapiResponseError:
    """Build the most specific error for a refused request."""
    sub = (status.sub_status_code if status else None) or ""
    message = (
        (status.error_msg or status.status_string) if status else None
    ) or default
    kwargs: dict[str, Any] = {
        "http_status": http_status,
        "status_code": status.status_code if status else None,
        "sub_status_code": status.sub_status_code if status else None,
    }
    lowered = sub.lower()
    error_class: type[IsapiResponseError] = IsapiResponseError
    if any(part in lowered for part in _ALREADY_EXISTS):
        error_class = IsapiAlreadyExistsError
    elif any(part in lowered for part in _NOT_SUPPORTED) or (
        http_status == 404 and not lowered
    ):
        error_class = IsapiNotSupportedError
    elif any(part in lowered for part in _NOT_FOUND) or http_status == 404:
        error_class = IsapiNotFoundError
    elif any(part in lowered for part in _CAPACITY):
        error_class = IsapiCapacityError
    elif any(part in lowered for part in _FACE):
        error_class = IsapiFaceRejectedError
    return error_class(message, **kwargs)


@dataclass(frozen=True, slots=True)
class UserCheck:
    """Hold the account state a device sends with a refused login."""

    locked: bool
    unlock_in: timedelta
    attempts_left: int | None


def _user_check_from_mapping(data: Mapping[str, Any]) -> UserCheck | None:
    """Return the userCheck in a JSON object, or None if it has none."""
    for key in ("userCheck", "UserCheck"):
        if isinstance(data.get(key), dict):
            data = data[key]
            break
    if "lockStatus" not in data and "retryLoginTime" not in data:
        return None
    return UserCheck(
        locked=str(data.get("lockStatus", "")).strip().lower() == "lock",
        unlock_in=timedelta(seconds=as_int(data.get("unlockTime")) or 0),
        attempts_left=as_int(data.get("retryLoginTime")),
    )


def parse_user_check(body: bytes) -> UserCheck | None:
    """Return the userCheck a 401 body carries (XML or JSON), or None."""
    try:
        if looks_like_json(body):
            return _user_check_from_mapping(parse_json(body))
        if looks_like_xml(body):
            root = parse_xml(body)
            fields = {
                name: text
                for name in ("lockStatus", "unlockTime", "retryLoginTime")
                if (text := xml_text(root, name)) is not None
            }
            return _user_check_from_mapping(fields)
    except IsapiInvalidResponseError:
        return None
    return None


def auth_error(body: bytes) -> IsapiAuthError | IsapiLockedError:
    """Build the error for a final 401: a lockout if the body says so."""
    check = parse_user_check(body)
    if check is not None and check.locked:
        return IsapiLockedError(check.unlock_in)
    return IsapiAuthError(
        "The device refused the username or password",
        attempts_left=check.attempts_left if check else None,
    )
