"""Write the demo scenario with fixed device ports, so the demo's settings stay valid.

Tests let every device pick a free port; the demo keeps its devices configured in
Home Assistant between runs, so each device gets the same port every time.
"""

import json
from pathlib import Path
import sys

FIRST_PORT = 28100


def main() -> None:
    """Print demo.json with a fixed port per device."""
    source = Path(__file__).parents[2] / "simulator" / "scenarios" / "demo.json"
    scenario = json.loads(source.read_text(encoding="utf-8"))
    for number, device in enumerate(scenario["devices"]):
        device["port"] = FIRST_PORT + number
    json.dump(scenario, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
