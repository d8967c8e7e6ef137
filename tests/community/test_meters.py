"""Test power meters: polls, availability, problems logged once per outage."""

import asyncio
import logging

import pytest

from custom_components.smart_community.community.meters import (
    MeterProblem,
    PowerMeter,
)
from custom_components.smart_community.protocols.modbus_meter import (
    REGISTER_MAPS,
    MeterConnectionError,
    MeterError,
    MeterReading,
    MeterResponseError,
    Quantity,
    RegisterMap,
    RegisterSpec,
)

from .conftest import Counter

LOGGER_NAME = "custom_components.smart_community.community.meters"
READING = MeterReading({Quantity.POWER: 1520.5, Quantity.VOLTAGE_L1: 229.8}, 2)
LATER_READING = MeterReading({Quantity.POWER: -310.0}, 1)
TIMED_OUT = MeterConnectionError("No answer from 192.0.2.40:502 within 3 s")
CUT_OFF = MeterConnectionError("Connection to 192.0.2.40:502 was reset")
REFUSED = MeterResponseError("Modbus exception 2 (illegal data address)", 2)


class FakeReader:
    """Answer reads from a script of readings and errors, as a meter would."""

    def __init__(self, *answers: MeterReading | MeterError) -> None:
        """Answer each read with the next of ``answers``."""
        self.answers = list(answers)
        self.reads = 0
        self.closed = False
        # Set as a read starts; when hold is given, each read waits for it.
        self.started = asyncio.Event()
        self.hold: asyncio.Event | None = None

    async def read(self) -> MeterReading:
        """Return the next reading or raise the next error."""
        self.reads += 1
        self.started.set()
        if self.hold is not None:
            await self.hold.wait()
        answer = self.answers.pop(0)
        if isinstance(answer, MeterError):
            raise answer
        return answer

    async def close(self) -> None:
        """Note that the connection was dropped."""
        self.closed = True


def new_meter(*answers: MeterReading | MeterError) -> tuple[PowerMeter, FakeReader]:
    """Return a DTSU666 meter reading from a script, and the script's reader."""
    reader = FakeReader(*answers)
    meter = PowerMeter("meter-a", "1号楼 总电表", REGISTER_MAPS["dtsu666"], reader)
    return meter, reader


def log(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    """Return the meters module's log so far, and forget it."""
    records = [
        (record.levelno, record.getMessage())
        for record in caplog.records
        if record.name == LOGGER_NAME
    ]
    caplog.clear()
    return records


@pytest.fixture(autouse=True)
def _log_info(caplog: pytest.LogCaptureFixture) -> None:
    """Capture the meters module's log from INFO up."""
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)


def test_new_meter_is_unavailable() -> None:
    """Before its first poll a meter has no values and no problem."""
    meter, reader = new_meter()
    assert (meter.meter_id, meter.name) == ("meter-a", "1号楼 总电表")
    assert not meter.available
    assert meter.values == {}
    assert (meter.problem, meter.error) == (None, None)
    assert (meter.polls, meter.failures, meter.requests) == (0, 0, 0)
    assert reader.reads == 0


async def test_first_success_makes_it_available(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A first good reading makes the meter available, quietly."""
    meter, _ = new_meter(READING, LATER_READING)
    listener = Counter()
    meter.listeners.add(listener)
    await meter.poll()
    assert meter.available
    assert meter.values == READING.values
    assert meter.requests == 2
    assert (meter.problem, meter.error) == (None, None)
    assert (meter.polls, meter.failures) == (1, 0)
    assert listener.calls == 1

    await meter.poll()
    assert meter.values == LATER_READING.values
    assert meter.requests == 1
    assert (meter.polls, listener.calls) == (2, 2)
    assert log(caplog) == []


@pytest.mark.parametrize(
    ("error", "problem", "message"),
    [
        (
            TIMED_OUT,
            MeterProblem.UNREACHABLE,
            "Power meter 1号楼 总电表 cannot be reached: "
            "No answer from 192.0.2.40:502 within 3 s",
        ),
        (
            REFUSED,
            MeterProblem.REFUSED,
            "Power meter 1号楼 总电表 refused the read: "
            "Modbus exception 2 (illegal data address)",
        ),
    ],
    ids=["unreachable", "refused"],
)
async def test_failure_marks_unavailable(
    error: MeterError,
    problem: MeterProblem,
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failed poll makes the meter unavailable and says why."""
    meter, _ = new_meter(READING, error)
    listener = Counter()
    meter.listeners.add(listener)
    await meter.poll()
    await meter.poll()
    assert not meter.available
    assert meter.problem is problem
    assert meter.error == str(error)
    assert (meter.polls, meter.failures) == (2, 1)
    assert listener.calls == 2
    assert log(caplog) == [(logging.WARNING, message)]


async def test_outage_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """An outage is logged as it starts, again if its kind changes, and its end."""
    meter, _ = new_meter(
        READING, TIMED_OUT, CUT_OFF, TIMED_OUT, REFUSED, REFUSED, READING, CUT_OFF
    )
    listener = Counter()
    meter.listeners.add(listener)
    await meter.poll()
    assert log(caplog) == []

    await meter.poll()
    assert [level for level, _ in log(caplog)] == [logging.WARNING]
    await meter.poll()
    await meter.poll()
    assert log(caplog) == []
    # The last error is kept, even when it is not logged.
    assert meter.error == str(TIMED_OUT)
    assert meter.problem is MeterProblem.UNREACHABLE

    await meter.poll()
    assert [message for _, message in log(caplog)] == [
        "Power meter 1号楼 总电表 refused the read: "
        "Modbus exception 2 (illegal data address)"
    ]
    await meter.poll()
    assert log(caplog) == []
    assert meter.problem is MeterProblem.REFUSED

    await meter.poll()
    assert log(caplog) == [(logging.INFO, "Power meter 1号楼 总电表 answers again")]
    assert meter.available
    assert (meter.problem, meter.error) == (None, None)

    # A new outage is logged anew, even of the kind logged before.
    await meter.poll()
    assert log(caplog) == [
        (
            logging.WARNING,
            "Power meter 1号楼 总电表 cannot be reached: "
            "Connection to 192.0.2.40:502 was reset",
        )
    ]
    assert (meter.polls, meter.failures, listener.calls) == (8, 6, 8)


async def test_meter_down_at_start(caplog: pytest.LogCaptureFixture) -> None:
    """A meter that fails its first poll is logged, and so is its first answer."""
    meter, _ = new_meter(TIMED_OUT, TIMED_OUT, READING)
    await meter.poll()
    await meter.poll()
    assert [level for level, _ in log(caplog)] == [logging.WARNING]
    assert meter.problem is MeterProblem.UNREACHABLE
    await meter.poll()
    assert log(caplog) == [(logging.INFO, "Power meter 1号楼 总电表 answers again")]
    assert meter.available


async def test_poll_while_polling_is_a_no_op() -> None:
    """A poll asked for while one is still reading does nothing."""
    meter, reader = new_meter(READING, LATER_READING)
    listener = Counter()
    meter.listeners.add(listener)
    reader.hold = asyncio.Event()
    first = asyncio.create_task(meter.poll())
    await reader.started.wait()

    await meter.poll()
    assert reader.reads == 1
    assert (meter.polls, listener.calls) == (0, 0)
    assert not meter.available

    reader.hold.set()
    await first
    assert meter.values == READING.values
    assert (meter.polls, listener.calls) == (1, 1)

    # Once the first poll is done, polling works again.
    await meter.poll()
    assert reader.reads == 2
    assert meter.values == LATER_READING.values


async def test_failed_poll_lets_the_next_one_run() -> None:
    """A poll that failed does not block the ones after it."""
    meter, reader = new_meter(REFUSED, READING)
    await meter.poll()
    await meter.poll()
    assert reader.reads == 2
    assert meter.available


async def test_cancelled_poll_lets_the_next_one_run() -> None:
    """A poll cancelled while reading does not block the ones after it."""
    meter, reader = new_meter(READING)
    listener = Counter()
    meter.listeners.add(listener)
    reader.hold = asyncio.Event()
    first = asyncio.create_task(meter.poll())
    await reader.started.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert not meter.available
    assert (listener.calls, meter.polls) == (0, 0)

    reader.hold.set()
    await meter.poll()
    assert reader.reads == 2
    assert meter.available
    assert (listener.calls, meter.polls) == (1, 1)


def test_quantities_follow_the_map() -> None:
    """A meter reads the quantities of its map, in register order."""
    register_map = RegisterMap(
        "custom",
        (
            RegisterSpec(Quantity.ENERGY_IMPORT, 100),
            RegisterSpec(Quantity.POWER, 10),
            RegisterSpec(Quantity.VOLTAGE_L1, 0),
        ),
    )
    meter = PowerMeter("meter-b", "2号楼 总电表", register_map, FakeReader())
    assert meter.register_map is register_map
    assert meter.quantities == (
        Quantity.VOLTAGE_L1,
        Quantity.POWER,
        Quantity.ENERGY_IMPORT,
    )


def test_quantities_of_a_built_in_map() -> None:
    """A built-in map's meter reads every quantity the map defines."""
    meter, _ = new_meter()
    assert len(meter.quantities) == 14
    assert set(meter.quantities) == {
        spec.quantity for spec in REGISTER_MAPS["dtsu666"].registers
    }


async def test_close_closes_the_reader() -> None:
    """Closing a meter drops its reader's connection."""
    meter, reader = new_meter()
    await meter.close()
    assert reader.closed
    assert reader.reads == 0
