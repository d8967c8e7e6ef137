"""Test the simulated phone against a real Home Assistant's mobile_app.

The simulator runs as a subprocess (``start_simulator``) and reaches Home
Assistant's HTTP API on a real loopback port, the test server of
``hass_client``; Home Assistant's notify platform posts pushes back to the
phone's ``/push`` over loopback, as it would post them to the app's relay.
"""

from dataclasses import dataclass
import json
from pathlib import Path
import re
from typing import Any, Final

import aiohttp
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import slugify
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from simulator.devices.phone import PhoneOptions
from simulator.kinds import DeviceKind
from simulator.scenario import DeviceSpec
from tests.safety_helpers import free_port, scenario_with
from tests.simulator_harness import (
    REQUEST_TIMEOUT,
    SimulatorProcess,
    SimulatorRequestError,
    StartSimulator,
)

MOBILE_APP: Final = "mobile_app"
NOTIFICATION_ACTION: Final = "mobile_app_notification_action"
PHONE_ID: Final = "phone-elder"
PHONE_NAME: Final = "长者手机"
# The legacy notify action mobile_app names after the device: chang_zhe_shou_ji.
NOTIFY_ACTION: Final = f"mobile_app_{slugify(PHONE_NAME)}"
PHONE: Final = {
    "id": PHONE_ID,
    "kind": "phone",
    "building": None,
    "name": PHONE_NAME,
    "options": {"manufacturer": "Xiaomi", "model": "Redmi Note 13"},
}
BUTTONS: Final = [
    {"action": "ELDER_OK", "title": "我很好"},
    {"action": "ELDER_HELP", "title": "需要帮助"},
]


@dataclass(frozen=True, slots=True)
class HomeAssistantServer:
    """Say where the simulator reaches Home Assistant and with which token."""

    url: str
    token: str

    def register_params(self, **changes: Any) -> dict[str, Any]:
        """Return the ``register`` action's parameters."""
        return {"url": self.url, "token": self.token, **changes}


@pytest.fixture
async def home_assistant(
    hass: HomeAssistant,
    socket_enabled: None,
    hass_client: ClientSessionGenerator,
    hass_access_token: str,
) -> HomeAssistantServer:
    """Set up mobile_app and serve Home Assistant's HTTP API on a loopback port."""
    assert await async_setup_component(hass, MOBILE_APP, {})
    await hass.async_block_till_done()
    client = await hass_client()
    return HomeAssistantServer(str(client.make_url("")), hass_access_token)


@pytest.fixture
def phone(start_simulator: StartSimulator, tmp_path: Path) -> SimulatorProcess:
    """Run a community with one phone."""
    return start_simulator(scenario_with(tmp_path, [PHONE]))


async def register(sim: SimulatorProcess, server: HomeAssistantServer) -> str:
    """Register the phone with Home Assistant and return its webhook id."""
    answer = await sim.action(PHONE_ID, "register", server.register_params())
    webhook_id = answer["webhook_id"]
    assert isinstance(webhook_id, str)
    return webhook_id


def phone_entry(hass: HomeAssistant) -> ConfigEntry:
    """Return the one mobile_app entry."""
    entries = hass.config_entries.async_entries(MOBILE_APP)
    assert len(entries) == 1
    return entries[0]


async def phone_state(sim: SimulatorProcess) -> dict[str, Any]:
    """Return the phone's live state."""
    state: dict[str, Any] = (await sim.snapshot(PHONE_ID))["state"]
    return state


async def notify(hass: HomeAssistant, **data: Any) -> None:
    """Call the phone's notify action and wait until it is done."""
    await hass.services.async_call("notify", NOTIFY_ACTION, data, blocking=True)
    await hass.async_block_till_done()


async def post_push(url: str, body: bytes) -> tuple[int, Any]:
    """POST raw bytes to the phone's push URL; return status and decoded JSON."""
    # ThreadedResolver: aiodns would start a thread that outlives the test.
    connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
        session.post(
            url, data=body, headers={"Content-Type": "application/json"}
        ) as response,
    ):
        return response.status, await response.json(content_type=None)


async def failed_action(
    sim: SimulatorProcess, action: str, params: dict[str, Any]
) -> SimulatorRequestError:
    """Run an action that must fail and return the error."""
    with pytest.raises(SimulatorRequestError) as raised:
        await sim.action(PHONE_ID, action, params)
    return raised.value


# --- registering ---------------------------------------------------------------------


async def test_phone_registers_with_mobile_app(
    hass: HomeAssistant, home_assistant: HomeAssistantServer, phone: SimulatorProcess
) -> None:
    """The phone registers as the Android app does; its notify action appears."""
    assert (await phone_state(phone))["registered"] is False
    webhook_id = await register(phone, home_assistant)
    await hass.async_block_till_done()

    entry = phone_entry(hass)
    assert entry.title == PHONE_NAME
    assert entry.data["webhook_id"] == webhook_id
    assert entry.data["app_id"] == "io.homeassistant.companion.android"
    assert entry.data["device_id"] == PHONE_ID
    assert entry.data["manufacturer"] == "Xiaomi"
    assert entry.data["model"] == "Redmi Note 13"
    assert entry.data["os_name"] == "Android"
    assert entry.data["supports_encryption"] is False
    assert entry.data["app_data"]["push_url"] == phone.device(PHONE_ID)["push_url"]
    assert NOTIFY_ACTION == "mobile_app_chang_zhe_shou_ji"
    assert hass.services.has_service("notify", NOTIFY_ACTION)

    state = await phone_state(phone)
    assert state["registered"] is True
    assert state["webhook_id"] == webhook_id
    assert state["notifications"] == []


async def test_registering_again_gives_a_new_webhook(
    hass: HomeAssistant, home_assistant: HomeAssistantServer, phone: SimulatorProcess
) -> None:
    """A second registration replaces the entry and the webhook, as a reinstall does."""
    first = await register(phone, home_assistant)
    second = await register(phone, home_assistant)
    await hass.async_block_till_done()
    assert second != first
    assert phone_entry(hass).data["webhook_id"] == second
    assert (await phone_state(phone))["webhook_id"] == second


async def test_wrong_home_assistant_token(
    hass: HomeAssistant, home_assistant: HomeAssistantServer, phone: SimulatorProcess
) -> None:
    """Home Assistant refusing the token is a clear action error, not a crash."""
    error = await failed_action(
        phone, "register", home_assistant.register_params(token="not-a-token")
    )
    assert error.status == 502
    assert "refused the access token (HTTP 401)" in error.body["error"]
    assert hass.config_entries.async_entries(MOBILE_APP) == []
    assert (await phone_state(phone))["registered"] is False


async def test_unreachable_home_assistant(phone: SimulatorProcess) -> None:
    """Nobody listening at the URL is a clear action error."""
    url = f"http://127.0.0.1:{free_port()}"
    error = await failed_action(phone, "register", {"url": url, "token": "x"})
    assert error.status == 502
    assert f"cannot reach Home Assistant at {url}" in error.body["error"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"token": "x"}, "parameter 'url' of phone-elder is required"),
        ({"url": "ftp://x", "token": "x"}, "must be an http:// or https:// URL"),
        ({"url": "http://127.0.0.1:1", "token": ""}, "'token' of phone-elder must"),
        ({"url": "http://127.0.0.1:1", "token": "x", "pin": 1}, "unknown parameters"),
    ],
    ids=["no-url", "not-http", "empty-token", "unknown-parameter"],
)
async def test_bad_register_parameters(
    phone: SimulatorProcess, params: dict[str, Any], expected: str
) -> None:
    """Bad ``register`` parameters are refused with 400, naming the parameter."""
    error = await failed_action(phone, "register", params)
    assert error.status == 400
    assert expected in error.body["error"]


# --- pushes --------------------------------------------------------------------------


async def test_notify_action_reaches_the_phone(
    hass: HomeAssistant, home_assistant: HomeAssistantServer, phone: SimulatorProcess
) -> None:
    """Home Assistant's notify action posts to the phone, which shows it."""
    await register(phone, home_assistant)
    await hass.async_block_till_done()
    data = {"actions": BUTTONS, "tag": "eldercare", "ttl": 0, "priority": "high"}
    await notify(hass, title="安康提醒", message="请确认今天一切安好", data=data)

    (notification,) = (await phone_state(phone))["notifications"]
    assert notification["title"] == "安康提醒"
    assert notification["message"] == "请确认今天一切安好"
    assert notification["data"] == data
    assert notification["answered"] is None
    assert notification["received_at"]


async def test_push_endpoint_checks_token_and_body(
    hass: HomeAssistant, home_assistant: HomeAssistantServer, phone: SimulatorProcess
) -> None:
    """The phone answers pushes as the relay does: 201, 403 or 400, all JSON."""
    await register(phone, home_assistant)
    await hass.async_block_till_done()
    entry = phone_entry(hass)
    push_url = entry.data["app_data"]["push_url"]
    push = {
        "message": "测试",
        "push_token": entry.data["app_data"]["push_token"],
        "registration_info": {
            "app_id": entry.data["app_id"],
            "app_version": entry.data["app_version"],
            "webhook_id": entry.data["webhook_id"],
            "os_version": entry.data["os_version"],
        },
    }

    status, body = await post_push(push_url, json.dumps(push).encode())
    assert status == 201
    assert set(body["rateLimits"]) == {"successful", "maximum", "errors", "resetsAt"}
    assert body["rateLimits"]["successful"] == 1

    status, body = await post_push(
        push_url, json.dumps(push | {"push_token": "someone-else"}).encode()
    )
    assert (status, body) == (403, {"message": "the push token is not this phone's"})

    status, body = await post_push(push_url, b'{"message": "half')
    assert status == 400
    assert "not valid JSON" in body["message"]

    status, body = await post_push(push_url, b"[]")
    assert (status, body) == (400, {"message": "the body must be a JSON object"})

    state = await phone_state(phone)
    assert [n["message"] for n in state["notifications"]] == ["测试"]
    assert state["pushes_refused"] == 3


# --- answering -----------------------------------------------------------------------


async def test_answer_fires_the_notification_action_event(
    hass: HomeAssistant, home_assistant: HomeAssistantServer, phone: SimulatorProcess
) -> None:
    """Tapping a button fires mobile_app_notification_action with its action id."""
    events = async_capture_events(hass, NOTIFICATION_ACTION)
    await register(phone, home_assistant)
    await hass.async_block_till_done()
    await notify(
        hass,
        title="安康提醒",
        message="请确认今天一切安好",
        data={"actions": BUTTONS, "tag": "eldercare"},
    )
    await notify(hass, message="没有按钮的通知")

    answer = await phone.action(PHONE_ID, "answer", {"button": 0})
    await hass.async_block_till_done()
    expected = {
        "action": "ELDER_OK",
        "title": "安康提醒",
        "message": "请确认今天一切安好",
        "tag": "eldercare",
    }
    assert answer == {"event_type": NOTIFICATION_ACTION, "event_data": expected}
    assert [event.data for event in events] == [expected]

    await phone.action(PHONE_ID, "answer", {"action": "ELDER_HELP"})
    await hass.async_block_till_done()
    assert events[-1].data == expected | {"action": "ELDER_HELP"}

    notifications = (await phone_state(phone))["notifications"]
    assert [n["answered"] for n in notifications] == ["ELDER_HELP", None]


async def test_answer_before_register(phone: SimulatorProcess) -> None:
    """Answering with no registration says to register first."""
    error = await failed_action(phone, "answer", {"button": 0})
    assert error.status == 409
    assert "not registered with Home Assistant" in error.body["error"]
    assert "run 'register' first" in error.body["error"]


async def test_answer_without_such_button(
    hass: HomeAssistant, home_assistant: HomeAssistantServer, phone: SimulatorProcess
) -> None:
    """Buttons that are not there are refused, and nothing is fired."""
    events = async_capture_events(hass, NOTIFICATION_ACTION)
    await register(phone, home_assistant)
    await hass.async_block_till_done()

    error = await failed_action(phone, "answer", {"button": 0})
    assert (error.status, error.body["error"]) == (
        409,
        "phone phone-elder has no notification with buttons",
    )

    await notify(hass, message="请确认", data={"actions": BUTTONS})
    error = await failed_action(phone, "answer", {"button": 2})
    assert error.status == 400
    assert (
        "has 2 (buttons: ELDER_OK, ELDER_HELP); there is no button 2"
        in (error.body["error"])
    )
    error = await failed_action(phone, "answer", {"action": "NOPE"})
    assert error.status == 400
    assert (
        "no notification on phone-elder has a button with action 'NOPE'"
        in (error.body["error"])
    )
    error = await failed_action(phone, "answer", {"button": 0, "action": "ELDER_OK"})
    assert error.status == 400
    assert "either 'button'" in error.body["error"]
    await hass.async_block_till_done()
    assert events == []


# --- options -------------------------------------------------------------------------


def test_options_have_android_defaults() -> None:
    """A phone declared with no options is a Redmi on Android 14 with the full app."""
    options = PhoneOptions.from_spec(DeviceSpec("p", DeviceKind.PHONE, "手机"))
    assert (options.manufacturer, options.model) == ("Xiaomi", "Redmi Note 13")
    assert (options.os_name, options.os_version) == ("Android", "14")
    assert options.app_version.endswith("-full")
    assert options.push_host is None


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"model": 13}, "option 'model' of p must be a non-empty string, not 13"),
        ({"push_host": ""}, "option 'push_host' of p must be a non-empty string"),
        ({"colour": "blue"}, "unknown options of p: colour"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], expected: str) -> None:
    """Bad scenario options name the option and the phone."""
    with pytest.raises(ValueError, match=re.escape(expected)):
        PhoneOptions.from_spec(
            DeviceSpec("p", DeviceKind.PHONE, "手机", options=options)
        )
