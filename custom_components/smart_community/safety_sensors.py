"""Sensors of building safety devices: power meters and fire panels' components.

The sensor platform adds them; they live here to keep that module about counts.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import (
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfLength,
    UnitOfPower,
    UnitOfPressure,
    UnitOfSpeed,
    UnitOfTemperature,
    UnitOfTime,
    UnitOfVolumeFlowRate,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .community.fire import FireComponent, FirePanel
from .const import SUBENTRY_TYPE_FIRE_PANEL, SUBENTRY_TYPE_POWER_METER
from .entity import (
    FireComponentEntity,
    FirePanelEntity,
    MeterEntity,
    panel_device_id,
)
from .protocols.gb26875 import ParameterType
from .protocols.modbus_meter import Quantity
from .runtime import SmartCommunityConfigEntry

_V = UnitOfElectricPotential.VOLT
_A = UnitOfElectricCurrent.AMPERE
_W = UnitOfPower.WATT


def _meter_sensor(
    quantity: Quantity,
    device_class: SensorDeviceClass,
    unit: str | None,
    precision: int,
    *,
    enabled: bool = True,
    state_class: SensorStateClass = SensorStateClass.MEASUREMENT,
) -> SensorEntityDescription:
    """Describe the sensor of one quantity a meter reads."""
    return SensorEntityDescription(
        key=quantity.value,
        translation_key=quantity.value,
        device_class=device_class,
        native_unit_of_measurement=unit,
        suggested_display_precision=precision,
        state_class=state_class,
        entity_registry_enabled_default=enabled,
    )


_VOLTAGE = SensorDeviceClass.VOLTAGE
_CURRENT = SensorDeviceClass.CURRENT
_POWER = SensorDeviceClass.POWER
_ENERGY = SensorDeviceClass.ENERGY
_TOTAL = SensorStateClass.TOTAL_INCREASING

METER_SENSORS: dict[Quantity, SensorEntityDescription] = {
    Quantity(description.key): description
    for description in (
        _meter_sensor(Quantity.VOLTAGE_L1, _VOLTAGE, _V, 1),
        _meter_sensor(Quantity.VOLTAGE_L2, _VOLTAGE, _V, 1),
        _meter_sensor(Quantity.VOLTAGE_L3, _VOLTAGE, _V, 1),
        _meter_sensor(Quantity.CURRENT_L1, _CURRENT, _A, 2),
        _meter_sensor(Quantity.CURRENT_L2, _CURRENT, _A, 2),
        _meter_sensor(Quantity.CURRENT_L3, _CURRENT, _A, 2),
        _meter_sensor(Quantity.POWER, _POWER, _W, 0),
        # Per-phase power is for balancing work, not everyday use.
        _meter_sensor(Quantity.POWER_L1, _POWER, _W, 0, enabled=False),
        _meter_sensor(Quantity.POWER_L2, _POWER, _W, 0, enabled=False),
        _meter_sensor(Quantity.POWER_L3, _POWER, _W, 0, enabled=False),
        _meter_sensor(Quantity.POWER_FACTOR, SensorDeviceClass.POWER_FACTOR, None, 3),
        _meter_sensor(
            Quantity.FREQUENCY, SensorDeviceClass.FREQUENCY, UnitOfFrequency.HERTZ, 2
        ),
        _meter_sensor(
            Quantity.ENERGY_IMPORT,
            _ENERGY,
            UnitOfEnergy.KILO_WATT_HOUR,
            2,
            state_class=_TOTAL,
        ),
        _meter_sensor(
            Quantity.ENERGY_EXPORT,
            _ENERGY,
            UnitOfEnergy.KILO_WATT_HOUR,
            2,
            state_class=_TOTAL,
            enabled=False,
        ),
    )
}


@dataclass(frozen=True, kw_only=True)
class ParameterSensorEntityDescription(SensorEntityDescription):
    """Describes a value a fire component measures; ``factor`` converts its unit."""

    factor: float = 1.0


def _parameter(
    key: str,
    device_class: SensorDeviceClass | None,
    unit: str | None,
    precision: int,
    factor: float = 1.0,
    translation_key: str | None = None,
) -> ParameterSensorEntityDescription:
    """Describe the sensor of one parameter type."""
    return ParameterSensorEntityDescription(
        key=key,
        translation_key=translation_key or key,
        device_class=device_class,
        native_unit_of_measurement=unit,
        suggested_display_precision=precision,
        state_class=SensorStateClass.MEASUREMENT,
        factor=factor,
    )


# Home Assistant has no MPa, so MPa readings are shown in kPa.
PARAMETER_SENSORS: dict[int, ParameterSensorEntityDescription] = {
    ParameterType.COUNT: _parameter("event_count", None, None, 0),
    ParameterType.HEIGHT: _parameter(
        "level", SensorDeviceClass.DISTANCE, UnitOfLength.METERS, 2
    ),
    ParameterType.TEMPERATURE: _parameter(
        "temperature", SensorDeviceClass.TEMPERATURE, UnitOfTemperature.CELSIUS, 1
    ),
    ParameterType.PRESSURE_MPA: _parameter(
        "pressure_mpa",
        SensorDeviceClass.PRESSURE,
        UnitOfPressure.KPA,
        0,
        1000.0,
        translation_key="pressure",
    ),
    ParameterType.PRESSURE_KPA: _parameter(
        "pressure", SensorDeviceClass.PRESSURE, UnitOfPressure.KPA, 1
    ),
    ParameterType.GAS_CONCENTRATION: _parameter("gas_concentration", None, "%LEL", 1),
    ParameterType.TIME: _parameter(
        "elapsed_time", SensorDeviceClass.DURATION, UnitOfTime.SECONDS, 0
    ),
    ParameterType.VOLTAGE: _parameter("voltage", SensorDeviceClass.VOLTAGE, _V, 1),
    ParameterType.CURRENT: _parameter("current", SensorDeviceClass.CURRENT, _A, 1),
    ParameterType.FLOW: _parameter(
        "flow",
        SensorDeviceClass.VOLUME_FLOW_RATE,
        UnitOfVolumeFlowRate.LITERS_PER_SECOND,
        1,
    ),
    ParameterType.AIR_VOLUME: _parameter(
        "air_volume",
        SensorDeviceClass.VOLUME_FLOW_RATE,
        UnitOfVolumeFlowRate.CUBIC_METERS_PER_MINUTE,
        1,
    ),
    ParameterType.WIND_SPEED: _parameter(
        "wind_speed", SensorDeviceClass.WIND_SPEED, UnitOfSpeed.METERS_PER_SECOND, 0
    ),
}


def parameter_description(
    parameter_type: int, unit: str | None
) -> ParameterSensorEntityDescription:
    """Describe a parameter sensor; a type the standard does not list keeps its unit."""
    if (description := PARAMETER_SENSORS.get(parameter_type)) is not None:
        return description
    return ParameterSensorEntityDescription(
        key=f"parameter_{parameter_type}",
        translation_key="parameter",
        native_unit_of_measurement=unit,
        state_class=SensorStateClass.MEASUREMENT,
    )


@dataclass(frozen=True, kw_only=True)
class FirePanelSensorEntityDescription(SensorEntityDescription):
    """Describes a count over a fire panel's components."""

    value_fn: Callable[[FirePanel], int]


FIRE_PANEL_SENSORS: tuple[FirePanelSensorEntityDescription, ...] = (
    FirePanelSensorEntityDescription(
        key="fire_alarms",
        translation_key="components_in_fire_alarm",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda panel: panel.fire_alarms,
    ),
    FirePanelSensorEntityDescription(
        key="faults",
        translation_key="components_with_fault",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda panel: panel.faults,
    ),
    FirePanelSensorEntityDescription(
        key="components",
        translation_key="components",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda panel: len(panel.components),
    ),
)


def async_add_safety_sensors(
    hass: HomeAssistant,
    entry: SmartCommunityConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the meters' sensors, and fire panels' counts and measured values."""
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_POWER_METER):
        meter = entry.runtime_data.meters[subentry.subentry_id]
        async_add_entities(
            (
                MeterSensor(hass, entry, subentry, METER_SENSORS[quantity])
                for quantity in meter.quantities
            ),
            config_subentry_id=subentry.subentry_id,
        )
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_FIRE_PANEL):
        panel = entry.runtime_data.fire_panels[subentry.subentry_id]
        async_add_entities(
            (
                FirePanelSensor(hass, entry, subentry, description)
                for description in FIRE_PANEL_SENSORS
            ),
            config_subentry_id=subentry.subentry_id,
        )
        _follow_parameters(
            entry,
            panel,
            panel_device_id(hass, entry, panel),
            async_add_entities,
            subentry.subentry_id,
        )


def _follow_parameters(
    entry: SmartCommunityConfigEntry,
    panel: FirePanel,
    device_id: str,
    async_add_entities: AddConfigEntryEntitiesCallback,
    subentry_id: str,
) -> None:
    """Add a sensor for each value a component measures, as it first reports it."""

    @callback
    def add_parameters(component_id: str, *parameter_types: int) -> None:
        component = panel.components[component_id]
        async_add_entities(
            (
                FireParameterSensor(panel, device_id, component, parameter_type)
                for parameter_type in parameter_types or component.parameters
            ),
            config_subentry_id=subentry_id,
        )

    for component_id in panel.components:
        add_parameters(component_id)
    entry.async_on_unload(panel.component_added.add(add_parameters))
    entry.async_on_unload(panel.parameter_added.add(add_parameters))


class MeterSensor(MeterEntity, SensorEntity):
    """One quantity a power meter reads."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        description: SensorEntityDescription,
    ) -> None:
        """Create the sensor of one quantity."""
        super().__init__(hass, entry, subentry, description.key)
        self.entity_description = description
        self.quantity = Quantity(description.key)

    @property
    @override
    def available(self) -> bool:
        """Tell whether the last poll read this quantity."""
        return super().available and self.quantity in self.meter.values

    @property
    @override
    def native_value(self) -> float | None:
        """Return the quantity's last reading."""
        return self.meter.values.get(self.quantity)


class FirePanelSensor(FirePanelEntity, SensorEntity):
    """A count over a fire panel's components."""

    entity_description: FirePanelSensorEntityDescription

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        description: FirePanelSensorEntityDescription,
    ) -> None:
        """Create one of the panel's counts."""
        super().__init__(hass, entry, subentry, description.key)
        self.entity_description = description

    @property
    @override
    def native_value(self) -> int:
        """Return the count."""
        return self.entity_description.value_fn(self.panel)


class FireParameterSensor(FireComponentEntity, SensorEntity):
    """A value a fire component measures: a pressure, a tank level, a temperature."""

    entity_description: ParameterSensorEntityDescription

    def __init__(
        self,
        panel: FirePanel,
        device_id: str,
        component: FireComponent,
        parameter_type: int,
    ) -> None:
        """Create the sensor of one parameter type of a component."""
        self.parameter_type = parameter_type
        description = parameter_description(
            parameter_type, component.parameters[parameter_type].unit
        )
        super().__init__(panel, device_id, component, description.key)
        self.entity_description = description
        if description.translation_key == "parameter":
            self._attr_translation_placeholders = {"type": str(parameter_type)}

    @property
    @override
    def native_value(self) -> float | None:
        """Return the last value, in the sensor's unit."""
        if (parameter := self.component.parameters.get(self.parameter_type)) is None:
            return None
        return parameter.value * self.entity_description.factor
