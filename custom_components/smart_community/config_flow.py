"""Config flow: a community per entry, its buildings (and later devices) as subentries."""

from collections.abc import Mapping
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
from homeassistant.const import (
    CONF_HOST,
    CONF_NAME,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SSL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import selector
import probatio

from .const import (
    CONF_BUILDING,
    CONF_BUILDING_ID,
    CONF_DOORS,
    CONF_SUBENTRY_ID,
    DOMAIN,
    SUBENTRY_TYPE_BUILDING,
    SUBENTRY_TYPE_FACE_TERMINAL,
)
from .protocols.isapi import (
    DeviceInfo,
    IsapiAuthError,
    IsapiConnectionError,
    IsapiError,
    IsapiLockedError,
)
from .terminal import client_for

# A building code is part of "building-unit-room" addresses, so it must not hold
# the separators those addresses and CSV lists use.
BUILDING_ID_PATTERN = re.compile(r"[^\s\-,;/]{1,16}")

TEXT = selector.TextSelector()


def community_unique_id(name: str) -> str:
    """Derive the unique ID of a community from its name (case and width folded)."""
    return unicodedata.normalize("NFKC", name).casefold().replace(" ", "")


class SmartCommunityConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create and reconfigure a community; renew a device's credentials."""

    VERSION = 1
    MINOR_VERSION = 1
    _reauth_subentry_id: str

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Name the kinds of subentries a community has."""
        return {
            SUBENTRY_TYPE_BUILDING: BuildingSubentryFlow,
            SUBENTRY_TYPE_FACE_TERMINAL: FaceTerminalSubentryFlow,
        }

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

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start asking for a device's new credentials after it refused them."""
        self._reauth_subentry_id = entry_data[CONF_SUBENTRY_ID]
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the terminal's username and password and check them."""
        entry = self._get_reauth_entry()
        subentry = entry.subentries.get(self._reauth_subentry_id)
        if subentry is None:
            return self.async_abort(reason="device_removed")
        errors: dict[str, str] = {}
        placeholders = {"terminal": subentry.title}
        if user_input is not None:
            data = dict(subentry.data) | user_input
            errors, info = await validate_terminal(self.hass, data, placeholders)
            if info is not None:
                if subentry.unique_id != terminal_unique_id(info):
                    return self.async_abort(reason="wrong_device")
                self.hass.config_entries.async_update_subentry(
                    entry, subentry, data=data
                )
                return self.async_abort(reason="reauth_successful")
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                CREDENTIALS_SCHEMA,
                user_input or {CONF_USERNAME: subentry.data[CONF_USERNAME]},
            ),
            description_placeholders=placeholders,
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


PASSWORD = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
CREDENTIALS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_USERNAME): TEXT,
        probatio.Required(CONF_PASSWORD): PASSWORD,
    }
)


def terminal_unique_id(info: DeviceInfo) -> str:
    """Identify a face terminal by its serial number."""
    return f"{SUBENTRY_TYPE_FACE_TERMINAL}_{info.serial_number}"


async def validate_terminal(
    hass: HomeAssistant, data: dict[str, Any], placeholders: dict[str, str]
) -> tuple[dict[str, str], DeviceInfo | None]:
    """Ask the terminal who it is; return form errors, or its identity."""
    try:
        info = await client_for(hass, data).get_device_info()
    except IsapiLockedError as err:
        placeholders["minutes"] = str(max(1, round(err.unlock_in.total_seconds() / 60)))
        return {"base": "account_locked"}, None
    except IsapiAuthError:
        return {"base": "invalid_auth"}, None
    except IsapiConnectionError:
        return {"base": "cannot_connect"}, None
    except IsapiError:
        return {"base": "not_a_terminal"}, None
    return {}, info


class FaceTerminalSubentryFlow(ConfigSubentryFlow):
    """Add a Hikvision face terminal to a community, or change its settings."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask where the terminal is and how to log in, then check it answers."""
        return await self._async_step_settings("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a terminal's address, login, building or doors."""
        return await self._async_step_settings("reconfigure", user_input)

    async def _async_step_settings(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Show and check the terminal's settings for both steps."""
        entry = self._get_entry()
        buildings = [
            selector.SelectOptionDict(
                value=subentry.data[CONF_BUILDING_ID], label=subentry.title
            )
            for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_BUILDING)
        ]
        if not buildings:
            return self.async_abort(reason="no_buildings")
        reconfiguring = step_id == "reconfigure"
        current = self._get_reconfigure_subentry() if reconfiguring else None
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            data = {key: value for key, value in user_input.items() if key != CONF_NAME}
            data[CONF_PORT] = int(data[CONF_PORT])
            data[CONF_DOORS] = int(data[CONF_DOORS])
            errors, info = await validate_terminal(self.hass, data, placeholders)
            if info is not None:
                unique_id = terminal_unique_id(info)
                if current is not None:
                    if current.unique_id != unique_id:
                        return self.async_abort(reason="wrong_device")
                    return self.async_update_and_abort(
                        entry, current, title=user_input[CONF_NAME], data=data
                    )
                if any(s.unique_id == unique_id for s in entry.subentries.values()):
                    return self.async_abort(reason="already_configured")
                return self.async_create_entry(
                    title=user_input[CONF_NAME], data=data, unique_id=unique_id
                )
        suggested = user_input or (
            {CONF_NAME: current.title, **current.data} if current is not None else {}
        )
        schema = probatio.Schema(
            {
                probatio.Required(CONF_NAME): TEXT,
                probatio.Required(CONF_BUILDING): selector.SelectSelector(
                    selector.SelectSelectorConfig(options=buildings)
                ),
                probatio.Required(CONF_HOST): TEXT,
                probatio.Required(CONF_PORT, default=80): PORT,
                probatio.Required(CONF_SSL, default=False): selector.BooleanSelector(),
                probatio.Required(
                    CONF_VERIFY_SSL, default=False
                ): selector.BooleanSelector(),
                probatio.Required(CONF_USERNAME, default="admin"): TEXT,
                probatio.Required(CONF_PASSWORD): PASSWORD,
                probatio.Required(CONF_DOORS, default=1): DOORS,
            }
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            description_placeholders=placeholders,
            errors=errors,
        )


PORT = selector.NumberSelector(
    selector.NumberSelectorConfig(
        min=1, max=65535, mode=selector.NumberSelectorMode.BOX
    )
)
DOORS = selector.NumberSelector(
    selector.NumberSelectorConfig(min=1, max=4, mode=selector.NumberSelectorMode.BOX)
)
