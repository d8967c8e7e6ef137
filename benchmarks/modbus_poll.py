"""Benchmark polling Modbus TCP power meters with MeterClient.

Run with ``python -m benchmarks.modbus_poll [--meters N] [--polls M]``. It
starts the simulator as a subprocess with N meters (half DTSU666, half SDM630),
polls each meter M times in a row with one MeterClient per meter, and prints
JSON: per register map the requests per poll, the wall time per poll (median,
p95, p99), the CPU time of this (the polling) process per poll, and what that
CPU time comes to per meter and hour at the default 10 s poll interval. The
first poll of each meter, which opens the connection, is reported apart: it
includes the 0.1 s pymodbus waits after every connect.
"""

import argparse
import asyncio
from collections.abc import Sequence
import json
from pathlib import Path
import platform
import statistics
import tempfile
import time
from typing import Any, Final

import pymodbus

from custom_components.smart_community.protocols.modbus_meter import (
    DEFAULT_POLL_SECONDS,
    REGISTER_MAPS,
    MeterClient,
)
from tests.simulator_harness import SimulatorProcess, launch_simulator

MAPS: Final = ("dtsu666", "sdm630")
POLLS_PER_HOUR: Final = 3600 / DEFAULT_POLL_SECONDS


def scenario(meters: int) -> dict[str, Any]:
    """Return a one-building scenario with ``meters`` meters, maps alternating."""
    return {
        "community": {"name": "电表基准"},
        "buildings": [
            {"id": "1", "name": "1号楼", "units": 2, "floors": 18, "rooms_per_floor": 2}
        ],
        "devices": [
            {
                "id": f"meter-{index + 1}",
                "kind": "power_meter",
                "building": "1",
                "name": f"电表 {index + 1}",
                "options": {"register_map": MAPS[index % len(MAPS)]},
            }
            for index in range(meters)
        ],
    }


def percentile(values: Sequence[float], share: int) -> float:
    """Return the ``share``-th percentile (1-99) of ``values``."""
    return statistics.quantiles(values, n=100, method="inclusive")[share - 1]


async def poll_meter(device: dict[str, Any], polls: int) -> dict[str, Any]:
    """Poll one meter ``polls`` times after a first, connecting poll; time each."""
    client = MeterClient(
        device["host"],
        device["port"],
        device["unit_id"],
        REGISTER_MAPS[device["register_map"]],
    )
    wall: list[float] = []
    cpu: list[float] = []
    requests: set[int] = set()
    async with client:
        started = time.perf_counter()
        await client.read()
        first_ms = (time.perf_counter() - started) * 1000
        for _ in range(polls):
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            reading = await client.read()
            cpu.append(time.process_time() - cpu_start)
            wall.append(time.perf_counter() - wall_start)
            requests.add(reading.requests)
            assert len(reading.values) == len(client.register_map.registers)
    assert len(requests) == 1
    return {
        "map": device["register_map"],
        "first_ms": first_ms,
        "wall": wall,
        "cpu": cpu,
        "requests": requests.pop(),
    }


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Turn the polls of one map's meters into figures."""
    wall_ms = [seconds * 1000 for result in results for seconds in result["wall"]]
    cpu_us = [seconds * 1e6 for result in results for seconds in result["cpu"]]
    cpu_mean_us = statistics.fmean(cpu_us)
    cpu_seconds_per_hour = cpu_mean_us / 1e6 * POLLS_PER_HOUR
    return {
        "meters": len(results),
        "polls": len(wall_ms),
        "requests_per_poll": results[0]["requests"],
        "wall_ms_per_poll": {
            "median": round(statistics.median(wall_ms), 3),
            "p95": round(percentile(wall_ms, 95), 3),
            "p99": round(percentile(wall_ms, 99), 3),
            "max": round(max(wall_ms), 3),
        },
        "cpu_us_per_poll": {
            "mean": round(cpu_mean_us, 1),
            "median": round(statistics.median(cpu_us), 1),
            "p99": round(percentile(cpu_us, 99), 1),
        },
        "first_poll_ms": round(
            statistics.median(result["first_ms"] for result in results), 1
        ),
        "cpu_per_meter_hour": {
            "poll_seconds": DEFAULT_POLL_SECONDS,
            "cpu_ms": round(cpu_seconds_per_hour * 1000, 1),
            "share_of_one_core": f"{cpu_seconds_per_hour / 3600:.6%}",
        },
    }


async def measure(simulator: SimulatorProcess, polls: int) -> dict[str, Any]:
    """Poll every meter in turn and summarise per register map."""
    results = [
        await poll_meter(device, polls) for device in simulator.devices("power_meter")
    ]
    return {
        name: summarise([result for result in results if result["map"] == name])
        for name in MAPS
        if any(result["map"] == name for result in results)
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Start the simulator, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=4, help="meters (default 4)")
    parser.add_argument(
        "--polls", type=int, default=200, help="polls per meter (default 200)"
    )
    args = parser.parse_args(argv)
    if args.meters < 1 or args.polls < 2:
        parser.error("--meters must be >= 1 and --polls >= 2")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "meters.json"
        path.write_text(
            json.dumps(scenario(args.meters), ensure_ascii=False), encoding="utf-8"
        )
        simulator = launch_simulator(path)
        try:
            maps = asyncio.run(measure(simulator, args.polls))
        finally:
            simulator.stop()
            simulator.close()
    print(
        json.dumps(
            {
                "machine": (
                    f"{platform.machine()}, {platform.python_implementation()} "
                    f"{platform.python_version()}"
                ),
                "pymodbus": pymodbus.__version__,
                "meters": args.meters,
                "polls_per_meter": args.polls,
                "maps": maps,
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
