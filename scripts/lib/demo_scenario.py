"""Write the demo scenario with fixed device ports, so the demo's settings stay valid.

Tests let every device pick a free port; the demo keeps its devices configured in
Home Assistant between runs, so each device gets the same port every time.
"""

import json
from pathlib import Path
import sys

from seed_demo import (
    EXPIRED_VISITOR_PLATE,
    STRANGER_PLATES,
    VISITOR_PLATES,
    demo_plates,
)

FIRST_PORT = 28100


def main() -> None:
    """Print demo.json with a fixed port per device."""
    source = Path(__file__).parents[2] / "simulator" / "scenarios" / "demo.json"
    scenario = json.loads(source.read_text(encoding="utf-8"))
    plates = demo_plates()
    for number, device in enumerate(scenario["devices"]):
        device["port"] = FIRST_PORT + number
        if device["kind"] == "plate_camera":
            # Traffic at the gate: residents mostly, some visitors and strangers.
            device["options"]["traffic"] = {
                "plates": plates,
                "visitor_plates": [
                    *VISITOR_PLATES,
                    EXPIRED_VISITOR_PLATE,
                    *STRANGER_PLATES,
                ],
                "interval_seconds": 20 if device["options"]["lane"] == "entry" else 25,
            }
    json.dump(scenario, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
