"""Run the OCPP 1.6J central system for a community's charging stations.

The centre admits the stations it knows (by charge point ID and optional
password), answers their requests, keeps sessions (transactions) and readings
on the ports, judges the safety cut-offs and stops sessions that break them.
It also carries out commands: start and stop charging, availability, reset,
unlock, and the emergency stop of every station in a building.

Sessions outlive a restart of Home Assistant: open transactions and energy
registers are saved (``to_storage``) and a station that reconnects goes on
where it was. Energy is read from each port's register, so a session's energy
is register minus start, whatever was received twice; a StartTransaction sent
again gets the same transaction ID and a StopTransaction sent again changes
nothing.
"""

import asyncio
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterable
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
import hmac
import logging
import math
from typing import Any, Final

from ..protocols.ocpp.connection import ChargePointConnection, Problem
from ..protocols.ocpp.errors import (
    CallErrorReceivedError,
    CallRefusedError,
    ErrorCode,
    OcppError,
)
from ..protocols.ocpp.messages import Payload
from ..protocols.ocpp.server import Admission, CentralSystemServer
from .charging import (
    BootInfo,
    ChargingPort,
    ChargingStation,
    CutoffReason,
    PortStatus,
    SessionSummary,
    Transaction,
    cutoff_due,
)
from .errors import CommunityError
from .listeners import Listeners

_LOGGER: Final = logging.getLogger(__name__)

# The idTag of sessions started from Home Assistant (CiString20).
OPERATOR_ID_TAG: Final = "HOMEASSISTANT"
DEFAULT_HEARTBEAT_INTERVAL: Final = 300
# A cut-off whose stop went unanswered is sent again after this long.
CUTOFF_RETRY_SECONDS: Final = 60.0
# Transaction IDs remembered as closed, to take a StopTransaction sent again.
RECENT_CLOSED: Final = 1024
STORAGE_KEY_NEXT_ID: Final = "next_transaction_id"
# How far a station's clock may be from ours before its start times are not used.
CLOCK_TRUST: Final = timedelta(minutes=15)

_MEASURANDS: Final = {
    "Energy.Active.Import.Register": "register_wh",
    "Power.Active.Import": "power_w",
    "Current.Import": "current_a",
    "Voltage": "voltage_v",
    "Temperature": "temperature_c",
}
# Unit -> factor to the unit a port keeps; Fahrenheit and Kelvin need offsets.
_SCALES: Final = {"kWh": 1000.0, "kW": 1000.0, "Wh": 1.0, "W": 1.0}


class ChargingEventType(StrEnum):
    """Name what happened on a port."""

    SESSION_STARTED = "session_started"
    SESSION_FINISHED = "session_finished"
    CUTOFF = "cutoff"


@dataclass(frozen=True, slots=True)
class ChargingEvent:
    """Tell what happened on one port of a station."""

    station_id: str
    port: int
    event_type: ChargingEventType
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BuildingStopReport:
    """Count what an emergency stop did."""

    stations: int
    sessions: int
    unreachable: list[str]


class ChargingCommandError(CommunityError):
    """Report a command a station did not carry out."""


class StationOfflineError(ChargingCommandError):
    """Report a command to a station that is not connected."""

    def __init__(self, name: str) -> None:
        """Name the station."""
        super().__init__(
            f"The charging station {name} is not connected",
            translation_key="station_offline",
            translation_placeholders={"station": name},
        )


class CommandRejectedError(ChargingCommandError):
    """Report a command the station refused or failed to answer."""

    def __init__(self, name: str, action: str, answer: str) -> None:
        """Name the station, the OCPP action and its answer."""
        super().__init__(
            f"The charging station {name} answered {action} with {answer}",
            translation_key="station_refused",
            translation_placeholders={
                "station": name,
                "action": action,
                "answer": answer,
            },
        )


class ChargingCentre:
    """Be the central system of every charging station in a community."""

    def __init__(
        self,
        identify: Callable[[str], str | None],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        heartbeat_interval: int = DEFAULT_HEARTBEAT_INTERVAL,
    ) -> None:
        """Start with no stations.

        ``identify`` returns the resident ID of a card (idTag), or None.
        """
        self._identify = identify
        self._clock = clock
        self.heartbeat_interval = heartbeat_interval
        self.stations: dict[str, ChargingStation] = {}
        self._by_charge_point: dict[str, ChargingStation] = {}
        self._connections: dict[str, ChargePointConnection] = {}
        # The servers stations dial, by TCP port; the glue starts them.
        self.servers: dict[int, CentralSystemServer] = {}
        self.events = Listeners[ChargingEvent]()
        # Something worth saving changed.
        self.changed = Listeners[()]()
        self.problems: Counter[Problem] = Counter()
        self._logged: set[tuple[Problem, str | None]] = set()
        self._next_transaction_id = 1
        self._closed_ids: deque[int] = deque(maxlen=RECENT_CLOSED)
        self._tasks: set[asyncio.Task[None]] = set()

    # --- stations and storage ------------------------------------------------

    def add_station(self, station: ChargingStation) -> None:
        """Serve a station."""
        self.stations[station.station_id] = station
        self._by_charge_point[station.charge_point_id] = station

    def station_for(self, charge_point_id: str) -> ChargingStation | None:
        """Return the station with a charge point ID."""
        return self._by_charge_point.get(charge_point_id)

    def to_storage(self) -> dict[str, Any]:
        """Return what must survive a restart."""
        return {
            STORAGE_KEY_NEXT_ID: self._next_transaction_id,
            "closed": list(self._closed_ids),
            "stations": {
                station.charge_point_id: station.to_dict()
                for station in self.stations.values()
            },
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Take back what ``to_storage`` saved, for the stations still configured."""
        self._next_transaction_id = max(1, int(data.get(STORAGE_KEY_NEXT_ID, 1)))
        self._closed_ids.extend(int(closed) for closed in data.get("closed", ()))
        for charge_point_id, station_data in dict(data.get("stations", {})).items():
            if (station := self._by_charge_point.get(charge_point_id)) is not None:
                station.restore(station_data)

    # --- the OCPP handler ----------------------------------------------------------

    def admission(self, charge_point_id: str, password: str | None) -> Admission:
        """Admit known stations with the right password, if they have one."""
        if (station := self._by_charge_point.get(charge_point_id)) is None:
            return Admission.UNKNOWN
        if station.password is None:
            return Admission.ACCEPTED
        if password is not None and hmac.compare_digest(
            password.encode(), station.password.encode()
        ):
            return Admission.ACCEPTED
        return Admission.UNAUTHORIZED

    def connection_opened(self, connection: ChargePointConnection) -> None:
        """Mark the station connected and finish stops it missed while away."""
        station = self._station(connection)
        self._connections[station.charge_point_id] = connection
        station.connected = True
        station.last_seen = self._clock()
        _LOGGER.info(
            "%s (%s) connected from %s",
            station.name,
            station.charge_point_id,
            connection.peer,
        )
        station.notify_all()
        for port in station.ports.values():
            if port.transaction is not None and port.transaction.cutoff is not None:
                port.transaction.cutoff_sent = False
        self._send_due_stops(station)
        if station.blocked:
            # An emergency stop it missed while away: out of service it goes.
            self._spawn(self._block_again(station), f"block {station.charge_point_id}")

    async def _block_again(self, station: ChargingStation) -> None:
        """Take a blocked station that came back out of service."""
        try:
            await self.set_available(station, 0, False)
        except ChargingCommandError as error:
            _LOGGER.warning("%s", error)

    def connection_closed(self, connection: ChargePointConnection) -> None:
        """Mark the station disconnected; its readings are unknown from now on."""
        station = self._station(connection)
        self._connections.pop(station.charge_point_id, None)
        station.connected = False
        station.status = None
        for port in station.ports.values():
            port.clear_readings()
        _LOGGER.info("%s (%s) disconnected", station.name, station.charge_point_id)
        station.notify_all()

    def problem(
        self, problem: Problem, charge_point_id: str | None, peer: str, detail: str
    ) -> None:
        """Count a problem; log it once per kind and charge point."""
        self.problems[problem] += 1
        if (problem, charge_point_id) in self._logged:
            _LOGGER.debug("%s from %s (%s): %s", problem, charge_point_id, peer, detail)
            return
        self._logged.add((problem, charge_point_id))
        _LOGGER.warning(
            "OCPP %s from %s: %s; further ones are only counted",
            problem.replace("_", " "),
            peer if charge_point_id is None else f"{charge_point_id} ({peer})",
            detail,
        )

    def handle_request(
        self, connection: ChargePointConnection, action: str, payload: Payload
    ) -> Payload:
        """Answer one request of a station."""
        station = self._station(connection)
        now = self._clock()
        station.last_seen = now
        match action:
            case "BootNotification":
                return self._boot(station, payload, now)
            case "Heartbeat":
                return {"currentTime": _iso(now)}
            case "StatusNotification":
                self._status(station, payload)
                return {}
            case "MeterValues":
                self._meter_values(station, payload, now)
                return {}
            case "Authorize":
                return {
                    "idTagInfo": {"status": self._authorize(station, payload["idTag"])}
                }
            case "StartTransaction":
                return self._start_transaction(station, payload, now)
            case "StopTransaction":
                return self._stop_transaction(station, payload, now)
            case "DataTransfer":
                # No vendor extensions are known; OCPP's answer for that.
                return {"status": "UnknownVendorId"}
            case _:
                # Diagnostics and firmware status notifications need no answer.
                return {}

    def _station(self, connection: ChargePointConnection) -> ChargingStation:
        """Return the station behind a connection (admission made sure there is one)."""
        station = self._by_charge_point.get(connection.charge_point_id)
        if station is None:
            raise CallRefusedError(
                ErrorCode.SECURITY_ERROR, "this charge point is no longer configured"
            )
        return station

    def _boot(
        self, station: ChargingStation, payload: Payload, now: datetime
    ) -> Payload:
        """Take the station's identity."""
        station.boot = BootInfo(
            vendor=payload["chargePointVendor"],
            model=payload["chargePointModel"],
            serial_number=payload.get("chargePointSerialNumber"),
            firmware_version=payload.get("firmwareVersion"),
        )
        station.listeners.notify()
        self.changed.notify()
        return {
            "status": "Accepted",
            "currentTime": _iso(now),
            "interval": self.heartbeat_interval,
        }

    def _port(self, station: ChargingStation, connector: int) -> ChargingPort | None:
        """Return a port, or None (logged once) for a connector not configured."""
        if (port := station.ports.get(connector)) is None:
            self.problem(
                Problem.REFUSED,
                station.charge_point_id,
                "",
                f"connector {connector} is not one of its {station.port_count} ports",
            )
        return port

    def _status(self, station: ChargingStation, payload: Payload) -> None:
        """Take a port's (or, for connector 0, the station's) status."""
        status = PortStatus.from_ocpp(payload["status"])
        if payload["connectorId"] == 0:
            station.status = status
            station.error_code = payload["errorCode"]
            station.listeners.notify()
            return
        if (port := self._port(station, payload["connectorId"])) is None:
            return
        port.status = status
        port.error_code = payload["errorCode"]
        port.vendor_error_code = payload.get("vendorErrorCode")
        self._judge(station, port, self._clock())
        port.listeners.notify()

    def _meter_values(
        self, station: ChargingStation, payload: Payload, now: datetime
    ) -> None:
        """Take a port's readings and judge the cut-offs."""
        if (port := self._port(station, payload["connectorId"])) is None:
            return
        for meter_value in payload["meterValue"]:
            _parse_time(meter_value["timestamp"])
            self._take_samples(station, port, meter_value["sampledValue"])
        self._judge(station, port, now)
        port.listeners.notify()

    def _take_samples(
        self, station: ChargingStation, port: ChargingPort, samples: list[Payload]
    ) -> None:
        """Set a port's readings from sampled values; skip (and log) unreadable ones."""
        phased: dict[str, list[float]] = {}
        for sample in samples:
            measurand = sample.get("measurand", "Energy.Active.Import.Register")
            if (attribute := _MEASURANDS.get(measurand)) is None:
                continue
            try:
                value = _to_port_unit(_finite(sample["value"]), sample.get("unit"))
            except ValueError:
                self.problem(
                    Problem.REFUSED,
                    station.charge_point_id,
                    "",
                    f"{measurand} value {sample['value']!r} is not a number",
                )
                continue
            if "phase" in sample and measurand != "Energy.Active.Import.Register":
                phased.setdefault(attribute, []).append(value)
            else:
                setattr(port, attribute, value)
        # A three-phase port reports per phase: power adds up, the rest peaks.
        for attribute, values in phased.items():
            setattr(
                port, attribute, sum(values) if attribute == "power_w" else max(values)
            )

    def _authorize(self, station: ChargingStation, id_tag: str) -> str:
        """Say whether a card may charge here."""
        if station.blocked:
            return "Blocked"
        if id_tag.upper() == OPERATOR_ID_TAG or self._identify(id_tag) is not None:
            return "Accepted"
        return "Invalid"

    def _start_transaction(
        self, station: ChargingStation, payload: Payload, now: datetime
    ) -> Payload:
        """Open a session, or give the same ID to a StartTransaction sent again."""
        started_at = _parse_time(payload["timestamp"])
        if abs(started_at - now) > CLOCK_TRUST:
            # A station clock this far off would cut sessions at once or never.
            started_at = now
        id_tag: str = payload["idTag"]
        status = self._authorize(station, id_tag)
        if (port := self._port(station, payload["connectorId"])) is None:
            raise CallRefusedError(
                ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                f"connector {payload['connectorId']} does not exist",
            )
        current = port.transaction
        if (
            current is not None
            and current.id_tag == id_tag
            and current.meter_start_wh == float(payload["meterStart"])
            and current.started_at == started_at
        ):
            return {
                "transactionId": current.transaction_id,
                "idTagInfo": {"status": status},
            }
        transaction_id = self._next_transaction_id
        self._next_transaction_id += 1
        if status == "Accepted":
            if current is not None:
                # The station lost the old session without stopping it.
                self._finish(station, port, current, port.register_wh, "Other", now)
            port.transaction = Transaction(
                transaction_id=transaction_id,
                id_tag=id_tag,
                resident_id=self._identify(id_tag),
                started_at=started_at,
                meter_start_wh=float(payload["meterStart"]),
            )
            port.register_wh = float(payload["meterStart"])
            port.last_session = None
            self.events.notify(
                ChargingEvent(
                    station.station_id,
                    port.number,
                    ChargingEventType.SESSION_STARTED,
                    {"id_tag": id_tag, "resident_id": port.transaction.resident_id},
                )
            )
            port.listeners.notify()
        self.changed.notify()
        return {"transactionId": transaction_id, "idTagInfo": {"status": status}}

    def _stop_transaction(
        self, station: ChargingStation, payload: Payload, now: datetime
    ) -> Payload:
        """Close a session; one already closed is acknowledged without effect."""
        ended_at = _parse_time(payload["timestamp"])
        transaction_id: int = payload["transactionId"]
        answer: Payload = {"idTagInfo": {"status": "Accepted"}}
        found = next(
            (
                port
                for port in station.ports.values()
                if port.transaction is not None
                and port.transaction.transaction_id == transaction_id
            ),
            None,
        )
        if found is None or found.transaction is None:
            if transaction_id not in self._closed_ids:
                self.problem(
                    Problem.REFUSED,
                    station.charge_point_id,
                    "",
                    f"StopTransaction for unknown transaction {transaction_id}",
                )
            return answer
        for meter_value in payload.get("transactionData", ()):
            self._take_samples(station, found, meter_value["sampledValue"])
        found.register_wh = float(payload["meterStop"])
        transaction = found.transaction
        reason = (
            str(transaction.cutoff)
            if transaction.cutoff is not None
            else payload.get("reason", "Local")
        )
        self._finish(station, found, transaction, found.register_wh, reason, ended_at)
        found.listeners.notify()
        return answer

    def _finish(
        self,
        station: ChargingStation,
        port: ChargingPort,
        transaction: Transaction,
        register_wh: float | None,
        reason: str,
        ended_at: datetime,
    ) -> None:
        """Close a session and record what it delivered."""
        energy = (
            0.0
            if register_wh is None
            else max(0.0, register_wh - transaction.meter_start_wh)
        )
        port.last_session = SessionSummary(
            transaction_id=transaction.transaction_id,
            energy_wh=energy,
            started_at=transaction.started_at,
            ended_at=ended_at,
            reason=reason,
            id_tag=transaction.id_tag,
        )
        port.transaction = None
        # No session, no power: stations report readings only during sessions.
        port.power_w = 0.0
        port.current_a = 0.0
        self._closed_ids.append(transaction.transaction_id)
        self.events.notify(
            ChargingEvent(
                station.station_id,
                port.number,
                ChargingEventType.SESSION_FINISHED,
                {
                    "reason": reason,
                    "energy_kwh": round(energy / 1000, 3),
                    "duration_minutes": round(
                        (ended_at - transaction.started_at).total_seconds() / 60, 1
                    ),
                    "id_tag": transaction.id_tag,
                    "resident_id": transaction.resident_id,
                },
            )
        )
        self.changed.notify()

    # --- cut-offs ------------------------------------------------------------------

    def _judge(
        self, station: ChargingStation, port: ChargingPort, now: datetime
    ) -> None:
        """Stop the port's session if a cut-off rule says so."""
        transaction = port.transaction
        if transaction is None or transaction.cutoff is not None:
            return
        if (reason := cutoff_due(port, station.policy, now)) is None:
            return
        self._cut_off(station, port, transaction, reason)

    def _cut_off(
        self,
        station: ChargingStation,
        port: ChargingPort,
        transaction: Transaction,
        reason: CutoffReason,
    ) -> None:
        """Record the decision, tell the followers, and send the stop."""
        transaction.cutoff = reason
        _LOGGER.warning(
            "%s port %s: stopping the session (%s)", station.name, port.number, reason
        )
        self.events.notify(
            ChargingEvent(
                station.station_id,
                port.number,
                ChargingEventType.CUTOFF,
                {
                    "reason": str(reason),
                    "power_w": port.power_w,
                    "temperature_c": port.temperature_c,
                    "energy_kwh": round((port.session_energy_wh or 0.0) / 1000, 3),
                },
            )
        )
        self.changed.notify()
        self._send_due_stops(station)

    def check_cutoffs(self) -> None:
        """Judge every open session by the clock, and resend stops gone unanswered.

        Run it every few seconds: a session must end at its maximum duration
        even when its station has stopped sending readings.
        """
        now = self._clock()
        for station in self.stations.values():
            for port in station.ports.values():
                self._judge(station, port, now)
            self._send_due_stops(station)

    def _send_due_stops(self, station: ChargingStation) -> None:
        """Send RemoteStopTransaction for every cut-off not yet sent."""
        if (connection := self._connections.get(station.charge_point_id)) is None:
            return
        for port in station.ports.values():
            transaction = port.transaction
            if (
                transaction is None
                or transaction.cutoff is None
                or transaction.cutoff_sent
            ):
                continue
            transaction.cutoff_sent = True
            self._spawn(
                self._send_stop(connection, station, port, transaction),
                f"stop {station.charge_point_id}/{port.number}",
            )

    async def _send_stop(
        self,
        connection: ChargePointConnection,
        station: ChargingStation,
        port: ChargingPort,
        transaction: Transaction,
    ) -> None:
        """Ask the station to stop a cut-off session; on failure, try again later."""
        try:
            answer = await connection.call(
                "RemoteStopTransaction", {"transactionId": transaction.transaction_id}
            )
        except OcppError as error:
            answer = {"status": str(error)}
        if answer.get("status") == "Accepted":
            return
        self.problem(
            Problem.REFUSED,
            station.charge_point_id,
            connection.peer,
            f"the cut-off stop of port {port.number} got {answer.get('status')}",
        )
        await asyncio.sleep(CUTOFF_RETRY_SECONDS)
        transaction.cutoff_sent = False

    def _spawn(self, job: Coroutine[Any, Any, None], name: str) -> None:
        """Run a job beside the handler; the centre cancels it when closed."""
        task = asyncio.get_running_loop().create_task(job, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel the centre's own jobs."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- commands ------------------------------------------------------------------

    async def _call(
        self, station: ChargingStation, action: str, payload: Payload
    ) -> str:
        """Send a command and return the status the station answered."""
        if (connection := self._connections.get(station.charge_point_id)) is None:
            raise StationOfflineError(station.name)
        try:
            answer = await connection.call(action, payload)
        except CallErrorReceivedError as error:
            raise CommandRejectedError(station.name, action, error.code) from error
        except OcppError as error:
            raise CommandRejectedError(
                station.name, action, type(error).__name__
            ) from error
        return str(answer.get("status", ""))

    async def start_charging(
        self, station: ChargingStation, port: int, id_tag: str = OPERATOR_ID_TAG
    ) -> None:
        """Ask the station to start a session on a port."""
        status = await self._call(
            station, "RemoteStartTransaction", {"connectorId": port, "idTag": id_tag}
        )
        if status != "Accepted":
            raise CommandRejectedError(station.name, "RemoteStartTransaction", status)

    async def stop_charging(self, station: ChargingStation, port: int) -> None:
        """Ask the station to stop the session on a port, if one is open."""
        if (transaction := station.ports[port].transaction) is None:
            return
        status = await self._call(
            station,
            "RemoteStopTransaction",
            {"transactionId": transaction.transaction_id},
        )
        if status != "Accepted":
            raise CommandRejectedError(station.name, "RemoteStopTransaction", status)

    async def set_available(
        self, station: ChargingStation, port: int, available: bool
    ) -> str:
        """Make a port (0: the whole station) operative or not; return the answer."""
        status = await self._call(
            station,
            "ChangeAvailability",
            {"connectorId": port, "type": "Operative" if available else "Inoperative"},
        )
        if status not in ("Accepted", "Scheduled"):
            raise CommandRejectedError(station.name, "ChangeAvailability", status)
        return status

    async def reset(self, station: ChargingStation, *, hard: bool = False) -> None:
        """Restart the station."""
        status = await self._call(
            station, "Reset", {"type": "Hard" if hard else "Soft"}
        )
        if status != "Accepted":
            raise CommandRejectedError(station.name, "Reset", status)

    async def unlock(self, station: ChargingStation, port: int) -> None:
        """Release a port's connector."""
        status = await self._call(station, "UnlockConnector", {"connectorId": port})
        if status != "Unlocked":
            raise CommandRejectedError(station.name, "UnlockConnector", status)

    def stations_in(self, building: str | None) -> list[ChargingStation]:
        """Return the stations of a building (None: every station)."""
        return [
            station
            for station in self.stations.values()
            if building is None or station.building == building
        ]

    async def stop_building(
        self, stations: Iterable[ChargingStation], *, block: bool
    ) -> BuildingStopReport:
        """Cut off every session on the stations; ``block`` refuses new ones too.

        Stations that are offline keep their cut-offs, sent when they return.
        """
        chosen = list(stations)
        sessions = 0
        unreachable: list[str] = []
        for station in chosen:
            if block and not station.blocked:
                station.blocked = True
                self.changed.notify()
                station.listeners.notify()
            for port in station.ports.values():
                transaction = port.transaction
                if transaction is not None and transaction.cutoff is None:
                    sessions += 1
                    self._cut_off(
                        station, port, transaction, CutoffReason.BUILDING_STOP
                    )
            if block:
                try:
                    await self.set_available(station, 0, False)
                except ChargingCommandError as error:
                    _LOGGER.warning("%s", error)
                    unreachable.append(station.name)
            elif not station.connected:
                unreachable.append(station.name)
        return BuildingStopReport(len(chosen), sessions, unreachable)

    async def resume(self, stations: Iterable[ChargingStation]) -> list[str]:
        """Lift an emergency stop; return the stations that could not be told."""
        unreachable: list[str] = []
        for station in stations:
            if station.blocked:
                station.blocked = False
                self.changed.notify()
                station.listeners.notify()
            try:
                await self.set_available(station, 0, True)
            except ChargingCommandError as error:
                _LOGGER.warning("%s", error)
                unreachable.append(station.name)
        return unreachable


def _iso(moment: datetime) -> str:
    """Write a time the way OCPP expects: ISO 8601 in UTC with a Z."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(text: str) -> datetime:
    """Read an OCPP timestamp, or refuse the request with TypeConstraintViolation."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CallRefusedError(
            ErrorCode.TYPE_CONSTRAINT_VIOLATION, f"{text!r} is not an ISO 8601 time"
        ) from None
    # A station without a time zone means UTC, as OCPP asks every station to send.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _finite(text: str) -> float:
    """Read a sampled value; float() also takes "NaN" and "inf", which would trip cut-offs."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _to_port_unit(value: float, unit: str | None) -> float:
    """Convert a sampled value to Wh, W, A, V or °C."""
    match unit:
        case "Fahrenheit":
            return (value - 32) * 5 / 9
        case "K":
            return value - 273.15
        case None:
            return value
        case _:
            return value * _SCALES.get(unit, 1.0)
