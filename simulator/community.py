"""Run every device of a scenario and describe the running community."""

import asyncio
import logging
from typing import Final

from simulator.devices import SimulatedDevice, device_class_for, load_device_kinds
from simulator.jsonvalue import JSONObject
from simulator.scenario import Scenario

_LOGGER: Final = logging.getLogger(__name__)

# Binding a few sockets takes milliseconds; a device that takes this long is stuck.
DEVICE_START_TIMEOUT: Final = 10.0
DEVICE_STOP_TIMEOUT: Final = 5.0


class DeviceStartError(Exception):
    """Report that a device could not start, naming it."""

    def __init__(self, device: SimulatedDevice, reason: str) -> None:
        """Name the device and say why it failed."""
        self.device_id = device.id
        super().__init__(
            f"device {device.id!r} ({device.kind}) could not start: {reason}"
        )


class SimulatedCommunity:
    """Own the scenario's devices: create, start, look up, describe and stop them."""

    def __init__(self, scenario: Scenario, host: str) -> None:
        """Create one device object per declared device, using each kind's class."""
        load_device_kinds()
        self.scenario = scenario
        self.host = host
        self.devices: dict[str, SimulatedDevice] = {
            spec.id: device_class_for(spec.kind)(spec, scenario)
            for spec in scenario.devices
        }

    async def start(self) -> None:
        """Start every device in scenario order; on a failure stop those started."""
        for device in self.devices.values():
            try:
                async with asyncio.timeout(DEVICE_START_TIMEOUT):
                    device.endpoint = await device.start(self.host)
            except TimeoutError:
                await self.stop()
                raise DeviceStartError(
                    device, f"no answer within {DEVICE_START_TIMEOUT:g} s"
                ) from None
            except Exception as error:
                await self.stop()
                raise DeviceStartError(
                    device, f"{type(error).__name__}: {error}"
                ) from error

    async def stop(self) -> list[str]:
        """Stop every running device concurrently; return the ids that failed to stop."""
        running = [device for device in self.devices.values() if device.running]
        outcomes = await asyncio.gather(
            *(self._stop_device(device) for device in running), return_exceptions=True
        )
        failed: list[str] = []
        for device, outcome in zip(running, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                _LOGGER.error(
                    "Device %s did not stop cleanly", device.id, exc_info=outcome
                )
                failed.append(device.id)
        return failed

    async def _stop_device(self, device: SimulatedDevice) -> None:
        """Stop one device within the time limit; it counts as stopped either way."""
        try:
            async with asyncio.timeout(DEVICE_STOP_TIMEOUT):
                await device.stop()
        finally:
            device.endpoint = None

    def describe(self, control_url: str) -> JSONObject:
        """Return the scenario JSON: community, buildings, devices and control URL."""
        return {
            "scenario": self.scenario.name,
            "scenario_file": str(self.scenario.source.resolve()),
            "control_url": control_url,
            "community": self.scenario.community.to_json(),
            "buildings": [building.to_json() for building in self.scenario.buildings],
            "devices": [device.describe() for device in self.devices.values()],
        }
