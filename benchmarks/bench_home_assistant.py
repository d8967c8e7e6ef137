"""Benchmark the registry through Home Assistant: the import action and a restart.

Run by scripts/bench with pytest (it needs Home Assistant's test harness, not the
test suite): ``pytest benchmarks/bench_home_assistant.py``. It imports the
benchmark community's CSV (5,000 residents, 3,000 plates) through the
``import_residents`` action, the way a property manager does, then reloads the
entry, which reads the registry back from storage; the figures go to the JSON file
named by SC_BENCH_OUTPUT.
"""

import asyncio
import json
import os
from pathlib import Path
import time
from typing import Self

from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from benchmarks.registry import RUNS, build_community, summary
from custom_components.smart_community.community.csv_io import export_residents_csv
from custom_components.smart_community.const import DOMAIN

IMPORT_TARGET_MS = 2_000.0
# How often the probe wakes up to see whether the event loop is late.
PROBE_INTERVAL_S = 0.001


class LoopLagProbe:
    """Measure the longest time the event loop was held while something ran."""

    def __init__(self) -> None:
        """Start with no lag seen."""
        self.longest_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        """Sleep briefly, again and again, and note how late each wake-up is."""
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + PROBE_INTERVAL_S
            await asyncio.sleep(PROBE_INTERVAL_S)
            self.longest_ms = max(self.longest_ms, (loop.time() - expected) * 1e3)

    def __enter__(self) -> Self:
        """Start watching."""
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()


async def test_import_and_restart(
    hass: HomeAssistant, enable_custom_integrations: None, tmp_path: Path
) -> None:
    """Time the import action and the reload of a community of 5,000 residents."""
    registry = build_community()
    csv_file = tmp_path / "residents.csv"
    await hass.async_add_executor_job(
        csv_file.write_bytes, export_residents_csv(registry)
    )
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    entry = MockConfigEntry(
        domain=DOMAIN, title="Bench", data={CONF_NAME: "Bench"}, unique_id="bench"
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    imports: list[float] = []
    stalls: list[float] = []
    restarts: list[float] = []
    for run in range(RUNS):
        start = time.perf_counter_ns()
        with LoopLagProbe() as probe:
            answer = await hass.services.async_call(
                DOMAIN,
                "import_residents",
                {
                    "config_entry_id": entry.entry_id,
                    "path": str(csv_file),
                    "mode": "replace",
                },
                blocking=True,
                return_response=True,
            )
            await hass.async_block_till_done()
        imports.append((time.perf_counter_ns() - start) / 1e6)
        stalls.append(probe.longest_ms)
        assert answer is not None
        assert answer["added" if run == 0 else "updated"] == len(registry)

        start = time.perf_counter_ns()
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        restarts.append((time.perf_counter_ns() - start) / 1e6)
        reloaded = entry.runtime_data.registry
        assert len(reloaded) == len(registry)
        assert len(reloaded.vehicles) == len(registry.vehicles)

    result = {
        "residents": len(registry),
        "plates": len(registry.vehicles),
        "import_action_ms": summary(imports, 1),
        "import_longest_event_loop_stall_ms": summary(stalls, 1),
        "reload_ms": summary(restarts, 1),
        "targets": {
            "import_under_2_s": summary(imports, 1)["p95"] < IMPORT_TARGET_MS,
        },
    }
    output = Path(os.environ.get("SC_BENCH_OUTPUT", tmp_path / "out.json"))
    await hass.async_add_executor_job(
        output.write_text, json.dumps(result, ensure_ascii=False)
    )
