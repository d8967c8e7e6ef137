"""Subentry flow of an emergency broadcast zone: where its speakers listen."""

import ipaddress
import re
from typing import Any

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.helpers import selector
import probatio

from .const import (
    CONF_CHIME,
    CONF_CODEC,
    CONF_TTL,
    DEFAULT_MULTICAST_TTL,
    DEFAULT_PAGING_PORT,
    SUBENTRY_TYPE_SPEAKER_ZONE,
)
from .flow_fields import (
    PORT,
    TEXT,
    name_taken,
    optional_building,
    save_subentry,
    suggested_values,
    unique_id_taken,
)
from .protocols.rtp_paging import G711

CODECS = selector.SelectSelector(
    selector.SelectSelectorConfig(
        options=[codec.value for codec in G711], translation_key=CONF_CODEC
    )
)
TTL = selector.NumberSelector(
    selector.NumberSelectorConfig(min=1, max=255, mode=selector.NumberSelectorMode.BOX)
)


def zone_unique_id(data: dict[str, Any]) -> str:
    """Identify a zone by the address and port its speakers listen on."""
    return f"{data[CONF_HOST].strip().lower()}:{data[CONF_PORT]}"


# RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
HOST_NAME = re.compile(
    r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*",
    re.IGNORECASE,
)


def valid_host(host: str) -> bool:
    """Tell whether a zone address is an IP address or a host name.

    Whether a name resolves is only known when it is played to: a zone that
    cannot be reached then fails with its own error.
    """
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return HOST_NAME.fullmatch(host) is not None
    return True


class SpeakerZoneSubentryFlow(ConfigSubentryFlow):
    """Add a paging zone (speakers on one RTP address), or change it."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask where the zone's speakers listen and which codec they take."""
        return await self._async_step_zone("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a zone's address, codec or chime."""
        return await self._async_step_zone("reconfigure", user_input)

    async def _async_step_zone(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Show and check a zone's settings for both steps."""
        entry = self._get_entry()
        current = self._get_reconfigure_subentry() if step_id == "reconfigure" else None
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            data = {key: value for key, value in user_input.items() if key != CONF_NAME}
            data[CONF_HOST] = data[CONF_HOST].strip()
            data[CONF_PORT] = int(data[CONF_PORT])
            data[CONF_TTL] = int(data[CONF_TTL])
            unique_id = zone_unique_id(data)
            if not name:
                errors[CONF_NAME] = "name_required"
            elif name_taken(entry, SUBENTRY_TYPE_SPEAKER_ZONE, name, current):
                errors[CONF_NAME] = "zone_exists"
            elif unique_id_taken(entry, SUBENTRY_TYPE_SPEAKER_ZONE, unique_id, current):
                errors[CONF_HOST] = "zone_already_configured"
            elif not valid_host(data[CONF_HOST]):
                errors[CONF_HOST] = "invalid_host"
            else:
                return save_subentry(
                    self, entry, current, title=name, data=data, unique_id=unique_id
                )
        schema = probatio.Schema(
            {
                probatio.Required(CONF_NAME): TEXT,
                **optional_building(entry),
                probatio.Required(CONF_HOST): TEXT,
                probatio.Required(CONF_PORT, default=DEFAULT_PAGING_PORT): PORT,
                probatio.Required(CONF_CODEC, default=G711.PCMU.value): CODECS,
                probatio.Required(CONF_TTL, default=DEFAULT_MULTICAST_TTL): TTL,
                probatio.Required(CONF_CHIME, default=True): selector.BooleanSelector(),
            }
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, suggested_values(user_input, current)
            ),
            errors=errors,
        )
