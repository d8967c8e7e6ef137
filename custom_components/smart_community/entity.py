"""Base entities of the Smart Community integration."""

from typing import Any, Final, Unpack, override

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from .charging import charging_centre_of, port_device_identifier
from .community.charging import ChargingPort, ChargingStation
from .community.community import Community
from .community.fire import FireComponent, FirePanel
from .community.gates import GateLane
from .community.meters import PowerMeter
from .community.parking import ParkingLot
from .community.terminals import TerminalHub
from .const import DOMAIN
from .fire import fire_component_device_id
from .protocols.gb26875 import component_type_key, format_address
from .runtime import SmartCommunityConfigEntry, building_from_subentry

# Until the camera says its device name.
LANE_MODEL: Final = "LPR camera (HTTP push)"


def community_device_id(hass: HomeAssistant, entry: SmartCommunityConfigEntry) -> str:
    """Return the device ID of the community, which buildings and devices hang below."""
    return dr.async_get_device_id_by_identifier(
        hass, (DOMAIN, entry.entry_id), config_entry_id=entry.entry_id
    )


class PushedEntity(Entity):
    """An entity that is told about changes and never polls."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    @callback
    def _async_record_identity(self, serial_number: str, **details: Any) -> None:
        """Write what a device said about itself to its registry entry, once."""
        if self.device_entry is None:
            return
        registry = dr.async_get(self.hass)
        device = registry.async_get(self.device_entry.id)
        if isinstance(device, dr.DeviceEntry) and device.serial_number != serial_number:
            registry.async_update_device(
                device.id, serial_number=serial_number, **details
            )


class SmartCommunityEntity(PushedEntity):
    """An entity of the community itself."""

    def __init__(self, entry: SmartCommunityConfigEntry, key: str) -> None:
        """Attach the entity to the community's own device."""
        self.community: Community = entry.runtime_data
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            entry_type=DeviceEntryType.SERVICE,
        )


class SubentryEntity(PushedEntity):
    """An entity of a subentry's device, which hangs below the community's."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        key: str,
        **device: Unpack[DeviceInfo],
    ) -> None:
        """Attach the entity to its subentry's device; device adds DeviceInfo fields."""
        self._attr_unique_id = f"{subentry.subentry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            via_device_id=community_device_id(hass, entry),
            **device,
        )


class BuildingEntity(SubentryEntity):
    """An entity of one building of a community."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        key: str,
    ) -> None:
        """Attach the entity to its building's device."""
        super().__init__(hass, entry, subentry, key, entry_type=DeviceEntryType.SERVICE)
        self.community: Community = entry.runtime_data
        self.building_id = building_from_subentry(subentry).building_id


class TerminalEntity(SubentryEntity):
    """An entity of a face terminal; available while its event stream is up."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        key: str,
    ) -> None:
        """Attach the entity to its terminal's device."""
        self.hub: TerminalHub = entry.runtime_data.terminals[subentry.subentry_id]
        super().__init__(
            hass,
            entry,
            subentry,
            key,
            manufacturer="Hikvision",
            configuration_url=str(self.hub.client.base_url),
        )

    @property
    @override
    def available(self) -> bool:
        """Tell whether the terminal's event stream is up."""
        return self.hub.available

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the terminal's state."""
        self.async_on_remove(self.hub.add_state_listener(self._async_hub_changed))
        self._async_update_device()

    @callback
    def _async_hub_changed(self) -> None:
        """Show what the terminal reported."""
        self._async_update_device()
        self.async_write_ha_state()

    @callback
    def _async_update_device(self) -> None:
        """Record the terminal's model and firmware once it has said them."""
        if (info := self.hub.device_info) is not None:
            self._async_record_identity(
                info.serial_number,
                model=info.model,
                sw_version=info.firmware_version,
                merge_connections={(dr.CONNECTION_NETWORK_MAC, info.mac_address)},
            )


class LaneEntity(SubentryEntity):
    """An entity of a gate lane; available while its camera keeps in touch."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        key: str,
    ) -> None:
        """Attach the entity to its lane's device."""
        super().__init__(hass, entry, subentry, key, model=LANE_MODEL)
        self.lane: GateLane = entry.runtime_data.lanes[subentry.subentry_id]

    @property
    @override
    def available(self) -> bool:
        """Tell whether the lane's camera spoke recently."""
        return self.lane.connected

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the lane's state."""
        self.async_on_remove(self.lane.add_state_listener(self._async_lane_changed))

    @callback
    def _async_lane_changed(self) -> None:
        """Show the lane's new state."""
        self._async_update_device()
        self.async_write_ha_state()

    @callback
    def _async_update_device(self) -> None:
        """Record the camera's serial number and name once it has said them."""
        camera = self.lane.camera
        if camera is not None and camera.serial_number is not None:
            self._async_record_identity(
                camera.serial_number, model=camera.device_name or LANE_MODEL
            )


class ParkingLotEntity(SubentryEntity):
    """An entity of a car park."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        key: str,
    ) -> None:
        """Attach the entity to its car park's device."""
        super().__init__(hass, entry, subentry, key, entry_type=DeviceEntryType.SERVICE)
        self.lot: ParkingLot = entry.runtime_data.parking_lots[subentry.subentry_id]

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the car park's count."""
        self.async_on_remove(self.lot.add_listener(self.async_write_ha_state))


class MeterEntity(SubentryEntity):
    """An entity of a power meter; available while its last poll succeeded."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        key: str,
    ) -> None:
        """Attach the entity to its meter's device."""
        self.meter: PowerMeter = entry.runtime_data.meters[subentry.subentry_id]
        super().__init__(
            hass, entry, subentry, key, model=self.meter.register_map.name.upper()
        )

    @property
    @override
    def available(self) -> bool:
        """Tell whether the meter answered its last poll."""
        return self.meter.available

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the meter's polls."""
        self.async_on_remove(self.meter.listeners.add(self.async_write_ha_state))


class FirePanelEntity(SubentryEntity):
    """An entity of a fire-alarm transmission device itself."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        key: str,
    ) -> None:
        """Attach the entity to the transmission device's device."""
        self.panel: FirePanel = entry.runtime_data.fire_panels[subentry.subentry_id]
        super().__init__(
            hass,
            entry,
            subentry,
            key,
            model="GB/T 26875.3 transmission device",
            serial_number=format_address(self.panel.address),
        )

    @property
    @override
    def available(self) -> bool:
        """Tell whether the device is connected."""
        return self.panel.connected

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the device's connection and state."""
        self.async_on_remove(
            self.panel.connection_listeners.add(self.async_write_ha_state)
        )
        self.async_on_remove(self.panel.state_listeners.add(self.async_write_ha_state))


def panel_device_id(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry, panel: FirePanel
) -> str:
    """Return the registry ID of a panel's device, which components hang below."""
    return dr.async_get_device_id_by_identifier(
        hass, (DOMAIN, panel.panel_id), config_entry_id=entry.entry_id
    )


class FireComponentEntity(PushedEntity):
    """An entity of a component reported by a fire panel; a device of its own."""

    def __init__(
        self,
        panel: FirePanel,
        panel_device: str,
        component: FireComponent,
        key: str,
    ) -> None:
        """Attach the entity to the component's device, below its panel's."""
        self.panel = panel
        self.component = component
        device_id = fire_component_device_id(panel, component)
        self._attr_unique_id = f"{device_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, device_id)},
            name=component.description or f"{panel.name} {component.component_id}",
            model=component_type_key(component.component_type)
            .replace("_", " ")
            .capitalize(),
            model_id=str(component.component_type),
            serial_number=component.component_id,
            via_device_id=panel_device,
        )

    @property
    @override
    def available(self) -> bool:
        """Tell whether the component's panel is connected."""
        return self.panel.connected

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the component's reports and the panel's connection."""
        self.async_on_remove(
            self.panel.connection_listeners.add(self.async_write_ha_state)
        )
        self.async_on_remove(
            self.panel.add_component_listener(
                self.component.component_id, self.async_write_ha_state
            )
        )


class ChargingStationEntity(SubentryEntity):
    """An entity of a charging station as a whole; available while it is connected."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartCommunityConfigEntry,
        subentry: ConfigSubentry,
        key: str,
    ) -> None:
        """Attach the entity to the station's device."""
        self.centre = charging_centre_of(entry)
        self.station: ChargingStation = self.centre.stations[subentry.subentry_id]
        super().__init__(hass, entry, subentry, key, model="OCPP 1.6J charge point")

    @property
    @override
    def available(self) -> bool:
        """Tell whether the station is connected."""
        return self.station.connected

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the station, and write down what it says about itself."""
        self.async_on_remove(self.station.listeners.add(self._async_station_changed))
        self._async_station_changed()

    @callback
    def _async_station_changed(self) -> None:
        """Write the state and the station's identity once it has booted."""
        if (boot := self.station.boot) is not None:
            self._async_record_identity(
                boot.serial_number or self.station.charge_point_id,
                manufacturer=boot.vendor,
                model=boot.model,
                sw_version=boot.firmware_version,
            )
        self.async_write_ha_state()


class ChargingPortEntity(PushedEntity):
    """An entity of one port of a charging station; a device below the station's."""

    def __init__(
        self,
        entry: SmartCommunityConfigEntry,
        station: ChargingStation,
        station_device: str,
        port: ChargingPort,
        key: str,
    ) -> None:
        """Attach the entity to the port's device."""
        self.centre = charging_centre_of(entry)
        self.station = station
        self.port = port
        device_id = port_device_identifier(station, port.number)
        self._attr_unique_id = f"{device_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, device_id)},
            translation_key="charging_port",
            translation_placeholders={
                "station": station.name,
                "port": str(port.number),
            },
            model="Charging port",
            serial_number=f"{station.charge_point_id}/{port.number}",
            via_device_id=station_device,
        )

    @property
    @override
    def available(self) -> bool:
        """Tell whether the port's station is connected."""
        return self.station.connected

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the port (the station tells every port when it comes and goes)."""
        self.async_on_remove(self.port.listeners.add(self.async_write_ha_state))


def station_device_id(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry, station: ChargingStation
) -> str:
    """Return the registry ID of a station's device, which ports hang below."""
    return dr.async_get_device_id_by_identifier(
        hass, (DOMAIN, station.station_id), config_entry_id=entry.entry_id
    )
