"""Tests of the automation blueprints, run in Home Assistant without the integration."""
