"""Play a phone that runs the Home Assistant companion app for Android.

The phone speaks Home Assistant's ``mobile_app`` protocol as the app does, and
it is its own push gateway: Home Assistant's notify platform posts each push to
``app_data.push_url``, which in real life is the app's relay (it forwards the
push through Firebase) and here is the phone's ``POST /push``.

- ``register`` (``url``, ``token``): POST ``/api/mobile_app/registrations`` with
  the bearer token, as the app's onboarding does, and keep the webhook id Home
  Assistant answers with. Registering again registers anew: Home Assistant
  replaces the entry of the same app and device id and hands out a new webhook.
- ``POST /push``: record the notification and answer 201 with the relay's rate
  limits. A wrong push token gets 403 and a body that is not a JSON object 400,
  each with a JSON ``{"message": ...}`` that Home Assistant puts in its log.
- ``answer`` (``button`` index or ``action`` id): tap a button of a received
  notification; the app reports the tap by firing the
  ``mobile_app_notification_action`` event through the registration's webhook.
"""

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
import hmac
import json
import logging
import secrets
from typing import Final, Self, override
import uuid

import aiohttp
from aiohttp import hdrs, web
from yarl import URL

from simulator.devices.base import (
    ActionError,
    PortInfo,
    SimulatedDevice,
    UnknownActionError,
    register_kind,
)
from simulator.devices.http_site import listen
from simulator.devices.named_options import NamedOptionReader
from simulator.jsonvalue import JSONObject, JSONValue
from simulator.kinds import DeviceKind
from simulator.scenario import DeviceSpec, Scenario

_LOGGER: Final = logging.getLogger(__name__)

_PROTOCOL: Final = "mobile-app-push-http"
APP_ID: Final = "io.homeassistant.companion.android"
APP_NAME: Final = "Home Assistant"
NOTIFICATION_ACTION_EVENT: Final = "mobile_app_notification_action"
_REGISTRATIONS_PATH: Final = "/api/mobile_app/registrations"
# The state keeps the newest notifications only, so a long demo stays small.
_MAX_NOTIFICATIONS: Final = 100
# What the app's relay allows a device per UTC day; the phone only reports it.
_DAILY_PUSH_LIMIT: Final = 500
# Fields of a notification the app hands back with a tapped button.
_ECHOED_FIELDS: Final = ("title", "message")


class HomeAssistantRequestError(ActionError):
    """Say that Home Assistant refused a request or could not be reached."""

    status = 502


class NotReadyError(ActionError):
    """Say that the phone is not in a state to do what was asked."""

    status = 409


@dataclass(frozen=True, slots=True)
class PhoneOptions:
    """Hold a phone's scenario options, validated, with their defaults."""

    manufacturer: str = "Xiaomi"
    model: str = "Redmi Note 13"
    os_name: str = "Android"
    os_version: str = "14"
    app_version: str = "2026.11.1-full"
    # The address Home Assistant posts pushes to; None: the listening address.
    push_host: str | None = None
    http_timeout_seconds: float = 10.0

    @classmethod
    def from_spec(cls, spec: DeviceSpec) -> Self:
        """Read and check the options of ``spec``; raise ``ValueError`` if bad."""
        reader = NamedOptionReader(spec.id, spec.options)
        defaults = cls()
        options = cls(
            manufacturer=reader.text("manufacturer", defaults.manufacturer),
            model=reader.text("model", defaults.model),
            os_name=reader.text("os_name", defaults.os_name),
            os_version=reader.text("os_version", defaults.os_version),
            app_version=reader.text("app_version", defaults.app_version),
            push_host=(
                reader.text("push_host", "-") if "push_host" in spec.options else None
            ),
            http_timeout_seconds=reader.seconds(
                "http_timeout_seconds", defaults.http_timeout_seconds
            ),
        )
        reader.reject_unknown()
        return options


@dataclass(frozen=True, slots=True)
class _Registration:
    """Hold where Home Assistant is and the webhook it gave this phone."""

    url: URL
    webhook_id: str


@register_kind(DeviceKind.PHONE)
class Phone(SimulatedDevice):
    """Register with Home Assistant, receive its pushes and tap their buttons."""

    def __init__(self, spec: DeviceSpec, scenario: Scenario) -> None:
        """Read the options; the port, the push token and the client come at start."""
        super().__init__(spec, scenario)
        self.options = self.read_options(
            lambda: PhoneOptions.from_spec(spec), PhoneOptions
        )
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._host = ""
        self._port = spec.port
        self._push_token = ""
        self._registration: _Registration | None = None
        self._notifications: deque[JSONObject] = deque(maxlen=_MAX_NOTIFICATIONS)
        self._push_day = ""
        self._pushes_today = 0
        self.pushes_refused = 0

    # --- lifecycle -------------------------------------------------------------

    @override
    async def start(self, host: str) -> PortInfo:
        """Pick the push token, open the HTTP client and serve ``/push``."""
        self.raise_option_error()
        self._push_token = secrets.token_urlsafe(32)
        self._host = host
        await self._serve()
        self._session = aiohttp.ClientSession(
            # The threaded resolver starts no helper thread for IP addresses.
            connector=aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver()),
            timeout=aiohttp.ClientTimeout(total=self.options.http_timeout_seconds),
        )
        return PortInfo(
            host,
            self._port,
            _PROTOCOL,
            {"push_url": self.push_url, "app_id": APP_ID},
        )

    @override
    async def stop(self) -> None:
        """Close the HTTP client and the port."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def push_url(self) -> str:
        """Return the URL Home Assistant posts this phone's pushes to."""
        host = self.options.push_host or self._host
        url_host = f"[{host}]" if ":" in host else host
        return f"http://{url_host}:{self._port}/push"

    async def _serve(self) -> None:
        """Build the web application and listen on the phone's port."""
        app = web.Application()
        app.router.add_post("/push", self._push)
        runner = web.AppRunner(app, access_log=None)
        self._port = await listen(runner, self._host, self._port)
        self._runner = runner

    # --- pushes ----------------------------------------------------------------

    async def _push(self, request: web.Request) -> web.Response:
        """Answer ``POST /push``: check the token, record the notification."""
        try:
            body = json.loads(await request.read())
        except ValueError as error:
            return self._refuse(400, f"the body is not valid JSON: {error}")
        if not isinstance(body, dict):
            return self._refuse(400, "the body must be a JSON object")
        token = body.get("push_token")
        if not isinstance(token, str) or not hmac.compare_digest(
            token.encode(), self._push_token.encode()
        ):
            return self._refuse(403, "the push token is not this phone's")
        message, title, data = body.get("message"), body.get("title"), body.get("data")
        if not isinstance(message, str):
            return self._refuse(400, "'message' must be a string")
        if title is not None and not isinstance(title, str):
            return self._refuse(400, "'title' must be a string")
        if data is not None and not isinstance(data, dict):
            return self._refuse(400, "'data' must be a JSON object")
        now = datetime.now(UTC)
        self._notifications.append(
            {
                "title": title,
                "message": message,
                "data": data or {},
                "received_at": now.isoformat(),
                "answered": None,
            }
        )
        _LOGGER.info("%s: notification %r: %r", self.id, title, message)
        return web.json_response(
            {"messageId": uuid.uuid4().hex, "rateLimits": self._count_push(now)},
            status=201,
        )

    def _refuse(self, status: int, message: str) -> web.Response:
        """Answer a push the relay would refuse, in the relay's error shape."""
        self.pushes_refused += 1
        _LOGGER.warning("%s: refused a push (HTTP %d): %s", self.id, status, message)
        return web.json_response({"message": message}, status=status)

    def _count_push(self, now: datetime) -> JSONObject:
        """Count a delivered push and return the relay's rate limits after it."""
        day = now.date().isoformat()
        if day != self._push_day:
            self._push_day, self._pushes_today = day, 0
        self._pushes_today += 1
        midnight = datetime.combine(now.date() + timedelta(days=1), time.min, UTC)
        # Never enforced: the phone only reports, as the relay would, how many are left.
        return {
            "successful": self._pushes_today,
            "maximum": _DAILY_PUSH_LIMIT,
            "errors": 0,
            "resetsAt": midnight.isoformat(),
        }

    # --- talking to Home Assistant ---------------------------------------------

    async def _post(
        self, url: URL, body: JSONObject, token: str | None
    ) -> tuple[int, str]:
        """POST JSON to Home Assistant; return the status and the body text."""
        session = self._session
        if session is None:
            raise NotReadyError(f"phone {self.id} has not started")
        headers = {hdrs.AUTHORIZATION: f"Bearer {token}"} if token else None
        try:
            async with session.post(url, json=body, headers=headers) as response:
                return response.status, await response.text()
        except TimeoutError:
            raise HomeAssistantRequestError(
                f"Home Assistant at {url.origin()} did not answer within "
                f"{self.options.http_timeout_seconds:g} s"
            ) from None
        except (aiohttp.ClientError, OSError) as error:
            raise HomeAssistantRequestError(
                f"cannot reach Home Assistant at {url.origin()}: "
                f"{error or type(error).__name__}"
            ) from None

    def _registration_body(self) -> JSONObject:
        """Return what the Android app sends to register itself."""
        options = self.options
        return {
            "app_id": APP_ID,
            "app_name": APP_NAME,
            "app_version": options.app_version,
            "device_name": self.spec.name,
            "manufacturer": options.manufacturer,
            "model": options.model,
            "os_name": options.os_name,
            "os_version": options.os_version,
            "device_id": self.id,
            "supports_encryption": False,
            "app_data": {"push_url": self.push_url, "push_token": self._push_token},
        }

    async def register(self, base_url: URL, token: str) -> str:
        """Register with Home Assistant and return the webhook id it gave."""
        url = base_url.join(URL(_REGISTRATIONS_PATH))
        status, text = await self._post(url, self._registration_body(), token)
        if status == 401:
            raise HomeAssistantRequestError(
                f"Home Assistant at {base_url} refused the access token (HTTP 401)"
            )
        if not 200 <= status < 300:
            raise HomeAssistantRequestError(
                f"Home Assistant at {base_url} refused the registration "
                f"(HTTP {status}): {text[:200]}"
            )
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        webhook_id = answer.get("webhook_id") if isinstance(answer, dict) else None
        if not isinstance(webhook_id, str) or not webhook_id:
            raise HomeAssistantRequestError(
                f"Home Assistant at {base_url} answered the registration without "
                f"a webhook_id: {text[:200]}"
            )
        self._registration = _Registration(base_url, webhook_id)
        _LOGGER.info("%s: registered with %s", self.id, base_url)
        return webhook_id

    def _require_registration(self) -> _Registration:
        """Return the registration, or say that there is none yet."""
        if (registration := self._registration) is None:
            raise NotReadyError(
                f"phone {self.id} is not registered with Home Assistant; "
                "run 'register' first"
            )
        return registration

    async def fire_event(self, event_type: str, event_data: JSONObject) -> None:
        """Fire an event on Home Assistant's bus through the phone's webhook."""
        registration = self._require_registration()
        url = registration.url.join(URL(f"/api/webhook/{registration.webhook_id}"))
        body: JSONObject = {
            "type": "fire_event",
            "data": {"event_type": event_type, "event_data": event_data},
        }
        status, text = await self._post(url, body, None)
        if status == 410:
            # Home Assistant deleted the registration; the app forgets it too.
            self._registration = None
            raise HomeAssistantRequestError(
                f"Home Assistant at {registration.url} has deleted the registration "
                f"of phone {self.id} (HTTP 410); run 'register' again"
            )
        if not 200 <= status < 300:
            raise HomeAssistantRequestError(
                f"Home Assistant at {registration.url} refused the {event_type} "
                f"event (HTTP {status}): {text[:200]}"
            )

    # --- buttons ---------------------------------------------------------------

    def _find_button(self, params: JSONObject) -> tuple[JSONObject, str]:
        """Return the notification and the action id a button tap means."""
        reader = NamedOptionReader(self.id, params, noun="parameter")
        if ("button" in params) == ("action" in params):
            raise ActionError(
                f"answer on {self.id} takes either 'button' (an index into the "
                "newest notification's buttons) or 'action' (an action id), "
                "not both or neither"
            )
        try:
            index = reader.integer("button", 0, minimum=0)
            action = reader.text("action", "-")
            reader.reject_unknown()
        except ValueError as error:
            raise ActionError(str(error)) from None
        with_buttons = [
            (notification, buttons)
            for notification in reversed(self._notifications)
            if (buttons := _buttons_of(notification))
        ]
        if not with_buttons:
            raise NotReadyError(f"phone {self.id} has no notification with buttons")
        if "action" not in params:
            notification, buttons = with_buttons[0]
            if index >= len(buttons):
                raise ActionError(
                    f"the newest notification with buttons on {self.id} has "
                    f"{len(buttons)} (buttons: {', '.join(buttons)}); "
                    f"there is no button {index}"
                )
            return notification, buttons[index]
        for notification, buttons in with_buttons:
            if action in buttons:
                return notification, action
        raise ActionError(
            f"no notification on {self.id} has a button with action {action!r}"
        )

    async def answer(self, params: JSONObject) -> JSONObject:
        """Tap a notification's button and report it as the app does."""
        self._require_registration()
        notification, action = self._find_button(params)
        event_data: JSONObject = {"action": action}
        for field in _ECHOED_FIELDS:
            if (value := notification.get(field)) is not None:
                event_data[field] = value
        data = notification.get("data")
        if isinstance(data, dict) and (tag := data.get("tag")) is not None:
            event_data["tag"] = tag
        await self.fire_event(NOTIFICATION_ACTION_EVENT, event_data)
        notification["answered"] = action
        return {"event_type": NOTIFICATION_ACTION_EVENT, "event_data": event_data}

    # --- control API -----------------------------------------------------------

    @override
    def state(self) -> JSONObject:
        """Return the registration and the newest notifications, oldest first."""
        registration = self._registration
        notifications: list[JSONValue] = [dict(n) for n in self._notifications]
        return {
            "registered": registration is not None,
            "webhook_id": registration.webhook_id if registration else None,
            "home_assistant": str(registration.url) if registration else None,
            "notifications": notifications,
            "pushes_refused": self.pushes_refused,
        }

    @override
    async def handle_action(self, action: str, params: JSONObject) -> JSONObject:
        """Register with Home Assistant or answer a notification."""
        match action:
            case "register":
                url, token = _registration_params(self.id, params)
                return {"webhook_id": await self.register(url, token)}
            case "answer":
                return await self.answer(params)
        raise UnknownActionError(self.id, action)


def _registration_params(device_id: str, params: JSONObject) -> tuple[URL, str]:
    """Return Home Assistant's base URL and the access token of ``register``."""
    reader = NamedOptionReader(device_id, params, noun="parameter")
    try:
        text = str(reader.required("url", "Home Assistant's base URL"))
        token = reader.required("token", "a long-lived access token")
        reader.reject_unknown()
        url = URL(text)
        if url.scheme not in {"http", "https"} or not url.host:
            raise reader.fail("url", "an http:// or https:// URL")
        if not isinstance(token, str) or not token:
            raise reader.fail("token", "a non-empty string")
    except ValueError as error:
        raise ActionError(str(error)) from None
    return url.origin(), token


def _buttons_of(notification: JSONObject) -> list[str]:
    """Return the action ids of a notification's buttons, in order."""
    data = notification.get("data")
    actions = data.get("actions") if isinstance(data, dict) else None
    if not isinstance(actions, list):
        return []
    return [
        action
        for button in actions
        if isinstance(button, dict) and isinstance(action := button.get("action"), str)
    ]
