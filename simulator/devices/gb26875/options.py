"""Read a fire panel's scenario options and action parameters."""

from dataclasses import dataclass, replace
from typing import Final, Self

from simulator.devices.gb26875.components import (
    Component,
    default_components,
    generated_detectors,
)
from simulator.devices.gb26875.frame import ChecksumMode, parse_address
from simulator.devices.gb26875.objects import (
    DESCRIPTION_ENCODING,
    DESCRIPTION_SIZE,
    MAX_COMPONENT_ADDRESS,
    ParameterType,
    raw_parameter,
)
from simulator.devices.named_options import NamedOptionReader
from simulator.jsonvalue import JSONValue
from simulator.scenario import DeviceSpec, Scenario

STANDARD: Final = "GB/T 26875.3"
MAX_CONTROLLERS: Final = 255
MAX_GENERATED: Final = 20_000
MAX_RETRIES: Final = 10
MAX_WINDOW: Final = 16


@dataclass(frozen=True, slots=True)
class FirePanelOptions:
    """Hold a fire panel's scenario options, validated, with their defaults."""

    transmitter_address: int = 1
    centre_address: int = 0
    checksum: ChecksumMode = ChecksumMode.SUM
    controllers: int = 1
    heartbeat_seconds: float = 30.0
    ack_timeout_seconds: float = 5.0
    retries: int = 3
    # Frames written but not yet acknowledged at most (1: stop-and-wait).
    window: int = 1
    split_frames: bool = False
    reconnect_min_seconds: float = 1.0
    reconnect_max_seconds: float = 30.0
    # How often pressures and levels drift a little; 0 keeps them still.
    drift_seconds: float = 60.0
    components: tuple[Component, ...] = ()

    @classmethod
    def from_spec(cls, spec: DeviceSpec, scenario: Scenario) -> Self:
        """Read and check the options of ``spec``; raise ``ValueError`` if bad."""
        reader = FireReader(spec.id, spec.options)
        defaults = cls()
        reader.choice("standard", STANDARD, [STANDARD])
        controllers = reader.integer(
            "controllers", defaults.controllers, minimum=1, maximum=MAX_CONTROLLERS
        )
        options = cls(
            transmitter_address=reader.address("transmitter_address", "000000000001"),
            centre_address=reader.address("centre_address", "000000000000"),
            checksum=reader.checksum("checksum", defaults.checksum),
            controllers=controllers,
            heartbeat_seconds=reader.seconds(
                "heartbeat_seconds", defaults.heartbeat_seconds, minimum=0.05
            ),
            ack_timeout_seconds=reader.seconds(
                "ack_timeout_seconds", defaults.ack_timeout_seconds, minimum=0.01
            ),
            retries=reader.integer(
                "retries", defaults.retries, minimum=0, maximum=MAX_RETRIES
            ),
            window=reader.integer(
                "window", defaults.window, minimum=1, maximum=MAX_WINDOW
            ),
            split_frames=reader.flag("split_frames", defaults.split_frames),
            reconnect_min_seconds=reader.seconds(
                "reconnect_min_seconds", defaults.reconnect_min_seconds, minimum=0.01
            ),
            reconnect_max_seconds=reader.seconds(
                "reconnect_max_seconds", defaults.reconnect_max_seconds, minimum=0.01
            ),
            drift_seconds=reader.seconds(
                "drift_seconds", defaults.drift_seconds, minimum=0.0
            ),
            components=reader.components(scenario, controllers),
        )
        reader.reject_unknown()
        if options.reconnect_max_seconds < options.reconnect_min_seconds:
            raise ValueError(
                f"option 'reconnect_max_seconds' of {spec.id} must not be below "
                "'reconnect_min_seconds'"
            )
        return options


class FireReader(NamedOptionReader):
    """Read fire-panel options (or action parameters), naming the bad one."""

    def flag(self, key: str, default: bool) -> bool:
        """Return a boolean."""
        self.read.add(key)
        value = self.options.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def optional_flag(self, key: str) -> bool | None:
        """Return a boolean, or None when absent."""
        if key not in self.options:
            self.read.add(key)
            return None
        return self.flag(key, default=False)

    def number(self, key: str) -> float:
        """Return a required number."""
        value = self.required(key, "a number")
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._fail(key, "a number")
        return float(value)

    def address(self, key: str, default: str) -> int:
        """Return a 6-byte address written as 12 hex digits."""
        text = self.text(key, default)
        try:
            return parse_address(text)
        except ValueError:
            raise self._fail(key, "12 hex digits, like '000000000001'") from None

    def checksum(self, key: str, default: ChecksumMode) -> ChecksumMode:
        """Return the checksum mode."""
        return ChecksumMode(self.choice(key, default, list(ChecksumMode)))

    def component_address(self, key: str) -> int:
        """Return a required component address (u32)."""
        value = self.required(key, "a component address")
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not 0 <= value <= MAX_COMPONENT_ADDRESS
        ):
            raise self._fail(key, f"an integer 0..{MAX_COMPONENT_ADDRESS}")
        return value

    def components(self, scenario: Scenario, controllers: int) -> tuple[Component, ...]:
        """Return the explicit components, the generated detectors or the defaults."""
        self.read.update({"components", "generate_components"})
        listed = self.options.get("components")
        count = self.options.get("generate_components")
        if listed is not None and count is not None:
            raise ValueError(
                f"options 'components' and 'generate_components' of "
                f"{self.device_id} exclude each other"
            )
        if count is not None:
            number = self.integer(
                "generate_components", 1, minimum=1, maximum=MAX_GENERATED
            )
            try:
                made = generated_detectors(scenario.buildings, number, controllers)
            except ValueError as error:
                raise self._fail("generate_components", str(error)) from None
            return tuple(made)
        if listed is None:
            return tuple(default_components(scenario.buildings, controllers))
        if not isinstance(listed, list) or not listed:
            raise self._fail("components", "a non-empty list of component objects")
        made = [self._component(index, item) for index, item in enumerate(listed)]
        seen: set[int] = set()
        for component in made:
            if component.address in seen:
                raise ValueError(
                    f"option 'components' of {self.device_id} lists address "
                    f"{component.address} twice"
                )
            seen.add(component.address)
        return tuple(made)

    def _component(self, index: int, item: JSONValue) -> Component:
        """Read one entry of the ``components`` option."""
        where = f"components[{index}]"
        if isinstance(item, dict):
            return self._component_from(
                FireReader(f"{self.device_id} {where}", item, noun="key")
            )
        raise ValueError(
            f"option {where!r} of {self.device_id} must be an object like "
            "{'address': 10201, 'description': '1号楼2层走廊烟感'}"
        )

    @staticmethod
    def _component_from(nested: FireReader) -> Component:
        """Read one component object."""
        address = nested.component_address("address")
        nested.required("description", "a name of at most 31 bytes of GB18030")
        description = nested.text("description", "")
        if len(description.encode(DESCRIPTION_ENCODING)) > DESCRIPTION_SIZE:
            raise nested.fail(
                "description", f"at most {DESCRIPTION_SIZE} bytes of GB18030"
            )
        component = Component(
            address=address,
            description=description,
            component_type=nested.integer("component_type", 40, minimum=0, maximum=255),
            system_type=nested.integer("system_type", 1, minimum=0, maximum=255),
            system_address=nested.integer("system_address", 1, minimum=0, maximum=255),
        )
        nested.read.update({"parameter_type", "value"})
        if nested.options.get("parameter_type") is not None:
            parameter_type = ParameterType(
                nested.integer(
                    "parameter_type",
                    ParameterType.COUNT,
                    minimum=min(ParameterType),
                    maximum=max(ParameterType),
                )
            )
            value = nested.number("value")
            try:
                raw_parameter(parameter_type, value)
            except ValueError as error:
                raise nested.fail("value", str(error)) from None
            component = replace(
                component,
                parameter_type=parameter_type,
                value=value,
                base_value=value,
            )
        elif "value" in nested.options:
            raise nested.fail("value", "absent: the component has no parameter_type")
        nested.reject_unknown()
        return component
