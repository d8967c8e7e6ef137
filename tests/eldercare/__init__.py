"""Tests of the eldercare blueprints."""
