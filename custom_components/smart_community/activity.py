"""Follow what shows that watched residents are active, and keep it across restarts.

Sources: granted access at face terminals and recognition at cameras (both
name the resident), the state changes of the entities linked to a resident, and
their BLE tag (see wearables.py). Residents tagged ``elderly_living_alone`` are
watched; links of other residents are kept but show no entities.
"""

from collections.abc import Callable
from typing import Any, Final

from homeassistant.const import STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import (
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .community.activity import Activity, ActivityLog, ActivitySource
from .community.cameras import RecognitionEvent, RecognitionKind
from .community.models import TAG_ELDERLY_LIVING_ALONE
from .const import DOMAIN, LOGGER
from .protocols.isapi import AccessEvent, EventKind
from .runtime import SmartCommunityConfigEntry
from .wearables import async_start_wearables

ACTIVITY_STORAGE_VERSION: Final = 1
ACTIVITY_SAVE_DELAY_SECONDS: Final = 10
# Entity domains whose changes can show activity, and which change counts.
LINKABLE_DOMAINS: Final = frozenset({"binary_sensor", "sensor", "event"})
_DOOR_CLASSES: Final = frozenset({"door", "opening", "window", "garage_door"})
_WATER_CLASSES: Final = frozenset({"water", "volume", "volume_storage", "gas"})


class ActivityStore:
    """Save the activity log, debounced, beside the residents."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Keep one community's log."""
        self._store: Store[dict[str, Any]] = Store(
            hass,
            ACTIVITY_STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}.activity",
            private=True,
        )
        self.log = ActivityLog()
        self._dirty = False

    async def async_load(self) -> ActivityLog:
        """Read the saved log; an unreadable one is started afresh with one warning."""
        stored = await self._store.async_load()
        if stored is not None:
            try:
                self.log = ActivityLog.from_dict(stored)
            except ValueError as err:
                LOGGER.warning("Starting the activity log afresh: %s", err)
        return self.log

    @callback
    def async_schedule_save(self, *_: object) -> None:
        """Save soon; a burst of activity is one write."""
        self._dirty = True
        self._store.async_delay_save(self._data, ACTIVITY_SAVE_DELAY_SECONDS)

    def _data(self) -> dict[str, Any]:
        """Return what to write, noting that it is written."""
        self._dirty = False
        return self.log.to_dict()

    async def async_close(self) -> None:
        """Write what is pending before the entry unloads (a reload must not lose it)."""
        if self._dirty:
            await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """Delete the saved log (when the community is removed)."""
        await self._store.async_remove()


def activity_of(new_state: State, old_state: State | None) -> ActivitySource | None:
    """Tell whether a linked entity's change shows activity, and of which kind.

    A binary sensor counts when it turns on, a sensor when its value rises
    (water and energy meters count up when used), an event entity on every event.
    """
    if new_state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    previous = None if old_state is None else old_state.state
    device_class = new_state.attributes.get("device_class")
    match new_state.domain:
        case "binary_sensor":
            if new_state.state != STATE_ON or previous == STATE_ON:
                return None
            if device_class in _DOOR_CLASSES:
                return ActivitySource.DOOR
            return ActivitySource.PRESENCE
        case "sensor":
            try:
                rose = previous is not None and float(new_state.state) > float(previous)
            except ValueError:
                return None
            if not rose:
                return None
            if device_class in _WATER_CLASSES:
                return ActivitySource.WATER
            return ActivitySource.ENERGY
        case "event":
            return None if previous is None else ActivitySource.PRESENCE
    return None


async def async_start_activity(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> None:
    """Load the log, follow its sources and keep the watched residents in step."""
    community = entry.runtime_data
    store = ActivityStore(hass, entry.entry_id)
    log = await store.async_load()
    community.activity = log

    @callback
    def residents_changed() -> None:
        """Watch the elderly living alone; forget links of people who left."""
        registry = community.registry
        changed = log.forget(resident.resident_id for resident in registry.residents)
        elderly = registry.residents_with_tag(TAG_ELDERLY_LIVING_ALONE)
        changed |= log.watch(
            (resident.resident_id for resident in elderly), dt_util.utcnow()
        )
        if changed:
            store.async_schedule_save()

    residents_changed()
    entry.async_on_unload(store.async_close)
    entry.async_on_unload(community.registry.add_listener(residents_changed))
    entry.async_on_unload(log.add_listener(store.async_schedule_save))
    entry.async_on_unload(log.add_links_listener(store.async_schedule_save))

    for subentry_id, hub in community.terminals.items():
        entry.async_on_unload(
            hub.add_event_listener(
                _terminal_follower(entry, log, entry.subentries[subentry_id].title)
            )
        )
    for watch in community.cameras.values():
        entry.async_on_unload(watch.add_event_listener(_camera_follower(log)))
    _follow_linked_entities(hass, entry, log)
    await async_start_wearables(hass, entry, log)


def _terminal_follower(
    entry: SmartCommunityConfigEntry, log: ActivityLog, terminal: str
) -> Callable[[AccessEvent], None]:
    """Count a resident let in by their face at a terminal as activity."""
    numbers = entry.runtime_data.employee_numbers

    @callback
    def access(event: AccessEvent) -> None:
        if event.kind is not EventKind.FACE_RECOGNIZED or not event.employee_no:
            return
        if (resident_id := numbers.resident_id_for(event.employee_no)) is None:
            return
        log.record(
            resident_id,
            Activity(event.time or dt_util.utcnow(), ActivitySource.ACCESS, terminal),
        )

    return access


def _camera_follower(log: ActivityLog) -> Callable[[RecognitionEvent], None]:
    """Count a resident recognised by a camera as activity."""

    @callback
    def recognised(event: RecognitionEvent) -> None:
        if event.kind is RecognitionKind.FACE_RECOGNIZED and event.resident_id:
            log.record(event.resident_id, Activity(event.at, ActivitySource.FACE, None))

    return recognised


def _follow_linked_entities(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry, log: ActivityLog
) -> None:
    """Follow the linked entities; follow the new set whenever links change."""
    unsubscribe: list[Callable[[], None]] = []

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        if new_state is None:
            return
        source = activity_of(new_state, event.data["old_state"])
        if source is None:
            return
        for resident_id in log.residents_for_entity(new_state.entity_id):
            log.record(
                resident_id,
                Activity(new_state.last_changed, source, new_state.entity_id),
            )

    @callback
    def stop() -> None:
        while unsubscribe:
            unsubscribe.pop()()

    @callback
    def links_changed() -> None:
        stop()
        entity_ids = {
            entity_id
            for links in log.all_links().values()
            for entity_id in links.entities
        }
        if entity_ids:
            unsubscribe.append(
                async_track_state_change_event(hass, sorted(entity_ids), changed)
            )

    links_changed()
    entry.async_on_unload(log.add_links_listener(links_changed))
    entry.async_on_unload(stop)
