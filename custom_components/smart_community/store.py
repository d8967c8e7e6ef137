"""Persistence of a community's residents registry in Home Assistant's storage."""

import asyncio
from typing import Any, override

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from .community.errors import InvalidStoredDataError
from .community.registry import ResidentsRegistry
from .const import DOMAIN, LOGGER, SAVE_DELAY_SECONDS, SAVE_RETRY_SECONDS

STORAGE_VERSION = 1


class RegistryWriteError(Exception):
    """Writing the registry to disk failed."""


class _ReportingStore(Store[dict[str, Any]]):
    """A Store whose write failures reach the caller.

    Store logs a failed write and carries on; the registry needs to know, to keep
    its changes, tell the user and try again.
    """

    @override
    async def _async_write_data(self, data: dict[str, Any]) -> None:
        """Write like Store does, but raise what went wrong."""
        try:
            await super()._async_write_data(data)
        except (HomeAssistantError, OSError) as err:
            raise RegistryWriteError(str(err)) from err


# Registries whose last write failed when their entry unloaded. The next setup of
# the entry takes them from here instead of reading the older copy on disk.
UNSAVED_REGISTRIES: HassKey[dict[str, ResidentsRegistry]] = HassKey(
    f"{DOMAIN}_unsaved_registries"
)


class ResidentsStore:
    """Load a registry once and write it back after every change, atomically.

    Writes are debounced so that a burst of changes costs one write. A failed write
    (a full disk, say) keeps the registry in memory, raises a repair issue and is
    retried; the issue goes away with the first write that succeeds.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str, community_name: str) -> None:
        """Prepare the store of one community entry."""
        self._hass = hass
        self._entry_id = entry_id
        self._community_name = community_name
        self._issue_id = f"registry_write_failed_{entry_id}"
        self._store = _ReportingStore(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}.residents",
            private=True,
            atomic_writes=True,
        )
        self._registry: ResidentsRegistry | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._dirty = False
        self._write_failed = False

    async def async_load(self) -> ResidentsRegistry:
        """Read the registry, or start an empty one for a new community."""
        unsaved = self._hass.data.get(UNSAVED_REGISTRIES, {}).pop(self._entry_id, None)
        if unsaved is not None:
            self._registry = unsaved
            self.async_schedule_save()
            return unsaved
        data = await self._store.async_load()
        try:
            # Building thousands of residents would hold the event loop.
            registry = (
                ResidentsRegistry()
                if data is None
                else await self._hass.async_add_executor_job(
                    ResidentsRegistry.from_dict, data
                )
            )
        except InvalidStoredDataError as err:
            # Never overwrite what cannot be read: it may be restored by hand.
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key=err.translation_key,
                translation_placeholders=err.translation_placeholders
                | {"community": self._community_name},
            ) from err
        self._registry = registry
        return registry

    @callback
    def async_schedule_save(self, delay: float = SAVE_DELAY_SECONDS) -> None:
        """Write the registry after a short quiet period."""
        self._dirty = True
        self._cancel_timer()
        self._timer = self._hass.loop.call_later(delay, self._async_start_save)

    @callback
    def _async_start_save(self) -> None:
        """Start the write as a task once the quiet period has passed."""
        self._timer = None
        self._hass.async_create_task(
            self._async_write(), "smart_community registry save", eager_start=True
        )

    async def async_write_pending(self) -> bool:
        """Write now if anything is unsaved; return whether everything is saved."""
        self._cancel_timer()
        if not self._dirty:
            return True
        return await self._async_write(retry=False)

    async def async_close(self) -> None:
        """Write what is pending before the entry unloads; keep it if that fails."""
        if not await self.async_write_pending() and self._registry is not None:
            self._hass.data.setdefault(UNSAVED_REGISTRIES, {})[self._entry_id] = (
                self._registry
            )

    async def _async_write(self, *, retry: bool = True) -> bool:
        """Write the registry; on failure report it and, if asked, retry later."""
        if self._registry is None:
            return True
        # Cleared before the write, so that a change made while it is under way
        # marks the registry unsaved again.
        self._dirty = False
        try:
            await self._store.async_save(self._registry.to_dict())
        except RegistryWriteError as err:
            self._dirty = True
            if not self._write_failed:
                LOGGER.error(
                    "Could not save the residents of %s, will retry: %s",
                    self._community_name,
                    err,
                )
            self._write_failed = True
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                self._issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="registry_write_failed",
                translation_placeholders={
                    "community": self._community_name,
                    "error": str(err),
                },
            )
            if retry:
                self.async_schedule_save(SAVE_RETRY_SECONDS)
            return False
        if self._write_failed:
            LOGGER.info("Saving the residents of %s works again", self._community_name)
            self._write_failed = False
            ir.async_delete_issue(self._hass, DOMAIN, self._issue_id)
        return True

    async def async_remove(self) -> None:
        """Delete the stored registry when the community entry is deleted."""
        self._hass.data.get(UNSAVED_REGISTRIES, {}).pop(self._entry_id, None)
        await self._store.async_remove()
        ir.async_delete_issue(self._hass, DOMAIN, self._issue_id)

    @callback
    def _cancel_timer(self) -> None:
        """Forget a scheduled write."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
