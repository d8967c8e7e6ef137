"""Read a charging station's scenario options and action parameters."""

from dataclasses import dataclass
import math
import re
from typing import Final, Self

from simulator.devices.named_options import NamedOptionReader
from simulator.devices.ocpp.battery import Profile
from simulator.scenario import DeviceSpec

MAX_PORTS: Final = 64
# OCPP 1.6 ChargePointErrorCode, less NoError (which is the absence of a fault).
ERROR_CODES: Final = (
    "ConnectorLockFailure",
    "EVCommunicationError",
    "GroundFailure",
    "HighTemperature",
    "InternalError",
    "LocalListConflict",
    "OtherError",
    "OverCurrentFailure",
    "OverVoltage",
    "PowerMeterFailure",
    "PowerSwitchFailure",
    "ReaderFailure",
    "ResetFailure",
    "UnderVoltage",
    "WeakSignal",
)
# The charge point id is the last path segment of the URL: no slashes, no blanks.
_CHARGE_POINT_ID: Final = re.compile(r"[A-Za-z0-9._:~*@+-]{1,48}")
# idTag is CiString20 in OCPP 1.6.
_MAX_ID_TAG: Final = 20
_MAX_CAPACITY_WH: Final = 100_000.0
_MAX_WATTS: Final = 20_000.0


class OcppReader(NamedOptionReader):
    """Read options (or action parameters), naming the bad one and what it is."""

    def required_text(self, key: str, expected: str = "a non-empty string") -> str:
        """Return a required non-empty string."""
        value = self.required(key, expected)
        if not isinstance(value, str) or not value:
            raise self._fail(key, expected)
        return value

    def optional_text(self, key: str) -> str | None:
        """Return a non-empty string, or None when absent or null."""
        self.read.add(key)
        if self.options.get(key) is None:
            return None
        return self.text(key, "")

    def number(
        self,
        key: str,
        default: float,
        *,
        minimum: float,
        maximum: float = math.inf,
    ) -> float:
        """Return a finite number within bounds."""
        self.read.add(key)
        value = self.options.get(key, default)
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or not minimum <= value <= maximum
        ):
            bounds = (
                f">= {minimum:g}"
                if math.isinf(maximum)
                else (f"{minimum:g}..{maximum:g}")
            )
            raise self._fail(key, f"a number {bounds}")
        return float(value)

    def nullable_number(
        self, key: str, *, minimum: float, maximum: float
    ) -> float | None:
        """Return a required number within bounds, or None for an explicit null."""
        self.required(key, f"a number {minimum:g}..{maximum:g}, or null")
        if self.options[key] is None:
            return None
        return self.number(key, 0.0, minimum=minimum, maximum=maximum)

    def port(self, key: str, ports: int) -> int:
        """Return a required port number, 1..``ports``."""
        self.required(key, f"a port number 1..{ports}")
        return self.integer(key, 1, minimum=1, maximum=ports)

    def id_tag(self, key: str, default: str | None = None) -> str:
        """Return an idTag (at most 20 characters)."""
        if default is None:
            value = self.required_text(key, "an id tag of 1..20 characters")
        else:
            value = self.text(key, default)
        if len(value) > _MAX_ID_TAG:
            raise self._fail(key, f"an id tag of 1..{_MAX_ID_TAG} characters")
        return value

    def profile(self, key: str, default: Profile) -> Profile:
        """Return a charging profile name."""
        return Profile(self.choice(key, default, list(Profile)))

    def soc(self, key: str, default: float) -> float:
        """Return a state of charge, 0..1."""
        return self.number(key, default, minimum=0.0, maximum=1.0)

    def capacity(self, key: str, default: float) -> float:
        """Return a battery capacity in Wh."""
        return self.number(key, default, minimum=1.0, maximum=_MAX_CAPACITY_WH)

    def watts(self, key: str) -> float | None:
        """Return a required power override in W, or None to resume the profile."""
        return self.nullable_number(key, minimum=0.0, maximum=_MAX_WATTS)

    def error_code(self, key: str) -> str:
        """Return a required OCPP error code (not NoError)."""
        self.required(key, "an OCPP ChargePointErrorCode")
        return self.choice(key, "", list(ERROR_CODES))

    def objects(self, key: str) -> list[OcppReader]:
        """Return readers for a list of objects (empty when absent)."""
        self.read.add(key)
        value = self.options.get(key, [])
        if not isinstance(value, list):
            raise self._fail(key, "a list of objects")
        readers: list[OcppReader] = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise ValueError(  # noqa: TRY004 - a bad option, reported as such
                    f"{self.noun} '{key}[{index}]' of {self.device_id} must be "
                    f"an object, not {item!r}"
                )
            readers.append(
                OcppReader(f"{self.device_id} {key}[{index}]", item, noun="key")
            )
        return readers


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """Describe a charging session the demo starts after the first boot."""

    port: int
    id_tag: str
    profile: Profile = Profile.CHARGING
    soc: float = 0.2
    capacity_wh: float = 600.0


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Describe a port that is faulted from the start."""

    port: int
    error_code: str
    vendor_error_code: str | None = None


@dataclass(frozen=True, slots=True)
class ChargingStationOptions:
    """Hold a charging station's scenario options, validated, with their defaults."""

    charge_point_id: str = "SIM-CP"
    ports: int = 10
    vendor: str = "SimCharge"
    model: str = "EB-10"
    serial_number: str = "SIM-CP-0001"
    firmware_version: str = "1.6.0-sim"
    # When set, the websocket upgrade carries Basic auth charge_point_id:password.
    password: str | None = None
    # Periodic MeterValues; 0 sends them only on ``meter_now`` (or a trigger).
    meter_interval_seconds: float = 10.0
    # Simulated seconds of charging per real second.
    time_scale: float = 1.0
    reconnect_min_seconds: float = 1.0
    reconnect_max_seconds: float = 30.0
    call_timeout_seconds: float = 10.0
    voltage: float = 220.0
    sessions: tuple[SessionSpec, ...] = ()
    faults: tuple[FaultSpec, ...] = ()

    @classmethod
    def from_spec(cls, spec: DeviceSpec) -> Self:
        """Read and check the options of ``spec``; raise ``ValueError`` if bad."""
        reader = OcppReader(spec.id, spec.options)
        defaults = cls()
        charge_point_id = charge_point_id_of(reader, "charge_point_id", None)
        ports = reader.integer("ports", defaults.ports, minimum=1, maximum=MAX_PORTS)
        options = cls(
            charge_point_id=charge_point_id,
            ports=ports,
            vendor=reader.text("vendor", defaults.vendor),
            model=reader.text("model", defaults.model),
            serial_number=reader.text("serial_number", f"SIM-{charge_point_id}"),
            firmware_version=reader.text("firmware_version", defaults.firmware_version),
            password=reader.optional_text("password"),
            meter_interval_seconds=reader.number(
                "meter_interval_seconds",
                defaults.meter_interval_seconds,
                minimum=0.0,
            ),
            time_scale=reader.number(
                "time_scale", defaults.time_scale, minimum=0.0, maximum=1_000_000.0
            ),
            reconnect_min_seconds=reader.seconds(
                "reconnect_min_seconds", defaults.reconnect_min_seconds, minimum=0.01
            ),
            reconnect_max_seconds=reader.seconds(
                "reconnect_max_seconds", defaults.reconnect_max_seconds, minimum=0.01
            ),
            call_timeout_seconds=reader.seconds(
                "call_timeout_seconds", defaults.call_timeout_seconds, minimum=0.1
            ),
            voltage=reader.number(
                "voltage", defaults.voltage, minimum=1.0, maximum=1000.0
            ),
            sessions=tuple(
                _session(item, ports) for item in reader.objects("sessions")
            ),
            faults=tuple(_fault(item, ports) for item in reader.objects("faults")),
        )
        reader.reject_unknown()
        if options.reconnect_max_seconds < options.reconnect_min_seconds:
            raise ValueError(
                f"option 'reconnect_max_seconds' of {spec.id} must not be below "
                "'reconnect_min_seconds'"
            )
        _check_unique(spec.id, "sessions", [s.port for s in options.sessions])
        _check_unique(spec.id, "faults", [f.port for f in options.faults])
        return options


def charge_point_id_of(reader: OcppReader, key: str, default: str | None) -> str:
    """Return a charge point id that can be the last segment of a URL path."""
    expected = "1..48 characters of letters, digits and ._:~*@+-"
    if default is None:
        value = reader.required_text(key, expected)
    else:
        value = reader.text(key, default)
    if not _CHARGE_POINT_ID.fullmatch(value):
        raise reader.fail(key, expected)
    return value


def session_from(reader: OcppReader, port: int) -> SessionSpec:
    """Read the battery of a session (profile, soc, capacity) for ``port``."""
    defaults = SessionSpec(port=port, id_tag="")
    return SessionSpec(
        port=port,
        id_tag=reader.id_tag("id_tag"),
        profile=reader.profile("profile", defaults.profile),
        soc=reader.soc("soc", defaults.soc),
        capacity_wh=reader.capacity("capacity_wh", defaults.capacity_wh),
    )


def _session(reader: OcppReader, ports: int) -> SessionSpec:
    """Read one entry of the ``sessions`` option."""
    session = session_from(reader, reader.port("port", ports))
    reader.reject_unknown()
    return session


def _fault(reader: OcppReader, ports: int) -> FaultSpec:
    """Read one entry of the ``faults`` option."""
    fault = FaultSpec(
        port=reader.port("port", ports),
        error_code=reader.error_code("error_code"),
        vendor_error_code=reader.optional_text("vendor_error_code"),
    )
    reader.reject_unknown()
    return fault


def _check_unique(device_id: str, key: str, ports: list[int]) -> None:
    """Refuse a list option that names a port twice."""
    if len(set(ports)) != len(ports):
        raise ValueError(f"option {key!r} of {device_id} names a port twice")
