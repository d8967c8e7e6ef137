"""Emergency broadcast: speaker zones, media for them, and announcements in the background."""

import asyncio
from functools import partial

from homeassistant.components import media_source, tts
from homeassistant.components.media_player.browse_media import (
    async_process_play_media_url,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .community.paging import Broadcaster, SpeakerZone
from .const import (
    CONF_BUILDING,
    CONF_CHIME,
    CONF_CODEC,
    CONF_TTL,
    DOMAIN,
    LOGGER,
    SUBENTRY_TYPE_SPEAKER_ZONE,
)
from .protocols.rtp_paging import (
    G711,
    Announcer,
    MediaUnavailableError,
    PagingError,
    PagingSender,
    PreemptedError,
    Priority,
    UnsupportedMediaError,
    ZoneBusyError,
    ZoneUnreachableError,
    transcode,
)
from .runtime import SmartCommunityConfigEntry

TTS_PREFIX = "media-source://tts/"


def zone_of(subentry: ConfigSubentry) -> SpeakerZone:
    """Create the runtime of one speaker zone subentry."""
    return SpeakerZone(
        zone_id=subentry.subentry_id,
        name=subentry.title,
        building_id=subentry.data.get(CONF_BUILDING),
        host=subentry.data[CONF_HOST],
        port=int(subentry.data[CONF_PORT]),
        codec=G711(subentry.data[CONF_CODEC]),
        ttl=int(subentry.data[CONF_TTL]),
        chime=bool(subentry.data[CONF_CHIME]),
    )


async def async_start_broadcast(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> None:
    """Create the community's broadcaster and its zones."""

    async def transcode_off_loop(source: bytes | str, codec: G711) -> bytes:
        return await hass.async_add_executor_job(partial(transcode, source, codec))

    broadcaster = Broadcaster(Announcer(PagingSender()), transcode_off_loop)
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_SPEAKER_ZONE):
        broadcaster.zones[subentry.subentry_id] = zone_of(subentry)
    entry.runtime_data.broadcaster = broadcaster
    entry.async_on_unload(broadcaster.announcer.stop)


async def async_media_source(
    hass: HomeAssistant, media_id: str, entity_id: str | None = None
) -> bytes | str:
    """Turn what play_media was given into bytes, a file or a URL PyAV can open."""
    # A local file in a folder Home Assistant may read (checking resolves the
    # path on disk, so not on the event loop).
    if media_id.startswith("/") and await hass.async_add_executor_job(
        hass.config.is_allowed_path, media_id
    ):
        return media_id
    if media_source.is_media_source_id(media_id):
        if media_id.startswith(TTS_PREFIX):
            try:
                _extension, audio = await tts.async_get_media_source_audio(
                    hass, media_id
                )
            except HomeAssistantError as err:
                raise _error("tts_failed", err) from err
            return audio
        try:
            play = await media_source.async_resolve_media(hass, media_id, entity_id)
        except media_source.Unresolvable as err:
            raise _error("media_unavailable", err) from err
        if play.path is not None:
            return str(play.path)
        media_id = play.url
    return async_process_play_media_url(hass, media_id)


async def async_speak(
    hass: HomeAssistant, message: str, language: str | None, engine: str | None
) -> bytes:
    """Synthesise a message with Home Assistant's text-to-speech."""
    if (
        "tts" not in hass.config.components
        or (engine := engine or tts.async_default_engine(hass)) is None
    ):
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="tts_unavailable"
        )
    try:
        media_id = tts.generate_media_source_id(
            hass, message, engine=engine, language=language
        )
        _extension, audio = await tts.async_get_media_source_audio(hass, media_id)
    except HomeAssistantError as err:
        raise _error("tts_failed", err) from err
    return audio


def _error(key: str, err: Exception) -> HomeAssistantError:
    """Make a translated error that says what went wrong underneath."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"error": str(err)},
    )


async def async_announce(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    source: bytes | str,
    zones: list[SpeakerZone],
    priority: Priority,
    *,
    wait: bool = False,
    repeat: int = 1,
) -> None:
    """Play media in zones; return once it plays (or is queued, with ``wait``).

    The announcement itself runs in the background: an evacuation message may
    last minutes, and callers (automations) must go on at once.
    """
    if (broadcaster := entry.runtime_data.broadcaster) is None:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="no_zones")
    try:
        audio = await broadcaster.prepare(source, zones)
    except UnsupportedMediaError as err:
        raise _error("unsupported_media", err) from err
    except MediaUnavailableError as err:
        raise _error("media_unavailable", err) from err
    except PagingError as err:
        raise _error("broadcast_failed", err) from err
    started = asyncio.Event()

    async def play() -> None:
        try:
            await broadcaster.play(
                audio, zones, priority, wait=wait, repeat=repeat, started=started.set
            )
        except PreemptedError:
            LOGGER.info("An announcement was cut short by a more urgent one")

    task = entry.async_create_background_task(hass, play(), "smart_community broadcast")
    if wait:
        task.add_done_callback(_log_failure)
        return
    waiter = asyncio.ensure_future(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if not task.done():
        task.add_done_callback(_log_failure)
        return
    try:
        task.result()
    except ZoneBusyError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="zone_busy",
            translation_placeholders={"priority": err.playing_priority.name.lower()},
        ) from err
    except ZoneUnreachableError as err:
        raise _error("zone_unreachable", err) from err
    except PagingError as err:
        raise _error("broadcast_failed", err) from err


def _log_failure(task: asyncio.Task[None]) -> None:
    """Log an announcement that failed after it had started or been queued."""
    if task.cancelled() or (error := task.exception()) is None:
        return
    LOGGER.warning("An announcement failed while playing: %s", error)
