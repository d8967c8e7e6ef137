"""The typed config entry of a community and how its subentries become buildings."""

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_NAME

from .community.community import Building, Community
from .const import CONF_BUILDING_ID, SUBENTRY_TYPE_BUILDING

type SmartCommunityConfigEntry = ConfigEntry[Community]


def building_from_subentry(subentry: ConfigSubentry) -> Building:
    """Read a building from its subentry."""
    return Building(
        building_id=subentry.data[CONF_BUILDING_ID], name=subentry.data[CONF_NAME]
    )


def buildings_of(entry: ConfigEntry) -> dict[str, Building]:
    """Map the entry's building subentries (by subentry id) to buildings."""
    return {
        subentry.subentry_id: building_from_subentry(subentry)
        for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_BUILDING)
    }


def signal_subentries_added(entry_id: str) -> str:
    """Name the dispatcher signal sent when subentries were added to an entry."""
    return f"smart_community_{entry_id}_subentries_added"


def device_subentries(entry: ConfigEntry) -> dict[str, dict[str, object]]:
    """Map the entry's device subentries (all but buildings) to their settings.

    Devices hold connections, so any change to them reloads the community.
    """
    return {
        subentry.subentry_id: {"title": subentry.title, **subentry.data}
        for subentry in entry.subentries.values()
        if subentry.subentry_type != SUBENTRY_TYPE_BUILDING
    }
