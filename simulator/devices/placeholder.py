"""Stand in for device kinds that have no simulation yet."""

from typing import override

from simulator.devices.base import PortInfo, SimulatedDevice


class PlaceholderDevice(SimulatedDevice):
    """List a declared device whose kind is not simulated yet; it opens no port."""

    # It must not look like a device that speaks the protocol.
    implemented = False

    @override
    async def start(self, host: str) -> PortInfo:
        """Open nothing: there is no protocol to speak yet."""
        return PortInfo(host=None, port=None)

    @override
    async def stop(self) -> None:
        """Release nothing: nothing was opened."""
