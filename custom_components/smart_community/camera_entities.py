"""Entities of recognising cameras: stream, events, last match, e-bike sensor.

Platform modules call the ``async_add_*`` functions; one module keeps what a
camera shows in Home Assistant together.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, override

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.camera import Camera
from homeassistant.components.camera.const import CameraEntityFeature
from homeassistant.components.event import EventEntity
from homeassistant.components.image import ImageEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .community.cameras import (
    CameraRole,
    CameraWatch,
    RecognitionEvent,
    RecognitionKind,
)
from .const import SUBENTRY_TYPE_CAMERA
from .entity import SubentryEntity
from .runtime import SmartCommunityConfigEntry
from .vision.imaging import encode_jpeg
from .vision.stream import StreamState

CAMERA_MODEL: Final = "IP camera"
# Roles whose cameras look for e-bikes.
EBIKE_ROLES: Final = frozenset({CameraRole.ELEVATOR, CameraRole.GENERAL})
# RTSP can be handed to Home Assistant's stream component; MJPEG over HTTP is
# served from the frames the integration decodes anyway.
STREAMABLE_SCHEMES: Final = ("rtsp://", "rtsps://")


class CameraWatchEntity(SubentryEntity):
    """An entity of a recognising camera's device."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        key: str,
    ) -> None:
        """Attach the entity to its camera's device."""
        self.watch: CameraWatch = entry.runtime_data.cameras[subentry.subentry_id]
        super().__init__(hass, entry, subentry, key, model=CAMERA_MODEL)

    @property
    def streaming(self) -> bool:
        """Tell whether frames are arriving."""
        return self.watch.reader.state is StreamState.STREAMING

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the camera's state."""
        self.async_on_remove(self.watch.add_state_listener(self._async_watch_changed))

    @callback
    def _async_watch_changed(self) -> None:
        """Show the camera's new state."""
        self.async_write_ha_state()


def _cameras(entry: SmartCommunityConfigEntry) -> list[ConfigSubentry]:
    """Return the camera subentries whose watch is running."""
    return [
        subentry
        for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_CAMERA)
        if subentry.subentry_id in entry.runtime_data.cameras
    ]


class RecognitionCamera(CameraWatchEntity, Camera):
    """What the camera sees: its live stream and a still of the newest frame."""

    _attr_name = None

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Create the camera entity of a recognising camera."""
        CameraWatchEntity.__init__(self, hass, entry, subentry, "camera")
        Camera.__init__(self)
        if self.watch.config.url.lower().startswith(STREAMABLE_SCHEMES):
            self._attr_supported_features = CameraEntityFeature.STREAM

    @property
    @override
    def available(self) -> bool:
        """Tell whether frames are arriving."""
        return self.streaming

    @override
    async def stream_source(self) -> str | None:
        """Give Home Assistant's stream component the RTSP address."""
        if self.supported_features & CameraEntityFeature.STREAM:
            return self.watch.config.url
        return None

    @override
    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Encode the newest decoded frame (converted and encoded off the loop)."""
        return await self.hass.async_add_executor_job(self._newest_jpeg)

    def _newest_jpeg(self) -> bytes | None:
        """Take the newest frame and encode it; runs in a worker thread."""
        frame = self.watch.reader.latest()
        return None if frame is None else encode_jpeg(frame.image)


class CameraRecognitionEvent(CameraWatchEntity, EventEntity):
    """Who and what the camera recognised."""

    _attr_translation_key = "recognition"
    _attr_event_types: list[str] = [kind.value for kind in RecognitionKind]  # noqa: RUF012

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Create the recognition event of a camera."""
        super().__init__(hass, entry, subentry, "recognition")

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the camera's events."""
        await super().async_added_to_hass()
        self.async_on_remove(self.watch.add_event_listener(self._async_recognised))

    @callback
    def _async_recognised(self, event: RecognitionEvent) -> None:
        """Fire the event with what identifies it."""
        self._trigger_event(event.kind.value, event_attributes(event))
        self.async_write_ha_state()


def event_attributes(event: RecognitionEvent) -> dict[str, Any]:
    """Return the attributes of an event that it has."""
    attributes: dict[str, Any] = {"confidence": round(event.confidence, 3)}
    match event.kind:
        case RecognitionKind.FACE_RECOGNIZED:
            attributes |= {
                "resident_id": event.resident_id,
                "resident": event.resident_name,
                "distance": _rounded(event.distance),
                "opened": event.opened,
            }
        case RecognitionKind.FACE_UNKNOWN:
            attributes["distance"] = _rounded(event.distance)
        case RecognitionKind.PLATE_READ:
            attributes |= {
                "plate": event.plate,
                "verdict": event.verdict,
                "resident_id": event.resident_id,
                "opened": event.opened,
            }
        case RecognitionKind.EBIKE_DETECTED:
            attributes["label"] = event.label
    return attributes


def _rounded(value: float | None) -> float | None:
    """Round a distance for display."""
    return None if value is None else round(value, 3)


class LastMatchImage(CameraWatchEntity, ImageEntity):
    """The frame of the camera's last event."""

    _attr_translation_key = "last_match"
    _attr_content_type = "image/jpeg"

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Create the last-match image of a camera."""
        CameraWatchEntity.__init__(self, hass, entry, subentry, "last_match")
        ImageEntity.__init__(self, hass)

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the camera's events."""
        await super().async_added_to_hass()
        self.async_on_remove(self.watch.add_event_listener(self._async_recognised))

    @property
    @override
    def image_last_updated(self) -> datetime | None:
        """Return when the last event happened."""
        event = self.watch.last_event
        return event.at if event is not None else None

    @callback
    def _async_recognised(self, event: RecognitionEvent) -> None:
        """Show the new picture."""
        self._cached_image = None
        self.async_write_ha_state()

    @override
    async def async_image(self) -> bytes | None:
        """Return the JPEG of the last event's frame."""
        return self.watch.last_match_jpeg


class EbikeInElevator(CameraWatchEntity, BinarySensorEntity):
    """On while an e-bike is in view (in an elevator car, a fire risk)."""

    _attr_translation_key = "ebike_in_elevator"

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Create the e-bike sensor of a camera."""
        super().__init__(hass, entry, subentry, "ebike")

    @property
    @override
    def available(self) -> bool:
        """Only a camera that streams and recognises can tell."""
        return self.streaming and self.watch.recognizer is not None

    @property
    @override
    def is_on(self) -> bool:
        """Tell whether an e-bike is in view."""
        return self.watch.ebike_present


class CameraStreamConnected(CameraWatchEntity, BinarySensorEntity):
    """Whether the camera's stream delivers frames."""

    _attr_translation_key = "stream"
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Create the stream sensor of a camera."""
        super().__init__(hass, entry, subentry, "stream")

    @property
    @override
    def is_on(self) -> bool:
        """Tell whether frames are arriving."""
        return self.streaming

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Say why the stream is down."""
        return {"error": self.watch.reader.last_error}


type CameraEntityFactory = Callable[
    [HomeAssistant, SmartCommunityConfigEntry, ConfigSubentry], Entity
]


def _add_per_camera(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: CameraEntityFactory,
) -> None:
    """Add one entity of a kind to every recognising camera."""
    for subentry in _cameras(entry):
        async_add_entities(
            [factory(hass, entry, subentry)], config_subentry_id=subentry.subentry_id
        )


def async_add_camera_cameras(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the camera entity of every recognising camera."""
    _add_per_camera(hass, entry, async_add_entities, RecognitionCamera)


def async_add_camera_events(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the recognition event of every camera."""
    _add_per_camera(hass, entry, async_add_entities, CameraRecognitionEvent)


def async_add_camera_images(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the last-match image of every camera."""
    _add_per_camera(hass, entry, async_add_entities, LastMatchImage)


def async_add_camera_binary_sensors(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the stream sensor of every camera, and the e-bike sensor where wanted."""
    for subentry in _cameras(entry):
        entities: list[BinarySensorEntity] = [
            CameraStreamConnected(hass, entry, subentry)
        ]
        if entry.runtime_data.cameras[subentry.subentry_id].config.role in EBIKE_ROLES:
            entities.append(EbikeInElevator(hass, entry, subentry))
        async_add_entities(entities, config_subentry_id=subentry.subentry_id)
