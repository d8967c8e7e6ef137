"""Test resident activity and BLE wearables in Home Assistant.

Linked entities are driven by setting their states; BLE advertisements are
injected into Home Assistant's bluetooth manager as its own tests do.
"""

from datetime import timedelta
import time
from typing import Any, Final

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from freezegun.api import FrozenDateTimeFactory
from habluetooth import BluetoothServiceInfoBleak, get_manager
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.smart_community.const import DOMAIN
from custom_components.smart_community.protocols.ble import (
    APPLE_COMPANY_ID,
    BTHOME_SERVICE_UUID,
)

from .conftest import add_resident, call

ELDERLY: Final = ["elderly_living_alone"]
DOOR: Final = "binary_sensor.home_301_door"
WATER: Final = "sensor.home_301_water"
TAG: Final = "C3:00:00:12:34:56"
BUTTON: Final = "3C:2E:F5:AA:BB:CC"
BEACON_UUID: Final = "fda50693-a4e2-4fb1-afcf-c6eb07647825"


def resident_entity(
    hass: HomeAssistant, platform: str, resident_id: str, key: str
) -> str:
    """Find a resident's entity by its unique ID."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    entity_id = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{entry.entry_id}_resident_{resident_id}_{key}"
    )
    assert entity_id is not None, f"no {platform} {key} for {resident_id}"
    return entity_id


def advertise(
    address: str,
    *,
    manufacturer_data: dict[int, bytes] | None = None,
    service_data: dict[str, bytes] | None = None,
) -> None:
    """Hand one advertisement to Home Assistant's bluetooth manager."""
    advertisement = AdvertisementData(
        local_name=None,
        manufacturer_data=manufacturer_data or {},
        service_data=service_data or {},
        service_uuids=list(service_data or {}),
        tx_power=-127,
        rssi=-60,
        platform_data=(),
    )
    device = BLEDevice(address, None, {})
    get_manager().scanner_adv_received(
        BluetoothServiceInfoBleak(
            name=address,
            address=address,
            rssi=-60,
            manufacturer_data=advertisement.manufacturer_data,
            service_data=advertisement.service_data,
            service_uuids=advertisement.service_uuids,
            source="local",
            device=device,
            advertisement=advertisement,
            connectable=False,
            time=time.monotonic(),
            tx_power=-127,
        )
    )


async def test_linked_entities_show_activity_and_quiet_turns_inactive(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A door opening resets the clock; quiet for the period turns inactive on."""
    entry = init_integration
    resident_id = await add_resident(hass, entry, name="王奶奶", tags=ELDERLY)
    other = await add_resident(hass, entry, name="王小明")
    await hass.async_block_till_done()
    last = resident_entity(hass, "sensor", resident_id, "last_activity")
    inactive = resident_entity(hass, "binary_sensor", resident_id, "inactive")
    assert hass.states.get(last).state == STATE_UNKNOWN
    # Quiet counts from when watching began until the first activity.
    watched_at = hass.states.get(last).attributes["quiet_since"]
    assert watched_at is not None
    assert hass.states.get(inactive).state == STATE_OFF
    # Residents who are not watched get no entities.
    assert (
        er.async_get(hass).async_get_entity_id(
            "sensor", DOMAIN, f"{entry.entry_id}_resident_{other}_last_activity"
        )
        is None
    )

    hass.states.async_set(DOOR, STATE_OFF, {"device_class": "door"})
    hass.states.async_set(WATER, "12.5", {"device_class": "water"})
    answer = await call(
        hass,
        "link_activity_sources",
        entry,
        resident_id=resident_id,
        entities=[DOOR, WATER],
        inactive_after={"minutes": 30},
    )
    assert answer == {
        "entities": [DOOR, WATER],
        "ble_tag": None,
        "ble_button": None,
        "inactive_after_minutes": 30,
        "watched": True,
    }
    await hass.async_block_till_done()

    freezer.tick(timedelta(minutes=29))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(inactive).state == STATE_OFF
    freezer.tick(timedelta(minutes=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(inactive).state == STATE_ON

    hass.states.async_set(DOOR, STATE_ON, {"device_class": "door"})
    await hass.async_block_till_done()
    assert hass.states.get(inactive).state == STATE_OFF
    state = hass.states.get(last)
    assert state.attributes["source"] == "door"
    assert state.attributes["detail"] == DOOR
    assert state.attributes["quiet_since"] > watched_at

    # Closing the door, a falling or unavailable meter show nothing.
    before = state.state
    freezer.tick(timedelta(minutes=5))
    hass.states.async_set(DOOR, STATE_OFF, {"device_class": "door"})
    hass.states.async_set(WATER, "12.0", {"device_class": "water"})
    hass.states.async_set(WATER, STATE_UNAVAILABLE, {"device_class": "water"})
    await hass.async_block_till_done()
    assert hass.states.get(last).state == before
    # A meter that counts up does.
    hass.states.async_set(WATER, "12.1", {"device_class": "water"})
    hass.states.async_set(WATER, "12.2", {"device_class": "water"})
    await hass.async_block_till_done()
    assert hass.states.get(last).attributes["source"] == "water"


async def test_check_in_resets_and_survives_a_reload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """record_activity ("I'm OK") counts; links and activity survive a reload."""
    entry = init_integration
    resident_id = await add_resident(hass, entry, name="李爷爷", tags=ELDERLY)
    await call(
        hass,
        "link_activity_sources",
        entry,
        resident_id=resident_id,
        inactive_after={"minutes": 10},
    )
    freezer.tick(timedelta(minutes=11))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    inactive = resident_entity(hass, "binary_sensor", resident_id, "inactive")
    assert hass.states.get(inactive).state == STATE_ON

    assert await call(hass, "record_activity", entry, resident_id=resident_id) == {
        "recorded": True
    }
    await hass.async_block_till_done()
    assert hass.states.get(inactive).state == STATE_OFF
    last = resident_entity(hass, "sensor", resident_id, "last_activity")
    recorded_at = hass.states.get(last).state
    assert hass.states.get(last).attributes["source"] == "check_in"

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(last).state == recorded_at
    assert hass.states.get(inactive).attributes["inactive_after_minutes"] == 10


async def test_untagging_removes_the_residents_entities(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A resident no longer tagged loses their device and entities."""
    entry = init_integration
    resident_id = await add_resident(hass, entry, name="赵奶奶", tags=ELDERLY)
    await hass.async_block_till_done()
    last = resident_entity(hass, "sensor", resident_id, "last_activity")
    identifier = (DOMAIN, f"{entry.entry_id}_resident_{resident_id}")
    device = dr.async_get(hass).async_get_device_by_identifier(
        identifier, entry.entry_id
    )
    assert device is not None
    assert device.name == "赵奶奶"

    await call(hass, "update_resident", entry, resident_id=resident_id, tags=[])
    await hass.async_block_till_done()
    assert hass.states.get(last) is None
    assert (
        dr.async_get(hass).async_get_device_by_identifier(identifier, entry.entry_id)
        is None
    )


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"entities": ["light.kitchen"]}, "activity_entity_unsupported"),
        ({"ble_tag": "beacon seven"}, "invalid_resident"),
        ({"ble_button": "AA:BB"}, "invalid_resident"),
        ({"inactive_after": {"seconds": 10}}, "invalid_resident"),
    ],
)
async def test_bad_links_are_translated_errors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    fields: dict[str, Any],
    error: str,
) -> None:
    """Each bad link is refused with a translated error, and nothing is linked."""
    entry = init_integration
    resident_id = await add_resident(hass, entry, name="钱奶奶", tags=ELDERLY)
    with pytest.raises(ServiceValidationError) as raised:
        await call(
            hass, "link_activity_sources", entry, resident_id=resident_id, **fields
        )
    assert raised.value.translation_key == error
    assert not entry.runtime_data.activity.all_links()


async def test_a_linked_tag_without_bluetooth_raises_a_repair(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Without the bluetooth integration a tag cannot be heard: a repair says so."""
    entry = init_integration
    resident_id = await add_resident(hass, entry, name="孙爷爷", tags=ELDERLY)
    await call(
        hass, "link_activity_sources", entry, resident_id=resident_id, ble_tag=TAG
    )
    issue_id = f"wearables_bluetooth_missing_{entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    await call(
        hass, "link_activity_sources", entry, resident_id=resident_id, ble_tag=""
    )
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.usefixtures("mock_bluetooth")
async def test_ble_tag_is_activity_and_a_button_press_calls_for_help(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """A tag sighting (address or iBeacon) is activity; each new button packet is one SOS."""
    assert await async_setup_component(hass, "bluetooth", {})
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    entry = mock_config_entry
    grandma = await add_resident(hass, entry, name="周奶奶", tags=ELDERLY)
    grandpa = await add_resident(hass, entry, name="周爷爷", tags=ELDERLY)
    await call(
        hass,
        "link_activity_sources",
        entry,
        resident_id=grandma,
        ble_tag=TAG.lower(),
        ble_button=BUTTON,
    )
    await call(
        hass,
        "link_activity_sources",
        entry,
        resident_id=grandpa,
        ble_tag=f"{BEACON_UUID}_10001_258",
    )
    await hass.async_block_till_done()
    sos = resident_entity(hass, "event", grandma, "sos")
    fired: list[dict[str, Any]] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: (
            fired.append(dict(event.data["new_state"].attributes))
            if event.data["entity_id"] == sos
            else None
        ),
    )

    advertise(TAG)
    beacon = (
        b"\x02\x15"
        + bytes.fromhex(BEACON_UUID.replace("-", ""))
        + (10001).to_bytes(2, "big")
        + (258).to_bytes(2, "big")
        + b"\xc5"
    )
    advertise("5A:11:22:33:44:55", manufacturer_data={APPLE_COMPANY_ID: beacon})
    await hass.async_block_till_done()
    for resident_id, detail in ((grandma, TAG), (grandpa, f"{BEACON_UUID}_10001_258")):
        state = hass.states.get(
            resident_entity(hass, "sensor", resident_id, "last_activity")
        )
        assert state.attributes["source"] == "ble_tag"
        assert state.attributes["detail"] == detail

    press = bytes([0x44, 0x00, 0x07, 0x01, 0x5A, 0x3A, 0x01])
    for _ in range(3):  # a press is advertised several times with one packet ID
        advertise(BUTTON, service_data={BTHOME_SERVICE_UUID: press})
    await hass.async_block_till_done()
    assert len(fired) == 1
    assert fired[0]["event_type"] == "sos"
    assert fired[0]["resident_id"] == grandma
    assert fired[0]["press"] == "press"

    # A new packet with no press, and a malformed one, call nobody.
    advertise(
        BUTTON,
        service_data={BTHOME_SERVICE_UUID: bytes([0x44, 0x00, 0x08, 0x3A, 0x00])},
    )
    advertise(BUTTON, service_data={BTHOME_SERVICE_UUID: bytes([0x41, 0x00, 0x09])})
    await hass.async_block_till_done()
    assert len(fired) == 1
    advertise(
        BUTTON,
        service_data={BTHOME_SERVICE_UUID: bytes([0x44, 0x00, 0x0A, 0x3A, 0x04])},
    )
    await hass.async_block_till_done()
    assert len(fired) == 2
    assert fired[1]["press"] == "long_press"
