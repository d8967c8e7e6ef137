"""Read three-phase power meters over Modbus TCP: register maps and a polling client.

A meter's measurements sit in 16-bit registers, mostly as IEEE 754 float32
pairs in the input table (function code 04). A :class:`RegisterMap` says where
each :class:`Quantity` lives, how it is encoded and how to scale it to SI-ish
units; two maps are built in (Chint DTSU666 and Eastron SDM630) and others can
be described as data (:meth:`RegisterMap.from_mapping`). :class:`MeterClient`
reads a whole map in as few requests as the map allows.

Meters on RS-485 are usually reached through a Modbus TCP gateway, where the
unit id picks the meter on the bus; a gateway answers for an absent meter with
exception 0x0B ("gateway target device failed to respond") or not at all.

pymodbus logs through the ``pymodbus.logging`` logger. A refused or timed-out
connect makes it log one WARNING ("Failed to connect ...") per attempt; this
module cannot prevent that without touching a logger other code shares.
Requests time out on this module's own clock, shorter than pymodbus' one, so
pymodbus' ERROR for a request without an answer is never reached.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
import math
from types import MappingProxyType, TracebackType
from typing import Any, Final, Literal, NoReturn, Self

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

DEFAULT_PORT: Final = 502
DEFAULT_POLL_SECONDS: Final = 10
DEFAULT_TIMEOUT: Final = 3.0

# Modbus limits: a register address is 16 bits, and one FC03/FC04 request
# carries at most 125 registers (a 250-byte PDU payload).
MAX_ADDRESS: Final = 0xFFFF
MAX_BLOCK: Final = 125
MAX_UNIT_ID: Final = 255
# Unused registers a request may span by default: a little padding saves a
# round trip, and most meters answer for registers near the ones they define.
DEFAULT_MAX_GAP: Final = 16

# pymodbus' own reply timer runs this much longer than ours, so it never fires:
# ours cancels the request first and pymodbus stays quiet about it.
_PYMODBUS_TIMEOUT_MARGIN: Final = 1.0


class Quantity(StrEnum):
    """Name a measurement a meter reports; units after scaling are in QUANTITY_UNITS."""

    VOLTAGE_L1 = "voltage_l1"
    VOLTAGE_L2 = "voltage_l2"
    VOLTAGE_L3 = "voltage_l3"
    CURRENT_L1 = "current_l1"
    CURRENT_L2 = "current_l2"
    CURRENT_L3 = "current_l3"
    # Total active power; negative while the site exports.
    POWER = "power"
    POWER_L1 = "power_l1"
    POWER_L2 = "power_l2"
    POWER_L3 = "power_l3"
    # Total power factor.
    POWER_FACTOR = "power_factor"
    FREQUENCY = "frequency"
    ENERGY_IMPORT = "energy_import"
    ENERGY_EXPORT = "energy_export"


# The unit of each quantity once scaled; None is dimensionless (-1 to 1).
QUANTITY_UNITS: Final[Mapping[Quantity, str | None]] = MappingProxyType(
    {
        Quantity.VOLTAGE_L1: "V",
        Quantity.VOLTAGE_L2: "V",
        Quantity.VOLTAGE_L3: "V",
        Quantity.CURRENT_L1: "A",
        Quantity.CURRENT_L2: "A",
        Quantity.CURRENT_L3: "A",
        Quantity.POWER: "W",
        Quantity.POWER_L1: "W",
        Quantity.POWER_L2: "W",
        Quantity.POWER_L3: "W",
        Quantity.POWER_FACTOR: None,
        Quantity.FREQUENCY: "Hz",
        Quantity.ENERGY_IMPORT: "kWh",
        Quantity.ENERGY_EXPORT: "kWh",
    }
)


class RegisterTable(StrEnum):
    """Name the register table a map is read from."""

    INPUT = "input"  # function code 04
    HOLDING = "holding"  # function code 03


class DataType(StrEnum):
    """Name how a value is encoded in its registers."""

    FLOAT32 = "float32"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"

    @property
    def width(self) -> int:
        """Return how many 16-bit registers a value of this type takes."""
        return 1 if self in (DataType.INT16, DataType.UINT16) else 2


_PYMODBUS_TYPES: Final = {
    DataType.FLOAT32: AsyncModbusTcpClient.DATATYPE.FLOAT32,
    DataType.INT16: AsyncModbusTcpClient.DATATYPE.INT16,
    DataType.UINT16: AsyncModbusTcpClient.DATATYPE.UINT16,
    DataType.INT32: AsyncModbusTcpClient.DATATYPE.INT32,
    DataType.UINT32: AsyncModbusTcpClient.DATATYPE.UINT32,
}
_WORD_ORDERS: Final = ("big", "little")
_MAP_KEYS: Final = frozenset(
    {"name", "table", "word_order", "max_block", "max_gap", "registers"}
)
_REGISTER_KEYS: Final = frozenset({"address", "type", "scale"})


class MeterError(Exception):
    """Signal any failure to read a meter or to describe one."""


class MeterConnectionError(MeterError):
    """Report that the meter cannot be reached: refused, timed out or cut off."""


class MeterResponseError(MeterError):
    """Report an answer that is not the registers asked for.

    ``exception_code`` is the Modbus exception the device sent (2: illegal
    data address, 11: a gateway's meter did not answer, ...), or None for a
    response of the wrong length.
    """

    def __init__(self, message: str, exception_code: int | None = None) -> None:
        """Keep the Modbus exception code, if the device sent one."""
        super().__init__(message)
        self.exception_code = exception_code


class InvalidRegisterMapError(MeterError):
    """Report a register map that cannot be used, naming the field at fault."""

    def __init__(self, field: str, problem: str) -> None:
        """Name the field (e.g. ``registers.power.address``) and say what is wrong."""
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """Say where one quantity lives: its address, encoding and scale.

    ``scale`` multiplies the decoded raw value into the unit of
    ``QUANTITY_UNITS`` (a DTSU666 sends volts in tenths: scale 0.1).
    """

    quantity: Quantity
    address: int
    data_type: DataType = DataType.FLOAT32
    scale: float = 1.0

    def __post_init__(self) -> None:
        """Refuse addresses outside the register space and useless scales."""
        where = f"registers.{self.quantity}"
        if not isinstance(self.quantity, Quantity):
            raise InvalidRegisterMapError(
                "registers", f"unknown quantity {self.quantity!r}"
            )
        if not isinstance(self.data_type, DataType):
            raise InvalidRegisterMapError(
                f"{where}.type", f"unknown type {self.data_type!r}"
            )
        if (
            not _is_int(self.address)
            or self.address < 0
            or self.address + self.data_type.width - 1 > MAX_ADDRESS
        ):
            raise InvalidRegisterMapError(
                f"{where}.address",
                f"must be an integer from 0 to {MAX_ADDRESS - self.data_type.width + 1}"
                f" for a {self.data_type}, not {self.address!r}",
            )
        if (
            not _is_number(self.scale)
            or not math.isfinite(self.scale)
            or self.scale == 0
        ):
            raise InvalidRegisterMapError(
                f"{where}.scale",
                f"must be a finite non-zero number, not {self.scale!r}",
            )

    @property
    def end(self) -> int:
        """Return the address just after the value's last register."""
        return self.address + self.data_type.width


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """Hold one request's worth of registers: a start, a count, what is inside."""

    start: int
    count: int
    registers: tuple[RegisterSpec, ...]


@dataclass(frozen=True, slots=True)
class RegisterMap:
    """Describe a meter model: which register holds which quantity, and how to read.

    ``registers`` is kept sorted by address. ``max_block`` caps the registers
    of one request; ``max_gap`` is how many unused registers a request may
    span to save another request (the device must answer for them).
    """

    name: str
    registers: tuple[RegisterSpec, ...]
    table: RegisterTable = RegisterTable.INPUT
    word_order: Literal["big", "little"] = "big"
    max_block: int = MAX_BLOCK
    max_gap: int = DEFAULT_MAX_GAP
    _blocks: tuple[ReadBlock, ...] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        """Check the map as a whole and sort its registers by address."""
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidRegisterMapError(
                "name", f"must be a non-empty string, not {self.name!r}"
            )
        if not isinstance(self.table, RegisterTable):
            raise InvalidRegisterMapError(
                "table",
                f"must be one of {', '.join(RegisterTable)}, not {self.table!r}",
            )
        if self.word_order not in _WORD_ORDERS:
            raise InvalidRegisterMapError(
                "word_order",
                f"must be one of {', '.join(_WORD_ORDERS)}, not {self.word_order!r}",
            )
        if not _is_int(self.max_block) or not 1 <= self.max_block <= MAX_BLOCK:
            raise InvalidRegisterMapError(
                "max_block",
                f"must be an integer from 1 to {MAX_BLOCK}, not {self.max_block!r}",
            )
        if not _is_int(self.max_gap) or self.max_gap < 0:
            raise InvalidRegisterMapError(
                "max_gap", f"must be an integer >= 0, not {self.max_gap!r}"
            )
        if not self.registers:
            raise InvalidRegisterMapError("registers", "the map has no registers")
        registers = tuple(sorted(self.registers, key=lambda spec: spec.address))
        seen: set[Quantity] = set()
        previous: RegisterSpec | None = None
        for spec in registers:
            where = f"registers.{spec.quantity}"
            if spec.quantity in seen:
                raise InvalidRegisterMapError(where, "the quantity appears twice")
            seen.add(spec.quantity)
            if spec.data_type.width > self.max_block:
                raise InvalidRegisterMapError(
                    where,
                    f"a {spec.data_type} takes {spec.data_type.width} registers, "
                    f"more than max_block ({self.max_block})",
                )
            if previous is not None and spec.address < previous.end:
                raise InvalidRegisterMapError(
                    f"{where}.address",
                    f"register {spec.address} overlaps {previous.quantity} "
                    f"({previous.address}-{previous.end - 1})",
                )
            previous = spec
        object.__setattr__(self, "registers", registers)
        object.__setattr__(self, "_blocks", self._coalesce())

    def _coalesce(self) -> tuple[ReadBlock, ...]:
        """Group the sorted registers greedily into the fewest allowed requests.

        Taking each register into the current block while the gap and size
        limits allow is optimal: every block covers the longest run it can.
        """
        blocks: list[ReadBlock] = []
        members: list[RegisterSpec] = []
        start = end = 0
        for spec in self.registers:
            if members and (
                spec.address - end > self.max_gap or spec.end - start > self.max_block
            ):
                blocks.append(ReadBlock(start, end - start, tuple(members)))
                members = []
            if not members:
                start = spec.address
            members.append(spec)
            end = spec.end
        blocks.append(ReadBlock(start, end - start, tuple(members)))
        return tuple(blocks)

    def blocks(self) -> tuple[ReadBlock, ...]:
        """Return the requests one poll of this map takes, in address order."""
        return self._blocks

    def to_mapping(self) -> dict[str, Any]:
        """Describe the map as JSON-ready data (the form ``from_mapping`` reads)."""
        return {
            "name": self.name,
            "table": str(self.table),
            "word_order": self.word_order,
            "max_block": self.max_block,
            "max_gap": self.max_gap,
            "registers": {
                str(spec.quantity): {
                    "address": spec.address,
                    "type": str(spec.data_type),
                    "scale": spec.scale,
                }
                for spec in self.registers
            },
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RegisterMap:
        """Build a map from data; raise ``InvalidRegisterMapError`` naming the bad field.

        ``table`` (default "input"), ``word_order`` (default "big"),
        ``max_block`` and ``max_gap`` are optional; each register needs an
        ``address`` and may give a ``type`` (default "float32") and a
        ``scale`` (default 1). Unknown keys are refused: they are typos.
        """
        if not isinstance(data, Mapping):
            raise InvalidRegisterMapError(
                "map", f"must be an object, not {type(data).__name__}"
            )
        _refuse_unknown(data, _MAP_KEYS, "")
        table = _choice(data.get("table", "input"), RegisterTable, "table")
        raw_registers = data.get("registers")
        if not isinstance(raw_registers, Mapping):
            raise InvalidRegisterMapError(
                "registers",
                "must be an object of quantity name to register, "
                f"not {type(raw_registers).__name__}",
            )
        specs = [
            _register_from_mapping(name, value) for name, value in raw_registers.items()
        ]
        return cls(
            name=data.get("name", ""),
            registers=tuple(specs),
            table=table,
            word_order=data.get("word_order", "big"),
            max_block=data.get("max_block", MAX_BLOCK),
            max_gap=data.get("max_gap", DEFAULT_MAX_GAP),
        )


def _is_int(value: object) -> bool:
    """Tell whether a value is an integer, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    """Tell whether a value is an int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _refuse_unknown(data: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    """Raise for the first key of ``data`` that is not in ``known``."""
    for key in data:
        if key not in known:
            raise InvalidRegisterMapError(
                f"{where}{key}",
                f"unknown field (known: {', '.join(sorted(known))})",
            )


def _choice[EnumT: StrEnum](value: object, kind: type[EnumT], where: str) -> EnumT:
    """Return the member of a string enum named by ``value``."""
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    raise InvalidRegisterMapError(
        where, f"must be one of {', '.join(kind)}, not {value!r}"
    )


def _register_from_mapping(name: object, value: object) -> RegisterSpec:
    """Read one ``registers`` entry of a mapping."""
    where = f"registers.{name}"
    quantity = _choice(name, Quantity, where)
    if not isinstance(value, Mapping):
        raise InvalidRegisterMapError(
            where, f"must be an object, not {type(value).__name__}"
        )
    _refuse_unknown(value, _REGISTER_KEYS, f"{where}.")
    if "address" not in value:
        raise InvalidRegisterMapError(f"{where}.address", "is missing")
    return RegisterSpec(
        quantity=quantity,
        address=value["address"],
        data_type=_choice(value.get("type", "float32"), DataType, f"{where}.type"),
        scale=value.get("scale", 1.0),
    )


def _float32_map(
    name: str,
    registers: Mapping[Quantity, tuple[int, float]],
    *,
    max_gap: int,
) -> RegisterMap:
    """Build a built-in map of big-endian float32 input registers."""
    return RegisterMap(
        name=name,
        registers=tuple(
            RegisterSpec(quantity, address, DataType.FLOAT32, scale)
            for quantity, (address, scale) in registers.items()
        ),
        max_gap=max_gap,
    )


# Chint DTSU666: FC04, float32, big-endian words. Addresses and raw units of
# 0x2006-0x2044 and 0x4000 follow OpenEMS' MeterChintDtsu666Impl (formats
# only, EPL-2.0) and agree with the register lists of the DTSU666 emulator by
# michielfromNL and the gerontec/dtsu666 README. Export at 0x400A assumes the
# 0x4000 block has the layout of the 0x401E "current" block those sources
# list (import, A, B, C, net, then export 10 registers on): unverified on a
# device. Meters whose firmware only has 0x401E/0x4028 can be described as
# data. max_gap 32 lets one request span 0x2006-0x2045 across the reactive,
# apparent-power and unassigned registers up to the frequency.
_DTSU666: Final = _float32_map(
    "dtsu666",
    {
        Quantity.VOLTAGE_L1: (0x2006, 0.1),
        Quantity.VOLTAGE_L2: (0x2008, 0.1),
        Quantity.VOLTAGE_L3: (0x200A, 0.1),
        Quantity.CURRENT_L1: (0x200C, 0.001),
        Quantity.CURRENT_L2: (0x200E, 0.001),
        Quantity.CURRENT_L3: (0x2010, 0.001),
        Quantity.POWER: (0x2012, 0.1),
        Quantity.POWER_L1: (0x2014, 0.1),
        Quantity.POWER_L2: (0x2016, 0.1),
        Quantity.POWER_L3: (0x2018, 0.1),
        Quantity.POWER_FACTOR: (0x202A, 0.001),
        Quantity.FREQUENCY: (0x2044, 0.01),
        Quantity.ENERGY_IMPORT: (0x4000, 1.0),
        Quantity.ENERGY_EXPORT: (0x400A, 1.0),
    },
    max_gap=32,
)

# Eastron SDM630 (v2 and MID): FC04, float32, big-endian words, SI units
# (parameter n of Eastron's table is input register 3000n, address 2(n-1)).
# Sources: the SDM630 defines in merlokk/SmartHome lib/eastron.h (from
# beireken/SDM220t), spjakob/ha-modbus_devices and nmakel/sdm_modbus.
# The registers between 18 and 51 (apparent and reactive power, per-phase
# power factors, angles, averages) are defined too, so one request of 76
# registers reads the whole map; max_gap 40 allows it.
_SDM630: Final = _float32_map(
    "sdm630",
    {
        Quantity.VOLTAGE_L1: (0, 1.0),
        Quantity.VOLTAGE_L2: (2, 1.0),
        Quantity.VOLTAGE_L3: (4, 1.0),
        Quantity.CURRENT_L1: (6, 1.0),
        Quantity.CURRENT_L2: (8, 1.0),
        Quantity.CURRENT_L3: (10, 1.0),
        Quantity.POWER_L1: (12, 1.0),
        Quantity.POWER_L2: (14, 1.0),
        Quantity.POWER_L3: (16, 1.0),
        Quantity.POWER: (52, 1.0),
        Quantity.POWER_FACTOR: (62, 1.0),
        Quantity.FREQUENCY: (70, 1.0),
        Quantity.ENERGY_IMPORT: (72, 1.0),
        Quantity.ENERGY_EXPORT: (74, 1.0),
    },
    max_gap=40,
)

REGISTER_MAPS: Final[Mapping[str, RegisterMap]] = MappingProxyType(
    {"dtsu666": _DTSU666, "sdm630": _SDM630}
)


@dataclass(frozen=True, slots=True)
class MeterReading:
    """Hold one poll: the scaled values and how many Modbus requests it took.

    Quantities the meter sent as NaN or infinity are left out of ``values``.
    """

    values: Mapping[Quantity, float]
    requests: int


type _Reader = Callable[..., Awaitable[ModbusPDU]]


class MeterClient:
    """Poll one meter over Modbus TCP; connect on demand, reconnect after failures.

    Each request waits at most ``timeout`` seconds and is sent once: a dead
    meter costs one timeout per poll, not one per retry. After a failure to
    connect, a timeout or a lost connection the client closes, and the next
    ``read`` connects afresh; pymodbus' background reconnect is off. Polls are
    serialised: a second ``read`` waits for the first.
    """

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        unit_id: int = 1,
        register_map: RegisterMap = REGISTER_MAPS["dtsu666"],
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Remember where the meter is and which map it speaks; connect nothing yet."""
        if not _is_int(unit_id) or not 0 <= unit_id <= MAX_UNIT_ID:
            raise ValueError(f"unit_id must be 0..{MAX_UNIT_ID}, not {unit_id!r}")
        if not _is_number(timeout) or not 0 < timeout < math.inf:
            raise ValueError(f"timeout must be a positive number, not {timeout!r}")
        self.host = host
        self.port = port
        self.unit_id = unit_id
        self.register_map = register_map
        self.timeout = float(timeout)
        self._blocks = register_map.blocks()
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()
        # The task waiting for a reply, so a lost connection can wake it, and
        # the task this client cancelled for that (to tell its cancel apart).
        self._waiting: asyncio.Task[Any] | None = None
        self._cancelled: asyncio.Task[Any] | None = None
        self._connecting: AsyncModbusTcpClient | None = None

    def __repr__(self) -> str:
        """Name the meter by address, unit id and map."""
        return (
            f"MeterClient({self.host}:{self.port}, unit {self.unit_id}, "
            f"{self.register_map.name})"
        )

    async def __aenter__(self) -> Self:
        """Return the client; it connects on the first read."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the connection."""
        await self.close()

    @property
    def connected(self) -> bool:
        """Tell whether a connection to the meter is open now."""
        return self._client is not None and self._client.connected

    async def close(self) -> None:
        """Close the connection; a read waiting for a reply fails at once."""
        self._drop_connection()

    async def read(self) -> MeterReading:
        """Read every register of the map and return the scaled values.

        Raise ``MeterConnectionError`` when the meter cannot be reached or
        does not answer in time, and ``MeterResponseError`` when it answers
        with a Modbus exception or a response of the wrong length.
        """
        async with self._lock:
            client = await self._connection()
            values: dict[Quantity, float] = {}
            for block in self._blocks:
                registers = await self._read_block(client, block)
                _decode(block, registers, self.register_map.word_order, values)
            return MeterReading(MappingProxyType(values), len(self._blocks))

    async def _connection(self) -> AsyncModbusTcpClient:
        """Return the open connection, or open one."""
        client = self._client
        if client is not None and client.connected:
            return client
        self._drop_connection()
        client = AsyncModbusTcpClient(
            self.host,
            port=self.port,
            name=f"meter {self.host}:{self.port}",
            # 0: no background reconnect loop; the next read reconnects.
            reconnect_delay=0,
            timeout=self.timeout + _PYMODBUS_TIMEOUT_MARGIN,
            retries=0,
            trace_connect=self._connection_changed,
        )
        self._client = self._connecting = client
        problem = ""
        try:
            async with asyncio.timeout(self.timeout):
                connected = await client.connect()
        except TimeoutError:
            connected, problem = False, f" within {self.timeout:g} s"
        finally:
            self._connecting = None
            # close() ran while the connection was being opened; it left the
            # closing to us, as pymodbus ignores a close before connect ends.
            if orphaned := self._client is not client:
                client.close()
        if orphaned:
            raise MeterConnectionError(f"{self} was closed while connecting")
        if not connected:
            self._drop_connection()
            raise MeterConnectionError(
                f"cannot connect to {self.host}:{self.port}{problem}"
            )
        return client

    def _connection_changed(self, connected: bool) -> None:
        """Wake the read waiting for a reply when the meter drops the connection.

        pymodbus calls this with False only when the other side closes or
        resets the connection, never for our own ``close``.
        """
        if not connected:
            self._interrupt()

    def _interrupt(self) -> None:
        """Cancel the read waiting for a reply, marking the cancel as ours."""
        if (task := self._waiting) is not None and self._cancelled is None:
            self._cancelled = task
            task.cancel()

    def _drop_connection(self) -> None:
        """Close the pymodbus client, if any, and fail the read waiting on it."""
        self._interrupt()
        client, self._client = self._client, None
        # A client still connecting is closed by _connection once it is done.
        if client is not None and client is not self._connecting:
            client.close()

    async def _read_block(
        self, client: AsyncModbusTcpClient, block: ReadBlock
    ) -> list[int]:
        """Send one read request and return its registers."""
        reader: _Reader = (
            client.read_input_registers
            if self.register_map.table is RegisterTable.INPUT
            else client.read_holding_registers
        )
        self._waiting = asyncio.current_task()
        deadline = asyncio.timeout(self.timeout)
        try:
            async with deadline:
                response = await reader(
                    block.start, count=block.count, device_id=self.unit_id
                )
        except (ModbusException, TimeoutError, asyncio.CancelledError) as error:
            self._request_failed(error, block, expired=deadline.expired())
        finally:
            self._waiting = None
        if response.isError():
            code = response.exception_code
            raise MeterResponseError(
                f"{self} answered {_describe_block(block, self.register_map)} "
                f"with Modbus exception {code} ({_EXCEPTION_NAMES.get(code, 'unknown')})",
                code,
            )
        registers = list(response.registers)
        if len(registers) != block.count:
            # Out of step with the device: start the next poll afresh.
            self._drop_connection()
            raise MeterResponseError(
                f"{self} sent {len(registers)} registers for "
                f"{_describe_block(block, self.register_map)}"
            )
        return registers

    def _request_failed(
        self, error: BaseException, block: ReadBlock, *, expired: bool
    ) -> NoReturn:
        """Turn a failed request into the right error, closing the connection.

        pymodbus turns a cancellation inside a request into a
        ``ModbusIOException``; a cancel from outside (the task's own
        ``cancelling()`` count) is re-raised as the cancellation it was.
        """
        self._waiting = None
        cancelled, self._cancelled = self._cancelled, None
        if cancelled is not None:
            cancelled.uncancel()
        self._drop_connection()
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        what = _describe_block(block, self.register_map)
        if expired:
            raise MeterConnectionError(
                f"{self} did not answer {what} within {self.timeout:g} s"
            ) from None
        if cancelled is not None:
            raise MeterConnectionError(
                f"{self}: the connection closed during {what}"
            ) from None
        raise MeterConnectionError(f"{self}: {what} failed: {error}") from error


_EXCEPTION_NAMES: Final = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


def _describe_block(block: ReadBlock, register_map: RegisterMap) -> str:
    """Name a request for messages: table, first address and count."""
    return f"{register_map.table} registers {block.start}+{block.count}"


def _decode(
    block: ReadBlock,
    registers: list[int],
    word_order: Literal["big", "little"],
    values: dict[Quantity, float],
) -> None:
    """Decode and scale every value of a block into ``values``; skip NaN and inf."""
    for spec in block.registers:
        offset = spec.address - block.start
        raw = AsyncModbusTcpClient.convert_from_registers(
            registers[offset : offset + spec.data_type.width],
            _PYMODBUS_TYPES[spec.data_type],
            word_order,
        )
        if isinstance(raw, int | float) and math.isfinite(value := raw * spec.scale):
            values[spec.quantity] = value
