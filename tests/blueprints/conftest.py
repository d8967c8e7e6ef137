"""Fixtures of the blueprint tests: a configuration folder each, a real community."""

from .community import community
from .helpers import hass_config_dir

__all__ = ["community", "hass_config_dir"]
