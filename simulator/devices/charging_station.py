"""Play an e-bike charging pile that speaks OCPP 1.6J to a central system.

The pile has several ports (OCPP connectors) and plays the charge-point side of
OCPP 1.6J with the ``ocpp`` library over a websocket client (subprotocol
``ocpp1.6``): it dials the central system (Home Assistant) at
``<url>/<charge_point_id>``, with HTTP Basic auth when a password is set. It
listens on no port and dials nobody at start-up; the ``connect`` action says
where the central system is.

What the simulated pile reproduces:

- BootNotification once per power-up (again after a Reset or ``boot``; retried
  after the answer's interval while Pending or Rejected), then a
  StatusNotification for connector 0 and every port on every connection, and
  Heartbeats at the interval the central system gave. A reconnection without a
  reboot (the central system restarted) does not boot again.
- Sessions: plugging in (Authorize, StartTransaction, Charging), unplugging
  (StopTransaction with the final reading, Available), remote start and stop,
  unlock, availability changes (Scheduled while a transaction runs), faults.
- Meter values every ``meter_interval_seconds`` for each port with a
  transaction: energy register (Wh, only ever grows), power, current, voltage
  and socket temperature. Power follows an e-bike charger's curve (constant
  power to 80 %, a taper to a trickle at 100 %), or a full pack, an overheating
  socket or a 1.5 kW overload; ``time_scale`` runs the batteries faster.
- A link that fails: StopTransaction and transaction MeterValues are queued
  while the link is down (at most 1,000) and sent in order after reconnecting,
  with backoff between attempts; ``drop`` cuts the socket like a network
  failure.
- Wire tests: raw frames (``send_raw``), any call (``call``); every CALLERROR
  the central system sends is recorded.
"""

import asyncio
import base64
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
import json
import logging
import random
import time
from typing import Any, Final, override
from urllib.parse import quote
import uuid

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.typing import Subprotocol

from simulator.devices.base import (
    ActionError,
    PortInfo,
    SimulatedDevice,
    UnknownActionError,
    register_kind,
)
from simulator.devices.ocpp.battery import Battery, Profile
from simulator.devices.ocpp.options import (
    ChargingStationOptions,
    OcppReader,
    SessionSpec,
    charge_point_id_of,
    session_from,
)
from simulator.devices.ocpp.port import NO_ERROR, Port
from simulator.devices.ocpp.wire import (
    CallErrorReplyError,
    CentralSystemLink,
    LinkDownError,
    Reply,
    call,
    call_result,
    datatypes,
)
from simulator.jsonvalue import JSONObject, JSONValue
from simulator.kinds import DeviceKind
from simulator.scenario import DeviceSpec, Scenario

_LOGGER: Final = logging.getLogger(__name__)

_PROTOCOL: Final = "ocpp1.6j-client"
_SUBPROTOCOL: Final = Subprotocol("ocpp1.6")
# How long ``connect`` waits for the first dial (and boot) to succeed or fail.
_CONNECT_WAIT: Final = 5.0
# How long ``send_raw`` waits for a reply with the frame's unique id.
_RAW_REPLY_WAIT: Final = 2.0
# A reset reboots quickly: the pile dials again after this pause.
_RESET_PAUSE: Final = 0.5
# Boot calls that fail (CALLERROR, no answer) are tried again after this pause.
_BOOT_RETRY_SECONDS: Final = 5.0
# Heartbeats before the central system named an interval.
_DEFAULT_HEARTBEAT: Final = 60
# Transaction messages kept while the link is down; the oldest meter values go first.
_MAX_QUEUED: Final = 1000
# A queued message that gets no answer is tried this many times, then given up.
_MAX_ATTEMPTS: Final = 3
_MAX_RECEIVED: Final = 200
_MAX_CALL_ERRORS: Final = 50
_MAX_FAILED: Final = 20
_CLOSE_TIMEOUT: Final = 1.0
_MAX_TEMPERATURE: Final = 150.0
_MIN_TEMPERATURE: Final = -40.0


class NotConnectedActionError(ActionError):
    """Refuse an action that needs an open connection to the central system."""

    status = 409


class PortBusyActionError(ActionError):
    """Refuse to start a session on a port that cannot take one."""

    status = 409


class CentralErrorActionError(ActionError):
    """Report a CALLERROR the central system answered the action's call with."""

    status = 502


class CentralTimeoutActionError(ActionError):
    """Report that the central system did not answer the action's call in time."""

    status = 504


@dataclass(frozen=True, slots=True)
class _LinkSettings:
    """Say where and as whom the pile dials."""

    url: str
    charge_point_id: str
    password: str | None


@dataclass(slots=True)
class _Outgoing:
    """Hold a transaction message waiting to be sent (or answered)."""

    action: str
    payload: object
    future: asyncio.Future[object] | None = None
    attempts: int = 0


@dataclass(slots=True)
class _Plugged:
    """Remember the battery of a plug that waits for authorisation."""

    profile: Profile = Profile.CHARGING
    soc: float = 0.2
    capacity_wh: float = 600.0


def _timestamp() -> str:
    """Return the time now as OCPP writes it (UTC, ISO 8601, milliseconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _status_of(id_tag_info: Any) -> str:
    """Return the status of an IdTagInfo, a dict or a dataclass."""
    if isinstance(id_tag_info, dict):
        return str(id_tag_info.get("status"))
    return str(getattr(id_tag_info, "status", None))


def _basic_auth(user: str, password: str) -> str:
    """Return an HTTP Basic Authorization header value."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


@register_kind(DeviceKind.CHARGING_STATION)
class ChargingStation(SimulatedDevice):
    """Charge e-bikes on several ports and report them over OCPP 1.6J."""

    def __init__(self, spec: DeviceSpec, scenario: Scenario) -> None:
        """Read the options and set up the ports; nothing is dialled yet."""
        super().__init__(spec, scenario)
        self.options = self.read_options(
            lambda: ChargingStationOptions.from_spec(spec), ChargingStationOptions
        )
        # Not security: repeatable registers, temperatures and chargers per pile.
        self._random = random.Random(spec.id)  # noqa: S311
        self.ports: dict[int, Port] = {
            number: Port(number, self._random, self.options.voltage)
            for number in range(1, self.options.ports + 1)
        }
        for fault in self.options.faults:
            port = self.ports[fault.port]
            port.error_code = fault.error_code
            port.vendor_error_code = fault.vendor_error_code
        self._advanced_at = time.monotonic()
        self._meter_interval = self.options.meter_interval_seconds
        self._meter_changed = asyncio.Event()
        self._settings: _LinkSettings | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._meter_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._link: CentralSystemLink | None = None
        self._attempt: asyncio.Future[JSONObject] | None = None
        self._redial_after: float | None = None
        self._outbox: deque[_Outgoing] = deque()
        self._outbox_changed = asyncio.Event()
        self._plugged: dict[int, _Plugged] = {}
        self._starting: set[int] = set()
        self.booted = False
        self.boot_status: str | None = None
        self.heartbeat_interval: int | None = None
        self._sessions_started = False
        self.connections = 0
        self.heartbeats = 0
        self.dropped = 0
        self._requests: deque[JSONObject] = deque(maxlen=_MAX_RECEIVED)
        self._call_errors: deque[JSONObject] = deque(maxlen=_MAX_CALL_ERRORS)
        self.failed_connections: deque[JSONObject] = deque(maxlen=_MAX_FAILED)

    # --- lifecycle -------------------------------------------------------------

    @override
    async def start(self, host: str) -> PortInfo:
        """Start the meters; dial nobody until ``connect``."""
        self.raise_option_error()
        self._advanced_at = time.monotonic()
        self._meter_task = asyncio.create_task(
            self._guarded(self._meter_loop, "meter values"), name=f"{self.id}-meter"
        )
        return PortInfo(
            host,
            None,
            _PROTOCOL,
            {
                "charge_point_id": self.options.charge_point_id,
                "ports": self.options.ports,
            },
        )

    @override
    async def stop(self) -> None:
        """Hang up and cancel every task."""
        await self._hang_up()
        for task in (self._meter_task, *self._background):
            await _cancel(task)
        self._meter_task = None

    async def _hang_up(self) -> None:
        """Stop dialling and close the connection (the queue is kept)."""
        task, self._run_task = self._run_task, None
        await _cancel(task)
        self._link = None
        if self._attempt is not None and not self._attempt.done():
            self._attempt.cancel()

    def spawn(self, job: Callable[[], Awaitable[None]], name: str) -> None:
        """Run a follow-up job beside the link, keeping a reference to it."""
        task = asyncio.create_task(self._guarded(job, name), name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _guarded(self, job: Callable[[], Awaitable[None]], name: str) -> None:
        """Run a background job, logging instead of losing its failure."""
        try:
            await job()
        except Exception:
            _LOGGER.exception("%s: %s failed", self.id, name)

    # --- the link --------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Say whether a websocket to the central system is open."""
        return self._link is not None

    def _settle_attempt(self, outcome: JSONObject) -> None:
        """Tell a waiting ``connect`` how the first attempt went."""
        if self._attempt is not None and not self._attempt.done():
            self._attempt.set_result(outcome)

    async def _run(self, settings: _LinkSettings) -> None:
        """Dial, serve and dial again with backoff, until cancelled."""
        options = self.options
        delay = options.reconnect_min_seconds
        headers: dict[str, str] = {}
        if settings.password is not None:
            headers["Authorization"] = _basic_auth(
                settings.charge_point_id, settings.password
            )
        while True:
            outcome: JSONObject
            try:
                connection = await connect(
                    settings.url,
                    subprotocols=[_SUBPROTOCOL],
                    additional_headers=headers,
                    open_timeout=options.call_timeout_seconds,
                    close_timeout=_CLOSE_TIMEOUT,
                )
            except InvalidStatus as error:
                outcome = {"connected": False, "status": error.response.status_code}
            except (OSError, TimeoutError, WebSocketException) as error:
                outcome = {
                    "connected": False,
                    "error": f"{type(error).__name__}: {error}",
                }
            else:
                self.connections += 1
                try:
                    await self._serve(settings, connection)
                finally:
                    await connection.close()
                delay = options.reconnect_min_seconds
                if self._redial_after is not None:
                    delay, self._redial_after = self._redial_after, None
                _LOGGER.info(
                    "%s: connection to %s ended; dialling again in %g s",
                    self.id,
                    settings.url,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, options.reconnect_max_seconds)
                continue
            self.failed_connections.append(outcome)
            self._settle_attempt(outcome)
            _LOGGER.info(
                "%s: cannot connect to %s (%s); dialling again in %g s",
                self.id,
                settings.url,
                outcome.get("status", outcome.get("error")),
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, options.reconnect_max_seconds)
            # A later success resets the backoff: see above.

    async def _serve(
        self, settings: _LinkSettings, connection: ClientConnection
    ) -> None:
        """Run one connection: read frames, boot, report, send and beat the heart."""
        link = CentralSystemLink(
            settings.charge_point_id,
            connection,
            self,
            timeout=self.options.call_timeout_seconds,
        )
        self._link = link
        _LOGGER.info("%s: connected to %s", self.id, settings.url)
        reader = asyncio.create_task(link.serve(), name=f"{self.id}-read")
        session = asyncio.create_task(self._session(link), name=f"{self.id}-session")
        try:
            await asyncio.wait({reader, session}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if self._link is link:
                self._link = None
            for task in (reader, session):
                await _cancel(task)
        for task in (reader, session):
            if not task.cancelled() and (error := task.exception()) is not None:
                _LOGGER.error("%s: the connection failed", self.id, exc_info=error)

    async def _session(self, link: CentralSystemLink) -> None:
        """Boot if needed, report every port, then send queued messages and beat."""
        try:
            if not self.booted:
                await self._boot_until_accepted(link)
            await self._report_all(link)
            self._settle_attempt(self._outcome())
            if not self._sessions_started:
                self._sessions_started = True
                self.spawn(self._start_demo_sessions, f"{self.id}-demo-sessions")
            pump = asyncio.create_task(self._pump(link), name=f"{self.id}-pump")
            beat = asyncio.create_task(
                self._heartbeat_loop(link), name=f"{self.id}-beat"
            )
            try:
                await asyncio.wait({pump, beat}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (pump, beat):
                    await _cancel(task)
            for task in (pump, beat):
                if not task.cancelled() and (error := task.exception()) is not None:
                    raise error
        except LinkDownError:
            return

    def _outcome(self) -> JSONObject:
        """Return how a connection went, for ``connect``."""
        return {
            "connected": self.connected,
            "booted": self.booted,
            "boot_status": self.boot_status,
        }

    async def _boot(self, link: CentralSystemLink) -> str:
        """Send BootNotification; keep its status and interval; return the status."""
        options = self.options
        answer = await link.request(
            call.BootNotification(
                charge_point_vendor=options.vendor,
                charge_point_model=options.model,
                charge_point_serial_number=options.serial_number,
                firmware_version=options.firmware_version,
            )
        )
        status = str(answer.status)
        self.boot_status = status
        self.heartbeat_interval = int(answer.interval)
        self.booted = status == "Accepted"
        _LOGGER.info(
            "%s: boot %s (heartbeat every %s s)",
            self.id,
            status,
            self.heartbeat_interval,
        )
        return status

    async def _boot_until_accepted(self, link: CentralSystemLink) -> None:
        """Boot, and boot again after the given interval until Accepted."""
        while True:
            try:
                status = await self._boot(link)
            except (CallErrorReplyError, TimeoutError) as error:
                _LOGGER.warning("%s: boot failed: %s", self.id, error or "no answer")
                await asyncio.sleep(_BOOT_RETRY_SECONDS)
                continue
            if status == "Accepted":
                return
            self._settle_attempt(self._outcome())
            await asyncio.sleep(self.heartbeat_interval or _BOOT_RETRY_SECONDS)

    async def _heartbeat_loop(self, link: CentralSystemLink) -> None:
        """Send a Heartbeat every interval the central system asked for."""
        while True:
            await asyncio.sleep(self.heartbeat_interval or _DEFAULT_HEARTBEAT)
            try:
                await link.request(call.Heartbeat())
            except (CallErrorReplyError, TimeoutError) as error:
                _LOGGER.warning(
                    "%s: heartbeat failed: %s", self.id, error or "no answer"
                )
                continue
            self.heartbeats += 1

    # --- the transaction queue -------------------------------------------------

    def _enqueue(self, action: str, payload: object) -> _Outgoing:
        """Queue a transaction message; it is sent in order whenever the link is up."""
        if len(self._outbox) >= _MAX_QUEUED:
            # The oldest meter value not being sent goes first; stops are kept.
            victim = next(
                (
                    item
                    for index, item in enumerate(self._outbox)
                    if index > 0 and item.action == "MeterValues"
                ),
                self._outbox[0],
            )
            self._outbox.remove(victim)
            self.dropped += 1
            if victim.future is not None and not victim.future.done():
                victim.future.set_result(None)
            _LOGGER.warning("%s: queue full; dropped a %s", self.id, victim.action)
        item = _Outgoing(action, payload, asyncio.get_running_loop().create_future())
        self._outbox.append(item)
        self._outbox_changed.set()
        return item

    async def _pump(self, link: CentralSystemLink) -> None:
        """Send queued transaction messages in order, each once it is answered."""
        while True:
            while not self._outbox:
                self._outbox_changed.clear()
                await self._outbox_changed.wait()
            item = self._outbox[0]
            answer: object = None
            try:
                answer = await link.request(item.payload)
            except TimeoutError:
                item.attempts += 1
                if item.attempts < _MAX_ATTEMPTS:
                    continue
                _LOGGER.warning(
                    "%s: %s was never answered; given up", self.id, item.action
                )
            except CallErrorReplyError as error:
                _LOGGER.warning("%s: %s refused: %s", self.id, item.action, error)
                answer = error
            if self._outbox and self._outbox[0] is item:
                self._outbox.popleft()
            if item.future is not None and not item.future.done():
                item.future.set_result(answer)

    async def _settled(self, items: list[_Outgoing]) -> None:
        """Wait (a while) for queued messages to be answered, if the link is up."""
        futures = [i.future for i in items if i.future is not None]
        if not futures or not self.connected:
            return
        timeout = self.options.call_timeout_seconds * _MAX_ATTEMPTS + 1.0
        await asyncio.wait(futures, timeout=timeout)

    # --- what the pile reports -------------------------------------------------

    def _advance(self) -> None:
        """Let the (scaled) time since the last look pass on every port."""
        now = time.monotonic()
        seconds = (now - self._advanced_at) * self.options.time_scale
        self._advanced_at = now
        for port in self.ports.values():
            port.advance(seconds, self._meter_interval)

    def _meter_value(self, port: Port, context: str) -> Any:
        """Return one MeterValue of the five measurands for ``port``."""
        sample = port.sample()

        def sampled(value: str, measurand: str, unit: str, **extra: str) -> Any:
            """Return one sampled value."""
            return datatypes.SampledValue(
                value=value, context=context, measurand=measurand, unit=unit, **extra
            )

        return datatypes.MeterValue(
            timestamp=_timestamp(),
            sampled_value=[
                sampled(
                    f"{sample.energy_wh:.1f}", "Energy.Active.Import.Register", "Wh"
                ),
                sampled(f"{sample.power_w:.1f}", "Power.Active.Import", "W"),
                sampled(f"{sample.current_a:.3f}", "Current.Import", "A"),
                sampled(f"{sample.voltage_v:.1f}", "Voltage", "V"),
                sampled(
                    f"{sample.temperature_c:.1f}",
                    "Temperature",
                    "Celsius",
                    location="Body",
                ),
            ],
        )

    def _meter_values(self, port: Port, context: str) -> Any:
        """Return a MeterValues call for ``port`` (with its transaction, if any)."""
        return call.MeterValues(
            connector_id=port.number,
            meter_value=[self._meter_value(port, context)],
            transaction_id=port.transaction_id,
        )

    def _queue_meter_values(
        self, ports: list[Port], context: str = "Sample.Periodic"
    ) -> list[_Outgoing]:
        """Queue MeterValues of ports with a transaction; return the queued items."""
        self._advance()
        return [
            self._enqueue("MeterValues", self._meter_values(port, context))
            for port in ports
            if port.transaction_id is not None
        ]

    async def _meter_loop(self) -> None:
        """Sample every port with a transaction every meter interval, link or not."""
        while True:
            self._meter_changed.clear()
            interval = self._meter_interval
            if interval <= 0:
                await self._meter_changed.wait()
                continue
            try:
                async with asyncio.timeout(interval):
                    await self._meter_changed.wait()
                continue
            except TimeoutError:
                pass
            self._queue_meter_values(list(self.ports.values()))

    def _station_status(self) -> str:
        """Return connector 0's status: Unavailable only if every port is."""
        if all(not port.operative for port in self.ports.values()):
            return "Unavailable"
        return "Available"

    async def _status(
        self, connector: int, link: CentralSystemLink | None = None
    ) -> None:
        """Send a StatusNotification for a port (or 0, the pile); log failures."""
        link = link or self._link
        if link is None or not self.booted:
            return
        if connector == 0:
            status, error_code, vendor_code = self._station_status(), NO_ERROR, None
        else:
            port = self.ports[connector]
            status, error_code = port.status, port.error_code
            vendor_code = port.vendor_error_code
        try:
            await link.request(
                call.StatusNotification(
                    connector_id=connector,
                    error_code=error_code,
                    status=status,
                    timestamp=_timestamp(),
                    vendor_error_code=vendor_code,
                )
            )
        except LinkDownError:
            # The next connection reports every port anyway.
            return
        except (CallErrorReplyError, TimeoutError) as error:
            _LOGGER.warning(
                "%s: status of connector %d not delivered: %s",
                self.id,
                connector,
                error or "no answer",
            )

    async def _report_all(self, link: CentralSystemLink) -> None:
        """Send the pile's and every port's status."""
        for connector in (0, *self.ports):
            await self._status(connector, link)

    # --- sessions ----------------------------------------------------------------

    async def _call(self, link: CentralSystemLink, payload: object) -> Any:
        """Send a call for an action, turning failures into action errors."""
        try:
            return await link.request(payload)
        except LinkDownError as error:
            raise NotConnectedActionError(f"{self.id}: link lost: {error}") from None
        except TimeoutError:
            raise CentralTimeoutActionError(
                f"{self.id}: the central system did not answer"
            ) from None
        except CallErrorReplyError as error:
            raise CentralErrorActionError(
                f"{self.id}: the central system answered {error}"
            ) from None

    def _require_link(self, *, booted: bool = True) -> CentralSystemLink:
        """Return the open link (booted, if asked), or refuse with 409."""
        link = self._link
        if link is None:
            raise NotConnectedActionError(
                f"{self.id} is not connected to a central system"
            )
        if booted and not self.booted:
            raise NotConnectedActionError(
                f"{self.id} is connected but not booted ({self.boot_status})"
            )
        return link

    def _battery(self, plugged: _Plugged) -> Battery:
        """Return a fresh battery for a plug."""
        return Battery.plugged(
            plugged.profile, plugged.soc, plugged.capacity_wh, self._random
        )

    async def _start_transaction(
        self, link: CentralSystemLink, port: Port, id_tag: str, plugged: _Plugged
    ) -> tuple[str, int | None]:
        """Send StartTransaction and open it; return its idTag status and id."""
        self._advance()
        answer = await self._call(
            link,
            call.StartTransaction(
                connector_id=port.number,
                id_tag=id_tag,
                # Whole Wh; the register is never below it.
                meter_start=int(port.energy_wh),
                timestamp=_timestamp(),
            ),
        )
        transaction_id = int(answer.transaction_id)
        authorised = _status_of(answer.id_tag_info)
        self._advance()
        port.begin(transaction_id, id_tag, self._battery(plugged))
        self._plugged.pop(port.number, None)
        if authorised != "Accepted":
            # StopTransactionOnInvalidId: the central system refused the tag late.
            _LOGGER.info(
                "%s: port %d transaction %d refused (%s)",
                self.id,
                port.number,
                transaction_id,
                authorised,
            )
            await self._settled([self._stop_transaction(port, "DeAuthorized")])
            port.preparing = True
            await self._status(port.number)
            return authorised, None
        _LOGGER.info(
            "%s: port %d transaction %d for %s",
            self.id,
            port.number,
            transaction_id,
            id_tag,
        )
        await self._status(port.number)
        return authorised, transaction_id

    def _stop_transaction(
        self, port: Port, reason: str, *, finishing: bool = False
    ) -> _Outgoing:
        """Close the port's transaction and queue its StopTransaction."""
        self._advance()
        transaction_id, id_tag = port.transaction_id, port.id_tag
        final = self._meter_value(port, "Transaction.End")
        payload = call.StopTransaction(
            meter_stop=int(port.energy_wh),
            timestamp=_timestamp(),
            transaction_id=transaction_id,
            reason=reason,
            id_tag=id_tag,
            transaction_data=[final],
        )
        port.end(finishing=finishing)
        _LOGGER.info(
            "%s: port %d transaction %s stopped (%s)",
            self.id,
            port.number,
            transaction_id,
            reason,
        )
        return self._enqueue("StopTransaction", payload)

    async def _plug_in(self, port: Port, id_tag: str, plugged: _Plugged) -> JSONObject:
        """Plug an e-bike in: Preparing, Authorize, then StartTransaction."""
        link = self._require_link()
        if not port.free or port.number in self._starting:
            raise PortBusyActionError(
                f"port {port.number} of {self.id} is {port.status}"
            )
        self._starting.add(port.number)
        try:
            port.preparing = True
            self._plugged[port.number] = plugged
            await self._status(port.number)
            answer = await self._call(link, call.Authorize(id_tag=id_tag))
            authorised = _status_of(answer.id_tag_info)
            transaction_id: int | None = None
            if authorised == "Accepted":
                authorised, transaction_id = await self._start_transaction(
                    link, port, id_tag, plugged
                )
            else:
                _LOGGER.info(
                    "%s: port %d: %s not authorised (%s)",
                    self.id,
                    port.number,
                    id_tag,
                    authorised,
                )
        finally:
            self._starting.discard(port.number)
        return {
            "authorized": authorised,
            "transaction_id": transaction_id,
            "status": port.status,
        }

    async def _start_demo_sessions(self) -> None:
        """Start the scenario's sessions once, after the first boot."""
        for session in self.options.sessions:
            port = self.ports[session.port]
            try:
                await self._plug_in(port, session.id_tag, _plugged_from(session))
            except ActionError as error:
                _LOGGER.warning(
                    "%s: demo session on port %d not started: %s",
                    self.id,
                    session.port,
                    error,
                )

    # --- control API -------------------------------------------------------------

    @override
    def state(self) -> JSONObject:
        """Return the link, the boot, every port and what the central system sent."""
        self._advance()
        settings = self._settings
        return {
            "connected": self.connected,
            "dialling": self._run_task is not None,
            "url": settings.url if settings else None,
            "charge_point_id": (
                settings.charge_point_id if settings else self.options.charge_point_id
            ),
            "booted": self.booted,
            "boot_status": self.boot_status,
            "heartbeat_interval": self.heartbeat_interval,
            "meter_interval_seconds": self._meter_interval,
            "heartbeats": self.heartbeats,
            "ports": [port.to_json() for port in self.ports.values()],
            "received": list(self._requests),
            "call_errors": list(self._call_errors),
            "queued": len(self._outbox),
            "dropped": self.dropped,
            "connections": self.connections,
            "failed_connections": list(self.failed_connections),
        }

    @override
    async def handle_action(self, action: str, params: JSONObject) -> JSONObject:
        """Drive the pile: the link, plugs, faults, meters and raw frames."""
        reader = OcppReader(self.id, params, noun="parameter")
        handlers: dict[str, Callable[[OcppReader], Awaitable[JSONObject]]] = {
            "state": self._action_state,
            "connect": self._connect,
            "disconnect": self._disconnect,
            "drop": self._drop,
            "plug_in": self._action_plug_in,
            "unplug": self._unplug,
            "set_power": self._set_power,
            "set_temperature": self._set_temperature,
            "fault": self._fault,
            "clear_fault": self._clear_fault,
            "meter_now": self._meter_now,
            "send_raw": self._send_raw,
            "call": self._action_call,
            "boot": self._action_boot,
        }
        if (handler := handlers.get(action)) is None:
            raise UnknownActionError(self.id, action)
        try:
            return await handler(reader)
        except ValueError as error:
            raise ActionError(str(error)) from None

    def _port(self, reader: OcppReader) -> Port:
        """Return the port named by the ``port`` parameter."""
        return self.ports[reader.port("port", self.options.ports)]

    async def _action_state(self, reader: OcppReader) -> JSONObject:
        """Return the live state."""
        reader.reject_unknown()
        return self.state()

    async def _connect(self, reader: OcppReader) -> JSONObject:
        """Dial the central system (and keep dialling); answer after the first try."""
        base = reader.required_text("url", "a ws:// or wss:// URL")
        if not base.startswith(("ws://", "wss://")):
            raise reader.fail("url", "a ws:// or wss:// URL")
        charge_point_id = charge_point_id_of(
            reader, "charge_point_id", self.options.charge_point_id
        )
        password = self.options.password
        if "password" in reader.options:
            password = reader.optional_text("password")
        reader.reject_unknown()
        await self._hang_up()
        settings = _LinkSettings(
            url=f"{base.rstrip('/')}/{quote(charge_point_id, safe='')}",
            charge_point_id=charge_point_id,
            password=password,
        )
        self._settings = settings
        attempt: asyncio.Future[JSONObject] = asyncio.get_running_loop().create_future()
        self._attempt = attempt
        self._run_task = asyncio.create_task(
            self._guarded(lambda: self._run(settings), "link"), name=f"{self.id}-link"
        )
        try:
            async with asyncio.timeout(_CONNECT_WAIT):
                return dict(await asyncio.shield(attempt))
        except TimeoutError:
            return {**self._outcome(), "pending": True}

    async def _disconnect(self, reader: OcppReader) -> JSONObject:
        """Close the connection and stop dialling."""
        reader.reject_unknown()
        await self._hang_up()
        _LOGGER.info("%s: disconnected", self.id)
        return {"connected": False}

    async def _drop(self, reader: OcppReader) -> JSONObject:
        """Cut the socket without a close frame; the pile dials again with backoff."""
        reader.reject_unknown()
        link = self._require_link(booted=False)
        link.connection.transport.abort()
        _LOGGER.info("%s: connection dropped", self.id)
        return {"dropped": True}

    async def _action_plug_in(self, reader: OcppReader) -> JSONObject:
        """Plug an e-bike into a port and start charging if the tag is accepted."""
        port = self._port(reader)
        session = session_from(reader, port.number)
        reader.reject_unknown()
        return await self._plug_in(port, session.id_tag, _plugged_from(session))

    async def _unplug(self, reader: OcppReader) -> JSONObject:
        """Pull the plug: stop the transaction (queued if the link is down)."""
        port = self._port(reader)
        reader.reject_unknown()
        transaction_id = port.transaction_id
        self._plugged.pop(port.number, None)
        if transaction_id is not None:
            item = self._stop_transaction(port, "EVDisconnected")
            await self._settled([item])
        port.preparing = port.finishing = False
        await self._status(port.number)
        return {
            "transaction_id": transaction_id,
            "status": port.status,
            "queued": len(self._outbox),
        }

    async def _set_power(self, reader: OcppReader) -> JSONObject:
        """Override the power a port draws (null resumes its profile)."""
        port = self._port(reader)
        watts = reader.watts("watts")
        reader.reject_unknown()
        self._advance()
        port.power_override = watts
        return port.to_json()

    async def _set_temperature(self, reader: OcppReader) -> JSONObject:
        """Override a port's socket temperature (null resumes the model)."""
        port = self._port(reader)
        celsius = reader.nullable_number(
            "celsius", minimum=_MIN_TEMPERATURE, maximum=_MAX_TEMPERATURE
        )
        reader.reject_unknown()
        self._advance()
        port.temperature_override = celsius
        if celsius is not None:
            port.temperature_c = celsius
        return port.to_json()

    async def _fault(self, reader: OcppReader) -> JSONObject:
        """Report a fault on a port: Faulted with that error code."""
        port = self._port(reader)
        error_code = reader.error_code("error_code")
        vendor_code = reader.optional_text("vendor_error_code")
        reader.reject_unknown()
        self._advance()
        port.error_code = error_code
        port.vendor_error_code = vendor_code
        _LOGGER.info("%s: port %d faulted: %s", self.id, port.number, error_code)
        await self._status(port.number)
        return port.to_json()

    async def _clear_fault(self, reader: OcppReader) -> JSONObject:
        """Clear a port's fault: back to Charging or Available."""
        port = self._port(reader)
        reader.reject_unknown()
        self._advance()
        port.error_code = NO_ERROR
        port.vendor_error_code = None
        _LOGGER.info("%s: port %d fault cleared", self.id, port.number)
        await self._status(port.number)
        return port.to_json()

    async def _meter_now(self, reader: OcppReader) -> JSONObject:
        """Send MeterValues now and wait for the answers; return how many."""
        ports = list(self.ports.values())
        chosen: Port | None = None
        if "port" in reader.options:
            chosen = self._port(reader)
            ports = [chosen]
        reader.reject_unknown()
        link = self._require_link()
        if chosen is not None and chosen.transaction_id is None:
            # No transaction: a plain reading of the connector, not queued.
            self._advance()
            await self._call(link, self._meter_values(chosen, "Sample.Periodic"))
            return {"sent": 1}
        items = self._queue_meter_values(ports)
        await self._settled(items)
        return {"sent": len(items)}

    async def _send_raw(self, reader: OcppReader) -> JSONObject:
        """Write a text frame as it is; return the reply with its unique id."""
        text = reader.required_text("text", "the frame's text")
        reader.reject_unknown()
        link = self._require_link(booted=False)
        unique_id: str | None = None
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        if isinstance(frame, list) and len(frame) > 1 and isinstance(frame[1], str):
            unique_id = frame[1]
        try:
            reply = await link.exchange(text, unique_id, _RAW_REPLY_WAIT)
        except LinkDownError as error:
            raise NotConnectedActionError(f"{self.id}: link lost: {error}") from None
        return {"reply": reply}

    async def _action_call(self, reader: OcppReader) -> JSONObject:
        """Send any OCPP call; return its answer payload or the CALLERROR."""
        action = reader.required_text("action", "an OCPP action name")
        reader.read.add("payload")
        payload = reader.options.get("payload", {})
        if not isinstance(payload, dict):
            raise reader.fail("payload", "an object")
        reader.reject_unknown()
        link = self._require_link(booted=False)
        unique_id = uuid.uuid4().hex
        text = json.dumps([2, unique_id, action, payload], ensure_ascii=False)
        try:
            reply = await link.exchange(
                text, unique_id, self.options.call_timeout_seconds
            )
        except LinkDownError as error:
            raise NotConnectedActionError(f"{self.id}: link lost: {error}") from None
        if not isinstance(reply, list) or len(reply) < 3:
            raise CentralTimeoutActionError(
                f"{self.id}: the central system did not answer {action}"
            )
        if reply[0] == 3:
            answer = reply[2]
            return answer if isinstance(answer, dict) else {"payload": answer}
        return {
            "code": reply[2],
            "description": reply[3] if len(reply) > 3 else None,
            "details": reply[4] if len(reply) > 4 else None,
        }

    async def _action_boot(self, reader: OcppReader) -> JSONObject:
        """Send BootNotification again, as after a reboot."""
        reader.reject_unknown()
        link = self._require_link(booted=False)
        try:
            status = await self._boot(link)
        except (CallErrorReplyError, TimeoutError, LinkDownError) as error:
            raise CentralErrorActionError(f"{self.id}: boot failed: {error}") from None
        if status == "Accepted":
            await self._report_all(link)
        return {"status": status, "interval": self.heartbeat_interval}

    # --- requests from the central system (CentralRequests) ----------------------

    def received(self, action: str, payload: JSONValue) -> None:
        """Record a request from the central system."""
        _LOGGER.info("%s: central system sent %s", self.id, action)
        self._requests.append({"action": action, "payload": payload})

    def call_error(self, error: JSONObject) -> None:
        """Record a CALLERROR from the central system."""
        _LOGGER.warning(
            "%s: central system answered with CALLERROR %s: %s",
            self.id,
            error.get("code"),
            error.get("description"),
        )
        self._call_errors.append(error)

    def remote_start(self, id_tag: str, connector_id: int | None) -> Reply:
        """Accept a remote start on a free port; start it after answering."""
        if connector_id is None:
            port = next(
                (
                    p
                    for p in self.ports.values()
                    if p.free and p.number not in self._starting
                ),
                None,
            )
        else:
            port = self.ports.get(connector_id)
        if (
            port is None
            or not port.free
            or port.number in self._starting
            or self._link is None
        ):
            return Reply(call_result.RemoteStartTransaction(status="Rejected"))
        self._starting.add(port.number)
        link, chosen = self._link, port

        async def start() -> None:
            """Start the transaction; remote starts need no Authorize."""
            try:
                chosen.preparing = True
                await self._status(chosen.number, link)
                plugged = self._plugged.get(chosen.number, _Plugged())
                await self._start_transaction(link, chosen, id_tag, plugged)
            except ActionError as error:
                _LOGGER.warning("%s: remote start failed: %s", self.id, error)
            finally:
                self._starting.discard(chosen.number)

        return Reply(call_result.RemoteStartTransaction(status="Accepted"), start)

    def _port_of_transaction(self, transaction_id: int) -> Port | None:
        """Return the port with this open transaction."""
        return next(
            (p for p in self.ports.values() if p.transaction_id == transaction_id),
            None,
        )

    def remote_stop(self, transaction_id: int) -> Reply:
        """Stop an open transaction: StopTransaction (Remote), then Finishing."""
        port = self._port_of_transaction(transaction_id)
        if port is None:
            return Reply(call_result.RemoteStopTransaction(status="Rejected"))
        chosen = port

        async def stop() -> None:
            """Send the stop, then the Finishing status."""
            await self._settled(
                [self._stop_transaction(chosen, "Remote", finishing=True)]
            )
            await self._status(chosen.number)

        return Reply(call_result.RemoteStopTransaction(status="Accepted"), stop)

    def change_availability(self, connector_id: int, kind: str) -> Reply:
        """Make one port (or all, for 0) operative or inoperative."""
        if connector_id == 0:
            ports = list(self.ports.values())
        elif connector_id in self.ports:
            ports = [self.ports[connector_id]]
        else:
            return Reply(call_result.ChangeAvailability(status="Rejected"))
        operative = kind == "Operative"
        scheduled = False
        for port in ports:
            if operative:
                port.operative = True
                port.unavailable_scheduled = False
            elif port.transaction_id is not None:
                port.unavailable_scheduled = True
                scheduled = True
            else:
                port.operative = False
        _LOGGER.info(
            "%s: connector %d %s%s",
            self.id,
            connector_id,
            kind,
            " (scheduled)" if scheduled else "",
        )

        async def report() -> None:
            """Report the ports whose status changed."""
            if connector_id == 0:
                await self._status(0)
            for port in ports:
                await self._status(port.number)

        status = "Scheduled" if scheduled else "Accepted"
        return Reply(call_result.ChangeAvailability(status=status), report)

    def reset(self, kind: str) -> Reply:
        """Accept a reset: stop every transaction, close, reconnect and boot."""
        reason = "HardReset" if kind == "Hard" else "SoftReset"

        async def reboot() -> None:
            """Stop transactions, then go down and come back."""
            items = [
                self._stop_transaction(port, reason)
                for port in self.ports.values()
                if port.transaction_id is not None
            ]
            await self._settled(items)
            for port in self.ports.values():
                port.preparing = port.finishing = False
            self._plugged.clear()
            self.booted = False
            self._redial_after = _RESET_PAUSE
            _LOGGER.info("%s: %s reset; rebooting", self.id, kind)
            if (link := self._link) is not None:
                await link.connection.close()

        return Reply(call_result.Reset(status="Accepted"), reboot)

    def unlock(self, connector_id: int) -> Reply:
        """Release a port's plug, stopping its transaction (UnlockCommand)."""
        if connector_id not in self.ports:
            return Reply(call_result.UnlockConnector(status="NotSupported"))
        port = self.ports[connector_id]

        async def release() -> None:
            """Stop the transaction, if any, and report the port free."""
            if port.transaction_id is not None:
                await self._settled([self._stop_transaction(port, "UnlockCommand")])
            port.preparing = port.finishing = False
            self._plugged.pop(port.number, None)
            await self._status(port.number)

        return Reply(call_result.UnlockConnector(status="Unlocked"), release)

    def data_transfer(self, vendor_id: str) -> Reply:
        """Answer that no vendor extension is known."""
        _LOGGER.info("%s: DataTransfer from unknown vendor %s", self.id, vendor_id)
        return Reply(call_result.DataTransfer(status="UnknownVendorId"))

    def _configuration(self) -> dict[str, tuple[str, bool]]:
        """Return the configuration keys: value and whether read-only."""
        interval = self._meter_interval
        return {
            "NumberOfConnectors": (str(self.options.ports), True),
            "MeterValueSampleInterval": (
                str(int(interval)) if interval.is_integer() else str(interval),
                False,
            ),
            "HeartbeatInterval": (
                str(self.heartbeat_interval or _DEFAULT_HEARTBEAT),
                True,
            ),
        }

    def get_configuration(self, keys: list[str] | None) -> Reply:
        """Report the known keys asked for (all, without a list)."""
        known = self._configuration()
        wanted = keys or list(known)
        found = [
            {"key": key, "readonly": known[key][1], "value": known[key][0]}
            for key in wanted
            if key in known
        ]
        unknown = [key for key in wanted if key not in known]
        return Reply(
            call_result.GetConfiguration(
                configuration_key=found, unknown_key=unknown or None
            )
        )

    def change_configuration(self, key: str, value: str) -> Reply:
        """Change MeterValueSampleInterval; nothing else can be changed."""
        if key != "MeterValueSampleInterval":
            return Reply(call_result.ChangeConfiguration(status="NotSupported"))
        try:
            interval = float(value)
        except ValueError:
            interval = -1.0
        if not interval >= 0:
            return Reply(call_result.ChangeConfiguration(status="Rejected"))
        self._advance()
        self._meter_interval = interval
        self._meter_changed.set()
        _LOGGER.info("%s: meter values every %g s", self.id, interval)
        return Reply(call_result.ChangeConfiguration(status="Accepted"))

    def trigger(self, message: str, connector_id: int | None) -> Reply:
        """Send the message the central system asks for, after answering."""
        if connector_id not in (None, 0) and connector_id not in self.ports:
            return Reply(call_result.TriggerMessage(status="Rejected"))
        ports = (
            list(self.ports.values())
            if connector_id in (None, 0)
            else [self.ports[connector_id]]
        )
        jobs: dict[str, Callable[[], Awaitable[None]]] = {
            "BootNotification": self._triggered_boot,
            "Heartbeat": self._triggered_heartbeat,
            "StatusNotification": lambda: self._triggered_status(connector_id, ports),
            "MeterValues": lambda: self._triggered_meter_values(ports),
        }
        if (job := jobs.get(message)) is None:
            return Reply(call_result.TriggerMessage(status="NotImplemented"))
        return Reply(call_result.TriggerMessage(status="Accepted"), job)

    async def _triggered_boot(self) -> None:
        """Boot again, as asked by TriggerMessage."""
        if (link := self._link) is None:
            return
        try:
            status = await self._boot(link)
        except (CallErrorReplyError, TimeoutError, LinkDownError) as error:
            _LOGGER.warning("%s: triggered boot failed: %s", self.id, error)
            return
        if status == "Accepted":
            await self._report_all(link)

    async def _triggered_heartbeat(self) -> None:
        """Beat once, as asked by TriggerMessage."""
        if (link := self._link) is None:
            return
        try:
            await link.request(call.Heartbeat())
        except (CallErrorReplyError, TimeoutError, LinkDownError) as error:
            _LOGGER.warning("%s: triggered heartbeat failed: %s", self.id, error)
            return
        self.heartbeats += 1

    async def _triggered_status(
        self, connector_id: int | None, ports: list[Port]
    ) -> None:
        """Report the connector, or the pile and every port."""
        if connector_id in (None, 0):
            await self._status(0)
        for port in ports:
            await self._status(port.number)

    async def _triggered_meter_values(self, ports: list[Port]) -> None:
        """Sample the connector (or every port) now, context Trigger."""
        if (link := self._link) is None:
            return
        self._advance()
        for port in ports:
            try:
                await link.request(self._meter_values(port, "Trigger"))
            except (CallErrorReplyError, TimeoutError, LinkDownError) as error:
                _LOGGER.warning("%s: triggered meter values failed: %s", self.id, error)
                return


def _plugged_from(session: SessionSpec) -> _Plugged:
    """Return the battery of a session description."""
    return _Plugged(
        profile=session.profile, soc=session.soc, capacity_wh=session.capacity_wh
    )


async def _cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel a task (if any) and wait until it has finished."""
    if task is None or task.done():
        return
    task.cancel()
    await asyncio.wait([task])
