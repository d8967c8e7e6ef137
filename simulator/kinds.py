"""List the device kinds a scenario may contain."""

from enum import StrEnum


class DeviceKind(StrEnum):
    """Name a kind of community device.

    Most values are the integration's subentry types. Not every kind is one: a
    phone registers itself through Home Assistant's own ``mobile_app``
    integration, as the companion app does.
    """

    FACE_TERMINAL = "face_terminal"
    PLATE_CAMERA = "plate_camera"
    POWER_METER = "power_meter"
    FIRE_PANEL = "fire_panel"
    SPEAKER_ZONE = "speaker_zone"
    CHARGING_STATION = "charging_station"
    CAMERA = "camera"
    PHONE = "phone"
