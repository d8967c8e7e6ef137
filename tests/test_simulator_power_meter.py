"""Test the simulated Modbus power meter with a plain pymodbus client.

The simulator runs as a subprocess from a scenario written into ``tmp_path``;
registers are decoded here with the standard library's struct, not with the
integration's client, so that a codec bug cannot cancel out on both sides.
The load model, the register layouts and the options are tested in-process.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import json
from pathlib import Path
import random
import struct
import time
from typing import Any, Final

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException
import pytest

from simulator.devices.meter.load import LoadModel, daily_profile
from simulator.devices.meter.registers import (
    DTSU666,
    SDM630,
    MeterLayout,
    MeterRegister,
)
from simulator.devices.power_meter import PowerMeter
from simulator.scenario import load_scenario, parse_scenario
from tests.simulator_harness import (
    SimulatorProcess,
    SimulatorRequestError,
    StartSimulator,
)

DTSU: Final = "meter-dtsu"
SDM: Final = "meter-sdm"
# The SDM630 sits at unit 5 behind a gateway that ignores other unit ids.
SDM_UNIT: Final = 5
TIMEOUT: Final = 0.3


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Skip Home Assistant: only the simulator runs here."""


def scenario_document(**sdm_options: Any) -> dict[str, Any]:
    """Return a scenario with a DTSU666 at unit 1 and an SDM630 at unit 5."""
    common = {"update_seconds": 0.1, "initial_energy_kwh": 100}
    return {
        "community": {"name": "电表苑"},
        "buildings": [
            {"id": "1", "name": "1号楼", "units": 2, "floors": 18, "rooms_per_floor": 2}
        ],
        "devices": [
            {
                "id": DTSU,
                "kind": "power_meter",
                "building": "1",
                "name": "1号楼 总电表",
                "options": {"register_map": "dtsu666", **common},
            },
            {
                "id": SDM,
                "kind": "power_meter",
                "building": None,
                "name": "地库 电表",
                "options": {
                    "register_map": "sdm630",
                    "unit_id": SDM_UNIT,
                    "foreign_unit": "silent",
                    **common,
                    **sdm_options,
                },
            },
        ],
    }


def write_scenario(tmp_path: Path, document: dict[str, Any]) -> Path:
    """Write a scenario document to a file."""
    path = tmp_path / "meters.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def sim(start_simulator: StartSimulator, tmp_path: Path) -> SimulatorProcess:
    """Run the two meters."""
    return start_simulator(write_scenario(tmp_path, scenario_document()))


@asynccontextmanager
async def modbus(
    sim: SimulatorProcess, device_id: str
) -> AsyncIterator[AsyncModbusTcpClient]:
    """Connect a plain pymodbus client to a simulated meter."""
    device = sim.device(device_id)
    client = AsyncModbusTcpClient(
        device["host"],
        port=device["port"],
        timeout=TIMEOUT,
        retries=0,
        reconnect_delay=0,
    )
    assert await client.connect()
    try:
        yield client
    finally:
        client.close()


def decode_float(registers: list[int]) -> float:
    """Decode a float32 sent high word first."""
    high, low = registers
    value: float = struct.unpack(">f", struct.pack(">HH", high, low))[0]
    return value


def as_float32(value: float) -> float:
    """Round a value to float32, as the meter stores it."""
    rounded: float = struct.unpack(">f", struct.pack(">f", value))[0]
    return rounded


async def read_float(
    client: AsyncModbusTcpClient, address: int, unit: int, *, holding: bool = False
) -> float:
    """Read one float32 from the input (or holding) registers."""
    read = client.read_holding_registers if holding else client.read_input_registers
    response = await read(address, count=2, device_id=unit)
    assert not response.isError(), response
    return decode_float(response.registers)


# --- over Modbus TCP -------------------------------------------------------------


async def test_registers_hold_raw_encodings(sim: SimulatorProcess) -> None:
    """DTSU666 registers hold 0.1 V / 0.1 W / 0.01 Hz units; SDM630 holds SI."""
    await sim.action(DTSU, "set_load", {"watts": 23_456.7})
    await sim.action(SDM, "set_load", {"watts": -1_500})
    async with modbus(sim, DTSU) as client:
        assert await read_float(client, 0x2012, 1) == as_float32(234_567.0)
        state = (await sim.snapshot(DTSU))["state"]
        volts = await read_float(client, 0x2006, 1)
        assert volts == pytest.approx(state["voltage_l1"] * 10, abs=10)
        assert 2250 <= volts <= 2350
        assert 4995 <= await read_float(client, 0x2044, 1) <= 5005
        assert 850 <= await read_float(client, 0x202A, 1) <= 980
        amps = await read_float(client, 0x200C, 1)
        assert amps == pytest.approx(state["current_l1"] * 1000, rel=0.05)
        # Energy in kWh at 0x4000, and again in the "current" block at 0x401E.
        block = await client.read_input_registers(0x4000, count=0x2A, device_id=1)
        energy = decode_float(block.registers[0:2])
        assert 100 <= energy < 101
        assert decode_float(block.registers[0x1E:0x20]) == energy
        assert decode_float(block.registers[0x0A:0x0C]) == 0
        assert decode_float(block.registers[0x28:0x2A]) == 0
        # FC03 answers from the same registers.
        assert await read_float(client, 0x2012, 1, holding=True) == as_float32(
            234_567.0
        )
        # The whole region reads in one request, unmodelled registers as 0.
        whole = await client.read_input_registers(0x2000, count=0x52, device_id=1)
        assert len(whole.registers) == 0x52
        assert whole.registers[:6] == [0] * 6
        assert decode_float(whole.registers[0x12:0x14]) == as_float32(234_567.0)
        # Outside the regions, writes and coils are refused as a meter does.
        outside = await client.read_input_registers(0x3000, count=2, device_id=1)
        assert outside.exception_code == 2
        write = await client.write_register(0x2006, 1, device_id=1)
        assert write.exception_code == 2
        coils = await client.read_coils(0x2006, count=8, device_id=1)
        assert coils.exception_code == 1
        # Another unit id gets the gateway's "target device failed to respond".
        foreign = await client.read_input_registers(0x2006, count=2, device_id=7)
        assert (foreign.isError(), foreign.exception_code) == (True, 11)

    async with modbus(sim, SDM) as client:
        assert await read_float(client, 52, SDM_UNIT) == -1_500
        state = (await sim.snapshot(SDM))["state"]
        assert await read_float(client, 0, SDM_UNIT) == pytest.approx(
            state["voltage_l1"], abs=1
        )
        assert await read_float(client, 70, SDM_UNIT) == pytest.approx(50, abs=0.05)
        # Exporting: the export register counts, the import register stands still.
        before = await client.read_input_registers(72, count=4, device_id=SDM_UNIT)
        await asyncio.sleep(0.3)
        after = await client.read_input_registers(72, count=4, device_id=SDM_UNIT)
        assert decode_float(after.registers[:2]) == decode_float(before.registers[:2])
        assert decode_float(after.registers[2:]) > decode_float(before.registers[2:])
        # This gateway ignores other unit ids: the request times out.
        with pytest.raises(ModbusIOException):
            await client.read_input_registers(0, count=2, device_id=1)

    dtsu = (await sim.snapshot(DTSU))["state"]
    counters = ("requests", "foreign_requests", "unanswered")
    assert [dtsu[key] for key in counters] == [11, 1, 0]
    sdm = (await sim.snapshot(SDM))["state"]
    assert [sdm[key] for key in counters] == [5, 0, 1]
    assert sdm["register_map"] == "sdm630"
    assert sdm["unit_id"] == SDM_UNIT
    assert sdm["power"] == -1_500
    assert sim.device(SDM)["protocol"] == "modbus-tcp"
    assert sim.device(SDM)["unit_id"] == SDM_UNIT


async def test_actions(sim: SimulatorProcess) -> None:
    """set_load, offline/online on the same port, freeze/thaw, bad parameters."""
    port = sim.device(DTSU)["port"]
    state = await sim.action(DTSU, "set_load", {"watts": 10_000})
    assert state["load_target_watts"] == 10_000
    assert state["power"] == 10_000
    state = await sim.action(DTSU, "set_load", {"watts": None})
    assert state["load_target_watts"] is None
    assert 0 < state["power"] < 200_000

    state = await sim.action(DTSU, "offline")
    assert state["online"] is False
    assert (await sim.action(DTSU, "offline"))["online"] is False
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=TIMEOUT, retries=0)
    assert not await client.connect()
    client.close()
    state = await sim.action(DTSU, "online")
    assert state["online"] is True
    assert (await sim.action(DTSU, "online"))["online"] is True
    assert (await sim.snapshot(DTSU))["port"] == port

    async with modbus(sim, DTSU) as client:
        assert await read_float(client, 0x2006, 1) > 2000
        state = await sim.action(DTSU, "freeze")
        assert state["frozen"] is True
        with pytest.raises(ModbusIOException):
            await client.read_input_registers(0x2006, count=2, device_id=1)
    state = await sim.action(DTSU, "thaw")
    assert (state["frozen"], state["unanswered"]) == (False, 1)
    async with modbus(sim, DTSU) as client:
        assert await read_float(client, 0x2006, 1) > 2000

    state = await sim.action(DTSU, "freeze", {"seconds": 0.2})
    assert state["frozen"] is True
    # A new freeze replaces the pending thaw.
    state = await sim.action(DTSU, "freeze", {"seconds": 0.2})
    started = time.monotonic()
    while (await sim.action(DTSU, "state"))["frozen"]:
        assert time.monotonic() - started < 5
    assert (await sim.action(DTSU, "thaw"))["frozen"] is False

    for action, params, status in (
        ("set_load", {}, 400),
        ("set_load", {"watts": "lots"}, 400),
        ("set_load", {"watts": True}, 400),
        ("set_load", {"watts": 1e12}, 400),
        ("set_load", {"watts": 1, "phase": 2}, 400),
        ("freeze", {"seconds": -1}, 400),
        ("freeze", {"minutes": 1}, 400),
        ("offline", {"now": True}, 400),
        ("reboot", {}, 404),
    ):
        with pytest.raises(SimulatorRequestError) as caught:
            await sim.action(DTSU, action, params)
        assert caught.value.status == status, (action, params)


# --- in-process: the model, the layouts, the options -------------------------------


def test_load_model_stays_in_its_bands() -> None:
    """Over a simulated day the values stay realistic and energy only goes up."""
    model = LoadModel(40_000, 1_000, random.Random("day"), hour=0)
    energy = model.values.energy_import
    powers = []
    for minute in range(0, 24 * 60, 5):
        values = model.step(300, hour=minute / 60)
        assert all(225 <= volts <= 235 for volts in values.voltage)
        assert all(0.85 <= factor <= 0.98 for factor in values.phase_power_factor)
        assert 0.85 <= values.power_factor <= 0.98
        assert 49.95 <= values.frequency <= 50.05
        assert sum(values.phase_power) == pytest.approx(values.power)
        for power, volts, amps, factor in zip(
            values.phase_power,
            values.voltage,
            values.current,
            values.phase_power_factor,
            strict=True,
        ):
            assert power == pytest.approx(volts * amps * factor)
        assert values.energy_import > energy
        energy = values.energy_import
        powers.append(values.power)
    # The evening peak is well above the night trough.
    assert max(powers) > 1.8 * min(powers)
    assert daily_profile(20) > 2 * daily_profile(3)
    # 24 h at an average near 0.6 x 40 kW is several hundred kWh.
    assert 300 < energy - 1_000 < 900


def test_fixed_load_integrates_exactly() -> None:
    """A fixed target integrates to import, or to export when negative."""
    model = LoadModel(20_000, 0, random.Random("fixed"), hour=12)
    model.target_watts = 36_000
    model.step(0, hour=12)
    values = model.step(100, hour=12)
    assert values.power == 36_000
    assert values.energy_import == pytest.approx(1.0)
    model.target_watts = -3_600
    model.step(0, hour=12)
    values = model.step(1000, hour=12)
    assert values.power == -3_600
    assert values.energy_export == pytest.approx(1.0)
    assert values.energy_import == pytest.approx(1.0)
    assert all(amps > 0 for amps in values.current)
    model.target_watts = 0
    values = model.step(1, hour=12)
    assert values.current == (0.0, 0.0, 0.0)
    assert values.power_factor == pytest.approx(sum(values.phase_power_factor) / 3)


def test_layouts_encode_raw_units() -> None:
    """The layouts put each value where, and in the unit, the vendor's table says."""
    model = LoadModel(20_000, 12_345.5, random.Random("layout"), hour=8)
    fields = model.values.fields()
    image = DTSU666.encode(fields)
    base = DTSU666.start
    assert base == 0x2000
    assert decode_float(image[0x2006 - base : 0x2008 - base]) == as_float32(
        fields["voltage_l1"] * 10
    )
    assert decode_float(image[0x200C - base : 0x200E - base]) == as_float32(
        fields["current_l1"] * 1000
    )
    assert decode_float(image[0x4000 - base : 0x4002 - base]) == as_float32(12_345.5)
    image = SDM630.encode(fields)
    assert decode_float(image[62:64]) == as_float32(fields["power_factor"])
    assert len(image) == 0x50
    with pytest.raises(ValueError, match="outside the answered regions"):
        MeterLayout("bad", ((0, 4),), (MeterRegister("power", 3),))


async def test_options_and_defaults() -> None:
    """Defaults follow the building; bad options are raised by start()."""
    scenario = load_scenario("demo")
    specs = {spec.id: spec for spec in scenario.devices}
    big = PowerMeter(specs["meter-1"], scenario)
    assert big.options.base_load_watts == 72 * 400
    assert big.options.update_seconds == 1.0
    assert 10_000 <= big.options.initial_energy_kwh <= 50_000
    small = PowerMeter(specs["meter-4"], scenario)
    assert small.options.base_load_watts == 20_000
    assert small.layout is SDM630
    bad = parse_scenario(
        scenario_document(unit_id=0, colour="red"),
        name="bad",
        source=Path("bad.json"),
    )
    meter = PowerMeter(bad.devices[1], bad)
    with pytest.raises(ValueError, match="unit_id"):
        await meter.start("127.0.0.1")
    assert not meter.running
