"""Play a building's three-phase power meter behind a Modbus TCP gateway.

Each meter is a pymodbus TCP server on its own port that answers read
requests (FC04, and FC03 from the same registers) for one unit id, with the
values of a :class:`~simulator.devices.meter.load.LoadModel` encoded as the
chosen model does it (Chint DTSU666 in 0.1 V, 0.001 A, 0.1 W...; Eastron
SDM630 in SI units; both float32, high word first). The values move every
``update_seconds``; writes are refused (exception 2, illegal data address) and
coil or discrete-input reads too (exception 1, illegal function).

Other unit ids are answered the way a Modbus TCP gateway with one meter on its
RS-485 bus answers them: with exception 0x0B, "gateway target device failed
to respond" (``foreign_unit: "exception"``, the default), or not at all
(``"silent"``, as cheaper gateways do; the client times out).

Control actions: ``set_load`` {watts} fixes the total power (null resumes
the daily profile); ``offline`` closes the port and every connection
(connections are refused) and ``online`` listens again on the same port;
``freeze`` {seconds?} keeps accepting connections and requests but answers
none until ``thaw`` (or for ``seconds``); ``state``.
"""

import asyncio
from dataclasses import dataclass
import logging
import math
import random
import time
from typing import Final, Self, override

from pymodbus.constants import ExcCodes
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from simulator.devices.base import (
    ActionError,
    PortInfo,
    SimulatedDevice,
    UnknownActionError,
    register_kind,
)
from simulator.devices.isapi.options import OptionReader
from simulator.devices.meter.load import LoadModel
from simulator.devices.meter.registers import LAYOUTS
from simulator.jsonvalue import JSONObject, JSONValue
from simulator.kinds import DeviceKind
from simulator.scenario import DeviceSpec, Scenario

_LOGGER: Final = logging.getLogger(__name__)

_PROTOCOL: Final = "modbus-tcp"
_READ_FUNCTIONS: Final = frozenset({3, 4})
# Modbus TCP frames carry the unit id in byte 6 of the MBAP header.
_UNIT_ID_OFFSET: Final = 6
_MAX_UNIT_ID: Final = 247
_ADDRESS_SPACE: Final = 0x10000
# Default base load: per household, and the range a building's meter sees.
_WATTS_PER_HOUSEHOLD: Final = 400.0
_BASE_LOAD_RANGE: Final = (20_000.0, 60_000.0)
# A building meter has years of energy on it already.
_INITIAL_ENERGY_RANGE: Final = (10_000.0, 50_000.0)
_MAX_WATTS: Final = 10_000_000.0
_FOREIGN_UNIT_REPLIES: Final = ("exception", "silent")


class _MeterOptionReader(OptionReader):
    """Read options with a plain number type besides the inherited ones."""

    def number(self, key: str, default: float, *, minimum: float) -> float:
        """Return a number option of at least ``minimum``."""
        self.read.add(key)
        value = self.options.get(key, default)
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value < minimum
        ):
            raise self._fail(key, f"a number >= {minimum:g}")
        return float(value)


@dataclass(frozen=True, slots=True)
class PowerMeterOptions:
    """Hold a power meter's scenario options, validated, with their defaults."""

    base_load_watts: float
    initial_energy_kwh: float
    register_map: str = "dtsu666"
    unit_id: int = 1
    update_seconds: float = 1.0
    foreign_unit: str = "exception"

    @classmethod
    def from_spec(cls, spec: DeviceSpec, defaults: Self) -> Self:
        """Read and check the options of ``spec``; raise ``ValueError`` if bad."""
        reader = _MeterOptionReader(spec.id, spec.options)
        options = cls(
            register_map=reader.choice(
                "register_map", defaults.register_map, list(LAYOUTS)
            ),
            unit_id=reader.integer(
                "unit_id", defaults.unit_id, minimum=1, maximum=_MAX_UNIT_ID
            ),
            base_load_watts=reader.number(
                "base_load_watts", defaults.base_load_watts, minimum=0.0
            ),
            update_seconds=reader.seconds(
                "update_seconds", defaults.update_seconds, minimum=0.01
            ),
            initial_energy_kwh=reader.number(
                "initial_energy_kwh", defaults.initial_energy_kwh, minimum=0.0
            ),
            foreign_unit=reader.choice(
                "foreign_unit", defaults.foreign_unit, list(_FOREIGN_UNIT_REPLIES)
            ),
        )
        reader.reject_unknown()
        return options


@register_kind(DeviceKind.POWER_METER)
class PowerMeter(SimulatedDevice):
    """Answer Modbus TCP reads for one meter; go offline, freeze, change load."""

    def __init__(self, spec: DeviceSpec, scenario: Scenario) -> None:
        """Read the options; a bad option is raised by ``start``."""
        super().__init__(spec, scenario)
        # Not security: a repeatable load per device.
        self._random = random.Random(spec.id)  # noqa: S311
        defaults = PowerMeterOptions(
            base_load_watts=self._default_base_load(),
            initial_energy_kwh=round(self._random.uniform(*_INITIAL_ENERGY_RANGE), 1),
        )
        self.options = self.read_options(
            lambda: PowerMeterOptions.from_spec(spec, defaults), lambda: defaults
        )
        self.layout = LAYOUTS[self.options.register_map]
        self._model = LoadModel(
            self.options.base_load_watts,
            self.options.initial_energy_kwh,
            self._random,
            hour=_hour_of_day(),
        )
        self._image = self.layout.encode(self._model.values.fields())
        self._stepped_at = time.monotonic()
        self._host = "127.0.0.1"
        self._port = spec.port
        self._server: ModbusTcpServer | None = None
        self._update_task: asyncio.Task[None] | None = None
        self._thaw_task: asyncio.Task[None] | None = None
        self.frozen = False
        self.requests = 0
        self.foreign_requests = 0
        self.unanswered = 0

    @property
    def unit_id(self) -> int:
        """Return the unit id the meter answers to."""
        return self.options.unit_id

    def _default_base_load(self) -> float:
        """Return a base load for the building's size, within 20-60 kW."""
        building = self.building
        households = building.households if building is not None else 0
        low, high = _BASE_LOAD_RANGE
        return min(max(households * _WATTS_PER_HOUSEHOLD, low), high)

    # --- lifecycle -------------------------------------------------------------

    @override
    async def start(self, host: str) -> PortInfo:
        """Listen on the spec's port (0 = any free) and start moving the values."""
        self.raise_option_error()
        self._host = host
        await self._listen()
        self._update_task = asyncio.create_task(
            self._update_loop(), name=f"{self.id}-update"
        )
        return PortInfo(
            host,
            self._port,
            _PROTOCOL,
            {"unit_id": self.unit_id, "register_map": self.layout.name},
        )

    @override
    async def stop(self) -> None:
        """Stop listening, drop every connection and stop the updates."""
        for task in (self._update_task, self._thaw_task):
            await _cancel(task)
        self._update_task = self._thaw_task = None
        self._close_server()

    async def _listen(self) -> None:
        """Start a Modbus server on the meter's port; remember the port it got."""
        server = ModbusTcpServer(
            self._devices(),
            address=(self._host, self._port),
            trace_packet=self._trace_packet,
            trace_pdu=self._trace_pdu,
        )
        try:
            await server.serve_forever(background=True)
        except RuntimeError as error:
            server.close()
            raise OSError(
                f"cannot listen on {self._host}:{self._port}: {error}"
            ) from None
        listener = server.transport
        if isinstance(listener, asyncio.Server) and listener.sockets:
            self._port = int(listener.sockets[0].getsockname()[1])
        self._server = server

    def _close_server(self) -> None:
        """Close the listening socket and every open connection."""
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def _devices(self) -> list[SimDevice]:
        """Return the meter's registers, plus a catch-all for other unit ids."""
        regions = [
            SimData(
                address=start,
                count=end - start,
                datatype=DataType.REGISTERS,
                readonly=True,
            )
            for start, end in self.layout.regions
        ]
        # Unit id 0 stands for "every other unit"; its whole address space
        # exists, so that every request reaches the action and gets 0x0B.
        catch_all = SimData(address=0, count=_ADDRESS_SPACE, datatype=DataType.INVALID)
        return [
            SimDevice(self.unit_id, simdata=regions, action=self._serve),
            SimDevice(0, simdata=[catch_all], action=self._refuse_foreign),
        ]

    # --- Modbus ----------------------------------------------------------------

    async def _serve(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """Copy the current values into the registers a read is about to return."""
        if values is not None:
            # Measurements are read-only, as on the real meters.
            return ExcCodes.ILLEGAL_ADDRESS
        if function_code not in _READ_FUNCTIONS:
            return ExcCodes.ILLEGAL_FUNCTION
        offset = address - start_address
        # The register list is pymodbus' block for this device: it starts at
        # the layout's first address, as the image does.
        registers[offset : offset + count] = self._image[offset : offset + count]
        return None

    async def _refuse_foreign(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes:
        """Answer for a unit id that is not on the bus, as a gateway does."""
        return ExcCodes.GATEWAY_NO_RESPONSE

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        """Count the responses: ours, other units', and those a freeze swallows."""
        if sending:
            if self.frozen or (
                pdu.dev_id != self.unit_id and self.options.foreign_unit == "silent"
            ):
                self.unanswered += 1
            elif pdu.dev_id == self.unit_id:
                self.requests += 1
            else:
                self.foreign_requests += 1
        return pdu

    def _trace_packet(self, sending: bool, packet: bytes) -> bytes:
        """Drop outgoing frames while frozen, and other units' when silent."""
        if not sending:
            return packet
        if self.frozen:
            return b""
        if (
            self.options.foreign_unit == "silent"
            and len(packet) > _UNIT_ID_OFFSET
            and packet[_UNIT_ID_OFFSET] != self.unit_id
        ):
            return b""
        return packet

    # --- values ----------------------------------------------------------------

    async def _update_loop(self) -> None:
        """Move the values on every ``update_seconds`` until cancelled."""
        while True:
            await asyncio.sleep(self.options.update_seconds)
            self._step()

    def _step(self) -> None:
        """Advance the model to now and re-encode the register image."""
        now = time.monotonic()
        elapsed, self._stepped_at = now - self._stepped_at, now
        values = self._model.step(elapsed, hour=_hour_of_day())
        self._image = self.layout.encode(values.fields())

    # --- control API -------------------------------------------------------------

    @override
    def state(self) -> JSONObject:
        """Return the link state, counters and current values in SI units."""
        values: dict[str, JSONValue] = dict(self._model.values.fields())
        return {
            "register_map": self.layout.name,
            "unit_id": self.unit_id,
            "foreign_unit": self.options.foreign_unit,
            "online": self._server is not None,
            "frozen": self.frozen,
            "requests": self.requests,
            "foreign_requests": self.foreign_requests,
            "unanswered": self.unanswered,
            "base_load_watts": self.options.base_load_watts,
            "load_target_watts": self._model.target_watts,
            "update_seconds": self.options.update_seconds,
            **values,
        }

    @override
    async def handle_action(self, action: str, params: JSONObject) -> JSONObject:
        """Change the load, take the meter offline or freeze it."""
        match action:
            case "state":
                self._no_params(params)
            case "set_load":
                self._set_load(params)
            case "offline":
                self._no_params(params)
                await self._go_offline()
            case "online":
                self._no_params(params)
                await self._go_online()
            case "freeze":
                await self._freeze(params)
            case "thaw":
                self._no_params(params)
                await self._thaw()
            case _:
                raise UnknownActionError(self.id, action)
        return self.state()

    def _no_params(self, params: JSONObject) -> None:
        """Refuse parameters for an action that takes none."""
        if unknown := sorted(key for key in params if not key.startswith("_")):
            raise ActionError(f"unknown parameters: {', '.join(unknown)}")

    def _set_load(self, params: JSONObject) -> None:
        """Fix the total power at ``watts``, or follow the day again for null."""
        if set(params) - {"watts"} or "watts" not in params:
            raise ActionError("set_load takes one parameter: watts (a number or null)")
        watts = params["watts"]
        if watts is not None and (
            not isinstance(watts, int | float)
            or isinstance(watts, bool)
            or not math.isfinite(watts)
            or abs(watts) > _MAX_WATTS
        ):
            raise ActionError(
                f"watts must be a number within ±{_MAX_WATTS:g} or null, not {watts!r}"
            )
        # Count the energy at the old load up to now, then switch.
        self._model.target_watts = None if watts is None else float(watts)
        self._step()
        _LOGGER.info("%s: load set to %s W", self.id, watts)

    async def _go_offline(self) -> None:
        """Close the port and drop every connection; keep the port number."""
        if self._server is None:
            return
        self._close_server()
        _LOGGER.info("%s: offline", self.id)

    async def _go_online(self) -> None:
        """Listen again on the port the meter had."""
        if self._server is not None:
            return
        try:
            await self._listen()
        except OSError as error:
            raise ActionError(str(error)) from None
        _LOGGER.info("%s: online on port %d", self.id, self._port)

    async def _freeze(self, params: JSONObject) -> None:
        """Stop answering, for ``seconds`` or until ``thaw``."""
        if set(params) - {"seconds"}:
            raise ActionError("freeze takes one optional parameter: seconds")
        seconds = params.get("seconds")
        if seconds is not None and (
            not isinstance(seconds, int | float)
            or isinstance(seconds, bool)
            or not 0 < seconds < math.inf
        ):
            raise ActionError(
                f"seconds must be a positive number or null, not {seconds!r}"
            )
        await _cancel(self._thaw_task)
        self._thaw_task = None
        self.frozen = True
        if seconds is not None:
            self._thaw_task = asyncio.create_task(
                self._thaw_later(float(seconds)), name=f"{self.id}-thaw"
            )
        _LOGGER.info("%s: frozen", self.id)

    async def _thaw_later(self, seconds: float) -> None:
        """Thaw after ``seconds``."""
        await asyncio.sleep(seconds)
        self._thaw_task = None
        self.frozen = False
        _LOGGER.info("%s: thawed", self.id)

    async def _thaw(self) -> None:
        """Answer requests again."""
        await _cancel(self._thaw_task)
        self._thaw_task = None
        self.frozen = False


def _hour_of_day() -> float:
    """Return the local time of day in hours (0-24)."""
    local = time.localtime()
    return local.tm_hour + local.tm_min / 60 + local.tm_sec / 3600


async def _cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a task and wait until it has ended (never the calling task)."""
    if task is None or task.done() or task is asyncio.current_task():
        return
    task.cancel()
    await asyncio.wait([task])
