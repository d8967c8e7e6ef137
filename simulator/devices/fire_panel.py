"""Play a fire-alarm user information transmission device (用户信息传输装置).

The device speaks GB/T 26875.3-2011 as a TCP *client*: it dials the monitoring
centre (Home Assistant), reports the state of the fire-alarm controllers and
their components, and waits for an acknowledgement of every frame
(shared/notes/protocols.md §3.2). It listens on no port and does not dial at
start-up; the ``connect`` action says where the centre is.

What the simulated device reproduces:

- On every connection: its own state (type 21) and clock (type 28), each
  system's state (type 1), every component's state (type 2, at most 20 per
  frame) and every reading (type 3); then a heartbeat (type 21) whenever the
  link has been idle for ``heartbeat_seconds``.
- Stop-and-wait delivery (or a small window), retransmission with the same
  serial and bytes, loss after ``retries``, reconnection with backoff
  (see ``simulator.devices.gb26875.link``).
- Wire quirks on request: frames cut into chunks or two frames in one write
  (``split_frames``), XOR checksums, raw bytes, a connection dropped mid-frame.
- A fire that spreads: ``alarm`` sets one detector, then its neighbour.
- Hydrant pressures and tank levels that drift a little every ``drift_seconds``.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
import logging
import random
from typing import Final, override

from simulator.devices.base import (
    ActionError,
    PortInfo,
    SimulatedDevice,
    UnknownActionError,
    register_kind,
)
from simulator.devices.gb26875.components import (
    EVENT_BITS,
    Component,
    SystemType,
    default_alarm_target,
    neighbour_of,
)
from simulator.devices.gb26875.frame import format_address
from simulator.devices.gb26875.link import LinkSettings, NotConnectedError, Uplink
from simulator.devices.gb26875.objects import (
    ObjectType,
    OperationFlag,
    StateFlag,
    TransmitterFlag,
    app_data,
    app_data_units,
    component_parameter,
    component_state,
    quantize,
    system_operation,
    system_state,
    transmitter_operation,
    transmitter_state,
    transmitter_time,
)
from simulator.devices.gb26875.options import (
    MAX_RETRIES,
    MAX_WINDOW,
    FirePanelOptions,
    FireReader,
)
from simulator.jsonvalue import JSONObject, JSONValue
from simulator.kinds import DeviceKind
from simulator.scenario import DeviceSpec, Scenario

_LOGGER: Final = logging.getLogger(__name__)

_PROTOCOL: Final = "gb26875-tcp-client"
# How long ``connect`` waits for the first dial to succeed or fail.
_CONNECT_WAIT: Final = 5.0
_MAX_PORT: Final = 65535
# How long after the first detector its neighbour joins the alarm.
_SPREAD_SECONDS: Final = 2.0
# send_raw: the pause between chunks, long enough to arrive as separate reads.
_RAW_PAUSE_SECONDS: Final = 0.05
# Drift: how far a reading strays from its level, as a share of it.
_DRIFT_SHARE: Final = 0.01
# System state bits that reflect what the system's components report.
_SYSTEM_BITS: Final = (
    StateFlag.FIRE_ALARM
    | StateFlag.FAULT
    | StateFlag.DISABLED
    | StateFlag.SUPERVISORY
    | StateFlag.STARTED
    | StateFlag.FEEDBACK
    | StateFlag.DELAYED
)
_COMPONENT_FLAGS: Final = {
    "fire_alarm": StateFlag.FIRE_ALARM,
    "fault": StateFlag.FAULT,
    "disabled": StateFlag.DISABLED,
    "supervisory": StateFlag.SUPERVISORY,
    "started": StateFlag.STARTED,
    "feedback": StateFlag.FEEDBACK,
    "delayed": StateFlag.DELAYED,
    "power_fault": StateFlag.POWER_FAULT,
}
_OPERATION_FLAGS: Final = {
    "reset": OperationFlag.RESET,
    "silence": OperationFlag.SILENCE,
    "manual_alarm": OperationFlag.MANUAL_ALARM,
    "alarm_clear": OperationFlag.ALARM_CLEAR,
    "self_test": OperationFlag.SELF_TEST,
    "acknowledge": OperationFlag.ACKNOWLEDGE,
    "test": OperationFlag.TEST,
}


class NotConnectedActionError(ActionError):
    """Refuse an action that needs an open connection to the centre."""

    status = 409


@dataclass(frozen=True, slots=True)
class _Summary:
    """Hold what the systems and the device itself report, to spot changes."""

    systems: dict[tuple[int, int], StateFlag]
    transmitter: TransmitterFlag


@register_kind(DeviceKind.FIRE_PANEL)
class FirePanel(SimulatedDevice):
    """Report fire-alarm states to a monitoring centre over GB/T 26875.3."""

    def __init__(self, spec: DeviceSpec, scenario: Scenario) -> None:
        """Read the options and build the components."""
        super().__init__(spec, scenario)
        self.options = self.read_options(
            lambda: FirePanelOptions.from_spec(spec, scenario), FirePanelOptions
        )
        # Copies: the options stay as declared, the components live.
        self.components: dict[int, Component] = {
            component.address: replace(component)
            for component in self.options.components
        }
        self.main_power_fault = False
        self.backup_power_fault = False
        # Not security: repeatable chunking and drift per device.
        self._random = random.Random(spec.id)  # noqa: S311
        self._uplink = Uplink(
            f"{spec.id}-uplink",
            self.options.transmitter_address,
            self.options.centre_address,
            rng=self._random,
            on_connected=self._report_everything,
            heartbeat=self._heartbeat,
        )
        self._drift_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    # --- lifecycle -------------------------------------------------------------

    @override
    async def start(self, host: str) -> PortInfo:
        """Start the drift of readings; dial nobody until ``connect``."""
        self.raise_option_error()
        if self.options.drift_seconds > 0:
            self._drift_task = asyncio.create_task(
                self._drift_loop(self.options.drift_seconds), name=f"{self.id}-drift"
            )
        return PortInfo(
            host,
            None,
            _PROTOCOL,
            {
                "transmitter_address": format_address(self.options.transmitter_address),
                "components": len(self.components),
            },
        )

    @override
    async def stop(self) -> None:
        """Hang up and cancel every task."""
        for task in (self._drift_task, *self._background):
            await _cancel(task)
        self._drift_task = None
        await self._uplink.close()

    def _spawn(self, job: Callable[[], Awaitable[None]], name: str) -> None:
        """Run a follow-up job (the spread of a fire) beside the action."""
        task = asyncio.create_task(self._guarded(job, name), name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _guarded(self, job: Callable[[], Awaitable[None]], name: str) -> None:
        """Run a background job, logging instead of losing its failure."""
        try:
            await job()
        except Exception:
            _LOGGER.exception("%s: %s failed", self.id, name)

    # --- what the device reports -------------------------------------------------

    def _systems(self) -> dict[tuple[int, int], StateFlag]:
        """Return each system's state, summed up from its components."""
        states = {
            (int(SystemType.FIRE_ALARM), address): StateFlag.NORMAL
            for address in range(1, self.options.controllers + 1)
        }
        for component in self.components.values():
            state = states.get(component.system, StateFlag.NORMAL)
            states[component.system] = state | (component.state & _SYSTEM_BITS)
        return dict(sorted(states.items()))

    def _transmitter(self) -> TransmitterFlag:
        """Return the device's own state (type 21)."""
        state = TransmitterFlag.NORMAL
        if any(c.state & StateFlag.FIRE_ALARM for c in self.components.values()):
            state |= TransmitterFlag.FIRE_ALARM
        if self.main_power_fault:
            state |= TransmitterFlag.MAIN_POWER_FAULT
        if self.backup_power_fault:
            state |= TransmitterFlag.BACKUP_POWER_FAULT
        return state

    def _summary(self) -> _Summary:
        """Return what the systems and the device report now."""
        return _Summary(self._systems(), self._transmitter())

    def _send(self, object_type: ObjectType, objects: list[bytes]) -> list[JSONValue]:
        """Queue objects of one type, 20 to a frame; return the frames' serials."""
        return [
            serial
            for unit in app_data_units(object_type, objects)
            if (serial := self._uplink.send(unit)) is not None
        ]

    def _send_components(
        self, components: Iterable[Component], now: datetime
    ) -> list[JSONValue]:
        """Queue the states of components."""
        return self._send(
            ObjectType.COMPONENT_STATE,
            [
                component_state(
                    c.system_type,
                    c.system_address,
                    c.component_type,
                    c.address,
                    c.state,
                    c.description,
                    now,
                )
                for c in components
            ],
        )

    def _send_parameters(
        self, components: Iterable[Component], now: datetime
    ) -> list[JSONValue]:
        """Queue the readings of components that have one."""
        objects: list[bytes] = []
        for c in components:
            if c.parameter_type is None or c.value is None:
                continue
            objects.append(
                component_parameter(
                    c.system_type,
                    c.system_address,
                    c.component_type,
                    c.address,
                    c.parameter_type,
                    c.value,
                    now,
                )
            )
        return self._send(ObjectType.COMPONENT_PARAMETER, objects)

    def _send_systems(
        self, systems: dict[tuple[int, int], StateFlag], now: datetime
    ) -> list[JSONValue]:
        """Queue system states."""
        return self._send(
            ObjectType.SYSTEM_STATE,
            [
                system_state(system_type, address, state, now)
                for (system_type, address), state in systems.items()
            ],
        )

    def _send_transmitter(self, now: datetime) -> list[JSONValue]:
        """Queue the device's own state."""
        return self._send(
            ObjectType.TRANSMITTER_STATE, [transmitter_state(self._transmitter(), now)]
        )

    def _report_changes(
        self, changed: Iterable[Component], before: _Summary
    ) -> list[JSONValue]:
        """Queue changed components, then the systems and device state they changed."""
        now = datetime.now()
        serials = self._send_components(changed, now)
        after = self._summary()
        systems = {
            key: state
            for key, state in after.systems.items()
            if before.systems.get(key) != state
        }
        serials += self._send_systems(systems, now)
        if after.transmitter != before.transmitter:
            serials += self._send_transmitter(now)
        return serials

    def _report_everything(self) -> None:
        """Queue the whole picture: sent on every new connection."""
        now = datetime.now()
        self._send_transmitter(now)
        self._send(ObjectType.TRANSMITTER_TIME, [transmitter_time(now)])
        self._send_systems(self._systems(), now)
        self._send_components(self.components.values(), now)
        self._send_parameters(self.components.values(), now)

    def _heartbeat(self) -> bytes:
        """Return a heartbeat's app data: the device's own state."""
        return app_data(
            ObjectType.TRANSMITTER_STATE,
            [transmitter_state(self._transmitter(), datetime.now())],
        )

    async def _drift_loop(self, interval: float) -> None:
        """Let pressures and levels wander a little around their level."""
        while True:
            await asyncio.sleep(interval)
            moved: list[Component] = []
            for component in self.components.values():
                kind, level = component.parameter_type, component.base_value
                if kind is None or level is None:
                    continue
                span = max(abs(level) * _DRIFT_SHARE, kind.unit.scale)
                try:
                    component.value = quantize(
                        kind, level + self._random.uniform(-span, span)
                    )
                except ValueError:
                    continue
                moved.append(component)
            if moved:
                self._send_parameters(moved, datetime.now())

    # --- control API -------------------------------------------------------------

    @override
    def state(self) -> JSONObject:
        """Return the link, its counters and every component."""
        link = self._uplink
        settings = link.settings if link.wanted else None
        options = self.options
        components: list[JSONValue] = [c.to_json() for c in self.components.values()]
        return {
            "connected": link.connected,
            "centre": settings.centre if settings else None,
            "transmitter_address": format_address(options.transmitter_address),
            "centre_address": format_address(options.centre_address),
            "checksum": str(settings.checksum if settings else options.checksum),
            "split_frames": settings.split_frames if settings else options.split_frames,
            "window": settings.window if settings else options.window,
            "connections": link.connections,
            "frames_sent": link.frames_sent,
            "frames_acknowledged": link.frames_acknowledged,
            "retransmissions": link.retransmissions,
            "lost": link.lost,
            "bad_acks": link.bad_acks,
            "stray_acks": link.stray_acks,
            "pending": link.pending,
            "queued": link.queued,
            "last_acknowledged_serial": link.last_acknowledged_serial,
            "heartbeats_sent": link.heartbeats_sent,
            "split_writes": link.split_writes,
            "merged_writes": link.merged_writes,
            "commands_received": link.commands_received,
            "last_error": link.last_error,
            "transmitter_state": int(self._transmitter()),
            "main_power_fault": self.main_power_fault,
            "backup_power_fault": self.backup_power_fault,
            "components": components,
        }

    @override
    async def handle_action(self, action: str, params: JSONObject) -> JSONObject:
        """Drive the device: the link, fires, faults, readings and wire quirks."""
        reader = FireReader(self.id, params, noun="parameter")
        handlers: dict[str, Callable[[FireReader], Awaitable[JSONObject]]] = {
            "state": self._action_state,
            "snapshot": self._action_snapshot,
            "connect": self._connect,
            "disconnect": self._disconnect,
            "alarm": self._alarm,
            "set_component": self._set_component,
            "parameter": self._parameter,
            "power": self._power,
            "reset": self._reset,
            "operate": self._operate,
            "send_raw": self._send_raw,
            "drop_mid_frame": self._drop_mid_frame,
        }
        if (handler := handlers.get(action)) is None:
            raise UnknownActionError(self.id, action)
        try:
            return await handler(reader)
        except ValueError as error:
            raise ActionError(str(error)) from None
        except NotConnectedError as error:
            raise NotConnectedActionError(str(error)) from None

    async def _action_state(self, reader: FireReader) -> JSONObject:
        """Return the live state."""
        reader.reject_unknown()
        return self.state()

    async def _action_snapshot(self, reader: FireReader) -> JSONObject:
        """Return the snapshot."""
        reader.reject_unknown()
        return self.snapshot()

    def _component(self, reader: FireReader, key: str = "address") -> Component:
        """Return the component named by a parameter."""
        address = reader.component_address(key)
        if (component := self.components.get(address)) is None:
            raise ValueError(f"{self.id} has no component at address {address}")
        return component

    async def _connect(self, reader: FireReader) -> JSONObject:
        """Dial the centre (and keep dialling); answer after the first attempt."""
        options = self.options
        reader.required("host", "the centre's host name or address")
        host = reader.text("host", "")
        reader.required("port", f"the centre's port, 1..{_MAX_PORT}")
        port = reader.integer("port", 0, minimum=1, maximum=_MAX_PORT)
        settings = LinkSettings(
            host=host,
            port=port,
            checksum=reader.checksum("checksum", options.checksum),
            heartbeat_seconds=reader.seconds(
                "heartbeat_seconds", options.heartbeat_seconds, minimum=0.05
            ),
            ack_timeout_seconds=reader.seconds(
                "ack_timeout_seconds", options.ack_timeout_seconds, minimum=0.01
            ),
            retries=reader.integer(
                "retries", options.retries, minimum=0, maximum=MAX_RETRIES
            ),
            window=reader.integer(
                "window", options.window, minimum=1, maximum=MAX_WINDOW
            ),
            split_frames=reader.flag("split_frames", options.split_frames),
            reconnect_min_seconds=options.reconnect_min_seconds,
            reconnect_max_seconds=options.reconnect_max_seconds,
        )
        reader.reject_unknown()
        await self._uplink.open(settings, wait=_CONNECT_WAIT)
        return self.state()

    async def _disconnect(self, reader: FireReader) -> JSONObject:
        """Hang up and stop dialling; unacknowledged frames are dropped."""
        reader.reject_unknown()
        await self._uplink.close()
        return self.state()

    async def _alarm(self, reader: FireReader) -> JSONObject:
        """Start a fire: one detector, then its neighbour on the same floor."""
        if "address" in reader.options:
            target: Component | None = self._component(reader)
        else:
            reader.read.add("address")
            target = default_alarm_target(self.components.values())
        spread = reader.seconds("spread_seconds", _SPREAD_SECONDS, minimum=0.0)
        reader.reject_unknown()
        if target is None:
            raise ValueError(f"{self.id} has no smoke detector to raise an alarm")
        before = self._summary()
        target.state |= StateFlag.FIRE_ALARM
        serials = self._report_changes([target], before)
        neighbour = neighbour_of(target, self.components.values())
        if neighbour is not None:

            async def spread_fire() -> None:
                """Let the fire reach the neighbouring detector."""
                await asyncio.sleep(spread)
                before = self._summary()
                neighbour.state |= StateFlag.FIRE_ALARM
                self._report_changes([neighbour], before)

            self._spawn(spread_fire, f"{self.id}-fire-spread")
        _LOGGER.info("%s: fire alarm at %s", self.id, target.description)
        return {
            "address": target.address,
            "description": target.description,
            "neighbour": neighbour.address if neighbour else None,
            "serials": serials,
        }

    async def _set_component(self, reader: FireReader) -> JSONObject:
        """Set or clear state bits of one component and report it."""
        component = self._component(reader)
        changes = {
            flag: value
            for name, flag in _COMPONENT_FLAGS.items()
            if (value := reader.optional_flag(name)) is not None
        }
        test = reader.optional_flag("test")
        reader.reject_unknown()
        before = self._summary()
        state = component.state
        for flag, value in changes.items():
            state = state | flag if value else state & ~flag
        if test is not None:
            state = state & ~StateFlag.NORMAL if test else state | StateFlag.NORMAL
        component.state = state
        serials = self._report_changes([component], before)
        return {**component.to_json(), "serials": serials}

    async def _parameter(self, reader: FireReader) -> JSONObject:
        """Report a new reading of one component, in its unit."""
        component = self._component(reader)
        value = reader.number("value")
        reader.reject_unknown()
        if (kind := component.parameter_type) is None:
            raise ValueError(
                f"component {component.address} of {self.id} reports no parameter"
            )
        component.value = component.base_value = quantize(kind, value)
        serials = self._send_parameters([component], datetime.now())
        return {**component.to_json(), "serials": serials}

    async def _power(self, reader: FireReader) -> JSONObject:
        """Report main or backup power faults (or their end)."""
        main = reader.optional_flag("main_fault")
        backup = reader.optional_flag("backup_fault")
        reader.reject_unknown()
        if main is not None:
            self.main_power_fault = main
        if backup is not None:
            self.backup_power_fault = backup
        serials = self._send_transmitter(datetime.now())
        return {"transmitter_state": int(self._transmitter()), "serials": serials}

    async def _reset(self, reader: FireReader) -> JSONObject:
        """Reset the controllers: report the operation, then clear every event."""
        operator = reader.integer("operator", 0, minimum=0, maximum=255)
        reader.reject_unknown()
        for task in list(self._background):
            await _cancel(task)
        now = datetime.now()
        controllers = [
            address
            for system_type, address in self._systems()
            if system_type == SystemType.FIRE_ALARM
        ]
        serials = self._send(
            ObjectType.SYSTEM_OPERATION,
            [
                system_operation(
                    SystemType.FIRE_ALARM, address, OperationFlag.RESET, operator, now
                )
                for address in controllers
            ],
        )
        before = self._summary()
        changed = [c for c in self.components.values() if c.state & EVENT_BITS]
        for component in changed:
            component.state &= ~EVENT_BITS
        serials += self._report_changes(changed, before)
        return {"reset": len(changed), "serials": serials}

    async def _operate(self, reader: FireReader) -> JSONObject:
        """Report an operator's action on a controller (type 4) or the device (24)."""
        flags = OperationFlag(0)
        for name, flag in _OPERATION_FLAGS.items():
            if reader.optional_flag(name):
                flags |= flag
        operator = reader.integer("operator", 0, minimum=0, maximum=255)
        system_address = (
            reader.integer("system_address", 1, minimum=0, maximum=255)
            if "system_address" in reader.options
            else None
        )
        system_type = reader.integer(
            "system_type", SystemType.FIRE_ALARM, minimum=0, maximum=255
        )
        reader.read.add("system_address")
        reader.reject_unknown()
        now = datetime.now()
        if system_address is None:
            serials = self._send(
                ObjectType.TRANSMITTER_OPERATION,
                [transmitter_operation(flags, operator, now)],
            )
        else:
            serials = self._send(
                ObjectType.SYSTEM_OPERATION,
                [system_operation(system_type, system_address, flags, operator, now)],
            )
        return {"flags": int(flags), "serials": serials}

    async def _send_raw(self, reader: FireReader) -> JSONObject:
        """Write exact bytes to the centre, in chunks of given sizes."""
        reader.required("hex", "the bytes as hex digits")
        text = reader.text("hex", "")
        try:
            data = bytes.fromhex(text)
        except ValueError:
            raise reader.fail("hex", "hex digits (spaces allowed)") from None
        reader.read.add("chunks")
        sizes = reader.options.get("chunks", [])
        if (
            not isinstance(sizes, list)
            or not all(
                isinstance(size, int) and not isinstance(size, bool) and size > 0
                for size in sizes
            )
            or sum(size for size in sizes if isinstance(size, int)) > len(data)
        ):
            raise reader.fail(
                "chunks", f"a list of positive sizes adding up to at most {len(data)}"
            )
        chunks = [size for size in sizes if isinstance(size, int)]
        close_after = reader.flag("close_after", default=False)
        pause = reader.seconds("pause_seconds", _RAW_PAUSE_SECONDS, minimum=0.0)
        reader.reject_unknown()
        await self._uplink.write_raw(data, chunks, pause=pause, close_after=close_after)
        if sum(chunks) < len(data):
            chunks.append(len(data) - sum(chunks))
        written: list[JSONValue] = list(chunks)
        return {"written": len(data), "chunks": written, "closed": close_after}

    async def _drop_mid_frame(self, reader: FireReader) -> JSONObject:
        """Write half of a component-state frame, then drop the connection."""
        reader.reject_unknown()
        if not self._uplink.connected:
            raise NotConnectedError("the device is not connected to a centre")
        component = next(iter(self.components.values()))
        unit = app_data(
            ObjectType.COMPONENT_STATE,
            [
                component_state(
                    component.system_type,
                    component.system_address,
                    component.component_type,
                    component.address,
                    component.state,
                    component.description,
                    datetime.now(),
                )
            ],
        )
        serial, frame = self._uplink.encode_unsent(unit)
        half = frame[: len(frame) // 2]
        await self._uplink.write_raw(
            half, [], pause=0.0, close_after=True, half_close=True
        )
        return {"serial": serial, "written": len(half), "frame_length": len(frame)}


async def _cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a task and wait until it has ended (never the calling task)."""
    if task is None or task.done() or task is asyncio.current_task():
        return
    task.cancel()
    await asyncio.wait([task])
