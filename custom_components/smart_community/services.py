"""Actions that manage a community's residents, vehicles, cards, passes and blocklist."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from homeassistant.components import media_source
from homeassistant.components.lock.const import DOMAIN as LOCK_DOMAIN
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
    split_entity_id,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.helpers.service import async_register_platform_entity_service
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType
import probatio

from .activity import LINKABLE_DOMAINS
from .broadcast import async_announce, async_speak
from .community.activity import Activity, ActivityLinks, ActivitySource
from .community.charging import ChargingStation
from .community.charging_centre import ChargingCentre
from .community.community import Community
from .community.csv_io import (
    apply_residents_import,
    export_residents_csv,
    read_residents_csv,
)
from .community.errors import CommunityError, CsvImportError
from .community.models import Household
from .community.paging import Broadcaster, SpeakerZone
from .const import DOMAIN
from .faces import FaceFileError, check_face_picture
from .protocols.isapi import IsapiError
from .protocols.rtp_paging import Priority
from .recognition import async_enrol_embedding
from .vision.imaging import ImageDecodeError
from .vision.pipeline import NoFaceError

SERVICE_ADD_RESIDENT = "add_resident"
SERVICE_UPDATE_RESIDENT = "update_resident"
SERVICE_REMOVE_RESIDENT = "remove_resident"
SERVICE_ADD_VEHICLE = "add_vehicle"
SERVICE_REMOVE_VEHICLE = "remove_vehicle"
SERVICE_ADD_CARD = "add_card"
SERVICE_REMOVE_CARD = "remove_card"
SERVICE_ADD_VISITOR_PASS = "add_visitor_pass"
SERVICE_REMOVE_VISITOR_PASS = "remove_visitor_pass"
SERVICE_IMPORT_RESIDENTS = "import_residents"
SERVICE_EXPORT_RESIDENTS = "export_residents"
SERVICE_ENROLL_FACE = "enroll_face"
SERVICE_RESYNC_TERMINAL = "resync_terminal"
SERVICE_HOLD_OPEN = "hold_open"
SERVICE_RELEASE_HOLD = "release_hold"
SERVICE_BLOCK_PLATE = "block_plate"
SERVICE_UNBLOCK_PLATE = "unblock_plate"
SERVICE_BROADCAST = "broadcast"
SERVICE_STOP_CHARGING = "stop_charging"
SERVICE_RESUME_CHARGING = "resume_charging"
SERVICE_LINK_ACTIVITY_SOURCES = "link_activity_sources"
SERVICE_RECORD_ACTIVITY = "record_activity"

ATTR_BLOCK = "block"
ATTR_RESIDENT_ID = "resident_id"
ATTR_NAME = "name"
ATTR_BUILDING = "building"
ATTR_UNIT = "unit"
ATTR_ROOM = "room"
ATTR_PHONE = "phone"
ATTR_TAGS = "tags"
ATTR_NOTIFY_TARGETS = "notify_targets"
ATTR_PLATE = "plate"
ATTR_LABEL = "label"
ATTR_CARD = "card"
ATTR_PASS_ID = "pass_id"
ATTR_VISITOR_NAME = "visitor_name"
ATTR_HOST_RESIDENT_ID = "host_resident_id"
ATTR_VALID_FROM = "valid_from"
ATTR_VALID_UNTIL = "valid_until"
ATTR_PATH = "path"
ATTR_MODE = "mode"
ATTR_ENCODING = "encoding"
ATTR_CAMERA = "camera"
ATTR_IMAGE = "image"
# Forget a resident's earlier recognition photos instead of adding to them.
ATTR_REPLACE = "replace"
ATTR_DEVICE_ID = "device_id"
ATTR_REASON = "reason"
ATTR_MESSAGE = "message"
ATTR_ZONES = "zones"
ATTR_LANGUAGE = "language"
ATTR_REPEAT = "repeat"
ATTR_PRIORITY = "priority"
ATTR_WAIT = "wait"
ATTR_TTS_ENGINE = "tts_engine"
MAX_REPEAT = 10
ATTR_ENTITIES = "entities"
ATTR_BLE_TAG = "ble_tag"
ATTR_BLE_BUTTON = "ble_button"
ATTR_INACTIVE_AFTER = "inactive_after"

IMPORT_MODES = ("merge", "replace")
EXPORT_ENCODINGS = {"utf-8": "utf-8-sig", "gb18030": "gb18030"}
# A failed import lists this many bad rows in its message; the rest are counted.
MAX_ROWS_IN_MESSAGE = 10

ENTRY = {probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string}
TEXT_LIST = probatio.All(cv.ensure_list, [cv.string])

RESIDENT_FIELDS = {
    probatio.Optional(ATTR_PHONE): probatio.Any(None, cv.string),
    probatio.Optional(ATTR_TAGS): TEXT_LIST,
    probatio.Optional(ATTR_NOTIFY_TARGETS): TEXT_LIST,
}

SCHEMAS: dict[str, probatio.Schema] = {
    SERVICE_ADD_RESIDENT: probatio.Schema(
        ENTRY
        | RESIDENT_FIELDS
        | {
            probatio.Required(ATTR_NAME): cv.string,
            probatio.Required(ATTR_BUILDING): cv.string,
            probatio.Required(ATTR_UNIT): cv.string,
            probatio.Required(ATTR_ROOM): cv.string,
            probatio.Optional(ATTR_RESIDENT_ID): cv.string,
        }
    ),
    SERVICE_UPDATE_RESIDENT: probatio.Schema(
        ENTRY
        | RESIDENT_FIELDS
        | {
            probatio.Required(ATTR_RESIDENT_ID): cv.string,
            probatio.Optional(ATTR_NAME): cv.string,
            probatio.Optional(ATTR_BUILDING): cv.string,
            probatio.Optional(ATTR_UNIT): cv.string,
            probatio.Optional(ATTR_ROOM): cv.string,
        }
    ),
    SERVICE_REMOVE_RESIDENT: probatio.Schema(
        ENTRY | {probatio.Required(ATTR_RESIDENT_ID): cv.string}
    ),
    SERVICE_BLOCK_PLATE: probatio.Schema(
        ENTRY
        | {
            probatio.Required(ATTR_PLATE): cv.string,
            probatio.Optional(ATTR_REASON): cv.string,
        }
    ),
    SERVICE_UNBLOCK_PLATE: probatio.Schema(
        ENTRY | {probatio.Required(ATTR_PLATE): cv.string}
    ),
    SERVICE_ADD_VEHICLE: probatio.Schema(
        ENTRY
        | {
            probatio.Required(ATTR_RESIDENT_ID): cv.string,
            probatio.Required(ATTR_PLATE): cv.string,
            probatio.Optional(ATTR_LABEL): cv.string,
        }
    ),
    SERVICE_REMOVE_VEHICLE: probatio.Schema(
        ENTRY | {probatio.Required(ATTR_PLATE): cv.string}
    ),
    SERVICE_ADD_CARD: probatio.Schema(
        ENTRY
        | {
            probatio.Required(ATTR_RESIDENT_ID): cv.string,
            probatio.Required(ATTR_CARD): cv.string,
            probatio.Optional(ATTR_LABEL): cv.string,
        }
    ),
    SERVICE_REMOVE_CARD: probatio.Schema(
        ENTRY | {probatio.Required(ATTR_CARD): cv.string}
    ),
    SERVICE_ADD_VISITOR_PASS: probatio.Schema(
        ENTRY
        | {
            probatio.Required(ATTR_VISITOR_NAME): cv.string,
            probatio.Required(ATTR_HOST_RESIDENT_ID): cv.string,
            probatio.Required(ATTR_VALID_UNTIL): cv.datetime,
            probatio.Optional(ATTR_VALID_FROM): cv.datetime,
            probatio.Optional(ATTR_PLATE): cv.string,
        }
    ),
    SERVICE_REMOVE_VISITOR_PASS: probatio.Schema(
        ENTRY | {probatio.Required(ATTR_PASS_ID): cv.string}
    ),
    SERVICE_IMPORT_RESIDENTS: probatio.Schema(
        ENTRY
        | {
            probatio.Required(ATTR_PATH): cv.string,
            probatio.Optional(ATTR_MODE, default="merge"): probatio.In(IMPORT_MODES),
        }
    ),
    SERVICE_ENROLL_FACE: probatio.Schema(
        ENTRY
        | {
            probatio.Required(ATTR_RESIDENT_ID): cv.string,
            probatio.Exclusive(ATTR_PATH, "source"): cv.string,
            probatio.Exclusive(ATTR_CAMERA, "source"): cv.entity_id,
            probatio.Exclusive(ATTR_IMAGE, "source"): probatio.Schema(
                {probatio.Required("media_content_id"): cv.string},
                extra=probatio.ALLOW_EXTRA,
            ),
            probatio.Optional(ATTR_REPLACE, default=False): cv.boolean,
        }
    ),
    SERVICE_RESYNC_TERMINAL: probatio.Schema(
        ENTRY | {probatio.Required(ATTR_DEVICE_ID): cv.string}
    ),
    SERVICE_BROADCAST: probatio.Schema(
        ENTRY
        | {
            probatio.Required(ATTR_MESSAGE): cv.string,
            probatio.Optional(ATTR_ZONES): cv.entity_ids,
            probatio.Optional(ATTR_BUILDING): cv.string,
            probatio.Optional(ATTR_LANGUAGE): cv.string,
            probatio.Optional(ATTR_REPEAT, default=1): probatio.All(
                probatio.Coerce(int), probatio.Range(min=1, max=MAX_REPEAT)
            ),
            probatio.Optional(ATTR_PRIORITY, default="normal"): probatio.In(
                tuple(priority.name.lower() for priority in Priority)
            ),
            probatio.Optional(ATTR_WAIT, default=False): cv.boolean,
            probatio.Optional(ATTR_TTS_ENGINE): cv.string,
        }
    ),
    SERVICE_STOP_CHARGING: probatio.Schema(
        ENTRY
        | {
            probatio.Optional(ATTR_BUILDING): cv.string,
            probatio.Optional(ATTR_BLOCK, default=False): cv.boolean,
        }
    ),
    SERVICE_RESUME_CHARGING: probatio.Schema(
        ENTRY | {probatio.Optional(ATTR_BUILDING): cv.string}
    ),
    SERVICE_LINK_ACTIVITY_SOURCES: probatio.Schema(
        ENTRY
        | {
            probatio.Required(ATTR_RESIDENT_ID): cv.string,
            probatio.Optional(ATTR_ENTITIES): cv.entity_ids,
            probatio.Optional(ATTR_BLE_TAG): probatio.Any(None, cv.string),
            probatio.Optional(ATTR_BLE_BUTTON): probatio.Any(None, cv.string),
            probatio.Optional(ATTR_INACTIVE_AFTER): cv.positive_time_period_dict,
        }
    ),
    SERVICE_RECORD_ACTIVITY: probatio.Schema(
        ENTRY | {probatio.Required(ATTR_RESIDENT_ID): cv.string}
    ),
    SERVICE_EXPORT_RESIDENTS: probatio.Schema(
        ENTRY
        | {
            probatio.Required(ATTR_PATH): cv.string,
            probatio.Optional(ATTR_ENCODING, default="utf-8"): probatio.In(
                tuple(EXPORT_ENCODINGS)
            ),
        }
    ),
}


def _community_of(call: ServiceCall) -> Community:
    """Find the loaded community an action is aimed at."""
    community: Community = community_entry_of(call).runtime_data
    return community


def community_entry_of(call: ServiceCall) -> ConfigEntry:
    """Find the loaded community entry an action is aimed at."""
    entry_id: str = call.data[ATTR_CONFIG_ENTRY_ID]
    entry = call.hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="community_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="community_not_loaded",
            translation_placeholders={"community": entry.title},
        )
    return entry


def _allowed_path(hass: HomeAssistant, raw_path: str) -> Path:
    """Refuse paths outside the folders the user allowed in allowlist_external_dirs."""
    path = Path(raw_path)
    if not hass.config.is_allowed_path(str(path)):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="path_not_allowed",
            translation_placeholders={"path": raw_path},
        )
    return path


def _file_error(translation_key: str, path: Path, err: OSError) -> HomeAssistantError:
    """Say which file could not be read or written, and why."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=translation_key,
        translation_placeholders={"path": str(path), "error": err.strerror or str(err)},
    )


def _aware(value: datetime) -> datetime:
    """Read a naive time as Home Assistant's local time."""
    return dt_util.as_utc(value)


def _validation_error(err: CommunityError) -> ServiceValidationError:
    """Turn a registry error into the user's language."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=err.translation_key,
        translation_placeholders=err.translation_placeholders,
    )


async def _import_error(
    hass: HomeAssistant, err: CsvImportError
) -> ServiceValidationError:
    """List the bad rows of a refused import, each in the user's language."""
    translations = await async_get_translations(
        hass, hass.config.language, "exceptions", {DOMAIN}
    )

    def message(key: str, placeholders: dict[str, str]) -> str:
        template = translations.get(f"component.{DOMAIN}.exceptions.{key}.message", key)
        try:
            return template.format(**placeholders)
        except KeyError, IndexError, ValueError:
            return template

    lines = [
        message(
            "csv_row",
            {
                "row": str(row_error.row),
                "column": row_error.column or "-",
                "error": message(
                    row_error.error.translation_key,
                    row_error.error.translation_placeholders,
                ),
            },
        )
        for row_error in err.row_errors[:MAX_ROWS_IN_MESSAGE]
    ]
    if (more := len(err.row_errors) - MAX_ROWS_IN_MESSAGE) > 0:
        lines.append(message("csv_more_rows", {"count": str(more)}))
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=err.translation_key,
        translation_placeholders=err.translation_placeholders
        | {"errors": "; ".join(lines)},
    )


def _household(data: dict[str, Any]) -> Household:
    """Build the household address from the action's fields."""
    return Household(data[ATTR_BUILDING], data[ATTR_UNIT], data[ATTR_ROOM])


async def _add_resident(call: ServiceCall) -> ServiceResponse:
    """Add a resident and answer with their ID."""
    community = _community_of(call)
    data = call.data
    resident = community.registry.add_resident(
        name=data[ATTR_NAME],
        household=_household(dict(data)),
        phone=data.get(ATTR_PHONE),
        tags=data.get(ATTR_TAGS, ()),
        notify_targets=data.get(ATTR_NOTIFY_TARGETS, ()),
        resident_id=data.get(ATTR_RESIDENT_ID),
    )
    return {ATTR_RESIDENT_ID: resident.resident_id}


async def _update_resident(call: ServiceCall) -> ServiceResponse:
    """Change the given fields of a resident."""
    community = _community_of(call)
    data = call.data
    registry = community.registry
    current = registry.get_resident(data[ATTR_RESIDENT_ID])
    changes: dict[str, Any] = {
        key: data[key]
        for key in (ATTR_NAME, ATTR_PHONE, ATTR_TAGS, ATTR_NOTIFY_TARGETS)
        if key in data
    }
    if any(key in data for key in (ATTR_BUILDING, ATTR_UNIT, ATTR_ROOM)):
        changes["household"] = Household(
            data.get(ATTR_BUILDING, current.household.building),
            data.get(ATTR_UNIT, current.household.unit),
            data.get(ATTR_ROOM, current.household.room),
        )
    registry.update_resident(current.resident_id, **changes)
    return None


async def _remove_resident(call: ServiceCall) -> ServiceResponse:
    """Remove a resident with their vehicles, cards, passes they host and face photo."""
    community = _community_of(call)
    community.registry.remove_resident(call.data[ATTR_RESIDENT_ID])
    await _prune_faces(community)
    return None


async def _prune_faces(community: Community) -> None:
    """Delete the face photos of people who are no longer residents."""
    if community.faces is not None:
        await community.faces.prune(
            {resident.resident_id for resident in community.registry.residents}
        )


async def _add_vehicle(call: ServiceCall) -> ServiceResponse:
    """Register a resident's vehicle and answer with its normalised plate."""
    vehicle = _community_of(call).registry.add_vehicle(
        call.data[ATTR_RESIDENT_ID], call.data[ATTR_PLATE], call.data.get(ATTR_LABEL)
    )
    return {ATTR_PLATE: vehicle.plate}


async def _remove_vehicle(call: ServiceCall) -> ServiceResponse:
    """Forget a vehicle."""
    _community_of(call).registry.remove_vehicle(call.data[ATTR_PLATE])
    return None


async def _add_card(call: ServiceCall) -> ServiceResponse:
    """Register a resident's charging or access card and answer with its number."""
    card = _community_of(call).registry.add_card(
        call.data[ATTR_RESIDENT_ID], call.data[ATTR_CARD], call.data.get(ATTR_LABEL)
    )
    return {ATTR_CARD: card.card}


async def _remove_card(call: ServiceCall) -> ServiceResponse:
    """Forget a card."""
    _community_of(call).registry.remove_card(call.data[ATTR_CARD])
    return None


async def _block_plate(call: ServiceCall) -> ServiceResponse:
    """Keep a plate out at every gate and answer with it normalised."""
    blocked = _community_of(call).registry.block_plate(
        call.data[ATTR_PLATE], call.data.get(ATTR_REASON)
    )
    return {ATTR_PLATE: blocked.plate}


async def _unblock_plate(call: ServiceCall) -> ServiceResponse:
    """Take a plate off the blocklist."""
    _community_of(call).registry.unblock_plate(call.data[ATTR_PLATE])
    return None


async def _add_visitor_pass(call: ServiceCall) -> ServiceResponse:
    """Issue a visitor pass and answer with its ID."""
    data = call.data
    visitor_pass = _community_of(call).registry.add_visitor_pass(
        visitor_name=data[ATTR_VISITOR_NAME],
        host_resident_id=data[ATTR_HOST_RESIDENT_ID],
        valid_from=_aware(data.get(ATTR_VALID_FROM, dt_util.utcnow())),
        valid_until=_aware(data[ATTR_VALID_UNTIL]),
        plate=data.get(ATTR_PLATE),
    )
    return {ATTR_PASS_ID: visitor_pass.pass_id}


async def _remove_visitor_pass(call: ServiceCall) -> ServiceResponse:
    """Withdraw a visitor pass."""
    _community_of(call).registry.remove_visitor_pass(call.data[ATTR_PASS_ID])
    return None


async def _import_residents(call: ServiceCall) -> ServiceResponse:
    """Import residents from a CSV file, entirely or not at all."""
    hass = call.hass
    community = _community_of(call)
    path = _allowed_path(hass, call.data[ATTR_PATH])
    try:
        content = await hass.async_add_executor_job(path.read_bytes)
    except OSError as err:
        raise _file_error("file_read_failed", path, err) from err
    registry = community.registry
    try:
        # Parsing thousands of rows would hold the event loop; it only reads.
        parsed = await hass.async_add_executor_job(
            partial(
                read_residents_csv,
                registry,
                content,
                replace=call.data[ATTR_MODE] == "replace",
            )
        )
    except CsvImportError as err:
        raise await _import_error(hass, err) from err
    report = apply_residents_import(registry, parsed)
    if report.removed:
        await _prune_faces(community)
    return {
        "added": report.added,
        "updated": report.updated,
        "removed": report.removed,
        "vehicles": report.vehicles,
        "ignored_columns": list(report.ignored_columns),
    }


async def _export_residents(call: ServiceCall) -> ServiceResponse:
    """Write every resident to a CSV file."""
    hass = call.hass
    community = _community_of(call)
    path = _allowed_path(hass, call.data[ATTR_PATH])
    content = export_residents_csv(
        community.registry, encoding=EXPORT_ENCODINGS[call.data[ATTR_ENCODING]]
    )
    try:
        await hass.async_add_executor_job(_write_atomically, path, content)
    except OSError as err:
        raise _file_error("file_write_failed", path, err) from err
    return {"path": str(path), "residents": len(community.registry)}


async def _enroll_face(call: ServiceCall) -> ServiceResponse:
    """Store a resident's face photo and send it to their building's terminals."""
    hass = call.hass
    community = _community_of(call)
    resident = community.registry.get_resident(call.data[ATTR_RESIDENT_ID])
    if ATTR_PATH in call.data:
        path = _allowed_path(hass, call.data[ATTR_PATH])
        try:
            picture = await hass.async_add_executor_job(path.read_bytes)
        except OSError as err:
            raise _file_error("file_read_failed", path, err) from err
    elif ATTR_CAMERA in call.data:
        # Imported here: the camera component loads libturbojpeg on import, which
        # only this action needs.
        from homeassistant.components.camera import async_get_image

        try:
            picture = (await async_get_image(hass, call.data[ATTR_CAMERA])).content
        except HomeAssistantError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="camera_image_failed",
                translation_placeholders={
                    "camera": call.data[ATTR_CAMERA],
                    "error": str(err),
                },
            ) from err
    elif ATTR_IMAGE in call.data:
        picture = await _uploaded_image(hass, call.data[ATTR_IMAGE]["media_content_id"])
    else:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="face_source_required"
        )
    if community.faces is None or community.enrolment is None:  # pragma: no cover
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="community_not_loaded",
            translation_placeholders={"community": community.name},
        )
    try:
        check_face_picture(picture)
        # Learnt first: a photo without a usable face changes nothing anywhere.
        photos = await async_enrol_embedding(
            hass,
            community,
            resident.resident_id,
            picture,
            replace=call.data[ATTR_REPLACE],
        )
        await community.faces.put(resident.resident_id, picture)
    except (FaceFileError, ImageDecodeError) as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_face_picture",
            translation_placeholders={"reason": str(err)},
        ) from err
    except NoFaceError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_face_found",
            translation_placeholders={"reason": str(err)},
        ) from err
    response: dict[str, Any] = {
        "terminals": community.enrolment.face_changed(resident.resident_id)
    }
    if photos is not None:
        response["recognition_photos"] = photos
    return response


async def _uploaded_image(hass: HomeAssistant, media_content_id: str) -> bytes:
    """Read an uploaded image, or one from the local media folder."""
    try:
        media = await media_source.async_resolve_media(hass, media_content_id, None)
    except media_source.Unresolvable as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="image_not_found",
            translation_placeholders={"image": media_content_id},
        ) from err
    if media.path is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="image_not_local",
            translation_placeholders={"image": media_content_id},
        )
    try:
        return await hass.async_add_executor_job(media.path.read_bytes)
    except OSError as err:
        raise _file_error("file_read_failed", media.path, err) from err


async def _resync_terminal(call: ServiceCall) -> ServiceResponse:
    """Compare a terminal's persons with the registry and queue the differences."""
    community = _community_of(call)
    device = dr.async_get(call.hass).async_get(call.data[ATTR_DEVICE_ID])
    terminal_id = next(
        (
            identifier
            for domain, identifier in (device.identifiers if device else ())
            if domain == DOMAIN and identifier in community.terminals
        ),
        None,
    )
    if terminal_id is None or community.enrolment_worker is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_a_terminal",
            translation_placeholders={"device_id": call.data[ATTR_DEVICE_ID]},
        )
    hub = community.terminals[terminal_id]
    try:
        queued = await community.enrolment_worker.resync(
            terminal_id, hub.client, dt_util.utcnow()
        )
    except IsapiError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="terminal_unreachable",
            translation_placeholders={"terminal": hub.config.name, "error": str(err)},
        ) from err
    return {"queued": queued}


def _write_atomically(path: Path, content: bytes) -> None:
    """Write a file so that a reader never sees half of it."""
    partial_path = path.with_name(f".{path.name}.partial")
    try:
        partial_path.write_bytes(content)
        partial_path.replace(path)
    finally:
        partial_path.unlink(missing_ok=True)


type _Handler = Callable[[ServiceCall], Awaitable[ServiceResponse]]


async def _translating_errors(handler: _Handler, call: ServiceCall) -> ServiceResponse:
    """Run an action; registry errors become translated validation errors."""
    try:
        return await handler(call)
    except CommunityError as err:
        raise _validation_error(err) from err


async def _broadcast(call: ServiceCall) -> ServiceResponse:
    """Speak a message in zones (all, a building's, or the ones named)."""
    entry = community_entry_of(call)
    zones = _broadcast_zones(call, entry)
    audio = await async_speak(
        call.hass,
        call.data[ATTR_MESSAGE],
        call.data.get(ATTR_LANGUAGE),
        call.data.get(ATTR_TTS_ENGINE),
    )
    await async_announce(
        call.hass,
        entry,
        audio,
        zones,
        Priority[call.data[ATTR_PRIORITY].upper()],
        wait=call.data[ATTR_WAIT],
        repeat=call.data[ATTR_REPEAT],
    )
    return {"zones": [zone.name for zone in zones]}


def _broadcast_zones(call: ServiceCall, entry: ConfigEntry) -> list[SpeakerZone]:
    """Find the zones a broadcast goes to; every zone if none are named."""
    broadcaster: Broadcaster | None = entry.runtime_data.broadcaster
    if broadcaster is None or not broadcaster.zones:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_zones"
        )
    zones = list(broadcaster.zones.values())
    if (building := call.data.get(ATTR_BUILDING)) is not None:
        zones = broadcaster.zones_in(building)
    if (entity_ids := call.data.get(ATTR_ZONES)) is not None:
        registry = er.async_get(call.hass)
        named: list[SpeakerZone] = []
        for entity_id in entity_ids:
            found = registry.async_get(entity_id)
            if found is not None and found.unique_id == f"{entry.entry_id}_all_call":
                return list(broadcaster.zones.values())
            zone = (
                broadcaster.zones.get(found.config_subentry_id or "")
                if found is not None and found.config_entry_id == entry.entry_id
                else None
            )
            if zone is None:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="not_a_zone",
                    translation_placeholders={"entity_id": entity_id},
                )
            named.append(zone)
        zones = [zone for zone in zones if zone in named] if building else named
    if not zones:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_zones"
        )
    return zones


def _charging_stations(
    call: ServiceCall,
) -> tuple[ChargingCentre, list[ChargingStation]]:
    """Find the stations an action is aimed at: a building's, or every one."""
    centre: ChargingCentre | None = _community_of(call).charging
    stations = (
        [] if centre is None else centre.stations_in(call.data.get(ATTR_BUILDING))
    )
    if centre is None or not stations:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_charging_stations"
        )
    return centre, stations


async def _stop_charging(call: ServiceCall) -> ServiceResponse:
    """Cut off every session at the stations; with block, refuse new ones too."""
    centre, stations = _charging_stations(call)
    report = await centre.stop_building(stations, block=call.data[ATTR_BLOCK])
    return {
        "stations": report.stations,
        "sessions_stopped": report.sessions,
        "unreachable": list[JsonValueType](report.unreachable),
    }


async def _resume_charging(call: ServiceCall) -> ServiceResponse:
    """Lift an emergency stop."""
    centre, stations = _charging_stations(call)
    unreachable = await centre.resume(stations)
    return {"stations": len(stations), "unreachable": list[JsonValueType](unreachable)}


async def _link_activity_sources(call: ServiceCall) -> ServiceResponse:
    """Link a resident's activity sources; fields left out keep their links."""
    community = _community_of(call)
    resident_id = community.registry.get_resident(
        call.data[ATTR_RESIDENT_ID]
    ).resident_id
    current = community.activity.links(resident_id)
    entities = call.data.get(ATTR_ENTITIES, current.entities)
    for entity_id in entities:
        if split_entity_id(entity_id)[0] not in LINKABLE_DOMAINS:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="activity_entity_unsupported",
                translation_placeholders={"entity_id": entity_id},
            )
    links = ActivityLinks(
        entities=tuple(entities),
        ble_tag=call.data.get(ATTR_BLE_TAG, current.ble_tag),
        ble_button=call.data.get(ATTR_BLE_BUTTON, current.ble_button),
        inactive_after=call.data.get(ATTR_INACTIVE_AFTER, current.inactive_after),
    )
    community.activity.link(resident_id, links)
    return {
        ATTR_ENTITIES: list(links.entities),
        ATTR_BLE_TAG: links.ble_tag,
        ATTR_BLE_BUTTON: links.ble_button,
        "inactive_after_minutes": round(links.inactive_after.total_seconds() / 60),
        "watched": resident_id in community.activity.watched,
    }


async def _record_activity(call: ServiceCall) -> ServiceResponse:
    """Note that a resident checked in ("I'm OK"): it counts as activity."""
    community = _community_of(call)
    resident_id = community.registry.get_resident(
        call.data[ATTR_RESIDENT_ID]
    ).resident_id
    recorded = community.activity.record(
        resident_id,
        Activity(dt_util.utcnow(), ActivitySource.CHECK_IN, call.context.user_id),
    )
    return {"recorded": recorded}


HANDLERS: dict[str, tuple[_Handler, SupportsResponse]] = {
    SERVICE_ADD_RESIDENT: (_add_resident, SupportsResponse.OPTIONAL),
    SERVICE_UPDATE_RESIDENT: (_update_resident, SupportsResponse.NONE),
    SERVICE_REMOVE_RESIDENT: (_remove_resident, SupportsResponse.NONE),
    SERVICE_ADD_VEHICLE: (_add_vehicle, SupportsResponse.OPTIONAL),
    SERVICE_REMOVE_VEHICLE: (_remove_vehicle, SupportsResponse.NONE),
    SERVICE_ADD_CARD: (_add_card, SupportsResponse.OPTIONAL),
    SERVICE_REMOVE_CARD: (_remove_card, SupportsResponse.NONE),
    SERVICE_ADD_VISITOR_PASS: (_add_visitor_pass, SupportsResponse.OPTIONAL),
    SERVICE_REMOVE_VISITOR_PASS: (_remove_visitor_pass, SupportsResponse.NONE),
    SERVICE_BLOCK_PLATE: (_block_plate, SupportsResponse.OPTIONAL),
    SERVICE_UNBLOCK_PLATE: (_unblock_plate, SupportsResponse.NONE),
    SERVICE_IMPORT_RESIDENTS: (_import_residents, SupportsResponse.OPTIONAL),
    SERVICE_EXPORT_RESIDENTS: (_export_residents, SupportsResponse.OPTIONAL),
    SERVICE_ENROLL_FACE: (_enroll_face, SupportsResponse.OPTIONAL),
    SERVICE_RESYNC_TERMINAL: (_resync_terminal, SupportsResponse.OPTIONAL),
    SERVICE_BROADCAST: (_broadcast, SupportsResponse.OPTIONAL),
    SERVICE_STOP_CHARGING: (_stop_charging, SupportsResponse.OPTIONAL),
    SERVICE_RESUME_CHARGING: (_resume_charging, SupportsResponse.OPTIONAL),
    SERVICE_LINK_ACTIVITY_SOURCES: (_link_activity_sources, SupportsResponse.OPTIONAL),
    SERVICE_RECORD_ACTIVITY: (_record_activity, SupportsResponse.OPTIONAL),
}


# Actions on the door locks of face terminals: (action, method of the lock entity).
LOCK_ACTIONS = {
    SERVICE_HOLD_OPEN: "async_hold_open",
    SERVICE_RELEASE_HOLD: "async_release_hold",
}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions once for every community."""
    for service, (handler, supports_response) in HANDLERS.items():
        hass.services.async_register(
            DOMAIN,
            service,
            partial(_translating_errors, handler),
            schema=SCHEMAS[service],
            supports_response=supports_response,
        )
    for service, method in LOCK_ACTIONS.items():
        async_register_platform_entity_service(
            hass,
            DOMAIN,
            service,
            entity_domain=LOCK_DOMAIN,
            schema=None,
            func=method,
        )
