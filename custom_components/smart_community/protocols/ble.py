"""Bluetooth LE advertisements that residents' wearables send.

Two formats, both public:

- iBeacon: Apple's manufacturer data (company 0x004C): type 0x02, length 0x15,
  a 16-byte proximity UUID, a big-endian major and minor, and the calibrated
  power. A tag is known by UUID, major and minor, because many tags rotate
  their address.
- BTHome v2: service data under UUID 0xFCD2. One device-information byte (bit 0:
  encrypted, bits 5-7: version 2), then objects, each an ID byte and a value
  whose length the ID fixes, in ascending ID order. Buttons report object 0x3A;
  a packet ID (object 0x00) lets a receiver drop the repeats every press is
  sent with.
"""

from dataclasses import dataclass, field
from enum import IntEnum
import re
from typing import Final
from uuid import UUID

APPLE_COMPANY_ID: Final = 0x004C
BTHOME_SERVICE_UUID: Final = "0000fcd2-0000-1000-8000-00805f9b34fb"

_IBEACON_TYPE: Final = b"\x02\x15"
_IBEACON_LENGTH: Final = 23
_BTHOME_ENCRYPTED: Final = 0x01
_BTHOME_VERSION: Final = 2
_PACKET_ID: Final = 0x00
_BUTTON: Final = 0x3A
# Value lengths of the object IDs BTHome v2 defines up to the button's and a
# little beyond: a receiver must know every length before the object it wants.
_OBJECT_LENGTHS: Final = {
    0x00: 1, 0x01: 1, 0x02: 2, 0x03: 2, 0x04: 3, 0x05: 3, 0x06: 2, 0x07: 2,
    0x08: 2, 0x09: 1, 0x0A: 3, 0x0B: 3, 0x0C: 2, 0x0D: 2, 0x0E: 2, 0x0F: 1,
    0x10: 1, 0x11: 1, 0x12: 2, 0x13: 2, 0x14: 2, 0x15: 1, 0x16: 1, 0x17: 1,
    0x18: 1, 0x19: 1, 0x1A: 1, 0x1B: 1, 0x1C: 1, 0x1D: 1, 0x1E: 1, 0x1F: 1,
    0x20: 1, 0x21: 1, 0x22: 1, 0x23: 1, 0x24: 1, 0x25: 1, 0x26: 1, 0x27: 1,
    0x28: 1, 0x29: 1, 0x2A: 1, 0x2B: 1, 0x2C: 1, 0x2D: 1, 0x2E: 1, 0x2F: 1,
    0x3A: 1, 0x3C: 2, 0x3D: 2, 0x3E: 4, 0x3F: 2, 0x40: 2, 0x41: 2, 0x42: 3,
    0x43: 2, 0x44: 2, 0x45: 2, 0x46: 1, 0x47: 2, 0x48: 2, 0x49: 2, 0x4A: 2,
    0x4B: 3, 0x4C: 4, 0x4D: 4, 0x4E: 4, 0x4F: 4, 0x50: 4, 0x51: 2, 0x52: 2,
}  # fmt: skip
_MAC: Final = re.compile(r"[0-9A-F]{2}(?::[0-9A-F]{2}){5}")


class BleFormatError(ValueError):
    """An advertisement that claims a format but does not follow it."""


class ButtonEvent(IntEnum):
    """What a BTHome button reports (object 0x3A)."""

    NONE = 0x00
    PRESS = 0x01
    DOUBLE_PRESS = 0x02
    TRIPLE_PRESS = 0x03
    LONG_PRESS = 0x04
    LONG_DOUBLE_PRESS = 0x05
    LONG_TRIPLE_PRESS = 0x06
    HOLD_PRESS = 0x80


@dataclass(frozen=True, slots=True)
class IBeacon:
    """An iBeacon's identity."""

    uuid: UUID
    major: int
    minor: int

    @property
    def identity(self) -> str:
        """Return the identity as residents' links write it: UUID_major_minor."""
        return f"{self.uuid}_{self.major}_{self.minor}"


@dataclass(frozen=True, slots=True)
class BTHomePacket:
    """The parts of a BTHome v2 advertisement a wearable's button needs.

    ``complete`` is False when an object ID of unknown length stopped the
    parse: the buttons before it are still known, those after it are not.
    """

    packet_id: int | None
    buttons: tuple[ButtonEvent, ...] = field(default=())
    complete: bool = True


def normalize_mac(text: str) -> str:
    """Return a Bluetooth address as AA:BB:CC:DD:EE:FF, or raise BleFormatError."""
    compact = text.strip().upper().replace("-", ":")
    if not _MAC.fullmatch(compact):
        raise BleFormatError(f"{text.strip()!r} is not a Bluetooth address")
    return compact


def normalize_ibeacon(text: str) -> str:
    """Return an iBeacon identity as UUID_major_minor, or raise BleFormatError.

    Accepts the UUID with or without dashes and ``_``, ``:`` or ``/`` between
    the parts.
    """
    parts = re.split(r"[_:/ ]", text.strip())
    if len(parts) != 3:
        raise BleFormatError(f"{text.strip()!r} is not UUID_major_minor")
    try:
        uuid = UUID(parts[0])
        major, minor = int(parts[1]), int(parts[2])
    except ValueError as err:
        raise BleFormatError(f"{text.strip()!r} is not UUID_major_minor") from err
    if not (0 <= major <= 0xFFFF and 0 <= minor <= 0xFFFF):
        raise BleFormatError("an iBeacon's major and minor are 0 to 65535")
    return IBeacon(uuid, major, minor).identity


def parse_ibeacon(manufacturer_data: dict[int, bytes]) -> IBeacon | None:
    """Read an iBeacon out of an advertisement's manufacturer data, if it has one."""
    data = manufacturer_data.get(APPLE_COMPANY_ID)
    if data is None or not data.startswith(_IBEACON_TYPE):
        return None
    if len(data) != _IBEACON_LENGTH:
        raise BleFormatError(f"an iBeacon frame is 23 bytes, not {len(data)}")
    return IBeacon(
        uuid=UUID(bytes=data[2:18]),
        major=int.from_bytes(data[18:20], "big"),
        minor=int.from_bytes(data[20:22], "big"),
    )


def parse_bthome(data: bytes) -> BTHomePacket:
    """Read the packet ID and button events of BTHome v2 service data."""
    if not data:
        raise BleFormatError("BTHome service data is empty")
    info = data[0]
    if info >> 5 != _BTHOME_VERSION:
        raise BleFormatError(f"BTHome version {info >> 5} is not 2")
    if info & _BTHOME_ENCRYPTED:
        raise BleFormatError("the BTHome packet is encrypted; its key is not known")
    packet_id: int | None = None
    buttons: list[ButtonEvent] = []
    position = 1
    while position < len(data):
        object_id = data[position]
        length = _OBJECT_LENGTHS.get(object_id)
        if length is None:
            return BTHomePacket(packet_id, tuple(buttons), complete=False)
        value = data[position + 1 : position + 1 + length]
        if len(value) != length:
            raise BleFormatError(f"BTHome object 0x{object_id:02X} is cut short")
        if object_id == _PACKET_ID:
            packet_id = value[0]
        elif object_id == _BUTTON:
            try:
                buttons.append(ButtonEvent(value[0]))
            except ValueError as err:
                raise BleFormatError(
                    f"BTHome button event 0x{value[0]:02X} is not defined"
                ) from err
        position += 1 + length
    return BTHomePacket(packet_id, tuple(buttons))
