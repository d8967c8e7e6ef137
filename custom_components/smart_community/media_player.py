"""Media players: a paging zone each, and an all-call player for the whole community."""

from typing import Any, override

from homeassistant.components import media_source
from homeassistant.components.media_player import MediaPlayerEntity
from homeassistant.components.media_player.browse_media import BrowseMedia
from homeassistant.components.media_player.const import (
    ATTR_MEDIA_ANNOUNCE,
    MediaPlayerDeviceClass,
    MediaPlayerEntityFeature,
    MediaPlayerState,
    MediaType,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .broadcast import async_announce, async_media_source
from .community.paging import Broadcaster, SpeakerZone
from .const import SUBENTRY_TYPE_SPEAKER_ZONE
from .entity import SmartCommunityEntity, SubentryEntity
from .protocols.rtp_paging import Priority
from .runtime import SmartCommunityConfigEntry

# Announcements run in the background; nothing here waits on a device.
PARALLEL_UPDATES = 0

FEATURES = (
    MediaPlayerEntityFeature.PLAY_MEDIA
    | MediaPlayerEntityFeature.MEDIA_ANNOUNCE
    | MediaPlayerEntityFeature.STOP
    | MediaPlayerEntityFeature.BROWSE_MEDIA
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a player per speaker zone, and the all-call player if there are zones."""
    broadcaster = entry.runtime_data.broadcaster
    if broadcaster is None or not broadcaster.zones:
        return
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_SPEAKER_ZONE):
        async_add_entities(
            [ZonePlayer(hass, entry, subentry, broadcaster)],
            config_subentry_id=subentry.subentry_id,
        )
    async_add_entities([AllCallPlayer(entry, broadcaster)])


class _PagingPlayer(MediaPlayerEntity):
    """What a zone and the all-call player share: playing media in zones."""

    _attr_device_class = MediaPlayerDeviceClass.SPEAKER
    _attr_media_content_type = MediaType.MUSIC
    entry: SmartCommunityConfigEntry
    broadcaster: Broadcaster

    def _zones(self) -> list[SpeakerZone]:
        """Return the zones this player plays in."""
        raise NotImplementedError

    @property
    @override
    def state(self) -> MediaPlayerState:
        """Tell whether an announcement plays in any of the player's zones."""
        playing = self.broadcaster.announcer.playing()
        if any(zone.zone_id in playing for zone in self._zones()):
            return MediaPlayerState.PLAYING
        return MediaPlayerState.IDLE

    @override
    async def async_added_to_hass(self) -> None:
        """Follow what plays."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.broadcaster.announcer.add_listener(self.async_write_ha_state)
        )

    @override
    async def async_play_media(
        self, media_type: MediaType | str, media_id: str, **kwargs: Any
    ) -> None:
        """Play media (TTS, a media source or a URL) in the player's zones.

        An announcement outranks plain media; either is refused while something
        more urgent plays.
        """
        source = await async_media_source(self.hass, media_id, self.entity_id)
        priority = (
            Priority.URGENT if kwargs.get(ATTR_MEDIA_ANNOUNCE) else Priority.NORMAL
        )
        await async_announce(self.hass, self.entry, source, self._zones(), priority)

    @override
    async def async_media_stop(self) -> None:
        """Stop what plays in the player's zones."""
        await self.broadcaster.announcer.stop([zone.zone_id for zone in self._zones()])

    @override
    async def async_browse_media(
        self,
        media_content_type: MediaType | str | None = None,
        media_content_id: str | None = None,
    ) -> BrowseMedia:
        """Browse audio in Home Assistant's media sources."""
        return await media_source.async_browse_media(
            self.hass,
            media_content_id,
            content_filter=lambda item: item.media_content_type.startswith("audio/"),
        )


class ZonePlayer(_PagingPlayer, SubentryEntity, RestoreEntity):
    """One paging zone: its speakers play what it is given, at its volume."""

    _attr_name = None
    _attr_supported_features = (
        FEATURES
        | MediaPlayerEntityFeature.VOLUME_SET
        | MediaPlayerEntityFeature.VOLUME_MUTE
    )

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        broadcaster: Broadcaster,
    ) -> None:
        """Create the player of one zone."""
        super().__init__(hass, entry, subentry, "player", model="RTP G.711 paging zone")
        self.entry = entry
        self.broadcaster = broadcaster
        self.zone = broadcaster.zones[subentry.subentry_id]

    @override
    def _zones(self) -> list[SpeakerZone]:
        """Play in this zone only."""
        return [self.zone]

    @override
    async def async_added_to_hass(self) -> None:
        """Take back the volume set before a restart."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None:
            volume = last.attributes.get("volume_level")
            if isinstance(volume, (int, float)):
                self.zone.volume = float(volume)
            self.zone.muted = bool(last.attributes.get("is_volume_muted", False))

    @property
    @override
    def volume_level(self) -> float:
        """Return the zone's volume (0..1)."""
        return self.zone.volume

    @property
    @override
    def is_volume_muted(self) -> bool:
        """Tell whether the zone is muted (evacuation messages still play)."""
        return self.zone.muted

    @override
    async def async_set_volume_level(self, volume: float) -> None:
        """Set the zone's volume for the next announcements."""
        self.zone.volume = volume
        self.async_write_ha_state()

    @override
    async def async_mute_volume(self, mute: bool) -> None:
        """Mute the zone for everything but evacuation messages."""
        self.zone.muted = mute
        self.async_write_ha_state()


class AllCallPlayer(_PagingPlayer, SmartCommunityEntity):
    """Every zone of the community at once (all-call)."""

    _attr_translation_key = "all_call"
    _attr_supported_features = FEATURES

    def __init__(
        self, entry: SmartCommunityConfigEntry, broadcaster: Broadcaster
    ) -> None:
        """Create the all-call player of a community."""
        super().__init__(entry, "all_call")
        self.entry = entry
        self.broadcaster = broadcaster

    @override
    def _zones(self) -> list[SpeakerZone]:
        """Play in every zone."""
        return list(self.broadcaster.zones.values())
