"""Form fields and checks that the community's config and subentry flows share."""

import unicodedata

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.helpers import selector

from .const import CONF_BUILDING_ID, SUBENTRY_TYPE_BUILDING

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


def building_options(entry: ConfigEntry) -> list[selector.SelectOptionDict]:
    """List the community's buildings for a select field."""
    return [
        selector.SelectOptionDict(
            value=subentry.data[CONF_BUILDING_ID], label=subentry.title
        )
        for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_BUILDING)
    ]
