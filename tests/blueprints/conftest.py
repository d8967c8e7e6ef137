"""Fixtures of the blueprint tests: a configuration folder each, real devices."""

from tests.test_charging import charging
from tests.test_gate_simulator import lanes

from .community import community
from .helpers import hass_config_dir

__all__ = ["charging", "community", "hass_config_dir", "lanes"]
