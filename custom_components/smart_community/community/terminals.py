"""Face terminal hubs: follow a terminal's events and keep what its doors report."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import logging

from ..protocols.isapi import (
    AccessEvent,
    DeviceInfo,
    EventKind,
    EventSubscription,
    IsapiAuthError,
    IsapiClient,
    IsapiError,
    IsapiLockedError,
    IsapiStreamBusyError,
)
from .listeners import Listeners

LOGGER = logging.getLogger(__name__)

# A terminal keeps its single event-stream slot for a while after a connection ends,
# so right after a reload the new stream is refused as busy. That is only worth a
# warning if it lasts.
BUSY_GRACE_SECONDS = 15.0

type Listener = Callable[[], None]
type EventListener = Callable[[AccessEvent], None]


@dataclass(slots=True)
class DoorState:
    """What is known about one door of a terminal."""

    locked: bool | None = None
    open: bool | None = None


@dataclass(slots=True, frozen=True)
class TerminalConfig:
    """Where a terminal is and what it has, as the property manager configured it."""

    terminal_id: str
    name: str
    building_id: str
    doors: int


class TerminalHub:
    """One face terminal: its client, its event stream and what it last reported.

    The terminal decides at the door itself; the hub follows its event stream,
    which the subscription keeps open and reconciles after every reconnect, so
    listeners see each event once. Availability changes are logged once each way.
    """

    def __init__(
        self,
        config: TerminalConfig,
        client: IsapiClient,
        *,
        last_serial: int | None = None,
        last_time: datetime | None = None,
    ) -> None:
        """Prepare a hub; nothing is contacted until run()."""
        self.config = config
        self.client = client
        self.device_info: DeviceInfo | None = None
        self.available = False
        self.doors = {door: DoorState() for door in range(1, config.doors + 1)}
        self.last_serial = last_serial
        self.last_time = last_time
        self._outage_logged = False
        self._refresh_task: asyncio.Task[None] | None = None
        self._busy_warning: asyncio.TimerHandle | None = None
        self._state_listeners: Listeners[()] = Listeners()
        self._event_listeners: Listeners[AccessEvent] = Listeners()

    def add_state_listener(self, listener: Listener) -> Listener:
        """Call listener when availability or a door changes; return its remover."""
        return self._state_listeners.add(listener)

    def add_event_listener(self, listener: EventListener) -> Listener:
        """Call listener with every event of the terminal; return its remover."""
        return self._event_listeners.add(listener)

    async def run(self) -> None:
        """Follow the terminal until its credentials fail.

        Connection problems are retried with backoff by the subscription. A
        lockout and a refused password end the run with IsapiLockedError and
        IsapiAuthError: retrying either only makes it worse.
        """
        subscription = EventSubscription(
            client=self.client,
            callback=self._handle_event,
            last_serial=self.last_serial,
            last_time=self.last_time,
            on_connect=self._connected,
            on_disconnect=self._disconnected,
        )
        try:
            await subscription.run()
        except (IsapiAuthError, IsapiLockedError) as err:
            self._disconnected(err)
            raise
        finally:
            if self._refresh_task is not None:
                self._refresh_task.cancel()
            self._cancel_busy_warning()

    async def refresh(self) -> None:
        """Read the terminal's identity (once) and its doors' states."""
        try:
            if self.device_info is None:
                self.device_info = await self.client.get_device_info()
            statuses = await self.client.get_door_status()
        except IsapiError as err:
            LOGGER.debug("Reading face terminal %s failed: %s", self.config.name, err)
            return
        for status in statuses:
            if (door := self.doors.get(status.door)) is not None:
                door.locked = status.is_locked
                door.open = status.is_open
        self._notify_state()

    def _connected(self) -> None:
        """Mark the terminal available and read its doors again."""
        # Door changes during an outage came as reconciled events or not at all.
        self._refresh_task = asyncio.get_running_loop().create_task(self.refresh())
        self._cancel_busy_warning()
        if self._outage_logged:
            LOGGER.info("Face terminal %s is back", self.config.name)
            self._outage_logged = False
        if not self.available:
            self.available = True
            self._notify_state()

    def _disconnected(self, error: IsapiError) -> None:
        """Mark the terminal unavailable, saying why once per outage."""
        if not isinstance(error, IsapiStreamBusyError):
            self._log_outage(error)
        elif self._busy_warning is None:
            # Warn only if the slot stays taken (see BUSY_GRACE_SECONDS).
            self._busy_warning = asyncio.get_running_loop().call_later(
                BUSY_GRACE_SECONDS, self._log_outage, error
            )
        if self.available:
            self.available = False
            self._notify_state()

    def _log_outage(self, error: IsapiError) -> None:
        """Say once per outage why the terminal is unavailable."""
        self._busy_warning = None
        if not self._outage_logged:
            LOGGER.warning(
                "Face terminal %s is unavailable: %s", self.config.name, error
            )
            self._outage_logged = True

    def _cancel_busy_warning(self) -> None:
        """Forget a pending warning about a busy stream slot."""
        if self._busy_warning is not None:
            self._busy_warning.cancel()
            self._busy_warning = None

    def _handle_event(self, event: AccessEvent) -> None:
        """Update the doors from an event and pass it on."""
        if event.kind is EventKind.HEARTBEAT:
            return
        if event.serial_no is not None:
            self.last_serial, self.last_time = event.serial_no, event.time
        if (door := self.doors.get(event.door_no or 1)) is not None:
            match event.kind:
                case EventKind.LOCK_OPENED:
                    door.locked = False
                case EventKind.LOCK_CLOSED:
                    door.locked = True
                case EventKind.DOOR_OPENED | EventKind.DOOR_FORCED:
                    door.open = True
                case EventKind.DOOR_CLOSED:
                    door.open = False
        self._event_listeners.notify(event)
        self._notify_state()

    def _notify_state(self) -> None:
        """Tell listeners that something they show changed."""
        self._state_listeners.notify()
