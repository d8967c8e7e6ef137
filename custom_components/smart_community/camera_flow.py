"""Subentry flow of a recognising camera: its stream, role and linked door or gate."""

import asyncio
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
import probatio

from .community.cameras import CameraRole
from .const import (
    CONF_ANALYSIS_RATE,
    CONF_DISTANT_FACES,
    CONF_DOORS,
    CONF_LINK,
    CONF_MODELS_FOLDER,
    CONF_ROLE,
    CONF_STREAM_URL,
    DEFAULT_ANALYSIS_RATE,
    SUBENTRY_TYPE_CAMERA,
    SUBENTRY_TYPE_FACE_TERMINAL,
    SUBENTRY_TYPE_PLATE_CAMERA,
)
from .flow_fields import (
    TEXT,
    name_taken,
    optional_building,
    save_subentry,
    suggested_values,
    unique_id_taken,
)
from .recognition import redact_url
from .vision.stream import StreamReader, StreamStoppedError

SCHEMES: Final = frozenset({"rtsp", "rtsps", "http", "https"})
# How long the flow waits for the first frame before calling a camera unreachable.
FIRST_FRAME_SECONDS: Final = 15.0
ROLES = selector.SelectSelector(
    selector.SelectSelectorConfig(
        options=[role.value for role in CameraRole], translation_key=CONF_ROLE
    )
)
RATE = selector.NumberSelector(
    selector.NumberSelectorConfig(
        min=0.2, max=10, step=0.1, unit_of_measurement="fps",
        mode=selector.NumberSelectorMode.BOX,
    )
)  # fmt: skip


def link_options(entry: ConfigEntry) -> list[selector.SelectOptionDict]:
    """List the lanes and terminal doors a camera can drive."""
    options = [
        selector.SelectOptionDict(value=f"lane:{lane.subentry_id}", label=lane.title)
        for lane in entry.get_subentries_of_type(SUBENTRY_TYPE_PLATE_CAMERA)
    ]
    for terminal in entry.get_subentries_of_type(SUBENTRY_TYPE_FACE_TERMINAL):
        options += [
            selector.SelectOptionDict(
                value=f"door:{terminal.subentry_id}:{door}",
                label=f"{terminal.title} #{door}",
            )
            for door in range(1, int(terminal.data[CONF_DOORS]) + 1)
        ]
    return options


def link_fits_role(link: str | None, role: CameraRole) -> bool:
    """Tell whether a link suits a role: lanes for gate lanes, doors for doors."""
    if not link:
        return True
    kind = link.partition(":")[0]
    return (kind, role) in {("lane", CameraRole.GATE_LANE), ("door", CameraRole.DOOR)}


def stream_unique_id(url: str) -> str:
    """Identify a camera by its stream address without credentials."""
    return redact_url(url.strip()).replace("**@", "").lower()


async def async_first_frame_error(hass: HomeAssistant, url: str) -> str | None:
    """Open the stream and wait for a frame; return why not, or None."""
    reader = StreamReader(url, open_timeout=10.0, read_timeout=10.0, backoff_max=5.0)
    reader.start()
    try:
        async with asyncio.timeout(FIRST_FRAME_SECONDS):
            await reader.next_frame()
    except TimeoutError, StreamStoppedError:
        return reader.last_error or "no frame"
    finally:
        await hass.async_add_executor_job(reader.stop)
    return None


class CameraSubentryFlow(ConfigSubentryFlow):
    """Add a recognising camera, or change it."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the stream, what the camera watches and how often to look."""
        return await self._async_step_camera("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a camera's settings."""
        return await self._async_step_camera("reconfigure", user_input)

    async def _async_step_camera(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Show and check a camera's settings for both steps."""
        entry = self._get_entry()
        current = self._get_reconfigure_subentry() if step_id == "reconfigure" else None
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            data = {key: value for key, value in user_input.items() if key != CONF_NAME}
            url = data[CONF_STREAM_URL] = data[CONF_STREAM_URL].strip()
            data[CONF_ANALYSIS_RATE] = float(data[CONF_ANALYSIS_RATE])
            folder = (data.pop(CONF_MODELS_FOLDER, None) or "").strip()
            if folder:
                data[CONF_MODELS_FOLDER] = folder
            unique_id = stream_unique_id(url)
            if not name:
                errors[CONF_NAME] = "name_required"
            elif name_taken(entry, SUBENTRY_TYPE_CAMERA, name, current):
                errors[CONF_NAME] = "camera_exists"
            elif urlsplit(url).scheme.lower() not in SCHEMES:
                errors[CONF_STREAM_URL] = "invalid_stream_url"
            elif unique_id_taken(entry, SUBENTRY_TYPE_CAMERA, unique_id, current):
                errors[CONF_STREAM_URL] = "camera_already_configured"
            elif not link_fits_role(data.get(CONF_LINK), CameraRole(data[CONF_ROLE])):
                errors[CONF_LINK] = "link_role_mismatch"
            elif folder and not await self.hass.async_add_executor_job(
                Path(folder).is_dir
            ):
                errors[CONF_MODELS_FOLDER] = "models_folder_missing"
            elif (reason := await async_first_frame_error(self.hass, url)) is not None:
                errors["base"] = "cannot_open_stream"
                placeholders["error"] = reason
            else:
                return save_subentry(
                    self, entry, current, title=name, data=data, unique_id=unique_id
                )
        fields: dict[Any, Any] = {
            probatio.Required(CONF_NAME): TEXT,
            **optional_building(entry),
            probatio.Required(CONF_STREAM_URL): TEXT,
            probatio.Required(CONF_ROLE, default=CameraRole.GENERAL.value): ROLES,
        }
        if links := link_options(entry):
            fields[probatio.Optional(CONF_LINK)] = selector.SelectSelector(
                selector.SelectSelectorConfig(options=links)
            )
        fields[probatio.Required(CONF_ANALYSIS_RATE, default=DEFAULT_ANALYSIS_RATE)] = (
            RATE
        )
        fields[probatio.Required(CONF_DISTANT_FACES, default=False)] = (
            selector.BooleanSelector()
        )
        fields[probatio.Optional(CONF_MODELS_FOLDER)] = TEXT
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema(fields), suggested_values(user_input, current)
            ),
            errors=errors,
            description_placeholders=placeholders,
        )
