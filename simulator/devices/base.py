"""Define what a simulated device is and where device kinds register their class."""

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from simulator.jsonvalue import JSONObject, JSONValue
from simulator.kinds import DeviceKind
from simulator.scenario import Building, DeviceSpec, Scenario


class ActionError(Exception):
    """Reject a control-API action; the control server answers with ``status``."""

    status: int = 400


class UnknownActionError(ActionError):
    """Say that a device has no action of this name."""

    status = 404

    def __init__(self, device_id: str, action: str) -> None:
        """Name the device and the action it does not know."""
        self.device_id = device_id
        self.action = action
        super().__init__(f"device {device_id!r} has no action {action!r}")


@dataclass(frozen=True, slots=True)
class PortInfo:
    """Say where a started device listens and what it speaks there."""

    host: str | None
    # None: the device listens nowhere (a placeholder, or a device that dials out).
    port: int | None
    # Short protocol name for people and tests, e.g. "isapi-http" or "modbus-tcp".
    protocol: str | None = None
    # More endpoints or facts added to the device's description (e.g. "rtsp_url");
    # keys the description already has ("id", "port", ...) are ignored.
    extra: Mapping[str, JSONValue] = field(default_factory=dict)


class SimulatedDevice(ABC):
    """Play one device of the community; subclass it per device kind.

    The community calls ``start`` once, stores the returned ``PortInfo`` in
    ``endpoint``, answers control-API requests with ``snapshot`` and
    ``handle_action``, and calls ``stop`` once at shutdown.
    """

    # False only for stand-ins that speak no protocol.
    implemented: ClassVar[bool] = True

    def __init__(self, spec: DeviceSpec, scenario: Scenario) -> None:
        """Keep the device's declaration and the scenario it belongs to."""
        self.spec = spec
        self.scenario = scenario
        self.endpoint: PortInfo | None = None
        self._option_error: ValueError | None = None

    def read_options[Options](
        self, read: Callable[[], Options], fallback: Callable[[], Options]
    ) -> Options:
        """Read the device's options, or the fallback if they are bad.

        A bad option's error waits for ``raise_option_error`` in ``start``, so the
        community reports it against this device instead of failing to build it.
        """
        try:
            return read()
        except ValueError as error:
            self._option_error = error
            return fallback()

    def raise_option_error(self) -> None:
        """Raise the error of a bad option, if ``read_options`` met one."""
        if self._option_error is not None:
            raise self._option_error

    @property
    def id(self) -> str:
        """Return the device's scenario id."""
        return self.spec.id

    @property
    def kind(self) -> DeviceKind:
        """Return the device's kind."""
        return self.spec.kind

    @property
    def building(self) -> Building | None:
        """Return the building the device belongs to, or None for site-wide devices."""
        if self.spec.building is None:
            return None
        return self.scenario.building(self.spec.building)

    @property
    def running(self) -> bool:
        """Say whether the device has started and not yet stopped."""
        return self.endpoint is not None

    @abstractmethod
    async def start(self, host: str) -> PortInfo:
        """Start serving on ``host`` (port ``spec.port``, 0 = any free) and say where."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop serving and release every socket and task."""

    def describe(self) -> JSONObject:
        """Return the device's public description, as listed in the scenario JSON."""
        endpoint = self.endpoint
        description: JSONObject = {
            "id": self.spec.id,
            "kind": str(self.spec.kind),
            "building": self.spec.building,
            "name": self.spec.name,
            "implemented": self.implemented,
            "host": endpoint.host if endpoint else None,
            "port": endpoint.port if endpoint else None,
            "protocol": endpoint.protocol if endpoint else None,
            "options": dict(self.spec.options),
        }
        if endpoint is not None:
            # Extras add facts; they cannot rename or relocate the device.
            description |= {
                key: value
                for key, value in endpoint.extra.items()
                if key not in description
            }
        return description

    def state(self) -> JSONObject:
        """Return the device-specific live state; override in each kind."""
        return {}

    def snapshot(self) -> JSONObject:
        """Return the description plus live state (``GET /devices/{id}``)."""
        return {**self.describe(), "running": self.running, "state": self.state()}

    async def handle_action(self, action: str, params: JSONObject) -> JSONObject:
        """Perform a control-API action; raise ``UnknownActionError`` if unsupported."""
        raise UnknownActionError(self.spec.id, action)


# One implementation per kind; kinds missing here are played by PlaceholderDevice.
DEVICE_KINDS: dict[DeviceKind, type[SimulatedDevice]] = {}


def register_kind[DeviceClass: type[SimulatedDevice]](
    kind: DeviceKind,
) -> Callable[[DeviceClass], DeviceClass]:
    """Register the decorated class as the implementation of ``kind``."""

    def register(device_class: DeviceClass) -> DeviceClass:
        """Add ``device_class`` to ``DEVICE_KINDS``, refusing a second claim."""
        if (
            existing := DEVICE_KINDS.get(kind)
        ) is not None and existing is not device_class:
            raise ValueError(
                f"device kind {kind!r} is already implemented by "
                f"{existing.__module__}.{existing.__qualname__}"
            )
        DEVICE_KINDS[kind] = device_class
        return device_class

    return register
