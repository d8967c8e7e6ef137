"""Test fire panels: components learnt from reports, alarms, storage, the centre."""

from datetime import UTC, datetime
import json
import logging
from typing import Any

import pytest

from custom_components.smart_community.community.fire import (
    ComponentAlarm,
    ComponentEvent,
    FireCentre,
    FireComponent,
    FirePanel,
    ParameterValue,
)
from custom_components.smart_community.protocols.gb26875 import (
    Action,
    ApplicationData,
    ApplicationObject,
    ChecksumMode,
    ComponentConfiguration,
    ComponentParameter,
    ComponentState,
    ComponentStateFlags,
    Frame,
    ParameterType,
    Problem,
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
)

from .conftest import Counter

LOGGER_NAME = "custom_components.smart_community.community.fire"
# The centre's clock (UTC) and the device's own (naive local time).
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
DEVICE_TIME = datetime(2026, 11, 21, 17, 0, 5)
ADDRESS = 0x0A0B0C0D0E0F
OTHER_ADDRESS = 0x000000000002

NORMAL = ComponentStateFlags.NORMAL
FIRE = ComponentStateFlags.NORMAL | ComponentStateFlags.FIRE_ALARM
FAULT = ComponentStateFlags.NORMAL | ComponentStateFlags.FAULT
SUPERVISORY = ComponentStateFlags.NORMAL | ComponentStateFlags.SUPERVISORY
SMOKE_DETECTOR = 42
SMOKE_HEAT_DETECTOR = 51


def frame_of(*objects: ApplicationObject) -> ApplicationData:
    """Wrap objects of one type as a frame's application data."""
    return ApplicationData(objects[0].TYPE, objects)


def component_state(
    address: int,
    state: ComponentStateFlags,
    description: str = "",
    time: datetime | None = DEVICE_TIME,
) -> ComponentState:
    """Report the state of a smoke detector on fire-alarm system 1, panel 1."""
    return ComponentState(1, 1, SMOKE_DETECTOR, address, state, description, time)


def parameter(
    address: int,
    parameter_type: int,
    raw_value: int,
    component_type: int = SMOKE_DETECTOR,
    time: datetime | None = DEVICE_TIME,
) -> ComponentParameter:
    """Report a measured value of a component on system 1, panel 1."""
    return ComponentParameter.from_raw(
        1, 1, component_type, address, parameter_type, raw_value, time
    )


class Recorder[*Args]:
    """Keep the arguments of every call."""

    def __init__(self) -> None:
        """Start with no calls."""
        self.calls: list[tuple[*Args]] = []

    def __call__(self, *args: *Args) -> None:
        """Keep one call's arguments."""
        self.calls.append(args)


class Watched:
    """A panel with a recorder on each of its panel-wide listener lists."""

    def __init__(self, panel: FirePanel) -> None:
        """Follow every listener list of ``panel``."""
        self.panel = panel
        self.connection = Counter()
        self.state = Counter()
        self.changed = Counter()
        self.added = Recorder[str]()
        self.parameter_added = Recorder[str, int]()
        self.alarms = Recorder[ComponentAlarm]()
        self.operations = Recorder[SystemOperation | TransmitterOperation]()
        panel.connection_listeners.add(self.connection)
        panel.state_listeners.add(self.state)
        panel.changed.add(self.changed)
        panel.component_added.add(self.added)
        panel.parameter_added.add(self.parameter_added)
        panel.alarms.add(self.alarms)
        panel.operations.add(self.operations)

    def events(self) -> list[ComponentEvent]:
        """List the alarm events raised so far, in order."""
        return [alarm.event for (alarm,) in self.alarms.calls]

    def quiet(self) -> bool:
        """Tell whether no listener has been called."""
        return (
            self.connection.calls == self.state.calls == self.changed.calls == 0
            and not self.added.calls
            and not self.parameter_added.calls
            and not self.alarms.calls
            and not self.operations.calls
        )


def new_panel(name: str = "1号楼 消控室", address: int = ADDRESS) -> FirePanel:
    """Return a panel whose clock stands still at NOW."""
    return FirePanel("panel-1", name, address, ChecksumMode.SUM, clock=lambda: NOW)


@pytest.fixture
def watched() -> Watched:
    """Return a new panel with every listener list followed."""
    return Watched(new_panel())


def test_new_component_is_added_with_its_first_alarm(watched: Watched) -> None:
    """A component's first report adds it; the alarm it came with is kept."""
    panel = watched.panel
    panel.receive(
        frame_of(component_state(7, FIRE | ComponentStateFlags.FAULT, "3层 走廊"))
    )
    fire = ComponentAlarm("1-1-7", ComponentEvent.FIRE_ALARM, "3层 走廊", DEVICE_TIME)
    fault = ComponentAlarm("1-1-7", ComponentEvent.FAULT, "3层 走廊", DEVICE_TIME)
    assert watched.added.calls == [("1-1-7",)]
    assert watched.alarms.calls == [(fire,), (fault,)]
    assert (watched.state.calls, watched.changed.calls) == (1, 1)
    component = panel.components["1-1-7"]
    assert component.first_alarm == fire
    assert (component.system_type, component.system_address) == (1, 1)
    assert (component.component_type, component.component_address) == (
        SMOKE_DETECTOR,
        7,
    )
    assert component.description == "3层 走廊"
    assert component.last_report == NOW
    assert component.fire_alarm
    assert component.fault
    assert (panel.frames, panel.last_frame) == (1, NOW)


def test_new_quiet_component_has_no_first_alarm(watched: Watched) -> None:
    """A component that first reports all is well is added without an alarm."""
    watched.panel.receive(frame_of(component_state(8, NORMAL)))
    assert watched.added.calls == [("1-1-8",)]
    assert watched.alarms.calls == []
    component = watched.panel.components["1-1-8"]
    assert component.first_alarm is None
    assert not component.fire_alarm
    assert not component.fault
    assert component.description == ""


def test_report_wakes_only_its_component(watched: Watched) -> None:
    """A report wakes the entities of its own component, never another's."""
    panel = watched.panel
    panel.receive(frame_of(component_state(1, NORMAL), component_state(2, NORMAL)))
    first, second = Counter(), Counter()
    remove_first = panel.add_component_listener("1-1-1", first)
    panel.add_component_listener("1-1-2", second)
    assert watched.state.calls == 1

    panel.receive(frame_of(component_state(1, FAULT, "水泵房")))
    assert (first.calls, second.calls) == (1, 0)
    assert watched.state.calls == 2
    assert panel.components["1-1-1"].description == "水泵房"

    # The same state again: the component reported (its last report moved),
    # but no panel-wide count changed; an empty description keeps the old one.
    panel.receive(frame_of(component_state(1, FAULT)))
    assert (first.calls, second.calls) == (2, 0)
    assert watched.state.calls == 2
    assert panel.components["1-1-1"].description == "水泵房"
    assert watched.added.calls == [("1-1-1",), ("1-1-2",)]

    remove_first()
    panel.receive(frame_of(component_state(1, NORMAL)))
    assert (first.calls, second.calls) == (2, 0)
    assert watched.changed.calls == 5


def test_report_of_component_without_listener(watched: Watched) -> None:
    """A known component nobody follows reports without trouble."""
    panel = watched.panel
    panel.receive(frame_of(component_state(1, NORMAL)))
    panel.receive(frame_of(component_state(1, FIRE)))
    assert panel.components["1-1-1"].fire_alarm
    assert watched.events() == [ComponentEvent.FIRE_ALARM]


def test_alarms_on_rising_edges_and_restored(watched: Watched) -> None:
    """Each alarm state raises one event as it starts; the all-clear ends them."""
    panel = watched.panel
    steps: list[tuple[ComponentStateFlags, list[ComponentEvent]]] = [
        (NORMAL, []),
        (FIRE, [ComponentEvent.FIRE_ALARM]),
        (FIRE, []),
        (FIRE | ComponentStateFlags.FAULT, [ComponentEvent.FAULT]),
        # Fire ends but a fault stays: not restored yet.
        (FAULT | ComponentStateFlags.SUPERVISORY, [ComponentEvent.SUPERVISORY]),
        (FAULT, []),
        (NORMAL, [ComponentEvent.RESTORED]),
        (NORMAL, []),
        # States that are no alarm raise nothing.
        (NORMAL | ComponentStateFlags.STARTED | ComponentStateFlags.DISABLED, []),
        (ComponentStateFlags.SUPERVISORY, [ComponentEvent.SUPERVISORY]),
        (ComponentStateFlags(0), [ComponentEvent.RESTORED]),
    ]
    for state, expected in steps:
        before = len(watched.alarms.calls)
        panel.receive(frame_of(component_state(5, state, "5层 电梯前室")))
        assert watched.events()[before:] == expected, state
    assert {alarm.component_id for (alarm,) in watched.alarms.calls} == {"1-1-5"}
    assert {alarm.description for (alarm,) in watched.alarms.calls} == {"5层 电梯前室"}


def test_alarm_keeps_device_time(watched: Watched) -> None:
    """An alarm carries the device's time, or None when it sent no valid time."""
    panel = watched.panel
    panel.receive(frame_of(component_state(3, NORMAL)))
    panel.receive(frame_of(component_state(3, FIRE, time=None)))
    panel.receive(frame_of(component_state(3, NORMAL)))
    assert [alarm.time for (alarm,) in watched.alarms.calls] == [None, DEVICE_TIME]


def test_parameter_of_unknown_component_creates_it(watched: Watched) -> None:
    """A measured value from a component never seen adds it, value included."""
    panel = watched.panel
    panel.receive(frame_of(parameter(9, ParameterType.TEMPERATURE, 253)))
    assert watched.added.calls == [("1-1-9",)]
    assert watched.parameter_added.calls == []
    assert watched.alarms.calls == []
    # The panel's component count changed.
    assert watched.state.calls == 1
    assert watched.changed.calls == 1
    component = panel.components["1-1-9"]
    assert component.state is NORMAL
    assert component.first_alarm is None
    assert component.last_report == NOW
    assert component.parameters == {
        ParameterType.TEMPERATURE: ParameterValue(25.3, "°C", DEVICE_TIME)
    }


def test_parameter_types_of_known_component(watched: Watched) -> None:
    """A new parameter type is announced; a known one wakes its component only."""
    panel = watched.panel
    panel.receive(frame_of(component_state(9, NORMAL)))
    listener = Counter()
    panel.add_component_listener("1-1-9", listener)

    panel.receive(
        frame_of(
            parameter(
                9, ParameterType.TEMPERATURE, 253, component_type=SMOKE_HEAT_DETECTOR
            )
        )
    )
    assert watched.parameter_added.calls == [("1-1-9", ParameterType.TEMPERATURE)]
    assert listener.calls == 0
    # The latest report names the component's type.
    assert panel.components["1-1-9"].component_type == SMOKE_HEAT_DETECTOR

    panel.receive(frame_of(parameter(9, ParameterType.TEMPERATURE, 261, time=None)))
    assert watched.parameter_added.calls == [("1-1-9", ParameterType.TEMPERATURE)]
    assert listener.calls == 1
    assert panel.components["1-1-9"].parameters[
        ParameterType.TEMPERATURE
    ] == ParameterValue(26.1, "°C", None)

    # A vendor's own parameter type: the raw value, no unit.
    panel.receive(frame_of(parameter(9, 200, -5)))
    assert watched.parameter_added.calls == [
        ("1-1-9", ParameterType.TEMPERATURE),
        ("1-1-9", 200),
    ]
    assert panel.components["1-1-9"].parameters[200] == ParameterValue(
        -5.0, None, DEVICE_TIME
    )
    assert watched.added.calls == [("1-1-9",)]
    assert watched.state.calls == 1
    assert watched.changed.calls == 4


def test_heartbeat_notifies_only_on_change(watched: Watched) -> None:
    """A repeated transmitter state is a heartbeat; only a new state is news."""
    panel = watched.panel
    assert panel.transmitter_state is None
    panel.receive(frame_of(TransmitterState(TransmitterStateFlags.NORMAL, DEVICE_TIME)))
    assert watched.state.calls == 1
    panel.receive(frame_of(TransmitterState(TransmitterStateFlags.NORMAL, None)))
    panel.receive(frame_of(TransmitterState(TransmitterStateFlags.NORMAL, NOW)))
    assert watched.state.calls == 1
    fault = TransmitterStateFlags.NORMAL | TransmitterStateFlags.CHANNEL_FAULT
    panel.receive(frame_of(TransmitterState(fault, DEVICE_TIME)))
    assert watched.state.calls == 2
    assert panel.transmitter_state == fault
    assert panel.frames == 4
    assert watched.changed.calls == 0


def test_system_states_notify_on_change(watched: Watched) -> None:
    """Each fire system's state is kept apart; a repeat notifies nobody."""
    panel = watched.panel
    mains = SystemStateFlags.NORMAL | SystemStateFlags.MAIN_POWER_FAULT
    backup = SystemStateFlags.NORMAL | SystemStateFlags.BACKUP_POWER_FAULT
    panel.receive(frame_of(SystemState(1, 1, mains, DEVICE_TIME)))
    assert watched.state.calls == 1
    assert (panel.main_power_fault, panel.backup_power_fault) == (True, False)
    panel.receive(frame_of(SystemState(1, 1, mains, None)))
    assert watched.state.calls == 1
    panel.receive(frame_of(SystemState(1, 2, backup, DEVICE_TIME)))
    assert watched.state.calls == 2
    assert (panel.main_power_fault, panel.backup_power_fault) == (True, True)
    assert not panel.fire_alarm

    panel.receive(frame_of(SystemState(1, 1, SystemStateFlags.NORMAL, DEVICE_TIME)))
    assert (panel.main_power_fault, panel.backup_power_fault) == (False, True)
    panel.receive(
        frame_of(
            SystemState(
                1, 2, SystemStateFlags.NORMAL | SystemStateFlags.FIRE_ALARM, None
            )
        )
    )
    assert watched.state.calls == 4
    assert (panel.fire_alarm, panel.backup_power_fault) == (True, False)
    assert panel.system_states == {
        (1, 1): SystemStateFlags.NORMAL,
        (1, 2): SystemStateFlags.NORMAL | SystemStateFlags.FIRE_ALARM,
    }


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (TransmitterState(TransmitterStateFlags.NORMAL, None), (False, False, False)),
        (
            TransmitterState(TransmitterStateFlags.FIRE_ALARM, None),
            (True, False, False),
        ),
        (
            TransmitterState(TransmitterStateFlags.MAIN_POWER_FAULT, None),
            (False, True, False),
        ),
        (
            TransmitterState(TransmitterStateFlags.BACKUP_POWER_FAULT, None),
            (False, False, True),
        ),
        (SystemState(1, 1, SystemStateFlags.NORMAL, None), (False, False, False)),
        (SystemState(1, 1, SystemStateFlags.FIRE_ALARM, None), (True, False, False)),
        (
            SystemState(1, 1, SystemStateFlags.MAIN_POWER_FAULT, None),
            (False, True, False),
        ),
        (
            SystemState(1, 1, SystemStateFlags.BACKUP_POWER_FAULT, None),
            (False, False, True),
        ),
        (component_state(1, FIRE), (True, False, False)),
        # A component's own power fault is no fault of the panel's supplies.
        (
            component_state(1, NORMAL | ComponentStateFlags.POWER_FAULT),
            (False, False, False),
        ),
    ],
    ids=[
        "transmitter-normal",
        "transmitter-fire",
        "transmitter-main-power",
        "transmitter-backup-power",
        "system-normal",
        "system-fire",
        "system-main-power",
        "system-backup-power",
        "component-fire",
        "component-power-fault",
    ],
)
def test_panel_alarm_properties(
    report: ApplicationObject, expected: tuple[bool, bool, bool]
) -> None:
    """Fire and power faults come from the device, its systems or components."""
    panel = new_panel()
    assert (panel.fire_alarm, panel.main_power_fault, panel.backup_power_fault) == (
        False,
        False,
        False,
    )
    panel.receive(frame_of(report))
    assert (
        panel.fire_alarm,
        panel.main_power_fault,
        panel.backup_power_fault,
    ) == expected


def test_fire_alarm_and_fault_counts(watched: Watched) -> None:
    """The panel counts its components in fire alarm and in fault."""
    panel = watched.panel
    assert (panel.fire_alarms, panel.faults) == (0, 0)
    panel.receive(
        frame_of(
            component_state(1, FIRE),
            component_state(2, FIRE | ComponentStateFlags.FAULT),
            component_state(3, FAULT),
            component_state(4, NORMAL),
        )
    )
    assert (panel.fire_alarms, panel.faults) == (2, 2)
    # Four components in one frame: one panel-wide notice.
    assert watched.state.calls == 1
    panel.receive(frame_of(component_state(1, NORMAL), component_state(3, NORMAL)))
    assert (panel.fire_alarms, panel.faults) == (1, 1)
    assert watched.state.calls == 2


def test_operations_are_passed_on(watched: Watched) -> None:
    """Operations on a system or on the device go to the operations listeners."""
    silence = SystemOperation(1, 1, SystemOperationFlags.SILENCE, 3, DEVICE_TIME)
    answered = TransmitterOperation(
        TransmitterOperationFlags.INSPECTION_ANSWERED, 0, None
    )
    watched.panel.receive(frame_of(silence))
    watched.panel.receive(frame_of(answered))
    assert watched.operations.calls == [(silence,), (answered,)]
    assert watched.state.calls == watched.changed.calls == 0


@pytest.mark.parametrize(
    "report",
    [
        SystemSoftwareVersion(1, 1, 2, 10),
        SystemConfiguration(1, 1, "JB-QB-GST200"),
        ComponentConfiguration(1, 1, SMOKE_DETECTOR, 7, "3层 走廊"),
        SystemTime(1, 1, DEVICE_TIME),
        TransmitterSoftwareVersion(1, 3),
        TransmitterConfiguration("用户信息传输装置"),
        TransmitterTime(None),
    ],
    ids=lambda report: type(report).__name__,
)
def test_objects_that_change_nothing(
    watched: Watched, report: ApplicationObject
) -> None:
    """Versions, configuration and clocks count as a frame and nothing else."""
    watched.panel.receive(frame_of(report))
    assert watched.quiet()
    assert watched.panel.components == {}
    assert (watched.panel.frames, watched.panel.last_frame) == (1, NOW)


def test_frame_without_data_is_counted(watched: Watched) -> None:
    """A frame with no application data counts and tells nobody."""
    watched.panel.receive(None)
    watched.panel.receive(None)
    assert watched.quiet()
    assert (watched.panel.frames, watched.panel.last_frame) == (2, NOW)


def test_frames_are_timed_by_the_centre_clock() -> None:
    """The last frame's time is the centre's, read on each frame."""
    times = iter([NOW, NOW.replace(minute=1)])
    panel = FirePanel(
        "panel-1", "消控室", ADDRESS, ChecksumMode.SUM, clock=lambda: next(times)
    )
    panel.receive(None)
    assert panel.last_frame == NOW
    panel.receive(None)
    assert panel.last_frame == NOW.replace(minute=1)


def test_default_clock_is_utc() -> None:
    """Without a clock, frames are timed by the system clock in UTC."""
    panel = FirePanel("panel-1", "消控室", ADDRESS, ChecksumMode.SUM)
    before = datetime.now(UTC)
    panel.receive(None)
    assert panel.last_frame is not None
    assert before <= panel.last_frame <= datetime.now(UTC)


def test_set_connected_notifies_once_per_change(
    watched: Watched, caplog: pytest.LogCaptureFixture
) -> None:
    """Coming up and going away each notify once and are logged."""
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    panel = watched.panel
    assert (panel.connected, panel.peer) == (False, None)
    panel.set_connected(False)
    assert watched.connection.calls == 0

    panel.set_connected(True, "192.0.2.10:40001")
    assert (panel.connected, panel.peer) == (True, "192.0.2.10:40001")
    panel.set_connected(True, "192.0.2.10:40001")
    assert watched.connection.calls == 1
    # It redialled before the old connection closed: still one change.
    panel.set_connected(True, "192.0.2.10:40002")
    assert (panel.connected, panel.peer) == (True, "192.0.2.10:40002")
    assert watched.connection.calls == 1

    panel.set_connected(False, "192.0.2.10:40001")
    assert (panel.connected, panel.peer) == (False, None)
    panel.set_connected(False)
    assert watched.connection.calls == 2

    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (
            logging.INFO,
            "Fire transmission device 1号楼 消控室 (0A0B0C0D0E0F) connected "
            "from 192.0.2.10:40001",
        ),
        (
            logging.WARNING,
            "Fire transmission device 1号楼 消控室 (0A0B0C0D0E0F) disconnected",
        ),
    ]
    assert watched.state.calls == watched.changed.calls == 0


def test_remove_component(watched: Watched) -> None:
    """A removed component is forgotten with its listeners; it returns as new."""
    panel = watched.panel
    panel.receive(frame_of(component_state(1, FIRE), component_state(2, NORMAL)))
    listener = Counter()
    panel.add_component_listener("1-1-1", listener)
    assert panel.fire_alarms == 1

    assert panel.remove_component("1-1-1")
    assert list(panel.components) == ["1-1-2"]
    assert panel.fire_alarms == 0
    assert (watched.state.calls, watched.changed.calls) == (2, 3)

    panel.receive(frame_of(component_state(1, FIRE)))
    assert watched.added.calls == [("1-1-1",), ("1-1-2",), ("1-1-1",)]
    assert listener.calls == 0
    # It is new again, so its fire is news again.
    assert watched.events() == [ComponentEvent.FIRE_ALARM, ComponentEvent.FIRE_ALARM]


def test_remove_unknown_component(watched: Watched) -> None:
    """Removing a component the panel does not know changes nothing."""
    watched.panel.receive(frame_of(component_state(1, NORMAL)))
    state_calls, changed_calls = watched.state.calls, watched.changed.calls
    assert not watched.panel.remove_component("1-1-99")
    assert list(watched.panel.components) == ["1-1-1"]
    assert (watched.state.calls, watched.changed.calls) == (state_calls, changed_calls)


def test_save_and_restore_round_trip(watched: Watched) -> None:
    """Components, their parameters and missing times survive a JSON store."""
    panel = watched.panel
    panel.receive(
        frame_of(
            component_state(7, FAULT | ComponentStateFlags.DISABLED, "3层 走廊"),
            component_state(8, NORMAL),
        )
    )
    panel.receive(
        frame_of(
            parameter(7, ParameterType.TEMPERATURE, 253, time=None),
            parameter(7, 200, 12),
        )
    )
    saved = json.loads(json.dumps(panel.as_dict()))
    assert saved["1-1-7"] == {
        "system_type": 1,
        "system_address": 1,
        "component_type": SMOKE_DETECTOR,
        "component_address": 7,
        "description": "3层 走廊",
        "state": int(FAULT | ComponentStateFlags.DISABLED),
        "last_report": NOW.isoformat(),
        "parameters": {
            "3": {"value": 25.3, "unit": "°C", "time": None},
            "200": {
                "value": 12.0,
                "unit": None,
                "time": DEVICE_TIME.isoformat(),
            },
        },
    }

    restored = new_panel()
    restored.restore(saved)
    assert restored.as_dict() == saved
    component = restored.components["1-1-7"]
    assert component.state == FAULT | ComponentStateFlags.DISABLED
    assert component.last_report == NOW
    assert component.parameters == {
        ParameterType.TEMPERATURE: ParameterValue(25.3, "°C", None),
        200: ParameterValue(12.0, None, DEVICE_TIME),
    }
    # A restored component is known: its next report is a change, not an addition.
    added = Recorder[str]()
    alarms = Recorder[ComponentAlarm]()
    restored.component_added.add(added)
    restored.alarms.add(alarms)
    restored.receive(frame_of(component_state(7, NORMAL)))
    assert added.calls == []
    assert alarms.calls == [
        (ComponentAlarm("1-1-7", ComponentEvent.RESTORED, "3层 走廊", DEVICE_TIME),)
    ]


def test_component_that_never_reported_round_trips() -> None:
    """A component without a last report is saved and read back as such."""
    component = FireComponent("1-2-3", 1, 2, SMOKE_DETECTOR, 3)
    saved = component.as_dict()
    assert saved["last_report"] is None
    assert saved["parameters"] == {}
    assert FireComponent.from_dict(saved) == component


# Marks a field _saved leaves out.
DROP = object()


def _saved(**changes: Any) -> dict[str, Any]:
    """Return a saved component with some fields changed; DROP removes one."""
    data: dict[str, Any] = {
        "system_type": 1,
        "system_address": 1,
        "component_type": SMOKE_DETECTOR,
        "component_address": 9,
        "description": "",
        "state": 1,
        "last_report": NOW.isoformat(),
        "parameters": {"3": {"value": 25.3, "unit": "°C", "time": None}},
    }
    for key, value in changes.items():
        if value is DROP:
            del data[key]
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    "damaged",
    [
        _saved(state=DROP),
        _saved(parameters=DROP),
        _saved(system_type="one"),
        _saved(component_address=None),
        _saved(last_report="yesterday"),
        _saved(last_report=["2026-11-21"]),
        _saved(parameters=[]),
        _saved(parameters={"temperature": {"value": 1, "unit": None, "time": None}}),
        _saved(parameters={"3": 25.3}),
        _saved(parameters={"3": {"value": "hot", "unit": None, "time": None}}),
        _saved(parameters={"3": {"value": 25.3, "unit": None}}),
        _saved(description=None),
        _saved(last_report=20261121),
        None,
        "1-1-9",
        [],
    ],
    ids=[
        "missing-state",
        "missing-parameters",
        "text-system-type",
        "none-address",
        "bad-time",
        "list-time",
        "parameters-list",
        "text-parameter-type",
        "parameter-number",
        "text-value",
        "parameter-missing-time",
        "none-description",
        "number-time",
        "none",
        "string",
        "list",
    ],
)
def test_restore_skips_damaged_component(
    damaged: object, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged saved component is dropped with a warning; the others stay."""
    panel = new_panel()
    panel.restore({"1-1-1": _saved(component_address=1), "1-1-9": damaged})
    panel.restore({"1-1-2": _saved(component_address=2)})
    assert sorted(panel.components) == ["1-1-1", "1-1-2"]
    warnings = [record for record in caplog.records if record.name == LOGGER_NAME]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert (
        warnings[0]
        .getMessage()
        .startswith(
            "Fire panel 1号楼 消控室: a saved component 1-1-9 is damaged and was dropped ("
        )
    )


def test_restore_on_a_panel_with_components() -> None:
    """Restored components join those already known, replacing their namesakes."""
    panel = new_panel()
    panel.receive(frame_of(component_state(1, FIRE), component_state(2, NORMAL)))
    panel.restore({"1-1-1": _saved(component_address=1, description="restored")})
    assert sorted(panel.components) == ["1-1-1", "1-1-2"]
    assert panel.components["1-1-1"].description == "restored"
    assert not panel.components["1-1-1"].fire_alarm


# ---- the centre ----


@pytest.fixture
def centre() -> FireCentre:
    """Return a centre on port 9000 serving two panels of different checksums."""
    centre = FireCentre(9000)
    centre.add(new_panel())
    centre.add(
        FirePanel(
            "panel-2",
            "2号楼 消控室",
            OTHER_ADDRESS,
            ChecksumMode.XOR,
            clock=lambda: NOW,
        )
    )
    return centre


def test_centre_starts_empty() -> None:
    """A new centre has no panels, no server and no problems."""
    centre = FireCentre(9000)
    assert (centre.port, centre.panels, centre.server) == (9000, {}, None)
    assert (sum(centre.problems.values()), centre.last_problem) == (0, None)


def test_checksum_mode(centre: FireCentre) -> None:
    """A configured device's checksum mode is known; any other device has none."""
    assert centre.checksum_mode(ADDRESS) is ChecksumMode.SUM
    assert centre.checksum_mode(OTHER_ADDRESS) is ChecksumMode.XOR
    assert centre.checksum_mode(0x123456) is None


def test_frame_received_goes_to_its_panel(centre: FireCentre) -> None:
    """A frame is applied to the panel of the device that sent it."""
    report = frame_of(component_state(1, FIRE))
    frame = Frame(1, (1, 1), DEVICE_TIME, OTHER_ADDRESS, 0, Action.SEND_DATA, b"")
    centre.frame_received(OTHER_ADDRESS, frame, report)
    centre.frame_received(OTHER_ADDRESS, frame, None)
    first, second = centre.panels[ADDRESS], centre.panels[OTHER_ADDRESS]
    assert (first.frames, second.frames) == (0, 2)
    assert first.components == {}
    assert second.fire_alarm


def test_connection_changed(centre: FireCentre) -> None:
    """A configured device's connection reaches its panel; others are ignored."""
    listener = Counter()
    panel = centre.panels[ADDRESS]
    panel.connection_listeners.add(listener)
    centre.connection_changed(ADDRESS, True, "192.0.2.10:40001")
    assert (panel.connected, panel.peer) == (True, "192.0.2.10:40001")
    centre.connection_changed(0x123456, True, "192.0.2.99:40001")
    assert not centre.panels[OTHER_ADDRESS].connected
    centre.connection_changed(ADDRESS, False, "192.0.2.10:40001")
    assert not panel.connected
    assert listener.calls == 2


def test_problem_is_logged_once_per_sender(
    centre: FireCentre, caplog: pytest.LogCaptureFixture
) -> None:
    """Each problem is counted; it is a warning once per sender, then debug."""
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    centre.problem(Problem.BAD_CHECKSUM, "192.0.2.10:40001", ADDRESS, "sum 0x12")
    centre.problem(Problem.BAD_CHECKSUM, "192.0.2.10:40002", ADDRESS, "sum 0x13")
    centre.problem(Problem.BAD_CHECKSUM, "192.0.2.10:40002", OTHER_ADDRESS, "sum 0x14")
    centre.problem(Problem.MALFORMED, "192.0.2.10:40001", ADDRESS, "too short")
    # No frame named a sender: the peer's host stands for it, whatever its port.
    centre.problem(Problem.GARBAGE, "192.0.2.20:50000", None, "3 bytes skipped")
    centre.problem(Problem.GARBAGE, "192.0.2.20:50001", None, "4 bytes skipped")

    assert centre.problems == {
        Problem.BAD_CHECKSUM: 3,
        Problem.MALFORMED: 1,
        Problem.GARBAGE: 2,
    }
    assert centre.last_problem == "garbage: 4 bytes skipped"
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (
            logging.WARNING,
            "Fire centre port 9000: bad_checksum from 0A0B0C0D0E0F (sum 0x12); "
            "further ones are only counted",
        ),
        (logging.DEBUG, "Fire centre port 9000: sum 0x13 from 0A0B0C0D0E0F"),
        (
            logging.WARNING,
            "Fire centre port 9000: bad_checksum from 000000000002 (sum 0x14); "
            "further ones are only counted",
        ),
        (
            logging.WARNING,
            "Fire centre port 9000: malformed from 0A0B0C0D0E0F (too short); "
            "further ones are only counted",
        ),
        (
            logging.WARNING,
            "Fire centre port 9000: garbage from 192.0.2.20 (3 bytes skipped); "
            "further ones are only counted",
        ),
        (logging.DEBUG, "Fire centre port 9000: 4 bytes skipped from 192.0.2.20"),
    ]


def test_unknown_transmitter_problem(
    centre: FireCentre, caplog: pytest.LogCaptureFixture
) -> None:
    """A device that is not configured is told apart: add a panel to accept it."""
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    detail = "Transmitter 000000123456 is not configured"
    centre.problem(Problem.UNKNOWN_TRANSMITTER, "192.0.2.30:1234", 0x123456, detail)
    centre.problem(Problem.UNKNOWN_TRANSMITTER, "192.0.2.30:1235", 0x123456, detail)
    assert centre.problems[Problem.UNKNOWN_TRANSMITTER] == 2
    assert centre.last_problem == f"unknown_transmitter: {detail}"
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (
            logging.WARNING,
            "Fire centre port 9000: transmission device 000000123456 (from "
            "192.0.2.30:1234) is not configured; add a fire panel with this "
            "address to accept it",
        ),
        (logging.DEBUG, f"Fire centre port 9000: {detail} from 000000123456"),
    ]


def test_configuration_names_a_known_component(watched: Watched) -> None:
    """The device's component configuration renames a component it has reported."""
    panel = watched.panel
    panel.receive(frame_of(component_state(7, ComponentStateFlags.NORMAL)))
    woken = Counter()
    panel.add_component_listener("1-1-7", woken)
    saves = watched.changed.calls
    panel.receive(frame_of(ComponentConfiguration(1, 1, SMOKE_DETECTOR, 7, "3层 走廊")))
    assert panel.components["1-1-7"].description == "3层 走廊"
    assert woken.calls == 1
    assert watched.changed.calls == saves + 1
    # An empty description keeps the one it has.
    panel.receive(frame_of(ComponentConfiguration(1, 1, SMOKE_DETECTOR, 7, "")))
    assert panel.components["1-1-7"].description == "3层 走廊"
    assert woken.calls == 1
