"""Decode and encode the application data of GB/T 26875.3-2011 frames.

Application data is a type byte, an object count byte, then that many
information objects, all of the type's layout. Types 1-8 are uploads about
the building's fire systems (the fire-alarm control panel and what hangs off
it); types 21-28 are about the user information transmission device itself.
Multi-byte numbers are little-endian; times are the six bytes of a frame's
time; descriptions are GB18030, NUL-padded. Pure and synchronous.

The code tables (system types, component types, parameter types) are the
standard's; vendors add their own codes, which decode all the same and get a
``type_<code>`` key.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, IntFlag
from types import MappingProxyType
from typing import ClassVar, Final, Self

from .errors import MalformedFrameError, UnknownObjectTypeError
from .frame import TIME_LENGTH, decode_time, encode_time

DESCRIPTION_LENGTH: Final = 31
MAX_CONFIGURATION_LENGTH: Final = 0xFF
MAX_OBJECT_COUNT: Final = 0xFF
_TEXT_CODEC: Final = "gb18030"


class ObjectType(IntEnum):
    """Give the type codes (类型标志) of the data a device uploads."""

    SYSTEM_STATE = 1
    COMPONENT_STATE = 2
    COMPONENT_PARAMETER = 3
    SYSTEM_OPERATION = 4
    SYSTEM_SOFTWARE_VERSION = 5
    SYSTEM_CONFIGURATION = 6
    COMPONENT_CONFIGURATION = 7
    SYSTEM_TIME = 8
    TRANSMITTER_STATE = 21
    TRANSMITTER_OPERATION = 24
    TRANSMITTER_SOFTWARE_VERSION = 25
    TRANSMITTER_CONFIGURATION = 26
    TRANSMITTER_TIME = 28


class CommandType(IntEnum):
    """Give the type codes of the monitoring centre's queries and commands."""

    READ_SYSTEM_STATE = 61
    READ_COMPONENT_STATE = 62
    READ_COMPONENT_PARAMETER = 63
    READ_SYSTEM_OPERATION = 64
    READ_SYSTEM_SOFTWARE_VERSION = 65
    READ_SYSTEM_CONFIGURATION = 66
    READ_COMPONENT_CONFIGURATION = 67
    READ_SYSTEM_TIME = 68
    READ_TRANSMITTER_STATE = 81
    READ_TRANSMITTER_OPERATION = 84
    READ_TRANSMITTER_SOFTWARE_VERSION = 85
    READ_TRANSMITTER_CONFIGURATION = 86
    READ_TRANSMITTER_TIME = 88
    INITIALIZE_TRANSMITTER = 89
    SYNC_TRANSMITTER_TIME = 90
    INSPECTION = 91  # 查岗: asks the person on duty to answer at the device


class SystemStateFlags(IntFlag):
    """Name the bits of a fire system's state (2 bytes).

    NORMAL set means normal operation, clear means test mode. MANUAL set means
    manual mode, clear automatic.
    """

    NORMAL = 1 << 0
    FIRE_ALARM = 1 << 1
    FAULT = 1 << 2
    DISABLED = 1 << 3  # 屏蔽
    SUPERVISORY = 1 << 4  # 监管
    STARTED = 1 << 5  # 启动 (开启)
    FEEDBACK = 1 << 6
    DELAYED = 1 << 7
    MAIN_POWER_FAULT = 1 << 8
    BACKUP_POWER_FAULT = 1 << 9
    BUS_FAULT = 1 << 10
    MANUAL = 1 << 11
    CONFIGURATION_CHANGED = 1 << 12
    RESET = 1 << 13


class ComponentStateFlags(IntFlag):
    """Name the bits of a component's state (2 bytes); NORMAL clear means test mode."""

    NORMAL = 1 << 0
    FIRE_ALARM = 1 << 1
    FAULT = 1 << 2
    DISABLED = 1 << 3
    SUPERVISORY = 1 << 4
    STARTED = 1 << 5
    FEEDBACK = 1 << 6
    DELAYED = 1 << 7
    POWER_FAULT = 1 << 8


class TransmitterStateFlags(IntFlag):
    """Name the bits of the transmission device's own state (1 byte).

    NORMAL clear means test mode. CHANNEL_FAULT is its link to the monitoring
    centre; LINE_FAULT the line to the fire-alarm panel it watches.
    """

    NORMAL = 1 << 0
    FIRE_ALARM = 1 << 1
    FAULT = 1 << 2
    MAIN_POWER_FAULT = 1 << 3
    BACKUP_POWER_FAULT = 1 << 4
    CHANNEL_FAULT = 1 << 5
    LINE_FAULT = 1 << 6


class SystemOperationFlags(IntFlag):
    """Name the bits of an operation on a fire system's panel (1 byte)."""

    RESET = 1 << 0
    SILENCE = 1 << 1
    MANUAL_ALARM = 1 << 2
    ALARM_CLEARED = 1 << 3
    SELF_TEST = 1 << 4
    CONFIRMED = 1 << 5
    TEST = 1 << 6


class TransmitterOperationFlags(IntFlag):
    """Name the bits of an operation on the transmission device (1 byte)."""

    RESET = 1 << 0
    SILENCE = 1 << 1
    MANUAL_ALARM = 1 << 2
    ALARM_CLEARED = 1 << 3
    SELF_TEST = 1 << 4
    INSPECTION_ANSWERED = 1 << 5  # 查岗应答
    TEST = 1 << 6


# ---- code tables ----


@dataclass(frozen=True, slots=True)
class CodeName:
    """Name a code: a snake_case English key and the standard's Chinese name."""

    key: str
    zh: str


def _table(entries: Mapping[int, tuple[str, str]]) -> Mapping[int, CodeName]:
    """Freeze a code table."""
    return MappingProxyType(
        {code: CodeName(key, zh) for code, (key, zh) in entries.items()}
    )


SYSTEM_TYPES: Final = _table(
    {
        0: ("general", "通用"),
        1: ("fire_alarm_system", "火灾报警系统"),
        10: ("linkage_controller", "消防联动控制器"),
        11: ("hydrant_system", "消火栓系统"),
        12: ("sprinkler_system", "自动喷水灭火系统"),
        13: ("gas_extinguishing_system", "气体灭火系统"),
        14: ("water_spray_system_pump", "水喷雾灭火系统(泵启动方式)"),
        15: ("water_spray_system_pressure", "水喷雾灭火系统(压力容器启动方式)"),
        16: ("foam_extinguishing_system", "泡沫灭火系统"),
        17: ("dry_powder_extinguishing_system", "干粉灭火系统"),
        18: ("smoke_control_system", "防烟排烟系统"),
        19: ("fire_door_shutter_system", "防火门及卷帘系统"),
        20: ("fire_elevator", "消防电梯"),
        21: ("emergency_broadcast", "消防应急广播"),
        22: ("emergency_lighting", "消防应急照明和疏散指示系统"),
        23: ("fire_power_supply", "消防电源"),
        24: ("fire_telephone", "消防电话"),
    }
)

COMPONENT_TYPES: Final = _table(
    {
        0: ("general", "通用"),
        1: ("fire_alarm_controller", "火灾报警控制器"),
        10: ("combustible_gas_detector", "可燃气体探测器"),
        11: ("point_combustible_gas_detector", "点型可燃气体探测器"),
        12: ("standalone_combustible_gas_detector", "独立式可燃气体探测器"),
        13: ("line_combustible_gas_detector", "线型可燃气体探测器"),
        16: ("electrical_fire_monitor", "电气火灾监控报警器"),
        17: ("residual_current_fire_detector", "剩余电流式电气火灾监控探测器"),
        18: ("temperature_electrical_fire_detector", "测温式电气火灾监控探测器"),
        21: ("detection_loop", "探测回路"),
        22: ("fire_display_panel", "火灾显示盘"),
        23: ("manual_call_point", "手动火灾报警按钮"),
        24: ("hydrant_button", "消火栓按钮"),
        25: ("fire_detector", "火灾探测器"),
        30: ("heat_detector", "感温火灾探测器"),
        31: ("point_heat_detector", "点型感温火灾探测器"),
        32: ("point_heat_detector_s", "点型感温火灾探测器(S型)"),
        33: ("point_heat_detector_r", "点型感温火灾探测器(R型)"),
        34: ("line_heat_detector", "线型感温火灾探测器"),
        35: ("line_heat_detector_s", "线型感温火灾探测器(S型)"),
        36: ("line_heat_detector_r", "线型感温火灾探测器(R型)"),
        37: ("fiber_heat_detector", "光纤感温火灾探测器"),
        40: ("smoke_detector", "感烟火灾探测器"),
        41: ("ionization_smoke_detector", "点型离子感烟火灾探测器"),
        42: ("photoelectric_smoke_detector", "点型光电感烟火灾探测器"),
        43: ("beam_smoke_detector", "线型光束感烟火灾探测器"),
        44: ("aspirating_smoke_detector", "吸气式感烟火灾探测器"),
        50: ("multi_criteria_detector", "复合式火灾探测器"),
        51: ("smoke_heat_detector", "复合式感烟感温火灾探测器"),
        52: ("flame_heat_detector", "复合式感光感温火灾探测器"),
        53: ("flame_smoke_detector", "复合式感光感烟火灾探测器"),
        61: ("uv_flame_detector", "紫外火焰探测器"),
        62: ("ir_flame_detector", "红外火焰探测器"),
        69: ("flame_detector", "感光火灾探测器"),
        74: ("gas_detector", "气体探测器"),
        78: ("video_fire_detector", "图像摄像方式火灾探测器"),
        79: ("acoustic_fire_detector", "感声火灾探测器"),
        81: ("gas_extinguishing_controller", "气体灭火控制器"),
        82: ("fire_electrical_control_device", "消防电气控制装置"),
        83: ("graphic_display_device", "消防控制室图形显示装置"),
        84: ("module", "模块"),
        85: ("input_module", "输入模块"),
        86: ("output_module", "输出模块"),
        87: ("input_output_module", "输入/输出模块"),
        88: ("relay_module", "中继模块"),
        91: ("fire_pump", "消防水泵"),
        92: ("fire_water_tank", "消防水箱"),
        95: ("sprinkler_pump", "喷淋泵"),
        96: ("water_flow_indicator", "水流指示器"),
        97: ("signal_valve", "信号阀"),
        98: ("alarm_valve", "报警阀"),
        99: ("pressure_switch", "压力开关"),
        101: ("valve_actuator", "阀驱动装置"),
        102: ("fire_door", "防火门"),
        103: ("fire_damper", "防火阀"),
        104: ("ventilation_air_conditioning", "通风空调"),
        105: ("foam_pump", "泡沫液泵"),
        106: ("pipe_network_solenoid_valve", "管网电磁阀"),
        111: ("smoke_exhaust_fan", "防烟排烟风机"),
        113: ("smoke_exhaust_fire_damper", "排烟防火阀"),
        114: ("normally_closed_air_inlet", "常闭送风口"),
        115: ("smoke_vent", "排烟口"),
        116: ("smoke_curtain", "电控挡烟垂壁"),
        117: ("fire_shutter_controller", "防火卷帘控制器"),
        118: ("fire_door_monitor", "防火门监控器"),
        121: ("alarm_sounder", "警报装置"),
    }
)

# Composite detectors (51-53) count for each thing they sense; the caller picks
# which answer wins.
_SMOKE_DETECTORS: Final = frozenset((*range(40, 45), 51, 53))
_HEAT_DETECTORS: Final = frozenset((*range(30, 38), 51, 52))
_GAS_DETECTORS: Final = frozenset((*range(10, 14), 74))


def system_type_key(code: int) -> str:
    """Return a system type's key, or ``type_<code>`` for a code not in the table."""
    name = SYSTEM_TYPES.get(code)
    return name.key if name else f"type_{code}"


def component_type_key(code: int) -> str:
    """Return a component type's key, or ``type_<code>`` for a code not in the table."""
    name = COMPONENT_TYPES.get(code)
    return name.key if name else f"type_{code}"


def is_smoke_detector(code: int) -> bool:
    """Tell whether a component type senses smoke (40-44, and composites 51, 53)."""
    return code in _SMOKE_DETECTORS


def is_heat_detector(code: int) -> bool:
    """Tell whether a component type senses heat (30-37, and composites 51, 52)."""
    return code in _HEAT_DETECTORS


def is_gas_detector(code: int) -> bool:
    """Tell whether a component type is a gas detector (10-13 combustible, 74)."""
    return code in _GAS_DETECTORS


class ParameterType(IntEnum):
    """Give the parameter types of component parameters (部件模拟量)."""

    COUNT = 1
    HEIGHT = 2
    TEMPERATURE = 3
    PRESSURE_MPA = 4
    PRESSURE_KPA = 5
    GAS_CONCENTRATION = 6
    TIME = 7
    VOLTAGE = 8
    CURRENT = 9
    FLOW = 10
    AIR_VOLUME = 11
    WIND_SPEED = 12


@dataclass(frozen=True, slots=True)
class ParameterSpec:
    """Say what a parameter type measures: its key, Chinese name, unit and resolution.

    A raw value of n means n times ``resolution`` ``unit``; ``decimals`` is the
    number of decimal places that resolution gives.
    """

    key: str
    zh: str
    unit: str
    decimals: int

    @property
    def resolution(self) -> float:
        """Return the value one raw step stands for."""
        return 10.0**-self.decimals


PARAMETER_TYPES: Final[Mapping[int, ParameterSpec]] = MappingProxyType(
    {
        ParameterType.COUNT: ParameterSpec("count", "事件计数", "件", 0),
        ParameterType.HEIGHT: ParameterSpec("height", "高度", "m", 2),
        ParameterType.TEMPERATURE: ParameterSpec("temperature", "温度", "°C", 1),
        ParameterType.PRESSURE_MPA: ParameterSpec("pressure_mpa", "压力", "MPa", 1),
        ParameterType.PRESSURE_KPA: ParameterSpec("pressure_kpa", "压力", "kPa", 1),
        ParameterType.GAS_CONCENTRATION: ParameterSpec(
            "gas_concentration", "气体浓度", "%LEL", 1
        ),
        ParameterType.TIME: ParameterSpec("time", "时间", "s", 0),
        ParameterType.VOLTAGE: ParameterSpec("voltage", "电压", "V", 1),
        ParameterType.CURRENT: ParameterSpec("current", "电流", "A", 1),
        ParameterType.FLOW: ParameterSpec("flow", "流量", "L/s", 1),
        ParameterType.AIR_VOLUME: ParameterSpec("air_volume", "风量", "m³/min", 1),
        ParameterType.WIND_SPEED: ParameterSpec("wind_speed", "风速", "m/s", 0),
    }
)


def parameter_value(parameter_type: int, raw_value: int) -> tuple[float, str | None]:
    """Return a raw parameter value scaled by its type, and the type's unit.

    An unknown type gives the raw value itself and no unit.
    """
    spec = PARAMETER_TYPES.get(parameter_type)
    if spec is None:
        return float(raw_value), None
    # Dividing by a power of ten, not multiplying by 0.1, gives 25.3, not 25.300000000000001.
    return raw_value / 10**spec.decimals, spec.unit


# ---- field helpers ----


def _u8(name: str, value: int) -> bytes:
    """Return a one-byte field; refuse a value that does not fit."""
    return _uint(name, value, 1)


def _uint(name: str, value: int, size: int) -> bytes:
    """Return an unsigned little-endian field; refuse a value that does not fit."""
    if not 0 <= value < 1 << 8 * size:
        raise ValueError(f"{name} must be 0 to {(1 << 8 * size) - 1}, not {value}")
    return value.to_bytes(size, "little")


def _u16(raw: bytes) -> int:
    """Read an unsigned little-endian 16-bit number."""
    return int.from_bytes(raw[:2], "little")


def decode_text(raw: bytes) -> str:
    """Decode GB18030 text up to its first NUL, bad bytes replaced, trailing blanks cut.

    No GB18030 character contains a zero byte, so a NUL always ends the text.
    """
    return raw.split(b"\0", 1)[0].decode(_TEXT_CODEC, errors="replace").rstrip()


def encode_text(text: str, limit: int) -> bytes:
    """Encode text as GB18030, cut at a character boundary to at most ``limit`` bytes."""
    # GB18030 has no shift states: the characters' bytes laid end to end are
    # the text's bytes.
    kept = bytearray()
    for character in text:
        piece = character.encode(_TEXT_CODEC, errors="replace")
        if len(kept) + len(piece) > limit:
            break
        kept += piece
    return bytes(kept)


def _description(text: str) -> bytes:
    """Return a fixed 31-byte description field, NUL-padded."""
    return encode_text(text, DESCRIPTION_LENGTH).ljust(DESCRIPTION_LENGTH, b"\0")


def _configuration(text: str) -> bytes:
    """Return a length-prefixed configuration text."""
    encoded = encode_text(text, MAX_CONFIGURATION_LENGTH)
    return bytes((len(encoded),)) + encoded


# ---- information objects ----


@dataclass(frozen=True, slots=True)
class SystemState:
    """Hold a fire system's state (type 1, 10 bytes)."""

    TYPE: ClassVar[ObjectType] = ObjectType.SYSTEM_STATE
    SIZE: ClassVar[int] = 10

    system_type: int
    system_address: int
    state: SystemStateFlags
    time: datetime | None

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode the object's bytes."""
        return cls(
            raw[0], raw[1], SystemStateFlags(_u16(raw[2:4])), decode_time(raw[4:10])
        )

    def to_bytes(self) -> bytes:
        """Encode the object."""
        return b"".join(
            (
                _u8("system_type", self.system_type),
                _u8("system_address", self.system_address),
                _uint("state", self.state, 2),
                encode_time(self.time),
            )
        )


@dataclass(frozen=True, slots=True)
class ComponentState:
    """Hold a component's state (type 2, 46 bytes): a detector, a button, a pump."""

    TYPE: ClassVar[ObjectType] = ObjectType.COMPONENT_STATE
    SIZE: ClassVar[int] = 46

    system_type: int
    system_address: int
    component_type: int
    component_address: int
    state: ComponentStateFlags
    description: str
    time: datetime | None

    @property
    def fire_alarm(self) -> bool:
        """Tell whether the component reports a fire."""
        return ComponentStateFlags.FIRE_ALARM in self.state

    @property
    def fault(self) -> bool:
        """Tell whether the component reports a fault."""
        return ComponentStateFlags.FAULT in self.state

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode the object's bytes."""
        return cls(
            system_type=raw[0],
            system_address=raw[1],
            component_type=raw[2],
            component_address=int.from_bytes(raw[3:7], "little"),
            state=ComponentStateFlags(_u16(raw[7:9])),
            description=decode_text(raw[9:40]),
            time=decode_time(raw[40:46]),
        )

    def to_bytes(self) -> bytes:
        """Encode the object; a description over 31 bytes is cut."""
        return b"".join(
            (
                _u8("system_type", self.system_type),
                _u8("system_address", self.system_address),
                _u8("component_type", self.component_type),
                _uint("component_address", self.component_address, 4),
                _uint("state", self.state, 2),
                _description(self.description),
                encode_time(self.time),
            )
        )


@dataclass(frozen=True, slots=True)
class ComponentParameter:
    """Hold a component's measured value (type 3, 16 bytes).

    ``raw_value`` is the signed 16-bit number sent; ``value`` is it scaled by the
    parameter type's resolution, and ``unit`` None for a type not in the table.
    Build one from a raw value with ``from_raw``; encoding uses ``raw_value``.
    """

    TYPE: ClassVar[ObjectType] = ObjectType.COMPONENT_PARAMETER
    SIZE: ClassVar[int] = 16

    system_type: int
    system_address: int
    component_type: int
    component_address: int
    parameter_type: int
    raw_value: int
    value: float
    unit: str | None
    time: datetime | None

    @classmethod
    def from_raw(
        cls,
        system_type: int,
        system_address: int,
        component_type: int,
        component_address: int,
        parameter_type: int,
        raw_value: int,
        time: datetime | None,
    ) -> Self:
        """Build the object from a raw value, scaling it by the parameter type."""
        value, unit = parameter_value(parameter_type, raw_value)
        return cls(
            system_type,
            system_address,
            component_type,
            component_address,
            parameter_type,
            raw_value,
            value,
            unit,
            time,
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode the object's bytes."""
        return cls.from_raw(
            raw[0],
            raw[1],
            raw[2],
            int.from_bytes(raw[3:7], "little"),
            raw[7],
            int.from_bytes(raw[8:10], "little", signed=True),
            decode_time(raw[10:16]),
        )

    def to_bytes(self) -> bytes:
        """Encode the object from its raw value."""
        if not -0x8000 <= self.raw_value <= 0x7FFF:
            raise ValueError(
                f"raw_value must be a signed 16-bit number, not {self.raw_value}"
            )
        return b"".join(
            (
                _u8("system_type", self.system_type),
                _u8("system_address", self.system_address),
                _u8("component_type", self.component_type),
                _uint("component_address", self.component_address, 4),
                _u8("parameter_type", self.parameter_type),
                self.raw_value.to_bytes(2, "little", signed=True),
                encode_time(self.time),
            )
        )


@dataclass(frozen=True, slots=True)
class SystemOperation:
    """Hold an operation on a fire system's panel (type 4, 10 bytes)."""

    TYPE: ClassVar[ObjectType] = ObjectType.SYSTEM_OPERATION
    SIZE: ClassVar[int] = 10

    system_type: int
    system_address: int
    operations: SystemOperationFlags
    operator: int
    time: datetime | None

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode the object's bytes."""
        return cls(
            raw[0], raw[1], SystemOperationFlags(raw[2]), raw[3], decode_time(raw[4:10])
        )

    def to_bytes(self) -> bytes:
        """Encode the object."""
        return b"".join(
            (
                _u8("system_type", self.system_type),
                _u8("system_address", self.system_address),
                _u8("operations", self.operations),
                _u8("operator", self.operator),
                encode_time(self.time),
            )
        )


@dataclass(frozen=True, slots=True)
class SystemSoftwareVersion:
    """Hold a fire system's software version (type 5, 4 bytes)."""

    TYPE: ClassVar[ObjectType] = ObjectType.SYSTEM_SOFTWARE_VERSION
    SIZE: ClassVar[int] = 4

    system_type: int
    system_address: int
    major: int
    minor: int

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode the object's bytes."""
        return cls(raw[0], raw[1], raw[2], raw[3])

    def to_bytes(self) -> bytes:
        """Encode the object."""
        return b"".join(
            (
                _u8("system_type", self.system_type),
                _u8("system_address", self.system_address),
                _u8("major", self.major),
                _u8("minor", self.minor),
            )
        )


@dataclass(frozen=True, slots=True)
class SystemConfiguration:
    """Hold a fire system's configuration text (type 6, length-prefixed)."""

    TYPE: ClassVar[ObjectType] = ObjectType.SYSTEM_CONFIGURATION
    SIZE: ClassVar[None] = None
    LENGTH_AT: ClassVar[int] = 2

    system_type: int
    system_address: int
    description: str

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode the object's bytes, length byte included."""
        return cls(raw[0], raw[1], decode_text(raw[3:]))

    def to_bytes(self) -> bytes:
        """Encode the object; a description over 255 bytes is cut."""
        return (
            _u8("system_type", self.system_type)
            + _u8("system_address", self.system_address)
            + _configuration(self.description)
        )


@dataclass(frozen=True, slots=True)
class ComponentConfiguration:
    """Hold a component's configuration text (type 7, 38 bytes)."""

    TYPE: ClassVar[ObjectType] = ObjectType.COMPONENT_CONFIGURATION
    SIZE: ClassVar[int] = 38

    system_type: int
    system_address: int
    component_type: int
    component_address: int
    description: str

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode the object's bytes."""
        return cls(
            raw[0],
            raw[1],
            raw[2],
            int.from_bytes(raw[3:7], "little"),
            decode_text(raw[7:38]),
        )

    def to_bytes(self) -> bytes:
        """Encode the object; a description over 31 bytes is cut."""
        return b"".join(
            (
                _u8("system_type", self.system_type),
                _u8("system_address", self.system_address),
                _u8("component_type", self.component_type),
                _uint("component_address", self.component_address, 4),
                _description(self.description),
            )
        )


@dataclass(frozen=True, slots=True)
class SystemTime:
    """Hold a fire system's clock (type 8, 8 bytes)."""

    TYPE: ClassVar[ObjectType] = ObjectType.SYSTEM_TIME
    SIZE: ClassVar[int] = 2 + TIME_LENGTH

    system_type: int
    system_address: int
    time: datetime | None

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode the object's bytes."""
        return cls(raw[0], raw[1], decode_time(raw[2:8]))

    def to_bytes(self) -> bytes:
        """Encode the object."""
        return (
            _u8("system_type", self.system_type)
            + _u8("system_address", self.system_address)
            + encode_time(self.time)
        )


@dataclass(frozen=True, slots=True)
class TransmitterState:
    """Hold the transmission device's own state (type 21, 7 bytes)."""

    TYPE: ClassVar[ObjectType] = ObjectType.TRANSMITTER_STATE
    SIZE: ClassVar[int] = 1 + TIME_LENGTH

    state: TransmitterStateFlags
    time: datetime | None

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode the object's bytes."""
        return cls(TransmitterStateFlags(raw[0]), decode_time(raw[1:7]))

    def to_bytes(self) -> bytes:
        """Encode the object."""
        return _u8("state", self.state) + encode_time(self.time)


@dataclass(frozen=True, slots=True)
class TransmitterOperation:
    """Hold an operation on the transmission device (type 24, 8 bytes)."""

    TYPE: ClassVar[ObjectType] = ObjectType.TRANSMITTER_OPERATION
    SIZE: ClassVar[int] = 2 + TIME_LENGTH

    operations: TransmitterOperationFlags
    operator: int
    time: datetime | None

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode the object's bytes."""
        return cls(TransmitterOperationFlags(raw[0]), raw[1], decode_time(raw[2:8]))

    def to_bytes(self) -> bytes:
        """Encode the object."""
        return (
            _u8("operations", self.operations)
            + _u8("operator", self.operator)
            + encode_time(self.time)
        )


@dataclass(frozen=True, slots=True)
class TransmitterSoftwareVersion:
    """Hold the transmission device's software version (type 25, 2 bytes)."""

    TYPE: ClassVar[ObjectType] = ObjectType.TRANSMITTER_SOFTWARE_VERSION
    SIZE: ClassVar[int] = 2

    major: int
    minor: int

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode the object's bytes."""
        return cls(raw[0], raw[1])

    def to_bytes(self) -> bytes:
        """Encode the object."""
        return _u8("major", self.major) + _u8("minor", self.minor)


@dataclass(frozen=True, slots=True)
class TransmitterConfiguration:
    """Hold the transmission device's configuration text (type 26, length-prefixed)."""

    TYPE: ClassVar[ObjectType] = ObjectType.TRANSMITTER_CONFIGURATION
    SIZE: ClassVar[None] = None
    LENGTH_AT: ClassVar[int] = 0

    description: str

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode the object's bytes, length byte included."""
        return cls(decode_text(raw[1:]))

    def to_bytes(self) -> bytes:
        """Encode the object; a description over 255 bytes is cut."""
        return _configuration(self.description)


@dataclass(frozen=True, slots=True)
class TransmitterTime:
    """Hold the transmission device's clock (type 28, 6 bytes)."""

    TYPE: ClassVar[ObjectType] = ObjectType.TRANSMITTER_TIME
    SIZE: ClassVar[int] = TIME_LENGTH

    time: datetime | None

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode the object's bytes."""
        return cls(decode_time(raw[:6]))

    def to_bytes(self) -> bytes:
        """Encode the object."""
        return encode_time(self.time)


type ApplicationObject = (
    SystemState
    | ComponentState
    | ComponentParameter
    | SystemOperation
    | SystemSoftwareVersion
    | SystemConfiguration
    | ComponentConfiguration
    | SystemTime
    | TransmitterState
    | TransmitterOperation
    | TransmitterSoftwareVersion
    | TransmitterConfiguration
    | TransmitterTime
)

type _Decoder = Callable[[bytes], ApplicationObject]

# Objects of a fixed size: the decoder and the size.
_FIXED: Final[Mapping[int, tuple[_Decoder, int]]] = MappingProxyType(
    {
        cls.TYPE: (cls.from_bytes, cls.SIZE)
        for cls in (
            SystemState,
            ComponentState,
            ComponentParameter,
            SystemOperation,
            SystemSoftwareVersion,
            ComponentConfiguration,
            SystemTime,
            TransmitterState,
            TransmitterOperation,
            TransmitterSoftwareVersion,
            TransmitterTime,
        )
    }
)
# Length-prefixed objects: the decoder and where the length byte is.
_PREFIXED: Final[Mapping[int, tuple[_Decoder, int]]] = MappingProxyType(
    {
        cls.TYPE: (cls.from_bytes, cls.LENGTH_AT)
        for cls in (SystemConfiguration, TransmitterConfiguration)
    }
)


@dataclass(frozen=True, slots=True)
class ApplicationData:
    """Hold a frame's application data: its type code and its objects."""

    type_code: int
    objects: tuple[ApplicationObject, ...]


def _decode_prefixed(
    body: bytes, count: int, decoder: _Decoder, length_at: int
) -> tuple[ApplicationObject, ...]:
    """Decode ``count`` length-prefixed objects that must fill ``body`` exactly."""
    objects: list[ApplicationObject] = []
    position = 0
    for number in range(1, count + 1):
        if position + length_at >= len(body):
            raise MalformedFrameError(
                f"Object {number} of {count} is cut short before its length byte"
            )
        end = position + length_at + 1 + body[position + length_at]
        if end > len(body):
            raise MalformedFrameError(
                f"Object {number} of {count}'s length byte says "
                f"{body[position + length_at]} bytes, but only "
                f"{len(body) - position - length_at - 1} follow"
            )
        objects.append(decoder(body[position:end]))
        position = end
    if position != len(body):
        raise MalformedFrameError(
            f"{len(body) - position} bytes follow the last of the {count} objects"
        )
    return tuple(objects)


def decode_application_data(data: bytes) -> ApplicationData:
    """Decode application data: the type, the count, then the objects.

    Raise MalformedFrameError when the length does not fit the count, and
    UnknownObjectTypeError for a type this module has no layout for. A time
    inside an object that is no date becomes None; it is not an error.
    """
    if len(data) < 2:
        raise MalformedFrameError(
            f"The application data is {len(data)} bytes; "
            "it needs at least its type and object count"
        )
    type_code, count = data[0], data[1]
    body = bytes(data[2:])
    if type_code in _FIXED:
        decoder, size = _FIXED[type_code]
        if len(body) != count * size:
            raise MalformedFrameError(
                f"The object count says {count} objects of {size} bytes, "
                f"but {len(body)} bytes follow the type and count"
            )
        objects = tuple(
            decoder(body[start : start + size])
            for start in range(0, count * size, size)
        )
    elif type_code in _PREFIXED:
        objects = _decode_prefixed(body, count, *_PREFIXED[type_code])
    else:
        raise UnknownObjectTypeError(type_code)
    return ApplicationData(type_code, objects)


def encode_application_data(objects: Sequence[ApplicationObject]) -> bytes:
    """Encode objects of one type as application data.

    Raise ValueError for no objects, objects of several types, more than 255
    of them, or a field that does not fit. Descriptions too long are cut.
    """
    if not objects:
        raise ValueError("Application data needs at least one object to name its type")
    type_code = objects[0].TYPE
    if any(item.TYPE is not type_code for item in objects):
        raise ValueError("Application data holds objects of one type only")
    if len(objects) > MAX_OBJECT_COUNT:
        raise ValueError(
            f"Application data holds at most {MAX_OBJECT_COUNT} objects, not {len(objects)}"
        )
    return bytes((type_code, len(objects))) + b"".join(
        item.to_bytes() for item in objects
    )


def encode_time_sync(time: datetime) -> bytes:
    """Return the application data that sets the transmission device's clock (type 90)."""
    return bytes((CommandType.SYNC_TRANSMITTER_TIME, 1)) + encode_time(time)
