"""Build ISAPI status answers (``ResponseStatus``) in XML and JSON, and parse XML."""

from enum import IntEnum
from typing import Final
import xml.etree.ElementTree as ElementTree

from simulator.jsonvalue import JSONObject

ISAPI_XMLNS: Final = "http://www.isapi.org/ver20/XMLSchema"
XML_CONTENT_TYPE: Final = "application/xml"


class StatusCode(IntEnum):
    """Name the ISAPI ``statusCode`` values a terminal answers with."""

    OK = 1
    DEVICE_BUSY = 2
    DEVICE_ERROR = 3
    INVALID_OPERATION = 4
    INVALID_FORMAT = 5
    INVALID_CONTENT = 6
    REBOOT_REQUIRED = 7


# The statusString that goes with each statusCode; XML and JSON bodies differ
# only in the format word ("Invalid XML Format" vs "Invalid JSON Format").
_STATUS_STRINGS: Final = {
    StatusCode.OK: "OK",
    StatusCode.DEVICE_BUSY: "Device Busy",
    StatusCode.DEVICE_ERROR: "Device Error",
    StatusCode.INVALID_OPERATION: "Invalid Operation",
    StatusCode.INVALID_FORMAT: "Invalid {format} Format",
    StatusCode.INVALID_CONTENT: "Invalid {format} Content",
    StatusCode.REBOOT_REQUIRED: "Reboot Required",
}


def status_string(code: StatusCode, body_format: str) -> str:
    """Return the ``statusString`` of ``code`` for an ``XML`` or ``JSON`` body."""
    return _STATUS_STRINGS[code].format(format=body_format)


class IsapiError(Exception):
    """Refuse a request the way the terminal does: a status body and an HTTP code."""

    def __init__(
        self,
        code: StatusCode,
        sub_status: str,
        message: str = "",
        *,
        http_status: int = 400,
    ) -> None:
        """Keep the ISAPI status, its sub-status, a hint and the HTTP status."""
        super().__init__(f"{int(code)} {sub_status}: {message}")
        self.code = code
        self.sub_status = sub_status
        # Free text for people; firmware puts the offending field or a hint here.
        self.message = message
        self.http_status = http_status

    def to_json(self, request_url: str) -> JSONObject:
        """Return the JSON ``ResponseStatus`` body of this error."""
        return json_status(
            request_url, self.code, self.sub_status, self.message or self.sub_status
        )

    def to_xml(self, request_url: str) -> bytes:
        """Return the XML ``ResponseStatus`` body of this error."""
        return xml_status(request_url, self.code, self.sub_status)


def json_status(
    request_url: str,
    code: StatusCode = StatusCode.OK,
    sub_status: str = "ok",
    message: str | None = None,
) -> JSONObject:
    """Return a JSON ``ResponseStatus`` object (success unless told otherwise)."""
    body: JSONObject = {
        "requestURL": request_url,
        "statusCode": int(code),
        "statusString": status_string(code, "JSON"),
        "subStatusCode": sub_status,
    }
    if code is not StatusCode.OK:
        body["errorMsg"] = message or sub_status
    return body


def xml_status(
    request_url: str, code: StatusCode = StatusCode.OK, sub_status: str = "ok"
) -> bytes:
    """Return an XML ``ResponseStatus`` document (success unless told otherwise)."""
    root = ElementTree.Element(
        "ResponseStatus", {"version": "2.0", "xmlns": ISAPI_XMLNS}
    )
    for tag, text in (
        ("requestURL", request_url),
        ("statusCode", str(int(code))),
        ("statusString", status_string(code, "XML")),
        ("subStatusCode", sub_status),
    ):
        ElementTree.SubElement(root, tag).text = text
    return xml_document(root)


def xml_document(root: ElementTree.Element) -> bytes:
    """Serialise an element as a UTF-8 document with the XML declaration."""
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(
        root, encoding="unicode"
    ).encode("utf-8")


def xml_element(tag: str, fields: dict[str, str]) -> ElementTree.Element:
    """Return an ISAPI element holding one child element per field, in order."""
    root = ElementTree.Element(tag, {"version": "2.0", "xmlns": ISAPI_XMLNS})
    for name, text in fields.items():
        ElementTree.SubElement(root, name).text = text
    return root


def parse_xml(body: bytes) -> ElementTree.Element:
    """Parse a request's XML body, refusing DTDs; raise ``IsapiError`` if malformed."""
    # Entity declarations are the XML attacks; a terminal's requests never need a
    # DTD, so refusing one makes the standard parser safe for these small bodies.
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise IsapiError(StatusCode.INVALID_FORMAT, "badXmlFormat", "DTD not allowed")
    try:
        return ElementTree.fromstring(body)  # noqa: S314 - DTDs refused above
    except ElementTree.ParseError as error:
        raise IsapiError(
            StatusCode.INVALID_FORMAT, "badXmlFormat", f"malformed XML: {error}"
        ) from None


def local_name(element: ElementTree.Element) -> str:
    """Return an element's tag without its ``{namespace}`` prefix."""
    return element.tag.rpartition("}")[2]


def child_text(element: ElementTree.Element, name: str) -> str | None:
    """Return the text of the first child named ``name``, in any namespace."""
    for child in element:
        if local_name(child) == name:
            return (child.text or "").strip()
    return None
