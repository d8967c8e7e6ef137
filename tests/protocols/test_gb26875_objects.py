"""Test the GB/T 26875.3 application data objects and code tables."""

from datetime import datetime
import re

import pytest

from custom_components.smart_community.protocols.gb26875 import (
    COMPONENT_TYPES,
    PARAMETER_TYPES,
    SYSTEM_TYPES,
    ApplicationData,
    ApplicationObject,
    CodeName,
    CommandType,
    ComponentConfiguration,
    ComponentParameter,
    ComponentState,
    ComponentStateFlags,
    Gb26875Error,
    MalformedFrameError,
    ObjectType,
    ParameterType,
    SystemConfiguration,
    SystemOperation,
    SystemOperationFlags,
    SystemSoftwareVersion,
    SystemState,
    SystemStateFlags,
    SystemTime,
    TransmitterConfiguration,
    TransmitterOperation,
    TransmitterOperationFlags,
    TransmitterSoftwareVersion,
    TransmitterState,
    TransmitterStateFlags,
    TransmitterTime,
    UnknownObjectTypeError,
    component_type_key,
    decode_application_data,
    encode_application_data,
    encode_time_sync,
    is_gas_detector,
    is_heat_detector,
    is_smoke_detector,
    parameter_value,
    system_type_key,
)
from custom_components.smart_community.protocols.gb26875.objects import (
    decode_text,
    encode_text,
)

from .test_gb26875_frame import EXAMPLE_DATA, EXAMPLE_TIME

T = datetime(2026, 3, 2, 8, 15, 30)
T2 = datetime(2026, 3, 2, 8, 16, 0)

# Two objects of every type, each with fields away from zero.
SAMPLES: dict[ObjectType, tuple[ApplicationObject, ApplicationObject]] = {
    ObjectType.SYSTEM_STATE: (
        SystemState(1, 1, SystemStateFlags.NORMAL | SystemStateFlags.FIRE_ALARM, T),
        SystemState(
            10, 2, SystemStateFlags.MAIN_POWER_FAULT | SystemStateFlags.RESET, None
        ),
    ),
    ObjectType.COMPONENT_STATE: (
        ComponentState(1, 1, 40, 258, ComponentStateFlags(3), "3号楼2层走廊烟感", T),
        ComponentState(
            12, 3, 96, 0xFFFFFFFF, ComponentStateFlags.POWER_FAULT, "water flow", None
        ),
    ),
    ObjectType.COMPONENT_PARAMETER: (
        ComponentParameter.from_raw(1, 1, 30, 7, ParameterType.TEMPERATURE, 253, T),
        ComponentParameter.from_raw(11, 1, 99, 8, ParameterType.PRESSURE_MPA, -5, T2),
    ),
    ObjectType.SYSTEM_OPERATION: (
        SystemOperation(1, 1, SystemOperationFlags.RESET, 7, T),
        SystemOperation(
            1, 2, SystemOperationFlags.SILENCE | SystemOperationFlags.TEST, 255, None
        ),
    ),
    ObjectType.SYSTEM_SOFTWARE_VERSION: (
        SystemSoftwareVersion(1, 1, 2, 10),
        SystemSoftwareVersion(10, 255, 0, 1),
    ),
    ObjectType.SYSTEM_CONFIGURATION: (
        SystemConfiguration(1, 1, "主机: 青鸟 JB-QB-JBF5012"),
        SystemConfiguration(12, 2, ""),
    ),
    ObjectType.COMPONENT_CONFIGURATION: (
        ComponentConfiguration(1, 1, 23, 0x0102, "1层大厅手报"),
        ComponentConfiguration(11, 4, 24, 99, "hydrant B1"),
    ),
    ObjectType.SYSTEM_TIME: (SystemTime(1, 1, T), SystemTime(1, 2, None)),
    ObjectType.TRANSMITTER_STATE: (
        TransmitterState(TransmitterStateFlags.NORMAL, T),
        TransmitterState(
            TransmitterStateFlags.CHANNEL_FAULT | TransmitterStateFlags.LINE_FAULT, T2
        ),
    ),
    ObjectType.TRANSMITTER_OPERATION: (
        TransmitterOperation(TransmitterOperationFlags.INSPECTION_ANSWERED, 3, T),
        TransmitterOperation(TransmitterOperationFlags.SELF_TEST, 0, None),
    ),
    ObjectType.TRANSMITTER_SOFTWARE_VERSION: (
        TransmitterSoftwareVersion(1, 3),
        TransmitterSoftwareVersion(255, 0),
    ),
    ObjectType.TRANSMITTER_CONFIGURATION: (
        TransmitterConfiguration("用传 UITD-01"),
        TransmitterConfiguration("x" * 255),
    ),
    ObjectType.TRANSMITTER_TIME: (TransmitterTime(T), TransmitterTime(None)),
}
SIZES = {
    ObjectType.SYSTEM_STATE: 10,
    ObjectType.COMPONENT_STATE: 46,
    ObjectType.COMPONENT_PARAMETER: 16,
    ObjectType.SYSTEM_OPERATION: 10,
    ObjectType.SYSTEM_SOFTWARE_VERSION: 4,
    ObjectType.COMPONENT_CONFIGURATION: 38,
    ObjectType.SYSTEM_TIME: 8,
    ObjectType.TRANSMITTER_STATE: 7,
    ObjectType.TRANSMITTER_OPERATION: 8,
    ObjectType.TRANSMITTER_SOFTWARE_VERSION: 2,
    ObjectType.TRANSMITTER_TIME: 6,
}


# ---- the example ----


def test_example_component_state() -> None:
    """Read the example's smoke detector in fire alarm."""
    data = decode_application_data(EXAMPLE_DATA)
    assert data == ApplicationData(
        2,
        (
            ComponentState(
                system_type=1,
                system_address=1,
                component_type=40,
                component_address=258,
                state=ComponentStateFlags.NORMAL | ComponentStateFlags.FIRE_ALARM,
                description="3号楼2层走廊烟感",
                time=EXAMPLE_TIME,
            ),
        ),
    )
    state = data.objects[0]
    assert isinstance(state, ComponentState)
    assert state.fire_alarm
    assert not state.fault
    assert system_type_key(state.system_type) == "fire_alarm_system"
    assert component_type_key(state.component_type) == "smoke_detector"
    assert encode_application_data(data.objects) == EXAMPLE_DATA


# ---- round trips ----


@pytest.mark.parametrize("object_type", list(ObjectType), ids=lambda t: t.name.lower())
def test_round_trip_every_type(object_type: ObjectType) -> None:
    """Encode one and two objects of each type and decode them back."""
    first, second = SAMPLES[object_type]
    assert first.TYPE is object_type
    for objects in ((first,), (first, second)):
        data = encode_application_data(objects)
        assert data[:2] == bytes((object_type, len(objects)))
        if object_type in SIZES:
            assert len(data) == 2 + SIZES[object_type] * len(objects)
        assert decode_application_data(data) == ApplicationData(object_type, objects)


def test_empty_object_list_decodes() -> None:
    """Decode a count of zero with nothing after it."""
    assert decode_application_data(bytes((2, 0))) == ApplicationData(2, ())
    assert decode_application_data(bytes((26, 0))) == ApplicationData(26, ())


def test_fields_on_the_wire() -> None:
    """Lay out a component state and a parameter as the standard does."""
    state = ComponentState(
        1,
        2,
        23,
        0x04030201,
        ComponentStateFlags.FAULT | ComponentStateFlags.POWER_FAULT,
        "",
        T,
    )
    raw = encode_application_data([state])[2:]
    assert raw[:3] == bytes((1, 2, 23))
    assert raw[3:7] == bytes((1, 2, 3, 4))
    assert raw[7:9] == bytes((0x04, 0x01))
    assert raw[9:40] == bytes(31)
    assert raw[40:] == bytes((30, 15, 8, 2, 3, 26))
    parameter = ComponentParameter.from_raw(1, 1, 30, 5, 3, -2, None)
    raw = encode_application_data([parameter])[2:]
    assert raw[7] == 3
    assert raw[8:10] == bytes((0xFE, 0xFF))
    assert raw[10:] == bytes(6)


def test_unknown_state_bits_survive() -> None:
    """Keep state bits the standard does not name, in a round trip."""
    raw = bytes((2, 1, 1, 1, 40, 1, 0, 0, 0, 0xFF, 0xFF)) + bytes(31) + bytes(6)
    state = decode_application_data(raw).objects[0]
    assert isinstance(state, ComponentState)
    assert state.state == 0xFFFF
    assert state.fire_alarm
    assert state.fault
    assert state.time is None
    assert encode_application_data([state]) == raw
    system = decode_application_data(bytes((1, 1, 1, 1, 0xFF, 0xFF)) + bytes(6))
    assert system.objects[0] == SystemState(1, 1, SystemStateFlags(0xFFFF), None)


# ---- parameters ----


@pytest.mark.parametrize(
    ("parameter_type", "raw", "value", "unit"),
    [
        (ParameterType.COUNT, 12, 12.0, "件"),
        (ParameterType.HEIGHT, 1234, 12.34, "m"),
        (ParameterType.TEMPERATURE, 253, 25.3, "°C"),
        (ParameterType.TEMPERATURE, -105, -10.5, "°C"),
        (ParameterType.PRESSURE_MPA, 3, 0.3, "MPa"),
        (ParameterType.PRESSURE_KPA, 1013, 101.3, "kPa"),
        (ParameterType.GAS_CONCENTRATION, 250, 25.0, "%LEL"),
        (ParameterType.TIME, 30, 30.0, "s"),
        (ParameterType.VOLTAGE, 2201, 220.1, "V"),
        (ParameterType.CURRENT, 15, 1.5, "A"),
        (ParameterType.FLOW, 52, 5.2, "L/s"),
        (ParameterType.AIR_VOLUME, 600, 60.0, "m³/min"),
        (ParameterType.WIND_SPEED, 7, 7.0, "m/s"),
        (0, 5, 5.0, None),
        (200, -32768, -32768.0, None),
    ],
)
def test_parameter_scaling(
    parameter_type: int, raw: int, value: float, unit: str | None
) -> None:
    """Scale raw values by the type's resolution; unknown types stay raw."""
    assert parameter_value(parameter_type, raw) == (value, unit)
    parameter = ComponentParameter.from_raw(1, 1, 30, 1, parameter_type, raw, T)
    decoded = decode_application_data(encode_application_data([parameter])).objects[0]
    assert isinstance(decoded, ComponentParameter)
    assert (decoded.raw_value, decoded.value, decoded.unit) == (raw, value, unit)


def test_parameter_table() -> None:
    """Give every parameter type a unit and a resolution."""
    assert set(PARAMETER_TYPES) == set(ParameterType)
    assert PARAMETER_TYPES[ParameterType.HEIGHT].resolution == pytest.approx(0.01)
    assert PARAMETER_TYPES[ParameterType.TEMPERATURE].resolution == pytest.approx(0.1)
    assert PARAMETER_TYPES[ParameterType.COUNT].resolution == 1
    assert PARAMETER_TYPES[ParameterType.WIND_SPEED].resolution == 1
    assert {spec.key for spec in PARAMETER_TYPES.values()} >= {"temperature", "voltage"}


def test_parameter_value_range() -> None:
    """Refuse a raw value that is no signed 16-bit number."""
    for raw in (-32769, 32768):
        parameter = ComponentParameter.from_raw(1, 1, 30, 1, 3, raw, None)
        with pytest.raises(ValueError, match="raw_value"):
            encode_application_data([parameter])


# ---- text ----


def test_description_decoding() -> None:
    """Decode GB18030 up to the first NUL; replace bad bytes; cut trailing blanks."""
    assert decode_text("烟感  ".encode("gb18030") + bytes(25)) == "烟感"
    assert decode_text(b"abc\0garbage") == "abc"
    assert decode_text(b"ab\xff\xffcd") == "ab\ufffd\ufffdcd"
    assert decode_text(bytes(31)) == ""
    assert decode_text(b"\x81") == "\ufffd"


def test_bad_description_bytes_still_decode() -> None:
    """Decode a component whose description is not GB18030, with replacements."""
    raw = bytearray(encode_application_data([SAMPLES[ObjectType.COMPONENT_STATE][0]]))
    raw[2 + 9 : 2 + 12] = b"\x81\x20\xff"
    state = decode_application_data(bytes(raw)).objects[0]
    assert isinstance(state, ComponentState)
    assert "\ufffd" in state.description


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("一二三四五六七八九十一二三四五六", "一二三四五六七八九十一二三四五"),
        ("a一二三四五六七八九十一二三四五", "a一二三四五六七八九十一二三四五"),
        ("ab一二三四五六七八九十一二三四五", "ab一二三四五六七八九十一二三四"),
        ("x" * 40, "x" * 31),
        # An emoji is four bytes in GB18030: cut before it, not inside it.
        ("x" * 28 + "😀", "x" * 28),
    ],
)
def test_long_description_cut_at_character(text: str, expected: str) -> None:
    """Cut a description over 31 bytes at a character boundary."""
    encoded = encode_text(text, 31)
    assert len(encoded) <= 31
    assert encoded.decode("gb18030") == expected
    state = ComponentState(1, 1, 40, 1, ComponentStateFlags.NORMAL, text, None)
    decoded = decode_application_data(encode_application_data([state])).objects[0]
    assert isinstance(decoded, ComponentState)
    assert decoded.description == expected


def test_long_configuration_cut() -> None:
    """Cut configuration text over 255 bytes at a character boundary."""
    text = "配置" * 200
    for item in (SystemConfiguration(1, 1, text), TransmitterConfiguration(text)):
        decoded = decode_application_data(encode_application_data([item])).objects[0]
        assert isinstance(decoded, SystemConfiguration | TransmitterConfiguration)
        assert decoded.description == "配置" * 63 + "配"
        assert len(decoded.description.encode("gb18030")) == 254


def test_unencodable_text_is_replaced() -> None:
    """Encode a lone surrogate as a question mark instead of failing."""
    assert encode_text("a\ud800b", 31) == b"a?b"


# ---- malformed and unknown data ----


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "at least its type and object count"),
        (b"\x02", "at least its type and object count"),
        (bytes((2, 1)) + bytes(45), "says 1 objects of 46 bytes, but 45 bytes follow"),
        (bytes((2, 1)) + bytes(47), "but 47 bytes follow"),
        (bytes((2, 2)) + bytes(46), "2 objects"),
        (bytes((2, 0)) + bytes(1), "0 objects"),
        (bytes((21, 1)), "but 0 bytes follow"),
        (bytes((6, 1, 1, 1)), "Object 1 of 1 is cut short before its length byte"),
        (bytes((6, 1, 1, 1, 5, 65, 65)), "length byte says 5 bytes, but only 2 follow"),
        (bytes((6, 1, 1, 1, 1, 65, 0)), "1 bytes follow the last of the 1 objects"),
        (bytes((26, 2, 1, 65)), "Object 2 of 2 is cut short"),
        (bytes((26, 0, 0)), "1 bytes follow the last of the 0 objects"),
    ],
)
def test_malformed_application_data(data: bytes, message: str) -> None:
    """Refuse data whose length does not fit its count or its length bytes."""
    with pytest.raises(MalformedFrameError, match=re.escape(message)):
        decode_application_data(data)


@pytest.mark.parametrize("type_code", [0, 9, 20, 22, 27, 61, 90, 128, 255])
def test_unknown_object_type(type_code: int) -> None:
    """Refuse a type without a layout, keeping its code."""
    with pytest.raises(UnknownObjectTypeError) as caught:
        decode_application_data(bytes((type_code, 1, 0, 0)))
    assert caught.value.type_code == type_code
    assert str(type_code) in str(caught.value)
    assert isinstance(caught.value, Gb26875Error)
    assert not isinstance(caught.value, MalformedFrameError)


def test_bad_time_inside_object_is_none() -> None:
    """Give None for an object time that is no date, not an error."""
    raw = bytes((28, 2)) + bytes((0, 0, 0, 32, 1, 26)) + bytes((0, 0, 0, 1, 1, 26))
    assert decode_application_data(raw).objects == (
        TransmitterTime(None),
        TransmitterTime(datetime(2026, 1, 1)),
    )


def test_encode_refusals() -> None:
    """Refuse no objects, mixed types, too many objects and fields that do not fit."""
    with pytest.raises(ValueError, match="at least one object"):
        encode_application_data([])
    with pytest.raises(ValueError, match="one type only"):
        encode_application_data([TransmitterTime(T), SystemTime(1, 1, T)])
    with pytest.raises(ValueError, match="at most 255 objects"):
        encode_application_data([TransmitterTime(T)] * 256)
    assert len(encode_application_data([TransmitterTime(T)] * 255)) == 2 + 255 * 6
    too_big: list[ApplicationObject] = [
        SystemState(256, 1, SystemStateFlags.NORMAL, T),
        ComponentState(1, 1, 40, 1 << 32, ComponentStateFlags.NORMAL, "", T),
        ComponentState(1, 1, 40, 1, ComponentStateFlags(1 << 16), "", T),
        SystemOperation(1, 1, SystemOperationFlags(1 << 8), 0, T),
        SystemOperation(1, 1, SystemOperationFlags.RESET, -1, T),
        TransmitterSoftwareVersion(256, 0),
        TransmitterOperation(TransmitterOperationFlags.RESET, 256, T),
        SystemTime(1, 1, datetime(1999, 1, 1)),
    ]
    for item in too_big:
        with pytest.raises(ValueError, match=r"must be|years"):
            encode_application_data([item])


def test_time_sync_command() -> None:
    """Build the centre's clock-setting data: type 90, one time."""
    assert encode_time_sync(datetime(2026, 5, 1, 8, 30, 7)) == bytes(
        (90, 1, 7, 30, 8, 1, 5, 26)
    )
    assert int(CommandType.SYNC_TRANSMITTER_TIME) == 90
    assert int(CommandType.INSPECTION) == 91


# ---- flags ----


def test_flag_bits() -> None:
    """Number the state and operation bits as the standard does, bit 0 first."""
    assert int(ComponentStateFlags.NORMAL) == 1
    assert int(ComponentStateFlags.FIRE_ALARM) == 2
    assert int(ComponentStateFlags.DISABLED) == 8
    assert int(ComponentStateFlags.POWER_FAULT) == 256
    assert SystemStateFlags.MAIN_POWER_FAULT == 1 << 8
    assert SystemStateFlags.BUS_FAULT == 1 << 10
    assert SystemStateFlags.MANUAL == 1 << 11
    assert SystemStateFlags.RESET == 1 << 13
    assert TransmitterStateFlags.LINE_FAULT == 1 << 6
    assert SystemOperationFlags.CONFIRMED == 1 << 5
    assert TransmitterOperationFlags.INSPECTION_ANSWERED == 1 << 5
    assert TransmitterOperationFlags.TEST == 1 << 6


def test_component_state_properties() -> None:
    """Tell fire and fault apart."""
    fault = ComponentState(1, 1, 40, 1, ComponentStateFlags.FAULT, "", None)
    assert fault.fault
    assert not fault.fire_alarm


# ---- code tables ----


def test_code_tables_are_well_formed() -> None:
    """Give each code a unique snake_case key and a Chinese name."""
    for table in (SYSTEM_TYPES, COMPONENT_TYPES):
        keys = [name.key for name in table.values()]
        assert len(keys) == len(set(keys))
        for code, name in table.items():
            assert 0 <= code <= 255
            assert isinstance(name, CodeName)
            assert re.fullmatch(r"[a-z][a-z0-9_]*", name.key), name.key
            assert name.zh
    with pytest.raises(TypeError):
        SYSTEM_TYPES[99] = CodeName("x", "x")  # type: ignore[index]


@pytest.mark.parametrize(
    ("code", "key", "zh"),
    [
        (1, "fire_alarm_system", "火灾报警系统"),
        (10, "linkage_controller", "消防联动控制器"),
        (11, "hydrant_system", "消火栓系统"),
        (12, "sprinkler_system", "自动喷水灭火系统"),
        (21, "emergency_broadcast", "消防应急广播"),
        (22, "emergency_lighting", "消防应急照明和疏散指示系统"),
        (24, "fire_telephone", "消防电话"),
    ],
)
def test_system_types(code: int, key: str, zh: str) -> None:
    """Name the standard's system types."""
    assert SYSTEM_TYPES[code] == CodeName(key, zh)
    assert system_type_key(code) == key


@pytest.mark.parametrize(
    ("code", "key", "zh"),
    [
        (23, "manual_call_point", "手动火灾报警按钮"),
        (24, "hydrant_button", "消火栓按钮"),
        (30, "heat_detector", "感温火灾探测器"),
        (40, "smoke_detector", "感烟火灾探测器"),
        (42, "photoelectric_smoke_detector", "点型光电感烟火灾探测器"),
        (51, "smoke_heat_detector", "复合式感烟感温火灾探测器"),
        (61, "uv_flame_detector", "紫外火焰探测器"),
        (62, "ir_flame_detector", "红外火焰探测器"),
        (84, "module", "模块"),
        (88, "relay_module", "中继模块"),
        (91, "fire_pump", "消防水泵"),
        (92, "fire_water_tank", "消防水箱"),
        (95, "sprinkler_pump", "喷淋泵"),
        (96, "water_flow_indicator", "水流指示器"),
        (97, "signal_valve", "信号阀"),
        (98, "alarm_valve", "报警阀"),
        (99, "pressure_switch", "压力开关"),
        (121, "alarm_sounder", "警报装置"),
    ],
)
def test_component_types(code: int, key: str, zh: str) -> None:
    """Name the standard's component types."""
    assert COMPONENT_TYPES[code] == CodeName(key, zh)
    assert component_type_key(code) == key


def test_unknown_codes_get_a_type_key() -> None:
    """Key a vendor's own code by its number."""
    assert system_type_key(200) == "type_200"
    assert system_type_key(2) == "type_2"
    assert component_type_key(14) == "type_14"
    assert component_type_key(255) == "type_255"


def test_detector_kinds() -> None:
    """Group component types by what they sense."""
    smoke = [code for code in range(256) if is_smoke_detector(code)]
    heat = [code for code in range(256) if is_heat_detector(code)]
    gas = [code for code in range(256) if is_gas_detector(code)]
    assert smoke == [40, 41, 42, 43, 44, 51, 53]
    assert heat == [30, 31, 32, 33, 34, 35, 36, 37, 51, 52]
    assert gas == [10, 11, 12, 13, 74]
    for code in smoke + heat + gas:
        assert code in COMPONENT_TYPES
    assert not is_smoke_detector(23)
    assert not is_heat_detector(40)
    assert not is_gas_detector(40)
