"""Simulated face terminals and a community entry that uses them, for benchmarks."""

import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import (
    CONF_HOST,
    CONF_NAME,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SSL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_community.const import (
    CONF_BUILDING,
    CONF_BUILDING_ID,
    CONF_DOORS,
    DOMAIN,
    SUBENTRY_TYPE_BUILDING,
    SUBENTRY_TYPE_FACE_TERMINAL,
)

SCENARIO = Path(__file__).parent.parent / "simulator" / "scenarios" / "minimal.json"


def terminals_scenario(folder: Path, count: int) -> Path:
    """Write a scenario of `count` face terminals in building 1; return its path."""
    document = json.loads(SCENARIO.read_text(encoding="utf-8"))
    template = next(d for d in document["devices"] if d["kind"] == "face_terminal")
    document["devices"] = [
        template
        | {
            "id": f"face-{number}",
            "name": f"terminal {number}",
            "options": template["options"]
            | {"serial_number": f"SIM-BENCH-{number}", "max_persons": 10_000},
        }
        for number in range(1, count + 1)
    ]
    path = folder / "terminals.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def community_entry(devices: list[dict[str, Any]]) -> MockConfigEntry:
    """Return a community with building 1 and the given simulated terminals."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Bench",
        data={CONF_NAME: "Bench"},
        unique_id="bench",
        subentries_data=[
            ConfigSubentryData(
                data={CONF_BUILDING_ID: "1", CONF_NAME: "1"},
                subentry_type=SUBENTRY_TYPE_BUILDING,
                title="1",
                unique_id="building_1",
            ),
            *(
                ConfigSubentryData(
                    data={
                        CONF_BUILDING: "1",
                        CONF_HOST: device["host"],
                        CONF_PORT: device["port"],
                        CONF_SSL: False,
                        CONF_VERIFY_SSL: False,
                        CONF_USERNAME: device["options"]["username"],
                        CONF_PASSWORD: device["options"]["password"],
                        CONF_DOORS: 1,
                    },
                    subentry_type=SUBENTRY_TYPE_FACE_TERMINAL,
                    title=device["name"],
                    unique_id=f"face_terminal_{device['options']['serial_number']}",
                )
                for device in devices
            ),
        ],
    )
