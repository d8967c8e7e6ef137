"""Events: what a face terminal decided at its doors, with whom."""

from typing import Any, override

from homeassistant.components.event import EventEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import SUBENTRY_TYPE_FACE_TERMINAL
from .entity import TerminalEntity
from .protocols.isapi import AccessEvent, EventKind
from .runtime import SmartCommunityConfigEntry

# Events only come in; nothing is sent to the terminal.
PARALLEL_UPDATES = 0

ACCESS_GRANTED = "access_granted"
ACCESS_DENIED = "access_denied"
STRANGER = "stranger"
DOOR_FORCED = "door_forced"

# What each terminal event means for access; the rest only moves door states.
VERDICTS: dict[EventKind, tuple[str, str | None]] = {
    EventKind.FACE_RECOGNIZED: (ACCESS_GRANTED, "face"),
    EventKind.REMOTE_OPEN: (ACCESS_GRANTED, "remote"),
    EventKind.FACE_FAILED: (ACCESS_DENIED, "face"),
    EventKind.STRANGER: (STRANGER, "face"),
    EventKind.DOOR_FORCED: (DOOR_FORCED, None),
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an access event entity per face terminal."""
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_FACE_TERMINAL):
        async_add_entities(
            [TerminalAccessEvent(hass, entry, subentry)],
            config_subentry_id=subentry.subentry_id,
        )


class TerminalAccessEvent(TerminalEntity, EventEntity):
    """Access granted or denied, a stranger, or a forced door at a terminal."""

    _attr_translation_key = "access"

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Create the event entity of a terminal."""
        super().__init__(hass, entry, subentry, "access")
        self._attr_event_types = [ACCESS_GRANTED, ACCESS_DENIED, STRANGER, DOOR_FORCED]
        self._registry = entry.runtime_data.registry
        self._employee_numbers = entry.runtime_data.employee_numbers

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the terminal's events."""
        await super().async_added_to_hass()
        self.async_on_remove(self.hub.add_event_listener(self._async_access_event))

    @callback
    def _async_access_event(self, event: AccessEvent) -> None:
        """Fire the verdict of a terminal event, naming the resident if known."""
        if (verdict := VERDICTS.get(event.kind)) is None:
            return
        event_type, method = verdict
        data: dict[str, Any] = {
            "door": event.door_no,
            "method": method,
            "employee_no": event.employee_no,
            "resident_id": None,
            "name": event.name,
            "time": event.time.isoformat() if event.time is not None else None,
            "serial_no": event.serial_no,
            "reconciled": event.reconciled,
        }
        if event.employee_no and (
            resident_id := self._employee_numbers.resident_id_for(event.employee_no)
        ):
            data["resident_id"] = resident_id
            data["name"] = self._registry.get_resident(resident_id).name
        self._trigger_event(event_type, data)
        self.async_write_ha_state()
