"""Entities of charging stations and their ports, for every platform.

Each station is a device with its connectivity, status, emergency-stop flag
and a restart button; each port is a device below it with its status,
readings, a charge switch, fault and overheat sensors and an event of its
sessions and cut-offs. The entities only read the centre's state and pass
commands on.
"""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.button import ButtonEntity
from homeassistant.components.button.const import ButtonDeviceClass
from homeassistant.components.event import EventEntity
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.switch import SwitchEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .community.charging import ChargingPort, ChargingStation, CutoffPolicy, PortStatus
from .community.charging_centre import (
    ChargingCommandError,
    ChargingEvent,
    ChargingEventType,
)
from .const import DOMAIN, SUBENTRY_TYPE_CHARGING_STATION
from .entity import ChargingPortEntity, ChargingStationEntity, station_device_id
from .runtime import SmartCommunityConfigEntry

# OCPP 1.6 ChargePointErrorCode, in snake case.
ERROR_CODES = [
    "no_error",
    "connector_lock_failure",
    "ev_communication_error",
    "ground_failure",
    "high_temperature",
    "internal_error",
    "local_list_conflict",
    "other_error",
    "over_current_failure",
    "power_meter_failure",
    "power_switch_failure",
    "reader_failure",
    "reset_failure",
    "under_voltage",
    "over_voltage",
    "weak_signal",
]


def error_code_key(code: str | None) -> str | None:
    """Write an OCPP error code such as "EVCommunicationError" in snake case."""
    if code is None:
        return None
    key = "".join(
        f"_{char.lower()}" if char.isupper() else char
        for char in code.replace("EV", "Ev")
    ).lstrip("_")
    return key if key in ERROR_CODES else "other_error"


@dataclass(frozen=True, kw_only=True)
class PortSensorEntityDescription(SensorEntityDescription):
    """Describes a reading of a port."""

    value_fn: Callable[[ChargingPort], StateType]


PORT_SENSORS: tuple[PortSensorEntityDescription, ...] = (
    PortSensorEntityDescription(
        key="status",
        translation_key="port_status",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in PortStatus],
        value_fn=lambda port: None if port.status is None else port.status.value,
    ),
    PortSensorEntityDescription(
        key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda port: port.power_w,
    ),
    PortSensorEntityDescription(
        key="session_energy",
        translation_key="session_energy",
        device_class=SensorDeviceClass.ENERGY,
        # Starts again from zero with each session, which Home Assistant reads as a reset.
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        value_fn=lambda port: port.session_energy_wh,
    ),
    PortSensorEntityDescription(
        key="energy",
        translation_key="total_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda port: port.register_wh,
    ),
    PortSensorEntityDescription(
        key="temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        value_fn=lambda port: port.temperature_c,
    ),
    PortSensorEntityDescription(
        key="current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=2,
        entity_registry_enabled_default=False,
        value_fn=lambda port: port.current_a,
    ),
    PortSensorEntityDescription(
        key="voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=0,
        entity_registry_enabled_default=False,
        value_fn=lambda port: port.voltage_v,
    ),
    PortSensorEntityDescription(
        key="error_code",
        translation_key="port_error",
        device_class=SensorDeviceClass.ENUM,
        options=ERROR_CODES,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda port: error_code_key(port.error_code),
    ),
)


@dataclass(frozen=True, kw_only=True)
class PortBinarySensorEntityDescription(BinarySensorEntityDescription):
    """Describes a yes/no state of a port."""

    is_on_fn: Callable[[ChargingPort, CutoffPolicy], bool | None]


PORT_BINARY_SENSORS: tuple[PortBinarySensorEntityDescription, ...] = (
    PortBinarySensorEntityDescription(
        key="fault",
        translation_key="port_fault",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda port, _policy: port.faulted,
    ),
    PortBinarySensorEntityDescription(
        key="overheat",
        translation_key="port_overheat",
        device_class=BinarySensorDeviceClass.HEAT,
        is_on_fn=lambda port, policy: port.overheated(policy),
    ),
)


def _ports(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> list[tuple[ConfigSubentry, ChargingStation, str]]:
    """Return each station subentry with its runtime and device ID."""
    centre = entry.runtime_data.charging
    if centre is None:
        return []
    found = []
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_CHARGING_STATION):
        station = centre.stations[subentry.subentry_id]
        found.append((subentry, station, station_device_id(hass, entry, station)))
    return found


def async_add_charging_sensors(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each station's status and each port's readings."""
    for subentry, station, device in _ports(hass, entry):
        entities: list[Entity] = [StationStatusSensor(hass, entry, subentry, "status")]
        entities.extend(
            PortSensor(entry, station, device, port, description)
            for port in station.ports.values()
            for description in PORT_SENSORS
        )
        async_add_entities(entities, config_subentry_id=subentry.subentry_id)


def async_add_charging_binary_sensors(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each station's connectivity and emergency stop, each port's problems."""
    for subentry, station, device in _ports(hass, entry):
        entities: list[Entity] = [
            StationConnected(hass, entry, subentry, "connected"),
            StationBlocked(hass, entry, subentry, "blocked"),
        ]
        entities.extend(
            PortBinarySensor(entry, station, device, port, description)
            for port in station.ports.values()
            for description in PORT_BINARY_SENSORS
        )
        async_add_entities(entities, config_subentry_id=subentry.subentry_id)


def async_add_charging_switches(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each port's charge and availability switches."""
    for subentry, station, device in _ports(hass, entry):
        async_add_entities(
            [
                entity
                for port in station.ports.values()
                for entity in (
                    PortChargeSwitch(entry, station, device, port, "charge"),
                    PortAvailableSwitch(entry, station, device, port, "available"),
                )
            ],
            config_subentry_id=subentry.subentry_id,
        )


def async_add_charging_buttons(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each station's restart button and each port's unlock button."""
    for subentry, station, device in _ports(hass, entry):
        entities: list[Entity] = [StationResetButton(hass, entry, subentry, "reset")]
        entities.extend(
            PortUnlockButton(entry, station, device, port, "unlock")
            for port in station.ports.values()
        )
        async_add_entities(entities, config_subentry_id=subentry.subentry_id)


def async_add_charging_events(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each port's session event."""
    for subentry, station, device in _ports(hass, entry):
        async_add_entities(
            [
                PortChargingEvent(entry, station, device, port, "charging")
                for port in station.ports.values()
            ],
            config_subentry_id=subentry.subentry_id,
        )


async def _command(job: Coroutine[Any, Any, object]) -> None:
    """Run a command; a station's refusal becomes a translated error."""
    try:
        await job
    except ChargingCommandError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders=err.translation_placeholders,
        ) from err


# --- the station -------------------------------------------------------------------


class StationStatusSensor(ChargingStationEntity, SensorEntity):
    """What the station as a whole (connector 0) reports."""

    _attr_translation_key = "station_status"
    _attr_device_class = SensorDeviceClass.ENUM

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        key: str,
    ) -> None:
        """Offer every status a station may report."""
        super().__init__(hass, entry, subentry, key)
        self._attr_options = [status.value for status in PortStatus]

    @property
    @override
    def native_value(self) -> str | None:
        """Return the station's status."""
        return None if self.station.status is None else self.station.status.value


class StationConnected(ChargingStationEntity, BinarySensorEntity):
    """Whether the station holds its websocket to Home Assistant."""

    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    @property
    @override
    def available(self) -> bool:
        """Stay available: being disconnected is this entity's news."""
        return True

    @property
    @override
    def is_on(self) -> bool:
        """Tell whether the station is connected."""
        return self.station.connected


class StationBlocked(ChargingStationEntity, BinarySensorEntity):
    """Whether an emergency stop refuses new sessions on the station."""

    _attr_translation_key = "charging_blocked"

    @property
    @override
    def available(self) -> bool:
        """Stay available: the block holds while the station is away too."""
        return True

    @property
    @override
    def is_on(self) -> bool:
        """Tell whether the station is blocked."""
        return self.station.blocked


class StationResetButton(ChargingStationEntity, ButtonEntity):
    """Restart the station (an OCPP soft reset)."""

    _attr_device_class = ButtonDeviceClass.RESTART
    _attr_entity_category = EntityCategory.CONFIG

    @override
    async def async_press(self) -> None:
        """Ask the station to restart."""
        await _command(self.centre.reset(self.station))


# --- the ports ---------------------------------------------------------------------


class PortSensor(ChargingPortEntity, SensorEntity):
    """A reading of a port."""

    entity_description: PortSensorEntityDescription

    def __init__(
        self,
        entry: SmartCommunityConfigEntry,
        station: ChargingStation,
        station_device: str,
        port: ChargingPort,
        description: PortSensorEntityDescription,
    ) -> None:
        """Describe the reading."""
        super().__init__(entry, station, station_device, port, description.key)
        self.entity_description = description

    @property
    @override
    def native_value(self) -> StateType:
        """Return the reading."""
        return self.entity_description.value_fn(self.port)

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Add the vendor's own code to the error code."""
        if self.entity_description.key != "error_code":
            return None
        return {"vendor_error_code": self.port.vendor_error_code}


class PortBinarySensor(ChargingPortEntity, BinarySensorEntity):
    """A fault or overheat state of a port."""

    entity_description: PortBinarySensorEntityDescription

    def __init__(
        self,
        entry: SmartCommunityConfigEntry,
        station: ChargingStation,
        station_device: str,
        port: ChargingPort,
        description: PortBinarySensorEntityDescription,
    ) -> None:
        """Describe the state."""
        super().__init__(entry, station, station_device, port, description.key)
        self.entity_description = description

    @property
    @override
    def is_on(self) -> bool | None:
        """Return the state."""
        return self.entity_description.is_on_fn(self.port, self.station.policy)


class PortChargeSwitch(ChargingPortEntity, SwitchEntity):
    """Charging on a port: on while a session is open."""

    _attr_translation_key = "charge"

    @property
    @override
    def is_on(self) -> bool:
        """Tell whether a session is open."""
        return self.port.charging

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Start a session from Home Assistant."""
        await _command(self.centre.start_charging(self.station, self.port.number))

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop the open session."""
        await _command(self.centre.stop_charging(self.station, self.port.number))


class PortAvailableSwitch(ChargingPortEntity, SwitchEntity):
    """Whether a port takes sessions (OCPP ChangeAvailability)."""

    _attr_translation_key = "port_available"
    _attr_entity_category = EntityCategory.CONFIG

    @property
    @override
    def is_on(self) -> bool | None:
        """Tell whether the port is operative, by its status."""
        if self.port.status is None:
            return None
        return self.port.status is not PortStatus.UNAVAILABLE

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Make the port operative."""
        await _command(self.centre.set_available(self.station, self.port.number, True))

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Take the port out of service (after its session, if one is open)."""
        await _command(self.centre.set_available(self.station, self.port.number, False))


class PortUnlockButton(ChargingPortEntity, ButtonEntity):
    """Release a port's connector."""

    _attr_translation_key = "unlock"
    _attr_entity_category = EntityCategory.CONFIG
    _attr_entity_registry_enabled_default = False

    @override
    async def async_press(self) -> None:
        """Ask the station to unlock the port."""
        await _command(self.centre.unlock(self.station, self.port.number))


class PortChargingEvent(ChargingPortEntity, EventEntity):
    """Sessions starting and finishing on a port, and the cut-offs that stop them."""

    _attr_translation_key = "charging"

    def __init__(
        self,
        entry: SmartCommunityConfigEntry,
        station: ChargingStation,
        station_device: str,
        port: ChargingPort,
        key: str,
    ) -> None:
        """Offer the port's kinds of events."""
        super().__init__(entry, station, station_device, port, key)
        self._attr_event_types = [event_type.value for event_type in ChargingEventType]

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the centre's events for this port."""
        await super().async_added_to_hass()
        self.async_on_remove(self.centre.events.add(self._async_event))

    @callback
    def _async_event(self, event: ChargingEvent) -> None:
        """Fire the event if it happened on this port."""
        if (
            event.station_id != self.station.station_id
            or event.port != self.port.number
        ):
            return
        self._trigger_event(event.event_type.value, event.attributes)
        self.async_write_ha_state()
