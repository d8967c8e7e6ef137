"""Power meters polled over Modbus TCP: the last reading and whether it is fresh."""

from collections.abc import Mapping
from enum import StrEnum
import logging
from typing import Final, Protocol

from ..protocols.modbus_meter import (
    MeterError,
    MeterReading,
    MeterResponseError,
    Quantity,
    RegisterMap,
)
from .listeners import Listeners

_LOGGER: Final = logging.getLogger(__name__)


class MeterReader(Protocol):
    """What reads a meter: ``MeterClient`` on the wire."""

    async def read(self) -> MeterReading:
        """Read every register of the meter's map once."""

    async def close(self) -> None:
        """Drop the connection."""


class MeterProblem(StrEnum):
    """Why the last poll failed, as diagnostics show it."""

    UNREACHABLE = "meter_unreachable"
    REFUSED = "meter_refused"


class PowerMeter:
    """One meter: polls it on request and keeps what it read."""

    def __init__(
        self, meter_id: str, name: str, register_map: RegisterMap, reader: MeterReader
    ) -> None:
        """Create a meter that reads with ``reader``."""
        self.meter_id = meter_id
        self.name = name
        self.register_map = register_map
        self._reader = reader
        self.values: Mapping[Quantity, float] = {}
        self.available = False
        self.problem: MeterProblem | None = None
        self.error: str | None = None
        self.polls = 0
        self.failures = 0
        self.requests = 0
        self.listeners = Listeners[()]()
        self._polling = False

    @property
    def quantities(self) -> tuple[Quantity, ...]:
        """List what the meter's map reads."""
        return tuple(spec.quantity for spec in self.register_map.registers)

    async def poll(self) -> None:
        """Read the meter once; a poll still running makes this one a no-op."""
        if self._polling:
            return
        self._polling = True
        try:
            reading = await self._reader.read()
        except MeterError as error:
            self._failed(error)
        else:
            self.values = reading.values
            self.requests = reading.requests
            if self.problem is not None:
                _LOGGER.info("Power meter %s answers again", self.name)
            self.available = True
            self.problem = self.error = None
        finally:
            self._polling = False
        # Counted only once finished: a cancelled poll (an unload) is not a poll.
        self.polls += 1
        self.listeners.notify()

    def _failed(self, error: MeterError) -> None:
        """Mark the meter unavailable and say why, once per outage."""
        self.failures += 1
        problem = (
            MeterProblem.REFUSED
            if isinstance(error, MeterResponseError)
            else MeterProblem.UNREACHABLE
        )
        if self.available or self.problem != problem:
            _LOGGER.warning(
                "Power meter %s %s: %s",
                self.name,
                "refused the read"
                if problem is MeterProblem.REFUSED
                else "cannot be reached",
                error,
            )
        self.available = False
        self.problem = problem
        self.error = str(error)

    async def close(self) -> None:
        """Drop the meter's connection."""
        await self._reader.close()
