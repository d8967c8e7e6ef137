"""Recognising cameras: streams, the recognition runtime and enrolled faces.

The runtime (LiteRT) is installed when the first camera is set up, not with the
integration: it has no wheels for musl, on which Home Assistant OS and the
Container image run. Where it cannot be installed, cameras still stream and the
rest of the community works; a repair issue says what recognition needs.
"""

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.requirements import RequirementsNotFound, async_process_requirements
from homeassistant.util import dt as dt_util

from .community.cameras import CameraConfig, CameraRole, CameraWatch
from .community.community import Community
from .const import (
    CONF_ANALYSIS_RATE,
    CONF_BUILDING,
    CONF_DISTANT_FACES,
    CONF_LINK,
    CONF_MODELS_FOLDER,
    CONF_ROLE,
    CONF_STREAM_URL,
    DOMAIN,
    GALLERY_SAVE_DELAY_SECONDS,
    LOGGER,
    RECOGNITION_REQUIREMENT,
    SUBENTRY_TYPE_CAMERA,
)
from .runtime import SmartCommunityConfigEntry
from .vision.gallery import EmbeddingError, FaceGallery
from .vision.imaging import ImageDecodeError, decode_picture
from .vision.pipeline import (
    ModelSet,
    NoFaceError,
    Recognizer,
    Task,
    interpreter_threads,
)
from .vision.runner import ModelLoadError, RuntimeUnavailableError, interpreter_factory
from .vision.stream import StreamReader, StreamState

GALLERY_STORAGE_VERSION = 1
ISSUE_RUNTIME_MISSING = "recognition_runtime_missing"
ISSUE_MODELS_UNUSABLE = "recognition_models_unusable"
# Two inference threads: the machine's cores; more only queue.
INFERENCE_WORKERS = 2


def redact_url(url: str) -> str:
    """Drop the user name and password from a stream address."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"**@{host}"))


def parse_link(link: str | None) -> tuple[str | None, str | None, int | None]:
    """Split a link into (lane id, terminal id, door)."""
    if not link:
        return None, None, None
    kind, _, rest = link.partition(":")
    if kind == "lane":
        return rest, None, None
    terminal_id, _, door = rest.rpartition(":")
    return None, terminal_id, int(door)


def camera_config(subentry: ConfigSubentry) -> CameraConfig:
    """Read a camera from its subentry."""
    lane_id, terminal_id, door = parse_link(subentry.data.get(CONF_LINK))
    return CameraConfig(
        camera_id=subentry.subentry_id,
        name=subentry.title,
        url=subentry.data[CONF_STREAM_URL],
        role=CameraRole(subentry.data[CONF_ROLE]),
        analysis_rate=float(subentry.data[CONF_ANALYSIS_RATE]),
        distant_faces=bool(subentry.data.get(CONF_DISTANT_FACES, False)),
        building_id=subentry.data.get(CONF_BUILDING),
        lane_id=lane_id,
        terminal_id=terminal_id,
        door=door,
    )


class GalleryStore:
    """Save the enrolled face embeddings, debounced, beside the residents."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, gallery: FaceGallery
    ) -> None:
        """Keep one community's gallery."""
        self._store: Store[dict[str, list[str]]] = Store(
            hass,
            GALLERY_STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}.face_gallery",
            private=True,
        )
        self.gallery = gallery

    async def async_load(self) -> None:
        """Read the saved embeddings; unreadable ones are dropped with one warning."""
        stored = await self._store.async_load() or {}
        try:
            loaded = FaceGallery.from_storage(stored)
        except EmbeddingError as err:
            LOGGER.warning("Starting the face gallery afresh: %s", err)
            return
        for person in loaded.people:
            self.gallery.replace(person, loaded.embeddings_of(person))

    @callback
    def async_schedule_save(self) -> None:
        """Save soon; a burst of enrolments is one write."""
        self._store.async_delay_save(
            self.gallery.to_storage, GALLERY_SAVE_DELAY_SECONDS
        )

    async def async_remove(self) -> None:
        """Delete the saved embeddings (when the community is removed)."""
        await self._store.async_remove()


async def _async_runtime_ready(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> bool:
    """Install and import the runtime; raise or clear the repair issue."""
    try:
        await async_process_requirements(hass, DOMAIN, [RECOGNITION_REQUIREMENT])
        await hass.async_add_executor_job(interpreter_factory)
    except (RequirementsNotFound, RuntimeUnavailableError) as err:
        LOGGER.warning("Recognition is off: %s", err)
        ir.async_create_issue(
            hass,
            DOMAIN,
            f"{ISSUE_RUNTIME_MISSING}_{entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_RUNTIME_MISSING,
            translation_placeholders={
                "community": entry.title,
                "requirement": RECOGNITION_REQUIREMENT,
                "error": str(err),
            },
            learn_more_url="https://github.com/smart-community-ha/smart-community/blob/main/MODELS.md",
        )
        return False
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_RUNTIME_MISSING}_{entry.entry_id}")
    return True


async def async_start_recognition(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> None:
    """Load the gallery, the runtime and the models; start every camera."""
    community = entry.runtime_data
    gallery_store = GalleryStore(hass, entry.entry_id, community.face_gallery)
    await gallery_store.async_load()

    @callback
    def residents_changed() -> None:
        """Forget the faces of people who are no longer residents."""
        residents = {resident.resident_id for resident in community.registry.residents}
        if community.face_gallery.retain(residents):
            gallery_store.async_schedule_save()

    residents_changed()
    entry.async_on_unload(community.registry.add_listener(residents_changed))
    community.save_gallery = gallery_store.async_schedule_save

    cameras = entry.get_subentries_of_type(SUBENTRY_TYPE_CAMERA)
    if not cameras:
        return
    executor = ThreadPoolExecutor(
        INFERENCE_WORKERS, thread_name_prefix="smart_community_vision"
    )

    async def async_shut_executor() -> None:
        """Let a running inference finish and its threads end (after the cameras)."""
        await hass.async_add_executor_job(
            partial(executor.shutdown, wait=True, cancel_futures=True)
        )

    entry.async_on_unload(async_shut_executor)
    recognizers: dict[str | None, Recognizer | None] = {}
    runtime = await _async_runtime_ready(hass, entry)
    for subentry in cameras:
        config = camera_config(subentry)
        folder = subentry.data.get(CONF_MODELS_FOLDER) or None
        if runtime and folder not in recognizers:
            recognizers[folder] = await _async_recognizer(
                hass, entry, community, folder, interpreter_threads(len(cameras))
            )
        _start_camera(hass, entry, community, config, executor)
        community.cameras[config.camera_id].recognizer = recognizers.get(folder)
    community.recognizer = next(
        (recognizer for recognizer in recognizers.values() if recognizer), None
    )
    if community.recognizer is not None:
        entry.async_create_background_task(
            hass,
            async_learn_stored_faces(hass, community, community.recognizer),
            f"{DOMAIN} learn stored faces",
        )


async def async_learn_stored_faces(
    hass: HomeAssistant, community: Community, recognizer: Recognizer
) -> int:
    """Learn the kept photos of residents whom recognition does not know yet.

    Photos enrolled while no camera recognised (none set up, or the runtime
    missing) went to the terminals only. Without this, the first recognising
    camera would call every one of those residents unknown. Returns how many
    residents were learnt; photos without a usable face are named in one log
    line, as those residents need a new photo.
    """
    faces = community.faces
    if faces is None:  # pragma: no cover - the enrolment starts first
        return 0
    gallery = community.face_gallery
    learnt = 0
    faceless: list[str] = []
    # A copy: residents may come and go while photos are learnt.
    unknown = [
        resident.resident_id
        for resident in community.registry.residents
        if not gallery.count(resident.resident_id)
    ]
    for resident_id in unknown:
        picture = await faces.get(resident_id)
        if picture is None:
            continue
        try:
            image = await hass.async_add_executor_job(decode_picture, picture)
            embedding = await hass.async_add_executor_job(
                recognizer.embed_portrait, image
            )
        except (ImageDecodeError, NoFaceError) as err:
            faceless.append(f"{resident_id} ({err})")
            continue
        # Enrolled or removed meanwhile: the newer state stands.
        if gallery.count(resident_id) or resident_id not in community.registry:
            continue
        gallery.add(resident_id, embedding)
        learnt += 1
    if learnt:
        LOGGER.info("Recognition learnt the kept face photos of %d residents", learnt)
        if community.save_gallery is not None:
            community.save_gallery()
    if faceless:
        LOGGER.warning(
            "Recognition cannot learn %d kept face photos; enrol a new photo of: %s",
            len(faceless),
            "; ".join(faceless),
        )
    return learnt


async def _async_recognizer(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    community: Community,
    folder: str | None,
    threads: int,
) -> Recognizer | None:
    """Load a model folder's models now, so a broken file shows at setup."""
    models = ModelSet(Path(folder) if folder else None, threads=threads)
    issue_id = f"{ISSUE_MODELS_UNUSABLE}_{entry.entry_id}_{folder or 'bundled'}"
    try:
        await hass.async_add_executor_job(models.load, list(Task))
    except ModelLoadError as err:
        LOGGER.error(
            "Recognition models in %s cannot be used: %s", folder or "the bundle", err
        )
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_MODELS_UNUSABLE,
            translation_placeholders={
                "folder": folder or "(bundled)",
                "error": str(err),
            },
        )
        return None
    ir.async_delete_issue(hass, DOMAIN, issue_id)
    return Recognizer(models, community.face_gallery)


def _start_camera(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    community: Community,
    config: CameraConfig,
    executor: ThreadPoolExecutor,
) -> None:
    """Open a camera's stream and start its analysis loop."""
    loop = hass.loop
    watch: CameraWatch | None = None
    logged_outage = False

    def stream_changed(state: StreamState, reason: str | None) -> None:
        """Hop from the decode thread to the loop."""
        loop.call_soon_threadsafe(stream_state, state, reason)

    @callback
    def stream_state(state: StreamState, reason: str | None) -> None:
        """Log an outage once and its end once; refresh the entities."""
        nonlocal logged_outage
        if state is StreamState.RETRYING and not logged_outage:
            logged_outage = True
            LOGGER.warning("Camera %s is unavailable: %s", config.name, reason)
        elif state is StreamState.STREAMING and logged_outage:
            logged_outage = False
            LOGGER.info("Camera %s is streaming again", config.name)
        if watch is not None:
            watch.notify_state()

    reader = StreamReader(config.url, on_state=stream_changed, loop_files=True)
    watch = CameraWatch(
        config,
        reader,
        community.registry,
        executor=executor,
        clock=dt_util.utcnow,
        lanes=community.lanes,
        terminals=community.terminals,
    )
    community.cameras[config.camera_id] = watch
    reader.start()
    entry.async_create_background_task(
        hass, watch.run(), f"{DOMAIN} camera {config.name}"
    )

    async def async_stop() -> None:
        """Stop the decode thread without blocking the loop."""
        await hass.async_add_executor_job(reader.stop)
        community.cameras.pop(config.camera_id, None)

    entry.async_on_unload(async_stop)


async def async_enrol_embedding(
    hass: HomeAssistant,
    community: Community,
    resident_id: str,
    picture: bytes,
    *,
    replace: bool,
) -> int | None:
    """Add a photo's face to a resident's recognition embeddings.

    Returns how many photos the resident now has, or None where recognition is
    off. Raises NoFaceError (from the recognizer) for a photo without a usable
    face and ImageDecodeError for bytes that are no picture.
    """
    recognizer = community.recognizer
    if recognizer is None:
        return None
    image = await hass.async_add_executor_job(decode_picture, picture)
    embedding = await hass.async_add_executor_job(recognizer.embed_portrait, image)
    gallery = community.face_gallery
    if replace:
        gallery.replace(resident_id, [embedding])
        count = 1
    else:
        count = gallery.add(resident_id, embedding)
    if community.save_gallery is not None:
        community.save_gallery()
    return count


async def async_remove_gallery(hass: HomeAssistant, entry_id: str) -> None:
    """Delete a removed community's embeddings."""
    await GalleryStore(hass, entry_id, FaceGallery()).async_remove()


def camera_diagnostics(community: Community) -> dict[str, Any]:
    """Describe the cameras and the gallery, with stream credentials removed."""
    return {
        "recognition_available": community.recognizer is not None,
        "gallery": {
            "people": len(community.face_gallery.people),
            "embeddings": len(community.face_gallery),
            "threshold": community.face_gallery.threshold,
            "margin": community.face_gallery.margin,
        },
        "cameras": {
            camera_id: {
                "name": watch.config.name,
                "url": redact_url(watch.config.url),
                "role": watch.config.role.value,
                "analysis_rate": watch.config.analysis_rate,
                "distant_faces": watch.config.distant_faces,
                "recognizing": watch.recognizer is not None,
                "stream_state": watch.reader.state.value,
                "stream_error": watch.reader.last_error,
                "frames_decoded": watch.reader.stats.frames_decoded,
                "frames_dropped": watch.reader.stats.frames_dropped,
                "analyses": watch.analyses,
                "analysis_errors": watch.analysis_errors,
                "last_analysis_ms": watch.last_analysis_ms,
                "last_event": watch.last_event.kind.value if watch.last_event else None,
                "ebike_present": watch.ebike_present,
            }
            for camera_id, watch in community.cameras.items()
        },
    }
