"""Face terminals in Home Assistant: clients, background tasks, reauth, cursors."""

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SSL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .community.terminals import TerminalConfig, TerminalHub
from .const import (
    CONF_BUILDING,
    CONF_DOORS,
    CONF_SUBENTRY_ID,
    CURSOR_SAVE_DELAY_SECONDS,
    DOMAIN,
    SUBENTRY_TYPE_FACE_TERMINAL,
)
from .protocols.isapi import AccessEvent, IsapiAuthError, IsapiClient, IsapiLockedError
from .runtime import SmartCommunityConfigEntry

CURSOR_STORAGE_VERSION = 1


def client_for(hass: HomeAssistant, data: dict[str, Any]) -> IsapiClient:
    """Build the ISAPI client of a terminal from its settings."""
    return IsapiClient(
        host=data[CONF_HOST],
        port=data[CONF_PORT],
        username=data[CONF_USERNAME],
        password=data[CONF_PASSWORD],
        https=data[CONF_SSL],
        verify_tls=data[CONF_VERIFY_SSL],
        session=async_get_clientsession(hass, verify_ssl=data[CONF_VERIFY_SSL]),
        time_zone=dt_util.get_default_time_zone(),
    )


class TerminalCursors:
    """Remember across restarts which event each terminal was read up to.

    After a restart the subscription reconciles from there, so events that
    happened while Home Assistant was down still arrive, once.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the cursor store of one community."""
        self._store: Store[dict[str, dict[str, Any]]] = Store(
            hass, CURSOR_STORAGE_VERSION, f"{DOMAIN}.{entry_id}.terminal_cursors"
        )
        self._cursors: dict[str, dict[str, Any]] = {}

    async def async_load(self) -> None:
        """Read the cursors."""
        self._cursors = await self._store.async_load() or {}

    def get(self, subentry_id: str) -> tuple[int | None, datetime | None]:
        """Return the last serial and time read from a terminal, if any."""
        if (cursor := self._cursors.get(subentry_id)) is None:
            return None, None
        return cursor["serial"], dt_util.parse_datetime(cursor["time"])

    @callback
    def async_set(self, subentry_id: str, serial: int, time: datetime) -> None:
        """Note the last event read from a terminal; saved after a short delay."""
        self._cursors[subentry_id] = {"serial": serial, "time": time.isoformat()}
        self._store.async_delay_save(lambda: self._cursors, CURSOR_SAVE_DELAY_SECONDS)


async def async_start_terminals(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> None:
    """Create a hub per face terminal subentry and follow each in the background."""
    cursors = TerminalCursors(hass, entry.entry_id)
    await cursors.async_load()
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_FACE_TERMINAL):
        last_serial, last_time = cursors.get(subentry.subentry_id)
        hub = TerminalHub(
            terminal_config(subentry),
            client_for(hass, dict(subentry.data)),
            last_serial=last_serial,
            last_time=last_time,
        )
        entry.runtime_data.terminals[subentry.subentry_id] = hub
        entry.async_on_unload(
            hub.add_event_listener(_cursor_keeper(cursors, subentry.subentry_id))
        )
        entry.async_create_background_task(
            hass,
            _async_follow(hass, entry, subentry.subentry_id, hub),
            f"smart_community face terminal {subentry.title}",
        )


def terminal_config(subentry: ConfigSubentry) -> TerminalConfig:
    """Read a terminal's configuration from its subentry."""
    return TerminalConfig(
        terminal_id=subentry.subentry_id,
        name=subentry.title,
        building_id=subentry.data[CONF_BUILDING],
        doors=int(subentry.data[CONF_DOORS]),
    )


def _cursor_keeper(
    cursors: TerminalCursors, subentry_id: str
) -> Callable[[AccessEvent], None]:
    """Return an event listener that moves a terminal's cursor."""

    @callback
    def keep(event: AccessEvent) -> None:
        if event.serial_no is not None and event.time is not None:
            cursors.async_set(subentry_id, event.serial_no, event.time)

    return keep


async def _async_follow(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    subentry_id: str,
    hub: TerminalHub,
) -> None:
    """Run a hub; wait out lockouts, and ask for new credentials when refused."""
    issue_id = f"terminal_locked_{subentry_id}"
    while True:
        try:
            await hub.run()
        except IsapiLockedError as err:
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="terminal_locked",
                translation_placeholders={
                    "terminal": hub.config.name,
                    "minutes": str(max(1, round(err.unlock_in.total_seconds() / 60))),
                },
            )
            # Trying before the lock expires would only lengthen it.
            await asyncio.sleep(err.unlock_in.total_seconds() + 1)
            ir.async_delete_issue(hass, DOMAIN, issue_id)
        except IsapiAuthError:
            entry.async_start_reauth(hass, data={CONF_SUBENTRY_ID: subentry_id})
            return
