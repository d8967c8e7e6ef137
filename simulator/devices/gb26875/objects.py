"""Encode the information objects a transmission device sends (app data).

App data is one type byte, one count byte and that many objects of the type.
Every object ends with the 6-byte time of the event it reports.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, IntFlag
import struct
from typing import Final

from simulator.devices.gb26875.frame import MAX_APP_DATA, encode_time

DESCRIPTION_SIZE: Final = 31
DESCRIPTION_ENCODING: Final = "gb18030"
MAX_COMPONENT_ADDRESS: Final = 0xFFFF_FFFF
# Objects per frame: few enough that the largest (46 B) stay under 1024 B.
MAX_OBJECTS_PER_FRAME: Final = 20
_INT16: Final = (-0x8000, 0x7FFF)

_SYSTEM_STATE: Final = struct.Struct("<BBH6s")
_COMPONENT_STATE: Final = struct.Struct("<BBBIH31s6s")
_COMPONENT_PARAMETER: Final = struct.Struct("<BBBIBh6s")
_SYSTEM_OPERATION: Final = struct.Struct("<BBBB6s")
_TRANSMITTER_STATE: Final = struct.Struct("<B6s")
_TRANSMITTER_OPERATION: Final = struct.Struct("<BB6s")


class ObjectType(IntEnum):
    """Name the information-object types (类型标志) the device sends."""

    SYSTEM_STATE = 1
    COMPONENT_STATE = 2
    COMPONENT_PARAMETER = 3
    SYSTEM_OPERATION = 4
    TRANSMITTER_STATE = 21
    TRANSMITTER_OPERATION = 24
    TRANSMITTER_TIME = 28


OBJECT_SIZES: Final = {
    ObjectType.SYSTEM_STATE: _SYSTEM_STATE.size,
    ObjectType.COMPONENT_STATE: _COMPONENT_STATE.size,
    ObjectType.COMPONENT_PARAMETER: _COMPONENT_PARAMETER.size,
    ObjectType.SYSTEM_OPERATION: _SYSTEM_OPERATION.size,
    ObjectType.TRANSMITTER_STATE: _TRANSMITTER_STATE.size,
    ObjectType.TRANSMITTER_OPERATION: _TRANSMITTER_OPERATION.size,
    ObjectType.TRANSMITTER_TIME: 6,
}


class StateFlag(IntFlag):
    """Name the state bits of a component (and of a system, which has more)."""

    # Set: normal monitoring; clear: the component is under test.
    NORMAL = 1 << 0
    FIRE_ALARM = 1 << 1
    FAULT = 1 << 2
    DISABLED = 1 << 3
    SUPERVISORY = 1 << 4
    STARTED = 1 << 5
    FEEDBACK = 1 << 6
    DELAYED = 1 << 7
    # A component's power fault; on a system state, its main power fault.
    POWER_FAULT = 1 << 8
    BACKUP_POWER_FAULT = 1 << 9
    BUS_FAULT = 1 << 10


class TransmitterFlag(IntFlag):
    """Name the state bits of the transmission device itself (type 21)."""

    NORMAL = 1 << 0
    FIRE_ALARM = 1 << 1
    FAULT = 1 << 2
    MAIN_POWER_FAULT = 1 << 3
    BACKUP_POWER_FAULT = 1 << 4
    CHANNEL_FAULT = 1 << 5
    LINE_FAULT = 1 << 6


class OperationFlag(IntFlag):
    """Name the operation bits of a system or transmitter operation (types 4, 24)."""

    RESET = 1 << 0
    SILENCE = 1 << 1
    MANUAL_ALARM = 1 << 2
    ALARM_CLEAR = 1 << 3
    SELF_TEST = 1 << 4
    ACKNOWLEDGE = 1 << 5
    TEST = 1 << 6


@dataclass(frozen=True, slots=True)
class Unit:
    """Say what a parameter type measures: its unit and the value of one count."""

    name: str
    scale: float
    # Decimal places of one count, to print values without float noise.
    decimals: int


class ParameterType(IntEnum):
    """Name the component parameter types the simulator reports (type 3)."""

    COUNT = 1
    HEIGHT = 2
    TEMPERATURE = 3
    PRESSURE_MPA = 4
    PRESSURE_KPA = 5

    @property
    def unit(self) -> Unit:
        """Return the unit and resolution of this parameter type."""
        return _UNITS[self]


_UNITS: Final = {
    ParameterType.COUNT: Unit("", 1.0, 0),
    ParameterType.HEIGHT: Unit("m", 0.01, 2),
    ParameterType.TEMPERATURE: Unit("°C", 0.1, 1),
    ParameterType.PRESSURE_MPA: Unit("MPa", 0.1, 1),
    ParameterType.PRESSURE_KPA: Unit("kPa", 0.1, 1),
}


def raw_parameter(parameter_type: ParameterType, value: float) -> int:
    """Return a value in the parameter's unit as the int16 the object carries."""
    raw = round(value / parameter_type.unit.scale)
    if not _INT16[0] <= raw <= _INT16[1]:
        unit = parameter_type.unit
        raise ValueError(
            f"{value:g} {unit.name} does not fit a parameter value "
            f"(int16 in steps of {unit.scale:g})"
        )
    return raw


def quantize(parameter_type: ParameterType, value: float) -> float:
    """Return ``value`` as the object carries it: rounded to one count."""
    unit = parameter_type.unit
    return round(raw_parameter(parameter_type, value) * unit.scale, unit.decimals)


def encode_description(text: str) -> bytes:
    """Return a description as 31 bytes of GB18030, NUL-padded."""
    data = text.encode(DESCRIPTION_ENCODING)
    if len(data) > DESCRIPTION_SIZE:
        raise ValueError(
            f"description {text!r} takes {len(data)} bytes of GB18030; "
            f"at most {DESCRIPTION_SIZE} fit"
        )
    return data.ljust(DESCRIPTION_SIZE, b"\0")


def fit_description(text: str) -> str:
    """Shorten ``text`` by whole characters until it fits the description field."""
    while len(text.encode(DESCRIPTION_ENCODING)) > DESCRIPTION_SIZE:
        text = text[:-1]
    return text


def system_state(
    system_type: int, system_address: int, state: int, moment: datetime
) -> bytes:
    """Encode a system state object (type 1, 10 B)."""
    return _SYSTEM_STATE.pack(system_type, system_address, state, encode_time(moment))


def component_state(
    system_type: int,
    system_address: int,
    component_type: int,
    component_address: int,
    state: int,
    description: str,
    moment: datetime,
) -> bytes:
    """Encode a component state object (type 2, 46 B)."""
    return _COMPONENT_STATE.pack(
        system_type,
        system_address,
        component_type,
        component_address,
        state,
        encode_description(description),
        encode_time(moment),
    )


def component_parameter(
    system_type: int,
    system_address: int,
    component_type: int,
    component_address: int,
    parameter_type: ParameterType,
    value: float,
    moment: datetime,
) -> bytes:
    """Encode a component parameter object (type 3, 16 B); ``value`` in its unit."""
    return _COMPONENT_PARAMETER.pack(
        system_type,
        system_address,
        component_type,
        component_address,
        parameter_type,
        raw_parameter(parameter_type, value),
        encode_time(moment),
    )


def system_operation(
    system_type: int,
    system_address: int,
    flags: OperationFlag,
    operator: int,
    moment: datetime,
) -> bytes:
    """Encode a system operation object (type 4, 10 B)."""
    return _SYSTEM_OPERATION.pack(
        system_type, system_address, flags, operator, encode_time(moment)
    )


def transmitter_state(state: TransmitterFlag, moment: datetime) -> bytes:
    """Encode a transmission-device state object (type 21, 7 B)."""
    return _TRANSMITTER_STATE.pack(state, encode_time(moment))


def transmitter_operation(
    flags: OperationFlag, operator: int, moment: datetime
) -> bytes:
    """Encode a transmission-device operation object (type 24, 8 B)."""
    return _TRANSMITTER_OPERATION.pack(flags, operator, encode_time(moment))


def transmitter_time(moment: datetime) -> bytes:
    """Encode a transmission-device time object (type 28, 6 B)."""
    return encode_time(moment)


def app_data(object_type: ObjectType, objects: Sequence[bytes]) -> bytes:
    """Return the app data of one frame: type, count and the objects."""
    size = OBJECT_SIZES[object_type]
    if not 1 <= len(objects) <= 0xFF:
        raise ValueError(f"a frame carries 1..255 objects, not {len(objects)}")
    if any(len(item) != size for item in objects):
        raise ValueError(f"every type {object_type} object is {size} bytes")
    data = bytes((object_type, len(objects))) + b"".join(objects)
    if len(data) > MAX_APP_DATA:
        raise ValueError(f"{len(objects)} objects of type {object_type} do not fit")
    return data


def app_data_units(
    object_type: ObjectType,
    objects: Sequence[bytes],
    per_frame: int = MAX_OBJECTS_PER_FRAME,
) -> Iterator[bytes]:
    """Cut many objects of one type into the app data of consecutive frames."""
    for start in range(0, len(objects), per_frame):
        yield app_data(object_type, objects[start : start + per_frame])
