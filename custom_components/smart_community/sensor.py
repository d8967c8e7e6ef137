"""Sensors: who lives in the community and each building; lanes and car parks."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import override

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_call_later, async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .activity_entities import LastActivitySensor, async_add_resident_entities
from .charging_entities import async_add_charging_sensors
from .community.community import Community, Occupancy
from .community.enrolment import EnrolmentQueue
from .community.gates import PlateEvent
from .community.parking import ParkingLot
from .const import (
    SUBENTRY_TYPE_BUILDING,
    SUBENTRY_TYPE_FACE_TERMINAL,
    SUBENTRY_TYPE_PARKING_LOT,
    SUBENTRY_TYPE_PLATE_CAMERA,
)
from .entity import (
    BuildingEntity,
    LaneEntity,
    ParkingLotEntity,
    SmartCommunityEntity,
    TerminalEntity,
)
from .event import plate_event_data
from .runtime import SmartCommunityConfigEntry, signal_subentries_added
from .safety_sensors import async_add_safety_sensors

# Entities only read the registry in memory; nothing is fetched.
PARALLEL_UPDATES = 0
# Seconds between updates of a terminal's enrolment backlog.
ENROLMENT_SENSOR_INTERVAL = 1.0


@dataclass(frozen=True, kw_only=True)
class CommunitySensorEntityDescription(SensorEntityDescription):
    """Describes a count over the whole community."""

    value_fn: Callable[[Community, datetime], int]


@dataclass(frozen=True, kw_only=True)
class BuildingSensorEntityDescription(SensorEntityDescription):
    """Describes a count over one building."""

    value_fn: Callable[[Occupancy], int]


COMMUNITY_SENSORS: tuple[CommunitySensorEntityDescription, ...] = (
    CommunitySensorEntityDescription(
        key="residents",
        translation_key="residents",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda community, _now: community.occupancy().residents,
    ),
    CommunitySensorEntityDescription(
        key="households",
        translation_key="households",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda community, _now: community.occupancy().households,
    ),
    CommunitySensorEntityDescription(
        key="elderly_living_alone",
        translation_key="elderly_living_alone",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda community, _now: community.occupancy().elderly_living_alone,
    ),
    CommunitySensorEntityDescription(
        key="vehicles",
        translation_key="vehicles",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda community, _now: len(community.registry.vehicles),
    ),
    CommunitySensorEntityDescription(
        key="active_visitor_passes",
        translation_key="active_visitor_passes",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda community, now: len(
            community.registry.active_visitor_passes(now)
        ),
    ),
)


@dataclass(frozen=True, kw_only=True)
class ParkingSensorEntityDescription(SensorEntityDescription):
    """Describes a count of a car park."""

    value_fn: Callable[[ParkingLot], int]


PARKING_SENSORS: tuple[ParkingSensorEntityDescription, ...] = (
    ParkingSensorEntityDescription(
        key="vehicles_inside",
        translation_key="vehicles_inside",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda lot: lot.vehicles_inside,
    ),
    ParkingSensorEntityDescription(
        key="free_spaces",
        translation_key="free_spaces",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda lot: lot.free_spaces,
    ),
)

BUILDING_SENSORS: tuple[BuildingSensorEntityDescription, ...] = (
    BuildingSensorEntityDescription(
        key="residents",
        translation_key="residents",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda occupancy: occupancy.residents,
    ),
    BuildingSensorEntityDescription(
        key="households",
        translation_key="households",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda occupancy: occupancy.households,
    ),
    BuildingSensorEntityDescription(
        key="elderly_living_alone",
        translation_key="elderly_living_alone",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda occupancy: occupancy.elderly_living_alone,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the community's sensors, and each building's as buildings are added."""
    async_add_charging_sensors(hass, entry, async_add_entities)
    async_add_resident_entities(hass, entry, async_add_entities, LastActivitySensor)
    async_add_entities(
        CommunitySensor(entry, description) for description in COMMUNITY_SENSORS
    )
    added: set[str] = set()

    @callback
    def async_add_buildings() -> None:
        for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_BUILDING):
            if subentry.subentry_id in added:
                continue
            added.add(subentry.subentry_id)
            async_add_entities(
                (
                    BuildingSensor(hass, entry, subentry, description)
                    for description in BUILDING_SENSORS
                ),
                config_subentry_id=subentry.subentry_id,
            )

    async_add_buildings()
    entry.async_on_unload(
        async_dispatcher_connect(
            hass, signal_subentries_added(entry.entry_id), async_add_buildings
        )
    )
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_PARKING_LOT):
        async_add_entities(
            (
                ParkingSensor(hass, entry, subentry, description)
                for description in PARKING_SENSORS
            ),
            config_subentry_id=subentry.subentry_id,
        )
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_PLATE_CAMERA):
        async_add_entities(
            [LastPlateSensor(hass, entry, subentry)],
            config_subentry_id=subentry.subentry_id,
        )
    async_add_safety_sensors(hass, entry, async_add_entities)
    if (planner := entry.runtime_data.enrolment) is not None:
        for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_FACE_TERMINAL):
            async_add_entities(
                [PendingEnrolmentsSensor(hass, entry, subentry, planner.queue)],
                config_subentry_id=subentry.subentry_id,
            )


class CommunitySensor(SmartCommunityEntity, SensorEntity):
    """A count over the whole community, refreshed when the registry changes."""

    entity_description: CommunitySensorEntityDescription
    _cancel_timer: CALLBACK_TYPE | None = None

    def __init__(
        self,
        entry: SmartCommunityConfigEntry,
        description: CommunitySensorEntityDescription,
    ) -> None:
        """Create the sensor from its description."""
        super().__init__(entry, description.key)
        self.entity_description = description

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the registry, and the clock for visitor passes."""
        self.async_on_remove(self.community.registry.add_listener(self._async_changed))
        self.async_on_remove(self._async_cancel_timer)
        self._async_refresh()

    @callback
    def _async_changed(self) -> None:
        """Recount after a change to the registry."""
        self._async_refresh()
        self.async_write_ha_state()

    @callback
    def _async_refresh(self) -> None:
        """Count now, and wake up when a visitor pass starts or ends."""
        now = dt_util.utcnow()
        self._attr_native_value = self.entity_description.value_fn(self.community, now)
        self._async_cancel_timer()
        if (
            self.entity_description.key == "active_visitor_passes"
            and (next_change := self.community.registry.next_pass_change(now))
            is not None
        ):
            self._cancel_timer = async_track_point_in_utc_time(
                self.hass, self._async_clock_changed, next_change
            )

    @callback
    def _async_clock_changed(self, _now: datetime) -> None:
        """Recount when a visitor pass started or ended."""
        self._cancel_timer = None
        self._async_changed()

    @callback
    def _async_cancel_timer(self) -> None:
        """Stop waiting for the next visitor pass change."""
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None


class BuildingSensor(BuildingEntity, SensorEntity):
    """A count over one building, refreshed when the registry changes."""

    entity_description: BuildingSensorEntityDescription

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        description: BuildingSensorEntityDescription,
    ) -> None:
        """Create the sensor from its description."""
        super().__init__(hass, entry, subentry, description.key)
        self.entity_description = description

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the registry."""
        self.async_on_remove(self.community.registry.add_listener(self._async_changed))
        self._async_refresh()

    @callback
    def _async_changed(self) -> None:
        """Recount after a change to the registry."""
        self._async_refresh()
        self.async_write_ha_state()

    @callback
    def _async_refresh(self) -> None:
        """Count the building's occupants."""
        self._attr_native_value = self.entity_description.value_fn(
            self.community.building_occupancy(self.building_id)
        )


class PendingEnrolmentsSensor(TerminalEntity, SensorEntity):
    """How many registry changes still wait to reach a face terminal, and why."""

    _attr_translation_key = "pending_enrolments"
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_state_class = SensorStateClass.MEASUREMENT
    _write_pending: CALLBACK_TYPE | None = None

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        queue: EnrolmentQueue,
    ) -> None:
        """Create the backlog sensor of a terminal."""
        super().__init__(hass, entry, subentry, "pending_enrolments")
        self._terminal_id = subentry.subentry_id
        self._queue = queue

    @property
    @override
    def available(self) -> bool:
        """Stay available: the backlog matters most while the terminal is away."""
        return True

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the enrolment queue."""
        await super().async_added_to_hass()
        self.async_on_remove(self._queue.add_listener(self._async_queue_changed))
        self.async_on_remove(self._async_cancel_write)
        self._async_refresh()

    @callback
    def _async_queue_changed(self) -> None:
        """Show the backlog at most once a second: mass enrolments change it often."""
        if self._write_pending is None:
            self._write_pending = async_call_later(
                self.hass, ENROLMENT_SENSOR_INTERVAL, self._async_write_backlog
            )

    @callback
    def _async_write_backlog(self, _now: datetime) -> None:
        """Write the backlog now."""
        self._write_pending = None
        self._async_refresh()
        self.async_write_ha_state()

    @callback
    def _async_cancel_write(self) -> None:
        """Forget a scheduled write."""
        if self._write_pending is not None:
            self._write_pending()
            self._write_pending = None

    @callback
    def _async_refresh(self) -> None:
        """Count the pending changes and the failures by kind."""
        self._attr_native_value = self._queue.pending_count(self._terminal_id)
        errors: dict[str, int] = {}
        for operation in self._queue.failures(self._terminal_id):
            if operation.last_error is not None:
                errors[operation.last_error] = errors.get(operation.last_error, 0) + 1
        self._attr_extra_state_attributes = {
            "failed": sum(errors.values()),
            "errors": errors,
        }


class ParkingSensor(ParkingLotEntity, SensorEntity):
    """A count of a car park, from the lanes' entries and exits."""

    entity_description: ParkingSensorEntityDescription

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        description: ParkingSensorEntityDescription,
    ) -> None:
        """Create one count of a car park."""
        super().__init__(hass, entry, subentry, description.key)
        self.entity_description = description

    @property
    @override
    def native_value(self) -> int:
        """Return the count."""
        return self.entity_description.value_fn(self.lot)

    @property
    @override
    def extra_state_attributes(self) -> dict[str, int]:
        """Give the capacity the free spaces are counted from."""
        return {"capacity": self.lot.capacity}


class LastPlateSensor(LaneEntity, RestoreSensor):
    """The last plate a lane read, with its verdict; kept across restarts."""

    _attr_translation_key = "last_plate"

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Create the last-plate sensor of a lane."""
        super().__init__(hass, entry, subentry, "last_plate")

    @property
    @override
    def available(self) -> bool:
        """Stay available: the last read stays true while the camera is away."""
        return True

    @override
    async def async_added_to_hass(self) -> None:
        """Take back the last plate from before a restart; follow new reads."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_sensor_data()) is not None:
            self._attr_native_value = last.native_value
        if (state := await self.async_get_last_state()) is not None:
            self._attr_extra_state_attributes = dict(state.attributes)
        self.async_on_remove(self.lane.add_plate_listener(self._async_plate_read))

    @callback
    def _async_plate_read(self, event: PlateEvent) -> None:
        """Show the new read."""
        self._attr_native_value = event.decision.plate or None
        self._attr_extra_state_attributes = plate_event_data(event)
        self.async_write_ha_state()
