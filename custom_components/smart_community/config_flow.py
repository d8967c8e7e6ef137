"""Config flow: a community per entry; its buildings, devices and car parks as subentries."""

from collections.abc import Mapping
import re
import secrets
from string import Formatter
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
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
from homeassistant.helpers.network import NoURLAvailableError, get_url
import probatio

from .camera_flow import CameraSubentryFlow
from .charging_flow import ChargingStationSubentryFlow
from .community.access import (
    DEFAULT_TOLERANCE,
    MAX_TOLERANCE,
    Direction,
    UnknownVehiclePolicy,
)
from .const import (
    CONF_ALLOWED_SOURCES,
    CONF_BUILDING,
    CONF_BUILDING_ID,
    CONF_CAPACITY,
    CONF_COMET_HOLD,
    CONF_DIRECTION,
    CONF_DISPLAY,
    CONF_DOORS,
    CONF_NEW_PUSH_URL,
    CONF_PARKING_LOT,
    CONF_PUSH_SECRET,
    CONF_RELAY_OUTPUT,
    CONF_SUBENTRY_ID,
    CONF_TOLERANCE,
    CONF_UNKNOWN_VEHICLES,
    CONF_VISITORS_ALLOWED,
    CONF_VOICE,
    DOMAIN,
    RELAY_NONE,
    SUBENTRY_TYPE_BUILDING,
    SUBENTRY_TYPE_CAMERA,
    SUBENTRY_TYPE_CHARGING_STATION,
    SUBENTRY_TYPE_FACE_TERMINAL,
    SUBENTRY_TYPE_FIRE_PANEL,
    SUBENTRY_TYPE_PARKING_LOT,
    SUBENTRY_TYPE_PLATE_CAMERA,
    SUBENTRY_TYPE_POWER_METER,
    SUBENTRY_TYPE_SPEAKER_ZONE,
    TEXT_KEYS,
)
from .flow_fields import (
    PORT,
    TEXT,
    building_options,
    community_unique_id,
    name_taken,
)
from .gate import parse_sources, push_url_path
from .protocols.isapi import (
    DeviceInfo,
    IsapiAuthError,
    IsapiConnectionError,
    IsapiError,
    IsapiLockedError,
)
from .safety_flow import FirePanelSubentryFlow, PowerMeterSubentryFlow
from .speaker_flow import SpeakerZoneSubentryFlow
from .terminal import client_for

# A building code is part of "building-unit-room" addresses, so it must not hold
# the separators those addresses and CSV lists use.
BUILDING_ID_PATTERN = re.compile(r"[^\s\-,;/]{1,16}")


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
            SUBENTRY_TYPE_PLATE_CAMERA: PlateCameraSubentryFlow,
            SUBENTRY_TYPE_PARKING_LOT: ParkingLotSubentryFlow,
            SUBENTRY_TYPE_POWER_METER: PowerMeterSubentryFlow,
            SUBENTRY_TYPE_FIRE_PANEL: FirePanelSubentryFlow,
            SUBENTRY_TYPE_SPEAKER_ZONE: SpeakerZoneSubentryFlow,
            SUBENTRY_TYPE_CHARGING_STATION: ChargingStationSubentryFlow,
            SUBENTRY_TYPE_CAMERA: CameraSubentryFlow,
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
        buildings = building_options(entry)
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


DOORS = selector.NumberSelector(
    selector.NumberSelectorConfig(min=1, max=4, mode=selector.NumberSelectorMode.BOX)
)


CAPACITY = selector.NumberSelector(
    selector.NumberSelectorConfig(
        min=0, max=100000, mode=selector.NumberSelectorMode.BOX
    )
)


class ParkingLotSubentryFlow(ConfigSubentryFlow):
    """Add a car park, whose lanes count the vehicles inside, or change it."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the car park's name and number of spaces."""
        return await self._async_step_lot("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Rename a car park or change its number of spaces."""
        return await self._async_step_lot("reconfigure", user_input)

    async def _async_step_lot(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Show and check a car park's settings for both steps."""
        entry = self._get_entry()
        current = self._get_reconfigure_subentry() if step_id == "reconfigure" else None
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            data = {CONF_CAPACITY: int(user_input[CONF_CAPACITY])}
            if not name:
                errors[CONF_NAME] = "name_required"
            elif name_taken(entry, SUBENTRY_TYPE_PARKING_LOT, name, current):
                errors[CONF_NAME] = "lot_exists"
            elif current is not None:
                return self.async_update_and_abort(
                    entry, current, title=name, data=data
                )
            else:
                return self.async_create_entry(title=name, data=data)
        suggested = user_input or (
            {CONF_NAME: current.title, **current.data} if current is not None else {}
        )
        schema = probatio.Schema(
            {
                probatio.Required(CONF_NAME): TEXT,
                probatio.Required(CONF_CAPACITY): CAPACITY,
            }
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )


TOLERANCE = selector.NumberSelector(
    selector.NumberSelectorConfig(
        min=0, max=MAX_TOLERANCE, mode=selector.NumberSelectorMode.BOX
    )
)
COMET_HOLD = selector.NumberSelector(
    selector.NumberSelectorConfig(
        min=0,
        max=25,
        step=0.5,
        unit_of_measurement="s",
        mode=selector.NumberSelectorMode.BOX,
    )
)
RELAY_OUTPUTS = selector.SelectSelector(
    selector.SelectSelectorConfig(
        options=[RELAY_NONE, "0", "1", "2", "3"],
        translation_key=CONF_RELAY_OUTPUT,
        mode=selector.SelectSelectorMode.DROPDOWN,
    )
)
DIRECTIONS = selector.SelectSelector(
    selector.SelectSelectorConfig(
        options=[direction.value for direction in Direction],
        translation_key=CONF_DIRECTION,
    )
)
UNKNOWN_POLICIES = selector.SelectSelector(
    selector.SelectSelectorConfig(
        options=[policy.value for policy in UnknownVehiclePolicy],
        translation_key=CONF_UNKNOWN_VEHICLES,
    )
)
BOOLEAN = selector.BooleanSelector()


def _template_ok(text: str) -> bool:
    """Tell whether a lane text uses no placeholder other than {plate}."""
    try:
        fields = [name for _, name, _, _ in Formatter().parse(text) if name is not None]
    except ValueError:
        return False
    return all(name == "plate" for name in fields)


class PlateCameraSubentryFlow(ConfigSubentryFlow):
    """Add a gate lane whose LPR camera pushes plates, or change its settings."""

    _data: dict[str, Any]
    _title: str

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask how the lane works, then show the address to set in the camera."""
        return await self._async_step_lane("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change how a lane works; its push address stays unless renewed."""
        return await self._async_step_lane("reconfigure", user_input)

    async def _async_step_lane(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Show and check a lane's settings for both steps."""
        entry = self._get_entry()
        current = self._get_reconfigure_subentry() if step_id == "reconfigure" else None
        lots = [
            selector.SelectOptionDict(value=subentry.subentry_id, label=subentry.title)
            for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_PARKING_LOT)
        ]
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = self._lane_data(user_input, current)
            if not errors:
                self._title = user_input[CONF_NAME].strip()
                self._data = data
                if current is not None and not user_input.get(CONF_NEW_PUSH_URL):
                    return self.async_update_and_abort(
                        entry, current, title=self._title, data=data
                    )
                return await self.async_step_push_url()
        suggested = user_input or (
            {CONF_NAME: current.title, **current.data} if current is not None else {}
        )
        if (
            current is not None
            and CONF_ALLOWED_SOURCES in current.data
            and not user_input
        ):
            suggested[CONF_ALLOWED_SOURCES] = ", ".join(
                current.data[CONF_ALLOWED_SOURCES]
            )
        fields: dict[Any, Any] = {
            probatio.Required(CONF_NAME): TEXT,
            probatio.Required(
                CONF_DIRECTION, default=Direction.ENTRY.value
            ): DIRECTIONS,
        }
        if lots:
            fields[probatio.Optional(CONF_PARKING_LOT)] = selector.SelectSelector(
                selector.SelectSelectorConfig(options=lots)
            )
        fields |= {
            probatio.Required(
                CONF_UNKNOWN_VEHICLES, default=UnknownVehiclePolicy.DENY.value
            ): UNKNOWN_POLICIES,
            probatio.Required(CONF_VISITORS_ALLOWED, default=True): BOOLEAN,
            probatio.Required(CONF_TOLERANCE, default=DEFAULT_TOLERANCE): TOLERANCE,
            probatio.Required(CONF_RELAY_OUTPUT, default=RELAY_NONE): RELAY_OUTPUTS,
            probatio.Required(CONF_VOICE, default=True): BOOLEAN,
            probatio.Required(CONF_DISPLAY, default=False): BOOLEAN,
            probatio.Required(CONF_COMET_HOLD, default=5): COMET_HOLD,
            probatio.Optional(CONF_ALLOWED_SOURCES): TEXT,
        }
        fields |= {probatio.Optional(key): TEXT for key in TEXT_KEYS}
        if current is not None:
            fields[probatio.Required(CONF_NEW_PUSH_URL, default=False)] = BOOLEAN
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema(fields), suggested
            ),
            description_placeholders={
                "push_url": self._push_url(current.data[CONF_PUSH_SECRET])
            }
            if current is not None
            else None,
            errors=errors,
        )

    def _lane_data(
        self, user_input: dict[str, Any], current: ConfigSubentry | None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Check the form and turn it into subentry data."""
        errors: dict[str, str] = {}
        name = user_input[CONF_NAME].strip()
        if not name:
            errors[CONF_NAME] = "name_required"
        elif name_taken(self._get_entry(), SUBENTRY_TYPE_PLATE_CAMERA, name, current):
            errors[CONF_NAME] = "lane_exists"
        sources_text = user_input.get(CONF_ALLOWED_SOURCES, "")
        try:
            sources = [str(network) for network in parse_sources(sources_text)]
        except ValueError:
            errors[CONF_ALLOWED_SOURCES] = "invalid_sources"
            sources = []
        for key in TEXT_KEYS:
            if not _template_ok(user_input.get(key, "")):
                errors[key] = "invalid_text"
        data: dict[str, Any] = {
            CONF_DIRECTION: user_input[CONF_DIRECTION],
            CONF_PARKING_LOT: user_input.get(CONF_PARKING_LOT),
            CONF_UNKNOWN_VEHICLES: user_input[CONF_UNKNOWN_VEHICLES],
            CONF_VISITORS_ALLOWED: user_input[CONF_VISITORS_ALLOWED],
            CONF_TOLERANCE: int(user_input[CONF_TOLERANCE]),
            CONF_RELAY_OUTPUT: user_input[CONF_RELAY_OUTPUT],
            CONF_VOICE: user_input[CONF_VOICE],
            CONF_DISPLAY: user_input[CONF_DISPLAY],
            CONF_COMET_HOLD: float(user_input[CONF_COMET_HOLD]),
            CONF_ALLOWED_SOURCES: sources,
            **{key: user_input.get(key, "").strip() for key in TEXT_KEYS},
            CONF_PUSH_SECRET: current.data[CONF_PUSH_SECRET]
            if current is not None and not user_input.get(CONF_NEW_PUSH_URL)
            else secrets.token_urlsafe(24),
        }
        return data, errors

    def _push_url(self, secret: str) -> str:
        """Return the full address the camera pushes to, as well as it is known."""
        try:
            base = get_url(self.hass, prefer_external=False)
        except NoURLAvailableError:
            base = "http://<home-assistant>:8123"
        return base + push_url_path(secret)

    async def async_step_push_url(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show the address to set in the camera, then save the lane."""
        if user_input is not None:
            current = (
                self._get_reconfigure_subentry()
                if self.source == "reconfigure"
                else None
            )
            if current is not None:
                return self.async_update_and_abort(
                    self._get_entry(), current, title=self._title, data=self._data
                )
            return self.async_create_entry(title=self._title, data=self._data)
        return self.async_show_form(
            step_id="push_url",
            description_placeholders={
                "push_url": self._push_url(self._data[CONF_PUSH_SECRET])
            },
        )
