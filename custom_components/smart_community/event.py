"""Events: terminals' access decisions, lanes' plates, fire alarms and operations."""

from typing import Any, override

from homeassistant.components.event import EventEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .activity_entities import SosEvent, async_add_resident_entities
from .camera_entities import async_add_camera_events
from .charging_entities import async_add_charging_events
from .community.fire import ComponentAlarm, ComponentEvent, FireComponent, FirePanel
from .community.gates import PlateEvent
from .const import (
    SUBENTRY_TYPE_FACE_TERMINAL,
    SUBENTRY_TYPE_FIRE_PANEL,
    SUBENTRY_TYPE_PLATE_CAMERA,
)
from .entity import (
    FireComponentEntity,
    FirePanelEntity,
    LaneEntity,
    TerminalEntity,
    panel_device_id,
)
from .protocols.gb26875 import (
    SystemOperation,
    SystemOperationFlags,
    TransmitterOperation,
    TransmitterOperationFlags,
    component_type_key,
    system_type_key,
)
from .protocols.isapi import AccessEvent, EventKind
from .runtime import SmartCommunityConfigEntry

# Events only come in; nothing is sent to the terminal.
PARALLEL_UPDATES = 0

ACCESS_GRANTED = "access_granted"
ACCESS_DENIED = "access_denied"
STRANGER = "stranger"
DOOR_FORCED = "door_forced"
PLATE_READ = "plate_read"

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
    """Add an access event entity per face terminal and a plate event per lane."""
    async_add_charging_events(hass, entry, async_add_entities)
    async_add_resident_entities(hass, entry, async_add_entities, SosEvent)
    async_add_camera_events(hass, entry, async_add_entities)
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_FACE_TERMINAL):
        async_add_entities(
            [TerminalAccessEvent(hass, entry, subentry)],
            config_subentry_id=subentry.subentry_id,
        )
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_PLATE_CAMERA):
        async_add_entities(
            [LanePlateEvent(hass, entry, subentry)],
            config_subentry_id=subentry.subentry_id,
        )
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_FIRE_PANEL):
        panel = entry.runtime_data.fire_panels[subentry.subentry_id]
        async_add_entities(
            [PanelOperationEvent(hass, entry, subentry)],
            config_subentry_id=subentry.subentry_id,
        )

        @callback
        def add_component(
            component_id: str,
            panel: FirePanel = panel,
            device_id: str = panel_device_id(hass, entry, panel),
            subentry_id: str = subentry.subentry_id,
        ) -> None:
            async_add_entities(
                [ComponentAlarmEvent(panel, device_id, panel.components[component_id])],
                config_subentry_id=subentry_id,
            )

        for component_id in panel.components:
            add_component(component_id)
        entry.async_on_unload(panel.component_added.add(add_component))


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


def plate_event_data(event: PlateEvent) -> dict[str, Any]:
    """Describe a plate read and its verdict for event and sensor attributes."""
    read = event.read
    decision = event.decision
    resident = decision.resident
    visitor_pass = decision.visitor_pass
    return {
        "plate": decision.plate or None,
        "matched_plate": decision.matched_plate,
        "color": read.color.name.lower(),
        "confidence": read.confidence,
        "direction": event.direction.value,
        "verdict": decision.verdict.value,
        "opened": event.opened,
        "resident_id": resident.resident_id if resident is not None else None,
        "resident": resident.name if resident is not None else None,
        "visitor": visitor_pass.visitor_name if visitor_pass is not None else None,
        "pass_id": visitor_pass.pass_id if visitor_pass is not None else None,
        "offline": decision.offline,
        "plate_id": read.plate_id,
        "time": event.at.isoformat(),
        "parking_counted": event.parking_counted,
    }


class LanePlateEvent(LaneEntity, EventEntity):
    """Every plate a lane's camera reads, with who it is and whether it opened."""

    _attr_translation_key = "plate"

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Create the plate event entity of a lane."""
        super().__init__(hass, entry, subentry, "plate")
        self._attr_event_types = [PLATE_READ]

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the lane's reads."""
        await super().async_added_to_hass()
        self.async_on_remove(self.lane.add_plate_listener(self._async_plate_read))

    @callback
    def _async_plate_read(self, event: PlateEvent) -> None:
        """Fire the read with its verdict."""
        self._trigger_event(PLATE_READ, plate_event_data(event))
        self.async_write_ha_state()


class ComponentAlarmEvent(FireComponentEntity, EventEntity):
    """A component's alarms and their end, with where it is (its description)."""

    _attr_translation_key = "fire_component"

    def __init__(
        self, panel: FirePanel, device_id: str, component: FireComponent
    ) -> None:
        """Create the alarm event entity of a component."""
        super().__init__(panel, device_id, component, "alarm")
        self._attr_event_types = [event.value for event in ComponentEvent]

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the component's alarms; fire the one it raised when it appeared."""
        await super().async_added_to_hass()
        self.async_on_remove(self.panel.alarms.add(self._async_alarm))
        if (alarm := self.component.first_alarm) is not None:
            self.component.first_alarm = None
            self._async_alarm(alarm)

    @callback
    def _async_alarm(self, alarm: ComponentAlarm) -> None:
        """Fire an alarm of this component."""
        if alarm.component_id != self.component.component_id:
            return
        component = self.component
        self._trigger_event(
            alarm.event,
            {
                "description": alarm.description,
                "component_type": component_type_key(component.component_type),
                "system_type": system_type_key(component.system_type),
                "system_address": component.system_address,
                "component_address": component.component_address,
                "device_time": None if alarm.time is None else alarm.time.isoformat(),
            },
        )
        self.async_write_ha_state()


def _operation_names(operation: SystemOperation | TransmitterOperation) -> list[str]:
    """Name the operations one report carries, e.g. ["reset", "silence"]."""
    return [
        str(flag.name).lower()
        for flag in type(operation.operations)
        if flag in operation.operations and flag.name is not None
    ]


OPERATION_TYPES = sorted(
    {str(flag.name).lower() for flag in SystemOperationFlags}
    | {str(flag.name).lower() for flag in TransmitterOperationFlags}
)


class PanelOperationEvent(FirePanelEntity, EventEntity):
    """What was done at the fire panel: reset, silence, self-test and so on."""

    _attr_translation_key = "fire_operation"

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Create the operation event entity of a transmission device."""
        super().__init__(hass, entry, subentry, "operation")
        self._attr_event_types = list(OPERATION_TYPES)

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the operations the device reports."""
        await super().async_added_to_hass()
        self.async_on_remove(self.panel.operations.add(self._async_operation))

    @callback
    def _async_operation(
        self, operation: SystemOperation | TransmitterOperation
    ) -> None:
        """Fire one event per operation reported."""
        data: dict[str, Any] = {
            "operator": operation.operator,
            "device_time": None
            if operation.time is None
            else operation.time.isoformat(),
            "source": "transmitter",
        }
        if isinstance(operation, SystemOperation):
            data |= {
                "source": system_type_key(operation.system_type),
                "system_address": operation.system_address,
            }
        for name in _operation_names(operation):
            self._trigger_event(name, data)
        self.async_write_ha_state()
