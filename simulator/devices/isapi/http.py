"""Answer ISAPI requests over aiohttp: formats, bodies and error rendering."""

import json

from aiohttp import web

from simulator.devices.isapi.jsonbody import decode_json
from simulator.devices.isapi.status import XML_CONTENT_TYPE, IsapiError, StatusCode
from simulator.jsonvalue import JSONObject


def require_json_format(request: web.Request) -> None:
    """Refuse a JSON resource called without ``?format=json``, as firmware does."""
    if request.query.get("format") != "json":
        raise IsapiError(StatusCode.INVALID_OPERATION, "notSupport", "add ?format=json")


async def json_body(request: web.Request) -> object:
    """Check ``?format=json`` and decode the request's JSON body."""
    require_json_format(request)
    return decode_json(await request.read())


def json_response(body: JSONObject, status: int = 200) -> web.Response:
    """Answer with JSON, UTF-8 text unescaped as firmware writes it."""
    return web.Response(
        text=json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="UTF-8",
    )


def xml_response(body: bytes, status: int = 200) -> web.Response:
    """Answer with an XML document."""
    return web.Response(
        body=body, status=status, content_type=XML_CONTENT_TYPE, charset="UTF-8"
    )


def error_response(request: web.Request, error: IsapiError) -> web.Response:
    """Render an ISAPI error in the request's format (JSON with ?format=json)."""
    if request.query.get("format") == "json":
        return json_response(error.to_json(request.path_qs), status=error.http_status)
    return xml_response(error.to_xml(request.path_qs), status=error.http_status)
