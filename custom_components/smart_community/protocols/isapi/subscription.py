"""Deliver a terminal's access events exactly once across reconnects."""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import logging
from typing import TYPE_CHECKING, Final, NoReturn

from .errors import (
    IsapiAuthError,
    IsapiError,
    IsapiLockedError,
    IsapiNotFoundError,
    IsapiStreamClosedError,
)
from .models import AccessEvent, EventKind

if TYPE_CHECKING:
    from .client import IsapiClient

_LOGGER = logging.getLogger(__name__)

type EventCallback = Callable[[AccessEvent], None]

# Device clocks drift from ours; search the log a little wider than needed.
CLOCK_SLACK: Final = timedelta(minutes=5)
# The end of a log search: far enough ahead for any device clock.
SEARCH_AHEAD: Final = timedelta(days=1)
# Serials delivered lately, to tell a doubled event from a device whose log
# (and serial counter) was reset.
RECENT_SERIALS: Final = 4096


def _utcnow() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


@dataclass(slots=True)
class _RecentSerials:
    """Remember the last serial numbers delivered, oldest forgotten first."""

    limit: int = RECENT_SERIALS
    _order: deque[int] = field(default_factory=deque, init=False)
    _members: set[int] = field(default_factory=set, init=False)

    def __contains__(self, serial: int) -> bool:
        """Tell whether a serial was delivered lately."""
        return serial in self._members

    def add(self, serial: int) -> None:
        """Remember a delivered serial."""
        if serial in self._members:
            return
        self._order.append(serial)
        self._members.add(serial)
        if len(self._order) > self.limit:
            self._members.discard(self._order.popleft())


@dataclass(kw_only=True)
class EventSubscription:
    """Follow a terminal's alert stream for ever and deliver each event once.

    After every (re)connect the event log (AcsEvent) is searched for events
    after ``last_serial``; they are delivered in order with ``reconciled`` set,
    before the stream's live events. Replayed history (``currentEvent: false``)
    is never delivered as live: without a ``last_serial`` it only sets the
    starting point; with one, replayed events past it count as missed and are
    delivered as reconciled. Events are deduplicated by serial number.

    Connection problems, a busy stream slot and refusals back off from
    ``min_backoff`` to ``max_backoff`` seconds, doubling; a connection that
    delivered anything resets the delay. IsapiAuthError and IsapiLockedError
    end ``run`` by raising. ``on_connect`` and ``on_disconnect`` are called on
    each change of ``connected`` (the first failure included), to log once.
    ``last_serial`` and ``last_time`` always hold the newest delivered event,
    to be saved by the caller and passed back after a restart.
    """

    client: IsapiClient
    callback: EventCallback
    last_serial: int | None = None
    last_time: datetime | None = None
    on_connect: Callable[[], None] | None = None
    on_disconnect: Callable[[IsapiError], None] | None = None
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
    now: Callable[[], datetime] = _utcnow
    min_backoff: float = 1.0
    max_backoff: float = 60.0
    idle_timeout: float | None = None
    lookback: timedelta = timedelta(days=1)
    heartbeats: bool = False
    connected: bool | None = field(default=None, init=False)
    _recent: _RecentSerials = field(default_factory=_RecentSerials, init=False)
    _default_floor: datetime | None = field(default=None, init=False)
    _received: bool = field(default=False, init=False)
    _adopt_replay: bool = field(default=False, init=False)

    async def run(self) -> NoReturn:
        """Connect, reconcile and deliver until cancelled or refused credentials."""
        started = self.now()
        # A caller-supplied serial may be old: look back a while. Without one,
        # only what happens from now on is new.
        self._default_floor = started - (
            self.lookback if self.last_serial is not None else CLOCK_SLACK
        )
        delay = self.min_backoff
        while True:
            self._received = False
            try:
                await self._follow_once()
            except (IsapiAuthError, IsapiLockedError) as err:
                self._set_connected(False, err)
                raise
            except IsapiError as err:
                _LOGGER.debug("Alert stream of %s: %s", self.client.host, err)
                self._set_connected(False, err)
                if self._received:
                    delay = self.min_backoff
            await self.sleep(delay)
            delay = min(delay * 2, self.max_backoff)

    async def _follow_once(self) -> None:
        """Open the stream, reconcile from the log, then deliver until it ends."""
        async with self.client.alert_stream(idle_timeout=self.idle_timeout) as stream:
            self._set_connected(True, None)
            if self.last_serial is None:
                # Nothing can have been missed before the start is known.
                await self._find_start()
            else:
                await self._reconcile()
            self._adopt_replay = self.last_serial is None
            async for event in stream:
                self._received = True
                self._handle(event)
        raise IsapiStreamClosedError(  # pragma: no cover - AlertStream always raises
            "The alert stream ended"
        )

    def _set_connected(self, connected: bool, error: IsapiError | None) -> None:
        """Record the connection state and report a change."""
        if connected == self.connected:
            return
        self.connected = connected
        if connected and self.on_connect is not None:
            self.on_connect()
        elif not connected and self.on_disconnect is not None and error is not None:
            self.on_disconnect(error)

    def _floor(self) -> datetime:
        """Return the oldest event time that still counts as missed."""
        now = self.now()
        floor = (
            self.last_time - CLOCK_SLACK
            if self.last_time is not None
            else self._default_floor or now
        )
        return max(floor, now - self.lookback)

    async def _find_start(self) -> None:
        """Take the newest logged serial as the start, so later ones count as new.

        The replay on connect cannot tell this when the log is empty: then the
        first event missed during a dropout would look like old history.
        """
        try:
            logged = await self.client.search_events(
                self.now() - self.lookback, self.now() + SEARCH_AHEAD
            )
        except IsapiNotFoundError as err:
            _LOGGER.debug("%s cannot search its event log: %s", self.client.host, err)
            return
        self.last_serial = max(
            (event.serial_no for event in logged if event.serial_no is not None),
            default=0,
        )

    async def _reconcile(self) -> None:
        """Deliver the logged events after last_serial, oldest first."""
        if self.last_serial is None:
            return
        try:
            missed = await self.client.search_events(
                self._floor(),
                self.now() + SEARCH_AHEAD,
                after_serial=self.last_serial,
            )
        except IsapiNotFoundError as err:
            _LOGGER.debug("%s cannot search its event log: %s", self.client.host, err)
            return
        for event in missed:
            if event.serial_no is not None:
                self._deliver_missed(event, event.serial_no)

    def _handle(self, event: AccessEvent) -> None:
        """Deliver a stream event unless it is a duplicate or old history."""
        if event.kind is EventKind.HEARTBEAT:
            if self.heartbeats:
                self._emit(event)
            return
        serial = event.serial_no
        if serial is None:
            if event.live:
                self._emit(event)
            return
        if event.live:
            if self.last_serial is not None and serial <= self.last_serial:
                if serial in self._recent:
                    return
                _LOGGER.info(
                    "%s went back from serial %s to %s; assuming its event log was reset",
                    self.client.host,
                    self.last_serial,
                    serial,
                )
            self._accept(event, serial)
            return
        if self._adopt_replay or self.last_serial is None:
            # History from before this subscription: it only sets the start.
            self.last_serial = max(self.last_serial or 0, serial)
            return
        if serial > self.last_serial:
            self._deliver_missed(event, serial)

    def _deliver_missed(self, event: AccessEvent, serial: int) -> None:
        """Deliver an event found in history, flagged as reconciled."""
        if serial in self._recent:
            return
        if event.time is None or event.time >= self._floor():
            self._emit(event.as_reconciled())
        else:
            _LOGGER.debug("Skipped event %s from %s: too old", serial, event.time)
        self._remember(serial, event)

    def _accept(self, event: AccessEvent, serial: int) -> None:
        """Deliver a live event and make it the newest seen."""
        self._emit(event)
        self._remember(serial, event)

    def _remember(self, serial: int, event: AccessEvent) -> None:
        """Make an event the newest delivered one."""
        self.last_serial = serial
        self._recent.add(serial)
        if event.time is not None:
            self.last_time = event.time

    def _emit(self, event: AccessEvent) -> None:
        """Call the callback; a failing callback is logged, never fatal."""
        try:
            self.callback(event)
        except Exception:
            _LOGGER.exception("The access event callback failed on %s", event)
