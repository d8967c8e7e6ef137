"""Serve the control API that tests and the demo use to inspect and drive devices.

Routes (all JSON):
  GET  /health                               liveness and device counts
  GET  /scenario                             the scenario JSON printed at start-up
  GET  /devices                              every device's description
  GET  /devices/{id}                         one device's snapshot
  POST /devices/{id}/actions/{action}        run an action; body: JSON object of params
Errors answer ``{"error": "..."}`` with 400 (bad request), 404 (unknown device,
action or route) or 500 (the device failed).
"""

import json
import logging
from typing import Final, cast

from aiohttp import web
from aiohttp.typedefs import Handler

from simulator.community import SimulatedCommunity
from simulator.devices import ActionError, SimulatedDevice
from simulator.jsonvalue import JSONObject

_LOGGER: Final = logging.getLogger(__name__)

# Requests are answered at once; a short grace keeps shutdown quick.
_SHUTDOWN_GRACE: Final = 2.0


def _error(status: int, message: str) -> web.Response:
    """Answer with a JSON error body."""
    return web.json_response({"error": message}, status=status)


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn aiohttp's own errors (unknown route, wrong method) into JSON errors."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return _error(error.status, error.reason)


class ControlServer:
    """Serve the control API for one running community on loopback."""

    def __init__(self, community: SimulatedCommunity) -> None:
        """Prepare the routes; nothing listens until ``start``."""
        self.community = community
        self.url = ""
        app = web.Application(middlewares=[_json_errors])
        app.router.add_get("/health", self._health)
        app.router.add_get("/scenario", self._scenario)
        app.router.add_get("/devices", self._devices)
        app.router.add_get("/devices/{device_id}", self._device)
        app.router.add_post("/devices/{device_id}/actions/{action}", self._action)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=_SHUTDOWN_GRACE
        )

    async def start(self, host: str, port: int) -> str:
        """Listen on ``host``:``port`` (0 = any free port) and return the base URL."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = int(self._runner.addresses[0][1])
        url_host = f"[{host}]" if ":" in host else host
        self.url = f"http://{url_host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        await self._runner.cleanup()

    def _find_device(self, request: web.Request) -> SimulatedDevice | None:
        """Return the device named in the request path, if it exists."""
        return self.community.devices.get(request.match_info["device_id"])

    async def _health(self, request: web.Request) -> web.Response:
        """Say the simulator is up, with device counts."""
        devices = self.community.devices.values()
        return web.json_response(
            {
                "status": "ok",
                "scenario": self.community.scenario.name,
                "devices": len(devices),
                "implemented": sum(device.implemented for device in devices),
                "running": sum(device.running for device in devices),
            }
        )

    async def _scenario(self, request: web.Request) -> web.Response:
        """Return the scenario JSON, the same as printed at start-up."""
        return web.json_response(self.community.describe(self.url))

    async def _devices(self, request: web.Request) -> web.Response:
        """Return every device's description."""
        return web.json_response(
            [device.describe() for device in self.community.devices.values()]
        )

    async def _device(self, request: web.Request) -> web.Response:
        """Return one device's snapshot."""
        if (device := self._find_device(request)) is None:
            return _error(404, f"unknown device {request.match_info['device_id']!r}")
        return web.json_response(device.snapshot())

    async def _action(self, request: web.Request) -> web.Response:
        """Run a device action with the JSON body as its parameters."""
        if (device := self._find_device(request)) is None:
            return _error(404, f"unknown device {request.match_info['device_id']!r}")
        action = request.match_info["action"]
        params: object = {}
        if request.can_read_body and (body := await request.text()).strip():
            try:
                params = json.loads(body)
            except ValueError as error:
                return _error(400, f"the body is not valid JSON: {error}")
        if not isinstance(params, dict):
            return _error(400, "the body must be a JSON object of action parameters")
        try:
            result = await device.handle_action(action, cast(JSONObject, params))
        except ActionError as error:
            return _error(error.status, str(error))
        except Exception:
            _LOGGER.exception("Action %s of device %s failed", action, device.id)
            return _error(500, f"action {action!r} of device {device.id!r} failed")
        return web.json_response(result)
