"""Benchmark the residents registry at community scale.

Run with ``python -m benchmarks.registry``. It builds a deterministic community
(2,000 households, 5,000 residents, 3,000 plates) and prints JSON with the CSV
import time, the restart path (to_dict, JSON dump and load, from_dict) and the
time of one plate lookup, each against its target.
"""

from collections.abc import Callable
from functools import partial
import json
import platform
import random
import statistics
import time
from typing import Any

from custom_components.smart_community.community.csv_io import (
    export_residents_csv,
    import_residents_csv,
)
from custom_components.smart_community.community.models import (
    TAG_ELDERLY_LIVING_ALONE,
    Household,
)
from custom_components.smart_community.community.plates import PROVINCES
from custom_components.smart_community.community.registry import ResidentsRegistry

SEED = 20250301
BUILDINGS = 25
UNITS = 2
FLOORS = 20
ROOMS_PER_FLOOR = 2  # 25 x 2 x 20 x 2 = 2,000 households
RESIDENTS = 5_000
PLATES = 3_000
RUNS = 9
LOOKUP_BATCHES = 200
LOOKUP_BATCH_SIZE = 1_000

IMPORT_TARGET_MS = 2_000.0
IMPORT_STRETCH_MS = 500.0
LOOKUP_TARGET_US = 50.0

# The most common surnames, roughly in order of frequency, and given-name characters.
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国志春梅海燕红玉秀子轩浩宇欣怡梓涵晨阳"
MOBILE_PREFIXES = (
    "130",
    "135",
    "138",
    "139",
    "150",
    "158",
    "166",
    "177",
    "186",
    "189",
    "199",
)
SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
DIGITS = "0123456789"
# Most cars in a Shenzhen community are local (粤B); the rest come from anywhere.
LOCAL_SHARE = 0.7


def _name(rng: random.Random) -> str:
    """Make a plausible Chinese name: a surname and one or two given characters."""
    surname = rng.choice(SURNAMES[:20]) if rng.random() < 0.6 else rng.choice(SURNAMES)
    return surname + "".join(rng.choices(GIVEN, k=1 if rng.random() < 0.3 else 2))


def _plate(rng: random.Random) -> str:
    """Make a random plate: mostly ordinary, some small and large new-energy ones."""
    if rng.random() < LOCAL_SHARE:
        prefix = "粤B"
    else:
        prefix = rng.choice(PROVINCES) + rng.choice("ABCDEFGHJK")
    kind = rng.random()
    if kind < 0.2:
        return f"{prefix}{rng.choice('DF')}{rng.choice(SERIAL)}{''.join(rng.choices(DIGITS, k=4))}"
    if kind < 0.22:
        return f"{prefix}{''.join(rng.choices(DIGITS, k=5))}{rng.choice('DF')}"
    return prefix + "".join(rng.choices(SERIAL, k=5))


def _as_typed(plate: str, rng: random.Random) -> str:
    """Write a plate the way a camera or a guard might: lower case, with a dot or space."""
    separator = rng.choice(("·", " ", "", "•"))
    return f"{plate[:2]}{separator}{plate[2:]}".lower()


def build_community(seed: int = SEED) -> ResidentsRegistry:
    """Build the same synthetic community on every run."""
    rng = random.Random(seed)
    households = [
        Household(str(building), str(unit), f"{floor}{room:02d}")
        for building in range(1, BUILDINGS + 1)
        for unit in range(1, UNITS + 1)
        for floor in range(1, FLOORS + 1)
        for room in range(1, ROOMS_PER_FLOOR + 1)
    ]
    # Every household has at least one resident; the rest are spread at random.
    homes = households + rng.choices(households, k=RESIDENTS - len(households))
    registry = ResidentsRegistry()
    resident_ids: list[str] = []
    for index, household in enumerate(homes):
        tags = [TAG_ELDERLY_LIVING_ALONE] if rng.random() < 0.04 else []
        if rng.random() < 0.05:
            tags.append("volunteer")
        resident = registry.add_resident(
            resident_id=f"R{index:05d}",
            name=_name(rng),
            household=household,
            phone=f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"
            if rng.random() < 0.9
            else None,
            tags=tags,
            notify_targets=[f"notify.mobile_app_r{index:05d}"]
            if rng.random() < 0.3
            else [],
        )
        resident_ids.append(resident.resident_id)
    plates: set[str] = set()
    while len(plates) < PLATES:
        plates.add(_plate(rng))
    for plate in sorted(plates):
        registry.add_vehicle(rng.choice(resident_ids), plate)
    return registry


def _percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of some measurements."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(values: list[float], digits: int) -> dict[str, float]:
    """Summarise measurements as median and 95th percentile."""
    return {
        "median": round(statistics.median(values), digits),
        "p95": round(_percentile(values, 0.95), digits),
    }


def _time_ms(action: Callable[[], object]) -> float:
    """Run an action once and return how long it took in milliseconds."""
    start = time.perf_counter_ns()
    action()
    return (time.perf_counter_ns() - start) / 1e6


def bench_import(data: bytes) -> list[float]:
    """Time importing the CSV file into an empty registry, RUNS times."""
    timings: list[float] = []
    for _ in range(RUNS):
        registry = ResidentsRegistry()
        timings.append(_time_ms(partial(import_residents_csv, registry, data)))
        assert len(registry) == RESIDENTS
    return timings


def bench_restart(registry: ResidentsRegistry) -> list[float]:
    """Time the save and restore path Home Assistant takes around a restart."""

    def restart() -> ResidentsRegistry:
        """Save to JSON text and read it back into a new registry."""
        text = json.dumps(registry.to_dict(), ensure_ascii=False)
        return ResidentsRegistry.from_dict(json.loads(text))

    return [_time_ms(restart) for _ in range(RUNS)]


def bench_lookups(
    registry: ResidentsRegistry, seed: int = SEED
) -> tuple[list[float], float]:
    """Time plate lookups in batches of mixed hits and misses; return µs per lookup."""
    rng = random.Random(seed + 1)
    known = [vehicle.plate for vehicle in registry.vehicles]
    queries: list[str] = []
    for _ in range(LOOKUP_BATCH_SIZE):
        plate = rng.choice(known) if rng.random() < 0.5 else _plate(rng)
        queries.append(_as_typed(plate, rng))
    hits = sum(registry.vehicle_for_plate(query) is not None for query in queries)
    lookup = registry.vehicle_for_plate
    per_lookup = []
    for _ in range(LOOKUP_BATCHES):
        start = time.perf_counter_ns()
        for query in queries:
            lookup(query)
        per_lookup.append((time.perf_counter_ns() - start) / LOOKUP_BATCH_SIZE / 1e3)
    return per_lookup, hits / len(queries)


def run() -> dict[str, Any]:
    """Run every benchmark and describe the results."""
    registry = build_community()
    data = export_residents_csv(registry)
    import_ms = bench_import(data)
    restart_ms = bench_restart(registry)
    lookup_us, hit_rate = bench_lookups(registry)
    import_summary = summary(import_ms, 1)
    lookup_summary = summary(lookup_us, 3)
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "community": {
            "households": len(registry.households),
            "residents": len(registry),
            "plates": len(registry.vehicles),
            "csv_bytes": len(data),
        },
        "csv_import_ms": import_summary | {"runs": RUNS},
        "restart_ms": summary(restart_ms, 1) | {"runs": RUNS},
        "vehicle_for_plate_us": lookup_summary
        | {
            "batches": LOOKUP_BATCHES,
            "batch_size": LOOKUP_BATCH_SIZE,
            "hit_rate": round(hit_rate, 3),
        },
        "targets": {
            "csv_import_under_2_s": {
                "target_ms": IMPORT_TARGET_MS,
                "measured_p95_ms": import_summary["p95"],
                "pass": import_summary["p95"] < IMPORT_TARGET_MS,
            },
            "csv_import_under_0_5_s": {
                "target_ms": IMPORT_STRETCH_MS,
                "measured_p95_ms": import_summary["p95"],
                "pass": import_summary["p95"] < IMPORT_STRETCH_MS,
            },
            "lookup_under_50_us": {
                "target_us": LOOKUP_TARGET_US,
                "measured_p95_us": lookup_summary["p95"],
                "pass": lookup_summary["p95"] < LOOKUP_TARGET_US,
            },
        },
    }


def main() -> None:
    """Print the benchmark results as JSON."""
    print(json.dumps(run(), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
