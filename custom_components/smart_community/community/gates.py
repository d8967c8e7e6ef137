"""Gate lanes: what an LPR camera pushes, what the community answers, what it counts.

A parking camera opens its barrier only when the reply to one of its own
requests says so: the reply to a plate push, or to a heartbeat ("comet poll").
So a manual open from Home Assistant waits in the lane until the camera next
asks, and a lane holds a comet poll open for a moment so that it can answer at
once when someone presses open.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
import logging
import time
from typing import Final

from ..protocols.plate_push import (
    CameraIdentity,
    Heartbeat,
    IoInput,
    PlateRead,
    PlateReply,
    RelayPulse,
    serial_text,
)
from .access import AccessDecider, AccessDecision, Direction, LanePolicy, Verdict
from .listeners import Listeners
from .parking import ParkingLot

LOGGER = logging.getLogger(__name__)

# A manual open not fetched by the camera within this time is dropped: a barrier
# that rises minutes after the button was pressed surprises everybody.
OPEN_COMMAND_SECONDS: Final = 30.0
# A manual open this soon after a refused read lets that vehicle through, so the
# car park counts it.
MANUAL_PAIRING_SECONDS: Final = 60.0
# How long a barrier is shown open after it was told to open; barriers close by
# themselves once the vehicle has passed.
GATE_OPEN_SECONDS: Final = 10.0
# Cameras heartbeat every 5 s (30 s without offline checking); three missed
# heartbeats mean the camera is gone.
CONNECTED_TIMEOUT_SECONDS: Final = 90.0
# Cameras resend a push whose reply they missed; the same plate ID within this
# many pushes gets the same answer, and is not counted twice.
REMEMBERED_PUSHES: Final = 256

type Listener = Callable[[], None]
type PlateListener = Callable[[PlateEvent], None]


class OpenCommand(StrEnum):
    """Where a manual open stands."""

    QUEUED = "queued"
    DELIVERED = "delivered"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class LaneConfig:
    """One lane as the property manager configured it."""

    lane_id: str
    name: str
    policy: LanePolicy
    lot_id: str | None = None
    # None: "info: ok" alone opens; cameras wired to another output need a pulse.
    relay: RelayPulse | None = None
    voice: bool = True
    display: bool = False
    comet_hold_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class PlateEvent:
    """One plate read at a lane and what was decided."""

    lane_id: str
    direction: Direction
    read: PlateRead
    decision: AccessDecision
    received_at: datetime
    # The read time: the camera's clock for offline records, else ours.
    at: datetime
    # The decision's, or a manual open waiting for this very car.
    opened: bool
    parking_counted: bool


class GateLane:
    """One camera-controlled barrier lane.

    Every method runs on the event loop and answers at once: the camera waits
    on the reply with the driver in front of the barrier.
    """

    def __init__(
        self,
        config: LaneConfig,
        decider: AccessDecider,
        lot: ParkingLot | None = None,
    ) -> None:
        """Prepare a lane; it is quiet until its camera first speaks."""
        self.config = config
        self.lot = lot
        self._decider = decider
        self.last_heartbeat: Heartbeat | None = None
        self.last_io: IoInput | None = None
        # Who the camera says it is, from its latest message.
        self.camera: CameraIdentity | None = None
        self.open_command: OpenCommand | None = None
        self.pushes = 0
        self.rejected_pushes = 0
        self._command_timer: asyncio.TimerHandle | None = None
        self._command_waiter = asyncio.Event()
        self._last_seen: float | None = None
        self._connected = False
        self._connected_timer: asyncio.TimerHandle | None = None
        self._opened_at: float | None = None
        self._closed_timer: asyncio.TimerHandle | None = None
        self._refused: tuple[str, float] | None = None
        self._replies: OrderedDict[tuple[bool, int], PlateReply] = OrderedDict()
        self._state_listeners: Listeners[()] = Listeners()
        self._plate_listeners: Listeners[PlateEvent] = Listeners()

    # Listeners

    def add_state_listener(self, listener: Listener) -> Listener:
        """Call back when connectivity, the barrier or a command changes."""
        return self._state_listeners.add(listener)

    def add_plate_listener(self, listener: PlateListener) -> Listener:
        """Call back for every new plate read, with the decision."""
        return self._plate_listeners.add(listener)

    def _notify_state(self) -> None:
        """Tell the state listeners something changed."""
        self._state_listeners.notify()

    # State

    @property
    def connected(self) -> bool:
        """Tell whether the camera spoke within the timeout."""
        return self._connected

    @property
    def gate_open(self) -> bool:
        """Tell whether the barrier was told to open a moment ago (assumed)."""
        return (
            self._opened_at is not None
            and time.monotonic() - self._opened_at < GATE_OPEN_SECONDS
        )

    def close(self) -> None:
        """Cancel the lane's timers; it is being unloaded."""
        for timer in (self._connected_timer, self._closed_timer, self._command_timer):
            if timer is not None:
                timer.cancel()
        self._command_waiter.set()

    def _seen(self, camera: CameraIdentity) -> None:
        """Note that the camera spoke; watch for it falling silent."""
        self._last_seen = time.monotonic()
        if camera != self.camera:
            self.camera = camera
            self._notify_state()
        if self._connected:
            return
        self._connected = True
        LOGGER.info("The camera of lane %s is connected", self.config.name)
        self._arm_connected_timer(CONNECTED_TIMEOUT_SECONDS)
        self._notify_state()

    def _arm_connected_timer(self, delay: float) -> None:
        """Check connectivity again after a delay."""
        self._connected_timer = asyncio.get_running_loop().call_later(
            delay, self._check_connected
        )

    def _check_connected(self) -> None:
        """Mark the camera gone after the timeout, or look again later."""
        silent = time.monotonic() - (self._last_seen or 0.0)
        if silent < CONNECTED_TIMEOUT_SECONDS:
            self._arm_connected_timer(CONNECTED_TIMEOUT_SECONDS - silent)
            return
        self._connected = False
        self._connected_timer = None
        LOGGER.warning(
            "The camera of lane %s has sent nothing for %.0f s; check its network "
            "and its HTTP push settings",
            self.config.name,
            silent,
        )
        self._notify_state()

    def _mark_opened(self) -> None:
        """Show the barrier open for a while."""
        self._opened_at = time.monotonic()
        if self._closed_timer is not None:
            self._closed_timer.cancel()
        self._closed_timer = asyncio.get_running_loop().call_later(
            GATE_OPEN_SECONDS, self._notify_state
        )

    # Plate pushes

    def handle_plate(self, read: PlateRead, received_at: datetime) -> PlateReply:
        """Decide on a pushed plate and return the reply that carries the decision."""
        self._seen(read.camera)
        self.pushes += 1
        if read.plate_id is not None:
            cached = self._replies.get((read.offline, read.plate_id))
            if cached is not None:
                # A resend of a push whose reply the camera missed.
                return cached
        at = received_at
        if read.offline and read.captured_at is not None:
            at = read.captured_at
        decision = self._decider.decide(
            read.license, self.config.policy, at, offline=read.offline
        )
        reply = self._reply_to(read, decision)
        counted: bool | None
        if decision.opens:
            counted = self._count(decision, read, at)
            self._mark_opened()
        elif read.offline:
            counted = self._count(decision, read, at)
        else:
            self._refused = (
                (decision.matched_plate or decision.plate, time.monotonic())
                if decision.verdict is not Verdict.NO_PLATE
                else None
            )
            # Someone pressed open for the car now in front of the barrier.
            counted = self._deliver_open()
            if counted is not None:
                reply = replace(reply, open_gate=True, relay=self.config.relay)
        event = PlateEvent(
            lane_id=self.config.lane_id,
            direction=self.config.policy.direction,
            read=read,
            decision=decision,
            received_at=received_at,
            at=at,
            opened=reply.open_gate,
            parking_counted=bool(counted),
        )
        if read.plate_id is not None:
            self._replies[read.offline, read.plate_id] = reply
            while len(self._replies) > REMEMBERED_PUSHES:
                self._replies.popitem(last=False)
        self._plate_listeners.notify(event)
        if reply.open_gate:
            self._notify_state()
        return reply

    def _count(self, decision: AccessDecision, read: PlateRead, at: datetime) -> bool:
        """Move the car park's count for a vehicle the decision or camera let through."""
        passed = decision.opens or (read.offline and read.opened_by_camera)
        if not passed or not decision.plate:
            return False
        return self._move(decision.matched_plate or decision.plate, at)

    def _move(self, plate: str, at: datetime) -> bool:
        """Count a vehicle in or out of the lane's lot, if it has one."""
        if self.lot is None:
            return False
        if self.config.policy.direction is Direction.ENTRY:
            return self.lot.vehicle_entered(plate, at).counted
        return self.lot.vehicle_left(plate, at, self.config.policy.tolerance).counted

    def _reply_to(self, read: PlateRead, decision: AccessDecision) -> PlateReply:
        """Build the answer: open or not, and what to say and show."""
        if read.offline:
            # Acknowledge, and ask for the next record the camera kept.
            return PlateReply(continue_offline=read.plate_id)
        message = decision.message
        return PlateReply(
            open_gate=decision.opens,
            plate_id=read.plate_id,
            content=message,
            voice=message if self.config.voice else None,
            relay=self.config.relay if decision.opens else None,
            serial=(serial_text(message),) if message and self.config.display else (),
        )

    # Heartbeats and manual opens

    def handle_heartbeat(self, heartbeat: Heartbeat) -> None:
        """Note a heartbeat; the reply is built by take_command."""
        self._seen(heartbeat.camera)
        self.last_heartbeat = heartbeat

    def handle_io(self, io_input: IoInput) -> None:
        """Note an input change of the camera (a loop detector, a button)."""
        self._seen(io_input.camera)
        self.last_io = io_input
        self._notify_state()

    def request_open(self) -> None:
        """Queue an open for the camera's next request."""
        self.open_command = OpenCommand.QUEUED
        if self._command_timer is not None:
            self._command_timer.cancel()
        self._command_timer = asyncio.get_running_loop().call_later(
            OPEN_COMMAND_SECONDS, self._expire_command
        )
        self._command_waiter.set()
        self._notify_state()

    def _expire_command(self) -> None:
        """Drop an open the camera did not ask for in time."""
        self._command_timer = None
        self.open_command = OpenCommand.EXPIRED
        LOGGER.warning(
            "The open command for lane %s expired: its camera did not ask for it "
            "within %.0f s; set the camera's heartbeat to comet polling",
            self.config.name,
            OPEN_COMMAND_SECONDS,
        )
        self._notify_state()

    async def wait_for_command(self, hold_seconds: float) -> None:
        """Hold a comet poll until a command is queued or the time is up."""
        if self.open_command is OpenCommand.QUEUED:
            return
        self._command_waiter.clear()
        try:
            async with asyncio.timeout(hold_seconds):
                await self._command_waiter.wait()
        except TimeoutError:
            return

    def take_command(self) -> PlateReply:
        """Return the reply to a heartbeat: an open if one is waiting."""
        if self._deliver_open() is None:
            return PlateReply()
        self._notify_state()
        return PlateReply(open_gate=True, relay=self.config.relay)

    def _deliver_open(self) -> bool | None:
        """Hand over a queued open: None if none waits, else whether a car was counted.

        The car refused shortly before is the one let through, so it is counted.
        """
        if self.open_command is not OpenCommand.QUEUED:
            return None
        if self._command_timer is not None:
            self._command_timer.cancel()
            self._command_timer = None
        self.open_command = OpenCommand.DELIVERED
        self._mark_opened()
        counted = False
        if (
            self._refused is not None
            and time.monotonic() - self._refused[1] < MANUAL_PAIRING_SECONDS
        ):
            counted = self._move(self._refused[0], datetime.now(UTC))
        self._refused = None
        return counted
