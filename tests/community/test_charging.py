"""Test the charging centre: requests, sessions, cut-offs, commands and storage.

The centre is driven through its OCPP handler, as the server would drive it.
A small fake charge point stands in for the websocket connection: it has an
ID and a peer, and records (and answers) the requests the centre sends it.
Every request is first checked against its OCPP schema, so the payloads here
are ones a real charge point could send.
"""

import asyncio
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import logging
from typing import Any, cast

import pytest

from custom_components.smart_community.community import charging_centre
from custom_components.smart_community.community.charging import (
    ChargingPort,
    ChargingStation,
    CutoffPolicy,
    CutoffReason,
    PortStatus,
    Transaction,
    cutoff_due,
)
from custom_components.smart_community.community.charging_centre import (
    OPERATOR_ID_TAG,
    ChargingCentre,
    ChargingEvent,
    ChargingEventType,
    CommandRejectedError,
    StationOfflineError,
)
from custom_components.smart_community.protocols.ocpp.connection import (
    ChargePointConnection,
    Problem,
)
from custom_components.smart_community.protocols.ocpp.errors import (
    CallErrorReceivedError,
    CallRefusedError,
    CallTimeoutError,
    ErrorCode,
)
from custom_components.smart_community.protocols.ocpp.messages import Payload
from custom_components.smart_community.protocols.ocpp.schemas import check_request
from custom_components.smart_community.protocols.ocpp.server import Admission

from .conftest import Counter

LOGGER_NAME = "custom_components.smart_community.community.charging_centre"
WAIT = 5.0
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
CARDS = {"CARD-1": "resident-1", "卡-2": "resident-2"}
ACCEPTED: Payload = {"status": "Accepted"}


class Clock:
    """Tell the centre the time; the test moves it."""

    def __init__(self) -> None:
        """Start at T0."""
        self.now = T0

    def __call__(self) -> datetime:
        """Return the current time."""
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the time on."""
        self.now += timedelta(**delta)


class FakeChargePoint:
    """Stand in for a charge point's connection: record and answer our requests."""

    def __init__(self, charge_point_id: str = "CP-1") -> None:
        """Answer everything Accepted unless told otherwise."""
        self.charge_point_id = charge_point_id
        self.peer = "192.0.2.50"
        self.calls: list[tuple[str, Payload]] = []
        self.answers: dict[str, deque[Payload | Exception]] = {}

    def answer(self, action: str, *answers: Payload | Exception) -> None:
        """Answer the next requests of an action with these, in order."""
        self.answers.setdefault(action, deque()).extend(answers)

    async def call(self, action: str, payload: Payload) -> Payload:
        """Record a request and answer it."""
        self.calls.append((action, payload))
        queue = self.answers.get(action)
        answer = queue.popleft() if queue else ACCEPTED
        if isinstance(answer, Exception):
            raise answer
        return answer

    def actions(self) -> list[str]:
        """Return the actions requested so far."""
        return [action for action, _ in self.calls]

    @property
    def connection(self) -> ChargePointConnection:
        """Return this, typed as what the centre expects."""
        return cast(ChargePointConnection, self)


async def until(condition: Callable[[], bool]) -> None:
    """Wait, generously, for the centre's background jobs."""
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110 - the fake has no events
            await asyncio.sleep(0)


class Site:
    """Hold a centre, its clock, its stations, fake charge points and events."""

    def __init__(self, **policy: Any) -> None:
        """Serve two stations in building 1 and one in building 2."""
        self.clock = Clock()
        self.centre = ChargingCentre(CARDS.get, clock=self.clock)
        self.station = ChargingStation(
            "s1", "CP-1", "1号楼充电桩", "1", 2, policy=CutoffPolicy(**policy)
        )
        self.other = ChargingStation("s2", "CP-2", "1号楼二号桩", "1", 1)
        self.far = ChargingStation(
            "s3", "CP-3", "2号楼充电桩", "2", 1, password="secret"
        )
        for station in (self.station, self.other, self.far):
            self.centre.add_station(station)
        self.cp = FakeChargePoint("CP-1")
        self.events: list[ChargingEvent] = []
        self.centre.events.add(self.events.append)
        self.changed = Counter()
        self.centre.changed.add(self.changed)

    def request(
        self, action: str, payload: Payload, cp: FakeChargePoint | None = None
    ) -> Payload:
        """Send a schema-valid request as a charge point and return the answer."""
        check_request("test", action, payload)
        return self.centre.handle_request((cp or self.cp).connection, action, payload)

    def connect(self, cp: FakeChargePoint | None = None) -> FakeChargePoint:
        """Open a charge point's connection."""
        cp = cp or self.cp
        self.centre.connection_opened(cp.connection)
        return cp

    def status(self, connector: int, status: str, error: str = "NoError") -> None:
        """Send a StatusNotification."""
        self.request(
            "StatusNotification",
            {"connectorId": connector, "errorCode": error, "status": status},
        )

    def meter(self, connector: int, *samples: Payload, when: str | None = None) -> None:
        """Send one MeterValues with these sampled values."""
        self.request(
            "MeterValues",
            {
                "connectorId": connector,
                "transactionId": 1,
                "meterValue": [
                    {
                        "timestamp": when or self.clock.now.isoformat(),
                        "sampledValue": list(samples),
                    }
                ],
            },
        )

    def power(self, watts: float, connector: int = 1) -> None:
        """Report the power of a port."""
        self.meter(
            connector,
            {"value": str(watts), "measurand": "Power.Active.Import", "unit": "W"},
        )

    def start(
        self,
        connector: int = 1,
        id_tag: str = "CARD-1",
        meter_start: int = 1000,
        when: str = "2026-05-01T08:00:00Z",
    ) -> Payload:
        """Send a StartTransaction and return the answer."""
        return self.request(
            "StartTransaction",
            {
                "connectorId": connector,
                "idTag": id_tag,
                "meterStart": meter_start,
                "timestamp": when,
            },
        )

    def stop(self, transaction_id: int, meter_stop: int, **extra: Any) -> Payload:
        """Send a StopTransaction and return the answer."""
        return self.request(
            "StopTransaction",
            {
                "transactionId": transaction_id,
                "meterStop": meter_stop,
                "timestamp": "2026-05-01T09:30:00Z",
            }
            | extra,
        )

    def port(self, number: int = 1) -> ChargingPort:
        """Return a port of the first station."""
        return self.station.ports[number]

    def kinds(self) -> list[ChargingEventType]:
        """Return the event types so far."""
        return [event.event_type for event in self.events]

    def cutoffs(self) -> list[ChargingEvent]:
        """Return the cut-off events so far."""
        return [e for e in self.events if e.event_type is ChargingEventType.CUTOFF]

    def stops(self) -> list[Payload]:
        """Return the RemoteStopTransaction payloads sent to the first station."""
        return [p for a, p in self.cp.calls if a == "RemoteStopTransaction"]


@pytest.fixture
async def site() -> Any:
    """Return a site whose first station is connected; cancel its jobs after."""
    site = Site()
    site.connect()
    yield site
    await site.centre.close()


# ---- admission and connections ----


def test_admission() -> None:
    """Admit known stations; check the password of those that have one."""
    centre = Site().centre
    assert centre.admission("CP-9", None) is Admission.UNKNOWN
    assert centre.admission("CP-1", None) is Admission.ACCEPTED
    assert centre.admission("CP-1", "anything") is Admission.ACCEPTED
    assert centre.admission("CP-3", "secret") is Admission.ACCEPTED
    assert centre.admission("CP-3", "Secret") is Admission.UNAUTHORIZED
    assert centre.admission("CP-3", None) is Admission.UNAUTHORIZED
    assert centre.station_for("CP-3") is not None
    assert centre.station_for("CP-9") is None


async def test_connect_and_disconnect(site: Site) -> None:
    """Mark the station connected, and forget its readings when it goes."""
    assert site.station.connected
    assert site.station.last_seen == T0
    notified = Counter()
    site.port().listeners.add(notified)
    site.status(0, "Available")
    site.status(1, "Charging")
    site.power(300)
    site.centre.connection_closed(site.cp.connection)
    assert not site.station.connected
    assert site.station.status is None
    assert site.port().status is None
    assert site.port().power_w is None
    assert site.port().faulted is None
    assert notified.calls == 3


async def test_unconfigured_charge_point_is_refused(site: Site) -> None:
    """Refuse requests of a connection whose station is no longer configured."""
    with pytest.raises(CallRefusedError) as caught:
        site.request("Heartbeat", {}, FakeChargePoint("CP-gone"))
    assert caught.value.code is ErrorCode.SECURITY_ERROR


# ---- requests ----


async def test_boot_notification(site: Site) -> None:
    """Keep what the station says about itself and accept it."""
    site.clock.advance(minutes=5)
    answer = site.request(
        "BootNotification",
        {
            "chargePointVendor": "绿能",
            "chargePointModel": "EB-10",
            "chargePointSerialNumber": "SN-0042",
            "firmwareVersion": "1.2.3",
        },
    )
    assert answer == {
        "status": "Accepted",
        "currentTime": "2026-05-01T08:05:00Z",
        "interval": 300,
    }
    boot = site.station.boot
    assert boot is not None
    assert (boot.vendor, boot.model) == ("绿能", "EB-10")
    assert (boot.serial_number, boot.firmware_version) == ("SN-0042", "1.2.3")
    assert site.station.last_seen == T0 + timedelta(minutes=5)
    assert site.changed.calls == 1


async def test_simple_requests(site: Site) -> None:
    """Answer Heartbeat with the time, DataTransfer as unknown, the rest empty."""
    assert site.request("Heartbeat", {}) == {"currentTime": "2026-05-01T08:00:00Z"}
    assert site.request("DataTransfer", {"vendorId": "com.example"}) == {
        "status": "UnknownVendorId"
    }
    assert site.request("FirmwareStatusNotification", {"status": "Idle"}) == {}
    assert site.request("DiagnosticsStatusNotification", {"status": "Idle"}) == {}


@pytest.mark.parametrize(
    ("ocpp", "status"),
    [
        ("SuspendedEVSE", PortStatus.SUSPENDED_EVSE),
        ("SuspendedEV", PortStatus.SUSPENDED_EV),
        ("Charging", PortStatus.CHARGING),
        ("Faulted", PortStatus.FAULTED),
        ("Available", PortStatus.AVAILABLE),
    ],
)
async def test_status_mapping(site: Site, ocpp: str, status: PortStatus) -> None:
    """Map OCPP statuses to port statuses."""
    site.status(2, ocpp)
    assert site.port(2).status is status
    assert site.port(2).faulted is (status is PortStatus.FAULTED)
    assert site.port(1).status is None


async def test_station_status_and_error_codes(site: Site) -> None:
    """Keep connector 0 as the station's status, and a port's error codes."""
    site.status(0, "Unavailable", "OtherError")
    assert site.station.status is PortStatus.UNAVAILABLE
    assert site.station.error_code == "OtherError"
    site.request(
        "StatusNotification",
        {
            "connectorId": 1,
            "errorCode": "GroundFailure",
            "status": "Available",
            "vendorErrorCode": "E17",
        },
    )
    port = site.port()
    assert port.error_code == "GroundFailure"
    assert port.vendor_error_code == "E17"
    assert port.faulted is True


async def test_meter_values_units_and_phases(site: Site) -> None:
    """Convert units, add up phase powers, take the highest of other phases."""
    site.meter(
        1,
        {"value": "12.5", "unit": "kWh"},
        {"value": "0.4", "measurand": "Power.Active.Import", "unit": "kW"},
        {"value": "140", "measurand": "Temperature", "unit": "Fahrenheit"},
        {"value": "4.2", "measurand": "Current.Import", "unit": "A"},
        {"value": "229", "measurand": "Voltage", "unit": "V"},
        {"value": "7", "measurand": "Frequency"},
    )
    port = site.port()
    assert port.register_wh == 12_500
    assert port.power_w == 400
    assert port.temperature_c == pytest.approx(60)
    assert port.current_a == 4.2
    assert port.voltage_v == 229
    site.meter(
        1,
        {"value": "100", "measurand": "Power.Active.Import", "phase": "L1"},
        {
            "value": "0.15",
            "measurand": "Power.Active.Import",
            "phase": "L2",
            "unit": "kW",
        },
        {"value": "120", "measurand": "Power.Active.Import", "phase": "L3"},
        {"value": "228", "measurand": "Voltage", "phase": "L1-N"},
        {"value": "231", "measurand": "Voltage", "phase": "L2-N"},
        {"value": "13000", "measurand": "Energy.Active.Import.Register", "phase": "L1"},
        {"value": "313.15", "measurand": "Temperature", "unit": "K"},
    )
    assert port.power_w == 370
    assert port.voltage_v == 231
    assert port.register_wh == 13_000
    assert port.temperature_c == pytest.approx(40)


@pytest.mark.parametrize("value", ["twelve", "", "NaN", "inf", "-Infinity", "1e999"])
async def test_unreadable_value_is_skipped_and_counted(site: Site, value: str) -> None:
    """Skip a value that is not a finite number, keep the rest, count it."""
    site.power(250)
    site.meter(
        1,
        {"value": value, "measurand": "Power.Active.Import"},
        {"value": "230", "measurand": "Voltage"},
    )
    assert site.port().power_w == 250
    assert site.port().voltage_v == 230
    assert site.centre.problems[Problem.REFUSED] == 1


async def test_unknown_connector_is_ignored_and_counted(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """Ignore a status or readings for a connector not configured; log once."""
    site.status(5, "Charging")
    site.meter(3, {"value": "5"})
    assert site.centre.problems[Problem.REFUSED] == 2
    assert all(port.status is None for port in site.station.ports.values())
    assert all(port.register_wh is None for port in site.station.ports.values())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "connector 5 is not one of its 2 ports" in warnings[0].getMessage()


@pytest.mark.parametrize(
    "action", ["MeterValues", "StartTransaction", "StopTransaction"]
)
async def test_timestamp_not_iso_is_refused(site: Site, action: str) -> None:
    """Refuse a timestamp that is not ISO 8601 with TypeConstraintViolation."""
    payload: Payload = {
        "MeterValues": {
            "connectorId": 1,
            "meterValue": [
                {"timestamp": "yesterday", "sampledValue": [{"value": "1"}]}
            ],
        },
        "StartTransaction": {
            "connectorId": 1,
            "idTag": "CARD-1",
            "meterStart": 0,
            "timestamp": "01/05/2026 08:00",
        },
        "StopTransaction": {"transactionId": 1, "meterStop": 0, "timestamp": "soon"},
    }[action]
    with pytest.raises(CallRefusedError) as caught:
        site.request(action, payload)
    assert caught.value.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    assert site.port().charging is False


async def test_time_without_zone_is_utc(site: Site) -> None:
    """Read a station time without a zone as UTC."""
    site.start(when="2026-05-01T08:00:00")
    transaction = site.port().transaction
    assert transaction is not None
    assert transaction.started_at == T0


# ---- authorization ----


@pytest.mark.parametrize(
    ("id_tag", "status"),
    [
        ("CARD-1", "Accepted"),
        ("卡-2", "Accepted"),
        (OPERATOR_ID_TAG, "Accepted"),
        ("homeassistant", "Accepted"),
        ("CARD-9", "Invalid"),
    ],
)
async def test_authorize(site: Site, id_tag: str, status: str) -> None:
    """Accept registry cards and the operator tag; refuse others."""
    assert site.request("Authorize", {"idTag": id_tag}) == {
        "idTagInfo": {"status": status}
    }


async def test_authorize_blocked_station(site: Site) -> None:
    """Answer Blocked for every card while the station is stopped."""
    site.station.blocked = True
    for id_tag in ("CARD-1", OPERATOR_ID_TAG, "CARD-9"):
        assert site.request("Authorize", {"idTag": id_tag}) == {
            "idTagInfo": {"status": "Blocked"}
        }


# ---- sessions ----


async def test_start_twice_gives_the_same_session(site: Site) -> None:
    """Give a StartTransaction sent again the same ID, and open one session only."""
    first = site.start()
    again = site.start()
    assert first == again == {"transactionId": 1, "idTagInfo": {"status": "Accepted"}}
    assert site.kinds() == [ChargingEventType.SESSION_STARTED]
    assert site.events[0].attributes == {
        "id_tag": "CARD-1",
        "resident_id": "resident-1",
    }
    port = site.port()
    assert port.charging
    assert port.register_wh == 1000
    assert port.session_energy_wh == 0
    assert site.start(connector=2)["transactionId"] == 2


async def test_start_after_lost_session_closes_it(site: Site) -> None:
    """Close a session the station lost without stopping when a new one starts."""
    site.start()
    site.meter(1, {"value": "1800"})
    answer = site.start(meter_start=1800, when="2026-05-01T09:00:00Z")
    assert answer["transactionId"] == 2
    assert site.kinds() == [
        ChargingEventType.SESSION_STARTED,
        ChargingEventType.SESSION_FINISHED,
        ChargingEventType.SESSION_STARTED,
    ]
    assert site.events[1].attributes["reason"] == "Other"
    assert site.events[1].attributes["energy_kwh"] == 0.8


async def test_start_refused_card(site: Site) -> None:
    """Answer Invalid for an unknown card and open no session."""
    answer = site.start(id_tag="CARD-9")
    assert answer == {"transactionId": 1, "idTagInfo": {"status": "Invalid"}}
    assert not site.port().charging
    assert site.events == []
    assert site.start()["transactionId"] == 2


async def test_start_on_unknown_connector(site: Site) -> None:
    """Refuse a session on a connector the station does not have."""
    with pytest.raises(CallRefusedError) as caught:
        site.start(connector=3)
    assert caught.value.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION


async def test_stop_twice_has_no_second_effect(site: Site) -> None:
    """Record the energy as meterStop - meterStart, once."""
    transaction_id = site.start()["transactionId"]
    answer = site.stop(transaction_id, 3500, reason="EVDisconnected")
    assert answer == {"idTagInfo": {"status": "Accepted"}}
    port = site.port()
    assert not port.charging
    summary = port.last_session
    assert summary is not None
    assert summary.energy_wh == 2500
    assert summary.reason == "EVDisconnected"
    assert summary.ended_at == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    assert port.session_energy_wh == 2500
    finished = site.events[-1]
    assert finished.event_type is ChargingEventType.SESSION_FINISHED
    assert finished.attributes == {
        "reason": "EVDisconnected",
        "energy_kwh": 2.5,
        "duration_minutes": 90.0,
        "id_tag": "CARD-1",
        "resident_id": "resident-1",
    }
    changed = site.changed.calls
    assert site.stop(transaction_id, 9999) == answer
    assert port.last_session is summary
    assert len(site.events) == 2
    assert site.changed.calls == changed
    assert site.centre.problems == {}


async def test_stop_with_transaction_data(site: Site) -> None:
    """Take the readings sent with the stop; the default reason is Local."""
    site.start()
    site.stop(
        1,
        1600,
        transactionData=[
            {
                "timestamp": "2026-05-01T09:29:00Z",
                "sampledValue": [{"value": "12", "measurand": "Temperature"}],
            }
        ],
    )
    port = site.port()
    assert port.temperature_c == 12
    assert port.last_session is not None
    assert port.last_session.reason == "Local"
    assert port.last_session.energy_wh == 600


async def test_stop_of_unknown_transaction_is_counted(site: Site) -> None:
    """Acknowledge a stop for a session never seen, and count it."""
    assert site.stop(42, 100) == {"idTagInfo": {"status": "Accepted"}}
    assert site.centre.problems[Problem.REFUSED] == 1


# ---- cut-offs ----


async def test_over_power_cutoff(site: Site) -> None:
    """Cut off once when the power goes over the limit, and say why at the stop."""
    site.start()
    site.power(900)
    assert site.cutoffs() == []
    site.power(1500)
    site.power(1600)
    site.centre.check_cutoffs()
    await until(lambda: len(site.stops()) == 1)
    [cutoff] = site.cutoffs()
    assert cutoff.attributes == {
        "reason": "over_power",
        "power_w": 1500,
        "temperature_c": None,
        "energy_kwh": 0.0,
    }
    assert site.stops() == [{"transactionId": 1}]
    site.stop(1, 1200, reason="Remote")
    assert site.events[-1].attributes["reason"] == "over_power"
    site.centre.check_cutoffs()
    await asyncio.sleep(0)
    assert len(site.stops()) == 1


async def test_over_temperature_cutoff_by_reading(site: Site) -> None:
    """Cut off once when a port gets too hot."""
    site.start()
    site.meter(1, {"value": "64", "measurand": "Temperature"})
    assert site.cutoffs() == []
    site.meter(1, {"value": "66", "measurand": "Temperature", "unit": "Celsius"})
    site.meter(1, {"value": "70", "measurand": "Temperature"})
    await until(lambda: len(site.stops()) == 1)
    [cutoff] = site.cutoffs()
    assert cutoff.attributes["reason"] == "over_temperature"
    assert cutoff.attributes["temperature_c"] == 66


async def test_over_temperature_cutoff_by_error_code(site: Site) -> None:
    """Cut off once when the station reports HighTemperature."""
    site.start()
    site.status(1, "Charging")
    site.status(1, "SuspendedEVSE", "HighTemperature")
    site.status(1, "SuspendedEVSE", "HighTemperature")
    await until(lambda: len(site.stops()) == 1)
    assert [c.attributes["reason"] for c in site.cutoffs()] == ["over_temperature"]
    assert site.port().overheated(site.station.policy) is True


async def test_max_duration_cutoff(site: Site) -> None:
    """Cut off by the clock, with no reading, at the maximum duration."""
    site.start()
    site.clock.advance(hours=9, minutes=59)
    site.centre.check_cutoffs()
    assert site.cutoffs() == []
    site.clock.advance(minutes=1)
    site.centre.check_cutoffs()
    site.centre.check_cutoffs()
    await until(lambda: len(site.stops()) == 1)
    assert [c.attributes["reason"] for c in site.cutoffs()] == ["max_duration"]


async def test_full_cutoff_needs_low_power_for_long_enough(site: Site) -> None:
    """Cut off as full only after the power stays low for full_minutes."""
    site.start()
    site.power(300)
    site.power(5)
    site.clock.advance(minutes=19)
    site.centre.check_cutoffs()
    # The power rises again: the low spell starts over.
    site.power(50)
    site.clock.advance(minutes=1)
    site.power(4)
    site.clock.advance(minutes=19)
    site.centre.check_cutoffs()
    assert site.cutoffs() == []
    site.clock.advance(minutes=1)
    site.centre.check_cutoffs()
    site.centre.check_cutoffs()
    await until(lambda: len(site.stops()) == 1)
    assert [c.attributes["reason"] for c in site.cutoffs()] == ["full"]


async def test_rules_can_be_turned_off() -> None:
    """Cut nothing off when every rule is off."""
    site = Site(
        full_power_w=None,
        max_duration_hours=None,
        max_temperature_c=None,
        max_power_w=None,
    )
    site.connect()
    site.start()
    site.meter(
        1,
        {"value": "99999", "measurand": "Power.Active.Import"},
        {"value": "120", "measurand": "Temperature"},
    )
    site.power(0)
    site.clock.advance(days=3)
    site.centre.check_cutoffs()
    assert site.cutoffs() == []
    assert site.port().overheated(site.station.policy) is None


async def test_rejected_stop_is_retried(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Send the stop again after a refusal or no answer, until it is accepted."""
    monkeypatch.setattr(charging_centre, "CUTOFF_RETRY_SECONDS", 0)
    site.cp.answer(
        "RemoteStopTransaction",
        {"status": "Rejected"},
        CallTimeoutError("RemoteStopTransaction", 30),
    )
    site.start()
    site.power(2000)
    transaction = site.port().transaction
    assert transaction is not None
    await until(lambda: len(site.stops()) == 1 and not transaction.cutoff_sent)
    site.centre.check_cutoffs()
    await until(lambda: len(site.stops()) == 2 and not transaction.cutoff_sent)
    site.centre.check_cutoffs()
    await until(lambda: len(site.stops()) == 3)
    await until(lambda: not site.centre._tasks)
    site.centre.check_cutoffs()
    await asyncio.sleep(0)
    assert len(site.stops()) == 3
    assert len(site.cutoffs()) == 1
    assert site.centre.problems[Problem.REFUSED] == 2


async def test_close_cancels_waiting_retries(site: Site) -> None:
    """Cancel a stop waiting to be retried when the centre closes."""
    site.cp.answer("RemoteStopTransaction", {"status": "Rejected"})
    site.start()
    site.power(2000)
    await until(lambda: site.centre.problems[Problem.REFUSED] == 1)
    await site.centre.close()
    assert not site.centre._tasks


async def test_cutoff_while_offline_is_sent_on_reconnect(site: Site) -> None:
    """Keep a cut-off decided while offline and send it when the station returns."""
    site.start()
    site.centre.connection_closed(site.cp.connection)
    site.clock.advance(hours=11)
    site.centre.check_cutoffs()
    assert [c.attributes["reason"] for c in site.cutoffs()] == ["max_duration"]
    await asyncio.sleep(0)
    assert site.stops() == []
    site.connect()
    await until(lambda: len(site.stops()) == 1)
    # Sent once more on each reconnect until the station reports the stop.
    site.centre.connection_closed(site.cp.connection)
    site.connect()
    await until(lambda: len(site.stops()) == 2)
    site.stop(1, 1000)
    site.centre.connection_closed(site.cp.connection)
    site.connect()
    await asyncio.sleep(0)
    assert len(site.stops()) == 2


def test_session_energy() -> None:
    """Say nothing before any session, zero before the first reading."""
    port = ChargingPort(1)
    assert port.session_energy_wh is None
    assert not port.charging
    port.transaction = Transaction(1, "CARD-1", None, T0, 500.0)
    assert port.session_energy_wh == 0
    port.register_wh = 400.0
    assert port.session_energy_wh == 0
    port.register_wh = 900.0
    assert port.session_energy_wh == 400


def test_cutoff_due_without_session() -> None:
    """Judge nothing on a port with no session."""
    port = ChargingPort(1, power_w=5000.0)
    assert cutoff_due(port, CutoffPolicy(), T0) is None
    port.transaction = Transaction(1, "CARD-1", None, T0, 0.0)
    assert cutoff_due(port, CutoffPolicy(), T0) is CutoffReason.OVER_POWER


# ---- building stop and resume ----


async def test_stop_building_with_block(site: Site) -> None:
    """Cut off every session, block new ones, and make the stations inoperative."""
    other_cp = site.connect(FakeChargePoint("CP-2"))
    site.start(1)
    site.start(2, id_tag="卡-2", when="2026-05-01T08:01:00Z")
    stations = site.centre.stations_in("1")
    assert stations == [site.station, site.other]
    report = await site.centre.stop_building(stations, block=True)
    assert (report.stations, report.sessions, report.unreachable) == (2, 2, [])
    await until(lambda: len(site.stops()) == 2)
    assert {p["transactionId"] for p in site.stops()} == {1, 2}
    assert ("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}) in (
        site.cp.calls
    )
    assert other_cp.calls == [
        ("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})
    ]
    assert [c.attributes["reason"] for c in site.cutoffs()] == ["building_stop"] * 2
    assert site.station.blocked
    assert site.request("Authorize", {"idTag": "CARD-1"}) == {
        "idTagInfo": {"status": "Blocked"}
    }
    assert site.start(meter_start=5)["idTagInfo"] == {"status": "Blocked"}
    # A second stop finds nothing left to cut off.
    report = await site.centre.stop_building(stations, block=True)
    assert report.sessions == 0
    unreachable = await site.centre.resume(stations)
    assert unreachable == []
    assert not site.station.blocked
    assert site.cp.calls[-1] == (
        "ChangeAvailability",
        {"connectorId": 0, "type": "Operative"},
    )
    assert site.request("Authorize", {"idTag": "CARD-1"}) == {
        "idTagInfo": {"status": "Accepted"}
    }


async def test_stop_building_with_offline_and_refusing_stations(site: Site) -> None:
    """Name the stations that could not be told; keep their cut-offs for later."""
    site.cp.answer("ChangeAvailability", {"status": "Rejected"}, {"status": "Rejected"})
    report = await site.centre.stop_building(
        [site.station, site.other, site.far], block=True
    )
    assert report.unreachable == ["1号楼充电桩", "1号楼二号桩", "2号楼充电桩"]
    assert all(s.blocked for s in (site.station, site.other, site.far))
    assert await site.centre.resume([site.station, site.other]) == [
        "1号楼充电桩",
        "1号楼二号桩",
    ]
    assert not site.other.blocked


async def test_stop_building_without_block(site: Site) -> None:
    """Cut off sessions only; offline stations are named, nothing is blocked."""
    site.start()
    site.centre.add_station(site.other)
    report = await site.centre.stop_building(site.centre.stations_in(None), block=False)
    assert report.stations == 3
    assert report.sessions == 1
    assert report.unreachable == ["1号楼二号桩", "2号楼充电桩"]
    assert not site.station.blocked
    await until(lambda: len(site.stops()) == 1)
    assert "ChangeAvailability" not in site.cp.actions()
    assert site.request("Authorize", {"idTag": "CARD-1"}) == {
        "idTagInfo": {"status": "Accepted"}
    }


# ---- commands ----


async def test_commands(site: Site) -> None:
    """Send each command with its payload and take an accepting answer."""
    await site.centre.start_charging(site.station, 2)
    await site.centre.start_charging(site.station, 1, "CARD-1")
    await site.centre.stop_charging(site.station, 1)
    site.start()
    await site.centre.stop_charging(site.station, 1)
    site.cp.answer("ChangeAvailability", {"status": "Scheduled"})
    assert await site.centre.set_available(site.station, 2, False) == "Scheduled"
    assert await site.centre.set_available(site.station, 2, True) == "Accepted"
    await site.centre.reset(site.station)
    await site.centre.reset(site.station, hard=True)
    site.cp.answer("UnlockConnector", {"status": "Unlocked"})
    await site.centre.unlock(site.station, 1)
    assert site.cp.calls == [
        ("RemoteStartTransaction", {"connectorId": 2, "idTag": OPERATOR_ID_TAG}),
        ("RemoteStartTransaction", {"connectorId": 1, "idTag": "CARD-1"}),
        ("RemoteStopTransaction", {"transactionId": 1}),
        ("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}),
        ("ChangeAvailability", {"connectorId": 2, "type": "Operative"}),
        ("Reset", {"type": "Soft"}),
        ("Reset", {"type": "Hard"}),
        ("UnlockConnector", {"connectorId": 1}),
    ]


@pytest.mark.parametrize(
    ("action", "answer", "said"),
    [
        ("RemoteStartTransaction", {"status": "Rejected"}, "Rejected"),
        ("RemoteStopTransaction", {"status": "Rejected"}, "Rejected"),
        ("ChangeAvailability", {"status": "Rejected"}, "Rejected"),
        ("Reset", {"status": "Rejected"}, "Rejected"),
        ("UnlockConnector", {"status": "UnlockFailed"}, "UnlockFailed"),
        ("UnlockConnector", {"status": "Accepted"}, "Accepted"),
        (
            "Reset",
            CallErrorReceivedError("Reset", "NotSupported", "no"),
            "NotSupported",
        ),
        ("Reset", CallTimeoutError("Reset", 30), "CallTimeoutError"),
    ],
)
async def test_command_rejected(
    site: Site, action: str, answer: Payload | Exception, said: str
) -> None:
    """Raise CommandRejectedError naming the station, the action and the answer."""
    site.start()
    site.cp.answer(action, answer)
    command = {
        "RemoteStartTransaction": lambda: site.centre.start_charging(site.station, 1),
        "RemoteStopTransaction": lambda: site.centre.stop_charging(site.station, 1),
        "ChangeAvailability": lambda: site.centre.set_available(site.station, 1, True),
        "Reset": lambda: site.centre.reset(site.station),
        "UnlockConnector": lambda: site.centre.unlock(site.station, 1),
    }[action]
    with pytest.raises(CommandRejectedError) as caught:
        await command()
    assert caught.value.translation_key == "station_refused"
    assert caught.value.translation_placeholders == {
        "station": "1号楼充电桩",
        "action": action,
        "answer": said,
    }


async def test_commands_to_offline_station(site: Site) -> None:
    """Raise StationOfflineError for a station that is not connected."""
    with pytest.raises(StationOfflineError) as caught:
        await site.centre.reset(site.other)
    assert caught.value.translation_key == "station_offline"
    assert caught.value.translation_placeholders == {"station": "1号楼二号桩"}
    site.centre.connection_closed(site.cp.connection)
    with pytest.raises(StationOfflineError):
        await site.centre.start_charging(site.station, 1)


# ---- storage ----


async def test_storage_round_trip(site: Site) -> None:
    """Keep open sessions, the next ID and closed IDs across a restart."""
    site.request(
        "BootNotification", {"chargePointVendor": "绿能", "chargePointModel": "EB-10"}
    )
    site.start(1)
    site.start(2, meter_start=50, when="2026-05-01T08:10:00Z")
    site.meter(2, {"value": "0.3", "unit": "kWh"})
    site.stop(2, 400)
    site.power(2000)
    site.station.blocked = True
    saved = site.centre.to_storage()
    saved["stations"]["CP-gone"] = {"ports": {}}
    saved["stations"]["CP-1"]["ports"]["7"] = {"register_wh": 1.0}

    restored = Site()
    restored.centre.restore(saved)
    station = restored.station
    assert station.boot == site.station.boot
    assert station.blocked
    transaction = station.ports[1].transaction
    assert transaction is not None
    assert transaction.transaction_id == 1
    assert transaction.resident_id == "resident-1"
    assert transaction.started_at == T0
    assert transaction.cutoff is CutoffReason.OVER_POWER
    assert not transaction.cutoff_sent
    assert station.ports[2].transaction is None
    assert station.ports[2].last_session == site.port(2).last_session
    assert station.ports[2].register_wh == 400
    assert station.ports[1].register_wh == 1000
    # The stop for session 2 sent again is known; the next session is 3.
    restored.stop(2, 400)
    assert restored.centre.problems == {}
    assert restored.start(2, meter_start=400, when="2026-05-01T10:00:00Z") == {
        "transactionId": 3,
        "idTagInfo": {"status": "Blocked"},
    }
    # The restored cut-off is sent when the station connects.
    restored.connect()
    await until(lambda: restored.stops() == [{"transactionId": 1}])
    await restored.centre.close()


def test_restore_from_nothing() -> None:
    """Start from scratch with empty storage."""
    site = Site()
    site.centre.restore({})
    assert site.centre.to_storage() == {
        "next_transaction_id": 1,
        "closed": [],
        "stations": {
            "CP-1": {
                "boot": None,
                "blocked": False,
                "ports": {
                    "1": {
                        "register_wh": None,
                        "transaction": None,
                        "last_session": None,
                    },
                    "2": {
                        "register_wh": None,
                        "transaction": None,
                        "last_session": None,
                    },
                },
            },
            "CP-2": {
                "boot": None,
                "blocked": False,
                "ports": {
                    "1": {
                        "register_wh": None,
                        "transaction": None,
                        "last_session": None,
                    }
                },
            },
            "CP-3": {
                "boot": None,
                "blocked": False,
                "ports": {
                    "1": {
                        "register_wh": None,
                        "transaction": None,
                        "last_session": None,
                    }
                },
            },
        },
    }


async def test_full_spell_survives_restart(site: Site) -> None:
    """Keep when the power went low, so a restart does not reset the full timer."""
    site.start()
    site.power(3)
    saved = site.centre.to_storage()
    restored = Site()
    restored.centre.restore(saved)
    transaction = restored.port().transaction
    assert transaction is not None
    assert transaction.low_power_since == T0


# ---- problems ----


async def test_problems_are_counted_and_logged_once(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """Log the first problem of each kind and charge point; count them all."""
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    centre = site.centre
    centre.problem(Problem.MALFORMED, "CP-1", "192.0.2.50", "not JSON")
    centre.problem(Problem.MALFORMED, "CP-1", "192.0.2.50", "not JSON again")
    centre.problem(Problem.MALFORMED, "CP-2", "192.0.2.51", "not JSON")
    centre.problem(Problem.UNKNOWN_CHARGE_POINT, None, "192.0.2.99", "CP-x")
    assert centre.problems == {Problem.MALFORMED: 3, Problem.UNKNOWN_CHARGE_POINT: 1}
    records = [r for r in caplog.records if r.name == LOGGER_NAME]
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "malformed" in warnings[0]
    assert "CP-1" in warnings[0]
    assert "not JSON" in warnings[0]
    assert "CP-2" in warnings[1]
    assert "unknown charge point" in warnings[2]
    assert "192.0.2.99" in warnings[2]
    assert "CP-x" in warnings[2]
    assert [r.levelno for r in records].count(logging.DEBUG) == 1


async def test_blocked_station_is_taken_out_of_service_when_it_returns(
    site: Site,
) -> None:
    """A station away during an emergency stop gets ChangeAvailability on return."""
    site.station.blocked = True
    returning = site.connect(FakeChargePoint())
    await until(lambda: "ChangeAvailability" in returning.actions())
    assert returning.calls[-1][1] == {"connectorId": 0, "type": "Inoperative"}
    # A refusal is logged, not raised.
    refusing = FakeChargePoint()
    refusing.answer("ChangeAvailability", {"status": "Rejected"})
    site.connect(refusing)
    await until(lambda: "ChangeAvailability" in refusing.actions())
