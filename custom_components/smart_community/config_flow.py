"""Config flow: a community per entry, its buildings (and later devices) as subentries."""

import re
from typing import Any, override
import unicodedata

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import callback
from homeassistant.helpers import selector
import probatio

from .const import CONF_BUILDING_ID, DOMAIN, SUBENTRY_TYPE_BUILDING

# A building code is part of "building-unit-room" addresses, so it must not hold
# the separators those addresses and CSV lists use.
BUILDING_ID_PATTERN = re.compile(r"[^\s\-,;/]{1,16}")

TEXT = selector.TextSelector()


def community_unique_id(name: str) -> str:
    """Derive the unique ID of a community from its name (case and width folded)."""
    return unicodedata.normalize("NFKC", name).casefold().replace(" ", "")


class SmartCommunityConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create and reconfigure a community."""

    VERSION = 1
    MINOR_VERSION = 1

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Name the kinds of subentries a community has."""
        return {SUBENTRY_TYPE_BUILDING: BuildingSubentryFlow}

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the community's name."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if not name:
                errors[CONF_NAME] = "name_required"
            else:
                await self.async_set_unique_id(community_unique_id(name))
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=name, data={CONF_NAME: name})
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema({probatio.Required(CONF_NAME): TEXT}), user_input
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Rename the community."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            unique_id = community_unique_id(name)
            if not name:
                errors[CONF_NAME] = "name_required"
            elif any(
                other.unique_id == unique_id and other.entry_id != entry.entry_id
                for other in self._async_current_entries(include_ignore=False)
            ):
                errors[CONF_NAME] = "name_in_use"
            else:
                return self.async_update_and_abort(
                    entry, unique_id=unique_id, title=name, data={CONF_NAME: name}
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema({probatio.Required(CONF_NAME): TEXT}),
                user_input or dict(entry.data),
            ),
            errors=errors,
        )


class BuildingSubentryFlow(ConfigSubentryFlow):
    """Add a building to a community, or rename one."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the building's code (as in its residents' addresses) and name."""
        errors: dict[str, str] = {}
        if user_input is not None:
            building_id = user_input[CONF_BUILDING_ID].strip()
            name = user_input[CONF_NAME].strip()
            if not BUILDING_ID_PATTERN.fullmatch(building_id):
                errors[CONF_BUILDING_ID] = "invalid_building_id"
            elif any(
                subentry.unique_id == f"{SUBENTRY_TYPE_BUILDING}_{building_id}"
                for subentry in self._get_entry().subentries.values()
            ):
                errors[CONF_BUILDING_ID] = "building_exists"
            if not name:
                errors[CONF_NAME] = "name_required"
            if not errors:
                return self.async_create_entry(
                    title=name,
                    data={CONF_BUILDING_ID: building_id, CONF_NAME: name},
                    unique_id=f"{SUBENTRY_TYPE_BUILDING}_{building_id}",
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema(
                    {
                        probatio.Required(CONF_BUILDING_ID): TEXT,
                        probatio.Required(CONF_NAME): TEXT,
                    }
                ),
                user_input,
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Rename a building; its code stays, because addresses refer to it."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if not name:
                errors[CONF_NAME] = "name_required"
            else:
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=name,
                    data_updates={CONF_NAME: name},
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema({probatio.Required(CONF_NAME): TEXT}),
                user_input or dict(subentry.data),
            ),
            description_placeholders={"building_id": subentry.data[CONF_BUILDING_ID]},
            errors=errors,
        )
