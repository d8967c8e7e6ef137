"""Benchmark face enrolment: residents with faces reaching three face terminals.

Run by scripts/bench with pytest: ``pytest benchmarks/bench_enrolment.py``. Three
simulated terminals of one building (a separate process) start empty; residents
are imported by CSV and each gets a face photo through the enroll_face action; the
time until every terminal holds every person with the right face is measured.
Figures go to the JSON file named by SC_BENCH_OUTPUT.
"""

import asyncio
from collections.abc import Iterator
import io
import json
import os
from pathlib import Path
import random
import time

from homeassistant.core import HomeAssistant
from PIL import Image
import pytest

from benchmarks.terminal_setup import community_entry, terminals_scenario
from custom_components.smart_community.const import (
    DOMAIN,
)
from tests.simulator_harness import SimulatorProcess, launch_simulator

RESIDENTS = int(os.environ.get("SC_BENCH_RESIDENTS", "200"))
TERMINALS = 3


@pytest.fixture
def terminals(socket_enabled: None, tmp_path: Path) -> Iterator[SimulatorProcess]:
    """Run three simulated face terminals in building 1."""
    simulator = launch_simulator(terminals_scenario(tmp_path, TERMINALS))
    yield simulator
    simulator.stop()
    simulator.close()


def photo(seed: int) -> bytes:
    """Make a distinct JPEG the size of a face photo."""
    noise = random.Random(seed).randbytes(120 * 120 * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (120, 120), noise).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.timeout(900)
async def test_enrolment_throughput(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    terminals: SimulatorProcess,
    tmp_path: Path,
) -> None:
    """Time residents with faces until all three terminals hold them all."""
    entry = community_entry(terminals.devices("face_terminal"))
    entry.add_to_hass(hass)
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    assert await hass.config_entries.async_setup(entry.entry_id)
    community = entry.runtime_data

    def write_inputs() -> None:
        rows = ["resident_id,name,building,unit,room"]
        for number in range(RESIDENTS):
            rows.append(f"r{number:05d},住户{number},1,1,{number}")
            (tmp_path / f"r{number:05d}.jpg").write_bytes(photo(number))
        (tmp_path / "residents.csv").write_text("\n".join(rows), encoding="utf-8")

    await hass.async_add_executor_job(write_inputs)
    start = time.perf_counter_ns()
    await hass.services.async_call(
        DOMAIN,
        "import_residents",
        {"config_entry_id": entry.entry_id, "path": str(tmp_path / "residents.csv")},
        blocking=True,
    )
    for number in range(RESIDENTS):
        await hass.services.async_call(
            DOMAIN,
            "enroll_face",
            {
                "config_entry_id": entry.entry_id,
                "resident_id": f"r{number:05d}",
                "path": str(tmp_path / f"r{number:05d}.jpg"),
            },
            blocking=True,
        )
    queued = time.perf_counter_ns()

    assert community.enrolment is not None
    queue = community.enrolment.queue
    emptied = asyncio.Event()
    queue.add_listener(lambda: emptied.set() if queue.pending_count() == 0 else None)
    if queue.pending_count() == 0:
        emptied.set()
    async with asyncio.timeout(600):
        await emptied.wait()
    done = time.perf_counter_ns()
    for device in terminals.devices("face_terminal"):
        persons = (await terminals.snapshot(device["id"]))["state"]["persons"]
        assert sum(1 for person in persons if person["has_face"]) == RESIDENTS

    seconds = (done - start) / 1e9
    result = {
        "residents": RESIDENTS,
        "terminals": TERMINALS,
        "actions_ms": round((queued - start) / 1e6, 1),
        "seconds_until_all_enrolled": round(seconds, 2),
        "persons_with_face_per_second_per_terminal": round(RESIDENTS / seconds, 1),
        "persons_with_face_per_second_total": round(RESIDENTS * TERMINALS / seconds, 1),
    }
    output = Path(os.environ.get("SC_BENCH_OUTPUT", "/dev/null"))
    await hass.async_add_executor_job(
        output.write_text, json.dumps(result, ensure_ascii=False)
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
