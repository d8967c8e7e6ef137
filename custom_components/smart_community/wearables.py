"""Residents' BLE wearables through Home Assistant's bluetooth integration.

A tag seen (by address, or by iBeacon identity for tags that rotate their
address) counts as activity; a BTHome button press is a call for help. Home
Assistant's bluetooth integration does the scanning, on local adapters and
ESPHome proxies alike; this module only reads the advertisements it passes on.
"""

from collections.abc import Callable
from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .community.activity import Activity, ActivityLog, ActivitySource, Sos
from .const import DOMAIN, LOGGER
from .protocols.ble import (
    BTHOME_SERVICE_UUID,
    BleFormatError,
    ButtonEvent,
    parse_bthome,
    parse_ibeacon,
)
from .runtime import SmartCommunityConfigEntry

ISSUE_BLUETOOTH_MISSING: Final = "wearables_bluetooth_missing"
# A press without a packet ID is sent several times; repeats within this are one.
PRESS_REPEAT_SECONDS: Final = 2.0


async def async_start_wearables(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry, log: ActivityLog
) -> None:
    """Listen to advertisements while any resident has a tag or button linked."""
    listening: list[Callable[[], None]] = []
    issue_id = f"{ISSUE_BLUETOOTH_MISSING}_{entry.entry_id}"
    reader = AdvertisementReader(log)

    @callback
    def links_changed() -> None:
        wanted = any(
            links.ble_tag or links.ble_button for links in log.all_links().values()
        )
        if not wanted:
            stop()
            ir.async_delete_issue(hass, DOMAIN, issue_id)
            return
        if listening:
            return
        if "bluetooth" not in hass.config.components:
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_BLUETOOTH_MISSING,
            )
            return
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        # Imported here: the bluetooth integration is only needed for wearables.
        from homeassistant.components import bluetooth

        @callback
        def advertisement(
            service_info: bluetooth.BluetoothServiceInfoBleak,
            _change: bluetooth.BluetoothChange,
        ) -> None:
            reader.read(
                service_info.address,
                service_info.manufacturer_data,
                service_info.service_data,
            )

        # Tags and buttons advertise without accepting connections; a matcher
        # left at its default would only pass connectable devices on.
        listening.append(
            bluetooth.async_register_callback(
                hass,
                advertisement,
                bluetooth.BluetoothCallbackMatcher(connectable=False),
                bluetooth.BluetoothScanningMode.PASSIVE,
            )
        )

    @callback
    def stop() -> None:
        while listening:
            listening.pop()()

    links_changed()
    entry.async_on_unload(log.add_links_listener(links_changed))
    entry.async_on_unload(stop)


class AdvertisementReader:
    """Turn advertisements into activity and calls for help."""

    def __init__(self, log: ActivityLog) -> None:
        """Record into a community's activity log."""
        self._log = log
        # Per button: the last packet ID, or the time of the last press without one.
        self._last_packet: dict[str, int] = {}
        self._last_press: dict[str, float] = {}
        self._complained: set[str] = set()

    def read(
        self,
        address: str,
        manufacturer_data: dict[int, bytes],
        service_data: dict[str, bytes],
    ) -> None:
        """Read one advertisement."""
        address = address.upper()
        now = dt_util.utcnow()
        if (resident_id := self._log.resident_for_tag(address)) is not None:
            self._log.record(
                resident_id, Activity(now, ActivitySource.BLE_TAG, address)
            )
        try:
            beacon = parse_ibeacon(manufacturer_data)
        except BleFormatError as err:
            # Any phone nearby may send Apple data; only linked devices are worth a warning.
            LOGGER.debug("Not an iBeacon from %s: %s", address, err)
            beacon = None
        if beacon is not None and (
            resident_id := self._log.resident_for_tag(beacon.identity)
        ):
            self._log.record(
                resident_id, Activity(now, ActivitySource.BLE_TAG, beacon.identity)
            )
        if (resident_id := self._log.resident_for_button(address)) is None:
            return
        if (data := service_data.get(BTHOME_SERVICE_UUID)) is None:
            return
        try:
            packet = parse_bthome(data)
        except BleFormatError as err:
            self._complain(address, err)
            return
        presses = [press for press in packet.buttons if press is not ButtonEvent.NONE]
        if not presses or self._repeated(address, packet.packet_id, now.timestamp()):
            return
        self._log.call_for_help(
            resident_id,
            Sos(at=now, source=f"ble_button:{address}", press=presses[0].name.lower()),
        )

    def _repeated(self, address: str, packet_id: int | None, now: float) -> bool:
        """Tell whether this press was already passed on."""
        if packet_id is not None:
            if self._last_packet.get(address) == packet_id:
                return True
            self._last_packet[address] = packet_id
            return False
        last = self._last_press.get(address)
        self._last_press[address] = now
        return last is not None and now - last < PRESS_REPEAT_SECONDS

    def _complain(self, address: str, err: BleFormatError) -> None:
        """Log a device's unreadable advertisements once."""
        if address in self._complained:
            return
        self._complained.add(address)
        LOGGER.warning("Cannot read the advertisements of %s: %s", address, err)
