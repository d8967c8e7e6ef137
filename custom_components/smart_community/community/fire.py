"""Fire-alarm transmission devices (GB/T 26875.3) and the components they report.

HA is the monitoring centre: transmission devices dial in, and one ``FireCentre``
per listening port hands each device's frames to its ``FirePanel``. A panel learns
its components as they first report and keeps their last state, description and
measured values; listeners hear about new components, changes and alarms.
"""

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
import logging
from typing import Any, Final

from ..protocols.gb26875 import (
    ApplicationData,
    ChecksumMode,
    ComponentConfiguration,
    ComponentParameter,
    ComponentState,
    ComponentStateFlags,
    Frame,
    Gb26875Server,
    Problem,
    SystemOperation,
    SystemState,
    SystemStateFlags,
    TransmitterOperation,
    TransmitterState,
    TransmitterStateFlags,
    format_address,
)
from .listeners import Listeners

_LOGGER: Final = logging.getLogger(__name__)

# What a component reports that deserves an alarm, in the order events are raised.
_ALARM_STATES: Final = (
    ComponentStateFlags.FIRE_ALARM,
    ComponentStateFlags.FAULT,
    ComponentStateFlags.SUPERVISORY,
)


class ComponentEvent(StrEnum):
    """What happened to a component, as its event entity tells it."""

    FIRE_ALARM = "fire_alarm"
    FAULT = "fault"
    SUPERVISORY = "supervisory"
    # The component left every alarm state it was in.
    RESTORED = "restored"


_EVENT_OF_STATE: Final = {
    ComponentStateFlags.FIRE_ALARM: ComponentEvent.FIRE_ALARM,
    ComponentStateFlags.FAULT: ComponentEvent.FAULT,
    ComponentStateFlags.SUPERVISORY: ComponentEvent.SUPERVISORY,
}


def component_id(system_type: int, system_address: int, component_address: int) -> str:
    """Name a component uniquely within its transmission device."""
    return f"{system_type}-{system_address}-{component_address}"


@dataclass(slots=True)
class ParameterValue:
    """The last value a component measured of one parameter type."""

    value: float
    unit: str | None
    time: datetime | None


@dataclass(frozen=True, slots=True)
class ComponentAlarm:
    """An alarm (or its end) that a component raised."""

    component_id: str
    event: ComponentEvent
    description: str
    # The device's own clock, naive local time; None if it sent no valid time.
    time: datetime | None


@dataclass(slots=True)
class FireComponent:
    """A detector, call point, pump or sensor below a transmission device."""

    component_id: str
    system_type: int
    system_address: int
    component_type: int
    component_address: int
    description: str = ""
    state: ComponentStateFlags = ComponentStateFlags.NORMAL
    # When the component last reported, by the centre's clock (UTC).
    last_report: datetime | None = None
    parameters: dict[int, ParameterValue] = field(default_factory=dict)
    # The alarm it raised when it first reported, for the event entity created then.
    first_alarm: ComponentAlarm | None = None

    @property
    def fire_alarm(self) -> bool:
        """Tell whether the component is in fire alarm."""
        return ComponentStateFlags.FIRE_ALARM in self.state

    @property
    def fault(self) -> bool:
        """Tell whether the component reports a fault."""
        return ComponentStateFlags.FAULT in self.state

    def as_dict(self) -> dict[str, Any]:
        """Return what is saved of the component."""
        return {
            "system_type": self.system_type,
            "system_address": self.system_address,
            "component_type": self.component_type,
            "component_address": self.component_address,
            "description": self.description,
            "state": int(self.state),
            "last_report": _iso(self.last_report),
            "parameters": {
                str(parameter_type): {
                    "value": parameter.value,
                    "unit": parameter.unit,
                    "time": _iso(parameter.time),
                }
                for parameter_type, parameter in self.parameters.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FireComponent:
        """Read a saved component; raise KeyError, TypeError or ValueError if damaged."""
        system_type = int(data["system_type"])
        system_address = int(data["system_address"])
        component_address = int(data["component_address"])
        return cls(
            component_id=component_id(system_type, system_address, component_address),
            system_type=system_type,
            system_address=system_address,
            component_type=int(data["component_type"]),
            component_address=component_address,
            description=_text(data["description"]),
            state=ComponentStateFlags(int(data["state"])),
            last_report=_from_iso(data["last_report"]),
            parameters={
                int(parameter_type): ParameterValue(
                    float(parameter["value"]),
                    None if parameter["unit"] is None else str(parameter["unit"]),
                    _from_iso(parameter["time"]),
                )
                for parameter_type, parameter in data["parameters"].items()
            },
        )


def _iso(moment: datetime | None) -> str | None:
    """Write a time for the store."""
    return None if moment is None else moment.isoformat()


def _text(value: object) -> str:
    """Read a text from the store; anything else means the store is damaged."""
    if not isinstance(value, str):
        raise TypeError(f"expected text, found {value!r}")
    return value


def _from_iso(text: object) -> datetime | None:
    """Read a time from the store."""
    return None if text is None else datetime.fromisoformat(_text(text))


class FirePanel:
    """One transmission device (用户信息传输装置) and its components."""

    def __init__(
        self,
        panel_id: str,
        name: str,
        address: int,
        checksum: ChecksumMode,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Create a panel known by its 6-byte address."""
        self.panel_id = panel_id
        self.name = name
        self.address = address
        self.checksum = checksum
        self._clock = clock
        self.components: dict[str, FireComponent] = {}
        self.transmitter_state: TransmitterStateFlags | None = None
        self.system_states: dict[tuple[int, int], SystemStateFlags] = {}
        self.connected = False
        self.peer: str | None = None
        self.last_frame: datetime | None = None
        self.frames = 0
        # The connection came up or went away: every entity's availability.
        self.connection_listeners = Listeners[()]()
        # Panel-wide state: transmitter and system states, alarm counts.
        self.state_listeners = Listeners[()]()
        self.component_added = Listeners[str]()
        self.parameter_added = Listeners[str, int]()
        # One list per component, so a report wakes only that component's entities.
        self._component_listeners: dict[str, Listeners[()]] = {}
        self.alarms = Listeners[ComponentAlarm]()
        self.operations = Listeners[SystemOperation | TransmitterOperation]()
        # Anything worth saving changed.
        self.changed = Listeners[()]()

    @property
    def fire_alarms(self) -> int:
        """Count the components in fire alarm."""
        return sum(component.fire_alarm for component in self.components.values())

    @property
    def faults(self) -> int:
        """Count the components reporting a fault."""
        return sum(component.fault for component in self.components.values())

    @property
    def fire_alarm(self) -> bool:
        """Tell whether the device or any component reports fire."""
        return (
            self._transmitter_has(TransmitterStateFlags.FIRE_ALARM)
            or any(
                SystemStateFlags.FIRE_ALARM in state
                for state in self.system_states.values()
            )
            or any(component.fire_alarm for component in self.components.values())
        )

    @property
    def main_power_fault(self) -> bool:
        """Tell whether the device or a fire-alarm system lost mains power."""
        return self._transmitter_has(TransmitterStateFlags.MAIN_POWER_FAULT) or any(
            SystemStateFlags.MAIN_POWER_FAULT in state
            for state in self.system_states.values()
        )

    @property
    def backup_power_fault(self) -> bool:
        """Tell whether the device or a fire-alarm system has a backup-power fault."""
        return self._transmitter_has(TransmitterStateFlags.BACKUP_POWER_FAULT) or any(
            SystemStateFlags.BACKUP_POWER_FAULT in state
            for state in self.system_states.values()
        )

    def _transmitter_has(self, flag: TransmitterStateFlags) -> bool:
        """Tell whether the device's own last state has a flag."""
        return self.transmitter_state is not None and flag in self.transmitter_state

    def set_connected(self, connected: bool, peer: str | None = None) -> None:
        """Record that the device's connection came up or went away."""
        if connected == self.connected:
            # A device that redialled before its old connection closed.
            if connected and peer is not None:
                self.peer = peer
            return
        self.connected = connected
        self.peer = peer if connected else None
        if connected:
            _LOGGER.info(
                "Fire transmission device %s (%s) connected from %s",
                self.name,
                format_address(self.address),
                peer,
            )
        else:
            _LOGGER.warning(
                "Fire transmission device %s (%s) disconnected",
                self.name,
                format_address(self.address),
            )
        self.connection_listeners.notify()

    def add_component_listener(
        self, key: str, callback: Callable[[], None]
    ) -> Callable[[], None]:
        """Call back whenever one component reports; return the remover."""
        return self._component_listeners.setdefault(key, Listeners()).add(callback)

    def _component_changed(self, key: str) -> None:
        """Wake the entities of one component."""
        if (listeners := self._component_listeners.get(key)) is not None:
            listeners.notify()

    def receive(self, data: ApplicationData | None) -> None:
        """Apply what one accepted frame reported."""
        self.frames += 1
        self.last_frame = self._clock()
        if data is None:
            return
        panel_changed = False
        for item in data.objects:
            match item:
                case ComponentState():
                    panel_changed |= self._component_state(item)
                case ComponentParameter():
                    # A new component changes the panel's count.
                    panel_changed |= self._component_parameter(item)
                case SystemState():
                    system = (item.system_type, item.system_address)
                    panel_changed |= self.system_states.get(system) != item.state
                    self.system_states[system] = item.state
                case TransmitterState():
                    # Heartbeats repeat the same state; only a change is news.
                    panel_changed |= self.transmitter_state != item.state
                    self.transmitter_state = item.state
                case SystemOperation() | TransmitterOperation():
                    self.operations.notify(item)
                case ComponentConfiguration():
                    self._component_configuration(item)
                case _:
                    # Versions, configuration and clocks change nothing shown.
                    pass
        if panel_changed:
            self.state_listeners.notify()

    def _component(
        self,
        system_type: int,
        system_address: int,
        component_type: int,
        component_address: int,
    ) -> tuple[FireComponent, bool]:
        """Return a component, creating it on its first report; say if it is new."""
        key = component_id(system_type, system_address, component_address)
        if (component := self.components.get(key)) is not None:
            component.component_type = component_type
            return component, False
        component = FireComponent(
            key, system_type, system_address, component_type, component_address
        )
        self.components[key] = component
        return component, True

    def _component_configuration(self, report: ComponentConfiguration) -> None:
        """Take a known component's description from the device's configuration."""
        key = component_id(
            report.system_type, report.system_address, report.component_address
        )
        component = self.components.get(key)
        if component is None or not report.description:
            # Components appear when they report a state or a value, not before.
            return
        component.description = report.description
        self._component_changed(key)
        self.changed.notify()

    def _component_state(self, report: ComponentState) -> bool:
        """Apply a component's state; return whether panel-wide counts changed."""
        component, new = self._component(
            report.system_type,
            report.system_address,
            report.component_type,
            report.component_address,
        )
        before = component.state if not new else ComponentStateFlags.NORMAL
        if report.description:
            component.description = report.description
        component.state = report.state
        component.last_report = self._clock()
        alarms = list(self._alarms(component, before, report.time))
        if new:
            component.first_alarm = alarms[0] if alarms else None
            self.component_added.notify(component.component_id)
        else:
            self._component_changed(component.component_id)
        for alarm in alarms:
            self.alarms.notify(alarm)
        self.changed.notify()
        return new or before != component.state

    def _alarms(
        self,
        component: FireComponent,
        before: ComponentStateFlags,
        time: datetime | None,
    ) -> list[ComponentAlarm]:
        """List the alarms a state change raises, and the all-clear if it ended them."""
        now = component.state
        raised = [
            ComponentAlarm(
                component.component_id,
                _EVENT_OF_STATE[flag],
                component.description,
                time,
            )
            for flag in _ALARM_STATES
            if flag in now and flag not in before
        ]
        was_alarmed = any(flag in before for flag in _ALARM_STATES)
        if was_alarmed and not any(flag in now for flag in _ALARM_STATES):
            raised.append(
                ComponentAlarm(
                    component.component_id,
                    ComponentEvent.RESTORED,
                    component.description,
                    time,
                )
            )
        return raised

    def _component_parameter(self, report: ComponentParameter) -> bool:
        """Record a measured value; return whether it created the component."""
        component, new = self._component(
            report.system_type,
            report.system_address,
            report.component_type,
            report.component_address,
        )
        component.last_report = self._clock()
        known = report.parameter_type in component.parameters
        component.parameters[report.parameter_type] = ParameterValue(
            report.value, report.unit, report.time
        )
        if new:
            self.component_added.notify(component.component_id)
        elif not known:
            self.parameter_added.notify(component.component_id, report.parameter_type)
        else:
            self._component_changed(component.component_id)
        self.changed.notify()
        return new

    def remove_component(self, key: str) -> bool:
        """Forget a component; it comes back if it reports again."""
        if self.components.pop(key, None) is None:
            return False
        self._component_listeners.pop(key, None)
        self.changed.notify()
        self.state_listeners.notify()
        return True

    def as_dict(self) -> dict[str, Any]:
        """Return what is saved of the panel: its components."""
        return {key: component.as_dict() for key, component in self.components.items()}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back the components saved before a restart; skip damaged ones."""
        for key, saved in data.items():
            try:
                component = FireComponent.from_dict(saved)
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                _LOGGER.warning(
                    "Fire panel %s: a saved component %s is damaged and was "
                    "dropped (%s); it returns when it next reports",
                    self.name,
                    key,
                    error,
                )
                continue
            self.components[component.component_id] = component


class FireCentre:
    """The monitoring centre's side of one listening port: frames to panels."""

    def __init__(self, port: int) -> None:
        """Serve the panels configured on ``port``."""
        self.port = port
        self.panels: dict[int, FirePanel] = {}
        # Set once the centre listens; None if the port could not be opened.
        self.server: Gb26875Server | None = None
        self.problems: Counter[Problem] = Counter()
        self.last_problem: str | None = None
        # Each problem is logged once per sender, then only counted.
        self._logged: set[tuple[Problem, str]] = set()

    def add(self, panel: FirePanel) -> None:
        """Serve a panel on this port."""
        self.panels[panel.address] = panel

    def checksum_mode(self, address: int) -> ChecksumMode | None:
        """Return the checksum a configured device uses; None if it is unknown."""
        panel = self.panels.get(address)
        return None if panel is None else panel.checksum

    def frame_received(
        self, address: int, frame: Frame, data: ApplicationData | None
    ) -> None:
        """Hand an accepted frame to its panel."""
        self.panels[address].receive(data)

    def connection_changed(self, address: int, connected: bool, peer: str) -> None:
        """Tell a panel its connection came up or went away."""
        if (panel := self.panels.get(address)) is not None:
            panel.set_connected(connected, peer)

    def problem(
        self, problem: Problem, peer: str, address: int | None, detail: str
    ) -> None:
        """Count a rejected frame or connection; log it once per sender."""
        self.problems[problem] += 1
        # A device that reconnects comes from a new port each time; its address
        # (or else its host) is what stays the same.
        sender = peer.rsplit(":", 1)[0] if address is None else format_address(address)
        self.last_problem = f"{problem}: {detail}"
        if (problem, sender) in self._logged:
            _LOGGER.debug("Fire centre port %s: %s from %s", self.port, detail, sender)
            return
        self._logged.add((problem, sender))
        if problem is Problem.UNKNOWN_TRANSMITTER:
            _LOGGER.warning(
                "Fire centre port %s: transmission device %s (from %s) is not "
                "configured; add a fire panel with this address to accept it",
                self.port,
                sender,
                peer,
            )
            return
        _LOGGER.warning(
            "Fire centre port %s: %s from %s (%s); further ones are only counted",
            self.port,
            problem,
            sender,
            detail,
        )
