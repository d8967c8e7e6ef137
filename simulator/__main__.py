"""Run the simulator: ``python -m simulator --scenario demo``."""

import sys

from simulator.cli import main

sys.exit(main())
