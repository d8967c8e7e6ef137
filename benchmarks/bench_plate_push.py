"""Benchmark the plate push: camera push -> Home Assistant's reply with the decision.

Run by scripts/bench with pytest: ``pytest benchmarks/bench_plate_push.py``.
A separate process (benchmarks/plate_load.py) pushes plates at 100 per second for
60 seconds (SC_BENCH_RATE, SC_BENCH_SECONDS) to a lane of a community with 3,000
registered plates, and times each reply. The same load against a bare aiohttp
server that only reads the body and answers (also its own process) is the floor.
The decision alone is timed in-process too. Figures go to SC_BENCH_OUTPUT.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import random
import statistics
import sys
import time
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
import pytest

from custom_components.smart_community.community.access import (
    AccessDecider,
    Direction,
    LanePolicy,
)
from custom_components.smart_community.community.models import Household, Resident
from custom_components.smart_community.community.registry import ResidentRecord
from tests.gate_helpers import ENTRY_SECRET, gate_entry, push_path

RATE = float(os.environ.get("SC_BENCH_RATE", "100"))
SECONDS = float(os.environ.get("SC_BENCH_SECONDS", "60"))
REGISTERED = 3000
TARGET_P99_MS = 20.0
ROOT = Path(__file__).parent.parent
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
MISREADS = {"0": "D", "8": "B", "2": "Z", "5": "S"}

type ClientFactory = Callable[[], Awaitable[TestClient[Any, Any]]]


def registered_plates() -> list[str]:
    """Return 3,000 distinct plates, a tenth of them 8-character green ones."""
    rng = random.Random(3)
    plates: set[str] = set()
    while len(plates) < REGISTERED:
        letter = rng.choice(LETTERS)
        if len(plates) % 10 == 0:
            plates.add(f"粤{letter}D{rng.randrange(10000, 99999)}")
        else:
            plates.add(f"京{letter}{rng.randrange(10000, 99999)}")
    return sorted(plates)


def load_mix(registered: list[str]) -> list[str]:
    """Mix what a gate sees: residents, strangers and misread resident plates."""
    rng = random.Random(5)
    mix = rng.sample(registered, 700)
    mix += [f"浙{rng.choice(LETTERS)}{rng.randrange(10000, 99999)}" for _ in range(200)]
    for plate in rng.sample(registered, 100):
        # One character misread the usual way (0 as D, 8 as B, 2 as Z, 5 as S).
        position = next((i for i in range(2, len(plate)) if plate[i] in MISREADS), None)
        mix.append(
            plate
            if position is None
            else plate[:position] + MISREADS[plate[position]] + plate[position + 1 :]
        )
    return mix


async def run_load(url: str, plates_file: Path) -> dict[str, Any]:
    """Run the load generator against a URL and return its figures."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.plate_load",
        "load",
        url,
        "--rate",
        str(RATE),
        "--seconds",
        str(SECONDS),
        "--plates",
        str(plates_file),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    assert process.returncode == 0
    result: dict[str, Any] = json.loads(stdout)
    return result


async def echo_floor(plates_file: Path) -> dict[str, Any]:
    """Measure the same load against a bare aiohttp server."""
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.plate_load",
        "echo",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        port = json.loads(await server.stdout.readline())["port"]
        return await run_load(f"http://127.0.0.1:{port}/push", plates_file)
    finally:
        server.terminate()
        await server.wait()


def decision_cost(registered: list[str], mix: list[str], community: Any) -> Any:
    """Time the access decision alone over the load's plates."""
    decider = AccessDecider(community.registry)
    policy = LanePolicy(direction=Direction.ENTRY)
    now = datetime.now(UTC)
    samples: list[float] = []
    for plate in mix * 10:
        started = time.perf_counter()
        decider.decide(plate, policy, now)
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return {
        "decisions": len(samples),
        "median_us": round(statistics.median(samples), 2),
        "p99_us": round(samples[int(len(samples) * 0.99)], 2),
    }


@pytest.mark.timeout(900)
async def test_push_to_reply(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    socket_enabled: None,
    hass_client_no_auth: ClientFactory,
    tmp_path: Path,
) -> None:
    """Push at 100/s for 60 s to a lane with 3,000 plates registered; time replies."""
    entry = gate_entry(capacity=5000)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    community = entry.runtime_data
    registered = registered_plates()
    community.registry.bulk_upsert(
        ResidentRecord(
            Resident(
                resident_id=f"B{number:05d}",
                name=f"住户{number}",
                household=Household("1", "1", str(number)),
                phone=None,
                tags=frozenset(),
                notify_targets=(),
            ),
            (plate,),
        )
        for number, plate in enumerate(registered)
    )
    mix = load_mix(registered)
    plates_file = tmp_path / "plates.json"
    plates_file.write_text(json.dumps(mix, ensure_ascii=False), encoding="utf-8")

    floor = await echo_floor(plates_file)
    client = await hass_client_no_auth()
    url = str(client.make_url(push_path(ENTRY_SECRET)))
    measured = await run_load(url, plates_file)
    lane = next(iter(community.lanes.values()))
    result = {
        "registered_plates": len(community.registry.vehicles),
        "rate_per_second": RATE,
        "seconds": SECONDS,
        "home_assistant": measured,
        "aiohttp_echo_floor": floor,
        "p99_ratio_to_floor": round(measured["p99_ms"] / floor["p99_ms"], 2),
        "median_ratio_to_floor": round(measured["median_ms"] / floor["median_ms"], 2),
        "target_p99_ms": TARGET_P99_MS,
        "lane_pushes": lane.pushes,
        "vehicles_counted_inside": community.parking_lots[
            "lot-underground"
        ].vehicles_inside,
        "decision_alone": decision_cost(registered, mix, community),
    }
    output = Path(os.environ.get("SC_BENCH_OUTPUT", "/dev/null"))
    await hass.async_add_executor_job(
        output.write_text, json.dumps(result, ensure_ascii=False, indent=2)
    )
    assert measured["errors"] == 0
