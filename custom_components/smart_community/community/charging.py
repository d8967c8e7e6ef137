"""Keep the state of e-bike charging stations, their ports and sessions.

A station (充电桩) has numbered ports (OCPP connectors). A port reports its
status, an error code and meter readings; a charging session on it is an OCPP
transaction. The safety cut-offs Chinese rules ask for (充满自动断电, 定时充电,
over-temperature and over-power cut-off) are judged here, from each reading
and from the clock; the centre then stops the session.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Self

from .listeners import Listeners

# The error code of a port that reports nothing wrong.
NO_ERROR: Final = "NoError"
HIGH_TEMPERATURE: Final = "HighTemperature"


class PortStatus(StrEnum):
    """Say what a port is doing; OCPP 1.6 ChargePointStatus in snake case."""

    AVAILABLE = "available"
    PREPARING = "preparing"
    CHARGING = "charging"
    SUSPENDED_EVSE = "suspended_evse"
    SUSPENDED_EV = "suspended_ev"
    FINISHING = "finishing"
    RESERVED = "reserved"
    UNAVAILABLE = "unavailable"
    FAULTED = "faulted"

    @classmethod
    def from_ocpp(cls, status: str) -> Self:
        """Read an OCPP status such as "SuspendedEVSE"."""
        return cls(
            {"SuspendedEVSE": "suspended_evse", "SuspendedEV": "suspended_ev"}.get(
                status, status.lower()
            )
        )


class CutoffReason(StrEnum):
    """Say why the community stopped a charging session."""

    FULL = "full"
    MAX_DURATION = "max_duration"
    OVER_TEMPERATURE = "over_temperature"
    OVER_POWER = "over_power"
    BUILDING_STOP = "building_stop"


@dataclass(frozen=True, slots=True)
class CutoffPolicy:
    """Set when a session is stopped; None turns a rule off.

    Full: the power stays under ``full_power_w`` for ``full_minutes`` (a full
    battery only trickles). The rest stop at once when crossed.
    """

    full_power_w: float | None = 10.0
    full_minutes: float = 20.0
    max_duration_hours: float | None = 10.0
    max_temperature_c: float | None = 65.0
    max_power_w: float | None = 1000.0


@dataclass(slots=True)
class Transaction:
    """One charging session, as the station numbered it when it began."""

    transaction_id: int
    id_tag: str
    resident_id: str | None
    started_at: datetime
    meter_start_wh: float
    # Set once the community decided to stop it, until the station reports it stopped.
    cutoff: CutoffReason | None = None
    cutoff_sent: bool = False
    # Since when the power has stayed under the full threshold.
    low_power_since: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return what is saved to survive a restart."""
        return {
            "transaction_id": self.transaction_id,
            "id_tag": self.id_tag,
            "resident_id": self.resident_id,
            "started_at": self.started_at.isoformat(),
            "meter_start_wh": self.meter_start_wh,
            "cutoff": self.cutoff,
            "low_power_since": (
                None
                if self.low_power_since is None
                else self.low_power_since.isoformat()
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Read what ``to_dict`` saved."""
        low_since = data.get("low_power_since")
        cutoff = data.get("cutoff")
        return cls(
            transaction_id=int(data["transaction_id"]),
            id_tag=str(data["id_tag"]),
            resident_id=data.get("resident_id"),
            started_at=datetime.fromisoformat(data["started_at"]),
            meter_start_wh=float(data["meter_start_wh"]),
            cutoff=None if cutoff is None else CutoffReason(cutoff),
            low_power_since=None
            if low_since is None
            else datetime.fromisoformat(low_since),
        )


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """What a finished session delivered, and why it ended."""

    transaction_id: int
    energy_wh: float
    started_at: datetime
    ended_at: datetime
    # The station's stop reason (OCPP Reason), or the community's cut-off.
    reason: str
    id_tag: str

    def to_dict(self) -> dict[str, Any]:
        """Return what is saved to survive a restart."""
        return {
            "transaction_id": self.transaction_id,
            "energy_wh": self.energy_wh,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "reason": self.reason,
            "id_tag": self.id_tag,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Read what ``to_dict`` saved."""
        return cls(
            transaction_id=int(data["transaction_id"]),
            energy_wh=float(data["energy_wh"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            ended_at=datetime.fromisoformat(data["ended_at"]),
            reason=str(data["reason"]),
            id_tag=str(data["id_tag"]),
        )


@dataclass(slots=True)
class ChargingPort:
    """One port (OCPP connector) of a station."""

    number: int
    status: PortStatus | None = None
    error_code: str | None = None
    vendor_error_code: str | None = None
    power_w: float | None = None
    # The station's energy register: it only grows, so it is the total delivered.
    register_wh: float | None = None
    current_a: float | None = None
    voltage_v: float | None = None
    temperature_c: float | None = None
    transaction: Transaction | None = None
    last_session: SessionSummary | None = None
    listeners: Listeners[()] = field(default_factory=Listeners[()])

    @property
    def charging(self) -> bool:
        """Say whether a session is open on the port."""
        return self.transaction is not None

    @property
    def session_energy_wh(self) -> float | None:
        """Return the energy of the open session, or of the last one."""
        if (transaction := self.transaction) is not None:
            if self.register_wh is None:
                return 0.0
            return max(0.0, self.register_wh - transaction.meter_start_wh)
        if self.last_session is not None:
            return self.last_session.energy_wh
        return None

    @property
    def faulted(self) -> bool | None:
        """Say whether the port reports a fault (None: it has reported nothing)."""
        if self.status is None:
            return None
        return self.status is PortStatus.FAULTED or (
            self.error_code is not None and self.error_code != NO_ERROR
        )

    def overheated(self, policy: CutoffPolicy) -> bool | None:
        """Say whether the port is too hot, by its error code or its temperature."""
        if self.error_code == HIGH_TEMPERATURE:
            return True
        if self.temperature_c is None or policy.max_temperature_c is None:
            return None if self.status is None else False
        return self.temperature_c >= policy.max_temperature_c

    def clear_readings(self) -> None:
        """Forget the live readings (the station went away); keep the register."""
        self.status = None
        self.power_w = None
        self.current_a = None
        self.voltage_v = None
        self.temperature_c = None

    def to_dict(self) -> dict[str, Any]:
        """Return what is saved to survive a restart."""
        return {
            "register_wh": self.register_wh,
            "transaction": None
            if self.transaction is None
            else self.transaction.to_dict(),
            "last_session": (
                None if self.last_session is None else self.last_session.to_dict()
            ),
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Take back what ``to_dict`` saved."""
        register = data.get("register_wh")
        self.register_wh = None if register is None else float(register)
        if (transaction := data.get("transaction")) is not None:
            self.transaction = Transaction.from_dict(transaction)
        if (last := data.get("last_session")) is not None:
            self.last_session = SessionSummary.from_dict(last)


def cutoff_due(
    port: ChargingPort, policy: CutoffPolicy, now: datetime
) -> CutoffReason | None:
    """Return why the port's session must stop now, or None.

    Keeps track of how long the power has been low, so call it on every
    reading and from time to time without one.
    """
    transaction = port.transaction
    if transaction is None:
        return None
    power = port.power_w
    if (
        policy.max_power_w is not None
        and power is not None
        and power > policy.max_power_w
    ):
        return CutoffReason.OVER_POWER
    if port.overheated(policy):
        return CutoffReason.OVER_TEMPERATURE
    if (
        policy.max_duration_hours is not None
        and now - transaction.started_at >= timedelta(hours=policy.max_duration_hours)
    ):
        return CutoffReason.MAX_DURATION
    if policy.full_power_w is None or power is None:
        return None
    if power >= policy.full_power_w:
        transaction.low_power_since = None
        return None
    if transaction.low_power_since is None:
        transaction.low_power_since = now
    if now - transaction.low_power_since >= timedelta(minutes=policy.full_minutes):
        return CutoffReason.FULL
    return None


@dataclass(frozen=True, slots=True)
class BootInfo:
    """What a station said about itself in its BootNotification."""

    vendor: str
    model: str
    serial_number: str | None = None
    firmware_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return what is saved to survive a restart."""
        return {
            "vendor": self.vendor,
            "model": self.model,
            "serial_number": self.serial_number,
            "firmware_version": self.firmware_version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Read what ``to_dict`` saved."""
        return cls(
            vendor=str(data["vendor"]),
            model=str(data["model"]),
            serial_number=data.get("serial_number"),
            firmware_version=data.get("firmware_version"),
        )


@dataclass(slots=True)
class ChargingStation:
    """A charging pile: its identity, ports, rules and link to the centre."""

    station_id: str
    charge_point_id: str
    name: str
    building: str | None
    port_count: int
    password: str | None = None
    policy: CutoffPolicy = field(default_factory=CutoffPolicy)
    ports: dict[int, ChargingPort] = field(init=False)
    connected: bool = False
    boot: BootInfo | None = None
    # Connector 0: the station as a whole.
    status: PortStatus | None = None
    error_code: str | None = None
    last_seen: datetime | None = None
    # Stopped for an emergency: new sessions are refused until resumed.
    blocked: bool = False
    listeners: Listeners[()] = field(default_factory=Listeners[()])

    def __post_init__(self) -> None:
        """Create the ports."""
        self.ports = {
            number: ChargingPort(number) for number in range(1, self.port_count + 1)
        }

    def notify_all(self) -> None:
        """Tell the station's and every port's followers that things changed."""
        self.listeners.notify()
        for port in self.ports.values():
            port.listeners.notify()

    def to_dict(self) -> dict[str, Any]:
        """Return what is saved to survive a restart."""
        return {
            "boot": None if self.boot is None else self.boot.to_dict(),
            "blocked": self.blocked,
            "ports": {
                str(number): port.to_dict() for number, port in self.ports.items()
            },
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Take back what ``to_dict`` saved; ports no longer configured are dropped."""
        if (boot := data.get("boot")) is not None:
            self.boot = BootInfo.from_dict(boot)
        self.blocked = bool(data.get("blocked", False))
        for number, port_data in dict(data.get("ports", {})).items():
            if (port := self.ports.get(int(number))) is not None:
                port.restore(port_data)
