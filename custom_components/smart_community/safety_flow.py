"""Subentry flows of building safety devices: power meters and fire panels."""

from typing import Any

from homeassistant.config_entries import (
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.helpers import selector
import probatio

from .const import (
    CONF_CHECKSUM,
    CONF_CUSTOM_MAP,
    CONF_POLL_INTERVAL,
    CONF_REGISTER_MAP,
    CONF_TRANSMITTER_ADDRESS,
    CONF_UNIT_ID,
    DEFAULT_FIRE_PORT,
    REGISTER_MAP_CUSTOM,
    SUBENTRY_TYPE_FIRE_PANEL,
    SUBENTRY_TYPE_POWER_METER,
)
from .flow_fields import (
    PORT,
    TEXT,
    name_taken,
    optional_building,
    port_can_listen,
    save_subentry,
    suggested_values,
    unique_id_taken,
)
from .meter import client_for, register_map_of
from .protocols.gb26875 import ChecksumMode, format_address, parse_address
from .protocols.modbus_meter import (
    DEFAULT_POLL_SECONDS,
    DEFAULT_PORT,
    REGISTER_MAPS,
    InvalidRegisterMapError,
    MeterConnectionError,
    MeterResponseError,
)

UNIT_ID = selector.NumberSelector(
    selector.NumberSelectorConfig(min=1, max=247, mode=selector.NumberSelectorMode.BOX)
)
POLL_INTERVAL = selector.NumberSelector(
    selector.NumberSelectorConfig(
        min=1,
        max=3600,
        unit_of_measurement="s",
        mode=selector.NumberSelectorMode.BOX,
    )
)
REGISTER_MAP_CHOICES = selector.SelectSelector(
    selector.SelectSelectorConfig(
        options=[*REGISTER_MAPS, REGISTER_MAP_CUSTOM],
        translation_key=CONF_REGISTER_MAP,
    )
)
CHECKSUMS = selector.SelectSelector(
    selector.SelectSelectorConfig(
        options=[mode.value for mode in ChecksumMode], translation_key=CONF_CHECKSUM
    )
)


def meter_unique_id(data: dict[str, Any]) -> str:
    """Identify a meter by where it answers: host, port and unit ID."""
    return f"{data[CONF_HOST].strip().lower()}:{data[CONF_PORT]}:{data[CONF_UNIT_ID]}"


async def validate_meter(
    data: dict[str, Any], placeholders: dict[str, str]
) -> str | None:
    """Read the meter once; return an error key, or None if it answered."""
    try:
        register_map = register_map_of(data)
    except InvalidRegisterMapError as err:
        placeholders["error"] = str(err)
        return "invalid_register_map"
    client = client_for(data, register_map)
    try:
        await client.read()
    except MeterConnectionError as err:
        placeholders["error"] = str(err)
        return "cannot_connect"
    except MeterResponseError as err:
        placeholders["error"] = str(err)
        return "meter_refused"
    finally:
        await client.close()
    return None


class PowerMeterSubentryFlow(ConfigSubentryFlow):
    """Add a Modbus TCP power meter, or change its settings."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask where the meter answers and which register map it has."""
        return await self._async_step_meter("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a meter's address, map or polling interval."""
        return await self._async_step_meter("reconfigure", user_input)

    async def _async_step_meter(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Show and check a meter's settings for both steps."""
        entry = self._get_entry()
        current = self._get_reconfigure_subentry() if step_id == "reconfigure" else None
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"error": ""}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            data = {key: value for key, value in user_input.items() if key != CONF_NAME}
            data[CONF_HOST] = data[CONF_HOST].strip()
            for key in (CONF_PORT, CONF_UNIT_ID):
                data[key] = int(data[key])
            data[CONF_POLL_INTERVAL] = float(data[CONF_POLL_INTERVAL])
            if data[CONF_REGISTER_MAP] != REGISTER_MAP_CUSTOM:
                data.pop(CONF_CUSTOM_MAP, None)
            unique_id = meter_unique_id(data)
            if not name:
                errors[CONF_NAME] = "name_required"
            elif name_taken(entry, SUBENTRY_TYPE_POWER_METER, name, current):
                errors[CONF_NAME] = "meter_exists"
            elif unique_id_taken(entry, SUBENTRY_TYPE_POWER_METER, unique_id, current):
                errors[CONF_HOST] = "meter_already_configured"
            elif (error := await validate_meter(data, placeholders)) is not None:
                field = CONF_CUSTOM_MAP if error == "invalid_register_map" else "base"
                errors[field] = error
            else:
                return save_subentry(
                    self, entry, current, title=name, data=data, unique_id=unique_id
                )
        schema = probatio.Schema(
            {
                probatio.Required(CONF_NAME): TEXT,
                **optional_building(entry),
                probatio.Required(CONF_HOST): TEXT,
                probatio.Required(CONF_PORT, default=DEFAULT_PORT): PORT,
                probatio.Required(CONF_UNIT_ID, default=1): UNIT_ID,
                probatio.Required(
                    CONF_REGISTER_MAP, default=next(iter(REGISTER_MAPS))
                ): REGISTER_MAP_CHOICES,
                probatio.Optional(CONF_CUSTOM_MAP): selector.ObjectSelector(),
                probatio.Required(
                    CONF_POLL_INTERVAL, default=DEFAULT_POLL_SECONDS
                ): POLL_INTERVAL,
            }
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, suggested_values(user_input, current)
            ),
            description_placeholders=placeholders,
            errors=errors,
        )


class FirePanelSubentryFlow(ConfigSubentryFlow):
    """Add a fire-alarm transmission device that reports to HA, or change it."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the device's address, checksum and the port it dials."""
        return await self._async_step_panel("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a transmission device's address, checksum or port."""
        return await self._async_step_panel("reconfigure", user_input)

    async def _async_step_panel(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Show and check a transmission device's settings for both steps."""
        entry = self._get_entry()
        current = self._get_reconfigure_subentry() if step_id == "reconfigure" else None
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            data = {key: value for key, value in user_input.items() if key != CONF_NAME}
            data[CONF_PORT] = int(data[CONF_PORT])
            try:
                address = format_address(parse_address(data[CONF_TRANSMITTER_ADDRESS]))
            except ValueError:
                address = None
            ports_in_use = {
                int(subentry.data[CONF_PORT])
                for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_FIRE_PANEL)
            }
            if not name:
                errors[CONF_NAME] = "name_required"
            elif name_taken(entry, SUBENTRY_TYPE_FIRE_PANEL, name, current):
                errors[CONF_NAME] = "panel_exists"
            elif address is None:
                errors[CONF_TRANSMITTER_ADDRESS] = "invalid_transmitter_address"
            elif unique_id_taken(entry, SUBENTRY_TYPE_FIRE_PANEL, address, current):
                errors[CONF_TRANSMITTER_ADDRESS] = "panel_already_configured"
            elif data[CONF_PORT] not in ports_in_use and not await port_can_listen(
                self.hass, data[CONF_PORT]
            ):
                errors[CONF_PORT] = "port_unavailable"
            else:
                data[CONF_TRANSMITTER_ADDRESS] = address
                return save_subentry(
                    self, entry, current, title=name, data=data, unique_id=address
                )
        schema = probatio.Schema(
            {
                probatio.Required(CONF_NAME): TEXT,
                **optional_building(entry),
                probatio.Required(CONF_TRANSMITTER_ADDRESS): TEXT,
                probatio.Required(
                    CONF_CHECKSUM, default=ChecksumMode.SUM.value
                ): CHECKSUMS,
                probatio.Required(CONF_PORT, default=DEFAULT_FIRE_PORT): PORT,
            }
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, suggested_values(user_input, current)
            ),
            errors=errors,
        )
