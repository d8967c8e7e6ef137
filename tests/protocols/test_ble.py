"""Test reading iBeacon and BTHome advertisements."""

from uuid import UUID

import pytest

from custom_components.smart_community.protocols.ble import (
    APPLE_COMPANY_ID,
    BleFormatError,
    ButtonEvent,
    IBeacon,
    normalize_ibeacon,
    normalize_mac,
    parse_bthome,
    parse_ibeacon,
)

BEACON_UUID = UUID("fda50693-a4e2-4fb1-afcf-c6eb07647825")


def ibeacon_data(major: int, minor: int) -> bytes:
    """Build Apple manufacturer data of an iBeacon with calibrated power -59 dBm."""
    return (
        b"\x02\x15"
        + BEACON_UUID.bytes
        + major.to_bytes(2, "big")
        + minor.to_bytes(2, "big")
        + (-59).to_bytes(1, "big", signed=True)
    )


def test_ibeacon_identity_is_read() -> None:
    """UUID, major and minor come out of the frame; other Apple data is not a beacon."""
    beacon = parse_ibeacon({APPLE_COMPANY_ID: ibeacon_data(10001, 258)})
    assert beacon == IBeacon(BEACON_UUID, 10001, 258)
    assert beacon.identity == f"{BEACON_UUID}_10001_258"
    assert parse_ibeacon({APPLE_COMPANY_ID: b"\x10\x05\x01"}) is None
    assert parse_ibeacon({0x0059: ibeacon_data(1, 2)}) is None
    with pytest.raises(BleFormatError, match="23 bytes"):
        parse_ibeacon({APPLE_COMPANY_ID: ibeacon_data(1, 2)[:-3]})


def test_identities_are_normalised() -> None:
    """Addresses are upper case with colons; iBeacon identities take several spellings."""
    assert normalize_mac(" c3-00-00-12-34-56 ") == "C3:00:00:12:34:56"
    with pytest.raises(BleFormatError):
        normalize_mac("C3:00:00:12:34")
    spelled = normalize_ibeacon("FDA50693A4E24FB1AFCFC6EB07647825:10001:258")
    assert spelled == f"{BEACON_UUID}_10001_258"
    with pytest.raises(BleFormatError, match="65535"):
        normalize_ibeacon(f"{BEACON_UUID}_70000_1")
    with pytest.raises(BleFormatError):
        normalize_ibeacon("not-a-uuid_1_2")
    with pytest.raises(BleFormatError):
        normalize_ibeacon("only_two")


def test_bthome_button_press_with_packet_id_and_battery() -> None:
    """A Shelly-style button packet: packet ID, battery, then the button event."""
    packet = parse_bthome(bytes([0x44, 0x00, 0x2A, 0x01, 0x64, 0x3A, 0x01]))
    assert packet.packet_id == 0x2A
    assert packet.buttons == (ButtonEvent.PRESS,)
    assert packet.complete


def test_bthome_several_buttons_and_a_long_press() -> None:
    """Each 0x3A object is one button, in order; values of other objects are skipped."""
    packet = parse_bthome(bytes([0x40, 0x02, 0xC4, 0x09, 0x3A, 0x00, 0x3A, 0x04]))
    assert packet.packet_id is None
    assert packet.buttons == (ButtonEvent.NONE, ButtonEvent.LONG_PRESS)


def test_bthome_unknown_object_stops_the_parse_but_keeps_what_came_before() -> None:
    """An object of unknown length ends the parse; earlier buttons stay."""
    packet = parse_bthome(bytes([0x40, 0x3A, 0x01, 0xF7, 0x01, 0x02]))
    assert packet.buttons == (ButtonEvent.PRESS,)
    assert not packet.complete


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (bytes([0x20, 0x3A, 0x01]), "version 1"),
        (bytes([0x41, 0x3A, 0x01]), "encrypted"),
        (bytes([0x40, 0x02, 0xC4]), "cut short"),
        (bytes([0x40, 0x3A, 0x09]), "not defined"),
    ],
)
def test_bthome_malformed_packets_are_refused(data: bytes, message: str) -> None:
    """Wrong version, encryption, cut-off values and unknown events are clear errors."""
    with pytest.raises(BleFormatError, match=message):
        parse_bthome(data)
