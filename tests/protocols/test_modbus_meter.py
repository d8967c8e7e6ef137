"""Test the Modbus power-meter client: register maps, decoding and failure modes.

Register maps are checked as data. The client is tested three ways: against a
small pymodbus server in this process whose registers the test writes itself
(with the standard library's struct, so a codec bug cannot cancel out), against
raw asyncio servers that misbehave on purpose (never answer, hang up), and
against the simulator's meters over loopback.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import json
import math
from pathlib import Path
import struct
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType, SimData, SimDevice
import pytest

from custom_components.smart_community.protocols.modbus_meter import (
    DEFAULT_POLL_SECONDS,
    DEFAULT_PORT,
    QUANTITY_UNITS,
    REGISTER_MAPS,
    DataType,
    InvalidRegisterMapError,
    MeterClient,
    MeterConnectionError,
    MeterError,
    MeterReading,
    MeterResponseError,
    Quantity,
    ReadBlock,
    RegisterMap,
    RegisterSpec,
    RegisterTable,
)
from tests.simulator_harness import SimulatorProcess, StartSimulator

DTSU666 = REGISTER_MAPS["dtsu666"]
SDM630 = REGISTER_MAPS["sdm630"]
HOST = "127.0.0.1"
FAST_TIMEOUT = 0.5


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Skip Home Assistant: the protocol client needs none."""


def valid_map(**registers: Any) -> dict[str, Any]:
    """Return a map as data with a voltage register plus ``registers``."""
    return {
        "name": "test",
        "registers": {"voltage_l1": {"address": 0}, **registers},
    }


# --- register maps ---------------------------------------------------------------


def test_built_in_maps_take_two_and_one_requests() -> None:
    """DTSU666 needs a second request for the energy at 0x4000; SDM630 needs one."""
    assert DTSU666.blocks() == (
        ReadBlock(0x2006, 64, DTSU666.registers[:12]),
        ReadBlock(0x4000, 12, DTSU666.registers[12:]),
    )
    assert [spec.quantity for spec in DTSU666.blocks()[1].registers] == [
        Quantity.ENERGY_IMPORT,
        Quantity.ENERGY_EXPORT,
    ]
    assert SDM630.blocks() == (ReadBlock(0, 76, SDM630.registers),)
    for register_map in (DTSU666, SDM630):
        assert {spec.quantity for spec in register_map.registers} == set(Quantity)
        assert register_map.table is RegisterTable.INPUT
        assert all(
            spec.data_type is DataType.FLOAT32 for spec in register_map.registers
        )


def test_dtsu666_scales() -> None:
    """The DTSU666 sends tenths of volts and watts, milliamps and 0.01 Hz."""
    scales = {spec.quantity: spec.scale for spec in DTSU666.registers}
    assert scales[Quantity.VOLTAGE_L1] == 0.1
    assert scales[Quantity.CURRENT_L3] == 0.001
    assert scales[Quantity.POWER] == 0.1
    assert scales[Quantity.POWER_FACTOR] == 0.001
    assert scales[Quantity.FREQUENCY] == 0.01
    assert scales[Quantity.ENERGY_EXPORT] == 1.0


def test_units_and_constants() -> None:
    """Every quantity has a unit; the defaults are Modbus TCP's."""
    assert set(QUANTITY_UNITS) == set(Quantity)
    assert QUANTITY_UNITS[Quantity.POWER_FACTOR] is None
    assert QUANTITY_UNITS[Quantity.ENERGY_IMPORT] == "kWh"
    assert (DEFAULT_PORT, DEFAULT_POLL_SECONDS) == (502, 10)
    assert DataType.INT16.width == DataType.UINT16.width == 1
    assert DataType.FLOAT32.width == DataType.UINT32.width == 2


def test_blocks_respect_gap_and_size() -> None:
    """Registers split where a gap is too wide or a block would grow too big."""
    registers = {
        "voltage_l1": {"address": 10},
        "voltage_l2": {"address": 14},  # gap 2: same block
        "voltage_l3": {"address": 20},  # gap 4: too wide for max_gap 3
        "current_l1": {"address": 22, "type": "int16"},
        "current_l2": {"address": 23, "type": "uint16"},  # 20..23 is 4: full
        "current_l3": {"address": 24},
    }
    register_map = RegisterMap.from_mapping(
        {"name": "gappy", "max_gap": 3, "max_block": 4, "registers": registers}
    )
    assert [(block.start, block.count) for block in register_map.blocks()] == [
        (10, 2),
        (14, 2),
        (20, 4),
        (24, 2),
    ]
    # max_block 4 also split 10..15, whose gap alone would have been allowed.
    wide = RegisterMap.from_mapping({"name": "wide", "registers": registers})
    assert [(block.start, block.count) for block in wide.blocks()] == [(10, 16)]


def test_registers_are_sorted_by_address() -> None:
    """A map keeps its registers in address order, whatever order it was given."""
    register_map = RegisterMap(
        "reversed",
        (
            RegisterSpec(Quantity.POWER, 10),
            RegisterSpec(Quantity.FREQUENCY, 2, DataType.UINT16, 0.01),
        ),
    )
    assert [spec.address for spec in register_map.registers] == [2, 10]
    assert register_map.blocks()[0] == ReadBlock(2, 10, register_map.registers)


@pytest.mark.parametrize("register_map", [DTSU666, SDM630], ids=lambda m: m.name)
def test_built_in_maps_round_trip(register_map: RegisterMap) -> None:
    """to_mapping gives JSON-ready data that from_mapping turns back into the map."""
    data = register_map.to_mapping()
    assert json.loads(json.dumps(data)) == data
    assert RegisterMap.from_mapping(data) == register_map
    assert data["registers"]["power"]["type"] == "float32"


def test_custom_map_from_data() -> None:
    """A map described as data fills in the defaults and keeps what it was told."""
    register_map = RegisterMap.from_mapping(
        {
            "name": "my_meter",
            "table": "holding",
            "word_order": "little",
            "registers": {
                "voltage_l1": {"address": 0, "type": "uint16", "scale": 0.1},
                "power": {"address": 4, "type": "int32"},
                "energy_import": {"address": 8, "type": "uint32", "scale": 0.01},
            },
        }
    )
    assert register_map.table is RegisterTable.HOLDING
    assert register_map.word_order == "little"
    assert (register_map.max_block, register_map.max_gap) == (125, 16)
    assert register_map.registers[1] == RegisterSpec(Quantity.POWER, 4, DataType.INT32)
    assert RegisterMap.from_mapping(register_map.to_mapping()) == register_map


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        ([], "map", "must be an object"),
        ({**valid_map(), "colour": "red"}, "colour", "unknown field"),
        ({**valid_map(), "name": ""}, "name", "non-empty string"),
        ({"registers": {"power": {"address": 0}}}, "name", "non-empty string"),
        ({**valid_map(), "name": 7}, "name", "non-empty string"),
        ({**valid_map(), "table": "coils"}, "table", "must be one of input, holding"),
        ({**valid_map(), "table": 4}, "table", "must be one of"),
        ({**valid_map(), "word_order": "middle"}, "word_order", "big, little"),
        ({**valid_map(), "max_block": 0}, "max_block", "from 1 to 125"),
        ({**valid_map(), "max_block": 126}, "max_block", "from 1 to 125"),
        ({**valid_map(), "max_block": True}, "max_block", "from 1 to 125"),
        ({**valid_map(), "max_gap": -1}, "max_gap", ">= 0"),
        ({"name": "x"}, "registers", "must be an object"),
        ({"name": "x", "registers": []}, "registers", "must be an object"),
        ({"name": "x", "registers": {}}, "registers", "no registers"),
        (valid_map(watts={"address": 2}), "registers.watts", "must be one of"),
        (valid_map(power=5), "registers.power", "must be an object"),
        (valid_map(power={}), "registers.power.address", "is missing"),
        (
            valid_map(power={"address": 2, "unit": "W"}),
            "registers.power.unit",
            "unknown field",
        ),
        (valid_map(power={"address": -1}), "registers.power.address", "0 to 65534"),
        (valid_map(power={"address": 65535}), "registers.power.address", "0 to 65534"),
        (
            valid_map(power={"address": 65536, "type": "int16"}),
            "registers.power.address",
            "0 to 65535",
        ),
        (valid_map(power={"address": "2"}), "registers.power.address", "integer"),
        (valid_map(power={"address": 2.0}), "registers.power.address", "integer"),
        (valid_map(power={"address": True}), "registers.power.address", "integer"),
        (
            valid_map(power={"address": 2, "type": "float64"}),
            "registers.power.type",
            "must be one of float32",
        ),
        (
            valid_map(power={"address": 2, "type": None}),
            "registers.power.type",
            "must be one of",
        ),
        (
            valid_map(power={"address": 2, "scale": 0}),
            "registers.power.scale",
            "non-zero",
        ),
        (
            valid_map(power={"address": 2, "scale": math.inf}),
            "registers.power.scale",
            "finite",
        ),
        (
            valid_map(power={"address": 2, "scale": "1"}),
            "registers.power.scale",
            "number",
        ),
        (
            valid_map(power={"address": 2, "scale": False}),
            "registers.power.scale",
            "number",
        ),
        (
            valid_map(power={"address": 1}),
            "registers.power.address",
            "overlaps voltage_l1 (0-1)",
        ),
        (
            {**valid_map(power={"address": 2}), "max_block": 1},
            "registers.voltage_l1",
            "more than max_block (1)",
        ),
    ],
)
def test_invalid_maps_name_the_field(data: Any, field: str, problem: str) -> None:
    """Each kind of bad map data raises InvalidRegisterMapError naming its field."""
    with pytest.raises(InvalidRegisterMapError) as caught:
        RegisterMap.from_mapping(data)
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{field}: ")
    assert isinstance(caught.value, MeterError)


def test_invalid_maps_built_in_code() -> None:
    """Maps built in code are checked the same way, including duplicates."""
    voltage = RegisterSpec(Quantity.VOLTAGE_L1, 0)
    with pytest.raises(
        InvalidRegisterMapError, match=r"registers\.voltage_l1: .*twice"
    ):
        RegisterMap("dup", (voltage, RegisterSpec(Quantity.VOLTAGE_L1, 10)))
    with pytest.raises(InvalidRegisterMapError, match=r"^registers: the map has no"):
        RegisterMap("empty", ())
    with pytest.raises(InvalidRegisterMapError, match=r"^table: "):
        RegisterMap("t", (voltage,), table="input")  # type: ignore[arg-type]
    with pytest.raises(InvalidRegisterMapError, match=r"^registers: unknown quantity"):
        RegisterSpec("volts", 0)  # type: ignore[arg-type]
    with pytest.raises(InvalidRegisterMapError, match=r"^registers\.power\.type: "):
        RegisterSpec(Quantity.POWER, 0, "float32")  # type: ignore[arg-type]


def test_client_refuses_bad_settings() -> None:
    """Unit ids outside 0-255 and non-positive timeouts are programming errors."""
    with pytest.raises(ValueError, match="unit_id"):
        MeterClient(HOST, unit_id=256)
    with pytest.raises(ValueError, match="unit_id"):
        MeterClient(HOST, unit_id=True)
    with pytest.raises(ValueError, match="timeout"):
        MeterClient(HOST, timeout=0)
    client = MeterClient(HOST)
    assert client.register_map is DTSU666
    assert (client.port, client.unit_id, client.timeout) == (502, 1, 3.0)
    assert repr(client) == "MeterClient(127.0.0.1:502, unit 1, dtsu666)"


def is_connected(client: MeterClient) -> bool:
    """Return ``client.connected`` (a call, so type checkers do not narrow it)."""
    return client.connected


# --- an in-process meter whose registers the test writes --------------------------


def words(fmt: str, value: float, *, little: bool = False) -> list[int]:
    """Encode a value with struct into 16-bit registers, high word first."""
    data = struct.pack(f">{fmt}", value)
    registers = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return registers[::-1] if little else registers


# Big-endian words from 100 on, the same values with little-endian words from 200.
VALUES: list[tuple[str, str, float]] = [
    ("int16", "h", -5),
    ("uint16", "H", 65000),
    ("int32", "i", -100_000),
    ("uint32", "I", 4_000_000_000),
    ("float32", "f", 2305.0),
    ("float32", "f", math.nan),
    ("float32", "f", -math.inf),
]
QUANTITIES = [
    Quantity.POWER_L1,
    Quantity.VOLTAGE_L1,
    Quantity.POWER,
    Quantity.ENERGY_IMPORT,
    Quantity.VOLTAGE_L2,
    Quantity.FREQUENCY,
    Quantity.POWER_FACTOR,
]


def image(start: int, *, little: bool) -> tuple[list[int], dict[str, Any]]:
    """Return the registers of VALUES from ``start`` and a map that reads them."""
    registers: list[int] = []
    specs: dict[str, Any] = {}
    for quantity, (type_name, fmt, value) in zip(QUANTITIES, VALUES, strict=True):
        specs[str(quantity)] = {
            "address": start + len(registers),
            "type": type_name,
            "scale": 0.1 if quantity is Quantity.VOLTAGE_L2 else 1,
        }
        registers += words(fmt, value, little=little)
    return registers, specs


class FakeMeter:
    """Serve fixed registers at 100 (big-endian words) and 200 (little-endian)."""

    def __init__(self) -> None:
        """Lay out the registers; nothing listens until ``start``."""
        self.big, self.big_specs = image(100, little=False)
        self.little, self.little_specs = image(200, little=True)
        self.port = 0
        self.server: ModbusTcpServer | None = None
        # Drop this many registers from the next response (a broken device).
        self.short_by = 0

    async def start(self) -> None:
        """Listen on a free loopback port."""
        device = SimDevice(
            1,
            simdata=[
                SimData(100, values=self.big, datatype=SimType.UINT16),
                SimData(200, values=self.little, datatype=SimType.UINT16),
            ],
        )
        self.server = ModbusTcpServer(
            device, address=(HOST, 0), trace_packet=self.trace_packet
        )
        await self.server.serve_forever(background=True)
        listener = self.server.transport
        assert isinstance(listener, asyncio.Server)
        self.port = listener.sockets[0].getsockname()[1]

    def trace_packet(self, sending: bool, packet: bytes) -> bytes:
        """Cut registers off a response when told to (MBAP length, byte count)."""
        if not sending or not self.short_by:
            return packet
        cut = 2 * self.short_by
        self.short_by = 0
        length = int.from_bytes(packet[4:6], "big") - cut
        body = packet[6:8] + bytes([packet[8] - cut]) + packet[9:-cut]
        return packet[:4] + length.to_bytes(2, "big") + body

    def client(self, *, little: bool = False, **kwargs: Any) -> MeterClient:
        """Return a client reading one of the two images."""
        specs = self.little_specs if little else self.big_specs
        register_map = RegisterMap.from_mapping(
            {
                "name": "little" if little else "big",
                "table": "holding",
                "word_order": "little" if little else "big",
                "registers": specs,
            }
        )
        return MeterClient(HOST, self.port, 1, register_map, **kwargs)

    def stop(self) -> None:
        """Close the port."""
        if self.server is not None:
            self.server.close()


@pytest.fixture
async def fake_meter(socket_enabled: None) -> AsyncIterator[FakeMeter]:
    """Run a FakeMeter for one test."""
    meter = FakeMeter()
    await meter.start()
    yield meter
    meter.stop()


@pytest.mark.parametrize("little", [False, True], ids=["big", "little"])
async def test_decodes_every_type_in_both_word_orders(
    fake_meter: FakeMeter, little: bool
) -> None:
    """Integers and floats decode in either word order; NaN and inf are left out."""
    async with fake_meter.client(little=little) as client:
        assert not client.connected
        reading = await client.read()
        assert is_connected(client)
    assert not client.connected
    assert reading.requests == 1
    # 2305 tenths of a volt; NaN frequency and -inf power factor are left out.
    assert reading.values == {
        Quantity.POWER_L1: -5,
        Quantity.VOLTAGE_L1: 65000,
        Quantity.POWER: -100_000,
        Quantity.ENERGY_IMPORT: 4_000_000_000,
        Quantity.VOLTAGE_L2: pytest.approx(230.5),
    }


async def test_short_response_is_a_response_error(fake_meter: FakeMeter) -> None:
    """A response with too few registers fails the poll; the next one reconnects."""
    client = fake_meter.client()
    await client.read()
    fake_meter.short_by = 2
    with pytest.raises(
        MeterResponseError, match=r"sent 10 registers for holding registers 100\+12"
    ) as caught:
        await client.read()
    assert caught.value.exception_code is None
    assert not client.connected
    assert (await client.read()).requests == 1
    await client.close()


async def test_illegal_address_is_a_response_error(fake_meter: FakeMeter) -> None:
    """Reading registers the device does not have gives exception 2."""
    register_map = RegisterMap.from_mapping(
        {"name": "nowhere", "registers": {"power": {"address": 5000}}}
    )
    async with MeterClient(HOST, fake_meter.port, 1, register_map) as client:
        with pytest.raises(MeterResponseError, match="illegal data address") as caught:
            await client.read()
        assert caught.value.exception_code == 2
        # An exception response leaves the connection usable.
        assert client.connected


# --- raw servers that misbehave ----------------------------------------------------


type Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def raw_server(
    socket_enabled: None,
) -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    """Start raw TCP servers with a given connection handler; return their port."""
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> int:
        """Listen on a free port with ``handler``."""
        server = await asyncio.start_server(handler, HOST, 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()
        server.close_clients()
        await server.wait_closed()


def never_answer(
    received: asyncio.Event | None = None, requests: list[bytes] | None = None
) -> Handler:
    """Return a handler that reads requests, sets ``received``, and never answers."""

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Swallow requests (keeping them in ``requests``) until the client hangs up."""
        while chunk := await reader.read(1024):
            if requests is not None:
                requests.append(chunk)
            if received is not None:
                received.set()
        writer.close()

    return handle


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Close the connection as soon as a request arrives."""
    await reader.read(1024)
    writer.close()


async def test_silent_device_times_out_once(
    raw_server: Callable[[Handler], Awaitable[int]],
) -> None:
    """A device that never answers costs one timeout per poll, then a reconnect."""
    requests: list[bytes] = []
    port = await raw_server(never_answer(requests=requests))
    client = MeterClient(HOST, port, timeout=0.3)
    with pytest.raises(MeterConnectionError, match=r"did not answer .* within 0\.3 s"):
        await client.read()
    # One request, not retried: a dead meter costs one timeout per poll.
    assert len(requests) == 1
    assert not client.connected


async def test_hang_up_during_request(
    raw_server: Callable[[Handler], Awaitable[int]],
) -> None:
    """A device that closes the connection mid-request fails the poll at once."""
    port = await raw_server(hang_up)
    client = MeterClient(HOST, port, timeout=30)
    # The hang-up is the error, not the 30 s timeout running out.
    with pytest.raises(MeterConnectionError, match="connection closed during"):
        await client.read()
    assert not client.connected


async def test_cancelled_read_stays_cancelled(
    raw_server: Callable[[Handler], Awaitable[int]],
) -> None:
    """Cancelling a read raises CancelledError (pymodbus would hide it) and closes."""
    received = asyncio.Event()
    port = await raw_server(never_answer(received))
    client = MeterClient(HOST, port, timeout=5)
    task = asyncio.create_task(client.read())
    await received.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not client.connected


async def test_close_during_read(
    raw_server: Callable[[Handler], Awaitable[int]],
) -> None:
    """close() fails a read waiting for its reply at once."""
    received = asyncio.Event()
    port = await raw_server(never_answer(received))
    client = MeterClient(HOST, port, timeout=5)
    task = asyncio.create_task(client.read())
    await received.wait()
    await client.close()
    with pytest.raises(MeterConnectionError, match="connection closed during"):
        await task


async def test_close_during_connect(
    raw_server: Callable[[Handler], Awaitable[int]],
) -> None:
    """close() while connecting leaves no connection behind."""
    port = await raw_server(never_answer())
    client = MeterClient(HOST, port, timeout=5)
    task = asyncio.create_task(client.read())
    # pymodbus' connect() sleeps 0.1 s once connected.
    await asyncio.sleep(0.05)
    await client.close()
    with pytest.raises(MeterConnectionError, match="closed while connecting"):
        await task
    assert not client.connected


async def test_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connect that does not finish in time is a connection error."""

    async def never_connect(self: AsyncModbusTcpClient) -> bool:
        await asyncio.sleep(10)
        return True

    monkeypatch.setattr(AsyncModbusTcpClient, "connect", never_connect)
    client = MeterClient(HOST, 1502, timeout=0.1)
    with pytest.raises(MeterConnectionError, match=r"cannot connect .* within 0\.1 s"):
        await client.read()
    assert not client.connected


async def test_pymodbus_failure_is_a_connection_error(
    fake_meter: FakeMeter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any other pymodbus failure of a request closes and reports the connection."""

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise ModbusIOException("wires crossed")  # type: ignore[no-untyped-call]

    client = fake_meter.client()
    monkeypatch.setattr(AsyncModbusTcpClient, "read_holding_registers", broken)
    with pytest.raises(MeterConnectionError, match="wires crossed"):
        await client.read()
    assert not client.connected


# --- the simulator's meters --------------------------------------------------------


def write_scenario(tmp_path: Path, **extra_options: Any) -> Path:
    """Write a scenario with a DTSU666 (unit 1) and an SDM630 (unit 3) meter."""
    options = {"update_seconds": 0.1, "initial_energy_kwh": 100, **extra_options}
    document = {
        "community": {"name": "电表苑"},
        "buildings": [
            {"id": "1", "name": "1号楼", "units": 1, "floors": 6, "rooms_per_floor": 2}
        ],
        "devices": [
            {
                "id": "meter-dtsu",
                "kind": "power_meter",
                "building": "1",
                "name": "1号楼 总电表",
                "options": {"register_map": "dtsu666", **options},
            },
            {
                "id": "meter-sdm",
                "kind": "power_meter",
                "building": "1",
                "name": "1号楼 公共照明",
                "options": {"register_map": "sdm630", "unit_id": 3, **options},
            },
        ],
    }
    path = tmp_path / "meters.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def sim(start_simulator: StartSimulator, tmp_path: Path) -> SimulatorProcess:
    """Run the two-meter scenario."""
    return start_simulator(write_scenario(tmp_path))


def client_for(sim: SimulatorProcess, device_id: str, **kwargs: Any) -> MeterClient:
    """Return a client for a simulated meter, as its description says."""
    device = sim.device(device_id)
    kwargs.setdefault("unit_id", device["unit_id"])
    kwargs.setdefault("register_map", REGISTER_MAPS[device["register_map"]])
    kwargs.setdefault("timeout", FAST_TIMEOUT)
    return MeterClient(device["host"], device["port"], **kwargs)


def assert_matches_state(reading: MeterReading, state: dict[str, Any]) -> None:
    """Check a reading against the simulator's values, allowing a tick between."""
    values = reading.values
    assert set(values) == set(Quantity)
    tolerances = {"voltage": 1.0, "current": 0.5, "power_factor": 0.01}
    for quantity, value in values.items():
        expected = state[str(quantity)]
        if quantity in (Quantity.POWER, Quantity.ENERGY_EXPORT):
            assert value == pytest.approx(expected, rel=1e-6), quantity
        elif quantity in (Quantity.FREQUENCY, Quantity.ENERGY_IMPORT):
            assert value == pytest.approx(expected, abs=0.01), quantity
        else:
            kind = str(quantity).rsplit("_l", 1)[0]
            tolerance = tolerances.get(kind, 0.02 * abs(expected) + 1)
            assert value == pytest.approx(expected, abs=tolerance), quantity


async def test_reads_both_maps_from_the_simulator(sim: SimulatorProcess) -> None:
    """Both meters read in 2 and 1 requests, plausibly and as the simulator says."""
    for device_id, watts, requests in (
        ("meter-dtsu", 30_000.5, 2),
        ("meter-sdm", 12_345.0, 1),
    ):
        state = await sim.action(device_id, "set_load", {"watts": watts})
        assert state["load_target_watts"] == watts
        async with client_for(sim, device_id) as client:
            first = await client.read()
            assert first.requests == requests
            assert first.values[Quantity.POWER] == pytest.approx(watts, rel=1e-6)
            assert_matches_state(first, (await sim.snapshot(device_id))["state"])
            values = first.values
            phases = (1, 2, 3)
            voltages = [values[Quantity(f"voltage_l{p}")] for p in phases]
            currents = [values[Quantity(f"current_l{p}")] for p in phases]
            powers = [values[Quantity(f"power_l{p}")] for p in phases]
            assert all(225 <= volts <= 235 for volts in voltages)
            assert all(amps > 0 for amps in currents)
            assert sum(powers) == pytest.approx(watts, rel=1e-4)
            # One request holds one instant: total PF = P / sum(V x I).
            assert 0.85 <= values[Quantity.POWER_FACTOR] <= 0.98
            apparent = sum(v * i for v, i in zip(voltages, currents, strict=True))
            assert values[Quantity.POWER] / apparent == pytest.approx(
                values[Quantity.POWER_FACTOR], rel=1e-3
            )
            assert 49.95 <= values[Quantity.FREQUENCY] <= 50.05
            # Energy goes up between polls: ~30 kW for 0.3 s is ~2.5 Wh.
            await asyncio.sleep(0.3)
            second = await client.read()
            assert (
                second.values[Quantity.ENERGY_IMPORT]
                > first.values[Quantity.ENERGY_IMPORT]
            )
            assert second.values[Quantity.ENERGY_EXPORT] == 0
        state = (await sim.snapshot(device_id))["state"]
        assert state["requests"] == 2 * requests


async def test_wrong_unit_id_and_custom_map(sim: SimulatorProcess) -> None:
    """A unit id nobody answers to gets 0x0B; a custom holding-table map reads."""
    # The simulator answers for absent units as a gateway does: exception 0x0B,
    # at once and every time, so this is a MeterResponseError, not a timeout.
    async with client_for(sim, "meter-sdm", unit_id=1) as client:
        with pytest.raises(MeterResponseError, match="exception 11") as caught:
            await client.read()
        assert caught.value.exception_code == 11
        assert client.connected
    state = (await sim.snapshot("meter-sdm"))["state"]
    assert (state["requests"], state["foreign_requests"]) == (0, 1)

    # The SDM630 described as data, read from the holding table (the simulator
    # answers FC03 from the same registers) reads what the input table holds.
    data = SDM630.to_mapping() | {"name": "sdm630_holding", "table": "holding"}
    holding = RegisterMap.from_mapping(data)
    assert holding.table is RegisterTable.HOLDING
    await sim.action("meter-sdm", "set_load", {"watts": 5_000})
    async with (
        client_for(sim, "meter-sdm", register_map=holding) as by_holding,
        client_for(sim, "meter-sdm") as by_input,
    ):
        from_holding = await by_holding.read()
        from_input = await by_input.read()
    assert from_holding.values[Quantity.POWER] == 5_000
    assert from_holding.values[Quantity.POWER] == from_input.values[Quantity.POWER]
    assert from_holding.values.keys() == from_input.values.keys()


async def test_dead_meters(sim: SimulatorProcess) -> None:
    """Offline: refused, then back after online. Frozen: one timeout, then back."""
    offline = client_for(sim, "meter-dtsu")
    frozen = client_for(sim, "meter-sdm")
    await offline.read()
    await frozen.read()

    state = await sim.action("meter-dtsu", "offline")
    assert state["online"] is False
    # Whether the client has seen its connection close yet is a race with the
    # meter's shutdown; either way the read fails as a connection error.
    with pytest.raises(MeterConnectionError, match=r"cannot connect|connection closed"):
        await offline.read()
    assert not offline.connected
    await sim.action("meter-dtsu", "online")
    assert (await offline.read()).requests == 2
    assert is_connected(offline)
    # A connection the meter dropped between polls is noticed and replaced.
    await sim.action("meter-dtsu", "offline")
    await sim.action("meter-dtsu", "online")
    assert (await offline.read()).requests == 2
    await offline.close()

    await sim.action("meter-sdm", "freeze")
    with pytest.raises(MeterConnectionError, match=r"within 0\.5 s"):
        await frozen.read()
    assert not frozen.connected
    await sim.action("meter-sdm", "thaw")
    assert (await frozen.read()).requests == 1
    await frozen.close()
