"""Device kinds of the simulator, one module per kind.

To add a kind, drop ``simulator/devices/<kind>.py`` in with a subclass of
``SimulatedDevice`` decorated with ``@register_kind(DeviceKind.<KIND>)``; the module
is found and imported by ``load_device_kinds``, nothing else needs editing. Kinds with
no module are played by ``PlaceholderDevice``.
"""

import importlib
import pkgutil
from typing import Final

from simulator.devices.base import (
    DEVICE_KINDS,
    ActionError,
    PortInfo,
    SimulatedDevice,
    UnknownActionError,
    register_kind,
)
from simulator.devices.placeholder import PlaceholderDevice
from simulator.kinds import DeviceKind

__all__ = [
    "DEVICE_KINDS",
    "ActionError",
    "PlaceholderDevice",
    "PortInfo",
    "SimulatedDevice",
    "UnknownActionError",
    "device_class_for",
    "load_device_kinds",
    "register_kind",
]

# Modules of this package that are infrastructure, not device kinds.
_INFRASTRUCTURE_MODULES: Final = frozenset({"base", "placeholder"})


def load_device_kinds() -> dict[DeviceKind, type[SimulatedDevice]]:
    """Import every device-kind module so each registers itself; return the registry."""
    for module in pkgutil.iter_modules(__path__):
        # A kind is a module; sub-packages hold protocol pieces kinds share.
        if (
            module.ispkg
            or module.name in _INFRASTRUCTURE_MODULES
            or module.name.startswith("_")
        ):
            continue
        importlib.import_module(f"{__name__}.{module.name}")
    return DEVICE_KINDS


def device_class_for(kind: DeviceKind) -> type[SimulatedDevice]:
    """Return the class that plays ``kind``: its implementation, or the placeholder."""
    return DEVICE_KINDS.get(kind, PlaceholderDevice)
