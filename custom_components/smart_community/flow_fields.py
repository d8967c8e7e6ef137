"""Form fields and checks that the community's config and subentry flows share."""

import asyncio
from typing import Any
import unicodedata

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigSubentry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
import probatio

from .const import CONF_BUILDING, CONF_BUILDING_ID, SUBENTRY_TYPE_BUILDING

TEXT = selector.TextSelector()
PORT = selector.NumberSelector(
    selector.NumberSelectorConfig(
        min=1, max=65535, mode=selector.NumberSelectorMode.BOX
    )
)


def community_unique_id(name: str) -> str:
    """Derive the unique ID of a community from its name (case and width folded)."""
    return unicodedata.normalize("NFKC", name).casefold().replace(" ", "")


def name_taken(
    entry: ConfigEntry,
    subentry_type: str,
    name: str,
    current: ConfigSubentry | None,
) -> bool:
    """Tell whether another subentry of a type has this name (case and width folded)."""
    folded = community_unique_id(name)
    return any(
        community_unique_id(subentry.title) == folded
        and (current is None or subentry.subentry_id != current.subentry_id)
        for subentry in entry.get_subentries_of_type(subentry_type)
    )


def unique_id_taken(
    entry: ConfigEntry,
    subentry_type: str,
    unique_id: str,
    current: ConfigSubentry | None,
) -> bool:
    """Tell whether another subentry of a type is already this device."""
    return any(
        subentry.unique_id == unique_id
        and (current is None or subentry.subentry_id != current.subentry_id)
        for subentry in entry.get_subentries_of_type(subentry_type)
    )


def save_subentry(
    flow: ConfigSubentryFlow,
    entry: ConfigEntry,
    current: ConfigSubentry | None,
    *,
    title: str,
    data: dict[str, Any],
    unique_id: str,
) -> SubentryFlowResult:
    """Create the subentry, or update the one being reconfigured."""
    if current is not None:
        return flow.async_update_and_abort(
            entry, current, title=title, data=data, unique_id=unique_id
        )
    return flow.async_create_entry(title=title, data=data, unique_id=unique_id)


def building_options(entry: ConfigEntry) -> list[selector.SelectOptionDict]:
    """List the community's buildings for a select field."""
    return [
        selector.SelectOptionDict(
            value=subentry.data[CONF_BUILDING_ID], label=subentry.title
        )
        for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_BUILDING)
    ]


def optional_building(entry: ConfigEntry) -> dict[Any, Any]:
    """Offer the buildings, if any: a device may serve the whole site instead."""
    if not (buildings := building_options(entry)):
        return {}
    return {
        probatio.Optional(CONF_BUILDING): selector.SelectSelector(
            selector.SelectSelectorConfig(options=buildings)
        )
    }


def suggested_values(
    user_input: dict[str, Any] | None, current: ConfigSubentry | None
) -> dict[str, Any]:
    """Fill a form with what was typed, or with the settings being changed."""
    if user_input is not None:
        return user_input
    if current is None:
        return {}
    return {CONF_NAME: current.title, **current.data}


async def port_can_listen(hass: HomeAssistant, port: int) -> bool:
    """Tell whether the centre could listen on a port (briefly listening on it)."""
    try:
        server = await hass.loop.create_server(asyncio.Protocol, port=port)
    except OSError:
        return False
    server.close()
    await server.wait_closed()
    return True
