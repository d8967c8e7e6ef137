"""Test the plate push endpoint, lanes and car parks with hand-made HTTP requests.

These requests are what a camera sends, written out here byte by byte, so that
bad input (wrong encodings, broken JSON, oversized images, unknown URLs) can be
sent exactly. The simulated camera plays the normal traffic in
test_gate_simulator.py.
"""

import asyncio
import base64
from collections.abc import Awaitable, Callable
import json
import logging
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.cover import CoverState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smart_community.const import (
    CONF_ALLOWED_SOURCES,
    CONF_RELAY_OUTPUT,
    DOMAIN,
)
from custom_components.smart_community.gate import PUSH_ENDPOINTS

from .conftest import add_resident, call
from .gate_helpers import (
    ENTRY_LANE,
    ENTRY_SECRET,
    EXIT_LANE,
    EXIT_SECRET,
    LOT_ID,
    gate_entity,
    gate_entry,
    lane_data,
    push_path,
)

type ClientFactory = Callable[[], Awaitable[TestClient[Any, Any]]]


def plate_body(
    plate: str,
    plate_id: int,
    *,
    offline: bool = False,
    encoding: str = "utf-8",
    image: bytes | None = None,
    opened_by_camera: bool = False,
) -> bytes:
    """Write an AlarmInfoPlate push as a Vzenith camera does."""
    result: dict[str, Any] = {
        "license": plate,
        "colorType": 5 if len(plate) == 8 else 1,
        "type": 1,
        "confidence": 93,
        "direction": 4,
        "triggerType": 1,
        "plateid": plate_id,
        "isoffline": int(offline),
        "timeStamp": {"Timeval": {"sec": 1795000000, "usec": 250000}},
        "location": {"RECT": {"left": 10, "top": 20, "right": 110, "bottom": 50}},
        "gioouts": [{"ionum": 0, "ctrltype": 2 if opened_by_camera else 0}],
    }
    if image is not None:
        result["imageFile"] = base64.b64encode(image).decode()
        result["imageFileLen"] = len(image)
    document = {
        "AlarmInfoPlate": {
            "channel": 0,
            "deviceName": "IVS",
            "ipaddr": "192.168.1.100",
            "serialno": "eff50e18-e3d3862b",
            "result": {"PlateResult": result},
        }
    }
    return json.dumps(document, ensure_ascii=False).encode(encoding)


HEARTBEAT = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="device_name"\r\n\r\nIVS\r\n'
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="ipaddr"\r\n\r\n192.168.1.100\r\n'
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="serialno"\r\n\r\neff50e18-e3d3862b\r\n'
    b"--XyZ--\r\n"
)
HEARTBEAT_TYPE = "multipart/form-data; boundary=XyZ"


async def post(
    client: TestClient[Any, Any],
    secret: str,
    body: bytes,
    content_type: str = "application/json",
) -> ClientResponse:
    """Push a body to a lane."""
    return await client.post(
        push_path(secret), data=body, headers={"Content-Type": content_type}
    )


async def reply_of(response: ClientResponse) -> dict[str, Any]:
    """Read the command a reply carries."""
    assert response.status == 200, await response.text()
    document = await response.json()
    answer: dict[str, Any] = document["Response_AlarmInfoPlate"]
    return answer


@pytest.fixture
async def gates(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> tuple[MockConfigEntry, TestClient[Any, Any]]:
    """Set up a community with two lanes and a resident with a car."""
    entry = gate_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    resident = await add_resident(hass, entry)
    await call(hass, "add_vehicle", entry, resident_id=resident, plate="京A12345")
    return entry, await hass_client_no_auth()


async def test_resident_opens_and_is_counted(
    hass: HomeAssistant, gates: tuple[MockConfigEntry, TestClient[Any, Any]]
) -> None:
    """A resident's plate opens with a welcome; the car park counts it in and out."""
    _entry, client = gates
    inside = gate_entity(hass, "sensor", LOT_ID, "vehicles_inside")
    free = gate_entity(hass, "sensor", LOT_ID, "free_spaces")
    answer = await reply_of(await post(client, ENTRY_SECRET, plate_body("京A12345", 7)))
    assert answer["info"] == "ok"
    assert answer["plateid"] == 7
    voice = answer["playserver_json_request"]["voice"]
    assert base64.b64decode(voice).decode() == "欢迎回家 京A12345"
    display = answer["serialData"][0]
    assert base64.b64decode(display["data"]).decode("gb18030") == "欢迎回家 京A12345"
    await hass.async_block_till_done()
    assert hass.states.get(inside).state == "1"
    assert hass.states.get(free).state == "99"
    event = hass.states.get(gate_entity(hass, "event", ENTRY_LANE, "plate"))
    assert event.attributes["event_type"] == "plate_read"
    assert event.attributes["verdict"] == "resident"
    assert event.attributes["opened"] is True
    assert event.attributes["resident"] == "张三"
    assert event.attributes["color"] == "blue"
    last = hass.states.get(gate_entity(hass, "sensor", ENTRY_LANE, "last_plate"))
    assert last.state == "京A12345"
    barrier = gate_entity(hass, "cover", ENTRY_LANE, "barrier")
    assert hass.states.get(barrier).state == CoverState.OPEN

    exit_answer = await reply_of(
        await post(client, EXIT_SECRET, plate_body("京A12345", 3))
    )
    assert exit_answer["info"] == "ok"
    await hass.async_block_till_done()
    assert hass.states.get(inside).state == "0"


async def test_resend_gets_the_same_answer_once(
    hass: HomeAssistant, gates: tuple[MockConfigEntry, TestClient[Any, Any]]
) -> None:
    """A camera resending a push (same plate ID) gets the same reply, counted once."""
    _entry, client = gates
    first = await reply_of(await post(client, ENTRY_SECRET, plate_body("京A12345", 9)))
    again = await reply_of(await post(client, ENTRY_SECRET, plate_body("京A12345", 9)))
    assert first == again
    await hass.async_block_till_done()
    inside = gate_entity(hass, "sensor", LOT_ID, "vehicles_inside")
    assert hass.states.get(inside).state == "1"


async def test_unknown_is_refused_and_blocklist_never_opens(
    hass: HomeAssistant, gates: tuple[MockConfigEntry, TestClient[Any, Any]]
) -> None:
    """Unknown plates stay out at the entry; blocked plates stay out everywhere."""
    entry, client = gates
    unknown = await reply_of(
        await post(client, ENTRY_SECRET, plate_body("浙A99999", 1))
    )
    assert "info" not in unknown
    assert base64.b64decode(unknown["playserver_json_request"]["voice"]).decode() == (
        "未登记车辆 浙A99999"
    )
    answer = await call(hass, "block_plate", entry, plate="京a·12345", reason="欠费")
    assert answer == {"plate": "京A12345"}
    for secret in (ENTRY_SECRET, EXIT_SECRET):
        blocked = await reply_of(await post(client, secret, plate_body("京A12345", 2)))
        assert "info" not in blocked
    await hass.async_block_till_done()
    event = hass.states.get(gate_entity(hass, "event", EXIT_LANE, "plate"))
    assert event.attributes["verdict"] == "blocked"
    assert event.attributes["opened"] is False
    await call(hass, "unblock_plate", entry, plate="京A12345")
    opened = await reply_of(await post(client, ENTRY_SECRET, plate_body("京A12345", 4)))
    assert opened["info"] == "ok"


async def test_gbk_body(
    hass: HomeAssistant, gates: tuple[MockConfigEntry, TestClient[Any, Any]]
) -> None:
    """A GBK-encoded push is read right, declared or not."""
    _entry, client = gates
    body = plate_body("京A12345", 11, encoding="gbk")
    answer = await reply_of(await post(client, ENTRY_SECRET, body))
    assert answer["info"] == "ok"
    declared = await post(
        client,
        ENTRY_SECRET,
        plate_body("京A12345", 12, encoding="gbk"),
        "application/json; charset=gb2312",
    )
    assert (await reply_of(declared))["info"] == "ok"


async def test_malformed_push_is_refused_clearly(
    hass: HomeAssistant,
    gates: tuple[MockConfigEntry, TestClient[Any, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Broken JSON gets a 400 with the reason, one log line, and the lane goes on."""
    _entry, client = gates
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        response = await post(client, ENTRY_SECRET, b'{"AlarmInfoPlate": {')
        assert response.status == 400
        assert "JSON" in await response.text()
    assert caplog.text.count("Rejected a push") == 1
    missing = await post(client, ENTRY_SECRET, b'{"AlarmInfoPlate": {"result": {}}}')
    assert missing.status == 400
    assert "PlateResult" in await missing.text()
    answer = await reply_of(await post(client, ENTRY_SECRET, plate_body("京A12345", 5)))
    assert answer["info"] == "ok"
    lane = _entry.runtime_data.lanes[ENTRY_LANE]
    assert lane.rejected_pushes == 4


async def test_oversized_body_is_refused(
    hass: HomeAssistant, gates: tuple[MockConfigEntry, TestClient[Any, Any]]
) -> None:
    """A push over the size limit gets 413 and a reason, whether declared or streamed."""
    _entry, client = gates
    endpoint = hass.data[PUSH_ENDPOINTS].lanes[ENTRY_SECRET]
    endpoint.max_bytes = 64 * 1024
    big = plate_body("京A12345", 6, image=bytes(100 * 1024))
    response = await post(client, ENTRY_SECRET, big)
    assert response.status == 413
    assert "limit" in await response.text()

    async def chunks() -> Any:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = await client.post(
        push_path(ENTRY_SECRET),
        data=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert streamed.status == 413
    small = plate_body("京A12345", 8, image=bytes(1024))
    assert (await reply_of(await post(client, ENTRY_SECRET, small)))["info"] == "ok"


async def test_full_size_image_is_decided(
    hass: HomeAssistant, gates: tuple[MockConfigEntry, TestClient[Any, Any]]
) -> None:
    """A push with a full-size image (parsed off the event loop) opens as usual."""
    _entry, client = gates
    big = plate_body("京A12345", 40, image=bytes(600 * 1024))
    answer = await reply_of(await post(client, ENTRY_SECRET, big))
    assert answer["info"] == "ok"
    assert answer["plateid"] == 40


async def test_unknown_secret_is_404_logged_once(
    hass: HomeAssistant,
    gates: tuple[MockConfigEntry, TestClient[Any, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A push to an unknown address gets 404 and one log line per sender."""
    _entry, client = gates
    for _ in range(3):
        response = await post(client, "not-a-secret", plate_body("京A12345", 1))
        assert response.status == 404
    assert caplog.text.count("unknown URL") == 1


async def test_allowed_sources(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """A lane limited to other addresses refuses loopback pushes with 403."""
    entry = gate_entry(
        lane_data(ENTRY_SECRET, "entry", **{CONF_ALLOWED_SOURCES: ["10.0.5.0/24"]})
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    client = await hass_client_no_auth()
    response = await post(client, ENTRY_SECRET, plate_body("京A12345", 1))
    assert response.status == 403
    allowed = await post(client, EXIT_SECRET, plate_body("京A12345", 1))
    assert allowed.status == 200


async def test_manual_open_goes_out_with_the_next_heartbeat(
    hass: HomeAssistant, gates: tuple[MockConfigEntry, TestClient[Any, Any]]
) -> None:
    """Opening the barrier waits for a heartbeat; a held heartbeat gets it at once."""
    _entry, client = gates
    barrier = gate_entity(hass, "cover", ENTRY_LANE, "barrier")
    connected = gate_entity(hass, "binary_sensor", ENTRY_LANE, "camera_connected")
    assert hass.states.get(barrier).state == STATE_UNAVAILABLE
    assert hass.states.get(connected).state == STATE_OFF
    idle = await reply_of(await post(client, ENTRY_SECRET, HEARTBEAT, HEARTBEAT_TYPE))
    assert idle == {}
    assert hass.states.get(connected).state == STATE_ON
    assert hass.states.get(barrier).state == CoverState.CLOSED

    # A refused car waits; the guard opens; the held poll carries the open.
    await post(client, ENTRY_SECRET, plate_body("浙A99999", 21))
    poll = asyncio.ensure_future(post(client, ENTRY_SECRET, HEARTBEAT, HEARTBEAT_TYPE))
    await asyncio.sleep(0.1)
    await hass.services.async_call(
        "cover", "open_cover", {"entity_id": barrier}, blocking=True
    )
    answer = await reply_of(await poll)
    assert answer["info"] == "ok"
    await hass.async_block_till_done()
    state = hass.states.get(barrier)
    assert state.state == CoverState.OPEN
    assert state.attributes["open_command"] == "delivered"
    inside = gate_entity(hass, "sensor", LOT_ID, "vehicles_inside")
    assert hass.states.get(inside).state == "1"


async def test_manual_open_rides_on_a_plate_push(
    hass: HomeAssistant, gates: tuple[MockConfigEntry, TestClient[Any, Any]]
) -> None:
    """An open pressed before the car arrives goes out with its plate's reply."""
    _entry, client = gates
    await post(client, ENTRY_SECRET, HEARTBEAT, HEARTBEAT_TYPE)
    barrier = gate_entity(hass, "cover", ENTRY_LANE, "barrier")
    await hass.services.async_call(
        "cover", "open_cover", {"entity_id": barrier}, blocking=True
    )
    state = hass.states.get(barrier)
    assert state.state == CoverState.OPENING
    assert state.attributes["open_command"] == "queued"
    answer = await reply_of(await post(client, ENTRY_SECRET, plate_body("浙A99999", 1)))
    assert answer["info"] == "ok"
    await hass.async_block_till_done()
    event = hass.states.get(gate_entity(hass, "event", ENTRY_LANE, "plate"))
    assert event.attributes["verdict"] == "unknown"
    assert event.attributes["opened"] is True
    assert event.attributes["parking_counted"] is True
    inside = gate_entity(hass, "sensor", LOT_ID, "vehicles_inside")
    assert hass.states.get(inside).state == "1"
    # The open was used up: the next stranger stays out.
    again = await reply_of(await post(client, ENTRY_SECRET, plate_body("浙A88888", 2)))
    assert "info" not in again


async def test_relay_output_pulses(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """A lane wired to IO output 2 sends a relay pulse with each open."""
    entry = gate_entry(lane_data(ENTRY_SECRET, "entry", **{CONF_RELAY_OUTPUT: "1"}))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    resident = await add_resident(hass, entry)
    await call(hass, "add_vehicle", entry, resident_id=resident, plate="京A12345")
    client = await hass_client_no_auth()
    answer = await reply_of(await post(client, ENTRY_SECRET, plate_body("京A12345", 1)))
    assert answer["ivs_ioctrl"] == {"io": 1, "value": 2, "delay": 500}


async def test_offline_records_never_open_but_count(
    hass: HomeAssistant, gates: tuple[MockConfigEntry, TestClient[Any, Any]]
) -> None:
    """Re-pushed offline records are acknowledged, recorded, and open nothing."""
    _entry, client = gates
    answer = await reply_of(
        await post(
            client,
            ENTRY_SECRET,
            plate_body("京A12345", 30, offline=True, opened_by_camera=True),
        )
    )
    assert answer == {"ContinuePushOffline": {"plateid": 30, "continue": 1}}
    unopened = await reply_of(
        await post(client, ENTRY_SECRET, plate_body("浙A99999", 31, offline=True))
    )
    assert "info" not in unopened
    await hass.async_block_till_done()
    event = hass.states.get(gate_entity(hass, "event", ENTRY_LANE, "plate"))
    assert event.attributes["offline"] is True
    # The camera opened for the resident by itself while offline: counted in.
    inside = gate_entity(hass, "sensor", LOT_ID, "vehicles_inside")
    assert hass.states.get(inside).state == "1"


async def test_occupancy_survives_a_restart(
    hass: HomeAssistant, gates: tuple[MockConfigEntry, TestClient[Any, Any]]
) -> None:
    """The cars inside are still inside after the community reloads."""
    entry, client = gates
    await post(client, ENTRY_SECRET, plate_body("京A12345", 1))
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    inside = gate_entity(hass, "sensor", LOT_ID, "vehicles_inside")
    assert hass.states.get(inside).state == "1"
    last = hass.states.get(gate_entity(hass, "sensor", ENTRY_LANE, "last_plate"))
    assert last.state == "京A12345"
    # And the exit still pairs with it.
    await post(client, EXIT_SECRET, plate_body("京A12345", 2))
    await hass.async_block_till_done()
    assert hass.states.get(inside).state == "0"


async def test_timers_close_expire_and_disconnect(
    hass: HomeAssistant,
    gates: tuple[MockConfigEntry, TestClient[Any, Any]],
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The barrier shows closed again, unfetched opens expire, silence disconnects."""
    _entry, client = gates
    barrier = gate_entity(hass, "cover", ENTRY_LANE, "barrier")
    connected = gate_entity(hass, "binary_sensor", ENTRY_LANE, "camera_connected")
    await post(client, ENTRY_SECRET, plate_body("京A12345", 1))
    await hass.async_block_till_done()
    assert hass.states.get(barrier).state == CoverState.OPEN
    freezer.tick(11)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(barrier).state == CoverState.CLOSED

    await hass.services.async_call(
        "cover", "open_cover", {"entity_id": barrier}, blocking=True
    )
    freezer.tick(31)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    state = hass.states.get(barrier)
    assert state.state == CoverState.CLOSED
    assert state.attributes["open_command"] == "expired"
    assert "expired" in caplog.text
    # An expired open is not delivered later. (No heartbeat here: it is held
    # open with a loop timer, and the frozen clock would hold it for ever.)
    refused = await reply_of(
        await post(client, ENTRY_SECRET, plate_body("浙A99999", 2))
    )
    assert "info" not in refused

    freezer.tick(60)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(connected).state == STATE_ON
    freezer.tick(31)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(connected).state == STATE_OFF
    assert hass.states.get(barrier).state == STATE_UNAVAILABLE
    assert "has sent nothing" in caplog.text


async def test_diagnostics_hide_push_secrets(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientFactory,
) -> None:
    """Diagnostics show the lanes' health but no secret, plate or block reason."""
    # Diagnostics add a view, which must happen before the first client starts.
    assert await async_setup_component(hass, "diagnostics", {})
    entry = gate_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    client = await hass_client_no_auth()
    await post(client, ENTRY_SECRET, HEARTBEAT, HEARTBEAT_TYPE)
    await post(client, ENTRY_SECRET, b"{")
    await call(hass, "block_plate", entry, plate="沪A11111", reason="逃费")
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics, ensure_ascii=False)
    for secret in (ENTRY_SECRET, EXIT_SECRET, "沪A11111", "逃费"):
        assert secret not in text
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, ENTRY_LANE), entry.entry_id
    )
    assert device is not None
    assert device.serial_number == "eff50e18-e3d3862b"
    assert device.model == "IVS"
    lane = diagnostics["lanes"]["正门 入口"]
    assert lane["connected"] is True
    assert lane["rejected_pushes"] == 1
    assert lane["camera"]["serial_number"] == "eff50e18-e3d3862b"
    assert diagnostics["counts"]["blocked_plates"] == 1
    assert diagnostics["parking_lots"]["地下停车场"]["capacity"] == 100


async def test_io_inputs_and_other_messages_get_an_empty_reply(
    hass: HomeAssistant, gates: tuple[MockConfigEntry, TestClient[Any, Any]]
) -> None:
    """IO input changes and RS-485 data are noted and answered with no command."""
    entry, client = gates
    io_push = {
        "AlarmGioIn": {
            "deviceName": "IVS",
            "ipaddr": "192.168.1.100",
            "serialno": "eff50e18-e3d3862b",
            "result": {"TriggerResult": {"source": 0, "value": 1}},
        }
    }
    answer = await reply_of(
        await post(client, ENTRY_SECRET, json.dumps(io_push).encode())
    )
    assert answer == {}
    lane = entry.runtime_data.lanes[ENTRY_LANE]
    assert lane.last_io is not None
    assert (lane.last_io.source, lane.last_io.value) == (0, 1)
    serial = {
        "SerialData": {
            "channel": 0,
            "serialno": "eff50e18-e3d3862b",
            "serialChannel": 0,
            "data": base64.b64encode(b"card 1234").decode(),
            "dataLen": 9,
        }
    }
    answer = await reply_of(
        await post(client, ENTRY_SECRET, json.dumps(serial).encode())
    )
    assert answer == {}


async def test_damaged_parking_count_starts_empty(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A damaged stored count is logged and the car park counts from empty."""
    entry = gate_entry()
    hass_storage[f"smart_community.{entry.entry_id}.parking"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"smart_community.{entry.entry_id}.parking",
        "data": {LOT_ID: {"inside": {"京A12345": "yesterday"}, "recent_exits": {}}},
    }
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    inside = gate_entity(hass, "sensor", LOT_ID, "vehicles_inside")
    assert hass.states.get(inside).state == "0"
    assert "counting it from empty" in caplog.text


async def test_unblocking_a_plate_not_blocked_is_refused(
    hass: HomeAssistant, gates: tuple[MockConfigEntry, TestClient[Any, Any]]
) -> None:
    """Unblocking a plate that is not blocked says so, translated."""
    entry, _client = gates
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "unblock_plate", entry, plate="沪A11111")
    assert raised.value.translation_key == "plate_not_blocked"
    assert raised.value.translation_placeholders == {"plate": "沪A11111"}
