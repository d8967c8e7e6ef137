"""Subentry flow of e-bike charging stations that dial Home Assistant over OCPP."""

from typing import Any

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_NAME, CONF_PASSWORD, CONF_PORT
from homeassistant.helpers import selector
import probatio

from .community.charging import CutoffPolicy
from .const import (
    CONF_CHARGE_POINT_ID,
    CONF_FULL_MINUTES,
    CONF_FULL_POWER,
    CONF_MAX_DURATION,
    CONF_MAX_POWER,
    CONF_MAX_TEMPERATURE,
    CONF_PORT_COUNT,
    DEFAULT_OCPP_PORT,
    DEFAULT_PORT_COUNT,
    SUBENTRY_TYPE_CHARGING_STATION,
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

# OCPP 1.6 identities are CiString: printable ASCII; a URL path segment.
MAX_CHARGE_POINT_ID_LENGTH = 48
PASSWORD = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
PORT_COUNT = selector.NumberSelector(
    selector.NumberSelectorConfig(min=1, max=64, mode=selector.NumberSelectorMode.BOX)
)


def _number(maximum: float, unit: str, step: float = 1) -> selector.NumberSelector:
    """Return a box for a cut-off threshold."""
    return selector.NumberSelector(
        selector.NumberSelectorConfig(
            min=0,
            max=maximum,
            step=step,
            unit_of_measurement=unit,
            mode=selector.NumberSelectorMode.BOX,
        )
    )


DEFAULTS = CutoffPolicy()
# Each threshold: its box, and its default (0 turns the rule off).
THRESHOLDS: dict[str, tuple[selector.NumberSelector, float]] = {
    CONF_FULL_POWER: (_number(500, "W"), DEFAULTS.full_power_w or 0),
    CONF_FULL_MINUTES: (_number(240, "min"), DEFAULTS.full_minutes),
    CONF_MAX_DURATION: (_number(48, "h", 0.5), DEFAULTS.max_duration_hours or 0),
    CONF_MAX_TEMPERATURE: (_number(150, "°C"), DEFAULTS.max_temperature_c or 0),
    CONF_MAX_POWER: (_number(20000, "W"), DEFAULTS.max_power_w or 0),
}


def valid_charge_point_id(text: str) -> bool:
    """Tell whether a charge point ID can be the last segment of the station's URL."""
    return (
        0 < len(text) <= MAX_CHARGE_POINT_ID_LENGTH
        and text.isascii()
        and text.isprintable()
        and not any(char in text for char in " /?#%")
    )


class ChargingStationSubentryFlow(ConfigSubentryFlow):
    """Add a charging station that dials Home Assistant, or change it."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the station's identity, its port count and its cut-offs."""
        return await self._async_step_station("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a station's settings."""
        return await self._async_step_station("reconfigure", user_input)

    async def _async_step_station(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Show and check a station's settings for both steps."""
        entry = self._get_entry()
        current = self._get_reconfigure_subentry() if step_id == "reconfigure" else None
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            data = {key: value for key, value in user_input.items() if key != CONF_NAME}
            charge_point_id = data[CONF_CHARGE_POINT_ID].strip()
            data[CONF_CHARGE_POINT_ID] = charge_point_id
            data[CONF_PORT] = int(data[CONF_PORT])
            data[CONF_PORT_COUNT] = int(data[CONF_PORT_COUNT])
            if not data.get(CONF_PASSWORD):
                data.pop(CONF_PASSWORD, None)
            ports_in_use = {
                int(subentry.data[CONF_PORT])
                for subentry in entry.get_subentries_of_type(
                    SUBENTRY_TYPE_CHARGING_STATION
                )
            }
            if not name:
                errors[CONF_NAME] = "name_required"
            elif name_taken(entry, SUBENTRY_TYPE_CHARGING_STATION, name, current):
                errors[CONF_NAME] = "station_exists"
            elif not valid_charge_point_id(charge_point_id):
                errors[CONF_CHARGE_POINT_ID] = "invalid_charge_point_id"
            elif unique_id_taken(
                entry, SUBENTRY_TYPE_CHARGING_STATION, charge_point_id, current
            ):
                errors[CONF_CHARGE_POINT_ID] = "station_already_configured"
            elif data[CONF_PORT] not in ports_in_use and not await port_can_listen(
                self.hass, data[CONF_PORT]
            ):
                errors[CONF_PORT] = "port_unavailable"
            else:
                return save_subentry(
                    self,
                    entry,
                    current,
                    title=name,
                    data=data,
                    unique_id=charge_point_id,
                )
        schema = probatio.Schema(
            {
                probatio.Required(CONF_NAME): TEXT,
                **optional_building(entry),
                probatio.Required(CONF_CHARGE_POINT_ID): TEXT,
                probatio.Optional(CONF_PASSWORD): PASSWORD,
                probatio.Required(
                    CONF_PORT_COUNT, default=DEFAULT_PORT_COUNT
                ): PORT_COUNT,
                probatio.Required(CONF_PORT, default=DEFAULT_OCPP_PORT): PORT,
                **{
                    probatio.Required(key, default=default): box
                    for key, (box, default) in THRESHOLDS.items()
                },
            }
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, suggested_values(user_input, current)
            ),
            errors=errors,
        )
